"""`resnet-cli depth-sweep`: one measurement across depths and network kinds (Li et al. 2017, Figs. 5, 9, 10)."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import depth_sweep as exp
from resnet_cli.plots import shortcut as plots
from resnet_cli.render import shortcut as tables

VIEW = View(render=tables.depth_sweep, rows=lambda payload: payload["rows"], plot=plots.depth_sweep,
            label="depth sweep")


@o.defaults_from(exp.DepthSweepSettings)
def command(ctx: typer.Context, *, depth: o.DepthList, network: o.NetworkList, measure: o.Measure,
            act_mid: o.ActMid, data: o.Data, samples: o.Samples, dim: o.Dim, trials: o.Trials,
            init: o.ShortcutInit, steps: o.Steps, lr: o.LrGrid, spectrum: o.Spectrum,
            exact_max_params: o.ExactMaxParams, lanczos_steps: o.LanczosSteps, lanczos_probes: o.LanczosProbes, eigensolver: o.Eigensolver,
            jobs: o.Jobs, dask: o.Dask, cache: o.Cache, seed: o.Seed, config: o.Config = None, out: o.Out = None, json_out: o.Json = False,
            plot: o.Plot = None, quiet: o.Quiet = False, detail: o.Detail = False) -> None:
    """Sweep depth for several network kinds: initial cond10 (Fig. 5) or best final loss (Figs. 9, 10)."""
    run_command(ctx, exp.DepthSweepSettings, exp.run, VIEW)
