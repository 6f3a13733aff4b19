"""Experiments on the two-layer teacher–student model (Liu et al. 2019): training runs and the landscape.

`train(config, rng, progress)` and `landscape(config, rng, progress)` return Result dataclasses; nothing here
prints or writes files. Every random draw comes from the caller's `numpy.random.Generator`, in a fixed order:
teachers first, then initializations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np

from resnet_cli import optim
from resnet_cli.models import two_layer as tl

STUDENTS = ("resnet", "cnn")
TEACHER_V = ("prior", "sphere")
TEACHER_A = ("gaussian", "uniform", "ones")
Progress = Callable[[int, int], None]


@dataclass
class TeacherConfig:
    """How the teacher (v*, a*) is drawn.

    v*: ``prior`` = uniform on the cap angle(v*, e) ≤ prior_angle (the skip-layer prior of Liu et al. 2019,
    60° ⇔ v* = e + w*, ‖w*‖ ≤ 1) or ``sphere`` = uniform on S^{p−1} (Du et al. 2018).
    a*: ``gaussian`` N(0, I_k), ``uniform`` U[−1, 1]^k, or ``ones`` (a* = 1, so 1ᵀa* = k).
    """

    v_kind: str = "prior"
    a_kind: str = "gaussian"
    prior_angle_deg: float = 60.0


@dataclass
class TrainConfig:
    """Every parameter of a two-layer training run; None step sizes/iterations mean "Theorem 1/2 default"."""

    student: str = "resnet"
    p: int = 8
    k: int = 4
    schedule: str = "ssw"
    eta_a: float | None = None
    eta_w: float | None = None
    eta: float | None = None
    c_eta_w: float = 1.0
    stage1_iterations: int | None = None
    iterations: int | None = None
    stage2_iterations: int = 20000
    trials: int = 1
    same_teacher: bool = False
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    criteria: optim.Criteria = field(default_factory=optim.Criteria)
    trace_every: int | None = None
    stop_when_global: bool = False


def draw_teachers(rng: np.random.Generator, n: int, p: int, k: int, teacher: TeacherConfig) -> tuple[np.ndarray, np.ndarray]:
    """n teachers (v* rows of unit norm, a* rows), drawn as `teacher` says."""
    if teacher.v_kind == "prior":
        v_star = tl.sample_cap(rng, n, p, tl.unit_e(p), math.radians(teacher.prior_angle_deg))
    else:
        v_star = tl.sample_sphere(rng, n, p)
    if teacher.a_kind == "gaussian":
        a_star = rng.standard_normal((n, k))
    elif teacher.a_kind == "uniform":
        a_star = rng.uniform(-1.0, 1.0, size=(n, k))
    else:
        a_star = np.ones((n, k))
    return v_star, a_star


def draw_inits(rng: np.random.Generator, student: str, v_star: np.ndarray, a_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Initial (v0, a0): ResNet w0 = 0 ⇒ v0 = e; CNN v0 uniform on the sphere (Du et al. 2018); a0 uniform
    in the ball of radius |1ᵀa*|/√k (Liu et al. 2019, Theorem 1)."""
    n, p = v_star.shape
    k = a_star.shape[1]
    v0 = np.tile(tl.unit_e(p), (n, 1)) if student == "resnet" else tl.sample_sphere(rng, n, p)
    a0 = tl.sample_ball(rng, n, k, np.abs(a_star.sum(axis=1)) / math.sqrt(k))
    return v0, a0


def make_schedule(config: TrainConfig, a_star: np.ndarray) -> optim.Schedule:
    """Resolve the per-trial step sizes: the options where given, else Theorems 1 and 2."""
    n, k = a_star.shape
    eta_a = config.eta_a if config.eta_a is not None else optim.theorem1_eta_a(k)
    eta_w = (
        np.full(n, config.eta_w) if config.eta_w is not None else optim.theorem1_eta_w(a_star, eta_a, config.c_eta_w)
    )
    eta = np.full(n, config.eta) if config.eta is not None else optim.theorem2_eta(a_star, k)
    return optim.Schedule(config.schedule, np.full(n, eta_a), eta_w, eta, stage1_iterations(config))


def stage1_iterations(config: TrainConfig) -> int:
    """T1: the option, else ⌈1/η_a⌉ (Theorem 1: T1 = Õ(1/η_a))."""
    if config.stage1_iterations is not None:
        return config.stage1_iterations
    eta_a = config.eta_a if config.eta_a is not None else optim.theorem1_eta_a(config.k)
    return int(math.ceil(1.0 / eta_a))


def total_iterations(config: TrainConfig) -> int:
    """All iterations: the option, else T1 + stage2_iterations."""
    if config.iterations is not None:
        return config.iterations
    return stage1_iterations(config) + config.stage2_iterations


