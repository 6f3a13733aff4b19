"""Li, Jiao, Han & Weissman (2017), Figures 3, 7 and 8 with `resnet-cli train shortcut`
(`make reproduce-li2017-training`).

Each figure is a preset (`resnet_cli/presets/li2017-fig3.toml`, `-fig7`, `-fig8`): its `[train-shortcut]`
table is one run, exactly `resnet-cli train shortcut --config li2017-figN`; its `[reproduce]` table says what
is varied (depths and activations for Figure 3, seeds and networks for Figures 7 and 8). The runs are cells
of `executor.run_cells` (--jobs, 2 processes by default, --dask, --cache; one BLAS thread each: the numbers do
not depend on where they run). Across runs, traces are read at common loss levels by linear interpolation
(`experiments.train_shortcut.at_levels`), as the paper does.

Why runs of `train shortcut` and not `depth-sweep`: Figure 3 needs a whole trace per run (the norms at every
trace step against the loss), Figures 7 and 8 need the Hessian along training; `depth-sweep` measures one
number per (network, depth) cell (the initial cond10 or the final loss). `train shortcut` already produces
exactly one such trace; this module only loops it over depths or seeds and aggregates.

Writes data/li2017-fig{3,7,8}.json (the aggregated figure data), figures/li2017-fig{3,7,8}.png and the part
of reproductions.md between the markers below (after the Figures 5, 9, 10 part, which it leaves as it is).
--quick: tiny sizes (seconds).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from resnet_cli.config import load_toml
from resnet_cli.executor import run_cells
from resnet_cli.experiments import train_shortcut as ts
from resnet_cli.report import fmt
from resnet_cli.resources import format_duration
from resnet_cli.reproductions.common import (Context, Execution, Reproduction, check_parts, read_json,
                                             read_record, record_machine, stored, timed_payload, write_json,
                                             write_record)
from resnet_cli.spectrum import ZERO_TOLERANCE, tolerance_key

BEGIN = "<!-- li2017-training:begin -->"
END = "<!-- li2017-training:end -->"
AFTER = "<!-- li2017:end -->"  # our part goes right after the Figures 5, 9, 10 part
FIGURES = ("fig3", "fig7", "fig8")
NETWORKS = {"2-shortcut": {"shortcut": 2, "init": "small"}, "orthogonal": {"shortcut": 0, "init": "orthogonal"}}
QUICK = {"fig3": {"steps": 60, "trace_every": 5}, "fig7": {"steps": 40, "hessian_every": 10, "samples": 100},
         "fig8": {"steps": 40, "hessian_every": 10}}
QUICK_PLAN = {"fig3": {"depth": [2, 4]}, "fig7": {"seeds": 2, "levels": 5},
              "fig8": {"seeds": 3, "levels": 5, "single-steps": 30, "single-hessian-every": 5}}

PAPER = {
    "fig3": ("The average Frobenius norms of 2-shortcut networks of different depths during the training process "
             "when zero initialized. Left: Without nonlinearities. Right: With ReLUs at mid positions."),
    "fig7": ("Maxima and 10th percentiles of absolute values of eigenvalues at different losses when the depth is "
             "16. Eigenvalues at different losses are calculated using linear interpolation."),
    "fig8": ("Left: ratio of negative eigenvalues at different losses when the depth is 16. For each run, indexes "
             "at different losses are calculated using linear interpolation. Right: the dynamics of gradient and "
             "index of a 2-shortcut linear network in a single run. The gradient reaches its maximum while the "
             "index drops dramatically, indicating moving toward negative curvature directions."),
}


INTRO = """Written by `make reproduce-li2017-training` (`resnet-cli reproduce li2017-training`), with `resnet-cli
train shortcut` and the presets `li2017-fig3`, `li2017-fig7`, `li2017-fig8`: each preset's `[train-shortcut]`
table is one run, its `[reproduce]` table the depths or seeds the reproduction loops over. Across runs, each
run's trace is read at common loss levels by linear interpolation (on lg of the loss), as in the paper. JSON of
the figure data: `docs/data/li2017-fig{3,7,8}.json`. Data: the bundled UCI digits instead of MNIST."""

def plan(name: str, quick: bool) -> dict[str, Any]:
    table = dict(load_toml(f"li2017-{name}").get("reproduce", {}))
    if quick:
        table.update(QUICK_PLAN[name])
    return table


def settings(name: str, quick: bool, **overrides: Any) -> ts.TrainShortcutSettings:
    """`train shortcut --config li2017-<name>` with these flags (and the --quick sizes)."""
    values = dict(QUICK[name]) if quick else {}
    values.update(overrides)
    return ts.TrainShortcutSettings.resolve(f"li2017-{name}", values)


def run_all(runs: list[ts.TrainShortcutSettings], execution: Execution, deferred: bool = False) -> list[dict[str, Any]]:
    """Every run's payload; `deferred`: without Hessians, with the weights at their steps (`measure_read`)."""
    weights = [s.depth * s.steps * (1 + 20 * (not deferred and bool(s.hessian_every)) / max(s.hessian_every, 1))
               for s in runs]
    return run_cells(ts.run_deferred if deferred else ts.run_payload, runs, weights=weights, **execution.cells())


