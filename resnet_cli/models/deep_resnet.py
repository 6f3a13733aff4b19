"""Deep ResNets, fully-connected ReLU nets and the best linear predictor (Yun et al. 2019).

Yun et al. 2019, "Are deep ResNets provably better than linear predictors?" (NeurIPS 2019), §2-§4:
a ResNet with L residual blocks

    h_0 = x,   h_l = h_{l-1} + V_l σ(U_l h_{l-1} + b_l),   f(x) = W h_L + c,

σ = ReLU, squared-error empirical risk R(θ) = (1/m) Σ_i ‖f(x_i) − y_i‖² (the paper's normalisation: it
gives the best linear risk of its first example as 8ρ²/15, which is the mean, without a ½). With all
V_l = 0 the network *is* the affine predictor x ↦ W x + c, so its global minimum is never worse than the
best linear (affine) predictor; the paper's main theorem says every critical point is either at least as
good as that predictor or has a strictly negative Hessian eigenvalue (under geometric conditions).

Our conventions (the paper leaves them open or they are ours):
- biases b_l and the output offset c are on by default (`bias=True`); the linear predictor we compare
  with is then affine (x ↦ A x + c), which is what the paper's first example uses (its 8ρ²/15 is the
  affine least-squares risk). With `bias=False` both the networks and the predictor are linear.
- the residual stream may be wider than the input (`width ≥ d_in`): h_0 = [x; 0] (zero padding), so the
  V = 0 point is still exactly the affine predictor.
- ReLU has no derivative at 0: we use σ'(0) = 0, and σ'' = 0 everywhere. Gradients and Hessians are those
  of the smooth piece of R on the current activation pattern (exact almost everywhere).

Arrays: data X has shape (d_in, m), Y has shape (d_out, m) (columns are samples). Parameters are flat
vectors; a batch of B parameter vectors has shape (B, P), so one array program serves all inits.
Exact Hessians are computed by forward-over-reverse differentiation vectorised over all P tangent
directions at once (one array program, no loop over Hessian-vector products).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
import numpy as np

Array = np.ndarray


# ----------------------------------------------------------------------------------------------------
# Parameter layouts
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResNetShape:
    """Sizes of a deep ResNet: input d_in, stream width, `hidden` ReLU units per block, L blocks."""

    d_in: int
    width: int
    hidden: int
    blocks: int
    d_out: int
    bias: bool = True

    def spec(self) -> list[tuple[str, tuple[int, ...]]]:
        """(name, shape) of every parameter, in the order of the flat vector."""
        d, k = self.width, self.hidden
        items: list[tuple[str, tuple[int, ...]]] = []
        for layer in range(1, self.blocks + 1):
            items.append((f"U{layer}", (k, d)))
            if self.bias:
                items.append((f"b{layer}", (k,)))
            items.append((f"V{layer}", (d, k)))
        items.append(("W", (self.d_out, d)))
        if self.bias:
            items.append(("c", (self.d_out,)))
        return items

    @property
    def n_params(self) -> int:
        return sum(math.prod(shape) for _, shape in self.spec())


@dataclass(frozen=True)
class FCShape:
    """Sizes of a fully-connected ReLU net: d_in -> width -> ... (`layers` ReLU layers) -> d_out."""

    d_in: int
    width: int
    layers: int
    d_out: int
    bias: bool = True

    def spec(self) -> list[tuple[str, tuple[int, ...]]]:
        items: list[tuple[str, tuple[int, ...]]] = []
        fan_in = self.d_in
        for layer in range(1, self.layers + 1):
            items.append((f"W{layer}", (self.width, fan_in)))
            if self.bias:
                items.append((f"b{layer}", (self.width,)))
            fan_in = self.width
        items.append(("W_out", (self.d_out, fan_in)))
        if self.bias:
            items.append(("c", (self.d_out,)))
        return items

    @property
    def n_params(self) -> int:
        return sum(math.prod(shape) for _, shape in self.spec())


def matched_fc_width(shape: ResNetShape) -> int:
    """Largest FC width with at most as many parameters as the ResNet (same depth, at least 1).

    Same number of ReLU layers as the ResNet has blocks. For the paper's first example (d = k = L = 1,
    5 parameters) this is width 1 (4 parameters): the paper's one-hidden-node FC network.
    """
    budget = shape.n_params
    width = 1
    while FCShape(shape.d_in, width + 1, shape.blocks, shape.d_out, shape.bias).n_params <= budget:
        width += 1
    return width


def unpack(spec: list[tuple[str, tuple[int, ...]]], theta: Array) -> dict[str, Array]:
    """Views of a flat (..., P) parameter array as named arrays of shape (..., *shape)."""
    lead = theta.shape[:-1]
    out: dict[str, Array] = {}
    pos = 0
    for name, shape in spec:
        size = math.prod(shape)
        out[name] = theta[..., pos : pos + size].reshape(*lead, *shape)
        pos += size
    if pos != theta.shape[-1]:
        raise ValueError(f"parameter vector has {theta.shape[-1]} entries, the layout needs {pos}")
    return out


def pack(spec: list[tuple[str, tuple[int, ...]]], arrays: dict[str, Array], lead: tuple[int, ...]) -> Array:
    """Flatten named arrays of shape (*lead, *shape) back into a (*lead, P) array, in layout order."""
    return np.concatenate([arrays[name].reshape(*lead, -1) for name, _ in spec], axis=-1)


def _T(a: Array) -> Array:
    """Swap the last two axes (batched transpose)."""
    return np.swapaxes(a, -1, -2)


def _relu(z: Array) -> Array:
    return np.maximum(z, 0.0)


def _relu_mask(z: Array) -> Array:
    """σ'(z) with the convention σ'(0) = 0."""
    return (z > 0).astype(z.dtype)


def pad_input(X: Array, width: int) -> Array:
    """h_0 = [x; 0]: the input padded with zeros to the residual stream's width."""
    d_in, m = X.shape
    if width < d_in:
        raise ValueError(f"stream width {width} is smaller than the input dimension {d_in}")
    if width == d_in:
        return X
    return np.vstack([X, np.zeros((width - d_in, m), dtype=X.dtype)])


