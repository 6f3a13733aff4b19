"""Cells in this process, or in a local pool of spawned worker processes that is stopped cleanly on interrupt.

The pool is a few `multiprocessing` "spawn" processes (no fork of a parent that holds BLAS thread pools or a
rich live display), each fed one cell at a time through its own pipe, largest cell first, so the slowest
cells start early and workers finish together. It is written here rather than taken from
`concurrent.futures.ProcessPoolExecutor` because stopping that pool within 2 s needs its private attributes
(its worker processes, its manager thread, the wake-up pipes of its exit hook, whose race printed "Bad file
descriptor" after one Ctrl-C in 40): here every process is ours to terminate and join.

On any exception while cells run — KeyboardInterrupt, `signals.Terminated`, or a cell's own error — the
workers are terminated (SIGTERM, then SIGKILL after `WORKER_GRACE` s) and joined, so no orphan is left, and
the exception is re-raised; SIGINT/SIGTERM arriving during that clean-up are held and re-delivered after it.
"""

from __future__ import annotations

import collections
import contextlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from resnet_cli.executor.blas import one_thread
from resnet_cli.executor.cell import cell_hook, run_pinned, worker_init
from resnet_cli.signals import sigint_blocked, signals_deferred

#: Seconds a terminated worker gets before SIGKILL.
WORKER_GRACE = 1.0
#: Seconds between looks at the progress of cells running in pool workers.
POLL_SECONDS = 0.25

Finish = Callable[[int, Any], None]
Partial = Callable[[dict[int, float]], None]


def run_here(fn: Callable[[Any], Any], tasks: Sequence[Any], todo: Sequence[int], finish: Finish,
             partial: Partial) -> None:
    """Every cell in this process, BLAS on one thread; `cell_progress` moves the caller's progress at once."""
    with one_thread():
        for i in todo:
            with cell_hook(lambda fraction, i=i: partial({i: fraction})):
                value = fn(tasks[i])
            finish(i, value)


def _worker_main(conn: Any, fractions: Any) -> None:
    """A pool worker: receive ``(slot, fn, task)``, send back ``(ok, value or exception)``, until None or EOF."""
    worker_init(fractions)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        except Exception as exc:  # a task that cannot be unpickled here (a module missing on this side, ...)
            conn.send((False, exc))
            continue
        if message is None:
            return
        slot, fn, task = message
        try:
            reply = (True, run_pinned(fn, task, slot))
        except BaseException as exc:
            reply = (False, exc)
        try:
            conn.send(reply)
        except Exception as exc:  # pickling failed before anything was written
            what = "result" if reply[0] else f"error ({reply[1]!r})"
            conn.send((False, RuntimeError(f"a cell's {what} cannot be sent back: {exc.__class__.__name__}: {exc}")))


@dataclass
class _Worker:
    proc: Any
    conn: Any
    cell: int | None = None


def _stop(crew: list[_Worker]) -> None:
    """Terminate every worker (SIGKILL after WORKER_GRACE s), reap them, close their pipes."""
    for w in crew:
        with contextlib.suppress(Exception):
            w.proc.terminate()
    deadline = time.monotonic() + WORKER_GRACE
    for w in crew:
        with contextlib.suppress(Exception):
            w.proc.join(max(0.0, deadline - time.monotonic()))
    for w in crew:
        with contextlib.suppress(Exception):
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(0.5)
    for w in crew:
        with contextlib.suppress(Exception):
            w.conn.close()


def _close(crew: list[_Worker]) -> None:
    """After the last cell: ask every worker to end, then make sure it did."""
    for w in crew:
        with contextlib.suppress(Exception):
            w.conn.send(None)
    deadline = time.monotonic() + WORKER_GRACE
    for w in crew:
        w.proc.join(max(0.0, deadline - time.monotonic()))
    _stop(crew)


def _died(w: _Worker) -> RuntimeError:
    w.proc.join(0.1)
    code = w.proc.exitcode
    how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return RuntimeError(f"a worker process died ({how}) while running cell {w.cell}")


def run_pool(fn: Callable[[Any], Any], tasks: Sequence[Any], todo: Sequence[int], workers: int,
             finish: Finish, partial: Partial) -> None:
    """Every cell of `todo` (in that order) on `workers` spawned processes; results to `finish` as they come."""
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("spawn")
    fractions = ctx.Array("d", len(tasks), lock=False)  # slot i: how far cell i is (written by its worker)
    queue = collections.deque(todo)
    crew: list[_Worker] = []

    def give(w: _Worker) -> None:
        w.cell = queue.popleft() if queue else None
        if w.cell is not None:
            w.conn.send((w.cell, fn, tasks[w.cell]))

    try:
        for _ in range(workers):
            here, there = ctx.Pipe()
            w = _Worker(ctx.Process(target=_worker_main, args=(there, fractions), name="resnet-cli-cell"), here)
            crew.append(w)
            # The worker is born deaf to Ctrl-C, even while it imports; and a Ctrl-C in the parent waits until
            # start() has sent the worker its start-up data and recorded it (an interrupt half-way left a
            # worker we could not terminate, which then printed an EOFError traceback on reading that data).
            with signals_deferred(), sigint_blocked():
                w.proc.start()
            there.close()
        for w in crew:
            give(w)
        while any(w.cell is not None for w in crew):
            busy = [w for w in crew if w.cell is not None]
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=POLL_SECONDS))
            partial({w.cell: fractions[w.cell] for w in busy if fractions[w.cell] > 0})
            for w in busy:
                if w.conn in ready:
                    try:
                        ok, value = w.conn.recv()
                    except EOFError:
                        raise _died(w) from None
                    if not ok:
                        raise value
                    done, w.cell = w.cell, None
                    finish(done, value)
                    give(w)
                elif w.proc.sentinel in ready:
                    raise _died(w)
    except BaseException:
        with signals_deferred():
            _stop(crew)
        raise
    _close(crew)
