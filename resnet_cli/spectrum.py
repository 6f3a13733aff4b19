"""Eigenvalue statistics of Hessians (Li et al. 2017, §5 and Appendix B), exact or by Lanczos.

Conventions (docs/hessian.md):

- ``abs_max`` = max |λ|; ``abs_p10`` = the 10th percentile of |λ| (``numpy.percentile``, linear
  interpolation); ``cond10`` = abs_max / abs_p10 — the paper's condition number, "as the |λ|min of Hessian
  is usually very unstable"; ``cond`` = max |λ| / min |λ| (the true condition number); ``index`` = the share
  of negative eigenvalues.
- An eigenvalue with |λ| ≤ 1e-12 · abs_max counts as zero: it is neither negative (index) nor a valid
  denominator (cond, cond10 are then inf). A Hessian whose eigenvalues are all exactly 0 is reported as
  ``zero_matrix`` (Theorem 1, n ≥ 3 at w = 0), with cond and cond10 undefined (NaN), not as noise.

For large networks, `slq` runs Lanczos from several random probes at once (stochastic Lanczos quadrature,
Ubaru, Chen & Saad 2017): the Ritz values give the extreme eigenvalues and, with their weights, an
approximate spectral density from which percentiles and the index are read. `slq_stats` adds to every such
estimate an interval that holds with a stated probability (`slq_bounds`, derivation in docs/hessian.md,
"Error bounds of SLQ"): per probe, the Chebyshev–Markov–Stieltjes inequalities bracket the probe's spectral
distribution between the Gauss quadrature's step function shifted by one node either way (Chen, Trogdon &
Ubaru 2021, "Analysis of stochastic Lanczos quadrature for spectrum approximation", §3); across probes,
Cantelli's inequality with the variance of a Rademacher quadratic form bounds the sampling error.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable

import numpy as np

ZERO_TOLERANCE = 1e-12
#: A condition number whose denominator is below ZERO_TOLERANCE·|λ|max is only known to exceed this, as every
#: output writes it: "1e12".
BEYOND = f"{1 / ZERO_TOLERANCE:.0e}".replace("e+", "e")


def beyond_note(denominators: str = "|λ|p10", ratio: str = "cond10", several: bool = True) -> str:
    """The note under a table that shows "> 1e12 (k/N)" (depth-sweep, hessian)."""
    where = f"> {BEYOND} (k/N): in k of the N trials" if several else f"> {BEYOND}:"
    return (f"{where} {denominators} < {ZERO_TOLERANCE:.0e} × |λ|max, the eigensolver's rounding, so {ratio} is only "
            f"known to exceed {BEYOND}")
PERCENTILE = 10.0
CONFIDENCE = 0.95  # each SLQ interval holds with at least this probability (slq_bounds)
WIDE_FACTOR = 10.0  # an SLQ cond10 interval wider than this ratio (or unbounded) supports no number
RITZ_ROUNDING = 1e-9  # relative to |λ|max: rounding of Ritz values, added on both sides of an interval
#: Relative to |λ|max: an extreme Ritz value whose residual is below this has converged, and only then does
#: its interval get an outer end (`slq_bounds`). Over all residuals [θ, θ + r] missed λmax in 23 % of 3,420
#: runs on random, clustered, low-rank and heavy-tailed matrices; below this one in none of 991 (docs/hessian.md).
EDGE_RESIDUAL = 1e-4
#: The index at larger zero tolerances, beside the one at ZERO_TOLERANCE (`index_by_tolerance`): where a
#: Hessian has many eigenvalues between 1e-12 and 1e-8 of |λ|max (a trained deep plain network), the share
#: called negative depends on where "zero" ends, and a comparison of indexes should show it.
INDEX_TOLERANCES = (ZERO_TOLERANCE, 1e-10, 1e-8)


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
    bounds: dict | None = None  # SLQ: {statistic: {"lower", "upper"}, "confidence", ...} (slq_bounds)
    index_by_tolerance: dict | None = None  # exact: the index at each of INDEX_TOLERANCES (index_by_tolerance)

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
        return SpectrumStats(lam.size, 0.0, 0.0, 0.0, float("nan"), float("nan"), 0.0, 0.0, 0.0, True,
                             index_by_tolerance=index_by_tolerance(lam))
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
        index_by_tolerance=index_by_tolerance(lam),
    )


def tolerance_key(tol: float) -> str:
    """A tolerance as `index_by_tolerance` keys it and every output prints it: 1e-08 -> "1e-8"."""
    mantissa, _, exponent = f"{tol:.0e}".partition("e")
    return f"{mantissa}e{int(exponent)}"


def index_by_tolerance(eigenvalues: np.ndarray, tolerances: tuple[float, ...] = INDEX_TOLERANCES) -> dict[str, float]:
    """{"1e-12": #{λ < −tol·|λ|max} / n, …} of an exact spectrum (keys: `tolerance_key`): the index of
    `spectrum_stats` (its ZERO_TOLERANCE is the first of INDEX_TOLERANCES) at each tolerance; all 0 for a zero
    matrix."""
    lam = np.asarray(eigenvalues, dtype=np.float64).ravel()
    abs_max = float(np.abs(lam).max()) if lam.size else 0.0
    return {tolerance_key(tol): float(np.count_nonzero(lam < -tol * abs_max) / lam.size) if abs_max > 0 else 0.0
            for tol in tolerances}


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
    """Tridiagonal matrices of a block of Lanczos runs: ``alphas[p, :steps[p]]``, ``betas[p, :steps[p]-1]``;
    ``last_beta[p]`` the β after the last step (0 when the run stopped on an invariant Krylov space)."""

    alphas: np.ndarray
    betas: np.ndarray
    steps: np.ndarray
    last_beta: np.ndarray | None = None

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
    last_beta = np.zeros(k)
    for j in range(steps):
        Q[:, j] = q
        w = matvec(q)
        alpha = np.einsum("pn,pn->p", q, w)
        alphas[:, j] = np.where(active, alpha, 0.0)
        w = w - alpha[:, None] * q
        if j > 0:
            w = w - betas[:, j - 1][:, None] * Q[:, j - 1]
        # full reorthogonalisation, twice (classical Gram-Schmidt is stable when repeated); stacked matmul (BLAS)
        # rather than einsum's own loops: 1.7× faster at 8 probes × 12,800 parameters, where it bounds the run
        basis = Q[:, : j + 1]
        for _ in range(2):
            w = w - np.matmul(np.matmul(basis, w[:, :, None]).transpose(0, 2, 1), basis)[:, 0]
        beta = np.linalg.norm(w, axis=1)
        scale = np.maximum(scale, np.maximum(np.abs(alpha), beta))
        if j == steps - 1:
            last_beta = np.where(active & (beta > 1e-10 * np.maximum(scale, 1e-300)), beta, 0.0)
            break
        stop = active & (beta <= 1e-10 * np.maximum(scale, 1e-300))
        lengths = np.where(stop, j + 1, lengths)
        active = active & ~stop
        betas[:, j] = np.where(active, beta, 0.0)
        if not active.any():
            break
        q = np.where(active[:, None], w / np.where(beta > 0, beta, 1.0)[:, None], q)
    return LanczosResult(alphas, betas, lengths, last_beta)


def rademacher(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """`rows` × `n` random signs ±1 (the probe vectors of `slq`), drawn from `rng` in one call."""
    return rng.choice(np.array([-1.0, 1.0]), size=(rows, n))


@dataclass(frozen=True)
class Quadrature:
    """The Gauss quadrature rules of an SLQ run, one per probe v (u = v/‖v‖):
    ``nodes[p]`` (ascending Ritz values), ``weights[p]`` (summing to 1), so Σ τ f(θ) ≈ uᵀ f(H) u.
    ``exact[p]``: the run reached an invariant Krylov space (or n steps), so its rule *is* the probe's
    spectral measure Σ_i (uᵀq_i)² δ(λ_i), up to rounding. ``residuals[p]``: |β s_last| of the lowest and
    of the highest Ritz value (an eigenvalue lies within that distance of each). ``n``: the matrix order."""

    n: int
    nodes: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]
    exact: np.ndarray
    residuals: np.ndarray

    @property
    def probes(self) -> int:
        return len(self.nodes)

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """(nodes, weights) of all probes together, the weights summing to 1 (the density of `slq`)."""
        m = self.probes
        return np.concatenate(self.nodes), np.concatenate([w / m for w in self.weights])


def slq_quadrature(
    matvec: Callable[[np.ndarray], np.ndarray], n: int, steps: int, probes: int,
    rng: np.random.Generator | None = None, *, vectors: np.ndarray | None = None,
) -> Quadrature:
    """Stochastic Lanczos quadrature, rule by rule (see `slq`, which flattens it)."""
    if vectors is None:
        if rng is None:
            raise ValueError("slq: give a generator or the probe vectors")
        V = rademacher(rng, probes, n)
    else:
        V = np.asarray(vectors, dtype=np.float64)
        if V.shape != (probes, n):
            raise ValueError(f"slq: probe vectors of shape {V.shape}, expected {(probes, n)}")
    result = lanczos(matvec, V, steps)
    full = min(int(steps), n)
    nodes, weights, exact, residuals = [], [], [], []
    from scipy.linalg import eigh_tridiagonal  # LAPACK stemr: the tridiagonal as is, no dense eigh

    for p in range(probes):
        k = int(result.steps[p])
        theta, vecs = eigh_tridiagonal(result.alphas[p, :k], result.betas[p, : k - 1])
        nodes.append(theta)
        weights.append(vecs[0] ** 2)
        beta = 0.0 if result.last_beta is None else float(result.last_beta[p])
        exact.append(bool(result.steps[p] < full or full == n or beta == 0.0))
        residuals.append((abs(beta * vecs[-1, 0]), abs(beta * vecs[-1, -1])))
    return Quadrature(n, tuple(nodes), tuple(weights), np.array(exact), np.array(residuals).reshape(-1, 2))


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
    return slq_quadrature(matvec, n, steps, probes, rng, vectors=vectors).flat()


# --- error bounds of SLQ -----------------------------------------------------------------------------------


def _brackets(quad: Quadrature, t: np.ndarray, absolute: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per probe, lower and upper bounds of the probe's spectral distribution at every point of `t` (m, T).

    absolute=True: of G_u(t) = Σ_i (uᵀq_i)² 1[|λ_i| ≤ t] (t ≥ 0); False: of F_u(t − 0) = Σ_i (uᵀq_i)² 1[λ_i < t].
    Chebyshev–Markov–Stieltjes: with Gauss nodes θ_1 < … < θ_k and weights τ_j of u's measure, whose
    distribution is F, Σ_{j<i} τ_j ≤ F(θ_i − 0) and F(θ_i) ≤ Σ_{j≤i} τ_j; hence
    Σ_j τ_j 1[θ_{j+1} ≤ x] ≤ F(x) ≤ Σ_j τ_j 1[θ_{j−1} ≤ x] (θ_0 = −∞, θ_{k+1} = +∞), and the same with < for
    F(x − 0). An exact rule (invariant Krylov space) is the measure itself: both bounds are its own sums.
    """
    t = np.asarray(t, dtype=np.float64)[None, :]
    lows, highs = [], []
    for theta, tau, exact in zip(quad.nodes, quad.weights, quad.exact):
        th = theta[:, None]
        w = tau[:, None]
        if exact:
            prev = nxt = th
        else:
            prev = np.concatenate([[-np.inf], theta[:-1]])[:, None]
            nxt = np.concatenate([theta[1:], [np.inf]])[:, None]
        if absolute:  # G(t) = F(t) − F(−t − 0)
            low = (w * (nxt <= t)).sum(0) - (w * (prev < -t)).sum(0)
            high = (w * (prev <= t)).sum(0) - (w * (nxt < -t)).sum(0)
        else:
            low, high = (w * (nxt < t)).sum(0), (w * (prev < t)).sum(0)
        lows.append(np.clip(low, 0.0, 1.0))
        highs.append(np.clip(high, 0.0, 1.0))
    return np.array(lows), np.array(highs)


def sampling_margin(level: float, samples: int, delta: float, side: str) -> float:
    """ε such that the probes' mean X misses `level` by more than ε on one side with probability ≤ delta.

    For a Rademacher probe v of an n × n matrix and P the spectral projector of any set of eigenvalues
    (g = rank P / n), G_v = vᵀPv / n has mean g and variance 2(‖P‖²_F − Σ P_ii²)/n² ≤ 2g(1 − g)/n; the mean
    X of m probes has variance ≤ 2g(1 − g)/(nm). Cantelli: P(X − g ≤ −a) ≤ s²/(s² + a²). side="below":
    P(X < level − ε) ≤ delta for every g ≥ level; side="above": P(X > level + ε) ≤ delta for every g ≤ level.
    `samples` = n·m.
    """
    g = np.linspace(level, 1.0, 4001) if side == "below" else np.linspace(0.0, level, 4001)
    need = np.sqrt(2.0 * g * (1.0 - g) / samples * (1.0 - delta) / delta)
    gap = g - level if side == "below" else level - g
    return float(max(0.0, np.max(need - gap))) + 1e-9


def _edge_intervals(quad: Quadrature) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float], bool]:
    """λmin, λmax and |λ|max intervals of `slq_bounds` (see there), each widened by RITZ_ROUNDING · |λ|max,
    and whether both edges converged (every probe's extreme residual below EDGE_RESIDUAL · |λ|max)."""
    lo_res, hi_res = quad.residuals[:, 0], quad.residuals[:, 1]
    firsts, lasts = np.array([th[0] for th in quad.nodes]), np.array([th[-1] for th in quad.nodes])
    bottom, top = float(firsts.min()), float(lasts.max())
    scale = max(abs(bottom), abs(top))  # ≤ |λ|max
    pad = RITZ_ROUNDING * scale
    bottom_converged = bool(np.all(lo_res <= EDGE_RESIDUAL * scale))
    top_converged = bool(np.all(hi_res <= EDGE_RESIDUAL * scale))
    lam_min = (float((firsts - lo_res).min()) - pad if bottom_converged else -np.inf, bottom + pad)
    lam_max = (top - pad, float((lasts + hi_res).max()) + pad if top_converged else np.inf)
    abs_max = (max(0.0, scale - pad), max(abs(lam_min[0]), abs(lam_max[1])))
    return lam_min, lam_max, abs_max, bottom_converged and top_converged