# ----------------------------------------------------------------------------------------------------
# Deep ResNet
# ----------------------------------------------------------------------------------------------------


def resnet_block_outputs(shape: ResNetShape, theta: Array, X: Array) -> list[Array]:
    """[h_0, h_1, ..., h_L], each (B, width, m) for theta of shape (B, P): h_l = h_{l-1} + V_l σ(U_l h_{l-1} + b_l)."""
    p = unpack(shape.spec(), theta)
    B = theta.shape[0]
    h = np.broadcast_to(pad_input(X, shape.width), (B, shape.width, X.shape[1]))
    outs = [h]
    for layer in range(1, shape.blocks + 1):
        z = (p[f"U{layer}"] @ h)
        if shape.bias:
            z = z + p[f"b{layer}"][:, :, None]
        h = h + (p[f"V{layer}"] @ _relu(z))
        outs.append(h)
    return outs


def resnet_output(shape: ResNetShape, theta: Array, X: Array) -> Array:
    """f(x) = W h_L + c for every sample: shape (B, d_out, m)."""
    p = unpack(shape.spec(), theta)
    h = resnet_block_outputs(shape, theta, X)[-1]
    f = (p["W"] @ h)
    if shape.bias:
        f = f + p["c"][:, :, None]
    return f


def risk_from_output(F: Array, Y: Array) -> Array:
    """R = (1/m) Σ_i ‖f(x_i) − y_i‖² for outputs of shape (B, d_out, m)."""
    m = Y.shape[1]
    r = F - Y[None]
    return np.einsum("bem,bem->b", r, r) / m


