"""Pattern networks and their exact derivatives: block-triangular forward-over-reverse.

For a fixed activation pattern D (one array (B, units, m) per ReLU layer, entries in [0, 1]) the *pattern
network* replaces σ(z) by D ⊙ z (docs/landscape.md, "Newton finder"). Its risk R_D is a polynomial in θ;
for D = 1[z(θ) > 0] it equals R near θ. `pattern_derivatives` gives R_D, ∇R_D (B, P), ∇²R_D (B, P, P) and
the pre-activations z with their tangents ∂z/∂θ; `pattern_gradient` gives R_D and ∇R_D alone.

How the Hessian is formed (exact; forward-over-reverse, Griewank & Walther, "Evaluating Derivatives", §5):
the parameters are laid out layer by layer (`shape.spec()`: U1, b1, V1, U2, … of a ResNet; W1, b1, … of an
FC net; then the read-out), so the parameters that move the pre-activation z_l of layer l are a PREFIX of θ,
those of layers 1..l. Forward tangents are therefore carried for that prefix only, and a parameter's unit
tangent enters as its one non-zero term (row r of M x for an entry (r, c) of M) instead of a dense product
with the identity. In the reverse pass the rows of layer l's parameters are formed for the columns of
layers ≤ l only (the read-out's rows in full); the other half of ∇²R_D follows from its symmetry. Tangent
arrays are laid out (B, rows, m, Q) so every product is one batched matrix product of the layer's matrix
with all Q tangents at once. Cost per Hessian ~ Σ_l (prefix of l)·(layer work) ≈ half of the dense sweep,
without the dense products with the identity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

import numpy as np

from resnet_cli.models import deep_resnet as dr

Array = np.ndarray
Shape = Union[dr.ResNetShape, dr.FCShape]


@dataclass(frozen=True)
class Problem:
    """A network shape with its data: X (d_in, m), Y (d_out, m)."""

    shape: Shape
    X: Array
    Y: Array

    @property
    def network(self) -> str:
        return "resnet" if isinstance(self.shape, dr.ResNetShape) else "fc"

    @property
    def n_params(self) -> int:
        return self.shape.n_params

    @property
    def n_layers(self) -> int:
        """Number of ReLU layers (blocks of a ResNet)."""
        return self.shape.blocks if isinstance(self.shape, dr.ResNetShape) else self.shape.layers

    @property
    def units(self) -> int:
        """ReLU units per layer (hidden of a ResNet block, width of an FC layer)."""
        return self.shape.hidden if isinstance(self.shape, dr.ResNetShape) else self.shape.width

    def risk(self, theta: Array) -> Array:
        """R(θ) (B,) for θ (B, P), the engine's forward pass."""
        if self.network == "resnet":
            return dr.resnet_risk(self.shape, theta, self.X, self.Y)
        return dr.fc_risk(self.shape, theta, self.X, self.Y)

    def risk_grad(self, theta: Array, masks: list[Array] | None = None) -> tuple[Array, Array]:
        """R (B,) and the engine's gradient (B, P) (σ'(0) = 0, or `masks` in the backward pass)."""
        if self.network == "resnet":
            return dr.resnet_risk_grad(self.shape, theta, self.X, self.Y, masks)
        return dr.fc_risk_grad(self.shape, theta, self.X, self.Y, masks)

    def preactivations(self, theta: Array) -> list[Array]:
        """z of every ReLU layer: list of (B, units, m)."""
        if self.network == "resnet":
            return dr.resnet_preactivations(self.shape, theta, self.X)
        return dr.fc_preactivations(self.shape, theta, self.X)


@dataclass
class PatternDerivs:
    """Derivatives of the pattern risk R_D at a batch θ (B, P).

    dz[l] (B, units, m, Q_l) holds ∂z_l/∂θ_q for the first Q_l parameters (those of layers ≤ l; z_l does not
    depend on the others): `dz_row` pads one entry's row to (P,).
    """

    risk: Array  # (B,)
    grad: Array  # (B, P)
    hess: Array | None  # (B, P, P); None from `pattern_gradient`
    z: list[Array]  # per layer (B, units, m)
    dz: list[Array]  # per layer (B, units, m, Q_l)

    def dz_row(self, b: int, layer: int, unit: int, sample: int) -> Array:
        """∂z_{layer, unit, sample}/∂θ (P,) at start b (zeros beyond the layer's prefix)."""
        row = self.dz[layer][b, unit, sample]
        return np.concatenate([row, np.zeros(self.grad.shape[1] - row.size)])


