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
    finder = cfg.get("finder", "gd")
    if finder == "gd":
        console.print(f"init {cfg['init']}, {cfg['trials']} trials per network, finder gd: GD ≤ {cfg['steps']} "
                      f"steps, a trial reaches a critical point when ‖∂R‖ < {fmt(cfg['grad_tol'])} (GD escapes "
                      f"saddles: no strict saddle is measured; --finder newton finds them); seed {cfg['seed']}")
    else:
        start = "random starts" if finder == "newton" else f"the end points of GD (≤ {cfg['steps']} steps)"
        console.print(f"init {cfg['init']}, {cfg['trials']} trials per network, finder {finder}: Newton/LM on "
                      f"∇R = 0 (≤ {cfg['newton_steps']} iterations) from {start}; a trial reaches a critical "
                      f"point when ‖∇R‖ < {cfg['newton_tol']:g} or, at a ReLU kink, the Clarke subgradient "
                      f"norm and the kink gap are; seed {cfg['seed']}")
    console.print(f"risk tolerance tol = gap-tol·R_lin = {fmt(payload['risk_tol'])}: |R − R_lin| ≤ tol counts "
                  "as equal to linear")


def landscape(payload: dict[str, Any]) -> None:
    """The preamble, the critical points per network and depth, their classes, and the per-block risks."""
    if payload["config"].get("finder", "gd") != "gd":
        newton_landscape(payload)
        return
    preamble(payload)
    tol = payload["risk_tol"]
    reached = _table("Critical points reached by gradient descent",
                     ("network", "blocks\nL", "params\nP", "reached\n/ trials", "best\nrisk", "worst risk\n/ R_lin",
                      "largest\nΣ‖V_l‖‖U_l‖"))
    classes = _classes_table()
    for row in payload["rows"]:
        net, L = row["network"], str(row["blocks"])
        reached.add_row(net, L, str(row["params"]), f"{row['points']}/{row['trials']}", _risk(row["best_risk"], tol),
                        fmt(row["max_risk_ratio"]),
                        fmt(row.get("max_block_norm_sum")) if net == "resnet" else "—")
        _class_row(classes, row)
    _show([reached, classes,
           "* a counterexample: worse than linear, no negative curvature beyond --eig-tol; Yun et al.'s theorem "
           "rules them out for ResNets (under its conditions). ** negative curvature, but a ReLU kink sits on a "
           "sample there: the smooth piece's Hessian certifies nothing (undecided)."], payload)


def _show(parts: list[Any], payload: dict[str, Any]) -> None:
    """Print the tables and notes in order (None skipped), then the per-block risks when there are any."""
    for part in parts:
        if part is not None:
            console.print(part)
    if payload.get("per_block"):
        per_block(payload["per_block"], payload["risk_tol"])


def _classes_table() -> Table:
    return _table("The critical points against the best linear predictor (counts)",
                  ("network", "blocks\nL", "better\nthan\nlinear", "equal\nto\nlinear", "worse:\nstrict\nsaddle",
                   "worse:\nlocal\nmin *", "worse:\nat a\nkink **", "at least\nas good\nas linear"))


def _class_row(table: Table, row: dict[str, Any]) -> None:
    saddles = row["worse"] - row["counterexamples"] - row["worse_at_kink_undecided"]
    share = row["share_at_least_linear"]
    table.add_row(row["network"], str(row["blocks"]), str(row["strictly_better"]), str(row["equal"]), str(saddles),
                  str(row["counterexamples"]), str(row["worse_at_kink_undecided"]),
                  "—" if share != share else f"{100 * share:.0f}%")


def _index_range(row: dict[str, Any]) -> str:
    lo, hi = row["saddle_index_min"], row["saddle_index_max"]
    if lo != lo:
        return "—"
    lo_s, hi_s = f"{lo:.2g}", f"{hi:.2g}"
    return lo_s if lo_s == hi_s else f"{lo_s}–{hi_s}"


def _below(value: float, tol: float) -> str:
    """A norm, or "< tol" below the finder's tolerance (no float noise)."""
    return "—" if value != value else (f"< {tol:g}" if value < tol else fmt(value, 2))


