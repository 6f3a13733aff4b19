"""Exact spectra of symmetric matrices: the eigensolver, block structure, Sylvester inertia counts.

- **Eigensolvers.** ``eigvalsh(H, solver)`` runs numpy's ``eigvalsh`` (LAPACK ``syevd``), one of scipy's
  ``eigh`` drivers (``ev`` = ``syev``, ``evd`` = ``syevd``, ``evr`` = ``syevr``, ``evx`` = ``syevx``),
  ``evd2`` = ``syevd_2stage`` (two-stage tridiagonal reduction in the OpenBLAS scipy bundles, `_two_stage`),
  all eigenvalues only, or ``mkl``: torch's ``linalg.eigvalsh`` (Intel MKL's LAPACK in the torch CPU wheel), an
  optional route that needs torch (the ``bench`` extra). ``auto`` takes the fastest route measured on the
  `make bench` machine for that size (`AUTO_SOLVERS`; from `MKL_FROM` parameters on, ``mkl`` when torch is
  installed; tests/bench/bench_eigen.py, table in docs/benchmarks.md). All routes reduce H to tridiagonal
  form (``sytrd``, or its two stages) and agree to rounding (tests: 1e-10 relative to |λ|max), so installing
  torch changes exact spectra above `MKL_FROM` parameters in their last digits only.
- **Block structure.** A symmetric matrix whose entries between index sets are exactly 0.0 is, after a
  permutation, block-diagonal; its eigenvalues are those of the blocks. `split_blocks` finds the connected
  components of the nonzero pattern (O(P²) comparisons against the O(P³) eigensolver); `BlockMatrix`
  holds the blocks (each with its indices) and solves equal blocks once. The Hessian of a linear
  n-shortcut network at w = 0 (n ≥ 2, Li et al. 2017 Theorem 1) is such a matrix, one block per unit:
  `resnet_cli.models.shortcut.hessian_blocks` builds it without the dense P × P array.
- **Sylvester inertia.** For symmetric H and a shift σ, H − σI = L D Lᵀ (Bunch–Kaufman, LAPACK ``sytrf``:
  D block-diagonal with 1×1 and 2×2 blocks) and, by Sylvester's law of inertia, #{λ < σ} = the number of
  negative eigenvalues of D (`count_below`). One factorisation costs n³/3 flops of level-3 BLAS,
  against the 4n³/3 of ``sytrd`` behind every eigensolver. Bunch–Kaufman is backward stable, so a count is
  the exact count of a matrix within rounding of H − σI (a count changes only when σ is within that
  distance of an eigenvalue). `inertia_counts` gives the index (#{λ < −ε}) and near-zero count
  (#{|λ| ≤ ε}); `bracket_cond10` brackets |λ|max and the 10th percentile of |λ| (Li et al. 2017's
  cond10, `resnet_cli.spectrum`) by bisection on σ to a stated relative width.

Pure functions on arrays: no printing, no files.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

SOLVERS = ("auto", "numpy", "ev", "evd", "evr", "evx", "mkl", "evd2")
#: ``auto``: (largest size, solver) pairs, ascending; sizes above the last use the last solver. Measured by
#: tests/bench/bench_eigen.py (docs/benchmarks.md, "Eigensolvers"): medians of interleaved runs, one thread.
#: On the AMD EPYC of 2026-12-05 every scipy driver was within 3 % of the fastest at each size (numpy's
#: eigvalsh 6-14 % slower than the fastest); `ev` was fastest from 3,200 on, evr/evx/evd tied below.
#: `evd2` (LAPACK's two-stage reduction, below) took 0.60× ev's CPU time at n = 6,400 and 0.62× at 4,800
#: and 0.75× at 3,200 (Hessians of plain linear networks; 2026-12-06, same machine, load ≈ 4), tied at 2,400;
#: MKL (`mkl`, below) took 0.90-0.97× evd2's time at 3,200 and 6,400, so it keeps precedence where torch is installed.
AUTO_SOLVERS: tuple[tuple[int, str], ...] = ((2000, "evr"), (2400, "ev"), (10**9, "evd2"))
#: From this size on ``auto`` takes ``mkl`` when torch is installed (MKL's syevd via torch: see docs/benchmarks.md,
#: "Eigensolvers"; below it the import of torch and its smaller lead do not pay).
MKL_FROM = 3000
PERCENTILE = 10.0


def mkl_available() -> bool:
    """Whether the optional ``mkl`` route can run (torch importable), without importing torch."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def _mkl_eigvalsh(H: np.ndarray) -> np.ndarray:
    """torch.linalg.eigvalsh (lower triangle) on as many threads as this process's BLAS is allowed: the
    executor pins BLAS to one thread per cell (resnet_cli/executor/blas.py), and torch's own pool obeys
    the same limit here."""
    import torch
    from threadpoolctl import threadpool_info

    threads = min((lib["num_threads"] for lib in threadpool_info() if lib.get("user_api") == "blas"),
                  default=torch.get_num_threads())
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, threads))
    try:
        return torch.linalg.eigvalsh(torch.from_numpy(H), UPLO="L").numpy()
    finally:
        torch.set_num_threads(before)