def relu_pattern(z: list[Array]) -> list[Array]:
    """D = 1[z > 0] for every layer (σ'(0) = 0): list of (B, units, m)."""
    return [(zl > 0).astype(float) for zl in z]


# ----------------------------------------------------------------------------------------------------
# Tangent algebra on arrays laid out (B, rows, m, Q)
# ----------------------------------------------------------------------------------------------------


def _offsets(spec: list[tuple[str, tuple[int, ...]]]) -> dict[str, int]:
    """Start of every parameter in the flat vector."""
    out, pos = {}, 0
    for name, shape in spec:
        out[name] = pos
        pos += math.prod(shape)
    return out


def _apply(M: Array, t: Array, Q: int | None = None) -> Array:
    """M (B, r, c) applied to the first Q tangents of t (B, c, m, Q'): (B, r, m, Q) in one batched product."""
    B, c, m, _ = t.shape
    Q = t.shape[-1] if Q is None else Q
    flat = np.ascontiguousarray(t[..., :Q]).reshape(B, c, m * Q)
    return (M @ flat).reshape(B, M.shape[-2], m, Q)


def _seed(t: Array, off: int, x: Array) -> None:
    """t[:, r, :, off + r·c + j] += x[:, j, :] for every r, j: the tangent of M x along the unit directions
    of the entries of M (rows × c, at offset `off` of θ). t (B, rows, m, Q), x (B, c, m)."""
    rows, c = t.shape[1], x.shape[1]
    xt = np.swapaxes(x, 1, 2)
    for r in range(rows):
        t[:, r, :, off + r * c : off + (r + 1) * c] += xt


def _seed_transposed(t: Array, off: int, g: Array) -> None:
    """t[:, j, :, off + r·c + j] += g[:, r, :]: the tangent of Mᵀ g along the entries of M (r rows of
    g's length, c = t's rows). t (B, c, m, Q), g (B, rows, m)."""
    c = t.shape[1]
    idx = np.arange(c)
    for r in range(g.shape[1]):
        t[:, idx, :, off + r * c + idx] += g[:, r, :][None]


def _seed_bias(t: Array, off: int) -> None:
    """t[:, j, :, off + j] += 1: the tangent of z + b along b's entries."""
    idx = np.arange(t.shape[1])
    t[:, idx, :, off + idx] += 1.0


def _rows(g: Array, dg: Array, x: Array, dx: Array | None) -> Array:
    """Hessian rows of a matrix M in the product M x, cotangent g = ∂R/∂(M x) (B, r, m), tangents dg
    (B, r, m, E) and dx (B, c, m, s ≤ E): ∂/∂θ_q of (g xᵀ) = dg_q xᵀ + g dx_qᵀ, as (B, r, c, E)."""
    out = x[:, None] @ dg
    if dx is not None and dx.shape[-1]:
        s = dx.shape[-1]
        out[..., :s] += np.swapaxes(g[:, None] @ dx, 1, 2)
    return out


def _symmetrize(H: Array, filled: Array) -> Array:
    """∇²R from its computed entries (`filled` (P, P): row p holds the columns of layers ≤ p's layer, or all
    of them for read-out rows): H + Hᵀ, halved where both triangles were computed (as 0.5·(H + Hᵀ))."""
    Hs = H + np.swapaxes(H, 1, 2)
    Hs[:, filled & filled.T] *= 0.5
    return Hs


# ----------------------------------------------------------------------------------------------------
# ResNet: h_l = h_{l-1} + V_l (D_l ⊙ (U_l h_{l-1} + b_l)),  f = W h_L + c  (Yun et al. 2019, §2)
# ----------------------------------------------------------------------------------------------------


