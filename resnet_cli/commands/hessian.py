"""`resnet-cli hessian`: exact Hessian spectra of n-shortcut networks beside Theorem 1 (Li et al. 2017)."""

from __future__ import annotations

from pathlib import Path
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
from resnet_cli.config import require, resolve
from resnet_cli.errors import ConfigError
from resnet_cli.report import console, fmt, progress_bar, rows_to_csv, write_atomic

# --- options shared with `train shortcut` -------------------------------------------------------------------------

ShortcutOpt = Annotated[
    int, typer.Option("--shortcut", help="Shortcut depth n: 0 = plain network (no shortcut), 1, 2, 3, …")
]
DepthOpt = Annotated[int, typer.Option("--depth", help="Total number of d×d weight layers (a multiple of n).")]
ActPreOpt = Annotated[
    str, typer.Option("--act-pre", help="Activation before a unit's first layer: identity|relu|tanh.")
]
ActMidOpt = Annotated[str, typer.Option("--act-mid", help="Activation between a unit's layers: identity|relu|tanh.")]
ActPostOpt = Annotated[
    str, typer.Option("--act-post", help="Activation after a unit's last layer: identity|relu|tanh.")
]
PlainUnitOpt = Annotated[
    int,
    typer.Option(
        "--plain-unit",
        help="Plain network only: its activations sit where those of a PLAIN-UNIT-shortcut network would "
        "(paper: 2). Ignored when all activations are identity.",
    ),
]
DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        help="digits (bundled UCI digits), mnist:PATH (IDX files, a folder of them, or .npz) or gaussian; "
        "inputs whitened to 10 principal components, one-hot labels.",
    ),
]
SamplesOpt = Annotated[
    Optional[int],
    typer.Option("--samples", help="Number of samples: gaussian (default 1000), or the first N of digits/mnist."),
]
DimOpt = Annotated[Optional[int], typer.Option("--dim", help="Dimension d of --data gaussian (default 10).")]
MethodOpt = Annotated[
    str,
    typer.Option("--method", help="exact (eigvalsh of the full Hessian) or slq (stochastic Lanczos quadrature)."),
]
LanczosOpt = Annotated[int, typer.Option("--lanczos-steps", help="Lanczos steps per probe (--method slq).")]
ProbesOpt = Annotated[int, typer.Option("--probes", help="Random probe vectors (--method slq).")]
EpochsOpt = Annotated[int, typer.Option("--epochs", help="Full-batch gradient-descent epochs.")]
LrOpt = Annotated[float, typer.Option("--lr", help="Learning rate of gradient descent.")]


def network_config_kwargs(opts: dict[str, Any]) -> dict[str, Any]:
    keys = ("shortcut", "depth", "init", "act_pre", "act_mid", "act_post", "plain_unit", "data", "seed")
    return {k: opts[k] for k in (*keys, "samples", "dim")}


def check_eigenvalues_path(path: str | None) -> None:
    if not path:
        return
    if Path(path).suffix.lower() != ".csv":
        raise ConfigError(f"--eigenvalues {path}: the file name must end in .csv")
    folder = Path(path).parent
    if str(folder) and not folder.is_dir():
        raise ConfigError(f"--eigenvalues {path}: folder {folder} does not exist")