def choose_solver(n: int, solver: str = "auto") -> str:
    """The solver ``auto`` stands for at size n (any other name is returned as it is)."""
    if solver != "auto":
        return solver
    if n >= MKL_FROM and mkl_available():
        return "mkl"
    for limit, name in AUTO_SOLVERS:
        if n <= limit:
            return name
    return AUTO_SOLVERS[-1][1]


def eigvalsh(H: np.ndarray, solver: str = "auto", overwrite: bool = False) -> np.ndarray:
    """Eigenvalues (ascending) of a symmetric matrix H (n, n), lower triangle used, by `solver` (SOLVERS).

    ``overwrite=True`` lets the scipy drivers destroy H (saves a copy of n² floats)."""
    H = np.asarray(H, dtype=np.float64)
    name = choose_solver(H.shape[0], solver)
    if H.shape[0] == 0:
        return np.empty(0)
    if name == "numpy":
        return np.linalg.eigvalsh(H)
    if name == "mkl":
        if not mkl_available():
            raise ValueError("eigensolver 'mkl' needs torch (pip install 'resnet-cli[bench]')")
        return _mkl_eigvalsh(np.ascontiguousarray(H))
    if name == "evd2":
        two_stage = _two_stage()
        if two_stage is not None:
            return two_stage(H, overwrite)
        name = "ev"  # no two-stage LAPACK in this scipy build: the one-stage route, same eigenvalues
    if name not in SOLVERS:
        raise ValueError(f"eigensolver {name!r}: choose from {', '.join(SOLVERS)}")
    from scipy.linalg import eigh

    return eigh(H, lower=True, eigvals_only=True, driver=name, overwrite_a=overwrite, check_finite=False)


@functools.cache  # looked up once per process
def _two_stage():
    """LAPACK ``dsyevd_2stage`` (eigenvalues only) of the OpenBLAS that scipy's wheels bundle, called through
    its LAPACKE symbol, or None where that library or symbol is absent (then `eigvalsh` uses ``ev``).

    The two-stage reduction (LAPACK ≥ 3.7: ``sytrd_sy2sb`` to band form by level-3 BLAS, then ``sytrd_sb2st``
    bulge chasing) replaces the level-2 half of the one-stage ``sytrd`` that every other route spends its
    time in; the eigenvalues of the tridiagonal matrix then come from ``dsterf`` as with ``ev``. scipy 1.17
    wraps no two-stage driver, hence ctypes."""
    return _load_two_stage()