def _resnet_forward(shape: dr.ResNetShape, p: dict[str, Array], off: dict[str, int], X: Array, B: int,
                    D: list[Array] | None, second: bool) -> dict[str, list]:
    """Stream h_l (B, width, m), pre-activations z_l, slopes D_l, activations a_l, and (second order) their
    tangents dh_l (B, width, m, Q_{l}) and dz_l, da_l (B, hidden, m, Q_l) over the prefix of layers ≤ l."""
    m = X.shape[1]
    h = np.broadcast_to(dr.pad_input(X, shape.width), (B, shape.width, m))
    f: dict[str, list] = {"h": [h], "dh": [np.zeros((B, shape.width, m, 0))], "z": [], "D": [], "a": [],
                          "dz": [], "da": []}
    for layer in range(1, shape.blocks + 1):
        U, V = p[f"U{layer}"], p[f"V{layer}"]
        z = U @ h
        if shape.bias:
            z = z + p[f"b{layer}"][:, :, None]
        Dl = (z > 0).astype(float) if D is None else D[layer - 1]
        a = Dl * z
        if second:
            end = off[f"V{layer}"] + V.shape[-2] * V.shape[-1]
            dh = f["dh"][-1]
            dz = np.zeros((B, U.shape[-2], m, end))
            dz[..., : dh.shape[-1]] = _apply(U, dh)
            _seed(dz, off[f"U{layer}"], h)
            if shape.bias:
                _seed_bias(dz, off[f"b{layer}"])
            da = Dl[..., None] * dz
            dh_new = _apply(V, da)
            dh_new[..., : dh.shape[-1]] += dh
            _seed(dh_new, off[f"V{layer}"], a)
            f["dz"].append(dz), f["da"].append(da), f["dh"].append(dh_new)
        h = h + V @ a
        f["h"].append(h), f["z"].append(z), f["D"].append(Dl), f["a"].append(a)
    return f


def _resnet_reverse(shape: dr.ResNetShape, p: dict[str, Array], off: dict[str, int], fw: dict[str, list],
                    g_f: Array, dg_f: Array | None, H: Array | None) -> dict[str, Array]:
    """Gradient blocks from the output cotangent g_f = ∂R/∂f (B, d_out, m); with dg_f (B, d_out, m, P) also
    the Hessian rows, written into H (B, P, P) (block l's rows: the columns of blocks ≤ l; W, c: all)."""
    T = dr._T
    W, h = p["W"], fw["h"][-1]
    grads: dict[str, Array] = {"W": g_f @ T(h)}
    if shape.bias:
        grads["c"] = g_f.sum(-1)
    g_h = T(W) @ g_f
    dg_h = None
    if H is not None:
        _put(H, off["W"], _rows(g_f, dg_f, h, fw["dh"][-1]))
        if shape.bias:
            _put(H, off["c"], dg_f.sum(2))
        dg_h = _apply(T(W), dg_f, fw["dh"][-1].shape[-1])
    for layer in range(shape.blocks, 0, -1):
        U, V = p[f"U{layer}"], p[f"V{layer}"]
        a, Dl, h_prev = fw["a"][layer - 1], fw["D"][layer - 1], fw["h"][layer - 1]
        grads[f"V{layer}"] = g_h @ T(a)
        g_z = (T(V) @ g_h) * Dl
        grads[f"U{layer}"] = g_z @ T(h_prev)
        if shape.bias:
            grads[f"b{layer}"] = g_z.sum(-1)
        if H is not None:
            da, dh_prev = fw["da"][layer - 1], fw["dh"][layer - 1]
            _put(H, off[f"V{layer}"], _rows(g_h, dg_h, a, da))
            dg_z = _apply(T(V), dg_h)
            _seed_transposed(dg_z, off[f"V{layer}"], g_h)
            dg_z *= Dl[..., None]
            _put(H, off[f"U{layer}"], _rows(g_z, dg_z, h_prev, dh_prev))
            if shape.bias:
                _put(H, off[f"b{layer}"], dg_z.sum(2))
            s = dh_prev.shape[-1]  # U_l's own directions leave: the blocks below need columns < s only
            dg_h = dg_h[..., :s] + _apply(T(U), dg_z, s)
        g_h = g_h + T(U) @ g_z
    return grads


