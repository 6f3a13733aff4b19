"""Li et al. (2017), Figures 5, 9 and 10 with `resnet-cli depth-sweep` (`make reproduce-li2017`).

Declared: the presets li2017-fig5/9/10, seed 0. Each figure is `DepthSweepSettings.resolve("li2017-figN",
{"seed": 0})` run by the experiment's `run` (its cells through `executor.run_cells`: --jobs, --dask, --cache),
the same path as `resnet-cli depth-sweep --config li2017-figN --seed 0`; its JSON result goes to
data/li2017-figN.json, its figure to figures/li2017-figN.png, and the "Li et al. 2017" section of
reproductions.md is (re)written with the paper's claims beside our numbers. --quick is a smoke test: depths
6 and 12, 2 trials, 50 steps, 3 learning rates (seconds, not minutes).
"""

from __future__ import annotations

from pathlib import Path

from resnet_cli.experiments import depth_sweep as ds
from resnet_cli.render.shortcut import cell_text
from resnet_cli.report import fmt
from resnet_cli.resources import format_duration
from resnet_cli.reproductions.common import (Context, Reproduction, check_parts, read_json,
                                             read_record, record_machine, stored, timed_payload, write_json,
                                             write_record)

BEGIN = "<!-- li2017:begin -->"
END = "<!-- li2017:end -->"
FIGURES = ("fig5", "fig9", "fig10")
SEED = 0
# --quick: a few seconds per figure, to check the path end to end (not a reproduction).
QUICK = {"depth": [6, 12], "trials": 2, "steps": 50, "lr": [0.01, 0.1, 1.0]}


def preset_settings(name: str, quick: bool = False, execution: dict | None = None) -> ds.DepthSweepSettings:
    """The settings of one figure: the preset, seed 0 (and the --quick sizes, where the cells run)."""
    overrides: dict = {"seed": SEED, **(execution or {})}
    if quick:
        overrides.update(QUICK)
    return ds.DepthSweepSettings.resolve(f"li2017-{name}", overrides)


def build(ctx: Context) -> None:
    for name in check_parts(REPRODUCTION, ctx.execution.only):
        settings = preset_settings(name, ctx.execution.quick, ctx.execution.cells())
        ctx.log(f"resnet-cli depth-sweep --config li2017-{name} --seed {SEED}" + (" (quick)" if ctx.execution.quick else ""))
        payload = timed_payload(lambda settings=settings: ds.run(settings).to_dict())
        write_json(ctx.data(f"li2017-{name}"), payload)
        ctx.log(f"{name}: {format_duration(payload['wall_seconds'])} wall, {format_duration(payload['cpu_seconds'])} CPU")
    write_record(ctx.docs, "li2017")


def draw(docs: Path) -> None:
    """The figures, with the command's own plot code, from the stored results."""
    from resnet_cli.plots import shortcut as plots

    for name in FIGURES:
        path = docs / "data" / f"li2017-{name}.json"
        if path.exists():
            (docs / "figures").mkdir(parents=True, exist_ok=True)
            plots.depth_sweep(load_result(path), str(docs / "figures" / f"li2017-{name}.png"))


# Results stored by the development snapshots before 0.1.0 (docs/data/*.json before `make reproduce-li2017` is run again) used the old
# vocabulary; --render-only reads them under the new names.
OLD_CONFIG_KEYS = {"depths": "depth", "networks": "network", "runs": "trials", "epochs": "steps", "lrs": "lr",
                   "method": "spectrum", "probes": "lanczos_probes", "shortcut_init": "init"}
OLD_ROW_KEYS = {"runs": "trials", "runs_beyond_precision": "trials_beyond_precision", "method": "spectrum"}


def upgrade(p: dict) -> dict:
    """A stored result with the keys of today's `depth-sweep --json` (old keys renamed, new ones kept)."""
    p["config"] = {OLD_CONFIG_KEYS.get(k, k): v for k, v in p["config"].items()}
    p["rows"] = [{OLD_ROW_KEYS.get(k, k): v for k, v in r.items()} for r in p["rows"]]
    for cell in p["cells"]:
        for entry in cell.get("grid", []):
            if "diverged_runs" in entry:
                entry["diverged_trials"] = entry.pop("diverged_runs")
    if "method" in p and "spectrum" not in p:
        p["spectrum"] = p.pop("method")
    return p


def load_result(path: Path) -> dict:
    return upgrade(read_json(path))


# --- markdown ------------------------------------------------------------------------------------------------------


def rows_by(p: dict) -> dict:
    return {(r["network"], r["depth"]): r for r in p["rows"]}


