"""Where the cells of a sweep run: the settings every sweeping command shares (`--jobs`, `--dask`, `--cache`).

`SweepSettings` is a mixin of the settings of `success-rate` and `depth-sweep`: its fields say where the
cells run and where finished cells are kept, never what they compute, so they are left out of the result's
`config` (the JSON of a run is byte-identical for `--jobs 1`, `--jobs 2` and `--dask ADDRESS`) and out of
each cell's cache key (`cell_settings(settings)`: a re-run with other `--jobs` still finds its cells).
`run_sweep(settings, fn, tasks, ...)` hands the cells to `executor.run_cells` (docs/cluster.md).

`Progress` is the callback every experiment's `run(settings, progress=None)` takes:
`progress(completed, total, description=None)`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, TypeVar

from resnet_cli import budget
from resnet_cli.config import Settings, setting
from resnet_cli.executor import CellCache, cell_key, run_cells
from resnet_cli.executor.cache import MISSING

Progress = Callable[..., None]
S = TypeVar("S", bound="SweepSettings")


def no_progress(completed: float = 0, total: float = 1, description: str | None = None) -> None:
    """The progress callback of a run that reports to no one."""
    return None


#: A sweep left to the default --jobs stays in this process when its estimate on one core is under this many
#: seconds. Two spawned workers cost about 0.7 s of wall time and 1.4 CPU-s before the first cell (each imports
#: numpy and this package; AMD EPYC without AVX-512, 2026-12-07), so a pool pays off from about 1.4 s of work
#: there; under 2 s it would save at most a few tenths of a second and use two cores instead of one.
POOL_FROM_SECONDS = 2.0
#: Settings fields that choose where cells run: not part of a result, nor of a cell's cache key.
EXECUTION_FIELDS = ("jobs", "dask", "cache")
#: With --cache, `run_batched` makes this many groups per worker, each kept as it ends (an interrupted run keeps
#: the ended ones); without, one group per worker.
CACHE_GROUPS = 4


@dataclass(frozen=True)
class SweepSettings(Settings):
    """`--jobs N` (local processes), `--dask ADDRESS` (a dask.distributed scheduler), `--cache DIR` (resume)."""

    jobs: Optional[int] = setting(None, min=1, shown=f"CPU count, at most 2; 1 for a run under ~{POOL_FROM_SECONDS:g} s")
    dask: Optional[str] = setting(None)
    cache: Optional[str] = setting(None)


def workers(settings: SweepSettings, cost: Callable[[Any], budget.Cost] | None = None) -> int:
    """--jobs; unset: the CPU count, at most 2, except a run that `cost` (the experiment's estimate, resnet_cli/
    budget.py) puts under POOL_FROM_SECONDS on one core, which stays in this process. The numbers do not
    depend on where the cells run."""
    if settings.jobs is not None:
        return settings.jobs
    cpus = min(2, os.cpu_count() or 1)
    if cpus == 1 or settings.dask or cost is None:
        return cpus
    return 1 if cost(dataclasses.replace(settings, jobs=1)).seconds < POOL_FROM_SECONDS else cpus


def with_jobs(settings: S, cost: Callable[[S], budget.Cost]) -> S:
    """`settings` with an unset --jobs decided by `workers(settings, cost)`: what an experiment's `run` runs."""
    if settings.jobs is not None or settings.dask:
        return settings
    return dataclasses.replace(settings, jobs=workers(settings, cost))


def cell_settings(settings: SweepSettings) -> SweepSettings:
    """The settings without the execution fields: what a cell task carries (and its cache key covers)."""
    return dataclasses.replace(settings, **{name: None for name in EXECUTION_FIELDS})


def result_config(settings: SweepSettings) -> dict[str, Any]:
    """The `config` of a result: every setting except where the cells ran."""
    return {k: v for k, v in settings.to_dict().items() if k not in EXECUTION_FIELDS}


def run_sweep(settings: SweepSettings, fn: Callable[[Any], Any], tasks: Sequence[Any], *,
              weights: Sequence[float] | None = None, progress: Callable[[float, float], None] | None = None) -> list[Any]:
    """`executor.run_cells` with the sweep's --jobs / --dask / --cache."""
    return run_cells(fn, tasks, jobs=workers(settings), dask=settings.dask or None, cache=settings.cache or None,
                     weights=weights, progress=progress)


def run_batched(settings: SweepSettings, cell: Callable[[Any], Any], batch: Callable[[Any], list[Any]],
                group: Callable[[tuple], Any], tasks: Sequence[Any], *, weights: Sequence[float] | None = None,
                progress: Callable[[float, float], None] | None = None) -> list[Any]:
    """`run_sweep` for cells that run faster together: the cells not in --cache become at most `workers()`
    groups of about equal weight (largest first, each to the lightest group), `batch(group(tasks))` runs a
    group's cells as one program and returns their results in order. Every cell is cached under its own
    key `cell_key(cell, task)` (as `run_sweep(settings, cell, ...)` would), so a re-run with other --jobs
    still finds it; `batch` must give each cell exactly what `cell` gives alone."""
    tasks = list(tasks)
    w = [1.0] * len(tasks) if weights is None else [float(x) for x in weights]
    store = CellCache(settings.cache) if settings.cache else None
    keys = [cell_key(cell, task) for task in tasks] if store else []
    results = [store.load(key) for key in keys] if store else [MISSING] * len(tasks)
    todo = sorted((i for i, r in enumerate(results) if r is MISSING), key=lambda i: -w[i])
    # With --cache a group is kept as it ends, so an interrupted run keeps the groups that ended: more, smaller
    # groups then (CACHE_GROUPS per worker), at some batching speed; the numbers do not depend on the groups.
    groups = workers(settings) * (CACHE_GROUPS if store else 1)
    bins: list[list[int]] = [[] for _ in range(min(groups, len(todo)))]
    for i in todo:
        min(bins, key=lambda b: sum(w[j] for j in b)).append(i)
    bins = [sorted(b) for b in bins]
    cached = sum(w[i] for i, r in enumerate(results) if r is not MISSING)
    report = None if progress is None else (lambda done, total: progress(cached + done, cached + total))
    def keep(g: int, values: list[Any]) -> None:  # a group's cells, as the group ends
        for i, value in zip(bins[g], values):
            results[i] = value
            if store:
                store.store(keys[i], value, cell)

    run_cells(batch, [group(tuple(tasks[i] for i in b)) for b in bins], jobs=workers(settings),
              dask=settings.dask or None, weights=[sum(w[i] for i in b) for b in bins], progress=report,
              on_result=keep)
    if progress is not None and not todo:
        progress(cached, cached)
    return results
