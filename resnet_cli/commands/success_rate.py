"""`resnet-cli success-rate`: the success-rate experiment of Liu et al. 2019, batched, with Wilson intervals."""

from __future__ import annotations

import math
import os
from typing import Annotated, Any, Optional

import numpy as np
import typer
from rich.table import Table

from resnet_cli.commands import two_layer_options as o
from resnet_cli.commands.common import ConfigOpt, JsonOpt, OutOpt, PlotOpt, QuietOpt, SeedOpt, check_outputs, emit
from resnet_cli.config import parse_choices, parse_int_list, require, resolve
from resnet_cli.experiments import success_rate as sr
from resnet_cli.report import console, fmt, progress_bar


def command(
    ctx: typer.Context,
    p: Annotated[str, typer.Option("--p", help="Patch dimensions: a list or range, e.g. 8 or 4,8,16 or 2:32:x2.")] = "8",
    k: Annotated[str, typer.Option("--k", help="Numbers of patches: a list or range (4,9,16 or 1:10 or 4:100:x2).")] = "4,9,16,25,36,49,64,81,100",
    methods: Annotated[
        str, typer.Option("--methods", help="Comma list of cnn, resnet, resnet-ssw, resnet-layerwise.")
    ] = "cnn,resnet,resnet-ssw",
    trials: Annotated[int, typer.Option("--trials", help="Independent trials per cell (teacher and init draws).")] = 1000,
    jobs: Annotated[
        Optional[int], typer.Option("--jobs", help="Worker processes for the (p, k) cells (default: CPU count, at most 2). Results do not depend on it.")
    ] = None,
    teacher_v: o.TeacherVOpt = None,
    teacher_a: o.TeacherAOpt = "gaussian",
    prior_angle: o.PriorAngleOpt = 60.0,
    eta_a: o.EtaAOpt = None,
    eta_w: o.EtaWOpt = None,
    eta: o.EtaOpt = None,
    c_eta_w: o.CEtaWOpt = 1.0,
    stage1_iterations: o.Stage1Opt = None,
    iterations: o.IterationsOpt = None,
    stage2_iterations: o.Stage2Opt = 20000,
    phi_tol: o.PhiTolOpt = 1e-2,
    a_tol: o.ATolOpt = 1e-2,
    spurious_tol: o.SpuriousTolOpt = math.pi / 4,
    seed: SeedOpt = 0,
    config: ConfigOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Share of trials that reach the global optimum, per (p, k) and method (Liu et al. 2019, Table 1)."""
    opts = resolve(ctx, config, "success-rate")
    ps = parse_int_list(opts["p"], "--p")
    ks = parse_int_list(opts["k"], "--k")
    for value in ps:
        require(value >= 2, f"--p: every value must be at least 2 (got {value})")
    for value in ks:
        require(value >= 1, f"--k: every value must be at least 1 (got {value})")
    method_list = parse_choices(opts["methods"], list(sr.METHODS), "--methods")
    require(opts["trials"] >= 1, f"--trials must be at least 1 (got {opts['trials']})")
    jobs_n = opts["jobs"] if opts["jobs"] is not None else min(2, os.cpu_count() or 1)
    require(jobs_n >= 1, "--jobs must be at least 1")
    # The v* prior applies to all methods (a uniform v0 makes the CNN's φ0 law independent of v*'s).
    base = o.train_config(opts, student="resnet", p=ps[0], k=ks[0], schedule="ssw", trials=opts["trials"])
    cfg = sr.SuccessConfig(ps=ps, ks=ks, methods=method_list, trials=opts["trials"], seed=opts["seed"], base=base)
    check_outputs(opts["out"], opts["plot"])
    with progress_bar(opts["quiet"], f"{len(ps) * len(ks)} (p, k) cells × {len(method_list)} methods") as update:
        cells = sr.run(cfg, jobs=jobs_n, progress=lambda done, total: update(done, total))
    payload = to_payload(cfg, cells, jobs_n)
    emit(payload, payload["cells"], json_out=opts["json_out"], out=opts["out"], plot=opts["plot"], render_fn=render, plot_fn=plot_rates)


def to_payload(cfg: sr.SuccessConfig, cells: list[sr.Cell], jobs: int) -> dict[str, Any]:
    from resnet_cli.experiments.two_layer import as_dict

    base = as_dict(cfg.base)
    for key in ("student", "schedule", "p", "k", "trials", "same_teacher", "trace_every", "stop_when_global"):
        base.pop(key, None)
    rows = []
    for c in cells:
        rows.append(
            {
                "p": c.p,
                "k": c.k,
                "method": c.method,
                "trials": c.trials,
                **c.counts,
                "rate": c.rate,
                "ci_low": c.ci_low,
                "ci_high": c.ci_high,
                "stage1_iterations": c.stage1_iterations,
                "iterations": c.iterations,
                "mean_iterations_run": c.mean_iterations_run,
                "phi0_median_deg": c.phi0_median_deg,
                "share_a0_against": c.share_a0_against,
            }
        )
    return {
        "command": "success-rate",
        "config": {"p": cfg.ps, "k": cfg.ks, "methods": cfg.methods, "trials": cfg.trials, "seed": cfg.seed, "jobs": jobs, **base},
        "cells": rows,
    }


def render(payload: dict[str, Any]) -> None:
    cfg = payload["config"]
    console.print(
        f"[bold]success-rate[/bold]  p={cfg['p']} trials={cfg['trials']} seed={cfg['seed']}  "
        f"teacher v*={cfg['teacher']['v_kind']} a*={cfg['teacher']['a_kind']}"
    )
    table = Table(title="share of trials reaching the global optimum, 95% Wilson interval; counts G/S/U/D")
    table.add_column("p", justify="right")
    table.add_column("k", justify="right")
    methods = cfg["methods"]
    for m in methods:
        table.add_column(m, justify="right")
    by_pk: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for row in payload["cells"]:
        by_pk.setdefault((row["p"], row["k"]), {})[row["method"]] = row
    for (p, k), group in by_pk.items():
        cells = []
        for m in methods:
            r = group[m]
            cells.append(
                f"{r['rate']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]\n"
                f"[dim]{r['global']}/{r['spurious']}/{r['undecided']}/{r['diverged']}[/dim]"
            )
        table.add_row(str(p), str(k), *cells)
    console.print(table)
    first = payload["cells"][0]
    console.print(
        f"[dim]methods: cnn = no shortcut, random v0, no warm-up; resnet = w0 = 0, no warm-up (η_w = η from the start); "
        f"resnet-ssw = w0 = 0 with step-size warm-up; resnet-layerwise = a alone in stage I. "
        f"Iterations per trial: T1 + {cfg['stage2_iterations']} (T1 = ⌈1/η_a⌉, e.g. {first['stage1_iterations']} at k={first['k']}); "
        f"global: φ < {fmt(cfg['criteria']['phi_tol'])} and ‖a − a*‖ ≤ {fmt(cfg['criteria']['a_tol'])}‖a*‖; "
        f"spurious: φ > π − {fmt(cfg['criteria']['spurious_tol'])}.[/dim]"
    )


def plot_rates(payload: dict[str, Any], path: str) -> None:
    """Rate against k per method (one panel per p), with the Wilson intervals as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from resnet_cli.commands.common import save_figure

    cfg = payload["config"]
    ps = cfg["p"]
    fig, axes = plt.subplots(1, len(ps), figsize=(5 * len(ps), 3.8), squeeze=False)
    for ax, p in zip(axes[0], ps):
        for m in cfg["methods"]:
            rows = [r for r in payload["cells"] if r["p"] == p and r["method"] == m]
            ks = np.array([r["k"] for r in rows])
            rate = np.array([r["rate"] for r in rows])
            err = np.maximum(0.0, [[r["rate"] - r["ci_low"] for r in rows], [r["ci_high"] - r["rate"] for r in rows]])
            ax.errorbar(ks, rate, yerr=err, marker="o", capsize=3, label=m)
        ax.set_xlabel("k")
        ax.set_ylabel("success rate")
        ax.set_ylim(-0.02, 1.05)
        ax.set_title(f"p = {p}, {cfg['trials']} trials per point, seed {cfg['seed']}")
        ax.legend(fontsize=8)
    save_figure(fig, path)
