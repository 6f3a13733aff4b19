"""The gradient flow of the two-layer population loss (resnet_cli/models/two_layer/flow.py) against its oracles:
the GD step it discretises, finite differences for its Jacobian, GD with shrinking steps, and the closed-form
critical points (global (v*, a*), spurious (−v*, ā))."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import gd_states, optim
from resnet_cli.models.two_layer import population as tl
from resnet_cli.models.two_layer import flow as fl


def problem(seed: int, n: int = 12, p: int = 6, k: int = 4):
    rng = np.random.default_rng(seed)
    v_star = tl.sample_sphere(rng, n, p)
    a_star = rng.standard_normal((n, k))
    v0 = tl.sample_sphere(rng, n, p)
    a0 = tl.sample_ball(rng, n, k, np.abs(a_star.sum(axis=1)) / math.sqrt(k))
    return v_star, a_star, v0, a0


def test_velocity_is_the_limit_of_one_gd_step():
    v_star, a_star, v0, a0 = problem(0)
    state = optim.PlaneState(v0, a0, v_star, a_star)
    flow = fl.FlowProblem.from_plane(state)
    y0 = fl.initial_point(state)
    eta_a, rho = 1e-7, 0.3
    state.step(np.full(len(y0), eta_a), np.full(len(y0), rho * eta_a))
    finite_step = (fl.initial_point(state) - y0) / eta_a
    assert np.allclose(finite_step, fl.velocity(y0, flow, rho), rtol=1e-5, atol=1e-6)


def test_jacobian_matches_finite_differences():
    v_star, a_star, v0, a0 = problem(1)
    state = optim.PlaneState(v0, a0, v_star, a_star)
    flow = fl.FlowProblem.from_plane(state)
    y = fl.initial_point(state)
    y[:, 1:] += np.random.default_rng(2).standard_normal((len(y), 3))
    J = fl.jacobian(y, flow, 0.7)
    h = 1e-6
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        column = (fl.velocity(y + e, flow, 0.7) - fl.velocity(y - e, flow, 0.7)) / (2 * h)
        assert np.allclose(J[:, :, j], column, rtol=1e-6, atol=1e-7)


def test_gd_tends_to_the_flow_as_the_step_shrinks():
    """GD with every step size × h and every step count × 1/h ends within O(h) of the flow's end point."""
    v_star, a_star, v0, a0 = problem(3, n=40)
    n, k = a_star.shape
    eta_a, eta_w, eta = np.full(n, 0.01), np.full(n, 0.05), np.full(n, 0.05)
    t1, t2 = 100, 200
    state = optim.PlaneState(v0, a0, v_star, a_star)
    end = fl.integrate(fl.initial_point(state), fl.FlowProblem.from_plane(state),
                       [(t1 * eta_a, eta_w / eta_a), (t2 * eta, np.ones(n))], rtol=1e-11, atol=1e-13)
    assert end.success
    errors = []
    for h in (1.0, 0.25, 0.0625):
        gd = optim.PlaneState(v0, a0, v_star, a_star)
        for _ in range(round(t1 / h)):
            gd.step(h * eta_a, h * eta_w)
        for _ in range(round(t2 / h)):
            gd.step(h * eta, h * eta)
        errors.append(np.abs(fl.initial_point(gd) - end.y).max())
    assert errors[0] > 1e-4  # the comparison is not trivially satisfied
    assert errors[1] < 0.4 * errors[0] and errors[2] < 0.4 * errors[1]  # first order: ratio ≈ 1/4


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA", "RK45"])
def test_solvers_agree(method):
    v_star, a_star, v0, a0 = problem(4)
    n = len(a_star)
    state = optim.PlaneState(v0, a0, v_star, a_star)
    stages = [(np.full(n, 1.0), np.full(n, 0.1)), (np.full(n, 3.0), np.ones(n))]
    args = (fl.initial_point(state), fl.FlowProblem.from_plane(state), stages)
    reference = fl.integrate(*args, method="DOP853", rtol=1e-12, atol=1e-14).y
    assert np.allclose(fl.integrate(*args, method=method, rtol=1e-9, atol=1e-11).y, reference, atol=1e-6)


