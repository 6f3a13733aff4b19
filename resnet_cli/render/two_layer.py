"""Tables of the two-layer commands (Liu et al. 2019): `train two-layer`, `landscape two-layer`, `success-rate`.

Every function takes the result's `to_dict()` payload and prints to the stdout console; every table fits
80 columns (`WIDTH`). Numbers below what the computation resolves print as ``< 1e-12`` (losses, gradient
norms, angles and distances at the level of rounding) or ``0`` (Hessian eigenvalues within the verdict's
tolerance).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich import box
from rich.table import Table

from resnet_cli.render.common import WIDTH, console, fmt

OUTCOME_STYLE = {"global": "green", "spurious": "red", "undecided": "yellow", "diverged": "magenta"}
SYMBOL = {name: f"[{style}]{name[0].upper()}[/{style}]" for name, style in OUTCOME_STYLE.items()}
STAT_HEADERS = {"loss": "loss", "phi": "φ (rad)", "a_dot_astar": "aᵀa*", "a_err": "‖a − a*‖"}
METHOD_NOTES = {
    "cnn-large-w": "no shortcut, random v0; η on w from step 0, η_a on a",
    "cnn-large-both": "no shortcut, random v0; η on both layers from step 0",
    "resnet-large-w": "w0 = 0; η on w from step 0, η_a on a",
    "resnet-large-both": "w0 = 0; η on both layers from step 0",
    "resnet-ssw": "w0 = 0, step-size warm-up",
    "resnet-layerwise": "w0 = 0, a alone in stage I",
}
NOISE = 1e-12  # losses and gradient norms below this are rounding, not a value
EIG_TOL = 1e-9  # |λ| ≤ EIG_TOL·max(1, max|λ|) counts as zero (the landscape's verdict rule)


def small(x: float, floor: float = NOISE) -> str:
    """fmt, with values below the resolution shown as ``< floor`` (0 stays 0)."""
    return f"< {floor:g}" if x != 0 and abs(x) < floor else fmt(x)


def _table(*columns: str, **kw: Any) -> Table:
    table = Table(**kw)
    for col in columns:
        table.add_column(col, justify="right")
    return table


def show(title: str, table: Table, note: str = "") -> None:
    """A table under its title line (titles are never squeezed to the table's width), then a note."""
    console.print(f"[bold]{title}[/bold]")
    console.print(table)
    if note:
        console.print(f"[dim]{note}[/dim]")


def _stats(values: dict[str, float]) -> list[str]:
    return [small(values["loss"]), small(values["phi"]), fmt(values["a_dot_astar"]), small(values["a_err"])]


def criteria_note(cfg: dict[str, Any]) -> str:
    return (f"global: φ < {fmt(cfg['phi_tol'])}, ‖a − a*‖ ≤ {fmt(cfg['a_tol'])}‖a*‖; "
            f"spurious: φ > π − {fmt(cfg['spurious_tol'])}; else undecided")


# --- train two-layer --------------------------------------------------------------------------------------


def train(payload: dict[str, Any]) -> None:
    """The trace (trial 0, or the median over trials), then the outcome of each trial (first 20)."""
    cfg, runs, trace = payload["config"], payload["runs"], payload["trace"]
    n = len(runs)
    console.print(f"[bold]train two-layer[/bold]  student={cfg['student']} p={cfg['p']} k={cfg['k']} "
                  f"schedule={cfg['schedule']} trials={n} seed={cfg['seed']}")
    r0 = runs[0]
    console.print(f"gradients: {cfg.get('data', 'population')} (outcomes judged on the population loss)")
    console.print(f"steps: {cfg['steps']}, stage I the first T1 = {cfg['stage1_steps']}")
    console.print(f"step sizes (trial 0): stage I η_a = {fmt(r0['lr_a'])}, η_w = {fmt(r0['stage1_lr_w'])}")
    console.print(f"                      stage II η = {fmt(r0['lr'])} for both")
    title = "trace of trial 0" if n == 1 else f"trace: median over {n} trials"
    table = _table("step", "stage", *STAT_HEADERS.values())
    medians = {key: np.median(np.asarray(trace[key], dtype=float), axis=0) for key in STAT_HEADERS}  # per record
    for j, step in enumerate(trace["step"]):
        stage = "I" if step < cfg["stage1_steps"] else "II"
        table.add_row(str(step), stage, *_stats({key: float(medians[key][j]) for key in STAT_HEADERS}))
    show(title, table)
    outcomes = _table("trial", "outcome", *STAT_HEADERS.values(), "steps")
    for run in runs[:20]:
        style = OUTCOME_STYLE.get(run["outcome"], "")
        outcomes.add_row(str(run["trial"]), f"[{style}]{run['outcome']}[/{style}]", *_stats(run["final"]),
                         str(run["steps"]))
    show("outcome per trial" + (f" (first 20 of {n})" if n > 20 else ""), outcomes)
    counts = payload["counts"]
    console.print("outcomes: " + ", ".join(f"{name} {counts[name]}" for name in counts))
    console.print(f"[dim]{criteria_note(cfg)}[/dim]")
    if "theorems" in runs[0]:
        theorems(cfg, runs)


C_MAX = 1e6  # a larger c only says δ/‖x − x*‖² at converged records: shown as "> 1e6"


def _c(value: float | None, cap: bool = False) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return f"> {C_MAX:g}" if cap and value > C_MAX else fmt(value)


def theorems(cfg: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Theorem 1's output (1) on [T1, T] and the largest c of C1/C2 per stage, per trial (first 20)."""
    n = len(runs)
    more = f" (first 20 of {n})" if n > 20 else ""
    table = _table("trial", "(1) held", "fails at", "max φ", "min aᵀa*/‖a*‖²", "max aᵀa*/‖a*‖²")
    for run in runs[:20]:
        t = run["theorems"]
        held = "—" if t["output1_held"] is None else ("yes" if t["output1_held"] else "no")
        fails = "—" if t["first_failure"] is None else str(t["first_failure"])
        phi = "—" if t["phi_max"] is None else small(t["phi_max"])
        table.add_row(str(run["trial"]), held, fails, phi, _c(t["a_dot_min_rel"]), _c(t["a_dot_max_rel"]))
    show(f"Theorem 1, output (1) on [T1, T]: φ ≤ 5π/12, m ≤ aᵀa* ≤ M{more}", table,
         f"m = {fmt(cfg['theorem_m'])}‖a*‖², M = {fmt(cfg['theorem_big_m'])}‖a*‖²; only the recorded steps are "
         "checked")
    if runs[0]["theorems"]["c1"] is None:
        console.print("[dim]C1/C2: not computed for overlapping patches (s < p)[/dim]")
        return
    table = _table("trial", "C1 stage I", "C1 stage II", "C2 stage I", "C2 stage II")
    for run in runs[:20]:
        t = run["theorems"]
        table.add_row(str(run["trial"]), *(_c(v, cap=True) for v in (*t["c1"], *t["c2"])))
    show(f"largest c with C1 (on w) and C2 (on a) along each stage, δ = {fmt(cfg['delta'])}{more}", table,
         "population loss; c < 0: holds for no c ≥ 0; ∞: no record; > 1e6: only converged records")


def trace_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat rows of `--out trace.csv`: one per (trial, recorded step)."""
    trace = payload["trace"]
    return [
        {"trial": i, "step": step, **{key: trace[key][i][j] for key in STAT_HEADERS}}
        for i in range(len(payload["runs"]))
        for j, step in enumerate(trace["step"])
    ]


# --- landscape two-layer ----------------------------------------------------------------------------------


def landscape(payload: dict[str, Any]) -> None:
    """Critical points (one column each), the φ-profile, one basin map per schedule, the initial angles."""
    cfg, teacher = payload["config"], payload["teacher"]
    console.print(f"[bold]landscape two-layer[/bold]  p={cfg['p']} k={cfg['k']} seed={cfg['seed']}")
    console.print(f"teacher: ‖a*‖ = {fmt(teacher['a_star_norm'])}, 1ᵀa* = {fmt(teacher['a_star_sum'])}, "
                  f"angle(v*, e) = {fmt(math.degrees(teacher['angle_to_e']))}°")
    points = payload["critical_points"]
    table = _table("", *(cp["kind"] for cp in points))
    table.columns[0].justify = "left"
    table.add_row("loss", *(small(cp["loss"]) for cp in points))
    table.add_row("‖∇L‖", *(small(cp["grad_norm"]) for cp in points))
    table.add_row("aᵀa*", *(fmt(cp["a_dot_astar"]) for cp in points))
    for key, label in (("hessian_min", "λmin"), ("hessian_max", "λmax")):
        table.add_row(label, *(eigenvalue(cp, key) for cp in points))
    table.add_row("verdict", *(cp["verdict"] for cp in points))
    show("critical points (λ: Hessian on the tangent space of the sphere × R^k)", table)
    for cp in points:
        console.print(f"[dim]{cp['kind']}: {cp['method']}[/dim]")
    prof = _table("φ (deg)", "min_a L", "a(φ)ᵀa*", "v moves")
    for row in payload["profile"]:
        moves = "toward v*" if row["a_dot_astar"] > 0 else "away from v*"
        if row["phi"] in (0.0, math.pi):
            moves = "—"
        prof.add_row(fmt(math.degrees(row["phi"])), small(row["loss"]), fmt(row["a_dot_astar"]), moves)
    show("loss along φ with a optimized in closed form, a(φ) = M⁻¹N(φ)a*", prof)
    basin = payload["basin"]
    console.print(f"basins: gradients from {cfg.get('data', 'population')} (outcomes on the population loss)")
    for kind, grid in basin["outcomes"].items():
        basin_table(kind, basin["phi0"], basin["a0_over_astar"], grid)
    q = basin["cnn_init_phi0_quantiles"]
    console.print(f"initial angle φ0: ResNet student (w0 = 0, v0 = e) {fmt(math.degrees(basin['resnet_init_phi0']))}°;")
    console.print(f"  CNN student (v0 uniform), 10/50/90% quantiles {fmt(math.degrees(q['q10']))}° / "
                  f"{fmt(math.degrees(q['q50']))}° / {fmt(math.degrees(q['q90']))}°")
    console.print("[dim]Both students follow the same normalized GD in (v, a); only the start differs.[/dim]")


def eigenvalue(cp: dict[str, Any], key: str) -> str:
    """An extreme tangent-Hessian eigenvalue; 0 within the verdict's tolerance (relative to max |λ|)."""
    tol = EIG_TOL * max(1.0, abs(cp["hessian_min"]), abs(cp["hessian_max"]))
    return "0" if abs(cp[key]) <= tol else fmt(cp[key])


def basin_table(kind: str, phi0: list[float], ratios: list[float], grid: list[list[str]]) -> None:
    """Rows φ0, columns q (a0 = q·a*); a header for every q while they fit in WIDTH, else for the ends only."""
    fits = 12 + 7 * len(ratios) <= WIDTH
    table = Table(box=box.SIMPLE, padding=(0, 1) if fits else (0, 0))
    table.add_column("φ0 (deg)", justify="right")
    for q in ratios:
        label = fmt(float(q), 2) if fits else ""
        table.add_column(label, justify="center")
    for phi, row in zip(phi0, grid):
        table.add_row(fmt(math.degrees(float(phi))), *[SYMBOL[c] for c in row])
    show(f"basins of GD, schedule {kind} (G global, S spurious, U undecided, D diverged)", table,
         f"columns: a0 = q·a*, q from {fmt(float(ratios[0]), 2)} to {fmt(float(ratios[-1]), 2)} in "
         f"{len(ratios)} values; rows: initial angle φ0 to v*")


# --- success-rate -----------------------------------------------------------------------------------------


def success_rate(payload: dict[str, Any]) -> None:
    """The rate and its 95% Wilson interval per (p, k) and method; then the counts per outcome."""
    cfg = payload["config"]
    methods = cfg["method"]
    console.print(f"[bold]success-rate[/bold]  p={','.join(map(str, cfg['p']))} trials={cfg['trials']} "
                  f"seed={cfg['seed']}  teacher v*={cfg['teacher_v']} a*={cfg['teacher_a']}")
    console.print(f"gradients: {cfg.get('data', 'population')} (outcomes judged on the population loss)")
    rates = _table("p", "k", *(m.replace("-", "-\n", 1) if len(m) > 10 else m for m in methods))
    if len(methods) > 5:
        rates.padding = (0, 0)
    by_pk: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for row in payload["cells"]:
        by_pk.setdefault((row["p"], row["k"]), {})[row["method"]] = row
    for (p, k), group in by_pk.items():
        cells = [f"{group[m]['rate']:.3f}\n[dim]{group[m]['ci_low']:.3f}–{group[m]['ci_high']:.3f}[/dim]" for m in methods]
        rates.add_row(str(p), str(k), *cells)
    show("share of trials reaching the global optimum (below it: 95% Wilson interval)", rates)
    counts = _table("p", "k", "method", "global", "spurious", "undecided", "diverged")
    counts.columns[2].justify = "left"
    for row in payload["cells"]:
        counts.add_row(str(row["p"]), str(row["k"]), row["method"],
                       *(str(row[name]) for name in ("global", "spurious", "undecided", "diverged")))
    show("trials per outcome", counts)
    output1(cfg, payload["cells"])
    first = payload["cells"][0]
    for i, method in enumerate(methods):
        console.print(f"[dim]{'methods: ' if i == 0 else ' ' * 9}{method} = {METHOD_NOTES[method]}[/dim]")
    budget = cfg["steps"] if cfg["steps"] is not None else f"T1 + {cfg['stage2_steps']}"
    console.print(f"[dim]steps per trial: {budget} (T1 = {first['stage1_steps']} at k = {first['k']}; default "
                  f"⌈1/η_a⌉)[/dim]")
    console.print(f"[dim]{criteria_note(cfg)}[/dim]")


def output1(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> None:
    """Per cell: for how many trials Theorem 1's output (1) held on the recorded steps of [T1, T], among the
    global trials and among the others, and the median of min aᵀa*/‖a*‖² there."""
    if not cells or cells[0].get("output1_global") is None:
        console.print("[dim]Theorem 1, output (1): no step of [T1, T] was run[/dim]")
        return
    table = _table("p", "k", "method", "(1) held: global", "others", "median min aᵀa*/‖a*‖²")
    table.columns[2].justify = "left"
    for row in cells:
        others = row["trials"] - row["global"]
        table.add_row(str(row["p"]), str(row["k"]), row["method"], f"{row['output1_global']} of {row['global']}",
                      f"{row['output1_other']} of {others}", _c(row["a_dot_min_rel_median"]))
    show("Theorem 1, output (1) on [T1, T]: φ ≤ 5π/12 and m ≤ aᵀa* ≤ M", table,
         f"m = {fmt(cfg['theorem_m'])}‖a*‖², M = {fmt(cfg['theorem_big_m'])}‖a*‖²; checked at T1 and about 50 "
         "recorded steps up to T")