@dataclass
class TrainResult:
    config: TrainConfig
    schedule: optim.Schedule
    v_star: np.ndarray
    a_star: np.ndarray
    gd: optim.GDResult
    iterations: int

    @property
    def counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.gd.outcome == name)) for name in optim.OUTCOMES}


def train(config: TrainConfig, rng: np.random.Generator, progress: Progress | None = None) -> TrainResult:
    """Train `trials` two-layer students against their teachers with GD + normalization, all in one batch."""
    n = config.trials
    if config.same_teacher:
        v1, a1 = draw_teachers(rng, 1, config.p, config.k, config.teacher)
        v_star, a_star = np.repeat(v1, n, axis=0), np.repeat(a1, n, axis=0)
    else:
        v_star, a_star = draw_teachers(rng, n, config.p, config.k, config.teacher)
    v0, a0 = draw_inits(rng, config.student, v_star, a_star)
    schedule = make_schedule(config, a_star)
    iterations = total_iterations(config)
    gd = optim.run_gd(
        v0,
        a0,
        v_star,
        a_star,
        schedule,
        iterations,
        config.criteria,
        trace_points=optim.trace_points(iterations, config.trace_every, schedule.stage1_iterations),
        stop_when_global=config.stop_when_global,
        progress=progress,
    )
    return TrainResult(config, schedule, v_star, a_star, gd, iterations)


# --- the landscape ----------------------------------------------------------------------------------------


@dataclass
class CriticalPoint:
    kind: str
    v: np.ndarray
    a: np.ndarray
    loss: float
    grad_norm: float
    hessian_eigenvalues: np.ndarray  # on the tangent space of the sphere × R^k
    a_dot_astar: float
    verdict: str
    method: str


@dataclass
class LandscapeConfig:
    p: int = 8
    k: int = 4
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    profile_points: int = 19
    basin_phi_points: int = 7
    basin_a_points: int = 5
    schedules: tuple[str, ...] = ("ssw", "constant")
    probes: int = 2000
    probe_radius: float = 1e-2
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class LandscapeResult:
    config: LandscapeConfig
    v_star: np.ndarray
    a_star: np.ndarray
    critical_points: list[CriticalPoint]
    profile_phi: np.ndarray
    profile_loss: np.ndarray
    profile_a_dot: np.ndarray
    basin_phi0: np.ndarray
    basin_a_ratio: np.ndarray
    basin: dict[str, np.ndarray]  # schedule -> outcomes (phi × a)
    resnet_init_phi: float
    cnn_init_phi_quantiles: dict[str, float]


