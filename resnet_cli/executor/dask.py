"""Cells on a dask.distributed cluster: a bounded handshake, aligned tasks, a cooperative cancel flag.

`distributed` is imported only here (extra ``resnet-cli[distributed]``); a missing package is a one-line
UserError. ``jobs`` is ignored: the cluster decides.

- **Handshake.** Before any Client is built the scheduler must answer an ``identity`` call within
  `CONNECT_TIMEOUT` seconds: a closed port, a host that does not answer, or a server that accepts the
  connection and never speaks (where `distributed.Client(address, timeout=...)` waits without limit) all
  end in one line, "--dask ADDRESS: cannot reach the scheduler (...)", exit 2.
- **Aligned tasks.** Each task travels as one in-band pickle, unpickled on the worker. Handed to dask as
  objects, a task's numpy arrays arrive as views into the received message frame, at whatever byte offset
  they land: often not 8-byte aligned, and numpy's matmul then skips BLAS for its own loop (another
  summation order: depth-sweep's theory_cond10 moved by 2e-15, now and then). Unpickling in-band data gives
  every array its own aligned allocation, exactly as in a local pool worker.
- **Cancel.** dask cannot stop a running task. Each sweep owns a `distributed.Event`; on interrupt the parent
  sets it, and every running cell looks at it at its progress points (`cell_progress`, at most every
  `CANCEL_POLL` s) and raises `CellCancelled` there, so the workers are free within about a second of the
  interrupt. A cell that never calls `cell_progress` runs to its end (its result is dropped).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import pickle
import threading
import time
import uuid
from typing import Any, Callable, Sequence

from resnet_cli.errors import UserError, quiet_floating_point
from resnet_cli.executor.blas import pin_blas
from resnet_cli.executor.cell import CellCancelled, cell_hook
from resnet_cli.signals import signals_deferred

#: Seconds the scheduler has to accept the connection and identify itself.
CONNECT_TIMEOUT = 15.0
#: Seconds between two looks of a running cell at its sweep's cancel flag.
CANCEL_POLL = 0.2
#: Pickle protocol of a task sent to a dask worker: in-band data only (as a local pool's pickles on Python 3.11).
TASK_PICKLE_PROTOCOL = 4


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def handshake(address: str, timeout: float) -> None:
    """Connect to the scheduler and ask who it is, all within `timeout` seconds; UserError otherwise.

    Runs on its own short-lived event loop in a daemon thread, so it works when the caller already runs
    an event loop (a notebook) and the wait stays interruptible by Ctrl-C."""
    import asyncio

    from distributed.core import rpc

    outcome: dict[str, Any] = {}

    async def identify() -> Any:
        async with rpc(address) as scheduler:
            return await scheduler.identity()

    def main() -> None:
        try:
            outcome["identity"] = asyncio.run(asyncio.wait_for(identify(), timeout))
        except BaseException as exc:  # noqa: BLE001 - reported below as one line
            outcome["error"] = exc

    thread = threading.Thread(target=main, name="resnet-cli-dask-handshake", daemon=True)
    thread.start()
    thread.join(timeout + 2.0)
    error = outcome.get("error")
    if "identity" in outcome and isinstance(outcome["identity"], dict):
        if outcome["identity"].get("type") == "Scheduler":
            return
        raise UserError(f"--dask {address}: cannot reach the scheduler (it answered as a "
                        f"{outcome['identity'].get('type', 'non-scheduler')})")
    if error is None or isinstance(error, (TimeoutError, asyncio.TimeoutError)):
        raise UserError(f"--dask {address}: cannot reach the scheduler (no answer within {timeout:g} s)")
    raise UserError(f"--dask {address}: cannot reach the scheduler ({_one_line(error)})")


def _close_failed_client(exc: BaseException, client_type: type) -> None:
    """Close the half-built Client of a failed connection now, while its event loop runs.

    Left alone, its `__del__` tries to close it at interpreter exit, times out and prints a traceback
    ("Exception ignored in: Client.__del__"). The object is only reachable from the traceback's frames.
    """
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, client_type):
            with contextlib.suppress(Exception):
                candidate.close(timeout=1)
            break
        tb = tb.tb_next


def _cancel_check(event_name: str) -> Callable[[float], None]:
    """A `cell_progress` hook that raises CellCancelled once the sweep's Event is set (looked at every CANCEL_POLL s)."""
    import distributed

    event = distributed.Event(event_name)
    last = [time.monotonic()]

    def hook(_fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= CANCEL_POLL:
            last[0] = now
            if event.is_set():
                raise CellCancelled("the sweep was interrupted")

    return hook


def run_on_worker(fn: Callable[[Any], Any], blob: bytes, event_name: str) -> Any:
    """Dask worker side of a cell: the task arrives as one in-band pickle; progress points check the flag."""
    task = pickle.loads(blob)
    pin_blas()
    with cell_hook(_cancel_check(event_name)), quiet_floating_point():
        return fn(task)


def run_dask(address: str, fn: Callable[[Any], Any], tasks: Sequence[Any], todo: Sequence[int],
             finish: Callable[[int, Any], None]) -> None:
    """Every cell of `todo` on the scheduler at `address` (largest first); results to `finish` as they come."""
    try:
        import distributed
    except ImportError:
        raise UserError("--dask needs dask.distributed: pip install 'resnet-cli[distributed]'") from None
    try:
        handshake(address, CONNECT_TIMEOUT)
    except (ValueError, TypeError) as exc:  # a malformed address
        raise UserError(f"--dask {address}: cannot reach the scheduler ({_one_line(exc)})") from None
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as exc:  # the scheduler went away between the handshake and now
        _close_failed_client(exc, distributed.Client)
        raise UserError(f"--dask {address}: cannot reach the scheduler ({_one_line(exc)})") from None
    event_name = f"resnet-cli-cancel-{uuid.uuid4().hex}"
    futures: dict[cf.Future, int] = {}
    try:
        executor = client.get_executor(pure=False)
        for i in todo:
            blob = pickle.dumps(tasks[i], protocol=TASK_PICKLE_PROTOCOL)
            futures[executor.submit(run_on_worker, fn, blob, event_name)] = i
        position = {i: n for n, i in enumerate(todo)}
        pending = set(futures)
        while pending:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: position[futures[f]]):
                finish(futures[future], future.result())
        with contextlib.suppress(Exception):
            distributed.Event(event_name, client=client).clear()
    except BaseException:
        with signals_deferred():
            with contextlib.suppress(Exception):
                distributed.Event(event_name, client=client).set()
            for future in futures:
                future.cancel()
        raise
    finally:
        with signals_deferred(), contextlib.suppress(Exception):
            client.close(timeout=1)
