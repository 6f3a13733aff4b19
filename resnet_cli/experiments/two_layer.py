"""Experiments on the two-layer teacher–student model (Liu et al. 2019): training runs and the landscape.

`run_train(settings, progress=)` (`train two-layer`) and `run_landscape(settings, progress=)` (`landscape
two-layer`) draw every random number from `rng.make_rng(settings.seed)` in a fixed order (teachers first,
then initializations) and return results whose `to_dict()` is the command's JSON. Their settings
(`TrainSettings`, `LandscapeSettings`) are data, in experiments/two_layer_settings.py, with the functions
that turn them into the engine's arguments. Nothing here prints or writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from resnet_cli.experiments import flow, noise
from resnet_cli.experiments import two_layer_settings as tls
from resnet_cli.experiments.summary import short_repr
from resnet_cli.experiments.two_layer_settings import STATS, LandscapeSettings, TrainSettings
from resnet_cli.models.two_layer import landscape as critical, optim, population as tl, theorems as th
from resnet_cli.models.two_layer import stride_landscape as sl
from resnet_cli.models.two_layer.noise import noisy_state
from resnet_cli.rng import make_rng

Progress = Callable[[int, int], None]


@dataclass
class TrainResult:
    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: TrainSettings
    schedule: optim.Schedule
    v_star: np.ndarray
    a_star: np.ndarray
    gd: optim.GDResult
    steps: int
    theorems: th.TheoremReport | None = None
    flow: flow.FlowRun | None = None  # with --flow: the gradient flow's run (its limits per trial)

    @property
    def counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.gd.outcome == name)) for name in optim.OUTCOMES}

    def to_dict(self) -> dict[str, Any]:
        """The JSON result: the settings (with T1, the step count and the v* law resolved), one entry per
        trial, and the trace (each statistic as trials × records)."""
        s, sched, gd = self.settings, self.schedule, self.gd
        config = {**s.to_dict(), "teacher_v": tls.v_law(s, s.student), "stage1_steps": sched.stage1_iterations,
                  "steps": self.steps, "data": tls.gradient_mode(s, s.p), "work": tls.train_cost(s).work,
                  "theorem1_outside": tls.theorem1_outside(s, s.student, s.schedule)}
        runs = [
            {
                "trial": i,
                "outcome": str(gd.outcome[i]),
                "final": {key: float(gd.final[key][i]) for key in STATS},
                "steps": int(gd.iterations[i]),
                "lr_a": float(sched.eta_a[i]),
                "lr_w": float(sched.eta_w[i]),
                "stage1_lr_w": float(sched.stage1_eta_w[i]),
                "lr": float(sched.eta[i]),
                "teacher": {"v_star": self.v_star[i], "a_star": self.a_star[i]},
                **({"theorems": self.theorems.trial(i)} if self.theorems is not None else {}),
                **({"flow_limit": str(self.flow.limit_kind[i]), "flow_newton_residual": float(self.flow.residual[i])}
                   if self.flow is not None else {}),
            }
            for i in range(s.trials)
        ]
        trace = {"step": gd.trace_iterations,  # (no records: a flow whose solver gave up before the first)
                 **{key: np.array(gd.trace[key]).T if gd.trace.get(key) else np.empty((s.trials, 0)) for key in STATS}}
        extra = {} if self.flow is None else {"flow": {"limits": self.flow.limit_counts(), "evaluations": self.flow.nfev,
                                                       "solver_steps": self.flow.steps,
                                                       "solver_failure": self.flow.solver_failure}}
        return {"command": s.COMMAND, "config": config, "counts": self.counts, "runs": runs, "trace": trace, **extra}


def run_train(settings: TrainSettings, progress: Progress | None = None) -> TrainResult:
    """`train two-layer`: `trials` two-layer students trained against their teachers with GD + normalization,
    all in one batch (or, with `flow`, the schedule's gradient flow). Every draw from `make_rng(settings.seed)`,
    in this order: teachers, initializations, training sets."""
    s, n, rng = settings, settings.trials, make_rng(settings.seed)
    if s.same_teacher:
        v1, a1 = tls.draw_teachers(s, rng, 1, s.p, s.k, s.student)
        v_star, a_star = np.repeat(v1, n, axis=0), np.repeat(a1, n, axis=0)
    else:
        v_star, a_star = tls.draw_teachers(s, rng, n, s.p, s.k, s.student)
    v0, a0 = tl.draw_inits(rng, s.student, v_star, a_star)
    states = tls.state_factories(s, rng, v_star, a_star, copies=2)  # the same data for both runs
    schedule = tls.schedule(s, s.schedule, a_star)
    steps = tls.total_steps(s, s.k)
    if s.noise:  # perturbed GD or SGD (experiments/noise.py): both runs draw the same noise stream
        states = [noisy_state(noise.noise_law(s, steps), noise.noise_rng(s.seed), state) for state in states]
    start = (v0, a0, v_star, a_star, schedule, steps)
    return flow_train(s, *start, progress) if s.flow else gd_train(s, *start, states, progress)


def gd_train(s: TrainSettings, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray,
             schedule: optim.Schedule, steps: int, states: list[Any], progress: Progress | None) -> TrainResult:
    """The GD run of `run_train` from (v0, a0) (trials × p, trials × k) with the GD states `states` (the run's,
    then the one of Theorem 1's own steps, when output (1) is checked there: a second run)."""
    gd = optim.run_gd(v0, a0, v_star, a_star, schedule, steps, tls.criteria(s),
                      trace_points=optim.trace_points(steps, s.trace_every, schedule.stage1_iterations),
                      progress=progress, representation=states[0])
    own = None
    if tls.train_programs(s) == 2:  # output (1) on Theorem 1's steps, kept on all of [T1, T]
        own_gd = optim.run_gd(v0, a0, v_star, a_star, schedule.held(), steps, tls.criteria(s),
                              trace_points=optim.window_points(schedule.stage1_iterations, steps), representation=states[1])
        own = (own_gd.trace_iterations, own_gd.trace)
    theorems = tls.theorem_report(s, a_star, schedule.stage1_iterations, gd.trace_iterations, gd.trace,
                                  delta=None if tls.overlapping(s.stride, s.p) else s.delta, output1=own,
                                  check_output1=tls.theorem1_checked(s, s.student, s.schedule))
    return TrainResult(s, schedule, v_star, a_star, gd, steps, theorems)


def flow_train(s: TrainSettings, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray,
               schedule: optim.Schedule, steps: int, progress: Progress | None) -> TrainResult:
    """`run_train --flow`: the schedule's gradient flow (experiments/flow.py), its trace at GD's trace iterations."""
    run = flow.run_flow(v0, a0, v_star, a_star, schedule, steps, tls.criteria(s), rtol=s.flow_rtol, atol=s.flow_atol,
                        method=s.flow_solver,
                        trace_points=optim.trace_points(steps, s.trace_every, schedule.stage1_iterations),
                        progress=None if progress is None else (lambda f: progress(round(f * steps), steps)))
    gd = optim.GDResult(*run.end, run.outcome, run.final, np.full(s.trials, steps), run.trace_iterations, run.trace)
    theorems = tls.theorem_report(s, a_star, schedule.stage1_iterations, gd.trace_iterations, gd.trace,
                                  delta=s.delta, check_output1=False)
    return TrainResult(s, schedule, v_star, a_star, gd, steps, theorems, flow=run)


# --- landscape two-layer ----------------------------------------------------------------------------------


@dataclass
class LandscapeResult:
    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: LandscapeSettings
    v_star: np.ndarray
    a_star: np.ndarray
    critical_points: list[critical.CriticalPoint]
    profile_phi: np.ndarray
    profile_loss: np.ndarray
    profile_a_dot: np.ndarray
    basin_phi0: np.ndarray
    basin_a_ratio: np.ndarray
    basin: dict[str, np.ndarray]  # schedule -> outcomes (phi × a)
    resnet_init_phi: float
    cnn_init_phi_quantiles: dict[str, float]
    stage1_steps: int
    steps: int
    stride_sweep: Optional[sl.StrideSweep] = None  # --stride s < p: the critical points along s = p … s

    def to_dict(self) -> dict[str, Any]:
        config = {**self.settings.to_dict(), "teacher_v": tls.v_law(self.settings), "stage1_steps": self.stage1_steps,
                  "steps": self.steps, "data": tls.gradient_mode(self.settings, self.settings.p)}
        return {
            "command": self.settings.COMMAND,
            "config": config,
            "teacher": {"v_star": self.v_star, "a_star": self.a_star, "angle_to_e": self.resnet_init_phi,
                        "a_star_norm": float(np.linalg.norm(self.a_star)), "a_star_sum": float(np.sum(self.a_star))},
            "critical_points": [cp.to_dict() for cp in self.critical_points],
            "profile": [
                {"phi": float(phi), "loss": float(loss), "a_dot_astar": float(ad)}
                for phi, loss, ad in zip(self.profile_phi, self.profile_loss, self.profile_a_dot)
            ],
            "basin": {
                "phi0": self.basin_phi0,
                "a0_over_astar": self.basin_a_ratio,
                "outcomes": {kind: grid.tolist() for kind, grid in self.basin.items()},
                "resnet_init_phi0": self.resnet_init_phi,
                "cnn_init_phi0_quantiles": self.cnn_init_phi_quantiles,
            },
        } | ({"stride_sweep": self.stride_sweep.to_dict()} if self.stride_sweep is not None else {})


def run_landscape(settings: LandscapeSettings, progress: Progress | None = None) -> LandscapeResult:
    """`landscape two-layer`: the population landscape of one teacher — critical points, the φ-profile and the
    basin map (and with --stride s < p the critical points along s = p … s). Every draw from
    `make_rng(settings.seed)`."""
    s, rng = settings, make_rng(settings.seed)
    p, k = s.p, s.k
    v_star_b, a_star_b = tls.draw_teachers(s, rng, 1, p, k)
    v_star, a_star = v_star_b[0], a_star_b[0]
    points = [
        critical.classify_point(rng, "global", *tl.global_optimum(v_star, a_star), v_star, a_star, s.probes, s.probe_radius),
        critical.classify_point(rng, "spurious", *tl.spurious_optimum(v_star, a_star), v_star, a_star, s.probes,
                                 s.probe_radius),
    ]
    phis = np.linspace(0.0, math.pi, s.profile_points)
    prof = tl.profile_loss(phis, a_star)
    prof_a = tl.optimal_a(phis, np.broadcast_to(a_star, (phis.size, k))) @ a_star

    # Basin map: GD from v0 at angle φ0 from v* (in one random plane) and a0 = q a* for a grid of q.
    phi0 = np.linspace(0.0, math.pi, s.basin_phi)
    ratios = np.linspace(-1.0, 1.0, s.basin_a)
    normal = rng.standard_normal(p)
    normal -= (normal @ v_star) * v_star
    normal /= np.linalg.norm(normal)
    grid_phi, grid_q = np.meshgrid(phi0, ratios, indexing="ij")
    cells = grid_phi.size
    v0 = np.cos(grid_phi.ravel())[:, None] * v_star + np.sin(grid_phi.ravel())[:, None] * normal
    a0 = grid_q.ravel()[:, None] * a_star
    vs, ast = np.tile(v_star, (cells, 1)), np.tile(a_star, (cells, 1))
    basin: dict[str, np.ndarray] = {}
    steps = tls.total_steps(s, k)
    # Population GD by default ("plane", no draw); with --samples/--online every basin cell trains on its own
    # sample (the critical points and the profile stay population objects).
    states = tls.state_factories(s, rng, vs, ast, copies=len(s.schedule))
    for i, kind in enumerate(s.schedule):

        def tick(done: int, _total: int, i: int = i) -> None:
            if progress is not None:
                progress(i * steps + done, len(s.schedule) * steps)

        gd = optim.run_gd(v0, a0, vs, ast, tls.schedule(s, kind, ast), steps, tls.criteria(s),
                          stop_when_global=not tls.sampled(s),  # SGD can leave the optimum: judged at T
                          progress=tick, representation=states[i])
        basin[kind] = gd.outcome.reshape(grid_phi.shape)
    e = tl.unit_e(p)
    cnn_phi = tl.angle(tl.sample_sphere(rng, 10000, p), v_star)
    quantiles = {f"q{int(q * 100)}": float(np.quantile(cnn_phi, q)) for q in (0.1, 0.5, 0.9)}
    sweep = None
    if tls.overlapping(s.stride, s.p):  # with --stride s < p, after every draw of the s = p landscape: its numbers stay as they are
        sweep = sl.stride_sweep(rng, v_star, a_star, s.stride, s.trials, s.probes, s.probe_radius, points)
        followed = [sweep.spurious[-1]] if sweep.spurious[-1].kind != "global" else []
        points = [sweep.found[s.stride][0], *followed, *sweep.found[s.stride][1:4 - len(followed)]]
        # the profile along the basin map's circle from v* (through `normal`), a at its stride-s optimum
        circle = np.cos(phis)[:, None] * v_star + np.sin(phis)[:, None] * normal
        prof = sl.profile_loss(circle, v_star, a_star, s.stride)
        prof_a = sl.optimal_a(circle, v_star, a_star, s.stride) @ a_star
    return LandscapeResult(s, v_star, a_star, points, phis, prof, prof_a, phi0, ratios, basin,
                           float(tl.angle(e, v_star)), quantiles, tls.stage1_length(s, k), steps, sweep)
