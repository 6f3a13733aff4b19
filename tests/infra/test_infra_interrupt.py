"""Ctrl-C and SIGTERM during a sweep: exit 130 / 143 within 2 s, no worker left, no traceback, the finished
cells kept in the cache so that a re-run computes only the missing ones and returns the same bits."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from resnet_cli.executor import run_cells

from infra_tasks import GatedTask, gated_cell, live_processes, pool_workers

# Timing checks: `make test` runs the tests marked serial one at a time, after the parallel part.
pytestmark = pytest.mark.serial

HERE = Path(__file__).resolve().parent

SCRIPT = """
import sys
from resnet_cli.executor import run_cells
from resnet_cli.edge import outcome
from resnet_cli.signals import handle_signals
from infra_tasks import GatedTask, SlowTask, gated_cell, slow_cell

if __name__ == "__main__":
    kind, folder, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with handle_signals():
        try:
            if kind == "slow":
                run_cells(slow_cell, [SlowTask(60.0, folder) for _ in range(4)], jobs=jobs)
            else:
                tasks = [GatedTask(seed, None if seed < 3 else folder + "/gate", folder + "/log") for seed in range(5)]
                run_cells(gated_cell, tasks, jobs=jobs, cache=folder + "/cache")
        except BaseException as exc:
            code = outcome(exc)[0]
            if code not in (130, 143):
                raise
            sys.exit(code)
"""


def _start(tmp_path: Path, kind: str, folder: Path, jobs: int) -> subprocess.Popen:
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(script), kind, str(folder), str(jobs)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(predicate, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the sweep ended early ({proc.returncode}): {proc.stderr.read().decode()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _stop(proc: subprocess.Popen, signum: int) -> tuple[float, str]:
    start = time.monotonic()
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return time.monotonic() - start, err.decode()


def _gone_soon(pids: list[int], within: float = 2.0) -> list[int]:
    """The pids still running (not zombies) after `within` seconds."""
    end = time.monotonic() + within
    while live_processes(pids) and time.monotonic() < end:
        time.sleep(0.05)
    return live_processes(pids)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGINT, 130), (signal.SIGINT, 130),
                                          (signal.SIGTERM, 143)], ids=["int-1", "int-2", "int-3", "term"])
def test_a_signal_stops_a_two_worker_pool_within_2_s_leaving_no_worker(tmp_path, signum, code):
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = _start(tmp_path, "slow", pids, jobs=2)
    _wait_for(lambda: len(list(pids.glob("*.pid"))) == 2, proc, "both workers to start a cell")
    workers = pool_workers(proc.pid)
    assert len(workers) == 2
    assert sorted(workers) == sorted(int(p.stem) for p in pids.glob("*.pid"))
    elapsed, err = _stop(proc, signum)
    assert proc.returncode == code, err
    assert elapsed < 2.0, f"took {elapsed:.2f} s"
    assert err == "", err  # no traceback, from the parent or a worker
    assert _gone_soon(workers) == [], "orphan workers"


def test_ctrl_c_stops_an_in_process_sweep(tmp_path):
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = _start(tmp_path, "slow", pids, jobs=1)
    _wait_for(lambda: any(pids.glob("*.pid")), proc, "the first cell to start")
    elapsed, err = _stop(proc, signal.SIGINT)
    assert proc.returncode == 130 and err == "", err
    assert elapsed < 2.0, f"took {elapsed:.2f} s"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rerun_after_an_interrupt_computes_only_the_missing_cells(tmp_path, jobs):
    """Cells 0-2 finish, cells 3-4 wait for a gate file; Ctrl-C; open the gate; re-run: only 3-4 are computed
    and the results equal a fresh run's, bit for bit."""
    (tmp_path / "log").mkdir()
    proc = _start(tmp_path, "gated", tmp_path, jobs=jobs)
    cache = tmp_path / "cache"
    _wait_for(lambda: cache.is_dir() and len(list(cache.glob("*.cell"))) == 3, proc, "three finished cells")
    _, err = _stop(proc, signal.SIGINT)
    assert proc.returncode == 130 and err == "", err
    assert not [p for p in cache.iterdir() if not p.name.endswith(".cell")], "a temp file was left behind"
    assert len(list((tmp_path / "log").iterdir())) == 3

    (tmp_path / "gate").touch()
    tasks = [GatedTask(seed, None if seed < 3 else str(tmp_path / "gate"), str(tmp_path / "log")) for seed in range(5)]
    warnings: list[str] = []
    resumed = run_cells(gated_cell, tasks, jobs=jobs, cache=cache, warn=warnings.append)
    assert warnings == []
    assert sorted(p.name.split("-")[1] for p in (tmp_path / "log").iterdir()) == ["0", "1", "2", "3", "4"]
    fresh = run_cells(gated_cell, tasks, jobs=1)
    assert all(np.array_equal(a, b) and pickle.dumps(a) == pickle.dumps(b) for a, b in zip(resumed, fresh))
    assert not pool_workers()