def _load_two_stage():
    import ctypes
    import glob
    import os

    import scipy

    libs = glob.glob(os.path.join(os.path.dirname(scipy.__file__), os.pardir, "scipy.libs", "libscipy_openblas*.so*"))
    for path in sorted(libs):
        try:
            fn = ctypes.CDLL(path).scipy_LAPACKE_dsyevd_2stage
        except (OSError, AttributeError):
            continue
        fn.restype = ctypes.c_int
        fn.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                       ctypes.c_void_p]

        def solve(H: np.ndarray, overwrite: bool = False) -> np.ndarray:
            n = H.shape[0]
            # H's lower triangle in C order is the upper triangle of the same memory read column-major.
            A = H if overwrite and H.flags.c_contiguous else np.array(H, dtype=np.float64, order="C", copy=True)
            w = np.empty(n)
            info = fn(102, b"N", b"U", n, A.ctypes.data, max(n, 1), w.ctypes.data)
            if info != 0:
                raise np.linalg.LinAlgError(f"dsyevd_2stage: info = {info}")
            return w

        return solve
    return None


# --- block structure ------------------------------------------------------------------------------------------


@dataclass
class BlockMatrix:
    """A symmetric P × P matrix that is block-diagonal up to a permutation: ``blocks[b]`` (k_b, k_b) sits on
    the rows and columns ``indices[b]`` (the index sets partition 0 … P−1); every other entry is 0.0.
    Blocks given as the same array object (or equal arrays) are solved once."""

    size: int
    indices: list[np.ndarray]
    blocks: list[np.ndarray]
    _distinct: list[tuple[np.ndarray, int]] | None = field(default=None, repr=False)

    @classmethod
    def dense(cls, H: np.ndarray) -> "BlockMatrix":
        return cls(H.shape[0], [np.arange(H.shape[0])], [H])

    @property
    def largest(self) -> int:
        """The size of the largest block."""
        return max((b.shape[0] for b in self.blocks), default=0)

    def distinct(self) -> list[tuple[np.ndarray, int]]:
        """(block, multiplicity) for each distinct block (same object, or bitwise-equal arrays)."""
        if self._distinct is None and len(self.blocks) == 1:
            self._distinct = [(self.blocks[0], 1)]  # one block: nothing to compare (no hash of P² bytes)
        if self._distinct is None:
            groups: dict[tuple, list[tuple[np.ndarray, int]]] = {}
            seen: dict[int, list] = {}
            for block in self.blocks:
                if id(block) in seen:
                    seen[id(block)][1] += 1
                    continue
                key = (block.shape, hash(block.tobytes()))
                entry = next((e for e in groups.get(key, []) if np.array_equal(e[0], block)), None)
                if entry is None:
                    entry = [block, 0]
                    groups.setdefault(key, []).append(entry)
                entry[1] += 1
                seen[id(block)] = entry
            self._distinct = [(e[0], e[1]) for entries in groups.values() for e in entries]
        return self._distinct

    def eigenvalues(self, solver: str = "auto") -> np.ndarray:
        """All P eigenvalues, ascending: each distinct block solved once, repeated by its multiplicity."""
        parts = [np.repeat(eigvalsh(block, solver), count) for block, count in self.distinct()]
        return np.sort(np.concatenate(parts)) if parts else np.empty(0)

    def count_below(self, sigma: float) -> tuple[int, int]:
        """(#{λ < σ}, #{λ = σ} as exact zero pivots) summed over the blocks (`count_below`)."""
        below = zero = 0
        for block, count in self.distinct():
            b, z = count_below(block, sigma)
            below += count * b
            zero += count * z
        return below, zero

    def matvec(self, V: np.ndarray) -> np.ndarray:
        """H vᵀ for a block of row vectors V (k, P), block by block."""
        out = np.zeros_like(V, dtype=np.float64)
        for idx, block in zip(self.indices, self.blocks):
            out[:, idx] = V[:, idx] @ block  # symmetric: (block vᵀ)ᵀ = v block
        return out

    def to_dense(self) -> np.ndarray:
        H = np.zeros((self.size, self.size))
        for idx, block in zip(self.indices, self.blocks):
            H[np.ix_(idx, idx)] = block
        return H


