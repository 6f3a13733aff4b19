"""Deep linear residual networks: risk, gradient, exact Hessian, least-squares optimum, critical points.

Hardt & Ma 2017, "Identity matters in deep learning" (ICLR 2017), §2: the network maps x ∈ R^d through L
residual layers h_j = h_{j-1} + A_j h_{j-1} (A_j square, d × d), so its prediction is

    ŷ = Π(A) x,    Π(A) = (I + A_L)(I + A_{L-1}) ⋯ (I + A_1),

and the squared loss against targets y is a function of the data's second moments alone:

    R(A) = (1/m) Σ_i ‖Π x_i − y_i‖² = tr(Π S_xx Πᵀ) − 2 tr(S_yx Πᵀ) + tr S_yy,                      (1)

S_xx = XᵀX/m, S_yx = YᵀX/m, S_yy = YᵀY/m (samples as rows, as in `resnet_cli.data`); the population risk of
Gaussian inputs is (1) with the population moments. Their Theorem 2.2: for any τ < 1, every critical point
with max_j ‖A_j‖₂ ≤ τ is a global minimum. Why, in one line: with W_j = I + A_j, E = Π S_xx − S_yx,

    ∇_{A_j} R = 2 (W_L ⋯ W_{j+1})ᵀ E (W_{j-1} ⋯ W_1)ᵀ,                                                (2)

and ‖A_j‖₂ < 1 makes every W_j invertible, so ∇R = 0 forces E = 0: Π S_xx = S_yx, the normal equations of
least squares. Any matrix M is a product of L factors I + A_j (A_1 = M − I, the rest 0), so the global
minimum of R is the least-squares risk of the best linear map x ↦ M x (`least_squares`). A critical point
that is not global therefore has a singular W_j, i.e. some ‖A_j‖₂ ≥ 1 (`radius`, `min_singular`).

The Hessian (`hessian`) is exact: d²R = 2⟨dΠ S_xx, dΠ'⟩ + 2⟨E, d²Π⟩ with, for layers j < k,
∂²Π / ∂(A_j)_{ab} ∂(A_k)_{ce} = (W_L⋯W_{k+1}) e_c e_eᵀ (W_{k-1}⋯W_{j+1}) e_a e_bᵀ (W_{j-1}⋯W_1), whose
pairing with E is G_{kj}[c, b] · M_{kj}[e, a], G_{kj} = (W_L⋯W_{k+1})ᵀ E (W_{j-1}⋯W_1)ᵀ, M_{kj} =
W_{k-1}⋯W_{j+1}. (R is linear in each A_j alone, so the diagonal blocks hold the first term only.)

Parameters: θ (P,) = (A_1, …, A_L) flattened row-major, P = L d²; batches θ (B, P). Critical points are
found by the Levenberg–Marquardt scheme of `resnet_cli.models.critical_points.find_critical_points` with no
kinks (this model is smooth): (H² + μI) δ = −H g, μ = λ_b ‖g‖ (Fan–Yuan, solved in H's eigenbasis), λ_b adapted by the ratio of actual
to predicted decrease of ‖g‖² (`find_critical_points` here). Pure functions on arrays.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Moments:
    """The second moments the risk (1) depends on: sxx (d, d), syx (d, d), trace of S_yy, samples m."""

    sxx: Array
    syx: Array
    syy_trace: float
    samples: int

    @property
    def dim(self) -> int:
        return int(self.sxx.shape[0])


def moments(X: Array, Y: Array) -> Moments:
    """Moments of data X (m, d), Y (m, d), samples as rows (`resnet_cli.data`); refuses d_in ≠ d_out."""
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    if X.shape != Y.shape:
        raise ValueError(f"a linear residual net needs d_in = d_out, got inputs {X.shape} and outputs {Y.shape}")
    m = X.shape[0]
    return Moments(X.T @ X / m, Y.T @ X / m, float(np.sum(Y * Y) / m), m)


def n_params(dim: int, blocks: int) -> int:
    return blocks * dim * dim


def unpack(theta: Array, dim: int) -> Array:
    """θ (B, P) → A (B, L, d, d), a view."""
    theta = np.atleast_2d(np.asarray(theta, dtype=float))
    return theta.reshape(theta.shape[0], -1, dim, dim)


def _factors(A: Array) -> tuple[Array, Array, Array]:
    """Prefix and suffix products of W_j = I + A_j for A (B, L, d, d).

    Returns (right (B, L, d, d), left (B, L, d, d), Π (B, d, d)) with right[:, j] = W_{j-1}⋯W_1 and
    left[:, j] = W_L⋯W_{j+1} (0-based j; empty products are I), so Π = left[:, j] W_j right[:, j] for every j.
    """
    B, L, d, _ = A.shape
    W = A + np.eye(d)
    right = np.empty_like(A)
    left = np.empty_like(A)
    right[:, 0] = np.eye(d)
    for j in range(1, L):
        right[:, j] = W[:, j - 1] @ right[:, j - 1]
    left[:, L - 1] = np.eye(d)
    for j in range(L - 2, -1, -1):
        left[:, j] = left[:, j + 1] @ W[:, j + 1]
    return right, left, left[:, 0] @ W[:, 0]


def product(theta: Array, dim: int) -> Array:
    """Π(A) = (I + A_L)⋯(I + A_1) (B, d, d) for θ (B, P)."""
    return _factors(unpack(theta, dim))[2]


def _risk_of(Pi: Array, mom: Moments) -> Array:
    """(1) for Π (B, d, d): tr(Π S_xx Πᵀ) − 2 tr(S_yx Πᵀ) + tr S_yy, (B,)."""
    return (np.einsum("bij,jk,bik->b", Pi, mom.sxx, Pi) - 2.0 * np.einsum("ij,bij->b", mom.syx, Pi)
            + mom.syy_trace)


def risk(theta: Array, mom: Moments) -> Array:
    """R(θ) (B,) of (1) for θ (B, P)."""
    return _risk_of(product(theta, mom.dim), mom)


def risk_grad(theta: Array, mom: Moments) -> tuple[Array, Array]:
    """R (B,) and ∇R (B, P) by (2): ∇_{A_j} R = 2 left_jᵀ E right_jᵀ, E = Π S_xx − S_yx."""
    A = unpack(theta, mom.dim)
    right, left, Pi = _factors(A)
    E = Pi @ mom.sxx - mom.syx
    G = 2.0 * np.swapaxes(left, -1, -2) @ E[:, None] @ np.swapaxes(right, -1, -2)
    return _risk_of(Pi, mom), G.reshape(A.shape[0], -1)


def hessian(theta: Array, mom: Moments) -> Array:
    """The exact Hessian ∇²R (B, P, P) for θ (B, P) (module docstring: Gauss–Newton part plus ⟨E, d²Π⟩)."""
    A = unpack(theta, mom.dim)
    B, L, d, _ = A.shape
    right, left, Pi = _factors(A)
    W = A + np.eye(d)
    E = Pi @ mom.sxx - mom.syx
    # dΠ/d(A_j)_{ab} = left_j[:, a] ⊗ right_j[b, :]  →  J (B, L, a, b, p, q)
    J = np.einsum("bjpa,bjcq->bjacpq", left, right).reshape(B, L * d * d, d, d)
    JS = (J @ mom.sxx).reshape(B, L * d * d, d * d)
    H = 2.0 * JS @ np.swapaxes(J.reshape(B, L * d * d, d * d), -1, -2)
    for j in range(L):
        M = np.broadcast_to(np.eye(d), (B, d, d))  # W_{k-1}⋯W_{j+1}
        for k in range(j + 1, L):
            G = np.swapaxes(left[:, k], -1, -2) @ E @ np.swapaxes(right[:, j], -1, -2)
            block = 2.0 * np.einsum("bcy,bea->bayce", G, M).reshape(B, d * d, d * d)
            rows, cols = slice(j * d * d, (j + 1) * d * d), slice(k * d * d, (k + 1) * d * d)
            H[:, rows, cols] += block
            H[:, cols, rows] += np.swapaxes(block, -1, -2)
            M = W[:, k] @ M
    return 0.5 * (H + np.swapaxes(H, -1, -2))  # symmetric to the bit (the Gauss–Newton products round apart)


@dataclass(frozen=True)
class LeastSquares:
    """The best linear map M (d, d) (minimum norm when S_xx is singular) and its risk: the global minimum of R."""

    matrix: Array
    risk: float


def least_squares(mom: Moments, rank_tol: float = 1e-12) -> LeastSquares:
    """M = S_yx S_xx⁺ and R(M) = tr S_yy − tr(M S_yxᵀ): the least-squares optimum, reached by every Π = M."""
    evals, evecs = np.linalg.eigh(mom.sxx)
    keep = evals > rank_tol * max(float(evals.max(initial=0.0)), 1e-300)
    inv = (evecs[:, keep] / evals[keep]) @ evecs[:, keep].T
    M = mom.syx @ inv
    return LeastSquares(M, max(float(mom.syy_trace - np.sum(M * mom.syx)), 0.0))


def equal_factors(M: Array, blocks: int) -> Array | None:
    """A global minimum with equal layers: A = exp(log(M)/L) − I (d, d), when M has a real logarithm (then
    (I + A)^L = M); None otherwise (det M ≤ 0, or a negative real eigenvalue of odd multiplicity). Its
    ‖A‖₂ bounds the radius of the nearest global minimum from above (Hardt & Ma's Theorem 2.1 builds one
    of radius O(log γ / L) when det M > 0, γ the condition number)."""
    from scipy.linalg import expm, logm

    if np.linalg.det(M) <= 0:
        return None
    # scipy's logm estimates its error with a randomised norm estimate on numpy's global RNG, and warns when
    # that estimate is not tiny: the caller's RNG state is put back (a notebook's own draws stay its own), and
    # the warning is moot, as the root is checked against M below
    state = np.random.get_state()
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            log = logm(M)
    finally:
        np.random.set_state(state)
    if not np.all(np.isfinite(log)) or np.abs(np.imag(log)).max() > 1e-8 * max(np.abs(log).max(), 1.0):
        return None
    A = expm(np.real(log) / blocks) - np.eye(M.shape[0])
    return A if np.allclose(np.linalg.matrix_power(np.eye(M.shape[0]) + A, blocks), M, atol=1e-8) else None


def radius(theta: Array, dim: int) -> Array:
    """max_j ‖A_j‖₂ (B,): Hardt & Ma's region is radius < 1."""
    return np.linalg.norm(unpack(theta, dim), ord=2, axis=(-2, -1)).max(axis=1)


