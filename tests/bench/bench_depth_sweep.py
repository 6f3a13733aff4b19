"""depth-sweep (Li et al. 2017, Fig. 9): our Σ-statistics GD against a batched torch peer of the same algorithm.

The algorithm (resnet_cli/models/shortcut.py, gradient_descent for linear networks): full-batch GD
W ← W − η ∇L on linear n-shortcut / plain networks, loss and gradient from the second moments Σ_XX, Σ_YX
(L = ½ tr Σ_YY − ⟨M, Σ_YX⟩ + ½ ⟨M Σ_XX, M⟩ with M the end-to-end map; O(depth · d³) per step whatever the
number of samples), every (learning rate × run) member of a (kind, depth) cell as one stacked tensor,
members whose loss stops being finite or passes 1e12 × max(initial loss, 1) frozen at their last weights.

Rows, all on the same cells (the li2017-fig9 grid), same initial weights, same rates, one thread each:
- ours: `shortcut.gradient_descent` per cell (numpy), which also records the loss, the gap to L_min and the
  gradient norm of every member at every epoch;
- THE PEER (headline ratio): the same algorithm in torch, float64, rates × runs as one tensor; two variants,
  hand-written gradients (the backward pass of `linear_loss_and_gradient`) and autograd of the Σ-loss; the
  faster one in this run is the peer;
- for reference: per-sample torch (forward over all 1797 samples + autograd; what one writes without the
  Σ identity), and our preset end to end (2 processes) — the only row at the preset's full step count.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

import numpy as np

from resnet_cli.experiments import depth_sweep as ds
from resnet_cli.models import shortcut as sc

import timing  # noqa: E402  (tests/bench/timing.py, on the path run_bench.py sets)


def preset_config() -> ds.DepthSweepSettings:
    """The settings of preset li2017-fig9, resolved exactly as `depth-sweep --config li2017-fig9` does."""
    return ds.DepthSweepSettings.resolve("li2017-fig9")


def cell_inputs(cfg: ds.DepthSweepSettings, name: str, depth: int, dim: int):
    """The network and initial weights (trials, R, n, d, d) of one cell, drawn as `final_loss_cell` draws them."""
    kind = ds.NETWORK_KINDS[name]
    net = ds.build_network(cfg, kind, depth, dim)
    init = ds.init_for(cfg, kind)
    init_rng, _ = ds.cell_generators(cfg.seed, kind, depth)
    W0 = sc.init_weights(net, init, init_rng, batch_shape=(1 if init == "zero" else cfg.trials,))
    return net, W0


def torch_sigma_gd(net: sc.ShortcutNet, W0: np.ndarray, lrs: np.ndarray, steps: int, moments: sc.SecondMoments,
                   gradients: str = "manual"):
    """The peer: full-batch GD from Σ_XX, Σ_YX in torch, all (rate, run) members as one tensor, float64.

    Returns the final weights (rates, runs, R, n, d, d), the diverged mask (rates, runs) and the seconds of
    the loop alone. `gradients`: "manual" (A_tᵀ (M Σ_XX − Σ_YX) B_tᵀ by one backward sweep) or "autograd"."""
    import torch

    torch.set_num_threads(1)
    dt = torch.float64
    k, runs = len(lrs), W0.shape[0]
    B, d, n, R = k * runs, net.dim, net.unit_layers, net.units
    W = torch.tensor(np.broadcast_to(W0, (k,) + W0.shape).reshape((B,) + net.weight_shape).copy(), dtype=dt)
    eta = torch.tensor(np.repeat(lrs, runs), dtype=dt)
    xx, yx = torch.tensor(moments.xx, dtype=dt), torch.tensor(moments.yx, dtype=dt)
    half_yy = 0.5 * moments.yy_trace
    eye = torch.eye(d, dtype=dt).expand(B, d, d)

    def end_to_end(W):
        before, prefix = [], eye
        for r in range(R):
            running = prefix
            for l in range(n):
                before.append(running)
                running = W[:, r, l] @ running
            prefix = prefix + running if net.shortcut else running
        return before, prefix

    def sigma_loss(M):
        return half_yy - (M * yx).sum((-2, -1)) + 0.5 * ((M @ xx) * M).sum((-2, -1))

    def loss_grad(W):
        if gradients == "autograd":
            W = W.detach().requires_grad_(True)
            value = sigma_loss(end_to_end(W)[1])
            (grad,) = torch.autograd.grad(value.sum(), W)
            return value.detach(), grad
        before, M = end_to_end(W)
        value = sigma_loss(M)
        suffix, at_g = M @ xx - yx, [None] * (R * n)
        for r in reversed(range(R)):
            running = suffix
            for l in reversed(range(n)):
                at_g[r * n + l] = running
                running = W[:, r, l].transpose(-1, -2) @ running
            suffix = suffix + running if net.shortcut else running
        grad = torch.stack(at_g, 1) @ torch.stack(before, 1).transpose(-1, -2)
        return value, grad.reshape(W.shape)

    start = time.perf_counter()
    diverged = torch.zeros(B, dtype=torch.bool)
    W_before, limit = W, None
    for epoch in range(steps + 1):
        value, grad = loss_grad(W)
        if limit is None:
            limit = sc.BLOWUP * torch.clamp(torch.where(torch.isfinite(value), value, 1.0), min=1.0)
        gnorm = grad.pow(2).sum((1, 2, 3, 4)).sqrt()
        bad = ~(torch.isfinite(value) & torch.isfinite(gnorm) & (value <= limit)) & ~diverged
        diverged |= bad
        W = torch.where(bad[:, None, None, None, None], W_before, W)
        if epoch == steps:
            break
        ok = (~diverged)[:, None, None, None, None]
        W_before, W = W, torch.where(ok, W - eta[:, None, None, None, None] * grad, W)
    seconds = time.perf_counter() - start
    return W.numpy().reshape((k, runs) + net.weight_shape), diverged.numpy().reshape(k, runs), seconds


def torch_per_sample(net: sc.ShortcutNet, W0: np.ndarray, lrs: np.ndarray, steps: int, X: np.ndarray, Y: np.ndarray):
    """Reference only: GD with a forward pass over all samples and autograd (members stacked); no divergence rule."""
    import torch

    torch.set_num_threads(1)
    dt = torch.float64
    k, runs = len(lrs), W0.shape[0]
    B = k * runs
    W = torch.tensor(np.broadcast_to(W0, (k,) + W0.shape).reshape((B,) + net.weight_shape).copy(), dtype=dt)
    W.requires_grad_(True)
    eta = torch.tensor(np.repeat(lrs, runs), dtype=dt).reshape(B, 1, 1, 1, 1)
    Xt, Yt, m = torch.tensor(X, dtype=dt).expand(B, -1, -1), torch.tensor(Y, dtype=dt), X.shape[0]

    def losses(weights):
        h = Xt
        for r in range(net.units):
            a = h
            for l in range(net.unit_layers):
                a = a @ weights[:, r, l].transpose(-1, -2)
            h = h + a if net.shortcut else a
        return 0.5 * ((h - Yt) ** 2).sum(dim=(1, 2)) / m

    start = time.perf_counter()
    for _ in range(steps):
        (grad,) = torch.autograd.grad(losses(W).sum(), W)
        with torch.no_grad():
            W -= eta * grad
    return W.detach().numpy().reshape((k, runs) + net.weight_shape), time.perf_counter() - start


def run(quick: bool = False) -> dict:
    cfg = preset_config()
    if quick:
        cfg = replace(cfg, depth=[6, 12, 24], steps=100)
    jobs = min(2, os.cpu_count() or 1)
    start = time.perf_counter()
    result = ds.run(replace(cfg, jobs=jobs))
    preset_seconds = time.perf_counter() - start
    data = ds.load_data(cfg)
    moments = sc.second_moments(data.X, data.Y)
    lrs = np.asarray(cfg.lr, dtype=np.float64)
    cells = [cell_inputs(cfg, name, depth, data.dim) for depth in cfg.depth for name in cfg.network]
    steps = 10 if quick else 30  # per round: 5 interleaved rounds of ours and the peer
    members = sum(len(lrs) * W0.shape[0] for _, W0 in cells)
    layers = sum(net.depth for net, _ in cells)
    grid = (f"{len(cfg.network)} kinds × depths {','.join(map(str, cfg.depth))} × {len(lrs)} rates × {cfg.trials} runs")

    try:
        import torch
    except ImportError:
        torch = None

    def run_ours():
        return [sc.gradient_descent(net, W0, lrs[:, None], steps, moments=moments) for net, W0 in cells]

    def run_peer(grads, count=steps):
        return [torch_sigma_gd(net, W0, lrs, count, moments, grads) for net, W0 in cells]

    engines = {"ours": run_ours}
    if torch is not None:
        torch_sigma_gd(*cells[0], lrs, 2, moments)  # warm-up
        engines["manual"] = lambda: run_peer("manual")
    rounds = 3 if quick else 5
    timed = timing.interleaved(engines, rounds)
    ours = timed["ours"].result
    ours_seconds = timed["ours"].median_cpu
    rows = [{"engine": "ours: shortcut.gradient_descent (numpy), cell by cell, 1 thread", "steps": steps,
             "CPU s": f"{ours_seconds:.2f}", "ms per step of the grid": f"{1e3 * ours_seconds / steps:.1f}"}]
    notes = [f"the grid ({grid}): {layers} layers, {members:,} members, {layers * members // len(cells):,} "
             "d×d weight matrices per member-layer sweep on average; d = 10, 1797 samples (digits)"]
    diverged = sum(1 for c in result.cells for e in c.grid if e["diverged_trials"])
    notes.append(f"preset end to end: {diverged} of {len(result.cells) * len(lrs)} (cell, rate) pairs diverged in some run "
                 f"by step {cfg.steps} (they stay in the batch, frozen)")
    preset_row = {"engine": f"ours: preset li2017-fig9 end to end ({grid}, {jobs} processes; not comparable to the "
                            "rows above: other step count and process count)",
                  "steps": cfg.steps, "seconds": f"{preset_seconds:.1f}",
                  "ms per step of the grid": f"{1e3 * preset_seconds / cfg.steps:.1f}"}
    if torch is None:
        notes.append("torch not installed: the peers were skipped (make bench installs the bench extra)")
        rows.append(preset_row)
    else:
        auto_steps = max(2, steps // 10)  # autograd is ~5× slower than the hand-written peer: timed once, fewer steps
        cpu0 = time.process_time()
        auto = run_peer("autograd", auto_steps)
        auto_ms = 1e3 * (time.process_time() - cpu0) / auto_steps
        peer_ms = 1e3 * timed["manual"].median_cpu / steps
        ratio = timing.paired_ratio(timed, "manual", "ours", cpu=True)
        rows[0]["× peer"] = f"{ratio:.2f}×"
        rows.append({"engine": "**PEER**: torch, Σ-statistics GD, hand-written gradients, rates × runs as one tensor, "
                               "1 thread", "steps": steps, "CPU s": f"{timed['manual'].median_cpu:.2f}",
                     "ms per step of the grid": f"{peer_ms:.1f}", "× peer": "1.00×"})
        rows.append({"engine": "torch, Σ-statistics GD, autograd gradients, rates × runs as one tensor, 1 thread "
                               "(timed once)", "steps": auto_steps, "CPU s": f"{auto_ms * auto_steps / 1e3:.2f}",
                     "ms per step of the grid": f"{auto_ms:.1f}", "× peer": f"{peer_ms / auto_ms:.2f}×"})
        worst = {}
        for grads, runs, count in (("manual", timed["manual"].result, steps), ("autograd", auto, auto_steps)):
            refs = ours if count == steps else [sc.gradient_descent(net, W0, lrs[:, None], count, moments=moments)
                                                for net, W0 in cells]
            dev = max(float(np.abs(W - gd.weights).max() / max(np.abs(gd.weights).max(), 1.0))
                      for (W, _, _), gd in zip(runs, refs))
            same_div = all(np.array_equal(div, gd.diverged) for (_, div, _), gd in zip(runs, refs))
            worst[grads] = (dev, same_div, count)
        ref_steps = 1
        cpu0 = time.process_time()
        for net, W0 in cells:
            torch_per_sample(net, W0, lrs, ref_steps, data.X, data.Y)
        ref_seconds = time.process_time() - cpu0
        ref_ms = 1e3 * ref_seconds / ref_steps
        rows.append({"engine": "torch, per-sample forward over 1797 samples + autograd, rates × runs stacked, 1 thread "
                               "(not the peer: for reference; timed once)", "steps": ref_steps, "CPU s": f"{ref_seconds:.2f}",
                     "ms per step of the grid": f"{ref_ms:.1f}", "× peer": f"{peer_ms / ref_ms:.3f}×"})
        rows.append(preset_row)
        notes.insert(0, f"interleaved: {rounds} rounds of ours and the peer (hand-written torch), CPU time of this process; "
                        "\"× peer\" = the median of the per-round ratios peer ÷ row (> 1: faster than the peer); the "
                        "peer's loop is timed with its tensor set-up per cell, ours with its per-epoch trace.")
        for grads, (dev, same_div, count) in worst.items():
            verdict = "agree" if dev <= 1e-6 and same_div else "DIFFER beyond 1e-6 (reported, not raised)"
            notes.append(f"agreement, torch ({grads}) vs ours after {count} steps on every cell: max |ΔW| / max(|W|, 1) = "
                         f"{dev:.1e}; diverged members {'identical' if same_div else 'DIFFERENT'} — {verdict}")
        W_ref, _ = torch_per_sample(*cells[0], lrs[:3], 20, data.X, data.Y)
        check = sc.gradient_descent(cells[0][0], cells[0][1], lrs[:3, None], 20, moments=moments)
        notes.append(f"agreement, per-sample torch vs ours ({cells[0][0].describe().split(',')[0]}, depth "
                     f"{cells[0][0].depth}, 3 rates, 20 steps): max |ΔW| = {np.abs(W_ref - check.weights).max():.1e}")
    if hasattr(os, "getloadavg"):
        notes.append("load average (1, 5, 15 min) when the bench ended: "
                     + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores "
                     "(other jobs on a shared machine slow both engines)")
    notes.append("target: the li2017-fig9 preset under 2 minutes on 2 cores")
    return {
        "title": "depth-sweep: Σ-statistics GD over the li2017-fig9 grid vs batched torch (Li et al. 2017)",
        "command": "python tests/bench/run_bench.py --only bench_depth_sweep",
        "rows": rows,
        "notes": notes,
    }


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
