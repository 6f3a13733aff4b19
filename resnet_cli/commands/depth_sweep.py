"""`resnet-cli depth-sweep`: one measurement across depths and network kinds (Li et al. 2017, Figs. 5, 9, 10)."""

from __future__ import annotations

import os
from typing import Annotated, Any, Optional

import typer

from resnet_cli.commands.common import (
    ConfigOpt,
    JsonOpt,
    OutOpt,
    PlotOpt,
    QuietOpt,
    SeedOpt,
    check_outputs,
    emit,
    save_figure,
)
from resnet_cli.commands.hessian import DataOpt, DimOpt, LanczosOpt, ProbesOpt, SamplesOpt
from resnet_cli.config import parse_choices, parse_float_list, parse_int_list, require, resolve
from resnet_cli.report import console, fmt, progress_bar

DEFAULT_LRS = "logspace:-3:0.5:8"


def command(
    ctx: typer.Context,
    depths: Annotated[
        str, typer.Option("--depths", help="Depths (total weight layers): a list and/or ranges, e.g. 2,4,8 or 2:32:x2.")
    ] = "2,4,8,16,32",
    networks: Annotated[
        str,
        typer.Option(
            "--networks",
            help="Comma list of 2-shortcut, 1-shortcut, 3-shortcut (zero init; see --shortcut-init), "
            "xavier, orthogonal (plain networks with that init).",
        ),
    ] = "2-shortcut,1-shortcut,3-shortcut,xavier,orthogonal",
    measure: Annotated[
        str,
        typer.Option(
            "--measure",
            help="init-cond: cond10 of the Hessian at the initial point (Fig. 5); final-loss: best final loss "
            "over the --lrs grid after --epochs of full-batch GD (Figs. 9, 10).",
        ),
    ] = "init-cond",
    act_mid: Annotated[
        str, typer.Option("--act-mid", help="Activation in the mid positions: identity (linear) or relu (Fig. 10).")
    ] = "identity",
    data: DataOpt = "digits",
    samples: SamplesOpt = None,
    dim: DimOpt = None,
    runs: Annotated[int, typer.Option("--runs", help="Independent initialisations per cell (mean ± std).")] = 10,
    shortcut_init: Annotated[
        str,
        typer.Option(
            "--shortcut-init",
            help="Init of the shortcut networks: auto (zero for init-cond, small = 0.01 × Xavier for final-loss), "
            "zero or small.",
        ),
    ] = "auto",
    epochs: Annotated[int, typer.Option("--epochs", help="Full-batch GD epochs (final-loss).")] = 1000,
    lrs: Annotated[
        str,
        typer.Option("--lrs", help="Learning-rate grid (final-loss): a list, or logspace:LO:HI:N (10^LO … 10^HI)."),
    ] = DEFAULT_LRS,
    method: Annotated[
        str,
        typer.Option(
            "--method",
            help="Hessian spectrum (init-cond): auto (exact up to --exact-max-params, SLQ above), exact or slq.",
        ),
    ] = "auto",
    exact_max_params: Annotated[
        int, typer.Option("--exact-max-params", help="Largest network (parameters) whose spectrum auto computes exactly.")
    ] = 3200,
    lanczos_steps: LanczosOpt = 80,
    probes: ProbesOpt = 8,
    jobs: Annotated[
        Optional[int],
        typer.Option("--jobs", help="Worker processes for the cells (default: CPU count, at most 2), each with "
                     "one BLAS thread. Results do not depend on it (up to BLAS rounding, 1e-14, in exact spectra)."),
    ] = None,
    config: ConfigOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Sweep depth for several network kinds: initial cond10 (Fig. 5) or best final loss (Figs. 9, 10)."""
    from resnet_cli.experiments import depth_sweep as exp

    opts = resolve(ctx, config, "depth-sweep")
    check_outputs(opts["out"], opts["plot"])
    jobs_n = opts["jobs"] if opts["jobs"] is not None else min(2, os.cpu_count() or 1)
    require(jobs_n >= 1, f"--jobs {jobs_n}: must be at least 1")
    cfg = exp.SweepConfig(
        depths=parse_int_list(opts["depths"], "--depths"),
        networks=parse_choices(opts["networks"], list(exp.NETWORK_KINDS), "--networks"),
        measure=opts["measure"],
        act_mid=opts["act_mid"],
        data=opts["data"],
        samples=opts["samples"],
        dim=opts["dim"],
        seed=opts["seed"],
        runs=opts["runs"],
        shortcut_init=opts["shortcut_init"],
        epochs=opts["epochs"],
        lrs=parse_float_list(opts["lrs"], "--lrs"),
        method=opts["method"],
        exact_max_params=opts["exact_max_params"],
        lanczos_steps=opts["lanczos_steps"],
        probes=opts["probes"],
    )
    cfg.validate()
    with progress_bar(opts["quiet"], "depth sweep") as update:
        result = exp.run(cfg, jobs=jobs_n, progress=update)
    payload = result_payload(result)
    emit(payload, payload["rows"], json_out=opts["json_out"], out=opts["out"], plot=opts["plot"],
         render_fn=render, plot_fn=plot_sweep)


# --- payload ----------------------------------------------------------------------------------------------------


def result_payload(result) -> dict[str, Any]:
    cfg = result.config
    rows = []
    for c in result.cells:
        row: dict[str, Any] = {
            "depth": c.depth,
            "network": c.network,
            "measure": c.measure,
            "quantity": result.quantity,
            "mean": c.mean,
            "std": c.std,
            "status": c.status,
            "runs": c.runs,
            "init": c.init,
            "n_params": c.n_params,
        }
        if c.measure == "init-cond":
            row["method"] = c.method
            row["theory_cond10"] = c.theory_cond10
            row["runs_beyond_precision"] = c.extra.get("runs_beyond_precision", 0)
        else:
            row["best_lr"] = c.best_lr
            row["best_lr_flat"] = c.best_lr_flat
            row["best_lr_at_edge"] = c.best_lr_at_edge
            row["diverged_lrs"] = sum(1 for e in c.grid if e["diverged_runs"])
        row["note"] = c.note
        rows.append(row)
    cells = []
    for c in result.cells:
        entry = {"network": c.network, "depth": c.depth, "status": c.status, "values": c.values, **c.extra}
        if c.grid:
            entry["grid"] = c.grid
        cells.append(entry)
    return {
        "command": "depth-sweep",
        "measure": cfg["measure"],
        "quantity": result.quantity,
        "method": result.method_statement,
        "data": result.data,
        "config": cfg,
        "rows": rows,
        "cells": cells,
        "notes": result.notes,
    }


# --- rendering ---------------------------------------------------------------------------------------------------


def _pm(mean: Any, std: Any, runs: int) -> str:
    if mean is None:
        return "—"
    if runs > 1 and std is not None:
        return f"{fmt(mean, 3)} ± {fmt(std, 2)}"
    return fmt(mean, 4)


def _cell_text(row: dict[str, Any]) -> str:
    status = row["status"]
    if status == "not-applicable":
        return "n/a"
    if status == "degenerate":
        return "H = 0"
    if status == "all-diverged":
        return "all diverged"
    if status == "beyond-precision":
        return f"> 1e12 ({row['runs_beyond_precision']}/{row['runs']})"
    text = _pm(row["mean"], row["std"], row["runs"])
    if row.get("method") == "slq":
        text = "≈ " + text
    return text


def render(p: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    cfg, data = p["config"], p["data"]
    rows = p["rows"]
    networks = cfg["networks"]
    by_key = {(r["network"], r["depth"]): r for r in rows}
    init_cond = p["measure"] == "init-cond"
    mid = "linear" if cfg["act_mid"] == "identity" else "ReLU in the mid positions"
    if init_cond:
        console.print(f"[bold]Initial cond10 = |λ|max / |λ|(10th pct) of the Hessian vs depth[/bold] "
                      f"(Li et al. 2017, Fig. 5), {mid}")
    else:
        console.print(f"[bold]Best {p['quantity']} after {cfg['epochs']} epochs of full-batch GD vs depth[/bold] "
                      f"(Li et al. 2017, Fig. {'9' if cfg['act_mid'] == 'identity' else '10'}), {mid}")
    console.print(f"data: {data['description']}; L_min (least squares) = {fmt(data['l_min'], 6)}")
    runs_text = f"{cfg['runs']} runs per cell (mean ± std)"
    console.print(f"seed {cfg['seed']}; {runs_text}" + (
        "" if init_cond else f"; learning rates {', '.join(fmt(x, 3) for x in cfg['lrs'])}"))
    if p["method"]:
        console.print(p["method"])
    table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("depth", justify="right")
    has_theory = init_cond and any(r.get("theory_cond10") is not None for r in rows)
    for name in networks:
        table.add_column(name, justify="right")
        if not init_cond:
            table.add_column("best lr", justify="right")
        if has_theory and name == "2-shortcut" and any(
                r.get("theory_cond10") is not None for r in rows if r["network"] == name):
            table.add_column("Thm 1", justify="right", style="dim")
    for depth in cfg["depths"]:
        cells = [str(depth)]
        for name in networks:
            row = by_key[(name, depth)]
            cells.append(_cell_text(row))
            if not init_cond:
                lr = row.get("best_lr")
                cells.append("—" if lr is None else fmt(lr, 3) + (" (flat)" if row["best_lr_flat"] else ""))
            if has_theory and name == "2-shortcut" and any(
                    r.get("theory_cond10") is not None for r in rows if r["network"] == name):
                cells.append(fmt(row.get("theory_cond10")))
        table.add_row(*cells)
    console.print(table)
    if not init_cond:
        render_grid(p)
    for note in p["notes"]:
        console.print(f"[dim]note: {note}[/dim]")


def render_grid(p: dict[str, Any]) -> None:
    """Mean final value at every learning rate; diverged rates shown as diverged, the best one starred."""
    from rich import box
    from rich.table import Table

    cfg = p["config"]
    console.print(f"{p['quantity']} at each learning rate (mean over runs; * = best; "
                  "div k/N = diverged in k of the N runs):")
    table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("network")
    table.add_column("depth", justify="right")
    for lr in cfg["lrs"]:
        table.add_column(f"lr {fmt(lr, 3)}", justify="right")
    by_key = {(c["network"], c["depth"]): c for c in p["cells"]}
    runs_of = {(r["network"], r["depth"]): r["runs"] for r in p["rows"]}
    for name in cfg["networks"]:
        for depth in cfg["depths"]:
            cell = by_key[(name, depth)]
            if cell["status"] == "not-applicable":
                continue
            texts = []
            for e in cell["grid"]:
                if e["diverged_runs"]:
                    runs = runs_of[(name, depth)]
                    texts.append("diverged" if e["diverged_runs"] == runs else f"div {e['diverged_runs']}/{runs}")
                else:
                    texts.append(fmt(e["mean"], 3) + (" *" if e.get("best") else ""))
            table.add_row(name, str(depth), *texts)
    console.print(table)


# --- plot ----------------------------------------------------------------------------------------------------------


def _depth_axis(ax: Any, depths: list[int]) -> None:
    """Log-scaled depth axis labelled with the swept depths themselves."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks(depths)
    ax.set_xticklabels([str(d) for d in depths])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("depth")


def plot_sweep(p: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cfg = p["config"]
    init_cond = p["measure"] == "init-cond"
    ncols = 1 if init_cond else 2
    fig, axes = plt.subplots(1, ncols, figsize=(5.2 * ncols, 4.0), squeeze=False)
    ax = axes[0, 0]
    for name in cfg["networks"]:
        rows = [r for r in p["rows"] if r["network"] == name and r["status"] == "ok" and r["mean"] is not None]
        label = name
        if any(r["network"] == name and r["status"] == "degenerate" for r in p["rows"]):
            label += " (H = 0: not shown)"
        if not rows:
            ax.plot([], [], label=label)
            continue
        x = np.array([r["depth"] for r in rows], dtype=float)
        y = np.array([r["mean"] for r in rows], dtype=float)
        s = np.array([r["std"] or 0.0 for r in rows], dtype=float)
        lower = np.minimum(s, y * (1 - 1e-3))  # keep the lower bar above 0 on a log axis
        ax.errorbar(x, y, yerr=[lower, s], marker="o", capsize=3, label=label)
        if init_cond:
            slq = [r for r in rows if r.get("method") == "slq"]
            if slq:
                ax.plot([r["depth"] for r in slq], [r["mean"] for r in slq], "k+", markersize=10)
    if init_cond:
        for name in cfg["networks"]:
            beyond = [r["depth"] for r in p["rows"] if r["network"] == name and r["status"] == "beyond-precision"]
            if beyond:
                ax.plot(beyond, [1e12] * len(beyond), linestyle="none", marker="^", color="0.3",
                        label=f"{name}: > 1e12 (beyond float64)")
    _depth_axis(ax, cfg["depths"])
    ax.set_yscale("log")
    ax.set_ylabel("initial cond10 of the Hessian" if init_cond else p["quantity"])
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    if init_cond:
        any_slq = any(r.get("method") == "slq" and r["status"] == "ok" for r in p["rows"])
        ax.set_title("Li et al. 2017, Fig. 5" + (" (+ = SLQ estimate)" if any_slq else ""), fontsize=9)
    else:
        ax.set_title(f"Li et al. 2017, Fig. {'9' if cfg['act_mid'] == 'identity' else '10'}: best of the lr grid",
                     fontsize=9)
        ax = axes[0, 1]
        for name in cfg["networks"]:
            rows = [r for r in p["rows"] if r["network"] == name and r.get("best_lr") is not None]
            firm = [r for r in rows if not r["best_lr_flat"]]
            line = ax.plot([r["depth"] for r in firm], [r["best_lr"] for r in firm], marker="o", label=name)[0]
            flat = [r for r in rows if r["best_lr_flat"]]
            if flat:
                ax.plot([r["depth"] for r in flat], [r["best_lr"] for r in flat], linestyle="none", marker="o",
                        markerfacecolor="none", color=line.get_color())
        from matplotlib.ticker import NullFormatter

        _depth_axis(ax, cfg["depths"])
        ax.set_yscale("log")
        ax.set_yticks(cfg["lrs"])  # the whole grid: where the best rate sits within it
        ax.set_yticklabels([fmt(x, 2) for x in cfg["lrs"]])
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("best learning rate (ticks: the --lrs grid)")
        ax.set_title("best rate (open marker: flat grid, rate not meaningful)", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