def min_singular(theta: Array, dim: int) -> Array:
    """min_j σ_min(I + A_j) (B,): 0 exactly when some factor is singular (a non-global critical point needs it)."""
    W = unpack(theta, dim) + np.eye(dim)
    return np.linalg.svd(W, compute_uv=False)[..., -1].min(axis=1)


def starts_at(rng: np.random.Generator, radii: list[float], per_radius: int, dim: int, blocks: int) -> Array:
    """Random starts (len(radii)·per_radius, P), radius outer: A_j with N(0, 1) entries, all scaled by one
    factor so that max_j ‖A_j‖₂ = r exactly (the layers keep their relative sizes)."""
    out = []
    for r in radii:
        A = rng.standard_normal((per_radius, blocks, dim, dim))
        theta = A.reshape(per_radius, -1)
        out.append(theta * (r / radius(theta, dim))[:, None])
    return np.concatenate(out)


# ----------------------------------------------------------------------------------------------------
# Critical points: Levenberg–Marquardt on ∇R = 0 (the scheme of critical_points.find_critical_points)
# ----------------------------------------------------------------------------------------------------


@dataclass
class Found:
    """End points of `find_critical_points` for B starts: theta (B, P), converged (B,), iterations (B,),
    risk (B,), grad_norm (B,) ‖∇R‖ at the end point."""

    theta: Array
    converged: Array
    iterations: Array
    risk: Array
    grad_norm: Array


