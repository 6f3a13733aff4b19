"""How `make bench` times and compares: interleaved runs, medians, CPU beside wall, agreement reported.

On a shared 2-core machine a timing taken once swings with the load (ratios of 0.8–2.4× were seen for the
same code). So every engine of a comparison runs in the same rounds, in rotated order (A B C, B C A, …), and
a ratio is the median over rounds of the paired ratios; CPU time (`time.process_time`, this process only) is
recorded beside wall time, and the load average before and after.
"""

from __future__ import annotations

import math
import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Timing:
    """Wall and CPU seconds of every round of one engine, and what its last run returned."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    result: object = None

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def interleaved(runs: dict[str, Callable[[], object]], rounds: int = 5) -> dict[str, Timing]:
    """Run every callable once per round, the order rotated each round; `rounds` ≥ 5 for a published ratio."""
    names = list(runs)
    timings = {name: Timing() for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            wall, cpu = time.perf_counter(), time.process_time()
            result = runs[name]()
            timings[name].wall.append(time.perf_counter() - wall)
            timings[name].cpu.append(time.process_time() - cpu)
            timings[name].result = result
    return timings


def paired_ratio(timings: dict[str, Timing], slower: str, faster: str, cpu: bool = False) -> float:
    """Median over rounds of time(slower) / time(faster): > 1 means `faster` is faster."""
    a = timings[slower].cpu if cpu else timings[slower].wall
    b = timings[faster].cpu if cpu else timings[faster].wall
    return statistics.median(x / y for x, y in zip(a, b))


def load() -> str:
    """The 1-minute load average over the core count, e.g. "1.9 on 2 cores" ("?" where unknown)."""
    if not hasattr(os, "getloadavg"):
        return "?"
    return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def agreement(label: str, ours: np.ndarray, peer: np.ndarray, keep: np.ndarray | None = None,
              tol: float = 1e-6) -> tuple[str, bool]:
    """Compare two engines' final states on the members neither diverged (rows where `keep` is True and both
    are finite), relative to the state's scale. Near-divergent members amplify rounding differences between
    BLAS builds (7e-3 was seen on an AMD EPYC at 1e-8 elsewhere), so the tolerance is loose and a failure is a
    note, never a crash."""
    ours, peer = np.asarray(ours, dtype=float), np.asarray(peer, dtype=float)
    rows = np.ones(ours.shape[0], dtype=bool) if keep is None else np.asarray(keep, dtype=bool).copy()
    axes = tuple(range(1, ours.ndim))
    rows &= np.isfinite(ours).all(axis=axes) & np.isfinite(peer).all(axis=axes)
    if not rows.any():
        return f"agreement, {label}: no member finite in both engines", False
    scale = max(float(np.abs(ours[rows]).max()), 1.0)
    gap = float(np.abs(ours[rows] - peer[rows]).max()) / scale
    ok = math.isfinite(gap) and gap <= tol
    verdict = "agree" if ok else f"DIFFER (above the {tol:g} tolerance)"
    return (f"agreement, {label}: max |Δ| / max(|x|, 1) = {gap:.1e} over the {int(rows.sum())} of {len(rows)} members "
            f"finite in both — {verdict}"), ok
