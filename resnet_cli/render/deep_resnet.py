"""Tables of `landscape deep-resnet` (Yun et al. 2019), each within 80 columns.

By default: the result table (how the finder's points fall against the best linear predictor, and how many
are critical or gradient-flat) first, then a few lines (what was run, what the labels mean, the index of the
strict saddles as counts) — about 30 lines at 80 columns. `--detail` adds the secondary tables:
convergence and de-duplication, kinks, the two eigenvalue tolerances, why points are undecided, gradient
flatness, per-block risks. Risks closer to zero than the run's risk tolerance (gap-tol·R_lin, the
resolution at which a point is called "equal to linear") print as "< tol"; the preamble states it.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from resnet_cli.models.critical_points import FLAT_SHARE

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
    floor = payload["risk_tol"] > cfg["gap_tol"] * payload["linear_risk"] * (1 + 1e-9)  # R_lin at rounding level
    scale = "1e-12·mean ‖y‖²" if floor else "R_lin"
    console.print(f"risk tolerance tol = gap-tol·{scale} = {fmt(payload['risk_tol'])}"
                  + (" (R_lin is below that floor)" if floor else "") + ": |R − R_lin| ≤ tol counts as equal to linear")


def _result_table(payload: dict[str, Any]) -> Table:
    """The result: per network and depth, the finder's stops (critical / gradient-flat) and the classes of
    the critical points against the best linear predictor (a simple head, to fit 9 columns in 80)."""
    table = Table(title="Critical points against the best linear predictor (counts)", box=box.SIMPLE_HEAD,
                  show_edge=False, padding=(0, 0), pad_edge=False, title_justify="left")
    for i, header in enumerate(("network", "L", "critical\n/ trials", "gradient-flat", "better\nthan\nlinear",
                                "equal\nto\nlinear", "worse:\nstrict\nsaddle", "worse:\ncounterexample",
                                "worse:\nundecided")):
        table.add_column(header, justify="left" if i == 0 else "right", no_wrap=True)
    for row in payload["rows"]:
        table.add_row(row["network"], str(row["blocks"]), f"{row['critical']}/{row['trials']}", str(row["gradient_flat"]),
                      str(row["strictly_better"]), str(row["equal"]), str(_saddles(row)), str(row["counterexamples"]),
                      str(row["undecided"]))
    return table


def _saddles(row: dict[str, Any]) -> int:
    return row["worse"] - row["counterexamples"] - row["undecided"]


def _summary_lines(payload: dict[str, Any]) -> list[str]:
    """What was run and what the labels mean, in a few lines (the default output after the table)."""
    data, cfg, rows = payload["data"], payload["config"], payload["rows"]
    finder = cfg.get("finder", "gd")
    how = ("gradient descent (minima only: it escapes saddles)" if finder == "gd" else
           "Newton/LM on ∇R = 0" + (" from GD's end points" if finder == "gd+newton" else " (every index)"))
    lines = [f"data {data['name']} ({data['samples']} samples), best linear risk R_lin = "
             f"{fmt(payload['linear_risk'], 6)}; {how}, {cfg['trials']} starts per network, seed {cfg['seed']}."]
    reasons = {code: sum(r["undecided_reasons"][code] for r in rows) for code in rows[0]["undecided_reasons"]} \
        if rows else {}
    undecided = sum(r["undecided"] for r in rows)
    why = ""
    if undecided:
        parts = [f"{reasons['alt_tolerance']} not one at --eig-tol-alt", f"{reasons['escape_descent']} where the "
                 "escape probe lowers R", f"{reasons['kink']} at a kink"]
        why = f" (of the {undecided} here: " + ", ".join(p for p in parts if not p.startswith("0 ")) + ")"
    lines.append(f"counterexample: worse than linear, no negative curvature at --eig-tol {cfg['eig_tol']:g} nor at "
                 f"--eig-tol-alt {cfg['eig_tol_alt']:g}, and the escape probe finds no descent; undecided: any "
                 f"other worse point without certified negative curvature{why}. Yun et al.'s theorem rules out "
                 "ResNet counterexamples (under its conditions).")
    lines.append(f"critical: the finder's stationarity test passed; gradient-flat: it stopped without converging "
                 f"where ≥ {100 * FLAT_SHARE:.0f} % of ‖g‖² lies in the near-kernel of H (Frye et al. 2021).")
    index = [f"{r['network']} L={r['blocks']} {_index_counts(r)}" for r in rows if r["saddle_index_counts"]]
    if index:
        lines.append("strict saddles' index (negative eigenvalues / dimension): " + ", ".join(index))
    lines.append("more: --detail (convergence, kinks, both tolerances, reasons, gradient flatness, per-block "
                 "risks); --json (every point).")
    return lines


def _index_counts(row: dict[str, Any]) -> str:
    """The strict saddles' index as counts, e.g. "1/7" or "1/7–2/8" (fewest and most negative eigenvalues)."""
    counts = sorted(row["saddle_index_counts"])
    lo, hi = (f"{c[0]}/{c[1]}" for c in (counts[0], counts[-1]))
    return lo if lo == hi else f"{lo}–{hi}"


