"""The success-rate experiment of Liu et al. 2019 (poster, "Success Rates with p = 8 and varying k").

For every (p, k) of the grid, `trials` teachers and initializations are drawn once and shared by all methods
(common random numbers: the methods differ only in what the method changes). Each (p, k, method) cell is one
batched GD program over all trials (`optim.run_gd`, exact reduced coordinates, finished trials compacted).
Cells are independent and may run in separate processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from resnet_cli import optim
from resnet_cli.experiments import two_layer as exp

# method -> (student, schedule)
METHODS: dict[str, tuple[str, str]] = {
    "cnn": ("cnn", "constant"),
    "resnet": ("resnet", "constant"),
    "resnet-ssw": ("resnet", "ssw"),
    "resnet-layerwise": ("resnet", "layerwise"),
}


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% for the default z)."""
    if trials == 0:
        return (0.0, 1.0)
    phat = successes / trials
    denom = 1 + z * z / trials
    centre = (phat + z * z / (2 * trials)) / denom
    half = z / denom * math.sqrt(phat * (1 - phat) / trials + z * z / (4 * trials * trials))
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # the bounds are exactly 0 and 1 there
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


@dataclass
class SuccessConfig:
    ps: list[int] = field(default_factory=lambda: [8])
    ks: list[int] = field(default_factory=lambda: [4, 9, 16, 25, 36, 49, 64, 81, 100])
    methods: list[str] = field(default_factory=lambda: ["cnn", "resnet", "resnet-ssw"])
    trials: int = 1000
    seed: int = 0
    base: exp.TrainConfig = field(default_factory=exp.TrainConfig)  # step sizes, iterations, teacher, criteria


@dataclass
class Cell:
    p: int
    k: int
    method: str
    trials: int
    counts: dict[str, int]
    rate: float
    ci_low: float
    ci_high: float
    iterations: int
    stage1_iterations: int
    mean_iterations_run: float
    phi0_median_deg: float  # median initial angle(v0, v*)
    share_a0_against: float  # share of trials with a0ᵀa* < 0 (a starts pointing against a*)


def cell_rng(seed: int, p: int, k: int) -> np.random.Generator:
    """The generator of one (p, k) cell, derived from the run's seed (independent of the other cells)."""
    return np.random.default_rng(np.random.SeedSequence([seed, p, k]))


def run_pk(config: SuccessConfig, p: int, k: int) -> list[Cell]:
    """All methods of one (p, k): shared teachers and a0, and all methods in ONE batched GD program
    (rows = methods × trials, each row with its own schedule), so per-call overhead is paid once."""
    rng = cell_rng(config.seed, p, k)
    n = config.trials
    v_star, a_star = exp.draw_teachers(rng, n, p, k, config.base.teacher)
    e_inits, a0 = exp.draw_inits(rng, "resnet", v_star, a_star)
    cnn_v0 = exp.tl.sample_sphere(rng, n, p)
    configs, v0s, schedules = [], [], []
    for method in config.methods:
        student, schedule = METHODS[method]
        cfg = replace(config.base, student=student, schedule=schedule, p=p, k=k, trials=n)
        configs.append(cfg)
        v0s.append(cnn_v0 if student == "cnn" else e_inits)
        schedules.append(exp.make_schedule(cfg, a_star))
    m = len(config.methods)
    iterations = exp.total_iterations(configs[0])  # depends only on k and the step-size options
    gd = optim.run_gd(
        np.concatenate(v0s),
        np.tile(a0, (m, 1)),
        np.tile(v_star, (m, 1)),
        np.tile(a_star, (m, 1)),
        optim.Schedule.stack(schedules),
        iterations,
        configs[0].criteria,
        stop_when_global=True,
    )
    against = float(np.mean(np.sum(a0 * a_star, axis=1) < 0))
    cells = []
    for i, method in enumerate(config.methods):
        rows = slice(i * n, (i + 1) * n)
        outcome = gd.outcome[rows]
        counts = {name: int(np.sum(outcome == name)) for name in optim.OUTCOMES}
        low, high = wilson_interval(counts["global"], n)
        phi0 = float(np.degrees(np.median(exp.tl.angle(v0s[i], v_star))))
        cells.append(
            Cell(p, k, method, n, counts, counts["global"] / n, low, high, iterations, schedules[i].stage1_iterations,
                 float(gd.iterations[rows].mean()), phi0, against)
        )
    return cells


def _run_pk_star(args: tuple[SuccessConfig, int, int]) -> list[Cell]:
    return run_pk(*args)


def run(config: SuccessConfig, jobs: int = 1, progress: Callable[[int, int], None] | None = None) -> list[Cell]:
    """Every cell of the grid, (p, k) pairs in parallel processes when jobs > 1. Results do not depend on jobs.

    `progress(done, total)` counts work in iterations (a (p, k) pair weighs its iteration budget).
    """
    tasks = [(config, p, k) for p in config.ps for k in config.ks]
    work = [exp.total_iterations(replace(config.base, p=p, k=k)) for _, p, k in tasks]
    total, done = sum(work), 0
    # Largest budget first: the slowest cells start early, so the two cores finish together.
    order = sorted(range(len(tasks)), key=lambda i: -work[i])
    results: dict[int, list[Cell]] = {}
    if jobs <= 1 or len(tasks) == 1:
        for i in order:
            results[i] = run_pk(*tasks[i])
            done += work[i]
            if progress:
                progress(done, total)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(_run_pk_star, tasks[i]): i for i in order}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                done += work[i]
                if progress:
                    progress(done, total)
    return [cell for i in range(len(tasks)) for cell in results[i]]
