"""`run_cells`: the single entry point of every sweep (where cells run, the cache, progress)."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from resnet_cli.errors import UserError
from resnet_cli.executor.cache import MISSING, CellCache
from resnet_cli.executor.keys import cell_key


def _check(n: int, weights: Sequence[float] | None, jobs: Any) -> list[float]:
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    if len(w) != n:
        raise ValueError(f"run_cells: {len(w)} weights for {n} tasks")
    if any(not math.isfinite(x) or x < 0 for x in w):
        raise ValueError("run_cells: weights must be finite and non-negative")
    if isinstance(jobs, bool) or not isinstance(jobs, (int, np.integer)) or jobs < 1:
        raise UserError(f"--jobs {jobs}: must be a whole number, at least 1")
    return w


def _cached(fn: Callable[[Any], Any], tasks: list[Any], store: CellCache | None) -> tuple[list[Any], list[str]]:
    """The results found in the cache (MISSING elsewhere) and every cell's key ("" without a cache)."""
    if store is None:
        return [MISSING] * len(tasks), [""] * len(tasks)
    keys = [cell_key(fn, task) for task in tasks]
    return [store.load(key) for key in keys], keys


def run_cells(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    jobs: int = 1,
    dask: str | None = None,
    cache: str | os.PathLike | None = None,
    weights: Sequence[float] | None = None,
    progress: Callable[[float, float], None] | None = None,
    warn: Callable[[str], None] | None = None, on_result: Callable[[int, Any], None] | None = None,
) -> list[Any]:
    """Run ``fn(task)`` for every task; return the results in task order.

    `fn` is a module-level (picklable) function of one task; a task is a picklable object holding the
    cell's full config and seed. ``jobs``: 1 = this process, N > 1 = a local pool of N spawn workers (never
    more than the cells left to compute; one cell runs here). ``dask``: a scheduler address (``jobs`` then
    ignored). ``cache``: a folder of finished cells (created if missing). ``weights``: per-cell cost, for
    ``progress(done, total)`` and for scheduling (largest first); 1 each by default. ``warn(message)``: cache
    warnings (`warnings.warn` by default). ``on_result(i, value)``: here, as each computed cell finishes. Raises
    UserError for a bad ``jobs``, an unusable ``cache`` folder or ``dask`` scheduler — all before any cell runs.
    """
    from resnet_cli.executor import pool

    tasks = list(tasks)
    n = len(tasks)
    w = _check(n, weights, jobs)
    report = progress or (lambda done, total: None)
    store = CellCache(cache, warn) if cache is not None else None

    results, keys = _cached(fn, tasks, store)
    done = float(sum(w[i] for i in range(n) if results[i] is not MISSING))
    total = float(sum(w))
    todo = sorted((i for i in range(n) if results[i] is MISSING), key=lambda i: -w[i])
    report(done, total)

    def finish(i: int, value: Any) -> None:
        nonlocal done
        results[i] = value
        if store is not None:
            store.store(keys[i], value, fn)
        (on_result or (lambda i, value: None))(i, value)
        done += w[i]
        report(done, total)

    def partial(fractions: dict[int, float]) -> None:
        """Finished cells plus the reported share of running ones (never more than the cells' weights)."""
        if fractions:
            report(done + sum(w[i] * min(max(f, 0.0), 1.0) for i, f in fractions.items()), total)

    if not todo:
        return results
    if dask is not None:
        from resnet_cli.executor.dask import run_dask

        run_dask(dask, fn, tasks, todo, finish)
    elif jobs == 1 or len(todo) == 1:
        pool.run_here(fn, tasks, todo, finish, partial)
    else:
        pool.run_pool(fn, tasks, todo, min(int(jobs), len(todo)), finish, partial)
    return results
