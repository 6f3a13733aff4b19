"""Exact Hessians of nonlinear n-shortcut networks (forward tangents through a second-order backward
pass, in chunks of samples) and Hessian-vector products for Lanczos (Li et al. 2017; conventions in
resnet_cli/models/shortcut/__init__.py)."""

from __future__ import annotations

import numpy as np

from resnet_cli.models.shortcut.linear import linear_hessian
from resnet_cli.models.shortcut.network import (
    SecondMoments, ShortcutNet, _act_d1, _act_d2, _forward, _t, compressed_data, flatten, second_moments,
    unflatten,
)

# Memory budget (bytes) for the stored tangents of one chunk of samples in `nonlinear_hessian`.
TANGENT_BUDGET_BYTES = 192 * 2**20

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
    """The Hessian's share of the samples X, Y (of m_total in all): tangents forward, second-order backward.

    Long because: one forward-tangent and backward pass over shared per-layer arrays; split, they would be
    passed back and forth by the dozen."""
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


