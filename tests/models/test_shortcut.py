"""n-shortcut networks (Li et al. 2017): every formula against an independent oracle.

Oracles: central finite differences (gradients, Hessians), Theorem 1 (the Hessian at zero), least squares
(L_min), per-sample sums (second-moment formulas), one-at-a-time runs (batched gradient descent).
"""

import zlib

import numpy as np
import pytest

from resnet_cli.errors import ConfigError
from resnet_cli.models import shortcut as sc
from resnet_cli.models.shortcut import curvature
from resnet_cli.spectrum import spectrum_stats

D = 3
M = 14


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((M, D))
    Y = X @ rng.standard_normal((D, D)) * 0.7 + 0.3 * rng.standard_normal((M, D))
    return X, Y


def fd_gradient(net, W, X, Y, h=1e-6):
    w = sc.flatten(W, net)
    g = np.zeros_like(w)
    for p in range(w.size):
        e = np.zeros_like(w)
        e[p] = h
        g[p] = (sc.loss(net, sc.unflatten(w + e, net), X, Y) - sc.loss(net, sc.unflatten(w - e, net), X, Y)) / (2 * h)
    return g


def fd_hessian(net, W, X, Y, h=1e-5):
    """Central differences of the (backprop) gradient, column by column."""
    w = sc.flatten(W, net)
    P = w.size
    E = np.eye(P) * h
    plus = sc.loss_and_gradient(net, sc.unflatten(w + E, net), X, Y)[1]
    minus = sc.loss_and_gradient(net, sc.unflatten(w - E, net), X, Y)[1]
    return (sc.flatten(plus, net) - sc.flatten(minus, net)).T / (2 * h)


DEPTH_FOR = {0: 4, 1: 3, 2: 4, 3: 6}
PLACEMENTS = {
    "linear": ("identity", "identity", "identity"),
    "tanh-pre": ("tanh", "identity", "identity"),
    "tanh-mid": ("identity", "tanh", "identity"),
    "tanh-post": ("identity", "identity", "tanh"),
    "tanh-all": ("tanh", "tanh", "tanh"),
    "relu-mid": ("identity", "relu", "identity"),
}


@pytest.mark.parametrize("shortcut", [0, 1, 2, 3])
@pytest.mark.parametrize("init", sc.INITS)
@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_exact_hessian_equals_finite_differences(data, shortcut, init, placement):
    X, Y = data
    if placement == "relu-mid" and init == "zero":
        pytest.skip("ReLU is not differentiable at the zero point (covered by the Theorem 1 tests)")
    pre, mid, post = PLACEMENTS[placement]
    net = sc.make_network(shortcut, DEPTH_FOR[shortcut], D, act_pre=pre, act_mid=mid, act_post=post)
    rng = np.random.default_rng(zlib.crc32(f"{shortcut}-{init}-{placement}".encode()))  # hash() of str varies per run
    W = sc.init_weights(net, init, rng)
    if init == "small":
        W = W * 30  # keep the curvature well above the finite-difference noise
    H = sc.hessian(net, W, X, Y)
    H_fd = fd_hessian(net, W, X, Y)
    scale = max(1.0, np.abs(H_fd).max())
    assert np.abs(H - H.T).max() <= 1e-12 * scale
    assert np.abs(H - H_fd).max() <= 2e-7 * scale
    # the gradient itself against differences of the loss
    g = sc.flatten(sc.loss_and_gradient(net, W, X, Y)[1], net)
    np.testing.assert_allclose(g, fd_gradient(net, W, X, Y), atol=1e-7 * max(1.0, np.abs(g).max()))


@pytest.mark.parametrize("shortcut", [0, 1, 2, 3])
def test_linear_hessian_two_methods_agree(data, shortcut):
    """Kronecker-block assembly from Σ statistics vs the per-sample tangent method (and its HVPs)."""
    X, Y = data
    net = sc.make_network(shortcut, 2 * DEPTH_FOR[shortcut], D)
    W = sc.init_weights(net, "xavier", np.random.default_rng(shortcut))
    H_sigma = sc.linear_hessian(net, W, sc.second_moments(X, Y))
    H_samples = sc.nonlinear_hessian(net, W, X, Y)
    np.testing.assert_allclose(H_sigma, H_samples, atol=1e-11 * np.abs(H_samples).max())
    V = np.random.default_rng(1).standard_normal((3, net.n_params))
    np.testing.assert_allclose(
        sc.hessian_vector_products(net, W, V, moments=sc.second_moments(X, Y)), V @ H_sigma, atol=1e-10
    )