def components(H: np.ndarray, chunk: int = 256) -> list[np.ndarray]:
    """Connected components of the nonzero pattern of a symmetric H (P, P), as sorted index arrays (in the
    order of their smallest index). Breadth-first search, `chunk` rows at a time: O(P²) comparisons; a
    matrix with no zero structure is recognised after one sweep over its rows."""
    P = H.shape[0]
    unvisited = np.ones(P, dtype=bool)
    found = []
    while unvisited.any():
        start = int(np.argmax(unvisited))
        members = np.zeros(P, dtype=bool)
        members[start] = True
        frontier = np.array([start])
        while frontier.size and not members.all():
            reach = np.zeros(P, dtype=bool)
            for lo in range(0, frontier.size, chunk):
                reach |= (H[frontier[lo: lo + chunk]] != 0).any(axis=0)
            new = reach & ~members
            members |= new
            frontier = np.flatnonzero(new)
        unvisited &= ~members
        found.append(np.flatnonzero(members))
    return found


def split_blocks(H: np.ndarray) -> BlockMatrix:
    """H (P, P) as a `BlockMatrix` of the connected components of its nonzero pattern (one block when it
    has no exact-zero structure; the blocks are copies, H is not kept)."""
    parts = components(H)
    if len(parts) == 1:
        return BlockMatrix.dense(H)
    return BlockMatrix(H.shape[0], parts, [H[np.ix_(idx, idx)] for idx in parts])


# --- Sylvester inertia ------------------------------------------------------------------------------------------


def count_below(H: np.ndarray, sigma: float = 0.0) -> tuple[int, int]:
    """(#{λ < σ}, #{exactly zero pivots}) of symmetric H (n, n) from the inertia of D in H − σI = L D Lᵀ
    (LAPACK ``dsytrf``, Bunch–Kaufman, lower triangle). A 2×2 block [[a, b], [b, c]] of D has one negative
    eigenvalue when ac − b² < 0, two when ac − b² > 0 and a + c < 0."""
    from scipy.linalg import lapack

    A = np.array(H, dtype=np.float64, order="F", copy=True)
    n = A.shape[0]
    if n == 0:
        return 0, 0
    A[np.diag_indices(n)] -= sigma
    lwork = _sytrf_lwork(n)
    ldu, ipiv, info = lapack.dsytrf(A, lower=1, lwork=lwork, overwrite_a=1)
    if info < 0:  # pragma: no cover - an argument error of the wrapper
        raise ValueError(f"dsytrf: illegal argument {-info}")
    diag = np.diagonal(ldu).copy()
    two = ipiv < 0  # rows of 2×2 blocks come in consecutive pairs (LAPACK: IPIV(k) = IPIV(k+1) < 0)
    rows = np.flatnonzero(two)
    starts = [rows[i] for i in range(0, rows.size, 2)]
    negative = int(np.count_nonzero(diag[~two] < 0))
    zero = int(np.count_nonzero(diag[~two] == 0))
    if starts:
        s = np.asarray(starts)
        a, c, b = diag[s], diag[s + 1], ldu[s + 1, s]
        det = a * c - b * b
        trace = a + c
        negative += int(np.count_nonzero(det < 0) + 2 * np.count_nonzero((det > 0) & (trace < 0))
                        + np.count_nonzero((det == 0) & (trace < 0)))
        zero += int(np.count_nonzero(det == 0) + np.count_nonzero((det == 0) & (trace == 0)))
    return negative, zero


def _sytrf_lwork(n: int) -> int:
    from scipy.linalg import lapack

    try:
        work, info = lapack.dsytrf_lwork(n, lower=1)
        return max(n, int(work))
    except (AttributeError, TypeError):  # pragma: no cover - older scipy
        return max(1, 64 * n)


def count_abs_below(matrix: "np.ndarray | BlockMatrix", s: float) -> int:
    """#{|λ| < s} = #{λ < s} − #{λ ≤ −s} (two factorisations; s > 0)."""
    below_hi, _ = _count(matrix, s)
    below_lo, zero_lo = _count(matrix, -s)
    return below_hi - below_lo - zero_lo


def _count(matrix, sigma: float) -> tuple[int, int]:
    if isinstance(matrix, BlockMatrix):
        return matrix.count_below(sigma)
    return count_below(matrix, sigma)