def command(
    ctx: typer.Context,
    shortcut: ShortcutOpt = 2,
    depth: DepthOpt = 8,
    init: Annotated[
        str, typer.Option("--init", help="Initial weights: zero | small (0.01 × Xavier) | xavier | orthogonal.")
    ] = "zero",
    act_pre: ActPreOpt = "identity",
    act_mid: ActMidOpt = "identity",
    act_post: ActPostOpt = "identity",
    plain_unit: PlainUnitOpt = 2,
    data: DataOpt = "digits",
    samples: SamplesOpt = None,
    dim: DimOpt = None,
    runs: Annotated[int, typer.Option("--runs", help="Independent initialisations (mean ± std).")] = 1,
    at: Annotated[
        str, typer.Option("--at", help="Where: init (the initial point) or trained (after --epochs of GD at --lr).")
    ] = "init",
    epochs: EpochsOpt = 100,
    lr: LrOpt = 0.1,
    method: MethodOpt = "exact",
    lanczos_steps: LanczosOpt = 80,
    probes: ProbesOpt = 8,
    eigenvalues: Annotated[
        Optional[str],
        typer.Option("--eigenvalues", help="Write every eigenvalue (slq: nodes and weights) to this .csv file."),
    ] = None,
    config: ConfigOpt = None,
    seed: SeedOpt = 0,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    plot: PlotOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Exact Hessian spectrum of an n-shortcut network, beside Theorem 1 of Li et al. (2017) at zero."""
    from resnet_cli.experiments import hessian as exp

    opts = resolve(ctx, config, "hessian")
    check_outputs(opts["out"], opts["plot"])
    check_eigenvalues_path(opts["eigenvalues"])
    require(opts["runs"] >= 1, f"--runs {opts['runs']}: must be at least 1")
    cfg = exp.HessianConfig(
        **network_config_kwargs(opts),
        runs=opts["runs"],
        at=opts["at"],
        epochs=opts["epochs"],
        lr=opts["lr"],
        method=opts["method"],
        lanczos_steps=opts["lanczos_steps"],
        probes=opts["probes"],
    )
    with progress_bar(opts["quiet"], "hessian") as update:
        result = exp.run(cfg, progress=update)
    payload = result_payload(result)
    if opts["eigenvalues"]:
        write_atomic(opts["eigenvalues"], rows_to_csv(eigenvalue_rows(result)))
    rows = [dict(run=e["run"], **{k: v for k, v in e.items() if k not in ("run", "stats")}, **(e["stats"] or {}))
            for e in result.runs]
    emit(payload, rows, json_out=opts["json_out"], out=opts["out"], plot=opts["plot"],
         render_fn=lambda p: render(p, opts["eigenvalues"]), plot_fn=lambda p, path: plot_spectrum(result, path))


def result_payload(result) -> dict[str, Any]:
    s = result.summary
    payload: dict[str, Any] = {
        "command": "hessian",
        "n_params": s["n_params"],
        "abs_max": s["abs_max"],
        "abs_p10": s["abs_p10"],
        "cond10": s["cond10"],
        "cond": s["cond"],
        "index": s["index"],
        "lambda_min": s["lambda_min"],
        "lambda_max": s["lambda_max"],
        "zero_matrix": s["zero_matrix"],
        "loss": s["loss"],
        "std": s["std"],
        "runs": s["runs"],
        "diverged_runs": s["diverged_runs"],
        "method": result.method,
        "approximate": result.method == "slq",
        "network": result.network,
        "data": result.data,
        "config": result.config,
        "per_run": result.runs,
        "theory": None,
    }
    if result.theory is not None:
        theory = {k: v for k, v in result.theory.items() if k != "eigenvalues"}
        payload["theory"] = theory
    return payload


def eigenvalue_rows(result) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for spec in result.spectra:
        if "eigenvalues" in spec:
            rows += [{"run": spec["run"], "rank": i, "eigenvalue": float(v)} for i, v in enumerate(spec["eigenvalues"])]
        else:
            rows += [
                {"run": spec["run"], "node": i, "ritz_value": float(v), "weight": float(w)}
                for i, (v, w) in enumerate(zip(spec["nodes"], spec["weights"]))
            ]
    return rows


def _pm(mean: Any, std: Any, runs: int) -> str:
    if mean is None:
        return "—"
    if runs > 1 and std is not None:
        return f"{fmt(mean)} ± {fmt(std)}"
    return fmt(mean)


def render(p: dict[str, Any], eigen_path: str | None = None) -> None:
    from rich.table import Table

    net, data, th = p["network"], p["data"], p["theory"]
    cfg = p["config"]
    std = p["std"] or {}
    where = "at init" if cfg["at"] == "init" else f"after {cfg['epochs']} epochs of GD (lr {fmt(cfg['lr'])})"
    console.print(f"[bold]Hessian of L = 1/(2m)‖Y − F(X)‖²[/bold] — {net['description']}")
    console.print(f"data: {data['description']}")
    console.print(f"init {cfg['init']}, {where}: loss {_pm(p['loss'], std.get('loss'), p['runs'])}; "
                  f"L_min (least squares) = {fmt(data['l_min'], 6)}")
    approx = " (approximate: SLQ)" if p["approximate"] else ""
    table = Table(show_header=True, header_style="bold")
    table.add_column("statistic")
    label = "measured" + (f" (mean ± std, {p['runs']} runs)" if p["runs"] > 1 else "") + approx
    table.add_column(label, justify="right")
    pred = th.get("predicted") if th else None
    if th is not None:
        table.add_column("Theorem 1", justify="right")
    names = [("n_params", "parameters"), ("abs_max", "|λ| max"), ("abs_p10", "|λ| 10th percentile"),
             ("cond10", "cond10 = |λ|max / |λ|p10"), ("cond", "cond = |λ|max / |λ|min"),
             ("index", "index (share λ < 0)"), ("lambda_min", "λ min"), ("lambda_max", "λ max")]
    for key, name in names:
        if key == "n_params":
            cells = [str(p["n_params"])]
            if th is not None:
                cells.append(str(p["n_params"]))
        else:
            value = p[key]
            if p["zero_matrix"] and key in ("cond10", "cond"):
                cells = ["undefined (H = 0)"]
            else:
                cells = [_pm(value, std.get(key), p["runs"])]
            if th is not None:
                if pred is None:
                    cells.append("—")
                elif pred.get("zero_matrix") and key in ("cond10", "cond"):
                    cells.append("undefined (H = 0)")
                else:
                    cells.append(fmt(pred.get(key)))
        table.add_row(name, *cells)
    console.print(table)
    if p["zero_matrix"]:
        console.print("The Hessian is exactly zero at this point (every eigenvalue is 0).")
    if p["diverged_runs"]:
        console.print(f"[yellow]{p['diverged_runs']} of {p['runs']} runs diverged during training "
                      "(excluded from the statistics).[/yellow]")
    if th is not None:
        case = {"n>=3": "n ≥ 3", "n=2": "n = 2", "n=1": "n = 1"}.get(th["case"], th["case"])
        console.print(f"Theorem 1 ({case}): {th['statement']}.")
        parts = [f"largest deviation from the prediction: {fmt(th['max_abs_deviation'], 3)}"]
        if "entry_deviation" in th:
            parts.append(f"entries {fmt(th['entry_deviation'], 3)}")
        if "eigenvalue_deviation" in th:
            parts.append(f"sorted eigenvalues {fmt(th['eigenvalue_deviation'], 3)}")
        if th["deviation_kind"] != "exact":
            parts.append("measured on random probe vectors")
        console.print("; ".join(parts) + ".")
    elif cfg["at"] == "init" and cfg["init"] == "zero" and net["shortcut"] == 0:
        console.print("Theorem 1 is about shortcut networks: no prediction for the plain network.")
    if eigen_path:
        console.print(f"[dim]wrote {eigen_path}[/dim]")


def plot_spectrum(result, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4))
    exact = [s["eigenvalues"] for s in result.spectra if "eigenvalues" in s]
    if exact:
        values = np.concatenate(exact)
        ax.hist(values, bins=80, color="tab:blue", alpha=0.8, label="measured eigenvalues")
    else:
        nodes = np.concatenate([s["nodes"] for s in result.spectra])
        weights = np.concatenate([s["weights"] for s in result.spectra])
        ax.hist(nodes, bins=80, weights=weights * result.network["n_params"] / len(result.spectra),
                color="tab:blue", alpha=0.8, label="SLQ density (scaled to counts)")
    th = result.theory
    if th is not None and th.get("eigenvalues") is not None and len(th["eigenvalues"]):
        ax.hist(th["eigenvalues"], bins=80, histtype="step", color="tab:red", linewidth=1.5,
                label=f"Theorem 1 ({th['case']})")
    ax.set_xlabel("eigenvalue λ")
    ax.set_ylabel("count")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_title(result.network["description"], fontsize=9)
    ax.legend(fontsize=8)
    save_figure(fig, path)
