"""Exact Hessian spectrum of a 2-shortcut linear network (Li et al. 2017) on the bundled digits.

Routes to the same spectrum, timed in one run on the same network and data, one thread each:

- ours: what `hessian --spectrum exact` runs: the Hessian assembled from Σ statistics in Kronecker blocks
  (`resnet_cli.models.shortcut.hessian`), then `resnet_cli.eigen.eigvalsh` with `--eigensolver auto` (the
  route measured fastest for the size: scipy's drivers, or MKL's through torch from `eigen.MKL_FROM` on);
- floors: the eigensolver alone on the same matrix, `numpy.linalg.eigvalsh` (OpenBLAS LAPACK), scipy's
  `ev` driver, LAPACK's two-stage `dsyevd_2stage` (`evd2`) and `torch.linalg.eigvalsh` (MKL LAPACK); "ours / best floor" is the headline of the route;
- THE PEER (headline): the same algorithm in torch — the exact Hessian of the Σ-statistics loss
  L = ½ tr Σ_YY − ⟨M, Σ_YX⟩ + ½ ⟨M Σ_XX, M⟩ (cost independent of the sample count, like ours) by
  `torch.func` (jacrev∘jacrev and hessian = jacfwd∘jacrev both timed; the faster is the peer), float64,
  then `torch.linalg.eigvalsh`;
- reference (smallest depth only, not the peer): `torch.func.hessian` of the per-sample loss over all
  1797 samples + `torch.linalg.eigvalsh`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import timing  # noqa: E402  (tests/bench/timing.py)

from resnet_cli import eigen
from resnet_cli.data import load_digits
from resnet_cli.models import shortcut as sc


def _best_of(fn, repeats: int) -> tuple[float, object]:
    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def _torch_loss(net: sc.ShortcutNet, moments: sc.SecondMoments | None, X=None, Y=None):
    """The loss as a function of the flat weights: from Σ (moments given) or over the samples X, Y."""
    import torch

    R, n, d = net.units, net.unit_layers, net.dim
    if moments is not None:
        xx, yx, half_yy = torch.tensor(moments.xx), torch.tensor(moments.yx), 0.5 * moments.yy_trace

        def sigma_loss(w):
            Wt = w.reshape(R, n, d, d)
            M = torch.eye(d, dtype=torch.float64)
            for r in range(R):
                inner = M
                for l in range(n):
                    inner = Wt[r, l] @ inner
                M = M + inner
            return half_yy - (M * yx).sum() + 0.5 * ((M @ xx) * M).sum()

        return sigma_loss
    Xt, Yt, m = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64), X.shape[0]

    def sample_loss(w):
        Wt = w.reshape(R, n, d, d)
        h = Xt
        for r in range(R):
            a = h
            for l in range(n):
                a = a @ Wt[r, l].T
            h = h + a
        return 0.5 * ((h - Yt) ** 2).sum() / m

    return sample_loss


def _torch_route(loss, W: np.ndarray, how: str, repeats: int):
    """(best seconds for the Hessian, best seconds for eigvalsh, H, eigenvalues) of one torch route."""
    import torch

    w0 = torch.tensor(W.reshape(-1), dtype=torch.float64)
    fn = torch.func.hessian(loss) if how == "hessian" else torch.func.jacrev(torch.func.jacrev(loss))
    t_h, H = _best_of(lambda: fn(w0), repeats)
    t_e, eig = _best_of(lambda: torch.linalg.eigvalsh(H), repeats)
    return t_h, t_e, H.numpy(), eig.numpy()


#: interleaved rounds of ours and the floors: {depth ≤ 16: ..., deeper: ...}; at depth 16 one eigensolver call
#: takes ~0.2 s, where a few rounds' ratio swung 0.95–1.20 between runs of the same code
ROUNDS = {True: 11, False: 5}


def run(quick: bool = False) -> dict:
    data = load_digits()
    moments = sc.second_moments(data.X, data.Y)
    depths = [8] if quick else [16, 32]
    rows, notes = [], []
    try:
        import torch

        torch.set_num_threads(1)
        torch_version = torch.__version__
    except ImportError:
        torch_version = None
        notes.append("torch is not installed (`make bench` installs torch==2.13.0): the torch rows are missing.")
    for depth in depths:
        net = sc.make_network(2, depth, 10)
        W = sc.init_weights(net, "small", np.random.default_rng(0))
        repeats = 5 if depth <= 16 else 3
        H = sc.hessian(net, W, moments=moments)
        t_assemble, _ = _best_of(lambda: sc.hessian(net, W, moments=moments), repeats)
        # ours and the floors in the same rounds, rotated order, CPU-time medians (tests/bench/timing.py)
        # "step": our eigensolver route (auto) on the floors' matrix, so the headline is a paired ratio of two
        # timings of the same round, not a difference of medians
        runs = {"ours": lambda: eigen.eigvalsh(sc.hessian(net, W, moments=moments)),
                "step": lambda: eigen.eigvalsh(H),
                "numpy": lambda: np.linalg.eigvalsh(H), "ev": lambda: eigen.eigvalsh(H, "ev"),
                "evd2": lambda: eigen.eigvalsh(H, "evd2")}
        if torch_version is not None:
            Ht = torch.from_numpy(H.copy())
            runs["mkl"] = lambda: torch.linalg.eigvalsh(Ht)
        timed = timing.interleaved(runs, rounds=ROUNDS[depth <= 16])
        t_ours, eig_ours = timed["ours"].median_cpu, timed["ours"].result
        t_bare, t_ev, t_evd2 = timed["numpy"].median_cpu, timed["ev"].median_cpu, timed["evd2"].median_cpu
        t_mkl = timed["mkl"].median_cpu if "mkl" in timed else float("inf")
        floors = {"numpy": t_bare, "ev": t_ev, "evd2": t_evd2, "mkl": t_mkl}
        best = min(floors, key=floors.__getitem__)
        t_floor = floors[best]
        step_ratio = timing.paired_ratio(timed, "step", best, cpu=True)
        base = {"depth": depth, "parameters": net.n_params}

        def row(route, t_h, t_e, H_other=None, eig_other=None):
            total = (t_h or 0.0) + t_e
            return {**base, "route": route, "Hessian (s)": "" if t_h is None else f"{t_h:.3f}",
                    "eigvalsh (s)": f"{t_e:.3f}", "total (s)": f"{total:.3f}", "row / ours": f"{total / t_ours:.2f}",
                    "max |ΔH| vs ours": "" if H_other is None else f"{np.abs(H_other - H).max():.0e}",
                    "max |Δλ| vs ours": "" if eig_other is None else f"{np.abs(eig_other - eig_ours).max():.0e}"}

        depth_rows = [row(f"ours: Σ Kronecker blocks + eigvalsh (auto = {eigen.choose_solver(net.n_params)})",
                          t_assemble, t_ours - t_assemble),
                      row("floor: numpy eigvalsh alone (OpenBLAS)", None, t_bare),
                      row("floor: scipy eigh driver ev alone (OpenBLAS)", None, t_ev),
                      row("floor: two-stage dsyevd_2stage (evd2) alone (OpenBLAS)", None, t_evd2)]
        if torch_version is not None:
            depth_rows.append(row("floor: torch eigvalsh alone (MKL)", None, t_mkl))
            sigma = _torch_loss(net, moments)
            routes = {how: _torch_route(sigma, W, how, 2) for how in ("jacrev", "hessian")}
            peer = min(routes, key=lambda how: routes[how][0] + routes[how][1])
            names = {"jacrev": "torch.func jacrev∘jacrev", "hessian": "torch.func.hessian"}
            for how in sorted(routes, key=lambda how: how != peer):
                t_h, t_e, H_t, eig_t = routes[how]
                tag = "**PEER**: " if how == peer else ""
                depth_rows.append(row(f"{tag}{names[how]} of the Σ-loss + torch eigvalsh", t_h, t_e, H_t, eig_t))
            if depth == depths[0]:
                t_h, t_e, H_t, eig_t = _torch_route(_torch_loss(net, None, data.X, data.Y), W, "hessian", 1)
                depth_rows.append(row("reference: torch.func.hessian per-sample (1797) + torch eigvalsh", t_h, t_e, H_t, eig_t))
        rows += depth_rows
        notes.append(f"depth {depth}: assembly is {100 * t_assemble / t_ours:.0f}% of our time, eigvalsh the rest; "
                     f"our eigensolver step (auto = {eigen.choose_solver(net.n_params)}, on the same matrix) / best floor "
                     f"({best}) = {step_ratio:.2f} (median of {len(timed['step'].cpu)} paired rounds; target ≤ 1.1), "
                     f"per round {', '.join(f'{a / b:.2f}' for a, b in zip(timed['step'].cpu, timed[best].cpu))}; all of ours "
                     f"(assembly included) / best floor = {t_ours / t_floor:.2f}, ours / numpy-eigvalsh floor = "
                     f"{t_ours / t_bare:.2f}" + (f"; MKL's eigvalsh takes {t_mkl / t_bare:.2f}× numpy's time on the "
                                                  "same matrix" if torch_version is not None else ""))
    notes += [
        "Network: 2-shortcut, linear, d = 10, init `small` (0.01 × Xavier, seed 0); data: bundled digits "
        f"({data.samples} samples, 10 whitened principal components, one-hot labels).",
        "\"row / ours\" = the row's total time ÷ ours (> 1: ours faster). Ours and the floors: medians of CPU time "
        f"over {ROUNDS[True]} interleaved rounds ({ROUNDS[False]} at depth 32), rotated order; the assembly alone: best "
        "of 5 (3 at depth 32); "
        "torch Σ routes: best of 2; per-sample reference: once. The peer is the faster torch.func route on the "
        "Σ-loss in this run.",
        "Threads: OPENBLAS_NUM_THREADS=" + os.environ.get("OPENBLAS_NUM_THREADS", "unset")
        + (f", torch.set_num_threads(1) (torch {torch_version})" if torch_version else "")
        + "; single-threaded runs give steadier ratios on a shared 2-core machine.",
        "Targets: our eigensolver step (our route on the floors' matrix, paired per round) / best floor ≤ 1.1.",
    ]
    return {
        "title": "Exact Hessian spectrum of a 2-shortcut linear network (Li et al. 2017)",
        "command": ".venv/bin/python tests/bench/run_bench.py --only bench_hessian" + (" --quick" if quick else ""),
        "rows": rows,
        "notes": notes,
    }
