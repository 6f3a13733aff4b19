"""`resnet-cli landscape deep-resnet`: are a deep ResNet's critical points at least as good as the best
linear predictor? (Yun et al. 2019)."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import deep_resnet as exp
from resnet_cli.plots import deep_resnet as plots
from resnet_cli.render import deep_resnet as tables

VIEW = View(render=tables.landscape, rows=lambda payload: payload["rows"], plot=plots.landscape, label="deep-resnet")


@o.defaults_from(exp.DeepResnetSettings)
def command(ctx: typer.Context, *, data: o.Data, rho: o.Rho, samples: o.Samples, dim: o.Dim, blocks: o.Blocks,
            width: o.Width, hidden: o.Hidden, bias: o.Bias, compare: o.Compare, fc_width: o.FcWidth,
            trials: o.Trials, steps: o.Steps, lr: o.LrAdaptive, grad_tol: o.GradTol, gap_tol: o.GapTol,
            eig_tol: o.EigTol, init: o.ResnetInit, init_scale: o.InitScale, finder: o.Finder,
            newton_steps: o.NewtonSteps, newton_tol: o.NewtonTol, dedup_tol: o.DedupTol, eig_tol_alt: o.EigTolAlt,
            jobs: o.Jobs, dask: o.Dask, cache: o.Cache, seed: o.Seed,
            config: o.Config = None, out: o.Out = None, json_out: o.Json = False, plot: o.Plot = None,
            quiet: o.Quiet = False, detail: o.Detail = False) -> None:
    """Critical points of deep ResNets (and FC ReLU nets) against the best linear predictor (Yun et al. 2019)."""
    run_command(ctx, exp.DeepResnetSettings, exp.run, VIEW)
