"""n-shortcut networks of Li, Jiao, Han & Weissman (2017), "Demystifying ResNet" — pure numpy.

Architecture (Definitions 2-3): R residual units of n square layers (d × d), depth = R·n. Unit r maps

    h  ↦  h + σ_post(W_{r,n} σ_mid(W_{r,n-1} … σ_mid(W_{r,1} σ_pre(h)) … ))

and the plain network (``shortcut=False``) drops the ``h +``, keeping the activations at the same places
(Appendix B: "we added ReLUs at the same positions in linear networks as in 2-shortcut networks").

Conventions used throughout this module:

- Samples are ROWS: X, Y have shape (m, d); Σ_XX = XᵀX/m and Σ_YX = YᵀX/m (eqs. 8-9).
- Weights have shape ``(*batch, R, n, d, d)``: optional leading batch axes (runs, learning rates), then
  unit, layer within the unit (applied first = 0), row, column. The parameter vector is this array
  flattened in C order, i.e. indexed (r, l, i, j); Hessians are (P, P) with P = R·n·d² in that order.
- Loss L = 1/(2m) ‖Y − F(X)‖²_F (eq. 6).
- ReLU'(0) = 0 (the convention of torch and of ``x > 0``): at the exact zero point a ReLU at the mid or post
  position therefore makes σ'(0) = 0 in Theorem 1. tanh is smooth and has σ'(0) = 1.

Linear networks (all activations identity) are computed from the second moments alone, so a loss, a
gradient step and the exact Hessian cost nothing per sample (docs/hessian.md). Nonlinear networks get
their exact Hessian from forward tangents of the pre-activations (d directions per layer rather than d²)
pushed through a second-order backward pass, summed over samples in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from resnet_cli.descent import descend
from resnet_cli.eigen import BlockMatrix
from resnet_cli.errors import ConfigError

ACTIVATIONS = ("identity", "relu", "tanh")
INITS = ("zero", "small", "xavier", "orthogonal")
SMALL_INIT_SCALE = 0.01  # Li et al. §4.1: Xavier, then multiplied by 0.01
# Memory budget (bytes) for the stored tangents of one chunk of samples in `nonlinear_hessian`.
TANGENT_BUDGET_BYTES = 192 * 2**20
# Gradient descent: a loss above BLOWUP × max(initial loss, 1) counts as diverged (before it overflows).
BLOWUP = 1e12


# --- activations: value, first and second derivative ------------------------------------------------------


def _act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "identity":
        return x
    if name == "relu":
        return np.maximum(x, 0.0)
    return np.tanh(x)


def _act_d1(name: str, x: np.ndarray) -> np.ndarray | float:
    if name == "identity":
        return 1.0
    if name == "relu":
        return (x > 0).astype(x.dtype)  # ReLU'(0) = 0
    t = np.tanh(x)
    return 1.0 - t * t


def _act_d2(name: str, x: np.ndarray) -> np.ndarray | None:
    """Second derivative, or None where it is zero everywhere (identity; ReLU away from its kink)."""
    if name != "tanh":
        return None
    t = np.tanh(x)
    return -2.0 * t * (1.0 - t * t)


def activation_derivative_at_zero(name: str) -> float:
    """σ'(0) as used by this module (ReLU'(0) = 0)."""
    return float(_act_d1(name, np.zeros(1))[0]) if name != "identity" else 1.0


# --- architecture -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShortcutNet:
    """An n-shortcut network (Li et al. 2017, Definitions 2-3) or its plain counterpart.

    ``units`` = R, ``unit_layers`` = n (layers per residual unit; for a plain network, the grouping that
    places its activations), ``shortcut`` = whether each unit adds its input (identity shortcut).
    """

    dim: int
    units: int
    unit_layers: int
    shortcut: bool = True
    act_pre: str = "identity"
    act_mid: str = "identity"
    act_post: str = "identity"

    def __post_init__(self) -> None:
        if self.dim < 1 or self.units < 1 or self.unit_layers < 1:
            raise ConfigError(f"network sizes must be positive: d={self.dim}, R={self.units}, n={self.unit_layers}")
        for where, name in (("pre", self.act_pre), ("mid", self.act_mid), ("post", self.act_post)):
            if name not in ACTIVATIONS:
                raise ConfigError(f"activation {where}={name!r}: choose from {', '.join(ACTIVATIONS)}")

    @property
    def depth(self) -> int:
        """Total number of weight layers R·n."""
        return self.units * self.unit_layers

    @property
    def n_params(self) -> int:
        return self.depth * self.dim * self.dim

    @property
    def shortcut_depth(self) -> int:
        """n of the paper for a shortcut network, 0 for the plain network."""
        return self.unit_layers if self.shortcut else 0

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.units, self.unit_layers, self.dim, self.dim)

    @property
    def is_linear(self) -> bool:
        return self.act_pre == self.act_mid == self.act_post == "identity"

    def describe(self) -> str:
        kind = f"{self.unit_layers}-shortcut" if self.shortcut else "plain"
        acts = f"pre={self.act_pre}, mid={self.act_mid}, post={self.act_post}"
        return f"{kind} network, d={self.dim}, depth={self.depth} ({self.units} units of {self.unit_layers}), {acts}"


def make_network(
    shortcut: int,
    depth: int,
    dim: int,
    *,
    act_pre: str = "identity",
    act_mid: str = "identity",
    act_post: str = "identity",
    plain_unit: int = 2,
) -> ShortcutNet:
    """The network of `depth` layers with shortcuts of depth `shortcut` (0 = plain network).

    A plain network places its activations as an `plain_unit`-shortcut network would (Appendix B compares
    plain networks with 2-shortcut ones, hence the default 2). When all activations are the identity the
    grouping has no effect and any depth is accepted (the grouping is then 1).
    """
    if depth < 1:
        raise ConfigError(f"depth must be at least 1, got {depth}")
    if dim < 1:
        raise ConfigError(f"dimension must be at least 1, got {dim}")
    if shortcut < 0:
        raise ConfigError(f"shortcut depth must be 0 (plain) or positive, got {shortcut}")
    acts = dict(act_pre=act_pre, act_mid=act_mid, act_post=act_post)
    if shortcut == 0:
        linear = act_pre == act_mid == act_post == "identity"
        if plain_unit < 1:
            raise ConfigError(f"plain unit must be at least 1, got {plain_unit}")
        group = 1 if linear else plain_unit
        if depth % group:
            raise ConfigError(
                f"depth {depth} is not a multiple of {group}: a plain network with activations places them in "
                f"groups of {group} layers (set the plain unit to 1 or change the depth)"
            )
        return ShortcutNet(dim, depth // group, group, False, **acts)
    if depth % shortcut:
        raise ConfigError(f"depth {depth} is not a multiple of the shortcut depth {shortcut}")
    return ShortcutNet(dim, depth // shortcut, shortcut, True, **acts)


# --- initialisation ----------------------------------------------------------------------------------------


def init_weights(
    net: ShortcutNet, init: str, rng: np.random.Generator, batch_shape: tuple[int, ...] = ()
) -> np.ndarray:
    """Initial weights of shape ``(*batch_shape, R, n, d, d)``.

    ``zero``: all zero (the point of Theorem 1). ``xavier``: N(0, 2/(fan_in + fan_out)) = N(0, 1/d)
    (Glorot & Bengio 2010, normal form). ``small``: 0.01 × Xavier (Li et al. §4.1, "zero initialization with
    small random perturbations"). ``orthogonal``: Q of the QR factorisation of a Gaussian matrix, columns
    multiplied by the signs of diag(R) so that Q is Haar-distributed (Saxe et al. 2013).
    """
    shape = tuple(batch_shape) + net.weight_shape
    d = net.dim
    if init == "zero":
        return np.zeros(shape)
    if init in ("xavier", "small"):
        w = rng.standard_normal(shape) * np.sqrt(2.0 / (d + d))
        return w * SMALL_INIT_SCALE if init == "small" else w
    if init == "orthogonal":
        gauss = rng.standard_normal(shape)
        q, r = np.linalg.qr(gauss)
        signs = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
        signs = np.where(signs == 0, 1.0, signs)
        return q * signs[..., None, :]
    raise ConfigError(f"init {init!r}: choose from {', '.join(INITS)}")


def flatten(weights: np.ndarray, net: ShortcutNet) -> np.ndarray:
    """Parameter vector(s) ``(*batch, P)`` of weights ``(*batch, R, n, d, d)`` (order (r, l, i, j))."""
    batch = weights.shape[: weights.ndim - 4]
    return weights.reshape(batch + (net.n_params,))


def unflatten(vector: np.ndarray, net: ShortcutNet) -> np.ndarray:
    """Inverse of `flatten`."""
    batch = vector.shape[:-1]
    return vector.reshape(batch + net.weight_shape)


# --- second moments and the optimal linear loss --------------------------------------------------------------


@dataclass(frozen=True)
class SecondMoments:
    """Σ_XX = XᵀX/m, Σ_YX = YᵀX/m and tr Σ_YY = ‖Y‖²_F/m (Li et al. eqs. 8-9): all a linear network needs."""

    xx: np.ndarray
    yx: np.ndarray
    yy_trace: float
    samples: int

    @property
    def dim(self) -> int:
        return int(self.xx.shape[0])


def second_moments(X: np.ndarray, Y: np.ndarray) -> SecondMoments:
    """Second-moment statistics of data with samples as rows."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m = X.shape[0]
    return SecondMoments(xx=X.T @ X / m, yx=Y.T @ X / m, yy_trace=float(np.sum(Y * Y) / m), samples=m)


def optimal_linear_map(moments: SecondMoments) -> np.ndarray:
    """W* = Σ_YX Σ_XX⁺ (eq. 15, with the Moore-Penrose inverse as the generalised inverse)."""
    return moments.yx @ np.linalg.pinv(moments.xx, hermitian=True)


def linear_loss_of_map(end_to_end: np.ndarray, moments: SecondMoments) -> np.ndarray:
    """L(M) = ½ tr Σ_YY − ⟨M, Σ_YX⟩ + ½ ⟨M Σ_XX, M⟩ for end-to-end maps M of shape (..., d, d)."""
    m = end_to_end
    return 0.5 * moments.yy_trace - np.sum(m * moments.yx, axis=(-2, -1)) + 0.5 * np.sum(
        (m @ moments.xx) * m, axis=(-2, -1)
    )


def optimal_linear_loss(moments: SecondMoments) -> float:
    """L_min = 1/(2m) ‖Y − W* X‖²_F (eq. 16): the loss of the best linear map, a lower bound for linear nets."""
    return float(linear_loss_of_map(optimal_linear_map(moments), moments))


def linear_loss_gap(
    end_to_end: np.ndarray, moments: SecondMoments, optimal_map: np.ndarray | None = None
) -> np.ndarray:
    """L(M) − L_min = ½ tr((M − W*) Σ_XX (M − W*)ᵀ), computed without cancellation (batched over M).

    ``optimal_map`` is W* if already known (`optimal_linear_map`), to save its pseudo-inverse."""
    diff = end_to_end - (optimal_linear_map(moments) if optimal_map is None else optimal_map)
    return 0.5 * np.sum((diff @ moments.xx) * diff, axis=(-2, -1))


def compressed_data(moments: SecondMoments) -> tuple[np.ndarray, np.ndarray]:
    """d samples (X̃, Ỹ) with the same Σ_XX and Σ_YX as the data the moments came from.

    X̃ = √d Σ_XX^{1/2} and Ỹ = X̃ Σ_XX⁺ Σ_YXᵀ. A linear network has the same gradient and Hessian on
    (X̃, Ỹ) as on the full data (its loss differs by a constant), so per-sample code costs O(d) per sample
    set instead of O(m). Used for Hessian-vector products of linear networks.
    """
    d = moments.dim
    vals, vecs = np.linalg.eigh(moments.xx)
    root = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T
    Xc = np.sqrt(d) * root
    Yc = Xc @ np.linalg.pinv(moments.xx, hermitian=True) @ moments.yx.T
    return Xc, Yc


# --- per-sample forward / backward (any activation, batched over leading weight axes) ---------------------


def _t(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a, -1, -2)


def forward(net: ShortcutNet, weights: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Network outputs F(X), shape (*batch, m, d), for inputs X (m, d)."""
    return _forward(net, weights, X)[0]


def _forward(net: ShortcutNet, weights: np.ndarray, X: np.ndarray):
    """Forward pass keeping what the backward passes need: unit inputs h, layer inputs u, pre-activations z."""
    h = np.asarray(X, dtype=np.float64)
    unit_inputs, layer_inputs, pre_acts = [], [], []
    n = net.unit_layers
    for r in range(net.units):
        unit_inputs.append(h)
        a = _act(net.act_pre, h)
        for l in range(n):
            z = a @ _t(weights[..., r, l, :, :])
            layer_inputs.append(a)
            pre_acts.append(z)
            if l < n - 1:
                a = _act(net.act_mid, z)
        out = _act(net.act_post, z)
        h = h + out if net.shortcut else out
    return h, unit_inputs, layer_inputs, pre_acts


def loss(net: ShortcutNet, weights: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """L = 1/(2m) ‖Y − F(X)‖²_F (Li et al. eq. 6), per sample; shape (*batch)."""
    F = forward(net, weights, X)
    return 0.5 * np.sum((F - Y) ** 2, axis=(-2, -1)) / X.shape[0]


def loss_and_gradient(net: ShortcutNet, weights: np.ndarray, X: np.ndarray, Y: np.ndarray):
    """Loss (*batch) and gradient (*batch, R, n, d, d) by backpropagation over the samples (rows of X)."""
    F, unit_inputs, layer_inputs, pre_acts = _forward(net, weights, X)
    m = X.shape[0]
    residual = F - Y
    value = 0.5 * np.sum(residual**2, axis=(-2, -1)) / m
    grad = np.empty(np.broadcast_shapes(weights.shape, F.shape[:-2] + net.weight_shape))
    n = net.unit_layers
    g = residual / m  # dL/dh at the output
    for r in reversed(range(net.units)):
        t = r * n + n - 1
        delta = g * _act_d1(net.act_post, pre_acts[t])
        for l in reversed(range(n)):
            t = r * n + l
            grad[..., r, l, :, :] = _t(delta) @ layer_inputs[t]
            back = delta @ weights[..., r, l, :, :]
            if l > 0:
                delta = back * _act_d1(net.act_mid, pre_acts[t - 1])
            else:
                back = back * _act_d1(net.act_pre, unit_inputs[r])
                g = g + back if net.shortcut else back
    return value, grad


# --- linear networks from second moments (batched) ---------------------------------------------------------


def _input_maps(net: ShortcutNet, weights: np.ndarray, eye: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """B_t for every layer t (*batch, R·n, d, d) and the end-to-end map M (*batch, d, d) of a linear network.

    One product per layer: inside unit r, B_{t+1} = W_t B_t starting from the unit's input map P_r; the
    unit's output map is P_{r+1} = P_r + W_n…W_1 P_r (plain network: without P_r); M = P_R.
    """
    d, n, R = net.dim, net.unit_layers, net.units
    before = np.empty(weights.shape[:-4] + (R * n, d, d))
    prefix = eye
    for r in range(R):
        running = prefix
        for l in range(n):
            before[..., r * n + l, :, :] = running
            running = weights[..., r, l, :, :] @ running
        prefix = prefix + running if net.shortcut else running
    return before, prefix


def _linear_products(net: ShortcutNet, weights: np.ndarray):
    """For every layer t: B_t (the map from the input to the layer's input) and A_t (from its output to the
    network output), so that the end-to-end map is M = A_t W_t B_t (+ terms free of W_t) — eq. (10)."""
    d = net.dim
    batch = weights.shape[:-4]
    eye = np.broadcast_to(np.eye(d), batch + (d, d))
    n, R = net.unit_layers, net.units
    before, prefix = _input_maps(net, weights, eye)
    after = np.empty(batch + (R * n, d, d))
    suffix = eye
    for r in reversed(range(R)):
        running = suffix
        for l in reversed(range(n)):
            after[..., r * n + l, :, :] = running
            running = running @ weights[..., r, l, :, :]
        suffix = suffix + running if net.shortcut else running
    return before, after, prefix


def end_to_end_map(net: ShortcutNet, weights: np.ndarray) -> np.ndarray:
    """M with F(x) = M x for a linear network (eq. 5), shape (*batch, d, d)."""
    d = net.dim
    M = np.broadcast_to(np.eye(d), weights.shape[:-4] + (d, d))
    for r in range(net.units):
        inner = np.broadcast_to(np.eye(d), M.shape)
        for l in range(net.unit_layers):
            inner = weights[..., r, l, :, :] @ inner
        M = (inner + np.eye(d) if net.shortcut else inner) @ M
    return M


def linear_loss(net: ShortcutNet, weights: np.ndarray, moments: SecondMoments) -> np.ndarray:
    """Loss of a linear network from the second moments (equals the per-sample loss); shape (*batch)."""
    _require_linear(net)
    return linear_loss_of_map(end_to_end_map(net, weights), moments)


def linear_loss_and_gradient(net: ShortcutNet, weights: np.ndarray, moments: SecondMoments):
    """Loss (*batch), gradient (*batch, R, n, d, d) and end-to-end map M of a linear network.

    ∂L/∂W_t = A_tᵀ (M Σ_XX − Σ_YX) B_tᵀ — the GD update of Li et al. eq. (7) with W_after, W_before
    written A_t, B_t. Cost O(depth · d³), independent of the number of samples.
    """
    _require_linear(net)
    d, n, R = net.dim, net.unit_layers, net.units
    batch = weights.shape[:-4]
    before, M = _input_maps(net, weights, np.broadcast_to(np.eye(d), batch + (d, d)))
    value = linear_loss_of_map(M, moments)
    G = M @ moments.xx - moments.yx
    # Backward pass carrying A_tᵀ G directly (one product per layer): Z ← W_tᵀ Z inside a unit.
    AtG = np.empty(batch + (R * n, d, d))
    suffix_G = G
    for r in reversed(range(R)):
        running = suffix_G
        for l in reversed(range(n)):
            AtG[..., r * n + l, :, :] = running
            running = _t(weights[..., r, l, :, :]) @ running
        suffix_G = suffix_G + running if net.shortcut else running
    grad = AtG @ _t(before)
    return value, grad.reshape(batch + net.weight_shape), M


def _require_linear(net: ShortcutNet) -> None:
    if not net.is_linear:
        raise ValueError("second-moment formulas hold for linear networks only (all activations identity)")


def linear_hessian(net: ShortcutNet, weights: np.ndarray, moments: SecondMoments) -> np.ndarray:
    """Exact Hessian (P × P) of a linear n-shortcut (or plain) network, assembled from Kronecker blocks.

    With M = A_t W_t B_t + …, G = M Σ_XX − Σ_YX and C_ts the product of the matrices strictly between
    layers s < t on the path through both, the block of layers (t, s) is

        H[(t,i,j),(s,k,l)] = (A_tᵀA_s)[i,k] (B_t Σ_XX B_sᵀ)[j,l]  +  (A_tᵀ G B_sᵀ)[i,l] C_ts[j,k]   (s < t)

    (the first term alone for s = t; blocks above the diagonal by symmetry). Cost O(depth² d⁴) for the
    P² entries plus O(depth² d³) for the products — nothing per sample (docs/hessian.md).
    """
    _require_linear(net)
    if weights.ndim != 4:
        raise ValueError("linear_hessian takes one set of weights (R, n, d, d)")
    d, n, R, L = net.dim, net.unit_layers, net.units, net.depth
    before, after, M = _linear_products(net, weights)
    G = M @ moments.xx - moments.yx
    eye = np.eye(d)
    # Within-unit partial products: Sb[t] = W_{l-1}…W_1 (before layer t), Sa[t] = W_n…W_{l+1} (after it).
    Sb = np.empty((L, d, d))
    Sa = np.empty((L, d, d))
    units = np.empty((R, d, d))
    for r in range(R):
        inner = eye
        for l in range(n):
            Sb[r * n + l] = inner
            inner = weights[r, l] @ inner
        units[r] = inner + eye if net.shortcut else inner
        inner = eye
        for l in reversed(range(n)):
            Sa[r * n + l] = inner
            inner = inner @ weights[r, l]
    # between[r1, r2] = U_{r1-1} … U_{r2+1} for r1 > r2.
    between = np.zeros((R, R, d, d))
    for r2 in range(R):
        running = eye
        for r1 in range(r2 + 1, R):
            between[r1, r2] = running
            running = units[r1] @ running
    unit_of = np.repeat(np.arange(R), n)
    layer_of = np.tile(np.arange(n), R)
    C = Sb[:, None] @ between[unit_of[:, None], unit_of[None, :]] @ Sa[None, :]
    # Same unit, l_s < l_t: C_ts = W_{l_t-1} … W_{l_s+1}.
    for r in range(R):
        for lt in range(n):
            inner = eye
            for ls in reversed(range(lt)):
                C[r * n + lt, r * n + ls] = inner
                inner = inner @ weights[r, ls]
    lower = (unit_of[:, None] * n + layer_of[:, None]) > (unit_of[None, :] * n + layer_of[None, :])
    C = np.where(lower[:, :, None, None], C, 0.0)
    N = np.where(lower[:, :, None, None], (_t(after) @ G)[:, None] @ _t(before)[None, :], 0.0)
    # Upper blocks by symmetry: block(t, s) = block(s, t)ᵀ swaps the roles of N and C.
    N_full = N + _t(np.swapaxes(C, 0, 1))
    C_full = C + _t(np.swapaxes(N, 0, 1))
    AtA = _t(after)[:, None] @ after[None, :]
    BSB = (before @ moments.xx)[:, None] @ _t(before)[None, :]
    AtA = _symmetric_blocks(AtA)
    BSB = _symmetric_blocks(BSB)
    # H6[t, i, j, s, k, l], written in place: one P × P array, small temporaries (one block row at a time)
    H6 = np.empty((L, d, d, L, d, d))
    np.multiply(
        AtA.transpose(0, 2, 1, 3)[:, :, None, :, :, None], BSB.transpose(0, 2, 1, 3)[:, None, :, :, None, :], out=H6
    )
    N6 = N_full.transpose(0, 2, 1, 3)[:, :, None, :, None, :]
    C6 = C_full.transpose(0, 2, 1, 3)[:, None, :, :, :, None]
    for t in range(L):
        H6[t] += N6[t] * C6[t]
    return H6.reshape(net.n_params, net.n_params)


def hessian_blocks(net: ShortcutNet, weights: np.ndarray, moments: SecondMoments) -> BlockMatrix | None:
    """The Hessian as a `resnet_cli.eigen.BlockMatrix` where its block structure is known, else None.

    Known: a linear n-shortcut network (n ≥ 2) at w = 0 exactly. There A_t = 0 unless t is the last layer
    of its unit and B_t = 0 unless t is the first (products through a zero layer), so in `linear_hessian`
    the term (A_tᵀA_s) ⊗ (B_t Σ_XX B_sᵀ) vanishes and (A_tᵀ G B_sᵀ) C_ts survives only for t = last, s = first
    layer of the same unit (C_ts = I for n = 2, a product of zero layers for n ≥ 3): one n·d² × n·d² block
    per unit, the same for every unit (Li et al. 2017 Theorem 1, eqs. 19-22). That block is the Hessian of a
    single unit at zero (`linear_hessian`), built once — the P × P matrix is never formed."""
    if not (net.is_linear and net.shortcut and net.unit_layers >= 2) or np.any(weights):
        return None
    one = ShortcutNet(net.dim, 1, net.unit_layers, True)
    block = linear_hessian(one, np.zeros(one.weight_shape), moments)
    size = one.n_params
    return BlockMatrix(net.n_params, [np.arange(r * size, (r + 1) * size) for r in range(net.units)],
                       [block] * net.units)


def _symmetric_blocks(K: np.ndarray) -> np.ndarray:
    """Make K[t, s] = K[s, t]ᵀ exactly, keeping the lower blocks (and the symmetric part of diagonal ones)."""
    L = K.shape[0]
    lower = np.tril(np.ones((L, L), dtype=bool), -1)[:, :, None, None]
    out = np.where(lower, K, _t(np.swapaxes(K, 0, 1)))
    diag = np.arange(L)
    out[diag, diag] = 0.5 * (K[diag, diag] + _t(K[diag, diag]))
    return out


# --- exact Hessian of nonlinear networks ---------------------------------------------------------------------


def nonlinear_hessian(net: ShortcutNet, weights: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Exact Hessian (P × P) of the per-sample loss for any activations (one set of weights).

    Method (a vectorised form of Bishop 1992's exact Hessian, which Li et al. Appendix B use): the loss
    depends on W_s only through z_s = W_s u_s, so ∂/∂W_s[k,l] = u_s[l] · ∂/∂z_s[k] for every quantity
    downstream of layer s. Forward tangents of all pre-activations z_s (d directions per layer, all layers
    at once) are pushed through the network and through a second-order backward pass, giving for t ≥ s

        H[(t,i,j),(s,k,l)] = Σ_μ u_s[l] ( ∂δ_t[i]/∂z_s[k] · u_t[j]  +  δ_t[i] · ∂u_t[j]/∂z_s[k] ),

    δ_t = ∂L/∂z_t. Samples are processed in chunks (the Hessian is a sum over samples); no Python loop runs
    over parameters or samples. Cost O(m · depth² · d⁴).
    """
    if weights.ndim != 4:
        raise ValueError("nonlinear_hessian takes one set of weights (R, n, d, d)")
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m = X.shape[0]
    d, L = net.dim, net.depth
    per_sample = 8 * 1.2 * d * d * L * (L + 1) + 1
    chunk = int(max(1, min(m, TANGENT_BUDGET_BYTES // per_sample)))
    H = np.zeros((L * d * d, L * d * d))
    for start in range(0, m, chunk):
        H += _nonlinear_hessian_chunk(net, weights, X[start : start + chunk], Y[start : start + chunk], m)
    H = H + H.T  # the chunks filled the lower blocks (diagonal blocks halved)
    return H


def _nonlinear_hessian_chunk(net, W, X, Y, m_total):
    d, n, R, L = net.dim, net.unit_layers, net.units, net.depth
    dd = d * d
    F, unit_inputs, layer_inputs, pre_acts = _forward(net, W, X)
    mc = X.shape[0]
    eye = np.broadcast_to(np.eye(d), (mc, d, d))
    # Forward tangents. Directions are (source layer s, coordinate k); at layer t only sources s <= t exist.
    Ru = [None] * L  # (mc, t*d, d): tangents of layer inputs u_t for sources s < t
    Rz = [None] * L  # (mc, (t+1)*d, d): tangents of pre-activations z_t for sources s <= t
    Rh_in = [None] * R  # tangents of unit inputs, sources before the unit
    Rh = np.zeros((mc, 0, d))
    for r in range(R):
        Rh_in[r] = Rh
        Ra = _act_d1(net.act_pre, unit_inputs[r])[:, None, :] * Rh if net.act_pre != "identity" else Rh
        for l in range(n):
            t = r * n + l
            Ru[t] = Ra
            z_tan = _right_multiply(Ra, W[r, l].T)
            Rz[t] = np.concatenate([z_tan, eye], axis=1)
            if l < n - 1:
                Ra = _act_d1(net.act_mid, pre_acts[t])[:, None, :] * Rz[t] if net.act_mid != "identity" else Rz[t]
        post = Rz[r * n + n - 1]
        if net.act_post != "identity":
            post = _act_d1(net.act_post, pre_acts[r * n + n - 1])[:, None, :] * post
        if net.shortcut:
            post = post + np.concatenate([Rh, np.zeros((mc, post.shape[1] - Rh.shape[1], d))], axis=1)
        Rh = post
    # Second-order backward pass.
    U_rows = np.stack(layer_inputs, axis=1)  # (mc, L, d): u_s[μ, l]
    H = np.zeros((L * dd, L * dd))
    g = (F - Y) / m_total
    Rg = Rh / m_total  # (mc, L*d, d)
    for r in reversed(range(R)):
        t = r * n + n - 1
        delta, Rdelta = _through_activation(net.act_post, pre_acts[t], g, Rg[:, : (t + 1) * d], Rz[t])
        for l in reversed(range(n)):
            t = r * n + l
            u = layer_inputs[t]
            S = (t + 1) * d
            # Σ_μ as batched BLAS products over the source layers s, with d²-sized sample factors:
            #   term 1: Σ_μ Rδ[μ,(s,k),i] · (u_t[μ,j] u_s[μ,l]);   term 2: Σ_μ Ru[μ,(s,k),j] · (δ[μ,i] u_s[μ,l])
            Us = U_rows[:, : t + 1, :]
            uu = (u[:, None, :, None] * Us[:, :, None, :]).reshape(mc, t + 1, dd).transpose(1, 0, 2)
            first = Rdelta.reshape(mc, t + 1, dd).transpose(1, 2, 0) @ uu  # (s, (k,i), (j,l))
            block = first.reshape(t + 1, d, d, d, d).transpose(2, 3, 0, 1, 4)  # (i, j, s, k, l)
            if t > 0 and Ru[t].shape[1]:
                du = (delta[:, None, :, None] * Us[:, :t, None, :]).reshape(mc, t, dd).transpose(1, 0, 2)
                second = Ru[t].reshape(mc, t, dd).transpose(1, 2, 0) @ du  # (s, (k,j), (i,l))
                block[:, :, :t] += second.reshape(t, d, d, d, d).transpose(3, 2, 0, 1, 4)
            block = block.reshape(dd, S * d)
            block[:, t * dd :] *= 0.5  # diagonal block: halved, completed by H + Hᵀ
            H[t * dd : (t + 1) * dd, : (t + 1) * dd] = block
            back = delta @ W[r, l]
            Rback = _right_multiply(Rdelta[:, : t * d], W[r, l])
            if l > 0:
                delta, Rdelta = _through_activation(net.act_mid, pre_acts[t - 1], back, Rback, Rz[t - 1])
            else:
                gp, Rgp = _through_activation(net.act_pre, unit_inputs[r], back, Rback, Rh_in[r])
                if net.shortcut:
                    g, Rg = g + gp, Rg[:, : t * d] + Rgp
                else:
                    g, Rg = gp, Rgp
    return H


def _right_multiply(stack: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """stack (…, d) @ matrix as one 2-d BLAS product."""
    flat = np.ascontiguousarray(stack).reshape(-1, stack.shape[-1]) @ matrix
    return flat.reshape(stack.shape[:-1] + (matrix.shape[1],))


def _through_activation(name, x, grad_out, R_grad_out, R_x):
    """Backward through σ at inputs x: δ = g ∘ σ'(x) and its tangent Rδ = Rg ∘ σ'(x) + g ∘ σ''(x) ∘ Rx."""
    if name == "identity":
        return grad_out, R_grad_out
    d1 = _act_d1(name, x)
    delta = grad_out * d1
    R_delta = R_grad_out * d1[:, None, :]
    d2 = _act_d2(name, x)
    if d2 is not None:
        R_delta = R_delta + (grad_out * d2)[:, None, :] * R_x
    return delta, R_delta


def hessian(
    net: ShortcutNet,
    weights: np.ndarray,
    X: np.ndarray | None = None,
    Y: np.ndarray | None = None,
    moments: SecondMoments | None = None,
) -> np.ndarray:
    """Exact Hessian (P × P): from second moments for linear networks, else `nonlinear_hessian`."""
    if net.is_linear:
        return linear_hessian(net, weights, moments if moments is not None else second_moments(X, Y))
    if X is None or Y is None:
        raise ValueError("a nonlinear network needs the samples X, Y")
    return nonlinear_hessian(net, weights, X, Y)


# --- Hessian-vector products (for Lanczos) ------------------------------------------------------------------


def hessian_vector_products(
    net: ShortcutNet,
    weights: np.ndarray,
    vectors: np.ndarray,
    X: np.ndarray | None = None,
    Y: np.ndarray | None = None,
    moments: SecondMoments | None = None,
) -> np.ndarray:
    """H v for a block of vectors (k, P), by Pearlmutter's R-operator on forward and backward passes.

    Linear networks run on `compressed_data` (d samples with the same second moments), so the cost is
    independent of the number of samples; nonlinear ones run on X, Y. One array program for all k vectors.
    """
    if net.is_linear:
        if moments is None:
            moments = second_moments(X, Y)
        X, Y = compressed_data(moments)
        m_total = X.shape[0]
    elif X is None or Y is None:
        raise ValueError("a nonlinear network needs the samples X, Y")
    else:
        m_total = X.shape[0]
    V = unflatten(np.asarray(vectors, dtype=np.float64), net)  # (k, R, n, d, d)
    W = weights
    n, R = net.unit_layers, net.units
    F, unit_inputs, layer_inputs, pre_acts = _forward(net, W, X)
    k = V.shape[0]
    Rh = np.zeros((k,) + F.shape)
    Ru, Rz, Rh_in = [], [], []
    for r in range(R):
        Rh_in.append(Rh)
        Ra = _act_d1(net.act_pre, unit_inputs[r]) * Rh
        for l in range(n):
            t = r * n + l
            Ru.append(Ra)
            Rz.append(Ra @ W[r, l].T + layer_inputs[t] @ _t(V[:, r, l]))
            if l < n - 1:
                Ra = _act_d1(net.act_mid, pre_acts[t]) * Rz[t]
        post = _act_d1(net.act_post, pre_acts[r * n + n - 1]) * Rz[r * n + n - 1]
        Rh = Rh + post if net.shortcut else post
    out = np.empty_like(V)
    g = (F - Y) / m_total
    Rg = Rh / m_total
    for r in reversed(range(R)):
        t = r * n + n - 1
        delta, Rdelta = _through_activation_k(net.act_post, pre_acts[t], g, Rg, Rz[t])
        for l in reversed(range(n)):
            t = r * n + l
            out[:, r, l] = _t(Rdelta) @ layer_inputs[t] + delta.T @ Ru[t]
            back = delta @ W[r, l]
            Rback = Rdelta @ W[r, l] + delta @ V[:, r, l]
            if l > 0:
                delta, Rdelta = _through_activation_k(net.act_mid, pre_acts[t - 1], back, Rback, Rz[t - 1])
            else:
                gp, Rgp = _through_activation_k(net.act_pre, unit_inputs[r], back, Rback, Rh_in[r])
                g, Rg = (g + gp, Rg + Rgp) if net.shortcut else (gp, Rgp)
    return flatten(out, net)


def _through_activation_k(name, x, grad_out, R_grad_out, R_x):
    """As `_through_activation`, with the direction axis first: R arrays are (k, m, d)."""
    if name == "identity":
        return grad_out, R_grad_out
    d1 = _act_d1(name, x)
    d2 = _act_d2(name, x)
    R_delta = R_grad_out * d1
    if d2 is not None:
        R_delta = R_delta + grad_out * d2 * R_x
    return grad_out * d1, R_delta


# --- Theorem 1 ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Theorem1Prediction:
    """What Theorem 1 of Li et al. (2017) says about the Hessian at w = 0.

    ``case``: "n>=3" (H = 0), "n=2" (eigenvalues ±c·σ_i(A), each R·d times; c = σ'_mid(0)σ'_post(0),
    A = Σ_{Xσpre(X)} − Σ_{Yσpre(X)}), "n=1" (block-Toeplitz: every diagonal block B, every block below the
    diagonal A, above Aᵀ). ``eigenvalues`` are the predicted eigenvalues (ascending); ``blocks`` the
    predicted d²×d² blocks of one unit ("n=2": the (W_2, W_1) block; "n=1": (B, A)).
    """

    case: str
    eigenvalues: np.ndarray
    coefficient: float
    matrix_A: np.ndarray | None
    blocks: tuple[np.ndarray, ...]
    net: ShortcutNet

    def matvec(self, vectors: np.ndarray) -> np.ndarray:
        """H_pred v for a block of vectors (k, P), without forming H_pred."""
        net = self.net
        V = unflatten(np.asarray(vectors, dtype=np.float64), net)
        if self.case == "n>=3":
            return np.zeros_like(vectors, dtype=np.float64)
        d, R = net.dim, net.units
        if self.case == "n=2":
            c, A = self.coefficient, self.matrix_A
            out = np.empty_like(V)
            # block (W2, W1)[(i,j),(k,l)] = c δ_jk A[i,l]  =>  (Hv)_2 = c A v_1ᵀ,  (Hv)_1 = c v_2ᵀ A
            # as two GEMMs over all (vector, unit) pairs: V (k, R, 2, d, d)
            v1 = np.ascontiguousarray(V[:, :, 0]).reshape(-1, d)
            out[:, :, 1] = _t((v1 @ (c * A).T).reshape(V.shape[0], R, d, d))
            v2 = np.ascontiguousarray(_t(V[:, :, 1])).reshape(-1, d)
            out[:, :, 0] = (v2 @ (c * A)).reshape(V.shape[0], R, d, d)
            return flatten(out, net)
        B, A = self.blocks
        v = V[:, :, 0].reshape(V.shape[0], R, d * d)
        csum = np.cumsum(v, axis=1)
        earlier = np.concatenate([np.zeros_like(v[:, :1]), csum[:, :-1]], axis=1)
        later = csum[:, -1:] - csum
        out = v @ B.T + earlier @ A.T + later @ A
        return out.reshape(vectors.shape)

    def dense(self) -> np.ndarray:
        """The predicted Hessian as a dense (P × P) matrix (small networks)."""
        return self.matvec(np.eye(self.net.n_params)).T


def theorem1_prediction(net: ShortcutNet, X: np.ndarray, Y: np.ndarray) -> Theorem1Prediction | None:
    """Theorem 1 of Li et al. (2017) at w = 0; None for the plain network (the theorem is about shortcuts).

    n = 2: eq. (19)-(22), A = σ'_mid(0) σ'_post(0) (Σ_{Xσpre(X)} − Σ_{Yσpre(X)}). n = 1: eqs. (23)-(28)
    generalised to any σ_pre and σ_post (with σ_post(0) = 0): with P = σ_pre(X), D = σ'_pre(X),
    E = Y − X, c1 = σ'_post(0),
      B[(i,j),(k,l)] = c1² δ_ik Σ_PP[j,l]   (σ''_post(0) = 0 for all three activations),
      A[(i,j),(k,l)] = c1² (δ_ik Σ_PP[j,l] − δ_jk mean(E_i D_j P_l))   (A: later unit × earlier unit),
    which for σ_pre = σ_post = identity are the paper's B = I ⊗ Σ_XX and A = B + (Σ_XX − Σ_YX) blocks.
    """
    if not net.shortcut:
        return None
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    m, d, R, n = X.shape[0], net.dim, net.units, net.unit_layers
    P = _act(net.act_pre, X)
    if n >= 3:
        return Theorem1Prediction("n>=3", np.zeros(net.n_params), 0.0, None, (), net)
    if n == 2:
        c = activation_derivative_at_zero(net.act_mid) * activation_derivative_at_zero(net.act_post)
        A = (X.T @ P - Y.T @ P) / m
        s = np.linalg.svd(A, compute_uv=False)
        vals = np.concatenate([-c * s, c * s])
        eig = np.sort(np.repeat(vals, R * d))
        eye = np.eye(d)
        block = c * np.einsum("jk,il->ijkl", eye, A).reshape(d * d, d * d)
        return Theorem1Prediction("n=2", eig, c, A, (block,), net)
    c1 = activation_derivative_at_zero(net.act_post)
    # σ''_post(0) = 0 for identity, tanh and (by convention) ReLU, so B has no curvature term.
    E = Y - X
    D = _act_d1(net.act_pre, X) * np.ones_like(X)
    Spp = P.T @ P / m
    eye = np.eye(d)
    EDP = np.einsum("mi,mj,ml->ijl", E, D, P) / m
    B = c1 * c1 * np.einsum("ik,jl->ijkl", eye, Spp).reshape(d * d, d * d)
    A = c1 * c1 * (np.einsum("ik,jl->ijkl", eye, Spp) - np.einsum("jk,ijl->ijkl", eye, EDP)).reshape(d * d, d * d)
    pred = Theorem1Prediction("n=1", np.empty(0), c1 * c1, None, (B, A), net)
    eig = np.linalg.eigvalsh(pred.dense()) if net.n_params <= 4096 else np.empty(0)
    return Theorem1Prediction("n=1", eig, c1 * c1, None, (B, A), net)


# --- gradient descent, batched over runs and learning rates -------------------------------------------------


@dataclass
class GDResult:
    """Outcome of full-batch gradient descent on a batch of networks (leading axes ``batch``).

    ``losses[e]`` is the loss at the weights after e epochs (e = 0 … epochs); ``gaps[e]`` = losses[e] − L_min
    (computed without cancellation for linear networks). A member whose loss or gradient stopped being
    finite, or whose loss grew beyond ``BLOWUP`` × max(its initial loss, 1), is ``diverged`` (at
    ``diverged_epoch``); from then on it is frozen, its losses are inf and ``weights`` holds the weights
    of the epoch before.
    """

    weights: np.ndarray
    losses: np.ndarray
    gaps: np.ndarray
    grad_norms: np.ndarray
    diverged: np.ndarray
    diverged_epoch: np.ndarray
    l_min: float


def gradient_descent(
    net: ShortcutNet,
    weights: np.ndarray,
    learning_rates: np.ndarray | float,
    epochs: int,
    *,
    X: np.ndarray | None = None,
    Y: np.ndarray | None = None,
    moments: SecondMoments | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> GDResult:
    """Full-batch GD W ← W − η ∇L for `epochs` epochs on a batch of networks at once.

    ``weights`` (*wbatch, R, n, d, d) and ``learning_rates`` (*lbatch) broadcast together to the batch shape,
    e.g. initial weights of shape (runs, R, n, d, d) against rates of shape (k, 1) give a (k, runs) batch. Linear networks step from the second moments (cost
    O(depth·d³) per step whatever m, Li et al. eq. 7); nonlinear ones backpropagate over X, Y. Every member
    evolves exactly as it would alone: the result equals one-member-at-a-time runs. Divergence (NaN/inf)
    is recorded per member, never raised. ``progress(epoch, epochs)`` is called after each epoch.
    """
    if epochs < 0:
        raise ValueError("epochs must be >= 0")
    weights = np.asarray(weights, dtype=np.float64)
    lrs = np.asarray(learning_rates, dtype=np.float64)
    batch = np.broadcast_shapes(weights.shape[:-4], lrs.shape)
    W = np.array(np.broadcast_to(weights, batch + net.weight_shape), copy=True)
    lrs = np.broadcast_to(lrs, batch)
    if net.is_linear:
        if moments is None:
            moments = second_moments(X, Y)
    elif X is None or Y is None:
        raise ValueError("a nonlinear network needs the samples X, Y")
    l_min = optimal_linear_loss(moments if moments is not None else second_moments(X, Y))
    record = GDResult(W, np.full((epochs + 1,) + batch, np.inf), np.full((epochs + 1,) + batch, np.inf),
                      np.full((epochs + 1,) + batch, np.nan), np.zeros(batch, dtype=bool),
                      np.full(batch, -1, dtype=np.int64), l_min)
    w_star = optimal_linear_map(moments) if net.is_linear else None
    limit: list[np.ndarray] = []  # the divergence threshold, fixed at epoch 0

    def evaluate(W: np.ndarray, W_before: np.ndarray, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Loss and gradient at W (epoch `epoch`), recorded; members that just diverged go back to W_before."""
        if net.is_linear:
            value, grad, M = linear_loss_and_gradient(net, W, moments)
            gap = linear_loss_gap(M, moments, w_star)
        else:
            value, grad = loss_and_gradient(net, W, X, Y)
            gap = value - l_min
        if not limit:
            limit.append(BLOWUP * np.maximum(np.where(np.isfinite(value), value, 1.0), 1.0))
        gnorm = np.sqrt(np.sum(grad * grad, axis=(-4, -3, -2, -1)))
        bad = ~(np.isfinite(value) & np.isfinite(gnorm) & (value <= limit[0])) & ~record.diverged
        if np.any(bad):
            record.diverged_epoch = np.where(bad, epoch, record.diverged_epoch)
            record.diverged = record.diverged | bad
            W = np.where(bad[..., None, None, None, None], W_before, W)
        ok = ~record.diverged
        record.losses[epoch] = np.where(ok, value, np.inf)
        record.gaps[epoch] = np.where(ok, gap, np.inf)
        record.grad_norms[epoch] = np.where(ok, gnorm, np.nan)
        return W, grad, ok

    def step(state: tuple[np.ndarray, np.ndarray], epoch: int) -> tuple[np.ndarray, np.ndarray]:
        W, grad, ok = evaluate(*state, epoch)
        rate = np.where(ok, lrs, 0.0)[..., None, None, None, None]
        return np.where(ok[..., None, None, None, None], W - rate * grad, W), W

    callback = None if progress is None else (lambda state, done: progress(done, epochs))
    (W, W_before), _ = descend(step, (W, W), epochs, callback=callback)
    with np.errstate(all="ignore"):
        record.weights = evaluate(W, W_before, epochs)[0]
    return record
