"""Finite samples, SGD and overlapping filters for the two-layer teacher–student model (Liu et al. 2019; docs/train.md).

`two_layer.py` has the population loss of the non-overlapping net in closed form. This module adds:

1. Inputs as arrays. An input is x ∈ R^d, d = (k − 1)s + p, with i.i.d. unit-variance entries of one law
   (``gaussian`` N(0, 1), ``uniform`` U[−√3, √3], ``rademacher`` ±1). Patch i (0-based) is the coordinates
   is … is + p − 1 of x; stride s = p gives the non-overlapping patches Z_1..Z_k of the poster, s < p lets
   neighbouring patches overlap. Arrays: x (trials × N × d), patches z (trials × N × k × p).
2. The empirical loss of a sample {(x_t, y_t)}, t = 1..N, in the poster's convention (no ½):

       L̂(v, a) = (1/N) Σ_t (y_t − h(x_t))²,   h(x) = Σ_j a_j σ(z_jᵀ v),   y_t = f(x_t) + σ_ε ε_t,

   with f the teacher Σ_j a*_j σ(z_jᵀ v*) and ε_t ~ N(0, 1) optional label noise. Its exact gradients
   (σ'(0) := 0, the subgradient numpy's `>` picks; inputs with a continuous law hit 0 with probability 0):

       ∇_a L̂ = (2/N) Σ_t r_t σ(z_t v),   ∂_v L̂ = (2/N) Σ_t r_t Σ_j a_j 1{z_tjᵀv > 0} z_tj,   r_t = h(x_t) − y_t,

   and, for the normalized students v = u/‖u‖ (u = w for the CNN, e + w for the ResNet), ∇_w L̂ =
   (I − vvᵀ) ∂_v L̂ / ‖u‖ (chain rule). At ‖u‖ = 1, the state of GD with normalization, ∇_w L̂ is the
   tangent gradient, exactly as `two_layer.gradients` is for the population loss.
3. The population loss for any stride in closed form (Gaussian inputs). With U_i ∈ R^d the filter v placed
   at patch i, E[σ(xᵀU)σ(xᵀU′)] = ‖U‖‖U′‖ (sin θ + (π − θ) cos θ)/(2π), θ = angle(U, U′) (Du et al. 2017's
   lemma; docs/train.md). For unit filters ‖U_i‖ = 1 and UᵢᵀU′_j = vᵀ S_{(j−i)s} v′ depends only on the lag
   l = j − i, where S_m v′ is v′ shifted by m inside the patch window, (S_m v′)_r = v′_{r−m} (0 outside):

       K(v, v′)_ij = κ_{j−i},   κ_l = g(θ_l),   cos θ_l = vᵀ S_{ls} v′,   g as in `two_layer.kernel_g`,
       L(v, a) = a*ᵀ K(v*, v*) a* − 2 aᵀ K(v, v*) a* + aᵀ K(v, v) a.

   Patches l lags apart do not overlap when |l|s ≥ p, then κ_l = g(π/2) = 1/(2π). So K = 11ᵀ/(2π) plus a
   band of half-width q = min(⌈p/s⌉ − 1, k − 1): at s = p (q = 0) K(v, v*) = N(φ) and K(v, v) = M, the
   non-overlapping formula of `two_layer.py`. K is never formed: it acts through the band. Gradients
   (∇_x E[σ(xᵀz)σ(yᵀz)] = ((π − θ) y + sin θ ‖y‖ x/‖x‖)/(2π); the second term is radial and drops out of
   the tangent gradient):

       ∇_a L = 2 K(v, v) a − 2 K(v, v*) a*,
       ∇_v L = (I − vvᵀ) Σ_{|l|≤q} [2 P_l (π − θ_l) S_{ls} v − 2 P*_l (π − θ*_l) S_{ls} v*] / (2π),
       P_l = Σ_i a_i a_{i+l},  P*_l = Σ_i a_i a*_{i+l}.

   The plane reduction of `optim.PlaneState` does not hold for s < p (the shifted v*'s leave the plane);
   `StrideState` runs the vector representation.
4. `SampleState` and `StrideState`: GD states with the interface of `optim.VectorState` (step, take, put,
   finite, statistics, vectors), so `optim.run_gd`'s loop can drive them. The update is `optim.gd_step`'s
   normalization step with the empirical (resp. stride) gradients. statistics() are always the
   *population* numbers of `optim.run_statistics` (for s < p with the stride population loss).

Every random draw comes from Generators passed in. Nothing loops over trials or samples in Python except
the per-trial Generator calls of SGD (one call per trial per epoch, resp. per chunk of online steps).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from resnet_cli.models.two_layer import optim, population as tl
from resnet_cli.rng import child_rngs

PI = math.pi
LAWS = ("gaussian", "uniform", "rademacher")


# --- inputs and patches ------------------------------------------------------------------------------------


def input_dim(p: int, k: int, stride: int) -> int:
    """d = (k − 1)s + p, the input dimension of k patches of size p at stride s (1 ≤ s ≤ p)."""
    check_stride(p, stride)
    return (k - 1) * stride + p


def check_stride(p: int, stride: int) -> None:
    """Raise ValueError unless 1 ≤ s ≤ p (s > p would leave coordinates that no patch reads)."""
    if not 1 <= stride <= p:
        raise ValueError(f"stride must satisfy 1 <= s <= p = {p}, got {stride}")


def sample_inputs(
    rng: np.random.Generator, shape: tuple[int, ...], law: str = "gaussian", out: np.ndarray | None = None
) -> np.ndarray:
    """An array of i.i.d. entries with mean 0 and variance 1: N(0, 1), U[−√3, √3] or ±1 (Rademacher).

    `out` (C-contiguous float64 of that shape): written in place and returned, the same numbers from the same
    Generator calls as without it (`uniform(−√3, √3)` is −√3 + 2√3·U, exactly what `random` then the scaling
    gives), so a buffer refilled per chunk costs no allocation or copy."""
    if law not in LAWS:
        raise ValueError(f"unknown input law {law!r} (choose from {', '.join(LAWS)})")
    x = np.empty(shape) if out is None else out
    if law == "gaussian":
        rng.standard_normal(out=x)
    elif law == "uniform":
        rng.random(out=x)
        x *= 2 * math.sqrt(3.0)
        x -= math.sqrt(3.0)
    else:
        np.multiply(rng.integers(0, 2, size=shape), 2.0, out=x)
        x -= 1.0
    return x


def patch_index(p: int, k: int, stride: int) -> np.ndarray:
    """The (k × p) integer array whose row i is the coordinates is … is + p − 1 of patch i."""
    check_stride(p, stride)
    return stride * np.arange(k)[:, None] + np.arange(p)[None, :]


def patches(x: np.ndarray, p: int, stride: int) -> np.ndarray:
    """Patches of x (..., d) at stride s: a read-only strided view (..., k, p) with k = (d − p)/s + 1.

    Entry [..., i, r] is x[..., is + r]. No copy is made (overlapping patches share memory).
    """
    check_stride(p, stride)
    d = x.shape[-1]
    if d < p or (d - p) % stride:
        raise ValueError(f"input dimension {d} is not (k − 1)s + p for p = {p}, s = {stride}")
    return _windows(x, p)[..., ::stride, :]


def embed(v: np.ndarray, k: int, stride: int) -> np.ndarray:
    """The filters placed at their patch positions: U (..., k, d) with U[..., i, is:is+p] = v (for tests and
    Monte Carlo; the closed forms below never build it)."""
    p = v.shape[-1]
    d = input_dim(p, k, stride)
    out = np.zeros(v.shape[:-1] + (k, d))
    idx = patch_index(p, k, stride)
    out[..., np.arange(k)[:, None], idx] = v[..., None, :]
    return out


def outputs(z: np.ndarray, v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """h = Σ_j a_j σ(z_jᵀ v) for every sample: z (..., N, k, p), v (..., p), a (..., k) → (..., N).

    v is used as given (not normalized): pass unit filters for the normalized students.
    """
    act = np.maximum(np.einsum("...tkp,...p->...tk", z, v), 0.0)
    return np.einsum("...tk,...k->...t", act, a)


def draw_training_set(
    rng: np.random.Generator | Sequence[np.random.Generator],
    v_star: np.ndarray,
    a_star: np.ndarray,
    samples: int,
    stride: int | None = None,
    law: str = "gaussian",
    label_noise: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A training set per trial: x (trials × N × d) with i.i.d. unit-variance entries, y (trials × N) = f(x) + σ_ε ε.

    v_star (trials × p) must be unit rows, a_star (trials × k). stride None means s = p (non-overlapping).
    One Generator: draw order all inputs (trials × N × d), then (if σ_ε > 0) all label noise (trials × N).
    A sequence of Generators (one per trial, e.g. `trial_generators`): trial i draws its inputs (N × d), then
    its noise (N,), from its own Generator, so its data do not depend on how many trials share the batch.
    """
    n, p = v_star.shape
    k = a_star.shape[-1]
    s = p if stride is None else stride
    shape = (samples, input_dim(p, k, s))
    if isinstance(rng, np.random.Generator):
        x = sample_inputs(rng, (n,) + shape, law)
        noise = rng.standard_normal((n, samples)) if label_noise else None
    else:
        if len(rng) != n:
            raise ValueError(f"need one Generator per trial ({n}), got {len(rng)}")
        draws = [(sample_inputs(g, shape, law), g.standard_normal(samples) if label_noise else None) for g in rng]
        x = np.stack([d[0] for d in draws])
        noise = np.stack([d[1] for d in draws]) if label_noise else None
    y = outputs(patches(x, p, s), v_star, a_star)
    if noise is not None:
        y = y + label_noise * noise
    return x, y