@dataclass(frozen=True)
class Inertia:
    """Eigenvalue counts of a symmetric matrix of size n around 0 with tolerance ε (all exact counts):
    ``negative`` = #{λ < −ε} (the index, as a count), ``near_zero`` = #{−ε ≤ λ ≤ ε}, ``positive`` the rest."""

    n: int
    epsilon: float
    negative: int
    near_zero: int
    positive: int

    def as_dict(self) -> dict:
        return {"n": self.n, "epsilon": self.epsilon, "negative": self.negative, "near_zero": self.near_zero,
                "positive": self.positive, "index": self.negative / self.n if self.n else 0.0}


def inertia_counts(matrix: "np.ndarray | BlockMatrix", epsilon: float) -> Inertia:
    """Index and near-zero count of a symmetric matrix by two LDLᵀ factorisations (at −ε and at ε)."""
    n = matrix.size if isinstance(matrix, BlockMatrix) else matrix.shape[0]
    negative, _ = _count(matrix, -epsilon)
    below_hi, zero_hi = _count(matrix, epsilon)
    not_above = below_hi + zero_hi
    return Inertia(n, float(epsilon), negative, not_above - negative, n - not_above)


def gershgorin_bound(matrix: "np.ndarray | BlockMatrix") -> float:
    """max_i Σ_j |H_ij| ≥ |λ|max (Gershgorin), of every block."""
    blocks = [b for b, _ in matrix.distinct()] if isinstance(matrix, BlockMatrix) else [matrix]
    return max((float(np.abs(b).sum(axis=1).max()) for b in blocks if b.size), default=0.0)


@dataclass(frozen=True)
class Bracket:
    """lo ≤ value ≤ hi, certified by eigenvalue counts; ``factorisations`` LDLᵀ factorisations spent."""

    lo: float
    hi: float
    factorisations: int

    @property
    def relative_width(self) -> float:
        return (self.hi - self.lo) / self.hi if self.hi > 0 else 0.0


def bracket_abs_order_statistic(matrix, k: int, lo: float, hi: float, rel_width: float, floor: float = 0.0,
                                hint: float | None = None, max_steps: int = 400) -> Bracket:
    """Bracket a_(k), the k-th smallest |λ| (0-based), given lo ≤ a_(k) < hi (certified by the caller), by
    bisection on s (geometric once lo > 0): a_(k) < s ⇔ #{|λ| < s} ≥ k + 1, two factorisations per step.
    A `hint` (e.g. the SLQ estimate) is probed first, then points a factor 4, 16, … away from it until
    the value is bracketed. Stops when hi − lo ≤ rel_width · hi, or when hi ≤ `floor` (then lo = 0:
    a_(k) is below the floor)."""
    spent = 0
    factor = 4.0
    if hint is not None and hint <= floor:  # counts below the floor are at rounding level: no use
        hint = None
    for _ in range(max_steps):
        if hi - lo <= rel_width * hi:
            break
        if hi <= floor:
            lo = 0.0
            break
        if hint is not None and lo < hint < hi:
            mid = hint
        else:
            mid = math.sqrt(lo * hi) if lo > 0 else hi / 16.0
        if hint is not None:  # next probe: further from the hint on the side the value lies
            below = count_abs_below(matrix, mid) >= k + 1
            spent += 2
            hi, lo = (mid, lo) if below else (hi, mid)
            hint = mid / factor if below else mid * factor
            factor *= factor
            if not lo < hint < hi or (lo > 0 and hi / lo < 2 * factor):
                hint = None
            continue
        if count_abs_below(matrix, mid) >= k + 1:
            hi = mid
        else:
            lo = mid
        spent += 2
    return Bracket(lo, hi, spent)