def cell_md(row: dict) -> str:
    return cell_text(row, words=True)


def main_table(p: dict) -> list[str]:
    cfg = p["config"]
    by = rows_by(p)
    training = p["measure"] == "final-loss"
    head = ["depth"]
    for name in cfg["network"]:
        head += [name, "best lr"] if training else [name]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for depth in cfg["depth"]:
        cells = [str(depth)]
        for name in cfg["network"]:
            row = by[(name, depth)]
            cells.append(cell_md(row))
            if training:
                lr = row.get("best_lr")
                cells.append("—" if lr is None else fmt(lr, 3) + (" (flat)" if row.get("best_lr_flat") else ""))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def ok_means(p: dict, name: str) -> list[tuple[int, float]]:
    """(depth, mean cond10) of the cells that support a number: exact, or an estimate whose interval is not
    'too wide' (a claim never rests on a value the table does not show)."""
    return [(r["depth"], r["mean"]) for r in p["rows"] if r["network"] == name and r["status"] == "ok"
            and r["mean"] is not None and not r.get("cond10_too_wide")]


def left_out(p: dict, name: str) -> str:
    """'; depths 96, 128 left out (…)' for the cells of `name` whose estimate's interval is too wide."""
    wide = [r["depth"] for r in p["rows"] if r["network"] == name and r.get("cond10_too_wide")]
    return (f"; depth{'s' if len(wide) > 1 else ''} {', '.join(map(str, wide))} left out (the SLQ interval is too "
            "wide to support a number)") if wide else ""


def claims_fig5(p: dict) -> list[tuple[str, str, str]]:
    out = []
    two = ok_means(p, "2-shortcut")
    if two:
        values = [v for _, v in two]
        spread = (max(values) - min(values)) / max(values)
        theory = [r["theory_cond10"] for r in p["rows"] if r["network"] == "2-shortcut" and r.get("theory_cond10")]
        out.append((
            "2-shortcut linear networks (zero init) have depth-independent initial condition numbers",
            f"cond10 = {fmt(values[0], 6)} at every depth {two[0][0]}–{two[-1][0]} (relative spread "
            f"{spread:.0e}); Theorem 1 predicts {fmt(theory[0], 6) if theory else '—'}",
            "agrees" if spread < 1e-8 else "differs",
        ))
    for name, label in (("xavier", "Xavier"), ("orthogonal", "orthogonal")):
        series = ok_means(p, name)
        beyond = [r["depth"] for r in p["rows"] if r["network"] == name and r["status"] == "beyond-precision"]
        if len(series) >= 2:
            values = [v for _, v in series]
            rising = all(b > a for a, b in zip(values, values[1:]))
            ours = (f"mean cond10 {fmt(values[0], 3)} at depth {series[0][0]} → {fmt(values[-1], 3)} at depth "
                    f"{series[-1][0]}; " + ("rising at every step" if rising else "not monotone in our depths"))
            if beyond:
                ours += (f"; beyond float64's resolution (> 1e12) in some trial from depth {min(beyond)} on "
                         f"(depths {', '.join(map(str, beyond))})")
            ours += left_out(p, name)
            out.append((
                f"with {label} initialization the initial condition number goes to infinity as depth grows",
                ours,
                "agrees" if rising and values[-1] > 10 * values[0] else "partly",
            ))
    xs, os_ = dict(ok_means(p, "xavier")), dict(ok_means(p, "orthogonal"))
    for r in p["rows"]:  # a cond10 beyond 1e12 is larger than any measured one
        if r["network"] == "xavier" and r["status"] == "beyond-precision":
            xs[r["depth"]] = float("inf")
    common = sorted(set(xs) & set(os_))
    if common:
        slower = [d for d in common if os_[d] <= xs[d]]
        last = common[-1]
        out.append((
            "orthogonal initialization's condition number grows slower than Xavier's",
            f"orthogonal ≤ Xavier at {len(slower)} of {len(common)} depths"
            + (" (at depth 1 both are one matrix, cond10 = 1)" if 1 in common else "") + f"; at depth {last}: "
            f"{fmt(os_[last], 3)} vs {'> 1e12' if xs[last] == float('inf') else fmt(xs[last], 3)}",
            "agrees" if len(slower) == len(common) else "partly",
        ))
    return out + theorem1_claims(p)



