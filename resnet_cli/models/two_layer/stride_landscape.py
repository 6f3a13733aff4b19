"""Critical points of the two-layer population loss with overlapping filters (patches at stride s < p).

The loss is `samples.stride_population_loss` (Gaussian inputs, patch i = coordinates is … is + p − 1; Du et
al. 2017's kernel lemma, docs/train.md):

    L(v, a) = a*ᵀK(v*, v*)a* − 2aᵀK(v, v*)a* + aᵀK(v, v)a,   K(v, v′)_ij = G(c_{j−i}),  c_l = vᵀS_{ls}v′,
    G(c) = (√(1 − c²) + (π − arccos c) c)/(2π),  G′(c) = (π − arccos c)/(2π),  G″(c) = 1/(2π√(1 − c²)).

Written with lag products P*_l = Σ_i a_i a*_{i+l}, P_l = Σ_i a_i a_{i+l} (|l| ≤ q, the band of overlapping
lags; farther lags have G = 1/(2π) whatever v):

    L = const − 2Σ_l P*_l G(vᵀS_{ls}v*) + Σ_{l≠0} P_l G(vᵀS_{ls}v) + (terms without v).

Here, for unit v (p,) and a (k,): the exact Euclidean Hessian of (u, a) ↦ L(u/‖u‖, a) (the cosines as
functions of u: uᵀb/‖u‖ and uᵀAu/‖u‖² with A = (S + Sᵀ)/2), its restriction to the tangent space of the
sphere × R^k (`landscape.tangent_basis`), a at its optimum for a fixed v (K(v, v)⁻¹K(v, v*)a*, L is a
positive definite quadratic in a), Newton/Levenberg–Marquardt on the tangent gradient, continuation of a
critical point along s = p, p − 1, …, 1 through the homotopies (1 − t)L_{s+1} + tL_s, and normalized GD from
many starts. At s = p the Hessian equals `population.hessian_w` (q = 0: only the lag-0 cross term).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from resnet_cli import descent as driver
from resnet_cli.models.two_layer import landscape as critical, population as tl, samples as ts

PI = math.pi
GRAD_TOL = 1e-10  # a point is critical when its tangent gradient norm is below this
TRUST = 0.1  # longest step of `minimize` (ambient norm in (v, a)): it follows the descent path, never jumps


def _shift_matrix(p: int, m: int) -> np.ndarray:
    """S_m (p, p): (S_m v)_r = v_{r−m}, 0 outside 0..p−1 (`samples.shifted`)."""
    return np.eye(p, k=-m)


def _g1(c: float, sin: float) -> float:
    """G′(c) = (π − θ)/(2π), θ = atan2(sin θ, c) (accurate near c = ±1, where arccos loses half the digits)."""
    return (PI - math.atan2(sin, c)) / (2 * PI)


def _sine(c: float, lost: float | None, grad: np.ndarray) -> float:
    """sin θ of a cosine c. Cross cosine uᵀb/‖u‖ with b = S_m v* (∇c = b − cv): 1 − c² = lost + ‖∇c‖², where
    lost = 1 − ‖b‖² is the squared mass of v* shifted out of the window (0 at m = 0) — no cancellation at
    c = ±1 (φ ∈ {0, π}). A self cosine (lost None) has |c| < 1 (S_m is nilpotent)."""
    if lost is None:
        return math.sqrt(max(0.0, 1.0 - c * c))
    return math.sqrt(lost + float(grad @ grad))


def _second_order(c: float, sin: float, grad: np.ndarray, hess: np.ndarray) -> np.ndarray:
    """d²G(c(u)) = G′(c)∇²c + G″(c)∇c∇cᵀ with G″∇c∇cᵀ = ∇c∇cᵀ/(2π sin θ); ‖∇c‖ ≤ sin θ, so the term is
    finite and vanishes at c = ±1."""
    curvature = np.outer(grad, grad) / (2 * PI * sin) if sin > 1e-300 else np.zeros_like(hess)
    return _g1(c, sin) * hess + curvature


def stride_hessian(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int) -> np.ndarray:
    """The exact Euclidean Hessian (p + k, p + k) of (u, a) ↦ L_s(u/‖u‖, a) at a unit filter u = v (p,), a (k,).

    Cross cosine c = uᵀb/‖u‖ (b = S_{ls}v*): ∇c = b − cv, ∇²c = 3c vvᵀ − cI − bvᵀ − vbᵀ. Self cosine
    c = uᵀAu/‖u‖² (A = (S_{ls} + S_{ls}ᵀ)/2, l ≠ 0): ∇c = 2Av − 2cv, ∇²c = 2A − 4(Avvᵀ + vvᵀA) + c(8vvᵀ − 2I).
    H_uu = Σ_l −2P*_l d²G(c*_l) + Σ_{l≠0} P_l d²G(c_l); H_{a_m u} = Σ_l −2a*_{m+l} G′(c*_l)∇c*_l
    + Σ_{l≠0} (a_{m+l} + a_{m−l}) G′(c_l)∇c_l; H_aa = 2K(v, v). Equals `population.hessian_w` at s = p.
    """
    p, k = v.size, a.size
    q = ts.band(p, k, stride)
    pad_a, pad_star = np.pad(a, (q, q)), np.pad(a_star, (q, q))
    H = np.zeros((p + k, p + k))
    kappa = np.empty(2 * q + 1)
    for l in range(-q, q + 1):
        S = _shift_matrix(p, l * stride)
        b = S @ v_star
        c = float(v @ b)
        grad = b - c * v
        hess = 3 * c * np.outer(v, v) - c * np.eye(p) - np.outer(b, v) - np.outer(v, b)
        m = l * stride
        lost = float(np.sum(v_star[p - m:] ** 2) if m > 0 else np.sum(v_star[:-m] ** 2) if m < 0 else 0.0)
        p_star, sin = float(a @ pad_star[q + l: q + l + k]), _sine(c, lost, grad)
        H[:p, :p] -= 2 * p_star * _second_order(c, sin, grad, hess)
        H[p:, :p] -= 2 * _g1(c, sin) * np.outer(pad_star[q + l: q + l + k], grad)
        A = (S + S.T) / 2
        c_self = float(v @ A @ v)
        kappa[l + q] = float(ts._kernel_from_cos(np.array(c_self))[0]) if l else 0.5
        if l == 0:
            continue
        Av = A @ v
        grad = 2 * Av - 2 * c_self * v
        hess = 2 * A - 4 * (np.outer(Av, v) + np.outer(v, Av)) + c_self * (8 * np.outer(v, v) - 2 * np.eye(p))
        sin = _sine(c_self, None, grad)
        H[:p, :p] += float(a @ pad_a[q + l: q + l + k]) * _second_order(c_self, sin, grad, hess)
        neighbours = pad_a[q + l: q + l + k] + pad_a[q - l: q - l + k]
        H[p:, :p] += _g1(c_self, sin) * np.outer(neighbours, grad)
    H[:p, p:] = H[p:, :p].T
    H[p:, p:] = 2 * kernel_matrix(kappa, k)
    return H


def kernel_matrix(kappa: np.ndarray, k: int) -> np.ndarray:
    """K (..., k, k) with K_ij = κ_{j−i} for |j − i| ≤ q and 1/(2π) beyond, from kappa (..., 2q + 1)."""
    q = (kappa.shape[-1] - 1) // 2
    lag = np.arange(k)[None, :] - np.arange(k)[:, None]
    inside = np.abs(lag) <= q
    K = np.full(kappa.shape[:-1] + (k, k), 1 / (2 * PI))
    K[..., inside] = kappa[..., (lag + q)[inside]]
    return K


def stride_tangent_hessian(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int) -> np.ndarray:
    """`stride_hessian` restricted to the tangent space of the sphere at v × R^k ((p − 1 + k)², orthonormal basis
    `landscape.tangent_basis`): L is constant along u, so this is the Riemannian Hessian on S^{p−1} × R^k."""
    B = critical.tangent_basis(v, a.size)
    return B.T @ stride_hessian(v, a, v_star, a_star, stride) @ B


def optimal_a(v: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int) -> np.ndarray:
    """a(v) = K(v, v)⁻¹K(v, v*)a*, the minimizer of L_s over a at a fixed filter (batched: v (..., p) → (..., k))."""
    p, k = v.shape[-1], a_star.shape[-1]
    q = ts.band(p, k, stride)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    vs = np.broadcast_to(v_star, v.shape)
    k_vv = ts._kernel_from_cos(ts.lag_cosines(v, v, stride, q))[0]
    k_vs = ts._kernel_from_cos(ts.lag_cosines(v, vs, stride, q))[0]
    b = ts.apply_K(k_vs, np.broadcast_to(a_star, v.shape[:-1] + (k,)))
    return np.linalg.solve(kernel_matrix(k_vv, k), b[..., None])[..., 0]


def profile_loss(v: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int) -> np.ndarray:
    """min_a L_s(v, a) for filters v (..., p): the loss with a at `optimal_a`."""
    a = optimal_a(v, v_star, a_star, stride)
    return ts.stride_population_loss(v, a, np.broadcast_to(v_star, v.shape), np.broadcast_to(a_star, a.shape), stride)


def stride_model(v_star: np.ndarray, a_star: np.ndarray, stride: int) -> critical.Model:
    """The stride-s loss as a `landscape.Model` (what `landscape.classify_point` evaluates and probes)."""
    vs, ast = v_star, a_star
    return critical.Model(
        loss=lambda v, a: ts.stride_population_loss(v, a, np.broadcast_to(vs, v.shape),
                                                    np.broadcast_to(ast, a.shape), stride),
        gradients=lambda v, a: ts.stride_gradients(v, a, vs, ast, stride),
        tangent_hessian=lambda v, a: stride_tangent_hessian(v, a, vs, ast, stride),
        reduced=lambda v: profile_loss(v, vs, ast, stride),
    )


# --- finding critical points ---------------------------------------------------------------------------------


Mix = Sequence[tuple[float, int]]  # a loss Σ weight · L_stride


def _mixed(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, mix: Mix) -> tuple[np.ndarray, np.ndarray]:
    """(tangent gradient (p − 1 + k,), tangent Hessian) of Σ w L_s at unit v, in `landscape.tangent_basis`."""
    B = critical.tangent_basis(v, a.size)
    g = np.zeros(B.shape[1])
    H = np.zeros((B.shape[1], B.shape[1]))
    for weight, s in mix:
        if weight == 0.0:
            continue
        grad_v, grad_a = ts.stride_gradients(v, a, v_star, a_star, s)
        g += weight * (B.T @ np.concatenate([grad_v, grad_a]))
        H += weight * stride_tangent_hessian(v, a, v_star, a_star, s)
    return g, H


def newton(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, mix: Mix,
           iterations: int = 200, tol: float = GRAD_TOL) -> tuple[np.ndarray, np.ndarray, float]:
    """Newton steps on the tangent gradient of Σ w L_s, damped Levenberg–Marquardt style ((H² + μI)δ = −Hg,
    μ raised until ‖g‖ falls) and retracted to the sphere (v ← (v + Bδ_v)/‖·‖). Converges to saddles as well
    as minima (it solves ∇L = 0). Returns (v, a, ‖g‖) at the last point."""
    p = v.size
    g, H = _mixed(v, a, v_star, a_star, mix)
    norm = float(np.linalg.norm(g))
    mu = 0.0
    for _ in range(iterations):
        if norm < tol:
            break
        B = critical.tangent_basis(v, a.size)
        accepted = False
        for _ in range(30):
            delta = -np.linalg.lstsq(H @ H + mu * np.eye(H.shape[0]), H @ g, rcond=None)[0]
            step = B @ delta
            v_new = v + step[:p]
            v_new /= np.linalg.norm(v_new)
            a_new = a + step[p:]
            g_new, H_new = _mixed(v_new, a_new, v_star, a_star, mix)
            if np.linalg.norm(g_new) < norm:
                v, a, g, H, norm, accepted = v_new, a_new, g_new, H_new, float(np.linalg.norm(g_new)), True
                mu /= 10
                break
            mu = max(10 * mu, 1e-10 * float(np.max(np.abs(H))) ** 2 + 1e-300)
        if not accepted:
            break
    return v, a, norm


@dataclass
class Branch:
    """One critical point continued along the strides: v (n, p), a (n, k), gradient norms (n,) at `strides`;
    `move` (n,): the largest step ‖Δ(v, a)‖ between consecutive homotopy solves on the way to each stride
    (0 at the first); `fold` (n,): a fold was crossed on the way (`_homotopy_step`: the followed minimum
    vanished there and the descent landed in another minimum)."""

    strides: list[int]
    v: np.ndarray
    a: np.ndarray
    grad_norm: np.ndarray
    move: np.ndarray
    fold: np.ndarray


def _retract(v: np.ndarray, a: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(v + step_v)/‖·‖, a + step_a for a step (p + k,) in ambient coordinates."""
    p = v.size
    u = v + step[:p]
    return u / np.linalg.norm(u), a + step[p:]