def _bracket_edge(matrix, n: int, top: bool, inner: float, width: float, bound: float) -> Bracket:
    """λmax (top) or λmin to absolute `width`, given an inner value (λmin ≤ inner ≤ λmax: a Ritz value or
    a diagonal entry) and |λ| ≤ bound (Gershgorin). λmax < s ⇔ #{λ < s} = n; λmin ≥ s ⇔ #{λ < s} = 0.
    The first probe sits `width` beyond the inner value (Ritz values are usually that close), then
    bisection; one factorisation per probe."""
    lo, hi = (inner, bound) if top else (-bound, inner)
    nudge = [1e-4 * width, width]  # Ritz values of the extremes are usually accurate far beyond `width`
    probe = inner + nudge.pop(0) if top else inner - nudge.pop(0)
    spent = 0
    while hi - lo > width or (spent == 0 and hi - lo > 1e-4 * width):
        below, _ = _count(matrix, probe)
        spent += 1
        if top:
            lo, hi = (lo, probe) if below == n else (probe, hi)
        else:
            lo, hi = (probe, hi) if below == 0 else (lo, probe)
        probe = 0.5 * (lo + hi)
        if nudge and hi - lo > width:
            step = nudge.pop(0)
            probe = min(inner + step, hi) if top else max(inner - step, lo)
    return Bracket(lo, hi, spent)


def _bracket_p10(matrix: "np.ndarray | BlockMatrix", n: int, amax: list[float], rel_width: float, floor: float,
                 p10_hint: float | None) -> tuple[float, float, int, float, int]:
    """[lo, hi] of the 10th percentile of |λ| (numpy's linear interpolation between a_(k) and a_(k+1)), with
    k, the interpolation fraction and the factorisations spent (see `bracket_spectrum`)."""
    position = PERCENTILE / 100.0 * (n - 1)
    k = int(math.floor(position))
    frac = position - k
    a_k = bracket_abs_order_statistic(matrix, k, 0.0, amax[1] * (1 + 1e-12), rel_width, floor, p10_hint)
    spent = a_k.factorisations
    p_lo, p_hi = a_k.lo, a_k.hi
    if frac > 0 and k + 1 < n:
        hi = a_k.hi
        spent += 2
        if count_abs_below(matrix, hi) < k + 2:  # a_(k+1) ≥ a_k.hi: its own bisection
            a_k1 = bracket_abs_order_statistic(matrix, k + 1, hi, amax[1] * (1 + 1e-12), rel_width, floor)
            spent += a_k1.factorisations
            lo1, hi1 = a_k1.lo, a_k1.hi
        else:
            lo1, hi1 = a_k.lo, hi
        p_lo = (1 - frac) * a_k.lo + frac * lo1
        p_hi = (1 - frac) * a_k.hi + frac * hi1
    return p_lo, p_hi, k, frac, spent


