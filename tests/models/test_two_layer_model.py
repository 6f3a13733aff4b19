"""The two-layer engine of Liu et al. 2019 against independent oracles: Monte Carlo, finite differences,
dense-matrix formulas, the cubic expansion at the spurious point, and a trial-by-trial loop."""

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import optim
from resnet_cli.models.two_layer import population as tl

PI = math.pi


def dense_M(k):
    return ((PI - 1) * np.eye(k) + np.ones((k, k))) / (2 * PI)


def dense_N(phi, k):
    g = (math.sin(phi) + (PI - phi) * math.cos(phi)) / (2 * PI)
    return g * np.eye(k) + (np.ones((k, k)) - np.eye(k)) / (2 * PI)


def random_point(rng, p, k):
    v_star = tl.sample_sphere(rng, 1, p)[0]
    return v_star, rng.standard_normal(k), rng.standard_normal(p), rng.standard_normal(k)


@pytest.mark.parametrize("p,k", [(8, 5), (3, 2)])
def test_closed_form_loss_matches_monte_carlo(p, k):
    rng = np.random.default_rng(11)
    v_star, a_star, v, a = random_point(rng, p, k)
    n = 400_000
    z = rng.standard_normal((n, k, p))
    err = (np.maximum(z @ v_star, 0) @ a_star - np.maximum(z @ (v / np.linalg.norm(v)), 0) @ a) ** 2
    mc, se = err.mean(), err.std() / math.sqrt(n)
    closed = float(tl.population_loss(v, a, v_star, a_star))
    assert abs(closed - mc) < 4 * se, (closed, mc, se)
    assert se < 0.01 * closed  # the sample is large enough for the check to mean something


def test_closed_form_equals_dense_matrix_formula():
    rng = np.random.default_rng(2)
    v_star, a_star, v, a = random_point(rng, 6, 7)
    phi = float(tl.angle(v, v_star))
    M, N = dense_M(7), dense_N(phi, 7)
    expected = a_star @ M @ a_star - 2 * a @ N @ a_star + a @ M @ a
    assert float(tl.population_loss(v, a, v_star, a_star)) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("p,k", [(8, 5), (3, 1), (12, 9)])
@pytest.mark.parametrize("student", ["resnet", "cnn"])
def test_gradients_and_hessian_match_finite_differences(p, k, student):
    rng = np.random.default_rng(p * 100 + k)
    v_star, a_star, _, a = random_point(rng, p, k)
    offset = tl.unit_e(p) if student == "resnet" else 0.0
    w = 0.6 * rng.standard_normal(p)
    x = np.concatenate([w, a])
    h = 1e-5
    eye = np.eye(p + k)

    def loss(x):
        return float(tl.loss_w(x[:p], x[p:], v_star, a_star, offset))

    def grad(x):
        return np.concatenate(tl.gradient_w(x[:p], x[p:], v_star, a_star, offset))

    fd_grad = np.array([(loss(x + h * e) - loss(x - h * e)) / (2 * h) for e in eye])
    np.testing.assert_allclose(grad(x), fd_grad, atol=1e-8)
    fd_hess = np.array([(grad(x + h * e) - grad(x - h * e)) / (2 * h) for e in eye])
    hess = tl.hessian_w(w, a, v_star, a_star, offset)
    np.testing.assert_allclose(hess, fd_hess, atol=1e-7)
    np.testing.assert_allclose(hess, hess.T, atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 5])
def test_critical_points_and_spurious_loss(seed):
    rng = np.random.default_rng(seed)
    p, k = 8, 6
    v_star, a_star = tl.draw_teachers(rng, 1, p, k)
    v_star, a_star = v_star[0], a_star[0]
    for v, a in (tl.global_optimum(v_star, a_star), tl.spurious_optimum(v_star, a_star)):
        gv, ga = tl.gradients(v, a, v_star, a_star)
        assert np.abs(gv).max() < 1e-13 and np.abs(ga).max() < 1e-13
    v_bar, a_bar = tl.spurious_optimum(v_star, a_star)
    ones = np.ones((k, k))
    expected_a = np.linalg.solve(ones + (PI - 1) * np.eye(k), (ones - np.eye(k)) @ a_star)
    np.testing.assert_allclose(a_bar, expected_a, atol=1e-13)
    np.testing.assert_allclose(v_bar, -v_star)
    M, N = dense_M(k), dense_N(PI, k)
    expected = a_star @ M @ a_star - 2 * expected_a @ N @ a_star + expected_a @ M @ expected_a
    assert float(tl.population_loss(v_bar, a_bar, v_star, a_star)) == pytest.approx(expected, rel=1e-12)
    assert float(tl.population_loss(v_star, a_star, v_star, a_star)) == pytest.approx(0.0, abs=1e-12)


def test_profile_loss_is_the_minimum_over_a():
    rng = np.random.default_rng(4)
    k = 5
    a_star = rng.standard_normal(k)
    for phi in (0.0, 0.7, 2.0, PI):
        M, N = dense_M(k), dense_N(phi, k)
        a_opt = np.linalg.solve(M, N @ a_star)
        expected = a_star @ M @ a_star - 2 * a_opt @ N @ a_star + a_opt @ M @ a_opt
        assert float(tl.profile_loss(phi, a_star)) == pytest.approx(expected, rel=1e-12, abs=1e-13)
        np.testing.assert_allclose(tl.optimal_a(np.array(phi), a_star), a_opt, atol=1e-12)


