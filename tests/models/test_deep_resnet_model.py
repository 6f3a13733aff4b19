"""Oracles for the Yun et al. 2019 engine: finite differences, numpy.linalg.lstsq, closed forms."""

import numpy as np
import pytest

from resnet_cli.models import clarke
from resnet_cli.models import deep_resnet as dr
from resnet_cli import data


def _columns(dataset):
    """The engine's convention: samples as columns."""
    return dataset.X.T, dataset.Y.T


def _fd_grad(risk, theta, eps=1e-6):
    P = theta.size
    E = np.eye(P)
    return np.array([(risk(theta + eps * E[i]) - risk(theta - eps * E[i])) / (2 * eps) for i in range(P)])


def _fd_hessian(grad, theta, eps=1e-6):
    P = theta.size
    E = np.eye(P)
    H = np.array([(grad(theta + eps * E[i]) - grad(theta - eps * E[i])) / (2 * eps) for i in range(P)])
    return 0.5 * (H + H.T)


def _cases():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(3, 9)), rng.normal(size=(2, 9))
    for bias in (True, False):
        rs = dr.ResNetShape(d_in=3, width=4, hidden=2, blocks=3, d_out=2, bias=bias)
        fs = dr.FCShape(d_in=3, width=3, layers=2, d_out=2, bias=bias)
        yield "resnet", bias, rs, dr.resnet_init(rs, rng, 1, X)[0], X, Y
        yield "fc", bias, fs, dr.fc_init(fs, rng, 1, X)[0], X, Y


FUNCS = {
    "resnet": (dr.resnet_risk, dr.resnet_risk_grad, dr.resnet_hessian),
    "fc": (dr.fc_risk, dr.fc_risk_grad, dr.fc_hessian),
}


@pytest.mark.parametrize("case", list(_cases()), ids=lambda c: f"{c[0]}-bias{c[1]}")
def test_gradient_and_hessian_match_finite_differences(case):
    kind, _, shape, theta, X, Y = case
    risk_fn, grad_fn, hess_fn = FUNCS[kind]
    risk = lambda th: float(risk_fn(shape, th[None], X, Y)[0])  # noqa: E731
    grad = lambda th: grad_fn(shape, th[None], X, Y)[1][0]  # noqa: E731
    r, g = grad_fn(shape, theta[None], X, Y)
    assert r[0] == pytest.approx(risk(theta), rel=1e-12)
    np.testing.assert_allclose(g[0], _fd_grad(risk, theta), atol=1e-6, rtol=1e-5)
    H = hess_fn(shape, theta, X, Y)
    assert H.shape == (shape.n_params, shape.n_params)
    np.testing.assert_allclose(H, _fd_hessian(grad, theta), atol=1e-5, rtol=1e-5)


def test_batched_gradient_equals_single():
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(2, 5)), rng.normal(size=(1, 5))
    shape = dr.ResNetShape(2, 2, 3, 2, 1)
    thetas = dr.resnet_init(shape, rng, 4, X)
    r, g = dr.resnet_risk_grad(shape, thetas, X, Y)
    for b in range(4):
        rb, gb = dr.resnet_risk_grad(shape, thetas[b : b + 1], X, Y)
        np.testing.assert_allclose(g[b], gb[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("bias", [True, False])
def test_best_linear_predictor_matches_lstsq(bias):
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(4, 30)), rng.normal(size=(3, 30))
    fit = dr.best_linear_predictor(X, Y, bias=bias)
    design = np.vstack([X, np.ones((1, 30))]) if bias else X
    coef, *_ = np.linalg.lstsq(design.T, Y.T, rcond=None)
    pred = (design.T @ coef).T
    assert fit.risk == pytest.approx(np.sum((pred - Y) ** 2) / 30, rel=1e-10)
    np.testing.assert_allclose(fit.A, coef[:4].T, atol=1e-10)
    if bias:
        np.testing.assert_allclose(fit.c, coef[4], atol=1e-10)


def test_best_linear_predictor_rank_deficient_matches_lstsq():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(2, 20))
    X = np.vstack([base, base[0] + base[1]])  # rank 2 in R^3
    Y = rng.normal(size=(1, 20))
    fit = dr.best_linear_predictor(X, Y, bias=True)
    design = np.vstack([X, np.ones((1, 20))])
    coef, *_ = np.linalg.lstsq(design.T, Y.T, rcond=None)
    assert fit.risk == pytest.approx(np.sum((design.T @ coef - Y.T) ** 2) / 20, rel=1e-9)