def test_nonlinear_hvp_and_chunking(data, monkeypatch):
    X, Y = data
    net = sc.make_network(2, 4, D, act_pre="tanh", act_mid="relu", act_post="tanh")
    W = sc.init_weights(net, "xavier", np.random.default_rng(5))
    H = sc.nonlinear_hessian(net, W, X, Y)
    V = np.random.default_rng(6).standard_normal((4, net.n_params))
    np.testing.assert_allclose(sc.hessian_vector_products(net, W, V, X, Y), V @ H, atol=1e-12)
    monkeypatch.setattr(curvature, "TANGENT_BUDGET_BYTES", 1)  # one sample per chunk
    np.testing.assert_allclose(sc.nonlinear_hessian(net, W, X, Y), H, atol=1e-13)


# --- Theorem 1 at w = 0 ---------------------------------------------------------------------------------------


def digits_subset():
    from resnet_cli.data import load_digits

    data = load_digits()
    return data.X[:300], data.Y[:300]


@pytest.mark.parametrize(
    "acts", [("identity",) * 3, ("tanh",) * 3, ("tanh", "identity", "tanh"), ("relu", "identity", "identity")]
)
@pytest.mark.parametrize("units", [1, 3])
def test_theorem1_two_shortcut_eigenvalues(acts, units):
    X, Y = digits_subset()
    net = sc.make_network(2, 2 * units, 10, act_pre=acts[0], act_mid=acts[1], act_post=acts[2])
    H = sc.hessian(net, np.zeros(net.weight_shape), X, Y)
    eig = np.linalg.eigvalsh(H)
    # independent statement of the theorem: ±c·sqrt(eig(AᵀA)), each R·d times
    P = np.tanh(X) if acts[0] == "tanh" else (np.maximum(X, 0) if acts[0] == "relu" else X)
    A = (X - Y).T @ P / X.shape[0]
    roots = np.sqrt(np.clip(np.linalg.eigvalsh(A.T @ A), 0, None))
    expected = np.sort(np.concatenate([np.repeat(roots, units * 10), -np.repeat(roots, units * 10)]))
    assert np.abs(eig - expected).max() <= 1e-10
    pred = sc.theorem1_prediction(net, X, Y)
    assert pred.case == "n=2"
    assert np.abs(H - pred.dense()).max() <= 1e-10
    # condition number √cond(AᵀA), independent of depth
    stats = spectrum_stats(eig)
    assert stats.cond == pytest.approx(roots.max() / roots.min(), rel=1e-9)
    assert stats.index == pytest.approx(0.5)


def test_theorem1_relu_derivative_convention():
    """ReLU'(0) = 0: with ReLU at mid (or post), c = σ'_mid(0)σ'_post(0) = 0 and H = 0 exactly at zero."""
    X, Y = digits_subset()
    net = sc.make_network(2, 4, 10, act_mid="relu")
    H = sc.hessian(net, np.zeros(net.weight_shape), X, Y)
    assert np.count_nonzero(H) == 0
    assert sc.theorem1_prediction(net, X, Y).coefficient == 0.0


@pytest.mark.parametrize("n, units", [(3, 1), (3, 2), (4, 2)])
@pytest.mark.parametrize("acts", [("identity",) * 3, ("tanh",) * 3])
def test_theorem1_hessian_is_zero_for_three_or_more(n, units, acts):
    X, Y = digits_subset()
    net = sc.make_network(n, n * units, 10, act_pre=acts[0], act_mid=acts[1], act_post=acts[2])
    W0 = np.zeros(net.weight_shape)
    H = sc.hessian(net, W0, X, Y)
    assert np.abs(H).max() <= 1e-10
    assert np.abs(sc.flatten(sc.loss_and_gradient(net, W0, X, Y)[1], net)).max() == 0.0
    if units == 1:
        assert spectrum_stats(np.linalg.eigvalsh(H)).zero_matrix


