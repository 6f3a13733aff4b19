"""BLAS pinning: every cell runs its BLAS/OpenMP libraries on one thread, wherever it runs.

One thread means one summation order, so a fixed seed gives the same bits for every executor and every
``--jobs`` (same machine, same numpy and BLAS build; a dask worker on another CPU type may pick other
kernels). The limit is applied with `threadpoolctl` after the cell function (and so numpy) is imported:
environment variables cannot guarantee it in a spawned worker (the parent's main module, importing numpy,
is re-imported before any initializer runs) nor in this process.
"""

from __future__ import annotations

import contextlib
from typing import Iterator


def pin_blas() -> None:
    """Limit every loaded BLAS/OpenMP library of this process to one thread (left in place)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """BLAS/OpenMP on one thread inside the block, restored afterwards (cells run in this process)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield
