"""Linear n-shortcut networks from the second moments alone: loss, gradient and the exact Hessian in
Kronecker blocks (Li et al. 2017, eqs. 7-9; conventions in resnet_cli/models/shortcut/__init__.py)."""

from __future__ import annotations

import numpy as np

from resnet_cli.eigen import BlockMatrix
from resnet_cli.inertia import LayerToeplitz
from resnet_cli.models.shortcut.network import SecondMoments, ShortcutNet, _t, linear_loss_of_map

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


def _suffix_products(net: ShortcutNet, weights: np.ndarray, start: np.ndarray, left: bool) -> np.ndarray:
    """For every layer t (in order r·n + l), `start` carried back through the layers after t: the product
    start · (path after t) (``left=False``), or (path after t)ᵀ · start (``left=True``), with a shortcut
    adding the identity path around each unit. start (*batch, d, d) -> (*batch, R·n, d, d)."""
    n, R = net.unit_layers, net.units
    out = np.empty(start.shape[:-2] + (R * n,) + start.shape[-2:])
    suffix = start
    for r in reversed(range(R)):
        running = suffix
        for l in reversed(range(n)):
            out[..., r * n + l, :, :] = running
            running = _t(weights[..., r, l, :, :]) @ running if left else running @ weights[..., r, l, :, :]
        suffix = suffix + running if net.shortcut else running
    return out


def _linear_products(net: ShortcutNet, weights: np.ndarray):
    """For every layer t: B_t (the map from the input to the layer's input) and A_t (from its output to the
    network output), so that the end-to-end map is M = A_t W_t B_t (+ terms free of W_t) — eq. (10)."""
    d = net.dim
    batch = weights.shape[:-4]
    eye = np.broadcast_to(np.eye(d), batch + (d, d))
    before, prefix = _input_maps(net, weights, eye)
    after = _suffix_products(net, weights, eye, left=False)
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
    d, batch = net.dim, weights.shape[:-4]
    before, M = _input_maps(net, weights, np.broadcast_to(np.eye(d), batch + (d, d)))
    value = linear_loss_of_map(M, moments)
    G = M @ moments.xx - moments.yx
    # Backward pass carrying A_tᵀ G directly (one product per layer): Z ← W_tᵀ Z inside a unit.
    AtG = _suffix_products(net, weights, G, left=True)
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

    Long because: the two terms of every (t, s) block are built in one pass over the layer pairs.
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


#: A layer map M counts as orthogonal for `layer_toeplitz` when max |MᵀM − I| is at most this (Householder QR
#: gives about 1e-15 at d = 10; the similarity then holds to that relative level).
ORTHOGONAL_TOLERANCE = 1e-12


def layer_maps(net: ShortcutNet, weights: np.ndarray) -> np.ndarray | None:
    """The maps M_t (L, d, d) of a linear network of one-layer units (M_t = W_t plain, I + W_t with a
    shortcut), else None."""
    if not net.is_linear or net.unit_layers != 1 or weights.ndim != 4:
        return None
    maps = weights[:, 0]
    return maps + np.eye(net.dim) if net.shortcut else maps


def layer_toeplitz(net: ShortcutNet, weights: np.ndarray, moments: SecondMoments) -> LayerToeplitz | None:
    """The Hessian of a linear network whose every layer map M_t is orthogonal (a plain network at the
    orthogonal init; a 1-shortcut network at zero, M_t = I), up to an orthogonal similarity, as a
    `resnet_cli.inertia.LayerToeplitz` (None for any other network or point).

    With Q_t = M_t ⋯ M_1 (Q_0 = I), write a perturbation of layer t as Δ_t = Q_t Δ̃_t Q_{t−1}ᵀ (an orthogonal
    map of its d² coordinates, (Q_t ⊗ Q_{t−1}) in the (i, j) order). The path around layer t then carries
    A_t Δ_t B_t = Q_L Δ̃_t and the path through layers s < t carries A_t Δ_t C_ts Δ_s B_s = Q_L Δ̃_t Δ̃_s: in the
    Hessian formula of `linear_hessian` every block depends on Q_L and the moments only, not on t or s.
    So the Hessian is similar to a matrix with one diagonal block A and one block B below the diagonal,
    those of the two-layer network (M_1, M_2) = (Q_L, I) in its own coordinates (Q_1 = Q_2 = Q_L): built
    here from `linear_hessian` of that network, O(d⁶) — the P × P matrix is never formed."""
    maps = layer_maps(net, weights)
    if maps is None:
        return None
    d = net.dim
    gram = np.swapaxes(maps, -1, -2) @ maps
    if np.abs(gram - np.eye(d)).max() > ORTHOGONAL_TOLERANCE:
        return None
    end = end_to_end_map(net, weights)
    two = ShortcutNet(d, 2, 1, False)
    H = linear_hessian(two, np.stack([end, np.eye(d)])[:, None], moments)
    m = d * d
    first, second = np.kron(end, np.eye(d)), np.kron(end, end)  # coordinates of layers 1 and 2
    diagonal = first.T @ H[:m, :m] @ first
    lower = second.T @ H[m:, :m] @ first
    return LayerToeplitz(net.depth, 0.5 * (diagonal + diagonal.T), lower)


def _symmetric_blocks(K: np.ndarray) -> np.ndarray:
    """Make K[t, s] = K[s, t]ᵀ exactly, keeping the lower blocks (and the symmetric part of diagonal ones)."""
    L = K.shape[0]
    lower = np.tril(np.ones((L, L), dtype=bool), -1)[:, :, None, None]
    out = np.where(lower, K, _t(np.swapaxes(K, 0, 1)))
    diag = np.arange(L)
    out[diag, diag] = 0.5 * (K[diag, diag] + _t(K[diag, diag]))
    return out


