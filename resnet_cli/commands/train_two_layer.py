"""`resnet-cli train two-layer`: GD with normalization on the two-layer teacher–student model (Liu et al. 2019)."""

from __future__ import annotations

import math
from typing import Annotated, Any, Optional

import numpy as np
import typer
from rich.table import Table

from resnet_cli.commands import two_layer_options as o
from resnet_cli.commands.common import (
    ConfigOpt,
    JsonOpt,
    OutOpt,
    PlotOpt,
    QuietOpt,
    SeedOpt,
    check_outputs,
    emit,
)
from resnet_cli.config import require, resolve
from resnet_cli.experiments import two_layer as exp
from resnet_cli.report import console, fmt, progress_bar

OUTCOME_STYLE = {"global": "green", "spurious": "red", "undecided": "yellow", "diverged": "magenta"}


def command(
    ctx: typer.Context,
    student: Annotated[str, typer.Option("--student", help="resnet (shortcut, w0 = 0) or cnn (no shortcut, random v0).")] = "resnet",
    p: Annotated[int, typer.Option("--p", help="Patch dimension p (≥ 2).")] = 8,
    k: Annotated[int, typer.Option("--k", help="Number of patches k (≥ 1).")] = 4,
    schedule: Annotated[
        str, typer.Option("--schedule", help="ssw (step-size warm-up), constant (no warm-up on w), layerwise (a first).")
    ] = "ssw",
    eta_a: o.EtaAOpt = None,
    eta_w: o.EtaWOpt = None,
    eta: o.EtaOpt = None,
    c_eta_w: o.CEtaWOpt = 1.0,
    stage1_iterations: o.Stage1Opt = None,
    iterations: o.IterationsOpt = None,
    stage2_iterations: o.Stage2Opt = 20000,
    trials: Annotated[int, typer.Option("--trials", help="Independent draws (teacher and init), run as one batch.")] = 1,
    same_teacher: Annotated[bool, typer.Option("--same-teacher", help="All trials share one teacher draw.")] = False,
    teacher_v: o.TeacherVOpt = None,
    teacher_a: o.TeacherAOpt = "gaussian",
    prior_angle: o.PriorAngleOpt = 60.0,
    phi_tol: o.PhiTolOpt = 1e-2,
    a_tol: o.ATolOpt = 1e-2,
    spurious_tol: o.SpuriousTolOpt = math.pi / 4,
    trace_every: Annotated[
        Optional[int], typer.Option("--trace-every", help="Record the trace every N iterations (default: ~24 log-spaced records + end of stage I).")
    ] = None,
    seed: SeedOpt = 0,
    config: ConfigOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train the two-layer student (Liu et al. 2019) on the exact population loss and print its trace."""
    opts = resolve(ctx, config, "train-two-layer")
    cfg = o.train_config(opts, student=opts["student"], p=opts["p"], k=opts["k"], schedule=opts["schedule"], trials=opts["trials"])
    cfg.same_teacher = bool(opts["same_teacher"])
    require(opts["trace_every"] is None or opts["trace_every"] >= 1, "--trace-every must be at least 1")
    cfg.trace_every = opts["trace_every"]
    check_outputs(opts["out"], opts["plot"])
    rng = np.random.default_rng(opts["seed"])
    with progress_bar(opts["quiet"], "training") as update:
        result = exp.train(cfg, rng, progress=lambda done, total: update(done, total))
    payload = to_payload(result, opts["seed"])
    emit(
        payload,
        trace_rows(payload),
        json_out=opts["json_out"],
        out=opts["out"],
        plot=opts["plot"],
        render_fn=render,
        plot_fn=plot_trace,
    )


def to_payload(result: exp.TrainResult, seed: int) -> dict[str, Any]:
    """The JSON result: resolved config, one entry per trial, the trace."""
    cfg = result.config
    sched = result.schedule
    gd = result.gd
    config = exp.as_dict(cfg)
    config.update(
        seed=seed,
        stage1_iterations=sched.stage1_iterations,
        iterations=result.iterations,
    )
    runs = []
    stage1_eta_w = sched.stage1_eta_w
    for i in range(cfg.trials):
        runs.append(
            {
                "trial": i,
                "outcome": str(gd.outcome[i]),
                "final": {key: float(gd.final[key][i]) for key in ("loss", "phi", "a_dot_astar", "a_err")},
                "iterations": int(gd.iterations[i]),
                "eta_a": float(sched.eta_a[i]),
                "eta_w": float(sched.eta_w[i]),
                "stage1_eta_w": float(stage1_eta_w[i]),
                "eta": float(sched.eta[i]),
                "teacher": {"v_star": result.v_star[i], "a_star": result.a_star[i]},
            }
        )
    trace = {"iteration": gd.trace_iterations}
    for key in ("loss", "phi", "a_dot_astar", "a_err"):
        trace[key] = np.array(gd.trace[key]).T  # trials × records
    return {"command": "train two-layer", "config": config, "counts": result.counts, "runs": runs, "trace": trace}


def trace_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat rows for CSV: one per (trial, recorded iteration)."""
    trace = payload["trace"]
    rows = []
    for i in range(len(payload["runs"])):
        for j, it in enumerate(trace["iteration"]):
            rows.append(
                {
                    "trial": i,
                    "iteration": it,
                    "loss": trace["loss"][i][j],
                    "phi": trace["phi"][i][j],
                    "a_dot_astar": trace["a_dot_astar"][i][j],
                    "a_err": trace["a_err"][i][j],
                }
            )
    return rows


def render(payload: dict[str, Any]) -> None:
    """Rich tables: the trace (trial 0, or the median over trials), then the outcome of each trial."""
    cfg, runs, trace = payload["config"], payload["runs"], payload["trace"]
    n = len(runs)
    console.print(
        f"[bold]train two-layer[/bold]  student={cfg['student']} p={cfg['p']} k={cfg['k']} schedule={cfg['schedule']} "
        f"trials={n} seed={cfg['seed']}  T1={cfg['stage1_iterations']} iterations={cfg['iterations']}"
    )
    r0 = runs[0]
    console.print(
        f"step sizes (trial 0): stage I η_a={fmt(r0['eta_a'])} η_w={fmt(r0['stage1_eta_w'])}; stage II η={fmt(r0['eta'])}"
    )
    title = "trace of trial 0" if n == 1 else f"trace: median over {n} trials"
    table = Table(title=title)
    for col in ("iteration", "stage", "loss", "φ (rad)", "aᵀa*", "‖a − a*‖"):
        table.add_column(col, justify="right")
    keys = ("loss", "phi", "a_dot_astar", "a_err")
    medians = {key: np.median(np.asarray(trace[key], dtype=float), axis=0) for key in keys}  # per record
    for j, it in enumerate(trace["iteration"]):
        stage = "I" if it < cfg["stage1_iterations"] else "II"
        table.add_row(str(it), stage, *(fmt(float(medians[key][j])) for key in keys))
    console.print(table)
    shown = runs[:20]
    outcomes = Table(title="outcome per trial" + (f" (first 20 of {n})" if n > 20 else ""))
    for col in ("trial", "outcome", "loss", "φ", "aᵀa*", "‖a − a*‖", "iterations"):
        outcomes.add_column(col, justify="right")
    for run in shown:
        f = run["final"]
        style = OUTCOME_STYLE.get(run["outcome"], "")
        outcomes.add_row(
            str(run["trial"]),
            f"[{style}]{run['outcome']}[/{style}]",
            fmt(f["loss"]),
            fmt(f["phi"]),
            fmt(f["a_dot_astar"]),
            fmt(f["a_err"]),
            str(run["iterations"]),
        )
    console.print(outcomes)
    counts = payload["counts"]
    console.print("outcomes: " + ", ".join(f"{name} {counts[name]}" for name in counts))
    console.print(
        f"[dim]global: φ < {fmt(cfg['criteria']['phi_tol'])} and ‖a − a*‖ ≤ {fmt(cfg['criteria']['a_tol'])}·‖a*‖; "
        f"spurious: φ > π − {fmt(cfg['criteria']['spurious_tol'])}; else undecided[/dim]"
    )


def plot_trace(payload: dict[str, Any], path: str) -> None:
    """Loss (log), φ_t and aᵀa* against iterations, one line per trial (up to 20), stage boundary marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from resnet_cli.commands.common import save_figure

    cfg, trace = payload["config"], payload["trace"]
    its = np.array(trace["iteration"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    panels = (("loss", "loss L(v, a)", True), ("phi", "angle φ_t (rad)", False), ("a_dot_astar", "aᵀa*", False))
    for ax, (key, label, log) in zip(axes, panels):
        for i, series in enumerate(np.array(trace[key], dtype=float)[:20]):
            outcome = payload["runs"][i]["outcome"]
            color = {"global": "tab:green", "spurious": "tab:red"}.get(outcome, "tab:orange")
            ax.plot(its, np.maximum(series, 1e-16) if log else series, color=color, lw=1, alpha=0.8)
        if log:
            ax.set_yscale("log")
        if key == "phi":
            ax.axhline(math.pi, color="grey", ls=":", lw=1)
        if key == "a_dot_astar":
            ax.axhline(0, color="grey", ls=":", lw=1)
        ax.axvline(cfg["stage1_iterations"], color="black", ls="--", lw=0.8)
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(left=0)
        ax.set_xlabel("iteration (symlog)")
        ax.set_title(label)
    fig.suptitle(
        f"two-layer {cfg['student']} student, p={cfg['p']}, k={cfg['k']}, schedule {cfg['schedule']}, seed {cfg['seed']} "
        "(green: global, red: spurious; dashed: end of stage I; loss floored at 1e-16)",
        fontsize=9,
    )
    save_figure(fig, path)
