"""The success-rate experiment of Liu et al. 2019 (poster, "Success Rates with p = 8 and varying k").

For every (p, k) of the grid, `trials` teachers and initializations are drawn once from
`rng.cell_rng(seed, p, k)` and shared by all methods (common random numbers: the methods differ only in
what the method changes). All methods of a (p, k) are one batched GD program over methods × trials
(`optim.run_gd`, exact reduced coordinates, finished trials compacted). Cells are independent and run
through `executor.run_cells` (in this process or in worker processes; results do not depend on `--jobs`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from resnet_cli import budget
from resnet_cli.config import require, setting
from resnet_cli.executor import cell_progress
from resnet_cli.experiments import flow
from resnet_cli.experiments.noise import NoiseSettings, noise_law, noise_rng
from resnet_cli.experiments import sweep
from resnet_cli.experiments.sweep import SweepSettings
from resnet_cli.experiments.two_layer import (SampleSettings, OutcomeSettings, Progress, StepSettings, TeacherSettings,
                                              TheoremSettings, draw_inits, gradient_sizes, step_flags, theorem_report,
                                              window_points)
from resnet_cli.models.two_layer import optim, population as tl
from resnet_cli.models.two_layer.methods import ALIASES, FLOW, FLOW_METHODS, METHODS, NOISY, method_spec  # noqa: F401
from resnet_cli.models.two_layer.noise import noisy_state
from resnet_cli.rng import cell_rng
from resnet_cli.experiments.summary import short_repr


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


@dataclass(frozen=True)
class SuccessSettings(TeacherSettings, StepSettings, OutcomeSettings, SampleSettings, TheoremSettings, flow.FlowSettings,
                      NoiseSettings, SweepSettings):
    """Every setting of `success-rate`. The v* law defaults to the skip-layer prior for all methods (a
    uniform v0 makes the CNN's initial-angle law independent of v*'s)."""

    COMMAND = "success-rate"
    p: list[int] = setting([8], min=2)
    k: list[int] = setting([4, 9, 16, 25, 36, 49, 64, 81, 100], min=1)
    method: list[str] = setting(["cnn-large-w", "resnet-large-w", "resnet-ssw"], choices=(*METHODS, *FLOW_METHODS, *ALIASES))
    trials: int = setting(1000, min=1)
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        names = [ALIASES.get(m, m) for m in self.method]
        require(len(set(names)) == len(names), f"--method {','.join(self.method)}: a method twice")
        flows = [name for name in names if name.endswith(FLOW)]
        require(not flows or not self.sampled, f"--method {','.join(flows)}: the gradient flow is of the population "
                "loss; drop --samples/--online")
        require(not flows or self.stride is None or all(self.stride == p for p in self.p),
                f"--method {','.join(flows)}: the gradient flow is for non-overlapping patches; drop --stride")
        budget.check(self.cost())

    def programs(self) -> int:
        """GD programs of trials per (p, k): one per method, plus one per method whose output (1) is checked
        on Theorem 1's own steps (run to T without early stops; counted whole, an upper bound: population
        runs resume at T1)."""
        extra = sum(self.theorem1_checked(*method_spec(m), self.v_kind()) for m in self.method) if self.theorem_trajectory == "theorem1" else 0
        return len(self.method) + extra

    def cost(self) -> budget.Cost:
        """Memory and time before any allocation (resnet_cli/budget.py): methods × trials rows per (p, k)."""
        return budget.two_layer(self.p, self.k, self.programs() * self.trials, {k: self.total_steps(k) for k in self.k},
                                trials=self.trials, **gradient_sizes(self), workers=sweep.workers(self),
                                sized=budget.flags(trials=self.trials, p=self.p, k=self.k, **step_flags(self)))


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
    theorem: dict[str, Any] = field(default_factory=dict)  # Theorem 1's output (1), split by outcome

    def to_dict(self) -> dict[str, Any]:
        """One flat row (also the CSV row of `--out`)."""
        return {
            "p": self.p, "k": self.k, "method": self.method, "trials": self.trials, **self.counts, "rate": self.rate,
            "ci_low": self.ci_low, "ci_high": self.ci_high, "stage1_steps": self.stage1_steps, "steps": self.steps,
            "mean_steps_run": self.mean_steps_run, "phi0_median_deg": self.phi0_median_deg,
            "share_a0_against": self.share_a0_against, **self.theorem,
        }


def output1_summary(held: np.ndarray | None, outcome: np.ndarray, lowest: np.ndarray | None = None,
                    highest: np.ndarray | None = None, phi_max: np.ndarray | None = None) -> dict[str, Any]:
    """Theorem 1's output (1) in one cell: trials for which it held on the recorded iterations of [T1, T]
    among the global trials and among the others; the median over trials of min aᵀa*/‖a*‖² on the window
    (the largest m the median trial satisfied); the tightest constants that every trial of the cell
    satisfied, m = min and M = max of aᵀa*/‖a*‖² over trials and window, and the largest φ. None when not
    checked or no iteration of [T1, T] was run."""
    good = outcome == "global"
    keys = ("output1_global", "output1_other", "a_dot_min_rel_median", "tightest_m", "tightest_big_m", "output1_phi_max")
    if held is None:
        return dict.fromkeys(keys)

    def extreme(values: np.ndarray | None, pick: Any) -> float | None:
        finite = None if values is None else values[np.isfinite(values)]
        return None if finite is None or not finite.size else float(pick(finite))

    return dict(zip(keys, (int(np.sum(held & good)), int(np.sum(held & ~good)), extreme(lowest, np.median),
                           extreme(lowest, np.min), extreme(highest, np.max), extreme(phi_max, np.max))))


@dataclass
class SuccessResult:
    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: SuccessSettings
    cells: list[Cell]

    def to_dict(self) -> dict[str, Any]:
        s = self.settings
        config = {**sweep.result_config(s), "teacher_v": s.v_kind(), "data": s.mode(), "work": s.cost().work}
        return {"command": s.COMMAND, "config": config, "cells": [c.to_dict() for c in self.cells]}


@dataclass(frozen=True)
class PkTask:
    """One (p, k) cell: the settings (which hold the seed) and the cell's sizes."""

    settings: SuccessSettings
    p: int
    k: int


