"""Gradient flow runs of the two-layer teacher–student problem (Liu et al. 2019): the continuous-time limit of a
GD schedule, integrated to a tolerance (resnet_cli/models/two_layer/flow.py), for `train two-layer --flow` and
the `*-flow` methods of `success-rate`.

A schedule of T1 stage-I steps at (η_a, η_w) and T2 stage-II steps at η becomes two flow stages, of durations
T1·η_a (w at η_w/η_a the speed of a) and T2·η (both at one speed). The end of those stages is the flow's
*horizon*: its state there is classified with GD's own criteria, so its success rate stands beside GD's on the
same teachers and starts. Then the flow is continued (stage II, doubling durations) until its speed falls below
`converge_tol`, and Newton's method pins the fixed point it tends to; that point's *limit kind* is global,
spurious (φ = π, a = ā), saddle (the tangent Hessian has a negative eigenvalue) or other, or "not converged".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from resnet_cli.config import Settings, setting
from resnet_cli.models.two_layer import flow as fl, landscape as critical, optim

SOLVERS = fl.METHODS  # scipy.integrate.solve_ivp methods, the fastest measured first
RTOL_FLOOR = 100 * np.finfo(float).eps  # scipy raises a smaller rtol to this, with a warning
LIMIT_KINDS = ("global", "spurious", "saddle", "other", "not converged")


@dataclass(frozen=True)
class FlowSettings(Settings):
    """The ODE solver of the gradient flow: scipy `solve_ivp`'s method and its tolerances (per component,
    |error| ≲ atol + rtol·|y|)."""

    flow_rtol: float = setting(1e-8, min=RTOL_FLOOR, max=1e-2)
    flow_atol: float = setting(1e-10, min=1e-16, max=1e-2)
    flow_solver: str = setting("BDF", choices=SOLVERS)


@dataclass
class FlowRun:
    """Per trial: the outcome at the horizon (GD's criteria), the statistics there, the limit kind, the flow
    time at which the speed fell below the tolerance (inf if it never did) and Newton's final residual;
    the solver's right-hand-side evaluations and steps."""

    outcome: np.ndarray
    final: dict[str, np.ndarray]
    limit_kind: np.ndarray
    limit_time: np.ndarray
    residual: np.ndarray
    nfev: int
    steps: int
    trace_iterations: list[int] = field(default_factory=list)
    trace: dict[str, list[np.ndarray]] = field(default_factory=dict)
    end: tuple[np.ndarray, np.ndarray] | None = None  # (v, a) at the horizon, trials × p and trials × k
    solver_failure: str = ""  # why the solver gave up before the horizon (its trials count as diverged), or ""

    def counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.outcome == name)) for name in optim.OUTCOMES}

    def limit_counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.limit_kind == name)) for name in LIMIT_KINDS}


