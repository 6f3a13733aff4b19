"""Checks shared by the perturbed-GD (test_noise.py) and perturbed-SGD (test_noise_sgd.py) tests: `run(noise,
seed=…)` is either file's runner, returning an optim result with v, a and a phi trace."""

from __future__ import annotations

import numpy as np


def assert_zero_noise_is_plain(run, laws) -> None:
    """Every law in `laws` with σ0 = 0 gives the noiseless run bit for bit."""
    plain = run(None)
    for noise in laws:
        quiet = run(noise)
        assert np.array_equal(quiet.v, plain.v) and np.array_equal(quiet.a, plain.a)
        assert all(np.array_equal(x, y) for x, y in zip(quiet.trace["phi"], plain.trace["phi"]))


def assert_seeded(run, noise) -> None:
    """Same seed, same numbers; another seed, other numbers; and the noise moves the run."""
    one, again, other = run(noise, seed=3), run(noise, seed=3), run(noise, seed=4)
    assert np.array_equal(one.v, again.v) and np.array_equal(one.a, again.a)
    assert not np.allclose(one.v, other.v)
    assert not np.allclose(one.v, run(None).v)


def assert_frozen_rows_keep_their_streams(run, noise, steps: int) -> None:
    """Rows frozen early (stop_when_global) leave the others' random streams as they were: the rows still
    running at the end are those of the run without early stops, to rounding (compacted arrays sum in
    another order)."""
    full, stopped = run(noise, stop=False, steps=steps), run(noise, stop=True, steps=steps)
    running = stopped.iterations == steps
    assert 0 < running.sum() < running.size  # some rows froze, some did not
    np.testing.assert_allclose(stopped.v[running], full.v[running], atol=1e-9)


def assert_noisy_step(state, v0, a0, a_star, grad_v, grad_a, eta_w, eta_a, on: str, seed: int, size: float) -> None:
    """`state` after one step equals the update written out: v ← normalize(v0 − η_w (∇_v + σ‖a*‖² ξ)),
    a ← a0 − η_a (∇_a + σ‖a*‖ ζ), ξ and ζ the next draws of default_rng(seed) (ξ first, per unit then trial)."""
    n, p, k = v0.shape[0], v0.shape[1], a0.shape[1]
    draws = np.random.default_rng(seed)
    norm2 = np.sum(a_star**2, axis=1)
    xi = draws.standard_normal((p, n)).T if on != "a" else 0.0
    zeta = draws.standard_normal((k, n)).T if on != "w" else 0.0
    u = v0 - eta_w[:, None] * (grad_v + size * norm2[:, None] * xi)
    np.testing.assert_allclose(state.v, u / np.linalg.norm(u, axis=1, keepdims=True), rtol=0, atol=1e-12)
    np.testing.assert_allclose(state.a, a0 - eta_a[:, None] * (grad_a + size * np.sqrt(norm2)[:, None] * zeta),
                               rtol=0, atol=1e-12)