@pytest.mark.parametrize("bias", [True, False])
def test_resnet_with_zero_V_is_its_readout_linear_predictor(bias):
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(3, 12)), rng.normal(size=(2, 12))
    shape = dr.ResNetShape(3, 5, 2, 3, 2, bias=bias)  # wider stream: h_0 = [x; 0]
    theta = dr.resnet_init(shape, rng, 1, X)[0]
    p = dr.unpack(shape.spec(), theta[None])
    for layer in range(1, 4):
        p[f"V{layer}"][...] = 0.0
    W = p["W"][0]
    c = p["c"][0] if bias else np.zeros(2)
    readout = W[:, :3] @ X + c[:, None]
    expected = np.sum((readout - Y) ** 2) / 12
    assert dr.resnet_risk(shape, theta[None], X, Y)[0] == pytest.approx(expected, rel=1e-12)
    # ... and at the best read-out the ResNet attains exactly the best linear risk
    fit = dr.best_linear_predictor(X, Y, bias=bias)
    W[...] = 0.0
    W[:, :3] = fit.A
    if bias:
        p["c"][0][...] = fit.c
    assert dr.resnet_risk(shape, theta[None], X, Y)[0] == pytest.approx(fit.risk, rel=1e-10)


def test_example1_linear_risk_is_the_papers_8_rho2_over_15():
    for rho in (0.1, 0.5, 2.0):
        X, Y = _columns(data.yun_example1(rho))
        assert dr.best_linear_predictor(X, Y).risk == pytest.approx(data.example1_linear_risk(rho), rel=1e-12)
    for rho in (0.1, 0.5, 1.0):  # the paper's ResNet point is strictly better than linear for small rho
        assert data.example1_paper_resnet_risk(rho) < data.example1_linear_risk(rho)


def test_per_block_risks_and_block_norms():
    X, Y = _columns(data.yun_example2())
    shape = dr.ResNetShape(1, 1, 1, 2, 1)
    theta = dr.resnet_init(shape, np.random.default_rng(6), 1, X)[0]
    pb = dr.per_block_risks(shape, theta, X, Y)
    assert pb.shape == (3,)
    assert pb[0] == pytest.approx(dr.best_linear_predictor(X, Y).risk)
    hs = dr.resnet_block_outputs(shape, theta[None], X)
    assert pb[2] == pytest.approx(dr.best_linear_predictor(hs[2][0], Y).risk)
    p = dr.unpack(shape.spec(), theta[None])
    norms = dr.block_norms(shape, theta[None])[0]
    assert norms[0] == pytest.approx(abs(p["U1"][0, 0, 0] * p["V1"][0, 0, 0]))


@pytest.mark.parametrize("slack", [0.0, 3e-12, -3e-12])
def test_a_block_that_collapses_x_to_a_constant_has_per_block_risk_var_y(slack):
    # h_1 = x + V σ(U x + b) with V U = −1 (all samples on the active side) is constant; Newton stops with
    # V U = −1 + O(1e-12), and the best read-out of h_1 must not fit Y on that residue (it gave 0.3213)
    X, Y = _columns(data.yun_example2())  # x = 1, 2.5, 3: Var(Y) = 2/3, R_lin = 25/78
    shape = dr.ResNetShape(1, 1, 1, 1, 1)
    U = -2.0
    theta = np.array([U, 7.0, (-1.0 + slack) / U, 1e-13, 2.0])  # U1, b1, V1, W, c
    pb = dr.per_block_risks(shape, theta, X, Y)
    assert pb[0] == pytest.approx(25 / 78, rel=1e-12)
    assert pb[1] == pytest.approx(2 / 3, rel=1e-12)
    # a spread well above the rank tolerance is still a feature
    theta[2] = (-1.0 + 1e-4) / U
    assert dr.per_block_risks(shape, theta, X, Y)[1] == pytest.approx(25 / 78, rel=1e-9)