def stages_of(schedule: optim.Schedule, steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The flow stages (duration, ratio ρ = η_w/η_a) of `steps` GD steps of `schedule` (per trial)."""
    first = min(schedule.stage1_iterations, steps)
    eta_a = np.asarray(schedule.eta_a, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(eta_a > 0, schedule.stage1_eta_w / eta_a, 0.0)
    eta = np.asarray(schedule.eta, dtype=float)
    return [(first * eta_a, rho), ((steps - first) * eta, np.ones_like(eta))]


def _state_at(state: optim.PlaneState, y: np.ndarray) -> optim.PlaneState:
    state.set_angle(y[:, 0].copy())
    state.coef = np.ascontiguousarray(y[:, 1:].T)
    return state


def limit_kinds(y: np.ndarray, residual: np.ndarray, state: optim.PlaneState, v_star: np.ndarray,
                a_star: np.ndarray, tol: float) -> np.ndarray:
    """The kind of each Newton-refined point y (n, 4): located against the closed forms, and from the exact
    tangent Hessian (models/two_layer/landscape.py) where it is neither global nor spurious."""

    stats = _state_at(state, y).statistics()
    phi, a_err = stats["phi"], stats["a_err_rel"]
    kinds = np.full(len(y), "not converged", dtype=object)
    fixed = residual <= tol
    kinds[fixed & (phi < 1e-6) & (a_err < 1e-6)] = "global"
    kinds[fixed & (phi > math.pi - 1e-6)] = "spurious"
    v, a = fl.plane_vectors(y, v_star, state.normal, state.basis)
    for i in np.flatnonzero(fixed & (kinds == "not converged")):
        eig = np.linalg.eigvalsh(critical.tangent_hessian(v[i], a[i], v_star[i], a_star[i]))
        kinds[i] = "saddle" if eig.min() < -1e-9 * max(1.0, float(np.abs(eig).max())) else "other"
    return kinds


def run_flow(
    v0: np.ndarray,
    a0: np.ndarray,
    v_star: np.ndarray,
    a_star: np.ndarray,
    schedule: optim.Schedule,
    steps: int,
    criteria: optim.Criteria,
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "BDF",
    converge_tol: float = 1e-9,
    newton_tol: float = 1e-12,
    rounds: int = 16,
    progress: Callable[[float], None] | None = None,
    trace_points: list[int] = (),
) -> FlowRun:
    """The flow of `steps` GD steps of `schedule` from (v0, a0), every trial at once (see the module docstring).

    Continuation after the horizon: stage II for 1, 2, 4, … horizon-lengths (at most `rounds` doublings) on
    the trials still faster than `converge_tol`; Newton then refines every trial (residual ≤ `newton_tol`
    means a fixed point). `progress(fraction)` is called as the solver advances. `trace_points`: GD
    iterations at which the flow's state is recorded (iteration t of a stage is its stage time t / length),
    as `optim.run_gd`'s trace.
    """
    state = optim.PlaneState(v0, a0, v_star, a_star)
    problem = fl.FlowProblem.from_plane(state)
    stages = stages_of(schedule, steps)
    total = len(stages) + 1

    def tick(stage: int, s: float) -> None:
        if progress is not None:
            progress(min(1.0, (stage + s) / total))

    first = min(schedule.stage1_iterations, steps)
    wanted = sorted({int(t) for t in trace_points if 0 <= t <= steps})
    records = [[t / first for t in wanted if t <= first and first > 0],
               [(t - first) / (steps - first) for t in wanted if t > first]]
    horizon = fl.integrate(fl.initial_point(state), problem, stages, rtol=rtol, atol=atol, method=method,
                           callback=tick, records=records)
    kept = ([fl.initial_point(state)] if first == 0 and 0 in wanted else []) + horizon.recorded
    trace: dict[str, list[np.ndarray]] = {}
    for snapshot in kept:
        for key, value in _state_at(state, snapshot).statistics().items():
            trace.setdefault(key, []).append(value)
    final = _state_at(state, horizon.y).statistics()
    end = state.vectors()
    # a solver that gave up is a divergence, unless it stopped at rest (--steps 1e8: at the optimum)
    at_rest = np.linalg.norm(fl.velocity(horizon.y, problem), axis=1) <= converge_tol
    finite = np.isfinite(final["loss"]) & (horizon.success | at_rest)
    outcome = criteria.classify(final["phi"], final["a_err_rel"], np.broadcast_to(finite, final["loss"].shape))
    y_limit, limit_time, nfev, solver_steps = _continue(horizon, problem, stages, converge_tol, rounds,
                                                        lambda f: tick(len(stages), f), rtol=rtol, atol=atol,
                                                        method=method)
    refined, residual, _ = fl.newton_fixed_point(y_limit, problem, tol=newton_tol)
    kinds = limit_kinds(refined, residual, state, v_star, a_star, newton_tol)
    tick(total, 0.0)
    return FlowRun(outcome, final, kinds, limit_time, residual, nfev, solver_steps, wanted[: len(kept)], trace, end,
                   "" if horizon.success else horizon.message)


def _continue(horizon: fl.FlowResult, problem: fl.FlowProblem, stages: list[tuple[np.ndarray, np.ndarray]],
              converge_tol: float, rounds: int, tick: Callable[[float], None], **solver: object
              ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The flow continued from the horizon in stage II for 1, 2, 4, … horizon-lengths (at most `rounds`
    doublings) on the trials still faster than `converge_tol`: the points reached (n, 4), the flow time at
    which each one's speed fell below the tolerance (inf if never), and the solver's evaluations and steps
    counted from the horizon's."""
    y = horizon.y
    nfev, solver_steps = horizon.nfev, horizon.steps
    elapsed = sum(duration for duration, _ in stages)
    limit_time = np.where(np.linalg.norm(fl.velocity(y, problem), axis=1) <= converge_tol, elapsed, np.inf)
    extra = np.maximum(np.asarray(stages[-1][0], dtype=float), 1.0)
    y_limit = y.copy()
    for round_ in range(rounds):
        active = np.flatnonzero(~np.isfinite(limit_time) & np.isfinite(y_limit).all(axis=1))
        if active.size == 0:
            break
        part = problem.take(active)
        more = fl.integrate(y_limit[active], part, [(extra[active], np.ones(active.size))], **solver)
        nfev, solver_steps = nfev + more.nfev, solver_steps + more.steps
        if not more.success:  # the solver gave up: these trials' limits stay unknown ("not converged")
            break
        y_limit[active] = more.y
        elapsed = elapsed + extra
        slow = np.linalg.norm(fl.velocity(more.y, part), axis=1) <= converge_tol
        limit_time[active[slow]] = elapsed[active[slow]]
        extra = 2 * extra
        tick((round_ + 1) / rounds)
    return y_limit, limit_time, nfev, solver_steps
