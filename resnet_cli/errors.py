"""Errors that mean "the user asked for something impossible".

The CLI turns every `UserError` into one line on stderr and exit code 2 (the table is `edge.outcome`,
docs/cli.md); anything else is an internal error (exit code 1). `quiet_floating_point()` keeps numpy's
floating-point warnings (overflow, invalid value) from the user: a run that overflows reports it as a
divergence in its result, not as warning lines. `OutputError` is an output that could not be written
after the work was done (exit 74).
"""

import contextlib
import os
import warnings
from typing import Iterator

#: Messages of numpy's floating-point and empty-reduction RuntimeWarnings.
FLOATING_POINT_MESSAGES = r"(overflow|invalid value|divide by zero|underflow) encountered|Mean of empty slice|" \
                          r"Degrees of freedom <= 0|All-NaN (slice|axis) encountered"


@contextlib.contextmanager
def quiet_floating_point() -> Iterator[None]:
    """Within the block: numpy's floating-point errors are ignored (np.errstate) and its RuntimeWarnings of
    that kind filtered; results carry the non-finite values, and each experiment says "diverged"."""
    import numpy as np

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=FLOATING_POINT_MESSAGES, category=RuntimeWarning)
        yield


class UserError(Exception):
    """Bad input from the user: an option value, a file, a config key."""


class ConfigError(UserError):
    """An option or config-file value that is unknown, malformed or out of range."""


class DataError(UserError):
    """A data file that is missing, unreadable or of the wrong shape."""


class OutputError(Exception):
    """Writing an output failed after the work was done (full disk, I/O error, closed or full stream).

    `where` names the flag and path (``--out r.json``) or the stream (``standard output``); `hint` tells how
    not to lose a long computation next time. Exit code 74 (EX_IOERR); the temp file is already removed.
    """

    def __init__(self, where: str, exc: OSError, hint: str = "") -> None:
        self.where, self.reason, self.hint = where, os_reason(exc), hint
        super().__init__(f"{where}: cannot write ({self.reason}){'; ' + hint if hint else ''}")


def os_reason(exc: BaseException) -> str:
    """The reason of an OSError in a few words (its strerror), else the exception's text."""
    if isinstance(exc, OSError):
        if exc.errno is not None:
            return exc.strerror or os.strerror(exc.errno)
        return str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__
