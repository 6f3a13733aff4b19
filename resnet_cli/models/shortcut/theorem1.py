"""Theorem 1 of Li et al. 2017: the predicted Hessian of an n-shortcut network at the zero point."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from resnet_cli.models.shortcut.network import (
    ShortcutNet, _act, _act_d1, _t, activation_derivative_at_zero, flatten, unflatten,
)

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


