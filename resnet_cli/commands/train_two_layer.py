"""`resnet-cli train two-layer`: GD with normalization on the two-layer teacher–student model (Liu et al. 2019)."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import two_layer as exp
from resnet_cli.plots import two_layer as plots
from resnet_cli.render import two_layer as tables

VIEW = View(render=tables.train, rows=tables.trace_rows, plot=plots.train, label="training")


@o.defaults_from(exp.TrainSettings)
def command(
    ctx: typer.Context, *, student: o.Student, p: o.P, k: o.K, schedule: o.Schedule, trials: o.Trials,
    same_teacher: o.SameTeacher, trace_every: o.TraceEvery,
    lr_a: o.LrA, lr_w: o.LrW, lr: o.LrStage2, c_lr_w: o.CLrW, stage1_steps: o.Stage1Steps, steps: o.TotalSteps,
    stage2_steps: o.Stage2Steps, teacher_v: o.TeacherV, teacher_a: o.TeacherA, prior_angle: o.PriorAngle,
    phi_tol: o.PhiTol, a_tol: o.ATol, spurious_tol: o.SpuriousTol, samples: o.TwoLayerSamples, batch: o.Batch,
    online: o.Online, label_noise: o.LabelNoise, stride: o.Stride, inputs: o.Inputs, theorem_m: o.TheoremM,
    theorem_big_m: o.TheoremBigM, theorem_trajectory: o.TheoremTrajectory, theorem_all: o.TheoremAll, delta: o.Delta,
    flow: o.Flow, noise: o.Noise, noise_anneal: o.NoiseAnneal, noise_rate: o.NoiseRate, noise_on: o.NoiseOn,
    flow_rtol: o.FlowRtol, flow_atol: o.FlowAtol, flow_solver: o.FlowSolver, seed: o.Seed,
    config: o.Config = None, out: o.Out = None, json_out: o.Json = False, plot: o.Plot = None, quiet: o.Quiet = False, detail: o.Detail = False,
) -> None:
    """Train the two-layer student (Liu et al. 2019) on the exact population loss and print its trace."""
    run_command(ctx, exp.TrainSettings, exp.run_train, VIEW)
