"""Eigensolvers and inertia counts on dense Hessians (resnet_cli/eigen.py), and structure-aware exact spectra.

Three tables, timed in one run on one BLAS thread, interleaved (every repetition runs every route once, in
turn, on a fresh copy of the same matrix), medians of CPU time (`time.process_time`) with wall time beside:

1. eigenvalues only of the dense Hessian of a plain linear network with Xavier init (depth L, d = 10, so
   n = 100 L, no exact-zero structure) by numpy `eigvalsh` (LAPACK syevd) and scipy `eigh(eigvals_only=True,
   driver=ev|evd|evr|evx)`, LAPACK's two-stage dsyevd_2stage (`evd2`), and MKL's (torch.linalg.eigvalsh, one thread) when torch is installed; "× best" =
   the route's median ÷ the fastest route's; agreement = max |Δλ| vs numpy ÷ |λ|max. These rows set
   `resnet_cli.eigen.AUTO_SOLVERS` and `MKL_FROM`; the notes say what `auto` takes at each size and its × best.
2. one Sylvester inertia count (LDLᵀ by LAPACK dsytrf) vs the fastest eigensolver, on the same matrices.
3. `hessian --init zero` exact spectra of 2-shortcut networks: before (the dense Hessian + numpy eigvalsh)
   and after (`shortcut.hessian_blocks`: one unit block, solved once).
4. Fig. 5's exact statistics of an orthogonal plain network (`depth-sweep`): the dense Hessian + the `auto`
   eigensolver against counts on the layer-Toeplitz form (`shortcut_problem.measure_by_counts`).
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from resnet_cli import eigen, inertia
from resnet_cli.data import load_digits
from resnet_cli.models import shortcut as sc

SOLVERS = ("numpy", "ev", "evd", "evr", "evx", "evd2") + (("mkl",) if eigen.mkl_available() else ())
DENSE = int(os.environ.get("BENCH_EIGEN_DENSE", "3200"))  # the dense 'before' of the structure table up to this size
DENSE_COUNTS = int(os.environ.get("BENCH_EIGEN_DENSE_COUNTS", "6400"))  # the dense side of the counts table


def _timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    value = fn()
    return time.process_time() - c0, time.perf_counter() - w0, value


def _matrix(depth: int, moments) -> np.ndarray:
    net = sc.make_network(0, depth, 10)
    W = sc.init_weights(net, "xavier", np.random.default_rng(depth))
    return sc.hessian(net, W, moments=moments)


def _uptime() -> str:
    try:
        return "load average " + " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:  # pragma: no cover
        return "load unknown"


def solver_rows(sizes, moments, reps) -> list[dict]:
    rows = []
    for depth in sizes:
        H = _matrix(depth, moments)
        n = H.shape[0]
        r = reps(n)
        cpu: dict[str, list[float]] = {s: [] for s in SOLVERS}
        wall: dict[str, list[float]] = {s: [] for s in cpu}
        values: dict[str, np.ndarray] = {}
        load0 = _uptime()
        for _ in range(r):
            for s in SOLVERS:
                A = H.copy()
                c, w, lam = _timed(lambda: eigen.eigvalsh(A, s, overwrite=True))
                cpu[s].append(c)
                wall[s].append(w)
                values[s] = lam
        med = {s: statistics.median(v) for s, v in cpu.items() if v}
        best = min(med[s] for s in SOLVERS)
        scale = float(np.abs(values["numpy"]).max())
        auto = eigen.choose_solver(n)
        for s in SOLVERS:
            dev = float(np.abs(values[s] - values["numpy"]).max()) / scale
            rows.append({"n": n, "solver": s + (" (= auto)" if s == auto else ""), "CPU s (median)": f"{med[s]:.3f}",
                         "wall s (median)": f"{statistics.median(wall[s]):.3f}", "× best": f"{med[s] / best:.2f}",
                         "max |Δλ|/|λ|max vs numpy": f"{dev:.0e}", "pairs": r, "load": load0})
        del H
    return rows


def inertia_rows(sizes, moments, reps) -> list[dict]:
    """One count #{λ < −ε} by LDLᵀ (the index of a point; ε = 1e-9·|λ|max, away from the rounding-level
    eigenvalues near 0 that these Hessians have) vs the `auto` eigensolver, interleaved."""
    rows = []
    for depth in sizes:
        H = _matrix(depth, moments)
        n = H.shape[0]
        load0 = _uptime()
        t_inertia, t_eig = [], []
        lam = None
        for _ in range(reps(n)):
            A = H.copy()
            c, _, lam = _timed(lambda: eigen.eigvalsh(A, "auto", overwrite=True))
            t_eig.append(c)
            eps = 1e-9 * float(np.abs(lam).max())
            c, _, count = _timed(lambda H=H, eps=eps: inertia.count_below(H, -eps)[0])
            t_inertia.append(c)
        a, b = statistics.median(t_inertia), statistics.median(t_eig)
        rows.append({"n": n, "inertia: one count, CPU s": f"{a:.3f}",
                     f"eigvalsh ({eigen.choose_solver(n)}) CPU s": f"{b:.3f}", "eigvalsh / inertia": f"{b / a:.1f}×",
                     "count = eigvalsh count": str(count == int(np.count_nonzero(lam < -eps))),
                     "pairs": reps(n), "load": load0})
        del H
    return rows


def structure_rows(depths, moments, reps) -> list[dict]:
    rows = []
    for depth in depths:
        net = sc.make_network(2, depth, 10)
        W = np.zeros(net.weight_shape)
        before, after = [], []
        dev = None
        for _ in range(reps if net.n_params <= DENSE else 1):
            if net.n_params <= DENSE:
                c, _, lam_dense = _timed(lambda: np.linalg.eigvalsh(sc.hessian(net, W, moments=moments)))
                before.append(c)
            c, _, lam = _timed(lambda: sc.hessian_blocks(net, W, moments).eigenvalues())
            after.append(c)
            if net.n_params <= DENSE:
                dev = float(np.abs(lam - lam_dense).max() / np.abs(lam_dense).max())
        b = statistics.median(before) if before else None
        a = statistics.median(after)
        rows.append({"depth": depth, "parameters": net.n_params,
                     "before: dense + eigvalsh CPU s": "" if b is None else f"{b:.3f}",
                     "after: unit blocks CPU s": f"{a:.4f}", "speed-up": "" if b is None else f"{b / a:.0f}×",
                     "max |Δλ|/|λ|max": "" if dev is None else f"{dev:.0e}", "load": _uptime()})
    return rows


def counts_rows(depths, moments, reps) -> list[dict]:
    """Orthogonal plain networks (seed = depth): cond10 and |λ|max by counts against `spectrum_stats` of the
    dense Hessian's eigenvalues (the dense route only up to DENSE_COUNTS parameters: 113 s at 12,800)."""
    from resnet_cli.experiments import shortcut_problem as sp
    from resnet_cli.spectrum import spectrum_stats

    data = load_digits()
    rows = []
    for depth in depths:
        net = sc.make_network(0, depth, 10)
        W = sc.init_weights(net, "orthogonal", np.random.default_rng(depth))
        settings = sp.SpectrumSettings()
        dense_on = net.n_params <= DENSE_COUNTS
        before, after, factorisations = [], [], 0
        dev = None
        for _ in range(reps if dense_on else 1):
            problem = sp.Problem(net, data, moments, 0.0, None, np.random.default_rng(0))
            c, _, m = _timed(lambda: sp.measure_by_counts(problem, W, settings))
            after.append(c)
            factorisations = m.brackets["factorisations"]
            if dense_on:
                c, _, want = _timed(lambda: spectrum_stats(eigen.eigvalsh(sc.linear_hessian(net, W, moments))))
                before.append(c)
                dev = max(abs(m.stats.cond10 - want.cond10) / want.cond10, abs(m.stats.abs_max - want.abs_max) / want.abs_max)
        b = statistics.median(before) if before else None
        a = statistics.median(after)
        rows.append({"depth": depth, "parameters": net.n_params,
                     f"dense + {eigen.choose_solver(net.n_params)} CPU s": "" if b is None else f"{b:.2f}",
                     "counts CPU s": f"{a:.2f}", "factorisations": factorisations,
                     "speed-up": "" if b is None else f"{b / a:.1f}×",
                     "cond10, |λ|max: max rel. diff": "" if dev is None else f"{dev:.0e}", "load": _uptime()})
    return rows