def theorem1_claims(p: dict) -> list[tuple[str, str, str]]:
    """Theorem 1 at zero: n = 1 grows with depth, n ≥ 3 has H = 0."""
    out = []
    one = ok_means(p, "1-shortcut")
    if len(one) >= 2:
        values = [v for _, v in one]
        rising = all(b > a for a, b in zip(values, values[1:]))
        out.append((
            "Theorem 1, n = 1 (block-Toeplitz Hessian at zero): the condition number grows with depth",
            f"cond10 {fmt(values[0], 3)} at depth {one[0][0]} → {fmt(values[-1], 3)} at depth {one[-1][0]}"
            + ("" if rising else " (not monotone)") + left_out(p, "1-shortcut"),
            "agrees" if rising else "differs",
        ))
    three = [r for r in p["rows"] if r["network"] == "3-shortcut" and r["status"] != "not-applicable"]
    if three:
        degenerate = all(r["status"] == "degenerate" for r in three)
        out.append((
            "Theorem 1, n ≥ 3: zero is a higher-order stationary point, H = 0",
            f"H = 0 exactly at every depth {three[0]['depth']}–{three[-1]['depth']}" if degenerate
            else "H ≠ 0 at some depth",
            "agrees" if degenerate else "differs",
        ))
    return out

def identity_gap(p: dict) -> float:
    """L(I) − L_min: where a shortcut network at (nearly) zero starts, on the data of this result."""
    from resnet_cli.experiments import depth_sweep as ds
    from resnet_cli.models import shortcut as sc
    import numpy as np

    cfg = p["config"]
    data = ds.load_data(ds.DepthSweepSettings(data=cfg["data"], samples=cfg["samples"], dim=cfg["dim"],
                                              seed=cfg["seed"]))
    return float(sc.linear_loss_gap(np.eye(data.dim), sc.second_moments(data.X, data.Y)))


def claims_training(p: dict, figure: str) -> list[tuple[str, str, str]]:
    cfg = p["config"]
    by = rows_by(p)
    out = []
    others = [n for n in cfg["network"] if n != "2-shortcut"]
    two = ok_means(p, "2-shortcut")
    if two and figure == "fig9":
        start = identity_gap(p)
        worst_depth, worst = max(two, key=lambda t: t[1])
        out.append((
            "the final losses of 2-shortcut linear networks stay close to optimal as the networks become deeper",
            "best loss − L_min: " + ", ".join(f"{fmt(v, 2)} (depth {d})" for d, v in two)
            + f"; the largest, {fmt(worst, 2)} at depth {worst_depth}, is {worst / start:.0e} of the gap "
            f"L(I) − L_min = {fmt(start, 3)} where the network starts",
            "agrees" if worst <= 1e-3 * start else "differs",
        ))
    if two:
        out.append(lowest_claim(p, figure, two, others))
        if figure == "fig9":
            higher = []
            for depth, _ in two:
                lr2 = by[("2-shortcut", depth)]["best_lr"]
                rivals = [by[(n, depth)]["best_lr"] for n in others
                          if by[(n, depth)]["best_lr"] is not None and not by[(n, depth)]["best_lr_flat"]]
                if lr2 is not None and all(lr2 >= r for r in rivals):
                    higher.append(depth)
            edge = [d for d, _ in two if by[("2-shortcut", d)].get("best_lr_at_edge")]
            out.append((
                "higher learning rates can be applied to 2-shortcut networks",
                "best rate of 2-shortcut: " + ", ".join(fmt(by[("2-shortcut", d)]["best_lr"], 2) for d, _ in two)
                + f"; ≥ every other kind's (non-flat) best rate at {len(higher)} of {len(two)} depths"
                + (f"; at the top of our grid at depth {', '.join(map(str, edge))}" if edge else ""),
                "agrees" if len(higher) == len(two) else ("partly" if higher else "differs"),
            ))
    return out + flat_claims(p, figure)


