"""--dask ADDRESS: the same bits as jobs=1 on a local dask.distributed cluster; one-line errors otherwise."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import resnet_cli.executor as executor
import resnet_cli.executor.dask  # noqa: F401  (the submodule, for its CONNECT_TIMEOUT)
from resnet_cli.errors import UserError
from resnet_cli.executor import run_cells

from infra_tasks import EigTask, blas_threads, eig_cell

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install 'resnet-cli[distributed]')"
    )
    # Workers are separate processes: they find the test's cell functions through PYTHONPATH.
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(HERE), saved or ""])
    try:
        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                      dashboard_address=None) as cluster:
            yield cluster.scheduler_address
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


def test_dask_gives_the_same_bits_as_jobs_1(scheduler):
    tasks = [EigTask(seed) for seed in range(5)]
    here = run_cells(eig_cell, tasks, jobs=1)
    remote = run_cells(eig_cell, tasks, dask=scheduler, jobs=4)  # jobs is ignored with dask
    assert all(np.array_equal(a, b) and pickle.dumps(a) == pickle.dumps(b) for a, b in zip(here, remote))
    counts = run_cells(blas_threads, [0, 1], dask=scheduler)  # every BLAS loaded (numpy's and scipy's) on 1 thread
    assert all(threads and set(threads) == {1} for threads in counts), counts


def test_dask_with_a_cache(scheduler, tmp_path):
    tasks = [EigTask(seed, n=80) for seed in range(3)]
    first = run_cells(eig_cell, tasks, dask=scheduler, cache=tmp_path)
    assert len(list(tmp_path.glob("*.cell"))) == 3
    again = run_cells(eig_cell, tasks, jobs=1, cache=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    monkeypatch.setattr(executor.dask, "CONNECT_TIMEOUT", 1)
    with pytest.raises(UserError) as exc:
        run_cells(eig_cell, [EigTask(0)], dask="tcp://127.0.0.1:1")
    text = str(exc.value)
    assert text.startswith("--dask tcp://127.0.0.1:1: cannot reach the scheduler") and "\n" not in text
    with pytest.raises(UserError, match=r"^--dask nonsense: cannot reach the scheduler"):
        run_cells(eig_cell, [EigTask(0)], dask="nonsense")


def test_without_distributed_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(UserError) as exc:
        run_cells(eig_cell, [EigTask(0)], dask="tcp://127.0.0.1:8786")
    assert str(exc.value) == "--dask needs dask.distributed: pip install 'resnet-cli[distributed]'"


def test_a_silent_server_is_one_line_within_the_timeout(monkeypatch):
    """A port that accepts the connection and never answers: `distributed.Client` alone waits without limit;
    the handshake gives up after CONNECT_TIMEOUT seconds with one line."""
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    import socket
    import time

    monkeypatch.setattr(executor.dask, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # the kernel accepts connections into the backlog; nobody ever reads or writes
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(UserError) as exc:
            run_cells(eig_cell, [EigTask(0)], dask=address)
        elapsed = time.monotonic() - start
    assert str(exc.value) == f"--dask {address}: cannot reach the scheduler (no answer within 1 s)"
    assert elapsed < 1.0 + 5.0  # bounded (it hung forever before); the slack is for a loaded machine


INTERRUPTED = """
import sys
from resnet_cli.executor import run_cells
from infra_tasks import TickTask, ticking_cell

if __name__ == "__main__":
    address, folder = sys.argv[1], sys.argv[2]
    try:
        run_cells(ticking_cell, [TickTask(60.0, folder) for _ in range(2)], dask=address)
    except KeyboardInterrupt:
        sys.exit(130)
"""


@pytest.mark.serial  # timing: the interrupt must land while cells run (make test runs it with nothing beside it)
def test_an_interrupted_sweep_frees_the_workers(scheduler, tmp_path):
    """Ctrl-C of a --dask sweep: the parent sets the sweep's cancel Event, the running cells stop at their
    next progress point, and no cell is still computing 2 s after the interrupt."""
    import signal
    import subprocess
    import time

    distributed = pytest.importorskip("distributed")
    script = tmp_path / "sweep.py"
    script.write_text(INTERRUPTED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script), scheduler, str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = time.monotonic() + 60
    while len(list(tmp_path.glob("tick-*"))) < 2:  # both cells are running on the workers
        assert proc.poll() is None and time.monotonic() < end, proc.stderr.read().decode() if proc.poll() else "timeout"
        time.sleep(0.05)
    interrupted = time.time()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err.decode()
    time.sleep(max(0.0, interrupted + 3.0 - time.time()))  # any cell still running would have ticked by now
    last = max(p.stat().st_mtime for p in tmp_path.glob("tick-*"))
    assert last - interrupted < 2.0
    with distributed.Client(scheduler, set_as_default=False) as client:
        busy = client.run(lambda dask_worker: len(dask_worker.state.executing))
    assert sum(busy.values()) == 0, busy