def slq_bounds(quad: Quadrature, confidence: float = CONFIDENCE) -> dict:
    """Intervals for the statistics of `density_stats`, each holding with probability ≥ `confidence`.

    - λmin, λmax: Ritz values lie inside the spectrum (one side, certain); the other side adds the Ritz
      residual |β s_last| of the extreme Ritz value (certain that *an* eigenvalue lies there; that it is the
      extreme one is the usual convergence of Lanczos at the edges, so this side is given only when every
      probe's residual there is below EDGE_RESIDUAL · |λ|max, and is ±∞ otherwise). |λ|max likewise.
    - |λ|p10 (numpy's linear percentile, between the order statistics of ranks i+1 and i+2, i = ⌊0.1(n−1)⌋):
      with X(t) the probes' mean of G_u(t), E X = G, the CDF of |λ|, and p1 = (i+1)/n, p2 = (i+2)/n: with
      probability ≥ 1 − δ/2, X ≥ p1 − ε1 at the p1-quantile q1, so the upper bracket Ū reaches p1 − ε1 no
      later than q1; with probability ≥ 1 − δ/2, X(q2 − 0) ≤ p2 + ε2, so the lower bracket L̄ stays
      ≤ p2 + ε2 before q2. The percentile lies in [inf{t: Ū(t) ≥ p1 − ε1}, inf{t: L̄(t) > p2 + ε2}].
    - cond10 = |λ|max/|λ|p10 from the two (unbounded above when the percentile's lower bound is at the
      rounding level); ``cond10_too_wide`` when unbounded or upper/lower > WIDE_FACTOR.
    - index (share of λ < −1e-12·|λ|max): the brackets of F(x − 0) ± the two-sided sampling margin.
    |λ|min and the true cond are not bounded (a small eigenvalue can hide from every probe).
    """
    delta = 1.0 - confidence
    n, m = quad.n, quad.probes
    lam_min, lam_max, abs_max, converged = _edge_intervals(quad)
    pad = RITZ_ROUNDING * abs_max[0]
    # |λ| percentile
    i = int(np.floor(PERCENTILE / 100.0 * (n - 1)))
    p1, p2 = (i + 1) / n, (min(i + 1, n - 1) + 1) / n
    eps1 = sampling_margin(p1, n * m, delta / 2, "below")
    eps2 = sampling_margin(p2, n * m, delta / 2, "above")
    grid = np.unique(np.concatenate([[0.0], *[np.abs(th) for th in quad.nodes]]))
    low, high = _brackets(quad, grid, absolute=True)
    low, high = low.mean(0), high.mean(0)
    reach = np.flatnonzero(high >= p1 - eps1)
    t_lo = 0.0 if p1 - eps1 <= 0 or not reach.size else float(grid[reach[0]])
    past = np.flatnonzero(low > p2 + eps2)
    t_hi = float(grid[past[0]]) if past.size else abs_max[1]
    p10 = (max(0.0, t_lo - pad), min(t_hi + pad, abs_max[1]))
    c_lo = abs_max[0] / p10[1] if p10[1] > 0 else float("inf")
    c_hi = abs_max[1] / p10[0] if p10[0] > ZERO_TOLERANCE * abs_max[1] else float("inf")
    # index
    x = -ZERO_TOLERANCE * abs_max[0]
    below, above = _brackets(quad, np.array([x]), absolute=False)
    eps_i = sampling_margin(0.5, n * m, delta / 2, "below")
    index = (max(0.0, float(below.mean()) - eps_i), min(1.0, float(above.mean()) + eps_i))

    def interval(pair: tuple[float, float]) -> dict:
        return {"lower": float(pair[0]), "upper": float(pair[1])}

    return {
        "confidence": confidence,
        "abs_max": interval(abs_max), "abs_p10": interval(p10), "cond10": interval((c_lo, c_hi)),
        "index": interval(index), "lambda_min": interval(lam_min), "lambda_max": interval(lam_max),
        "cond10_too_wide": too_wide(c_lo, c_hi),
        "exact_probes": int(np.count_nonzero(quad.exact)), "probes": m,
        "edges_converged": converged,
    }