def measure_read(by_net: dict[str, list[dict[str, Any]]], key: str, levels: Any, execution: Execution) -> int:
    """Fill in the deferred runs' Hessians (`run_all(deferred=True)`): an entry at every Hessian step, measured
    where the figure reads it — the two steps around each level's passage (`ts.read_points` on lg of the
    `key` losses), the first and the last — and None elsewhere: the same figure as every step measured. Returns
    how many were measured."""
    runs = [r for rs in by_net.values() for r in rs]
    tasks, places = [], []
    for r in runs:
        steps, cfg = sorted(r.pop("weights_at").items()), r.pop("settings")
        curve = r["curve"]
        r["hessian"] = [{"step": step, "loss": float(curve["loss"][step]), "loss_gap": float(curve["loss_gap"][step])}
                        for step, _ in steps]
        x = lg([e[key] for e in r["hessian"]])
        for i in sorted(ts.read_points(x, levels) | ({0, len(steps) - 1} if steps else set())):
            tasks.append((cfg, steps[i][1]))
            places.append(r["hessian"][i])
    for entry, stats in zip(places, run_cells(ts.measure_at, tasks, **execution.cells())):
        entry.update(stats)
    return len(tasks)



def read_deferred(by_net: dict[str, list[dict[str, Any]]], key: str, count: int,
                  execution: Execution) -> tuple[np.ndarray, dict[str, int]]:
    """Figures 7 and 8 from deferred runs: `count` common levels of lg(`key`) over every run's Hessian steps,
    and those steps measured where the levels read them (`measure_read`). Returns the levels and, for the
    figure's JSON, how many Hessian steps were measured out of how many."""
    everything = [lg([r["curve"][key][step] for step in sorted(r["weights_at"])])
                  for runs in by_net.values() for r in runs]
    levels = ts.common_levels(everything, count)
    measured = measure_read(by_net, key, levels, execution)
    return levels, {"hessians_measured": measured,
                    "hessian_steps": sum(len(r["hessian"]) for runs in by_net.values() for r in runs)}


def lg(values: Any) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)


def command(name: str, extra: str = "") -> str:
    return f"resnet-cli train shortcut --config li2017-{name}{extra}"


# --- Figure 3 ----------------------------------------------------------------------------------------------------


