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
from typing import Any, Callable

import numpy as np

from resnet_cli import budget
from resnet_cli.config import require, require_distinct, setting
from resnet_cli.executor import cell_progress
from resnet_cli.experiments import flow
from resnet_cli.experiments.noise import NoiseSettings, check_population, noise_law, noise_rng
from resnet_cli.experiments import sweep
from resnet_cli.experiments.sweep import SweepSettings
from resnet_cli.experiments import two_layer_settings as tls
from resnet_cli.experiments.two_layer_settings import (OutcomeSettings, SampleSettings, StepSettings, TeacherSettings,
                                                       TheoremSettings)
from resnet_cli.models.two_layer import optim, population as tl
from resnet_cli.models.two_layer.methods import ALIASES, FLOW, FLOW_METHODS, METHODS, NOISY, method_spec  # noqa: F401
from resnet_cli.models.two_layer.noise import noisy_state
from resnet_cli.rng import cell_rng
from resnet_cli.experiments.summary import short_repr

Progress = Callable[[int, int], None]


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
    teacher_v: str | None = setting(None, choices=tls.TEACHER_V, shown="prior")  # for every method (docstring)
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        tls.check_stride(self.stride, self.p)
        check_population(any(m in NOISY for m in self.method), overlapping=tls.overlapping(self.stride, self.p))
        names = [ALIASES.get(m, m) for m in self.method]
        require_distinct("--method", self.method, key=lambda m: ALIASES.get(m, m))
        require_distinct("--p", self.p)
        require_distinct("--k", self.k)
        flows = [name for name in names if name.endswith(FLOW)]
        require(not flows or not tls.sampled(self), f"--method {','.join(flows)}: the gradient flow is of the population "
                "loss; drop --samples/--online")
        require(not flows or not tls.overlapping(self.stride, self.p),
                f"--method {','.join(flows)}: the gradient flow is for non-overlapping patches; drop --stride")
        budget.check(cost(self))


def cost(s: SuccessSettings) -> budget.Cost:
    """Memory and time before any allocation (resnet_cli/budget.py): methods × trials rows per (p, k)."""
    programs = success_programs(s)
    full = budget.two_layer(s.p, s.k, programs * s.trials, {k: tls.total_steps(s, k) for k in s.k},
                            trials=s.trials, **tls.gradient_sizes(s), workers=sweep.workers(s, cost), together=batched(s),
                            sized=budget.flags(trials=s.trials, p=s.p, k=s.k, **tls.step_flags(s),
                                              **tls.sample_flags(s)))
    return tls.with_flow_time(full, programs, sum(m.endswith(FLOW) for m in s.method), s.flow_solver)


def success_programs(s: SuccessSettings) -> int:
    """GD programs of trials per (p, k): one per method, plus one per method whose output (1) is checked
    on Theorem 1's own steps (run to T without early stops; counted whole, an upper bound: population
    runs resume at T1)."""
    law = tls.v_law(s)
    extra = sum(tls.theorem1_checked(s, *method_spec(m), law) for m in s.method) if s.theorem_trajectory == "theorem1" else 0
    return len(s.method) + extra


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
        config = {**sweep.result_config(s), "teacher_v": tls.v_law(s), "data": tls.gradient_mode(s), "work": cost(s).work}
        return {"command": s.COMMAND, "config": config, "cells": [c.to_dict() for c in self.cells]}


@dataclass(frozen=True)
class PkTask:
    """One (p, k) cell: the settings (which hold the seed) and the cell's sizes."""

    settings: SuccessSettings
    p: int
    k: int


@dataclass(frozen=True)
class PkGroup:
    """Several (p, k) cells run as one batch (`run_pks`); each keeps its own cell (`run_pk`) cache key."""

    tasks: tuple[PkTask, ...]


