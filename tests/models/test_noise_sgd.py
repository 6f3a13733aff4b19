"""Perturbed minibatch SGD (models/two_layer/noise.py on samples.SampleState, Zhou et al. 2019): one step
against the update written out with the same draws and the same minibatch, σ0 = 0 = plain SGD bit for bit,
the same seed the same numbers, compaction-free streams, and the noise's variance against the law (Monte
Carlo, the annealing written out by hand)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import noise as nz, optim, population as tl, samples as ts
from resnet_cli.models.two_layer import states
from noise_checks import assert_frozen_rows_keep_their_streams, assert_noisy_step, assert_seeded, assert_zero_noise_is_plain

CRITERIA = optim.Criteria(0.05, 0.05, math.pi / 4)


def _problem(seed: int, n: int = 10, p: int = 5, k: int = 4, samples: int = 24):
    rng = np.random.default_rng(seed)
    v_star, a_star = tl.sample_sphere(rng, n, p), rng.standard_normal((n, k))
    v0, a0 = tl.sample_sphere(rng, n, p), rng.standard_normal((n, k))
    return v0, a0, v_star, a_star, rng, samples


def _factory(problem, batch=4):
    v0, a0, v_star, a_star, rng, samples = problem
    return states.state_factories(copy.deepcopy(rng), v_star, a_star, samples=samples, batch=batch)[0]


@pytest.mark.parametrize("on", ["w", "a", "both"])
def test_one_sgd_step_is_the_update_written_out(on):
    """v ← (v − η_w(∇_w L̂_B + σ0‖a*‖²ξ))/‖·‖, a ← a − η_a(∇_a L̂_B + σ0‖a*‖ζ) on the step's minibatch B, with ξ
    then ζ drawn as p × n, k × n from the noise generator (the population path's convention)."""
    problem = _problem(1)
    v0, a0, v_star, a_star, _, _ = problem
    n = v0.shape[0]
    noise = nz.Noise(0.7, "exponential", 2.0, on, horizon=10)
    noisy = nz.noisy_state(noise, np.random.default_rng(5), _factory(problem))(v0, a0, v_star, a_star)
    plain = _factory(problem)(v0, a0, v_star, a_star)  # the same data and sampling generators
    grad_v, grad_a = plain.gradients(*plain._batch())
    eta_a, eta_w = np.full(n, 0.03), np.full(n, 0.2)
    noisy.step(eta_a, eta_w)
    assert_noisy_step(noisy, v0, a0, a_star, grad_v, grad_a, eta_w, eta_a, on, seed=5, size=0.7)


def _run(noise, seed=3, stop=False, steps=300, batch=4, problem=0):
    made = _problem(problem)
    v0, a0, v_star, a_star, _, _ = made
    n = len(v0)
    sched = optim.Schedule("large-w", np.full(n, 0.02), np.full(n, 0.0), np.full(n, 0.1), 50)
    rep = _factory(made, batch) if noise is None else nz.noisy_state(noise, np.random.default_rng(seed),
                                                                      _factory(made, batch))
    return optim.run_gd(v0, a0, v_star, a_star, sched, steps, CRITERIA, trace_points=[0, 100, steps],
                        stop_when_global=stop, representation=rep)


def test_zero_noise_is_plain_sgd_exactly():
    assert_zero_noise_is_plain(_run, [nz.Noise(0.0, kind, 3.0, on, horizon=300)
                                      for on in nz.TARGETS for kind in nz.ANNEALS])


def test_same_seed_same_numbers_other_seed_other_numbers():
    assert_seeded(_run, nz.Noise(1.0, "exponential", 5.0, "both", horizon=300))


def test_a_row_noise_does_not_depend_on_frozen_rows():
    assert_frozen_rows_keep_their_streams(_run, nz.Noise(0.2, "exponential", 8.0, "w", horizon=2000), steps=2000)


def test_noise_variance_matches_the_law_monte_carlo():
    """ξ_t ~ N(0, (σ_t‖a*‖²)² I_p), ζ_t ~ N(0, (σ_t‖a*‖)² I_k), σ_t = σ0 e^{−r t/T} written out: the sample
    variance over 6000 rows × p (resp. k) of the added noise, per unit, at t = 0, T/2, T − 1, is 1 within 5
    standard errors (sd of a sample variance of m normals: √(2/m)); the mean is 0 within 5/√m."""
    rng = np.random.default_rng(8)
    n, p, k, horizon, size, rate = 6000, 6, 3, 40, 0.8, 2.5
    a_star = rng.standard_normal((n, k))
    norm2 = np.sum(a_star**2, axis=1)
    z = nz.Perturbation(nz.Noise(size, "exponential", rate, "both", horizon), np.random.default_rng(9), a_star)
    for t in range(horizon):
        z.advance()
        xi, zeta = z.add(np.zeros((n, p)), np.zeros((n, k)))
        if t not in (0, horizon // 2, horizon - 1):
            continue
        sigma = size * math.exp(-rate * t / horizon)
        for draws in (xi / (sigma * norm2[:, None]), zeta / (sigma * np.sqrt(norm2)[:, None])):
            m = draws.size
            assert abs(draws.mean()) < 5 / math.sqrt(m)
            assert abs(draws.var() - 1.0) < 5 * math.sqrt(2.0 / m)


def test_sgd_step_a_noise_variance_monte_carlo():
    """Through the SGD step itself: the a-update is linear, so (a_noisy − a_plain)/(−η_a) is ζ_0 exactly; its
    sample variance per unit (σ0‖a*‖)² is 1 within 5 standard errors."""
    problem = _problem(4, n=3000, p=4, k=3, samples=16)
    v0, a0, v_star, a_star, _, _ = problem
    n = len(v0)
    noisy = nz.noisy_state(nz.Noise(1.5, "polynomial", 4.0, "a", 100), np.random.default_rng(2), _factory(problem))(
        v0, a0, v_star, a_star)
    plain = _factory(problem)(v0, a0, v_star, a_star)
    eta = np.full(n, 0.05)
    noisy.step(eta, eta)
    plain.step(eta, eta)
    np.testing.assert_array_equal(noisy.v, plain.v)  # on = "a": the filter's step is plain SGD's
    zeta = (noisy.a - plain.a) / (-eta[:, None]) / (1.5 * np.linalg.norm(a_star, axis=1)[:, None])
    assert abs(zeta.var() - 1.0) < 5 * math.sqrt(2.0 / zeta.size) + 1e-6
    assert abs(zeta.mean()) < 5 / math.sqrt(zeta.size)


def test_a_population_state_factory_takes_no_sgd_noise():
    v0, a0, v_star, a_star, _, _ = _problem(0)
    make = nz.perturbed(lambda v, a, vs, ast: ts.StrideState(v, a, vs, ast, 2), nz.Noise(1.0), np.random.default_rng(0))
    with pytest.raises(ValueError):
        make(v0, a0, v_star, a_star)