def _mixed_loss(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, mix: Mix) -> float:
    return float(sum(w * ts.stride_population_loss(v, a, v_star, a_star, s) for w, s in mix if w))


def minimize(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, mix: Mix,
             iterations: int = 1000, tol: float = GRAD_TOL) -> tuple[np.ndarray, np.ndarray, float]:
    """Local minimization of Σ w L_s from (v, a): Newton with the tangent Hessian shifted to be positive
    definite ((H + μI)δ = −g, μ = max(0, 10⁻⁶·max|λ| − λmin)), steps no longer than TRUST and Armijo
    backtracking on the loss, retracted to the sphere; pure Newton near a non-degenerate minimum. Unlike
    `newton` it only goes down: from a minimum of a nearby loss it reaches the nearby minimum, or — if that
    minimum is gone — a lower one. It stops at ‖g‖ < tol, after `iterations`, when no backtracked step
    decreases the loss, or when the accepted step leaves (v, a) unchanged bit for bit (near a degenerate
    minimum the Armijo step shrinks below rounding, and the iteration would repeat itself to the end).
    Returns (v, a, ‖g‖)."""
    g, H = _mixed(v, a, v_star, a_star, mix)
    loss = _mixed_loss(v, a, v_star, a_star, mix)
    for _ in range(iterations):
        if np.linalg.norm(g) < tol:
            break
        lam = np.linalg.eigvalsh(H)
        mu = max(0.0, 1e-6 * max(1.0, float(np.abs(lam).max())) - float(lam.min()))
        delta = -np.linalg.solve(H + mu * np.eye(H.shape[0]), g)
        delta *= min(1.0, TRUST / float(np.linalg.norm(delta)))  # no jumps into another basin
        B, step = critical.tangent_basis(v, a.size), 1.0
        for _ in range(50):
            v_new, a_new = _retract(v, a, B @ (step * delta))
            new = _mixed_loss(v_new, a_new, v_star, a_star, mix)
            if new <= loss + 1e-4 * step * float(g @ delta):
                break
            step /= 2
        else:
            break  # no decrease left above rounding
        if np.array_equal(v_new, v) and np.array_equal(a_new, a):
            break  # the step rounded away: every further iteration would repeat this one bit for bit
        v, a, loss = v_new, a_new, new
        g, H = _mixed(v, a, v_star, a_star, mix)
    return v, a, float(np.linalg.norm(g))


