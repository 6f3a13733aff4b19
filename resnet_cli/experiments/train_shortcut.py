"""`train shortcut`: full-batch GD on an n-shortcut network, with the loss − L_min trace and, every
`hessian_every` steps, the Hessian statistics of Li et al. (2017) Figures 6-8 (|λ|max, the 10th percentile
of |λ|, the index) against the loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from resnet_cli.config import setting
from resnet_cli.experiments.hessian import (
    NetworkSettings,
    Progress,
    SpectrumSettings,
    _no_progress,
    build_problem,
    check_spectrum,
    measure_hessian,
    stats_dict,
)
from resnet_cli.models import shortcut as sc

TRACE_ROWS = 20  # about this many trace rows when --trace-every is not given


@dataclass
class TrainShortcutSettings(NetworkSettings, SpectrumSettings):
    """Settings of `resnet-cli train shortcut` (see docs/train-shortcut.md)."""

    COMMAND = "train shortcut"
    init: str = setting("small", choices=sc.INITS)
    steps: int = setting(200, min=1)
    lr: float = setting(0.1, min=0.0, open_min=True)
    hessian_every: int = setting(0, min=0)
    trace_every: Optional[int] = setting(None, min=1, shown=f"about {TRACE_ROWS} rows")


@dataclass
class TrainResult:
    settings: TrainShortcutSettings
    network: dict[str, Any]
    data: dict[str, Any]
    l_min: float
    losses: np.ndarray
    gaps: np.ndarray
    grad_norms: np.ndarray
    hessian: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    diverged: bool
    diverged_step: int | None
    final_loss: float
    final_gap: float
    steps_run: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": "train shortcut",
            "config": self.settings.to_dict(),
            "network": self.network,
            "data": self.data,
            "l_min": self.l_min,
            "final_loss": self.final_loss,
            "final_loss_gap": self.final_gap,
            "diverged": self.diverged,
            "diverged_step": self.diverged_step,
            "steps_run": self.steps_run,
            "trace": self.trace,
            "hessian": self.hessian,
            "curve": {"loss": self.losses, "loss_gap": self.gaps, "grad_norm": self.grad_norms},
        }


def run(cfg: TrainShortcutSettings, progress: Progress = _no_progress) -> TrainResult:
    """Train with full-batch GD; take the Hessian spectrum at steps 0, k, 2k, … (k = hessian_every)."""
    problem = build_problem(cfg)
    net = problem.net
    if cfg.hessian_every:
        check_spectrum(cfg.spectrum, net.n_params)
    W = sc.init_weights(net, cfg.init, problem.init_rng)
    X, Y, moments = problem.dataset.X, problem.dataset.Y, problem.moments
    # Segments end at every Hessian step, and often enough for a live progress bar.
    marks = set(range(0, cfg.steps + 1, cfg.hessian_every)) if cfg.hessian_every else set()
    marks |= {cfg.steps}
    stride = max(1, cfg.steps // 100)
    bounds = sorted(marks | set(range(0, cfg.steps + 1, stride)))
    losses = [np.array([np.nan])]
    gaps = [np.array([np.nan])]
    grads = [np.array([np.nan])]
    hessian: list[dict[str, Any]] = []
    diverged, diverged_step = False, None
    step = 0
    for target in bounds:
        if target > step:
            seg = sc.gradient_descent(net, W, cfg.lr, target - step, X=X, Y=Y, moments=moments)
            losses.append(seg.losses[1:])
            gaps.append(seg.gaps[1:])
            grads.append(seg.grad_norms[1:])
            if seg.diverged:
                diverged, diverged_step = True, step + int(seg.diverged_epoch)
                step = target
                break
            W = seg.weights
            step = target
        elif target == 0:
            seg = sc.gradient_descent(net, W, cfg.lr, 0, X=X, Y=Y, moments=moments)
            losses[0], gaps[0], grads[0] = seg.losses[:1], seg.gaps[:1], seg.grad_norms[:1]
            if seg.diverged:
                diverged, diverged_step = True, 0
                break
        progress(step, cfg.steps, f"step {step}/{cfg.steps}")
        if cfg.hessian_every and step in marks:
            progress(step, cfg.steps, f"step {step}/{cfg.steps}: Hessian ({net.n_params} parameters)")
            m = measure_hessian(problem, W, cfg)
            hessian.append({"step": step, "loss": float(np.concatenate(losses)[step]),
                            "loss_gap": float(np.concatenate(gaps)[step]), **stats_dict(m.stats)})
    loss_arr = np.concatenate(losses)
    gap_arr = np.concatenate(gaps)
    grad_arr = np.concatenate(grads)
    last = len(loss_arr) - 1
    every = cfg.trace_every or max(1, cfg.steps // TRACE_ROWS)
    shown = sorted(set(range(0, last + 1, every)) | {last} | {h["step"] for h in hessian if h["step"] <= last})
    by_step = {h["step"]: h for h in hessian}
    trace = []
    for e in shown:
        row: dict[str, Any] = {"step": e, "loss": float(loss_arr[e]), "loss_gap": float(gap_arr[e]),
                               "grad_norm": float(grad_arr[e])}
        if e in by_step:
            h = by_step[e]
            row.update({k: h[k] for k in ("abs_max", "abs_p10", "cond10", "index")})
        trace.append(row)
    final = last if not diverged else max(0, (diverged_step or 0) - 1)
    return TrainResult(
        settings=cfg,
        network=problem.network_info(),
        data=problem.data_info(),
        l_min=problem.l_min,
        losses=loss_arr,
        gaps=gap_arr,
        grad_norms=grad_arr,
        hessian=hessian,
        trace=trace,
        diverged=diverged,
        diverged_step=diverged_step,
        final_loss=float(loss_arr[final]),
        final_gap=float(gap_arr[final]),
        steps_run=last,
    )
