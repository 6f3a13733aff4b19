"""Success-rate engine against a per-trial torch autograd loop on the same work (Liu et al. 2019 GD).

Same teachers, inits, stage-I step sizes (Theorem 1, schedule ssw) and step count for every engine; the peer
does what a researcher would write first: one trial at a time, the closed-form population loss in torch,
`loss.backward()`, then the normalized update. We report trial-steps per second and the ratio, check
that the peer's final (v, a) agree with ours, and time the default preset end to end.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from resnet_cli import optim
from resnet_cli.experiments import success_rate as sr
from resnet_cli.experiments import two_layer as exp
from resnet_cli.rng import make_rng


def torch_trial(v0, a0, v_star, a_star, eta_a, eta_w1, eta, stage1, iterations):
    import torch

    torch.set_num_threads(1)
    dt = torch.float64
    p, k = v0.size, a0.size
    e = torch.full((p,), 1 / math.sqrt(p), dtype=dt)
    vs, ast = torch.tensor(v_star, dtype=dt), torch.tensor(a_star, dtype=dt)
    w = (torch.tensor(v0, dtype=dt) - e).requires_grad_(True)
    a = torch.tensor(a0, dtype=dt).requires_grad_(True)
    ones = torch.ones(k, dtype=dt)
    M = ((math.pi - 1) * torch.eye(k, dtype=dt) + torch.outer(ones, ones)) / (2 * math.pi)
    off = (torch.outer(ones, ones) - torch.eye(k, dtype=dt)) / (2 * math.pi)
    for t in range(iterations):
        ea, ew = (eta_a, eta_w1) if t < stage1 else (eta, eta)
        u = e + w
        v = u / u.norm()
        phi = torch.arccos(torch.clamp(v @ vs, -1.0, 1.0))
        g = (torch.sin(phi) + (math.pi - phi) * torch.cos(phi)) / (2 * math.pi)
        N = g * torch.eye(k, dtype=dt) + off
        loss = ast @ M @ ast - 2 * a @ N @ ast + a @ M @ a
        gw, ga = torch.autograd.grad(loss, (w, a))
        with torch.no_grad():
            wt = w - ew * gw
            w.copy_((e + wt) / (e + wt).norm() - e)
            a.sub_(ea * ga)
    with torch.no_grad():
        u = e + w
        return (u / u.norm()).numpy(), a.numpy()


def run(quick: bool = False) -> dict:
    p, k = 8, 16
    trials, torch_trials = (200, 3) if quick else (1000, 10)
    iterations = 1000 if quick else 3000
    rng = make_rng(0)
    # All steps in stage I (ssw): φ stays away from 0, where the peer's autograd of arccos gives NaN.
    cfg = exp.TrainSettings(p=p, k=k, trials=trials, schedule="ssw", stage1_steps=iterations, steps=iterations)
    v_star, a_star = cfg.draw(rng, trials, p, k)
    v0, a0 = exp.draw_inits(rng, "resnet", v_star, a_star)
    sched = cfg.schedule_of("ssw", a_star)
    rows, timings = [], {}
    for rep in ("plane", "vector"):
        start = time.perf_counter()
        ours = optim.run_gd(v0, a0, v_star, a_star, sched, iterations, cfg.criteria(), representation=rep)
        timings[rep] = (time.perf_counter() - start, ours)
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    notes = []
    if have_torch:
        start = time.perf_counter()
        finals = [
            torch_trial(v0[i], a0[i], v_star[i], a_star[i], sched.eta_a[i], sched.stage1_eta_w[i], sched.eta[i], sched.stage1_iterations, iterations)
            for i in range(torch_trials)
        ]
        torch_seconds = time.perf_counter() - start
        plane = timings["plane"][1]
        dev = max(max(np.abs(fv - plane.v[i]).max(), np.abs(fa - plane.a[i]).max()) for i, (fv, fa) in enumerate(finals))
        torch_rate = torch_trials * iterations / torch_seconds
        notes.append(f"torch peer agrees with our engine: max |Δv|, |Δa| over its {torch_trials} trials = {dev:.1e}")
    for rep, (seconds, _) in timings.items():
        rate = trials * iterations / seconds
        row = {"engine": f"ours, batched ({rep} representation)", "trials": trials, "steps": iterations,
               "seconds": f"{seconds:.2f}", "trial-steps/s": f"{rate:,.0f}"}
        if have_torch:
            row["× torch loop"] = f"{rate / torch_rate:,.0f}×"
        rows.append(row)
    if have_torch:
        rows.append({"engine": "torch autograd, one trial at a time", "trials": torch_trials, "steps": iterations,
                     "seconds": f"{torch_seconds:.2f}", "trial-steps/s": f"{torch_rate:,.0f}", "× torch loop": "1×"})
    else:
        notes.append("torch not installed: the peer was skipped (install the bench extra)")
    # The default preset, end to end (3 methods × 9 k × 1000 trials, two processes).
    jobs = min(2, os.cpu_count() or 1)
    preset = sr.SuccessSettings.resolve("liu2019-success", {"jobs": jobs, **({"k": [4, 9], "trials": 200} if quick else {})})
    start = time.perf_counter()
    cells = sr.run(preset).cells
    seconds = time.perf_counter() - start
    trial_iters = sum(c.mean_steps_run * c.trials for c in cells)
    rows.append({"engine": f"preset liu2019-success end to end ({len(preset.k)} k × {len(preset.method)} methods × {preset.trials} trials, {jobs} processes)",
                 "trials": preset.trials * len(cells), "steps": "T1 + 20000, early stop", "seconds": f"{seconds:.1f}",
                 "trial-steps/s": f"{trial_iters / seconds:,.0f}"})
    notes.append("target: ≥ 100× the torch loop; the default preset under 60 s on 2 cores")
    return {
        "title": "success-rate: batched GD engine vs per-trial torch autograd (Liu et al. 2019)",
        "command": "python tests/bench/run_bench.py --only bench_success",
        "rows": rows,
        "notes": notes,
    }


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