def lowest_claim(p: dict, figure: str, two: list[tuple[int, float]], others: list[str]) -> tuple[str, str, str]:
    """Figures 9 and 10: is the 2-shortcut network's best final value the lowest of the kinds the claim names,
    depth by depth (`two`: its (depth, mean) cells; `others`: every other kind run)."""
    by, quantity = rows_by(p), p["quantity"]
    # the abstract compares 2-shortcuts with Xavier, orthogonal and deeper shortcuts, not with the 1-shortcut
    rival_kinds = [n for n in others if n != "1-shortcut"]
    wins = []
    for depth, value in two:
        rivals = [by[(n, depth)]["mean"] for n in rival_kinds if by[(n, depth)]["status"] == "ok"]
        if all(value < r for r in rivals):
            wins.append(depth)
    if figure == "fig9":
        claim = ("(abstract; Fig. 9, left) 2-shortcut networks reach lower final losses than Xavier, orthogonal "
                 "and deeper shortcuts")
    else:
        claim = ("with ReLUs, Xavier and orthogonal networks have difficulties finding optimal points, while "
                 "2-shortcut networks find them easily")
    missing = [d for d, _ in two if d not in wins]
    ours = f"2-shortcut is the lowest of {', '.join(['2-shortcut', *rival_kinds])} at {len(wins)} of {len(two)} depths"
    if missing:
        ours += "; not at depth " + ", ".join(
            f"{d} ({fmt(by[('2-shortcut', d)]['mean'], 2)} vs "
            + ", ".join(f"{n} {fmt(by[(n, d)]['mean'], 2)}" for n in rival_kinds
                        if by[(n, d)]["status"] == "ok" and by[(n, d)]["mean"] <= by[("2-shortcut", d)]["mean"])
            + ")" for d in missing)
    if len(rival_kinds) < len(others):  # the 1-shortcut, beside the claim
        below = [d for d, v in two if by[("1-shortcut", d)]["status"] == "ok" and by[("1-shortcut", d)]["mean"] <= v]
        ours += ("; the 1-shortcut (not in the claim) is lower at depth " + ", ".join(
            f"{d} ({fmt(by[('1-shortcut', d)]['mean'], 2)} vs {fmt(by[('2-shortcut', d)]['mean'], 2)})" for d in below)
                 if below else "; the 1-shortcut (not in the claim) is never lower")
    if figure == "fig10":
        ours = f"best {quantity}, 2-shortcut: " + ", ".join(f"{fmt(v, 2)} (depth {d})" for d, v in two) + "; " + ours
    return claim, ours, "agrees" if not missing else ("partly" if wins else "differs")


def flat_claims(p: dict, figure: str) -> list[tuple[str, str, str]]:
    """Claims on the deepest networks' learning-rate grids, and (Figure 9) 1-shortcut against orthogonal."""
    cfg, by, out = p["config"], rows_by(p), []
    deep = max(cfg["depth"])
    names = ["xavier"] if figure == "fig9" else ["xavier", "orthogonal"]
    label = {"xavier": "Xavier", "orthogonal": "orthogonal"}
    for name in names:
        if name not in cfg["network"]:
            continue
        row = by[(name, deep)]
        cell = next(c for c in p["cells"] if c["network"] == name and c["depth"] == deep)
        conv = [e["mean"] for e in cell["grid"] if e["mean"] is not None]
        if row["status"] == "all-diverged":
            ours = "every rate diverged in at least one trial"
        else:
            spread = (max(conv) - min(conv)) / max(conv)
            ours = (f"{len(conv)} of {len(cell['grid'])} rates converged in every trial, mean final values "
                    f"{fmt(min(conv), 3)} … {fmt(max(conv), 3)} (spread {spread:.1%})"
                    + ("; flagged flat" if row["best_lr_flat"] else "; not flat by our 5 % rule"))
        out.append((
            f"at depth {deep}, the final losses of {label[name]}{'-ReLU' if figure == 'fig10' else ''} with "
            "different learning rates are basically the same (the best rate is omitted)",
            ours,
            "agrees" if row.get("best_lr_flat") else "partly",
        ))
    if figure == "fig9" and {"1-shortcut", "orthogonal"} <= set(cfg["network"]):
        pairs = [(d, by[("1-shortcut", d)]["mean"], by[("orthogonal", d)]["mean"]) for d in cfg["depth"]
                 if by[("1-shortcut", d)]["status"] == "ok" and by[("orthogonal", d)]["status"] == "ok"]
        close = [d for d, a, b in pairs if max(a, b) <= 10 * min(a, b)]
        out.append((
            "the training dynamics of 1-shortcut networks are similar to orthogonally initialized linear networks",
            "best loss − L_min, 1-shortcut vs orthogonal: "
            + ", ".join(f"{fmt(a, 2)} vs {fmt(b, 2)} (depth {d})" for d, a, b in pairs)
            + f"; within a factor 10 of each other at {len(close)} of {len(pairs)} depths",
            "agrees" if len(close) == len(pairs) else "partly",
        ))
    return out


PAPER_SETUP = {
    "fig5": "Figure 5: initial condition numbers of the Hessian of linear networks against depth "
            "(mean ± std over 10 runs).",
    "fig9": "Figure 9: optimal final losses (− L_min) of linear networks after 1000 epochs at the best "
            "learning rate of a log-scale grid, and that rate.",
    "fig10": "Figure 10: the same with ReLUs in the mid positions; lg(final loss) instead of lg(final loss − "
             "L_min), 1- and 3-shortcut omitted.",
}


