"""Gradient flow of the two-layer population loss (Liu et al. 2019; Du et al. 2017), integrated to a tolerance.

GD with normalization (resnet_cli/models/two_layer/optim.py, `PlaneState`) in its exact plane coordinates — θ, the signed angle
of v to v* in the plane of v0 and v*, and c ∈ R³ with a = B c, B = [a0, 1, a*] — is, per step,

    c ← c + η_a F(θ, c),    θ ← θ − atan(η_w s sin θ),    s = (aᵀa*)(π − |θ|)/π,

with F(θ, c) the coefficients in B of −∇_a L = −(2Ma − 2N(φ)a*) (φ = |θ|, λ = (π − 1)/π):

    F_0 = −λ c_0,   F_1 = −λ c_1 − (1ᵀa − 1ᵀa*)/π,   F_2 = −λ c_2 + 2g(φ) − 1/π.

Measuring time by the a-steps (t = Σ η_a) and writing ρ = η_w/η_a, this is the explicit Euler discretisation
(with atan x = x + O(x³)) of the flow

    dc/dt = F(θ, c),    dθ/dt = −ρ s sin θ,

the Riemannian gradient flow of L on the sphere × R^k with the w-layer ρ times as fast as the a-layer. A
two-stage schedule (T1 steps at (η_a, η_w), then T2 steps at η on both layers) becomes two flow stages of
durations τ1 = T1 η_a at ρ1 = η_w/η_a and τ2 = T2 η at ρ = 1: shrinking every step size by h and multiplying
every step count by 1/h sends GD to this flow (tests/models/test_two_layer_flow.py checks it).

θ = 0 and θ = ±π are invariant (sin θ = 0), so a trajectory keeps the sign of θ0 and φ = |θ| never crosses
0 or π. The fixed points are θ = 0 with a = a* (global), θ = ±π with a = ā = M⁻¹N(π)a* (the spurious point
of Liu et al. 2019) and, where they exist, points with aᵀa* = 0 and a = M⁻¹N(φ)a*.

Arrays: y has shape (n, 4) = (θ, c_0, c_1, c_2) per trial; `FlowProblem` holds Bᵀa*, Bᵀ1 (n, 3) and 1ᵀa* (n,).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

PI = math.pi
LAMBDA = (PI - 1) / PI
# BDF first: on 1000 trials of the liu2019-success schedules it took 0.41 s (k = 4) and 0.40 s (k = 100) at
# rtol 1e-8, against Radau 1.97 and 1.01 s, LSODA 8.44 and 0.16 s, RK45 2.34 and 0.56 s (one run, 2 cores).
METHODS = ("BDF", "LSODA", "Radau", "RK45", "DOP853")
#: CPU time of each solver on a flow relative to BDF's, for the estimate before a run (`resnet_cli/budget.py`
#: counts a flow trial as the GD trial it replaces, which BDF matches). Measured: success-rate --k 4 and 36,
#: 20 trials of cnn-large-w-flow at the default tolerances; estimate/measured 0.2–0.4 for BDF and Radau,
#: 0.5–1.8 LSODA, 25–27 RK45, 43–44 DOP853 (the flow is stiff: explicit solvers take tiny steps).
SOLVER_TIME = {"BDF": 1.0, "Radau": 1.0, "LSODA": 2.0, "RK45": 30.0, "DOP853": 45.0}
#: Accepted steps a stage may take before its solver is given up (a non-stiff solver on a stiff flow, e.g. RK45 at
#: step sizes of 1e300, takes tiny steps without end). The liu2019-success schedules take at most a few thousand
#: (tests/models/test_two_layer_flow.py).
MAX_STAGE_STEPS = 50_000


@dataclass(frozen=True)
class FlowProblem:
    """The per-trial constants of the flow in plane coordinates (one row per trial).

    astar_b = Bᵀa* (n, 3), ones_b = Bᵀ1 (n, 3), sum_star = 1ᵀa* (n,), with B = [a0, 1, a*] (k × 3 per trial).
    """

    astar_b: np.ndarray
    ones_b: np.ndarray
    sum_star: np.ndarray

    @classmethod
    def from_plane(cls, state) -> "FlowProblem":
        """The constants of an `optim.PlaneState` (whose θ and c are the flow's initial point)."""
        return cls(state.astar_b.copy(), state.ones_b.copy(), state.sum_star.copy())

    def take(self, index: np.ndarray) -> "FlowProblem":
        return FlowProblem(self.astar_b[index], self.ones_b[index], self.sum_star[index])


def initial_point(state) -> np.ndarray:
    """y0 = (θ0, c0) of an `optim.PlaneState`, shape (n, 4)."""
    return np.column_stack([state.theta, state.c])


def velocity(y: np.ndarray, problem: FlowProblem, rho: np.ndarray | float = 1.0) -> np.ndarray:
    """dy/dt of the flow (module docstring) at y (n, 4); ρ broadcasts over trials."""
    theta, c = y[:, 0], y[:, 1:]
    far = PI - np.abs(theta)  # π − φ
    sin = np.sin(theta)
    a_dot = np.sum(problem.astar_b * c, axis=1)  # aᵀa*
    ones_a = np.sum(problem.ones_b * c, axis=1)  # 1ᵀa
    two_g = (np.abs(sin) + far * np.cos(theta)) / PI  # 2g(φ)
    out = np.empty_like(y)
    out[:, 0] = -rho * a_dot * far / PI * sin
    out[:, 1] = -LAMBDA * c[:, 0]
    out[:, 2] = -LAMBDA * c[:, 1] - (ones_a - problem.sum_star) / PI
    out[:, 3] = -LAMBDA * c[:, 2] + two_g - 1 / PI
    return out


def jacobian(y: np.ndarray, problem: FlowProblem, rho: np.ndarray | float = 1.0) -> np.ndarray:
    """∂(dy/dt)/∂y, shape (n, 4, 4), exact (θ ≠ 0; at θ = 0 the one-sided derivative for θ ≥ 0)."""
    theta, c = y[:, 0], y[:, 1:]
    sign = np.where(theta < 0, -1.0, 1.0)
    phi = np.abs(theta)
    far = PI - phi
    rho = np.broadcast_to(np.asarray(rho, dtype=float), theta.shape)
    a_dot = np.sum(problem.astar_b * c, axis=1)
    n = y.shape[0]
    J = np.zeros((n, 4, 4))
    # f0 = −ρ A (π − φ) sin θ / π with φ = sign·θ: ∂/∂θ = −ρ A/π (−sign sin θ + (π − φ) cos θ).
    J[:, 0, 0] = -rho * a_dot / PI * (-sign * np.sin(theta) + far * np.cos(theta))
    J[:, 0, 1:] = (-rho * far * np.sin(theta) / PI)[:, None] * problem.astar_b
    J[:, 1, 1] = -LAMBDA
    J[:, 2, 1:] = -problem.ones_b / PI
    J[:, 2, 2] -= LAMBDA
    # d(2g)/dφ = −(π − φ) sin φ / π, dφ/dθ = sign.
    J[:, 3, 0] = -sign * far * np.sin(phi) / PI
    J[:, 3, 3] = -LAMBDA
    return J


@dataclass
class FlowResult:
    """End point y (n, 4) of every trial and the solver's account: right-hand-side evaluations, Jacobian
    evaluations and accepted steps summed over stages; `success` False with `message` if a stage failed."""

    y: np.ndarray
    nfev: int
    njev: int
    steps: int
    success: bool
    message: str
    recorded: list[np.ndarray] = field(default_factory=list)  # states (n, 4) at the requested stage times


def _stage_system(problem: FlowProblem, tau: np.ndarray, rho: np.ndarray, method: str, callback, stage: int):
    """One stage's right-hand side in stage time s (tau (n, 1) · dy/dt for y of n trials × 4, flattened) and
    the solve_ivp options: the block-diagonal Jacobian (banded for LSODA, sparse for Radau/BDF) and, with a
    `callback(stage, s)`, an event function that calls it after every accepted step and never fires."""
    from scipy.sparse import block_diag

    n = tau.shape[0]

    def rhs(_s, flat):
        return (tau * velocity(flat.reshape(n, 4), problem, rho)).ravel()

    def jac(_s, flat):
        blocks = tau[:, :, None] * jacobian(flat.reshape(n, 4), problem, rho)
        return block_diag(list(blocks), format="csc")

    options: dict = {}
    if method == "LSODA":
        options.update(lband=3, uband=3)
    elif method in ("Radau", "BDF"):
        options["jac"] = jac
    taken = [0]

    def watch(s, _flat):
        taken[0] += 1
        if taken[0] > MAX_STAGE_STEPS:
            raise _TooManySteps(f"{method} took more than {MAX_STAGE_STEPS:,} steps in stage {stage + 1}: the flow "
                                "is too stiff for it at these step sizes")
        if callback is not None:
            callback(stage, s)
        return 1.0

    options["events"] = watch
    return rhs, options


class _TooManySteps(Exception):
    """A stage's solver passed MAX_STAGE_STEPS accepted steps: it is given up (`integrate` reports it)."""


def integrate(
    y0: np.ndarray,
    problem: FlowProblem,
    stages: list[tuple[np.ndarray, np.ndarray]],
    *,
    rtol: float = 1e-8,
    atol: float = 1e-10,
    method: str = "BDF",
    callback=None,
    records: list[np.ndarray] | None = None,
) -> FlowResult:
    """Integrate the flow from y0 (n, 4) through `stages`, a list of (duration τ (n,), ratio ρ (n,)).

    All trials are one system of 4n equations; each stage runs in its own time s ∈ [0, 1] with
    dy/ds = τ · dy/dt, so trials of different durations share one solve. The Jacobian is block diagonal
    (4 × 4 per trial): banded for LSODA (lband = uband = 3), a sparse pattern for Radau/BDF, so an implicit
    step costs O(n). `callback(stage, s)` is called after every accepted step (progress, interrupts).
    `records[i]`: sorted stage times s ∈ [0, 1] of stage i at which the state is kept (`FlowResult.recorded`,
    in order; dense output of the solver, within its tolerance).
    """
    from scipy.integrate import solve_ivp

    if method not in METHODS:
        raise ValueError(f"unknown ODE method {method!r}")
    n = y0.shape[0]
    y = np.array(y0, dtype=float)
    nfev = njev = steps = 0
    recorded: list[np.ndarray] = []
    for index, (duration, rho) in enumerate(stages):
        wanted = np.asarray(records[index] if records is not None else [], dtype=float)
        duration = np.broadcast_to(np.asarray(duration, dtype=float), (n,))
        rho = np.broadcast_to(np.asarray(rho, dtype=float), (n,))
        if not np.any(duration > 0):
            recorded += [y.copy() for _ in wanted]
            continue
        rhs, options = _stage_system(problem, duration[:, None], rho, method, callback, index)
        options.update(rtol=rtol, atol=atol)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                sol = solve_ivp(rhs, (0.0, 1.0), y.ravel(), method=method, dense_output=bool(wanted.size), **options)
        except (_TooManySteps, ArithmeticError, ValueError, RuntimeError, np.linalg.LinAlgError) as exc:
            # The solver gave up (a singular Newton matrix at step sizes like 1e300, too many steps): a result,
            # the trials' flow unknown from here, not a crash.
            return FlowResult(np.full((n, 4), np.nan), nfev, njev, steps, False,
                              str(exc) if isinstance(exc, _TooManySteps) else f"{method} failed: {exc}", recorded)
        nfev += int(sol.nfev)
        njev += int(sol.njev)
        steps += max(len(sol.t) - 1, 0)
        if not sol.success:
            return FlowResult(sol.y[:, -1].reshape(n, 4), nfev, njev, steps, False, str(sol.message), recorded)
        if wanted.size:
            recorded += [sol.sol(t).reshape(n, 4) for t in wanted]
        y = sol.y[:, -1].reshape(n, 4)
    return FlowResult(y, nfev, njev, steps, True, "", recorded)


def newton_fixed_point(
    y: np.ndarray, problem: FlowProblem, *, tol: float = 1e-12, max_steps: int = 200
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Refine y (n, 4) to zeros of the vector field by Newton's method (pseudo-inverse steps), batched.

    A trial stops when both its residual ‖dy/dt‖ and its last Newton step are at most `tol`. At θ = ±π the
    field is quadratic in π − |θ| (its θ-row of the Jacobian vanishes there), so Newton halves π − |θ| per
    step instead of squaring it, and a residual test alone would stop at π − |θ| ≈ √tol: the step test
    carries it on to π − |θ| ≤ tol. Returns (y, residual per trial, steps per trial); a trial whose residual
    stays above `tol` is not at a fixed point.
    """
    y = np.array(y, dtype=float)
    n = y.shape[0]
    used = np.zeros(n, dtype=int)
    residual = np.linalg.norm(velocity(y, problem), axis=1)
    last_step = np.full(n, np.inf)
    for _ in range(max_steps):
        active = np.isfinite(residual) & ((residual > tol) | (last_step > tol))  # (a row the solver lost is NaN)
        if not active.any():
            break
        part = problem.take(active)
        f = velocity(y[active], part)
        step = -np.einsum("nij,nj->ni", np.linalg.pinv(jacobian(y[active], part)), f)
        trial = y[active] + step
        # Keep θ on its side of 0 and π (both are invariant, the flow never crosses them).
        theta0 = y[active, 0]
        trial[:, 0] = np.clip(trial[:, 0], np.where(theta0 < 0, -PI, 0.0), np.where(theta0 < 0, 0.0, PI))
        last_step[active] = np.abs(trial - y[active]).max(axis=1)
        y[active] = trial
        used[active] += 1
        residual[active] = np.linalg.norm(velocity(trial, part), axis=1)
    return y, residual, used


def plane_vectors(y: np.ndarray, v_star: np.ndarray, normal: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(v, a) of plane coordinates y (n, 4): v = cos θ v* + sin θ n (n × p), a = B c (n × k)."""
    theta = y[:, 0]
    v = np.cos(theta)[:, None] * v_star + np.sin(theta)[:, None] * normal
    return v, np.einsum("nki,ni->nk", basis, y[:, 1:])