def resnet_risk(shape: ResNetShape, theta: Array, X: Array, Y: Array) -> Array:
    """Empirical risk of each parameter vector in the batch: shape (B,)."""
    return risk_from_output(resnet_output(shape, theta, X), Y)


def resnet_risk_grad(
    shape: ResNetShape, theta: Array, X: Array, Y: Array, masks: list[Array] | None = None
) -> tuple[Array, Array]:
    """Risk (B,) and exact gradient (B, P) of the ResNet risk, by reverse-mode differentiation.

    `masks` (one (B, hidden, m) array per block) overrides σ'(z) in the backward pass; used to evaluate
    the one-sided gradients at points where a kink sits on a sample (see `clarke_grad_norm`).
    """
    spec = shape.spec()
    p = unpack(spec, theta)
    B, m = theta.shape[0], X.shape[1]
    h = np.broadcast_to(pad_input(X, shape.width), (B, shape.width, m))
    hs, acts, mask_list = [h], [], []
    for layer in range(1, shape.blocks + 1):
        z = (p[f"U{layer}"] @ h)
        if shape.bias:
            z = z + p[f"b{layer}"][:, :, None]
        a = _relu(z)
        h = h + (p[f"V{layer}"] @ a)
        hs.append(h)
        acts.append(a)
        mask_list.append(_relu_mask(z) if masks is None else masks[layer - 1])
    f = (p["W"] @ h)
    if shape.bias:
        f = f + p["c"][:, :, None]
    r = f - Y[None]
    risk = np.einsum("bem,bem->b", r, r) / m
    g_f = (2.0 / m) * r
    grads: dict[str, Array] = {"W": (g_f @ _T(h))}
    if shape.bias:
        grads["c"] = g_f.sum(-1)
    g_h = (_T(p["W"]) @ g_f)
    for layer in range(shape.blocks, 0, -1):
        a, mask, h_prev = acts[layer - 1], mask_list[layer - 1], hs[layer - 1]
        grads[f"V{layer}"] = (g_h @ _T(a))
        g_z = (_T(p[f"V{layer}"]) @ g_h) * mask
        grads[f"U{layer}"] = (g_z @ _T(h_prev))
        if shape.bias:
            grads[f"b{layer}"] = g_z.sum(-1)
        g_h = g_h + (_T(p[f"U{layer}"]) @ g_z)
    return risk, pack(spec, grads, (B,))


