"""--dask ADDRESS: the same bits as jobs=1 on a local dask.distributed cluster; one-line errors otherwise."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

import resnet_cli.executor as executor
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
    assert run_cells(blas_threads, [0, 1], dask=scheduler) == [[1], [1]]


def test_dask_with_a_cache(scheduler, tmp_path):
    tasks = [EigTask(seed, n=80) for seed in range(3)]
    first = run_cells(eig_cell, tasks, dask=scheduler, cache=tmp_path)
    assert len(list(tmp_path.glob("*.cell"))) == 3
    again = run_cells(eig_cell, tasks, jobs=1, cache=tmp_path)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    pytest.importorskip("distributed", reason="dask.distributed is not installed")
    monkeypatch.setattr(executor, "DASK_CONNECT_TIMEOUT", 1)
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
