"""Benchmark of the Newton/LM critical-point finder of `landscape deep-resnet` (Yun et al. 2019).

Two tables, one thread:
- the pattern Hessian of B = 20 starts (64 samples, width 4, one hidden unit per block) by the finder's
  block-triangular forward-over-reverse (resnet_cli/models/critical_points/pattern.py) against THE PEER, the
  dense forward-over-reverse of every parameter through every layer (models/deep_resnet.resnet_hessian, the
  algorithm the finder used before, here one start at a time: the faster form of it), and for reference the
  finder's former batched dense path (tests/models/dense_pattern_reference.py); interleaved rounds, CPU time,
  the largest relative difference;
- the two commands of the finder's target end to end (a child process each, its CPU time from
  getrusage): the near-identity Yun preset and 8 blocks × 64 samples.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import timing

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))  # the dense reference of the tests
from dense_pattern_reference import dense_resnet_pattern  # noqa: E402

from resnet_cli.models import critical_points as cp
from resnet_cli.models import deep_resnet as dr

COMMANDS = [
    ("--config yun2019-near-identity --seed 0", ["--config", "yun2019-near-identity", "--seed", "0"]),
    ("--data gaussian --samples 64 --blocks 8 --seed 0",
     ["--data", "gaussian", "--samples", "64", "--blocks", "8", "--seed", "0"]),
]
BEFORE = ("Before the block-triangular rewrite (commit b66f21b, the same commands, --jobs 1, CPU time user + sys, "
          "load 5–20 on 2 cores): the near-identity preset took 8.7–8.9 CPU-s against 4.9–5.3 after (two interleaved "
          "pairs); 8 blocks × 64 samples had not finished after 246 CPU-s (172 user + 74 sys; stopped) against "
          "9.7 after the Hessian rewrite and 6.8 with the slope columns batched too; the finder alone on that case, 30 LM iterations from 20 starts: 16.4 CPU-s against 0.68.")


def _hessian_rows(blocks_list: list[int], rounds: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for L in blocks_list:
        shape = dr.ResNetShape(4, 4, 1, L, 1)
        X, Y = rng.normal(size=(4, 64)), rng.normal(size=(1, 64))
        theta = dr.resnet_init(shape, rng, 20, X)
        problem = cp.Problem(shape, X, Y)
        runs = {"ours": lambda: cp.pattern_derivatives(problem, theta).hess,
                "peer": lambda: np.stack([dr.resnet_hessian(shape, th, X, Y) for th in theta]),
                "batched": lambda: dense_resnet_pattern(shape, theta, X, Y, None)[2]}
        t = timing.interleaved(runs, rounds=rounds)
        ours, peer = t["ours"].result, t["peer"].result
        rows.append({"blocks": L, "P": shape.n_params, "ours CPU-s": f"{t['ours'].median_cpu:.4f}",
                     "**PEER** dense CPU-s": f"{t['peer'].median_cpu:.4f}",
                     "× peer (CPU)": f"{timing.paired_ratio(t, 'peer', 'ours', cpu=True):.1f}×",
                     "former batched dense CPU-s (reference)": f"{t['batched'].median_cpu:.4f}",
                     "× former": f"{timing.paired_ratio(t, 'batched', 'ours', cpu=True):.1f}×",
                     "max rel. diff": f"{np.abs(ours - peer).max() / np.abs(peer).max():.1e}"})
    return rows


def _command_rows(quick: bool) -> list[dict]:
    rows = []
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for label, args in COMMANDS:
        extra = ["--trials", "4"] if quick else []
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter()
        subprocess.run([sys.executable, "-m", "resnet_cli", "landscape", "deep-resnet", *args, *extra, "--jobs", "1",
                        "--quiet"], check=True, env=env, stdout=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows.append({"command": f"landscape deep-resnet {label} --jobs 1" + (" --trials 4" if quick else ""),
                     "CPU-s": f"{cpu:.1f}", "wall s": f"{time.perf_counter() - wall:.1f}"})
    return rows


def run(quick: bool = False) -> dict:
    blocks = [2, 4] if quick else [2, 4, 8, 16]
    return {
        "title": "landscape deep-resnet: the Newton/LM critical-point finder (Yun et al. 2019)",
        "command": "python tests/bench/run_bench.py --only bench_finder",
        "rows": _hessian_rows(blocks, 2 if quick else 5),
        "tables": [_command_rows(quick)],
        "notes": ["Hessian rows: 20 starts, 64 samples, width 4, hidden 1; median CPU seconds per call over "
                  "interleaved rounds; the peer pushes all P tangents through every layer, ours only the prefix "
                  "of parameters that moves each layer (docs/landscape.md, 'Newton finder').",
                  "Command rows: one child process each, CPU time user + sys from getrusage; the finder runs "
                  "up to --newton-steps 300 LM iterations per start, then every point is analysed.",
                  "Most of the finder's former time was not this Hessian but the LM's slope columns ∂∇R_D/∂s_e "
                  "(two per kink entry, start and iteration), each a full pattern Hessian before; they are "
                  "gradient-only passes now, one call for all starts per iteration.", BEFORE],
    }
