"""Benchmark for `landscape deep-resnet` (Yun et al. 2019): exact Hessian and batched gradient descent.

Ratios measured in one run on the same work, one thread each:
- exact ResNet Hessian (forward-over-reverse over all P directions in one array program). THE PEER: torch's
  vectorized exact Hessians, `torch.func.hessian` (jacfwd∘jacrev under vmap) and
  `torch.autograd.functional.hessian(vectorize=True)` — the faster in the run is the peer. For reference:
  torch.autograd.functional.hessian without vectorize (a Python loop of P backward passes) and central
  finite differences of our own gradient (2P gradient calls; approximate);
- gradient descent with per-start Armijo step control from B starts as one batched array program. THE PEER:
  the same GD in torch (autograd of the summed risk, all active starts as one tensor, the same accept /
  reject rule); for reference: our GD in a Python loop over the starts.
"""

from __future__ import annotations

import time

import numpy as np

from resnet_cli.experiments import deep_resnet as exp
from resnet_cli.models import deep_resnet as dr

import timing  # noqa: E402  (tests/bench/timing.py, on the path run_bench.py sets)


def _best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _torch_hessian(shape: dr.ResNetShape, theta: np.ndarray, X: np.ndarray, Y: np.ndarray):
    import torch

    spec = shape.spec()
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def risk(flat):
        pos, p = 0, {}
        for name, shp in spec:
            size = int(np.prod(shp))
            p[name] = flat[pos : pos + size].reshape(shp)
            pos += size
        h = Xt
        for layer in range(1, shape.blocks + 1):
            h = h + p[f"V{layer}"] @ torch.relu(p[f"U{layer}"] @ h + p[f"b{layer}"][:, None])
        r = p["W"] @ h + p["c"][:, None] - Yt
        return (r * r).sum() / X.shape[1]

    point = torch.tensor(theta)
    return {
        "torch.func.hessian (jacfwd∘jacrev, vmap)": lambda: torch.func.hessian(risk)(point),
        "torch.autograd.functional.hessian, vectorize=True": lambda: torch.autograd.functional.hessian(risk, point, vectorize=True),
        "torch.autograd.functional.hessian (loop over P backward passes)": lambda: torch.autograd.functional.hessian(risk, point),
    }


def torch_gd(shape: dr.ResNetShape, theta0: np.ndarray, X: np.ndarray, Y: np.ndarray, steps: int, lr: float,
             grad_tol: float):
    """The GD peer: experiments.deep_resnet.gradient_descent (direction = gradient) in torch, batched over the
    active starts; risk and gradient by autograd of the summed risk. Returns (theta, risk, seconds)."""
    import torch

    spec, m = shape.spec(), X.shape[1]
    Xt, Yt = torch.tensor(dr.pad_input(X, shape.width)), torch.tensor(Y)

    def risk_grad(th):
        th = th.detach().requires_grad_(True)
        pos, p = 0, {}
        for name, shp in spec:
            size = int(np.prod(shp))
            p[name] = th[:, pos : pos + size].reshape((th.shape[0],) + shp)
            pos += size
        h = Xt
        for layer in range(1, shape.blocks + 1):
            h = h + p[f"V{layer}"] @ torch.relu(p[f"U{layer}"] @ h + p[f"b{layer}"][:, :, None])
        r = p["W"] @ h + p["c"][:, :, None] - Yt
        risk = (r * r).sum((1, 2)) / m
        (g,) = torch.autograd.grad(risk.sum(), th)
        return risk.detach(), g

    start = time.perf_counter()
    theta = torch.tensor(theta0)
    risk, grad = risk_grad(theta)
    dnorm = grad.norm(dim=1)
    eta = torch.full((theta.shape[0],), float(lr), dtype=torch.float64)
    active = torch.isfinite(risk) & (dnorm >= grad_tol)
    for _ in range(steps):
        if not bool(active.any()):
            break
        idx = torch.nonzero(active).flatten()
        trial = theta[idx] - eta[idx, None] * grad[idx]
        r_t, g_t = risk_grad(trial)
        ok = torch.isfinite(r_t) & (r_t <= risk[idx] - 1e-4 * eta[idx] * dnorm[idx] ** 2)
        good, bad = idx[ok], idx[~ok]
        theta[good], risk[good], grad[good] = trial[ok], r_t[ok], g_t[ok]
        dnorm[good] = g_t[ok].norm(dim=1)
        eta[good] *= 1.2
        active[good] = dnorm[good] >= grad_tol
        eta[bad] *= 0.5
        active[bad] = eta[bad] > 1e-300
    return theta.numpy(), risk.numpy(), time.perf_counter() - start


