"""Every experiment from Python (notebooks, scripts): build settings, call `run`, read the result.

    >>> from resnet_cli.api import SuccessSettings, run
    >>> result = run(SuccessSettings(k=[4], trials=50))          # doctest: +SKIP
    >>> result.to_dict()["cells"][0]["rate"]                      # doctest: +SKIP

`run(settings)` dispatches on the settings' type to the experiment's own `run` function; settings can
also come from a preset or a TOML file with overrides, exactly as on the command line:
`SuccessSettings.resolve("liu2019-success", {"trials": 200})`. docs/api.md has one example per paper.

From Python a sweep runs in this process unless its settings ask for workers (`jobs=2`): the command
line's default (CPU count, at most 2, for a run estimated over 2 s) would spawn processes that re-import a script's main module, which
fails without an `if __name__ == "__main__":` guard. A result echoes as a few lines (its `__repr__`).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any, Callable

from resnet_cli import budget
from resnet_cli.config import Settings
from resnet_cli.executor.blas import one_thread
from resnet_cli.experiments import deep_resnet, depth_sweep, hessian, linear_residual, train_shortcut
from resnet_cli.experiments.deep_resnet import DeepResnetSettings
from resnet_cli.experiments.depth_sweep import DepthSweepSettings
from resnet_cli.experiments.hessian import HessianSettings
from resnet_cli.experiments.linear_residual import LinearResnetSettings
from resnet_cli.experiments.success_rate import SuccessSettings
from resnet_cli.experiments.success_rate import cost as success_cost, run as _run_success
from resnet_cli.experiments.train_shortcut import TrainShortcutSettings
from resnet_cli.experiments.two_layer import LandscapeSettings, TrainSettings, run_landscape, run_train
from resnet_cli.experiments.two_layer_settings import landscape_cost, train_cost

__all__ = ["run", "cost", "TrainSettings", "LandscapeSettings", "SuccessSettings", "HessianSettings",
           "TrainShortcutSettings", "DepthSweepSettings", "DeepResnetSettings",
           "LinearResnetSettings"]


@dataclasses.dataclass(frozen=True)
class Experiment:
    """What the settings of one command are for: `run(settings, progress=None)` → a result with `to_dict()`,
    and `cost(settings)` → the memory and time estimate of resnet_cli/budget.py, before any allocation."""

    run: Callable[..., Any]
    cost: Callable[[Any], budget.Cost]


#: One line per command: its settings type → its experiment's functions.
EXPERIMENTS: dict[type, Experiment] = {
    TrainSettings: Experiment(run_train, train_cost),
    LandscapeSettings: Experiment(run_landscape, landscape_cost),
    SuccessSettings: Experiment(_run_success, success_cost),
    HessianSettings: Experiment(hessian.run, hessian.cost),
    TrainShortcutSettings: Experiment(train_shortcut.run, train_shortcut.cost),
    DepthSweepSettings: Experiment(depth_sweep.run, depth_sweep.cost),
    DeepResnetSettings: Experiment(deep_resnet.run, deep_resnet.cost),
    LinearResnetSettings: Experiment(linear_residual.run, linear_residual.cost),
}


def cost(settings: Settings) -> budget.Cost | None:
    """The estimate of `run(settings)` (None for settings of no registered experiment): a sweep whose `jobs` is
    unset counted in this process, as `run` runs it."""
    return command_cost(_as_run(settings)) if type(settings) in EXPERIMENTS else None


def command_cost(settings: Settings) -> budget.Cost | None:
    """The estimate the command line announces for `settings` (a sweep whose `jobs` is unset: the command's
    default processes, `sweep.with_jobs`)."""
    experiment = EXPERIMENTS.get(type(settings))
    if experiment is None:
        return None
    settings.validate()  # (a negative count gave a negative memory estimate)
    return experiment.cost(settings)


def _as_run(settings: Settings) -> Settings:
    """`settings` as `run` runs them: a sweep whose `jobs` is unset in this process (jobs=1)."""
    if any(f.name == "jobs" for f in dataclasses.fields(settings)) and settings.jobs is None:
        return dataclasses.replace(settings, jobs=1)
    return settings


def run(settings: Settings, progress: Callable[[float, float], None] | None = None) -> Any:
    """Validate `settings` and run its experiment; returns the result (with `to_dict()`).

    A sweep whose `jobs` is unset runs in this process (jobs=1); `jobs=N` asks for N worker processes,
    which a script must call under `if __name__ == "__main__":` (a clear RuntimeError otherwise). BLAS runs
    on one thread for the call (as on the command line) and gets the caller's setting back afterwards.
    """
    experiment = EXPERIMENTS.get(type(settings))
    if experiment is None:
        raise TypeError(f"no experiment for {type(settings).__name__}")
    runner = experiment.run
    settings = _as_run(settings)
    settings.validate()
    if getattr(settings, "jobs", 1) > 1 and not getattr(settings, "dask", None):
        if _importing_main_in_a_worker():
            raise RuntimeError(UNGUARDED)
        if _main_from_no_file():
            raise RuntimeError(NO_SCRIPT_FILE)
    with one_thread():  # the run's own BLAS on one thread too, as its cells: the same bits on any machine's core count
        if progress is None:
            return runner(settings)
        # (some experiments also pass a label: the documented callback takes done and total only)
        return runner(settings, progress=lambda done, total, *label, **kw: progress(done, total))


UNGUARDED = ("resnet_cli.api.run(..., jobs > 1) from a script without `if __name__ == \"__main__\":`: worker "
             "processes re-import the script and would run it again. Put the call under that guard, or leave "
             "jobs unset (one process)")


NO_SCRIPT_FILE = ("resnet_cli.api.run(..., jobs > 1) from a script read from standard input (`python -`): worker "
                  "processes re-import the caller's script from its file, and there is none. Save it as a file, or "
                  "leave jobs unset (one process)")


def _main_from_no_file() -> bool:
    """A script given on standard input (__file__ '<stdin>', not a file): nothing for a spawned worker to
    re-import. (`python -c` has no __file__, and spawn then re-imports nothing.)"""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return getattr(main, "__spec__", None) is None and path is not None and not os.path.isfile(path)


def _importing_main_in_a_worker() -> bool:
    """True where worker processes would re-run the caller: in a spawned worker re-importing the parent's
    script (run there as `__mp_main__`), or in a script whose text has no `__main__` guard at all."""
    main = sys.modules.get("__main__")
    if getattr(main, "__name__", "") == "__mp_main__":
        return True
    path = getattr(main, "__file__", None)
    if not path or getattr(main, "__spec__", None) is not None:  # a REPL, a notebook, `python -m module`
        return False
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "__main__" not in handle.read()
    except OSError:
        return False