def resnet_hessian(shape: ResNetShape, theta: Array, X: Array, Y: Array) -> Array:
    """Exact Hessian (P, P) of the ResNet risk at one parameter vector theta (P,).

    Forward-over-reverse: the reverse pass of `resnet_risk_grad` is differentiated along all P unit
    directions at once (tangent arrays carry a leading axis p). σ'' = 0, so the activation masks have no
    tangent; every other product rule term is kept (Gauss-Newton part and the residual-weighted part).
    """
    spec = shape.spec()
    P = shape.n_params
    p = unpack(spec, theta)
    dp = unpack(spec, np.eye(P))  # tangent of each parameter along each unit direction: (P, *shape)
    m = X.shape[1]
    h = pad_input(X, shape.width)
    dh = np.zeros((P,) + h.shape)
    hs, dhs, acts, dacts, masks = [h], [dh], [], [], []
    for layer in range(1, shape.blocks + 1):
        U, V = p[f"U{layer}"], p[f"V{layer}"]
        z = U @ h
        dz = (dp[f"U{layer}"] @ h) + (U @ dh)
        if shape.bias:
            z = z + p[f"b{layer}"][:, None]
            dz = dz + dp[f"b{layer}"][:, :, None]
        mask = _relu_mask(z)
        a, da = _relu(z), dz * mask
        h = h + V @ a
        dh = dh + (dp[f"V{layer}"] @ a) + (V @ da)
        hs.append(h)
        dhs.append(dh)
        acts.append(a)
        dacts.append(da)
        masks.append(mask)
    W = p["W"]
    f = W @ h
    df = (dp["W"] @ h) + (W @ dh)
    if shape.bias:
        f = f + p["c"][:, None]
        df = df + dp["c"][:, :, None]
    g_f = (2.0 / m) * (f - Y)
    dg_f = (2.0 / m) * df
    hess: dict[str, Array] = {
        "W": (dg_f @ _T(h)) + (g_f @ _T(dh)),
    }
    if shape.bias:
        hess["c"] = dg_f.sum(-1)
    g_h = W.T @ g_f
    dg_h = (_T(dp["W"]) @ g_f) + (_T(W) @ dg_f)
    for layer in range(shape.blocks, 0, -1):
        U, V = p[f"U{layer}"], p[f"V{layer}"]
        a, da, mask = acts[layer - 1], dacts[layer - 1], masks[layer - 1]
        h_prev, dh_prev = hs[layer - 1], dhs[layer - 1]
        hess[f"V{layer}"] = (dg_h @ _T(a)) + (g_h @ _T(da))
        g_z = (V.T @ g_h) * mask
        dg_z = ((_T(dp[f"V{layer}"]) @ g_h) + (_T(V) @ dg_h)) * mask
        hess[f"U{layer}"] = (dg_z @ _T(h_prev)) + (g_z @ _T(dh_prev))
        if shape.bias:
            hess[f"b{layer}"] = dg_z.sum(-1)
        dg_h = dg_h + (_T(dp[f"U{layer}"]) @ g_z) + (_T(U) @ dg_z)
        g_h = g_h + U.T @ g_z
    H = pack(spec, hess, (P,))
    return 0.5 * (H + H.T)


# ----------------------------------------------------------------------------------------------------
# Fully-connected ReLU network
# ----------------------------------------------------------------------------------------------------


def _fc_layers(shape: FCShape, p: dict[str, Array]) -> list[tuple[Array, Array | None]]:
    layers = [(p[f"W{j}"], p.get(f"b{j}")) for j in range(1, shape.layers + 1)]
    layers.append((p["W_out"], p.get("c")))
    return layers


def fc_output(shape: FCShape, theta: Array, X: Array) -> Array:
    """f(x) = W_out σ(W_L ⋯ σ(W_1 x + b_1) ⋯ + b_L) + c for every sample: (B, d_out, m)."""
    layers = _fc_layers(shape, unpack(shape.spec(), theta))
    a = np.broadcast_to(X, (theta.shape[0],) + X.shape)
    for j, (Wj, bj) in enumerate(layers):
        z = (Wj @ a)
        if bj is not None:
            z = z + bj[:, :, None]
        a = _relu(z) if j < shape.layers else z
    return a


def fc_risk(shape: FCShape, theta: Array, X: Array, Y: Array) -> Array:
    """Empirical risk (B,) of the fully-connected net."""
    return risk_from_output(fc_output(shape, theta, X), Y)


def fc_risk_grad(
    shape: FCShape, theta: Array, X: Array, Y: Array, masks: list[Array] | None = None
) -> tuple[Array, Array]:
    """Risk (B,) and exact gradient (B, P) of the fully-connected ReLU net (backpropagation).

    `masks` (one (B, width, m) array per ReLU layer) overrides σ'(z) in the backward pass.
    """
    spec = shape.spec()
    layers = _fc_layers(shape, unpack(spec, theta))
    B, m = theta.shape[0], X.shape[1]
    a = np.broadcast_to(X, (B,) + X.shape)
    inputs, mask_list = [], []
    for j, (Wj, bj) in enumerate(layers):
        inputs.append(a)
        z = (Wj @ a)
        if bj is not None:
            z = z + bj[:, :, None]
        if j < shape.layers:
            mask_list.append(_relu_mask(z) if masks is None else masks[j])
            a = _relu(z)
        else:
            a = z
    r = a - Y[None]
    risk = np.einsum("bem,bem->b", r, r) / m
    g = (2.0 / m) * r
    names = [(f"W{j}", f"b{j}") for j in range(1, shape.layers + 1)] + [("W_out", "c")]
    grads: dict[str, Array] = {}
    for j in range(shape.layers, -1, -1):
        w_name, b_name = names[j]
        grads[w_name] = (g @ _T(inputs[j]))
        if shape.bias:
            grads[b_name] = g.sum(-1)
        if j > 0:
            g = (_T(layers[j][0]) @ g) * mask_list[j - 1]
    return risk, pack(spec, grads, (B,))