@pytest.mark.parametrize("acts", [("identity",) * 3, ("tanh", "identity", "tanh"), ("tanh", "identity", "identity")])
def test_theorem1_one_shortcut_block_toeplitz(acts):
    X, Y = digits_subset()
    R, d = 4, 10
    net = sc.make_network(1, R, d, act_pre=acts[0], act_post=acts[2])
    H = sc.hessian(net, np.zeros(net.weight_shape), X, Y)
    blocks = H.reshape(R, d * d, R, d * d).transpose(0, 2, 1, 3)
    # Lemma 2 structure: all diagonal blocks equal B, all blocks below the diagonal equal A, above Aᵀ
    B, A = blocks[0, 0], blocks[1, 0]
    for r1 in range(R):
        for r2 in range(R):
            expected = B if r1 == r2 else (A if r1 > r2 else A.T)
            assert np.abs(blocks[r1, r2] - expected).max() <= 1e-10
    if acts == ("identity",) * 3:
        # the paper's closed forms, eqs. (24)-(28): B = I ⊗ Σ_XX; A = B + δ_jk (Σ_XX − Σ_YX)[i,l]
        m = X.shape[0]
        Sxx, Syx = X.T @ X / m, Y.T @ X / m
        eye = np.eye(d)
        B_paper = np.einsum("ik,jl->ijkl", eye, Sxx).reshape(d * d, d * d)
        A_paper = B_paper + np.einsum("jk,il->ijkl", eye, Sxx - Syx).reshape(d * d, d * d)
        assert np.abs(B - B_paper).max() <= 1e-12 and np.abs(A - A_paper).max() <= 1e-12
    pred = sc.theorem1_prediction(net, X, Y)
    assert pred.case == "n=1" and np.abs(H - pred.dense()).max() <= 1e-10
    np.testing.assert_allclose(pred.eigenvalues, np.linalg.eigvalsh(H), atol=1e-10)
    V = np.random.default_rng(0).standard_normal((2, net.n_params))
    np.testing.assert_allclose(pred.matvec(V), V @ H, atol=1e-10)


def test_theorem1_not_for_plain_network():
    X, Y = digits_subset()
    assert sc.theorem1_prediction(sc.make_network(0, 4, 10), X, Y) is None


def test_one_shortcut_condition_grows_two_shortcut_constant():
    """Theorem 1's consequence, as in Figure 5: cond10 flat in depth for n = 2, growing for n = 1."""
    X, Y = digits_subset()
    moments = sc.second_moments(X, Y)
    c2, c1 = [], []
    for depth in (2, 4, 8):
        for n, out in ((2, c2), (1, c1)):
            net = sc.make_network(n, depth, 10)
            out.append(spectrum_stats(np.linalg.eigvalsh(sc.linear_hessian(net, np.zeros(net.weight_shape), moments))).cond10)
    assert max(c2) - min(c2) <= 1e-8 * max(c2)
    assert c1[0] < c1[1] < c1[2]


# --- linear networks from second moments ------------------------------------------------------------------------


@pytest.mark.parametrize("shortcut", [0, 1, 2, 3])
def test_sigma_statistics_equal_per_sample(data, shortcut):
    X, Y = data
    net = sc.make_network(shortcut, DEPTH_FOR[shortcut], D)
    W = sc.init_weights(net, "xavier", np.random.default_rng(3), batch_shape=(2, 3))
    moments = sc.second_moments(X, Y)
    value, grad, M = sc.linear_loss_and_gradient(net, W, moments)
    ref_value, ref_grad = sc.loss_and_gradient(net, W, X, Y)
    np.testing.assert_allclose(value, ref_value, rtol=1e-12)
    np.testing.assert_allclose(grad, ref_grad, atol=1e-12 * np.abs(ref_grad).max())
    np.testing.assert_allclose(sc.linear_loss(net, W, moments), ref_value, rtol=1e-12)
    np.testing.assert_allclose(X @ np.swapaxes(M, -1, -2), sc.forward(net, W, X), atol=1e-12)
    # the compressed data set (d samples) has the same gradient
    Xc, Yc = sc.compressed_data(moments)
    np.testing.assert_allclose(sc.loss_and_gradient(net, W, Xc, Yc)[1], ref_grad, atol=1e-11)


def test_lmin_equals_least_squares(data):
    X, Y = data
    moments = sc.second_moments(X, Y)
    coef, residual, *_ = np.linalg.lstsq(X, Y, rcond=None)
    l_lstsq = 0.5 * np.sum((Y - X @ coef) ** 2) / X.shape[0]
    assert sc.optimal_linear_loss(moments) == pytest.approx(l_lstsq, rel=1e-12)
    np.testing.assert_allclose(sc.optimal_linear_map(moments), coef.T, atol=1e-12)
    # the gap formula: L(M) − L_min without cancellation
    Mrand = np.random.default_rng(0).standard_normal((D, D))
    gap = sc.linear_loss_gap(Mrand, moments)
    assert gap == pytest.approx(0.5 * np.sum((Y - X @ Mrand.T) ** 2) / X.shape[0] - l_lstsq, rel=1e-10)
    # rank-deficient inputs: the generalised inverse still gives the least-squares loss
    Xd = np.column_stack([X[:, 0], X[:, 0], X[:, 1]])
    coef_d, *_ = np.linalg.lstsq(Xd, Y, rcond=None)
    assert sc.optimal_linear_loss(sc.second_moments(Xd, Y)) == pytest.approx(
        0.5 * np.sum((Y - Xd @ coef_d) ** 2) / X.shape[0], rel=1e-10
    )


