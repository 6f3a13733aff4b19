"""Figures of the two-layer commands (Liu et al. 2019), drawn from the result's `to_dict()` payload."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from resnet_cli.plots.common import pyplot, save_figure

RESNET_INIT = {"color": "black", "ls": "--", "lw": 1.2}  # the same line on the basin maps and in their legend
OUTCOME_COLOR = {"global": "tab:green", "spurious": "tab:red", "undecided": "tab:orange", "diverged": "purple"}
LOSS_FLOOR = 1e-16  # the loss axis is logarithmic: smaller values (rounding) are drawn at the floor


def _outcome_handles(names: list[str], kind: str = "line") -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if kind == "patch":
        return [Patch(color=OUTCOME_COLOR[name], label=name) for name in names]
    return [Line2D([], [], color=OUTCOME_COLOR[name], lw=1.5, label=name) for name in names]


OFF_SCALE = 1e100  # a trace value beyond this is a blown-up run's (not drawn; its divergence is marked)


def train(payload: dict[str, Any], path: str) -> None:
    """Loss (log), φ_t and aᵀa* against steps, one line per trial (up to 20) coloured by outcome."""
    plt = pyplot()
    from matplotlib.lines import Line2D

    cfg, trace, runs = payload["config"], payload["trace"], payload["runs"][:20]
    steps = np.array(trace["step"])
    total = cfg["steps"] if cfg.get("steps") is not None else cfg["stage1_steps"] + cfg["stage2_steps"]
    stage2 = cfg["stage1_steps"] < total  # (else the run ends in stage I: no line for an end that never comes)
    ends = sorted({run["steps"] for run in runs if run["outcome"] == "diverged" and run.get("steps")})
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
    panels = (("loss", "loss L(v, a)", True), ("phi", "angle φ (rad)", False), ("a_dot_astar", "aᵀa*", False))
    for ax, (key, label, log) in zip(axes, panels):
        for run, series in zip(runs, np.array(trace[key], dtype=float)):
            # a blown-up record (1e300: the run diverged there, the dotted line says so) is not drawn: it
            # stretched the axis until the data sat on one edge, and overflowed matplotlib's log scale
            series = np.where(np.abs(series) > OFF_SCALE, np.nan, series)
            ax.plot(steps, np.maximum(series, LOSS_FLOOR) if log else series, color=OUTCOME_COLOR[run["outcome"]],
                    lw=1, alpha=0.8)
        if log:
            ax.set_yscale("log")
        if key == "phi":
            _pi_line(ax, np.array(trace[key], dtype=float))
        if key == "a_dot_astar":
            ax.axhline(0, color="grey", ls=":", lw=1, label="aᵀa* = 0")
        if not log and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, loc="best")
        if stage2:
            ax.axvline(cfg["stage1_steps"], color="black", ls="--", lw=0.8)
        for end in ends:  # where a run blew up (its curve stops at its last finite record)
            ax.axvline(end, color=OUTCOME_COLOR["diverged"], ls=":", lw=1)
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(0, max(total, 1))
        ax.set_xlabel("step (symlog)")
        ax.set_ylabel(label)
    shown = [name for name in OUTCOME_COLOR if any(run["outcome"] == name for run in runs)]
    handles = _outcome_handles(shown) + ([Line2D([], [], color="black", ls="--", lw=0.8, label="end of stage I")]
                                         if stage2 else [])
    if ends:
        handles.append(Line2D([], [], color=OUTCOME_COLOR["diverged"], ls=":", lw=1, label="diverged here"))
    axes[0].legend(handles=handles, fontsize=8, title=f"loss floored at {LOSS_FLOOR:g}", title_fontsize=7)
    fig.suptitle(f"train two-layer: {cfg['student']} student, p={cfg['p']}, k={cfg['k']}, schedule "
                 f"{cfg['schedule']}, seed {cfg['seed']}" + (" (first 20 trials)" if len(payload["runs"]) > 20 else "")
                 + ("\ngradient flow of the schedule (step → 0; 'step' is the time of the GD run it replaces)"
                    if cfg.get("flow") else f"\ngradients: {cfg.get('data', 'population')}")
                 + "; curves: population loss, angle and aᵀa*",
                 fontsize=10)
    save_figure(fig, path)


SWEEP_STYLE = {  # a point of the stride sweep: (colour, marker, legend label)
    "minimum": ("tab:red", "o", "followed point: non-global local minimum"),
    "saddle": ("tab:orange", "s", "followed point: saddle"),
    "undecided": ("tab:gray", "^", "followed point: undecided (probes within rounding)"),
    "global": ("tab:green", "D", "followed point: global optimum (drained)"),
    "moved": ("tab:brown", "v", "followed point: vanished at a fold, descent in another minimum"),
    "other": ("tab:purple", "x", "other non-global local minimum (GD search)"),
}


def stage1_fills(cell: dict[str, Any]) -> bool:
    """A success-rate cell whose stage I (T1 steps) fills its whole run: its rate is of stage I alone, and
    Theorem 1's window [T1, T] holds no recorded step."""
    return int(cell.get("stage1_steps") or 0) >= int(cell["steps"])


