"""Tables of `landscape deep-resnet` (Yun et al. 2019), each within 80 columns.

Risks closer to zero than the run's risk tolerance (gap-tol·R_lin, the resolution at which a point is
called "equal to linear") print as "< tol"; the preamble states the tolerance.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from resnet_cli.render.common import console, fmt


def _risk(value: float, tol: float, digits: int = 4) -> str:
    return "< tol" if value == value and abs(value) < tol else fmt(value, digits)


def _table(title: str, headers: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for i, header in enumerate(headers):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=True)
    return table


def preamble(payload: dict[str, Any]) -> None:
    """What was run: the data, the best linear predictor, the descent and the tolerances."""
    data, cfg = payload["data"], payload["config"]
    line = f"data {data['name']}: {data['samples']} samples, d_in={data['d_in']}, d_out={data['d_out']}"
    if "rho" in data:
        line += f", ρ={fmt(data['rho'])}"
    console.print(line)
    lin = f"best linear predictor (least squares): R_lin = {fmt(payload['linear_risk'], 6)}"
    if "paper_linear_risk" in data:
        lin += (f" (paper: 8ρ²/15 = {fmt(data['paper_linear_risk'], 6)}; the paper's ResNet point has "
                f"R = {fmt(data['paper_resnet_point_risk'], 6)})")
    console.print(lin)
    console.print(f"init {cfg['init']}, {cfg['trials']} trials per network, GD ≤ {cfg['steps']} steps, a trial "
                  f"reaches a critical point when ‖∂R‖ < {fmt(cfg['grad_tol'])}; seed {cfg['seed']}")
    console.print(f"risk tolerance tol = gap-tol·R_lin = {fmt(payload['risk_tol'])}: |R − R_lin| ≤ tol counts "
                  "as equal to linear")


def landscape(payload: dict[str, Any]) -> None:
    """The preamble, the critical points per network and depth, their classes, and the per-block risks."""
    preamble(payload)
    tol = payload["risk_tol"]
    reached = _table("Critical points reached by gradient descent",
                     ("network", "blocks\nL", "params\nP", "reached\n/ trials", "best\nrisk", "worst risk\n/ R_lin",
                      "largest\nΣ‖V_l‖‖U_l‖"))
    classes = _table("The critical points against the best linear predictor (counts)",
                     ("network", "blocks\nL", "better\nthan\nlinear", "equal\nto\nlinear", "worse:\nstrict\nsaddle",
                      "worse:\nlocal\nmin *", "worse:\nat a\nkink **", "at least\nas good\nas linear"))
    for row in payload["rows"]:
        net, L = row["network"], str(row["blocks"])
        reached.add_row(net, L, str(row["params"]), f"{row['points']}/{row['trials']}", _risk(row["best_risk"], tol),
                        fmt(row["max_risk_ratio"]),
                        fmt(row.get("max_block_norm_sum")) if net == "resnet" else "—")
        saddles = row["worse"] - row["counterexamples"] - row["worse_at_kink_undecided"]
        share = row["share_at_least_linear"]
        classes.add_row(net, L, str(row["strictly_better"]), str(row["equal"]), str(saddles),
                        str(row["counterexamples"]), str(row["worse_at_kink_undecided"]),
                        "—" if share != share else f"{100 * share:.0f}%")
    console.print(reached)
    console.print(classes)
    console.print("* a counterexample: worse than linear, no negative curvature beyond --eig-tol; Yun et al.'s "
                  "theorem rules them out for ResNets (under its conditions). ** negative curvature, but a ReLU "
                  "kink sits on a sample there: the smooth piece's Hessian certifies nothing (undecided).")
    if payload.get("per_block"):
        per_block(payload["per_block"], tol)


def per_block(pb: dict[str, Any], tol: float) -> None:
    """Risk of the best linear read-out of each block output h_0..h_L, one column per shown trial."""
    shown = pb["lowest"]
    table = _table(f"Per-block risk R(h_l) of the best linear read-out of h_0..h_{pb['blocks']}",
                   ("", *(f"trial {item['trial']}" for item in shown)))
    table.add_row("R at the point", *(_risk(item["risk"], tol) for item in shown))
    for layer in range(pb["blocks"] + 1):
        label = "R(h_0) = R_lin" if layer == 0 else f"R(h_{layer})"
        table.add_row(label, *(_risk(item["per_block_risk"][layer], tol) for item in shown))
    table.add_row("non-increasing", *("yes" if item["monotone"] else "NO" for item in shown))
    console.print(table)
    console.print(f"per-block risk not monotone at {pb['global_non_monotone']} of {pb['global_points']} global "
                  f"minima found (risk {_risk(pb['best_risk'], tol)}), at {pb['non_monotone']} of {pb['points']} "
                  "critical points in all")
