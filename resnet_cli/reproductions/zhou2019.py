"""Zhou et al. 2019, "Toward understanding the importance of noise in training neural networks" (ICML): perturbed
GD with annealed noise on the two-layer net of Liu et al. 2019 (`make reproduce-zhou2019`).

Runs (seed 0, each a cell of `executor.run_cells`, largest first): the liu2019-success grid (p = 8, k = 4…100)
with the *-noise methods beside cnn-large-w, cnn-large-both and resnet-ssw (200 trials); the rate of cnn-noise
at k = 16 against the noise level σ0 and the annealing (none, exponential at three rates, polynomial: 25
`success-rate` commands, run as one batch, `level_cells`); and
the CNN started at the spurious point itself (φ0 = π, a0 = ā) and at φ0 = 3π/4 (a0 = ā), trained by plain
GD and by perturbed GD under each annealing, on the two base schedules (large-w, large-both), k = 4, 16, 100.
Perturbed minibatch SGD (N = 256 samples, batches of B = 8, the default noise) against plain SGD at k = 4, 16:
from random starts (cnn-noise beside cnn-large-both, the same steps) and from the spurious point itself.
Cut to fit 5 minutes on 2 cores (the section says the time it took).
"""

from __future__ import annotations

import functools
import math
import time
from pathlib import Path
from typing import Any

from resnet_cli.models.two_layer.noise import DEFAULT_SIZE
from resnet_cli.reproductions.common import (Context, Reproduction, command_line, load_average, read_json, read_record,
                                             record_machine, run_tasks, write_json, write_record)

BEGIN, END = "<!-- zhou2019:begin -->", "<!-- zhou2019:end -->"
NAME = "zhou2019"
SEED = 0
GRID = {"method": ["cnn-large-w", "cnn-large-both", "resnet-ssw", "cnn-noise", "resnet-noise"], "trials": 200,
        "jobs": 1}
SIZES = [0.1, 0.3, 1.0, 3.0, 10.0]
ANNEALS = [("exponential", 3.0), ("exponential", 10.0), ("exponential", 30.0), ("polynomial", 100.0), ("none", 0.0)]
LEVELS = {"k": [16], "method": ["cnn-noise"], "trials": 200, "jobs": 1}
SPURIOUS_KS = [4, 16, 100]
SPURIOUS_TRIALS = 100
SPURIOUS_SIZES = [1.0, 3.0]
BASES = {"large-w": "large-w", "large-both": "large-both"}
SGD = {"samples": 256, "batch": 8}
SGD_KS = [4, 16]
SGD_TRIALS = 200
SGD_RANDOM = {"config": "liu2019-success", "method": ["cnn-large-both", "cnn-noise"], "trials": SGD_TRIALS, **SGD,
              "jobs": 1}

#: The noise-level runs: name -> the flags of its `success-rate` command (one cell each, p = 8, k = 16).
LEVEL_RUNS: dict[str, dict[str, Any]] = {
    f"level-{size:g}-{kind}-{rate:g}": {**LEVELS, "noise": size, "noise_anneal": kind, "noise_rate": rate}
    for size in SIZES for kind, rate in ANNEALS}

#: name -> (what runs, flags as typed, relative cost); "levels" runs every command of LEVEL_RUNS
RUNS: dict[str, tuple[str, dict[str, Any], float]] = {
    "grid": ("success-rate", {"config": "liu2019-success", **GRID}, 40),
    "levels": ("levels", {}, len(LEVEL_RUNS) * 0.6),
    **{f"spurious-{k}-{base}": ("spurious", {"k": k, "base": base}, k / 8) for k in SPURIOUS_KS for base in BASES},
    **{f"sgd-{k}": ("success-rate", {**SGD_RANDOM, "k": [k]}, 4 + k / 4) for k in SGD_KS},
    **{f"sgd-spurious-{k}": ("spurious-sgd", {"k": k}, 3 + k / 4) for k in SGD_KS},
}


