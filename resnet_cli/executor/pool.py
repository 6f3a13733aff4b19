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

`shared_workers(n)` keeps one crew alive across the `run_pool` calls inside it (`reproduce all` runs some
twenty sweeps), so a worker's start-up is paid once; the same rules hold (stopped and reaped on any
exception, closed at the end of the block), and `worker_cpu_seconds` counts its workers' CPU until then.
"""

from __future__ import annotations

import collections
import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

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
    """A pool worker: receive ``(slot, fn, task)``, send back ``(ok, value or exception, CPU seconds so far)``,
    until None or EOF. Its CPU time goes with every reply: a shared worker is joined only at the end
    (`shared_workers`), so until then the parent's `os.times` does not count it (`worker_cpu_seconds`)."""
    worker_init(fractions)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        except Exception as exc:  # a task that cannot be unpickled here (a module missing on this side, ...)
            conn.send((False, exc, _own_cpu()))
            continue
        if message is None:
            return
        slot, fn, task = message
        try:
            reply = (True, run_pinned(fn, task, slot), _own_cpu())
        except BaseException as exc:
            reply = (False, exc, _own_cpu())
        try:
            conn.send(reply)
        except Exception as exc:  # pickling failed before anything was written
            what = "result" if reply[0] else f"error ({reply[1]!r})"
            conn.send((False, RuntimeError(f"a cell's {what} cannot be sent back: {exc.__class__.__name__}: {exc}"),
                       _own_cpu()))


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


@dataclass
class _Worker:
    proc: Any
    conn: Any
    slot: int  # its slot of the crew's progress array
    cell: int | None = None
    cpu: float = 0.0  # its CPU seconds at its last reply


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


class _Crew:
    """Spawned workers and the shared array where each reports its running cell's progress (one slot each):
    one `run_pool`'s own, or the one `shared_workers` keeps for every `run_pool` inside it."""

    def __init__(self, size: int) -> None:
        import multiprocessing

        self.ctx = multiprocessing.get_context("spawn")
        self.size = size
        self.fractions = self.ctx.Array("d", size, lock=False)
        self.workers: list[_Worker] = []

    def grow(self, count: int) -> list[_Worker]:
        """The first `count` workers, spawning the missing ones."""
        while len(self.workers) < count:
            here, there = self.ctx.Pipe()
            slot = len(self.workers)
            w = _Worker(self.ctx.Process(target=_worker_main, args=(there, self.fractions), name="resnet-cli-cell"),
                        here, slot)
            self.workers.append(w)
            # The worker is born deaf to Ctrl-C, even while it imports; and a Ctrl-C in the parent waits until
            # start() has sent the worker its start-up data and recorded it (an interrupt half-way left a
            # worker we could not terminate, which then printed an EOFError traceback on reading that data).
            with signals_deferred(), sigint_blocked():
                w.proc.start()
            there.close()
        return self.workers[:count]

    def stop(self) -> None:
        """Terminate and reap every worker (after an exception)."""
        workers, self.workers = self.workers, []
        _stop(workers)

    def close(self) -> None:
        """Ask every worker to end and reap it (after the last cell)."""
        workers, self.workers = self.workers, []
        _close(workers)


_SHARED: _Crew | None = None


@contextlib.contextmanager
def shared_workers(size: int) -> Iterator[None]:
    """Inside the block, every `run_pool` of at most `size` workers uses the same spawned processes (spawned at
    the first need, closed at the end, stopped on any exception), so a run of many sweeps (`reproduce all`)
    pays a worker's start-up — a fresh interpreter importing numpy and the cells' modules, about 1 s — once
    instead of once per sweep. A cell's numbers do not depend on which worker ran it or what ran there before
    (every task carries its full config and seed; BLAS on one thread). Nested blocks use the outer crew."""
    global _SHARED
    if size < 2 or _SHARED is not None:
        yield
        return
    _SHARED = crew = _Crew(size)
    try:
        yield
    except BaseException:
        with signals_deferred():
            crew.stop()
        raise
    finally:
        _SHARED = None
    crew.close()


def worker_cpu_seconds() -> float:
    """CPU seconds of the shared workers so far (alive, so not yet in this process's `os.times` children)."""
    return sum(w.cpu for w in _SHARED.workers) if _SHARED is not None else 0.0


def run_pool(fn: Callable[[Any], Any], tasks: Sequence[Any], todo: Sequence[int], workers: int,
             finish: Finish, partial: Partial) -> None:
    """Every cell of `todo` (in that order) on `workers` spawned processes (those of `shared_workers` when
    inside one and it has room); results to `finish` as they come."""
    from multiprocessing.connection import wait

    shared = _SHARED is not None and workers <= _SHARED.size
    crew = _SHARED if shared else _Crew(workers)
    assert crew is not None
    fractions = crew.fractions
    queue = collections.deque(todo)

    def give(w: _Worker) -> None:
        w.cell = queue.popleft() if queue else None
        if w.cell is not None:
            fractions[w.slot] = 0.0
            w.conn.send((w.slot, fn, tasks[w.cell]))

    try:
        team = crew.grow(workers)
        for w in team:
            give(w)
        while any(w.cell is not None for w in team):
            busy = [w for w in team if w.cell is not None]
            ready = set(wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=POLL_SECONDS))
            partial({w.cell: fractions[w.slot] for w in busy if fractions[w.slot] > 0})
            for w in busy:
                if w.conn in ready:
                    try:
                        ok, value, w.cpu = w.conn.recv()
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
            crew.stop()
        raise
    if not shared:
        crew.close()
