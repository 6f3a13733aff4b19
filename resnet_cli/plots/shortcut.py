"""Figures of the Li et al. (2017) commands: `hessian` (spectrum), `train shortcut` (Figs. 6-8),
`depth-sweep` (Figs. 5, 9, 10). Same wording as the tables; SLQ estimates carry their own marker."""

from __future__ import annotations

from typing import Any

import numpy as np

from resnet_cli.plots.common import pyplot, save_figure
from resnet_cli.report import fmt
from resnet_cli.spectrum import BEYOND, ZERO_TOLERANCE


def _shared_bins(measured: list[Any], predicted: Any) -> Any:
    """80 bins over the measured values (eigenvalues or SLQ nodes) and Theorem 1's together: one set of edges
    for both histograms, so that their bars compare bin by bin."""
    binned = [np.asarray(m, dtype=float) for m in measured]
    if predicted is not None and len(predicted):
        binned.append(np.asarray(predicted, dtype=float))
    return np.histogram_bin_edges(np.concatenate(binned), bins=80) if binned else 80


def hessian(p: dict[str, Any], path: str) -> None:
    """Histogram of the measured spectrum (SLQ: the density scaled to counts, marked approximate) and
    Theorem 1's prediction; linear counts (a repeated eigenvalue is as tall as its multiplicity). `p` is
    the payload with its arrays (`HessianResult.to_dict(arrays=True)`: `spectra`, `theory_eigenvalues`)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    spectra = p["spectra"]
    exact = [s["eigenvalues"] for s in spectra if "eigenvalues" in s]
    counted = bool(spectra) and all("brackets" in s for s in spectra)  # --spectrum inertia
    trials = len(spectra)
    predicted = p["theory_eigenvalues"]
    edges = _shared_bins(exact or ([s["nodes"] for s in spectra] if spectra and not counted else []), predicted)
    if exact:
        ax.hist(np.concatenate(exact), bins=edges, weights=np.full(sum(len(e) for e in exact), 1.0 / trials),
                color="tab:blue", alpha=0.8, label="measured eigenvalues" + (" (mean count over trials)" if trials > 1 else ""))
    elif counted:  # --spectrum inertia: counts, no eigenvalues to bin
        for i, s in enumerate(spectra):
            b = s["brackets"]
            for key, sign, color, label in (("lambda_min", 1, "tab:blue", "λmin, λmax (bracket by inertia counts)"),
                                            ("lambda_max", 1, "tab:blue", None),
                                            ("abs_p10", 1, "tab:green", "±|λ|p10 (bracket by inertia counts)"),
                                            ("abs_p10", -1, "tab:green", None)):
                if b.get(key):
                    lo, hi = sorted(sign * np.asarray(b[key], dtype=float))
                    ax.axvspan(lo, hi, color=color, alpha=0.5, linewidth=2,
                               label=label if i == 0 and label else None)
                    ax.axvline(0.5 * (lo + hi), color=color, linewidth=1.5)
    elif spectra:
        nodes = np.concatenate([s["nodes"] for s in spectra])
        weights = np.concatenate([s["weights"] for s in spectra])
        ax.hist(nodes, bins=edges, weights=weights * p["n_params"] / trials, color="tab:blue", alpha=0.45,
                hatch="//", edgecolor="tab:blue", label="≈ SLQ density (approximate, scaled to counts)")
        ax.plot(nodes, np.zeros_like(nodes), linestyle="none", marker="x", color="0.2", clip_on=False,
                label="SLQ Ritz values (nodes)")
    if predicted is not None and len(predicted):
        case = {"n>=3": "n ≥ 3", "n=2": "n = 2", "n=1": "n = 1"}.get(p["theory"]["case"], p["theory"]["case"])
        ax.hist(predicted, bins=edges, histtype="step", color="tab:red", linewidth=1.5, label=f"Theorem 1 ({case})")
    if counted:
        _clear_of_the_frame(ax, spectra, predicted)
    ax.set_xlabel("eigenvalue λ" + (" (--spectrum inertia: brackets from counts, no eigenvalues to bin)" if counted
                                    else ""))
    if counted and (predicted is None or not len(predicted)):
        ax.set_yticks([])  # nothing is binned: no counts to read
    else:
        ax.set_ylabel("count per bin" + (" (mean over trials)" if trials > 1 else ""))
    ax.set_ylim(bottom=0)
    cfg = p["config"]
    _hessian_title(ax, p, trials)
    if not spectra:
        ax.text(0.5, 0.5, f"every trial diverged during the {cfg['steps']} GD steps:\nno Hessian to draw",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3")
        ax.set_xticks([])
        ax.set_yticks([])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3, frameon=False)
    save_figure(fig, path)


def _hessian_title(ax: Any, p: dict[str, Any], trials: int) -> None:
    """Where the spectrum is taken, how many trials (diverged ones counted) and by which method."""
    cfg = p["config"]
    where = "at init" if cfg["at"] == "init" else f"after {cfg['steps']} GD steps"
    method = {"exact": "exact eigvalsh", "slq": f"SLQ {cfg['lanczos_steps']} steps × {cfg['lanczos_probes']} probes"}
    diverged, total = p.get("diverged_trials") or 0, trials + (p.get("diverged_trials") or 0)
    shown = f"{total} trial{'s' * (total != 1)}" + (f", {diverged} diverged (not drawn)" if diverged else "")
    ax.set_title(f"Hessian spectrum {where}, init {cfg['init']}, {shown}, "
                 f"{method.get(p['spectrum'], p['spectrum'])}\n{p['network']['description']}", fontsize=9)


def _clear_of_the_frame(ax: Any, spectra: list[dict[str, Any]], predicted: Any) -> None:
    """--spectrum inertia: an x range with the λmin, λmax brackets inside it (it was the histogram's, with the
    brackets on its edges, under the frame)."""
    ends = [v for s in spectra for key in ("lambda_min", "lambda_max") if s["brackets"].get(key)
            for v in s["brackets"][key]]
    ends += list(np.asarray(predicted, dtype=float)) if predicted is not None and len(predicted) else []
    lo, hi = min(ends), max(ends)
    pad = 0.06 * max(hi - lo, abs(hi), abs(lo), 1e-300)
    ax.set_xlim(lo - pad, hi + pad)


def train(p: dict[str, Any], path: str) -> None:
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    net = p["network"]
    linear = net["act_pre"] == net["act_mid"] == net["act_post"] == "identity"
    curve = np.asarray(p["curve"]["loss_gap" if linear else "loss"], dtype=float)
    label = "L − L_min" if linear else "loss"
    hess = p["hessian"]
    ncols = 4 if hess else 2
    fig, axes = plt.subplots(1, ncols, figsize=(4.4 * ncols, 3.8), squeeze=False)
    ax = axes[0, 0]
    ax.semilogy(np.arange(len(curve)), np.where(curve > 0, curve, np.nan), label=label)
    if p.get("diverged"):
        ax.axvline(p.get("diverged_step") or 0, color="purple", ls=":", lw=1,
                   label=f"diverged at step {p.get('diverged_step')} (run stopped)")
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    ax.legend(fontsize=8)
    norms = p["norms"]
    ax = axes[0, -1]
    at = np.asarray(norms["loss_gap" if linear else "loss"], dtype=float)
    ax.plot(np.log10(np.where(at > 0, at, np.nan)), norms["frob_mean"], marker=".", markersize=3,
            label="mean ‖W‖_F")
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(f"lg({label})")
    ax.set_ylabel("mean ‖W‖_F over the weight matrices")
    ax.legend(fontsize=8)
    ax.set_title("Fig. 3 of Li et al.", fontsize=9)
    if hess:
        slq = any(h.get("approximate") for h in hess)
        bars = slq and all(h.get("bounds") for h in hess)  # SLQ intervals drawn (H = 0: exact zeros, no interval)
        x = np.array([h["loss_gap" if linear else "loss"] for h in hess], dtype=float)
        x = np.log10(np.where(x > 0, x, np.nan))
        for ax, figure, ylabel, series, log in (
                (axes[0, 1], "6", "lg |λ|", (("abs_max", "|λ|max", "o"), ("abs_p10", "|λ|p10", "s")), True),
                (axes[0, 2], "8", "index (share of λ < 0)", (("index", "index", "o"),), False)):
            span = float(np.nanmax(x) - np.nanmin(x)) if np.isfinite(x).any() else 0.0
            for i, (key, name, marker) in enumerate(series):
                # SLQ bars of two statistics at one Hessian: side by side (1.5 % of the axis apart), not one
                # over the other
                shift = (i - (len(series) - 1) / 2) * 0.015 * (span or 1.0) if bars else 0.0
                _trace_points(ax, x + shift, hess, key, name, marker, slq, log=log)
            zero = sum(bool(h.get("zero_matrix")) for h in hess)
            if log and zero:
                ax.text(0.5, 0.5, f"H = 0 at {zero} of {len(hess)} Hessian steps:\nno |λ| to draw there",
                        transform=ax.transAxes, ha="center", va="center", fontsize=8, color="0.3")
            ax.xaxis.set_major_locator(MaxNLocator(5))
            ax.set_xlabel(f"lg({label})")
            ax.set_ylabel(ylabel)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
            ax.set_title(f"Fig. {figure} of Li et al." + (" (≈ SLQ, bars: 95% intervals)" if bars else ""),
                         fontsize=9)
    cfg = p["config"]
    fig.suptitle(f"{net['description']}\nGD, lr {fmt(cfg['lr'])}, init {cfg['init']}, "
                 + _run_line(cfg, p.get("data") or {}, "one run"), fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _trace_points(ax: Any, x: np.ndarray, hess: list[dict[str, Any]], key: str, name: str, marker: str,
                  slq: bool, log: bool) -> None:
    """One Hessian statistic along training: exact values joined by a line; SLQ estimates hollow, with their
    interval as a bar, joined to nothing (a lower bound 0 on the lg axis: the bar runs to the axis' bottom; no
    upper bound: the bar runs above every value, to a triangle pointing up)."""
    y = np.array([h[key] for h in hess], dtype=float)
    tiny = 1e-300
    if not slq or not all(h.get("bounds") for h in hess):
        # lg of 0 (H = 0, Theorem 1 at n ≥ 3) is not drawn: it was a point at −300 (train() says so)
        if not log or np.any(y > 0):
            ax.plot(x, np.log10(np.where(y > 0, y, np.nan)) if log else y, marker=marker, label=name)
        return
    lo = np.array([h["bounds"][key]["lower"] for h in hess], dtype=float)
    hi = np.array([h["bounds"][key]["upper"] for h in hess], dtype=float)
    if log:
        floor = np.log10(max(np.min(y[y > 0]) if np.any(y > 0) else 1.0, tiny)) - 1.0  # where "0" is drawn
        y, lo, hi = (np.log10(np.maximum(v, tiny)) for v in (y, lo, hi))
        lo = np.maximum(lo, floor)
    open_top = ~np.isfinite(hi)
    if open_top.any():
        top = float(np.nanmax(np.concatenate([y, hi[~open_top]])))
        hi = np.where(open_top, top + (1.0 if log else 0.1 * max(abs(top), 1.0)), hi)
    bars = ax.errorbar(x, y, yerr=[np.maximum(y - lo, 0), np.maximum(hi - y, 0)], linestyle="none", marker=marker,
                       markerfacecolor="white", capsize=3, label=f"≈ {name} (SLQ)")
    if open_top.any():
        ax.plot(x[open_top], hi[open_top], linestyle="none", marker="^", color=bars[0].get_color(),
                label=f"≈ {name}: no upper bound")


def _depth_axis(ax: Any, depths: list[int]) -> None:
    """Log-scaled depth axis with a tick at every swept depth, labelled where the label has room: a depth at
    least a twelfth of the axis' log-span beyond the last labelled one (2, 4, 6 all labelled; of 1 … 128:
    1, 2, 3, 6, 12, …), so no two labels overlap. A single depth sits mid-axis."""
    import math

    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    if len(depths) == 1:
        ax.set_xlim(depths[0] / 1.5, depths[0] * 1.5)  # (else the networks' dodge spans the whole axis)
    ax.set_xticks(depths)
    span = math.log(max(max(depths) / min(depths), 2.0))
    labels, last = [], None
    for d in depths:
        roomy = last is None or math.log(d / last) >= span / 12
        labels.append(str(d) if roomy else "")
        last = d if roomy else last
    ax.set_xticklabels(labels)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("depth")


def _absent(p: dict[str, Any], name: str) -> str:
    """Why a network has no point in the figure ("" when it has some): the table's own words."""
    rows = [r for r in p["rows"] if r["network"] == name]
    if any(r["status"] == "ok" and r["mean"] is not None for r in rows):
        return ""
    statuses = {r["status"] for r in rows}
    words = {"not-applicable": "n/a", "degenerate": "H = 0", "all-diverged": "all diverged",
             "beyond-precision": f"> {BEYOND}"}
    return ", ".join(words.get(s, s) for s in sorted(statuses))


