"""Signals at the CLI edge: Ctrl-C (SIGINT) and SIGTERM/SIGHUP become exceptions in the main thread.

Why (issue 11): a command stopped by Ctrl-C or by `kill` must stop within 2 s, leave no worker processes
and no partial file, and exit 130 (SIGINT) or 143 (SIGTERM). Python's default SIGTERM action kills the
process on the spot: no `finally` blocks run, so pool workers are orphaned and temp files stay. Inside
`handle_signals()`, SIGTERM (and SIGHUP, a closed terminal) raise `Terminated`, and SIGINT raises
KeyboardInterrupt even when something (an embedding shell, a library) had installed another handler. Both
unwind through every `finally`/`except BaseException`, which is where `executor.run_cells` kills its
workers and `outputs.write_atomic` removes its temp file. `Terminated` derives from BaseException, not
Exception, so `except Exception` clean-up code cannot swallow it — the same reason KeyboardInterrupt does.

Usage at the CLI edge::

    with handle_signals():
        try:
            app()
        except KeyboardInterrupt:
            sys.exit(130)
        except Terminated as exc:
            sys.exit(exc.exit_code)

(`exit_code_for(exc)` gives 130 / 143 / 129 for either.) Previous handlers are restored on exit.
Handlers can only be installed from the main thread; elsewhere the context manager does nothing.
Nothing here prints.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator

__all__ = ["Terminated", "exit_code_for", "handle_signals"]


class Terminated(BaseException):
    """The process received SIGTERM (or SIGHUP); `exit_code` is 128 + the signal number (143 for SIGTERM)."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        try:
            name = signal.Signals(self.signum).name
        except ValueError:
            name = f"signal {self.signum}"
        super().__init__(f"stopped by {name}")


def exit_code_for(exc: BaseException) -> int | None:
    """The conventional exit code for an interrupt exception: 130 for KeyboardInterrupt, 128+N for
    `Terminated`; None for anything else."""
    if isinstance(exc, Terminated):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 128 + int(signal.SIGINT)
    return None


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated(signum)


_TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Within the block: SIGINT → KeyboardInterrupt, SIGTERM/SIGHUP → `Terminated`; restore on exit.

    A SIGINT or SIGHUP that was ignored when the block starts stays ignored (background jobs, nohup).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    try:
        for signum, handler in ((signal.SIGINT, signal.default_int_handler),
                                *((s, _raise_terminated) for s in _TERMINATING)):
            if signal.getsignal(signum) is signal.SIG_IGN and signum != signal.SIGTERM:
                # `cmd &` in a script ignores SIGINT, `nohup cmd` ignores SIGHUP: the user asked to survive
                # them, and Python itself leaves an ignored SIGINT ignored.
                continue
            previous[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, handler in previous.items():
            # None means "installed from C, not from Python": the best we can restore is the default.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
