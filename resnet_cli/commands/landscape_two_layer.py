"""`resnet-cli landscape two-layer`: critical points, φ-profile and basins of one teacher (Liu et al. 2019)."""

from __future__ import annotations

import typer

from resnet_cli.commands import options as o
from resnet_cli.commands.shell import View, run_command
from resnet_cli.experiments import two_layer as exp
from resnet_cli.plots import two_layer as plots
from resnet_cli.render import two_layer as tables

VIEW = View(render=tables.landscape, rows=lambda payload: payload["profile"], plot=plots.landscape, label="basin map")


@o.defaults_from(exp.LandscapeSettings)
def command(
    ctx: typer.Context, *, p: o.P, k: o.K, teacher_v: o.TeacherV, teacher_a: o.TeacherA, prior_angle: o.PriorAngle,
    profile_points: o.ProfilePoints, basin_phi: o.BasinPhi, basin_a: o.BasinA, schedule: o.ScheduleList,
    probes: o.Probes, probe_radius: o.ProbeRadius, lr_a: o.LrA, lr_w: o.LrW, lr: o.LrStage2, c_lr_w: o.CLrW,
    stage1_steps: o.Stage1Steps, steps: o.TotalSteps, stage2_steps: o.Stage2Steps,
    phi_tol: o.PhiTol, a_tol: o.ATol, spurious_tol: o.SpuriousTol, samples: o.TwoLayerSamples, batch: o.Batch,
    online: o.Online, label_noise: o.LabelNoise, inputs: o.Inputs, stride: o.Stride, trials: o.SearchStarts, seed: o.Seed,
    config: o.Config = None, out: o.Out = None, json_out: o.Json = False, plot: o.Plot = None, quiet: o.Quiet = False, detail: o.Detail = False,
) -> None:
    """The population landscape of one teacher: critical points, the loss along φ, basins of GD."""
    run_command(ctx, exp.LandscapeSettings, exp.run_landscape, VIEW)
