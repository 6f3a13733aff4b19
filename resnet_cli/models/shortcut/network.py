"""Activations, the architecture, initialisation, second moments and the per-sample forward and
backward passes of n-shortcut networks (Li et al. 2017; conventions in resnet_cli/models/shortcut/__init__.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_cli.errors import ConfigError

ACTIVATIONS = ("identity", "relu", "tanh")
INITS = ("zero", "small", "xavier", "orthogonal")
SMALL_INIT_SCALE = 0.01  # Li et al. §4.1: Xavier, then multiplied by 0.01

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
    plain networks with 2-shortcut ones, hence the default 2). A 1-shortcut unit has no mid position: its
    `act_mid` is the identity, whatever is given. When all activations are the identity the
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
    if shortcut == 1:  # a unit of one layer has no mid position: its activation would change nothing
        acts["act_mid"] = "identity"
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
    """L(M) = ½ tr Σ_YY − ⟨M, Σ_YX⟩ + ½ ⟨M Σ_XX, M⟩ for end-to-end maps M of shape (..., d, d); a mean
    square, so never below 0 (the cancellation can round to −2e-16 where the fit is exact: that is 0)."""
    m = end_to_end
    return np.maximum(0.5 * moments.yy_trace - np.sum(m * moments.yx, axis=(-2, -1)) + 0.5 * np.sum(
        (m @ moments.xx) * m, axis=(-2, -1)
    ), 0.0)


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


def _buffer(workspace: dict, key: object, shape: tuple[int, ...]) -> np.ndarray:
    """A float64 array of `shape` kept in `workspace` under `key` (allocated on first use, then reused)."""
    buf = workspace.get(key)
    if buf is None or buf.shape != shape:
        buf = workspace[key] = np.empty(shape)
    return buf


def _act_into(name: str, x: np.ndarray, workspace: dict, key: object) -> np.ndarray:
    """σ(x) written into a workspace buffer (the identity returns x itself): the values of `_act`."""
    if name == "identity":
        return x
    out = _buffer(workspace, key, x.shape)
    return np.maximum(x, 0.0, out=out) if name == "relu" else np.tanh(x, out=out)


def _forward(net: ShortcutNet, weights: np.ndarray, X: np.ndarray, workspace: dict | None = None):
    """Forward pass keeping what the backward passes need: unit inputs h, layer inputs u, pre-activations z.

    Every array is written into `workspace` buffers (allocated once per shape; a GD loop passes the same dict
    at every step, so a step allocates nothing per layer): the returned arrays are views of those buffers,
    valid until the next call with the same workspace. Same operations in the same order as one fresh
    array per layer, so the values are bitwise the same."""
    workspace = {} if workspace is None else workspace
    h = np.asarray(X, dtype=np.float64)
    unit_inputs, layer_inputs, pre_acts = [], [], []
    n = net.unit_layers
    shape = np.broadcast_shapes(weights.shape[:-4] + (1, 1), h.shape)
    Z = _buffer(workspace, "z", (net.depth,) + shape)
    # Wᵀ of every layer, contiguous: a product with a contiguous right factor runs ~1.5× faster in numpy's
    # stacked matmul than with the transposed view, and gives the same numbers (tests/models/test_shortcut.py)
    transposed = np.ascontiguousarray(_t(weights))
    for r in range(net.units):
        unit_inputs.append(h)
        a = _act_into(net.act_pre, h, workspace, ("pre", r))
        for l in range(n):
            z = np.matmul(a, transposed[..., r, l, :, :], out=Z[r * n + l])
            layer_inputs.append(a)
            pre_acts.append(z)
            if l < n - 1:
                a = _act_into(net.act_mid, z, workspace, ("mid", r * n + l))
        out = _act_into(net.act_post, z, workspace, ("post", r))
        h = np.add(h, out, out=_buffer(workspace, ("h", r), shape)) if net.shortcut else out
    return h, unit_inputs, layer_inputs, pre_acts


def _times_d1(name: str, x: np.ndarray, v: np.ndarray, workspace: dict) -> np.ndarray:
    """v · σ'(x) in place (v is a workspace buffer): the values of v * `_act_d1`(name, x)."""
    if name == "identity":
        return v  # v * 1.0 == v exactly
    if name == "relu":
        mask = workspace.get("mask")  # x > 0 as booleans: v · True = v, v · False = ±0.0, as v · (x > 0).astype
        if mask is None or mask.shape != x.shape:
            mask = workspace["mask"] = np.empty(x.shape, dtype=bool)
        return np.multiply(v, np.greater(x, 0.0, out=mask), out=v)
    return np.multiply(v, _act_d1(name, x), out=v)


def loss(net: ShortcutNet, weights: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """L = 1/(2m) ‖Y − F(X)‖²_F (Li et al. eq. 6), per sample; shape (*batch)."""
    F = forward(net, weights, X)
    return 0.5 * np.sum((F - Y) ** 2, axis=(-2, -1)) / X.shape[0]


def loss_and_gradient(net: ShortcutNet, weights: np.ndarray, X: np.ndarray, Y: np.ndarray,
                      workspace: dict | None = None):
    """Loss (*batch) and gradient (*batch, R, n, d, d) by backpropagation over the samples (rows of X).

    ``workspace``: a dict of buffers reused across calls (a GD loop passes the same one at every step; see
    `_forward`); the gradient is a fresh array."""
    workspace = {} if workspace is None else workspace
    F, unit_inputs, layer_inputs, pre_acts = _forward(net, weights, X, workspace)
    m = X.shape[0]
    residual = F - Y
    value = 0.5 * np.sum(residual**2, axis=(-2, -1)) / m
    grad = np.empty(np.broadcast_shapes(weights.shape, F.shape[:-2] + net.weight_shape))
    n = net.unit_layers
    g = residual / m  # dL/dh at the output (a fresh array: updated in place below)
    buffers = [_buffer(workspace, ("delta", i), g.shape) for i in range(2)]
    for r in reversed(range(net.units)):
        t = r * n + n - 1
        if net.act_post == "identity":
            delta = g
        else:
            np.copyto(buffers[0], g)
            delta = _times_d1(net.act_post, pre_acts[t], buffers[0], workspace)
        for l in reversed(range(n)):
            t = r * n + l
            np.matmul(_t(delta), layer_inputs[t], out=grad[..., r, l, :, :])
            spare = buffers[1] if delta is buffers[0] else buffers[0]  # never the array delta is
            back = np.matmul(delta, weights[..., r, l, :, :], out=spare)
            if l > 0:
                delta = _times_d1(net.act_mid, pre_acts[t - 1], back, workspace)
            else:
                back = _times_d1(net.act_pre, unit_inputs[r], back, workspace)
                g = np.add(g, back, out=g) if net.shortcut else back
    return value, grad
