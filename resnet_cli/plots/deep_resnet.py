"""Figure of `landscape deep-resnet` (Yun et al. 2019): where the points the finder returns fall against the
best linear predictor (by label), and the per-block risk (one depth) or the worst critical point against depth
(a list of depths)."""

from __future__ import annotations

from typing import Any

import numpy as np

from resnet_cli.plots.common import pyplot, save_figure

# the labels of the result table, left to right (a finder stop that is gradient-flat is not a critical point)
CATEGORIES = (("better", "better"), ("equal", "equal"), ("strict_saddle", "strict\nsaddle"),
              ("counterexample", "counter-\nexample"), ("undecided", "undecided"), ("gradient-flat", "gradient-\nflat"))
MARKERS = {"resnet": "o", "fc": "s"}
STRIP = 0.36  # the width of one network's strip inside a category (categories are 1 apart)


def landscape(payload: dict[str, Any], path: str) -> None:
    """Left: R/R_lin of every point by label; right: per-block risks, or worst R/R_lin against depth."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained",
                                      gridspec_kw={"width_ratios": [1.35, 1]})
    label_panel(left, payload)
    if payload.get("per_block"):
        per_block_panel(right, payload)
    else:
        depth_panel(right, payload)
    cfg = payload["config"]
    fig.suptitle(f"landscape deep-resnet: {payload['data']['name']}, finder {cfg.get('finder', 'gd')}, "
                 f"{cfg['trials']} starts per network, seed {cfg['seed']}", fontsize=10)
    save_figure(fig, path)


def _category(point: dict[str, Any]) -> str | None:
    if point.get("stationary") == "gradient-flat":
        return "gradient-flat"
    return point["kind"] if point["converged"] else None


def label_panel(ax: Any, payload: dict[str, Any]) -> None:
    """R/R_lin (log) of every critical or gradient-flat point, one column per label and one strip per network;
    the points of a strip are spread across it in the order of their risk, so equal risks stand side by side.
    Points at a ReLU kink are hollow. Risks below gap-tol·R_lin are drawn at that floor."""
    cfg, lin = payload["config"], max(payload["linear_risk"], 1e-300)
    floor = max(payload["risk_tol"] / lin, 1e-12)
    nets = cfg["networks"]
    used = [key for key, _ in CATEGORIES if any(_category(p) == key for p in payload["points"])]
    ys = []
    for n, net in enumerate(nets):
        color = f"C{n}"
        centre = (n - (len(nets) - 1) / 2) * STRIP * 1.1
        for kink in (False, True):
            x, y = [], []
            for c, key in enumerate(used):
                pts = sorted((p for p in payload["points"] if p["network"] == net and _category(p) == key),
                             key=lambda p: p["risk"])
                spread = np.linspace(-STRIP / 2, STRIP / 2, len(pts)) if len(pts) > 1 else np.zeros(len(pts))
                for p, dx in zip(pts, spread):
                    if bool(p.get("on_kink", p.get("kinks", 0) > 0)) == kink:
                        x.append(c + centre + dx)
                        y.append(max(p["risk"] / lin, floor))
            if x:
                style = {"facecolors": "none", "edgecolors": color} if kink else {"color": color}
                ax.scatter(x, y, marker=MARKERS[net], s=22, linewidths=1, alpha=0.8, zorder=3,
                           label=f"{net}{', at a ReLU kink' if kink else ''} ({len(x)})", **style)
                ys += y
    ax.axhline(1.0, color="k", lw=0.8, zorder=1, label="R = R_lin")
    if not used:
        starts = len(payload["points"]) or cfg.get("trials", 0) * len(nets)
        ax.text(0.5, 0.7, f"no critical or gradient-flat point:\nno start of {starts} converged",
                transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.3")
    ax.set_xticks(range(len(used)), [dict(CATEGORIES)[key] for key in used])
    ax.set_xlim(-0.6, len(used) - 0.4)
    ax.set_yscale("log")
    lo, hi = min(ys + [1.0]), max(ys + [1.0])
    ax.set_ylim(lo / 2, hi * 2)
    ax.set_ylabel(f"R / R_lin  (R_lin = {payload['linear_risk']:.4g})\nbelow gap-tol = {floor:.0e}: drawn at it")
    ax.set_title("the finder's points by label (counterexample: at both --eig-tol,\nno descent by the escape "
                 "probe; gradient-flat: stopped with g in ker H)", fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)


def per_block_panel(ax: Any, payload: dict[str, Any]) -> None:
    """R(h_l) of the best linear read-out of each block output, one line per shown point; points whose
    per-block risks agree (to 1e-9 relative) share one line and one legend entry."""
    pb = payload["per_block"]
    groups: list[tuple[np.ndarray, list[dict[str, Any]]]] = []
    for item in pb["lowest"]:
        v = np.asarray(item["per_block_risk"], dtype=float)
        for ref, members in groups:
            if np.allclose(v, ref, rtol=1e-9, atol=1e-12):
                members.append(item)
                break
        else:
            groups.append((v, [item]))
    layers = np.arange(pb["blocks"] + 1)
    markers = "oDs^v"
    for i, (v, members) in enumerate(groups):
        trials = ", ".join(str(m["trial"]) for m in members)
        risk = max(members[0]["risk"], 0.0)
        dodge = 0.04 * (i - (len(groups) - 1) / 2)  # equal values at one h_l stand side by side
        ax.plot(layers + dodge, v, marker=markers[i % len(markers)], color=f"C{i}",
                label=f"trial{'s' if len(members) > 1 else ''} {trials} (R = {risk:.3g})")
    ax.set_xticks(layers, [f"h_{layer}" for layer in layers])
    ax.set_xlabel("block output h_l")
    ax.set_ylabel("R(h_l): risk of the best linear read-out")
    values = np.concatenate([v for v, _ in groups])
    span = max(float(values.max() - values.min()), 1e-3 * max(abs(float(values.max())), 1e-12))
    ax.set_ylim(float(values.min()) - 0.08 * span, float(values.max()) + 0.08 * span)
    ax.set_title("per-block risk at the lowest-risk critical points", fontsize=9)
    ax.legend(fontsize=8, loc="best")


def depth_panel(ax: Any, payload: dict[str, Any]) -> None:
    """Worst R/R_lin over the critical points that are not strict saddles, per network against depth (networks
    side by side); where the worst over all points (strict saddles included) is higher, a hollow marker."""
    rows = payload["rows"]
    nets = payload["config"]["networks"]
    depths = sorted({r["blocks"] for r in rows})
    newton = payload["config"].get("finder", "gd") != "gd"
    ys = [1.0]
    for i, net in enumerate(nets):
        sel = [r for r in rows if r["network"] == net]
        shift = 2.0 ** (0.08 * (i - (len(nets) - 1) / 2)) if len(depths) > 1 else 1.0
        x = np.array([r["blocks"] for r in sel], dtype=float) * shift
        key = "max_risk_ratio_not_saddle" if newton else "max_risk_ratio"
        y = np.array([np.nan if r[key] is None else r[key] for r in sel], dtype=float)
        if np.isfinite(y).any():  # (a network with no critical point at any depth: no line, no legend entry)
            ax.plot(x, y, marker=MARKERS[net], color=f"C{i}", label=f"{net}, not a strict saddle" if newton else net)
        ys += [v for v in y if np.isfinite(v)]
        if newton:
            every = np.array([r["max_risk_ratio"] for r in sel], dtype=float)
            higher = every > y * (1 + 1e-9)
            if higher.any():
                ax.plot(x[higher], every[higher], ls="none", marker=MARKERS[net], mfc="white", color=f"C{i}",
                        label=f"{net}, all points (saddles too)")
                ys += list(every[higher])
    ax.axhline(1.0, color="k", lw=0.8, label="R = R_lin")
    if len(ys) == 1:
        ax.text(0.5, 0.7, "no critical point at any depth", transform=ax.transAxes, ha="center", fontsize=9,
                color="0.3")
    if len(depths) > 1:
        ax.set_xscale("log", base=2)
        ax.set_xlim(depths[0] / 1.4, depths[-1] * 1.4)
    else:
        ax.set_xlim(depths[0] - 0.5, depths[0] + 0.5)
    ax.set_xticks(depths, [str(d) for d in depths])
    ax.minorticks_off()
    ax.set_yscale("log")
    ax.set_ylim(min(ys) / 1.6, max(ys) * 1.6)
    ax.set_xlabel("blocks L")
    ax.set_ylabel("worst R / R_lin over the critical points")
    ax.set_title("worst critical point against depth", fontsize=9)
    ax.legend(fontsize=8, loc="center right")
