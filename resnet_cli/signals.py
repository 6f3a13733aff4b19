"""Signals at the CLI edge: Ctrl-C (SIGINT) and SIGTERM/SIGHUP become exceptions in the main thread.

Why: a command stopped by Ctrl-C or by `kill` must stop within 2 s, leave no worker processes
and no partial file, and exit 130 (SIGINT) or 143 (SIGTERM). Python's default SIGTERM action kills the
process on the spot: no `finally` blocks run, so pool workers are orphaned and temp files stay. Inside
`handle_signals()`, SIGTERM (and SIGHUP, a closed terminal) raise `Terminated`, and SIGINT raises
KeyboardInterrupt even when something (an embedding shell, a library) had installed another handler. Both
unwind through every `finally`/`except BaseException`, which is where `executor.run_cells` kills its
workers and `outputs.write_atomic` removes its temp file. `Terminated` derives from BaseException, not
Exception, so `except Exception` clean-up code cannot swallow it — the same reason KeyboardInterrupt does.

One stop per run: the first signal raises; any later one (a second Ctrl-C while workers are stopped and temp
files removed) is ignored, so clean-up is never cut short and the exit code stays that of the first
(130 for a double Ctrl-C). `install()` sets this up for the whole process from the first line of
`edge.main` (before typer or numpy import); `handle_signals()` does it for one in-process `cli.run` and
restores what was there. The exit codes themselves live in one table, `edge.outcome`.
Handlers can only be installed from the main thread; elsewhere both do nothing.

A stop that is swallowed is raised again. Python runs a signal handler wherever the main thread is, and a
stop can be lost on its way to the run's end: an exception raised inside a weakref callback or a `__del__`
(importlib's module-lock callback, for one) is "unraisable", printed and dropped; one raised inside a bare
`except:` or C code that clears errors (while modules import) is dropped without a trace. So a stop is "in
flight" from the moment a handler raises it until it reaches the end of its run (an exception leaves
`handle_signals`, or the edge calls `stop_listening`). While anything listens, a watchdog thread sends the
signal to the main thread again when a stop in flight was swallowed: at once (every REDELIVERY_DELAY, until a
handler raises it) when the unraisable hook saw it dropped, and after SWALLOWED_AFTER seconds outside clean-up
blocks (`cleaning`, `signals_deferred`) when it just never arrived. A run that ends normally with a stop in
flight ends with that stop instead. The watchdog blocks the stop signals itself, so it never takes one and
drops it while SIGINT is ignored for an instant (`sigint_blocked`, a worker being spawned).
Nothing here prints.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from typing import Any, Iterator

__all__ = ["Terminated", "cleaning", "handle_signals", "install", "sigint_blocked", "signals_deferred",
           "stop_listening", "what_ended"]


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


class _Stop:
    """The process's stop state. ``raised``: this run's stop has been raised (later signals are ignored).
    ``delivered`` counts the stops raised in this process and ``arrived`` those that reached the end of their
    run (a listening block left by an exception, or `stop_listening`): a stop is in flight while
    ``delivered > arrived``. ``signum`` is its signal, ``last`` the monotonic time it was last raised or sent,
    ``cleaning`` the clean-up blocks running now (`cleaning`), ``listening`` the listening blocks open now
    (``installed``: `install`'s, for the whole process, counts as one) and ``watching`` whether the watchdog
    thread runs."""

    raised = False
    delivered = 0
    arrived = 0
    signum = signal.SIGINT
    last = 0.0
    cleaning = 0
    listening = 0
    installed = False
    watching = False


_LOCK = threading.RLock()  # the watchdog's check-then-send against a stop landing (the handler takes it too)


def _on_signal(signum: int, frame: Any) -> None:
    """First SIGINT → KeyboardInterrupt, first SIGTERM/SIGHUP → Terminated; later ones are ignored."""
    with _LOCK:
        if _Stop.raised:
            return
        _Stop.raised = True
        _Stop.delivered += 1
        _Stop.signum, _Stop.last = signum, time.monotonic()
    raise _stop_exception(signum)


def _stop_exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)


REDELIVERY_DELAY = 0.02  # seconds: time enough to leave the callback that swallowed the stop; the watchdog's tick
SWALLOWED_AFTER = 0.75  # seconds: a raised stop that has not reached its run's end by then (outside clean-up) was
# swallowed, and is raised again


_chained_hook: Any = None  # the unraisable hook `_redeliver` replaced, for everything that is not a stop of ours


def _redeliver(unraisable: Any) -> None:
    """sys.unraisablehook: a stop of ours swallowed by a callback is sent again (by the watchdog, one tick
    later); anything else goes on to the previous hook."""
    exc = unraisable.exc_value
    if _Stop.raised and isinstance(exc, (KeyboardInterrupt, Terminated)):
        with _LOCK:
            _Stop.raised = False  # the stop never reached the run: let the handler raise it again
            _Stop.last = time.monotonic()
        return
    (_chained_hook or sys.__unraisablehook__)(unraisable)


def _watchdog() -> None:
    """The watchdog thread, while anything listens: a stop in flight is sent again to the main thread
    (`pthread_kill`) when it was swallowed. Either visibly (the unraisable hook reset ``raised``: sent every
    REDELIVERY_DELAY until a handler raises it), or silently: raised SWALLOWED_AFTER seconds ago, outside any
    clean-up, and not arrived (a bare ``except:``, or C code clearing the error, while modules import). A
    stop's normal way to its run's end takes milliseconds, clean-up blocks aside, which defer it (and the
    watchdog). The check and the send hold `_LOCK`, which the handler takes to count a stop.

    This thread blocks the stop signals, so it never takes one itself and drops it while SIGINT is ignored
    for an instant (`sigint_blocked`, a worker being spawned); one lost all the same (SIG_IGN set while it
    was pending discards it) is sent again at the next tick."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, *_TERMINATING})
    main = threading.main_thread().ident
    while True:
        time.sleep(REDELIVERY_DELAY)
        with _LOCK:
            if _Stop.listening <= 0 or main is None:
                _Stop.watching = False
                return
            now = time.monotonic()
            if _Stop.delivered <= _Stop.arrived:
                continue
            if _Stop.cleaning:
                _Stop.last = now
            elif now - _Stop.last >= (SWALLOWED_AFTER if _Stop.raised else REDELIVERY_DELAY):
                _Stop.raised, _Stop.last = False, now
                signal.pthread_kill(main, _Stop.signum)


def _start_watching() -> None:
    """Count one more listening block; start the watchdog if it is not running."""
    with _LOCK:
        _Stop.listening += 1
        if _Stop.watching:
            return
        _Stop.watching = True
    threading.Thread(target=_watchdog, daemon=True, name="resnet-cli-watchdog").start()


def in_flight() -> BaseException | None:
    """The stop in flight (raised, not yet at its run's end) as its exception, or None."""
    with _LOCK:
        return _stop_exception(_Stop.signum) if _Stop.delivered > _Stop.arrived else None


def what_ended(exc: BaseException) -> BaseException:
    """What ends a run that `exc` leaves: the stop in flight when `exc` is an error (not a stop or an exit),
    else `exc`. Such an error is the stop's doing: C code that caught it and raised its own (numpy's
    `import_array` prints it and raises "ImportError: numpy._core.multiarray failed to import" when the
    stop lands while a module imports), so the run ends with the stop, not an internal error."""
    stop = in_flight()
    return stop if stop is not None and isinstance(exc, Exception) else exc


def _arrived() -> None:
    """The stop in flight (if any) reached its run's end: nothing is to be sent again."""
    with _LOCK:
        _Stop.arrived = _Stop.delivered


@contextlib.contextmanager
def cleaning() -> Iterator[None]:
    """A clean-up block (workers stopped, a temp file removed): the watchdog sends nothing while it runs."""
    with _LOCK:
        _Stop.cleaning += 1
    try:
        yield
    finally:
        with _LOCK:
            _Stop.cleaning -= 1


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """A clean-up block that must not be cut short (workers stopped, a cluster's futures cancelled):
    SIGINT/SIGTERM that come meanwhile are remembered, not raised, and sent again right after it; the
    watchdog waits for it too (`cleaning`)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}

    def remember(signum: int, frame: Any) -> None:
        caught.append(signum)

    try:
        with cleaning():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, remember)
            try:
                yield
            finally:
                for signum, handler in previous.items():
                    signal.signal(signum, signal.SIG_DFL if handler is None else handler)
    finally:
        if caught:
            signal.raise_signal(caught[0])


_chained_excepthook: Any = None  # the excepthook `_quiet_stop` replaced


def _quiet_stop(exc_type: Any, exc: BaseException, tb: Any) -> None:
    """sys.excepthook: a stop in flight is not printed. C code that catches an exception and prints it
    (numpy's `import_array`, when a Ctrl-C lands while it imports) called this with our stop: the run still
    ends with that stop (`what_ended`), as one line, not a traceback above it. Anything else is printed."""
    if isinstance(exc, (KeyboardInterrupt, Terminated)) and in_flight() is not None:
        return
    (_chained_excepthook or sys.__excepthook__)(exc_type, exc, tb)


def _hook_unraisable() -> Any:
    """Make `_redeliver` the unraisable hook (and `_quiet_stop` the excepthook); the unraisable hook it
    replaces (to restore, and to chain to)."""
    global _chained_hook
    global _chained_excepthook
    previous = sys.unraisablehook
    if previous is not _redeliver:
        _chained_hook = previous
        sys.unraisablehook = _redeliver
    if sys.excepthook is not _quiet_stop:  # installed for good: it changes nothing once no stop is in flight
        _chained_excepthook = sys.excepthook
        sys.excepthook = _quiet_stop
    return previous


_TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _listen() -> dict[int, Any]:
    """Install `_on_signal` for SIGINT, SIGTERM, SIGHUP; return the previous handlers."""
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, *_TERMINATING):
        if signal.getsignal(signum) is signal.SIG_IGN and signum != signal.SIGTERM:
            # `cmd &` in a script ignores SIGINT, `nohup cmd` ignores SIGHUP: the user asked to survive
            # them, and Python itself leaves an ignored SIGINT ignored.
            continue
        previous[signum] = signal.signal(signum, _on_signal)
    return previous


def install() -> None:
    """For the whole process (the console script): signals stop the run from now on."""
    if threading.current_thread() is threading.main_thread():
        _Stop.raised = False
        _hook_unraisable()
        _listen()
        if not _Stop.installed:
            _Stop.installed = True
            _start_watching()


def stop_listening() -> None:
    """The run is over (its exit code is decided): signals that come now change nothing, and a stop in flight
    has arrived.

    They are ignored outright, not only by our handler: while the interpreter shuts down CPython puts every
    Python-level handler back to SIG_DFL, and a Ctrl-C in that instant killed a finished run by the signal
    (exit −2 instead of 0 or 130). An ignored disposition is left as it is."""
    with _LOCK:
        _Stop.raised = True
        _arrived()
        if _Stop.installed:
            _Stop.installed = False
            _Stop.listening -= 1
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, *_TERMINATING):
            signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Within the block: SIGINT → KeyboardInterrupt, SIGTERM/SIGHUP → `Terminated` (the first of them;
    later ones are ignored); restore the previous handlers on exit.

    A SIGINT or SIGHUP that was ignored when the block starts stays ignored (background jobs, nohup).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    raised = _Stop.raised
    hook = _hook_unraisable()
    _start_watching()
    try:
        _Stop.raised = False
        previous = _listen()
        yield
        swallowed = in_flight()
        if swallowed is not None:  # the run ended, but a stop came and was swallowed on the way: it ends the run now
            raise swallowed
    except BaseException as exc:
        ended = what_ended(exc)
        _arrived()  # whatever ends the run, a stop in flight has reached its end
        if ended is not exc:
            raise ended from exc
        raise
    finally:
        sys.unraisablehook = hook
        for signum, handler in previous.items():
            # None means "installed from C, not from Python": the best we can restore is the default.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        with _LOCK:
            _Stop.raised = raised or _Stop.raised
            _Stop.listening -= 1


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Start multiprocessing "spawn" children inside this block: they begin life ignoring SIGINT.

    A terminal's Ctrl-C reaches the whole process group, a spawned worker included, and one that arrived
    while the worker's interpreter was still importing (before it could ignore SIGINT itself) printed a
    multiprocessing traceback. An ignored disposition survives fork and exec (a Python handler does not, and
    multiprocessing's spawn clears the signal mask), so SIGINT is set to SIG_IGN for the instant of the
    fork+exec only; the parent stops its workers with SIGTERM. Meanwhile SIGINT is blocked in this thread:
    one that comes then stays pending (the kernel does not drop a signal that the main thread blocks) and
    reaches the restored handler right after. (Another thread that does not block SIGINT, e.g. a
    BLAS thread, could still take and drop one during the fork+exec itself: a window of a few milliseconds.)
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    import multiprocessing.util as mp_util

    original = mp_util.spawnv_passfds

    def spawn_ignoring_sigint(*args: Any) -> Any:
        # blocked here, at each spawn: multiprocessing's resource tracker start unblocks SIGINT on its way
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            if signal.SIGINT in signal.sigpending():  # setting SIG_IGN would discard it: act on it now
                handler = signal.getsignal(signal.SIGINT)
                if callable(handler):
                    handler(signal.SIGINT, None)
            handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                return original(*args)
            finally:
                signal.signal(signal.SIGINT, signal.SIG_DFL if handler is None else handler)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    mp_util.spawnv_passfds = spawn_ignoring_sigint
    try:
        yield
    finally:
        mp_util.spawnv_passfds = original