FOLD_MOVE = 0.2  # a homotopy solve moving (v, a) farther than this is refined; a fold when it still does at
FOLD_DEPTH = 6  # substeps halved this often (Δt = 1/(8·2⁶)): a smooth path moves ≪ 0.2 there, a jump over a
#                 vanished minimum (a saddle-node fold) moves as far as at the coarse step (0.8 and more)


def _distance(v: np.ndarray, a: np.ndarray, v1: np.ndarray, a1: np.ndarray) -> float:
    """How far a solve moved the point: ‖(v1 − v, a1 − a)‖."""
    return float(np.linalg.norm(np.concatenate([v1 - v, a1 - a])))


def _homotopy_step(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, prev: int, s: int,
                   t0: float, t1: float, depth: int = 0) -> tuple[np.ndarray, np.ndarray, float, float, bool]:
    """`minimize` of (1 − t1)L_prev + t1 L_s from the minimum (v, a) at t0, halving [t0, t1] while a solve
    moves more than FOLD_MOVE. Returns (v, a, ‖g‖, the largest move, fold): fold when a solve at the finest
    Δt still jumps, i.e. the minimum followed ceased to exist between t0 and t1 (a path moving that far over
    so short a Δt is not continuous)."""
    mix = [(1.0 - t1, prev), (t1, s)]
    v1, a1, norm = minimize(v, a, v_star, a_star, mix)
    move = _distance(v, a, v1, a1)
    if move <= FOLD_MOVE:
        return v1, a1, norm, move, False
    if _mixed_loss(v1, a1, v_star, a_star, mix) < 1e-12:  # it drained to the global optimum (loss 0 at every
        return v1, a1, norm, move, True                    # stride): the minimum is gone, no need to refine
    if depth == FOLD_DEPTH:
        return v1, a1, norm, move, True
    mid = 0.5 * (t0 + t1)
    v, a, _, first, fold = _homotopy_step(v, a, v_star, a_star, prev, s, t0, mid, depth + 1)
    v, a, norm, second, fold2 = _homotopy_step(v, a, v_star, a_star, prev, s, mid, t1, depth + 1)
    return v, a, norm, max(first, second), fold or fold2


