"""Newton/LM critical-point finder (resnet_cli.models.critical_points): closed-form cases, kinks,
symmetries, export/re-check, and the convergence share from near-identity starts (docs/landscape.md)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from resnet_cli import data
from resnet_cli.models import critical_points as cp
from resnet_cli.models import deep_resnet as dr

RHO = 0.5


def example1():
    """Example 1 of Yun et al. 2019 in the engine's convention (samples as columns) and its R_lin."""
    ds = data.yun_example1(RHO)
    X, Y = ds.X.T, ds.Y.T
    return X, Y, dr.best_linear_predictor(X, Y).risk


# ----------------------------------------------------------------------------------------------------
# An independent implementation: a plain per-sample forward pass and finite differences
# ----------------------------------------------------------------------------------------------------


def plain_forward(network: str, params: dict[str, np.ndarray], x: np.ndarray, n_layers: int,
                  pattern: list[np.ndarray] | None = None, sample: int = 0) -> np.ndarray:
    """f(x) for ONE sample x (d_in,), written out loop by loop; `pattern` freezes the ReLU slopes."""
    def act(z, layer):
        if pattern is None:
            return np.array([max(v, 0.0) for v in z])
        return np.array([pattern[layer][j, sample] * v for j, v in enumerate(z)])

    if network == "resnet":
        width = params["W"].shape[1]
        h = np.concatenate([x, np.zeros(width - x.size)])
        for layer in range(1, n_layers + 1):
            U, V = params[f"U{layer}"], params[f"V{layer}"]
            b = params.get(f"b{layer}", np.zeros(U.shape[0]))
            z = np.array([sum(U[j, q] * h[q] for q in range(h.size)) + b[j] for j in range(U.shape[0])])
            a = act(z, layer - 1)
            h = np.array([h[q] + sum(V[q, j] * a[j] for j in range(a.size)) for q in range(h.size)])
        W, c = params["W"], params.get("c", np.zeros(params["W"].shape[0]))
    else:
        h = x
        for layer in range(1, n_layers + 1):
            Wl = params[f"W{layer}"]
            b = params.get(f"b{layer}", np.zeros(Wl.shape[0]))
            z = np.array([sum(Wl[j, q] * h[q] for q in range(h.size)) + b[j] for j in range(Wl.shape[0])])
            h = act(z, layer - 1)
        W, c = params["W_out"], params.get("c", np.zeros(params["W_out"].shape[0]))
    return np.array([sum(W[e, q] * h[q] for q in range(h.size)) + c[e] for e in range(W.shape[0])])


def plain_risk(record: dict, theta: np.ndarray, pattern=None) -> float:
    """(1/m) Σ_i ‖f(x_i) − y_i‖² from the record's own sizes and data, for a flat θ in the record's layout."""
    pos, params = 0, {}
    order = []  # the record's parameter order = the flat layout (blocks bottom-up, then the read-out)
    for part in list(record["blocks"]) + [record["readout"]]:
        order.extend(part.items())
    for name, item in order:
        size = int(np.prod(item["shape"]))
        params[name] = np.asarray(theta[pos:pos + size], dtype=float).reshape(item["shape"])
        pos += size
    assert pos == theta.size
    X, Y = np.array(record["data"]["X"]), np.array(record["data"]["Y"])
    n_layers = len(record["blocks"])
    m = X.shape[1]
    total = 0.0
    for i in range(m):
        r = plain_forward(record["network"], params, X[:, i], n_layers, pattern, sample=i) - Y[:, i]
        total += float(r @ r)
    return total / m


