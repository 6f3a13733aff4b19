"""Figure of `landscape linear-resnet` (Hardt & Ma 2017): every critical point found, its radius against its
excess risk, with the region max_j ‖A_j‖₂ < 1 of Theorem 2.2 shaded."""

from __future__ import annotations

from typing import Any

from resnet_cli.plots.common import pyplot, save_figure

STYLES = {"global": ("tab:green", "o"), "saddle": ("tab:orange", "^"), "higher-order saddle": ("tab:purple", "s"),
          "undecided": ("tab:gray", "D"), "local minimum": ("tab:red", "X")}


def landscape(payload: dict[str, Any], path: str) -> None:
    """Radius max_j ‖A_j‖₂ (x) against R − R* (y, log; global points at the risk tolerance), per kind."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.6), layout="constrained")
    floor = max(payload["risk_tol"], 1e-300)
    points = [p for p in payload["points"] if p["kind"] != "not converged"]
    xmax = max([p["radius"] for p in points] + [2.0]) * 1.05
    ax.axvspan(0, 1, color="0.92", label="Theorem 2.2's region: max‖A_j‖ < 1")
    for kind, (color, marker) in STYLES.items():
        pts = [p for p in points if p["kind"] == kind]
        if pts:
            ax.scatter([p["radius"] for p in pts], [max(p["gap"], floor) for p in pts], color=color, marker=marker,
                       s=22, alpha=0.8, label=f"{kind} ({len(pts)})")
    unconverged = len(payload["points"]) - len(points)
    if unconverged:  # not drawn (no critical point where they stopped): said, not left out without a word
        ax.text(0.98, 0.02, f"not drawn: {unconverged} of {len(payload['points'])} starts did not converge",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="0.3")
    ax.set_yscale("log")
    ax.set_xlim(0, xmax)
    ax.set_xlabel("radius of the critical point, max_j ‖A_j‖₂")
    ax.set_ylabel("R − R* (global points drawn at the tolerance)")
    ax.legend(loc="center right", fontsize=8)
    cfg, data = payload["config"], payload["data"]
    fig.suptitle(f"landscape linear-resnet: {data['name']} (d = {data['dim']}, target {data['target']}), "
                 f"L = {','.join(str(b) for b in cfg['blocks'])}, {cfg['trials']} starts per radius, seed "
                 f"{cfg['seed']}", fontsize=10)
    save_figure(fig, path)