# --- initialisation and architecture ------------------------------------------------------------------------------


def test_inits():
    net = sc.make_network(2, 4, 6)
    rng = np.random.default_rng(0)
    assert not sc.init_weights(net, "zero", rng).any()
    Q = sc.init_weights(net, "orthogonal", rng, batch_shape=(3,))
    np.testing.assert_allclose(Q @ np.swapaxes(Q, -1, -2), np.broadcast_to(np.eye(6), Q.shape), atol=1e-12)
    big = sc.init_weights(sc.make_network(1, 200, 6), "xavier", rng)
    assert big.std() == pytest.approx(np.sqrt(1 / 6), rel=0.05)
    a = sc.init_weights(net, "small", np.random.default_rng(4))
    b = sc.init_weights(net, "xavier", np.random.default_rng(4))
    np.testing.assert_allclose(a, 0.01 * b)
    with pytest.raises(ConfigError):
        sc.init_weights(net, "he", rng)


def test_make_network_validation():
    assert sc.make_network(2, 8, 10).units == 4
    plain = sc.make_network(0, 5, 10)  # linear plain: any depth
    assert plain.depth == 5 and not plain.shortcut
    assert sc.make_network(0, 6, 10, act_mid="relu").unit_layers == 2
    for args, kwargs in [((2, 5, 10), {}), ((0, 5, 10), {"act_mid": "relu"}), ((2, 0, 10), {}),
                         ((-1, 4, 10), {}), ((2, 4, 10), {"act_pre": "sigmoid"}), ((2, 4, 0), {})]:
        with pytest.raises(ConfigError):
            sc.make_network(*args, **kwargs)


def test_plain_network_groups_activations(data):
    """Appendix B: the plain network has its ReLUs where the 2-shortcut network has them."""
    X, Y = data
    W = sc.init_weights(sc.make_network(2, 4, D), "xavier", np.random.default_rng(2))
    plain = sc.make_network(0, 4, D, act_mid="relu")
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    h = X
    for r in range(2):
        h = relu(h @ W[r, 0].T) @ W[r, 1].T
    np.testing.assert_allclose(sc.forward(plain, W, X), h, atol=1e-12)
    short = sc.make_network(2, 4, D, act_mid="relu")
    h = X
    for r in range(2):
        h = h + relu(h @ W[r, 0].T) @ W[r, 1].T
    np.testing.assert_allclose(sc.forward(short, W, X), h, atol=1e-12)


# --- gradient descent, batched ------------------------------------------------------------------------------------


def test_batched_gd_equals_one_rate_at_a_time():
    from resnet_cli.data import load_digits

    data = load_digits()
    moments = sc.second_moments(data.X, data.Y)
    net = sc.make_network(2, 8, 10)
    lrs = np.array([0.01, 0.1, 0.5, 3.0, 30.0])[:, None]  # 5 rates × 3 runs
    W0 = sc.init_weights(net, "small", np.random.default_rng(7), batch_shape=(1, 3))
    W0 = np.broadcast_to(W0, (5, 3) + net.weight_shape)
    batched = sc.gradient_descent(net, W0, lrs, 60, moments=moments)
    assert batched.losses.shape == (61, 5, 3)
    assert batched.diverged[-1].all() and not batched.diverged[:3].any()  # η = 30 diverges, reported
    assert np.all(np.isinf(batched.losses[-1, -1]))
    for i in range(5):
        for j in range(3):
            single = sc.gradient_descent(net, W0[i, j], float(lrs[i, 0]), 60, moments=moments)
            both = np.isfinite(single.losses)
            np.testing.assert_array_equal(both, np.isfinite(batched.losses[:, i, j]))
            np.testing.assert_allclose(batched.losses[both, i, j], single.losses[both], rtol=1e-12, atol=0)
            np.testing.assert_allclose(batched.weights[i, j], single.weights, rtol=1e-12, atol=1e-15)
            assert batched.diverged_epoch[i, j] == single.diverged_epoch
    # GD decreases the loss for a stable rate, and the gap is the loss minus L_min
    assert batched.losses[-1, 1, 0] < batched.losses[0, 1, 0]
    np.testing.assert_allclose(batched.gaps[:, 1], batched.losses[:, 1] - batched.l_min, atol=1e-12)


