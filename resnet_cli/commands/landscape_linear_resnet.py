"""`resnet-cli landscape linear-resnet`: are the critical points of a deep linear residual network near
identity global? (Hardt & Ma 2017, "Identity matters in deep learning", Theorem 2.2)."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import linear_residual as exp
from resnet_cli.plots import linear_residual as plots
from resnet_cli.render import linear_residual as tables

VIEW = View(render=tables.landscape, rows=tables.rows, plot=plots.landscape, label="linear-resnet")


@o.defaults_from(exp.LinearResnetSettings)
def command(ctx: typer.Context, *, data: o.Data, target: o.Target, samples: o.Samples, dim: o.Dim,
            blocks: o.Blocks, radius: o.Radius, trials: o.Trials, newton_steps: o.NewtonSteps,
            newton_tol: o.NewtonTol, damping: o.Damping, gap_tol: o.GapTol, eig_tol: o.EigTol, probes: o.EscapeProbes,
            seed: o.Seed, config: o.Config = None, out: o.Out = None, json_out: o.Json = False,
            plot: o.Plot = None, quiet: o.Quiet = False, detail: o.Detail = False) -> None:
    """Critical points of deep linear residual nets inside and beyond max‖A_j‖ < 1 (Hardt & Ma 2017)."""
    run_command(ctx, exp.LinearResnetSettings, exp.run, VIEW)
