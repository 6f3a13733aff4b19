"""`--dask ADDRESS` (docs/cluster.md): the same cells on a dask.distributed cluster give byte-identical JSON
to `--jobs 1` and `--jobs 2` (every cell runs BLAS on one thread wherever it runs) — success-rate,
depth-sweep, landscape deep-resnet (whose starts are all drawn by the parent and sent to the cells) and
hessian (one cell per trial; the parent draws the weights and the SLQ probes)."""

from __future__ import annotations

import operator

import numpy as np
import pytest

distributed = pytest.importorskip("distributed", reason="the 'distributed' extra is not installed "
                                  "(pip install 'resnet-cli[distributed]'; make test installs it)")

RUNS = {
    "success-rate": ["success-rate", "--k", "3,5", "--trials", "40", "--steps", "300", "--json", "--quiet"],
    "depth-sweep": ["depth-sweep", "--depth", "2,4", "--network", "xavier,2-shortcut", "--trials", "2", "--json",
                    "--quiet"],
    "deep-resnet": ["landscape", "deep-resnet", "--blocks", "1,2", "--compare", "fc", "--trials", "4", "--json",
                    "--quiet"],
    "hessian": ["hessian", "--spectrum", "slq", "--trials", "3", "--depth", "4", "--lanczos-steps", "20",
                "--lanczos-probes", "3", "--json", "--quiet"],
}


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=40) as local:
        yield local.scheduler_address


@pytest.mark.parametrize("name", list(RUNS))
def test_dask_and_jobs_give_identical_json(cli, cluster, name):
    one = cli(*RUNS[name], "--jobs", "1")
    two = cli(*RUNS[name], "--jobs", "2")
    remote = cli(*RUNS[name], "--dask", cluster)
    for result in (one, two, remote):
        assert result.code == 0, result.stderr
    assert one.stdout == two.stdout == remote.stdout


def test_dask_cells_get_aligned_arrays(cluster):
    """A task's arrays reach a dask worker aligned: handed to dask as objects they arrived as views into the
    message frame at odd byte offsets, and numpy's matmul then skips BLAS (depth-sweep's theory_cond10
    differed in the last bits now and then). Datasets whose names shift the offsets; every X aligned."""
    from resnet_cli.data import Dataset
    from resnet_cli.executor import run_cells

    tasks = [Dataset(np.full((3 + i, 2), 0.5), np.zeros((1, 2)), "x" * i, "") for i in range(16)]
    assert run_cells(operator.attrgetter("X.flags.aligned"), tasks, dask=cluster) == [True] * len(tasks)
