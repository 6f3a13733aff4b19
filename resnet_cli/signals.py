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

A stop that is swallowed is delivered again. Python runs a signal handler wherever the main thread is, and
an exception raised inside a weakref callback or a `__del__` (importlib's module-lock callback, for one) is
"unraisable": printed and dropped, and the run went on as if nothing had been pressed. `_redeliver` (our
`sys.unraisablehook` while signals are handled) sees such a dropped KeyboardInterrupt or `Terminated`,
re-arms the handler and sends the same signal again a moment later, when the thread is most likely out of
the callback; it repeats, from a thread that blocks the signal itself, until a handler has raised the stop
(one sent while a worker is being spawned, when SIGINT is ignored for an instant, is not lost for good).
Nothing here prints.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from typing import Any, Iterator

__all__ = ["Terminated", "handle_signals", "install", "sigint_blocked", "stop_listening"]


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
    """The state of one run: has a stop signal been raised yet? ``delivered`` counts the stops raised in this
    process, so a redelivery ends once a stop has landed, whatever run comes next."""

    raised = False
    delivered = 0


_LOCK = threading.RLock()  # a redelivery's check-then-send against a stop landing (the handler takes it too)


def _on_signal(signum: int, frame: Any) -> None:
    """First SIGINT → KeyboardInterrupt, first SIGTERM/SIGHUP → Terminated; later ones are ignored."""
    with _LOCK:
        if _Stop.raised:
            return
        _Stop.raised = True
        _Stop.delivered += 1
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


REDELIVERY_DELAY = 0.02  # seconds: time enough to leave the callback that swallowed the stop
REDELIVERY_FOR = 5.0  # seconds: how long a swallowed stop is sent again at most


_chained_hook: Any = None  # the unraisable hook `_redeliver` replaced, for everything that is not a stop of ours


def _redeliver(unraisable: Any) -> None:
    """sys.unraisablehook: a stop of ours swallowed by a callback is sent again; anything else goes on to the
    previous hook."""
    exc = unraisable.exc_value
    if _Stop.raised and isinstance(exc, (KeyboardInterrupt, Terminated)):
        signum = exc.signum if isinstance(exc, Terminated) else signal.SIGINT
        _Stop.raised = False  # the stop never reached the run: let the handler raise it again
        threading.Thread(target=_send_until_stopped, args=(signum, _Stop.delivered), daemon=True,
                         name="resnet-cli-redeliver").start()
        return
    (_chained_hook or sys.__unraisablehook__)(unraisable)


def _send_until_stopped(signum: int, delivered: int) -> None:
    """The redelivery thread: SIGNUM to the main thread every REDELIVERY_DELAY until a stop has landed (more than
    `delivered` raised), the process stops listening, or REDELIVERY_FOR seconds have passed. The check and the
    send hold `_LOCK`, which the handler takes to count a stop, so nothing is sent once one has landed.

    The signal goes to the main thread itself (`pthread_kill`), and this thread blocks the stop signals, so no
    other thread takes one and drops it while SIGINT is ignored for an instant (`sigint_blocked`, a worker
    being spawned); one lost all the same (SIG_IGN set while it was pending discards it) is sent again at the
    next round."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, *_TERMINATING})
    main = threading.main_thread().ident
    for _ in range(int(REDELIVERY_FOR / REDELIVERY_DELAY)):
        time.sleep(REDELIVERY_DELAY)
        with _LOCK:
            if _Stop.raised or _Stop.delivered != delivered or main is None:
                return
            signal.pthread_kill(main, signum)


def _hook_unraisable() -> Any:
    """Make `_redeliver` the unraisable hook; the hook it replaces (to restore, and to chain to)."""
    global _chained_hook
    previous = sys.unraisablehook
    if previous is not _redeliver:
        _chained_hook = previous
        sys.unraisablehook = _redeliver
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


def stop_listening() -> None:
    """The run is over (its exit code is decided): signals that come now change nothing.

    They are ignored outright, not only by our handler: while the interpreter shuts down CPython puts every
    Python-level handler back to SIG_DFL, and a Ctrl-C in that instant killed a finished run by the signal
    (exit −2 instead of 0 or 130). An ignored disposition is left as it is."""
    _Stop.raised = True
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
    try:
        _Stop.raised = False
        previous = _listen()
        yield
    finally:
        sys.unraisablehook = hook
        for signum, handler in previous.items():
            # None means "installed from C, not from Python": the best we can restore is the default.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        _Stop.raised = raised or _Stop.raised


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