def test_newton_lands_on_the_closed_form_critical_points():
    v_star, a_star, v0, a0 = problem(5, n=20)
    state = optim.PlaneState(v0, a0, v_star, a_star)
    flow = fl.FlowProblem.from_plane(state)
    y = fl.initial_point(state)
    near_global = y.copy()
    near_global[:, 0] = 0.05 * np.sign(y[:, 0])
    # c = (0, 0, 1) is a = a*: start a little off it.
    near_global[:, 1:] = [0.01, 0.02, 0.97]
    near_spurious = near_global.copy()
    near_spurious[:, 0] = np.sign(y[:, 0]) * (math.pi - 0.05)
    spurious_a = tl.spurious_optimum(v_star, a_star)[1]  # ā = M⁻¹N(π)a* ∈ span{1, a*}
    for start, (target_phi, target_a) in ((near_global, (0.0, a_star)), (near_spurious, (math.pi, spurious_a))):
        end, residual, _ = fl.newton_fixed_point(start, flow)
        assert np.all(residual < 1e-12)
        assert np.allclose(np.abs(end[:, 0]), target_phi, atol=1e-6)
        _, a = fl.plane_vectors(end, v_star, state.normal, state.basis)
        assert np.allclose(a, target_a, atol=1e-8)


def test_rotated_cos_sin_stay_on_the_angle():
    """The plane step rotates (cos θ, sin θ) by the angle it subtracts from θ instead of recomputing them: after
    20,000 steps through both stages they are still cos θ and sin θ to rounding (θ ≈ π itself moves by up to
    half an ulp of π, 2.2e-16, a step: 20,000 steps allow 4.4e-12), and the iterates are those of the vector
    representation (v, a as full vectors)."""
    v_star, a_star, v0, a0 = problem(6, n=200, p=8, k=9)
    n = len(a_star)
    eta_a, eta_w = np.full(n, 0.02), np.full(n, 0.2)
    plane, vector = optim.PlaneState(v0, a0, v_star, a_star), optim.VectorState(v0, a0, v_star, a_star)
    for t in range(20_000):
        for state in (plane, vector):
            state.step(eta_a, eta_w) if t < 500 else state.step(np.full(n, 0.05), np.full(n, 0.05))
    assert np.abs(plane.cs - [np.cos(plane.theta), np.sin(plane.theta)]).max() < 20_000 * 2.2e-16
    assert np.abs(plane.cs).max() > 0.5  # not trivially satisfied
    v_plane, a_plane = plane.vectors()
    assert np.abs(v_plane - vector.v).max() < 1e-10 and np.abs(a_plane - vector.a).max() < 1e-10
    spread = np.abs(plane.theta)
    assert spread.min() < 0.01 and spread.max() > 3.0  # both basins are reached: global and spurious rows


