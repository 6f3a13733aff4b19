"""Exact Hessian spectrum of a 2-shortcut linear network (Li et al. 2017) on the bundled digits.

Three routes to the same spectrum, timed in one run on the same network and data:

- ours: the Hessian assembled from Σ statistics in Kronecker blocks (`resnet_cli.models.shortcut.hessian`),
  then `numpy.linalg.eigvalsh`;
- bare `numpy.linalg.eigvalsh` on the same matrix (the floor: the eigensolver alone);
- torch: `torch.func.hessian` of the per-sample loss (float64, CPU), then `torch.linalg.eigvalsh`.

Targets (issue 4): ours ≤ 1.3 × bare eigvalsh; ≥ 40 × faster than the torch route.
"""

from __future__ import annotations

import os
import time

import numpy as np

from resnet_cli.data import load_digits
from resnet_cli.models import shortcut as sc


def _best_of(fn, repeats: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def _torch_route(net: sc.ShortcutNet, W: np.ndarray, X: np.ndarray, Y: np.ndarray):
    import torch

    Xt = torch.tensor(X, dtype=torch.float64)
    Yt = torch.tensor(Y, dtype=torch.float64)
    R, n, d, m = net.units, net.unit_layers, net.dim, X.shape[0]

    def loss(w):
        Wt = w.reshape(R, n, d, d)
        h = Xt
        for r in range(R):
            a = h
            for l in range(n):
                a = a @ Wt[r, l].T
            h = h + a
        return 0.5 * ((h - Yt) ** 2).sum() / m

    w0 = torch.tensor(W.reshape(-1), dtype=torch.float64)
    start = time.perf_counter()
    H = torch.func.hessian(loss)(w0)
    t_hessian = time.perf_counter() - start
    start = time.perf_counter()
    eig = torch.linalg.eigvalsh(H)
    t_eig = time.perf_counter() - start
    return t_hessian, t_eig, H.numpy(), eig.numpy()


def run(quick: bool = False) -> dict:
    data = load_digits()
    moments = sc.second_moments(data.X, data.Y)
    depths = [8] if quick else [16, 32]
    rows, notes = [], []
    try:
        import torch

        torch_version = torch.__version__
        torch_threads = torch.get_num_threads()
    except ImportError:
        torch_version = None
        notes.append("torch is not installed (`make bench` installs torch==2.13.0): the torch column is empty.")
    for depth in depths:
        net = sc.make_network(2, depth, 10)
        W = sc.init_weights(net, "small", np.random.default_rng(0))
        repeats = 5

        def ours():
            return np.linalg.eigvalsh(sc.hessian(net, W, moments=moments))

        H = sc.hessian(net, W, moments=moments)
        t_assemble, _ = _best_of(lambda: sc.hessian(net, W, moments=moments), repeats)
        # interleave ours and bare eigvalsh so both see the same machine load; keep the best of each
        t_ours = t_bare = float("inf")
        for _ in range(repeats):
            t, eig_ours = _best_of(ours, 1)
            t_ours = min(t_ours, t)
            Hc = H.copy()
            t, eig_bare = _best_of(lambda: np.linalg.eigvalsh(Hc), 1)
            t_bare = min(t_bare, t)
        row = {
            "depth": depth,
            "parameters": net.n_params,
            "ours: assemble (s)": f"{t_assemble:.3f}",
            "ours: assemble + eigvalsh (s)": f"{t_ours:.3f}",
            "bare eigvalsh (s)": f"{t_bare:.3f}",
            "ours / bare": f"{t_ours / t_bare:.2f}",
        }
        if torch_version is not None:
            t_h, t_e, H_torch, eig_torch = _torch_route(net, W, data.X, data.Y)
            row["torch.func.hessian (s)"] = f"{t_h:.2f}"
            row["torch eigvalsh (s)"] = f"{t_e:.2f}"
            row["torch total / ours"] = f"{(t_h + t_e) / t_ours:.0f}×"
            row["max |H_ours − H_torch|"] = f"{np.abs(H - H_torch).max():.1e}"
            row["max |λ_ours − λ_torch|"] = f"{np.abs(eig_ours - eig_torch).max():.1e}"
        rows.append(row)
    notes += [
        "Network: 2-shortcut, linear, d = 10, init `small` (0.01 × Xavier, seed 0); data: bundled digits "
        f"({data.samples} samples, 10 whitened principal components, one-hot labels).",
        "ours = Hessian from Σ_XX, Σ_YX in Kronecker blocks (cost independent of the sample count) + "
        "numpy.linalg.eigvalsh; bare = numpy.linalg.eigvalsh alone on the same matrix; best of 5, interleaved.",
        "torch = torch.func.hessian of the per-sample loss (float64, CPU) + torch.linalg.eigvalsh, run once"
        + (f" (torch {torch_version})." if torch_version else "."),
        "Targets (issue 4): ours / bare ≤ 1.3; torch total / ours ≥ 40.",
        "Threads: OPENBLAS_NUM_THREADS="
        + os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        + (f", torch.get_num_threads() = {torch_threads}" if torch_version else "")
        + ". On a shared 2-core machine under load, multi-threaded BLAS timings swing by several times;"
        " single-threaded runs (OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1) give steadier ratios.",
    ]
    return {
        "title": "Exact Hessian spectrum of a 2-shortcut linear network (Li et al. 2017)",
        "command": ".venv/bin/python tests/bench/run_bench.py --only bench_hessian" + (" --quick" if quick else ""),
        "rows": rows,
        "notes": notes,
    }
