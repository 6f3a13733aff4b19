"""`landscape deep-resnet`: critical points of deep ResNets and FC ReLU nets against the best linear
predictor (Yun, Sra & Jadbabaie 2019).

For each network kind (and each depth in `blocks`), gradient descent runs from `inits` random starts at
once (one batched array program), each start stopping when its gradient norm falls below `grad_tol`. Each
point it stops at is classified against the best linear predictor's risk R_lin (least squares):

- strictly better:  R < R_lin − gap_tol·R_lin
- as good (equal):  |R − R_lin| ≤ gap_tol·R_lin
- worse, strict saddle: R > R_lin + gap_tol·R_lin and λmin(∇²R) < −eig_tol·max|λ|
- worse, counterexample: worse and no negative curvature beyond that tolerance — a (possibly degenerate)
  local minimum worse than linear. Yun et al.'s theorem says a ResNet has none (under its conditions).
- worse, kink_undecided: worse with negative curvature of the smooth piece, at a point where a ReLU kink
  sits on a sample — the piece's Hessian certifies nothing there.

"At least as good as linear" = strictly better + equal. Starts that hit the step budget first are reported
as not converged (never dropped silently). For ResNet points the risk of the best linear read-out of every
block output h_0..h_L is also computed (the paper's §3.2 "per-block risk").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from resnet_cli.errors import ConfigError
from resnet_cli.models import deep_resnet as dr
from resnet_cli.models import yun_examples as yx

DATASETS = ["yun-example1", "yun-example2", "gaussian", "digits"]
NETWORKS = ["resnet", "fc"]
MAX_PARAMS = 4000  # exact Hessians are P x P and their tangent arrays P x width x samples
MAX_TANGENT_ENTRIES = 6e7

Progress = Callable[..., None]


@dataclass
class Config:
    """Validated options of `landscape deep-resnet` (see docs/landscape.md, section "landscape deep-resnet")."""

    data: str = "yun-example1"
    rho: float = 0.5
    samples: int = 64
    dim: int = 4
    blocks: list[int] = field(default_factory=lambda: [1])
    width: int | None = None
    hidden: int = 1
    bias: bool = True
    compare: list[str] = field(default_factory=list)
    fc_width: int | None = None
    inits: int = 20
    steps: int = 20000
    lr: float = 0.01
    grad_tol: float = 1e-6
    gap_tol: float = 1e-4
    eig_tol: float = 1e-5
    init: str = "standard"
    init_scale: float = 0.5


@dataclass
class Result:
    config: dict[str, Any]
    data: dict[str, Any]
    linear_risk: float
    rows: list[dict[str, Any]]
    points: list[dict[str, Any]]
    per_block: dict[str, Any] | None


# ----------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------


def load_digits(rng: np.random.Generator, samples: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Whitened-digits regression from `resnet_cli.data` (the bundled UCI digits, top-10 whitened PCs, one-hot
    targets), as X (d, m), Y (d_out, m) with samples as columns. `--dim` does not apply (d = 10)."""
    from resnet_cli.data import load_dataset

    dataset = load_dataset("digits", rng, samples=samples)
    return np.asarray(dataset.X, dtype=float).T, np.asarray(dataset.Y, dtype=float).T