def run_pk(task: PkTask) -> list[Cell]:
    """All methods of one (p, k): shared teachers and a0, and all methods in ONE batched GD program
    (rows = methods × trials, each row with its own schedule), so per-call overhead is paid once. With
    samples, each method is its own program on the same training sets and SGD streams (tiling the data
    would multiply memory by the number of methods; call overhead is nothing beside the sample work).
    Theorem 1's output (1) is checked for the methods inside its hypotheses (all with `theorem_all`): on
    the run itself, or (`theorem_trajectory` theorem1) on one more program of those methods with their
    stage-I step sizes kept on all of [T1, T], run to T without early stops."""
    s, p, k = task.settings, task.p, task.k
    rng = cell_rng(s.seed, p, k)
    n = s.trials
    v_star, a_star = s.draw(rng, n, p, k)
    e_inits, a0 = draw_inits(rng, "resnet", v_star, a_star)
    cnn_v0 = tl.sample_sphere(rng, n, p)
    against = float(np.mean(np.sum(a0 * a_star, axis=1) < 0))  # share of trials whose a0 points away from a*
    requested = [ALIASES.get(m, m) for m in s.method]
    methods = [name for name in requested if not name.endswith(FLOW)]
    flows = [flow_cell(s, p, k, name, v_star, a_star, cnn_v0 if method_spec(name)[0] == "cnn" else e_inits, a0,
                       against) for name in requested if name.endswith(FLOW)]
    if not methods:
        return flows
    m = len(methods)
    checked = [i for i, name in enumerate(methods) if s.theorem1_checked(*METHODS[name], s.v_kind()) and name not in NOISY]
    own = checked if s.theorem_trajectory == "theorem1" else []
    states = s.state_factory(rng, v_star, a_star, copies=m + len(own))  # copies share data: no extra draws
    steps = s.total_steps(k)
    noisy = [name in NOISY for name in methods]  # perturbed GD: a stream of its own per method, no early stops
    states[:m] = [noisy_state(noise_law(s, steps), noise_rng(s.seed, p, k, NOISY.index(name))) if name in NOISY
                  else state for name, state in zip(methods, states)]
    v0s = [cnn_v0 if METHODS[name][0] == "cnn" else e_inits for name in methods]
    schedules = [s.schedule_of(METHODS[name][1], a_star) for name in methods]
    t1 = schedules[0].stage1_iterations
    points = window_points(t1, steps)

    share = m / (m + len(own))  # of the cell's progress: the methods' runs, then Theorem 1's own steps
    # Population runs are deterministic: Theorem 1's own steps continue from the state of the methods' run
    # at T1 (the same steps up to there), so only [T1, T] is run again. Sample runs start over (the SGD
    # streams are part of the state).
    resume = bool(own) and not s.sampled and t1 in points and not any(noisy)

    def program(rows: list[int], scheds: list[optim.Schedule], reps: list[Any], *, stop: bool, span: tuple[float, float],
                starts: tuple[np.ndarray, np.ndarray] | None = None, offset: int = 0) -> list[Any]:
        """The GD runs of the methods `rows` (one run, or one per method with samples): (group, GDResult).
        `starts`: the (v, a) rows of the methods `rows`, stacked, at iteration `offset` (default: the
        initial state at 0); the runs go on to T and record the window points from there."""
        alone = [i for i in range(len(rows)) if s.sampled or noisy[rows[i]]]
        together = [i for i in range(len(rows)) if i not in alone]
        groups = ([together] if together else []) + [[i] for i in alone]
        at = [t - offset for t in points if t >= offset]
        runs = []
        for g, group in enumerate(groups):
            tick = lambda done, total, g=g: cell_progress(  # noqa: E731
                span[0] + span[1] * (g + done / max(total, 1)) / len(groups))
            if starts is None:
                v, a = np.concatenate([v0s[rows[i]] for i in group]), np.tile(a0, (len(group), 1))
            else:
                idx = np.concatenate([np.arange(i * n, (i + 1) * n) for i in group])
                v, a = starts[0][idx], starts[1][idx]
            gd = optim.run_gd(v, a, np.tile(v_star, (len(group), 1)), np.tile(a_star, (len(group), 1)),
                              optim.Schedule.stack([scheds[i] for i in group]), steps - offset, s.criteria(),
                              stop_when_global=stop and not noisy[rows[group[0]]], representation=reps[group[0]], trace_points=at, progress=tick,
                              snapshot_at=t1 if resume and not offset else None)
            gd.trace_iterations = [t + offset for t in gd.trace_iterations]
            runs.append((group, gd))
        return runs

    main = program(list(range(m)), schedules, states[:m], stop=True, span=(0.0, share))
    outcome, ran = np.empty(m * n, dtype=object), np.empty(m * n, dtype=int)
    for group, gd in main:  # back in method order (perturbed GD runs apart)
        rows_of = np.concatenate([np.arange(i * n, (i + 1) * n) for i in group])
        outcome[rows_of], ran[rows_of] = gd.outcome, gd.iterations
    # Output (1): per method, the trace it is checked on (a run stops recording once all its trials have
    # finished, so each run is checked on its own records).
    if own:
        starts = offset = None
        if resume:
            (_, gd), = main
            snap = gd.snapshot if gd.snapshot is not None else (gd.v, gd.a)  # all frozen before T1: as they are
            rows = np.concatenate([np.arange(i * n, (i + 1) * n) for i in own])
            starts, offset = (snap[0][rows], snap[1][rows]), t1
        held_runs = program(own, [schedules[i].held() for i in own], states[m:], stop=False, span=(share, 1 - share),
                            starts=starts, offset=offset or 0)
        traced = {own[i]: (gd, row) for group, gd in held_runs for row, i in enumerate(group)}
    else:
        traced = {i: (gd, row) for group, gd in main for row, i in enumerate(group) if i in checked}
    cells = []
    for i, method in enumerate(methods):
        rows = slice(i * n, (i + 1) * n)
        counts = {name: int(np.sum(outcome[rows] == name)) for name in optim.OUTCOMES}
        low, high = wilson_interval(counts["global"], n)
        phi0 = median_start_angle(v0s[i], v_star)
        summary = output1_summary(None, outcome[rows])
        if i in traced:
            gd, row = traced[i]
            size = gd.outcome.size // n
            r = theorem_report(s, np.tile(a_star, (size, 1)), t1, gd.trace_iterations, gd.trace)
            if r.held is not None:
                pick = lambda x: x.reshape(size, n)[row]  # noqa: E731
                summary = output1_summary(pick(r.held), outcome[rows], pick(r.a_dot_min_rel), pick(r.a_dot_max_rel),
                                          pick(r.phi_max))
        summary["output1_outside"] = s.theorem1_outside(*METHODS[method], s.v_kind())
        cells.append(
            Cell(p, k, method, n, counts, counts["global"] / n, low, high, steps, schedules[i].stage1_iterations,
                 float(ran[rows].mean()), phi0, against, summary)
        )
    order = {name: i for i, name in enumerate(requested)}
    return sorted(cells + flows, key=lambda cell: order[cell.method])