def _slq_points(ax: Any, rows: list[dict[str, Any]], color: str, dodge: float = 1.0) -> None:
    """SLQ cells: hollow markers with the interval as an error bar, joined to nothing; a 'too wide' interval
    (unbounded above) is a hollow triangle at its lower bound with an arrow up."""
    firm = [r for r in rows if r.get("cond10_lower") is not None and not r["cond10_too_wide"]]
    wide = [r for r in rows if r.get("cond10_lower") is not None and r["cond10_too_wide"]]
    if firm:
        y = np.array([r["mean"] for r in firm], dtype=float)
        lo = np.array([r["cond10_lower"] for r in firm], dtype=float)
        hi = np.array([r["cond10_upper"] for r in firm], dtype=float)
        ax.errorbar([r["depth"] * dodge for r in firm], y, yerr=[np.maximum(y - lo, 0), np.maximum(hi - y, 0)],
                    linestyle="none", marker="o", markersize=8, markerfacecolor="white", markeredgewidth=1.5,
                    color=color, capsize=4, zorder=4)
    if wide:
        lo = np.array([r["cond10_lower"] for r in wide], dtype=float)
        ax.errorbar([r["depth"] * dodge for r in wide], lo, yerr=[np.zeros_like(lo), lo * 9.0], lolims=True,
                    linestyle="none", marker="^", markersize=8, markerfacecolor="white", markeredgewidth=1.5,
                    color=color, capsize=4, zorder=4)


