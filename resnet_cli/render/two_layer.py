"""Tables of the two-layer commands (Liu et al. 2019): `train two-layer`, `landscape two-layer`, `success-rate`.

Every function takes the result's `to_dict()` payload and prints to the stdout console, tables within 80
columns (`WIDTH`): a short headline, its result table first; `--detail` adds the secondary tables. Numbers
below what the computation resolves print as ``< 1e-12`` (losses, gradient norms, angles and distances at
rounding level) or ``0`` (Hessian eigenvalues within the verdict's tolerance).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from rich import box
from rich.table import Table

from resnet_cli.models.two_layer.methods import FLOW
from resnet_cli.models.two_layer.noise import DEFAULT_SIZE
from resnet_cli.plots.two_layer import stage1_fills
from resnet_cli.render.common import WIDTH, console, fmt, fmt_bound, prose, rate_text, tightest

OUTCOME_STYLE = {"global": "green", "spurious": "red", "undecided": "yellow", "diverged": "magenta"}
SYMBOL = {name: f"[{style}]{name[0].upper()}[/{style}]" for name, style in OUTCOME_STYLE.items()}
STAT_HEADERS = {"loss": "loss", "phi": "φ (rad)", "a_dot_astar": "aᵀa*", "a_err": "‖a − a*‖"}
METHOD_NOTES = {
    "cnn-large-w": "no shortcut, random v0; η on w from step 0, η_a on a",
    "cnn-large-both": "no shortcut, random v0; η on both layers from step 0",
    "resnet-large-w": "w0 = 0; η on w from step 0, η_a on a",
    "resnet-large-both": "w0 = 0; η on both layers from step 0",
    "resnet-ssw": "w0 = 0, step-size warm-up",
    "resnet-layerwise": "w0 = 0; a alone in stage I, w alone (a fixed) in stage II",
    "resnet-a-first": "w0 = 0; a alone in stage I, both layers in stage II",
    "cnn-noise": "no shortcut, random v0; as large-both, annealed gradient noise",
    "resnet-noise": "w0 = 0; as large-both, annealed gradient noise",
}
# One phrase per part of a method name, for the one-line legend of the headline.
STUDENT_NOTES = {"cnn": "no shortcut", "resnet": "shortcut (w0 = 0)"}
SCHEDULE_NOTES = {"large-w": "no warm-up", "large-both": "no warm-up, large step on a too",
                  "ssw": "step-size warm-up", "layerwise": "a, then w alone", "a-first": "a, then both",
                  "noise": "as large-both, annealed gradient noise"}
HEADLINE_LINES = 30  # the default output of a command fits this many lines at 80 columns
NOISE = 1e-12  # losses and gradient norms below this are rounding, not a value
EIG_TOL = 1e-9  # |λ| ≤ EIG_TOL·max(1, max|λ|) counts as zero (the landscape's verdict rule)


def small(x: float, floor: float = NOISE) -> str:
    """fmt, with values below the resolution shown as ``< floor`` (exact zeros too: the same statement)."""
    return f"< {floor:g}" if math.isfinite(x) and abs(x) < floor else fmt(x)


def angle(x: float) -> str:
    """An angle in radians: π/d for the simple fractions of π, else the number."""
    for d in range(1, 13):
        if abs(x - math.pi / d) <= 1e-12:
            return "π" if d == 1 else f"π/{d}"
    return fmt(x)


def _table(*columns: str, **kw: Any) -> Table:
    """Right-justified columns; a method name too wide for 80 columns wraps (fold), never cut to an ellipsis:
    resnet-large-w-flow and resnet-large-both-flow would read alike."""
    table = Table(**kw)
    for col in columns:
        table.add_column(col, justify="right", overflow="fold" if col == "method" else "ellipsis")
    return table


def show(title: str, table: Table | str, note: str = "") -> None:
    """A table under its title line (titles are never squeezed to the table's width), then a note."""
    console.print(f"[bold]{title}[/bold]")
    console.print(table)
    if note:
        console.print(f"[dim]{note}[/dim]")


def _stats(values: dict[str, float]) -> list[str]:
    return [small(values["loss"]), small(values["phi"]), fmt(values["a_dot_astar"]), small(values["a_err"])]


def criteria_note(cfg: dict[str, Any]) -> str:
    return (f"global: φ < {fmt(cfg['phi_tol'])}, ‖a − a*‖ ≤ {fmt(cfg['a_tol'])}‖a*‖; "
            f"spurious: φ > π − {angle(cfg['spurious_tol'])}; else undecided")


def teacher_line(cfg: dict[str, Any]) -> str:
    """One line on the teacher's law: the skip-layer prior decides whether SSW always succeeds (Liu et al.
    2019, "Skip-Layer Prior"; 0.54–0.75: the `--teacher-v sphere` rates of resnet-ssw at p = 8, k = 4, 16, 36,
    500 trials, seeds 0 and 1, docs/success-rate.md; other p differ, e.g. 0.82 at p = 32, k = 4)."""
    if cfg.get("teacher_v") == "prior" and cfg["prior_angle"] > 60:  # Theorem 1's prior is ‖w*‖ ≤ 1: ≤ 60°
        return (f"teacher v*: uniform on the cap ≤ {fmt(cfg['prior_angle'])}° from e, wider than the skip-layer "
                "prior (≤ 60°)")
    if cfg.get("teacher_v") == "prior":
        return f"teacher v*: skip-layer prior (≤ {fmt(cfg['prior_angle'])}° from e); SSW without it: 0.54–0.75 at p = 8"
    return "teacher v*: uniform on the sphere (no skip-layer prior)"


def method_legend(methods: list[str]) -> str:
    """What the parts of the method names mean, in one sentence."""
    bare = [m.removesuffix(FLOW) for m in methods]
    students = dict.fromkeys(m.split("-", 1)[0] for m in bare)
    schedules = dict.fromkeys(m.split("-", 1)[1] for m in bare if "-" in m)
    parts = [f"{name}: {STUDENT_NOTES[name]}" for name in students if name in STUDENT_NOTES]
    parts += [f"{name}: {SCHEDULE_NOTES[name]}" for name in schedules if name in SCHEDULE_NOTES]
    if any(m.endswith(FLOW) for m in methods):
        parts.append("-flow: its gradient flow (step → 0)")
    return "methods: " + "; ".join(parts)


def noise_line(cfg: dict[str, Any], methods: list[str] | None = None) -> None:
    """One line on perturbed GD's noise law (models/two_layer/noise.py), when the run has it; with `methods`
    (success-rate) only the -noise methods have it, and a --noise without one of them says it did nothing."""
    if methods is not None and not any(m.endswith("-noise") for m in methods):
        if cfg.get("noise") is not None:
            prose("--noise has no effect here: only the methods cnn-noise and resnet-noise add noise", "dim")
        return
    if not (cfg.get("noise") or any(m.endswith("-noise") for m in methods or [])):
        return
    size = DEFAULT_SIZE if cfg.get("noise") is None else cfg["noise"]
    law = {"none": "constant", "exponential": f"σ0·exp(−{fmt(cfg['noise_rate'])} t/T)",
           "polynomial": f"σ0/(1 + {fmt(cfg['noise_rate'])} t/T)"}[cfg["noise_anneal"]]
    layers = {"w": "w", "a": "a", "both": "w and a"}[cfg["noise_on"]]
    data = cfg.get("data") or "population"
    kind = "GD" if data.startswith("population") else "SGD" if "SGD" in data else "GD on samples"
    prose(f"perturbed {kind}: Gaussian noise on the gradient of {layers}, σ0 = {fmt(size)} (units ‖a*‖², ‖a*‖), "
          f"σ_t = {law}", "dim")


def flow_failure_note(failure: str, where: str = "", diverged: int = 1) -> None:
    """One sentence where the ODE solver gave up before the horizon: the trials not yet at rest there have no
    known state past it, so they count as diverged (`diverged` of them) although the flow itself does not
    diverge; trials already at a fixed point are classified where they stopped."""
    if failure and not diverged:
        prose(f"the flow solver gave up{' on ' + where if where else ''} ({failure}) after every trial had come to "
              "rest at a fixed point (speed < 1e-9): each is classified where it stopped", "dim")
    elif failure:
        prose(f"the flow solver gave up{' on ' + where if where else ''} ({failure}): no state is known past that "
              "point, so its trials not yet at rest count as diverged; smaller step sizes or another --flow-solver "
              "may get through", "yellow")


def method_note(method: str) -> str:
    """The one-line description of a method (a "-flow" method: its GD method's, in continuous time)."""
    if method.endswith(FLOW):
        return f"gradient flow of {method.removesuffix(FLOW)}'s schedule, same horizon"
    return METHOD_NOTES[method]


def output1_window(cfg: dict[str, Any]) -> str:
    """Which trajectory output (1) was checked on, and the constants."""
    if cfg.get("theorem_trajectory") != "theorem1":
        where = "the run (stage-II steps after T1)"
    elif cfg.get("theorem_all"):
        where = "stage-I steps kept to T (Theorem 1's own for ssw)"
    else:
        where = "Theorem 1's own steps"
    return f"on {where}, m = {fmt(cfg['theorem_m'])}‖a*‖², M = {fmt(cfg['theorem_big_m'])}‖a*‖²"


# --- train two-layer --------------------------------------------------------------------------------------

HEADLINE_TRACE = 8  # records of the trace in the default output


def train(payload: dict[str, Any], detail: bool = False) -> None:
    """Headline: the outcome of each trial (first 5; 20 with detail), Theorem 1's output (1), a short trace
    (trial 0, or the median over trials). Detail: the whole trace, output (1) per trial, C1/C2."""
    cfg, runs, trace = payload["config"], payload["runs"], payload["trace"]
    n = len(runs)
    console.print(f"[bold]train two-layer[/bold]  student={cfg['student']} p={cfg['p']} k={cfg['k']} "
                  f"schedule={cfg['schedule']} trials={n} seed={cfg['seed']}")
    shown = 20 if detail else 5
    outcomes = _table("trial", "outcome", *STAT_HEADERS.values(), "steps")
    for run in runs[:shown]:
        style = OUTCOME_STYLE.get(run["outcome"], "")
        outcomes.add_row(str(run["trial"]), f"[{style}]{run['outcome']}[/{style}]", *_stats(run["final"]),
                         str(run["steps"]))
    counts = ", ".join(f"{name} {count}" for name, count in payload["counts"].items() if count)
    show(f"outcomes: {counts}" + (f" (first {shown} of {n} trials below)" if n > shown else ""), outcomes)
    prose(criteria_note(cfg), "dim")
    if "flow" in payload:
        ends = ", ".join(f"{name} {count}" for name, count in payload["flow"]["limits"].items() if count)
        prose(f"gradient flow of the schedule (step → 0; 'steps' is the horizon of the GD run it replaces; scipy "
              f"{cfg['flow_solver']}, rtol {cfg['flow_rtol']:g}); where the flow ends (t → ∞, Newton-pinned): {ends}")
        flow_failure_note(payload["flow"].get("solver_failure", ""), diverged=payload["counts"].get("diverged", 0))
    if "theorems" in runs[0]:
        output1_headline(cfg, runs)
    r0 = runs[0]
    per_trial = len(runs) > 1 and any(r[key] != r0[key] for r in runs for key in ("lr_a", "stage1_lr_w", "lr"))
    stage2 = (f", then η = {fmt(r0['lr'])}" if cfg["stage1_steps"] < cfg["steps"] else
              f"; stage II never starts (the run's {cfg['steps']} steps ≤ T1)")
    prose(f"T1 = {cfg['stage1_steps']} of {cfg['steps']} steps: " + ("trial 0 " if per_trial else "")
          + f"η_a = {fmt(r0['lr_a'])}, η_w = {fmt(r0['stage1_lr_w'])}{stage2}"
          + (" (they depend on the teacher: every trial's in --json)" if per_trial else ""))
    noise_line(cfg)
    if detail or cfg.get("data", "population") != "population":
        prose(f"gradients: {cfg.get('data', 'population')} (outcomes judged on the population loss)")
    title = "trace of trial 0" if n == 1 else f"trace: median over {n} trials"
    table = _table("step", "stage", *STAT_HEADERS.values())
    medians = {key: np.median(np.asarray(trace[key], dtype=float), axis=0) for key in STAT_HEADERS}  # per record
    for j in trace_records(trace["step"], cfg["stage1_steps"], None if detail else HEADLINE_TRACE):
        step = trace["step"][j]
        stage = "I" if step < cfg["stage1_steps"] else "II"
        table.add_row(str(step), stage, *_stats({key: float(medians[key][j]) for key in STAT_HEADERS}))
    show(title if detail else f"{title} (some records; --detail: all)", table)
    if detail and "theorems" in runs[0]:
        theorems(cfg, runs)
    if not detail:
        prose(teacher_line(cfg), "dim")
        prose("more: --detail (whole trace, Theorem 1 per trial, C1/C2), docs/train.md", "dim")


def trace_records(steps: list[int], t1: int, most: int | None) -> list[int]:
    """Indices of the trace records to print: all, or about `most` of them spread over the (log-spaced)
    records, always with the first, the last and the first record of stage II (the phase transition)."""
    count = len(steps)
    if most is None or count <= most:
        return list(range(count))
    keep = set(np.round(np.linspace(0, count - 1, most - 1)).astype(int).tolist())
    keep.update(j for j, step in enumerate(steps) if step >= t1 and (j == 0 or steps[j - 1] < t1))
    return sorted(keep)


def output1_headline(cfg: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Theorem 1's output (1) in two lines: held for how many trials, and the tightest (m, M) achieved."""
    if cfg.get("theorem1_outside"):
        prose(f"Theorem 1: this run is outside its hypotheses ({cfg['theorem1_outside']}); --theorem-all checks "
              "output (1) anyway", "dim")
        if not cfg.get("theorem_all"):
            return
    checks = [run["theorems"] for run in runs if run["theorems"]["output1_held"] is not None]
    if not checks:
        why = ("not checked on the gradient flow (it is a statement about GD's steps)" if cfg.get("flow")
               else "no recorded step in [T1, T]")
        prose(f"Theorem 1, output (1): {why}", "dim")
        return
    held = sum(t["output1_held"] for t in checks)
    lows = [t["a_dot_min_rel"] for t in checks if t["a_dot_min_rel"] is not None]
    highs = [t["a_dot_max_rel"] for t in checks if t["a_dot_max_rel"] is not None]
    tight = tightest(lows, highs)
    prose(f"Theorem 1, output (1) {output1_window(cfg)}: held in {held} of {len(checks)}" + (f"; {tight}" if tight else ""))


C_MAX = 1e6  # a larger c only says δ/‖x − x*‖² at converged records: shown as "> 1e6"


def _c(value: float | None, cap: bool = False, digits: int = 4) -> str:
    if value is None:
        return "—"
    if math.isinf(value):
        return "∞"
    return f"> {C_MAX:g}" if cap and value > C_MAX else fmt(value, digits)


def theorems(cfg: dict[str, Any], runs: list[dict[str, Any]]) -> None:
    """Theorem 1's output (1) on [T1, T] (when checked) and the largest c of C1/C2 per stage, per trial
    (first 20)."""
    n = len(runs)
    more = f" (first 20 of {n})" if n > 20 else ""
    if runs[0]["theorems"]["output1_held"] is not None:
        table = _table("trial", "(1) held", "fails at", "max φ", "min aᵀa*/‖a*‖²", "max aᵀa*/‖a*‖²")
        for run in runs[:20]:
            t = run["theorems"]
            held = "—" if t["output1_held"] is None else ("yes" if t["output1_held"] else "no")
            fails = "—" if t["first_failure"] is None else str(t["first_failure"])
            phi = "—" if t["phi_max"] is None else small(t["phi_max"])
            table.add_row(str(run["trial"]), held, fails, phi, _c(t["a_dot_min_rel"]), _c(t["a_dot_max_rel"]))
        show(f"Theorem 1, output (1) on [T1, T]: φ ≤ 5π/12, m ≤ aᵀa* ≤ M{more}", table)
        prose(f"{output1_window(cfg)}; only the recorded steps are checked", "dim")
    if runs[0]["theorems"]["c1"] is None:
        console.print("[dim]C1/C2: not computed for overlapping patches (s < p)[/dim]")
        return
    table = _table("trial", "C1 stage I", "C1 stage II", "C2 stage I", "C2 stage II")
    for run in runs[:20]:
        t = run["theorems"]
        table.add_row(str(run["trial"]), *(_c(v, cap=True) for v in (*t["c1"], *t["c2"])))
    show(f"partial dissipativity: largest c of C1 (on w), C2 (on a), δ = {fmt(cfg['delta'])}{more}", table)
    prose("on the run's own steps (stage I: t < T1, stage II: t ≥ T1), population loss; c < 0: holds for no "
          "c ≥ 0; ∞: no record; > 1e6: only converged records", "dim")


def trace_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The flat rows of `--out trace.csv`: one per (trial, recorded step)."""
    trace = payload["trace"]
    return [
        {"trial": i, "step": step, **{key: trace[key][i][j] for key in STAT_HEADERS}}
        for i in range(len(payload["runs"]))
        for j, step in enumerate(trace["step"])
    ]


# --- landscape two-layer ----------------------------------------------------------------------------------


def landscape(payload: dict[str, Any], detail: bool = False) -> None:
    """Headline: the critical points (one column each) and the outcome counts of each basin map (with
    --stride s < p: the spurious point along s = p … s instead of the points at s). Detail: how each verdict
    was reached, the φ-profile, the basin maps themselves and the initial angles."""
    cfg, teacher = payload["config"], payload["teacher"]
    sweep = payload.get("stride_sweep")
    stride = f" stride={cfg['stride']}" if sweep else ""
    console.print(f"[bold]landscape two-layer[/bold]  p={cfg['p']} k={cfg['k']}{stride} seed={cfg['seed']}")
    prose(f"teacher: ‖a*‖ = {fmt(teacher['a_star_norm'])}, 1ᵀa* = {fmt(teacher['a_star_sum'])}, "
          f"angle(v*, e) = {fmt(math.degrees(teacher['angle_to_e']))}°")
    points = payload["critical_points"]
    if sweep:
        stride_sweep(sweep)
    else:
        critical_points(points, "critical points (λ: Hessian on the tangent space of the sphere × R^k)")
    basin = payload["basin"]
    starts = len(basin["phi0"]) * len(basin["a0_over_astar"])
    population = payload["config"].get("samples") is None and not payload["config"].get("online")
    overlap = cfg.get("stride") is not None and cfg["stride"] < cfg["p"]  # then v's gradient at −v* is not 0
    pinned = 0  # spurious starts at φ0 = π: v = −v*, where the population v-gradient is exactly 0
    for kind, grid in basin["outcomes"].items():
        found = [c for row in grid for c in row]
        counts = ", ".join(f"{name} {found.count(name)}" for name in OUTCOME_STYLE if found.count(name))
        prose(f"basins of GD, schedule {kind}: {counts} of {starts} starts")
        if population and not overlap and basin["phi0"][-1] == math.pi:
            pinned = max(pinned, sum(c == "spurious" for c in grid[-1]))
    prose(f"after {cfg['steps']} steps: {criteria_note(cfg)}", "dim")
    if pinned:
        prose(f"the {pinned} starts at φ0 = π (v = −v*, where v's gradient is 0) stay spurious", "dim")
    q = basin["cnn_init_phi0_quantiles"]
    prose(f"initial angle φ0: ResNet student (w0 = 0) {fmt(math.degrees(basin['resnet_init_phi0']))}°; CNN "
          f"student (v0 uniform) median {fmt(math.degrees(q['q50']))}°")
    if not detail:
        prose(teacher_line(cfg), "dim")
        prose("more: --detail (verdict methods, loss along φ, basin maps), docs/landscape.md", "dim")
        return
    if sweep:
        critical_points(points, f"critical points at s = {cfg['stride']} (λ: tangent Hessian of the stride-s loss)")
        found_points(sweep)
    for cp in points:
        prose(f"{cp['kind']}: {cp['method']}", "dim")
    profile(payload["profile"], overlapping=bool(sweep))
    console.print(f"basins: gradients from {cfg.get('data', 'population')} (outcomes on the population loss)")
    for kind, grid in basin["outcomes"].items():
        basin_table(kind, basin["phi0"], basin["a0_over_astar"], grid)
    prose(f"CNN student's initial angle, 10/50/90% of 10,000 draws: {fmt(math.degrees(q['q10']))}° / "
          f"{fmt(math.degrees(q['q50']))}° / {fmt(math.degrees(q['q90']))}°")
    prose("Both students follow the same normalized GD in (v, a); only the start differs.", "dim")


def critical_points(points: list[dict[str, Any]], title: str) -> None:
    """One column per critical point: loss, ‖∇L‖, aᵀa*, extreme tangent-Hessian eigenvalues, verdict."""
    table = _table("", *(cp["kind"] for cp in points))
    table.columns[0].justify = "left"
    table.add_row("loss", *(small(cp["loss"]) for cp in points))
    table.add_row("‖∇L‖", *(small(cp["grad_norm"]) for cp in points))
    table.add_row("aᵀa*", *(small(cp["a_dot_astar"]) for cp in points))
    for key, label in (("hessian_min", "λmin"), ("hessian_max", "λmax")):
        table.add_row(label, *(eigenvalue(cp, key) for cp in points))
    table.add_row("verdict", *(cp["verdict"] for cp in points))
    show(title, table)


def _sweep_row(row: dict[str, Any], *extra: str, first: int = 0) -> list[str]:
    """A sweep row; a followed point that drained to the global optimum (after stride `first`) says so."""
    return [str(row["stride"]), small(row["loss"]), small(math.degrees(row["phi"])), small(row["a_dot_astar"]),
            small(row["grad_norm"]), eigenvalue(row, "hessian_min"), str(row["index"]),
            "→ global" if row["kind"] == "global" and row["stride"] != first else
            ("fold → " if row.get("fold") else "") + row["verdict"].replace("local minimum", "minimum"), *extra]


def stride_sweep(sweep: dict[str, Any]) -> None:
    """The spurious point continued along s = p … s: loss, φ, aᵀa*, ‖∇L‖, λmin, index, verdict, and how many
    GD search starts ended there; then the strides where the search found other non-global points."""
    table = _table("s", "loss", "φ (deg)", "aᵀa*", "‖∇L‖", "λmin", "idx", "verdict", "GD", box=box.SIMPLE_HEAD, padding=(0, 1))
    for row in sweep["spurious_branch"]:
        table.add_row(*_sweep_row(row, fmt(row["reached_by"]), first=sweep["strides"][0]))
    show("the spurious point of s = p followed as a minimum (idx: negative λ)", table,
         f"GD: how many of {sweep['search_starts']} GD search starts per stride ended there; → global: the "
         "descent from the minimum of the stride before reached the global optimum; fold →: that minimum "
         "vanished on the way (a fold) and the descent landed in another one, followed from there")
    others = [r for r in sweep["found"] if r["kind"] == "other"]
    minima = {}
    for r in others:
        if r["verdict"] == "local minimum":
            minima[r["stride"]] = minima.get(r["stride"], 0) + 1
    listed = ", ".join(f"s = {s}: {n}" for s, n in minima.items()) or "none"
    prose(f"other non-global local minima found by GD: {listed}")


def found_points(sweep: dict[str, Any]) -> None:
    """Every non-global point the GD search reached (outside the continued spurious point), per stride."""
    rows = [r for r in sweep["found"] if r["kind"] == "other"]
    if not rows:
        prose("the GD search reached no other critical point at any stride")
        return
    table = _table("s", "loss", "φ (deg)", "aᵀa*", "‖∇L‖", "λmin", "idx", "verdict", "GD", box=box.SIMPLE_HEAD, padding=(0, 1))
    for row in rows:
        table.add_row(*_sweep_row(row, str(row["reached_by"])))
    show("other critical points the GD search reached (Newton from its ends)", table)


def profile(rows: list[dict[str, Any]], overlapping: bool) -> None:
    """min_a L along φ and a(φ)ᵀa*. Non-overlapping: the sign of a(φ)ᵀa* says where v moves (v moves toward
    v* iff it is positive); with overlap the loss depends on v, not φ alone: the circle of the basin map."""
    prof = _table("φ (deg)", "min_a L", "a(φ)ᵀa*", *(() if overlapping else ("v moves",)))
    for row in rows:
        moves = "toward v*" if row["a_dot_astar"] > 0 else "away from v*"
        if row["phi"] in (0.0, math.pi):
            moves = "—"
        prof.add_row(fmt(math.degrees(row["phi"])), small(row["loss"]), fmt(row["a_dot_astar"]),
                     *(() if overlapping else (moves,)))
    if overlapping:
        show("loss along the basin map's circle from v*, a = K(v, v)⁻¹K(v, v*)a* (stride s)", prof)
    else:
        show("loss along φ with a optimized in closed form, a(φ) = M⁻¹N(φ)a*", prof)


def eigenvalue(cp: dict[str, Any], key: str) -> str:
    """An extreme tangent-Hessian eigenvalue; 0 within the verdict's tolerance (relative to max |λ|)."""
    tol = EIG_TOL * max(1.0, abs(cp["hessian_min"]), abs(cp["hessian_max"]))
    return "0" if abs(cp[key]) <= tol else fmt(cp[key])


def basin_table(kind: str, phi0: list[float], ratios: list[float], grid: list[list[str]]) -> None:
    """Rows φ0, columns q (a0 = q·a*): a table with a header for every q while they fit in WIDTH, else one
    symbol per q in blocks of WIDTH − 10 (a squeezed table dropped columns and cut φ0 to "…" from 37 q on)."""
    title = f"basins of GD, schedule {kind} (G global, S spurious, U undecided, D diverged)"
    note = (f"columns: a0 = q·a*, q from {fmt(float(ratios[0]), 2)} to {fmt(float(ratios[-1]), 2)} in "
            f"{len(ratios)} values; rows: initial angle φ0 to v*")
    labels, wide = [fmt(math.degrees(float(phi))) for phi in phi0], 12 + 7 * len(ratios) > WIDTH
    table = Table(box=box.SIMPLE, padding=(0, 1))
    for head in ("φ0 (deg)", *(() if wide else (fmt(float(q), 2) for q in ratios))):
        table.add_column(head, justify="right" if head == "φ0 (deg)" else "center", no_wrap=True)
    for label, row in zip(labels, [] if wide else grid):
        table.add_row(label, *[SYMBOL[c] for c in row])
    blocks = [(i, min(i + WIDTH - 10, len(ratios))) for i in range(0, len(ratios), WIDTH - 10)] if wide else []
    lines = [line for a, b in blocks for line in [f"φ0 (deg)  q: columns {a + 1}–{b} of {len(ratios)}",
                                                   *(f"{label:>8}  " + "".join(SYMBOL[c] for c in row[a:b])
                                                     for label, row in zip(labels, grid))]]
    show(title, "\n".join(lines) if wide else table, note)


# --- success-rate -----------------------------------------------------------------------------------------


def success_rate(payload: dict[str, Any], detail: bool = False) -> None:
    """Headline: the rate and its 95% Wilson interval per (p, k) and method, the teacher's law, Theorem 1's
    output (1) in one sentence, the methods. Detail: trials per outcome, output (1) per cell, step budget,
    criteria."""
    cfg, cells = payload["config"], payload["cells"]
    methods = cfg["method"]
    console.print(f"[bold]success-rate[/bold]  p={','.join(map(str, cfg['p']))} trials={cfg['trials']} "
                  f"seed={cfg['seed']}")
    prose(f"gradients: {cfg.get('data', 'population')} (outcomes judged on the population loss)")
    by_pk: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for row in cells:
        by_pk.setdefault((row["p"], row["k"]), {})[row["method"]] = row
    title = "share of trials reaching the global optimum (95% Wilson interval)"
    for table in rate_tables(methods, by_pk, len(cfg["p"]) > 1):
        show(title, table)
        title = "(continued)"
    stage1_only_line(cfg, cells)
    prose(teacher_line(cfg), "dim")
    output1_sentence(cfg, cells)
    prose(method_legend(methods), "dim")
    noise_line(cfg, methods)
    for row in cells:
        flow_failure_note(row.get("flow_solver_failure", ""), f"{row['method']} at p = {row['p']}, k = {row['k']}",
                          row.get("diverged", 0))
    if not detail:
        prose("more: --detail (outcomes, Theorem 1 per cell, criteria); docs/success-rate.md", "dim")
        return
    counts = _table("p", "k", "method", "global", "spurious", "undecided", "diverged")
    counts.columns[2].justify = "left"
    for row in cells:
        counts.add_row(str(row["p"]), str(row["k"]), row["method"],
                       *(str(row[name]) for name in ("global", "spurious", "undecided", "diverged")))
    show("trials per outcome", counts)
    flows = [row for row in cells if row["method"].endswith(FLOW)]
    if flows:
        limits = _table("p", "k", "method", "global", "spurious", "saddle", "other", "not reached")
        limits.columns[2].justify = "left"
        for row in flows:
            limits.add_row(str(row["p"]), str(row["k"]), row["method"], *(str(row[f"limit_{name}"]) for name in
                           ("global", "spurious", "saddle", "other", "not_converged")))
        show("where the gradient flow ends (t → ∞, Newton-pinned fixed point)", limits)
        first = flows[0]
        prose(f"flow: scipy solve_ivp {first['flow_solver']}, rtol {first['flow_rtol']:g}, atol "
              f"{first['flow_atol']:g}; continued past the horizon until its speed < 1e-9", "dim")
    output1(cfg, cells)
    for i, method in enumerate(methods):
        prose(f"{'methods: ' if i == 0 else ' ' * 9}{method} = {method_note(method)}", "dim", " " * 11)
    first = cells[0]
    budget = cfg["steps"] if cfg["steps"] is not None else f"T1 + {cfg['stage2_steps']}"
    prose(f"steps per trial: {budget} (T1 = {first['stage1_steps']} at k = {first['k']}; default ⌈1/η_a⌉)", "dim")
    prose(criteria_note(cfg), "dim")


def stage1_only_line(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> None:
    """Where stage I (T1 steps, the small step on a) fills the whole run: those rates are of stage I alone
    (hollow markers in the figure)."""
    short = [c for c in cells if stage1_fills(c)]
    if not short:
        return
    where = ("(p, k) = " + ", ".join(dict.fromkeys(f"({c['p']}, {c['k']})" for c in short)) if len(cfg["p"]) > 1
             else "k = " + ", ".join(dict.fromkeys(str(c["k"]) for c in short)))
    prose(f"stage I alone at {where}: T1 = {_t1s(short)} steps fill the run's {short[0]['steps']}, so these rates "
          "say nothing of stage II (raise --steps)")


def rate_tables(methods: list[str], by_pk: dict[tuple[int, int], dict[str, dict[str, Any]]],
                with_p: bool) -> list[Table]:
    """The rate tables: rows (p,) k, one column per method headed by its whole name. Each cell is the rate
    and its interval on one line when every method fits in 80 columns, else on two lines, the methods
    then spread over as many tables as needed (a header never splits inside a name)."""
    keys = ["p", "k"] if with_p else ["k"]
    key_width = sum(max(len(key), max(len(str(pk[i])) for pk in by_pk)) + 3 for i, key in zip(
        (0, 1) if with_p else (1,), keys)) + 1

    def cell(row: dict[str, Any], one_line: bool) -> str:
        interval = f"{row['ci_low']:.3f}–{row['ci_high']:.3f}"
        return f"{rate_text(row['rate'])} [dim]({interval})[/dim]" if one_line else \
            f"{rate_text(row['rate'])}\n[dim]{interval}[/dim]"

    width = min(WIDTH, console.width)  # (a narrower terminal: more, narrower tables, still whole names)
    one_line = key_width + sum(max(len(m), 19) + 3 for m in methods) <= width
    chunks: list[list[str]] = [[]]
    used = key_width
    for method in methods:
        need = max(len(method), 19 if one_line else 11) + 3
        if chunks[-1] and used + need > width:
            chunks.append([])
            used = key_width
        chunks[-1].append(method)
        used += need
    tables = []
    for chunk in chunks:
        table = _table(*keys, *chunk)
        for (p, k), group in by_pk.items():
            table.add_row(*([str(p)] if with_p else []), str(k), *(cell(group[m], one_line) for m in chunk))
        tables.append(table)
    return tables


def output1_sentence(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> None:
    """Theorem 1's output (1) over the whole grid, per checked method: held in how many trials, and the
    tightest m, M that every trial satisfied; the methods left out (outside the hypotheses)."""
    checked = [c for c in cells if c.get("output1_global") is not None]
    parts = []
    for method in dict.fromkeys(c["method"] for c in checked):
        mine = [c for c in checked if c["method"] == method]
        held = sum(c["output1_global"] + c["output1_other"] for c in mine)
        lows = [c["tightest_m"] for c in mine if c.get("tightest_m") is not None]
        highs = [c["tightest_big_m"] for c in mine if c.get("tightest_big_m") is not None]
        tight = tightest(lows, highs, m_digits=2)
        parts.append(f"{method} held in {held} of {sum(c['trials'] for c in mine)}{f' ({tight})' if tight else ''}")
    # not checked because stage I alone fills the run (T1 ≥ T: no recorded step in [T1, T]), inside the
    # hypotheses or not (--theorem-all); the others not checked are outside the hypotheses
    fills = [c for c in cells if c not in checked and stage1_fills(c)
             and (cfg.get("theorem_all") or not c.get("output1_outside"))]
    out_cells = [c for c in cells if c.get("output1_outside") and c not in checked and c not in fills]
    outside = [m + (f" at k = {', '.join(str(c['k']) for c in out_cells if c['method'] == m)}"  # (outside at some k)
                    if any(c["method"] == m for c in checked) else "") for m in dict.fromkeys(c["method"] for c in out_cells)]
    short = fills + [c for c in cells if c not in checked and c not in fills and not c.get("output1_outside")]
    unchecked = f"k = {', '.join(dict.fromkeys(str(c['k']) for c in short))}" if short else ""
    window = (f"not checked at {unchecked}: no recorded step in [T1, T] (stage I, {_t1s(short)} steps, fills "
              "the run)") if short else ""
    if not parts:
        prose("Theorem 1, output (1): " + "; ".join(
            ([window] if window else []) + ([f"outside its hypotheses: {', '.join(outside)} (--theorem-all checks "
                                             "them anyway)"] if outside else [])))
        return
    left = f"; not checked (outside its hypotheses): {', '.join(outside)}" if outside else ""
    prose(f"Theorem 1, output (1) {output1_window(cfg)}: {'; '.join(parts)}{left}" + (f"; {window}" if window else ""))


def _t1s(cells: list[dict[str, Any]]) -> str:
    """The stage-I lengths T1 of some cells: "2096" or "2096–5000"."""
    t1 = sorted({int(c.get("stage1_steps") or 0) for c in cells})
    return str(t1[0]) if len(t1) == 1 else f"{t1[0]}–{t1[-1]}"


def output1(cfg: dict[str, Any], cells: list[dict[str, Any]]) -> None:
    """Per checked cell: for how many trials Theorem 1's output (1) held on the recorded steps of [T1, T],
    among the global trials and among the others, and the tightest m, M every trial satisfied there."""
    rows = [row for row in cells if row.get("output1_global") is not None]
    if not rows:
        console.print("[dim]Theorem 1, output (1): not checked (see above)[/dim]")
        return
    with_p = len({row["p"] for row in cells}) > 1
    table = _table("p, k" if with_p else "k", "method", "global", "others", "m ≥", "M ≤", "max φ")
    table.columns[1].justify = "left"
    table.columns[1].no_wrap = True
    for row in rows:
        others = row["trials"] - row["global"]
        table.add_row(f"{row['p']}, {row['k']}" if with_p else str(row["k"]), row["method"],
                      f"{row['output1_global']}/{row['global']}", f"{row['output1_other']}/{others}",
                      *(_c(row[key], digits=3) if row[key] is None else fmt_bound(row[key], 3, upper, max_digits=4)
                        for key, upper in (("tightest_m", False), ("tightest_big_m", True), ("output1_phi_max", True))))
    show("Theorem 1, output (1) on [T1, T], φ ≤ 5π/12 and m ≤ aᵀa* ≤ M: held in", table)
    prose(f"{output1_window(cfg)}; global, others: trials where (1) held / trials, among the global ones and "
          "the others; m ≥, M ≤: the tightest constants (in ‖a*‖²) every trial of the cell satisfied; checked at "
          "T1 and about 50 recorded steps up to T", "dim")