def command(name: str) -> str:
    cmd, flags, _ = ("success-rate", LEVEL_RUNS[name], 1) if name in LEVEL_RUNS else RUNS[name]
    if name.startswith("sgd-"):  # the random-start SGD runs are the cells of one command
        flags = {**flags, "k": SGD_KS}
    shown = {key: value for key, value in flags.items() if key != "jobs"}
    config = ["--config", shown.pop("config")] if "config" in shown else []
    return command_line(cmd, shown, *config, "--seed", str(SEED), "--quiet")


def laws(steps: int, size: float) -> dict[str, Any]:
    """The laws of the spurious-start runs: plain GD and σ0 = `size` under each annealing."""
    from resnet_cli.models.two_layer import noise as nz

    return {"plain GD": None, **{f"{kind} {rate:g}" if kind != "none" else "none": nz.Noise(
        size, kind, rate, "w", steps) for kind, rate in ANNEALS}}


def run_one(task: tuple[str, dict[str, Any]]) -> tuple[Any, float]:
    """One run as a cell: (its payload, its seconds)."""
    from resnet_cli import api
    from resnet_cli.experiments import noise as en, two_layer_settings as tls
    from resnet_cli.experiments.success_rate import SuccessSettings

    kind, flags = task
    start = time.perf_counter()
    if kind == "success-rate":
        flags = dict(flags)
        preset = flags.pop("config", None)
        payload: Any = api.run(SuccessSettings.resolve(preset, {**flags, "seed": SEED})).to_dict()
    elif kind == "levels":
        payload = level_cells()
    elif kind == "spurious-sgd":  # plain and perturbed minibatch SGD (the default noise) from (−v*, ā)
        s = SuccessSettings.resolve(None, {"trials": SGD_TRIALS, "seed": SEED, "teacher_v": "sphere", **SGD})
        steps = tls.total_steps(s, flags["k"])
        chosen = {"plain SGD": None, "perturbed SGD": en.noise_law(s, steps)}
        found = en.spurious_starts(s, 8, flags["k"], [math.pi], list(chosen.values()), "large-both")
        payload = {"k": flags["k"], "trials": SGD_TRIALS, "rows": [{**row, "name": name} for row, name in zip(found, chosen)]}
    else:
        s = SuccessSettings.resolve(None, {"trials": SPURIOUS_TRIALS, "seed": SEED, "teacher_v": "sphere"})
        by_size = {size: laws(tls.total_steps(s, flags["k"]), size) for size in SPURIOUS_SIZES}
        # Every size in one call: plain GD (law 0 of each size's list, the same run) once, and the noisy runs of
        # all sizes as one state array, each law drawing from the stream it has in its own size's list.
        noisy = [(j, law) for chosen in by_size.values() for j, law in enumerate(chosen.values()) if law is not None]
        found = en.spurious_starts(s, 8, flags["k"], [math.pi], [None] + [law for _, law in noisy],
                                   BASES[flags["base"]], streams=[0] + [j for j, _ in noisy])
        plain, rest = found[0], iter(found[1:])
        rows = [{**(plain if law is None else next(rest)), "name": name, "size": size}
                for size, chosen in by_size.items() for name, law in chosen.items()]
        payload = {"k": flags["k"], "base": flags["base"], "trials": SPURIOUS_TRIALS, "rows": rows}
    return payload, time.perf_counter() - start


def level_cells() -> dict[str, Any]:
    """The cell of every command of LEVEL_RUNS, as `success-rate` gives it, all as one batch
    (`success_rate.run_pks`): the 25 perturbed runs of k = 16 share one state array, each with its own noise
    law and stream, so the per-step overhead is paid once (the cells of the commands run one by one, bit for
    bit: tests/cli/test_reproduce.py)."""
    from resnet_cli.experiments import success_rate as sr, sweep

    settings = [sr.SuccessSettings.resolve(None, {**flags, "seed": SEED}) for flags in LEVEL_RUNS.values()]
    tasks = [sr.PkTask(sweep.cell_settings(s), p, k) for s in settings for p in s.p for k in s.k]
    cells = sr.run_pks(sr.PkGroup(tuple(tasks)))
    return {name: cell[0].to_dict() for name, cell in zip(LEVEL_RUNS, cells)}