def test_gd_linear_matches_per_sample_and_nonlinear_runs(data):
    X, Y = data
    net = sc.make_network(2, 4, D)
    W0 = sc.init_weights(net, "xavier", np.random.default_rng(8))
    a = sc.gradient_descent(net, W0, 0.05, 30, moments=sc.second_moments(X, Y))
    # the same steps taken with per-sample backprop
    W = W0.copy()
    for _ in range(30):
        W = W - 0.05 * sc.loss_and_gradient(net, W, X, Y)[1]
    np.testing.assert_allclose(a.weights, W, atol=1e-12)
    relu_net = sc.make_network(2, 4, D, act_mid="relu")
    b = sc.gradient_descent(relu_net, W0, np.array([0.05, 1e6]), 20, X=X, Y=Y)  # batch of 2 via the rates
    assert b.losses.shape == (21, 2) and b.diverged[1] and not b.diverged[0]
    assert b.losses[-1, 0] < b.losses[0, 0]


@pytest.mark.parametrize("shortcut", [0, 1, 2, 3])
@pytest.mark.parametrize("placement", ["relu-mid", "tanh-all"])
def test_backprop_workspace_batched_equals_per_member_and_finite_differences(data, shortcut, placement):
    """The buffered backprop (one workspace reused across calls, as gradient_descent does) against fresh
    arrays, one member at a time, and central differences of the loss."""
    X, Y = data
    pre, mid, post = PLACEMENTS[placement]
    net = sc.make_network(shortcut, DEPTH_FOR[shortcut], D, act_pre=pre, act_mid=mid, act_post=post)
    rng = np.random.default_rng(zlib.crc32(f"ws-{shortcut}-{placement}".encode()))
    W = sc.init_weights(net, "xavier", rng, batch_shape=(2, 3))
    workspace: dict = {}
    sc.loss_and_gradient(net, W[::-1], X, Y, workspace)  # fill the buffers with other values first
    value, grad = sc.loss_and_gradient(net, W, X, Y, workspace)
    fresh_value, fresh_grad = sc.loss_and_gradient(net, W, X, Y)
    np.testing.assert_array_equal(value, fresh_value)
    np.testing.assert_array_equal(grad, fresh_grad)
    for i in range(2):
        for j in range(3):
            one_value, one_grad = sc.loss_and_gradient(net, W[i, j], X, Y)
            np.testing.assert_allclose(value[i, j], one_value, rtol=1e-14)
            np.testing.assert_allclose(grad[i, j], one_grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sc.flatten(grad[1, 2], net), fd_gradient(net, W[1, 2], X, Y), rtol=1e-6, atol=1e-8)


def test_relu_gd_batched_equals_one_run_at_a_time(data):
    """Batched ReLU GD (rates × runs, buffers reused at every step) equals each member run alone, divergence
    included."""
    X, Y = data
    net = sc.make_network(2, 4, D, act_mid="relu")
    W0 = sc.init_weights(net, "xavier", np.random.default_rng(9), batch_shape=(2,))
    lrs = np.array([0.01, 0.1, 1e5])[:, None]
    batched = sc.gradient_descent(net, W0, lrs, 25, X=X, Y=Y)
    assert batched.diverged[2].all() and not batched.diverged[:2].any()
    for i in range(3):
        for j in range(2):
            single = sc.gradient_descent(net, W0[j], float(lrs[i, 0]), 25, X=X, Y=Y)
            np.testing.assert_array_equal(batched.losses[:, i, j], single.losses)
            np.testing.assert_array_equal(batched.weights[i, j], single.weights)
            if batched.diverged[i, j]:  # left the batch at its divergence: frozen at the epoch before
                epoch = int(batched.diverged_epoch[i, j])
                before = sc.gradient_descent(net, W0[j], float(lrs[i, 0]), epoch - 1, X=X, Y=Y)
                assert epoch >= 1 and not before.diverged
                np.testing.assert_array_equal(batched.weights[i, j], before.weights)
                # the diverged epoch keeps the values that crossed the limit; later epochs are inf / nan
                crossed = batched.losses[epoch, i, j]
                assert not np.isfinite(crossed) or crossed > sc.BLOWUP * max(batched.losses[0, i, j], 1.0)
                assert np.isinf(batched.losses[epoch + 1:, i, j]).all()
                assert np.isnan(batched.grad_norms[epoch + 1:, i, j]).all()