def median_start_angle(v0: np.ndarray, v_star: np.ndarray) -> float:
    """Median over trials of the initial angle(v0, v*), in degrees."""
    return float(np.degrees(np.median(tl.angle(v0, v_star))))


def flow_cell(s: SuccessSettings, p: int, k: int, method: str, v_star: np.ndarray, a_star: np.ndarray,
              v0: np.ndarray, a0: np.ndarray, against: float) -> Cell:
    """The gradient flow of `method`'s schedule (experiments/flow.py) on the cell's teachers and starts: the
    outcome at the schedule's horizon by GD's criteria (the rate), and the kind of the fixed point each
    trial's flow tends to (under `flow`, with the solver's tolerances and work)."""
    n = s.trials
    schedule = s.schedule_of(method_spec(method)[1], a_star)
    steps = s.total_steps(k)
    run = flow.run_flow(v0, a0, v_star, a_star, schedule, steps, s.criteria(), rtol=s.flow_rtol, atol=s.flow_atol,
                        method=s.flow_solver, progress=cell_progress)
    counts = run.counts()
    low, high = wilson_interval(counts["global"], n)
    limits = {f"limit_{name.replace(' ', '_')}": count for name, count in run.limit_counts().items()}
    summary = {**output1_summary(None, run.outcome), "output1_outside": True,
               **limits, "flow_rtol": s.flow_rtol, "flow_atol": s.flow_atol, "flow_solver": s.flow_solver,
               "flow_evaluations": run.nfev}
    return Cell(p, k, method, n, counts, counts["global"] / n, low, high, steps, schedule.stage1_iterations,
                float(steps), median_start_angle(v0, v_star), against, summary)


def run(settings: SuccessSettings, progress: Progress | None = None) -> SuccessResult:
    """Every cell of the grid, (p, k) cells in worker processes when --jobs > 1. Results do not depend on it.

    `progress(done, total)` counts work in steps (a (p, k) cell weighs its step budget).
    """
    s = settings
    cell_settings = sweep.cell_settings(s)
    tasks = [PkTask(cell_settings, p, k) for p in s.p for k in s.k]
    weights = [s.total_steps(task.k) * max(1, s.per_step()) for task in tasks]
    per_cell = sweep.run_sweep(s, run_pk, tasks, weights=weights, progress=progress)
    return SuccessResult(s, [cell for cells in per_cell for cell in cells])
