"""Critical points of ReLU ResNets and FC nets by Newton's method — saddles included, kinks handled honestly.

Gradient descent does not stop at saddles and crawls near degenerate critical points, so it cannot tell
how often a landscape has strict saddles (Yun et al. 2019, "Are deep ResNets provably better than linear
predictors?": every critical point of a deep ResNet is at least as good as the best linear predictor or has
a strictly negative Hessian eigenvalue). This
module solves ∇R(θ) = 0 directly with a Levenberg–Marquardt (damped Gauss–Newton) iteration on ½‖F‖²,
using the exact Hessian, so it converges (quadratically near a solution) to critical points of any index.

Models and data. `Problem` binds a network shape (`deep_resnet.ResNetShape` or `deep_resnet.FCShape`) to
data X (d_in, m), Y (d_out, m). Parameters are flat vectors θ (P,), batches are (B, P), in the layout of
`shape.spec()`. The risk is R(θ) = (1/m) Σ_i ‖f(x_i) − y_i‖² (as in `deep_resnet`).

Activation patterns. For a fixed pattern D (one array (hidden, m) per ReLU layer, entries in [0, 1]) the
*pattern network* replaces σ(z) by D ⊙ z. Its risk R_D is a polynomial in θ; for D = 1[z(θ) > 0] it equals
R near θ (a smooth piece of R). `pattern_derivatives` gives R_D, ∇R_D (B, P), ∇²R_D (B, P, P) (forward-over-
reverse, batched over starts and over all P directions) and the pre-activations z with their tangents
∂z/∂θ (B, P, hidden, m).

Kinks. A sample i sits on a kink of unit j in layer l when z_{l,j,i}(θ) = 0; there R is not differentiable.
Let E be the set of such entries e = (l, j, i) and s ∈ [0, 1]^E slopes on them (D_e = s_e, the other
entries follow the sign of z). Because the network output is affine in each activation, ∇R_D is
multilinear in s, so at a point with z_E = 0, ∇R_{D(s)} is a convex combination of the gradients of the
2^|E| pieces meeting the point — an element of the Clarke subdifferential ∂R. The finder therefore solves

    F(θ, s) = [ ∇R_{D(s)}(θ) ;  z_E(θ) ] = 0,        (P + |E| equations, P + |E| unknowns)

with Jacobian J = [[∇²R_{D(s)}, ∂_s ∇R_{D(s)}], [∂z_E/∂θ, 0]] (∂_s by an exact central difference: ∇R_D
is quadratic in each s_e). With E = ∅ this is plain Newton/LM on ∇R = 0. E is built on the way, one
entry at a time and only within reach of a Newton step (|z_e| ≤ κ‖F‖): after a poor or rejected step the
entry nearest to its kink joins, and after a rejected step the first kink the step crossed joins; a new
entry starts at s_e = its current slope (so the merit does not jump). An entry leaves E when s_e settles
on the bound of its own side (s_e = 1[z_e > 0]), which leaves R_D unchanged.
LM step: (JᵀJ + μI) δ = −JᵀF with μ = λ_b ‖F‖ (Fan–Yuan), per-start λ_b adapted by the ratio of actual to
predicted decrease of ‖F‖²; s is kept in [0, 1]. Converged when ‖∇R_{D(s)}‖ < tol and max|z_E| < tol:
then 0 ≈ ∇R_{D(s)} ∈ ∂R (a Clarke-critical point; a smooth critical point when E = ∅).

Second order at a kink point. The Hessian of one piece says nothing about the point by itself. We report
(a) λ_min of every piece meeting the point (all 2^|E| patterns of the on-kink entries, when 2^|E| ≤
`max_pieces`; otherwise "too many pieces"), and (b) the *kink-manifold Hessian* Zᵀ ∇²R_{D(s)} Z, Z an
orthonormal basis of {d : (∂z_E/∂θ) d = 0}: on M = {z_E = 0} every piece agrees with R_{D(s)}, whose
gradient vanishes, so this is the Hessian of R restricted to M, and a negative eigenvalue is a certified
second-order descent direction along the kinks. (Exact when no on-kink entry lies upstream of another on
the same sample — then z_E is smooth; otherwise `nested_kinks` is reported and (b) uses the generalized
Jacobian of the chosen slopes.)

Symmetries. Hidden unit j of a block (rows U_j, b_j; column V_j) — or of an FC layer (row W_j, b_j; column of
the next layer) — can be permuted with the others and rescaled by any c > 0 (in-weights × c, out-weights /
c) without changing the function. `canonical_form` fixes the scale (‖[U_j, b_j]‖ = 1 when non-zero) and
`deduplicate` merges points equal after the best unit permutation (per block/layer).

Export. `export_point` writes parameters per block with shapes, the data and the risk as plain JSON-able
lists; `import_point` reads them back (tests recompute R, ∇R and ∇²R by finite differences of a plain
forward pass).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from resnet_cli import eigen
from resnet_cli.rng import make_rng

from resnet_cli.models import deep_resnet as dr

Array = np.ndarray
Shape = Union[dr.ResNetShape, dr.FCShape]
Entry = tuple[int, int, int]  # (layer index 0-based, unit, sample)

EXPORT_FORMAT = "resnet-cli critical point v1"


# ----------------------------------------------------------------------------------------------------
# Problem and pattern derivatives
# ----------------------------------------------------------------------------------------------------


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
    """Derivatives of the pattern risk R_D at a batch θ (B, P)."""

    risk: Array  # (B,)
    grad: Array  # (B, P)
    hess: Array  # (B, P, P)
    z: list[Array]  # per layer (B, units, m)
    dz: list[Array]  # per layer (B, P, units, m): ∂z/∂θ_p (with the pattern's slopes upstream)


def relu_pattern(z: list[Array]) -> list[Array]:
    """D = 1[z > 0] for every layer (σ'(0) = 0): list of (B, units, m)."""
    return [(zl > 0).astype(float) for zl in z]


def _resnet_pattern(shape: dr.ResNetShape, theta: Array, X: Array, Y: Array,
                    D: list[Array] | None) -> PatternDerivs:
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
    return PatternDerivs(risk, dr.pack(spec, grads, (B,)), 0.5 * (H + T(H)), zs, dzs)


def _fc_pattern(shape: dr.FCShape, theta: Array, X: Array, Y: Array, D: list[Array] | None) -> PatternDerivs:
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
    return PatternDerivs(risk, dr.pack(spec, grads, (B,)), 0.5 * (H + T(H)), zs, dzs)


def pattern_derivatives(problem: Problem, theta: Array, D: list[Array] | None = None) -> PatternDerivs:
    """R_D, ∇R_D (B, P), ∇²R_D (B, P, P), z and ∂z/∂θ at θ (B, P) for patterns D (list of (B, units, m)).

    The pattern network uses a = D ⊙ z in place of σ(z); D = None means D = 1[z > 0] (σ'(0) = 0), where
    R_D, ∇R_D, ∇²R_D are the engine's R, gradient and Hessian (`resnet_hessian`/`fc_hessian`).
    """
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    if problem.network == "resnet":
        return _resnet_pattern(problem.shape, theta, problem.X, problem.Y, D)
    return _fc_pattern(problem.shape, theta, problem.X, problem.Y, D)


# ----------------------------------------------------------------------------------------------------
# Kinks
# ----------------------------------------------------------------------------------------------------


def kink_entries(z: list[Array], tol: float = 1e-9) -> list[Entry]:
    """Entries (layer, unit, sample) with |z| ≤ tol·max(1, max|z|) for ONE point: z is a list of (units, m)."""
    zmax = max(float(np.abs(zl).max(initial=0.0)) for zl in z)
    thr = tol * max(1.0, zmax)
    return [(layer, int(j), int(i)) for layer, zl in enumerate(z) for j, i in zip(*np.nonzero(np.abs(zl) <= thr))]


def _pattern_with(z: list[Array], entries: list[Entry], s: Array) -> list[Array]:
    """D = 1[z > 0] with D_e = s_e on the listed entries; z is a list of (units, m) (one point)."""
    D = [(zl > 0).astype(float) for zl in z]
    for (layer, j, i), se in zip(entries, s):
        D[layer][j, i] = se
    return D


def _nested(entries: list[Entry]) -> bool:
    """True when two on-kink entries of different layers share a sample (z_E then is not smooth)."""
    by_sample: dict[int, set[int]] = {}
    for layer, _, i in entries:
        by_sample.setdefault(i, set()).add(layer)
    return any(len(v) > 1 for v in by_sample.values())


# ----------------------------------------------------------------------------------------------------
# The finder
# ----------------------------------------------------------------------------------------------------


@dataclass
class FinderResult:
    """Outcome of `find_critical_points` for B starts.

    theta (B, P) end points; converged (B,); iterations (B,); risk (B,);
    residual (B,) ‖∇R_{D(s)}‖ (the Clarke-weighted gradient the Newton system drives to 0);
    kink_gap (B,) max|z_E| (0 without kinks); grad_norm (B,) the engine's ‖∇R‖ with σ'(0) = 0 (the gradient
    of one side at a kink point); clarke_norm (B,) the engine's min-norm subgradient
    (`deep_resnet.min_norm_subgradient`); kinks[b] the entries E (layer, unit, sample) and weights[b] their
    slopes s ∈ [0, 1]; history[b] the residual ‖F‖ per iteration.
    """

    theta: Array
    converged: Array
    iterations: Array
    risk: Array
    residual: Array
    kink_gap: Array
    grad_norm: Array
    clarke_norm: Array
    kinks: list[list[Entry]]
    weights: list[Array]
    history: list[list[float]] = field(default_factory=list)


def _residual(problem: Problem, theta: Array, Z: list[list[Array]], entries: list[list[Entry]],
              slopes: list[Array]) -> tuple[PatternDerivs, list[Array]]:
    """Pattern derivatives at θ (B, P) with D = 1[Z > 0] (Z: the network's own pre-activations at θ), slopes s on
    E; and F = [∇R_D; z_E] per start (z_E from Z as well)."""
    B = theta.shape[0]
    Ds = [_pattern_with([zl[b] for zl in Z], entries[b], slopes[b]) for b in range(B)]
    D = [np.stack([Ds[b][layer] for b in range(B)]) for layer in range(len(Z))]
    der = pattern_derivatives(problem, theta, D)
    F = []
    for b in range(B):
        zE = np.array([Z[layer][b, j, i] for layer, j, i in entries[b]])
        F.append(np.concatenate([der.grad[b], zE]))
    return der, F


def find_critical_points(
    problem: Problem,
    theta0: Array,
    *,
    tol: float = 1e-10,
    max_iter: int = 300,
    damping: float = 1e-3,
    max_kinks: int = 32,
    kappa: float = 0.1,
) -> FinderResult:
    """Levenberg–Marquardt on F(θ, s) = [∇R_{D(s)}(θ); z_E(θ)] = 0 from every start θ0 (B, P) at once.

    Each iteration evaluates R_D, ∇R_D, ∇²R_D and ∂z/∂θ for all active starts in one batched call, then per
    start solves the (P+|E|)-square damped system (JᵀJ + μI)δ = −JᵀF, μ = λ_b‖F‖ (λ_b starts at `damping`,
    ×0.25 after a very successful step, ×4 after a poor or rejected one). A step is accepted when ‖F‖²
    decreases by at least 1e-4 of the predicted decrease. Kink entries join E one at a time, only when
    |z_e| ≤ kappa·‖F‖: the entry nearest its kink after a poor (ratio < 1/4) or rejected step, the first
    kink crossed by a rejected step (at most `max_kinks` per start); they leave E when their slope settles
    on their own side. Starts may be random or the end points of gradient descent.
    A start stops when ‖∇R_{D(s)}‖ < tol and max|z_E| < tol (converged), or after `max_iter` iterations or
    when λ_b exceeds 1e16 (not converged; never dropped).
    """
    theta = np.array(np.atleast_2d(theta0), dtype=float)
    B, P = theta.shape
    entries: list[list[Entry]] = [[] for _ in range(B)]
    slopes: list[Array] = [np.zeros(0) for _ in range(B)]
    lam = np.full(B, float(damping))
    iters = np.zeros(B, dtype=int)
    active = np.ones(B, dtype=bool)
    converged = np.zeros(B, dtype=bool)
    history: list[list[float]] = [[] for _ in range(B)]
    poor = np.zeros(B, dtype=bool)  # the last step was rejected or decreased ‖F‖² by < 1/4 of the prediction

    Z = problem.preactivations(theta)
    der, F = _residual(problem, theta, Z, entries, slopes)
    cur_der = [None] * B
    for b in range(B):
        cur_der[b] = (der.grad[b], der.hess[b], [dz[b] for dz in der.dz], [zl[b] for zl in Z])
    Fs = F

    def done(b: int) -> bool:
        n = len(entries[b])
        g, zE = Fs[b][:P], Fs[b][P:]
        return bool(np.all(np.isfinite(Fs[b])) and np.linalg.norm(g) < tol and (n == 0 or np.abs(zE).max() < tol))

    for b in range(B):
        history[b].append(float(np.linalg.norm(Fs[b])))
        if done(b):
            converged[b], active[b] = True, False
        elif not np.all(np.isfinite(Fs[b])):
            active[b] = False

    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        # ---- Newton/LM steps, one small dense system per start
        trials, trial_entries, trial_slopes, preds = [], [], [], []
        for b in idx:
            # after a poor or rejected step, the entry nearest to its kink joins E if it is within reach
            # of a Newton step, |z_e| ≤ kappa·‖F‖ (slope = its side's, so the merit does not jump)
            zc = cur_der[b][3]
            reach = kappa * float(np.linalg.norm(Fs[b]))
            if poor[b] and len(entries[b]) < max_kinks:
                E = set(entries[b])
                near = sorted((abs(zl[j, i]), (layer, int(j), int(i)))
                              for layer, zl in enumerate(zc) for j, i in zip(*np.nonzero(np.abs(zl) <= reach)))
                added = [e for _, e in near if e not in E][:1]
                if added:
                    entries[b] = entries[b] + added
                    slopes[b] = np.concatenate([slopes[b], [float(zc[l][j, i] > 0) for l, j, i in added]])
                    zE = np.array([zc[l][j, i] for l, j, i in entries[b]])
                    Fs[b] = np.concatenate([Fs[b][:P], zE])
            g, H, dz, z = cur_der[b]
            E, s = entries[b], slopes[b]
            n = len(E)
            J = np.zeros((P + n, P + n))
            J[:P, :P] = H
            if n:
                # ∂∇R_D/∂s_e: ∇R_D is quadratic in s_e, so a central difference with step 1/2 is exact
                th2 = np.repeat(theta[b][None], 2 * n, axis=0)
                Dp = []
                for e in range(n):
                    for sign in (+0.5, -0.5):
                        se = s.copy()
                        se[e] += sign
                        Dp.append(_pattern_with(z, E, se))
                Dstk = [np.stack([d[layer] for d in Dp]) for layer in range(len(z))]
                gg = pattern_derivatives(problem, th2, Dstk).grad
                J[:P, P:] = (gg[0::2] - gg[1::2]).T  # (g(s+½) − g(s−½)) / 1
                for e, (layer, j, i) in enumerate(E):
                    J[P + e, :P] = dz[layer][:, j, i]
            Fb = Fs[b]
            nF = float(np.linalg.norm(Fb))
            mu = lam[b] * nF
            A = J.T @ J + mu * np.eye(P + n)
            try:
                delta = -np.linalg.solve(A, J.T @ Fb)
            except np.linalg.LinAlgError:
                delta = -np.linalg.lstsq(A, J.T @ Fb, rcond=None)[0]
            new_s = np.clip(s + delta[P:], 0.0, 1.0) if n else s
            step = np.concatenate([delta[:P], new_s - s])
            preds.append(nF ** 2 - float(np.linalg.norm(Fb + J @ step)) ** 2)
            trials.append(theta[b] + delta[:P])
            trial_entries.append(list(E))
            trial_slopes.append(new_s)
        trial = np.stack(trials)
        with np.errstate(over="ignore", invalid="ignore"):
            Zt = problem.preactivations(trial)
            der_t, F_t = _residual(problem, trial, Zt, trial_entries, trial_slopes)
        for pos, b in enumerate(idx):
            iters[b] += 1
            old = float(np.linalg.norm(Fs[b])) ** 2
            new = float(np.linalg.norm(F_t[pos])) ** 2 if np.all(np.isfinite(F_t[pos])) else np.inf
            pred = max(preds[pos], 1e-300)
            ratio = (old - new) / pred
            poor[b] = not (np.isfinite(new) and ratio > 0.25)
            if np.isfinite(new) and ratio > 1e-4:
                theta[b] = trial[pos]
                slopes[b] = trial_slopes[pos]
                # signs from the network's own forward pass (σ), the same z that sets D in `_residual`: the
                # pattern network's z (a = D ⊙ z) differs by O(kink gap) downstream of a fractional slope, and
                # at nested kinks that flips the sign of a downstream z ≈ 1e-23 — deciding "settled on its side"
                # with it dropped an entry whose D then changed, leaving a stale ‖F‖ (converged by the finder,
                # Clarke norm 0.0185 re-computed: near-identity preset, L = 4, seed 0, trial 3)
                zb = [zl[pos] for zl in Zt]
                cur_der[b] = (der_t.grad[pos], der_t.hess[pos], [dz[pos] for dz in der_t.dz], zb)
                Fs[b] = F_t[pos]
                lam[b] = max(lam[b] * 0.25, 1e-12) if ratio > 0.75 else (lam[b] * 4.0 if ratio < 0.25 else lam[b])
                # entries whose slope settled on their own side leave E (R_D unchanged by that)
                E, s = entries[b], slopes[b]
                keep = [e for e, (layer, j, i) in enumerate(E)
                        if not ((s[e] == 1.0 and zb[layer][j, i] > 0) or (s[e] == 0.0 and zb[layer][j, i] < 0))]
                if len(keep) < len(E):
                    entries[b] = [E[e] for e in keep]
                    slopes[b] = s[keep]
                    gz = Fs[b][:P]  # D, hence ∇R_D, is unchanged by dropping these entries
                    zE = np.array([zb[layer][j, i] for layer, j, i in entries[b]])
                    Fs[b] = np.concatenate([gz, zE])
            else:
                lam[b] *= 4.0
                # kinks crossed by the rejected step join E, with their current slope
                zc = cur_der[b][3]
                if len(entries[b]) < max_kinks:
                    E = set(entries[b])
                    cand = []  # (fraction of the step at which the kink is crossed, entry)
                    for layer, (zl_old, zl_new) in enumerate(zip(zc, [zl[pos] for zl in Zt])):
                        for j, i in zip(*np.nonzero((zl_old > 0) != (zl_new > 0))):
                            if (layer, int(j), int(i)) not in E:
                                t = abs(zl_old[j, i]) / max(abs(zl_old[j, i] - zl_new[j, i]), 1e-300)
                                cand.append((t, (layer, int(j), int(i))))
                    # only the first kink met along the step (the others may never be reached), and only
                    # when it is within reach: |z_e| ≤ kappa·‖F‖ (Newton steps have length O(‖F‖))
                    reach = kappa * float(np.linalg.norm(Fs[b]))
                    added = [(e, float(zc[e[0]][e[1], e[2]] > 0)) for _, e in sorted(cand)[:1]
                             if abs(zc[e[0]][e[1], e[2]]) <= reach]
                    if added:
                        entries[b] = entries[b] + [e for e, _ in added]
                        slopes[b] = np.concatenate([slopes[b], [v for _, v in added]])
                        zE = np.array([zc[layer][j, i] for layer, j, i in entries[b]])
                        Fs[b] = np.concatenate([Fs[b][:P], zE])
                        lam[b] = max(lam[b] / 4.0, damping)
            history[b].append(float(np.linalg.norm(Fs[b])))
            if done(b):
                converged[b], active[b] = True, False
            elif lam[b] > 1e16:
                active[b] = False

    risk, g = problem.risk_grad(theta)
    _, clarke, _ = dr.min_norm_subgradient(problem.risk_grad, problem.preactivations, theta, g)
    residual = np.array([np.linalg.norm(Fs[b][:P]) for b in range(B)])
    gap = np.array([np.abs(Fs[b][P:]).max() if len(entries[b]) else 0.0 for b in range(B)])
    return FinderResult(theta=theta, converged=converged, iterations=iters, risk=risk, residual=residual,
                        kink_gap=gap, grad_norm=np.linalg.norm(g, axis=1), clarke_norm=clarke,
                        kinks=entries, weights=slopes, history=history)


# ----------------------------------------------------------------------------------------------------
# Second order at a point, kinks included; classification
# ----------------------------------------------------------------------------------------------------


def clarke_weights(problem: Problem, theta: Array, entries: list[Entry]) -> Array:
    """Slopes s ∈ [0, 1]^E minimising ‖∇R_{D(s)}(θ)‖ at θ (P,) (the min-norm Clarke subgradient's weights).

    ∇R_{D(s)} = g0 + Σ_e s_e Δ_e exactly when the kinks lie in one layer (otherwise multilinear in s; this
    is then its affine part at s = 0). Δ_e = ∇R with D_e = 1 minus ∇R with D_e = 0, all other E entries 0.
    """
    n = len(entries)
    if n == 0:
        return np.zeros(0)
    z = [zl[0] for zl in problem.preactivations(theta[None])]
    pats = [_pattern_with(z, entries, np.zeros(n))]
    for e in range(n):
        s = np.zeros(n)
        s[e] = 1.0
        pats.append(_pattern_with(z, entries, s))
    D = [np.stack([pt[layer] for pt in pats]) for layer in range(len(z))]
    G = pattern_derivatives(problem, np.repeat(theta[None], n + 1, axis=0), D).grad
    return dr._box_least_squares(G[1:] - G[0], G[0])


def _eig_counts(evals: Array, eig_tol: float) -> tuple[float, int, int, int]:
    """(λ_min, #negative, #zero, #positive) with the threshold eig_tol·max(|λ|)."""
    if evals.size == 0:
        return float("nan"), 0, 0, 0
    thr = eig_tol * max(float(np.abs(evals).max()), 1e-300)
    return float(evals[0]), int((evals < -thr).sum()), int((np.abs(evals) <= thr).sum()), int((evals > thr).sum())


# Gradient-flat points (Frye et al. 2021, "Critical point-finding methods reveal gradient-flat regions of deep
# network losses"): a finder may stop where the gradient g lies in the (near-)kernel of the Hessian H, so that
# H g ≈ 0 although g ≠ 0 — a minimum of ‖g‖², not a critical point of R.
FLAT_SHARE = 0.9  # a non-critical point is gradient-flat when ≥ 90 % of ‖g‖² lies in the near-kernel of H


def gradient_flatness(g: Array, H: Array, eig_tol: float) -> dict[str, Any]:
    """How much of the gradient g (P,) lies in the near-kernel of the symmetric H (P, P).

    Near-kernel: the eigenvectors v_i of H with |λ_i| ≤ eig_tol·max|λ| (the tolerance of the point's
    classes). Keys: grad_norm ‖g‖; hg_ratio ‖Hg‖/‖g‖ (0 when g ∈ ker H; between min|λ| and max|λ|
    otherwise); hg_relative ‖Hg‖/(max|λ|·‖g‖) ∈ [0, 1]; kernel_share Σ_{|λ_i| small} (v_iᵀg)²/‖g‖² ∈ [0, 1]
    (the share of ‖g‖² in the near-kernel); kernel_dim the near-kernel's dimension. Ratios are NaN at g = 0.
    """
    g = np.asarray(g, dtype=float)
    H = np.asarray(H, dtype=float)
    nan = float("nan")
    if not (np.isfinite(g).all() and np.isfinite(H).all()):  # a diverged start: nothing to measure
        return {"grad_norm": nan, "hg_ratio": nan, "hg_relative": nan, "kernel_share": nan, "kernel_dim": 0}
    evals, evecs = np.linalg.eigh(0.5 * (H + H.T))
    lam_abs = max(float(np.abs(evals).max(initial=0.0)), 1e-300)
    kernel = np.abs(evals) <= eig_tol * lam_abs
    gn = float(np.linalg.norm(g))
    hg = float(np.linalg.norm(H @ g))
    coef = evecs.T @ g
    return {"grad_norm": gn, "hg_ratio": hg / gn if gn > 0 else nan,
            "hg_relative": hg / (lam_abs * gn) if gn > 0 else nan,
            "kernel_share": float(np.sum(coef[kernel] ** 2)) / gn**2 if gn > 0 else nan,
            "kernel_dim": int(kernel.sum())}


def stationarity_class(converged: bool, flatness: dict[str, Any], share: float = FLAT_SHARE) -> str:
    """"critical" (the finder's stationarity test passed: g ≈ 0), "gradient-flat" (it did not, and at least
    `share` of ‖g‖² lies in the near-kernel of H: Frye et al. 2021's gradient-flat point) or "neither"."""
    if converged:
        return "critical"
    kshare = flatness["kernel_share"]
    return "gradient-flat" if kshare == kshare and kshare >= share else "neither"


def flatness_at(problem: Problem, theta: Array, eig_tol: float) -> dict[str, Any]:
    """`gradient_flatness` of the engine's gradient and Hessian (σ'(0) = 0) at θ (P,): for points where the
    finder stopped without converging (no analysis of kinks there)."""
    der = pattern_derivatives(problem, np.asarray(theta, dtype=float)[None])
    return gradient_flatness(der.grad[0], der.hess[0], eig_tol)


UNDECIDED_REASONS = {"kink": "at a ReLU kink: neither a saddle nor a minimum is certified",
                     "alt_tolerance": "not a counterexample at --eig-tol-alt",
                     "escape_descent": "the escape probe found descent"}


def honest_kind(kind: str, alt_kind: str, probe: dict[str, Any] | None,
                eig_tol_alt: float) -> tuple[str, list[dict[str, str]]]:
    """The label a point is reported with, and why it is "undecided" (an empty list otherwise).

    A worse-than-linear point is a "counterexample" only when it is one at both eigenvalue tolerances
    (`kind` at --eig-tol, `alt_kind` at --eig-tol-alt) AND the escape probe (`escape_probe`; None when it
    did not run) found no descent; every other worse point without certified negative curvature at
    --eig-tol is "undecided", with each reason that applies: {code (a key of UNDECIDED_REASONS), text}.
    Other kinds ("better", "equal", "strict_saddle", "not_converged") pass through.
    """
    reasons: list[dict[str, str]] = []
    if kind == "kink_undecided":
        reasons.append({"code": "kink", "text": UNDECIDED_REASONS["kink"]})
    elif kind != "counterexample":
        return kind, reasons
    if kind == "counterexample" and alt_kind != "counterexample":
        what = "a strict saddle" if alt_kind == "strict_saddle" else "undecided at a kink"
        reasons.append({"code": "alt_tolerance", "text": f"{what} at --eig-tol-alt {eig_tol_alt:g}"})
    if probe is not None and probe.get("descent"):
        i = int(np.argmin(probe["min_change"]))
        reasons.append({"code": "escape_descent", "text": f"the escape probe lowers R by "
                        f"{-probe['min_change'][i]:.2g} at radius {probe['radii'][i]:g}"})
    return ("undecided", reasons) if reasons else ("counterexample", reasons)


def inertia_index(hessian: Array, eig_tol: float = 1e-8) -> dict[str, Any]:
    """The reported Hessian's counts (negative, zero, positive at ±eig_tol·|λ|max) by Sylvester inertia:
    LDLᵀ factorisations (`resnet_cli.eigen.index_counts`), no eigendecomposition — beside, and checked
    against, the eigenvalue counts of `analyse_point`."""
    if hessian.shape[0] == 0:
        return {"negative": 0, "zero": 0, "positive": 0, "epsilon": 0.0, "n": 0}
    return eigen.index_counts(hessian, eig_tol)


def analyse_point(
    problem: Problem,
    theta: Array,
    *,
    linear_risk: float,
    entries: list[Entry] | None = None,
    weights: Array | None = None,
    kink_tol: float = 1e-9,
    gap_tol: float = 1e-4,
    eig_tol: float = 1e-8,
    max_pieces: int = 256,
    probe_directions: int = 1000,
) -> dict[str, Any]:
    """Everything about one critical point θ (P,): risk, stationarity, kinks, second order, class, index.

    Kinks: `entries` (layer, unit, sample) — by default those with |z| ≤ kink_tol·max(1, max|z|) — with their
    slopes `weights` (default: `clarke_weights`). Keys:
      risk, gap (R − R_lin), grad_norm (the engine's ‖∇R‖, σ'(0) = 0: one side's gradient at a kink),
      clarke_norm (‖∇R_{D(s)}‖, the Clarke subgradient with weights s; = grad_norm at smooth points),
      engine_clarke_norm (`deep_resnet.min_norm_subgradient`), kinks [{layer, unit, sample, z, slope}],
      on_kink (bool), nested_kinks (bool), hessian {lambda_min, lambda_max, negative, zero, positive}:
      at a smooth point the Hessian of R; at a kink point the kink-manifold Hessian Zᵀ∇²R_{D(s)}Z
      (dimension P − rank ∂z_E/∂θ, reported as `dim`), pieces: None at smooth points, else {count,
      enumerated (bool), lambda_min (min over pieces), all [{pattern: [0/1 per kink], lambda_min,
      negative}], sigma0_piece (the piece of σ'(0) = 0: every on-kink slope 0)} or, with more than
      `max_pieces` pieces, {count, enumerated: False, note: "too many pieces"}; index (share of negative
      eigenvalues of the reported Hessian), kind (see `classify_point`), escape_probe (for counterexample
      and kink_undecided points: `escape_probe` along the reported Hessian's null eigenvectors, else None),
      flatness (`gradient_flatness` of the Clarke subgradient ∇R_{D(s)} and the full Hessian ∇²R_{D(s)}).

    An eigenvalue counts as negative (zero) when λ < −eig_tol·max|λ| (|λ| ≤ eig_tol·max|λ|). The default
    1e-8 suits Newton end points (‖∇R‖ < 1e-10 puts the Hessian within ~1e-10 of the critical point's);
    the GD experiment's 1e-5 is too coarse here: on example 1, Newton finds ResNet points at Var(Y) with
    λ_min ≈ −1e-5 (relative −5e-7) whose risk does drop along the eigenvector.
    """
    theta = np.asarray(theta, dtype=float)
    P = problem.n_params
    z = [zl[0] for zl in problem.preactivations(theta[None])]
    if entries is None:
        entries = kink_entries(z, kink_tol)
    entries = list(entries)
    n = len(entries)
    s = clarke_weights(problem, theta, entries) if weights is None else np.asarray(weights, dtype=float)
    risk, g = problem.risk_grad(theta[None])
    _, eng_clarke, _ = dr.min_norm_subgradient(problem.risk_grad, problem.preactivations, theta[None], g)
    D = [d[None] for d in _pattern_with(z, entries, s)]
    der = pattern_derivatives(problem, theta[None], D)
    H = der.hess[0]
    out: dict[str, Any] = {
        "network": problem.network,
        "risk": float(risk[0]),
        "gap": float(risk[0] - linear_risk),
        "linear_risk": float(linear_risk),
        "grad_norm": float(np.linalg.norm(g[0])),
        "clarke_norm": float(np.linalg.norm(der.grad[0])),
        "engine_clarke_norm": float(eng_clarke[0]),
        "kinks": [{"layer": l + 1, "unit": j, "sample": i, "z": float(z[l][j, i]), "slope": float(se)}
                  for (l, j, i), se in zip(entries, s)],
        "on_kink": n > 0,
        "nested_kinks": _nested(entries),
    }
    if n == 0:
        evals, evecs = np.linalg.eigh(H)
        dim = P
        out["pieces"] = None
    else:
        Jz = np.stack([der.dz[l][0][:, j, i] for l, j, i in entries])  # (n, P)
        _, sv, Vt = np.linalg.svd(Jz)
        rank = int((sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)).sum())
        Zb = Vt[rank:].T  # (P, P − rank) orthonormal basis of the tangent space of the kink manifold
        if Zb.shape[1]:
            evals, evecs = np.linalg.eigh(Zb.T @ H @ Zb)
            evecs = Zb @ evecs
        else:
            evals, evecs = np.zeros(0), np.zeros((P, 0))
        dim = Zb.shape[1]
        count = 2 ** n
        if count <= max_pieces:
            bits = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
            pats = [_pattern_with(z, entries, row) for row in bits]
            Dp = [np.stack([pt[layer] for pt in pats]) for layer in range(len(z))]
            Hs = pattern_derivatives(problem, np.repeat(theta[None], count, axis=0), Dp).hess
            ev = np.linalg.eigvalsh(Hs)
            rows = []
            for row, e in zip(bits, ev):
                lam, neg, _, _ = _eig_counts(e, eig_tol)
                rows.append({"pattern": [int(v) for v in row], "lambda_min": lam, "negative": neg})
            out["pieces"] = {"count": count, "enumerated": True,
                             "lambda_min": min(r["lambda_min"] for r in rows), "all": rows,
                             "sigma0_piece": rows[0]}
        else:
            out["pieces"] = {"count": count, "enumerated": False,
                             "note": f"too many pieces: 2^{n} = {count} > {max_pieces}; not enumerated"}
    lam, neg, zero, pos = _eig_counts(evals, eig_tol)
    out["hessian"] = {"kind": "smooth" if n == 0 else "kink-manifold", "dim": dim, "lambda_min": lam,
                      "lambda_max": float(evals[-1]) if evals.size else float("nan"),
                      "negative": neg, "zero": zero, "positive": pos}
    out["index"] = neg / dim if dim else 0.0
    out["flatness"] = gradient_flatness(der.grad[0], H, eig_tol)
    out["hessian"]["inertia"] = inertia_index(H if n == 0 else Zb.T @ H @ Zb, eig_tol)
    out["kind"] = classify_point(out, linear_risk=linear_risk, gap_tol=gap_tol)
    out["escape_probe"] = None
    if out["kind"] in ("counterexample", "kink_undecided") and probe_directions > 0:
        thr = eig_tol * max(float(np.abs(evals).max(initial=0.0)), 1e-300)
        null = evecs[:, np.abs(evals) <= thr]
        out["escape_probe"] = escape_probe(problem, theta, null, directions=probe_directions)
    return out


