"""Hardt & Ma 2017, "Identity matters in deep learning" (ICLR 2017): the critical points of deep linear
residual networks inside and beyond the region max_j ‖A_j‖₂ < 1 (`landscape linear-resnet`;
`make reproduce-hardt2017`, the "Hardt & Ma 2017" section of docs/reproductions.md).

Runs (seed 0, each a cell of `executor.run_cells`): Gaussian inputs with a linear target near identity
(--target residual: y = (I + T) x + 0.1ε) and with the raw one (--target data: y = T x + 0.1ε), d = 4, depths
L = 2, 3, 5, start radii 0.1, 0.2, …, 2.0; the bundled digits (whitened, d = 10; one-hot labels, and labels
plus inputs), L = 2, start radii 0.2, 0.4, …, 2.0. Each writes data/hardt2017-NAME.json (the command's JSON).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from resnet_cli.experiments.linear_residual import BOUNDARY_BAND
from resnet_cli.reproductions.common import (Context, Reproduction, command_line, cpu_seconds, load_average,
                                             read_json, read_record, record_machine, write_json, write_record)

BEGIN, END = "<!-- hardt2017:begin -->", "<!-- hardt2017:end -->"
NAME = "hardt2017"
SEED = 0
FINE = [round(0.1 * i, 1) for i in range(1, 21)]
COARSE = [round(0.2 * i, 1) for i in range(1, 11)]
#: name -> (flags as typed, relative cost: its CPU seconds in the run of 2026-12-06, for largest first)
RUNS: dict[str, tuple[dict[str, Any], float]] = {
    "gaussian-residual": ({"data": "gaussian", "target": "residual", "dim": 4, "samples": 200, "blocks": [2, 3, 5],
                           "radius": FINE, "trials": 6}, 2.0),
    "gaussian-data": ({"data": "gaussian", "target": "data", "dim": 4, "samples": 200, "blocks": [2, 3, 5],
                       "radius": FINE, "trials": 6}, 3.0),
    "digits-residual": ({"data": "digits", "target": "residual", "samples": 500, "blocks": [2], "radius": COARSE,
                         "trials": 3}, 3.6),
    "digits-data": ({"data": "digits", "target": "data", "samples": 500, "blocks": [2], "radius": COARSE,
                     "trials": 3}, 6.8),
}


def command(name: str) -> str:
    return command_line("landscape linear-resnet", RUNS[name][0], "--seed", str(SEED), "--quiet", "--json")


def run_one(name: str) -> tuple[dict[str, Any], float]:
    """One run as a cell: (its payload, its CPU seconds)."""
    from resnet_cli import api
    from resnet_cli.experiments.linear_residual import LinearResnetSettings

    start = time.process_time()
    payload = api.run(LinearResnetSettings.resolve(None, {**RUNS[name][0], "seed": SEED})).to_dict()
    return payload, time.process_time() - start


def build(ctx: Context) -> None:
    from resnet_cli.executor import run_cells

    start, cpu, load = time.perf_counter(), cpu_seconds(), load_average()
    names = list(RUNS)
    for name in names:
        ctx.log(command(name))
    results = run_cells(run_one, names, weights=[RUNS[n][1] for n in names], **ctx.execution.cells())
    for name, (payload, _) in zip(names, results):
        write_json(ctx.data(f"{NAME}-{name}"), payload)
    write_record(ctx.docs, NAME, wall=time.perf_counter() - start, cpu=cpu_seconds() - cpu, load=load,
                 cell_cpu={name: seconds for name, (_, seconds) in zip(names, results)})


def draw(docs: Path) -> None:
    from resnet_cli.plots import linear_residual as plots

    (docs / "figures").mkdir(parents=True, exist_ok=True)
    plots.landscape(read_json(docs / "data" / f"{NAME}-gaussian-residual.json"), str(docs / "figures" / f"{NAME}.png"))


def _opt(value: Any, spec: str = ".3f") -> str:
    return "–" if value is None else format(value, spec)


def table(data: dict[str, dict[str, Any]]) -> list[str]:
    """One row per run and depth: the counts of each kind, inside the region and the first non-global radius."""
    lines = ["| data, target | L | P | starts | global | saddles (indices) | h.o. saddles | undecided | non-global minima "
             f"| not conv. | inside r < {1 - BOUNDARY_BAND:g} (global) | first non-global r | equal-layer optimum r | det M* |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, payload in data.items():
        det = payload["data"]["det"]
        for d in payload["depths"]:
            idx = d["saddle_indices"]
            shown = f"{min(idx)}–{max(idx)}" if idx else "–"
            lines.append(f"| {payload['data']['name']}, {payload['data']['target']} | {d['blocks']} | {d['params']} "
                         f"| {d['points']} | {d['global']} | {d['saddle']} ({shown}) | {d['higher_order_saddle']} "
                         f"| {d['undecided']} | {d['local_minimum']} | {d['not_converged']} | {d['inside']} "
                         f"({d['inside'] - d['inside_nonglobal']}) | {_opt(d['first_nonglobal_radius'])} "
                         f"| {_opt(d['equal_factor_radius'])} | {det:.3g} |")
    return lines


def index_lines(data: dict[str, dict[str, Any]]) -> list[str]:
    """Saddles by index, per run (all depths): "index×count" in increasing index."""
    out = []
    for payload in data.values():
        counts: dict[int, int] = {}
        for p in payload["points"]:
            if p["kind"] == "saddle":
                counts[p["negative"]] = counts.get(p["negative"], 0) + 1
        shown = ", ".join(f"{i}×{counts[i]}" for i in sorted(counts))
        out.append(f"- {payload['data']['name']}, {payload['data']['target']} (L = "
                   f"{', '.join(str(b) for b in payload['config']['blocks'])}): {shown}")
    return out


def _totals(data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    depths = [d for payload in data.values() for d in payload["depths"]]
    firsts = [d["first_nonglobal_radius"] for d in depths if d["first_nonglobal_radius"] is not None]
    return {"points": sum(d["points"] for d in depths), "global": sum(d["global"] for d in depths),
            "saddle": sum(d["saddle"] for d in depths), "minima": sum(d["local_minimum"] for d in depths),
            "higher": sum(d["higher_order_saddle"] for d in depths),
            "undecided": sum(d["undecided"] for d in depths), "stuck": sum(d["not_converged"] for d in depths),
            "inside": sum(d["inside"] for d in depths), "inside_bad": sum(d["inside_nonglobal"] for d in depths),
            "boundary": sum(d.get("boundary", 0) for d in depths),
            "first": min(firsts) if firsts else None,
            "no_root_inside": sum(d["inside"] for d in depths if d["equal_factor_radius"] is None),
            "sigma": max((d["nonglobal_sigma_max"] for d in depths if d["nonglobal_sigma_max"] is not None),
                         default=None)}


def section(docs: Path) -> str:
    data = {name: read_json(docs / "data" / f"{NAME}-{name}.json") for name in RUNS}
    record = read_record(docs, NAME)
    t = _totals(data)
    cfg = data["gaussian-residual"]["config"]
    lines = [BEGIN, '## Hardt & Ma 2017 — "Identity matters in deep learning" (ICLR 2017)', "",
             "**Claim (in our words).** A deep *linear residual* network maps x to (I + A_L)⋯(I + A_1) x with square "
             "layers A_j. For the squared loss against a linear target, every critical point with max_j ‖A_j‖₂ < 1 "
             "is a global minimum (their Theorem 2.2, for any bound τ < 1 on the layer norms); and when the "
             "least-squares map has a positive determinant, a global minimum exists in that region once L is "
             "large enough (their Theorem 2.1). The reason: the gradient with respect to A_j is the error "
             "matrix multiplied on both sides by products of the other factors I + A_i, all invertible when "
             "‖A_i‖₂ < 1, so a zero gradient means zero error. Hence a non-global critical point must have a "
             "singular factor, so some ‖A_j‖₂ ≥ 1: the region is exactly where the argument holds.", "",
             "**Our run.** `landscape linear-resnet` (docs/landscape.md, section \"`landscape linear-resnet`\"): from "
             "random starts at each radius r0 = max_j ‖A_j‖₂, Levenberg–Marquardt on ∇R = 0 with the exact "
             "Hessian (the scheme of the deep-ResNet finder, no kinks here) finds critical points of any index; "
             "each gets its gap R − R* to the least-squares optimum (global when within "
             f"--gap-tol {cfg['gap_tol']:g} of R*, at least 1e-12·tr S_yy), its radius, min_j σ_min(I + A_j) and the inertia of its "
             f"Hessian by LDLᵀ counts (negative below −{cfg['eig_tol']:g}·|λ|max); a non-global point without "
             "negative curvature gets an escape probe in the Hessian's near-null space "
             "(\"h.o. saddle\" when R falls at every probe radius, \"undecided\" when at some of them only, a "
             "non-global minimum when it never falls).", "",
             *table(data), "",
             "Saddles by index (index×count; the index is the number of negative Hessian eigenvalues):", "",
             *index_lines(data), "",
             f"**Our numbers.** {t['points']} starts: {t['global']} global minima, {t['saddle']} saddles, "
             f"{t['higher']} higher-order saddles, {t['undecided']} undecided, {t['minima']} non-global local minima, {t['stuck']} not "
             f"converged. Of the critical points found inside the region (radius < {1 - BOUNDARY_BAND:g}; {t['boundary']} "
             f"found within {BOUNDARY_BAND:g} of radius 1, where the finder can stop short of a critical point on the "
             "boundary), "
             f"{t['inside'] - t['inside_bad']} of {t['inside']} are global"
             + (" — no exception to Theorem 2.2. " if not t["inside_bad"] else
                f" — {t['inside_bad']} would be exceptions to Theorem 2.2 (see the table). ")
             + f"The first non-global critical point found lies at radius {_opt(t['first'])}, and every "
             f"non-global one has min_j σ_min(I + A_j) ≤ {_opt(t['sigma'], '.1e')}"
             + (", a nearly singular factor, as the argument above requires." if t["sigma"] is not None
                and t["sigma"] < 1e-3 else ".") + " The radius 1 itself is sharp: A_1 = A_2 = −I (the others 0) is a "
             "critical point with risk tr S_yy, far above R* (tests/models/test_linear_residual.py). Where the least-squares map M* has no real logarithm, so no equal-layer root exp(log M*/L) (the raw targets: "
             "gaussian with negative real eigenvalues; digits singular, since one-hot labels sum to 1 while the "
             f"whitened inputs are centred), the finder found {t['no_root_inside']} critical points inside the "
             "region" + (", all its global minima outside." if not t["no_root_inside"] else ".") + " For the singular digits M* there can be none inside: "
             "every product of factors with ‖A_j‖₂ < 1 is invertible, so no global minimum lies there and, by "
             "Theorem 2.2, no critical point either.", "",
             f"![critical points of the gaussian residual-target run](figures/{NAME}.png)", "",
             "Commands (seed 0; each run is one cell of `resnet-cli reproduce hardt2017`):", "", "```"]
    lines += [command(name) for name in RUNS]
    lines += ["```", "",
              f"`make reproduce-hardt2017`: {record.get('wall', 0):.0f} s wall, {record.get('cpu', 0):.0f} CPU-s "
              f"({record_machine(record)}, {record.get('date', '?')}).", END]
    return "\n".join(lines) + "\n"


REPRODUCTION = Reproduction(
    name=NAME, summary="Hardt & Ma 2017 critical points of deep linear residual nets (landscape linear-resnet)",
    begin=BEGIN, end=END, build=build, section=section, draw=draw, after="<!-- yun2019:end -->")