def bracket_spectrum(matrix: "np.ndarray | BlockMatrix", rel_width: float = 1e-2,
                     ritz: tuple[float, float] | None = None, zero_tolerance: float = 1e-12,
                     p10_hint: float | None = None) -> dict:
    """Certified statistics of a symmetric matrix from inertia counts alone (no eigenvalue computed).

    - λmin, λmax: from inner values (``ritz`` = the smallest and largest Ritz values of a Lanczos run, which
      lie inside [λmin, λmax]; else 0) out to a count that certifies them, then bisection, to width
      rel_width · |λ|max; |λ|max = max(−λmin, λmax) follows.
    - the 10th percentile of |λ| (numpy's linear interpolation between the order statistics a_(k),
      a_(k+1), k = ⌊0.1 (n − 1)⌋) and cond10 = |λ|max / p10 (`resnet_cli.spectrum`), to relative width
      rel_width, starting from `p10_hint` when given (an SLQ estimate); below zero_tolerance · |λ|max a
      |λ| counts as 0 (cond10 = inf, as in `spectrum_stats`).
    - index and near-zero counts at ε = zero_tolerance · (the upper bound of |λ|max), exact.

    Returns a dict of [lo, hi] brackets, the counts and the factorisations spent (each n³/3 flops)."""
    n = matrix.size if isinstance(matrix, BlockMatrix) else matrix.shape[0]
    bound = gershgorin_bound(matrix) * (1 + 1e-12)
    if bound == 0.0:
        zero = {"abs_max": [0.0, 0.0], "abs_p10": [0.0, 0.0], "cond10": None, "lambda_min": [0.0, 0.0],
                "lambda_max": [0.0, 0.0]}
        return {**zero, "n": n, "relative_width": rel_width, "epsilon": 0.0, "negative": 0, "near_zero": n,
                "positive": 0, "factorisations": 0, "zero_matrix": True}
    if ritz is not None:
        low, high = ritz
    else:
        diagonal = np.concatenate([np.diagonal(b) for b, _ in matrix.distinct()]) \
            if isinstance(matrix, BlockMatrix) else np.diagonal(matrix)
        low, high = float(diagonal.min()), float(diagonal.max())
    width = rel_width * max(abs(low), abs(high), bound * 1e-6)
    top = _bracket_edge(matrix, n, True, high, width, bound)
    bottom = _bracket_edge(matrix, n, False, low, width, bound)
    spent = top.factorisations + bottom.factorisations
    amax = [max(top.lo, -bottom.hi, 0.0), max(top.hi, -bottom.lo)]
    p_lo, p_hi, k, frac, spent_p10 = _bracket_p10(matrix, n, amax, rel_width, zero_tolerance * amax[0], p10_hint)
    spent += spent_p10
    eps = zero_tolerance * amax[1]
    counts = inertia_counts(matrix, eps)
    spent += 2
    beyond = p_hi <= zero_tolerance * amax[0]
    cond10 = None if beyond else [amax[0] / p_hi, amax[1] / p_lo if p_lo > 0 else math.inf]
    return {"abs_max": amax, "abs_p10": [p_lo, p_hi], "cond10": cond10, "beyond_precision": bool(beyond),
            "lambda_min": [bottom.lo, bottom.hi], "lambda_max": [top.lo, top.hi], "n": n,
            "relative_width": rel_width, "order_statistics": [k, k + 1 if frac > 0 else k], "epsilon": eps,
            "negative": counts.negative, "near_zero": counts.near_zero, "positive": counts.positive,
            "factorisations": spent, "zero_matrix": False}


def abs_max_bracket(matrix: "np.ndarray | BlockMatrix", rel_width: float = 1e-3) -> tuple[float, float]:
    """[lo, hi] ∋ |λ|max by inertia counts alone: λmax and λmin from the diagonal (inner values) and the
    Gershgorin bound (outer), bisected to rel_width · Gershgorin (a few factorisations)."""
    n = matrix.size if isinstance(matrix, BlockMatrix) else matrix.shape[0]
    bound = gershgorin_bound(matrix) * (1 + 1e-12)
    if n == 0 or bound == 0.0:
        return 0.0, 0.0
    diagonal = np.concatenate([np.diagonal(b) for b, _ in matrix.distinct()]) \
        if isinstance(matrix, BlockMatrix) else np.diagonal(matrix)
    width = rel_width * bound
    top = _bracket_edge(matrix, n, True, float(diagonal.max()), width, bound)
    bottom = _bracket_edge(matrix, n, False, float(diagonal.min()), width, bound)
    return max(top.lo, -bottom.hi, 0.0), max(top.hi, -bottom.lo)


def index_counts(matrix: "np.ndarray | BlockMatrix", rel_tol: float) -> dict:
    """The index and near-zero count of a critical point's Hessian without its eigenvalues: counts below
    −ε and within ±ε for ε = rel_tol · |λ|max (|λ|max's upper bracket, `abs_max_bracket`). The same
    convention as the eigenvalue counts of `resnet_cli.models.critical_points` (λ < −ε negative, |λ| ≤ ε
    zero); a dict {negative, zero, positive, epsilon, n}."""
    hi = abs_max_bracket(matrix)[1]
    counts = inertia_counts(matrix, rel_tol * max(hi, 1e-300))
    return {"negative": counts.negative, "zero": counts.near_zero, "positive": counts.positive,
            "epsilon": counts.epsilon, "n": counts.n}
