"""Figures of the Li et al. (2017) commands: `hessian` (spectrum), `train shortcut` (Figs. 6-8),
`depth-sweep` (Figs. 5, 9, 10). Same wording as the tables; SLQ estimates carry their own marker."""

from __future__ import annotations

from typing import Any

import numpy as np

from resnet_cli.plots.common import pyplot, save_figure
from resnet_cli.report import fmt


def hessian(p: Any, path: str) -> None:
    """Histogram of the measured spectrum (SLQ: the density scaled to counts) and Theorem 1's prediction."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    spectra = p.spectra
    exact = [s["eigenvalues"] for s in spectra if "eigenvalues" in s]
    if exact:
        ax.hist(np.concatenate(exact), bins=80, color="tab:blue", alpha=0.8, label="measured eigenvalues")
    elif spectra:
        nodes = np.concatenate([s["nodes"] for s in spectra])
        weights = np.concatenate([s["weights"] for s in spectra])
        ax.hist(nodes, bins=80, weights=weights * p["n_params"] / len(spectra), color="tab:blue", alpha=0.8,
                label="SLQ density (approximate, scaled to counts)")
        ax.plot(nodes, np.zeros_like(nodes), linestyle="none", marker="x", color="0.2", label="SLQ Ritz values")
    predicted = p.theory_eigenvalues
    if predicted is not None and len(predicted):
        case = {"n>=3": "n ≥ 3", "n=2": "n = 2", "n=1": "n = 1"}.get(p["theory"]["case"], p["theory"]["case"])
        ax.hist(predicted, bins=80, histtype="step", color="tab:red", linewidth=1.5, label=f"Theorem 1 ({case})")
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("count (symlog)")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_title(p["network"]["description"], fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
    save_figure(fig, path)


def train(p: dict[str, Any], path: str) -> None:
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    net = p["network"]
    linear = net["act_pre"] == net["act_mid"] == net["act_post"] == "identity"
    curve = np.asarray(p["curve"]["loss_gap" if linear else "loss"], dtype=float)
    label = "L − L_min" if linear else "loss"
    hess = p["hessian"]
    ncols = 3 if hess else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.4 * ncols, 3.8), squeeze=False)
    ax = axes[0, 0]
    ax.semilogy(np.arange(len(curve)), np.where(curve > 0, curve, np.nan), label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    ax.legend(fontsize=8)
    if hess:
        slq = any(h.get("approximate") for h in hess)
        marks = ("x", "+") if slq else ("o", "s")
        x = np.array([h["loss_gap" if linear else "loss"] for h in hess], dtype=float)
        x = np.log10(np.where(x > 0, x, np.nan))
        suffix = " (SLQ)" if slq else ""
        ax = axes[0, 1]
        ax.plot(x, np.log10([max(h["abs_max"], 1e-300) for h in hess]), marker=marks[0], label="|λ|max" + suffix)
        ax.plot(x, np.log10([max(h["abs_p10"], 1e-300) for h in hess]), marker=marks[1], label="|λ|p10" + suffix)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel(f"lg({label})")
        ax.set_ylabel("lg |λ|")
        ax.legend(fontsize=8)
        ax.set_title("Fig. 6 of Li et al.", fontsize=9)
        ax = axes[0, 2]
        ax.plot(x, [h["index"] for h in hess], marker=marks[0], label="index" + suffix)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_xlabel(f"lg({label})")
        ax.set_ylabel("index (share of λ < 0)")
        ax.legend(fontsize=8)
        ax.set_title("Fig. 8 of Li et al.", fontsize=9)
    fig.suptitle(net["description"], fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _depth_axis(ax: Any, depths: list[int]) -> None:
    """Log-scaled depth axis labelled with the swept depths themselves."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(depths)
    ax.set_xticklabels([str(d) for d in depths])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("depth")


def _absent(p: dict[str, Any], name: str) -> str:
    """Why a network has no point in the figure ("" when it has some): the table's own words."""
    rows = [r for r in p["rows"] if r["network"] == name]
    if any(r["status"] == "ok" and r["mean"] is not None for r in rows):
        return ""
    statuses = {r["status"] for r in rows}
    words = {"not-applicable": "n/a", "degenerate": "H = 0", "all-diverged": "all diverged",
             "beyond-precision": "> 1e12"}
    return ", ".join(words.get(s, s) for s in sorted(statuses))