def fc_hessian(shape: FCShape, theta: Array, X: Array, Y: Array) -> Array:
    """Exact Hessian (P, P) of the fully-connected net's risk at theta (P,): forward-over-reverse."""
    spec = shape.spec()
    P = shape.n_params
    layers = _fc_layers(shape, unpack(spec, theta))
    d_layers = _fc_layers(shape, unpack(spec, np.eye(P)))
    m = X.shape[1]
    a, da = X, np.zeros((P,) + X.shape)
    inputs, d_inputs, masks = [], [], []
    for j, ((Wj, bj), (dWj, dbj)) in enumerate(zip(layers, d_layers)):
        inputs.append(a)
        d_inputs.append(da)
        z = Wj @ a
        dz = (dWj @ a) + (Wj @ da)
        if bj is not None:
            z = z + bj[:, None]
            dz = dz + dbj[:, :, None]
        if j < shape.layers:
            mask = _relu_mask(z)
            masks.append(mask)
            a, da = _relu(z), dz * mask
        else:
            a, da = z, dz
    g = (2.0 / m) * (a - Y)
    dg = (2.0 / m) * da
    names = [(f"W{j}", f"b{j}") for j in range(1, shape.layers + 1)] + [("W_out", "c")]
    hess: dict[str, Array] = {}
    for j in range(shape.layers, -1, -1):
        w_name, b_name = names[j]
        hess[w_name] = (dg @ _T(inputs[j])) + (g @ _T(d_inputs[j]))
        if shape.bias:
            hess[b_name] = dg.sum(-1)
        if j > 0:
            Wj, dWj = layers[j][0], d_layers[j][0]
            mask = masks[j - 1]
            dg = ((_T(dWj) @ g) + (_T(Wj) @ dg)) * mask
            g = (Wj.T @ g) * mask
    H = pack(spec, hess, (P,))
    return 0.5 * (H + H.T)


# ----------------------------------------------------------------------------------------------------
# Best linear predictor and per-block risks
# ----------------------------------------------------------------------------------------------------


@dataclass
class LinearFit:
    """Best linear (affine when `bias`) predictor x ↦ A x + c and its risk (1/m) Σ ‖A x_i + c − y_i‖²."""

    A: Array
    c: Array
    risk: float


