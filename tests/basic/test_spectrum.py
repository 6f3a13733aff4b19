"""Eigenvalue statistics (docs/hessian.md) and Lanczos / stochastic Lanczos quadrature."""

import numpy as np
import pytest

from resnet_cli.spectrum import (INDEX_TOLERANCES, ZERO_TOLERANCE, density_stats, index_by_tolerance, lanczos, slq,
                                 spectrum_stats, weighted_quantile)


def test_stats_on_a_hand_made_matrix():
    # eigenvalues chosen by hand: -4, -1, 0, 0.5, 1, 2, 3, 5, 8, 10 (a zero among them)
    lam = np.array([-4.0, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0])
    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((10, 10)))[0]
    H = (Q * lam) @ Q.T
    s = spectrum_stats(np.linalg.eigvalsh(H))
    mags = np.sort(np.abs(lam))  # 0, .5, 1, 1, 2, 3, 4, 5, 8, 10
    p10 = mags[0] + 0.9 * (mags[1] - mags[0])  # linear interpolation at rank 0.9
    assert s.abs_max == pytest.approx(10.0)
    assert s.abs_p10 == pytest.approx(p10, abs=1e-12)
    assert s.cond10 == pytest.approx(10.0 / p10, rel=1e-10)
    assert s.cond == np.inf  # a zero eigenvalue (|λ| < 1e-12 |λ|max after rounding)
    assert s.index == pytest.approx(0.2)  # two negatives out of ten; the zero is not negative
    assert s.lambda_min == pytest.approx(-4.0) and s.lambda_max == pytest.approx(10.0)
    assert not s.zero_matrix and not s.approximate


def test_stats_tiny_negative_is_zero_and_true_cond():
    lam = np.array([-1e-15, 2.0, 4.0, -0.5])
    s = spectrum_stats(lam)
    assert s.index == pytest.approx(0.25)  # -1e-15 is below 1e-12 * 4: counted as zero
    assert s.cond == np.inf
    s = spectrum_stats(np.array([-2.0, 1.0, 4.0]))
    assert s.cond == pytest.approx(4.0) and s.index == pytest.approx(1 / 3)


def test_index_by_tolerance_moves_only_with_the_eigenvalues_between_the_tolerances():
    # |λ|max = 2: λ = −1e-11 is below −1e-12·2 but not below −1e-10·2; −1e-9 is below −1e-10·2, not −1e-8·2
    lam = np.array([-1.0, -1e-9, -1e-11, -1e-14, 0.0, 3e-11, 2.0, 1.5])
    by = index_by_tolerance(lam)
    assert INDEX_TOLERANCES[0] == ZERO_TOLERANCE and list(by) == ["1e-12", "1e-10", "1e-8"]
    assert by == {"1e-12": 3 / 8, "1e-10": 2 / 8, "1e-8": 1 / 8}
    assert by["1e-12"] == spectrum_stats(lam).index  # the first one is the index itself
    assert spectrum_stats(lam).index_by_tolerance == by  # and the exact statistics carry them
    assert index_by_tolerance(np.zeros(4)) == {"1e-12": 0.0, "1e-10": 0.0, "1e-8": 0.0}


def test_zero_matrix_is_reported_as_such():
    s = spectrum_stats(np.zeros(12))
    assert s.zero_matrix and s.abs_max == 0.0 and s.index == 0.0
    assert np.isnan(s.cond10) and np.isnan(s.cond)


def test_weighted_quantile_matches_numpy_for_equal_weights():
    v = np.random.default_rng(1).standard_normal(37)
    for q in (0.0, 0.1, 0.5, 0.93, 1.0):
        assert weighted_quantile(v, np.ones_like(v), q) == pytest.approx(np.percentile(v, 100 * q), abs=1e-12)


def random_symmetric(n, seed):
    A = np.random.default_rng(seed).standard_normal((n, n))
    return (A + A.T) / 2


def test_lanczos_quadrature_is_exact_for_low_degree_polynomials():
    """Gauss quadrature with k nodes integrates polynomials of degree < 2k exactly: Σ τ² θ^p = uᵀ H^p u."""
    H = random_symmetric(60, 2)
    v = np.random.default_rng(3).standard_normal((2, 60))
    steps = 6
    res = lanczos(lambda X: X @ H, v, steps)
    for probe in range(2):
        theta, vecs = np.linalg.eigh(res.tridiagonal(probe))
        tau2 = vecs[0] ** 2
        u = v[probe] / np.linalg.norm(v[probe])
        for p in range(2 * steps):
            exact = u @ np.linalg.matrix_power(H, p) @ u
            assert np.sum(tau2 * theta**p) == pytest.approx(exact, rel=1e-8, abs=1e-8)


def test_full_lanczos_recovers_the_spectrum_and_breaks_down_cleanly():
    H = random_symmetric(40, 4)
    v = np.random.default_rng(5).standard_normal((1, 40))
    res = lanczos(lambda X: X @ H, v, 40)
    np.testing.assert_allclose(np.linalg.eigvalsh(res.tridiagonal(0)), np.linalg.eigvalsh(H), atol=1e-10)
    # rank-2 matrix: the Krylov space is invariant after 2 steps (3 with the zero eigenvalue)
    u = np.random.default_rng(6).standard_normal((40, 2))
    low = u @ np.diag([3.0, -1.0]) @ u.T
    res = lanczos(lambda X: X @ low, v, 20)
    assert res.steps[0] <= 3
    theta = np.linalg.eigvalsh(res.tridiagonal(0))
    exact = np.linalg.eigvalsh(low)
    assert theta.max() == pytest.approx(exact.max(), rel=1e-9) and theta.min() == pytest.approx(exact.min(), rel=1e-9)


def test_slq_statistics_close_to_exact():
    lam = np.concatenate([np.linspace(-2, -0.5, 100), np.linspace(0.1, 5, 300)])
    Q = np.linalg.qr(np.random.default_rng(7).standard_normal((400, 400)))[0]
    H = (Q * lam) @ Q.T
    nodes, weights = slq(lambda X: X @ H, 400, 40, 20, np.random.default_rng(8))
    assert weights.sum() == pytest.approx(1.0)
    approx, exact = density_stats(nodes, weights, 400), spectrum_stats(lam)
    assert approx.approximate
    assert approx.abs_max == pytest.approx(exact.abs_max, rel=1e-4)
    assert approx.lambda_min == pytest.approx(-2.0, rel=1e-4)
    assert approx.index == pytest.approx(exact.index, abs=0.06)
    assert approx.abs_p10 == pytest.approx(exact.abs_p10, rel=0.5)
    zero = density_stats(*slq(lambda X: 0 * X, 30, 10, 3, np.random.default_rng(0)), 30)
    assert zero.zero_matrix