def _put(H: Array, off: int, rows: Array) -> None:
    """Write Hessian rows (B, *param shape, E) of the parameter at offset `off` into H[:, off:…, :E]."""
    B, E = rows.shape[0], rows.shape[-1]
    flat = rows.reshape(B, -1, E)
    H[:, off : off + flat.shape[1], :E] = flat


def _filled(shape: Shape, P: int) -> Array:
    """(P, P) mask of the Hessian entries the reverse pass computes (see `_symmetrize`)."""
    spec, filled, pos = shape.spec(), np.zeros((P, P), dtype=bool), 0
    ends = _layer_ends(shape)
    for name, shp in spec:
        size = math.prod(shp)
        filled[pos : pos + size, : ends.get(name, P)] = True
        pos += size
    return filled


def _layer_names(shape: Shape) -> list[list[str]]:
    """The parameter names of every ReLU layer (block of a ResNet), bottom to top."""
    if isinstance(shape, dr.ResNetShape):
        return [[f"U{l}"] + ([f"b{l}"] if shape.bias else []) + [f"V{l}"] for l in range(1, shape.blocks + 1)]
    return [[f"W{l}"] + ([f"b{l}"] if shape.bias else []) for l in range(1, shape.layers + 1)]


def _layer_ends(shape: Shape) -> dict[str, int]:
    """Per parameter of a ReLU layer: the end of its layer's parameters in θ (read-out: absent)."""
    spec = shape.spec()
    off, sizes = _offsets(spec), {name: math.prod(shp) for name, shp in spec}
    ends: dict[str, int] = {}
    for names in _layer_names(shape):
        end = max(off[n] + sizes[n] for n in names)
        ends.update({n: end for n in names})
    return ends


def _resnet_pattern(shape: dr.ResNetShape, theta: Array, X: Array, Y: Array, D: list[Array] | None,
                    second: bool) -> PatternDerivs:
    spec, P, B, m = shape.spec(), shape.n_params, theta.shape[0], X.shape[1]
    p, off = dr.unpack(spec, theta), _offsets(spec)
    fw = _resnet_forward(shape, p, off, X, B, D, second)
    f = p["W"] @ fw["h"][-1]
    if shape.bias:
        f = f + p["c"][:, :, None]
    r = f - Y[None]
    risk = np.einsum("bem,bem->b", r, r) / m
    g_f, dg_f, H = (2.0 / m) * r, None, None
    if second:
        dh = fw["dh"][-1]
        df = np.zeros((B, shape.d_out, m, P))
        df[..., : dh.shape[-1]] = _apply(p["W"], dh)
        _seed(df, off["W"], fw["h"][-1])
        if shape.bias:
            _seed_bias(df, off["c"])
        dg_f, H = (2.0 / m) * df, np.zeros((B, P, P))
    grads = _resnet_reverse(shape, p, off, fw, g_f, dg_f, H)
    hess = _symmetrize(H, _filled(shape, P)) if second else None
    return PatternDerivs(risk, dr.pack(spec, grads, (B,)), hess, fw["z"], fw["dz"])


# ----------------------------------------------------------------------------------------------------
# Fully-connected: a_l = D_l ⊙ (W_l a_{l-1} + b_l),  f = W_out a_L + c
# ----------------------------------------------------------------------------------------------------


def _fc_forward(shape: dr.FCShape, layers: list[tuple[Array, Array | None]], off: dict[str, int], X: Array,
                B: int, D: list[Array] | None, second: bool) -> dict[str, list]:
    """Inputs a_{l-1} of every linear map (B, fan_in, m) with their prefix tangents, z_l, D_l, dz_l; the
    output f (B, d_out, m) and, second order, df (B, d_out, m, P)."""
    m = X.shape[1]
    a, da = np.broadcast_to(X, (B,) + X.shape), np.zeros((B, X.shape[0], m, 0))
    fw: dict[str, list] = {"x": [], "dx": [], "z": [], "D": [], "dz": []}
    names = [f"W{j}" for j in range(1, shape.layers + 1)] + ["W_out"]
    biases = [f"b{j}" for j in range(1, shape.layers + 1)] + ["c"]
    ends = _layer_ends(shape)
    for j, (Wj, bj) in enumerate(layers):
        fw["x"].append(a), fw["dx"].append(da)
        z = Wj @ a
        if bj is not None:
            z = z + bj[:, :, None]
        dz = None
        if second:
            dz = np.zeros((B, Wj.shape[-2], m, ends.get(names[j], shape.n_params)))
            dz[..., : da.shape[-1]] = _apply(Wj, da)
            _seed(dz, off[names[j]], a)
            if bj is not None:
                _seed_bias(dz, off[biases[j]])
        if j == shape.layers:
            fw["f"], fw["df"] = z, dz
            break
        Dl = (z > 0).astype(float) if D is None else D[j]
        fw["z"].append(z), fw["D"].append(Dl), fw["dz"].append(dz)
        a, da = Dl * z, (Dl[..., None] * dz if second else None)
    return fw