class CellPlan:
    """One (p, k) cell of `run_pks`: shared teachers and a0, all GD methods stacked as rows (methods × trials,
    each row with its own schedule). With samples or noise a method is a run of its own (tiling the data
    would multiply memory by the number of methods; perturbed GD has a stream of its own per method and no
    early stops). Theorem 1's output (1) is checked for the methods inside its hypotheses (all with
    `theorem_all`): on the run itself, or (`theorem_trajectory` theorem1) on one more run of those methods
    with their stage-I step sizes kept on all of [T1, T], to T without early stops. Population runs are
    deterministic: those steps continue from the methods' run at T1 (the same steps up to there), so only
    [T1, T] is run again; sample and noise runs start over (their streams are part of the state)."""

    def __init__(self, task: PkTask) -> None:
        s, p, k = self.s, self.p, self.k = task.settings, task.p, task.k
        rng = cell_rng(s.seed, p, k)
        n = self.n = s.trials
        self.v_star, self.a_star = tls.draw_teachers(s, rng, n, p, k)
        e_inits, self.a0 = tl.draw_inits(rng, "resnet", self.v_star, self.a_star)
        cnn_v0 = tl.sample_sphere(rng, n, p)
        self.against = float(np.mean(np.sum(self.a0 * self.a_star, axis=1) < 0))  # share of a0 pointing away from a*
        self.requested = [ALIASES.get(m, m) for m in s.method]
        methods = self.methods = [name for name in self.requested if not name.endswith(FLOW)]
        self.flows = [flow_cell(s, p, k, name, self.v_star, self.a_star,
                                cnn_v0 if method_spec(name)[0] == "cnn" else e_inits, self.a0, self.against)
                      for name in self.requested if name.endswith(FLOW)]
        m = len(methods)
        self.checked = [i for i, name in enumerate(methods)
                        if tls.theorem1_checked(s, *METHODS[name], tls.v_law(s), k) and name not in NOISY]
        self.own = self.checked if s.theorem_trajectory == "theorem1" else []
        states = tls.state_factories(s, rng, self.v_star, self.a_star, copies=m + len(self.own)) if m else []  # shared
        self.steps = steps = tls.total_steps(s, k)
        self.noisy = [name in NOISY for name in methods]
        self.states = [noisy_state(noise_law(s, steps), noise_rng(s.seed, p, k, NOISY.index(name)), state)
                       if name in NOISY else state for name, state in zip(methods, states[:m])] + states[m:]
        self.v0s = [cnn_v0 if METHODS[name][0] == "cnn" else e_inits for name in methods]
        self.schedules = [tls.schedule(s, METHODS[name][1], self.a_star) for name in methods]
        self.t1 = self.schedules[0].stage1_iterations if m else 0
        self.points = optim.window_points(self.t1, steps)
        self.resume = bool(self.own) and not tls.sampled(s) and self.t1 in self.points and not any(self.noisy)
        self.main: list[tuple[list[int], optim.GDResult]] = []
        self.held: list[tuple[list[int], optim.GDResult]] = []

    def rows(self, methods: list[int]) -> np.ndarray:
        return np.concatenate([np.arange(i * self.n, (i + 1) * self.n) for i in methods])

    def programs(self, methods: list[int], scheds: list[optim.Schedule], reps: list[Any], *, stop: bool,
                 starts: tuple[np.ndarray, np.ndarray] | None = None, offset: int = 0) -> list[tuple[list[int], optim.Run]]:
        """The GD runs of `methods` (one run, or one per method with samples or noise): (group, Run).
        `starts`: the (v, a) rows of `methods`, stacked, at iteration `offset` (default: the initial state at
        0); the runs go on to T and record the window points from there."""
        alone = [i for i in range(len(methods)) if tls.sampled(self.s) or self.noisy[methods[i]]]
        groups = ([[i for i in range(len(methods)) if i not in alone]] if len(alone) < len(methods) else []) + [[i] for i in alone]
        at = [t - offset for t in self.points if t >= offset]
        runs = []
        for group in groups:
            if starts is None:
                v, a = np.concatenate([self.v0s[methods[i]] for i in group]), np.tile(self.a0, (len(group), 1))
            else:
                index = self.rows(group)
                v, a = starts[0][index], starts[1][index]
            runs.append((group, optim.Run(v, a, np.tile(self.v_star, (len(group), 1)), np.tile(self.a_star, (len(group), 1)),
                                          optim.Schedule.stack([scheds[i] for i in group]), self.steps - offset, at,
                                          stop and not self.noisy[methods[group[0]]] and not tls.sampled(self.s),
                                          reps[group[0]],
                                          self.t1 if self.resume and not offset else None)))
        return runs

    def main_runs(self) -> list[tuple[list[int], optim.Run]]:
        m = len(self.methods)
        return self.programs(list(range(m)), self.schedules, self.states[:m], stop=True) if m else []

    def held_runs(self) -> list[tuple[list[int], optim.Run]]:
        """Theorem 1's own steps for the methods `own` (after `main` has run)."""
        if not self.own:
            return []
        starts, offset = None, 0
        if self.resume:
            (_, gd), = self.main
            snap = gd.snapshot if gd.snapshot is not None else (gd.v, gd.a)  # all frozen before T1: as they are
            index = self.rows(self.own)
            starts, offset = (snap[0][index], snap[1][index]), self.t1
        runs = self.programs(self.own, [self.schedules[i].held() for i in self.own], self.states[len(self.methods):],
                             stop=False, starts=starts, offset=offset)
        self.offset = offset
        return runs

    def cells(self) -> list[Cell]:
        """The cell of every method, in the order asked for (after `main` and `held` have run)."""
        n, m = self.n, len(self.methods)
        outcome, ran = np.empty(m * n, dtype=object), np.empty(m * n, dtype=int)
        for group, gd in self.main:  # back in method order (perturbed GD runs apart)
            index = self.rows(group)
            outcome[index], ran[index] = gd.outcome, gd.iterations
        # Output (1): per method, the trace it is checked on (each run is checked on its own records).
        if self.own:
            for _, gd in self.held:
                gd.trace_iterations = [t + self.offset for t in gd.trace_iterations]
            traced = {self.own[i]: (gd, row) for group, gd in self.held for row, i in enumerate(group)}
        else:
            traced = {i: (gd, row) for group, gd in self.main for row, i in enumerate(group) if i in self.checked}
        cells = [self.cell(i, outcome[i * n:(i + 1) * n], ran[i * n:(i + 1) * n], traced.get(i)) for i in range(m)]
        order = {name: i for i, name in enumerate(self.requested)}
        return sorted(cells + self.flows, key=lambda cell: order[cell.method])

    def cell(self, i: int, outcome: np.ndarray, ran: np.ndarray, traced: tuple[optim.GDResult, int] | None) -> Cell:
        s, n, method = self.s, self.n, self.methods[i]
        counts = {name: int(np.sum(outcome == name)) for name in optim.OUTCOMES}
        low, high = wilson_interval(counts["global"], n)
        summary = output1_summary(None, outcome)
        if traced is not None:
            gd, row = traced
            size = gd.outcome.size // n
            r = tls.theorem_report(s, np.tile(self.a_star, (size, 1)), self.t1, gd.trace_iterations, gd.trace)
            if r.held is not None:
                pick = lambda x: x.reshape(size, n)[row]  # noqa: E731
                summary = output1_summary(pick(r.held), outcome, pick(r.a_dot_min_rel), pick(r.a_dot_max_rel),
                                          pick(r.phi_max))
        summary["output1_outside"] = tls.theorem1_outside(s, *METHODS[method], tls.v_law(s), self.k)
        return Cell(self.p, self.k, method, n, counts, counts["global"] / n, low, high, self.steps,
                    self.schedules[i].stage1_iterations, float(ran.mean()), median_start_angle(self.v0s[i], self.v_star),
                    self.against, summary)


