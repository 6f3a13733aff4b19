"""`train shortcut`: full-batch GD on an n-shortcut network, with the loss − L_min trace, the Frobenius norm of
every weight matrix along training (Li, Jiao, Han & Weissman 2017, Figure 3) and, every `hessian_every`
steps, the Hessian statistics of their Figures 6-8 (|λ|max, the 10th percentile of |λ|, the index) against
the loss.

Across runs (the paper's "for each run, eigenvalues at different losses are calculated using linear
interpolation"): `at_levels` reads a trace at common loss levels, `common_levels` picks levels every run
reaches, `across_runs` averages runs there and `lower_share` counts, per level, the runs of one kind whose
value is below the paired run of another (Figure 8's ordering over seeds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from resnet_cli import budget
from resnet_cli.config import setting
from resnet_cli.experiments.shortcut_problem import (
    NetworkSettings,
    ProblemResult,
    SpectrumSettings,
    build_problem,
    data_sizes,
    is_linear,
    tanh_positions,
    check_spectrum,
    measure_hessian,
    stats_dict,
)
from resnet_cli.experiments.sweep import Progress, no_progress
from resnet_cli.models import shortcut as sc

TRACE_ROWS = 20  # about this many trace rows when --trace-every is not given


@dataclass(frozen=True)
class TrainShortcutSettings(NetworkSettings, SpectrumSettings):
    """Settings of `resnet-cli train shortcut` (see docs/train-shortcut.md)."""

    COMMAND = "train shortcut"
    init: str = setting("small", choices=sc.INITS)
    steps: int = setting(200, min=1)
    lr: float = setting(0.1, min=0.0, open_min=True)
    hessian_every: int = setting(0, min=0)
    trace_every: Optional[int] = setting(None, min=1, shown=f"about {TRACE_ROWS} rows")

    def check(self) -> None:
        super().check()
        budget.check(cost(self))


def cost(cfg: TrainShortcutSettings) -> budget.Cost:
    """Memory and time before any allocation (resnet_cli/budget.py): GD, the loss trace and the Hessians."""
    spectra = cfg.steps // cfg.hessian_every + 1 if cfg.hessian_every else 0
    cost = budget.shortcut(cfg.data, cfg.samples, cfg.dim, [cfg.depth], trials=1, steps=cfg.steps,
                           linear=is_linear(cfg), tanh_positions=tanh_positions(cfg), spectra=spectra,
                           spectrum=cfg.spectrum,
                           lanczos=(cfg.lanczos_steps, cfg.lanczos_probes),
                           sized=budget.flags(depth=cfg.depth, steps=cfg.steps, **data_sizes(cfg)))
    records = cfg.steps // cfg.trace_every + 1 if cfg.trace_every else 0  # (about TRACE_ROWS: nothing to count)
    return budget.Cost(cost.nbytes + 8.0 * 4 * cfg.steps + records * budget.SHORTCUT_TRACE_RECORD_BYTES,
                       cost.seconds + records * budget.SHORTCUT_TRACE_RECORD_SECONDS, cost.flags)


@dataclass(repr=False)
class TrainResult(ProblemResult):
    """`train shortcut`'s result: the loss, gap and gradient-norm curves, the trace rows, the Hessians and
    the weight norms along training."""

    l_min: float
    losses: np.ndarray
    gaps: np.ndarray
    grad_norms: np.ndarray
    hessian: list[dict[str, Any]]
    trace: list[dict[str, Any]]
    norms: dict[str, list[Any]]
    diverged: bool
    diverged_step: int | None
    final_loss: float
    final_gap: float
    steps_run: int
    weights_at: dict[int, np.ndarray] = field(default_factory=dict)  # deferred Hessians: step -> weights

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
            "norms": self.norms,
            "curve": {"loss": self.losses, "loss_gap": self.gaps, "grad_norm": self.grad_norms},
        }


def run(cfg: TrainShortcutSettings, progress: Progress | None = None) -> TrainResult:
    """Train with full-batch GD; take the Hessian spectrum at steps 0, k, 2k, … (k = hessian_every)."""
    return train(cfg, progress)


def train(cfg: TrainShortcutSettings, progress: Progress | None = None, defer_hessians: bool = False) -> TrainResult:
    """`run`; with `defer_hessians`, the weights at the Hessian steps (``weights_at``) instead of their spectra,
    the same trajectory to the bit, for `measure_at` at the steps a caller needs (`read_points`)."""
    progress = progress or no_progress
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
    every = cfg.trace_every or max(1, cfg.steps // TRACE_ROWS)
    bounds = sorted(marks | set(range(0, cfg.steps + 1, stride)) | set(range(0, cfg.steps + 1, every)))
    losses, gaps, grads = [np.array([np.nan])], [np.array([np.nan])], [np.array([np.nan])]
    hessian: list[dict[str, Any]] = []
    norms: dict[int, np.ndarray] = {}  # step -> Frobenius norm of every weight matrix (Figure 3)
    weights_at: dict[int, np.ndarray] = {}
    diverged, diverged_step = False, None
    step = 0
    for target in bounds:
        if target > step:  # one run in segments: the divergence threshold counts from the loss at step 0
            seg = sc.gradient_descent(net, W, cfg.lr, target - step, X=X, Y=Y, moments=moments,
                                      initial_loss=float(losses[0][0]))
            end = int(seg.diverged_epoch) + 1 if seg.diverged else None  # the trace ends at the diverged step
            losses.append(seg.losses[1:end])
            gaps.append(seg.gaps[1:end])
            grads.append(seg.grad_norms[1:end])
            if seg.diverged:
                diverged, diverged_step = True, step + int(seg.diverged_epoch)
                step = diverged_step
                break
            W = seg.weights
            step = target
        elif target == 0:
            seg = sc.gradient_descent(net, W, cfg.lr, 0, X=X, Y=Y, moments=moments)
            losses[0], gaps[0], grads[0] = seg.losses[:1], seg.gaps[:1], seg.grad_norms[:1]
            if seg.diverged:
                diverged, diverged_step = True, 0
                break
        norms[step] = layer_norms(W)
        progress(step, cfg.steps, f"step {step}/{cfg.steps}")
        if cfg.hessian_every and step in marks and defer_hessians:
            weights_at[step] = W
        elif cfg.hessian_every and step in marks:
            progress(step, cfg.steps, f"step {step}/{cfg.steps}: Hessian ({net.n_params} parameters)")
            m = measure_hessian(problem, W, cfg)
            hessian.append({"step": step, "loss": float(np.concatenate(losses)[step]),
                            "loss_gap": float(np.concatenate(gaps)[step]), **stats_dict(m.stats)})
    loss_arr, gap_arr, grad_arr = np.concatenate(losses), np.concatenate(gaps), np.concatenate(grads)
    last = len(loss_arr) - 1
    trace, norm_series = trace_rows(loss_arr, gap_arr, grad_arr, hessian, norms, every), norm_trace(loss_arr, gap_arr, norms)
    final = last if not diverged else max(0, (diverged_step or 0) - 1)
    return TrainResult(settings=cfg, network=problem.network_info(), data=problem.data_info(), l_min=problem.l_min,
                       losses=loss_arr, gaps=gap_arr, grad_norms=grad_arr, hessian=hessian, trace=trace,
                       norms=norm_series, diverged=diverged, diverged_step=diverged_step,
                       final_loss=float(loss_arr[final]), final_gap=float(gap_arr[final]), steps_run=last,
                       weights_at=weights_at)


def trace_rows(loss_arr: np.ndarray, gap_arr: np.ndarray, grad_arr: np.ndarray, hessian: list[dict[str, Any]],
               norms: dict[int, np.ndarray], every: int) -> list[dict[str, Any]]:
    """The rows of the trace: every `every` steps, the last step and every Hessian step, with the Hessian's
    statistics (SLQ: their intervals, flat for --out x.csv) and the mean Frobenius norm where measured."""
    last = len(loss_arr) - 1
    shown = sorted(set(range(0, last + 1, every)) | {last} | {h["step"] for h in hessian if h["step"] <= last})
    by_step = {h["step"]: h for h in hessian}
    trace = []
    for e in shown:
        row: dict[str, Any] = {"step": e, "loss": float(loss_arr[e]), "loss_gap": float(gap_arr[e]),
                               "grad_norm": float(grad_arr[e])}
        if e in by_step:
            h = by_step[e]
            row.update({k: h[k] for k in ("abs_max", "abs_p10", "cond10", "index")})
            if h.get("bounds"):  # SLQ: the intervals (spectrum.slq_bounds), flat for --out x.csv
                b = h["bounds"]
                row.update({f"{k}_{side}": b[k][side] for k in ("abs_p10", "cond10", "index")
                            for side in ("lower", "upper")})
                row.update(cond10_too_wide=b["cond10_too_wide"], confidence=b["confidence"])
        if e in norms:
            row["frob_mean"] = float(norms[e].mean())
        trace.append(row)
    return trace


def norm_trace(loss_arr: np.ndarray, gap_arr: np.ndarray, norms: dict[int, np.ndarray]) -> dict[str, list[Any]]:
    """The Frobenius norms of every weight matrix at the measured steps, with the loss there (Figure 3)."""
    norm_steps = sorted(norms)
    return {"step": norm_steps, "loss": [float(loss_arr[e]) for e in norm_steps],
            "loss_gap": [float(gap_arr[e]) for e in norm_steps],
            "frob_mean": [float(norms[e].mean()) for e in norm_steps],
            "frob": [[float(v) for v in norms[e]] for e in norm_steps]}


def run_payload(cfg: TrainShortcutSettings) -> dict[str, Any]:
    """One run's JSON payload (a picklable cell function for `executor.run_cells`: runs over seeds or depths)."""
    return run(cfg).to_dict()