def landscape(payload: dict[str, Any], detail: bool = False) -> None:
    """The result table and a few lines; with `detail`, then the preamble and the secondary tables."""
    console.print(_result_table(payload))
    for line in _summary_lines(payload):
        console.print(line)
    if not detail:
        return
    console.print()
    preamble(payload)
    if payload["config"].get("finder", "gd") != "gd":
        newton_landscape(payload)
    else:
        gd_landscape(payload)
    console.print(_undecided_table(payload))
    console.print(_flatness_table(payload))
    if payload.get("per_block"):
        per_block(payload["per_block"], payload["risk_tol"])


def gd_landscape(payload: dict[str, Any]) -> None:
    """Gradient descent: how many starts converged, risks and block norms."""
    tol = payload["risk_tol"]
    reached = _table("Critical points reached by gradient descent",
                     ("network", "blocks\nL", "params\nP", "reached\n/ trials", "best\nrisk", "worst risk\n/ R_lin",
                      "largest\nΣ‖V_l‖‖U_l‖"))
    for row in payload["rows"]:
        net, L = row["network"], str(row["blocks"])
        reached.add_row(net, L, str(row["params"]), f"{row['points']}/{row['trials']}", _risk(row["best_risk"], tol),
                        _ratio(row["max_risk_ratio"], row, tol),
                        fmt(row.get("max_block_norm_sum")) if net == "resnet" else "—")
    console.print(reached)
    if any(_lin_zero(r, tol) for r in payload["rows"]):
        console.print(NO_RATIO + ".")
    console.print("At a kink point GD's Hessian is that of one smooth piece (σ'(0) = 0): a worse point there with "
                  "negative curvature is undecided (at a kink).")


def _undecided_table(payload: dict[str, Any]) -> Table:
    """Why the undecided points are undecided: counts per reason (a point may have several)."""
    table = _table("Why points are undecided (counts; a point may have several reasons)",
                   ("network", "blocks\nL", "undecided", "at a ReLU\nkink", "another\nclass at\n"
                    "--eig-tol-alt", "escape\nprobe finds\ndescent"))
    for row in payload["rows"]:
        why = row["undecided_reasons"]
        table.add_row(row["network"], str(row["blocks"]), str(row["undecided"]), str(why["kink"]),
                      str(why["alt_tolerance"]), str(why["escape_descent"]))
    return table