def _network_series(ax: Any, p: dict[str, Any], name: str, marker: str, dodge: float, init_cond: bool,
                    values: list[float], unbounded: list[int]) -> str | None:
    """One network's points of the depth-sweep figure (exact with error bars, SLQ estimates, Theorem 1's
    line); every drawn y value is appended to `values`, and the depths of SLQ cells with no bound at all (a
    lower bound of 0 has no place on a log axis) to `unbounded`. Returns the network's colour, None when
    nothing of it is drawn."""
    ax_rows = p["rows"]
    rows = [r for r in ax_rows if r["network"] == name and r["status"] == "ok" and r["mean"] is not None]
    nothing = [r for r in rows if r.get("spectrum") == "slq" and r.get("cond10_too_wide")
               and not (r.get("cond10_lower") or 0.0) > 0]
    unbounded += [r["depth"] for r in nothing]
    rows = [r for r in rows if r not in nothing]
    theory_rows = [r for r in ax_rows if r["network"] == name and r.get("theory_cond10") is not None]
    if not rows and not (init_cond and theory_rows):
        return None
    label = name
    partial = [r for r in ax_rows if r["network"] == name and r["status"] in ("degenerate", "not-applicable")]
    if partial:
        label += " (gaps: " + ", ".join(sorted({"H = 0" if r["status"] == "degenerate" else "n/a"
                                               for r in partial})) + ")"
    exact = [r for r in rows if r.get("spectrum") != "slq"]
    slq = [r for r in rows if r.get("spectrum") == "slq"]
    x = np.array([r["depth"] for r in exact], dtype=float) * dodge
    y = np.array([r["mean"] for r in exact], dtype=float)
    s = np.array([r["std"] or 0.0 for r in exact], dtype=float)
    lower = np.minimum(s, y * (1 - 1e-3))  # keep the lower bar above 0 on a log axis
    color = network_style(name)[0]
    if exact:
        ax.errorbar(x, y, yerr=[lower, s], marker=marker, capsize=3, label=label, color=color)
        values += list(y - lower) + list(y + s)
    else:  # only estimates: a legend entry of the colour alone (none when only Theorem 1's line is drawn)
        if slq:
            ax.plot([], [], marker=marker, linestyle="none", markerfacecolor="white", color=color, label=label)
    if slq:
        _slq_points(ax, slq, color, dodge)
        values += [v for r in slq for v in (r["cond10_lower"], r["cond10_upper"], r["mean"])
                   if v is not None and np.isfinite(v)]
        values += [10 * r["cond10_lower"] for r in slq if r.get("cond10_too_wide")]
    theory = [(r["depth"], r["theory_cond10"]) for r in theory_rows]
    if init_cond and theory:  # drawn above the measured line (they coincide at zero init): dashed, on top
        ax.plot([d * dodge for d, _ in theory], [v for _, v in theory], linestyle=(0, (4, 3)), color="black",
                linewidth=1.2, zorder=5, label=f"{name}: Theorem 1")
        values += [v for _, v in theory]
    return color


