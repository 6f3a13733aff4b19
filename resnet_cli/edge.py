"""The process edge: the first and last thing `resnet-cli` runs, and the one table of exit codes.

`main()` is the console script (`resnet-cli`, `python -m resnet_cli`). It imports nothing heavy before it
has prepared the process, so that what a user or the operating system does in the first second is handled
like anything later (docs/cli.md, "Exit codes"):

- signals: Ctrl-C and SIGTERM/SIGHUP are handled from the first instruction (`signals.install`), including
  while typer, numpy and the commands import; the first one stops the run, later ones are ignored while it
  cleans up, so a double Ctrl-C still exits 130;
- standard streams: a closed descriptor 0/1/2 (`cmd >&-`) is re-opened on /dev/null, so no file the run
  opens can take its number; a closed stdout is then refused before any work (exit 74), a closed stderr
  only loses the messages; a stream whose encoding cannot spell π, η, φ or ‖ (`LC_ALL=C`) gets ASCII
  spellings (`pi`, `eta`, `phi`, `||`) instead of a UnicodeEncodeError;
- warnings: `PYTHONWARNINGS=error` must not turn a library's import-time DeprecationWarning into a crash;
  third-party deprecation warnings are ignored at import (the run itself shows its warnings as one line
  each, `commands/shell.py`);
- matplotlib: a HOME whose config folder cannot be written gets MPLCONFIGDIR in a temp folder.

`outcome(exc)` maps every exception that reaches the edge to (exit code, the one stderr line or None): the
one home of the exit codes, used by `cli.run` (in-process callers and tests) and by `main`.
"""

from __future__ import annotations

import os
import sys

INTERRUPTED_LINE = "interrupted (Ctrl-C): stopped, nothing written"

try:  # a Ctrl-C in the milliseconds before `signals.install` (these imports) is the same one line, exit 130
    import codecs
    import errno

    from resnet_cli import signals
    from resnet_cli.spelling import ascii_spelling
    from resnet_cli.errors import OutputError, os_reason as _reason  # noqa: F401  (OutputError: edge.OutputError as before)
except KeyboardInterrupt:
    main_module = getattr(sys.modules.get("__main__"), "__spec__", None)
    if not (os.path.basename(sys.argv[0] if sys.argv else "").startswith("resnet-cli")
            or getattr(main_module, "name", "") == "resnet_cli.__main__"):
        raise  # imported by a host (a notebook, a test): its interrupt, not this program's exit
    sys.stderr.write(INTERRUPTED_LINE + "\n")
    sys.stderr.flush()
    os._exit(130)

__all__ = ["OK", "INTERNAL", "USAGE", "IOERR", "OutputError", "main", "outcome"]

OK = 0
INTERNAL = 1  # a bug: "internal error: …"
USAGE = 2  # the user asked for something impossible (a value, a file, a size)
MAX_COLUMNS = 1000  # a wider terminal is rendered as this wide
IOERR = 74  # EX_IOERR of sysexits.h: an output could not be written (full disk, closed or full stream)
# 128 + N: stopped by signal N (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP), see resnet_cli/signals.py


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__