def best_linear_predictor(X: Array, Y: Array, bias: bool = True, rank_tol: float = 1e-8) -> LinearFit:
    """Least squares by the normal equations on (centred) second moments, pseudo-inverse via eigh.

    A = Σ_YX Σ_XX⁺ and c = ȳ − A x̄ (centred moments when `bias`, raw moments otherwise). The minimum-norm
    solution when Σ_XX is singular. Yun et al. 2019 compare every critical point's risk with this
    predictor's risk R_lin.

    Numerical rank: a direction of Σ_XX counts only when its variance exceeds both 1e-12·(largest variance)
    and rank_tol²·(mean ‖x‖², uncentred), i.e. when its spread is above rank_tol times the size of the
    features themselves. The second test matters for block outputs h_l at critical points: a block that
    collapses its input to a constant (V U = −1 in one dimension) leaves h_l constant up to ~1e-12·|h_l|
    (rounding and the finder's slack), and without it the fit would read Y off that noise with |A| ≈ 1e12
    — a per-block risk far below the network's own, which a critical point cannot have (its read-out is
    already the least-squares fit of Y on h_L).
    """
    m = X.shape[1]
    if bias:
        x_mean, y_mean = X.mean(axis=1, keepdims=True), Y.mean(axis=1, keepdims=True)
    else:
        x_mean, y_mean = np.zeros((X.shape[0], 1)), np.zeros((Y.shape[0], 1))
    Xc, Yc = X - x_mean, Y - y_mean
    sxx = Xc @ Xc.T / m
    syx = Yc @ Xc.T / m
    evals, evecs = np.linalg.eigh(sxx)
    size = float(np.sum(X * X)) / m  # mean ‖x‖², uncentred: the scale of the features themselves
    floor = max(1e-12 * float(evals.max(initial=0.0)), rank_tol**2 * size, 1e-300)
    keep = evals > floor
    inv = (evecs[:, keep] / evals[keep]) @ evecs[:, keep].T
    A = syx @ inv
    c = (y_mean - A @ x_mean).ravel()
    resid = A @ X + c[:, None] - Y
    return LinearFit(A=A, c=c, risk=float(np.sum(resid * resid) / m))


def per_block_risks(shape: ResNetShape, theta: Array, X: Array, Y: Array) -> Array:
    """Risk of the best linear read-out of each representation h_0..h_L at theta (P,): shape (L+1,).

    Yun et al. 2019 §3.2: min over (A, c) of (1/m) Σ ‖A h_l(x_i) + c − y_i‖², the quality of the block
    outputs as features. Their second example shows it need not decrease with l, even at a global minimum.
    The fit uses `best_linear_predictor`'s numerical rank (directions of h_l spread less than 1e-8 of its
    size count as collapsed), so at a critical point R(h_L) equals the network's risk.
    """
    outs = resnet_block_outputs(shape, theta[None], X)
    return np.array([best_linear_predictor(h[0], Y, bias=shape.bias).risk for h in outs])


def block_norms(shape: ResNetShape, theta: Array) -> Array:
    """‖V_l‖₂ ‖U_l‖₂ for every block (spectral norms), theta of shape (B, P): (B, L).

    An upper bound on the Lipschitz constant of block l's residual map; the paper's near-identity region
    keeps the sum of these small.
    """
    p = unpack(shape.spec(), theta)
    cols = []
    for layer in range(1, shape.blocks + 1):
        su = np.linalg.norm(p[f"U{layer}"], ord=2, axis=(-2, -1))
        sv = np.linalg.norm(p[f"V{layer}"], ord=2, axis=(-2, -1))
        cols.append(su * sv)
    return np.stack(cols, axis=-1)


# ----------------------------------------------------------------------------------------------------
# Initialisation (every draw from the caller's numpy Generator)
# ----------------------------------------------------------------------------------------------------