def build(ctx: Context) -> None:
    names, load = list(RUNS), load_average()
    results, wall, cpu = run_tasks(ctx, run_one, [RUNS[n][:2] for n in names], [RUNS[n][2] for n in names])
    data = {name: payload for name, (payload, _) in zip(names, results)}
    write_json(ctx.data(f"{NAME}-grid"), data["grid"])
    write_json(ctx.data(f"{NAME}-levels"), data["levels"])
    write_json(ctx.data(f"{NAME}-spurious"), [data[n] for n in names if n.startswith("spurious-")])
    write_json(ctx.data(f"{NAME}-sgd"), {"random": [data[f"sgd-{k}"] for k in SGD_KS],
                                         "spurious": [data[f"sgd-spurious-{k}"] for k in SGD_KS]})
    write_record(ctx.docs, NAME, wall=wall, cpu=cpu, load=load)


def _rate(c: dict) -> str:
    return f"{c['rate']:.3f} [{c['ci_low']:.3f}, {c['ci_high']:.3f}]"


def grid_lines(grid: dict) -> list[str]:
    methods = grid["config"]["method"]
    lines = ["| k | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for k in grid["config"]["k"]:
        cells = {c["method"]: c for c in grid["cells"] if c["k"] == k}
        lines.append(f"| {k} | " + " | ".join(_rate(cells[m]) for m in methods) + " |")
    return lines


def level_lines(levels: dict) -> list[str]:
    heads = [f"{kind} r = {rate:g}" if kind != "none" else "none (σ_t = σ0)" for kind, rate in ANNEALS]
    lines = ["| σ0 | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for size in SIZES:
        row = []
        for kind, rate in ANNEALS:
            c = levels[f"level-{size:g}-{kind}-{rate:g}"]
            row.append(f"{c['rate']:.2f} ({c['global']}/{c['spurious']}/{c['undecided']})")
        lines.append(f"| {size:g} | " + " | ".join(row) + " |")
    return lines


def spurious_lines(runs: list[dict]) -> list[str]:
    from resnet_cli.experiments.success_rate import wilson_interval

    names = list(dict.fromkeys(row["name"] for row in runs[0]["rows"]))
    lines = ["| k | base | σ0 | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    for run in runs:
        for size in SPURIOUS_SIZES:
            row = []
            for name in names:
                r = next(x for x in run["rows"] if x["name"] == name and x["size"] == size)
                low, high = wilson_interval(r["global"], run["trials"])
                row.append(f"{r['global']}/{r['spurious']}/{r['undecided']} [{low:.2f}, {high:.2f}]")
            lines.append(f"| {run['k']} | {run['base']} | {size:g} | " + " | ".join(row) + " |")
    return lines


def _counts(global_: int, spurious: int, undecided: int, trials: int) -> str:
    from resnet_cli.experiments.success_rate import wilson_interval

    low, high = wilson_interval(global_, trials)
    return f"{global_}/{spurious}/{undecided} [{low:.2f}, {high:.2f}]"


def sgd_table(sgd: dict) -> dict[tuple[int, str], dict[str, tuple[int, int, int, int]]]:
    """(k, start) -> {"plain": (global, spurious, undecided, trials), "perturbed": ...} of the SGD runs."""
    out: dict[tuple[int, str], dict[str, tuple[int, int, int, int]]] = {}
    for run in sgd["random"]:
        for c in run["cells"]:
            key = "perturbed" if c["method"] == "cnn-noise" else "plain"
            out.setdefault((c["k"], "random"), {})[key] = (c["global"], c["spurious"], c["undecided"], c["trials"])
    for run in sgd["spurious"]:
        for row in run["rows"]:
            key = "perturbed" if row["name"] == "perturbed SGD" else "plain"
            out.setdefault((run["k"], "spurious"), {})[key] = (row["global"], row["spurious"], row["undecided"],
                                                               run["trials"])
    return out


def sgd_lines(sgd: dict) -> list[str]:
    table = sgd_table(sgd)
    lines = ["| k | start | plain SGD (cnn-large-both) | perturbed SGD (cnn-noise) |", "|---|---|---|---|"]
    for (k, start), cells in sorted(table.items(), key=lambda item: (item[0][1] != "random", item[0][0])):
        where = "random (liu2019-success)" if start == "random" else "spurious point (−v*, ā)"
        lines.append(f"| {k} | {where} | {_counts(*cells['plain'])} | {_counts(*cells['perturbed'])} |")
    return lines


def _share(table: dict, k: int, start: str, key: str) -> str:
    """"global/trials" of one SGD cell of `sgd_table` (key: "plain" or "perturbed")."""
    won, _, _, trials = table[(k, start)][key]
    return f"{won}/{trials}"


def sgd_reading(sgd: dict) -> list[str]:
    table = sgd_table(sgd)
    share = functools.partial(_share, table)
    return [
        "Plain minibatch SGD has noise of its own: at the spurious point of the population loss the gradient of "
        "a minibatch is not zero, so it moves, and from there it reaches the global optimum in "
        + ", ".join(f"{share(k, 'spurious', 'plain')} at k = {k}" for k in SGD_KS)
        + "; with the annealed noise added (the same law as perturbed GD) "
        + ", ".join(f"{share(k, 'spurious', 'perturbed')}" for k in SGD_KS)
        + ". From random starts plain SGD reaches "
        + ", ".join(f"{share(k, 'random', 'plain')}" for k in SGD_KS)
        + " and perturbed SGD " + ", ".join(f"{share(k, 'random', 'perturbed')}" for k in SGD_KS)
        + f" (k = {', '.join(map(str, SGD_KS))}).",
        "",
    ]


def claims(grid: dict, at: dict, sgd: dict) -> list[str]:
    """The claim table: the paper's claims beside our rates (grid) and escapes from the spurious point (at)."""
    by = lambda m: [c for c in grid["cells"] if c["method"] == m]  # noqa: E731
    table = sgd_table(sgd)
    noise_rates = [c["rate"] for m in ("cnn-noise", "resnet-noise") for c in by(m)]
    base = {m: [c["rate"] for c in by(m)] for m in ("cnn-large-w", "cnn-large-both")}
    both = [at[(k, "large-both", "exponential 10")]["global"] for k in SPURIOUS_KS]
    wide = [at[(k, "large-w", "exponential 10")]["global"] for k in SPURIOUS_KS]
    return [
        "| claim | ours |",
        "|---|---|",
        f"| plain GD on the CNN is trapped with constant probability | cnn-large-w {min(base['cnn-large-w']):.3f}–"
        f"{max(base['cnn-large-w']):.3f}, cnn-large-both {min(base['cnn-large-both']):.3f}–"
        f"{max(base['cnn-large-both']):.3f} over k = 4…100 |",
        f"| annealed noise reaches the global optimum (random starts) | cnn-noise and resnet-noise "
        f"{min(noise_rates):.3f}–{max(noise_rates):.3f} over k = 4…100 |",
        "| … from any initialization (started at the spurious point itself) | large-both + exponential r = 10: "
        + ", ".join(f"{g}/{SPURIOUS_TRIALS} at k = {k}" for g, k in zip(both, SPURIOUS_KS))
        + f"; plain GD {sum(at[(k, 'large-both', 'plain GD')]['global'] for k in SPURIOUS_KS)} of "
        f"{len(SPURIOUS_KS) * SPURIOUS_TRIALS}; on the large-w steps (a's small stage-I step η_a until T1): "
        + ", ".join(f"{g}/{SPURIOUS_TRIALS}" for g in wide) + " |",
        "| … and so does perturbed minibatch SGD (N = {samples}, B = {batch}; from the spurious point) | ".format(**SGD)
        + ", ".join(f"{_share(table, k, 'spurious', 'perturbed')} at k = {k}" for k in SGD_KS)
        + "; plain SGD " + ", ".join(_share(table, k, "spurious", "plain") for k in SGD_KS) + " |",
    ]


def section(docs: Path) -> str:
    record = read_record(docs, NAME)
    grid = read_json(docs / "data" / f"{NAME}-grid.json")
    levels = read_json(docs / "data" / f"{NAME}-levels.json")
    spurious = read_json(docs / "data" / f"{NAME}-spurious.json")
    sgd = read_json(docs / "data" / f"{NAME}-sgd.json")
    at = {(run["k"], run["base"], row["name"]): row for run in spurious for row in run["rows"]
          if row["size"] == DEFAULT_SIZE}
    lines = [
        BEGIN,
        "## Zhou et al. 2019: annealed noise escapes the spurious optimum (perturbed GD and SGD)",
        "",
        "**Claim, in our words** (Zhou et al., \"Toward understanding the importance of noise in training neural "
        "networks\", ICML 2019; not in the texts we hold, so cited by title and venue): on the same two-layer "
        "non-overlapping CNN with its spurious local optimum, gradient descent whose gradient is perturbed by "
        "Gaussian noise that is annealed over time reaches the global optimum from any initialization, where plain "
        "GD is trapped with constant probability.",
        "",
        f"Made by `make reproduce-zhou2019` (`resnet-cli reproduce zhou2019`) on {record.get('date', '?')}, seed "
        f"{SEED}, {record.get('wall', 0.0):.0f} s wall clock, {record.get('cpu', 0.0):.0f} s CPU (2 runs at a time; the "
        "CPU time is the measure of its size: the wall clock depends on what else the machine runs; "
        f"{record_machine(record)}). "
        "The method (models/two_layer/noise.py): GD with normalization, the step on w (and/or a) taken along the "
        "gradient plus ξ_t ~ N(0, (σ_t‖a*‖²)² I) (‖a*‖ for a), σ_t annealed on the clock t/T; defaults "
        f"σ0 = {DEFAULT_SIZE:g}, exponential σ0·exp(−10 t/T), noise on w; the *-noise methods use the large-both "
        "step sizes (Theorem 2's η on both layers from step 0). Perturbed runs use the vector engine (the noise leaves "
        "the plane of v0 and v* and a leaves span{a0, 1, a*}, so the exact plane reduction does not apply) and no "
        "early stops. Rates are shares of trials ending global, 95% Wilson interval in brackets.",
        "",
        *claims(grid, at, sgd),
        "",
        f"### The liu2019-success grid, 200 trials (`{command('grid')}`)",
        "",
        *grid_lines(grid),
        "",
        f"### Rate against the noise level and the annealing, cnn-noise, k = 16, 200 trials (`{command(next(iter(LEVEL_RUNS)))}` and its siblings)",
        "",
        "Each cell: rate (global/spurious/undecided). r is the rate of the annealing on t/T.",
        "",
        *level_lines(levels),
        "",
        "### From the spurious point: the CNN started at (−v*, ā) itself, "
        f"{SPURIOUS_TRIALS} trials, teacher v* uniform (experiments/noise.py `spurious_starts`)",
        "",
        "Each cell: global/spurious/undecided [95% Wilson interval of the global share]; noise on w. Plain GD "
        "never moves there (the gradient vanishes at the critical point).",
        "",
        *spurious_lines(spurious),
        "",
        *reading(levels, spurious),
        *sgd_section(sgd),
        END,
    ]
    return "\n".join(lines)


def sgd_section(sgd: dict) -> list[str]:
    """The subsection on perturbed minibatch SGD against plain SGD (table and reading)."""
    return [
        f"### Perturbed minibatch SGD against plain SGD, N = {SGD['samples']}, B = {SGD['batch']}, p = 8",
        "",
        f"The same noise law and annealing as above (the defaults: σ0 = {DEFAULT_SIZE:g}, exponential r = 10, on w) "
        "added to the gradient of each minibatch (models/two_layer/noise.py `Perturbation` on samples.py's SGD "
        "state); plain SGD is cnn-large-both, the same steps without the added noise; outcomes are judged on the "
        "population loss. Random starts: "
        f"{SGD_TRIALS} trials per cell, teachers and starts of the liu2019-success preset (`{command('sgd-4')}`). "
        f"From the spurious point: {SGD_TRIALS} teachers v* uniform, the CNN started at (−v*, ā) on the large-both "
        "steps, plain and perturbed SGD on the same training set and minibatches (experiments/noise.py "
        f"`spurious_starts` with --samples {SGD['samples']} --batch {SGD['batch']}, seed {SEED}). Each cell: "
        "global/spurious/undecided [95% Wilson interval of the global share].",
        "",
        *sgd_lines(sgd),
        "",
        *sgd_reading(sgd),
    ]


def reading(levels: dict, spurious: list[dict]) -> list[str]:
    """Which schedules reproduce "from any initialization", read off the tables: the laws that take at least 90%
    of the trials from the spurious point to the global optimum at every k (per base and σ0)."""
    names = [name for name in dict.fromkeys(r["name"] for r in spurious[0]["rows"]) if name != "plain GD"]
    found = []
    for base in BASES:
        for size in SPURIOUS_SIZES:
            good = [name for name in names if all(r["global"] >= 0.9 * run["trials"] for run in spurious
                                                  if run["base"] == base for r in run["rows"]
                                                  if r["name"] == name and r["size"] == size)]
            found.append(f"{base}, σ0 = {size:g}: {', '.join(good) if good else 'none'}")
    none = [levels[f"level-{size:g}-none-0"]["undecided"] for size in SIZES]
    slow = [levels[f"level-{size:g}-exponential-3"]["undecided"] for size in SIZES]
    poly = [levels[f"level-{size:g}-polynomial-100"]["undecided"] for size in SIZES]
    return [
        "**Which schedules reproduce it.** Laws that bring at least 90% of the trials from the spurious point "
        f"to the global optimum at every k = {', '.join(map(str, SPURIOUS_KS))}: " + "; ".join(found) + ". "
        "The noise must be large enough to leave the basin and annealed to (nearly) zero within the run to let "
        f"the filter settle. Not annealed (σ_t = σ0) the runs never settle (undecided at k = 16: "
        f"{', '.join(map(str, none))} of 200 for σ0 = {', '.join(f'{x:g}' for x in SIZES)}); annealed slowly "
        f"(exponential r = 3: σ_T = 0.05σ0; {', '.join(map(str, slow))} undecided) or polynomially "
        f"(σ_T = σ0/101: {', '.join(map(str, poly))} undecided) they are still jittering at T; too small a σ0 "
        "never leaves the basin and the rate falls back to plain GD's. The noise needed grows with k: the step "
        "is Theorem 2's η = min{m/(2M²), 5π²/(4(k + π − 1)²)}, here with m = M = ‖a*‖² (docs/train.md), whose second term caps η‖a*‖² below 1/2 "
        "for k ≳ 20, so the same σ0 (in units of ‖a*‖²) moves the filter less. On the large-w steps the escape "
        "fails as k grows: a moves with Theorem 1's small η_a until T1 (most of the run at large k), so it stays "
        "against a* while the noise is high, and the filter returns to −v* once the noise has decayed.",
        "",
    ]


REPRODUCTION = Reproduction(
    name=NAME, summary="Zhou et al. 2019: perturbed GD and SGD with annealed noise",
    begin=BEGIN, end=END, build=build, section=section)