def fig3(quick: bool, jobs: Execution) -> dict[str, Any]:
    p = plan("fig3", quick)
    seed = int(p.get("seed", 0))
    keys = [(act, depth) for act in p["act-mid"] for depth in p["depth"]]
    runs = run_all([settings("fig3", quick, depth=d, act_mid=a, seed=seed) for a, d in keys], jobs)
    panels = []
    for act in p["act-mid"]:
        linear = act == "identity"
        entries = []
        for (a, depth), payload in zip(keys, runs):
            if a != act:
                continue
            n = payload["norms"]
            x = lg(n["loss_gap"] if linear else n["loss"])
            entries.append({"depth": depth, "x": [float(v) for v in x], "frob_mean": n["frob_mean"],
                            "step": n["step"], "final_loss": payload["final_loss"],
                            "final_loss_gap": payload["final_loss_gap"], "diverged": payload["diverged"],
                            "final_frob_mean": n["frob_mean"][-1]})
        levels = ts.common_levels([e["x"] for e in entries], 10)
        at = {e["depth"]: ts.at_levels(e["x"], e["frob_mean"], levels) for e in entries}
        ordered = sum(1 for i in range(len(levels))
                      if all(at[a][i] > at[b][i] for a, b in zip(p["depth"], p["depth"][1:])))
        panels.append({"act_mid": act, "runs": entries,
                       "x_label": "lg(L − L_min)" if linear else "lg(loss)",
                       "title": "linear (no nonlinearity)" if linear else "ReLU in the mid positions",
                       "levels": [float(v) for v in levels],
                       "at_levels": {str(d): [float(v) for v in at[d]] for d in p["depth"]},
                       "levels_ordered": ordered})
    cfg = runs[0]["config"]
    return {"figure": "fig3", "title": "Average Frobenius norm of the weight matrices of 2-shortcut networks "
            f"along GD (init small = 0.01 × Xavier, lr {fmt(cfg['lr'])}, seed {seed})",
            "seed": seed, "depth": p["depth"], "steps": cfg["steps"], "lr": cfg["lr"], "data": runs[0]["data"],
            "panels": panels,
            "command": command("fig3", " --depth D --act-mid A") + f" --seed {seed}"}


