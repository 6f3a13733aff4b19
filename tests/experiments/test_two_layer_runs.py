"""Runs of the two-layer experiments (Liu et al. 2019): what training and the landscape find, seeds, settings."""

import dataclasses
import math

import numpy as np
import pytest

from resnet_cli.config import Settings
from resnet_cli.errors import ConfigError
from resnet_cli.models.two_layer import optim
from resnet_cli.experiments import two_layer as exp
from resnet_cli.experiments import two_layer_settings as tls
from resnet_cli.models.two_layer import population as tl

PI = math.pi


def test_resnet_with_theorem_step_sizes_reaches_global():
    """Six independent draws (the trials of one run; every trial evolves as it would alone) all reach the
    global minimum."""
    result = exp.run_train(exp.TrainSettings(student="resnet", k=4, schedule="ssw", trials=6, seed=0))
    assert list(result.gd.outcome) == ["global"] * 6
    assert np.all(result.gd.final["loss"] < 1e-10)


@pytest.mark.parametrize("seed", [7, 11])
def test_cnn_seed_known_to_be_trapped(seed):
    result = exp.run_train(exp.TrainSettings(student="cnn", k=4, schedule="large-w", trials=1, teacher_v="sphere",
                                             seed=seed))
    assert result.gd.outcome[0] == "spurious"
    # It sits next to the spurious critical point of its own teacher.
    _, a_bar = tl.spurious_optimum(result.v_star[0], result.a_star[0])
    assert np.linalg.norm(result.gd.a[0] - a_bar) < 0.05 * np.linalg.norm(a_bar) + 1e-3


def test_divergence_is_an_outcome():
    result = exp.run_train(exp.TrainSettings(k=4, trials=3, lr=50.0, seed=0))
    assert list(result.gd.outcome) == ["diverged"] * 3


@pytest.mark.parametrize("seed,expect", [(1, "local minimum"), (5, "saddle")])
def test_spurious_verdict_against_cubic_expansion(seed, expect):
    """At φ = π the tangent Hessian's v-block vanishes; min_a L changes as −2 g(π−ε) āᵀa* ≈ −āᵀa* ε³/(3π)."""
    cfg = exp.LandscapeSettings(k=4, schedule=["ssw"], basin_phi=2, basin_a=1, steps=200, seed=seed)
    result = exp.run_landscape(cfg)
    glob, spur = result.critical_points
    assert glob.verdict == "local minimum" and glob.hessian_eigenvalues.min() > 0
    assert spur.verdict == expect
    assert np.sum(np.abs(spur.hessian_eigenvalues) < 1e-12) == cfg.p - 1
    assert (spur.a_dot_astar < 0) == (expect == "local minimum")
    r = cfg.probe_radius
    predicted = -spur.a_dot_astar * r**3 / (3 * PI)
    worst = float(spur.method.split("min ΔL = ")[1].rstrip(")"))
    if expect == "saddle":
        assert worst == pytest.approx(predicted, rel=0.05)
    else:
        assert 0 < worst <= predicted * 1.05


def test_seed_gives_the_numpy_stream_of_release_0_1():
    """make_rng(seed) is numpy's default_rng(seed): the same seed draws the same teachers as before."""
    s = exp.TrainSettings(trials=3, seed=4)
    first = exp.run_train(s)
    v_star, a_star = tl.draw_teachers(np.random.default_rng(4), 3, s.p, s.k)  # the first draws of the stream
    np.testing.assert_array_equal(first.v_star, v_star)
    np.testing.assert_array_equal(first.a_star, a_star)


def test_payload_holds_the_resolved_settings_once():
    payload = exp.run_train(exp.TrainSettings(trials=2, steps=50, seed=7)).to_dict()
    assert payload["config"]["seed"] == 7 and "seed" not in payload["runs"][0]
    assert payload["config"]["steps"] == 50 and payload["config"]["teacher_v"] == "prior"
    assert payload["config"]["stage1_steps"] == math.ceil(1 / optim.theorem1_eta_a(4))
    assert len(payload["trace"]["step"]) == np.asarray(payload["trace"]["loss"]).shape[1]


def test_landscape_payload_gives_the_resnet_parametrization():
    payload = exp.run_landscape(exp.LandscapeSettings(p=5, k=3, basin_phi=2, basin_a=2, probes=3, steps=50)).to_dict()
    for cp in payload["critical_points"]:
        np.testing.assert_allclose(cp["w_resnet"], cp["v"] - tl.unit_e(5))


@pytest.mark.parametrize(
    "cls,overrides,message",
    [
        (exp.TrainSettings, {"k": 0}, "--k 0: must be at least 1"),
        (exp.TrainSettings, {"lr_a": 0.0}, "--lr-a 0.0: must be greater than 0"),
        (exp.TrainSettings, {"prior_angle": 190.0}, "--prior-angle 190.0: must be at most 180"),
        (exp.TrainSettings, {"student": "vgg"}, "--student 'vgg': choose from resnet, cnn"),
        (exp.LandscapeSettings, {"schedule": "ssw,ssw"}, "--schedule ssw,ssw: ssw is listed twice"),
        (exp.LandscapeSettings, {"schedule": "ssw,bogus"}, "--schedule 'bogus': choose from"),
    ],
)
def test_settings_errors_name_the_flag(cls, overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("*", r"\*")):
        cls.resolve(None, overrides)


def test_defaults_are_written_once():
    """The mixins hold the shared defaults; the experiments' settings inherit them."""
    for cls in (exp.TrainSettings, exp.LandscapeSettings):
        assert issubclass(cls, (tls.TeacherSettings, tls.StepSettings, tls.OutcomeSettings, Settings))
        assert cls.defaults()["stage2_steps"] == 20000 and cls.defaults()["phi_tol"] == 1e-2


def test_two_layer_settings_are_data():
    """The two-layer settings hold fields and their validation, nothing else: frozen, and no method but
    `check` (teachers, schedules, states, Theorem 1's hypotheses and cost are functions taking them)."""
    from resnet_cli.experiments import flow, noise, success_rate

    groups = (tls.TeacherSettings, tls.StepSettings, tls.OutcomeSettings, tls.SizeSettings, tls.SampleSettings,
              tls.TheoremSettings, flow.FlowSettings, noise.NoiseSettings, exp.TrainSettings, exp.LandscapeSettings,
              success_rate.SuccessSettings)
    for cls in groups:
        own = {name for name, value in vars(cls).items()
               if not name.startswith("__") and (callable(value) or isinstance(value, property))}
        assert own <= {"check"}, (cls.__name__, own)
        assert cls.__dataclass_params__.frozen, cls.__name__
    with pytest.raises(dataclasses.FrozenInstanceError):
        exp.TrainSettings().k = 5
