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
    write_record(ctx.docs, "stride-landscape", wall=wall, cpu=cpu, load=load, workers=ctx.execution.workers(),
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
    """M: a non-global local minimum, G: the global optimum, S (Sn): a saddle (of index n), ?: undecided;
    lower case (m, s, ?) once a fold was crossed: the followed minimum vanished, the descent is in another."""
    if row["kind"] == "global":
        return "G"
    if row["verdict"] == "undecided":
        return "?"
    letter = "M" if row["verdict"] == "local minimum" else f"S{row['index']}" if row["index"] else "S"
    return letter.lower() if row["kind"] == "moved" else letter


def _vanished(branch: list[dict[str, Any]]) -> tuple[int | None, str]:
    """Where the followed minimum vanished: (stride, how: "→ G" the descent reached the global optimum, "fold"
    it landed in another non-global minimum), (None, "") where it never did."""
    row = next((r for r in branch if r["kind"] != "spurious"), None)
    if row is None:
        return None, ""
    return row["stride"], "→ G" if row["kind"] == "global" else "fold"


def _teacher(seed: int, sweep: dict[str, Any]) -> tuple[str, list[bool], list[bool]]:
    """A table row and, per stride: the followed point is a non-global minimum / some non-global local
    minimum was found there (the followed point, the minimum its descent landed in after a fold, or the GD
    search's)."""
    branch = sweep["spurious_branch"]
    other = {s: sum(1 for r in sweep["found"] if r["stride"] == s and r["kind"] == "other"
                    and r["verdict"] == "local minimum") for s in sweep["strides"]}
    found = ", ".join(f"{s}: {n}" for s, n in other.items() if n) or "none"
    minimum = [r["kind"] != "global" and r["verdict"] == "local minimum" for r in branch]
    followed = [m and r["kind"] == "spurious" for m, r in zip(minimum, branch)]
    stride, how = _vanished(branch)
    gone = ("—" if stride is None else f"{stride} ({how})" if followed[0] else
            f"no minimum (G from {stride})" if how == "→ G" else "no minimum")
    row = f"| {seed} | {branch[0]['a_dot_astar']:.3f} | {' '.join(_letter(r) for r in branch)} | {gone} | {found} |"
    return row, followed, [m or other[r["stride"]] > 0 for m, r in zip(minimum, branch)]


def _counts(strides: list[int], flags: list[list[bool]], of: int) -> str:
    return ", ".join(f"s = {s}: {sum(f[i] for f in flags)}/{of}" for i, s in enumerate(strides))


def section(docs: Path) -> str:
    """The section, every number from docs/data.

    Long because its prose is one list of sentences that read the data in order (per teacher: `_teacher`,
    `_vanished`)."""
    data = {seed: read_json(docs / "data" / f"stride-landscape-seed-{seed}.json") for seed in range(TEACHERS)}
    record = read_record(docs, "stride-landscape")
    strides = data[0]["stride_sweep"]["strides"]
    rows, followed, anywhere = [], [], []
    for seed, payload in data.items():
        row, f, a = _teacher(seed, payload["stride_sweep"])
        rows.append(row), followed.append(f), anywhere.append(a)
    minima = [seed for seed, f in zip(data, followed) if f[0]]
    vanished = {seed: _vanished(data[seed]["stride_sweep"]["spurious_branch"]) for seed in minima}
    lost = "; ".join(f"{sum(1 for v in vanished.values() if v[0] == s)} at s = {s} ("
                     + ", ".join(f"{how}: {n}" for how in ("→ G", "fold")
                                 if (n := sum(1 for v in vanished.values() if v == (s, how))))
                     + ")" for s in strides[1:] if any(v[0] == s for v in vanished.values()))
    kept = [seed for seed in minima if vanished[seed][0] is None]
    gone = [seed for seed in minima if vanished[seed][0] is not None]
    if kept:
        survival = f"it survives to s = 1 for teacher{'s' if len(kept) > 1 else ''} {', '.join(map(str, kept))}"
    elif gone:
        last = min(gone, key=lambda seed: vanished[seed][0])  # it vanished at the smallest stride
        survival = f"the longest-lived one (teacher {last}) is a minimum down to s = {vanished[last][0] + 1}"
    else:
        survival = "none to follow"
    shown = data[SHOWN]["stride_sweep"]["spurious_branch"]
    moved = (f" (teacher {SHOWN} below: φ = {math.degrees(shown[1]['phi']):.0f}° at s = {shown[1]['stride']})"
             if shown[1]["kind"] == "spurious" else "")
    workers = record.get("workers")
    lines = [
        BEGIN, "## Overlapping filters: does the spurious local optimum survive? (`landscape two-layer --stride`)", "",
        f"Made by `make reproduce-stride-landscape` on {record.get('date', '?')}, seeds 0 … {TEACHERS - 1} (one "
        f"teacher each, p = 8, k = 4, the prior teacher law), in {record.get('wall', 0):.0f} s wall clock and "
        f"{record.get('cpu', 0):.0f} s of CPU ({record_machine(record)}"
        + (f"; {workers} teacher{'s' if workers != 1 else ''} at a time" if workers else "") + "). "
        "Patch i is the coordinates is … is + 7 of the input: at s = 8 they do not "
        "overlap (the model of Du et al. 2017 and Liu et al. 2019), at s = 1 neighbours share 7 of 8 "
        "coordinates. Method (docs/landscape.md, \"Overlapping filters\"): the spurious local minimum (−v*, ā) "
        "of s = 8 is followed by local descent (Newton with a positive-definite shift, steps ≤ 0.1, "
        "Armijo) through the homotopies (1 − t)L_{s+1} + tL_s, t = 1/8 … 1 (a step that moves the point by more "
        "than 0.2 is halved, up to 6 times: where it still jumps, the minimum followed has vanished at a fold and "
        "the descent landed in another one), then polished by Newton "
        "(‖∇L‖ < 1e-10) and classified by the exact tangent Hessian of the stride-s loss; at each s, normalized "
        f"GD from {FLAGS['trials']} random starts, finished by Newton, finds the other local minima.", "",
        "**Question.** Du et al. 2017 and Liu et al. 2019 prove a spurious local optimum for non-overlapping "
        "patches. Does it survive overlap, and where along s does it disappear or move?", "",
        f"**Our answer.** Of {TEACHERS} teachers, {len(minima)} have a spurious local minimum at s = 8 "
        f"(āᵀa* < 0; {'the other one' if TEACHERS - len(minima) == 1 else 'the others'} a degenerate saddle). "
        "Followed along s, it vanishes — the descent reaches the "
        "global optimum (→ G) or, past a fold, another non-global minimum (fold) — "
        f"{lost or 'never'}; {survival}. While it survives it moves off φ = 180° at once{moved}. Non-global "
        "minima exist with overlap: counting the followed point, the minima its descent landed in and the GD "
        f"search's minima, teachers with a non-global local minimum: {_counts(strides, anywhere, TEACHERS)}. "
        "So the particular spurious optimum of the non-overlapping net vanishes along s, but overlap does not "
        "make the landscape benign.", "",
        "Per teacher: āᵀa* at s = 8, the followed point at s = 8 … 1 (M non-global local minimum, G the "
        "global optimum, S a saddle — at s = 8 degenerate, decided by probing —, Sn of index n; lower case m "
        "after a fold: another non-global minimum), the stride where the followed minimum vanished, and the "
        "other non-global local minima GD found (stride: count).", "",
        "| seed | āᵀa* | followed point, s = 8 … 1 | vanished at s | other minima (s: n) |",
        "|---:|---:|---|---:|---|", *rows, "",
    ]
    lines += [f"Teacher {SHOWN} (the example teacher of docs/landscape.md), the followed point:", "",
              "| s | loss | φ (deg) | aᵀa* | ‖∇L‖ | λmin | index | verdict |", "|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in shown:
        verdict = ("global optimum" if r["kind"] == "global" else
                   f"{r['verdict']} (another: past a fold)" if r["kind"] == "moved" else r["verdict"])
        lines.append(f"| {r['stride']} | {_number(r['loss'])} | {math.degrees(r['phi']):.1f} | {r['a_dot_astar']:.3f} | "
                     f"{r['grad_norm']:.1e} | {_number(r['hessian_min'])} | {r['index']} | {verdict} |")
    lines += ["", "![the followed point per teacher and stride; teachers with a spurious minimum against s]"
              "(figures/stride-landscape.png)", "", "Command (one per seed): `" + command(0) + "`", END]
    return "\n".join(lines) + "\n"


REPRODUCTION = Reproduction(
    name="stride-landscape", summary="the spurious optimum along s = p … 1 (landscape two-layer --stride 1)",
    begin=BEGIN, end=END, build=build, section=section, draw=draw, after="<!-- liu2019-beyond:end -->")