def fd_grad(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(theta)
    for k in range(theta.size):
        e = np.zeros_like(theta)
        e[k] = h
        g[k] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def fd_hessian(f, theta: np.ndarray, h: float = 1e-4) -> np.ndarray:
    P = theta.size
    H = np.zeros((P, P))
    E = np.eye(P) * h
    for i in range(P):
        for j in range(i, P):
            H[i, j] = H[j, i] = (f(theta + E[i] + E[j]) - f(theta + E[i] - E[j]) - f(theta - E[i] + E[j])
                                 + f(theta - E[i] - E[j])) / (4 * h * h)
    return H


# ----------------------------------------------------------------------------------------------------
# Pattern derivatives = the engine's at σ'(0) = 0
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("network,blocks,units,width", [("resnet", 1, 1, 1), ("resnet", 3, 2, 2), ("fc", 2, 3, 3)])
def test_pattern_derivatives_are_the_engines(network, blocks, units, width):
    X, Y = np.random.default_rng(1).normal(size=(2, 7)), np.random.default_rng(2).normal(size=(1, 7))
    if network == "resnet":
        shape = dr.ResNetShape(2, max(width, 2), units, blocks, 1)
        hess = dr.resnet_hessian
    else:
        shape = dr.FCShape(2, width, blocks, 1)
        hess = dr.fc_hessian
    pr = cp.Problem(shape, X, Y)
    theta = np.random.default_rng(3).normal(size=(4, shape.n_params))
    der = cp.pattern_derivatives(pr, theta)
    risk, grad = pr.risk_grad(theta)
    np.testing.assert_allclose(der.risk, risk, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(der.grad, grad, rtol=1e-12, atol=1e-13)
    for b in range(4):
        np.testing.assert_allclose(der.hess[b], hess(shape, theta[b], X, Y), rtol=1e-12, atol=1e-12)
    # ∂z/∂θ against finite differences of the pre-activations
    k = 1
    fz = lambda th: np.concatenate([z[0].ravel() for z in pr.preactivations(th[None])])  # noqa: E731
    h = 1e-6
    e = np.zeros(shape.n_params)
    e[k] = h
    fd = (fz(theta[0] + e) - fz(theta[0] - e)) / (2 * h)
    an = np.concatenate([[der.dz_row(0, layer, j, i)[k] for j in range(z.shape[1]) for i in range(z.shape[2])]
                         for layer, z in enumerate(der.z)])
    np.testing.assert_allclose(an, fd, atol=1e-7)


# ----------------------------------------------------------------------------------------------------
# A saddle of the one-hidden-unit ResNet, Hessian by hand
# ----------------------------------------------------------------------------------------------------


def hand_saddle_hessian(u: float, b: float, v: float, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """f(x) = w(x + v σ(ux + b)) + c at w = 0, c = ȳ, uv = −1, unit active on every sample (params U, b, V, W, c).

    On the active side f = w(x + v(ux + b)) + c, so with r_i = f_i − y_i = ȳ − y_i (Σ r_i = 0), S = Σ r_i x_i:
    ∇f = (w v x, w v, w(ux + b), x + v(ux + b), 1) = (0, 0, 0, vb, 1) since w = 0 and x + v(ux+b) = vb;
    the non-zero second derivatives are ∂²f/∂u∂w = v x, ∂²f/∂b∂w = v, ∂²f/∂v∂w = ux + b (∂²f/∂u∂v = w x
    and ∂²f/∂b∂v = w vanish). H = (2/m) Σ_i (∇f ∇fᵀ + r_i ∇²f):
      H_uw = (2/m) v S,  H_bw = (2/m) v Σ r_i = 0,  H_vw = (2/m) Σ r_i (u x_i + b) = (2/m) u S,
      H_ww = 2 (vb)²,  H_wc = 2 vb,  H_cc = 2,  all other entries 0.
    """
    x, y = X[0], Y[0]
    m = x.size
    r = y.mean() - y
    S = float(r @ x)
    H = np.zeros((5, 5))
    U_, B_, V_, W_, C_ = range(5)
    H[U_, W_] = H[W_, U_] = 2.0 / m * v * S
    H[V_, W_] = H[W_, V_] = 2.0 / m * u * S
    H[W_, W_] = 2.0 * (v * b) ** 2
    H[W_, C_] = H[C_, W_] = 2.0 * v * b
    H[C_, C_] = 2.0
    return H


def test_one_unit_resnet_saddle_hessian_by_hand_and_finder_converges_quadratically():
    X, Y, lin = example1()
    shape = dr.ResNetShape(1, 1, 1, 1, 1)
    pr = cp.Problem(shape, X, Y)
    u, b, v = 0.5, 1.0, -2.0
    theta = np.array([u, b, v, 0.0, Y.mean()])
    H = dr.resnet_hessian(shape, theta, X, Y)
    np.testing.assert_allclose(H, hand_saddle_hessian(u, b, v, X, Y), atol=1e-12)
    assert np.linalg.norm(pr.risk_grad(theta[None])[1]) < 1e-14
    evals = np.linalg.eigvalsh(hand_saddle_hessian(u, b, v, X, Y))
    assert evals[0] < -1.0  # H_uu = 0 with H_uw ≠ 0: indefinite

    rng = np.random.default_rng(0)
    starts = theta[None] + 1e-2 * rng.normal(size=(4, 5))
    res = cp.find_critical_points(pr, starts, tol=1e-12)
    assert res.converged.all()
    assert (res.residual < 1e-12).all()
    for k in range(4):
        th = res.theta[k]
        # the critical set through the saddle: w = 0, c = ȳ, uv = −1 (the block cancels the input)
        assert abs(th[3]) < 1e-12 and th[4] == pytest.approx(Y.mean(), abs=1e-12)
        assert th[0] * th[2] == pytest.approx(-1.0, abs=1e-10)
        assert res.risk[k] == pytest.approx(np.var(Y), rel=1e-12)
        np.testing.assert_allclose(dr.resnet_hessian(shape, th, X, Y), hand_saddle_hessian(th[0], th[1], th[2], X, Y),
                                   atol=1e-9)
        # quadratic convergence: each of the last steps squares the residual (up to a constant)
        hist = [h for h in res.history[k] if h > 1e-13]
        tail = [(a, c) for a, c in zip(hist, hist[1:]) if a < 1e-2]
        assert tail, hist
        assert all(c <= 50.0 * a * a for a, c in tail), hist
        info = cp.analyse_point(pr, th, linear_risk=lin)
        assert info["kind"] == "strict_saddle" and not info["on_kink"] and info["pieces"] is None
        assert info["hessian"]["negative"] == 1 and info["index"] == pytest.approx(1 / 5)


def test_one_unit_fc_saddle_hessian_by_hand():
    # f = a σ(u x + b) + c at u = 0, b = 1, a = 0, c = ȳ: every gradient term carries a or Σ r_i = 0.
    # ∇f = (a x, a, σ, 1) = (0, 0, 1, 1); ∂²f/∂u∂a = x, ∂²f/∂b∂a = 1. H = (2/m) Σ (∇f∇fᵀ + r_i ∇²f):
    # H_ua = (2/m) S, H_ba = 0, H_aa = H_ac = H_cc = 2 (b = 1).
    X, Y, lin = example1()
    shape = dr.FCShape(1, 1, 1, 1)
    pr = cp.Problem(shape, X, Y)
    theta = np.array([0.0, 1.0, 0.0, Y.mean()])
    x, y = X[0], Y[0]
    S = float((y.mean() - y) @ x)
    hand = np.zeros((4, 4))
    hand[0, 2] = hand[2, 0] = 2.0 / x.size * S
    hand[2, 2] = hand[2, 3] = hand[3, 2] = hand[3, 3] = 2.0
    np.testing.assert_allclose(dr.fc_hessian(shape, theta, X, Y), hand, atol=1e-12)
    res = cp.find_critical_points(pr, theta[None] + 1e-3 * np.random.default_rng(1).normal(size=(3, 4)))
    assert res.converged.all()
    for th in res.theta:
        info = cp.analyse_point(pr, th, linear_risk=lin)
        assert info["risk"] == pytest.approx(np.var(Y)) and info["kind"] == "strict_saddle"


# ----------------------------------------------------------------------------------------------------
# The one-kink global minimum 29/228 of example 1 (a Clarke point)
# ----------------------------------------------------------------------------------------------------


def test_example1_one_kink_minimum_29_over_228():
    X, Y, lin = example1()
    assert lin == pytest.approx(8 * RHO**2 / 15, rel=1e-12)
    shape = dr.ResNetShape(1, 1, 1, 1, 1)
    pr = cp.Problem(shape, X, Y)
    # f(x) = w(x + v σ(x − 2)) + c = −23/38 + (25/19) x − (7/38) σ(x − 2): kink on the sample x = 2
    star = np.array([1.0, -2.0, -7.0 / 50.0, 25.0 / 19.0, -23.0 / 38.0])
    assert pr.risk(star[None])[0] == pytest.approx(29 / 228, rel=1e-14)
    rng = np.random.default_rng(1)
    res = cp.find_critical_points(pr, star[None] + 1e-3 * rng.normal(size=(4, 5)))
    assert res.converged.all()
    for k in range(4):
        assert res.risk[k] == pytest.approx(29 / 228, rel=1e-12)
        assert res.kinks[k] == [(0, 0, 2)]  # block 1, unit 0, sample x = 2
        assert res.weights[k][0] == pytest.approx(7 / 9, abs=1e-8)
        assert res.clarke_norm[k] < 1e-10 and res.residual[k] < 1e-10
        assert res.grad_norm[k] > 1e-2  # the σ'(0) = 0 gradient is not small: GD's "0.03-0.07"
        info = cp.analyse_point(pr, res.theta[k], linear_risk=lin, entries=res.kinks[k], weights=res.weights[k])
        assert info["kind"] == "better" and info["on_kink"] and not info["nested_kinks"]
        assert info["kinks"][0]["sample"] == 2 and abs(info["kinks"][0]["z"]) < 1e-12
        assert info["pieces"]["count"] == 2 and info["pieces"]["enumerated"]
        assert [p["pattern"] for p in info["pieces"]["all"]] == [[0], [1]]
        # each piece has its own λ_min; neither is "the point's": the kink-manifold Hessian is PSD here
        assert info["hessian"]["kind"] == "kink-manifold" and info["hessian"]["dim"] == 4
        assert info["hessian"]["negative"] == 0
        assert info["grad_norm"] > 1e-2 and info["clarke_norm"] < 1e-10
    # default kink detection and Clarke weights find the same point description
    auto = cp.analyse_point(pr, res.theta[0], linear_risk=lin)
    assert [(k["layer"], k["unit"], k["sample"]) for k in auto["kinks"]] == [(1, 0, 2)]
    assert auto["kinks"][0]["slope"] == pytest.approx(7 / 9, abs=1e-6)


def test_too_many_pieces_is_said_not_enumerated():
    X, Y, lin = example1()
    shape = dr.ResNetShape(1, 1, 1, 1, 1)
    pr = cp.Problem(shape, X, Y)
    fit = dr.best_linear_predictor(X, Y)
    theta = np.array([0.0, 0.0, 0.3, fit.A[0, 0], fit.c[0]])  # U = b = 0: every sample on the kink
    info = cp.analyse_point(pr, theta, linear_risk=lin, max_pieces=16)
    assert len(info["kinks"]) == 6
    assert info["pieces"] == {"count": 64, "enumerated": False,
                              "note": "too many pieces: 2^6 = 64 > 16; not enumerated"}
    assert info["kind"] == "equal"


# ----------------------------------------------------------------------------------------------------
# Symmetries
# ----------------------------------------------------------------------------------------------------


def _permute_rescale(pr: cp.Problem, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    spec = pr.shape.spec()
    p = {k: v[0].copy() for k, v in dr.unpack(spec, theta[None]).items()}
    for ins, outs in cp.unit_layout(pr):
        k = pr.units
        perm, c = rng.permutation(k), rng.uniform(0.2, 5.0, size=k)
        for name, ax in ins:
            p[name] = (p[name] * (c[:, None] if ax == "row" else c))[perm]
        for name, _ in outs:
            p[name] = (p[name] / c[None, :])[:, perm]
    return dr.pack(spec, {k: v[None] for k, v in p.items()}, (1,))[0]


@pytest.mark.parametrize("network", ["resnet", "fc"])
def test_symmetric_duplicates_are_merged(network):
    ds = data.make_relu_teacher(12, 2, np.random.default_rng(0))
    X, Y = ds.X.T, ds.Y.T
    shape = dr.ResNetShape(2, 2, 3, 2, 1) if network == "resnet" else dr.FCShape(2, 3, 2, 1)
    pr = cp.Problem(shape, X, Y)
    init = dr.resnet_init if network == "resnet" else dr.fc_init
    th0 = init(shape, np.random.default_rng(1), 6, X)
    res = cp.find_critical_points(pr, th0)
    assert res.converged.any()
    found = res.theta[np.flatnonzero(res.converged)[0]]
    rng = np.random.default_rng(2)
    copies = np.stack([found] + [_permute_rescale(pr, found, rng) for _ in range(5)])
    assert not np.allclose(copies[0], copies[1])  # really moved along the orbit
    np.testing.assert_allclose(pr.risk(copies), pr.risk(found[None])[0], rtol=1e-12)
    reps, labels = cp.deduplicate(pr, copies)
    assert reps == [0] and (labels == 0).all()
    np.testing.assert_allclose(cp.canonical_form(pr, copies[3]), cp.canonical_form(pr, copies[0]), atol=1e-9)
    # a different point stays separate
    other = found.copy()
    other[0] += 0.1
    reps, labels = cp.deduplicate(pr, np.stack([found, other, copies[2]]))
    assert reps == [0, 1] and list(labels) == [0, 1, 0]
    reps_f, _ = cp.deduplicate(pr, copies, by="function")
    assert reps_f == [0]


# ----------------------------------------------------------------------------------------------------
# Export -> import -> independent re-check
# ----------------------------------------------------------------------------------------------------


def _roundtrip(pr: cp.Problem, theta: np.ndarray, info=None) -> tuple[dict, cp.Problem, np.ndarray]:
    record = json.loads(json.dumps(cp.export_point(pr, theta, info)))
    pr2, th2 = cp.import_point(record)
    assert np.array_equal(th2, theta) and np.array_equal(pr2.X, pr.X) and np.array_equal(pr2.Y, pr.Y)
    assert pr2.shape == pr.shape
    return record, pr2, th2


def test_export_import_and_finite_difference_recheck_at_smooth_points():
    X, Y, lin = example1()
    shape = dr.ResNetShape(1, 2, 2, 2, 1)  # stream wider than the input: h_0 = [x; 0]
    pr = cp.Problem(shape, X, Y)
    res = cp.find_critical_points(pr, dr.resnet_init(shape, np.random.default_rng(0), 8, X, mode="near-identity"))
    # points whose pre-activations stay clear of 0 by far more than the finite-difference steps move them
    smooth = [b for b in np.flatnonzero(res.converged)
              if min(np.abs(z[0]).min() for z in pr.preactivations(res.theta[b][None])) > 1e-2]
    kinds = {cp.analyse_point(pr, res.theta[b], linear_risk=lin)["kind"] for b in smooth}
    assert {"equal", "strict_saddle"} <= kinds  # a linear-quality point and a saddle among them
    for b in smooth:
        info = cp.analyse_point(pr, res.theta[b], linear_risk=lin)
        record, pr2, th = _roundtrip(pr, res.theta[b], info)
        blocks = record["blocks"]
        assert len(blocks) == 2 and blocks[0]["U1"]["shape"] == [2, 2] and blocks[1]["V2"]["shape"] == [2, 2]
        assert blocks[0]["b1"]["shape"] == [2] and record["readout"]["W"]["shape"] == [1, 2]
        assert record["point"]["kind"] == info["kind"]
        f = lambda t: plain_risk(record, t)  # noqa: E731
        assert f(th) == pytest.approx(record["risk"], rel=1e-12)
        g = fd_grad(f, th)
        assert np.abs(g).max() < 1e-7  # a critical point, by the independent implementation
        np.testing.assert_allclose(pr2.risk_grad(th[None])[1][0], g, atol=1e-7)
        H = fd_hessian(f, th)
        np.testing.assert_allclose(dr.resnet_hessian(pr2.shape, th, pr2.X, pr2.Y), H, atol=2e-5)
        lam_fd = np.linalg.eigvalsh(H)[0]
        assert lam_fd == pytest.approx(info["hessian"]["lambda_min"], abs=1e-4)


def test_export_import_recheck_at_the_kink_point():
    X, Y, lin = example1()
    shape = dr.ResNetShape(1, 1, 1, 1, 1)
    pr = cp.Problem(shape, X, Y)
    star = np.array([1.0, -2.0, -7.0 / 50.0, 25.0 / 19.0, -23.0 / 38.0])
    res = cp.find_critical_points(pr, star[None] + 1e-3 * np.random.default_rng(5).normal(size=(1, 5)))
    info = cp.analyse_point(pr, res.theta[0], linear_risk=lin, entries=res.kinks[0], weights=res.weights[0])
    record, pr2, th = _roundtrip(pr, res.theta[0], info)
    assert plain_risk(record, th) == pytest.approx(29 / 228, rel=1e-12)
    # each piece is a smooth function (frozen pattern); its FD gradient is not 0, the Clarke mix is
    z = pr2.preactivations(th[None])[0][0]
    s = info["kinks"][0]["slope"]
    grads, hessians = [], []
    for side in (0.0, 1.0):
        pat = (z > 0).astype(float)
        pat[0, 2] = side
        f = lambda t, pat=pat: plain_risk(record, t, pattern=[pat])  # noqa: E731
        grads.append(fd_grad(f, th))
        hessians.append(fd_hessian(f, th))
    assert min(np.linalg.norm(g) for g in grads) > 1e-2
    assert np.linalg.norm((1 - s) * grads[0] + s * grads[1]) < 1e-7
    for piece, H in zip(info["pieces"]["all"], hessians):
        assert np.linalg.eigvalsh(H)[0] == pytest.approx(piece["lambda_min"], abs=1e-4)


def test_import_rejects_wrong_shapes():
    X, Y, _ = example1()
    pr = cp.Problem(dr.ResNetShape(1, 1, 1, 2, 1), X, Y)
    record = cp.export_point(pr, np.arange(8.0))
    record["blocks"][1]["U2"]["shape"] = [1, 2]
    record["blocks"][1]["U2"]["values"] = [[1.0, 2.0]]
    with pytest.raises(ValueError, match="U2"):
        cp.import_point(record)
    with pytest.raises(ValueError, match="format"):
        cp.import_point({"format": "something else"})


# ----------------------------------------------------------------------------------------------------
# Convergence share from near-identity starts (docs/landscape.md)
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("blocks", [1, 2, 4, 8])
def test_near_identity_starts_reach_1e_10(blocks):
    X, Y, lin = example1()
    shape = dr.ResNetShape(1, 1, 1, blocks, 1)
    pr = cp.Problem(shape, X, Y)
    th0 = dr.resnet_init(shape, np.random.default_rng(0), 20, X, mode="near-identity", scale=0.5)
    t0 = time.perf_counter()
    res = cp.find_critical_points(pr, th0, tol=1e-10)
    elapsed = time.perf_counter() - t0
    share = res.converged.mean()
    print(f"L={blocks}: {res.converged.sum()}/20 converged in {elapsed:.2f}s")
    assert share >= 0.9
    # converged means ‖∇R‖ < 1e-10 at smooth points, or a Clarke subgradient < 1e-10 with z_E = 0
    ok = res.converged
    assert (res.residual[ok] < 1e-10).all() and (res.kink_gap[ok] < 1e-10).all()
    smooth = ok & np.array([len(k) == 0 for k in res.kinks])
    assert (res.grad_norm[smooth] < 1e-10).all()
    one_layer = ok & np.array([len(k) > 0 and not cp.nested(k) for k in res.kinks])
    assert (res.clarke_norm[one_layer] < 1e-8).all()


@pytest.mark.parametrize("v", [-7.0 / 50.0, 7.0 / 50.0])
def test_kink_jump_is_the_sum_of_the_one_sided_slopes(v):
    """The jump of R's slope across a kink (`kink_jumps`) against finite differences of R itself on both sides of
    the kink along its normal: D+ + D−. Positive at the 29/228 minimum; v > 0 flips the backpropagated signal."""
    X, Y, lin = example1()
    pr = cp.Problem(dr.ResNetShape(1, 1, 1, 1, 1), X, Y)
    theta = np.array([1.0, -2.0, v, 25.0 / 19.0, -23.0 / 38.0])
    info = cp.analyse_point(pr, theta, linear_risk=lin, entries=[(0, 0, 2)], weights=np.array([0.5]))
    normal = np.array([2.0, 1.0, 0.0, 0.0, 0.0]) / np.sqrt(5.0)  # ∂z/∂(U, b) at the sample x = 2: (x, 1)
    R0, t = pr.risk(theta[None])[0], 1e-6
    one_sided = [(pr.risk((theta + sign * t * normal)[None])[0] - R0) / t for sign in (1.0, -1.0)]
    jump = info["kinks"][0]["jump"]
    assert jump == pytest.approx(sum(one_sided), rel=1e-4, abs=1e-9)
    assert (jump > 0) == (v < 0)


def test_a_kink_with_a_negative_signal_is_never_a_counterexample():
    """Slopes inside (0, 1) make leaving the kink raise R on both sides only when the signal backpropagated to the
    unit is positive; with it negative both sides descend (a ridge), which was labelled a counterexample."""
    base = {"gap": 1.0, "risk": 2.0, "hessian": {"negative": 0}, "on_kink": True, "nested_kinks": False,
            "pieces": {"enumerated": True, "all": [{"negative": 0}, {"negative": 0}]}}
    kinks = {"layer": 1, "unit": 0, "sample": 2, "z": 0.0, "slope": 0.5}
    up = {**base, "kinks": [{**kinks, "jump": 0.3}]}
    down = {**base, "kinks": [{**kinks, "jump": -0.3}]}
    assert cp.classify_point(up, linear_risk=1.0) == "counterexample"
    assert cp.classify_point(down, linear_risk=1.0) == "kink_undecided"
