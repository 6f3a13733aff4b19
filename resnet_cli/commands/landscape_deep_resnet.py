"""`resnet-cli landscape deep-resnet`: are a deep ResNet's critical points at least as good as the best
linear predictor? (Yun, Sra & Jadbabaie 2019). Parse -> config -> experiment -> render."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import numpy as np
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
from resnet_cli.config import parse_choices, parse_int_list, resolve
from resnet_cli.experiments import deep_resnet as exp
from resnet_cli.report import console, fmt, progress_bar

SECTION = "landscape-deep-resnet"


def command(
    ctx: typer.Context,
    data: Annotated[
        str, typer.Option("--data", help="yun-example1 | yun-example2 (the paper's examples) | gaussian | digits.")
    ] = "yun-example1",
    rho: Annotated[float, typer.Option("--rho", help="ρ of yun-example1: Y = X + ρ·(−1,−1,1,−1,1,1).")] = 0.5,
    samples: Annotated[int, typer.Option("--samples", help="Samples for gaussian/digits.")] = 64,
    dim: Annotated[int, typer.Option("--dim", help="Input dimension for gaussian (digits has 10).")] = 4,
    blocks: Annotated[
        str, typer.Option("--blocks", help="Residual blocks L; a list (1,2,4,8) gives one row per depth.")
    ] = "1",
    width: Annotated[
        Optional[int], typer.Option("--width", help="Residual stream width (≥ input dim; default: input dim).")
    ] = None,
    hidden: Annotated[int, typer.Option("--hidden", help="ReLU units inside each residual block.")] = 1,
    bias: Annotated[
        bool, typer.Option("--bias/--no-bias", help="Biases and output offset (affine linear predictor).")
    ] = True,
    compare: Annotated[
        str, typer.Option("--compare", help="none | fc: add a fully-connected ReLU net of at most as many parameters.")
    ] = "none",
    fc_width: Annotated[
        Optional[int], typer.Option("--fc-width", help="Width of the FC net (default: largest with ≤ ResNet params).")
    ] = None,
    inits: Annotated[int, typer.Option("--inits", help="Random starts per network and depth.")] = 20,
    steps: Annotated[int, typer.Option("--steps", help="Gradient-descent iterations at most.")] = 20000,
    lr: Annotated[float, typer.Option("--lr", help="Initial step size (adapted per start by backtracking).")] = 0.01,
    grad_tol: Annotated[
        float, typer.Option("--grad-tol", help="Stop when the (min-norm sub)gradient norm is below this.")
    ] = 1e-6,
    gap_tol: Annotated[
        float, typer.Option("--gap-tol", help="Relative tolerance of 'equal to linear': |R − R_lin| ≤ tol·R_lin.")
    ] = 1e-4,
    eig_tol: Annotated[
        float, typer.Option("--eig-tol", help="Strict saddle when λmin < −tol·max|λ| of the exact Hessian.")
    ] = 1e-5,
    init: Annotated[
        str, typer.Option("--init", help="standard | near-identity (Σ_l ‖V_l‖‖U_l‖ = --init-scale at any depth).")
    ] = "standard",
    init_scale: Annotated[
        float, typer.Option("--init-scale", help="Total block norm Σ_l ‖V_l‖₂‖U_l‖₂ of the near-identity init.")
    ] = 0.5,
    config: ConfigOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Critical points of deep ResNets (and FC ReLU nets) against the best linear predictor (Yun et al. 2019)."""
    opts = resolve(ctx, config, SECTION)
    check_outputs(opts["out"], opts["plot"])
    compare_list = [c for c in parse_choices(opts["compare"], ["none", "fc"], "--compare") if c != "none"]
    cfg = exp.Config(
        data=opts["data"],
        rho=opts["rho"],
        samples=opts["samples"],
        dim=opts["dim"],
        blocks=parse_int_list(opts["blocks"], "--blocks"),
        width=opts["width"],
        hidden=opts["hidden"],
        bias=opts["bias"],
        compare=compare_list,
        fc_width=opts["fc_width"],
        inits=opts["inits"],
        steps=opts["steps"],
        lr=opts["lr"],
        grad_tol=opts["grad_tol"],
        gap_tol=opts["gap_tol"],
        eig_tol=opts["eig_tol"],
        init=opts["init"],
        init_scale=opts["init_scale"],
    )
    exp.validate(cfg)
    rng = np.random.default_rng(opts["seed"])
    with progress_bar(opts["quiet"], "deep-resnet") as update:
        result = exp.run(cfg, rng, progress=update)
    payload: dict[str, Any] = {
        "command": "landscape deep-resnet",
        "seed": opts["seed"],
        "config": result.config,
        "data": result.data,
        "linear_risk": result.linear_risk,
        "rows": result.rows,
        "per_block": result.per_block,
        "points": result.points,
    }
    emit(payload, result.rows, json_out=opts["json_out"], out=opts["out"], plot=opts["plot"],
         render_fn=render, plot_fn=plot_figure)


