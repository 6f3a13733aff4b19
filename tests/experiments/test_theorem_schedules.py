"""The trajectories the theorem checks and the layer-wise schedules run on (resnet_cli/models/two_layer/optim.py).

Oracles: `Schedule.held()` (Theorem 1's steps kept on all of [T1, T]) is the same GD as a schedule whose
stage I never ends; the reviewer's layer-wise schedule (NeurIPS 2019 reviews of Liu et al., point 3) leaves a
exactly where stage I left it and turns w to w* (φ → 0, aᵀa* > 0), so it cannot reach a = a*; with a free in
stage II (a-first) the same start reaches the global optimum. Which runs are inside Theorem 1's hypotheses.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import optim
from resnet_cli.errors import ConfigError
from resnet_cli.experiments import two_layer as exp
from resnet_cli.models.two_layer import population as tl
from resnet_cli.experiments import two_layer_settings as tls
from resnet_cli.rng import make_rng


def _start(n: int = 6, p: int = 8, k: int = 4, seed: int = 3):
    s = exp.TrainSettings(p=p, k=k, trials=n)
    rng = make_rng(seed)
    v_star, a_star = tls.draw_teachers(s, rng, n, p, k)
    v0, a0 = tl.draw_inits(rng, "resnet", v_star, a_star)
    return s, v0, a0, v_star, a_star


@pytest.mark.parametrize("representation", ["plane", "vector"])
def test_held_schedule_is_stage_one_that_never_ends(representation):
    s, v0, a0, v_star, a_star = _start()
    sched = tls.schedule(s, "ssw", a_star)
    steps = sched.stage1_iterations + 300
    never = optim.Schedule("ssw", sched.eta_a, sched.eta_w, sched.eta, steps + 1)
    crit = tls.criteria(s)
    points = [0, sched.stage1_iterations, steps]
    held = optim.run_gd(v0, a0, v_star, a_star, sched.held(), steps, crit, trace_points=points,
                        representation=representation)
    ref = optim.run_gd(v0, a0, v_star, a_star, never, steps, crit, trace_points=points, representation=representation)
    np.testing.assert_array_equal(held.v, ref.v)
    np.testing.assert_array_equal(held.a, ref.a)
    switched = optim.run_gd(v0, a0, v_star, a_star, sched, steps, crit, representation=representation)
    assert not np.allclose(switched.a, held.a)  # the switch to Theorem 2's η at T1 does change the run


def test_reviewer_layerwise_keeps_a_and_aligns_w():
    s, v0, a0, v_star, a_star = _start()
    sched = tls.schedule(s, "layerwise", a_star)
    t1 = sched.stage1_iterations
    crit = tls.criteria(s)
    stage1 = optim.run_gd(v0, a0, v_star, a_star, sched, t1, crit, representation="vector")
    np.testing.assert_allclose(stage1.v, v0, atol=1e-15)  # η_w = 0 in stage I: w stays 0
    whole = optim.run_gd(v0, a0, v_star, a_star, sched, t1 + 3000, crit, representation="vector")
    np.testing.assert_array_equal(whole.a, stage1.a)  # a fixed in stage II
    positive = np.sum(stage1.a * a_star, axis=1) > 0
    assert positive.all()
    assert np.all(whole.final["phi"] < 1e-6)  # w → w*: max over v of aᵀa*·g(φ) is at φ = 0 when aᵀa* > 0
    assert np.all(whole.final["a_err_rel"] > 0.05) and set(whole.outcome) == {"undecided"}
    free = optim.run_gd(v0, a0, v_star, a_star, tls.schedule(s, "a-first", a_star), t1 + 3000, crit)
    assert set(free.outcome) == {"global"}


def test_hypotheses_of_theorem_one():
    s = exp.TrainSettings()
    assert tls.theorem1_outside(s, "resnet", "ssw") is None
    assert tls.theorem1_outside(s, "cnn", "ssw") == "no shortcut; no skip-layer prior"  # cnn's default v* law: sphere
    assert tls.theorem1_outside(s, "cnn", "ssw", "prior") == "no shortcut"
    assert tls.theorem1_outside(s, "resnet", "large-w") == "no warm-up"
    assert tls.theorem1_outside(s, "resnet", "layerwise") == "η_w = 0 in stage I"
    assert tls.theorem1_outside(exp.TrainSettings(teacher_v="sphere"), "resnet", "ssw") == "no skip-layer prior"
    assert tls.theorem1_outside(exp.TrainSettings(prior_angle=90.0), "resnet", "ssw") == "no skip-layer prior"
    assert tls.theorem1_outside(exp.TrainSettings(lr_w=1e-4), "resnet", "ssw") == "step sizes set"
    assert tls.theorem1_outside(exp.TrainSettings(samples=100), "resnet", "ssw") == "samples, not the population loss"
    assert tls.theorem1_checked(exp.TrainSettings(theorem_all=True), "cnn", "large-w")


@pytest.mark.parametrize("m,big_m", [(1.0, 1.0), (0.5, 0.2)])
def test_output1_constants_must_be_strictly_ordered(m, big_m):
    with pytest.raises(ConfigError, match=f"--theorem-m {m:g}: must be below --theorem-big-m {big_m:g}"):
        exp.TrainSettings.resolve(None, {"theorem_m": m, "theorem_big_m": big_m})


def test_output1_on_theorem_one_steps_is_checked_on_its_own_trace():
    """The theorem1 trajectory's bounds are those of the held run's trace (recomputed here from it)."""
    s = exp.TrainSettings(trials=3, seed=5, steps=1500)
    result = exp.run_train(s)
    t = result.to_dict()["runs"]
    sched = result.schedule
    points = optim.window_points(sched.stage1_iterations, result.steps)
    rng = make_rng(5)
    v_star, a_star = tls.draw_teachers(s, rng, 3, s.p, s.k)
    v0, a0 = tl.draw_inits(rng, "resnet", v_star, a_star)
    held = optim.run_gd(v0, a0, v_star, a_star, sched.held(), result.steps, tls.criteria(s), trace_points=points)
    a_dot = np.stack(held.trace["a_dot_astar"], axis=1) / np.sum(a_star**2, axis=1)[:, None]
    for i in range(3):
        assert math.isclose(t[i]["theorems"]["a_dot_min_rel"], a_dot[i].min(), rel_tol=1e-12)
        assert math.isclose(t[i]["theorems"]["a_dot_max_rel"], a_dot[i].max(), rel_tol=1e-12)


def test_theorem_one_steps_resumed_at_t1_match_a_run_from_zero():
    """success-rate resumes Theorem 1's own steps from the methods' run at T1 (`run_gd(snapshot_at=)`):
    the same trajectory as the held schedule run from step 0, up to rounding."""
    s, v0, a0, v_star, a_star = _start(n=8)
    sched = tls.schedule(s, "ssw", a_star)
    t1, steps = sched.stage1_iterations, sched.stage1_iterations + 400
    crit = tls.criteria(s)
    run = optim.run_gd(v0, a0, v_star, a_star, sched, steps, crit, trace_points=[t1], snapshot_at=t1,
                       stop_when_global=True)
    resumed = optim.run_gd(*run.snapshot, v_star, a_star, sched.held(), steps - t1, crit)
    whole = optim.run_gd(v0, a0, v_star, a_star, sched.held(), steps, crit)
    np.testing.assert_allclose(resumed.v, whole.v, atol=1e-12)
    np.testing.assert_allclose(resumed.a, whole.a, atol=1e-12)
    with pytest.raises(ValueError, match="snapshot_at"):
        optim.run_gd(v0, a0, v_star, a_star, sched, 10, crit, snapshot_at=5)
