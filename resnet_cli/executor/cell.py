"""One cell as it runs: BLAS pinned, progress from inside the cell, and its progress points.

A cell function may call `cell_progress(fraction)` as it goes (0..1). In this process the caller's progress
moves at once; in a pool worker the fraction lands in a shared array slot that the parent polls; on dask the
call is where the cell looks at the sweep's cancel flag (`executor.dask`), so an interrupted sweep frees the
cluster at the cells' next progress point. Outside `run_cells` the call is a cheap no-op.
"""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any, Callable, Iterator

from resnet_cli.errors import quiet_floating_point
from resnet_cli.executor.blas import pin_blas

_CELL_HOOK: Callable[[float], None] | None = None
_SHARED_FRACTIONS: Any = None  # a pool worker's view of the parent's shared array (one slot per worker)


class CellCancelled(Exception):
    """Raised inside a running cell, at a progress point, when its sweep was interrupted."""


def cell_progress(fraction: float) -> None:
    """Report how far the running cell is, 0..1 (a progress point: a cancelled sweep's cell stops here)."""
    hook = _CELL_HOOK
    if hook is not None:
        hook(min(max(float(fraction), 0.0), 1.0))


@contextlib.contextmanager
def cell_hook(hook: Callable[[float], None] | None) -> Iterator[None]:
    """Route `cell_progress` calls to `hook` inside the block."""
    global _CELL_HOOK
    previous, _CELL_HOOK = _CELL_HOOK, hook
    try:
        yield
    finally:
        _CELL_HOOK = previous


def run_pinned(fn: Callable[[Any], Any], task: Any, slot: int | None = None) -> Any:
    """Worker side of a cell: unpickling `fn` has imported numpy by now, so the limit reaches its BLAS."""
    pin_blas()
    shared = _SHARED_FRACTIONS
    if slot is None or shared is None:
        with quiet_floating_point():  # as in the parent (commands/shell.py): no warning lines from workers
            return fn(task)

    def hook(fraction: float) -> None:
        shared[slot] = fraction

    with cell_hook(hook), quiet_floating_point():
        return fn(task)


# glibc's malloc: blocks up to this size come from the heap, and up to TRIM_THRESHOLD of freed memory stays there.
MMAP_THRESHOLD = 32 * 2**20  # the largest glibc accepts on 64-bit (HEAP_MAX_SIZE / 2)
TRIM_THRESHOLD = 512 * 2**20


def keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed blocks of up to 32 MB instead of returning them to the kernel.

    An array program of numpy allocates its temporaries afresh at every step; above glibc's default
    threshold (128 KB, raised dynamically as blocks are freed) each one is a new mapping whose pages fault
    in again (zero-filled by the kernel): on the linear GD of Li et al. 2017 Figure 9 (100 weight sets of
    depth 96, 7.7 MB per array) a fifth of the CPU time was page faults. Values are untouched; a worker keeps
    at most TRIM_THRESHOLD of freed memory. No-op where libc has no mallopt (not glibc)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None)
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)


def worker_init(fractions: Any = None) -> None:
    """Process-pool worker start: freed memory kept for reuse (`keep_freed_memory`), ignore Ctrl-C (the
    parent stops us), die with the parent (Linux).

    A terminal's Ctrl-C reaches the whole process group; the parent alone decides, and no worker prints a
    traceback. PR_SET_PDEATHSIG asks the kernel to kill the worker should the parent die without cleaning up.
    """
    global _SHARED_FRACTIONS
    _SHARED_FRACTIONS = fractions
    keep_freed_memory()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