def render(payload: dict[str, Any]) -> None:
    """Tables on stdout: one row per network (and depth), then the per-block risks."""
    from rich.table import Table

    data, cfg = payload["data"], payload["config"]
    line = f"data {data['name']}: {data['samples']} samples, d_in={data['d_in']}, d_out={data['d_out']}"
    if "rho" in data:
        line += f", ρ={fmt(data['rho'])}"
    console.print(line)
    lin = f"best linear predictor (least squares): R_lin = {fmt(payload['linear_risk'], 6)}"
    if "paper_linear_risk" in data:
        lin += (f"  (paper: 8ρ²/15 = {fmt(data['paper_linear_risk'], 6)}; its ResNet point has "
                f"{fmt(data['paper_resnet_point_risk'], 6)})")
    console.print(lin)
    console.print(f"init {cfg['init']}, {cfg['inits']} starts per network, GD ≤ {cfg['steps']} steps, "
                  f"stop at ‖∂R‖ < {fmt(cfg['grad_tol'])}; seed {payload['seed']}")
    table = Table(title="Critical points found by GD vs the best linear predictor")
    for col in ("net", "L", "P", "points", "≥lin", "<lin", "saddle", "c.ex.", "best R", "max R/Rlin",
                "ΣVU"):
        table.add_column(col, justify="left" if col == "net" else "right", no_wrap=col in ("net", "points"))
    for row in payload["rows"]:
        table.add_row(
            row["network"],
            str(row["blocks"]),
            str(row["params"]),
            f"{row['points']}/{row['inits']}",
            _pct(row["share_at_least_linear"]),
            _pct(row["share_strictly_better"]),
            _pct(row["share_strict_saddle"]),
            str(row["counterexamples"]),
            fmt(row["best_risk"]),
            fmt(row["max_risk_ratio"]),
            fmt(row.get("max_block_norm_sum")) if row["network"] == "resnet" else "—",
        )
    console.print(table)
    console.print("points: starts that reached ‖∂R‖ < grad-tol. ≥lin / <lin: at least as good as / strictly "
                  "better than linear. saddle: worse, λmin < 0. c.ex.: worse, no negative curvature "
                  "(counterexamples). ΣVU: largest Σ_l ‖V_l‖‖U_l‖ at a point.")
    pb = payload.get("per_block")
    if pb:
        t2 = Table(title=f"Per-block risk of h_0..h_{pb['blocks']} (best linear read-out), lowest-risk points")
        t2.add_column("start", justify="right")
        t2.add_column("risk", justify="right")
        for layer in range(pb["blocks"] + 1):
            t2.add_column(f"R(h_{layer})", justify="right")
        t2.add_column("monotone")
        for item in pb["lowest"]:
            t2.add_row(str(item["init"]), fmt(item["risk"], 6), *[fmt(v, 6) for v in item["per_block_risk"]],
                       "yes" if item["monotone"] else "NO")
        console.print(t2)
        console.print(f"non-monotone per-block risk at {pb['global_non_monotone']} of {pb['global_points']} "
                      f"global minima found (risk {fmt(pb['best_risk'], 4)}), {pb['non_monotone']} of "
                      f"{pb['points']} critical points in all")


def _pct(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f}%"


def plot_figure(payload: dict[str, Any], path: str) -> None:
    """Left: gap to linear against λmin per point; right: per-block risks, or max R/R_lin against depth."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    ax = axes[0]
    lin = payload["linear_risk"]
    for net, marker in (("resnet", "o"), ("fc", "x")):
        pts = [p for p in payload["points"] if p["network"] == net and p["converged"]]
        if pts:
            ax.scatter([p["lambda_min"] for p in pts], [p["gap"] for p in pts], marker=marker, label=net, alpha=0.7)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.axvline(0.0, color="k", lw=0.8, ls=":")
    ax.set_xlabel("λmin of the exact Hessian")
    ax.set_ylabel(f"R − R_lin  (R_lin = {lin:.4g})")
    ax.set_xscale("symlog", linthresh=1e-6)
    ax.set_yscale("symlog", linthresh=max(1e-3 * lin, 1e-12))
    ax.set_title("critical points: gap to the best linear predictor")
    ax.legend()
    ax = axes[1]
    rows = payload["rows"]
    depths = sorted({r["blocks"] for r in rows})
    if payload.get("per_block"):
        for item in payload["per_block"]["lowest"]:
            ax.plot(range(len(item["per_block_risk"])), item["per_block_risk"], marker="o",
                    label=f"start {item['init']} (R={item['risk']:.3g})")
        ax.set_xlabel("block l")
        ax.set_ylabel("risk of the best linear read-out of h_l")
        ax.set_title("per-block risk")
        ax.legend(fontsize=7)
    else:
        for net in ("resnet", "fc"):
            sel = [r for r in rows if r["network"] == net]
            if sel:
                ax.plot([r["blocks"] for r in sel], [r["max_risk_ratio"] for r in sel], marker="o", label=net)
        ax.set_xscale("log", base=2)
        ax.set_xticks(depths)
        ax.set_xticklabels([str(d) for d in depths])
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xlabel("blocks L")
        ax.set_ylabel("max R / R_lin over critical points")
        ax.set_title("worst critical point against depth")
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)
