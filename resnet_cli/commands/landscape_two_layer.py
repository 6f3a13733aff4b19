"""`resnet-cli landscape two-layer`: critical points, φ-profile and basins of one teacher (Liu et al. 2019)."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from resnet_cli import optim
from resnet_cli.commands import two_layer_options as o
from resnet_cli.commands.common import ConfigOpt, JsonOpt, OutOpt, PlotOpt, QuietOpt, SeedOpt, check_outputs, emit
from resnet_cli.config import parse_choices, require, resolve
from resnet_cli.experiments import two_layer as exp
from resnet_cli.models.two_layer import unit_e
from resnet_cli.report import console, fmt, progress_bar

SYMBOL = {"global": "[green]G[/green]", "spurious": "[red]S[/red]", "undecided": "[yellow]U[/yellow]", "diverged": "[magenta]D[/magenta]"}


def command(
    ctx: typer.Context,
    p: Annotated[int, typer.Option("--p", help="Patch dimension p (≥ 2).")] = 8,
    k: Annotated[int, typer.Option("--k", help="Number of patches k (≥ 1).")] = 4,
    teacher_v: o.TeacherVOpt = None,
    teacher_a: o.TeacherAOpt = "gaussian",
    prior_angle: o.PriorAngleOpt = 60.0,
    profile_points: Annotated[int, typer.Option("--profile-points", help="Points of the φ-profile on [0, π].")] = 19,
    basin_phi: Annotated[int, typer.Option("--basin-phi", help="Rows of the basin map: initial angles φ0 on [0, π].")] = 7,
    basin_a: Annotated[
        int, typer.Option("--basin-a", help="Columns of the basin map: a0 = q·a* for q on [−1, 1] (so a0ᵀa* = q‖a*‖²).")
    ] = 5,
    schedules: Annotated[str, typer.Option("--schedules", help="Schedules of the basin map (comma list of ssw, constant, layerwise).")] = "ssw,constant",
    probes: Annotated[int, typer.Option("--probes", help="Random perturbations probed where the Hessian is degenerate.")] = 2000,
    probe_radius: Annotated[float, typer.Option("--probe-radius", help="Largest perturbation size of the probes.")] = 1e-2,
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
    """The population landscape of one teacher: critical points, the loss along φ, basins of GD."""
    opts = resolve(ctx, config, "landscape-two-layer")
    train = o.train_config(opts, student="resnet", p=opts["p"], k=opts["k"], schedule="ssw", trials=1)
    teacher = o.teacher_config(opts, "resnet")
    require(opts["profile_points"] >= 2, "--profile-points must be at least 2")
    require(opts["basin_phi"] >= 1 and opts["basin_a"] >= 1, "--basin-phi and --basin-a must be at least 1")
    require(opts["probes"] >= 1, "--probes must be at least 1")
    require(opts["probe_radius"] > 0, "--probe-radius must be positive")
    cfg = exp.LandscapeConfig(
        p=opts["p"],
        k=opts["k"],
        teacher=teacher,
        profile_points=opts["profile_points"],
        basin_phi_points=opts["basin_phi"],
        basin_a_points=opts["basin_a"],
        schedules=tuple(parse_choices(opts["schedules"], list(optim.SCHEDULES), "--schedules")),
        probes=opts["probes"],
        probe_radius=opts["probe_radius"],
        train=train,
    )
    check_outputs(opts["out"], opts["plot"])
    rng = np.random.default_rng(opts["seed"])
    with progress_bar(opts["quiet"], "basin map") as update:
        result = exp.landscape(cfg, rng, progress=lambda done, total: update(done, total))
    payload = to_payload(result, opts["seed"])
    emit(payload, profile_rows(payload), json_out=opts["json_out"], out=opts["out"], plot=opts["plot"], render_fn=render, plot_fn=plot_landscape)


def to_payload(result: exp.LandscapeResult, seed: int) -> dict[str, Any]:
    cfg = result.config
    e = unit_e(cfg.p)
    points = []
    for cp in result.critical_points:
        points.append(
            {
                "kind": cp.kind,
                "loss": cp.loss,
                "grad_norm": cp.grad_norm,
                "a_dot_astar": cp.a_dot_astar,
                "hessian_min": float(cp.hessian_eigenvalues.min()),
                "hessian_max": float(cp.hessian_eigenvalues.max()),
                "verdict": cp.verdict,
                "method": cp.method,
                "v": cp.v,
                "w_resnet": cp.v - e,
                "a": cp.a,
            }
        )
    config = exp.as_dict(cfg)
    config["seed"] = seed
    return {
        "command": "landscape two-layer",
        "config": config,
        "teacher": {"v_star": result.v_star, "a_star": result.a_star, "angle_to_e": result.resnet_init_phi},
        "critical_points": points,
        "profile": [
            {"phi": float(phi), "loss": float(loss), "a_dot_astar": float(ad)}
            for phi, loss, ad in zip(result.profile_phi, result.profile_loss, result.profile_a_dot)
        ],
        "basin": {
            "phi0": result.basin_phi0,
            "a0_over_astar": result.basin_a_ratio,
            "outcomes": {kind: grid.tolist() for kind, grid in result.basin.items()},
            "resnet_init_phi0": result.resnet_init_phi,
            "cnn_init_phi0_quantiles": result.cnn_init_phi_quantiles,
        },
    }


def profile_rows(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return payload["profile"]


def render(payload: dict[str, Any]) -> None:
    cfg, teacher = payload["config"], payload["teacher"]
    console.print(
        f"[bold]landscape two-layer[/bold]  p={cfg['p']} k={cfg['k']} seed={cfg['seed']}  "
        f"‖a*‖={fmt(float(np.linalg.norm(teacher['a_star'])))} 1ᵀa*={fmt(float(np.sum(teacher['a_star'])))} "
        f"angle(v*, e)={fmt(math.degrees(teacher['angle_to_e']))}°"
    )
    table = Table(title="critical points")
    for col in ("kind", "loss", "‖∇L‖", "aᵀa*", "λmin (tangent H)", "λmax", "verdict"):
        table.add_column(col, justify="right")
    for cp in payload["critical_points"]:
        table.add_row(
            cp["kind"], fmt(cp["loss"]), fmt(cp["grad_norm"]), fmt(cp["a_dot_astar"]), fmt(cp["hessian_min"]), fmt(cp["hessian_max"]), cp["verdict"]
        )
    console.print(table)
    for cp in payload["critical_points"]:
        console.print(f"[dim]{cp['kind']}: {cp['method']}[/dim]")
    prof = Table(title="loss along φ with a optimized in closed form, a(φ) = M⁻¹N(φ)a*")
    for col in ("φ (deg)", "min_a L", "a(φ)ᵀa*", "v moves"):
        prof.add_column(col, justify="right")
    for row in payload["profile"]:
        moves = "toward v*" if row["a_dot_astar"] > 0 else "away from v*"
        if row["phi"] in (0.0, math.pi):
            moves = "—"
        prof.add_row(fmt(math.degrees(row["phi"])), fmt(row["loss"]), fmt(row["a_dot_astar"]), moves)
    console.print(prof)
    basin = payload["basin"]
    for kind, grid in basin["outcomes"].items():
        bt = Table(title=f"basins of GD, schedule {kind} (G global, S spurious, U undecided, D diverged)")
        bt.add_column("φ0 (deg) \\ a0 = q·a*, q =", justify="right")
        for q in basin["a0_over_astar"]:
            bt.add_column(fmt(float(q)), justify="center")
        for phi0, row in zip(basin["phi0"], grid):
            bt.add_row(fmt(math.degrees(float(phi0))), *[SYMBOL[c] for c in row])
        console.print(bt)
    q = basin["cnn_init_phi0_quantiles"]
    console.print(
        f"initial angle φ0: ResNet student (w0 = 0, v0 = e) {fmt(math.degrees(basin['resnet_init_phi0']))}°; "
        f"CNN student (v0 uniform) 10/50/90% quantiles {fmt(math.degrees(q['q10']))}° / {fmt(math.degrees(q['q50']))}° / "
        f"{fmt(math.degrees(q['q90']))}°"
    )
    console.print(
        "[dim]With normalization both students follow the same GD in (v, a); they differ in where they start.[/dim]"
    )


def plot_landscape(payload: dict[str, Any], path: str) -> None:
    """The φ-profile (loss and a(φ)ᵀa*) and the basin maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from resnet_cli.commands.common import save_figure

    prof = payload["profile"]
    basin = payload["basin"]
    kinds = list(basin["outcomes"])
    fig, axes = plt.subplots(1, 1 + len(kinds), figsize=(4.2 * (1 + len(kinds)), 3.6))
    axes = np.atleast_1d(axes)
    phi = np.degrees([r["phi"] for r in prof])
    axes[0].plot(phi, [r["loss"] for r in prof], "k-", label="min_a L(φ, a)")
    twin = axes[0].twinx()
    twin.plot(phi, [r["a_dot_astar"] for r in prof], "b--", label="a(φ)ᵀa*")
    twin.axhline(0, color="grey", lw=0.6)
    axes[0].set_xlabel("φ (degrees)")
    axes[0].set_ylabel("loss")
    twin.set_ylabel("a(φ)ᵀa*", color="b")
    axes[0].set_title("profile along φ")
    code = {"global": 0, "spurious": 1, "undecided": 2, "diverged": 3}
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(["tab:green", "tab:red", "gold", "purple"])
    q = np.asarray(basin["a0_over_astar"], dtype=float)
    p0 = np.degrees(np.asarray(basin["phi0"], dtype=float))
    for ax, kind in zip(axes[1:], kinds):
        grid = np.vectorize(code.get)(np.array(basin["outcomes"][kind], dtype=object)).astype(float)
        ax.imshow(grid, cmap=cmap, vmin=0, vmax=3, aspect="auto", origin="lower",
                  extent=(q[0] - 0.5 * _step(q), q[-1] + 0.5 * _step(q), p0[0] - 0.5 * _step(p0), p0[-1] + 0.5 * _step(p0)))
        ax.axhline(math.degrees(basin["resnet_init_phi0"]), color="white", ls="--", lw=1)
        ax.set_xlabel("a0 = q·a*: q")
        ax.set_ylabel("φ0 (degrees)")
        ax.set_title(f"basins, {kind} (green G, red S)")
    fig.suptitle(f"landscape two-layer p={payload['config']['p']} k={payload['config']['k']} seed={payload['config']['seed']} "
                 "(dashed: the ResNet init v0 = e)", fontsize=9)
    save_figure(fig, path)


def _step(x: np.ndarray) -> float:
    return float(x[1] - x[0]) if len(x) > 1 else 1.0
