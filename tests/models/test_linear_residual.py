"""Deep linear residual nets (Hardt & Ma 2017) against oracles: the risk against a plain forward pass, the
gradient and the exact Hessian against central finite differences, the optimum against numpy's least
squares, and the critical-point structure against the algebra of Theorem 2.2."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli.models import linear_residual as lr


def _data(d=3, m=25, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, d))
    Y = X @ (np.eye(d) + 0.4 * rng.standard_normal((d, d))).T + 0.1 * rng.standard_normal((m, d))
    return X, Y, lr.moments(X, Y)


def test_risk_is_the_mean_squared_error_of_the_forward_pass():
    X, Y, mom = _data()
    theta = np.random.default_rng(1).standard_normal((3, 3 * 9))
    for b in range(3):
        h = X.T.copy()
        for A in lr.unpack(theta, 3)[b]:
            h = h + A @ h  # h_j = h_{j-1} + A_j h_{j-1}
        assert lr.risk(theta, mom)[b] == pytest.approx(np.mean(np.sum((h.T - Y) ** 2, axis=1)), rel=1e-12)


@pytest.mark.parametrize("blocks", [1, 2, 4])
def test_gradient_and_hessian_match_finite_differences(blocks):
    X, Y, mom = _data()
    P = blocks * 9
    theta = 0.6 * np.random.default_rng(blocks).standard_normal((2, P))
    R, g = lr.risk_grad(theta, mom)
    H = lr.hessian(theta, mom)
    h = 1e-6
    E = np.eye(P)
    for b in range(2):
        g_fd = np.array([(lr.risk(theta[b] + h * e, mom)[0] - lr.risk(theta[b] - h * e, mom)[0]) / (2 * h) for e in E])
        H_fd = np.stack([(lr.risk_grad(theta[b] + h * e, mom)[1][0] - lr.risk_grad(theta[b] - h * e, mom)[1][0]) / (2 * h)
                         for e in E])
        scale = 1.0 + np.abs(H[b]).max()
        assert np.abs(g_fd - g[b]).max() < 1e-6 * scale
        assert np.abs(H_fd - H[b]).max() < 1e-6 * scale
        assert np.array_equal(H[b], H[b].T)


def test_optimum_is_least_squares_and_reached_by_a_product():
    X, Y, mom = _data(d=4, m=40, seed=3)
    best = lr.least_squares(mom)
    M, *_ = np.linalg.lstsq(X, Y, rcond=None)  # Y ≈ X M, so the map is Mᵀ
    assert np.allclose(best.matrix, M.T, atol=1e-10)
    assert best.risk == pytest.approx(np.mean(np.sum((X @ M - Y) ** 2, axis=1)), rel=1e-9)
    A = lr.equal_factors(best.matrix, 3)  # a global minimum with equal layers: (I + A)³ = M
    assert A is not None
    theta = np.tile(A.ravel(), 3)[None]
    assert lr.risk(theta, mom)[0] == pytest.approx(best.risk, rel=1e-9)
    assert np.linalg.norm(lr.risk_grad(theta, mom)[1]) < 1e-9
    assert lr.equal_factors(np.diag([-1.0, 1.0, 1.0, 1.0]), 2) is None  # det < 0: no product near identity


def test_a_non_global_critical_point_needs_a_singular_factor():
    """A_1 = A_2 = −I (radius 1): every gradient (2) has a zero factor, the risk is tr S_yy > R*."""
    X, Y, mom = _data()
    theta = np.concatenate([-np.eye(3).ravel(), -np.eye(3).ravel(), np.zeros(9)])[None]
    R, g = lr.risk_grad(theta, mom)
    assert np.abs(g).max() == 0.0
    assert R[0] == pytest.approx(mom.syy_trace) and R[0] > lr.least_squares(mom).risk + 1.0
    assert lr.radius(theta, 3)[0] == pytest.approx(1.0) and lr.min_singular(theta, 3)[0] == pytest.approx(0.0)


def test_finder_from_near_identity_ends_at_global_minima_and_saddles_lie_outside():
    X, Y, mom = _data(d=3, m=30, seed=5)
    best = lr.least_squares(mom)
    rng = np.random.default_rng(0)
    starts = lr.starts_at(rng, [0.1, 1.5, 2.0], 6, 3, 2)
    assert np.allclose(lr.radius(starts, 3), np.repeat([0.1, 1.5, 2.0], 6))
    found = lr.find_critical_points(starts, mom, damping=10.0)
    assert found.converged.all()
    assert np.all(found.grad_norm < 1e-10)
    gap = found.risk - best.risk
    radius = lr.radius(found.theta, 3)
    inside = radius < 1
    assert inside[:6].all()  # the near-identity starts end inside the region ...
    assert np.all(gap[inside] < 1e-9)  # ... at global minima (Theorem 2.2)
    nonglobal = gap > 1e-9
    assert nonglobal.any()  # the starts beyond it also find non-global critical points ...
    assert np.all(radius[nonglobal] >= 1.0) and np.all(lr.min_singular(found.theta[nonglobal], 3) < 1e-6)
