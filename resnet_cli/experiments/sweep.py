"""Where the cells of a sweep run: the settings every sweeping command shares (`--jobs`, `--dask`, `--cache`).

`SweepSettings` is a mixin of the settings of `success-rate` and `depth-sweep`: its fields say where the
cells run and where finished cells are kept, never what they compute, so they are left out of the result's
`config` (the JSON of a run is byte-identical for `--jobs 1`, `--jobs 2` and `--dask ADDRESS`) and out of
each cell's cache key (`cell_settings(settings)`: a re-run with other `--jobs` still finds its cells).
`run_sweep(settings, fn, tasks, ...)` hands the cells to `executor.run_cells` (docs/cluster.md).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from resnet_cli.config import Settings, setting
from resnet_cli.executor import run_cells

#: Settings fields that choose where cells run: not part of a result, nor of a cell's cache key.
EXECUTION_FIELDS = ("jobs", "dask", "cache")


@dataclass(frozen=True)
class SweepSettings(Settings):
    """`--jobs N` (local processes), `--dask ADDRESS` (a dask.distributed scheduler), `--cache DIR` (resume)."""

    jobs: Optional[int] = setting(None, min=1, shown="CPU count, at most 2")
    dask: Optional[str] = setting(None)
    cache: Optional[str] = setting(None)


def workers(settings: SweepSettings) -> int:
    """--jobs, else the CPU count, at most 2."""
    return settings.jobs if settings.jobs is not None else min(2, os.cpu_count() or 1)


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