def escape_probe(problem: Problem, theta: Array, basis: Array, directions: int = 1000,
                 radii: tuple[float, ...] = (1e-3, 1e-2, 1e-1), seed: int = 0) -> dict[str, Any]:
    """Evidence for a higher-order saddle: min of R(θ + r d) − R(θ) over random unit d in span(basis).

    basis (P, q): the Hessian's (near-)null eigenvectors. Without negative curvature, second order is
    silent there; a decrease found at radius r shows the point is not a minimum within r (cubic or
    quartic escape). Evidence, not a proof: a decrease is a fact at radius r; no decrease proves nothing.
    Returns {dim, directions, radii, min_change per radius, descent (bool: some change < −1e-12·(1+R))}.
    """
    q = basis.shape[1]
    R0 = float(problem.risk(theta[None])[0])
    changes = []
    if q:
        rng = make_rng(seed)
        d = basis @ rng.normal(size=(q, directions))
        d /= np.linalg.norm(d, axis=0, keepdims=True)
        for r in radii:
            changes.append(float((problem.risk(theta[None] + r * d.T) - R0).min()))
    return {"dim": q, "directions": directions if q else 0, "radii": list(radii) if q else [],
            "min_change": changes, "descent": bool(changes and min(changes) < -1e-12 * (1.0 + abs(R0)))}