def run(quick: bool = False) -> dict:
    data = load_digits()
    moments = sc.second_moments(data.X, data.Y)
    parts = os.environ.get("BENCH_EIGEN_PARTS", "solvers,inertia,structure,counts").split(",")  # re-run a part alone
    # `make bench` stays under 15 minutes: dense sizes up to 3,200 here (5 pairs each); BENCH_EIGEN_DEPTHS=50,100
    # adds n = 5,000 and 10,000 (about 2 and 6 CPU-minutes more at 3 and 1 pairs).
    extra = [int(d) for d in os.environ.get("BENCH_EIGEN_DEPTHS", "").split(",") if d]
    sizes = [5, 10] if quick else [5, 10, 20, 32, *extra]
    reps = (lambda n: 3) if quick else (lambda n: 5 if n <= 3200 else 3 if n <= 5000 else 1)
    rows = solver_rows(sizes, moments, reps) if "solvers" in parts else []
    irows = inertia_rows([20] if quick else [20, 32, *extra], moments, reps) if "inertia" in parts else []
    srows = structure_rows([8, 16] if quick else [16, 32, 64, 128, 256], moments, 3) if "structure" in parts else []
    crows = counts_rows([16] if quick else [32, 64, 128], moments, 3) if "counts" in parts else []
    notes = [
        "Matrices: the exact Hessian of a plain linear network, Xavier init (seed = depth), d = 10, n = 100 × depth, "
        "on the bundled digits. CPU time (process_time) medians over interleaved repetitions ('pairs'); "
        "load = /proc/loadavg when the size started (2 cores shared with other jobs).",
        "Threads: OPENBLAS_NUM_THREADS=" + os.environ.get("OPENBLAS_NUM_THREADS", "unset") + ".",
        "Inertia: one LDLᵀ factorisation (LAPACK dsytrf, Bunch–Kaufman) of H + εI and the count of negative "
        "eigenvalues of D = #{λ < −ε}; the index and near-zero count of a point need two (at ±ε), a cond10 "
        "bracket about 2 per bisection step (26 factorisations at 10,400 parameters in docs/hessian.md).",
        "Structure: 2-shortcut linear network at w = 0 (the default `hessian --init zero`): the Hessian is "
        "block-diagonal, one 2d² × 2d² block per unit (Li et al. 2017 Theorem 1), all units equal; 'after' builds "
        f"that block and solves it once. Dense 'before' above {DENSE:,} parameters not run here (BENCH_EIGEN_DENSE=6400 "
        "runs depth 64 too; the dense route refused above 10,000 before).",
        "Counts: an orthogonal plain linear network (seed = depth), the exact statistics of Li et al.'s Fig. 5 "
        "(`depth-sweep`): the dense Hessian + the `auto` eigensolver + `spectrum_stats`, against the brackets of "
        "`shortcut_problem.measure_by_counts` (the layer-Toeplitz form, resnet_cli/inertia.py; 1e-12 relative) "
        f"with the Lanczos run that starts them. Dense side up to {DENSE_COUNTS:,} parameters (3 pairs), "
        "counts alone above it.",
    ]
    return {"title": "Eigensolvers, inertia counts and structure-aware exact spectra (resnet_cli/eigen.py, inertia.py)",
            "command": "OPENBLAS_NUM_THREADS=1 .venv/bin/python tests/bench/run_bench.py --only bench_eigen"
            + (" --quick" if quick else ""),
            "rows": rows, "tables": [t for t in (irows, srows, crows) if t], "notes": notes}
