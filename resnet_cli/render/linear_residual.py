"""Tables of `landscape linear-resnet` (Hardt & Ma 2017), each within 80 columns.

By default: the result table (per depth and start radius, the kinds of the critical points found) first,
then a few lines (data, the least-squares optimum, the verdict per depth against Theorem 2.2's region) —
about 30 lines at 80 columns. `--detail` adds every non-global critical point (radius, gap, inertia).
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table

from resnet_cli.render.common import console, fmt, prose
from resnet_cli.report import fmt_bound


def _range(lo: Any, hi: Any) -> str:
    if lo is None:
        return "-"
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _opt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else fmt(value, digits)


def _least(value: Any) -> str:
    """A least radius; below 1, never printed as 1 or more (0.9998 is not "1", the region's edge)."""
    if value is None:
        return "-"
    return fmt_bound(value, 3, upper=False, max_digits=6) if value < 1.0 else fmt(value, 3)


def _radius(value: float) -> str:
    """A start radius in the fewest characters ("0.5", "1e-300"): the column must fit 80 with the others."""
    return f"{value:.3g}"


KIND_SHOWN = {"local minimum": "local min", "higher-order saddle": "h.o. saddle", "undecided": "undec."}  # the headline's words


def _saddles(row: dict[str, Any]) -> str:
    """The saddle count with its index range: "4 (1-6)", "0"."""
    if not row["saddle"]:
        return "0"
    return f"{row['saddle']} ({_range(row['index_min'], row['index_max'])})"


def _result_table(payload: dict[str, Any]) -> Table:
    table = Table(title="Critical points found from starts at radius r0 = max_j ‖A_j‖₂ (counts)",
                  box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1), pad_edge=False, title_justify="left",
                  collapse_padding=True)
    heads = ("L", "r0", "starts", "global", "saddle\n(index)", "h.o.\nsaddle", "un-\ndec.", "local\nmin",
             "not\nconv.", "non-global\nleast r")
    for i, head in enumerate(heads):
        table.add_column(head, justify="left" if i == 0 else "right", no_wrap=True)
    for row in payload["rows"]:
        table.add_row(str(row["blocks"]), _radius(row["start_radius"]), str(row["starts"]), str(row["global"]),
                      _saddles(row), str(row["higher_order_saddle"]),
                      str(row["undecided"]), str(row["local_minimum"]), str(row["not_converged"]),
                      _least(row["nonglobal_radius_min"]))
    return table


def _verdict(depth: dict[str, Any]) -> str:
    """One sentence per depth: the region check, the first non-global radius, minima that are not global."""
    L, inside, bad = depth["blocks"], depth["inside"], depth["inside_nonglobal"]
    first = depth["first_nonglobal_radius"]
    band = depth.get("boundary_band", 0.0)  # (data made before the band: 0)
    text = (f"L = {L} ({depth['params']} parameters): {inside} critical point{'' if inside == 1 else 's'} found "
            f"inside max‖A_j‖ < {'1' if not band else f'1 − {band:g}'}, {inside - bad} of them global; ")
    if depth.get("boundary"):
        text += (f"{depth['boundary']} within {band:g} of radius 1 ({depth['boundary_nonglobal']} non-global: "
                 "the finder stops short of the boundary, where such points tend); ")
    if first is None:
        text += "no non-global critical point found"
    else:
        text += (f"the first non-global one at radius {fmt(first, 4)} (σ_min(I + A_j) ≤ "
                 f"{fmt(depth['nonglobal_sigma_max'], 2)} at every non-global point)")
    text += f"; non-global local minima: {depth['local_minimum']}"
    if depth["higher_order_saddle"]:
        text += f", higher-order saddles: {depth['higher_order_saddle']}"
    if depth["undecided"]:
        text += f", undecided (R falls at some probe radii, not all): {depth['undecided']}"
    eq = depth["equal_factor_radius"]
    text += (f"; a global minimum with equal layers has radius {fmt(eq, 3)}." if eq is not None else
             "; the least-squares map has no real logarithm, so no equal-layer global minimum exp(log M*/L) − I to "
             "compare with.")
    return text


def landscape(payload: dict[str, Any], detail: bool = False) -> None:
    """The headline table and the verdicts; `detail`: every non-global critical point."""
    console.print(_result_table(payload))
    data, cfg = payload["data"], payload["config"]
    prose(f"data {data['name']}, {data['samples']} samples, d = {data['dim']}, target {data['target']}; "
          f"least-squares optimum R* = {fmt(payload['optimum'], 6)} (global when R − R* ≤ "
          f"{fmt(payload['risk_tol'], 2)}); det M* = {fmt(data['det'], 3)}, ‖M* − I‖₂ = "
          f"{fmt(data['distance_to_identity'], 3)}; Newton/LM from {cfg['trials']} start{'' if cfg['trials'] == 1 else 's'} per radius; "
          f"seed {cfg['seed']}.")
    for depth in payload["depths"]:
        prose(_verdict(depth))
    prose("Hardt & Ma 2017, Theorem 2.2: inside max‖A_j‖ < 1 every critical point is a global minimum. "
          "saddle: non-global, negative Hessian eigenvalues (index: their count); h.o. saddle: none, but the "
          "escape probe lowers R at every radius tried; undec.: at some radii, not all; local min: no descent. "
          "--detail: every non-global point.")
    if detail:
        _nonglobal_table(payload)


def _nonglobal_table(payload: dict[str, Any]) -> None:
    table = Table(title="Non-global critical points, by radius", box=box.SIMPLE_HEAD, show_edge=False,
                  padding=(0, 1), pad_edge=False, title_justify="left", collapse_padding=True)
    for i, head in enumerate(("L", "r0", "radius", "σ_min", "R − R*", "neg", "zero", "pos", "λmin", "kind")):
        table.add_column(head, justify="left" if i in (0, 9) else "right", no_wrap=True)
    points = sorted((p for p in payload["points"] if p["kind"] not in ("global", "not converged")),
                    key=lambda p: (p["blocks"], p["radius"]))
    for p in points:
        table.add_row(str(p["blocks"]), _radius(p["start_radius"]), fmt(p["radius"], 4), fmt(p["sigma_min"], 2),
                      fmt(p["gap"], 4), str(p["negative"]), str(p["zero"]), str(p["positive"]),
                      fmt(p["lambda_min"], 3), KIND_SHOWN.get(p["kind"], p["kind"]))
    console.print(table)


def rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat rows of `--out x.csv`: one per critical point found."""
    return [{k: v for k, v in p.items() if k != "escape"} for p in payload["points"]]