def _flatness_table(payload: dict[str, Any]) -> Table:
    """Where the finder stopped: critical, gradient-flat or neither, and the largest near-kernel share of g
    at the points that are not critical (Frye et al. 2021)."""
    table = _table("Where the finder stopped: critical or gradient-flat (Frye et al. 2021)",
                   ("network", "blocks\nL", "critical", "gradient-flat", "neither", "largest\nshare of\n‖g‖² in\n"
                    "ker H *", "median\n‖Hg‖/‖g‖\n*"))
    for row in payload["rows"]:
        pts = [p for p in payload["points"] if p["network"] == row["network"] and p["blocks"] == row["blocks"]
               and p["stationary"] != "critical" and p["flatness"]["kernel_share"] == p["flatness"]["kernel_share"]]
        share = max((p["flatness"]["kernel_share"] for p in pts), default=float("nan"))
        ratio = sorted(p["flatness"]["hg_ratio"] for p in pts)
        table.add_row(row["network"], str(row["blocks"]), str(row["critical"]), str(row["gradient_flat"]),
                      str(row["neither_critical_nor_flat"]), "—" if not pts else f"{share:.3g}",
                      "—" if not ratio else fmt(ratio[len(ratio) // 2], 3))
    table.caption = ("* over the points that are not critical; ker H: the eigenvectors with |λ| ≤ --eig-tol·max|λ| "
                     "(every point's values are in the JSON, flatness)")
    return table


def _below(value: float, tol: float) -> str:
    """A norm, or "< tol" below the finder's tolerance (no float noise)."""
    return "—" if value != value else (f"< {tol:g}" if value < tol else fmt(value, 2))


def _change(a: int, b: int) -> str:
    return str(a) if a == b else f"{a} → {b}"


NO_RATIO = "—: R_lin is within tol of 0, so no ratio R / R_lin"  # the mark of `_ratio`, under both tables


def _lin_zero(row: dict[str, Any], tol: float) -> bool:
    """R_lin within the risk tolerance of 0: a ratio R / R_lin means nothing."""
    return row.get("linear_risk") is not None and row["linear_risk"] <= tol


def _ratio(value: float | None, row: dict[str, Any], tol: float) -> str:
    """A risk ratio R / R_lin in a narrow column ("1.234"); where R_lin is within the risk tolerance of 0 (fewer
    samples than the linear map has parameters) the ratio says nothing: "—" (it printed nan or 7e+07)."""
    if _lin_zero(row, tol):
        return "—"
    return fmt(value) if value is None or abs(value) < 1e5 else f"{value:.0e}"


def newton_landscape(payload: dict[str, Any]) -> None:
    """Secondary tables of the Newton finders: convergence and de-duplication, kinks, the two tolerances."""
    cfg, tol = payload["config"], payload["risk_tol"]
    gtol = cfg["newton_tol"]
    reached = _table(f"Critical points reached by Newton/LM (‖∇R‖ or Clarke norm < {gtol:g})",
                     ("network", "blocks\nL", "reached\n/ trials", "at a\nkink", "distinct\npoints\n(merged)",
                      "distinct\npredictors", "best\nrisk", "worst\nrisk /\nR_lin,\nnot a\nstrict\nsaddle"))
    kinks = _table("At the kink points (a ReLU kink on a sample)",
                   ("network", "blocks\nL", "points\nat a\nkink", "largest\nsmooth\n‖∇R‖", "largest\nClarke\nnorm",
                    "lowest\nλmin of\na piece", "with a\nnegative\npiece", "too\nmany\npieces"))
    alt = cfg["eig_tol_alt"]
    second = _table(f"Worse points by curvature alone at --eig-tol {cfg['eig_tol']:g} → at {alt:g}",
                    ("network", "blocks\nL", "strict\nsaddle", "no\nnegative\ncurvature", "at a\nkink,\nneither",
                     "index of\nthe strict\nsaddles", "descent\nfound by\nprobe *"))
    for row in payload["rows"]:
        net, L = row["network"], str(row["blocks"])
        reached.add_row(net, L, f"{row['points']}/{row['trials']}", str(row["converged_at_kink"]),
                        f"{row['distinct']} ({row['merged']})", str(row["distinct_predictors"]),
                        _risk(row["best_risk"], tol), _ratio(row["max_risk_ratio_not_saddle"], row, tol))
        if row["converged_at_kink"]:
            lam = fmt(row["pieces_lambda_min"], 3) if row["points_with_negative_piece"] else "none < 0"
            kinks.add_row(net, L, str(row["converged_at_kink"]), _below(row["max_smooth_grad_norm_at_kinks"], gtol),
                          _below(row["max_clarke_norm"], gtol), lam, str(row["points_with_negative_piece"]),
                          str(row["too_many_pieces"]))
        second.add_row(net, L, _change(row["strict_saddles"], row["strict_saddles_alt"]),
                       _change(row["no_negative_curvature"], row["counterexamples_alt"]),
                       _change(row["kink_neither"], row["kink_undecided_alt"]),
                       _index_counts(row) if row["saddle_index_counts"] else "—",
                       f"{row['escape_found']}/{row['probed']}")
    kinked = any(row["converged_at_kink"] for row in payload["rows"])
    for part in [reached,
                 "distinct: not equal up to unit permutations and positive rescalings (--dedup-tol "
                 f"{cfg['dedup_tol']:g}); predictors: distinct functions on the data (continua of critical points, "
                 "e.g. a dead unit's free weights, are not merged). Worst R/R_lin over the points that are not strict "
                 "saddles (over all points it is in the JSON, max_risk_ratio)"
                 + (f"; {NO_RATIO}." if any(_lin_zero(r, tol) for r in payload["rows"]) else "."),
                 kinks if kinked else None,
                 "the smooth ‖∇R‖ (σ'(0) = 0) is one side's gradient; the point is Clarke-critical. λmin of each "
                 "piece meeting the point is computed; the classes use the Hessian on the kink manifold." if kinked
                 else None,
                 second,
                 "No negative curvature: none beyond the tolerance (at a kink: none on the kink manifold, slopes "
                 "strictly inside (0, 1), R rising on both sides of every kink, none on any piece). Index: negative eigenvalues / dimension of the point's "
                 "Hessian. * random steps in the Hessian's null space lower R within the largest radius tried (not a "
                 "minimum at that scale; a higher-order saddle where R falls at every radius: evidence, not proof)."]:
        if part is not None:
            console.print(part)


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
    # a risk within tol of 0 is a global minimum (R ≥ 0); a higher one is only the lowest found
    certain = pb["best_risk"] <= tol
    console.print(f"per-block risk not monotone at {pb['global_non_monotone']} of {pb['global_points']} "
                  f"{'global minima' if certain else 'lowest-risk points'} found (risk {_risk(pb['best_risk'], tol)}"
                  f"{'' if certain else '; not known to be global'}), at {pb['non_monotone']} of {pb['points']} "
                  "critical points in all")