REMARKS = {
    "fig5": "Reading the numbers: the shapes agree with the paper — flat 2-shortcut, slowly growing orthogonal, "
            "fast-growing Xavier. The magnitudes may not: the extracted text of the paper's Figure 5 shows y-axis "
            "ticks 2, 4, 6 for lg(cond), while our Xavier cond10 passes 1e6 near depth 12 and float64's resolution "
            "(1e12) from depth 32 on (MNIST vs digits, and the Xavier variant, are the obvious suspects). The "
            "1-shortcut network at zero and the orthogonal plain network have nearly the same cond10 at every depth, "
            "in line with the paper's remark that they train alike.",
    "fig9": "Reading the numbers: a rate that blows up in any one of the trials is excluded, so deep Xavier networks "
            "keep only the smallest rates; 5.12 in the per-rate grid (JSON `cells`) is L(I) − L_min, where a "
            "shortcut network starts, and 0.223 is L(0) − L_min, a network whose product has collapsed. Where the "
            "best rate sits at the top of our grid (listed in the notes) the optimum may lie beyond it. "
            "Sensitivity to rounding: two equivalent implementations of the Σ-statistics gradient (the same "
            "products in another order) gave the same numbers to 1e-5 (relative) or better for every kind but the "
            "3-shortcut network, whose means moved by up to 19 % (depth 12, in the run where this was measured: 0.00189 vs 0.00154; the table's means are as sensitive): escaping the "
            "second-order saddle at zero amplifies differences in the last digits. Its best rates did not change.",
    "fig10": "Reading the numbers: with ReLUs the final loss may go below the linear L_min, and 0.5 = ½ tr Σ_YY is "
             "the loss of a network whose output is 0 (a collapsed plain network). The paper plots lg(final loss); "
             "so does our figure.",
}


def section(docs: Path) -> str:
    record = read_record(docs, "li2017")
    where = record_machine(record)
    lines = [BEGIN, "## Li et al. 2017", "",
             "*Demystifying ResNet* (Li, Jiao, Han & Weissman, 2017), Section 5 and Appendix B, with "
             "`resnet-cli depth-sweep` (see [depth-sweep.md](depth-sweep.md)). Everything below is written by "
             "`make reproduce-li2017` (`resnet-cli reproduce li2017`); the JSON results are in "
             "`docs/data/li2017-*.json`. What is the paper's and what is ours is stated in each preset "
             "(`resnet_cli/presets/li2017-fig*.toml`). The main difference everywhere: the paper trains on "
             "MNIST, we on the bundled UCI digits (1797 images of 8×8), with the same preprocessing (centred, "
             "top 10 principal components whitened, one-hot labels, d = 10).", ""]
    for name, path in stored(docs, "li2017-", FIGURES):
        p = load_result(path)
        cfg = p["config"]
        seconds, cpu, load = p.get("wall_seconds"), p.get("cpu_seconds"), p.get("load_average")
        lines += [f"### {PAPER_SETUP[name].split(':')[0]}", "", PAPER_SETUP[name], "",
                  f"Command: `resnet-cli depth-sweep --config li2017-{name} --seed {cfg['seed']}`"
                  + (f" ({seconds:.0f} s" + (f" wall, {cpu:.0f} s CPU" if cpu else "") + f" on {where}"
                     + (f", load average {load} at the start" if load is not None else "") + ")" if seconds else "")
                  + ".", "",
                  f"Data: {p['data']['description']}; L_min = {fmt(p['data']['l_min'], 6)}. "
                  f"{cfg['trials']} trials per cell"
                  + (f", {cfg['steps']} steps, learning rates {', '.join(fmt(x, 2) for x in cfg['lr'])}"
                     if p["measure"] == "final-loss" else "") + ".", ""]
        if p.get("spectrum"):
            lines += [p["spectrum"] + ".", ""]
        lines += [f"![Li et al. 2017 {name}](figures/li2017-{name}.png)", ""]
        lines += [f"Ours ({p['quantity']}, mean ± std over trials" + ("; best lr = the rate with the lowest mean "
                  "among rates where no trial diverged" if p["measure"] == "final-loss" else "") + "):", ""]
        lines += main_table(p) + [""]
        claims = claims_fig5(p) if name == "fig5" else claims_training(p, name)
        lines += ["| the paper says | we measure | verdict |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in claims]
        lines += ["", REMARKS[name], ""]
        for note in p["notes"]:
            lines.append(f"- {note}")
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


REPRODUCTION = Reproduction(
    name="li2017", summary="Li et al. 2017 Figures 5, 9, 10 (depth-sweep presets)",
    begin=BEGIN, end=END, build=build, section=section, draw=draw, parts=FIGURES, quick=True,
    part_data="li2017-{}")