def test_near_identity_init_has_the_requested_block_norm_sum():
    X = np.random.default_rng(7).normal(size=(3, 10))
    for L in (1, 4, 8):
        shape = dr.ResNetShape(3, 3, 2, L, 1)
        theta = dr.resnet_init(shape, np.random.default_rng(8), 5, X, mode="near-identity", scale=0.3)
        np.testing.assert_allclose(dr.block_norms(shape, theta).sum(axis=1), 0.3, rtol=1e-10)


def test_matched_fc_width_is_the_papers_one_node_net_for_example1():
    shape = dr.ResNetShape(1, 1, 1, 1, 1)
    assert shape.n_params == 5
    assert dr.matched_fc_width(shape) == 1
    big = dr.ResNetShape(10, 10, 4, 2, 10)
    w = dr.matched_fc_width(big)
    assert dr.FCShape(10, w, 2, 10).n_params <= big.n_params < dr.FCShape(10, w + 1, 2, 10).n_params


def test_min_norm_subgradient_at_a_kink():
    # one-block ResNet on example 1 with the kink exactly on the sample x = 2
    X, Y = _columns(data.yun_example1(0.5))
    shape = dr.ResNetShape(1, 1, 1, 1, 1)
    theta = np.array([[-2.0, 4.0, -0.1, 1.1, -0.2]])  # U, b, V, W, c: z = 4 - 2x, zero at x = 2
    rg = lambda th, masks=None: dr.resnet_risk_grad(shape, th, X, Y, masks)  # noqa: E731
    pre = lambda th: dr.resnet_preactivations(shape, th, X)  # noqa: E731
    _, g = rg(theta)
    d, norm, kinks = clarke.min_norm_subgradient(rg, pre, theta, g)
    assert kinks[0] == 1
    # the direction is the min-norm point of the segment between the two one-sided gradients
    zero_side = rg(theta, [np.array([[[1.0, 1.0, 0.0, 0.0, 0.0, 0.0]]])])[1][0]
    one_side = rg(theta, [np.array([[[1.0, 1.0, 1.0, 0.0, 0.0, 0.0]]])])[1][0]
    ts = np.linspace(0, 1, 20001)
    seg = np.linalg.norm(zero_side[None] + ts[:, None] * (one_side - zero_side)[None], axis=1)
    assert norm[0] == pytest.approx(seg.min(), rel=1e-6)
    assert norm[0] <= np.linalg.norm(g[0]) + 1e-15
    # away from kinks it is the gradient
    theta2 = np.array([[-2.0, 4.5, -0.1, 1.1, -0.2]])
    _, g2 = rg(theta2)
    d2, _, k2 = clarke.min_norm_subgradient(rg, pre, theta2, g2)
    assert k2[0] == 0 and np.array_equal(d2, g2)


def test_box_least_squares_against_projected_gradient():
    rng = np.random.default_rng(3)
    for _ in range(40):
        n, P = int(rng.integers(1, 6)), int(rng.integers(6, 10))
        D, g0 = rng.normal(size=(n, P)), 2 * rng.normal(size=P)
        s = clarke.box_least_squares(D, g0)
        assert np.all((s >= 0) & (s <= 1))
        Q, q = D @ D.T, D @ g0
        L = np.linalg.eigvalsh(Q).max()
        x = np.zeros(n)
        for _ in range(5000):
            x = np.clip(x - (Q @ x + q) / L, 0, 1)
        assert np.linalg.norm(g0 + D.T @ s) <= np.linalg.norm(g0 + D.T @ x) + 1e-9
