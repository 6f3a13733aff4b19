"""The block-triangular pattern derivatives (resnet_cli/models/critical_points/pattern.py) against two oracles:
the dense forward-over-reverse the finder used before (tests/models/dense_pattern_reference.py) to 1e-10
relative, and central finite differences of the gradient (Hessian) and of the pre-activations (∂z/∂θ), at
random points with random fractional slopes D (the pattern network a = D ⊙ z)."""

from __future__ import annotations

import numpy as np
import pytest
from dense_pattern_reference import dense_fc_pattern, dense_resnet_pattern

from resnet_cli.models import critical_points as cp
from resnet_cli.models import deep_resnet as dr

SHAPES = [dr.ResNetShape(3, 4, 2, 3, 2), dr.ResNetShape(2, 2, 1, 4, 1, bias=False),
          dr.FCShape(3, 3, 3, 2), dr.FCShape(2, 2, 2, 1, bias=False)]


def case(shape, seed: int, fractional: bool):
    rng = np.random.default_rng(seed)
    m = 5
    X, Y = rng.normal(size=(shape.d_in, m)), rng.normal(size=(shape.d_out, m))
    pr = cp.Problem(shape, X, Y)
    theta = rng.normal(size=(3, shape.n_params))
    D = [rng.uniform(size=z.shape) for z in pr.preactivations(theta)] if fractional else None
    return pr, theta, D


def rel(a, b) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("fractional", [False, True])
def test_equals_the_dense_path(shape, fractional):
    pr, theta, D = case(shape, 0, fractional)
    dense = dense_resnet_pattern if pr.network == "resnet" else dense_fc_pattern
    risk, grad, hess, dz = dense(shape, theta, pr.X, pr.Y, D)
    der = cp.pattern_derivatives(pr, theta, D)
    assert rel(der.risk, risk) < 1e-12 and rel(der.grad, grad) < 1e-12
    assert rel(der.hess, hess) < 1e-10
    for layer, (new, old) in enumerate(zip(der.dz, dz)):
        Q = new.shape[-1]
        assert rel(new, np.moveaxis(old[:, :Q], 1, -1)) < 1e-12
        assert not old[:, Q:].any()  # the parameters above layer l do not move z_l: no tangent is dropped
    only = cp.pattern_gradient(pr, theta, D)
    assert only.hess is None and rel(only.grad, grad) < 1e-12


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: type(s).__name__)
def test_hessian_and_dz_by_finite_differences(shape):
    pr, theta, D = case(shape, 1, True)
    der = cp.pattern_derivatives(pr, theta[:1], [d[:1] for d in D])
    P, h = shape.n_params, 1e-5
    fd_H, fd_dz = np.zeros((P, P)), []
    for q in range(P):
        e = np.zeros(P)
        e[q] = h
        plus, minus = theta[0] + e, theta[0] - e
        D1 = [d[:1] for d in D]
        g = lambda th: cp.pattern_gradient(pr, th[None], D1).grad[0]  # noqa: E731
        fd_H[:, q] = (g(plus) - g(minus)) / (2 * h)
        zp, zm = cp.pattern_gradient(pr, plus[None], D1).z, cp.pattern_gradient(pr, minus[None], D1).z
        fd_dz.append([(a[0] - b[0]) / (2 * h) for a, b in zip(zp, zm)])
    assert rel(der.hess[0], fd_H) < 1e-7
    for layer, z in enumerate(der.z):
        for j in range(z.shape[1]):
            for i in range(z.shape[2]):
                fd = np.array([fd_dz[q][layer][j, i] for q in range(P)])
                np.testing.assert_allclose(der.dz_row(0, layer, j, i), fd, atol=1e-7)


def test_finder_end_points_are_critical_for_the_dense_path():
    """One LM run on a small ResNet whose kinks appear on the way: every accepted point is a point where
    the pattern gradient and Hessian equal the dense path's (the finder consumes nothing else)."""
    rng = np.random.default_rng(2)
    shape = dr.ResNetShape(2, 2, 1, 3, 1)
    X, Y = rng.normal(size=(2, 12)), rng.normal(size=(1, 12))
    pr = cp.Problem(shape, X, Y)
    res = cp.find_critical_points(pr, dr.resnet_init(shape, rng, 4, X), max_iter=200)
    assert res.converged.any()
    for b in np.flatnonzero(res.converged):
        z = [zl[0] for zl in pr.preactivations(res.theta[b][None])]
        D = [d[None] for d in cp.pattern_with(z, res.kinks[b], res.weights[b])]
        _, grad, hess, _ = dense_resnet_pattern(shape, res.theta[b][None], X, Y, D)
        assert np.linalg.norm(grad[0]) < 1e-9  # the dense path agrees the point is critical
        assert rel(cp.pattern_derivatives(pr, res.theta[b][None], D).hess[0], hess[0]) < 1e-10
