"""What the two-layer settings stand for, as functions of the engine with explicit arguments: the teacher and
initialization draws (population.py) against their laws, the schedules (optim.py) against Theorems 1 and 2,
Theorem 1's hypotheses (theorems.py) and the GD states by gradient source (states.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import optim, population as tl, samples as ts, states, theorems as th


def test_prior_teachers_lie_in_the_cap_and_fill_it():
    """v* uniform on the cap angle(v*, e) ≤ θ: unit rows, none beyond θ; the share within θ/2 is the cap-area
    ratio ∫₀^{θ/2} sin^{p−2} / ∫₀^θ sin^{p−2} (Monte Carlo against quadrature)."""
    p, n, cap = 5, 20000, 40.0
    v_star, a_star = tl.draw_teachers(np.random.default_rng(0), n, p, 3, v_law="prior", prior_angle=cap)
    np.testing.assert_allclose(np.linalg.norm(v_star, axis=1), 1.0, atol=1e-12)
    angle = np.degrees(tl.angle(v_star, tl.unit_e(p)))
    assert angle.max() <= cap + 1e-9
    t = np.linspace(0.0, math.radians(cap), 4001)
    density = np.sin(t) ** (p - 2)
    half = np.trapezoid(density[:2001], t[:2001]) / np.trapezoid(density, t)
    assert abs(np.mean(angle <= cap / 2) - half) < 4 * math.sqrt(half * (1 - half) / n)
    assert a_star.shape == (n, 3) and abs(a_star.var() - 1.0) < 0.03  # N(0, I_k)


def test_sphere_uniform_and_ones_teachers():
    v_star, a_star = tl.draw_teachers(np.random.default_rng(1), 20000, 4, 2, v_law="sphere", a_law="uniform")
    assert np.abs(v_star.mean(axis=0)).max() < 0.02  # uniform on S³: mean 0, E[v_i²] = 1/p
    np.testing.assert_allclose((v_star**2).mean(axis=0), 0.25, atol=0.01)
    assert np.abs(a_star).max() <= 1.0 and abs(a_star.var() - 1.0 / 3.0) < 0.01  # U[−1, 1]: variance 1/3
    _, ones = tl.draw_teachers(np.random.default_rng(1), 3, 4, 2, v_law="sphere", a_law="ones")
    np.testing.assert_array_equal(ones, np.ones((3, 2)))
    assert tl.teacher_v_law(None, "resnet") == "prior" and tl.teacher_v_law(None, "cnn") == "sphere"
    assert tl.teacher_v_law("sphere", "resnet") == "sphere"


def test_inits_resnet_at_e_and_a0_uniform_in_its_ball():
    """w0 = 0 (v0 = e) for the shortcut student; a0 uniform in the ball of radius |1ᵀa*|/√k (Theorem 1): inside
    it, and P(‖a0‖ ≤ r/2) = 2^−k."""
    n, p, k = 20000, 6, 3
    rng = np.random.default_rng(2)
    v_star, a_star = tl.draw_teachers(rng, n, p, k)
    v0, a0 = tl.draw_inits(rng, "resnet", v_star, a_star)
    np.testing.assert_array_equal(v0, np.tile(tl.unit_e(p), (n, 1)))
    ratio = np.linalg.norm(a0, axis=1) / (np.abs(a_star.sum(axis=1)) / math.sqrt(k))
    assert ratio.max() <= 1.0 + 1e-12
    assert abs(np.mean(ratio <= 0.5) - 0.5**k) < 4 * math.sqrt(0.5**k * (1 - 0.5**k) / n)
    cnn_v0, _ = tl.draw_inits(rng, "cnn", v_star, a_star)
    np.testing.assert_allclose(np.linalg.norm(cnn_v0, axis=1), 1.0, atol=1e-12)


def test_schedule_defaults_are_the_theorems_and_options_replace_them():
    a_star = np.random.default_rng(3).standard_normal((4, 9))
    k, norm2 = 9, np.sum(a_star**2, axis=1)
    eta_a = math.pi / (20 * (k + math.pi - 1) ** 2)  # Theorem 1
    sched = optim.schedule_of("ssw", a_star)
    np.testing.assert_allclose(sched.eta_a, eta_a, rtol=1e-15)
    np.testing.assert_allclose(sched.eta_w, norm2 * eta_a**2, rtol=1e-15)  # C‖a*‖²η_a², C = 1
    np.testing.assert_allclose(sched.eta, np.minimum(1 / (2 * norm2), 5 * math.pi**2 / (4 * (k + math.pi - 1) ** 2)))
    assert sched.stage1_iterations == math.ceil(1 / eta_a) == optim.stage1_length(k)
    given = optim.schedule_of("ssw", a_star, lr_a=0.01, lr_w=0.002, lr=0.3, c_lr_w=5.0, stage1_steps=7)
    assert given.stage1_iterations == 7 and optim.stage1_length(k, None, 0.01) == 100
    np.testing.assert_array_equal(np.stack([given.eta_a, given.eta_w, given.eta]), [[0.01] * 4, [0.002] * 4, [0.3] * 4])
    np.testing.assert_allclose(optim.schedule_of("ssw", a_star, c_lr_w=5.0).eta_w, 5 * norm2 * eta_a**2, rtol=1e-15)
    both = optim.schedule_of("large-both", a_star)  # η on a and w from the first step
    assert both.at(0)[0].tolist() == both.eta.tolist() and both.at(0)[1].tolist() == both.eta.tolist()
    assert optim.window_points(5, 4) == [] and optim.window_points(0, 300)[:2] == [0, 100]


@pytest.mark.parametrize("run, reasons", [
    ({}, None),
    ({"student": "cnn", "v_law": "sphere"}, "no shortcut; no skip-layer prior"),
    ({"schedule": "layerwise"}, "η_w = 0 in stage I"),
    ({"schedule": "large-both", "steps_set": True}, "no warm-up; step sizes set"),
    ({"c_lr_w": 0.0, "prior_angle": 61.0}, "C = 0; no skip-layer prior"),
    ({"sampled": True, "overlapping": True}, "samples, not the population loss; overlapping patches"),
])
def test_theorem1_hypotheses_named_one_by_one(run, reasons):
    student, schedule = run.pop("student", "resnet"), run.pop("schedule", "ssw")
    assert th.theorem1_outside(student, schedule, **run) == reasons


def test_states_by_gradient_source():
    """Population at s = p: the plane state; at s < p: the stride state; samples: one draw of data shared by
    every copy, each with its own copy of the trials' Generators (the same SGD stream)."""
    v_star, a_star = tl.draw_teachers(np.random.default_rng(4), 3, 4, 2)
    assert states.state_factories(None, v_star, a_star, 2) == ["plane", "plane"]
    (stride,) = states.state_factories(None, v_star, a_star, stride=2)
    assert isinstance(stride(v_star, a_star, v_star, a_star), ts.StrideState)
    made = [f(v_star, a_star, v_star, a_star) for f in
            states.state_factories(np.random.default_rng(5), v_star, a_star, 2, samples=10, batch=3)]
    assert all(isinstance(m, ts.SampleState) for m in made) and made[0].x is made[1].x
    assert [g.random() for g in made[0].rngs] == [g.random() for g in made[1].rngs]
    assert [states.per_step(), states.per_step(10), states.per_step(10, 3), states.per_step(online=True),
            states.per_step(batch=4, online=True)] == [0, 10, 3, 1, 4]