def _slq_legend(rows: list[dict[str, Any]]) -> list[tuple[Any, str]]:
    """Legend entries for the SLQ markers shared by every network."""
    from matplotlib.lines import Line2D

    extra: list[tuple[Any, str]] = []
    if any(r.get("cond10_lower") is not None for r in rows):
        conf = next(r["confidence"] for r in rows if r.get("cond10_lower") is not None)
        if any(r.get("cond10_lower") is not None and not r.get("cond10_too_wide") for r in rows):
            extra.append((Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", color="0.3"),
                          f"≈ SLQ estimate, bar: {conf:.0%} interval (not a trend)"))
        if any(r.get("cond10_too_wide") for r in rows):
            extra.append((Line2D([], [], linestyle="none", marker="^", markerfacecolor="white", color="0.3"),
                          "≈ SLQ too wide: cond10 ≥ the triangle"))
    return extra


#: One colour and marker per network kind in every figure, whichever kinds a run sweeps (a kind's colour
#: followed the order of --network, so xavier was blue in one figure and green in the next).
NETWORK_STYLE = {"2-shortcut": ("tab:blue", "o"), "1-shortcut": ("tab:orange", "s"), "3-shortcut": ("tab:green", "D"),
                 "xavier": ("tab:red", "v"), "orthogonal": ("tab:purple", "P")}