def continue_point(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, strides: Sequence[int],
                   substeps: int = 8, follow: str = "minimum") -> Branch:
    """Continue the point (v, a) of L at strides[0] through each next stride along the homotopy
    (1 − t)L_{previous} + tL_s at t = 1/substeps, …, 1, each solve started at the last point. follow
    ``minimum``: `minimize` (a local minimum is followed while it exists; where it vanishes the descent
    lands in another minimum, possibly the global one: `_homotopy_step` refines the substeps there and
    reports the fold), then `newton` at t = 1 to polish; ``critical``: `newton` alone (any critical point,
    minima turning into saddles included)."""
    vs, as_, norms = [v], [a], [float(np.linalg.norm(_mixed(v, a, v_star, a_star, [(1.0, strides[0])])[0]))]
    moves, folds = [0.0], [False]
    for prev, s in zip(strides, strides[1:]):
        move, fold = 0.0, False
        grid = np.linspace(0.0, 1.0, substeps + 1)
        for t0, t in zip(grid[:-1], grid[1:]):
            if follow == "minimum":
                v, a, norm, step, crossed = _homotopy_step(v, a, v_star, a_star, prev, s, float(t0), float(t))
                move, fold = max(move, step), fold or crossed
                continue
            v_new, a_new, norm = newton(v, a, v_star, a_star, [(1.0 - t, prev), (t, s)])
            move = max(move, _distance(v, a, v_new, a_new))
            v, a = v_new, a_new
        if follow == "minimum":
            v, a, norm = newton(v, a, v_star, a_star, [(1.0, s)])
        vs.append(v), as_.append(a), norms.append(norm), moves.append(move), folds.append(fold)
    return Branch(list(strides), np.array(vs), np.array(as_), np.array(norms), np.array(moves), np.array(folds))


