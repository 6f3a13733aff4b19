"""Every experiment from Python (notebooks, scripts): build settings, call `run`, read the result.

    >>> from resnet_cli.api import SuccessSettings, run
    >>> result = run(SuccessSettings(k=[4], trials=50))          # doctest: +SKIP
    >>> result.to_dict()["cells"][0]["rate"]                      # doctest: +SKIP

`run(settings)` dispatches on the settings' type to the experiment's own `run` function; settings can
also come from a preset or a TOML file with overrides, exactly as on the command line:
`SuccessSettings.resolve("liu2019-success", {"trials": 200})`. docs/api.md has one example per paper.
"""

from __future__ import annotations

from typing import Any, Callable

from resnet_cli.config import Settings
from resnet_cli.experiments.deep_resnet import DeepResnetSettings
from resnet_cli.experiments.deep_resnet import run as _run_deep_resnet
from resnet_cli.experiments.depth_sweep import DepthSweepSettings
from resnet_cli.experiments.depth_sweep import run as _run_depth_sweep
from resnet_cli.experiments.hessian import HessianSettings
from resnet_cli.experiments.hessian import run as _run_hessian
from resnet_cli.experiments.success_rate import SuccessSettings
from resnet_cli.experiments.success_rate import run as _run_success
from resnet_cli.experiments.train_shortcut import TrainShortcutSettings
from resnet_cli.experiments.train_shortcut import run as _run_train_shortcut
from resnet_cli.experiments.two_layer import LandscapeSettings, TrainSettings, run_landscape, run_train

__all__ = ["run", "TrainSettings", "LandscapeSettings", "SuccessSettings", "HessianSettings",
           "TrainShortcutSettings", "DepthSweepSettings", "DeepResnetSettings"]

RUNNERS: dict[type, Callable[..., Any]] = {
    TrainSettings: run_train,
    LandscapeSettings: run_landscape,
    SuccessSettings: _run_success,
    HessianSettings: _run_hessian,
    TrainShortcutSettings: _run_train_shortcut,
    DepthSweepSettings: _run_depth_sweep,
    DeepResnetSettings: _run_deep_resnet,
}


def run(settings: Settings, progress: Callable[[float, float], None] | None = None) -> Any:
    """Validate `settings` and run its experiment; returns the result (with `to_dict()`)."""
    runner = RUNNERS.get(type(settings))
    if runner is None:
        raise TypeError(f"no experiment for {type(settings).__name__}")
    settings.validate()
    return runner(settings) if progress is None else runner(settings, progress=progress)