def _run_programs(plans: list[CellPlan], phase: str, criteria: optim.Criteria, span: tuple[float, float]) -> None:
    """Every plan's runs of `phase` (main, held) as few batched programs (`optim.run_groups`)."""
    made = [getattr(plan, f"{phase}_runs")() for plan in plans]
    flat = [run for runs in made for _, run in runs]
    tick = lambda done, total: cell_progress(span[0] + span[1] * done / max(total, 1))  # noqa: E731
    results = iter(optim.run_groups(flat, criteria, progress=tick))
    for plan, runs in zip(plans, made):
        setattr(plan, phase, [(group, next(results)) for group, _ in runs])


def run_pks(group: PkGroup) -> list[list[Cell]]:
    """The cells of several (p, k) as one batch: every plane-state run of every cell in one state array and
    one loop (`optim.run_groups`), then every cell's Theorem-1 run in another, so the per-step overhead is
    paid once per phase, not once per cell. Each cell's numbers are those of `run_pk` alone, bit for bit."""
    plans = [CellPlan(task) for task in group.tasks]
    if not plans:
        return []
    s = plans[0].s
    main = sum(len(p.methods) * p.steps for p in plans)
    share = main / max(main + sum(len(p.own) * (p.steps - p.t1 * p.resume) for p in plans), 1)
    _run_programs(plans, "main", tls.criteria(s), (0.0, share))
    _run_programs(plans, "held", tls.criteria(s), (share, 1 - share))
    return [plan.cells() for plan in plans]


