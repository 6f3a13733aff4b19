"""One way to run the cells of every sweep: in this process, in a local process pool, or on dask.distributed.

Each sweep used to carry its own loop and its own process pool, the serial path ran with multi-threaded BLAS
while pool workers were single-threaded (so `--jobs 1` and `--jobs 2` differed in the last bits: 5.5e-12 in
depth-sweep), Ctrl-C left workers behind, and nothing survived an interrupt. `run_cells(fn, tasks, ...)` is
the single entry point (docs/cluster.md); its parts:

- `blas`: every cell runs BLAS/OpenMP on one thread wherever it runs (one summation order: the same bits
  for every executor and every ``jobs``). Each task carries its full config and seed: cells never depend on
  the order they run in.
- `keys`: the cache key of a cell (package version, cell function, canonical task bytes).
- `cache`: the resumable cell cache (``--cache DIR``), one checked file per finished cell.
- `cell`: one cell as it runs; `cell_progress(fraction)` reports from inside a cell and is its progress
  point (where an interrupted dask sweep's cells stop).
- `pool`: ``jobs=1`` in this process; ``jobs>1`` a local pool of spawned workers, stopped and reaped on
  any exception (KeyboardInterrupt, `signals.Terminated`, a cell's error) within 2 s.
- `dask`: ``dask=ADDRESS``, a bounded handshake, aligned tasks and a cooperative cancel flag.
- `run`: `run_cells` itself (the cache, weights and progress, then one of the above).

Nothing here prints; `progress(done, total)` is called in the caller's thread, in units of `weights` (in
this process at once, from pool workers every `pool.POLL_SECONDS`, on dask per finished cell).
"""

from resnet_cli.executor.blas import pin_blas
from resnet_cli.executor.cache import CacheWarning, CellCache
from resnet_cli.executor.cell import CellCancelled, cell_progress
from resnet_cli.executor.keys import canonical_bytes, cell_key
from resnet_cli.executor.run import run_cells

__all__ = [
    "CacheWarning",
    "CellCache",
    "CellCancelled",
    "canonical_bytes",
    "cell_key",
    "cell_progress",
    "pin_blas",
    "run_cells",
]