def load_data(cfg: Config, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The dataset named by cfg.data: (X (d_in, m), Y (d_out, m), description)."""
    if cfg.data == "yun-example1":
        X, Y = yx.yun_example1(cfg.rho)
        info = {
            "name": cfg.data,
            "rho": cfg.rho,
            "paper_linear_risk": yx.example1_linear_risk(cfg.rho),
            "paper_resnet_point_risk": yx.example1_paper_resnet_risk(cfg.rho),
        }
    elif cfg.data == "yun-example2":
        X, Y = yx.yun_example2()
        info = {"name": cfg.data}
    elif cfg.data == "gaussian":
        X, Y = yx.gaussian_teacher(rng, cfg.samples, cfg.dim)
        info = {"name": cfg.data, "teacher": "a^T relu(S x) + 0.1 noise"}
    elif cfg.data == "digits":
        X, Y = load_digits(rng, cfg.samples)
        info = {"name": cfg.data}
    else:
        raise ConfigError(f"--data: unknown dataset {cfg.data!r} (choose from {', '.join(DATASETS)})")
    info.update({"d_in": int(X.shape[0]), "d_out": int(Y.shape[0]), "samples": int(X.shape[1])})
    return X, Y, info


# ----------------------------------------------------------------------------------------------------
# Batched gradient descent
# ----------------------------------------------------------------------------------------------------


@dataclass
class DescentResult:
    theta: np.ndarray  # (B, P)
    risk: np.ndarray  # (B,)
    grad_norm: np.ndarray  # (B,) ‖∇R‖ with σ'(0) = 0
    stationarity: np.ndarray  # (B,) Clarke measure (= grad_norm at smooth points)
    kinks: np.ndarray  # (B,) number of (sample, unit) pairs sitting on a ReLU kink
    steps: np.ndarray  # (B,) accepted steps
    converged: np.ndarray  # (B,) bool


Direction = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def gradient_descent(
    risk_grad: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    theta0: np.ndarray,
    *,
    steps: int,
    lr: float,
    grad_tol: float,
    direction: Direction | None = None,
    progress: Progress | None = None,
) -> DescentResult:
    """Gradient descent from all B starts at once, a discretised gradient flow with per-start step control.

    The step direction is `direction(theta, grad)` — for ReLU nets the min-norm Clarke subgradient
    (`min_norm_subgradient`), which is the gradient at smooth points and slides along a kink that sits on
    a sample instead of zig-zagging across it — or the gradient when `direction` is None. Each start has
    its own step η_b (initially `lr`): a step is accepted when it decreases the risk by the Armijo amount
    1e-4·η_b‖d‖² (then η_b grows by 1.2), otherwise it is rejected and η_b halves. A start stops when
    ‖d‖ < grad_tol; after `steps` iterations the others are reported as not converged.
    """
    theta = theta0.copy()
    B = theta.shape[0]
    risk, grad = risk_grad(theta)
    gnorm = np.linalg.norm(grad, axis=1)

    def steer(th: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if direction is None:
            return g, np.linalg.norm(g, axis=1), np.zeros(g.shape[0], dtype=int)
        return direction(th, g)

    d, dnorm, kinks = steer(theta, grad)
    eta = np.full(B, float(lr))
    accepted = np.zeros(B, dtype=int)
    active = np.isfinite(risk) & (dnorm >= grad_tol)
    report_every = max(steps // 100, 1)
    for it in range(steps):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        trial = theta[idx] - eta[idx, None] * d[idx]
        with np.errstate(over="ignore", invalid="ignore"):
            r_t, g_t = risk_grad(trial)
        ok = np.isfinite(r_t) & (r_t <= risk[idx] - 1e-4 * eta[idx] * dnorm[idx] ** 2)
        good, bad = idx[ok], idx[~ok]
        if good.size:
            theta[good], risk[good], grad[good] = trial[ok], r_t[ok], g_t[ok]
            gnorm[good] = np.linalg.norm(g_t[ok], axis=1)
            d[good], dnorm[good], kinks[good] = steer(theta[good], grad[good])
            accepted[good] += 1
            eta[good] *= 1.2
            active[good] = dnorm[good] >= grad_tol
        eta[bad] *= 0.5
        active[bad] = eta[bad] > 1e-300
        if progress is not None and it % report_every == 0:
            progress(it, steps)
    converged = np.isfinite(risk) & (dnorm < grad_tol)
    return DescentResult(theta=theta, risk=risk, grad_norm=gnorm, stationarity=dnorm, kinks=kinks,
                         steps=accepted, converged=converged)


# ----------------------------------------------------------------------------------------------------
# Classification of critical points
# ----------------------------------------------------------------------------------------------------


def classify(risk: float, lam_min: float, lam_absmax: float, linear_risk: float, scale: float, cfg: Config,
             kinks: int = 0) -> str:
    """One of "better", "equal", "strict_saddle", "counterexample", "kink_undecided".

    At a point where a ReLU kink sits on a sample (kinks > 0) the Hessian is that of one smooth piece
    (σ'(0) = 0); its negative curvature may point across the kink, so it certifies nothing: a worse point
    there with λmin < 0 is "kink_undecided" (counted, never dropped).
    """
    gap = risk - linear_risk
    if gap < -cfg.gap_tol * scale:
        return "better"
    if gap <= cfg.gap_tol * scale:
        return "equal"
    if lam_min < -cfg.eig_tol * max(lam_absmax, 1e-300):
        return "kink_undecided" if kinks > 0 else "strict_saddle"
    return "counterexample"


def _summarise(network: str, blocks: int, n_params: int, width: int, hidden: int | None,
               points: list[dict[str, Any]], inits: int, linear_risk: float) -> dict[str, Any]:
    done = [p for p in points if p["converged"]]
    n = len(done)
    kinds = [p["kind"] for p in done]

    def share(count: int) -> float:
        return count / n if n else float("nan")

    better, equal = kinds.count("better"), kinds.count("equal")
    saddle, counter = kinds.count("strict_saddle"), kinds.count("counterexample")
    undecided = kinds.count("kink_undecided")
    risks = [p["risk"] for p in done]
    row: dict[str, Any] = {
        "network": network,
        "blocks": blocks,
        "params": n_params,
        "width": width,
        "hidden": hidden,
        "inits": inits,
        "points": n,
        "not_converged": inits - n,
        "strictly_better": better,
        "equal": equal,
        "worse": saddle + counter + undecided,
        "worse_at_kink_undecided": undecided,
        "share_at_least_linear": share(better + equal),
        "share_strictly_better": share(better),
        "share_strict_saddle": share(saddle),
        "counterexamples": counter,
        "best_risk": min(risks) if risks else float("nan"),
        "worst_risk": max(risks) if risks else float("nan"),
        "linear_risk": linear_risk,
        "max_risk_ratio": (max(risks) / linear_risk) if risks and linear_risk > 0 else float("nan"),
    }
    if network == "resnet":
        norms = [p["block_norm_sum"] for p in done]
        row["max_block_norm_sum"] = max(norms) if norms else float("nan")
    return row


def _points(network: str, blocks: int, res: DescentResult, hess_fn: Callable[[np.ndarray], np.ndarray],
            linear_risk: float, scale: float, cfg: Config, extra: Callable[[np.ndarray], dict[str, Any]],
            progress: Progress | None, done_before: int, total: int) -> list[dict[str, Any]]:
    out = []
    for b in range(res.theta.shape[0]):
        point: dict[str, Any] = {
            "network": network,
            "blocks": blocks,
            "init": b,
            "converged": bool(res.converged[b]),
            "risk": float(res.risk[b]),
            "gap": float(res.risk[b] - linear_risk),
            "grad_norm": float(res.grad_norm[b]),
            "stationarity": float(res.stationarity[b]),
            "kinks": int(res.kinks[b]),
            "steps": int(res.steps[b]),
        }
        if res.converged[b]:
            evals = np.linalg.eigvalsh(hess_fn(res.theta[b]))
            lam_min, lam_absmax = float(evals[0]), float(np.abs(evals).max())
            point["lambda_min"] = lam_min
            point["lambda_max"] = float(evals[-1])
            point["kind"] = classify(point["risk"], lam_min, lam_absmax, linear_risk, scale, cfg, point["kinks"])
        else:
            point["lambda_min"] = float("nan")
            point["lambda_max"] = float("nan")
            point["kind"] = "not_converged"
        point.update(extra(res.theta[b]))
        out.append(point)
        if progress is not None:
            progress(done_before + b + 1, total, description=f"{network} L={blocks}: Hessians")
    return out


def _per_block_summary(points: list[dict[str, Any]], cfg: Config, scale: float) -> dict[str, Any] | None:
    pts = [p for p in points if p["network"] == "resnet" and p["converged"] and "per_block_risk" in p]
    if not pts:
        return None
    best = min(p["risk"] for p in pts)
    tol = cfg.gap_tol * scale
    global_pts = [p for p in pts if p["risk"] <= best + tol]
    nonmono_all = sum(not p["per_block_monotone"] for p in pts)
    nonmono_global = sum(not p["per_block_monotone"] for p in global_pts)
    # show the non-monotone global minima first (the paper's point), then the lowest-risk others
    shown = sorted(pts, key=lambda p: (not (p in global_pts and not p["per_block_monotone"]), p["risk"]))[:5]
    return {
        "blocks": pts[0]["blocks"],
        "points": len(pts),
        "non_monotone": nonmono_all,
        "best_risk": best,
        "global_points": len(global_pts),
        "global_non_monotone": nonmono_global,
        "lowest": [
            {"init": p["init"], "risk": p["risk"], "per_block_risk": p["per_block_risk"],
             "monotone": p["per_block_monotone"]}
            for p in shown
        ],
    }


# ----------------------------------------------------------------------------------------------------
# The experiment
# ----------------------------------------------------------------------------------------------------


def validate(cfg: Config) -> None:
    """Raise ConfigError for impossible sizes or option values (before any work)."""
    def need(cond: bool, msg: str) -> None:
        if not cond:
            raise ConfigError(msg)

    need(cfg.data in DATASETS, f"--data: unknown dataset {cfg.data!r} (choose from {', '.join(DATASETS)})")
    need(len(cfg.blocks) > 0 and all(1 <= L <= 64 for L in cfg.blocks), "--blocks: each depth must be in 1..64")
    need(cfg.width is None or cfg.width >= 1, "--width must be at least 1")
    need(1 <= cfg.hidden <= 512, "--hidden must be in 1..512")
    need(cfg.fc_width is None or cfg.fc_width >= 1, "--fc-width must be at least 1")
    need(1 <= cfg.inits <= 10000, "--inits must be in 1..10000")
    need(cfg.steps >= 1, "--steps must be at least 1")
    need(math.isfinite(cfg.lr) and cfg.lr > 0, "--lr must be a positive number")
    need(math.isfinite(cfg.grad_tol) and cfg.grad_tol > 0, "--grad-tol must be a positive number")
    need(math.isfinite(cfg.gap_tol) and cfg.gap_tol >= 0, "--gap-tol must be a non-negative number")
    need(math.isfinite(cfg.eig_tol) and cfg.eig_tol >= 0, "--eig-tol must be a non-negative number")
    need(cfg.init in ("standard", "near-identity"), "--init must be standard or near-identity")
    need(math.isfinite(cfg.init_scale) and cfg.init_scale > 0, "--init-scale must be a positive number")
    need(math.isfinite(cfg.rho) and cfg.rho > 0, "--rho must be a positive number")
    need(2 <= cfg.samples <= 100000, "--samples must be in 2..100000")
    need(1 <= cfg.dim <= 1000, "--dim must be in 1..1000")
    for net in cfg.compare:
        need(net == "fc", f"--compare: unknown network {net!r} (choose from fc)")


def run(cfg: Config, rng: np.random.Generator, progress: Progress | None = None) -> Result:
    """Run the experiment: data, best linear predictor, GD from cfg.inits starts per network and depth."""
    validate(cfg)
    X, Y, info = load_data(cfg, rng)
    d_in, d_out = X.shape[0], Y.shape[0]
    width = cfg.width if cfg.width is not None else d_in
    if width < d_in:
        raise ConfigError(f"--width {width} is smaller than the input dimension {d_in} of --data {cfg.data}")
    m = X.shape[1]
    for L in cfg.blocks:
        rs = dr.ResNetShape(d_in, width, cfg.hidden, L, d_out, cfg.bias)
        fw = cfg.fc_width if cfg.fc_width is not None else dr.matched_fc_width(rs)
        for name, P, widest in (("ResNet", rs.n_params, max(width, cfg.hidden, d_out)),
                                ("FC", dr.FCShape(d_in, fw, L, d_out, cfg.bias).n_params, max(fw, d_in, d_out))):
            if name == "FC" and "fc" not in cfg.compare:
                continue
            if P > MAX_PARAMS or P * widest * m > MAX_TANGENT_ENTRIES:
                raise ConfigError(f"{name} with L={L} has {P} parameters: too large for exact Hessians "
                                  f"(at most {MAX_PARAMS} parameters and {MAX_TANGENT_ENTRIES:.0e} tangent "
                                  f"entries P·width·samples)")
    lin = dr.best_linear_predictor(X, Y, bias=cfg.bias)
    scale = max(lin.risk, 1e-12 * float(np.mean(np.sum(Y * Y, axis=0))), 1e-300)
    networks = ["resnet"] + [n for n in cfg.compare if n != "resnet"]
    total = len(networks) * len(cfg.blocks) * (cfg.inits + 1)
    rows: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    done = 0
    for L in cfg.blocks:
        rshape = dr.ResNetShape(d_in, width, cfg.hidden, L, d_out, cfg.bias)
        for net in networks:
            if net == "resnet":
                shape: Any = rshape
                theta0 = dr.resnet_init(rshape, rng, cfg.inits, X, mode=cfg.init, scale=cfg.init_scale)
                rg = lambda th, masks=None, s=rshape: dr.resnet_risk_grad(s, th, X, Y, masks)  # noqa: E731
                hf = lambda th, s=rshape: dr.resnet_hessian(s, th, X, Y)  # noqa: E731
                pre = lambda th, s=rshape: dr.resnet_preactivations(s, th, X)  # noqa: E731

                def extra(th: np.ndarray, s: dr.ResNetShape = rshape) -> dict[str, Any]:
                    norms = dr.block_norms(s, th[None])[0]
                    out: dict[str, Any] = {"block_norm_sum": float(norms.sum())}
                    pb = dr.per_block_risks(s, th, X, Y)
                    out["per_block_risk"] = [float(v) for v in pb]
                    out["per_block_monotone"] = bool(np.all(np.diff(pb) <= cfg.gap_tol * scale))
                    return out

                hidden: int | None = cfg.hidden
                net_width = width
            else:
                fw = cfg.fc_width if cfg.fc_width is not None else dr.matched_fc_width(rshape)
                shape = dr.FCShape(d_in, fw, L, d_out, cfg.bias)
                theta0 = dr.fc_init(shape, rng, cfg.inits, X)
                rg = lambda th, masks=None, s=shape: dr.fc_risk_grad(s, th, X, Y, masks)  # noqa: E731
                hf = lambda th, s=shape: dr.fc_hessian(s, th, X, Y)  # noqa: E731
                pre = lambda th, s=shape: dr.fc_preactivations(s, th, X)  # noqa: E731
                extra = lambda th: {}  # noqa: E731
                hidden, net_width = None, fw

            def gd_progress(it: int, steps: int, base: int = done, net: str = net, L: int = L) -> None:
                if progress is not None:
                    progress(base + it / steps, total, description=f"{net} L={L}: descent")

            def steer(th: np.ndarray, g: np.ndarray, rg: Any = rg, pre: Any = pre) -> Any:
                return dr.min_norm_subgradient(rg, pre, th, g)

            res = gradient_descent(rg, theta0, steps=cfg.steps, lr=cfg.lr, grad_tol=cfg.grad_tol,
                                   direction=steer, progress=gd_progress)
            done += 1
            pts = _points(net, L, res, hf, lin.risk, scale, cfg, extra, progress, done, total)
            done += cfg.inits
            points.extend(pts)
            rows.append(_summarise(net, L, shape.n_params, net_width, hidden, pts, cfg.inits, lin.risk))
    per_block = None
    if len(cfg.blocks) == 1 and cfg.blocks[0] >= 2:
        per_block = _per_block_summary(points, cfg, scale)
    config = {k: v for k, v in cfg.__dict__.items()}
    config["width"] = width
    return Result(config=config, data=info, linear_risk=lin.risk, rows=rows, points=points, per_block=per_block)