def run_pk(task: PkTask) -> list[Cell]:
    """All methods of one (p, k) (`CellPlan`): the cell function whose cache key each cell keeps."""
    return run_pks(PkGroup((task,)))[0]


def median_start_angle(v0: np.ndarray, v_star: np.ndarray) -> float:
    """Median over trials of the initial angle(v0, v*), in degrees."""
    return float(np.degrees(np.median(tl.angle(v0, v_star))))


def flow_cell(s: SuccessSettings, p: int, k: int, method: str, v_star: np.ndarray, a_star: np.ndarray,
              v0: np.ndarray, a0: np.ndarray, against: float) -> Cell:
    """The gradient flow of `method`'s schedule (experiments/flow.py) on the cell's teachers and starts: the
    outcome at the schedule's horizon by GD's criteria (the rate), and the kind of the fixed point each
    trial's flow tends to (under `flow`, with the solver's tolerances and work)."""
    n = s.trials
    schedule = tls.schedule(s, method_spec(method)[1], a_star)
    steps = tls.total_steps(s, k)
    run = flow.run_flow(v0, a0, v_star, a_star, schedule, steps, tls.criteria(s), rtol=s.flow_rtol, atol=s.flow_atol,
                        method=s.flow_solver, progress=cell_progress)
    counts = run.counts()
    low, high = wilson_interval(counts["global"], n)
    limits = {f"limit_{name.replace(' ', '_')}": count for name, count in run.limit_counts().items()}
    summary = {**output1_summary(None, run.outcome), "output1_outside": True,
               **limits, "flow_rtol": s.flow_rtol, "flow_atol": s.flow_atol, "flow_solver": s.flow_solver,
               "flow_evaluations": run.nfev, "flow_solver_failure": run.solver_failure}
    return Cell(p, k, method, n, counts, counts["global"] / n, low, high, steps, schedule.stage1_iterations,
                float(steps), median_start_angle(v0, v_star), against, summary)


def batched(s: SuccessSettings) -> bool:
    """Do the (p, k) cells run as one batch: population runs at s = p (plane states stack whatever p and k)."""
    return not tls.sampled(s) and not tls.overlapping(s.stride, s.p)


def run(settings: SuccessSettings, progress: Progress | None = None) -> SuccessResult:
    """Every cell of the grid: population cells not in `--cache` as one batch (`run_pks`, `batched`), split
    into --jobs groups of about equal work when --jobs > 1 (worker processes); cells with samples or
    overlapping patches one by one. Results do not depend on it.

    `progress(done, total)` counts work in steps (a (p, k) cell weighs its step budget).
    """
    s = sweep.with_jobs(settings, cost)
    cell_settings = sweep.cell_settings(s)
    tasks = [PkTask(cell_settings, p, k) for p in s.p for k in s.k]
    weights = [tls.total_steps(s, task.k) * max(1, tls.per_step(s)) for task in tasks]
    if batched(s):
        per_cell = sweep.run_batched(s, run_pk, run_pks, PkGroup, tasks, weights=weights, progress=progress)
    else:  # vector states of samples or overlapping patches: nothing to share, and a cell's data is large
        per_cell = sweep.run_sweep(s, run_pk, tasks, weights=weights, progress=progress)
    return SuccessResult(s, [cell for cells in per_cell for cell in cells])