def test_cap_sampler_is_uniform_on_the_cap():
    rng = np.random.default_rng(0)
    e = tl.unit_e(3)
    v = tl.sample_cap(rng, 40_000, 3, e, PI / 3)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    ang = np.arccos(np.clip(v @ e, -1, 1))
    assert ang.max() <= PI / 3 + 1e-12
    # On S², cap area ∝ 1 − cos θ: P(θ ≤ 30° | θ ≤ 60°) = (1 − cos 30°)/(1 − cos 60°) = 0.268.
    share = np.mean(ang <= PI / 6)
    assert abs(share - (1 - math.cos(PI / 6)) / 0.5) < 0.012


def test_ball_sampler_radius():
    rng = np.random.default_rng(0)
    x = tl.sample_ball(rng, 5000, 4, np.full(5000, 2.0))
    r = np.linalg.norm(x, axis=1)
    assert r.max() <= 2.0 and abs(np.mean(r <= 1.0) - 0.5**4) < 0.01


CRITERIA = optim.Criteria(1e-2, 1e-2, math.pi / 4)  # the default --phi-tol, --a-tol, --spurious-tol


def _batch(seed, n, k, student="cnn", kind="large-w", p=8):
    """n teachers of the student's default law, their initializations and the schedule `kind` (T1 = 300); 3000 steps."""
    rng = np.random.default_rng(seed)
    vs, ast = tl.draw_teachers(rng, n, p, k, v_law=tl.teacher_v_law(None, student))
    v0, a0 = tl.draw_inits(rng, student, vs, ast)
    return v0, a0, vs, ast, optim.schedule_of(kind, ast, stage1_steps=300), 3000


def test_plane_representation_equals_vector_reference():
    v0, a0, vs, ast, sched, steps = _batch(3, 12, 9)
    runs = [
        optim.run_gd(v0, a0, vs, ast, sched, steps, CRITERIA, representation=r, trace_points=[0, 1000, 3000])
        for r in ("vector", "plane")
    ]
    np.testing.assert_allclose(runs[0].v, runs[1].v, atol=1e-10)
    np.testing.assert_allclose(runs[0].a, runs[1].a, atol=1e-10)
    for key in runs[0].final:
        np.testing.assert_allclose(runs[0].final[key], runs[1].final[key], atol=1e-10)
    assert list(runs[0].outcome) == list(runs[1].outcome)
    assert {"global", "spurious"} <= set(runs[0].outcome)  # both basins are exercised


@pytest.mark.parametrize("representation", ["plane", "vector"])
def test_batched_equals_trial_by_trial(representation):
    v0, a0, vs, ast, sched, steps = _batch(5, 6, 4)
    crit = CRITERIA
    batch = optim.run_gd(v0, a0, vs, ast, sched, steps, crit, representation=representation, stop_when_global=True)
    for i in range(6):
        one = optim.run_gd(
            v0[i : i + 1], a0[i : i + 1], vs[i : i + 1], ast[i : i + 1], sched.take(np.array([i])), steps, crit,
            representation=representation, stop_when_global=True,
        )
        np.testing.assert_allclose(batch.v[i], one.v[0], atol=1e-12, rtol=0)
        np.testing.assert_allclose(batch.a[i], one.a[0], atol=1e-12, rtol=0)
        assert batch.outcome[i] == one.outcome[0] and batch.iterations[i] == one.iterations[0]


def test_trace_points_off_the_check_grid_are_recorded():
    """Trace points that are not multiples of the check period still get a record (the driver's callback
    then runs every step), and tracing does not change the run."""
    v0, a0, vs, ast, sched, steps = _batch(2, 5, 4)
    crit = CRITERIA
    traced = optim.run_gd(v0, a0, vs, ast, sched, 400, crit, trace_points=[0, 7, 150, 400])
    plain = optim.run_gd(v0, a0, vs, ast, sched, 400, crit)
    assert traced.trace_iterations == [0, 7, 150, 400]
    np.testing.assert_array_equal(traced.v, plain.v)
    np.testing.assert_array_equal(traced.a, plain.a)


def test_population_losses_never_round_below_zero_at_the_optimum():
    """At v = v*, a = a* the three terms of L cancel and rounded to −1.4e-14 in the CSV of `train two-layer`;
    an expected square is never negative (the closed form, the stride form and the linear-network form)."""
    from resnet_cli.models.shortcut.network import linear_loss_of_map, optimal_linear_map, second_moments
    from resnet_cli.models.two_layer.population import population_loss
    from resnet_cli.models.two_layer.samples import stride_population_loss

    rng = np.random.default_rng(3)
    for _ in range(50):
        p, k = int(rng.integers(2, 9)), int(rng.integers(1, 101))
        v, a = rng.standard_normal(p), rng.standard_normal(k) * 10
        assert population_loss(v, a, v, a) >= 0.0
        assert stride_population_loss(v, a, v, a, p) >= 0.0
        X, Y = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))  # one sample: an exact fit
        moments = second_moments(X, Y)
        assert linear_loss_of_map(optimal_linear_map(moments), moments) >= 0.0