def resnet_init(
    shape: ResNetShape, rng: np.random.Generator, n_inits: int, X: Array, mode: str = "standard", scale: float = 0.5
) -> Array:
    """n_inits random ResNet parameter vectors (n_inits, P).

    U_l ~ N(0, 2/width), V_l ~ N(0, 1/hidden), W ~ N(0, 1/width), c = 0. Each bias b_l[j] puts unit j's
    kink through the pre-activation of a random sample (plus N(0, 0.1²) jitter), so every unit starts
    active on part of the data (ours: the paper has no training protocol). mode "near-identity" rescales
    U_l and V_l so that ‖V_l‖₂‖U_l‖₂ = scale / L for each block: Σ_l ‖V_l‖₂‖U_l‖₂ = scale at any depth.
    """
    spec = shape.spec()
    d, k, L, B = shape.width, shape.hidden, shape.blocks, n_inits
    arrays: dict[str, Array] = {}
    h = np.broadcast_to(pad_input(X, d), (B, d, X.shape[1]))
    m = X.shape[1]
    for layer in range(1, L + 1):
        U = rng.normal(0.0, math.sqrt(2.0 / d), size=(B, k, d))
        V = rng.normal(0.0, math.sqrt(1.0 / k), size=(B, d, k))
        if mode == "near-identity":
            su = np.linalg.norm(U, ord=2, axis=(-2, -1))
            sv = np.linalg.norm(V, ord=2, axis=(-2, -1))
            target = math.sqrt(scale / L)
            U = U * (target / np.maximum(su, 1e-300))[:, None, None]
            V = V * (target / np.maximum(sv, 1e-300))[:, None, None]
        z = (U @ h)
        if shape.bias:
            pick = rng.integers(0, m, size=(B, k))
            through = np.take_along_axis(z, pick[:, :, None], axis=2)[:, :, 0]
            b = -through + rng.normal(0.0, 0.1, size=(B, k))
            arrays[f"b{layer}"] = b
            z = z + b[:, :, None]
        arrays[f"U{layer}"], arrays[f"V{layer}"] = U, V
        h = h + (V @ _relu(z))
    arrays["W"] = rng.normal(0.0, math.sqrt(1.0 / d), size=(B, shape.d_out, d))
    if shape.bias:
        arrays["c"] = np.zeros((B, shape.d_out))
    return pack(spec, arrays, (B,))


def fc_init(shape: FCShape, rng: np.random.Generator, n_inits: int, X: Array) -> Array:
    """n_inits random FC parameter vectors (n_inits, P): He-normal weights, kink-through-a-sample biases."""
    spec = shape.spec()
    B, m = n_inits, X.shape[1]
    arrays: dict[str, Array] = {}
    a = np.broadcast_to(X, (B,) + X.shape)
    fan_in = shape.d_in
    for layer in range(1, shape.layers + 1):
        Wj = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(B, shape.width, fan_in))
        z = (Wj @ a)
        if shape.bias:
            pick = rng.integers(0, m, size=(B, shape.width))
            through = np.take_along_axis(z, pick[:, :, None], axis=2)[:, :, 0]
            bj = -through + rng.normal(0.0, 0.1, size=(B, shape.width))
            arrays[f"b{layer}"] = bj
            z = z + bj[:, :, None]
        arrays[f"W{layer}"] = Wj
        a = _relu(z)
        fan_in = shape.width
    arrays["W_out"] = rng.normal(0.0, math.sqrt(1.0 / fan_in), size=(B, shape.d_out, fan_in))
    if shape.bias:
        arrays["c"] = np.zeros((B, shape.d_out))
    return pack(spec, arrays, (B,))


# ----------------------------------------------------------------------------------------------------
# Pre-activations (where the kinks are: models/clarke.py)
# ----------------------------------------------------------------------------------------------------


def resnet_preactivations(shape: ResNetShape, theta: Array, X: Array) -> list[Array]:
    """Pre-activations z_l = U_l h_{l-1} + b_l of every block: list of (B, hidden, m)."""
    p = unpack(shape.spec(), theta)
    outs = resnet_block_outputs(shape, theta, X)
    zs = []
    for layer in range(1, shape.blocks + 1):
        z = (p[f"U{layer}"] @ outs[layer - 1])
        if shape.bias:
            z = z + p[f"b{layer}"][:, :, None]
        zs.append(z)
    return zs


def fc_preactivations(shape: FCShape, theta: Array, X: Array) -> list[Array]:
    """Pre-activations of every ReLU layer of the FC net: list of (B, width, m)."""
    layers = _fc_layers(shape, unpack(shape.spec(), theta))
    a = np.broadcast_to(X, (theta.shape[0],) + X.shape)
    zs = []
    for Wj, bj in layers[:-1]:
        z = (Wj @ a)
        if bj is not None:
            z = z + bj[:, :, None]
        zs.append(z)
        a = _relu(z)
    return zs
