"""Eigenvalue statistics of Hessians (Li et al. 2017, §5 and Appendix B), exact or by Lanczos.

Conventions (DESIGN.md §4):

- ``abs_max`` = max |λ|; ``abs_p10`` = the 10th percentile of |λ| (``numpy.percentile``, linear
  interpolation); ``cond10`` = abs_max / abs_p10 — the paper's condition number, "as the |λ|min of Hessian
  is usually very unstable"; ``cond`` = max |λ| / min |λ| (the true condition number); ``index`` = the share
  of negative eigenvalues.
- An eigenvalue with |λ| ≤ 1e-12 · abs_max counts as zero: it is neither negative (index) nor a valid
  denominator (cond, cond10 are then inf). A Hessian whose eigenvalues are all exactly 0 is reported as
  ``zero_matrix`` (Theorem 1, n ≥ 3 at w = 0), with cond and cond10 undefined (NaN), not as noise.

For large networks, `slq` runs Lanczos from several random probes at once (stochastic Lanczos quadrature,
Ubaru, Chen & Saad 2017): the Ritz values give the extreme eigenvalues and, with their weights, an
approximate spectral density from which percentiles and the index are read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

ZERO_TOLERANCE = 1e-12
PERCENTILE = 10.0


@dataclass(frozen=True)
class SpectrumStats:
    """Summary of a (possibly approximate) spectrum; see the module docstring for the definitions."""

    n: int
    abs_max: float
    abs_p10: float
    abs_min: float
    cond10: float
    cond: float
    index: float
    lambda_min: float
    lambda_max: float
    zero_matrix: bool
    approximate: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _ratio(top: float, bottom: float, threshold: float) -> float:
    return float("inf") if bottom <= threshold else top / bottom


def spectrum_stats(eigenvalues: np.ndarray) -> SpectrumStats:
    """Statistics of an exact spectrum (the eigenvalues of a symmetric matrix)."""
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    if lam.size == 0:
        raise ValueError("empty spectrum")
    mags = np.abs(lam)
    abs_max = float(mags.max())
    if abs_max == 0.0:
        return SpectrumStats(lam.size, 0.0, 0.0, 0.0, float("nan"), float("nan"), 0.0, 0.0, 0.0, True)
    threshold = ZERO_TOLERANCE * abs_max
    abs_p10 = float(np.percentile(mags, PERCENTILE))
    abs_min = float(mags.min())
    return SpectrumStats(
        n=int(lam.size),
        abs_max=abs_max,
        abs_p10=abs_p10,
        abs_min=abs_min,
        cond10=_ratio(abs_max, abs_p10, threshold),
        cond=_ratio(abs_max, abs_min, threshold),
        index=float(np.count_nonzero(lam < -threshold) / lam.size),
        lambda_min=float(lam.min()),
        lambda_max=float(lam.max()),
        zero_matrix=False,
    )


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """q-quantile of a discrete distribution (values with nonnegative weights), linearly interpolated
    between the midpoints of the cumulative weights (equals numpy's linear percentile for equal weights)."""
    order = np.argsort(values, kind="stable")
    v = np.asarray(values, dtype=np.float64)[order]
    w = np.asarray(weights, dtype=np.float64)[order]
    total = w.sum()
    if total <= 0:
        raise ValueError("weights must not all be zero")
    if v.size == 1:
        return float(v[0])
    # positions of the points on [0, 1] as numpy's "linear" method puts n equal-weight points: (i)/(n-1)
    cum = np.cumsum(w) - w  # weight strictly below each point
    pos = cum / (total - w[-1]) if total - w[-1] > 0 else np.linspace(0, 1, v.size)
    return float(np.interp(q, pos, v))


def density_stats(nodes: np.ndarray, weights: np.ndarray, n: int) -> SpectrumStats:
    """Approximate statistics of an n × n matrix from a spectral density given as nodes and weights (SLQ).

    abs_max, lambda_min/max come from the extreme Ritz values (reliable); abs_p10, index and abs_min from the
    density (approximate: Lanczos resolves the edges of the spectrum, not its interior).
    """
    nodes = np.asarray(nodes, dtype=np.float64).ravel()
    weights = np.asarray(weights, dtype=np.float64).ravel()
    mags = np.abs(nodes)
    abs_max = float(mags.max())
    if abs_max == 0.0:
        return SpectrumStats(n, 0.0, 0.0, 0.0, float("nan"), float("nan"), 0.0, 0.0, 0.0, True, True)
    threshold = ZERO_TOLERANCE * abs_max
    weights = weights / weights.sum()
    abs_p10 = weighted_quantile(mags, weights, PERCENTILE / 100.0)
    abs_min = float(mags.min())
    return SpectrumStats(
        n=n,
        abs_max=abs_max,
        abs_p10=abs_p10,
        abs_min=abs_min,
        cond10=_ratio(abs_max, abs_p10, threshold),
        cond=_ratio(abs_max, abs_min, threshold),
        index=float(weights[nodes < -threshold].sum()),
        lambda_min=float(nodes.min()),
        lambda_max=float(nodes.max()),
        zero_matrix=False,
        approximate=True,
    )


@dataclass(frozen=True)
class LanczosResult:
    """Tridiagonal matrices of a block of Lanczos runs: ``alphas[p, :steps[p]]``, ``betas[p, :steps[p]-1]``."""

    alphas: np.ndarray
    betas: np.ndarray
    steps: np.ndarray

    def tridiagonal(self, probe: int) -> np.ndarray:
        k = int(self.steps[probe])
        T = np.diag(self.alphas[probe, :k])
        if k > 1:
            off = self.betas[probe, : k - 1]
            T += np.diag(off, 1) + np.diag(off, -1)
        return T


def lanczos(matvec: Callable[[np.ndarray], np.ndarray], probes: np.ndarray, steps: int) -> LanczosResult:
    """Lanczos with full reorthogonalisation, run for every row of ``probes`` (k, n) at once.

    ``matvec`` maps a block (k, n) to (k, n) (one array program per step for all probes). A run stops early
    when its Krylov space is invariant (β below 1e-10 · the largest |α|, β seen), e.g. for H = 0.
    """
    V = np.asarray(probes, dtype=np.float64)
    k, n = V.shape
    steps = int(min(steps, n))
    Q = np.zeros((k, steps, n))
    alphas = np.zeros((k, steps))
    betas = np.zeros((k, max(steps - 1, 0)))
    lengths = np.full(k, steps, dtype=np.int64)
    active = np.ones(k, dtype=bool)
    q = V / np.linalg.norm(V, axis=1, keepdims=True)
    scale = np.zeros(k)
    for j in range(steps):
        Q[:, j] = q
        w = matvec(q)
        alpha = np.einsum("pn,pn->p", q, w)
        alphas[:, j] = np.where(active, alpha, 0.0)
        w = w - alpha[:, None] * q
        if j > 0:
            w = w - betas[:, j - 1][:, None] * Q[:, j - 1]
        # full reorthogonalisation, twice (classical Gram-Schmidt is stable when repeated)
        for _ in range(2):
            w = w - np.einsum("pjn,pj->pn", Q[:, : j + 1], np.einsum("pjn,pn->pj", Q[:, : j + 1], w))
        beta = np.linalg.norm(w, axis=1)
        scale = np.maximum(scale, np.maximum(np.abs(alpha), beta))
        if j == steps - 1:
            break
        stop = active & (beta <= 1e-10 * np.maximum(scale, 1e-300))
        lengths = np.where(stop, j + 1, lengths)
        active = active & ~stop
        betas[:, j] = np.where(active, beta, 0.0)
        if not active.any():
            break
        q = np.where(active[:, None], w / np.where(beta > 0, beta, 1.0)[:, None], q)
    return LanczosResult(alphas, betas, lengths)


def rademacher(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """`rows` × `n` random signs ±1 (the probe vectors of `slq`), drawn from `rng` in one call."""
    return rng.choice(np.array([-1.0, 1.0]), size=(rows, n))


def slq(
    matvec: Callable[[np.ndarray], np.ndarray], n: int, steps: int, probes: int,
    rng: np.random.Generator | None = None, *, vectors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Stochastic Lanczos quadrature of the spectral density of an n × n symmetric matrix.

    Rademacher probes; for each, the Ritz values θ of its Lanczos tridiagonal are Gauss quadrature nodes and
    the squared first components of their eigenvectors the weights: Σ τ² f(θ) ≈ vᵀ f(H) v / vᵀv, exact for
    polynomials of degree < 2·steps. Returns (nodes, weights), the weights summing to 1 over all probes.
    The probes are drawn from `rng` (`rademacher(rng, probes, n)`) unless given as `vectors` (probes × n,
    drawn beforehand, e.g. by the parent of a cell that runs elsewhere).
    """
    if vectors is None:
        if rng is None:
            raise ValueError("slq: give a generator or the probe vectors")
        V = rademacher(rng, probes, n)
    else:
        V = np.asarray(vectors, dtype=np.float64)
        if V.shape != (probes, n):
            raise ValueError(f"slq: probe vectors of shape {V.shape}, expected {(probes, n)}")
    result = lanczos(matvec, V, steps)
    nodes, weights = [], []
    for p in range(probes):
        theta, vecs = np.linalg.eigh(result.tridiagonal(p))
        nodes.append(theta)
        weights.append(vecs[0] ** 2 / probes)
    return np.concatenate(nodes), np.concatenate(weights)
