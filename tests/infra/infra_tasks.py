"""Module-level cell functions for the infrastructure tests (importable by spawned and dask workers)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from resnet_cli.rng import make_rng


@dataclass(frozen=True)
class EigTask:
    """One BLAS-heavy cell: the spectrum of a seeded random symmetric matrix."""

    seed: int
    n: int = 300
    log_dir: str | None = None  # when set, every call leaves a file there (counts real computations)


def eig_cell(task: EigTask) -> np.ndarray:
    if task.log_dir:
        with open(os.path.join(task.log_dir, f"call-{task.seed}-{os.getpid()}-{time.monotonic_ns()}"), "w"):
            pass
    rng = make_rng(task.seed)
    a = rng.standard_normal((task.n, task.n))
    m = a @ a.T / task.n + np.eye(task.n)
    # A few products and a solve as well: several BLAS/LAPACK paths whose results depend on the thread count.
    b = m @ m
    x = np.linalg.solve(m, rng.standard_normal(task.n))
    return np.concatenate([np.linalg.eigvalsh(m), np.linalg.eigvalsh(b)[:10], x])


def blas_threads(_task: object) -> list[int]:
    """Thread counts of every BLAS library as the cell sees them."""
    from threadpoolctl import threadpool_info

    return [info["num_threads"] for info in threadpool_info() if info.get("user_api") == "blas"]


def scipy_blas_threads(_task: object) -> list[int]:
    """Thread counts of every BLAS library after the cell imports scipy.linalg (lazily, as eigen.py does)."""
    import scipy.linalg  # noqa: F401

    return blas_threads(None)


@dataclass(frozen=True)
class SlowTask:
    seconds: float
    pid_dir: str


def slow_cell(task: SlowTask) -> int:
    """Record this worker's pid, then keep the CPU busy in small numpy steps for `seconds`."""
    with open(os.path.join(task.pid_dir, f"{os.getpid()}.pid"), "w") as fh:
        fh.write(str(os.getpid()))
    end = time.monotonic() + task.seconds
    x = np.ones(1000)
    while time.monotonic() < end:
        x = np.sin(x)
    return os.getpid()


def failing_cell(task: int) -> int:
    if task == 3:
        raise ValueError("cell 3 failed")
    return task


@dataclass(frozen=True)
class GatedTask:
    """A cell that waits (in small numpy steps) until the file `gate` exists, then computes like `eig_cell`."""

    seed: int
    gate: str | None
    log_dir: str


def gated_cell(task: GatedTask) -> np.ndarray:
    if task.gate is not None:
        x = np.ones(1000)
        while not os.path.exists(task.gate):
            x = np.sin(x)
    return eig_cell(EigTask(task.seed, n=120, log_dir=task.log_dir))


def live_processes(pids) -> list[int]:
    """The pids among `pids` that still exist and are not zombies (an exited child awaiting its reaper)."""
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{int(pid)}/stat", encoding="ascii", errors="replace") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            alive.append(int(pid))
    return alive


def pool_workers(parent: int | None = None) -> list[int]:
    """Live (non-zombie) process-pool workers whose parent is `parent` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == parent and fields[0] not in ("Z", "X") and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


@dataclass(frozen=True)
class TickTask:
    """A cell that keeps computing for `seconds`, stamping the time into a file of `log_dir` at every progress point."""

    seconds: float
    log_dir: str


def ticking_cell(task: TickTask) -> int:
    from resnet_cli.executor import cell_progress

    path = os.path.join(task.log_dir, f"tick-{os.getpid()}-{time.monotonic_ns()}")
    start = time.monotonic()
    x = np.ones(1000)
    while time.monotonic() - start < task.seconds:
        for _ in range(100):
            x = np.sin(x)
        with open(path, "w") as fh:
            fh.write(repr(time.time()))
        cell_progress((time.monotonic() - start) / task.seconds)
    return 0


def dying_cell(task: int) -> int:
    """Cell 2 ends its worker process without a word (as the kernel's OOM killer would)."""
    if task == 2:
        os._exit(3)
    return task


def pid_cell(task: int) -> tuple[int, int, float]:
    """(task, this worker's pid, the CPU seconds the cell burnt: about 0.1)."""
    start = time.process_time()
    x = np.ones(1000)
    while time.process_time() - start < 0.1:
        x = np.sin(x)
    return task, os.getpid(), time.process_time() - start