BOUNDED = ("abs_max", "abs_p10", "cond10", "index", "lambda_min", "lambda_max")


def too_wide(lower: float, upper: float) -> bool:
    """A cond10 interval that supports no number: unbounded above or upper/lower > WIDE_FACTOR."""
    return bool(not np.isfinite(upper) or not lower > 0 or upper > WIDE_FACTOR * lower)


def mean_bounds(bounds: list[dict], confidence: float = CONFIDENCE) -> dict | None:
    """Interval of the mean over trials of each statistic: the means of the trials' lower and upper bounds.
    If trial r's intervals hold with probability ≥ 1 − δ_r, all hold (and so does the mean's) with
    probability ≥ 1 − Σ δ_r: the trials are measured at confidence 1 − (1 − `confidence`)/trials."""
    if not bounds or any(b is None for b in bounds):
        return None
    out: dict = {"confidence": confidence}
    for key in BOUNDED:
        lo = float(np.mean([b[key]["lower"] for b in bounds]))
        hi = float(np.mean([b[key]["upper"] for b in bounds]))
        out[key] = {"lower": lo, "upper": hi}
    out["cond10_too_wide"] = too_wide(out["cond10"]["lower"], out["cond10"]["upper"])
    out["edges_converged"] = all(b.get("edges_converged", True) for b in bounds)
    out["exact_probes"] = int(sum(b["exact_probes"] for b in bounds))
    out["probes"] = int(sum(b["probes"] for b in bounds))
    return out


def trial_confidence(trials: int, confidence: float = CONFIDENCE) -> float:
    """Confidence of each of `trials` intervals so that all hold together with probability ≥ `confidence`."""
    return 1.0 - (1.0 - confidence) / max(int(trials), 1)


def zero_certified(probes: int, trials: int = 1, confidence: float = CONFIDENCE) -> bool:
    """Whether "H = 0" from `probes` Rademacher probes that all gave Hv = 0, in each of `trials` trials, holds
    with probability ≥ `confidence`: were H ≠ 0, a Rademacher probe would lie in its null space (a proper
    subspace) with probability ≤ 1/2, so all probes of a trial do so with probability ≤ 2^-probes, and each
    trial must meet `trial_confidence`."""
    return 2.0 ** -int(probes) <= 1.0 - trial_confidence(trials, confidence)


def slq_stats(quad: Quadrature, confidence: float = CONFIDENCE) -> SpectrumStats:
    """`density_stats` of the quadrature's density, with the intervals of `slq_bounds` (or none for H = 0)."""
    stats = density_stats(*quad.flat(), quad.n)
    if stats.zero_matrix:
        return stats
    return replace(stats, bounds=slq_bounds(quad, confidence))
