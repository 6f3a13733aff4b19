"""Issue 12 in the experiments: finite samples, SGD, online SGD, strides and input laws in `train two-layer` and
`success-rate`; the method names; the theorem checks along a run; the cost estimate. Defaults stay as before."""

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import optim
from resnet_cli.errors import ConfigError
from resnet_cli.experiments import success_rate as sr
from resnet_cli.experiments import two_layer as exp
from resnet_cli.experiments import two_layer_settings as tls


def test_defaults_keep_the_population_plane_engine():
    s = exp.TrainSettings()
    assert not tls.sampled(s) and tls.per_step(s) == 0 and tls.gradient_mode(s, s.p) == "population"
    assert tls.state_factories(s, np.random.default_rng(0), np.ones((2, 8)) / math.sqrt(8), np.ones((2, 4))) == ["plane"]
    assert tls.state_factories(exp.TrainSettings(stride=8), None, np.ones((1, 8)), np.ones((1, 4))) == ["plane"]
    assert sr.SuccessSettings().method == ["cnn-large-w", "resnet-large-w", "resnet-ssw"]


@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"batch": 5}, "--batch 5: needs --samples N or --online"),
        ({"samples": 10, "batch": 20}, "--batch 20: must be at most --samples 10"),
        ({"samples": 10, "online": True}, "--samples 10 with --online"),
        ({"label_noise": 0.1}, "--label-noise 0.1: needs --samples"),
        ({"inputs": "uniform"}, "--inputs uniform: needs --samples"),
        ({"stride": 9}, "--stride 9: must be at most --p 8"),
        ({"stride": 0}, "--stride 0: must be at least 1"),
        ({"inputs": "cauchy", "online": True}, "--inputs 'cauchy': choose from gaussian, uniform, rademacher"),
        ({"theorem_m": 2.0}, "--theorem-m 2: must be below --theorem-big-m 1.1 .Theorem 1 asks 0 < m < M"),
        ({"theorem_m": 1.0, "theorem_big_m": 1.0}, "--theorem-m 1: must be below --theorem-big-m 1"),
        ({"theorem_m": 0.0}, "--theorem-m 0.0: must be greater than 0"),
        ({"delta": -1.0}, "--delta -1.0: must be at least 0"),
        ({"schedule": "warm"}, "--schedule 'warm': choose from"),
    ],
)
def test_settings_errors_name_the_flag(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        exp.TrainSettings.resolve(None, overrides)


def test_success_rate_checks_the_stride_against_the_smallest_p():
    with pytest.raises(ConfigError, match="--stride 5: must be at most --p 4"):
        sr.SuccessSettings.resolve(None, {"p": "4,8", "stride": 5})


def test_old_method_names_are_aliases_with_a_notice():
    notes = []
    s = sr.SuccessSettings.resolve(None, {"method": "cnn,resnet,resnet-ssw"}, notify=notes.append)
    assert s.method == ["cnn-large-w", "resnet-large-w", "resnet-ssw"]
    assert len(notes) == 2 and "--method cnn is deprecated" in notes[0] and "use resnet-large-w" in notes[1]
    with pytest.raises(ConfigError, match="cnn-large-w is listed twice"):
        sr.SuccessSettings.resolve(None, {"method": "cnn,cnn-large-w"})
    assert sr.method_spec("resnet") == sr.METHODS["resnet-large-w"] == ("resnet", "large-w")


def test_large_both_uses_the_large_step_on_both_layers_from_step_0():
    a_star = np.random.default_rng(0).standard_normal((3, 4))
    steps = tls.StepSettings()
    both, w_only = tls.schedule(steps, "large-both", a_star), tls.schedule(steps, "large-w", a_star)
    np.testing.assert_array_equal(both.at(0)[0], both.eta)
    np.testing.assert_array_equal(both.at(0)[1], both.eta)
    np.testing.assert_array_equal(w_only.at(0)[0], np.full(3, optim.theorem1_eta_a(4)))  # η_a: Theorem 1
    np.testing.assert_array_equal(w_only.at(0)[1], w_only.eta)


def test_sample_runs_draw_the_same_teachers_and_are_reproducible():
    base = exp.run_train(exp.TrainSettings(trials=3, steps=300, seed=4))
    s = exp.TrainSettings(trials=3, steps=300, seed=4, samples=100, batch=10, label_noise=0.1, inputs="uniform")
    first, again = exp.run_train(s), exp.run_train(s)
    np.testing.assert_array_equal(base.v_star, first.v_star)  # teachers and inits first: same draws
    np.testing.assert_array_equal(first.gd.v, again.gd.v)
    assert not np.allclose(first.gd.v, base.gd.v)
    assert first.to_dict()["config"]["data"] == "SGD, N = 100, B = 10, uniform inputs, label noise 0.1"


def test_success_rate_methods_share_the_data_and_streams():
    """Common random numbers: a method's cell does not depend on which other methods run beside it."""
    kw = dict(p=[5], k=[3], trials=12, stage2_steps=300, jobs=1, seed=2, samples=40, batch=4)
    alone = sr.run(sr.SuccessSettings(method=["resnet-ssw"], **kw)).cells[0]
    with_others = [c for c in sr.run(sr.SuccessSettings(method=["cnn-large-w", "resnet-ssw"], **kw)).cells
                   if c.method == "resnet-ssw"][0]
    assert alone == with_others
    online = sr.run(sr.SuccessSettings(method=["resnet-ssw"], **{**kw, "samples": None, "online": True})).cells[0]
    assert sum(online.counts.values()) == 12


def test_stride_equal_to_p_is_the_default_and_overlap_runs_the_vector_engine():
    kw = dict(p=[4], k=[3], trials=20, stage2_steps=500, jobs=1, method=["resnet-ssw", "resnet-large-both"])
    default = sr.run(sr.SuccessSettings(**kw)).to_dict()["cells"]
    same = sr.run(sr.SuccessSettings(stride=4, **kw)).to_dict()["cells"]
    assert [c["rate"] for c in default] == [c["rate"] for c in same]
    over = sr.run(sr.SuccessSettings(stride=2, **kw)).cells
    assert all(sum(c.counts.values()) == 20 for c in over)


def test_theorem_checks_along_a_train_run():
    """ResNet + SSW, k = 4: with the defaults m = 0.1‖a*‖², M = 1.1‖a*‖² output (1) holds on every recorded
    step, on Theorem 1's own steps and on the SSW run; with m = 0.9‖a*‖² it fails at T1 (a has not got there
    yet: aᵀa* ≈ 0.5‖a*‖² at T1 for these teachers)."""
    for trajectory in ("theorem1", "run"):
        loose = exp.run_train(exp.TrainSettings(trials=4, seed=0, theorem_trajectory=trajectory))
        for run in loose.to_dict()["runs"]:
            t = run["theorems"]
            assert t["output1_held"] is True and t["first_failure"] is None
            assert 0.1 <= t["a_dot_min_rel"] <= t["a_dot_max_rel"] <= 1.1 and t["phi_max"] < 5 * math.pi / 12
            assert t["c2"][0] > 0 and t["c1"][1] > 0
    strict = exp.run_train(exp.TrainSettings(trials=4, seed=0, theorem_m=0.9, theorem_trajectory="run"))
    t1 = strict.schedule.stage1_iterations
    for run in strict.to_dict()["runs"]:
        assert run["theorems"]["output1_held"] is False and run["theorems"]["first_failure"] == t1
    over = exp.run_train(exp.TrainSettings(trials=2, steps=400, stride=4, theorem_all=True)).to_dict()["runs"][0]
    assert over["theorems"]["c1"] is None and over["theorems"]["output1_held"] is not None
    outside = exp.run_train(exp.TrainSettings(trials=2, steps=400, stride=4)).to_dict()
    assert outside["config"]["theorem1_outside"] == "overlapping patches"
    assert outside["runs"][0]["theorems"]["output1_held"] is None  # not checked unless --theorem-all
    short = exp.run_train(exp.TrainSettings(trials=2, steps=50)).to_dict()["runs"][0]["theorems"]
    assert short["output1_held"] is None  # T > T1 never reached: nothing to check


def test_success_rate_reports_output1_by_outcome():
    kw = dict(k=[4], trials=30, stage2_steps=2000, jobs=1, method=["cnn-large-w", "resnet-ssw"])
    cells = sr.run(sr.SuccessSettings(**kw, theorem_all=True, theorem_trajectory="run")).to_dict()["cells"]
    by = {c["method"]: c for c in cells}
    assert by["resnet-ssw"]["output1_global"] == 30 and by["resnet-ssw"]["output1_other"] == 0
    assert by["cnn-large-w"]["output1_other"] == 0  # trapped runs leave the window of (1)
    assert 0.1 < by["resnet-ssw"]["a_dot_min_rel_median"] < 1
    assert by["cnn-large-w"]["output1_outside"] == "no shortcut; no warm-up" and by["resnet-ssw"]["output1_outside"] is None
    default = {c["method"]: c for c in sr.run(sr.SuccessSettings(**kw)).to_dict()["cells"]}
    assert default["cnn-large-w"]["output1_global"] is None  # outside the hypotheses: no row unless asked
    assert default["resnet-ssw"]["output1_global"] == 30
    assert 0.1 <= default["resnet-ssw"]["tightest_m"] <= default["resnet-ssw"]["tightest_big_m"] <= 1.1


def test_work_estimate_counts_every_multiplier():
    base = tls.train_cost(exp.TrainSettings(trials=2, steps=100)).work
    assert base["trial_steps"] == 200 and base["trial_sample_steps"] == 200
    sgd = tls.train_cost(exp.TrainSettings(trials=2, steps=100, samples=50, batch=5)).work
    gd = tls.train_cost(exp.TrainSettings(trials=2, steps=100, samples=50)).work
    online = tls.train_cost(exp.TrainSettings(trials=2, steps=100, online=True, batch=5)).work
    assert sgd["trial_sample_steps"] == 1000 and gd["trial_sample_steps"] == 10000 and online["trial_sample_steps"] == 1000
    assert gd["multiply_adds"] > sgd["multiply_adds"] > base["multiply_adds"]
    assert tls.train_cost(exp.TrainSettings(trials=2, steps=100, stride=2)).work["multiply_adds"] > base["multiply_adds"]
    grid = sr.cost(sr.SuccessSettings(p=[4, 8], k=[3], trials=10, steps=100)).work
    # cells × (3 methods + resnet-ssw on Theorem 1's own steps) × trials × steps
    assert grid["trial_steps"] == 2 * (3 + 1) * 10 * 100
    assert tls.train_cost(exp.TrainSettings(trials=2, steps=300)).work["trial_steps"] == 2 * 2 * 300  # + own steps


@pytest.mark.parametrize("flag, value, message", [
    ("k", "4,9,4", "--k 4,9,4: 4 is listed twice"),  # was accepted: one table row, two identical --out rows
    ("p", "8,8", "--p 8,8: 8 is listed twice"),
])
def test_a_size_listed_twice_is_refused(flag, value, message):
    with pytest.raises(ConfigError, match=message):
        sr.SuccessSettings.resolve(None, {flag: value})