def find_critical_points(theta0: Array, mom: Moments, *, tol: float = 1e-10, max_iter: int = 300,
                         damping: float = 1e-3) -> Found:
    """LM on F = ∇R = 0 from every start θ0 (B, P) at once, J = ∇²R (exact, symmetric).

    Step (H² + μI) δ = −H g with μ = λ_b ‖g‖, solved in the eigenbasis of H (robust where H is singular,
    as on the manifold of global minima); accepted when ‖g‖² decreases by at least 1e-4 of the
    predicted decrease ‖g‖² − ‖g + Hδ‖²; λ_b ×0.25 after a very good step (ratio > 0.75), ×4 after a poor or
    rejected one. A start stops when ‖g‖ < tol (converged), after `max_iter` iterations, when λ_b > 1e16
    or when its numbers stop being finite (not converged; never dropped).
    """
    theta = np.array(np.atleast_2d(theta0), dtype=float)
    B, P = theta.shape
    R, g = risk_grad(theta, mom)
    H = hessian(theta, mom)
    lam = np.full(B, float(damping))
    iters = np.zeros(B, dtype=int)
    gn = np.linalg.norm(g, axis=1)
    active = np.isfinite(gn) & (gn >= tol)
    for _ in range(max_iter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        Hi, gi = H[idx], g[idx]
        mu = lam[idx] * gn[idx]
        # H = V diag(λ) Vᵀ: δ = −V diag(λ / (λ² + μ)) Vᵀ g, exact even where H² + μI is singular in floats
        lam_h, V = np.linalg.eigh(Hi)
        c = np.einsum("bpi,bp->bi", V, gi)
        with np.errstate(all="ignore"):
            shrink = np.where(lam_h != 0, lam_h / (lam_h**2 + mu[:, None]), 0.0)
        delta = -np.einsum("bpi,bi->bp", V, shrink * c)
        trial = theta[idx] + delta
        Rt, gt = risk_grad(trial, mom)
        gtn = np.linalg.norm(gt, axis=1)
        pred = gn[idx] ** 2 - np.sum((c * (1.0 - lam_h * shrink)) ** 2, axis=1)
        ratio = (gn[idx] ** 2 - gtn**2) / np.where(pred > 0, pred, np.inf)
        ok = np.isfinite(gtn) & (ratio > 1e-4)
        iters[idx] += 1
        acc = idx[ok]
        theta[acc], R[acc], g[acc], gn[acc] = trial[ok], Rt[ok], gt[ok], gtn[ok]
        if acc.size:
            H[acc] = hessian(theta[acc], mom)
        lam[idx] = np.where(ok & (ratio > 0.75), np.maximum(lam[idx] * 0.25, 1e-12),
                            np.where(ok & (ratio >= 0.25), lam[idx], lam[idx] * 4.0))
        active[idx] = np.isfinite(gn[idx]) & (gn[idx] >= tol) & (lam[idx] <= 1e16)
    return Found(theta, gn < tol, iters, R, gn)
