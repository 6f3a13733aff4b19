"""`resnet-cli success-rate`: the success-rate experiment of Liu et al. 2019, batched, with Wilson intervals."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import success_rate as exp
from resnet_cli.plots import two_layer as plots
from resnet_cli.render import two_layer as tables

VIEW = View(render=tables.success_rate, rows=lambda payload: payload["cells"], plot=plots.success_rate,
            label="success rate")


@o.defaults_from(exp.SuccessSettings)
def command(
    ctx: typer.Context, *, p: o.PList, k: o.KList, method: o.MethodList, trials: o.Trials, jobs: o.Jobs,
    dask: o.Dask, cache: o.Cache,
    teacher_v: o.TeacherV, teacher_a: o.TeacherA, prior_angle: o.PriorAngle,
    lr_a: o.LrA, lr_w: o.LrW, lr: o.LrStage2, c_lr_w: o.CLrW,
    stage1_steps: o.Stage1Steps, steps: o.TotalSteps, stage2_steps: o.Stage2Steps,
    phi_tol: o.PhiTol, a_tol: o.ATol, spurious_tol: o.SpuriousTol, samples: o.TwoLayerSamples, batch: o.Batch,
    online: o.Online, label_noise: o.LabelNoise, stride: o.Stride, inputs: o.Inputs, theorem_m: o.TheoremM,
    theorem_big_m: o.TheoremBigM, theorem_trajectory: o.TheoremTrajectory, theorem_all: o.TheoremAll,
    noise: o.Noise, noise_anneal: o.NoiseAnneal, noise_rate: o.NoiseRate, noise_on: o.NoiseOn,
    flow_rtol: o.FlowRtol, flow_atol: o.FlowAtol, flow_solver: o.FlowSolver, seed: o.Seed,
    config: o.Config = None, out: o.Out = None, json_out: o.Json = False, plot: o.Plot = None, quiet: o.Quiet = False, detail: o.Detail = False,
) -> None:
    """Share of trials that reach the global optimum, per (p, k) and method (Liu et al. 2019, Table 1)."""
    run_command(ctx, exp.SuccessSettings, exp.run, VIEW)