def test_a_few_trials_plane_step_gives_the_batch_rows_bit_for_bit():
    """A state of up to `FEW_ROWS` trials steps row by row in Python floats (`PlaneState._step_rows`, numpy's
    call overhead being most of such a step): every trial run alone or in a few keeps the bits it has as a row
    of the batch, through both stages, step sizes from tiny to divergent, θ wrapping past ±π, and rows that
    overflow to inf or NaN."""
    v_star, a_star, v0, a0 = problem(7, n=40, p=5, k=3)
    n = len(a_star)
    stage1 = np.logspace(-3, 0, n), np.logspace(-3, 3, n)[::-1].copy()
    stage2 = np.logspace(-2, 1.5, n), np.logspace(-2, 1.5, n)
    groups = [slice(i, i + 1) for i in range(n)] + [slice(i, i + gd_states.FEW_ROWS) for i in range(0, n, gd_states.FEW_ROWS)]
    assert gd_states.FEW_ROWS < n
    states = [optim.PlaneState(v0, a0, v_star, a_star)] + [optim.PlaneState(v0[g], a0[g], v_star[g], a_star[g]) for g in groups]
    wraps = np.zeros(n, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(300):
            before = states[0].theta
            for state, rows in zip(states, [slice(None)] + groups):
                state.step(*(eta[rows] for eta in (stage1 if t < 100 else stage2)))
            wraps |= np.abs(states[0].theta - before) > math.pi
    for state, rows in zip(states[1:], groups):
        for name in ("theta", "coef", "cs"):
            assert np.array_equal(getattr(state, name), getattr(states[0], name)[..., rows], equal_nan=True), (rows, name)
    finite = np.isfinite(states[0].coef).all(axis=0)
    assert wraps.any() and finite.any() and not finite.all()  # every path of the step was taken


def test_a_plane_state_of_no_rows_or_with_scalar_step_sizes_steps_as_before():
    """The row-by-row path takes only 1 to `FEW_ROWS` rows with one step size per row: a state of no trials
    steps (nothing to do) and step sizes given as numbers broadcast, as the numpy program always did."""
    v_star, a_star, v0, a0 = problem(3, n=3)
    empty = optim.PlaneState(v0[:0], a0[:0], v_star[:0], a_star[:0])
    empty.step(np.zeros(0), np.zeros(0))
    assert empty.theta.shape == (0,) and empty.coef.shape == (3, 0)
    numbers, arrays = optim.PlaneState(v0, a0, v_star, a_star), optim.PlaneState(v0, a0, v_star, a_star)
    for _ in range(50):
        numbers.step(0.05, 0.2)
        arrays.step(np.full(3, 0.05), np.full(3, 0.2))
    assert all(np.array_equal(getattr(numbers, name), getattr(arrays, name)) for name in ("theta", "coef", "cs"))


def test_a_row_lost_to_overflow_leaves_the_other_rows_as_they_are_alone():
    """A row whose step sizes overflow it at once (NaN) kept every other row of its batch from wrapping θ
    past ±π until the driver dropped it (|θ| reached 6.98 here, and 4 of 39 rows differed from their runs
    alone): now each row wraps on its own, in the batch's numpy program and row by row."""
    v_star, a_star, v0, a0 = problem(7, n=40, p=5, k=3)
    n = len(a_star)
    eta_a, eta_w = np.full(n, 0.05), np.logspace(-1, 3, n)
    eta_a[0] = eta_w[0] = 1e300  # row 0: lost at the first step
    few = slice(0, gd_states.FEW_ROWS)
    batch, rows = optim.PlaneState(v0, a0, v_star, a_star), optim.PlaneState(v0[few], a0[few], v_star[few], a_star[few])
    alone = [optim.PlaneState(v0[i:i + 1], a0[i:i + 1], v_star[i:i + 1], a_star[i:i + 1]) for i in range(1, n)]
    wraps = np.zeros(n, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(200):
            before = batch.theta
            batch.step(eta_a, eta_w)
            rows.step(eta_a[few], eta_w[few])
            for i, state in enumerate(alone, start=1):
                state.step(eta_a[i:i + 1], eta_w[i:i + 1])
            wraps |= np.abs(batch.theta - before) > math.pi
    assert np.isnan(batch.theta[0]) and wraps[1:].sum() >= 3
    assert np.abs(batch.theta[1:]).max() <= math.pi
    theta_alone = np.concatenate([state.theta for state in alone])
    assert np.array_equal(batch.theta[1:], theta_alone)
    assert np.array_equal(rows.theta, batch.theta[few], equal_nan=True)


@pytest.mark.parametrize("method", ["BDF", "RK45"])
def test_a_solver_that_gives_up_is_a_result_not_a_crash(method, monkeypatch):
    """Step sizes like 1e300 make the flow's stages astronomically long: BDF's Newton matrix is singular (scipy
    raised "Factor is exactly singular") and RK45 takes tiny steps without end. Either way `integrate` returns
    an unsuccessful result with the solver's reason, the state unknown (NaN), and Newton leaves such rows alone."""
    v_star, a_star, v0, a0 = problem(5)
    n = len(a_star)
    state = optim.PlaneState(v0, a0, v_star, a_star)
    flow = fl.FlowProblem.from_plane(state)
    monkeypatch.setattr(fl, "MAX_STAGE_STEPS", 2000)
    stages = [(np.full(n, 1e300), np.full(n, 1.0))]
    result = fl.integrate(fl.initial_point(state), flow, stages, method=method)
    assert not result.success and result.message
    assert np.isnan(result.y).all()
    if method == "RK45":
        assert "more than 2,000 steps" in result.message
    y, residual, used = fl.newton_fixed_point(result.y, flow)
    assert np.isnan(residual).all() and (used == 0).all()
    ordinary = fl.integrate(fl.initial_point(state), flow, [(np.full(n, 1.0), np.full(n, 1.0))], method=method)
    assert ordinary.success and np.isfinite(ordinary.y).all()


def test_the_flow_at_a_step_size_of_1e300_ends_with_a_result(cli):
    """`train two-layer --flow --lr 1e300` ended in "internal error: RuntimeError: Factor is exactly singular"."""
    r = cli("train", "two-layer", "--quiet", "--steps", "50", "--stage1-steps", "1", "--flow", "--lr", "1e300")
    assert r.code == 0, r.stderr
    assert "outcomes: diverged 1" in r.stdout and "the flow solver gave up (BDF failed: " in r.stdout
    r = cli("success-rate", "--quiet", "--trials", "2", "--steps", "30", "--stage1-steps", "1", "--k", "4",
            "--method", "resnet-ssw-flow", "--lr", "1e300")
    assert r.code == 0, r.stderr
    assert "the flow solver gave up on resnet-ssw-flow at p = 8, k = 4 (BDF failed: " in " ".join(r.stdout.split())