def descend(v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int, steps: int,
            lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Population GD with normalization at stride s from the rows of v0 (n, p), a0 (n, k): `samples.StrideState`
    with constant step `lr` on both layers. Returns the final (v, a)."""
    n = v0.shape[0]
    state = ts.StrideState(v0, a0, np.tile(v_star, (n, 1)), np.tile(a_star, (n, 1)), stride)
    eta = np.full(n, lr)

    def step(st: ts.StrideState, _: int) -> ts.StrideState:
        st.step(eta, eta)  # (in place)
        return st

    state, _ = driver.descend(step, state, steps)  # the one optimizer loop (resnet_cli/descent.py)
    return state.v, state.a


def distinct(points: list[tuple[np.ndarray, np.ndarray]], tol: float = 1e-3) -> list[int]:
    """Indices of the first of each group of points (v, a) closer than tol (max-norm of the concatenation).
    The tolerance is loose because a degenerate point (the spurious one at s = p: ∇L quadratic in the
    distance) is only located to √GRAD_TOL by Newton."""
    kept: list[int] = []
    for i, (v, a) in enumerate(points):
        x = np.concatenate([v, a])
        if all(np.max(np.abs(x - np.concatenate(points[j]))) > tol for j in kept):
            kept.append(i)
    return kept


# --- the sweep over strides -----------------------------------------------------------------------------------

SEARCH_STEPS = 2000  # normalized GD steps of each search start (then Newton from where it stopped)
SEARCH_LR = 0.1  # its constant step on both layers


def search(rng: np.random.Generator, v_star: np.ndarray, a_star: np.ndarray, stride: int, starts: int,
           ) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[int]]:
    """Distinct critical points (v, a) of L_s reached by Newton (‖∇L‖ < GRAD_TOL) from the ends of normalized
    GD runs started at v0 uniform on the sphere, a0 ~ N(0, ‖a*‖²/k · I) (`starts` of them, drawn from rng),
    and how many starts reached each."""
    p, k = v_star.size, a_star.size
    v0 = tl.sample_sphere(rng, starts, p)
    a0 = rng.standard_normal((starts, k)) * np.linalg.norm(a_star) / math.sqrt(k)
    v, a = descend(v0, a0, v_star, a_star, stride, SEARCH_STEPS, SEARCH_LR)
    points = []
    for i in range(starts):
        if np.isfinite(v[i]).all() and np.isfinite(a[i]).all():
            vv, aa, norm = newton(v[i], a[i], v_star, a_star, [(1.0, stride)])
            if norm < GRAD_TOL:
                points.append((vv, aa))
    kept = distinct(points)
    counts = [sum(_close(points[i], point) for point in points) for i in kept]
    return [points[i] for i in kept], counts


def _close(x: tuple[np.ndarray, np.ndarray], y: tuple[np.ndarray, np.ndarray], tol: float = 1e-3) -> bool:
    """Whether two points (v, a) are within tol in max-norm (`distinct`'s test)."""
    return bool(np.max(np.abs(np.concatenate([x[0] - y[0], x[1] - y[1]]))) <= tol)


@dataclass
class StrideSweep:
    """The landscape along s = p, p − 1, …, s_min for one teacher: the spurious point followed as a local
    minimum (`branch`, classified at each stride: `spurious`, kind ``global`` where it drained there); at each stride the global optimum and every other distinct
    critical point Newton reached from normalized GD runs of `starts` random starts (`found[s]`, classified,
    with `reached[s]`: how many starts ended there, global and the continued spurious point included)."""

    strides: list[int]
    starts: int
    branch: Branch
    spurious: list[critical.CriticalPoint]
    found: dict[int, list[critical.CriticalPoint]]
    reached: dict[int, list[int]]
    reached_spurious: dict[int, int]
    v_star: np.ndarray

    def row(self, s: int, cp: critical.CriticalPoint) -> dict:
        """One point as a table row: s, loss, φ = angle(v, v*), aᵀa*, ‖∇L‖, λmin, index, verdict."""
        eig = cp.hessian_eigenvalues
        index = int(np.sum(eig < -1e-9 * max(1.0, float(np.abs(eig).max()))))  # classify_point's tolerance
        return {"stride": s, "kind": cp.kind, "loss": cp.loss, "phi": float(tl.angle(cp.v, self.v_star)),
                "a_dot_astar": cp.a_dot_astar, "grad_norm": cp.grad_norm, "hessian_min": float(eig.min()),
                "hessian_max": float(eig.max()), "index": index, "verdict": cp.verdict, "method": cp.method,
                "v": cp.v, "a": cp.a}

    def to_dict(self) -> dict:
        spurious = [{**self.row(s, cp), "homotopy_move": float(m), "fold": bool(fold),
                     "reached_by": self.reached_spurious[s] if cp.kind != "global" else None}
                    for s, cp, m, fold in zip(self.strides, self.spurious, self.branch.move, self.branch.fold)]
        found = [{**self.row(s, cp), "reached_by": n} for s in self.strides
                 for cp, n in zip(self.found[s], self.reached[s])]
        return {"strides": self.strides, "search_starts": self.starts, "search_steps": SEARCH_STEPS,
                "search_lr": SEARCH_LR, "grad_tol": GRAD_TOL, "spurious_branch": spurious, "found": found}


def stride_sweep(rng: np.random.Generator, v_star: np.ndarray, a_star: np.ndarray, smallest: int, starts: int,
                 probes: int, probe_radius: float, at_p: list[critical.CriticalPoint]) -> StrideSweep:
    """The sweep s = p … smallest. `at_p` = [global, spurious] classified at s = p by `landscape.classify_point`
    (reused as they are: the s = p rows are today's). The spurious point is followed as a local minimum
    (`continue_point`, follow="minimum") and classified with the stride-s loss (`stride_model`; probes drawn
    from rng only at degenerate points): kind ``spurious`` while it stays non-global, ``global`` once the
    descent reached the global optimum (the spurious minimum has vanished), ``moved`` once a fold was crossed
    (it vanished, and the descent landed in another non-global minimum). At each stride the global optimum
    (v*, a*) (a critical point, loss 0, at every s) and the points of `search` other than it and the followed
    point are classified as ``other``."""
    p = v_star.size
    strides = list(range(p, smallest - 1, -1))
    global_p, spurious_p = at_p
    branch = continue_point(spurious_p.v, spurious_p.a, v_star, a_star, strides, follow="minimum")
    spurious, found, reached, reached_spurious = [spurious_p], {}, {}, {}
    for i, (s, v, a) in enumerate(zip(strides[1:], branch.v[1:], branch.a[1:]), start=1):
        model = stride_model(v_star, a_star, s)
        kind = ("global" if float(model.loss(v[None], a[None])[0]) < 1e-12 else
                "moved" if branch.fold[:i + 1].any() else "spurious")
        spurious.append(critical.classify_point(rng, kind, v, a, v_star, a_star, probes, probe_radius, model))
    for s, branch_point in zip(strides, spurious):
        model = stride_model(v_star, a_star, s)
        glob = global_p if s == p else critical.classify_point(rng, "global", v_star.copy(), a_star.copy(), v_star,
                                                                a_star, probes, probe_radius, model)
        points, counts = search(rng, v_star, a_star, s, starts)
        found[s], reached[s], reached_spurious[s] = [glob], [0], 0
        order = sorted(range(len(points)), key=lambda i: float(model.loss(points[i][0][None], points[i][1][None])[0]))
        for (v, a), n in ((points[i], counts[i]) for i in order):
            if _close((v, a), (v_star, a_star)):
                reached[s][0] += n
            elif _close((v, a), (branch_point.v, branch_point.a)):
                reached_spurious[s] += n
            else:
                found[s].append(critical.classify_point(rng, "other", v, a, v_star, a_star, probes, probe_radius, model))
                reached[s].append(n)
    return StrideSweep(strides, starts, branch, spurious, found, reached, reached_spurious, v_star)