def sweep_kind(row: dict[str, Any]) -> str:
    """The class of a followed point in SWEEP_STYLE: global, moved (past a fold: another point), non-global
    minimum, saddle or undecided."""
    if row["kind"] in ("global", "moved"):
        return row["kind"]
    return {"local minimum": "minimum", "undecided": "undecided"}.get(row["verdict"], "saddle")


def _stride_panel(ax: Any, sweep: dict[str, Any]) -> None:
    """The loss of the followed spurious point against s (one marker per class, joined by a grey line) and of
    the other non-global local minima the GD search found, each class labelled once for the legend."""
    branch = sweep["spurious_branch"]
    ax.plot([r["stride"] for r in branch], [max(r["loss"], 0.0) for r in branch], color="grey", lw=1, zorder=1)
    others = [r for r in sweep["found"] if r["kind"] == "other" and r["verdict"] == "local minimum"]
    for kind, (color, marker, label) in SWEEP_STYLE.items():
        rows = others if kind == "other" else [r for r in branch if sweep_kind(r) == kind]
        if rows:
            ax.plot([r["stride"] for r in rows], [max(r["loss"], 0.0) for r in rows], ls="none", color=color,
                    marker=marker, ms=7, label=label, zorder=2 if kind == "other" else 3)
    ax.set_xticks(sweep["strides"])
    ax.invert_xaxis()  # s = p (no overlap) on the left, as in the tables
    ax.set_xlabel("stride s (s = p: no overlap)")
    ax.set_ylabel("population loss L_s")
    ax.set_title("the spurious point of s = p along s")


def stride_sweeps(sweeps: dict[int, dict[str, Any]], path: str) -> None:
    """Many teachers' stride sweeps (seed -> the payload's `stride_sweep`): left, per teacher and stride, the
    class of the followed spurious point (colour) and its loss (text); right, against s, how many teachers
    still have the followed point as a non-global minimum and how many have any non-global local minimum
    (the followed point or one the GD search found)."""
    plt = pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    seeds = sorted(sweeps)
    strides = sweeps[seeds[0]]["strides"]
    order = ["minimum", "saddle", "undecided", "global", "moved"]
    code = np.array([[order.index(sweep_kind(r)) for r in sweeps[seed]["spurious_branch"]] for seed in seeds])
    fig, (grid, count) = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained", width_ratios=(1.1, 1))
    grid.imshow(code, cmap=ListedColormap([SWEEP_STYLE[k][0] for k in order]), vmin=0, vmax=len(order) - 1,
                aspect="auto", alpha=0.55)
    for i, seed in enumerate(seeds):
        for j, r in enumerate(sweeps[seed]["spurious_branch"]):
            loss = r["loss"]
            grid.text(j, i, "0" if abs(loss) < 5e-3 else f"{loss:.2f}", ha="center", va="center", fontsize=7)
    grid.set_xticks(range(len(strides)), [str(s) for s in strides])
    grid.set_yticks(range(len(seeds)), [str(seed) for seed in seeds])
    grid.set_xlabel("stride s (s = p: no overlap)")
    grid.set_ylabel("teacher (seed)")
    grid.set_title("the spurious point of s = p followed along s\n(text: its loss L_s)", fontsize=10)
    grid.legend(handles=[Patch(color=SWEEP_STYLE[k][0], alpha=0.55, label=SWEEP_STYLE[k][2].split(": ")[1])
                         for k in order if (code == order.index(k)).any()],
                loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8)
    followed = [sum(sweep_kind(sweeps[seed]["spurious_branch"][j]) == "minimum" for seed in seeds)
                for j in range(len(strides))]
    anywhere = [sum(sweep_kind(sweeps[seed]["spurious_branch"][j]) in ("minimum", "moved")
                    and sweeps[seed]["spurious_branch"][j]["verdict"] == "local minimum"
                    or any(r["stride"] == s and r["kind"] == "other" and r["verdict"] == "local minimum"
                           for r in sweeps[seed]["found"]) for seed in seeds) for j, s in enumerate(strides)]
    count.plot(strides, anywhere, "o-", color="tab:purple", label="some non-global local minimum\n(followed point, the minimum its\ndescent landed in, or GD search)")
    count.plot(strides, followed, "s--", color=SWEEP_STYLE["minimum"][0], label="the followed point is a\nnon-global local minimum")
    count.set_xticks(strides)
    count.invert_xaxis()
    count.set_ylim(-0.5, len(seeds) + 0.5)
    count.set_xlabel("stride s (s = p: no overlap)")
    count.set_ylabel(f"teachers (of {len(seeds)})")
    count.set_title("teachers with a spurious minimum against s", fontsize=10)
    count.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8)
    fig.suptitle("landscape two-layer --stride: does the spurious local optimum survive overlapping filters?", fontsize=11)
    save_figure(fig, path)