def run_deferred(cfg: TrainShortcutSettings) -> dict[str, Any]:
    """`run_payload` with the Hessians deferred (`train`): the payload, its ``hessian`` empty, with
    ``weights_at`` (Hessian step -> weights) and ``settings`` (cfg) for `measure_at` (a picklable cell
    function)."""
    result = train(cfg, defer_hessians=True)
    return {**result.to_dict(), "weights_at": result.weights_at, "settings": cfg}


def measure_at(task: tuple[TrainShortcutSettings, np.ndarray]) -> dict[str, Any]:
    """The Hessian statistics of one deferred Hessian step: task = (the run's settings, its weights there);
    the entry `run` would have made, without its step and losses (a picklable cell function)."""
    cfg, weights = task
    return stats_dict(measure_hessian(build_problem(cfg), weights, cfg).stats)


def layer_norms(weights: np.ndarray) -> np.ndarray:
    """‖W_t‖_F of every weight matrix, in layer order t = r·n + l (weights (R, n, d, d) -> (R·n,))."""
    return np.sqrt(np.sum(weights * weights, axis=(-2, -1))).reshape(-1)


# --- across runs: values at common loss levels (Li et al. 2017, Figures 3, 6-8) -----------------------------------


def at_levels(x: Any, y: Any, levels: Any) -> np.ndarray:
    """y where the trace x (in the order of training, e.g. lg(loss − L_min)) first comes down to each level.

    Linear interpolation between the two consecutive trace points that bracket the level, on its first
    downward passage (a loss that goes back up later does not count twice); NaN where the run never reaches
    the level or starts below it. For a monotone decreasing x this is `np.interp` on the reversed trace.
    Only the points `read_points` names are read: y may be NaN elsewhere.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.full(np.shape(levels), np.nan)
    for i, level in enumerate(np.asarray(levels, dtype=float).reshape(-1)):
        k = _passage(x, level)
        if k is not None and k + 1 < len(x):
            hi, lo = x[k], x[k + 1]
            t = 0.0 if hi == lo else (hi - level) / (hi - lo)
            out.flat[i] = y[k] + t * (y[k + 1] - y[k])
        elif k is not None:
            out.flat[i] = y[k]
    return out


def _passage(x: np.ndarray, level: float) -> int | None:
    """k such that `at_levels` reads the level between points k and k + 1 (k = the last point: it alone, where
    the trace ends exactly at the level), or None."""
    for k in range(len(x) - 1):
        hi, lo = x[k], x[k + 1]
        if hi >= level >= lo and np.isfinite(hi) and np.isfinite(lo):
            return k
    return len(x) - 1 if len(x) and x[-1] == level else None


def read_points(x: Any, levels: Any) -> set[int]:
    """The trace points `at_levels` reads at these levels: the values elsewhere may stay unmeasured."""
    x = np.asarray(x, dtype=float)
    points: set[int] = set()
    for level in np.asarray(levels, dtype=float).reshape(-1):
        k = _passage(x, level)
        if k is not None:
            points |= {k, k + 1} if k + 1 < len(x) else {k}
    return points


def common_levels(traces: list[Any], count: int) -> np.ndarray:
    """`count` evenly spaced levels, from high to low, inside the range every trace passes through (from
    the lowest start to the highest end; empty when the runs' ranges do not overlap)."""
    finite = [np.asarray(x, dtype=float)[np.isfinite(x)] for x in traces]
    top = min(float(x[0]) for x in finite)
    bottom = max(float(np.min(x)) for x in finite)
    if not top > bottom:
        return np.array([])
    return np.linspace(top, bottom, count)


def across_runs(runs: list[tuple[Any, Any]], levels: Any) -> dict[str, list[Any]]:
    """Mean and standard deviation over runs of each run's (x, y) trace read at `levels` (`at_levels`)."""
    values = np.array([at_levels(x, y, levels) for x, y in runs]).reshape(len(runs), -1)
    covered = np.isfinite(values).sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean = np.where(covered > 0, np.nansum(values, axis=0) / np.maximum(covered, 1), np.nan)
        std = np.array([np.std(col[np.isfinite(col)]) if np.isfinite(col).any() else np.nan for col in values.T])
    return {"level": [float(v) for v in np.asarray(levels).reshape(-1)], "mean": [_num(v) for v in mean],
            "std": [_num(v) for v in std], "runs": [int(c) for c in covered]}


def lower_share(a: list[tuple[Any, Any]], b: list[tuple[Any, Any]], levels: Any) -> dict[str, list[Any]]:
    """Per level: in how many pairs (a[i], b[i]) (the same seed) a's value is below b's, of the pairs where
    both runs reach the level."""
    va = np.array([at_levels(x, y, levels) for x, y in a]).reshape(len(a), -1)
    vb = np.array([at_levels(x, y, levels) for x, y in b]).reshape(len(b), -1)
    both = np.isfinite(va) & np.isfinite(vb)
    lower = (va < vb) & both
    pairs = both.sum(axis=0)
    return {"level": [float(v) for v in np.asarray(levels).reshape(-1)], "lower": [int(n) for n in lower.sum(axis=0)],
            "pairs": [int(n) for n in pairs],
            "share": [_num(n / p) if p else None for n, p in zip(lower.sum(axis=0), pairs)]}


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
