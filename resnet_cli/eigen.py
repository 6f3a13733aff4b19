"""Exact spectra of symmetric matrices: the eigensolver and block structure.

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
- **Counts instead of eigenvalues** (Sylvester inertia, the layer-Toeplitz form, certified brackets of the
  statistics): `resnet_cli.inertia`.

Pure functions on arrays: no printing, no files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from resnet_cli import inertia

SOLVERS = ("auto", "numpy", "ev", "evd", "evr", "evx", "mkl", "evd2")
#: ``auto``: (largest size, solver) pairs, ascending; sizes above the last use the last solver, and from `MKL_FROM`
#: parameters on ``mkl`` where torch is installed. Measured by tests/bench/bench_eigen.py (docs/benchmarks.md,
#: "Eigensolvers"): medians of interleaved runs, one thread, Hessians of plain linear networks. The crossovers
#: depend on the CPU, so there is one table per vendor (``vendor_id`` of /proc/cpuinfo):
#: - AMD EPYC (2026-12-05/06): every one-stage driver within 3 % of the fastest at each size; `evd2` (LAPACK's
#:   two-stage reduction, below) 1.15× evr's time at 2,000, tied at 2,400, 0.75× ev's at 3,200 and 0.60× at
#:   6,400; MKL 0.90-0.97× evd2's time at 3,200 and 6,400. Without AVX-512 (2026-12-07): evr within 5 % of the
#:   fastest (numpy's) up to 2,000, MKL the fastest at 3,200 (0.89× evd2's time).
#: - Intel Xeon with AVX-512 (2026-12-06): evd2 1.56× evr's time at 500, the fastest OpenBLAS route from 1,000
#:   on (0.92× evr's time at 1,000, 0.67× at 2,000, 0.69× at 3,200); MKL 1.21× evd2's at 1,000, 0.71× at 1,600
#:   and 2,000, 0.61× at 3,200.
_MEASURED: dict[str, tuple[tuple[tuple[int, str], ...], int]] = {
    "GenuineIntel": (((800, "evr"), (10**9, "evd2")), 1500),
    "AuthenticAMD": (((2000, "evr"), (2400, "ev"), (10**9, "evd2")), 3000),
}


def cpu_vendor() -> str:
    """The CPU's vendor string (``GenuineIntel``, ``AuthenticAMD``, …) from /proc/cpuinfo, else ""."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


AUTO_SOLVERS, MKL_FROM = _MEASURED.get(cpu_vendor(), _MEASURED["AuthenticAMD"])


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


@functools.cache  # loaded once per process
def bundled_openblas():
    """The OpenBLAS that scipy's wheels bundle apart from numpy's (``scipy.libs/libscipy_openblas*.so``), loaded
    (a ``ctypes.CDLL``), or None where scipy has no such library. Found without importing scipy: importing
    scipy.linalg takes about 0.3 s, and a run that only needs the library loaded (executor/blas.py) pays none
    of it; scipy.linalg's modules, when imported later, use this same library."""
    import ctypes
    import glob
    import importlib.util
    import os

    spec = importlib.util.find_spec("scipy")
    if spec is None or spec.origin is None:
        return None
    for path in sorted(glob.glob(os.path.join(os.path.dirname(spec.origin), os.pardir, "scipy.libs",
                                              "libscipy_openblas*.so*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _load_two_stage():
    import ctypes

    library = bundled_openblas()
    fn = getattr(library, "scipy_LAPACKE_dsyevd_2stage", None) if library is not None else None
    if fn is not None:
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

    def count_below(self, sigma: float, overwrite: bool = False) -> tuple[int, int]:
        """(#{λ < σ}, #{λ = σ} as exact zero pivots) summed over the blocks (`inertia.count_below`);
        `overwrite`: the last use of this matrix, its blocks are factorised in place."""
        return self.inertia_at(sigma, overwrite)[:2]

    def inertia_at(self, sigma: float, overwrite: bool = False) -> tuple[int, int, float]:
        """`count_below` and log |det(H − σI)|, summed over the blocks (`inertia_at`)."""
        below = zero = 0
        logdet = 0.0
        for block, count in self.distinct():
            b, z, ld = inertia.inertia_at(block, sigma, overwrite)
            below += count * b
            zero += count * z
            logdet += count * ld
        return below, zero, logdet

    def diagonal(self) -> np.ndarray:
        """The diagonal entries of the distinct blocks (not in index order: for bounds, not for positions)."""
        return np.concatenate([np.diagonal(b) for b, _ in self.distinct()])

    def gershgorin(self) -> float:
        """max_i Σ_j |H_ij| ≥ |λ|max (Gershgorin) over every block."""
        return max((float(np.abs(b).sum(axis=1).max()) for b, _ in self.distinct() if b.size), default=0.0)

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