def network_style(name: str) -> tuple[str, str]:
    """(colour, marker) of a network kind (grey and a plus for a name outside `NETWORK_STYLE`)."""
    return NETWORK_STYLE.get(name, ("0.4", "X"))


def _run_line(cfg: dict[str, Any], data: dict[str, Any], trials: str) -> str:
    """What a figure's numbers come from, for its title: data, trials, seed."""
    samples = data.get("samples")
    return (f"{data.get('name', cfg.get('data'))}" + (f" ({samples} samples, d = {data.get('dim')})" if samples else "")
            + f", {trials}, seed {cfg.get('seed')}")


def depth_sweep(p: dict[str, Any], path: str) -> None:
    plt = pyplot()
    cfg = p["config"]
    init_cond = p["measure"] == "init-cond"
    ncols = 1 if init_cond else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5.4 * ncols + 2.2, 4.2), squeeze=False)
    ax = axes[0, 0]
    markers = {name: network_style(name)[1] for name in cfg["network"]}
    # networks side by side at each depth (log axis: a factor apart) so that equal values do not hide each other
    dodge = {name: 1.045 ** (i - (len(cfg["network"]) - 1) / 2) for i, name in enumerate(cfg["network"])}
    missing: list[str] = []  # networks with no point: said under the axes, not as an empty legend entry
    values: list[float] = []  # every drawn y value (the axis limits enclose them)
    colors: dict[str, str] = {}
    for name in cfg["network"]:
        absent = _absent(p, name)
        if absent:
            missing.append(f"{name} ({absent})")
            continue
        unbounded: list[int] = []
        color = _network_series(ax, p, name, markers[name], dodge[name], init_cond, values, unbounded)
        if color is not None:
            colors[name] = color
        if unbounded:
            missing.append(f"{name} at depth {', '.join(map(str, unbounded))} (≈ SLQ: no bound)")
    extra = _slq_legend(p["rows"])
    if init_cond:
        for name in cfg["network"]:
            beyond = [r["depth"] for r in p["rows"] if r["network"] == name and r["status"] == "beyond-precision"]
            if beyond:
                ax.plot([d * dodge[name] for d in beyond], [1 / ZERO_TOLERANCE] * len(beyond), linestyle="none",
                        marker="^", markersize=8, color=colors.get(name, "0.3"),
                        label=f"{name}: > {BEYOND} (beyond float64)")
                values.append(1 / ZERO_TOLERANCE)
    _depth_axis(ax, cfg["depth"])
    ax.set_yscale("log")
    finite = [v for v in values if v is not None and np.isfinite(v) and v > 0]
    if finite:
        ax.set_ylim(min(finite) / 2.5, max(finite) * 2.5)
    ax.set_ylabel("initial cond10 = |λ|max/|λ|p10" if init_cond else f"best {p['quantity']}")
    handles, labels = ax.get_legend_handles_labels()
    for handle, text in extra:
        handles.append(handle)
        labels.append(text)
    if handles:
        ax.legend(handles, labels, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    if missing:
        ax.text(1.02, 0.0, "not drawn:\n" + "\n".join(missing), transform=ax.transAxes, fontsize=8, va="bottom",
                color="0.3")
    ax.grid(True, which="both", alpha=0.3)
    _depth_sweep_titles(fig, ax, p)
    if not init_cond:
        _best_lr(axes[0, 1], p, dodge, markers)
    fig.tight_layout()
    save_figure(fig, path)


def _depth_sweep_titles(fig: Any, ax: Any, p: dict[str, Any]) -> None:
    """The left panel's title (the paper's figure) and what the numbers come from: data, trials, seed."""
    cfg = p["config"]
    zero = any(r.get("init") == "zero" for r in p.get("rows", [])) and cfg["trials"] != 1
    run = _run_line(cfg, p.get("data") or {}, f"{cfg['trials']} trial{'s' * (cfg['trials'] != 1)} per cell"
                    + (" (zero init: one)" if zero else ""))
    if p["measure"] == "init-cond":
        ax.set_title(f"Initial cond10 of the Hessian vs depth (Li et al., Fig. 5)\n{run}", fontsize=9)
        return
    figure = "9" if cfg["act_mid"] == "identity" else "10"
    ax.set_title(f"Best {p['quantity']} after {cfg['steps']} GD steps (Li et al., Fig. {figure})", fontsize=9)
    fig.suptitle(f"mid activation {cfg['act_mid']}, {run}, {len(cfg['lr'])} learning rates", fontsize=9)


def _best_lr(ax: Any, p: dict[str, Any], dodge: dict[str, float], markers: dict[str, str]) -> None:
    """The best rate per network against depth, networks side by side with the markers of the left panel
    (`dodge`, `markers`: depth_sweep's): equal best rates of two networks hid one under the other."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    cfg = p["config"]
    any_flat = False
    for name in cfg["network"]:
        rows = [r for r in p["rows"] if r["network"] == name and r.get("best_lr") is not None]
        if not rows:  # no best rate at any depth: not drawn (the left panel says why)
            continue
        shift, marker = dodge[name], markers[name]
        firm = [r for r in rows if not r["best_lr_flat"]]
        color = network_style(name)[0]
        if firm:
            ax.plot([r["depth"] * shift for r in firm], [r["best_lr"] for r in firm], marker=marker, color=color,
                    label=name)
        flat = [r for r in rows if r["best_lr_flat"]]
        if flat:  # (only flat cells: the network's legend entry is its hollow marker)
            any_flat = True
            ax.plot([r["depth"] * shift for r in flat], [r["best_lr"] for r in flat], linestyle="none",
                    marker=marker, markerfacecolor="none", color=color, label=None if firm else name)
    _depth_axis(ax, cfg["depth"])
    ax.set_yscale("log")
    ax.set_ylim(min(cfg["lr"]) / 1.6, max(cfg["lr"]) * 1.6)  # (a rate at the grid's end sat on the frame)
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
    if handles:
        ax.legend(handles, labels, fontsize=8)
    else:
        ax.text(0.5, 0.5, "no best rate at any depth:\nevery rate diverged (left: not drawn)", transform=ax.transAxes,
                ha="center", va="center", fontsize=9, color="0.3")


# --- reproductions of Li et al. (2017) Figures 3, 7, 8 (resnet_cli/reproductions/li2017_training.py) ------


def li2017_fig3(data: dict[str, Any], path: str) -> None:
    """Mean ‖W‖_F of the weight matrices against the loss, one curve per depth; a dot where a run ends."""
    plt = pyplot()
    panels = data["panels"]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.0), squeeze=False)
    from matplotlib.lines import Line2D

    for ax, panel in zip(axes[0], panels):
        ends = sorted(float(np.asarray(r["x"], dtype=float)[-1]) for r in panel["runs"])
        # a run that ends far below the others (e.g. at L_min to rounding) would squash them: it leaves the axis
        left = ends[0] if len(ends) < 2 or ends[0] > ends[1] - 3 else ends[1] - 1.0
        clipped = False
        for run in panel["runs"]:
            x = np.asarray(run["x"], dtype=float)
            y = np.asarray(run["frob_mean"], dtype=float)
            label = f"depth = {run['depth']}"
            if x[-1] < left:
                keep = np.argmax(x < left)  # the first point beyond the edge
                label += f" (ends at {fmt(x[-1], 2)}, off the axis)"
                x, y = x[:keep], y[:keep]
                line = ax.plot(x, y, label=label)[0]
                ax.plot([left], y[-1:], marker="<", linestyle="none", color=line.get_color())
                clipped = True
                continue
            line = ax.plot(x, y, label=label)[0]
            ax.plot(x[-1:], y[-1:], marker="o", linestyle="none", color=line.get_color())
        ax.set_xlim(left=left - 0.05 * (max(np.max(r["x"]) for r in panel["runs"]) - left))
        ax.set_xlabel(panel["x_label"])
        ax.set_ylabel("mean ‖W‖_F over the weight matrices")
        ax.set_title(panel["title"], fontsize=9)
        ax.grid(True, alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        handles.append(Line2D([], [], marker="o", linestyle="none", color="0.3"))
        labels.append("end of training")
        if clipped:
            handles.append(Line2D([], [], marker="<", linestyle="none", color="0.3"))
            labels.append("continues beyond the left edge")
        ax.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
                  frameon=False)
    fig.suptitle(data["title"], fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _band(ax: Any, series: dict[str, Any], label: str, **style: Any) -> None:
    """Mean over runs at the common levels, ± one standard deviation shaded."""
    x = np.asarray(series["level"], dtype=float)
    m = np.array([np.nan if v is None else v for v in series["mean"]], dtype=float)
    s = np.array([0.0 if v is None else v for v in series["std"]], dtype=float)
    line = ax.plot(x, m, marker=style.pop("marker", "o"), markersize=4, label=label, **style)[0]
    ax.fill_between(x, m - s, m + s, color=line.get_color(), alpha=0.15, linewidth=0)


def li2017_fig7(data: dict[str, Any], path: str) -> None:
    """lg |λ|max and lg |λ|p10 against lg(loss) per network: mean over runs at common levels (± std)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.0, 5.6))
    for name, series in data["networks"].items():
        color = network_style(name)[0]
        _band(ax, series["abs_max"], f"{name}: maximum |λ|", color=color)
        floor = series.get("p10_at_floor", 0)
        note = (f" (≤ 1e-12·|λ|max, zero to rounding, in {floor} of {series['hessians']} measured: drawn at "
                "that floor)" if floor else "")
        _band(ax, series["abs_p10"], f"{name}: 10th percentile of |λ|{note}", color=color, linestyle="--",
              marker="s")
    ax.set_xlabel(data["x_label"])
    ax.set_ylabel("lg |λ| (mean over runs ± std)")
    ax.set_title(data["title"], fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1, frameon=False)
    fig.tight_layout()
    save_figure(fig, path)


