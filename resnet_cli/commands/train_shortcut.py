"""`resnet-cli train shortcut`: full-batch GD on an n-shortcut network (Li et al. 2017, Figures 6-8)."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import train_shortcut as exp
from resnet_cli.plots import shortcut as plots
from resnet_cli.render import shortcut as tables

VIEW = View(render=tables.train, rows=lambda payload: payload["trace"], plot=plots.train, label="training")


@o.defaults_from(exp.TrainShortcutSettings)
def command(ctx: typer.Context, *, shortcut: o.Shortcut, depth: o.Depth, init: o.Init, act_pre: o.ActPre,
            act_mid: o.ActMid, act_post: o.ActPost, plain_unit: o.PlainUnit, data: o.Data, samples: o.Samples,
            dim: o.Dim, steps: o.Steps, lr: o.Lr, hessian_every: o.HessianEvery, spectrum: o.Spectrum,
            lanczos_steps: o.LanczosSteps, lanczos_probes: o.LanczosProbes, eigensolver: o.Eigensolver, trace_every: o.TraceEvery,
            seed: o.Seed, config: o.Config = None, out: o.Out = None, json_out: o.Json = False,
            plot: o.Plot = None, quiet: o.Quiet = False, detail: o.Detail = False) -> None:
    """Train an n-shortcut network by full-batch GD: loss − L_min trace and Hessian statistics."""
    run_command(ctx, exp.TrainShortcutSettings, exp.run, VIEW)
