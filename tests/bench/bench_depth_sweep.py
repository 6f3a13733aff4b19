"""depth-sweep (Li et al. 2017, Fig. 9): the `li2017-fig9` preset end to end, against a per-sample torch loop.

Ours: every (network, depth) cell is one batched gradient-descent program over all learning rates × runs,
stepping linear networks from the Σ statistics (O(depth · d³) per step, whatever the number of samples),
cells spread over two single-threaded worker processes. The peer is what one would write in torch: the same
networks as stacked float64 weights (batched over rates × runs as well, so the comparison is about the data
pass, not about batching), a forward pass over all 1797 samples, `autograd.grad`, the GD update — on two
threads. Torch runs the same grid for a few epochs only (the full 1000 would take hours); both engines'
costs per epoch of the whole grid are compared, and the torch figure for 1000 epochs is extrapolated from it
(labelled as such). A cross-check trains one cell in both engines from the same weights and compares the
final losses.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace

import numpy as np

from resnet_cli.experiments import depth_sweep as ds
from resnet_cli.models import shortcut as sc


def preset_config() -> ds.DepthSweepSettings:
    """The settings of preset li2017-fig9, resolved exactly as `depth-sweep --config li2017-fig9` does."""
    return ds.DepthSweepSettings.resolve("li2017-fig9")


def torch_train(net: sc.ShortcutNet, W0: np.ndarray, lrs: np.ndarray, epochs: int, X: np.ndarray, Y: np.ndarray):
    """Full-batch GD in torch over the samples, all (rate, run) members stacked; returns the final losses."""
    import torch

    dt = torch.float64
    k, runs = len(lrs), W0.shape[0]
    B = k * runs
    W = torch.tensor(np.broadcast_to(W0, (k,) + W0.shape).reshape((B,) + net.weight_shape).copy(), dtype=dt)
    W.requires_grad_(True)
    eta = torch.tensor(np.repeat(lrs, runs), dtype=dt).reshape(B, 1, 1, 1, 1)
    Xt = torch.tensor(X, dtype=dt).expand(B, -1, -1)
    Yt = torch.tensor(Y, dtype=dt)
    m = X.shape[0]

    def losses(weights):
        h = Xt
        for r in range(net.units):
            a = h
            for l in range(net.unit_layers):
                a = a @ weights[:, r, l].transpose(-1, -2)
                if l < net.unit_layers - 1 and net.act_mid == "relu":
                    a = torch.relu(a)
            h = h + a if net.shortcut else a
        return 0.5 * ((h - Yt) ** 2).sum(dim=(1, 2)) / m

    for _ in range(epochs):
        (grad,) = torch.autograd.grad(losses(W).sum(), W)
        with torch.no_grad():
            W -= eta * grad
    with torch.no_grad():
        return losses(W).numpy().reshape(k, runs)


def cell_inputs(cfg: ds.DepthSweepSettings, name: str, depth: int, dim: int):
    kind = ds.NETWORK_KINDS[name]
    net = ds.build_network(cfg, kind, depth, dim)
    init_rng, _ = ds.cell_generators(cfg.seed, kind, depth)
    W0 = sc.init_weights(net, cfg.init_for(kind), init_rng, batch_shape=(cfg.trials,))
    return net, W0


def run(quick: bool = False) -> dict:
    cfg = preset_config()
    if quick:
        cfg = replace(cfg, depths=[6, 12, 24], epochs=100)
    jobs = min(2, os.cpu_count() or 1)
    start = time.perf_counter()
    result = ds.run(cfg, jobs=jobs)
    ours_seconds = time.perf_counter() - start
    members = len(cfg.lr) * cfg.trials
    layers = sum(cfg.depth) * len(cfg.network)
    rows = [{
        "engine": f"ours: preset li2017-fig9 end to end ({len(cfg.network)} kinds × depths "
                  f"{','.join(map(str, cfg.depth))} × {len(cfg.lr)} rates × {cfg.trials} runs, {jobs} processes)",
        "epochs": cfg.steps,
        "seconds": f"{ours_seconds:.1f}",
        "ms per epoch of the grid": f"{1e3 * ours_seconds / cfg.steps:.1f}",
    }]
    notes = [f"the grid: {layers} layers × {members} members (rates × runs) = "
             f"{layers * members:,} d×d weight matrices updated per epoch; d = 10, 1797 samples"]
    diverged = sum(1 for c in result.cells for e in c.grid if e["diverged_trials"])
    notes.append(f"{diverged} of {len(result.cells) * len(cfg.lr)} (cell, rate) pairs diverged in some run "
                 "(they stay in the batch, frozen, in both engines)")
    try:
        import torch
    except ImportError:
        torch = None
    if torch is None:
        notes.append("torch not installed: the peer was skipped (make bench installs the bench extra)")
    else:
        torch.set_num_threads(jobs)
        data = ds.load_data(cfg)
        torch_epochs = 1 if quick else 2
        # warm-up (thread pool, allocator), then the whole grid for torch_epochs epochs
        net, W0 = cell_inputs(cfg, cfg.network[0], cfg.depth[0], data.dim)
        torch_train(net, W0, np.asarray(cfg.lr), 1, data.X, data.Y)
        start = time.perf_counter()
        for depth in cfg.depth:
            for name in cfg.network:
                net, W0 = cell_inputs(cfg, name, depth, data.dim)
                torch_train(net, W0, np.asarray(cfg.lr), torch_epochs, data.X, data.Y)
        torch_seconds = time.perf_counter() - start
        per_epoch = torch_seconds / torch_epochs
        ratio = per_epoch / (ours_seconds / cfg.steps)
        rows[0]["× torch"] = f"{ratio:,.0f}×"
        rows.append({
            "engine": f"torch {torch.__version__}: per-sample forward + autograd, rates × runs stacked, "
                      f"{jobs} threads (same grid, {torch_epochs} epoch{'s' if torch_epochs > 1 else ''})",
            "epochs": torch_epochs,
            "seconds": f"{torch_seconds:.1f}",
            "ms per epoch of the grid": f"{1e3 * per_epoch:.1f}",
            "× torch": "1×",
        })
        notes.append(f"torch for the preset's {cfg.steps} epochs, extrapolated from its cost per epoch: "
                     f"{per_epoch * cfg.steps / 60:.0f} min (not run)")
        # Cross-check: one cell trained by both engines from the same weights.
        check_cfg = replace(cfg, runs=3)
        net, W0 = cell_inputs(check_cfg, "2-shortcut", 12, data.dim)
        lrs = np.asarray([0.01, 0.1, 1.0])
        theirs = torch_train(net, W0, lrs, 50, data.X, data.Y)
        moments = sc.second_moments(data.X, data.Y)
        ours = sc.gradient_descent(net, W0, lrs[:, None], 50, moments=moments).losses[-1]
        dev = float(np.max(np.abs(theirs - ours) / np.abs(ours)))
        notes.append(f"cross-check (2-shortcut, depth 12, 3 rates × 3 runs, 50 epochs): max relative difference "
                     f"of the final losses, torch vs ours = {dev:.1e}")
    if hasattr(os, "getloadavg"):
        notes.append("load average (1, 5, 15 min) when the bench ended: "
                     + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores "
                     "(other jobs on a shared machine slow both engines)")
    notes.append("target: the li2017-fig9 preset under 2 minutes on 2 cores")
    return {
        "title": "depth-sweep: li2017-fig9 preset (Σ-statistics GD, batched grid) vs per-sample torch (Li et al. 2017)",
        "command": "python tests/bench/run_bench.py --only bench_depth_sweep",
        "rows": rows,
        "notes": notes,
    }


if __name__ == "__main__":
    print(run(quick="--quick" in sys.argv))
