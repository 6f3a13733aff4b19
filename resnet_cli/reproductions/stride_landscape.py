"""Does the spurious local optimum of the non-overlapping two-layer net survive overlapping filters?
(`make reproduce-stride-landscape`; docs/landscape.md, "Overlapping filters").

Runs `landscape two-layer --stride 1` (the sweep s = p … 1) for TEACHERS teachers (one per seed, p = 8, k = 4,
the default teacher law) and writes the "Overlapping filters" section of reproductions.md from
data/stride-landscape-seed-*.json: per teacher the verdict of the spurious point continued from s = p at
every stride, the other non-global local minima the GD search found, and one teacher's numbers. The basin
map is cut to one cell (it is not the question here). Each command is one cell of `executor.run_cells`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from resnet_cli.reproductions.common import (Context, Reproduction, command_line, load_average, read_json, read_record,
                                             record_machine, run_tasks, write_json, write_record)

BEGIN, END = "<!-- stride-landscape:begin -->", "<!-- stride-landscape:end -->"
TEACHERS = 12  # seeds 0 … TEACHERS − 1
SHOWN = 1  # the teacher whose numbers the section prints (docs/landscape.md's example teacher)
FLAGS: dict[str, Any] = {"p": 8, "k": 4, "stride": 1, "trials": 32, "basin_phi": 1, "basin_a": 1,
                         "schedule": ["ssw"], "steps": 1}


def command(seed: int) -> str:
    return command_line("landscape two-layer", FLAGS, "--seed", str(seed), "--quiet", "--out",
                        f"docs/data/stride-landscape-seed-{seed}.json")


def run_one(seed: int) -> tuple[dict[str, Any], float]:
    """One teacher as a cell: (its --json payload, its CPU seconds)."""
    from resnet_cli import api
    from resnet_cli.experiments.two_layer import LandscapeSettings

    start = time.process_time()
    payload = api.run(LandscapeSettings.resolve(None, {**FLAGS, "seed": seed})).to_dict()
    return payload, time.process_time() - start


def build(ctx: Context) -> None:
    seeds = list(range(TEACHERS))
    # largest first: each teacher weighs the CPU seconds it took in the last run (1 when there is none)
    last = read_record(ctx.docs, "stride-landscape").get("cell_cpu", {})
    weights = [float(last.get(str(seed), 1.0)) for seed in seeds]
    load = load_average()
    results, wall, cpu = run_tasks(ctx, run_one, seeds, weights, "teachers")
    for seed, (payload, _) in zip(seeds, results):
        write_json(ctx.data(f"stride-landscape-seed-{seed}"), payload)
    write_record(ctx.docs, "stride-landscape", wall=wall, cpu=cpu, load=load,
                 cell_cpu={str(seed): round(seconds, 2) for seed, (_, seconds) in zip(seeds, results)})


def draw(docs: Path) -> None:
    from resnet_cli.plots import two_layer as plots

    (docs / "figures").mkdir(parents=True, exist_ok=True)
    sweeps = {seed: read_json(docs / "data" / f"stride-landscape-seed-{seed}.json")["stride_sweep"]
              for seed in range(TEACHERS)}
    plots.stride_sweeps(sweeps, str(docs / "figures" / "stride-landscape.png"))


def _number(x: float) -> str:
    """x to 4 decimals; 0 when it rounds to zero (no −0.0000 for a loss or eigenvalue at rounding level)."""
    return "0" if abs(x) < 5e-5 else f"{x:.4f}"


def _letter(row: dict[str, Any]) -> str:
    """M: a non-global local minimum, G: the global optimum, S (Sn): a saddle (of index n), ?: undecided."""
    if row["kind"] == "global":
        return "G"
    if row["verdict"] == "undecided":
        return "?"
    return "M" if row["verdict"] == "local minimum" else f"S{row['index']}" if row["index"] else "S"


def _teacher(seed: int, sweep: dict[str, Any]) -> tuple[str, list[bool], list[bool]]:
    """A table row and, per stride: the followed point is a non-global minimum / some non-global local
    minimum was found there (the followed point or the GD search's)."""
    branch = sweep["spurious_branch"]
    other = {s: sum(1 for r in sweep["found"] if r["stride"] == s and r["kind"] == "other"
                    and r["verdict"] == "local minimum") for s in sweep["strides"]}
    found = ", ".join(f"{s}: {n}" for s, n in other.items() if n) or "none"
    followed = [r["kind"] == "spurious" and r["verdict"] == "local minimum" for r in branch]
    gone = next((str(r["stride"]) for r in branch if r["kind"] == "global"), "—")
    row = f"| {seed} | {branch[0]['a_dot_astar']:.3f} | {' '.join(_letter(r) for r in branch)} | {gone} | {found} |"
    return row, followed, [f or other[r["stride"]] > 0 for f, r in zip(followed, branch)]


def _counts(strides: list[int], flags: list[list[bool]], of: int) -> str:
    return ", ".join(f"s = {s}: {sum(f[i] for f in flags)}/{of}" for i, s in enumerate(strides))


def section(docs: Path) -> str:
    data = {seed: read_json(docs / "data" / f"stride-landscape-seed-{seed}.json") for seed in range(TEACHERS)}
    record = read_record(docs, "stride-landscape")
    strides = data[0]["stride_sweep"]["strides"]
    rows, followed, anywhere = [], [], []
    for seed, payload in data.items():
        row, f, a = _teacher(seed, payload["stride_sweep"])
        rows.append(row), followed.append(f), anywhere.append(a)
    minima = [f for f in followed if f[0]]
    lost_at = [next((s for s, m in zip(strides, f) if not m), None) for f in minima]
    first_lost = {s: lost_at.count(s) for s in strides[1:] if lost_at.count(s)}
    lost = ", ".join(f"{n} at s = {s}" for s, n in first_lost.items())
    lines = [
        BEGIN, "## Overlapping filters: does the spurious local optimum survive? (`landscape two-layer --stride`)", "",
        f"Made by `make reproduce-stride-landscape` on {record.get('date', '?')}, seeds 0 … {TEACHERS - 1} (one "
        f"teacher each, p = 8, k = 4, the prior teacher law), in {record.get('wall', 0):.0f} s wall clock and "
        f"{record.get('cpu', 0):.0f} s of CPU ({record_machine(record)}; two teachers at a time, the machine "
        "shared with other jobs). Patch i is the coordinates is … is + 7 of the input: at s = 8 they do not "
        "overlap (the model of Du et al. 2017 and Liu et al. 2019), at s = 1 neighbours share 7 of 8 "
        "coordinates. Method (docs/landscape.md, \"Overlapping filters\"): the spurious local minimum (−v*, ā) "
        "of s = 8 is followed by local descent (Newton with a positive-definite shift, steps ≤ 0.1, "
        "Armijo) through the homotopies (1 − t)L_{s+1} + tL_s, t = 1/8 … 1, then polished by Newton "
        "(‖∇L‖ < 1e-10) and classified by the exact tangent Hessian of the stride-s loss; at each s, normalized "
        f"GD from {FLAGS['trials']} random starts, finished by Newton, finds the other local minima.", "",
        "**Question.** Du et al. 2017 and Liu et al. 2019 prove a spurious local optimum for non-overlapping "
        "patches. Does it survive overlap, and where along s does it disappear or move?", "",
        f"**Our answer.** Of {TEACHERS} teachers, {len(minima)} have a spurious local minimum at s = 8 "
        "(āᵀa* < 0; the others a degenerate saddle). Followed along s, it stops being a non-global minimum "
        f"(the descent reaches the global optimum: the minimum has vanished) — {lost or 'never'}; while it "
        "survives it moves off φ = 180° at once (teacher 1 below: 131° at s = 7). Still non-global minima "
        "exist with overlap: counting the followed point and the GD search's minima, teachers with a "
        f"non-global local minimum: {_counts(strides, anywhere, TEACHERS)}. So the particular spurious "
        "optimum of the non-overlapping net does not survive much overlap, but overlap does not make the "
        "landscape benign: other spurious minima appear, most often at the smallest strides.", "",
        "Per teacher: āᵀa* at s = 8, the followed point at s = 8 … 1 (M non-global local minimum, G the "
        "global optimum, S a saddle — at s = 8 degenerate, decided by probing —, Sn of index n), the first "
        "stride where it is global, and the other non-global local minima GD found (stride: count).", "",
        "| seed | āᵀa* | followed point, s = 8 … 1 | global at s | other minima (s: n) |",
        "|---:|---:|---|---:|---|", *rows, "",
    ]
    shown = data[SHOWN]["stride_sweep"]["spurious_branch"]
    lines += [f"Teacher {SHOWN} (the example teacher of docs/landscape.md), the followed point:", "",
              "| s | loss | φ (deg) | aᵀa* | ‖∇L‖ | λmin | index | verdict |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in shown:
        verdict = "global optimum" if r["kind"] == "global" else r["verdict"]
        lines.append(f"| {r['stride']} | {_number(r['loss'])} | {math.degrees(r['phi']):.1f} | {r['a_dot_astar']:.3f} | "
                     f"{r['grad_norm']:.1e} | {_number(r['hessian_min'])} | {r['index']} | {verdict} |")
    lines += ["", "![the followed point per teacher and stride; teachers with a spurious minimum against s]"
              "(figures/stride-landscape.png)", "", "Command (one per seed): `" + command(0) + "`", END]
    return "\n".join(lines) + "\n"


REPRODUCTION = Reproduction(
    name="stride-landscape", summary="the spurious optimum along s = p … 1 (landscape two-layer --stride 1)",
    begin=BEGIN, end=END, build=build, section=section, draw=draw, after="<!-- liu2019-beyond:end -->")
