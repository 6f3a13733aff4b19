"""`landscape linear-resnet`: critical points of deep linear residual networks, inside and beyond the region
around identity where Hardt & Ma 2017 ("Identity matters in deep learning", ICLR 2017, Theorem 2.2) prove
every critical point global (docs/landscape.md, "Linear residual networks").

Starts: for every radius r of --radius, --trials random points with max_j ‖A_j‖₂ = r exactly
(`linear_residual.starts_at`). From all of them at once, Levenberg–Marquardt on ∇R = 0 with the exact
Hessian (`linear_residual.find_critical_points`) converges to critical points of any index. Each end point
gets: its risk R and gap R − R* to the least-squares optimum R* (the global minimum, `least_squares`); its
radius max_j ‖A_j‖₂ and min_j σ_min(I + A_j); the Hessian's inertia — negative, near-zero and positive
counts at ±eig_tol·|λ|max by LDLᵀ factorisations (`critical_points.inertia_index`, resnet_cli/eigen.py)
— and λ_min; and a kind:

- global:        R − R* ≤ gap_tol · max(R*, 1e-12·tr S_yy)
- saddle:        not global, the Hessian has a negative eigenvalue (its index is the count)
- higher-order saddle: not global, no negative eigenvalue, and the escape probe (`critical_points.
  escape_probe`: --probes random steps in the Hessian's near-null space) lowers R at every radius it tries
- undecided: as above, but R falls at some radii, not all (from 0.1 on only: not a minimum at that scale,
  and no evidence nearer the point; a minimum with a narrower basin looks the same)
- local minimum: not global, no negative eigenvalue, no descent found: a non-global local minimum
  candidate (Hardt & Ma's theorem forbids it inside the region; none is known beyond it)
- not converged: the finder stopped with ‖∇R‖ ≥ --newton-tol (reported with `critical_points.
  stationarity_class`: gradient-flat or neither), never dropped.

Randomness: one generator from --seed draws the data (gaussian) and then the starts (radius outer).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import numpy as np

from resnet_cli import budget
from resnet_cli.config import Settings, require, require_distinct, setting
from resnet_cli.data import check_spec, dataset_shape, load_dataset
from resnet_cli.errors import ConfigError
from resnet_cli.executor.blas import one_thread
from resnet_cli.experiments.summary import short_repr
from resnet_cli.models import critical_points as cp
from resnet_cli.models import linear_residual as lr
from resnet_cli.rng import make_rng

Progress = Callable[..., None]
DEFAULT_RADII = [round(0.2 * i, 1) for i in range(1, 11)]
KINDS = ("global", "saddle", "higher-order saddle", "undecided", "local minimum", "not converged")
MAX_PARAMS = 600  # exact Hessians are P × P per start
PROBE_RADII = (1e-3, 1e-2, 1e-1)
#: Inside the region means max_j ‖A_j‖₂ < 1 − BOUNDARY_BAND. Next to the boundary the finder stops short of it:
#: with factors I + A_j within σ_min ≈ 1e-4 of singular the gradient is ~1e-11 (below --newton-tol) at radius
#: 0.9998, while the critical point it tends to lies on the boundary (A_j = −I); such points are counted apart.
BOUNDARY_BAND = 1e-3
TARGETS = ("residual", "data")  # residual: y + x (the map I + T, near identity); data: y as loaded


@dataclass(frozen=True)
class LinearResnetSettings(Settings):
    """Every option of `landscape linear-resnet`, its default and its range, once (docs/landscape.md)."""

    COMMAND: ClassVar[str] = "landscape linear-resnet"
    data: str = setting("gaussian")
    target: str = setting("residual", choices=TARGETS)
    samples: int = setting(200, min=2, max=100000)
    dim: int = setting(4, min=1, max=100)
    blocks: list[int] = setting([3], min=1, max=32)
    radius: list[float] = setting(list(DEFAULT_RADII), min=0, open_min=True, max=100, shown="0.2,0.4,..,2")
    trials: int = setting(8, min=1, max=10000)
    newton_steps: int = setting(300, min=1, max=100000)
    newton_tol: float = setting(1e-10, min=0, open_min=True, max=1e-3)  # above, far-from-critical points pass
    # λ0 of μ = λ‖∇R‖: 10 keeps the first steps short, so starts near identity end near identity (with the
    # finder's 1e-3, Newton's first steps jump from radius 0.2 to ~1.3; measured, docs/landscape.md)
    damping: float = setting(10.0, min=0, open_min=True, max=1e12)
    gap_tol: float = setting(1e-6, min=1e-12)  # below, rounding of R would decide the class
    eig_tol: float = setting(1e-8, min=1e-12, max=1e-2)  # above, a clearly negative λmin would not be a saddle;
    # below 1e-12 rounding noise sets the index
    probes: int = setting(200, min=0, max=100000)
    seed: int = setting(0)

    def check(self) -> None:
        kind = check_spec(self.data)
        if kind in ("yun-example1", "yun-example2"):
            raise ConfigError(f"--data {self.data}: choose gaussian, digits or mnist:PATH (d_in = d_out)")
        require_distinct("--blocks", self.blocks)
        require_distinct("--radius", self.radius)
        d = data_dim(self)
        for L in self.blocks:
            P = lr.n_params(d, L)
            require(P <= MAX_PARAMS, f"--blocks {L} with d = {d}: {P} parameters, exact Hessians need at most "
                    f"{MAX_PARAMS} (lower --blocks or --dim)")
        budget.check(cost(self))


def data_dim(cfg: LinearResnetSettings) -> int:
    """d of --data without loading it (digits, mnist: 10)."""
    return dataset_shape(cfg.data, cfg.samples, cfg.dim)[1]


def cost(cfg: LinearResnetSettings) -> budget.Cost:
    """Memory and time before any allocation (resnet_cli/budget.py, `linear_resnet`)."""
    sized = budget.flags(trials=cfg.trials, radius=cfg.radius, blocks=cfg.blocks,
                         **({"dim": cfg.dim} if cfg.data == "gaussian" else {}))
    return budget.linear_resnet(data_dim(cfg), cfg.blocks, len(cfg.radius) * cfg.trials, cfg.newton_steps, sized)


@dataclass
class LinearResnetResult:
    __repr__ = short_repr
    settings: LinearResnetSettings
    data: dict[str, Any]
    optimum: float
    risk_tol: float
    rows: list[dict[str, Any]]
    depths: list[dict[str, Any]]
    points: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"command": LinearResnetSettings.COMMAND, "config": self.settings.to_dict(), "data": self.data,
                "optimum": self.optimum, "risk_tol": self.risk_tol, "depths": self.depths, "rows": self.rows,
                "points": self.points}


class _RiskOf:
    """The one method `critical_points.escape_probe` needs of a problem: risk(θ (B, P)) → (B,)."""

    def __init__(self, mom: lr.Moments) -> None:
        self.mom = mom

    def risk(self, theta: np.ndarray) -> np.ndarray:
        return lr.risk(theta, self.mom)


def analyse(theta: np.ndarray, converged: bool, mom: lr.Moments, optimum: float, risk_tol: float,
            cfg: LinearResnetSettings) -> dict[str, Any]:
    """Everything about one end point θ (P,): risk, gap, radius, σ_min, inertia counts, λ_min, kind."""
    R, g = lr.risk_grad(theta[None], mom)
    H = lr.hessian(theta[None], mom)[0]
    evals, evecs = np.linalg.eigh(H)
    counts = cp.inertia_index(H, cfg.eig_tol)
    gap = float(R[0] - optimum)
    point = {"risk": float(R[0]), "gap": gap, "grad_norm": float(np.linalg.norm(g[0])),
             "radius": float(lr.radius(theta[None], mom.dim)[0]),
             "sigma_min": float(lr.min_singular(theta[None], mom.dim)[0]),
             "lambda_min": float(evals[0]), "negative": counts["negative"], "zero": counts["zero"],
             "positive": counts["positive"], "escape": None}
    if not converged:
        flat = cp.gradient_flatness(g[0], H, cfg.eig_tol)
        return {**point, "kind": "not converged", "stationary": cp.stationarity_class(False, flat)}
    if gap <= risk_tol:
        kind = "global"
    elif counts["negative"] > 0:
        kind = "saddle"
    else:
        near = np.abs(evals) <= counts["epsilon"]
        probe = cp.escape_probe(_RiskOf(mom), theta, evecs[:, near], directions=cfg.probes, radii=PROBE_RADII,
                                seed=cfg.seed, eigenvalues=evals[near])
        point["escape"] = {"dim": probe["dim"], "min_change": probe["min_change"], "descent": probe["descent"],
                           "descent_radii": probe["descent_radii"]}
        kind = probe_kind(probe)
    return {**point, "kind": kind, "stationary": "critical"}


def probe_kind(probe: dict[str, Any]) -> str:
    """The kind of a non-global point without negative curvature, from its escape probe: a higher-order saddle
    only where R falls at every radius tried (a label holds at every scale shown), undecided where it falls
    at some radii but not all, a local minimum where it never falls."""
    if not probe["descent"]:
        return "local minimum"
    return "higher-order saddle" if len(probe["descent_radii"]) == len(probe["radii"]) else "undecided"


def _row(blocks: int, r0: float, pts: list[dict[str, Any]]) -> dict[str, Any]:
    """One table row: the end points of the starts at radius r0."""
    count = {k: sum(p["kind"] == k for p in pts) for k in KINDS}
    bad = [p for p in pts if p["kind"] not in ("global", "not converged")]
    saddles = [p["negative"] for p in pts if p["kind"] == "saddle"]
    return {"blocks": blocks, "start_radius": r0, "starts": len(pts),
            **{k.replace(" ", "_").replace("-", "_"): v for k, v in count.items()},
            "index_min": min(saddles) if saddles else None, "index_max": max(saddles) if saddles else None,
            "nonglobal_radius_min": min((p["radius"] for p in bad), default=None),
            "global_radius_max": max((p["radius"] for p in pts if p["kind"] == "global"), default=None)}


def _depth_summary(blocks: int, P: int, pts: list[dict[str, Any]], equal: np.ndarray | None) -> dict[str, Any]:
    """Per depth: counts of each kind, saddle indices seen, the first radius of a non-global point, and the
    radius of the equal-layer global minimum (`linear_residual.equal_factors`; None without a real log)."""
    bad = [p for p in pts if p["kind"] not in ("global", "not converged")]
    inside = [p for p in pts if p["kind"] != "not converged" and p["radius"] < 1.0 - BOUNDARY_BAND]
    boundary = [p for p in pts if p["kind"] != "not converged" and abs(p["radius"] - 1.0) <= BOUNDARY_BAND]
    indices = sorted({p["negative"] for p in pts if p["kind"] == "saddle"})
    return {"blocks": blocks, "params": P, "points": len(pts),
            **{k.replace(" ", "_").replace("-", "_"): sum(p["kind"] == k for p in pts) for k in KINDS},
            "saddle_indices": indices, "inside": len(inside),
            "inside_nonglobal": sum(p["kind"] not in ("global", "not converged") for p in inside),
            "boundary_band": BOUNDARY_BAND, "boundary": len(boundary),
            "boundary_nonglobal": sum(p["kind"] != "global" for p in boundary),
            "first_nonglobal_radius": min((p["radius"] for p in bad), default=None),
            "nonglobal_sigma_max": max((p["sigma_min"] for p in bad), default=None),
            "equal_factor_radius": None if equal is None else float(np.linalg.norm(equal, ord=2))}


def run(settings: LinearResnetSettings, progress: Progress | None = None) -> LinearResnetResult:
    """Data, moments and optimum, then per depth the starts, the finder and the analysis of every end point."""
    cfg = settings
    rng = make_rng(cfg.seed)
    kind = check_spec(cfg.data)
    dataset = load_dataset(cfg.data, rng, samples=cfg.samples, dim=cfg.dim if kind == "gaussian" else None)
    Y = dataset.Y + dataset.X if cfg.target == "residual" else dataset.Y
    mom = lr.moments(dataset.X, Y)
    best = lr.least_squares(mom)
    # global: R − R* within gap_tol·R*, and never below the rounding of R (its terms are of size tr S_yy): with
    # R* ≈ 0 (an exact fit, samples ≤ dim) gap_tol·R* would let rounding decide the class
    risk_tol = max(cfg.gap_tol * best.risk, 1e-12 * mom.syy_trace)
    info = {"name": dataset.name, "description": dataset.description, "dim": mom.dim, "samples": mom.samples,
            "target": cfg.target, "det": float(np.linalg.det(best.matrix)),
            "distance_to_identity": float(np.linalg.norm(best.matrix - np.eye(mom.dim), ord=2))}
    rows, depths, points = [], [], []
    total = len(cfg.blocks) * len(cfg.radius) * cfg.trials
    for L in cfg.blocks:
        theta0 = lr.starts_at(rng, cfg.radius, cfg.trials, mom.dim, L)
        with one_thread():  # small batched LAPACK calls: threads only burn CPU (14× here), and one is bitwise stable
            found = lr.find_critical_points(theta0, mom, tol=cfg.newton_tol, max_iter=cfg.newton_steps,
                                            damping=cfg.damping)
            pts = [analyse(found.theta[b], bool(found.converged[b]), mom, best.risk, risk_tol, cfg)
                   for b in range(theta0.shape[0])]
        for b, p in enumerate(pts):
            r0 = cfg.radius[b // cfg.trials]
            pts[b] = {"blocks": L, "start_radius": r0, "trial": b % cfg.trials, "iterations": int(found.iterations[b]),
                      **p}
        if progress is not None:
            progress(len(points) + len(pts), total)
        rows += [_row(L, r0, [p for p in pts if p["start_radius"] == r0]) for r0 in cfg.radius]
        depths.append(_depth_summary(L, lr.n_params(mom.dim, L), pts, lr.equal_factors(best.matrix, L)))
        points += pts
    return LinearResnetResult(cfg, info, best.risk, risk_tol, rows, depths, points)
