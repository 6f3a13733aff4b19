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

from resnet_cli.eigen import bundled_openblas


def load_libraries() -> None:
    """Load scipy's own OpenBLAS (scipy's wheels bundle one apart from numpy's): threadpoolctl limits only the
    libraries loaded when it is called, and the cells import scipy lazily (`resnet_cli.eigen`), so without this
    the first cell of a worker ran scipy's BLAS on every core — on a shared 2-core machine two such workers
    spun against each other (2-15× the CPU time of one thread). The library itself is loaded
    (`eigen.bundled_openblas`), not scipy.linalg: that import took 0.3 s of every run, and a success-rate
    run needs none of scipy; where scipy bundles no such library, scipy.linalg is imported as before."""
    if bundled_openblas() is not None:
        return
    try:
        import scipy.linalg  # noqa: F401
    except ImportError:  # pragma: no cover - scipy is a core dependency
        pass


def pin_blas() -> None:
    """Limit every BLAS/OpenMP library of this process (scipy's included) to one thread (left in place)."""
    from threadpoolctl import threadpool_limits

    load_libraries()
    threadpool_limits(limits=1)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """BLAS/OpenMP on one thread inside the block, restored afterwards (cells run in this process)."""
    from threadpoolctl import threadpool_limits

    load_libraries()
    with threadpool_limits(limits=1):
        yield
