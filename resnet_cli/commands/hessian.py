"""`resnet-cli hessian`: Hessian spectra of n-shortcut networks beside Theorem 1 (Li et al. 2017)."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import hessian as exp
from resnet_cli.plots import shortcut as plots
from resnet_cli.render import shortcut as tables

VIEW = View(render=tables.hessian, rows=tables.hessian_rows, plot=plots.hessian, label="hessian",
            files={"eigenvalues": ((".csv",), tables.write_eigenvalues)}, arrays=True)


@o.defaults_from(exp.HessianSettings)
def command(ctx: typer.Context, *, shortcut: o.Shortcut, depth: o.Depth, init: o.Init, act_pre: o.ActPre,
            act_mid: o.ActMid, act_post: o.ActPost, plain_unit: o.PlainUnit, data: o.Data, samples: o.Samples,
            dim: o.Dim, trials: o.Trials, at: o.At, steps: o.Steps, lr: o.Lr, spectrum: o.Spectrum,
            lanczos_steps: o.LanczosSteps, lanczos_probes: o.LanczosProbes, eigensolver: o.Eigensolver, bracket_width: o.BracketWidth, jobs: o.Jobs, dask: o.Dask,
            cache: o.Cache, seed: o.Seed,
            eigenvalues: o.Eigenvalues = None, config: o.Config = None, out: o.Out = None,
            json_out: o.Json = False, plot: o.Plot = None, quiet: o.Quiet = False, detail: o.Detail = False) -> None:
    """Hessian spectrum of an n-shortcut network, beside Theorem 1 of Li et al. (2017) at zero."""
    run_command(ctx, exp.HessianSettings, exp.run, VIEW)