def _interrupt_in_chain(exc: BaseException) -> BaseException | None:
    """The interrupt (Ctrl-C or a termination signal) behind `exc`, if any: Python wraps an exception raised
    inside some hooks in another (a Ctrl-C while a class is created becomes "RuntimeError: Error calling
    __set_name__"), and an error raised while an interrupt unwinds has the interrupt as its context."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, (KeyboardInterrupt, signals.Terminated)):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


def _kept(line: str) -> str:
    """A stop's line, true for a run that had completed some outputs before it (a reproduction writes many):
    those are kept, whole; only "nothing written" if none was."""
    from resnet_cli.outputs import written

    done = written()
    if not done:
        return line
    files = f"the {len(done)} files written before it are whole and kept" if len(done) > 1 else \
        "the file written before it is whole and kept"
    return line.replace("nothing written", f"{files} (the last: {done[-1]}), nothing else written")


def outcome(exc: BaseException) -> tuple[int, str | None]:
    """(exit code, one stderr line or None) for an exception that reached the edge; the exit-code table."""
    exc = _interrupt_in_chain(exc) or exc
    if isinstance(exc, KeyboardInterrupt):  # first: an interrupt may come while click itself imports
        return 130, _kept(INTERRUPTED_LINE)
    if isinstance(exc, signals.Terminated):
        return exc.exit_code, _kept(f"terminated (signal {exc.signum}): stopped, nothing written")
    import click

    from resnet_cli.errors import UserError

    if isinstance(exc, click.exceptions.Exit):
        code = exc.exit_code
        return code, _kept(INTERRUPTED_LINE) if code == 130 else None
    if isinstance(exc, click.exceptions.Abort):
        return 130, _kept(INTERRUPTED_LINE)
    if isinstance(exc, click.UsageError):
        message = " ".join(exc.format_message().split())
        where = f"{exc.ctx.command_path}: " if exc.ctx is not None else "resnet-cli: "
        return USAGE, f"error: {where}{message}"
    if isinstance(exc, click.ClickException):
        return USAGE, f"error: {' '.join(exc.format_message().split())}"
    if isinstance(exc, UserError):
        return USAGE, f"error: {_first_line(exc)}"
    if isinstance(exc, BrokenPipeError):  # `… | head -1`: the reader has all it wanted
        return OK, None
    if isinstance(exc, OutputError):
        return IOERR, f"error: {_first_line(exc)}"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS):
        return IOERR, f"error: {exc.filename + ': ' if exc.filename else ''}{_reason(exc)}"
    if isinstance(exc, OSError) and exc.filename and exc.errno in (errno.EISDIR, errno.ENOTDIR, errno.EACCES,
                                                                     errno.EPERM):
        # a path the user's files got in the way of (the checks before computing name the ones they can)
        where = exc.filename2 or exc.filename
        return IOERR, f"error: {where}: {_reason(exc)}"
    if isinstance(exc, MemoryError):
        return USAGE, "error: out of memory (try smaller sizes or fewer --jobs)"
    return INTERNAL, (f"internal error: {type(exc).__name__}: {_first_line(exc) if str(exc) else ''} "
                      "(please report; --debug shows the traceback)")


# ---------------------------------------------------------------------------------------------------------
# Streams


def _ascii_fallback(error: UnicodeError) -> tuple[str, int]:
    """codecs error handler "resnet-cli-ascii": the ASCII spelling of each character a stream cannot encode."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return ascii_spelling(error.object[error.start:error.end]), error.end


codecs.register_error("resnet-cli-ascii", _ascii_fallback)