def run(quick: bool = False) -> dict:
    rng = np.random.default_rng(0)
    d, k, L, m = (4, 2, 2, 64) if quick else (8, 4, 4, 256)
    X = rng.normal(size=(d, m))
    Y = np.sin(X[:1]) + 0.1 * rng.normal(size=(1, m))
    shape = dr.ResNetShape(d, d, k, L, 1)
    theta = dr.resnet_init(shape, rng, 1, X)[0]
    P = shape.n_params
    repeats = 2 if quick else 3

    ours = _best_of(lambda: dr.resnet_hessian(shape, theta, X, Y), repeats)

    def fd_hessian():
        eps, E = 1e-5, np.eye(P)
        plus = dr.resnet_risk_grad(shape, theta[None] + eps * E, X, Y)[1]
        minus = dr.resnet_risk_grad(shape, theta[None] - eps * E, X, Y)[1]
        return (plus - minus) / (2 * eps)

    def fd_hessian_loop():
        eps, E = 1e-5, np.eye(P)
        return np.array([
            (dr.resnet_risk_grad(shape, (theta + eps * E[i])[None], X, Y)[1][0]
             - dr.resnet_risk_grad(shape, (theta - eps * E[i])[None], X, Y)[1][0]) / (2 * eps)
            for i in range(P)
        ])

    fd_batched = _best_of(fd_hessian, repeats)
    fd_loop = _best_of(fd_hessian_loop, 1)
    rows = [
        {"work": f"exact Hessian, P={P}, m={m}", "ours (s)": f"{ours:.4f}",
         "peer": "FD of our gradient, batched (2P grads)", "peer (s)": f"{fd_batched:.4f}",
         "peer/ours": f"{fd_batched / ours:.1f}"},
        {"work": f"exact Hessian, P={P}, m={m}", "ours (s)": f"{ours:.4f}",
         "peer": "FD of our gradient, loop over P", "peer (s)": f"{fd_loop:.4f}",
         "peer/ours": f"{fd_loop / ours:.1f}"},
    ]
    notes = [
        "Hessian: forward-over-reverse differentiation along all P unit directions at once "
        "(resnet_cli/models/deep_resnet.py, resnet_hessian); FD peers are approximate, ours is exact.",
    ]
    H_ours = dr.resnet_hessian(shape, theta, X, Y)
    try:
        import torch

        torch.set_num_threads(1)
        have_torch = True
    except ImportError:
        have_torch = False
        notes.append("torch not installed: the torch peers were skipped (make bench installs it)")
    if have_torch:
        routes = _torch_hessian(shape, theta, X, Y)
        timed = {}
        for name, fn in routes.items():
            timed[name] = _best_of(fn, repeats if "loop" not in name else 1)
            notes.append(f"{name}: max |H_torch − H_ours| = {float(np.abs(fn().numpy() - H_ours).max()):.1e}")
        peer = min((n for n in timed if "loop" not in n), key=timed.get)
        for name in sorted(timed, key=lambda n: (n != peer, "loop" in n)):
            tag = "**PEER**: " if name == peer else ("reference: " if "loop" in name else "other vectorized torch route: ")
            rows.insert(0 if name == peer else len(rows), {
                "work": f"exact Hessian, P={P}, m={m}", "ours (s)": f"{ours:.4f}", "peer": f"{tag}{name} (float64)",
                "peer (s)": f"{timed[name]:.4f}", "peer/ours": f"{timed[name] / ours:.1f}"})
    for row in rows:
        if row["peer"].startswith("FD"):
            row["peer"] = "reference: " + row["peer"]

    B, steps = (8, 100) if quick else (50, 300)
    theta0 = dr.resnet_init(shape, rng, B, X)
    rg = lambda th: dr.resnet_risk_grad(shape, th, X, Y)  # noqa: E731
    kw = dict(steps=steps, lr=0.01, grad_tol=1e-12)
    engines = {"ours": lambda: exp.gradient_descent(rg, theta0, **kw)}
    gd_work = f"GD, {B} starts × {steps} steps, P={P}"
    if have_torch:
        engines["peer"] = lambda: torch_gd(shape, theta0, X, Y, **kw)
    rounds = 3 if quick else 5
    gd_timed = timing.interleaved(engines, rounds)
    batched = gd_timed["ours"].median_cpu
    cpu0 = time.process_time()  # the per-start loop, once (CPU s, as the rows above)
    [exp.gradient_descent(rg, theta0[b : b + 1], **kw) for b in range(B)]
    looped = time.process_time() - cpu0
    if have_torch:
        theta_t, risk_t, _ = gd_timed["peer"].result
        ref = gd_timed["ours"].result
        gap = float(np.abs(theta_t - ref.theta).max())
        notes.append(f"GD peer agrees with ours: max |Δθ| over the {B} starts after {steps} steps = {gap:.1e}, "
                     f"max |Δrisk| = {float(np.abs(risk_t - ref.risk).max()):.1e}")
        notes.append(f"GD: {rounds} interleaved rounds of ours and the peer, CPU s medians (with set-up); peer/ours = the "
                     "median of the per-round ratios")
        rows.append({"work": gd_work, "ours (s)": f"{batched:.3f}", "peer": "**PEER**: same GD in torch, autograd, "
                     "starts as one tensor", "peer (s)": f"{gd_timed['peer'].median_cpu:.3f}",
                     "peer/ours": f"{timing.paired_ratio(gd_timed, 'peer', 'ours', cpu=True):.1f}"})
    rows.append({"work": gd_work, "ours (s)": f"{batched:.3f}",
                 "peer": "reference: same GD, Python loop over starts", "peer (s)": f"{looped:.3f}",
                 "peer/ours": f"{looped / batched:.1f}"})
    notes.append("\"peer/ours\" = the row's time ÷ ours (> 1: ours faster); rows marked **PEER** are the headline "
                 "comparison (batched torch, same algorithm), the others are for reference. torch loop timed after "
                 "tensor set-up.")
    notes.append("GD timings without the kink (min-norm subgradient) step, which only runs for starts sitting "
                 "on a kink.")
    return {
        "title": "landscape deep-resnet (Yun et al. 2019): exact Hessian and batched GD",
        "command": "python tests/bench/run_bench.py --only bench_deep_resnet",
        "rows": rows,
        "notes": notes,
    }
