"""The dense pattern derivatives the finder used before its block-triangular engine (the reference of
tests/models/test_pattern_oracle.py): tangents of all P parameters pushed through every layer, each
parameter's unit tangent as a dense product with the identity. Slow, simple, independent of
resnet_cli/models/critical_points/pattern.py.
"""

from __future__ import annotations

import numpy as np

from resnet_cli.models import deep_resnet as dr

Array = np.ndarray


def dense_resnet_pattern(shape: dr.ResNetShape, theta: Array, X: Array, Y: Array,
                         D: list[Array] | None) -> tuple[Array, Array, Array, list[Array]]:
    """Risk, gradient, Hessian and ∂z/∂θ (B, P, units, m) of the pattern network, all P tangents dense."""
    spec = shape.spec()
    P, B, m = shape.n_params, theta.shape[0], X.shape[1]
    T = dr._T
    p = dr.unpack(spec, theta)
    dp = dr.unpack(spec, np.eye(P))  # (P, *shape)
    h = np.broadcast_to(dr.pad_input(X, shape.width), (B, shape.width, m))
    dh = np.zeros((B, P, shape.width, m))
    hs, dhs, acts, dacts, Ds, zs, dzs = [h], [dh], [], [], [], [], []
    for layer in range(1, shape.blocks + 1):
        U, V = p[f"U{layer}"], p[f"V{layer}"]
        z = U @ h
        dz = (dp[f"U{layer}"][None] @ h[:, None]) + (U[:, None] @ dh)
        if shape.bias:
            z = z + p[f"b{layer}"][:, :, None]
            dz = dz + dp[f"b{layer}"][None, :, :, None]
        Dl = (z > 0).astype(float) if D is None else D[layer - 1]
        a, da = Dl * z, Dl[:, None] * dz
        h = h + V @ a
        dh = dh + (dp[f"V{layer}"][None] @ a[:, None]) + (V[:, None] @ da)
        hs.append(h), dhs.append(dh), acts.append(a), dacts.append(da), Ds.append(Dl)
        zs.append(z), dzs.append(dz)
    W = p["W"]
    f = W @ h
    df = (dp["W"][None] @ h[:, None]) + (W[:, None] @ dh)
    if shape.bias:
        f = f + p["c"][:, :, None]
        df = df + dp["c"][None, :, :, None]
    r = f - Y[None]
    risk = np.einsum("bem,bem->b", r, r) / m
    g_f, dg_f = (2.0 / m) * r, (2.0 / m) * df
    grads: dict[str, Array] = {"W": g_f @ T(h)}
    hess: dict[str, Array] = {"W": (dg_f @ T(h)[:, None]) + (g_f[:, None] @ T(dh))}
    if shape.bias:
        grads["c"], hess["c"] = g_f.sum(-1), dg_f.sum(-1)
    g_h = T(W) @ g_f
    dg_h = (T(dp["W"])[None] @ g_f[:, None]) + (T(W)[:, None] @ dg_f)
    for layer in range(shape.blocks, 0, -1):
        U, V = p[f"U{layer}"], p[f"V{layer}"]
        a, da, Dl = acts[layer - 1], dacts[layer - 1], Ds[layer - 1]
        h_prev, dh_prev = hs[layer - 1], dhs[layer - 1]
        grads[f"V{layer}"] = g_h @ T(a)
        hess[f"V{layer}"] = (dg_h @ T(a)[:, None]) + (g_h[:, None] @ T(da))
        g_z = (T(V) @ g_h) * Dl
        dg_z = ((T(dp[f"V{layer}"])[None] @ g_h[:, None]) + (T(V)[:, None] @ dg_h)) * Dl[:, None]
        grads[f"U{layer}"] = g_z @ T(h_prev)
        hess[f"U{layer}"] = (dg_z @ T(h_prev)[:, None]) + (g_z[:, None] @ T(dh_prev))
        if shape.bias:
            grads[f"b{layer}"], hess[f"b{layer}"] = g_z.sum(-1), dg_z.sum(-1)
        dg_h = dg_h + (T(dp[f"U{layer}"])[None] @ g_z[:, None]) + (T(U)[:, None] @ dg_z)
        g_h = g_h + T(U) @ g_z
    H = dr.pack(spec, hess, (B, P))
    return risk, dr.pack(spec, grads, (B,)), 0.5 * (H + T(H)), dzs


def dense_fc_pattern(shape: dr.FCShape, theta: Array, X: Array, Y: Array,
                     D: list[Array] | None) -> tuple[Array, Array, Array, list[Array]]:
    """Risk, gradient, Hessian and ∂z/∂θ (B, P, units, m) of the pattern network, all P tangents dense."""
    spec = shape.spec()
    P, B, m = shape.n_params, theta.shape[0], X.shape[1]
    T = dr._T
    layers = dr._fc_layers(shape, dr.unpack(spec, theta))
    d_layers = dr._fc_layers(shape, dr.unpack(spec, np.eye(P)))
    a = np.broadcast_to(X, (B,) + X.shape)
    da = np.zeros((B, P) + X.shape)
    inputs, d_inputs, Ds, zs, dzs = [], [], [], [], []
    for j, ((Wj, bj), (dWj, dbj)) in enumerate(zip(layers, d_layers)):
        inputs.append(a), d_inputs.append(da)
        z = Wj @ a
        dz = (dWj[None] @ a[:, None]) + (Wj[:, None] @ da)
        if bj is not None:
            z = z + bj[:, :, None]
            dz = dz + dbj[None, :, :, None]
        if j < shape.layers:
            Dl = (z > 0).astype(float) if D is None else D[j]
            Ds.append(Dl), zs.append(z), dzs.append(dz)
            a, da = Dl * z, Dl[:, None] * dz
        else:
            a, da = z, dz
    r = a - Y[None]
    risk = np.einsum("bem,bem->b", r, r) / m
    g, dg = (2.0 / m) * r, (2.0 / m) * da
    names = [(f"W{j}", f"b{j}") for j in range(1, shape.layers + 1)] + [("W_out", "c")]
    grads: dict[str, Array] = {}
    hess: dict[str, Array] = {}
    for j in range(shape.layers, -1, -1):
        w_name, b_name = names[j]
        grads[w_name] = g @ T(inputs[j])
        hess[w_name] = (dg @ T(inputs[j])[:, None]) + (g[:, None] @ T(d_inputs[j]))
        if shape.bias:
            grads[b_name], hess[b_name] = g.sum(-1), dg.sum(-1)
        if j > 0:
            Wj, dWj, Dl = layers[j][0], d_layers[j][0], Ds[j - 1]
            dg = ((T(dWj)[None] @ g[:, None]) + (T(Wj)[:, None] @ dg)) * Dl[:, None]
            g = (T(Wj) @ g) * Dl
    H = dr.pack(spec, hess, (B, P))
    return risk, dr.pack(spec, grads, (B,)), 0.5 * (H + T(H)), dzs