def _fc_reverse(shape: dr.FCShape, layers: list[tuple[Array, Array | None]], off: dict[str, int],
                fw: dict[str, list], g: Array, dg: Array | None, H: Array | None) -> dict[str, Array]:
    """Gradient blocks (and the Hessian rows into H, as `_resnet_reverse`) from g = ∂R/∂f."""
    T = dr._T
    names = [(f"W{j}", f"b{j}") for j in range(1, shape.layers + 1)] + [("W_out", "c")]
    grads: dict[str, Array] = {}
    for j in range(shape.layers, -1, -1):
        (w_name, b_name), x, dx = names[j], fw["x"][j], fw["dx"][j]
        grads[w_name] = g @ T(x)
        if shape.bias:
            grads[b_name] = g.sum(-1)
        if H is not None:
            _put(H, off[w_name], _rows(g, dg, x, dx))
            if shape.bias:
                _put(H, off[b_name], dg.sum(2))
        if j > 0:
            Wj, Dl = layers[j][0], fw["D"][j - 1]
            if H is not None:
                dg = _apply(T(Wj), dg, dx.shape[-1]) * Dl[..., None]
            g = (T(Wj) @ g) * Dl
    return grads


def _fc_pattern(shape: dr.FCShape, theta: Array, X: Array, Y: Array, D: list[Array] | None,
                second: bool) -> PatternDerivs:
    spec, P, B, m = shape.spec(), shape.n_params, theta.shape[0], X.shape[1]
    layers, off = dr._fc_layers(shape, dr.unpack(spec, theta)), _offsets(spec)
    fw = _fc_forward(shape, layers, off, X, B, D, second)
    r = fw["f"] - Y[None]
    risk = np.einsum("bem,bem->b", r, r) / m
    H = np.zeros((B, P, P)) if second else None
    dg = (2.0 / m) * fw["df"] if second else None
    grads = _fc_reverse(shape, layers, off, fw, (2.0 / m) * r, dg, H)
    hess = _symmetrize(H, _filled(shape, P)) if second else None
    return PatternDerivs(risk, dr.pack(spec, grads, (B,)), hess, fw["z"], fw["dz"] if second else [])


# ----------------------------------------------------------------------------------------------------
# Entry points
# ----------------------------------------------------------------------------------------------------


def pattern_derivatives(problem: Problem, theta: Array, D: list[Array] | None = None) -> PatternDerivs:
    """R_D, ∇R_D (B, P), ∇²R_D (B, P, P), z and ∂z/∂θ at θ (B, P) for patterns D (list of (B, units, m)).

    The pattern network uses a = D ⊙ z in place of σ(z); D = None means D = 1[z > 0] (σ'(0) = 0), where
    R_D, ∇R_D, ∇²R_D are the engine's R, gradient and Hessian (`resnet_hessian`/`fc_hessian`).
    """
    return _pattern(problem, theta, D, second=True)


def pattern_gradient(problem: Problem, theta: Array, D: list[Array] | None = None) -> PatternDerivs:
    """R_D and ∇R_D (B, P) only (hess None, dz empty): one reverse pass, no tangents."""
    return _pattern(problem, theta, D, second=False)


def _pattern(problem: Problem, theta: Array, D: list[Array] | None, second: bool) -> PatternDerivs:
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    engine = _resnet_pattern if problem.network == "resnet" else _fc_pattern
    return engine(problem.shape, theta, problem.X, problem.Y, D, second)
