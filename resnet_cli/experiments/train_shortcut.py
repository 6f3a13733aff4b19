"""`train shortcut`: full-batch GD on an n-shortcut network, with the loss − L_min trace and, every
`hessian_every` epochs, the Hessian statistics of Li et al. (2017) Figures 6-8 (|λ|max, the 10th percentile
of |λ|, the index) against the loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from resnet_cli.errors import ConfigError
from resnet_cli.experiments.hessian import (
    NetworkConfig,
    Progress,
    _no_progress,
    build_problem,
    check_method,
    measure_hessian,
    stats_dict,
)
from resnet_cli.models import shortcut as sc


@dataclass
class TrainConfig(NetworkConfig):
    """Validated options of `resnet-cli train shortcut` (see docs/train-shortcut.md)."""

    init: str = "small"
    epochs: int = 200
    lr: float = 0.1
    hessian_every: int = 0
    method: str = "exact"
    lanczos_steps: int = 80
    probes: int = 8
    log_every: int = 0

    def validate(self) -> None:
        super().validate()
        if self.epochs < 1:
            raise ConfigError(f"--epochs {self.epochs}: must be at least 1")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"--lr {self.lr}: must be a positive number")
        if self.hessian_every < 0:
            raise ConfigError(f"--hessian-every {self.hessian_every}: must be 0 (never) or positive")
        if self.log_every < 0:
            raise ConfigError(f"--log-every {self.log_every}: must be 0 (about 20 rows) or positive")


@dataclass
class TrainResult:
    config: dict[str, Any]
    network: dict[str, Any]
    data: dict[str, Any]
    l_min: float
    losses: np.ndarray
    gaps: np.ndarray
    grad_norms: np.ndarray
    hessian: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    diverged: bool
    diverged_epoch: int | None
    final_loss: float
    final_gap: float
    epochs_run: int


def run(cfg: TrainConfig, progress: Progress = _no_progress) -> TrainResult:
    """Train with full-batch GD; take the Hessian spectrum at epochs 0, k, 2k, … (k = hessian_every)."""
    cfg.validate()
    problem = build_problem(cfg)
    net = problem.net
    if cfg.hessian_every:
        check_method(cfg.method, net.n_params, cfg.lanczos_steps, cfg.probes)
    W = sc.init_weights(net, cfg.init, problem.init_rng)
    X, Y, moments = problem.dataset.X, problem.dataset.Y, problem.moments
    # Segments end at every Hessian epoch, and often enough for a live progress bar.
    marks = set(range(0, cfg.epochs + 1, cfg.hessian_every)) if cfg.hessian_every else set()
    marks |= {cfg.epochs}
    step = max(1, cfg.epochs // 100)
    bounds = sorted(marks | set(range(0, cfg.epochs + 1, step)))
    losses = [np.array([np.nan])]
    gaps = [np.array([np.nan])]
    grads = [np.array([np.nan])]
    hessian: list[dict[str, Any]] = []
    diverged, diverged_epoch = False, None
    epoch = 0
    for target in bounds:
        if target > epoch:
            seg = sc.gradient_descent(net, W, cfg.lr, target - epoch, X=X, Y=Y, moments=moments)
            losses.append(seg.losses[1:])
            gaps.append(seg.gaps[1:])
            grads.append(seg.grad_norms[1:])
            if seg.diverged:
                diverged, diverged_epoch = True, epoch + int(seg.diverged_epoch)
                epoch = target
                break
            W = seg.weights
            epoch = target
        elif target == 0:
            seg = sc.gradient_descent(net, W, cfg.lr, 0, X=X, Y=Y, moments=moments)
            losses[0], gaps[0], grads[0] = seg.losses[:1], seg.gaps[:1], seg.grad_norms[:1]
            if seg.diverged:
                diverged, diverged_epoch = True, 0
                break
        progress(epoch, cfg.epochs, f"epoch {epoch}/{cfg.epochs}")
        if cfg.hessian_every and epoch in marks:
            progress(epoch, cfg.epochs, f"epoch {epoch}/{cfg.epochs}: Hessian ({net.n_params} parameters)")
            m = measure_hessian(problem, W, cfg.method, cfg.lanczos_steps, cfg.probes)
            hessian.append({"epoch": epoch, "loss": float(np.concatenate(losses)[epoch]),
                            "loss_gap": float(np.concatenate(gaps)[epoch]), **stats_dict(m.stats)})
    loss_arr = np.concatenate(losses)
    gap_arr = np.concatenate(gaps)
    grad_arr = np.concatenate(grads)
    last = len(loss_arr) - 1
    log_every = cfg.log_every or max(1, cfg.epochs // 20)
    shown = sorted(set(range(0, last + 1, log_every)) | {last} | {h["epoch"] for h in hessian if h["epoch"] <= last})
    by_epoch = {h["epoch"]: h for h in hessian}
    trace = []
    for e in shown:
        row: dict[str, Any] = {"epoch": e, "loss": float(loss_arr[e]), "loss_gap": float(gap_arr[e]),
                               "grad_norm": float(grad_arr[e])}
        if e in by_epoch:
            h = by_epoch[e]
            row.update({k: h[k] for k in ("abs_max", "abs_p10", "cond10", "index")})
        trace.append(row)
    final = last if not diverged else max(0, (diverged_epoch or 0) - 1)
    return TrainResult(
        config=asdict(cfg),
        network=problem.network_info(),
        data=problem.data_info(),
        l_min=problem.l_min,
        losses=loss_arr,
        gaps=gap_arr,
        grad_norms=grad_arr,
        hessian=hessian,
        trace=trace,
        diverged=diverged,
        diverged_epoch=diverged_epoch,
        final_loss=float(loss_arr[final]),
        final_gap=float(gap_arr[final]),
        epochs_run=last,
    )
