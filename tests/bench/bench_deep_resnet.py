"""Benchmark for `landscape deep-resnet` (Yun et al. 2019): exact Hessian and batched gradient descent.

Ratios measured in one run on the same work:
- exact ResNet Hessian (forward-over-reverse over all P directions in one array program) against central
  finite differences of our own gradient (2P gradient calls) and, when installed, torch.autograd's Hessian;
- gradient descent from B starts as one batched array program against a Python loop over the starts.
"""

from __future__ import annotations

import time

import numpy as np

from resnet_cli.experiments import deep_resnet as exp
from resnet_cli.models import deep_resnet as dr


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

    return lambda: torch.autograd.functional.hessian(risk, torch.tensor(theta))


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
    try:
        import torch  # noqa: F401

        torch_fn = _torch_hessian(shape, theta, X, Y)
        torch_s = _best_of(torch_fn, repeats)
        H_t = torch_fn().numpy()
        err = float(np.abs(H_t - dr.resnet_hessian(shape, theta, X, Y)).max())
        rows.append({"work": f"exact Hessian, P={P}, m={m}", "ours (s)": f"{ours:.4f}",
                     "peer": "torch.autograd.functional.hessian (float64)", "peer (s)": f"{torch_s:.4f}",
                     "peer/ours": f"{torch_s / ours:.1f}"})
        notes.append(f"max |H_ours − H_torch| = {err:.2e}")
    except ImportError:
        notes.append("torch not installed: torch peer skipped (make bench installs it)")

    B, steps = (8, 100) if quick else (50, 300)
    theta0 = dr.resnet_init(shape, rng, B, X)
    rg = lambda th: dr.resnet_risk_grad(shape, th, X, Y)  # noqa: E731
    kw = dict(steps=steps, lr=0.01, grad_tol=1e-12)
    batched = _best_of(lambda: exp.gradient_descent(rg, theta0, **kw), 1)
    looped = _best_of(lambda: [exp.gradient_descent(rg, theta0[b : b + 1], **kw) for b in range(B)], 1)
    rows.append({"work": f"GD, {B} starts × {steps} steps, P={P}", "ours (s)": f"{batched:.3f}",
                 "peer": "same GD, Python loop over starts", "peer (s)": f"{looped:.3f}",
                 "peer/ours": f"{looped / batched:.1f}"})
    notes.append("GD timings without the kink (min-norm subgradient) step, which only runs for starts sitting "
                 "on a kink.")
    return {
        "title": "landscape deep-resnet (Yun et al. 2019): exact Hessian and batched GD",
        "command": "python tests/bench/run_bench.py --only bench_deep_resnet",
        "rows": rows,
        "notes": notes,
    }