def landscape(payload: dict[str, Any], path: str) -> None:
    """The φ-profile (loss and a(φ)ᵀa*) and one basin map per schedule; with --stride s < p first the stride
    sweep (`_stride_panel`)."""
    plt = pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D

    cfg, prof, basin = payload["config"], payload["profile"], payload["basin"]
    sweep = payload.get("stride_sweep")
    kinds = list(basin["outcomes"])
    panels = 1 + len(kinds) + (1 if sweep else 0)
    fig, axes = plt.subplots(1, panels, figsize=(4.4 * panels, 3.9), layout="constrained")
    axes = np.atleast_1d(axes)
    if sweep:
        _stride_panel(axes[0], sweep)
        axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2))
        axes = axes[1:]
    phi = np.degrees([r["phi"] for r in prof])
    (loss_line,) = axes[0].plot(phi, [r["loss"] for r in prof], "k-", label="min_a L")
    twin = axes[0].twinx()
    (dot_line,) = twin.plot(phi, [r["a_dot_astar"] for r in prof], "b--", label="a(φ)ᵀa*")
    zero = twin.axhline(0, color="b", ls=":", lw=0.8, label="a(φ)ᵀa* = 0 (right axis)")
    axes[0].set_xlabel("φ (degrees)")
    axes[0].set_ylabel("min_a L (loss)")
    twin.set_ylabel("a(φ)ᵀa* (right axis, blue)", color="b")
    twin.tick_params(axis="y", colors="b")
    axes[0].set_title("loss along the basin map's circle, a optimized" if sweep else "loss along φ, a optimized")
    # below the panel: inside, any place hid one of the curves for some teacher
    axes[0].legend(handles=[loss_line, dot_line, zero], fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16),
                   ncol=2)
    code = {name: i for i, name in enumerate(("global", "spurious", "undecided", "diverged"))}
    cmap = ListedColormap(["tab:green", "tab:red", "tab:orange", "purple"])
    q = np.asarray(basin["a0_over_astar"], dtype=float)
    p0 = np.degrees(np.asarray(basin["phi0"], dtype=float))
    seen: set[str] = set()
    for ax, kind in zip(axes[1:], kinds):
        outcomes = np.array(basin["outcomes"][kind], dtype=object)
        seen |= set(outcomes.ravel().tolist())
        ax.imshow(np.vectorize(code.get)(outcomes).astype(float), cmap=cmap, vmin=0, vmax=3, aspect="auto",
                  origin="lower", extent=(*_edges(q, 2.0), *_edges(p0, 180.0)))
        ax.axhline(math.degrees(basin["resnet_init_phi0"]), **RESNET_INIT)
        # a grid of one row or column: its cell at its place in the whole domain (q on [−1, 1], φ0 on [0°, 180°]),
        # not stretched over the axis as a strip
        if len(q) == 1:
            ax.set_xlim(-1.0 - 2.0 / 16, 1.0 + 2.0 / 16)
        if len(p0) == 1:
            ax.set_ylim(-180.0 / 16, 180.0 + 180.0 / 16)
        _grid_ticks(ax.set_yticks, p0)
        _grid_ticks(ax.set_xticks, q, most=6)
        ax.set_xlabel("a0 = q·a*: q")
        ax.set_ylabel("φ0 (degrees)")
        ax.set_title(f"basins of GD, schedule {kind}")
    handles = _outcome_handles([name for name in code if name in seen], "patch")
    # (at s = p the loss sees v only through its angle to v*, so that row is e's; at s < p it is not)
    handles.append(Line2D([], [], label="φ0 = angle(e, v*): the ResNet\ninit's angle (e is off this plane)" if sweep
                          else "ResNet init v0 = e", **RESNET_INIT))
    fig.legend(handles=handles, loc="outside right center", fontsize=8)
    stride = f", stride s = {cfg['p']} … {cfg['stride']}" if sweep else ""
    fig.suptitle(f"landscape two-layer, p={cfg['p']}, k={cfg['k']}{stride}, seed {cfg['seed']}", fontsize=10)
    save_figure(fig, path)