def li2017_fig8(data: dict[str, Any], path: str) -> None:
    """Left: the index against lg(L − L_min) per network (mean ± std over seeds). Middle: per level, the share
    of seeds whose 2-shortcut index is below the orthogonal one. Right: ‖∇L‖ and the index along one run."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15.5, 4.3))
    tolerances = list(data.get("share_by_tolerance", {}))  # keys as printed (spectrum.tolerance_key)
    ax = axes[0]
    for name, series in data["networks"].items():
        _band(ax, series["index"], name)
    ax.set_xlabel(data["x_label"])
    ax.set_ylabel("index (share of λ < 0), mean ± std")
    ax.set_title(f"index at common losses, depth 16 ({data['seeds']} seeds)"
                 + (f"; λ < −{tolerances[0]}·|λ|max" if tolerances else ""), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    share = data["share"]
    x = np.asarray(share["level"], dtype=float)
    y = np.array([np.nan if v is None else v for v in share["share"]], dtype=float)
    ax.plot(x, y, marker="o", color="tab:green", label="share of seeds: 2-shortcut index < orthogonal"
            + (f" (λ < −{tolerances[0]}·|λ|max negative)" if tolerances else ""))
    for tol, other, style, color in zip(tolerances[1:], list(data.get("share_by_tolerance", {}).values())[1:],
                                        ("--", "-."), ("tab:purple", "tab:brown")):
        y = np.array([np.nan if v is None else v for v in other["share"]], dtype=float)
        ax.plot(x, y, marker="s", markersize=3, linestyle=style, color=color,
                label=f"the same, |λ| ≤ {tol}·|λ|max counted as zero")
    ax.axhline(0.5, color="0.4", linestyle=":", linewidth=1, label="half of the seeds")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(data["x_label"])
    ax.set_ylabel("share of seeds")
    ax.set_title("the paper's ordering, seed by seed", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    ax = axes[2]
    run = data["single"]
    g = ax.plot(run["step"], run["grad_norm"], color="tab:red", label="‖∇L‖ (every step)")[0]
    ax.set_xlabel("step")
    ax.set_ylabel("gradient norm ‖∇L‖")
    twin = ax.twinx()
    i = twin.plot(run["hessian_step"], run["index"], color="tab:blue", marker="o", markersize=3,
                  label=f"index (every {run['hessian_every']} steps)")[0]
    twin.set_ylabel("index (share of λ < 0)")
    peak = run["grad_peak_step"]
    v = ax.axvline(peak, color="0.4", linestyle=":", linewidth=1, label=f"largest ‖∇L‖ (step {peak})")
    ax.legend([g, i, v], [g.get_label(), i.get_label(), v.get_label()], fontsize=8, loc="center right")
    ax.set_title(f"one 2-shortcut linear run (seed {run['seed']})", fontsize=9)
    fig.suptitle(data["title"], fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
