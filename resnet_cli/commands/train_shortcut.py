"""`resnet-cli train shortcut`: full-batch GD on an n-shortcut network (Li et al. 2017, Figures 6-8)."""

from __future__ import annotations

from typing import Annotated, Any

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
from resnet_cli.commands.hessian import (
    ActMidOpt,
    ActPostOpt,
    ActPreOpt,
    DataOpt,
    DepthOpt,
    DimOpt,
    EpochsOpt,
    LanczosOpt,
    LrOpt,
    MethodOpt,
    PlainUnitOpt,
    ProbesOpt,
    SamplesOpt,
    ShortcutOpt,
    network_config_kwargs,
)
from resnet_cli.config import resolve
from resnet_cli.report import console, fmt, progress_bar


def command(
    ctx: typer.Context,
    shortcut: ShortcutOpt = 2,
    depth: DepthOpt = 8,
    init: Annotated[
        str,
        typer.Option("--init", help="Initial weights: zero | small (0.01 × Xavier, the paper's) | xavier | orthogonal."),
    ] = "small",
    act_pre: ActPreOpt = "identity",
    act_mid: ActMidOpt = "identity",
    act_post: ActPostOpt = "identity",
    plain_unit: PlainUnitOpt = 2,
    data: DataOpt = "digits",
    samples: SamplesOpt = None,
    dim: DimOpt = None,
    epochs: EpochsOpt = 200,
    lr: LrOpt = 0.1,
    hessian_every: Annotated[
        int, typer.Option("--hessian-every", help="Hessian statistics every N epochs (0 = never).")
    ] = 0,
    method: MethodOpt = "exact",
    lanczos_steps: LanczosOpt = 80,
    probes: ProbesOpt = 8,
    log_every: Annotated[
        int, typer.Option("--log-every", help="A trace row every N epochs (0 = about 20 rows).")
    ] = 0,
    config: ConfigOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Train an n-shortcut network by full-batch GD: loss − L_min trace and Hessian statistics."""
    from resnet_cli.experiments import train_shortcut as exp

    opts = resolve(ctx, config, "train-shortcut")
    check_outputs(opts["out"], opts["plot"])
    cfg = exp.TrainConfig(
        **network_config_kwargs(opts),
        epochs=opts["epochs"],
        lr=opts["lr"],
        hessian_every=opts["hessian_every"],
        method=opts["method"],
        lanczos_steps=opts["lanczos_steps"],
        probes=opts["probes"],
        log_every=opts["log_every"],
    )
    with progress_bar(opts["quiet"], "training") as update:
        result = exp.run(cfg, progress=update)
    payload = result_payload(result)
    emit(payload, result.trace, json_out=opts["json_out"], out=opts["out"], plot=opts["plot"],
         render_fn=render, plot_fn=lambda p, path: plot_training(p, path))


def result_payload(result) -> dict[str, Any]:
    return {
        "command": "train shortcut",
        "network": result.network,
        "data": result.data,
        "config": result.config,
        "l_min": result.l_min,
        "final_loss": result.final_loss,
        "final_loss_gap": result.final_gap,
        "diverged": result.diverged,
        "diverged_epoch": result.diverged_epoch,
        "epochs_run": result.epochs_run,
        "trace": result.trace,
        "hessian": result.hessian,
        "curve": {"loss": result.losses, "loss_gap": result.gaps, "grad_norm": result.grad_norms},
    }


def render(p: dict[str, Any]) -> None:
    from rich.table import Table

    net, cfg = p["network"], p["config"]
    linear = net["act_pre"] == net["act_mid"] == net["act_post"] == "identity"
    console.print(f"[bold]Full-batch GD[/bold] — {net['description']}")
    console.print(f"data: {p['data']['description']}; init {cfg['init']}, lr {fmt(cfg['lr'])}, {cfg['epochs']} epochs")
    console.print(f"L_min (best linear map, least squares) = {fmt(p['l_min'], 6)}"
                  + ("" if linear else "  [dim](a nonlinear network may go below it)[/dim]"))
    has_h = any("abs_max" in row for row in p["trace"])
    from rich import box

    table = Table(show_header=True, header_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("epoch", "loss", "L−L_min", "‖∇L‖"):
        table.add_column(col, justify="right")
    if has_h:
        for col in ("|λ|max", "|λ|p10", "cond10", "index"):
            table.add_column(col, justify="right")
    for row in p["trace"]:
        cells = [str(row["epoch"]), fmt(row["loss"], 5), fmt(row["loss_gap"], 4), fmt(row["grad_norm"], 4)]
        if has_h:
            if "abs_max" in row:
                cells += [fmt(row["abs_max"]), fmt(row["abs_p10"]),
                          "undefined (H = 0)" if row["cond10"] is None else fmt(row["cond10"]), fmt(row["index"])]
            else:
                cells += [""] * 4
        table.add_row(*cells)
    console.print(table)
    if p["diverged"]:
        console.print(f"[yellow]diverged at epoch {p['diverged_epoch']} (loss not finite or > 1e12 × its start); "
                      f"last finite loss {fmt(p['final_loss'], 6)}[/yellow]")
    else:
        console.print(f"final loss {fmt(p['final_loss'], 6)}; loss − L_min = {fmt(p['final_loss_gap'], 4)}")


def plot_training(p: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    net = p["network"]
    linear = net["act_pre"] == net["act_mid"] == net["act_post"] == "identity"
    curve = np.asarray(p["curve"]["loss_gap" if linear else "loss"], dtype=float)
    label = "loss − L_min" if linear else "loss"
    hess = p["hessian"]
    ncols = 3 if hess else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.6), squeeze=False)
    ax = axes[0, 0]
    ax.semilogy(np.arange(len(curve)), np.where(curve > 0, curve, np.nan))
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    if hess:
        x = np.array([h["loss_gap" if linear else "loss"] for h in hess], dtype=float)
        x = np.log10(np.where(x > 0, x, np.nan))
        ax = axes[0, 1]
        ax.plot(x, np.log10([max(h["abs_max"], 1e-300) for h in hess]), "o-", label="|λ| max")
        ax.plot(x, np.log10([max(h["abs_p10"], 1e-300) for h in hess]), "s-", label="|λ| 10th pct")
        ax.set_xlabel(f"lg({label})")
        ax.set_ylabel("lg |λ|")
        ax.legend(fontsize=8)
        ax.set_title("Fig. 6 of Li et al.", fontsize=9)
        ax = axes[0, 2]
        ax.plot(x, [h["index"] for h in hess], "o-")
        ax.set_xlabel(f"lg({label})")
        ax.set_ylabel("index (share of λ < 0)")
        ax.set_title("Fig. 8 of Li et al.", fontsize=9)
    fig.suptitle(net["description"], fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