def _change(a: int, b: int) -> str:
    return str(a) if a == b else f"{a} → {b}"


def newton_landscape(payload: dict[str, Any]) -> None:
    """Tables of the Newton finders: convergence and de-duplication, classes, kinks, the tolerance question."""
    preamble(payload)
    cfg, tol = payload["config"], payload["risk_tol"]
    gtol = cfg["newton_tol"]
    reached = _table(f"Critical points reached by Newton/LM (‖∇R‖ or Clarke norm < {gtol:g})",
                     ("network", "blocks\nL", "reached\n/ trials", "at a\nkink", "distinct\npoints\n(merged)",
                      "distinct\npredic-\ntors", "best\nrisk", "worst\nR/R_lin,\nnot a\nstrict\nsaddle"))
    classes = _classes_table()
    kinks = _table("At the kink points (a ReLU kink on a sample)",
                   ("network", "blocks\nL", "points\nat a\nkink", "largest\nsmooth\n‖∇R‖", "largest\nClarke\nnorm",
                    "lowest\nλmin of\na piece", "with a\nnegative\npiece", "too\nmany\npieces"))
    alt = cfg["eig_tol_alt"]
    second = _table(f"Classes at --eig-tol {cfg['eig_tol']:g} → at {alt:g} (where they differ)",
                    ("network", "blocks\nL", "strict\nsaddle", "local\nmin *", "at a\nkink **",
                     "index of\nthe strict\nsaddles", "descent\nfound by\nprobe ***"))
    for row in payload["rows"]:
        net, L = row["network"], str(row["blocks"])
        reached.add_row(net, L, f"{row['points']}/{row['trials']}", str(row["converged_at_kink"]),
                        f"{row['distinct']} ({row['merged']})", str(row["distinct_predictors"]),
                        _risk(row["best_risk"], tol), fmt(row["max_risk_ratio_not_saddle"]))
        _class_row(classes, row)
        if row["converged_at_kink"]:
            lam = fmt(row["pieces_lambda_min"], 3) if row["points_with_negative_piece"] else "none < 0"
            kinks.add_row(net, L, str(row["converged_at_kink"]), _below(row["max_smooth_grad_norm_at_kinks"], gtol),
                          _below(row["max_clarke_norm"], gtol), lam, str(row["points_with_negative_piece"]),
                          str(row["too_many_pieces"]))
        saddles = row["worse"] - row["counterexamples"] - row["worse_at_kink_undecided"]
        second.add_row(net, L, _change(saddles, row["strict_saddles_alt"]),
                       _change(row["counterexamples"], row["counterexamples_alt"]),
                       _change(row["worse_at_kink_undecided"], row["kink_undecided_alt"]), _index_range(row),
                       f"{row['escape_found']}/{row['counterexamples'] + row['worse_at_kink_undecided']}")
    kinked = any(row["converged_at_kink"] for row in payload["rows"])
    _show([reached,
           "distinct: not equal up to unit permutations and positive rescalings (--dedup-tol "
           f"{cfg['dedup_tol']:g}); predictors: distinct functions on the data (continua of critical points, e.g. a "
           "dead unit's free weights, are not merged). Worst R/R_lin over the points that are not strict saddles "
           "(over all points it is in the JSON, max_risk_ratio).",
           classes,
           "* a counterexample: worse than linear, no negative curvature beyond --eig-tol (at a kink: none on the "
           "kink manifold, slopes strictly inside (0, 1), none on any piece); Yun et al.'s theorem rules them out "
           "for ResNets (under its conditions). ** worse, at a kink, and neither certified.",
           kinks if kinked else None,
           "the smooth ‖∇R‖ (σ'(0) = 0) is one side's gradient; the point is Clarke-critical. λmin of each piece "
           "meeting the point is computed; the classes use the Hessian on the kink manifold." if kinked else None,
           second,
           "index: share of negative eigenvalues of the point's Hessian. *** worse points without certified "
           "negative curvature where random steps in the Hessian's null space lower R (a higher-order saddle: "
           "evidence, not proof)."], payload)


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