class _ClosedStream:
    """Stands for a standard stream that was closed when the process started (`>&-`)."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name: str, fail: bool) -> None:
        self.name, self.fail, self.closed = name, fail, False

    def write(self, text: str) -> int:
        if self.fail:
            raise OSError(errno.EBADF, "the stream is closed", self.name)
        return len(text)

    def flush(self) -> None:
        return None

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "the stream is closed", self.name)


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def prepare_streams() -> list[str]:
    """Re-open closed descriptors 0/1/2 on /dev/null, give the streams ASCII fall-backs where the encoding
    needs them; return the names of the standard streams that were closed ("stdout", "stderr")."""
    closed = [name for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")) if not _fd_open(fd)]
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        if name in closed:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this very fd
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if "stdout" in closed:
        sys.stdout = _ClosedStream("standard output", fail=True)
    if "stderr" in closed:
        sys.stderr = _ClosedStream("standard error", fail=False)  # messages are lost, exit codes are not
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            "π η φ ‖ — ≤ × ²".encode(encoding)
        except (UnicodeEncodeError, LookupError):
            try:
                stream.reconfigure(errors="resnet-cli-ascii")
            except (AttributeError, ValueError):
                pass
    return closed


def prepare_environment() -> None:
    """What the process inherits that would break it before any work, set right or refused here:
    COLUMNS/LINES that are not positive whole numbers are dropped (rich took COLUMNS=0 as a width of 0, and
    tables vanished or text wrapping raised) and larger than MAX_COLUMNS are cut to it (COLUMNS=100000000
    made --help pad every line to that width: a hang), and a current folder that no longer exists is a user
    error (worker processes and relative paths need it)."""
    for name in ("COLUMNS", "LINES"):
        value = os.environ.get(name)
        if value is not None and not (value.strip().isascii() and value.strip().isdigit() and int(value) > 0):
            del os.environ[name]
        elif value is not None and int(value) > MAX_COLUMNS:
            os.environ[name] = str(MAX_COLUMNS)
    try:
        os.getcwd()
    except FileNotFoundError:
        from resnet_cli.errors import UserError

        raise UserError("the current folder no longer exists: cd to one that does and run again") from None


def prepare_matplotlib() -> None:
    """MPLCONFIGDIR in a private temp folder when matplotlib's default config folder cannot be written
    (read-only HOME): matplotlib would otherwise warn on stderr on every `--plot`."""
    if os.environ.get("MPLCONFIGDIR"):
        return
    home = os.path.expanduser("~")
    config = os.path.join(os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "matplotlib")
    probe = config
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if os.access(probe, os.W_OK | os.X_OK):
        return
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="resnet-cli-mpl-")
    atexit.register(shutil.rmtree, folder, True)
    os.environ["MPLCONFIGDIR"] = folder


def quiet_import_warnings() -> None:
    """Third-party deprecation notices at import are not the user's business, even under -W error."""
    import warnings

    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning):
        warnings.filterwarnings("ignore", category=category)


def _flush_stdout() -> tuple[int, str | None] | None:
    """Flush stdout now (not at interpreter exit, where a failure prints "Exception ignored")."""
    try:
        sys.stdout.flush()
        return None
    except BrokenPipeError:
        result: tuple[int, str | None] | None = (OK, None)
    except OSError as exc:
        result = (IOERR, f"error: standard output: cannot write ({_reason(exc)})")
    # Python flushes stdout again at exit: point descriptor 1 at /dev/null so that flush has nowhere to fail.
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass
    return result


def _say(line: str | None) -> None:
    if not line:
        return
    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass  # stderr closed or full: the exit code still tells


def main() -> None:
    """Console-script entry point (`resnet-cli`, `python -m resnet_cli`); never returns."""
    code: int
    try:
        signals.install()  # inside: a signal right after the handler is set (the watchdog not yet started) is a stop
        closed = prepare_streams()
        prepare_environment()
        quiet_import_warnings()
        prepare_matplotlib()
        argv = sys.argv[1:]
        if "stdout" in closed and not any(a in ("--help", "-h", "--version") for a in argv):
            raise OutputError("standard output", OSError(errno.EBADF, "it is closed"),
                              "the result is printed there (add `> FILE` or `> /dev/null`)")
        from resnet_cli.cli import run

        code = run(argv)
    except BaseException as exc:  # an interrupt while importing, or anything `run` could not map
        ended = signals.what_ended(exc)  # an error a stop caused (caught and replaced by C code while importing)
        signals.stop_listening()
        if isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        else:
            code, line = outcome(ended)
            _say(line)
    signals.stop_listening()
    flushed = _flush_stdout()
    if flushed is not None and code == OK:
        code, line = flushed
        _say(line)
    if code >= 128:
        _exit_now(code)
    sys.exit(code)


def _exit_now(code: int) -> None:
    """Exit with `code` after an interrupt: the atexit hooks run, then `os._exit`.

    Not `sys.exit`: CPython 3.11 remembers a KeyboardInterrupt raised inside any `exec` of a string (which
    `dataclasses` does for every class it builds while modules import) as "unhandled" even when it was
    caught, and at exit kills the process by SIGINT instead of returning 130 (seen 1 run in 5 with Ctrl-C in
    the first second)."""
    import atexit

    try:
        atexit._run_exitfuncs()
    except BaseException:  # noqa: BLE001 -- exiting anyway
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(code)