def trial_generators(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """n independent child Generators of `rng` (its `spawn`), one per trial, for SGD's per-trial draws."""
    return child_rngs(rng, n)


# --- the empirical loss and its gradients --------------------------------------------------------------------


def empirical_loss(v: np.ndarray, a: np.ndarray, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """L̂(v, a) = (1/N) Σ_t (y_t − h(x_t))² (module docstring, item 2). z (..., N, k, p), y (..., N) → (...)."""
    return np.mean((outputs(z, v, a) - y) ** 2, axis=-1)


def empirical_loss_w(
    w: np.ndarray, a: np.ndarray, z: np.ndarray, y: np.ndarray, offset: np.ndarray | float = 0.0
) -> np.ndarray:
    """L̂(w, a) with v = (offset + w)/‖offset + w‖ (offset = e for the ResNet student, 0 for the CNN)."""
    return empirical_loss(tl.direction(w, offset), a, z, y)


def empirical_raw_gradients(
    v: np.ndarray, a: np.ndarray, z: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(∂_v L̂, ∇_a L̂) of L̂(v, a) with v used as given (item 2): shapes (..., p) and (..., k)."""
    n_samples = z.shape[-3]
    tiles = _patch_rows(z)
    if tiles is None:
        pre = np.einsum("...tkp,...p->...tk", z, v)
    else:
        pre = (tiles @ v[..., :, None]).reshape(z.shape[:-1])
    act = np.maximum(pre, 0.0)
    r = np.einsum("...tk,...k->...t", act, a) - y
    scale = 2.0 / n_samples
    grad_a = scale * np.einsum("...tk,...t->...k", act, r)
    weight = (pre > 0) * (a[..., None, :] * r[..., :, None])  # r_t a_j 1{z_tjᵀv > 0}
    if tiles is None:
        grad_v = scale * np.einsum("...tkp,...tk->...p", z, weight)
    else:
        grad_v = scale * (weight.reshape(*weight.shape[:-2], 1, -1) @ tiles)[..., 0, :]
    return grad_v, grad_a


def _patch_rows(z: np.ndarray) -> np.ndarray | None:
    """The patches z (..., t, k, p) as a (..., t·k, p) view when they tile memory without overlap (stride s = p,
    the non-overlapping net), else None. The two contractions over p and over (t, k) then run as batched
    matrix products (3-4× faster than einsum's loop at p = 8; the sums are the same up to their order, so the
    last bits can differ from the einsum route)."""
    if z.ndim < 3 or z.dtype != np.float64:
        return None
    t, k, p = z.shape[-3:]
    step = z.strides
    if step[-1] != z.itemsize or step[-2] != p * step[-1] or step[-3] != k * step[-2]:
        return None
    return z.reshape(*z.shape[:-3], t * k, p)


def empirical_gradients(
    v: np.ndarray, a: np.ndarray, z: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """At a unit filter v: (∇_v L̂ on the sphere's tangent space = (I − vvᵀ)∂_v L̂, ∇_a L̂).

    For the normalized parametrizations at ‖u‖ = 1 this is also ∇_w L̂ (the analogue of
    `two_layer.gradients`).
    """
    grad_v, grad_a = empirical_raw_gradients(v, a, z, y)
    return _tangent(v, grad_v), grad_a


def empirical_gradient_w(
    w: np.ndarray, a: np.ndarray, z: np.ndarray, y: np.ndarray, offset: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean gradients (∇_w L̂, ∇_a L̂) of L̂(w, a) at any w: ∇_w L̂ = (I − vvᵀ)∂_v L̂ / ‖offset + w‖."""
    return tl.chain_to_w(empirical_gradients, w, offset, a, z, y)


def _tangent(v: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(I − vvᵀ) g for unit rows v."""
    return g - np.sum(g * v, axis=-1, keepdims=True) * v


# --- the stride-s population loss in closed form -------------------------------------------------------------


def band(p: int, k: int, stride: int) -> int:
    """q = min(⌈p/s⌉ − 1, k − 1): patches more than q apart do not overlap (item 3)."""
    check_stride(p, stride)
    return min(-(-p // stride) - 1, k - 1)


def _windows(x: np.ndarray, width: int) -> np.ndarray:
    """`sliding_window_view(x, width, axis=-1)` (read-only) without its argument checks: 6 µs a call instead of
    25, and a minibatch step takes one (`patches`), the stride-s gradient three."""
    step = x.strides[-1]
    return as_strided(x, x.shape[:-1] + (x.shape[-1] - width + 1, width), x.strides + (step,), writeable=False)


def shifted(v: np.ndarray, stride: int, q: int) -> np.ndarray:
    """S_{ls} v for l = −q..q: array (..., 2q + 1, p), index l + q, with (S_m v)_r = v_{r−m} (0 outside)."""
    p = v.shape[-1]
    pad = q * stride
    padded = np.concatenate([np.zeros(v.shape[:-1] + (pad,)), v, np.zeros(v.shape[:-1] + (pad,))], axis=-1)
    windows = _windows(padded, p)[..., ::stride, :]  # window w starts at ws: lag l = q − w
    return windows[..., ::-1, :]


def _band_windows(b: np.ndarray, q: int) -> np.ndarray:
    """W (..., k, 2q + 1) with W[..., i, l + q] = b_{i+l} (0 outside 0..k−1)."""
    zeros = np.zeros(b.shape[:-1] + (q,))
    return _windows(np.concatenate([zeros, b, zeros], axis=-1), 2 * q + 1)


def lag_cosines(v: np.ndarray, v2: np.ndarray, stride: int, q: int) -> np.ndarray:
    """cos θ_l = vᵀ S_{ls} v2 for l = −q..q, shape (..., 2q + 1): the cosine of filter v at patch i and unit
    filter v2 at patch i + l (unit v, v2)."""
    return np.einsum("...p,...lp->...l", v, shifted(v2, stride, q))


def _kernel_from_cos(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(g(θ), π − θ) from cos θ, with g(θ) = (sin θ + (π − θ) cos θ)/(2π)."""
    c = np.clip(c, -1.0, 1.0)
    far = PI - np.arccos(c)
    return (np.sqrt(np.maximum(1.0 - c * c, 0.0)) + far * c) / (2 * PI), far


def apply_K(kappa: np.ndarray, b: np.ndarray) -> np.ndarray:
    """K b with K_ij = κ_{j−i} = 1/(2π) + (κ_{j−i} − 1/(2π)) 1{|j−i| ≤ q}: kappa (..., 2q + 1), b (..., k)."""
    q = (kappa.shape[-1] - 1) // 2
    far = b.sum(axis=-1, keepdims=True) / (2 * PI)
    return far + np.einsum("...kl,...l->...k", _band_windows(b, q), kappa - 1 / (2 * PI))


def lag_products(a: np.ndarray, b: np.ndarray, q: int) -> np.ndarray:
    """P_l = Σ_i a_i b_{i+l} for l = −q..q, shape (..., 2q + 1)."""
    return np.einsum("...k,...kl->...l", a, _band_windows(b, q))


def stride_population_loss(
    v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int
) -> np.ndarray:
    """E_x (f − h)² for Gaussian x and patches at stride s (item 3): v, v_star (..., p) any nonzero norm (only
    the directions count), a, a_star (..., k) → (...). Equals `two_layer.population_loss` at s = p."""
    p, k = v.shape[-1], a.shape[-1]
    q = band(p, k, stride)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    v_star = v_star / np.linalg.norm(v_star, axis=-1, keepdims=True)
    k_ss, _ = _kernel_from_cos(lag_cosines(v_star, v_star, stride, q))
    k_vs, _ = _kernel_from_cos(lag_cosines(v, v_star, stride, q))
    k_vv, _ = _kernel_from_cos(lag_cosines(v, v, stride, q))
    return np.maximum(  # an expected square: a rounding below 0 is 0 (as `population_loss_phi`)
        np.sum(a_star * apply_K(k_ss, a_star), axis=-1)
        - 2 * np.sum(a * apply_K(k_vs, a_star), axis=-1)
        + np.sum(a * apply_K(k_vv, a), axis=-1),
        0.0,
    )


def stride_gradients(
    v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int
) -> tuple[np.ndarray, np.ndarray]:
    """At a unit filter v: (tangent ∇_v L, ∇_a L) of the stride-s population loss (item 3); at ‖u‖ = 1 also
    ∇_w L. Shapes (..., p), (..., k). Equals `two_layer.gradients` at s = p."""
    p, k = v.shape[-1], a.shape[-1]
    q = band(p, k, stride)
    sv, sv_star = shifted(v, stride, q), shifted(v_star, stride, q)
    k_vs, far_vs = _kernel_from_cos(np.einsum("...p,...lp->...l", v, sv_star))
    k_vv, far_vv = _kernel_from_cos(np.einsum("...p,...lp->...l", v, sv))
    grad_a = 2 * apply_K(k_vv, a) - 2 * apply_K(k_vs, a_star)
    coef_v = 2 * lag_products(a, a, q) * far_vv / (2 * PI)
    coef_star = 2 * lag_products(a, a_star, q) * far_vs / (2 * PI)
    raw = np.einsum("...l,...lp->...p", coef_v, sv) - np.einsum("...l,...lp->...p", coef_star, sv_star)
    return _tangent(v, raw), grad_a


def stride_gradient_w(
    w: np.ndarray,
    a: np.ndarray,
    v_star: np.ndarray,
    a_star: np.ndarray,
    stride: int,
    offset: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean gradients (∇_w L, ∇_a L) of the stride-s loss at any w: the tangent gradient / ‖offset + w‖."""
    return tl.chain_to_w(stride_gradients, w, offset, a, v_star, a_star, stride)


def population_statistics(
    v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int | None = None
) -> dict[str, np.ndarray]:
    """`optim.run_statistics` (loss, phi, a_dot_astar, a_err, a_err_rel) with the loss of stride s (s = p or
    None: the non-overlapping closed form). φ = angle(v, v*) for every stride."""
    stats = optim.run_statistics(v, a, v_star, a_star)
    if stride is not None and stride < v.shape[-1]:
        with np.errstate(all="ignore"):
            stats["loss"] = stride_population_loss(v, a, v_star, a_star, stride)
    return stats


def normalized_step(
    v: np.ndarray, a: np.ndarray, grad_v: np.ndarray, grad_a: np.ndarray, eta_a: np.ndarray, eta_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The update of `optim.gd_step` with given gradients: v ← (v − η_w ∇_w)/‖·‖, a ← a − η_a ∇_a."""
    u = v - eta_w[:, None] * grad_v
    return u / np.linalg.norm(u, axis=-1, keepdims=True), a - eta_a[:, None] * grad_a


# --- GD states for the driver --------------------------------------------------------------------------------


class _RowVectorState:
    """What the driver reads from a state holding v (trials × p) and a (trials × k) as rows: finiteness,
    the population statistics (outcomes are judged on the population loss/angle) and the vectors."""

    def finite(self) -> np.ndarray:
        return np.isfinite(self.v).all(axis=1) & np.isfinite(self.a).all(axis=1)

    def statistics(self) -> dict[str, np.ndarray]:
        return population_statistics(self.v, self.a, self.v_star, self.a_star, self.stride)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.v.copy(), self.a.copy()


class StrideState(_RowVectorState):
    """Population GD with normalization for patches at stride s (vector representation; s = p is the
    non-overlapping net, equal to `optim.VectorState` up to rounding). v (trials × p), a (trials × k)."""

    def __init__(self, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, stride: int) -> None:
        check_stride(v0.shape[-1], stride)
        self.v = np.array(v0, dtype=float) / np.linalg.norm(v0, axis=-1, keepdims=True)
        self.a = np.array(a0, dtype=float)
        self.v_star, self.a_star, self.stride = v_star, a_star, stride

    def step(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        grad_v, grad_a = stride_gradients(self.v, self.a, self.v_star, self.a_star, self.stride)
        self.v, self.a = normalized_step(self.v, self.a, grad_v, grad_a, eta_a, eta_w)

    def take(self, index: np.ndarray) -> "StrideState":
        part = object.__new__(StrideState)  # no re-normalization: the rows continue bit for bit
        part.v, part.a, part.v_star, part.a_star = self.v[index], self.a[index], self.v_star[index], self.a_star[index]
        part.stride = self.stride
        return part

    def put(self, index: np.ndarray, part: "StrideState") -> None:
        self.v[index], self.a[index] = part.v, part.a


class SampleState(_RowVectorState):
    """GD/SGD with normalization on samples, batched over trials (rows). Three modes:

    - full batch (``batch`` None or N): GD on the empirical loss L̂ of the fixed training set (x, y);
    - minibatch SGD (1 ≤ B < N): each step uses B distinct samples of the fixed set. Each trial reads its own
      stream of reshuffled epochs (a fresh permutation of 0..N−1 from its Generator per epoch; a batch that
      crosses an epoch boundary takes the rest of one permutation and the start of the next);
    - online SGD (``online=True``): each step draws B fresh inputs of the given law from the trial's
      Generator, labels them with the teacher (+ label noise). Draws come in chunks of `chunk` steps per
      trial (inputs (chunk × B × d), then noise (chunk × B)), so Generator calls are per trial per chunk.

    x (trials × N × d), y (trials × N); `rngs` one Generator per trial (needed for B < N and online). A
    trial's numbers depend only on its own data and Generator: it evolves exactly as it would alone, so
    `take`/`put` (the driver's compaction) change nothing. `perturbation` (None: plain SGD) adds perturbed
    GD's annealed Gaussian noise to the gradients of every step (models/two_layer/noise.py, Zhou et al. 2019),
    drawn for every row of the batch from its own generator. statistics() are the population numbers
    (`population_statistics`: closed form for Gaussian inputs at the given stride; for other input laws
    φ and the a-errors are law-free, and "loss" is still the Gaussian closed form).
    """

    _per_trial = ("v", "a", "v_star", "a_star", "x", "y", "perm", "next_perm", "pos", "buf_x", "buf_noise", "t")
    _mutable = ("v", "a", "perm", "next_perm", "pos", "buf_x", "buf_noise", "t")

    def __init__(
        self,
        v0: np.ndarray,
        a0: np.ndarray,
        v_star: np.ndarray,
        a_star: np.ndarray,
        x: np.ndarray | None = None,
        y: np.ndarray | None = None,
        *,
        batch: int | None = None,
        rngs: Sequence[np.random.Generator] | None = None,
        online: bool = False,
        stride: int | None = None,
        law: str = "gaussian",
        label_noise: float = 0.0,
        chunk: int | None = None,
    ) -> None:
        n, p = v0.shape
        k = a0.shape[-1]
        self.p, self.k = p, k
        self.stride = p if stride is None else stride
        self.d = input_dim(p, k, self.stride)
        self.v = np.array(v0, dtype=float) / np.linalg.norm(v0, axis=-1, keepdims=True)
        self.a = np.array(a0, dtype=float)
        self.v_star, self.a_star = v_star, a_star
        self.online, self.law, self.label_noise = online, law, float(label_noise)
        self.x, self.y = x, y
        self.perm = self.next_perm = self.pos = self.buf_x = self.buf_noise = self.t = None
        self.rngs = list(rngs) if rngs is not None else None
        self.perturbation = None  # perturbed SGD: a noise.Perturbation (set by noise.perturbed)
        if law not in LAWS:
            raise ValueError(f"unknown input law {law!r} (choose from {', '.join(LAWS)})")
        if online:
            if batch is None or batch < 1:
                raise ValueError("online SGD needs a batch size B ≥ 1")
            self._need_rngs(n)
            self.batch = int(batch)
            self.chunk = chunk or max(1, min(256, 65536 // (self.batch * self.d)))
            self.t = np.zeros(n, dtype=np.int64)
            self.buf_x = np.empty((n, self.chunk, self.batch, self.d))
            self.buf_noise = np.zeros((n, self.chunk, self.batch))
            return
        if x is None or y is None:
            raise ValueError("a fixed training set needs x (trials × N × d) and y (trials × N)")
        if x.shape[:1] != (n,) or x.shape[-1] != self.d or y.shape != x.shape[:2]:
            raise ValueError(f"x must be (trials × N × {self.d}) and y (trials × N), got {x.shape}, {y.shape}")
        n_samples = x.shape[1]
        self.batch = n_samples if batch is None else int(batch)
        if not 1 <= self.batch <= n_samples:
            raise ValueError(f"batch size must be in 1..N = {n_samples}, got {batch}")
        if self.batch < n_samples:
            self._need_rngs(n)
            self.perm = np.stack([g.permutation(n_samples) for g in self.rngs])
            self.next_perm = np.stack([g.permutation(n_samples) for g in self.rngs])
            self.pos = np.zeros(n, dtype=np.int64)

    def _need_rngs(self, n: int) -> None:
        if self.rngs is None or len(self.rngs) != n:
            raise ValueError("SGD needs one Generator per trial (rngs)")

    # -- the data of one step --

    def _batch(self) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (trials × B × d) and labels (trials × B) of this step; advances the sampling state."""
        if self.online:
            return self._online_batch()
        if self.batch == self.x.shape[1]:
            return self.x, self.y
        n, n_samples = self.perm.shape
        rows = np.arange(n)[:, None]
        start = int(self.pos[0]) if n else 0
        if n and start + self.batch <= n_samples and (self.pos == start).all():  # in step (as under run_gd)
            idx = self.perm[:, start:start + self.batch]
        else:
            cols = self.pos[:, None] + np.arange(self.batch)[None, :]
            wrap = cols >= n_samples  # read on into the next epoch's permutation (no concatenation of the two)
            idx = np.where(wrap, self.next_perm[rows, np.where(wrap, cols - n_samples, 0)],
                           self.perm[rows, np.where(wrap, 0, cols)])
        if self.x.flags.c_contiguous and self.y.flags.c_contiguous:  # x[rows, idx] as one gather of whole
            flat = (rows * n_samples + idx).ravel()  # samples from the flat (trials·N × d) view: the same numbers
            xb = np.take(self.x.reshape(-1, self.x.shape[-1]), flat, axis=0).reshape(n, self.batch, -1)
            yb = np.take(self.y.reshape(-1), flat).reshape(n, -1)
        else:
            xb, yb = self.x[rows, idx], self.y[rows, idx]
        self.pos = self.pos + self.batch  # (after the gather: idx may be a view of perm)
        for i in np.flatnonzero(self.pos >= n_samples):  # a new epoch: one Generator call per trial
            self.perm[i] = self.next_perm[i]
            self.next_perm[i] = self.rngs[i].permutation(n_samples)
            self.pos[i] -= n_samples
        return xb, yb

    def _online_batch(self) -> tuple[np.ndarray, np.ndarray]:
        slot = self.t % self.chunk
        for i in np.flatnonzero(slot == 0):  # refill trial i's chunk in place: inputs, then label noise
            sample_inputs(self.rngs[i], self.buf_x.shape[1:], self.law, out=self.buf_x[i])
            if self.label_noise:
                self.rngs[i].standard_normal(out=self.buf_noise[i])
        if slot.size and (slot == slot[0]).all():  # all trials at the same step of their chunk (as under run_gd)
            xb, noise = self.buf_x[:, slot[0]], self.buf_noise[:, slot[0]]  # views, no copy
        else:
            rows = np.arange(slot.size)
            xb, noise = self.buf_x[rows, slot], self.buf_noise[rows, slot]
        yb = outputs(patches(xb, self.p, self.stride), self.v_star, self.a_star)
        if self.label_noise:
            yb += self.label_noise * noise
        self.t = self.t + 1
        return xb, yb

    # -- the driver's interface (optim.VectorState) --

    def gradients(self, xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Tangent ∇_w L̂ and ∇_a L̂ on a batch, at the current state."""
        return empirical_gradients(self.v, self.a, patches(xb, self.p, self.stride), yb)

    def step(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        grad_v, grad_a = self.gradients(*self._batch())
        if self.perturbation is not None:  # perturbed SGD: σ_t's Gaussian noise on the gradients (noise.py)
            self.perturbation.advance()
            grad_v, grad_a = self.perturbation.add(grad_v, grad_a)
        self.v, self.a = normalized_step(self.v, self.a, grad_v, grad_a, eta_a, eta_w)

    def take(self, index: np.ndarray) -> "SampleState":
        part = object.__new__(SampleState)
        for name, value in vars(self).items():
            if name in self._per_trial and value is not None:
                value = value[index]
            setattr(part, name, value)
        if self.rngs is not None:
            part.rngs = [self.rngs[i] for i in np.arange(len(self.rngs))[index]]
        if self.perturbation is not None:
            part.perturbation = self.perturbation.take(index)
        return part

    def put(self, index: np.ndarray, part: "SampleState") -> None:
        for name in self._mutable:
            value = getattr(self, name)
            if value is not None:
                value[index] = getattr(part, name)
        if self.perturbation is not None:
            self.perturbation.clock = part.perturbation.clock

    def training_loss(self) -> np.ndarray:
        """L̂ on the fixed training set at the current state (trials,); not defined for online SGD."""
        if self.online:
            raise ValueError("online SGD has no fixed training set")
        return empirical_loss(self.v, self.a, patches(self.x, self.p, self.stride), self.y)