def depth_sweep(p: dict[str, Any], path: str) -> None:
    from matplotlib.lines import Line2D

    plt = pyplot()
    cfg = p["config"]
    init_cond = p["measure"] == "init-cond"
    ncols = 1 if init_cond else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5.4 * ncols + 2.2, 4.2), squeeze=False)
    ax = axes[0, 0]
    extra: list[tuple[Any, str]] = []  # legend entries for markers shared by every network
    for name in cfg["network"]:
        rows = [r for r in p["rows"] if r["network"] == name and r["status"] == "ok" and r["mean"] is not None]
        absent = _absent(p, name)
        if absent:  # in the legend with the table's reason, so every network of the table is accounted for
            ax.plot([], [], linestyle="none", marker="o", markerfacecolor="none", color="0.5",
                    label=f"{name}: no points ({absent})")
            continue
        label = name
        partial = [r for r in p["rows"] if r["network"] == name and r["status"] in ("degenerate", "not-applicable")]
        if partial:
            label += " (gaps: " + ", ".join(sorted({"H = 0" if r["status"] == "degenerate" else "n/a"
                                                   for r in partial})) + ")"
        x = np.array([r["depth"] for r in rows], dtype=float)
        y = np.array([r["mean"] for r in rows], dtype=float)
        s = np.array([r["std"] or 0.0 for r in rows], dtype=float)
        lower = np.minimum(s, y * (1 - 1e-3))  # keep the lower bar above 0 on a log axis
        line = ax.errorbar(x, y, yerr=[lower, s], marker="o", capsize=3, label=label)[0]
        slq = [r for r in rows if r.get("spectrum") == "slq"]
        if slq:  # estimated points: their own marker (one legend entry for all networks)
            ax.plot([r["depth"] for r in slq], [r["mean"] for r in slq], linestyle="none", marker="x",
                    markersize=10, markeredgewidth=2, color=line.get_color())
            if not any(text.startswith("≈") for _, text in extra):
                extra.append((Line2D([], [], linestyle="none", marker="x", markersize=10, markeredgewidth=2,
                                     color="0.3"), "≈ SLQ estimate (approximate)"))
        theory = [(r["depth"], r["theory_cond10"]) for r in p["rows"]
                  if r["network"] == name and r.get("theory_cond10") is not None]
        if init_cond and theory:
            ax.plot([d for d, _ in theory], [v for _, v in theory], linestyle="--", color="black", linewidth=1,
                    label=f"{name}: Theorem 1")
    if init_cond:
        for name in cfg["network"]:
            beyond = [r["depth"] for r in p["rows"] if r["network"] == name and r["status"] == "beyond-precision"]
            if beyond:
                ax.plot(beyond, [1e12] * len(beyond), linestyle="none", marker="^", color="0.3",
                        label=f"{name}: > 1e12 (beyond float64)")
    _depth_axis(ax, cfg["depth"])
    ax.set_yscale("log")
    ax.set_ylabel("initial cond10 = |λ|max/|λ|p10" if init_cond else f"best {p['quantity']}")
    handles, labels = ax.get_legend_handles_labels()
    for handle, text in extra:
        handles.append(handle)
        labels.append(text)
    ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    ax.grid(True, which="both", alpha=0.3)
    if init_cond:
        ax.set_title("Initial cond10 of the Hessian vs depth (Li et al., Fig. 5)", fontsize=9)
    else:
        figure = "9" if cfg["act_mid"] == "identity" else "10"
        ax.set_title(f"Best {p['quantity']} after {cfg['steps']} GD steps (Li et al., Fig. {figure})", fontsize=9)
        _best_lr(axes[0, 1], p)
    fig.tight_layout()
    save_figure(fig, path)


def _best_lr(ax: Any, p: dict[str, Any]) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    cfg = p["config"]
    any_flat = False
    for name in cfg["network"]:
        rows = [r for r in p["rows"] if r["network"] == name and r.get("best_lr") is not None]
        if not rows:  # no best rate at any depth: not drawn (the left panel says why)
            continue
        firm = [r for r in rows if not r["best_lr_flat"]]
        line = ax.plot([r["depth"] for r in firm], [r["best_lr"] for r in firm], marker="o", label=name)[0]
        flat = [r for r in rows if r["best_lr_flat"]]
        if flat:
            any_flat = True
            ax.plot([r["depth"] for r in flat], [r["best_lr"] for r in flat], linestyle="none", marker="o",
                    markerfacecolor="none", color=line.get_color())
    _depth_axis(ax, cfg["depth"])
    ax.set_yscale("log")
    ax.set_yticks(cfg["lr"])  # the whole grid: where the best rate sits within it
    ax.set_yticklabels([fmt(x, 2) for x in cfg["lr"]])
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("best lr (ticks: the --lr grid)")
    ax.set_title("best lr: lowest mean among rates where no trial diverged", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if any_flat:
        handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="none", color="0.3"))
        labels.append("flat grid (rate not meaningful)")
    ax.legend(handles, labels, fontsize=8)