def classify_point(info: dict[str, Any], *, linear_risk: float, gap_tol: float = 1e-4) -> str:
    """"better" / "equal" (at least as good as linear), "strict_saddle", "counterexample", "kink_undecided".

    gap = R − R_lin against tol = gap_tol·R_lin. For a worse point: strict_saddle when the reported Hessian
    (smooth Hessian, or the kink-manifold Hessian at a kink point — a certified descent curve along the
    kinks) has a negative eigenvalue; otherwise, at a smooth point, counterexample (no negative curvature:
    a possibly degenerate local minimum worse than linear). At a kink point without negative curvature on
    the kink manifold: counterexample when the kinks are not nested and every slope lies strictly inside
    (0, 1) (every direction leaving the manifold raises R at first order) and no enumerated piece has
    negative curvature; otherwise kink_undecided.
    """
    scale = max(abs(linear_risk), 1e-300)
    gap = info["gap"]
    if gap < -gap_tol * scale:
        return "better"
    if gap <= gap_tol * scale:
        return "equal"
    if info["hessian"]["negative"] > 0:
        return "strict_saddle"
    if not info["on_kink"]:
        return "counterexample"
    slopes = np.array([k["slope"] for k in info["kinks"]])
    interior = bool(np.all((slopes > 1e-8) & (slopes < 1 - 1e-8)))
    pieces = info["pieces"]
    pieces_ok = pieces is not None and pieces["enumerated"] and all(r["negative"] == 0 for r in pieces["all"])
    if interior and not info["nested_kinks"] and pieces_ok:
        return "counterexample"
    return "kink_undecided"