def claims_fig3(d: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for panel in d["panels"]:
        finals = [(r["depth"], r["final_frob_mean"]) for r in panel["runs"]]
        falling = all(a[1] > b[1] for a, b in zip(finals, finals[1:]))
        where = "linear" if panel["act_mid"] == "identity" else "ReLU mid"
        x_end = ", ".join(f"{fmt(r['final_loss_gap' if panel['act_mid'] == 'identity' else 'final_loss'], 2)}"
                          for r in panel["runs"])
        out.append((f"({where}) \"the deeper a residual network is, the small its average Frobenius norm of "
                    "weight matrixes is, ... when the training ends\"",
                    f"final mean ‖W‖_F by depth {', '.join(str(r[0]) for r in finals)}: "
                    + ", ".join(fmt(v, 3) for _, v in finals)
                    + f" — {'falling with depth at every step' if falling else 'not monotone in depth'} "
                    f"(final {panel['x_label'][3:-1]}: {x_end})"))
        n = len(panel["levels"])
        lo, hi = (fmt(min(panel["levels"]), 2), fmt(max(panel["levels"]), 2)) if n else ("—", "—")
        depths = [r["depth"] for r in panel["runs"]]
        at = panel["at_levels"]
        failing = [(lv, [at[str(dp)][i] for dp in depths]) for i, lv in enumerate(panel["levels"])
                   if not all(at[str(a)][i] > at[str(b)][i] for a, b in zip(depths, depths[1:]))]
        text = (f"at {panel['levels_ordered']} of {n} common levels of {panel['x_label']} ({lo} … {hi}, reached by "
                "every depth) the norm falls with depth at every step")
        if failing:
            text += "; not at " + "; ".join(f"{fmt(lv, 2)} (norms {', '.join(fmt(v, 3) for v in vals)})"
                                            for lv, vals in failing)
        out.append((f"({where}) the same \"during the traning process\"", text))
    return out


# --- Figure 7 ----------------------------------------------------------------------------------------------------


def seed_runs(name: str, p: dict[str, Any], quick: bool, jobs: Execution,
              deferred: bool = False) -> dict[str, list[dict[str, Any]]]:
    seeds = list(range(int(p["seeds"])))
    keys = [(net, s) for net in p["network"] for s in seeds]
    runs = run_all([settings(name, quick, seed=s, **NETWORKS[net]) for net, s in keys], jobs, deferred)
    out: dict[str, list[dict[str, Any]]] = {net: [] for net in p["network"]}
    for (net, _), payload in zip(keys, runs):
        out[net].append(payload)
    return out


def hessian_xy(payload: dict[str, Any], key: str, linear: bool) -> tuple[np.ndarray, np.ndarray]:
    """(lg loss or lg(L − L_min), value) at each Hessian of a run; |λ|p10 floored at ZERO_TOLERANCE·|λ|max, the
    resolution of float64 eigenvalues (below it the 10th percentile is a zero eigenvalue up to rounding)."""
    h = payload["hessian"]
    x = lg([e["loss_gap" if linear else "loss"] for e in h])
    y = np.array([e.get(key) for e in h], dtype=float)  # None (nan): a deferred step left unmeasured
    if key == "abs_p10":
        y = np.maximum(y, ZERO_TOLERANCE * np.array([e.get("abs_max") for e in h], dtype=float))
    return x, (y if key == "index" else lg(y))


def index_xy(payload: dict[str, Any], tolerance: str) -> tuple[np.ndarray, np.ndarray]:
    """(lg(L − L_min), index with |λ| ≤ tolerance·|λ|max counted as zero) at each Hessian of a linear run
    (`spectrum.index_by_tolerance`; the first tolerance is the index itself)."""
    h = payload["hessian"]
    return lg([e["loss_gap"] for e in h]), np.array([(e.get("index_by_tolerance") or {}).get(tolerance)
                                                     for e in h], dtype=float)


def common_tolerances(by_net: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The tolerances of `index_by_tolerance` that every Hessian of every run carries, in their order; none
    when a run lacks them (e.g. a --cache folder from before they were recorded: then no comparison by
    tolerance rather than a partial one)."""
    entries = [e.get("index_by_tolerance") or {} for runs in by_net.values() for r in runs for e in r["hessian"]
               if e.get("index") is not None]  # measured (deferred runs leave unread steps unmeasured)
    if not entries:
        return []
    return [tol for tol in entries[0] if all(tol in e for e in entries)]


def at_floor(runs: list[dict[str, Any]]) -> tuple[int, int]:
    """(Hessians whose |λ|p10 is at or below ZERO_TOLERANCE·|λ|max, Hessians measured) over the runs."""
    h = [e for r in runs for e in r["hessian"] if e.get("abs_p10") is not None]
    return sum(1 for e in h if e["abs_p10"] <= ZERO_TOLERANCE * e["abs_max"]), len(h)


def fig7(quick: bool, jobs: Execution) -> dict[str, Any]:
    p = plan("fig7", quick)
    by_net = seed_runs("fig7", p, quick, jobs, deferred=True)
    levels, measured = read_deferred(by_net, "loss", int(p["levels"]), jobs)
    networks = {}
    for net, runs in by_net.items():
        networks[net] = {key: ts.across_runs([hessian_xy(r, key, False) for r in runs], levels)
                         for key in ("abs_max", "abs_p10")}
        networks[net]["diverged"] = sum(r["diverged"] for r in runs)
        networks[net]["p10_at_floor"], networks[net]["hessians"] = at_floor(runs)
        networks[net]["runs"] = [{"seed": r["config"]["seed"], **{k: [e.get(k) for e in r["hessian"]] for k in
                                  ("step", "loss", "abs_max", "abs_p10", "index")}} for r in runs]
        networks[net]["final_loss"] = [r["final_loss"] for r in runs]
    cfg = by_net[p["network"][0]][0]["config"]
    return {"figure": "fig7", "title": f"Hessian at common losses, depth 16, ReLU in the mid positions "
            f"({p['seeds']} runs per network, lr {fmt(cfg['lr'])}, exact Hessian every {cfg['hessian_every']} "
            "steps)", "x_label": "lg(loss)", "seeds": int(p["seeds"]), "networks": networks,
            "data": by_net[p["network"][0]][0]["data"], "steps": cfg["steps"], "lr": cfg["lr"],
            "hessian_every": cfg["hessian_every"], **measured,
            "command": command("fig7", " --seed S [--shortcut 0 --init orthogonal]")}


def claims_fig7(d: dict[str, Any]) -> list[tuple[str, str]]:
    two, orth = d["networks"]["2-shortcut"], d["networks"]["orthogonal"]
    levels = two["abs_max"]["level"]
    rows = []
    for i, level in enumerate(levels):
        c2 = _diff(two["abs_max"]["mean"][i], two["abs_p10"]["mean"][i])
        co = _diff(orth["abs_max"]["mean"][i], orth["abs_p10"]["mean"][i])
        if c2 is not None and co is not None:
            rows.append((level, c2, co))
    smaller = [r for r in rows if r[1] < r[2]]
    if not rows:
        return [("\"the condition numbers of 2-shortcut networks at different losses are always smaller\"",
                 "no loss level is reached by every run: nothing to compare")]
    text = (f"mean lg cond10 (= lg|λ|max − lg|λ|p10) at {len(rows)} common levels of lg(loss) "
            f"({fmt(levels[0], 2)} … {fmt(levels[-1], 2)}): 2-shortcut smaller at {len(smaller)} of {len(rows)}")
    if rows:
        hi, lo = rows[0], rows[-1]
        text += (f"; at the highest level {fmt(hi[1], 2)} vs {fmt(hi[2], 2)} (orthogonal), at the lowest "
                 f"{fmt(lo[1], 2)} vs {fmt(lo[2], 2)}")
    floors = "; ".join(f"{net}: |λ|p10 ≤ 1e-12·|λ|max (a zero eigenvalue to rounding, floored there) in "
                       f"{v['p10_at_floor']} of the {v['hessians']} Hessians measured"
                       for net, v in d["networks"].items())
    text += f" ({floors})"
    return [("\"the condition numbers of 2-shortcut networks at different losses are always smaller, especially "
             "when the loss is large\" (Figures 6 and 7; here with ReLUs)", text)]


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


# --- Figure 8 ----------------------------------------------------------------------------------------------------


def fig8(quick: bool, jobs: Execution) -> dict[str, Any]:
    p = plan("fig8", quick)
    by_net = seed_runs("fig8", p, quick, jobs, deferred=True)
    levels, measured = read_deferred(by_net, "loss_gap", int(p["levels"]), jobs)
    networks = {net: {"index": ts.across_runs([hessian_xy(r, "index", True) for r in runs], levels),
                      "start": [r["hessian"][0]["index"] for r in runs],
                      "end": [r["hessian"][-1]["index"] for r in runs],
                      "diverged": sum(r["diverged"] for r in runs),
                      "runs": [{"seed": r["config"]["seed"], **{k: [e.get(k) for e in r["hessian"]] for k in
                                ("step", "loss_gap", "index")}} for r in runs]} for net, runs in by_net.items()}
    share = ts.lower_share([hessian_xy(r, "index", True) for r in by_net["2-shortcut"]],
                           [hessian_xy(r, "index", True) for r in by_net["orthogonal"]], levels)
    by_tolerance = {tol: ts.lower_share([index_xy(r, tol) for r in by_net["2-shortcut"]],
                                        [index_xy(r, tol) for r in by_net["orthogonal"]], levels)
                    for tol in common_tolerances(by_net)}
    for net, runs in by_net.items():
        networks[net]["end_by_tolerance"] = {tol: [r["hessian"][-1]["index_by_tolerance"][tol] for r in runs]
                                             for tol in by_tolerance}
    single_cfg = settings("fig8", quick, seed=0, steps=int(p["single-steps"]),
                          hessian_every=int(p["single-hessian-every"]), **NETWORKS["2-shortcut"])
    one = ts.run_payload(single_cfg)
    grad = np.asarray(one["curve"]["grad_norm"], dtype=float)
    h = one["hessian"]
    drops = [(h[k]["index"] - h[k + 1]["index"], h[k]["step"], h[k + 1]["step"]) for k in range(len(h) - 1)]
    drop = max(drops) if drops else (0.0, 0, 0)
    single = {"seed": 0, "step": list(range(len(grad))), "grad_norm": [float(v) for v in grad],
              "hessian_step": [e["step"] for e in h], "index": [e["index"] for e in h],
              "hessian_every": single_cfg.hessian_every, "grad_peak_step": int(np.nanargmax(grad)),
              "grad_peak": float(np.nanmax(grad)), "largest_drop": {"by": drop[0], "from": drop[1], "to": drop[2]},
              "command": command("fig8", f" --seed 0 --steps {single_cfg.steps} --hessian-every "
                                 f"{single_cfg.hessian_every} --trace-every {single_cfg.hessian_every}")}
    cfg = by_net["2-shortcut"][0]["config"]
    return {"figure": "fig8", "title": f"Index of the Hessian, depth 16, linear networks (lr {fmt(cfg['lr'])}, "
            f"exact Hessian every {cfg['hessian_every']} steps)", "x_label": "lg(L − L_min)",
            "seeds": int(p["seeds"]), "networks": networks, "share": share, "share_by_tolerance": by_tolerance,
            "single": single,
            "data": by_net["2-shortcut"][0]["data"], "steps": cfg["steps"], "lr": cfg["lr"],
            "hessian_every": cfg["hessian_every"], **measured,
            "command": command("fig8", " --seed S [--shortcut 0 --init orthogonal]")}


def _majority(share: dict[str, list[Any]]) -> tuple[int, int, int, int]:
    """(levels where a majority of seeds is lower, levels with pairs, lower pairs, pairs) of `lower_share`."""
    cells = [(n, k) for n, k in zip(share["lower"], share["pairs"]) if k]
    return (sum(1 for n, k in cells if 2 * n > k), len(cells), sum(n for n, _ in cells), sum(k for _, k in cells))


def claims_fig8(d: dict[str, Any]) -> list[tuple[str, str]]:
    share, seeds = d["share"], d["seeds"]
    majority, levels, total_lower, total = _majority(share)
    per = ", ".join(f"{fmt(lv, 2)}: {n}/{k}" for lv, n, k in zip(share["level"], share["lower"], share["pairs"]) if k)
    two, orth = d["networks"]["2-shortcut"], d["networks"]["orthogonal"]
    single = d["single"]
    drop = single["largest_drop"]
    tolerances = list(d.get("share_by_tolerance", {}))[1:]  # the first is the index itself (ZERO_TOLERANCE)
    where_zero_ends = "; ".join(
        f"a majority at {m} of {n} levels ({lo} of {k} pairs) at tol = {tol}" for tol, (m, n, lo, k) in
        ((tol, _majority(d["share_by_tolerance"][tol])) for tol in tolerances))
    ends = "; ".join(f"2-shortcut {fmt(np.mean(two['end_by_tolerance'][tol]), 3)}, orthogonal "
                     f"{fmt(np.mean(orth['end_by_tolerance'][tol]), 3)} at tol = {tol}" for tol in tolerances)
    return [
        ("\"the index of a 2-shortcut network is always smaller\" (Figure 8, left; depth 16)",
         f"seeds (of {seeds}) whose 2-shortcut index is below the orthogonal one, per level of lg(L − L_min): "
         f"{per}. A majority of seeds at {majority} of {levels} levels; {total_lower} of {total} "
         "(seed, level) pairs" + (f". The index counts λ < −{tolerance_key(ZERO_TOLERANCE)}·|λ|max as negative; "
                                  f"counting |λ| ≤ tol·|λ|max as zero instead, {where_zero_ends}"
                                  if tolerances else "")),
        ("\"... and drops dramatically at the beginning\"",
         f"index at the first Hessian (step 0) → at the last (step {d['steps']}), mean over seeds: 2-shortcut "
         f"{fmt(np.mean(two['start']), 3)} → {fmt(np.mean(two['end']), 3)}, orthogonal "
         f"{fmt(np.mean(orth['start']), 3)} → {fmt(np.mean(orth['end']), 3)}"
         + (f"; counting |λ| ≤ tol·|λ|max as zero instead, at the last Hessian: {ends}" if tolerances else "")),
        ("\"The gradient reaches its maximum while the index drops dramatically\" (Figure 8, right)",
         f"seed 0: ‖∇L‖ peaks at step {single['grad_peak_step']} ({fmt(single['grad_peak'], 3)}); the largest "
         f"drop of the index between two Hessians ({single['hessian_every']} steps apart) is "
         f"{fmt(drop['by'], 3)}, from step {drop['from']} to {drop['to']}"),
    ]


# --- markdown ----------------------------------------------------------------------------------------------------

def cell(text: str) -> str:
    """Text for a markdown table cell: a literal | (as in |λ|) escaped."""
    return text.replace("|", "\\|")


REMARKS = {
    "fig3": "Reading the numbers: sizes are ours (the paper does not give its depths, steps or rate for Figure 3). "
            "The linear depth-2 network (one residual unit) reaches L_min to rounding (lg(L − L_min) ≈ −30), so "
            "its curve leaves the figure on the left. With ReLUs, depths 4 and 8 end in a small oscillation of "
            "the loss (lr 0.1 is near their stability edge): the zigzags at the ends of their curves are data.",
    "fig7": "Reading the numbers: the common levels stop at the highest loss every orthogonal-ReLU run still had "
            "after 1000 steps (the 2-shortcut runs went lower), hence a narrower range than the paper's. The "
            "orthogonal network's |λ|p10 is mostly a zero eigenvalue up to rounding (exactly flat directions, "
            "e.g. through ReLUs that are off on every sample): it is drawn at 1e-12·|λ|max, so its cond10 is a "
            "lower bound there.",
    "fig8": "Reading the numbers (seeds 0–9): the 2-shortcut index is below the orthogonal one in every seed "
            "from the start down to lg(L − L_min) ≈ {every}, in a majority down to {majority}, and in {fewest}: "
            "\"always smaller\" holds at large losses, not at the lowest ones we reach. At the lowest level "
            "({last}) {last_lower} of {last_pairs} seeds are lower again, but only because of where zero "
            "ends: the trained orthogonal network has hundreds of eigenvalues with |λ| between 1e-12 and 1e-8 of "
            "|λ|max (in seed 1 at step 1000, 750 of its 1,600 have |λ| ≤ 1e-8·|λ|max, about half of them "
            "negative). With |λ| ≤ 1e-10·|λ|max counted as zero, 1 of 10 seeds is lower there, with 1e-8 none, and "
            "the orthogonal network's final index is 0.379 or 0.24 instead of 0.457 (the 2-shortcut network's "
            "moves by less than 0.001): the middle panel shows the three tolerances. \"A majority of seeds\" counts seeds, not the mean curve; the mean curves of the "
            "left panel can cross where a few seeds dominate. The first Hessian is at step 0; the sharp drop of "
            "the 2-shortcut index (from 0.5) happens within the first 50 steps, where the orthogonal network's "
            "loss has already fallen by two orders of magnitude, so at equal losses the comparison is between "
            "different stages of the two runs.",
}

BUILD = {"fig3": fig3, "fig7": fig7, "fig8": fig8}
CLAIMS = {"fig3": claims_fig3, "fig7": claims_fig7, "fig8": claims_fig8}
NUMBER = {"fig3": "Figure 3", "fig7": "Figure 7", "fig8": "Figure 8"}


def section(docs: Path) -> str:
    record = read_record(docs, "li2017-training")
    machine = record_machine(record)
    lines = [BEGIN, "", "### Figures 3, 7 and 8 (training with `train shortcut`)", "",
             " ".join(INTRO.split()), ""]
    for name, path in stored(docs, "li2017-", FIGURES):
        d = read_json(path)
        where = {"fig3": f"D = {', '.join(map(str, d.get('depth', [])))}; A = identity, relu",
                 "fig7": f"S = 0…{d.get('seeds', 1) - 1}", "fig8": f"S = 0…{d.get('seeds', 1) - 1}"}[name]
        seconds = d.get("wall_seconds")
        seed = f"seed {d['seed']}" if "seed" in d else f"seeds 0–{d['seeds'] - 1}"
        lines += [f"#### {NUMBER[name]}", "", f"Paper: \"{PAPER[name]}\"", "",
                  f"Command: `{d['command']}` ({where}" + (f"; {seconds:.0f} s wall, {d.get('cpu_seconds', 0):.0f} s "
                                                          f"CPU on {machine}" + (
                                                              f", load average {d['load_average']} at the start"
                                                              if "load_average" in d else "")
                                                          if seconds else "") + ").", "",
                  f"Data: {d['data']['description']}; {d['steps']} steps at lr {fmt(d['lr'])}." + _measured(d), "",
                  f"![Li et al. 2017 {name}](figures/li2017-{name}.png)", "",
                  "| paper's claim (quoted) | ours | command, seed |", "|---|---|---|"]
        cmd = d["command"]
        for claim, ours in CLAIMS[name](d):
            one = "Figure 8, right" in claim  # the single run of the right panel
            lines.append(f"| {cell(claim)} | {cell(ours)} | `{cell(d['single']['command'] if one else cmd)}`; "
                         f"{'seed 0' if one else seed} |")
        lines += ["", fig8_remark(d["share"]) if name == "fig8" else REMARKS[name], ""]
    lines.append(END)
    return "\n".join(lines) + "\n"


def fig8_remark(share: dict[str, list]) -> str:
    """REMARKS["fig8"] with its levels from the data: the last level (from the start) where every seed's
    2-shortcut index is below the orthogonal one, the last where a majority is, and the fewest seeds."""
    levels, lower, pairs = share["level"], share["lower"], share["pairs"]

    def level_text(x: float) -> str:
        return f"{x:.1f}".replace("-", "−")

    def last_of_prefix(holds) -> str:
        n = next((i for i, (lo, pa) in enumerate(zip(lower, pairs)) if not holds(lo, pa)), len(levels))
        return level_text(levels[n - 1]) if n else "(none)"

    least = min(range(len(levels)), key=lambda i: lower[i])
    fewest = (f"none at {level_text(levels[least])}" if lower[least] == 0 else
              f"{lower[least]} of {pairs[least]} at {level_text(levels[least])}")
    return REMARKS["fig8"].format(every=last_of_prefix(lambda lo, pa: lo == pa),
                                  majority=last_of_prefix(lambda lo, pa: 2 * lo > pa), fewest=fewest,
                                  last=level_text(levels[-1]), last_lower=lower[-1], last_pairs=pairs[-1])


def _measured(d: dict[str, Any]) -> str:
    """How many of the runs' Hessian steps were measured, where a figure measures only those it reads."""
    if "hessians_measured" not in d:
        return ""
    reader = "the left and middle panels read" if d["figure"] == "fig8" else "the figure reads"
    return (f" Of the {d['hessian_steps']} Hessian steps of these runs (every {d['hessian_every']} steps), the "
            f"{d['hessians_measured']} that {reader} were measured: at each level the two "
            "steps around the run's passage, and the first and the last (`read_points` in "
            "resnet_cli/experiments/train_shortcut.py; the readings are those of every step measured, "
            "tests/experiments/test_train_shortcut_experiment.py). The others are null in the JSON's runs.")


def build(ctx: Context) -> None:
    for name in check_parts(REPRODUCTION, ctx.execution.only):
        ctx.log(f"{NUMBER[name]}: {BUILD[name].__name__} over train shortcut --config li2017-{name}"
                + (" (quick)" if ctx.execution.quick else ""))
        data = timed_payload(lambda name=name: BUILD[name](ctx.execution.quick, ctx.execution))
        write_json(ctx.data(f"li2017-{name}"), data)
        ctx.log(f"{NUMBER[name]}: {format_duration(data['wall_seconds'])} wall, {format_duration(data['cpu_seconds'])} CPU")
    write_record(ctx.docs, "li2017-training")


def draw(docs: Path) -> None:
    from resnet_cli.plots import shortcut as plots

    drawers = {"fig3": plots.li2017_fig3, "fig7": plots.li2017_fig7, "fig8": plots.li2017_fig8}
    for name in FIGURES:
        out = docs / "data" / f"li2017-{name}.json"
        if out.exists():
            (docs / "figures").mkdir(parents=True, exist_ok=True)
            drawers[name](read_json(out), str(docs / "figures" / f"li2017-{name}.png"))


REPRODUCTION = Reproduction(
    name="li2017-training", summary="Li et al. 2017 Figures 3, 7, 8 (train shortcut presets)",
    begin=BEGIN, end=END, after=AFTER, build=build, section=section, draw=draw, parts=FIGURES, quick=True,
    part_data="li2017-{}")