def tangent_hessian(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """The Hessian of L restricted to the tangent space of the sphere at v (× all of R^k), in an orthonormal basis.

    L is invariant to the norm of u, so the Euclidean Hessian in (w, a) has a null radial direction; the
    tangent restriction removes it.
    """
    p = v.size
    H = tl.hessian_w(v, a, v_star, a_star, offset=0.0)
    q, _ = np.linalg.qr(np.column_stack([v, np.eye(p)]))
    basis = np.zeros((p + a.size, p - 1 + a.size))
    basis[:p, : p - 1] = q[:, 1:p]
    basis[p:, p - 1 :] = np.eye(a.size)
    return basis.T @ H @ basis


def probe_minimum(
    rng: np.random.Generator, v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, probes: int, radius: float
) -> tuple[bool, float]:
    """Probe perturbations of size `radius`: is L higher (by more than rounding) at all of them?

    Two kinds, `probes` each: (1) v rotated on the sphere and a shifted, both at random; (2) v rotated at
    random with a re-optimized in closed form, min_a L(v', a) (L is strictly convex in a, so the point is a
    local minimum iff v is one of this reduced loss). Kind (2) sees descent directions of higher order that
    random joint perturbations miss (at φ = π the loss changes only as ε³ along v).
    Returns (all higher, smallest L(probe) − L(point)).
    """
    p, k = v.size, a.size
    base = float(tl.population_loss(v, a, v_star, a_star))
    dv = rng.standard_normal((probes, p))
    dv -= np.outer(dv @ v, v)
    dv /= np.linalg.norm(dv, axis=1, keepdims=True)
    size = np.full((probes, 1), radius)
    angle = size * rng.uniform(size=(probes, 1))
    vp = np.cos(angle) * v + np.sin(angle) * dv
    da = rng.standard_normal((probes, k))
    da *= np.sqrt(size**2 - angle**2) / np.linalg.norm(da, axis=1, keepdims=True)
    joint = tl.population_loss(vp, a + da, v_star, a_star) - base
    reduced = tl.profile_loss(tl.angle(np.cos(size) * v + np.sin(size) * dv, v_star), a_star) - base
    delta = np.concatenate([joint, reduced])
    rounding = 1e-12 * max(1.0, abs(base))  # changes below this are float noise, not descent
    return bool(np.all(delta > rounding)), float(delta.min())


def classify_point(
    rng: np.random.Generator, kind: str, v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, config: LandscapeConfig
) -> CriticalPoint:
    """Loss, gradient norm and a local-minimality verdict: from the tangent Hessian when it is definite,
    from probing random perturbations when it is degenerate (the spurious point: g is cubic at φ = π)."""
    grad_v, grad_a = tl.gradients(v, a, v_star, a_star)
    eig = np.linalg.eigvalsh(tangent_hessian(v, a, v_star, a_star))
    scale = max(1.0, float(np.abs(eig).max()))
    if eig.min() > 1e-9 * scale:
        verdict, method = "local minimum", "Hessian positive definite on the tangent space"
    elif eig.min() < -1e-9 * scale:
        verdict, method = "saddle", "Hessian has a negative eigenvalue"
    else:
        higher, worst = probe_minimum(rng, v, a, v_star, a_star, config.probes, config.probe_radius)
        zero = int(np.sum(np.abs(eig) <= 1e-9 * scale))
        verdict = "local minimum" if higher else "saddle"
        method = (
            f"Hessian degenerate ({zero} zero eigenvalues); probed {2 * config.probes} perturbations of size "
            f"{config.probe_radius:g} (half with a re-optimized): {'all higher' if higher else 'some lower'} "
            f"(min ΔL = {worst:.3e})"
        )
    return CriticalPoint(
        kind=kind,
        v=v,
        a=a,
        loss=float(tl.population_loss(v, a, v_star, a_star)),
        grad_norm=float(np.sqrt(np.sum(grad_v**2) + np.sum(grad_a**2))),
        hessian_eigenvalues=eig,
        a_dot_astar=float(a @ a_star),
        verdict=verdict,
        method=method,
    )


def landscape(config: LandscapeConfig, rng: np.random.Generator, progress: Progress | None = None) -> LandscapeResult:
    """The population landscape of one teacher: critical points, the φ-profile and the basin map."""
    p, k = config.p, config.k
    v_star_b, a_star_b = draw_teachers(rng, 1, p, k, config.teacher)
    v_star, a_star = v_star_b[0], a_star_b[0]
    points = [
        classify_point(rng, "global", *tl.global_optimum(v_star, a_star), v_star, a_star, config),
        classify_point(rng, "spurious", *tl.spurious_optimum(v_star, a_star), v_star, a_star, config),
    ]
    phis = np.linspace(0.0, math.pi, config.profile_points)
    prof = tl.profile_loss(phis, a_star)
    prof_a = tl.optimal_a(phis, np.broadcast_to(a_star, (phis.size, k))) @ a_star

    # Basin map: GD from v0 at angle φ0 from v* (in one random plane) and a0 = q a* for a grid of q.
    phi0 = np.linspace(0.0, math.pi, config.basin_phi_points)
    ratios = np.linspace(-1.0, 1.0, config.basin_a_points)
    normal = rng.standard_normal(p)
    normal -= (normal @ v_star) * v_star
    normal /= np.linalg.norm(normal)
    grid_phi, grid_q = np.meshgrid(phi0, ratios, indexing="ij")
    cells = grid_phi.size
    v0 = np.cos(grid_phi.ravel())[:, None] * v_star + np.sin(grid_phi.ravel())[:, None] * normal
    a0 = grid_q.ravel()[:, None] * a_star
    vs, ast = np.tile(v_star, (cells, 1)), np.tile(a_star, (cells, 1))
    basin: dict[str, np.ndarray] = {}
    total = len(config.schedules)
    for i, kind in enumerate(config.schedules):
        tcfg = replace(config.train, p=p, k=k, schedule=kind)
        iterations = total_iterations(tcfg)

        def tick(done: int, _total: int, i: int = i) -> None:
            if progress is not None:
                progress(i * iterations + done, total * iterations)

        gd = optim.run_gd(
            v0, a0, vs, ast, make_schedule(tcfg, ast), iterations, tcfg.criteria, stop_when_global=True, progress=tick
        )
        basin[kind] = gd.outcome.reshape(grid_phi.shape)
    e = tl.unit_e(p)
    cnn_phi = tl.angle(tl.sample_sphere(rng, 10000, p), v_star)
    quantiles = {f"q{int(q * 100)}": float(np.quantile(cnn_phi, q)) for q in (0.1, 0.5, 0.9)}
    return LandscapeResult(
        config, v_star, a_star, points, phis, prof, prof_a, phi0, ratios, basin, float(tl.angle(e, v_star)), quantiles
    )


def as_dict(obj: Any) -> Any:
    """A JSON-ready view of a config dataclass (nested dataclasses become dicts)."""
    import dataclasses

    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj
