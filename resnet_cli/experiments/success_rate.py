"""The success-rate experiment of Liu et al. 2019 (poster, "Success Rates with p = 8 and varying k").

For every (p, k) of the grid, `trials` teachers and initializations are drawn once from
`rng.cell_rng(seed, p, k)` and shared by all methods (common random numbers: the methods differ only in
what the method changes). All methods of a (p, k) are one batched GD program over methods × trials
(`optim.run_gd`, exact reduced coordinates, finished trials compacted). Cells are independent and run
through `executor.run_cells` (in this process or in worker processes; results do not depend on `--jobs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from resnet_cli import optim
from resnet_cli.config import require, setting
from resnet_cli.executor import cell_progress
from resnet_cli.experiments.sweep import SweepSettings
from resnet_cli.experiments.two_layer import OutcomeSettings, Progress, StepSettings, TeacherSettings, draw_inits
from resnet_cli.models import two_layer as tl
from resnet_cli.rng import cell_rng

# method -> (student, schedule)
METHODS: dict[str, tuple[str, str]] = {
    "cnn": ("cnn", "constant"),
    "resnet": ("resnet", "constant"),
    "resnet-ssw": ("resnet", "ssw"),
    "resnet-layerwise": ("resnet", "layerwise"),
}


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% for the default z)."""
    if trials == 0:
        return (0.0, 1.0)
    phat = successes / trials
    denom = 1 + z * z / trials
    centre = (phat + z * z / (2 * trials)) / denom
    half = z / denom * math.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # the bounds are exactly 0 and 1 there
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


@dataclass
class SuccessSettings(TeacherSettings, StepSettings, OutcomeSettings, SweepSettings):
    """Every setting of `success-rate`. The v* law defaults to the skip-layer prior for all methods (a
    uniform v0 makes the CNN's initial-angle law independent of v*'s)."""

    COMMAND = "success-rate"
    p: list[int] = setting([8], min=2)
    k: list[int] = setting([4, 9, 16, 25, 36, 49, 64, 81, 100], min=1)
    method: list[str] = setting(["cnn", "resnet", "resnet-ssw"], choices=tuple(METHODS))
    trials: int = setting(1000, min=1)
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        require(len(set(self.method)) == len(self.method), f"--method {','.join(self.method)}: a method twice")


@dataclass
class Cell:
    p: int
    k: int
    method: str
    trials: int
    counts: dict[str, int]
    rate: float
    ci_low: float
    ci_high: float
    steps: int
    stage1_steps: int
    mean_steps_run: float
    phi0_median_deg: float  # median initial angle(v0, v*)
    share_a0_against: float  # share of trials with a0ᵀa* < 0 (a starts pointing against a*)

    def to_dict(self) -> dict[str, Any]:
        """One flat row (also the CSV row of `--out`)."""
        return {
            "p": self.p, "k": self.k, "method": self.method, "trials": self.trials, **self.counts, "rate": self.rate,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "stage1_steps": self.stage1_steps, "steps": self.steps,
            "mean_steps_run": self.mean_steps_run, "phi0_median_deg": self.phi0_median_deg,
            "share_a0_against": self.share_a0_against,
        }


@dataclass
class SuccessResult:
    settings: SuccessSettings
    cells: list[Cell]

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        config = {**s.result_config(), "teacher_v": s.v_kind()}
        return {"command": s.COMMAND, "config": config, "cells": [c.to_dict() for c in self.cells]}


@dataclass(frozen=True)
class PkTask:
    """One (p, k) cell: the settings (which hold the seed) and the cell's sizes."""

    settings: SuccessSettings
    p: int
    k: int


def run_pk(task: PkTask) -> list[Cell]:
    """All methods of one (p, k): shared teachers and a0, and all methods in ONE batched GD program
    (rows = methods × trials, each row with its own schedule), so per-call overhead is paid once."""
    s, p, k = task.settings, task.p, task.k
    rng = cell_rng(s.seed, p, k)
    n = s.trials
    v_star, a_star = s.draw(rng, n, p, k)
    e_inits, a0 = draw_inits(rng, "resnet", v_star, a_star)
    cnn_v0 = tl.sample_sphere(rng, n, p)
    v0s = [cnn_v0 if METHODS[m][0] == "cnn" else e_inits for m in s.method]
    schedules = [s.schedule_of(METHODS[m][1], a_star) for m in s.method]
    m = len(s.method)
    steps = s.total_steps(k)
    gd = optim.run_gd(np.concatenate(v0s), np.tile(a0, (m, 1)), np.tile(v_star, (m, 1)), np.tile(a_star, (m, 1)),
                      optim.Schedule.stack(schedules), steps, s.criteria(), stop_when_global=True,
                      progress=lambda done, total: cell_progress(done / max(total, 1)))
    against = float(np.mean(np.sum(a0 * a_star, axis=1) < 0))
    cells = []
    for i, method in enumerate(s.method):
        rows = slice(i * n, (i + 1) * n)
        outcome = gd.outcome[rows]
        counts = {name: int(np.sum(outcome == name)) for name in optim.OUTCOMES}
        low, high = wilson_interval(counts["global"], n)
        phi0 = float(np.degrees(np.median(tl.angle(v0s[i], v_star))))
        cells.append(
            Cell(p, k, method, n, counts, counts["global"] / n, low, high, steps, schedules[i].stage1_iterations,
                 float(gd.iterations[rows].mean()), phi0, against)
        )
    return cells


def run(settings: SuccessSettings, progress: Progress | None = None) -> SuccessResult:
    """Every cell of the grid, (p, k) cells in worker processes when --jobs > 1. Results do not depend on it.

    `progress(done, total)` counts work in steps (a (p, k) cell weighs its step budget).
    """
    s = settings
    cell_settings = s.cell_settings()
    tasks = [PkTask(cell_settings, p, k) for p in s.p for k in s.k]
    weights = [s.total_steps(task.k) for task in tasks]
    per_cell = s.run_sweep(run_pk, tasks, weights=weights, progress=progress)
    return SuccessResult(s, [cell for cells in per_cell for cell in cells])