# ----------------------------------------------------------------------------------------------------
# Symmetries: canonical form and de-duplication
# ----------------------------------------------------------------------------------------------------


def _unit_layout(problem: Problem) -> list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per ReLU layer: the (name, axis) of its in-weights ('row' entries) and out-weights ('col')."""
    out = []
    if problem.network == "resnet":
        for layer in range(1, problem.n_layers + 1):
            ins = [(f"U{layer}", "row")] + ([(f"b{layer}", "vec")] if problem.shape.bias else [])
            out.append((ins, [(f"V{layer}", "col")]))
    else:
        for layer in range(1, problem.n_layers + 1):
            ins = [(f"W{layer}", "row")] + ([(f"b{layer}", "vec")] if problem.shape.bias else [])
            nxt = f"W{layer + 1}" if layer < problem.n_layers else "W_out"
            out.append((ins, [(nxt, "col")]))
    return out


def _take(arr: Array, axis: str) -> Array:
    """Unit-major view: rows of a 'row' matrix, columns of a 'col' matrix, entries of a 'vec'."""
    if axis == "row":
        return arr
    if axis == "col":
        return arr.T
    return arr[:, None]


def canonical_form(problem: Problem, theta: Array) -> Array:
    """θ (P,) moved along its symmetry orbit to a canonical representative (same function everywhere).

    Layer by layer (bottom to top, so an FC layer's rescaling is absorbed by the next before that one is
    normalised): unit j's in-weights w_j = [row j of U (or W_l), b_j] are scaled to ‖w_j‖ = 1 and its
    out-weights (column j of V, or of the next layer) by the inverse factor (σ(c t) = c σ(t) for c > 0);
    units with w_j = 0 are left alone. Then the units are sorted by their in-weights (lexicographic, after
    rounding to 1e-8), and out-weights follow. Points on one orbit get the same form up to rounding and
    ties; `deduplicate` therefore matches units explicitly instead of relying on the sort.
    """
    spec = problem.shape.spec()
    p = {k: v.copy() for k, v in dr.unpack(spec, np.asarray(theta, dtype=float)[None]).items()}
    p = {k: v[0] for k, v in p.items()}
    for ins, outs in _unit_layout(problem):
        W_in = np.concatenate([_take(p[name], ax) for name, ax in ins], axis=1)  # (units, fan_in+1)
        norms = np.linalg.norm(W_in, axis=1)
        c = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
        for name, ax in ins:
            p[name] = p[name] * (c[:, None] if ax == "row" else c)
        for name, _ in outs:
            p[name] = p[name] / c[None, :]
        W_in = np.concatenate([_take(p[name], ax) for name, ax in ins], axis=1)
        order = np.lexsort(np.round(W_in, 8).T[::-1])
        for name, ax in ins:
            p[name] = p[name][order]
        for name, _ in outs:
            p[name] = p[name][:, order]
    return dr.pack(spec, {k: v[None] for k, v in p.items()}, (1,))[0]


def _best_permutation(A: Array, B: Array, brute_max: int = 7) -> Array:
    """perm minimising Σ_j ‖A[j] − B[perm[j]]‖² (exhaustive up to brute_max units, else greedy)."""
    k = A.shape[0]
    C = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    if k <= brute_max:
        best, best_val = None, np.inf
        for perm in itertools.permutations(range(k)):
            val = C[np.arange(k), perm].sum()
            if val < best_val:
                best, best_val = perm, val
        return np.array(best)
    perm = -np.ones(k, dtype=int)
    used = np.zeros(k, dtype=bool)
    for flat in np.argsort(C, axis=None):
        i, j = divmod(int(flat), k)
        if perm[i] < 0 and not used[j]:
            perm[i], used[j] = j, True
    return perm


def align(problem: Problem, reference: Array, theta: Array) -> Array:
    """canonical_form(θ) with its units permuted (per layer, bottom to top) to best match canonical(reference)."""
    spec = problem.shape.spec()
    ref = {k: v[0] for k, v in dr.unpack(spec, canonical_form(problem, reference)[None]).items()}
    p = {k: v[0].copy() for k, v in dr.unpack(spec, canonical_form(problem, theta)[None]).items()}
    layout = _unit_layout(problem)
    for pos, (ins, outs) in enumerate(layout):
        # match on in-weights (comparable once the layers below are aligned) and out-weights — except for
        # an FC layer below the top, whose out-weights' rows belong to the next, not yet aligned, layer
        use_out = problem.network == "resnet" or pos == len(layout) - 1
        feats = [(n, ax) for n, ax in ins] + ([(n, "col") for n, _ in outs] if use_out else [])
        fa = np.concatenate([_take(ref[n], ax) for n, ax in feats], 1)
        fb = np.concatenate([_take(p[n], ax) for n, ax in feats], 1)
        perm = _best_permutation(fa, fb)
        for name, ax in ins:
            p[name] = p[name][perm]
        for name, _ in outs:
            p[name] = p[name][:, perm]
    return dr.pack(spec, {k: v[None] for k, v in p.items()}, (1,))[0]


def point_distance(problem: Problem, a: Array, b: Array) -> float:
    """max |canonical(a) − aligned canonical(b)| / (1 + max |canonical(a)|): 0 for symmetric copies."""
    ca = canonical_form(problem, a)
    return float(np.abs(ca - align(problem, a, b)).max() / (1.0 + np.abs(ca).max()))


def function_distance(problem: Problem, a: Array, b: Array) -> float:
    """max_i ‖f_a(x_i) − f_b(x_i)‖∞ / (1 + max|f_a|): the predictors compared on the data."""
    out = dr.resnet_output if problem.network == "resnet" else dr.fc_output
    F = out(problem.shape, np.stack([a, b]), problem.X)
    return float(np.abs(F[0] - F[1]).max() / (1.0 + np.abs(F[0]).max()))


def deduplicate(problem: Problem, thetas: Array, tol: float = 1e-6, by: str = "parameters") -> tuple[list[int], Array]:
    """Merge points equal up to unit permutations and positive rescalings: thetas (N, P).

    Greedy: each point joins the first representative within `point_distance` ≤ tol, or becomes one.
    Returns (indices of the representatives, label (N,) = position of each point's representative).
    Continua of critical points (e.g. a dead unit's free out-weights, the W = 0 saddles) are not merged:
    only exact orbits. `by="function"` merges points whose predictors agree on the data instead
    (`function_distance` ≤ tol) — coarser: different critical points can share a predictor.
    """
    if by not in ("parameters", "function"):
        raise ValueError(f"by must be 'parameters' or 'function', not {by!r}")
    dist = point_distance if by == "parameters" else function_distance
    reps: list[int] = []
    labels = np.zeros(len(thetas), dtype=int)
    for n, th in enumerate(thetas):
        for r, rep in enumerate(reps):
            if dist(problem, thetas[rep], th) <= tol:
                labels[n] = r
                break
        else:
            labels[n] = len(reps)
            reps.append(n)
    return reps, labels


# ----------------------------------------------------------------------------------------------------
# Export and import
# ----------------------------------------------------------------------------------------------------


def _shape_dict(shape: Shape) -> dict[str, Any]:
    return {k: getattr(shape, k) for k in shape.__dataclass_fields__}


def export_point(problem: Problem, theta: Array, info: dict[str, Any] | None = None) -> dict[str, Any]:
    """A JSON-able record of one point: network, sizes, parameters per block with shapes, data and risk.

    {"format", "network": "resnet"|"fc", "shape": {d_in, width, hidden, blocks, d_out, bias} (or the FC
    fields), "blocks": [{name: {"shape": [...], "values": nested lists}} per block/layer, in order],
    "readout": {"W"/"W_out", "c"}, "flat": θ as a list (layout of shape.spec()), "data": {"X": (d_in, m),
    "Y": (d_out, m)}, "risk": R(θ), "point": `info` (e.g. `analyse_point`'s dict) when given}.
    Floats are written at full precision (json round-trips them exactly).
    """
    theta = np.asarray(theta, dtype=float)
    spec = problem.shape.spec()
    arrays = {k: v[0] for k, v in dr.unpack(spec, theta[None]).items()}

    def entry(name: str) -> dict[str, Any]:
        return {"shape": list(arrays[name].shape), "values": arrays[name].tolist()}

    blocks = []
    for ins, outs in _unit_layout(problem):
        names = [n for n, _ in ins] + ([n for n, _ in outs] if problem.network == "resnet" else [])
        blocks.append({n: entry(n) for n in names})
    readout = {n: entry(n) for n in ("W", "W_out", "c") if n in arrays}
    record = {
        "format": EXPORT_FORMAT,
        "network": problem.network,
        "shape": _shape_dict(problem.shape),
        "blocks": blocks,
        "readout": readout,
        "flat": theta.tolist(),
        "data": {"X": np.asarray(problem.X, dtype=float).tolist(), "Y": np.asarray(problem.Y, dtype=float).tolist()},
        "risk": float(problem.risk(theta[None])[0]),
    }
    if info is not None:
        record["point"] = info
    return record


def import_point(record: dict[str, Any]) -> tuple[Problem, Array]:
    """(Problem, θ (P,)) from an `export_point` record; θ is rebuilt from the per-block arrays.

    Raises ValueError when a shape does not match the sizes or the flat copy disagrees with the blocks.
    """
    if record.get("format") != EXPORT_FORMAT:
        raise ValueError(f"not a critical-point record (format {record.get('format')!r})")
    cls = dr.ResNetShape if record["network"] == "resnet" else dr.FCShape
    shape = cls(**record["shape"])
    X = np.array(record["data"]["X"], dtype=float)
    Y = np.array(record["data"]["Y"], dtype=float)
    arrays: dict[str, Array] = {}
    for part in list(record["blocks"]) + [record["readout"]]:
        for name, item in part.items():
            arrays[name] = np.array(item["values"], dtype=float).reshape(item["shape"])
    for name, shp in shape.spec():
        if name not in arrays:
            raise ValueError(f"parameter {name} missing from the record")
        if tuple(arrays[name].shape) != tuple(shp):
            raise ValueError(f"parameter {name} has shape {arrays[name].shape}, the network needs {shp}")
    theta = dr.pack(shape.spec(), {k: v[None] for k, v in arrays.items()}, (1,))[0]
    if "flat" in record and not np.array_equal(np.array(record["flat"], dtype=float), theta):
        raise ValueError("the flat parameter vector disagrees with the per-block arrays")
    return Problem(shape, X, Y), theta
