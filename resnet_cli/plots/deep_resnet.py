"""Figure of `landscape deep-resnet` (Yun et al. 2019): where the critical points fall against the best
linear predictor, and the per-block risk (one depth) or the worst critical point against depth (a list)."""

from __future__ import annotations

import math
from typing import Any

from resnet_cli.plots.common import pyplot, save_figure

MARKERS = {"resnet": "o", "fc": "x"}
HOLLOW = {"resnet": "D", "fc": "s"}  # Newton points at a kink, drawn hollow


def landscape(payload: dict[str, Any], path: str) -> None:
    """Left: R − R_lin against λmin per critical point; right: per-block risks, or worst R/R_lin against L."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 5.2))
    _gap_panel(left, payload)
    if payload.get("per_block"):
        _per_block_panel(right, payload)
    else:
        _depth_panel(right, payload)
    fig.tight_layout()
    save_figure(fig, path)


def _gap_panel(ax: Any, payload: dict[str, Any]) -> None:
    """R − R_lin against λmin/max|λ|, both on symmetric-log axes whose linear zone is the run's tolerance."""
    cfg, lin = payload["config"], payload["linear_risk"]
    newton = cfg.get("finder", "gd") != "gd"
    xs, ys = [], []
    for net in cfg["networks"]:
        done = [p for p in payload["points"] if p["network"] == net and p["converged"]]
        # Newton points at a kink are drawn hollow: their λmin is the kink-manifold Hessian's
        groups = [(done, "", MARKERS[net])] if not newton else [
            ([p for p in done if not p["on_kink"]], ", smooth", MARKERS[net]),
            ([p for p in done if p["on_kink"]], ", at a kink (λmin on the kink manifold)", HOLLOW[net])]
        color = f"C{cfg['networks'].index(net)}"
        for pts, what, marker in groups:
            x = [p["lambda_min"] / max(abs(p["lambda_min"]), abs(p["lambda_max"]), 1e-300) for p in pts]
            y = [p["gap"] for p in pts]
            if pts:
                hollow = marker in HOLLOW.values()
                style = {"facecolors": "none", "edgecolors": color} if hollow else {"color": color}
                ax.scatter(x, y, marker=marker, alpha=0.7,
                           label=f"{net}{what} ({len(pts)} points)", **style)
            xs, ys = xs + x, ys + y
    ax.axhline(0.0, color="k", lw=0.8, label="R = R_lin (best linear predictor)")
    ax.axvline(-cfg["eig_tol"], color="k", lw=0.8, ls=":", label="λmin = −eig-tol·max|λ| (saddle to the left)")
    tols = [cfg["eig_tol"]]
    if newton and cfg["eig_tol_alt"] != cfg["eig_tol"]:
        ax.axvline(-cfg["eig_tol_alt"], color="grey", lw=0.8, ls="--", label="λmin = −eig-tol-alt·max|λ|")
        tols.append(cfg["eig_tol_alt"])
    _symlog(ax.set_xscale, ax.set_xlim, ax.set_xticks, ax.xaxis, xs, min(t for t in tols if t > 0) if any(tols) else 1e-8)
    _symlog(ax.set_yscale, ax.set_ylim, ax.set_yticks, ax.yaxis, ys, payload["risk_tol"])
    ax.set_xlabel("λmin / max|λ| of the exact Hessian at the point")
    ax.set_ylabel(f"R − R_lin  (R_lin = {lin:.4g})")
    ax.set_title("critical points against the best linear predictor")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)


def _symlog(set_scale: Any, set_lim: Any, set_ticks: Any, axis: Any, values: list[float], tol: float) -> None:
    """A symmetric-log axis, linear within the power of ten below `tol`, with at most 4 ticks a side."""
    from matplotlib.ticker import FuncFormatter

    lin = 10.0 ** math.floor(math.log10(max(tol, 1e-300)))
    finite = [v for v in values if math.isfinite(v)]
    lo, hi = min(finite + [-lin]), max(finite + [lin])
    set_scale("symlog", linthresh=lin)
    set_lim(lo * 4 if lo < -lin else -2 * lin, hi * 4 if hi > lin else 2 * lin)
    ticks = [0.0]
    for sign, extent in ((-1, -lo), (1, hi)):
        decades = max(math.ceil(math.log10(max(extent / lin, 1.0))), 0)
        stride = max(math.ceil((decades + 1) / 4), 1)
        ticks += [sign * lin * 10.0**k for k in range(0, decades + 1, stride)]
    set_ticks(sorted(ticks))
    axis.set_major_formatter(FuncFormatter(
        lambda v, _: "0" if v == 0 else f"{'−' if v < 0 else ''}1e{round(math.log10(abs(v)))}"))


def _per_block_panel(ax: Any, payload: dict[str, Any]) -> None:
    pb = payload["per_block"]
    for item in pb["lowest"]:
        ax.plot(range(pb["blocks"] + 1), item["per_block_risk"], marker="o",
                label=f"trial {item['trial']} (R = {item['risk']:.3g})")
    ax.set_xticks(range(pb["blocks"] + 1))
    ax.set_xticklabels([f"h_{layer}" for layer in range(pb["blocks"] + 1)])
    ax.set_xlabel("block output h_l")
    ax.set_ylabel("R(h_l): risk of the best linear read-out")
    ax.set_title("per-block risk at the lowest-risk critical points")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)


def _depth_panel(ax: Any, payload: dict[str, Any]) -> None:
    rows = payload["rows"]
    depths = sorted({r["blocks"] for r in rows})
    newton = payload["config"].get("finder", "gd") != "gd"
    for i, net in enumerate(payload["config"]["networks"]):
        sel = [r for r in rows if r["network"] == net]
        ax.plot([r["blocks"] for r in sel], [r["max_risk_ratio"] for r in sel], marker=MARKERS[net], color=f"C{i}",
                ls="--" if newton else "-", label=f"{net}, all points" if newton else net)
        if newton:
            ax.plot([r["blocks"] for r in sel], [r["max_risk_ratio_not_saddle"] for r in sel], marker=MARKERS[net],
                    color=f"C{i}", label=f"{net}, not a strict saddle")
    ax.axhline(1.0, color="k", lw=0.8, label="R = R_lin")
    if len(depths) > 1:
        ax.set_xscale("log", base=2)
    ax.set_xticks(depths)
    ax.set_xticklabels([str(d) for d in depths])
    ax.set_xlabel("blocks L")
    ax.set_ylabel("worst risk / R_lin over the critical points")
    if newton:
        ax.set_yscale("log")
    ax.set_title("worst critical point against depth")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2 if newton else 3)