def _grid_ticks(set_ticks: Any, values: np.ndarray, most: int = 8) -> None:
    """Ticks on the grid's own values (every k-th, at most `most`), so a tick is a start that was run."""
    values = np.asarray(values, dtype=float)
    step = max(int(math.ceil(len(values) / most)), 1)
    shown = values[::step]
    set_ticks(shown, [f"{round(v, 2):g}" for v in shown])  # (q = −2/3 as -0.67: full digits ran into each other)


def _pi_line(ax: Any, phi: np.ndarray) -> None:
    """φ = π (the spurious side) as a line when the curves come near it; otherwise a note above the axes, so
    the line does not stretch the axis far beyond the curves."""
    top = float(np.nanmax(phi)) if np.isfinite(phi).any() else math.pi
    if top > 0.6 * math.pi:
        ax.axhline(math.pi, color="grey", ls=":", lw=1, label="φ = π (spurious side)")
    else:
        ax.set_title(f"φ = π (spurious side) is off the axis: max φ = {top:.2f}", fontsize=8, color="dimgrey")


def _span(values: list[float]) -> float:
    return float(max(values) - min(values)) or 1.0


def _edges(x: np.ndarray, span: float) -> tuple[float, float]:
    """The extent of cells centred on the grid x; a single value gets an eighth of the domain's `span`."""
    step = float(x[1] - x[0]) if len(x) > 1 else span / 8
    return float(x[0] - step / 2), float(x[-1] + step / 2)


def success_rate(payload: dict[str, Any], path: str) -> None:
    """Rate against k per method, one panel per p (against p, one panel per k, when only p varies);
    the 95% Wilson intervals as error bars."""
    plt = pyplot()
    cfg, cells = payload["config"], payload["cells"]
    x_key, panel_key = ("p", "k") if len(cfg["k"]) == 1 and len(cfg["p"]) > 1 else ("k", "p")
    panels = cfg[panel_key]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels) + 1.8, 4), squeeze=False,
                             layout="constrained")
    hollow = False
    for ax, value in zip(axes[0], panels):
        methods = cfg["method"]
        for i, method in enumerate(methods):
            rows = [r for r in cells if r[panel_key] == value and r["method"] == method]
            # dodge: methods side by side (a share of the axis: multiplicative on log p, additive on k), so equal
            # rates do not hide each other
            x = np.array([r[x_key] for r in rows], dtype=float)
            offset = i - (len(methods) - 1) / 2
            x = x * 2.0 ** (0.04 * offset) if x_key == "p" else x + 0.025 * offset * _span(cfg[x_key])
            rate = np.array([r["rate"] for r in rows])
            err = np.maximum(0.0, [[r["rate"] - r["ci_low"] for r in rows], [r["ci_high"] - r["rate"] for r in rows]])
            # markers only: the success rate is measured at these k (or p), nothing in between
            marker = "osD^vP*Xph<>"[i % 12]
            drawn = ax.errorbar(x, rate, yerr=err, marker=marker, ls="none", capsize=3, label=method)
            # hollow: stage I (T1 steps) fills the run, so its rate says nothing of stage II
            filled = np.array([stage1_fills(r) for r in rows], dtype=bool)
            if filled.any():
                hollow = True
                ax.plot(x[filled], rate[filled], marker=marker, ls="none", mfc="white",
                        mec=drawn.lines[0].get_color(), zorder=3)
        if x_key == "p":
            ax.set_xscale("log", base=2)
        if len(cfg[x_key]) == 1:  # one k (or p): the dodged points near their tick, not at the axis' edges
            only = float(cfg[x_key][0])
            ax.set_xlim(*((only / 2 ** 0.5, only * 2 ** 0.5) if x_key == "p" else (only - 0.5, only + 0.5)))
        ax.set_xticks(cfg[x_key], [str(v) for v in cfg[x_key]])
        ax.minorticks_off()
        ax.set_xlabel(x_key)
        ax.set_ylabel("share reaching the global optimum")
        ax.set_ylim(-0.02, 1.05)
        ax.set_title(f"{panel_key} = {value}, {cfg['trials']} trial{'s' * (cfg['trials'] != 1)} per point, "
                     f"seed {cfg['seed']}\n"
                     f"gradients: {cfg.get('data', 'population')}", fontsize=9)
    # one legend, beside the last panel: inside, with many methods or a rate near every corner, it hid bars
    handles, labels = axes[0][-1].get_legend_handles_labels()
    if hollow:
        from matplotlib.lines import Line2D
        handles.append(Line2D([], [], marker="o", ls="none", mfc="white", mec="0.3"))
        labels.append("hollow: stage I fills\nthe run (T1 ≥ steps)")
    axes[0][-1].legend(handles, labels, fontsize=8, title="method (bars: 95% Wilson)", title_fontsize=7,
                       loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    save_figure(fig, path)
