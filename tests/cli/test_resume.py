"""`--cache DIR` (docs/cluster.md): a sweep interrupted half way and run again computes only the missing
cells and prints the same JSON as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

# Timing checks: `make test` runs the tests marked serial one at a time, after the parallel part (under load
# the sweep could end before the interrupt reaches it).
pytestmark = pytest.mark.serial

ARGS = ["depth-sweep", "--measure", "final-loss", "--depth", "2,4,6,8,10,12", "--network", "xavier", "--trials", "3",
        "--steps", "1500", "--jobs", "1", "--json", "--quiet"]


BATCHED = ["success-rate", "--trials", "300", "--k", "4,9,16", "--stage2-steps", "8000", "--jobs", "1", "--json", "--quiet"]


@pytest.mark.parametrize("args, cells", [(ARGS, 6), (BATCHED, 3)], ids=["depth-sweep", "success-rate-batched"])
def test_interrupted_cached_sweep_resumes_to_the_same_result(tmp_path, cli, args, cells):
    """success-rate runs its (p, k) cells in batches: the cache got them only when every batch had ended, so an
    interrupted run kept nothing; now each batch is kept as it ends (several per worker with --cache)."""
    ARGS = args  # noqa: N806
    cache = tmp_path / "cache"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    # the uninterrupted run, on the other core meanwhile (the tests marked serial run with nothing beside them)
    fresh = subprocess.Popen([sys.executable, "-m", "resnet_cli", *ARGS], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "resnet_cli", *ARGS, "--cache", str(cache)], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(cache.glob("*.cell"))) < 1:  # some cells, not all
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert proc.returncode == 130, err
        stored = len(list(cache.glob("*.cell")))
        assert 1 <= stored < cells, stored
        resumed = cli(*ARGS, "--cache", str(cache))
        fresh_out, fresh_err = fresh.communicate(timeout=120)
        assert resumed.code == 0 and fresh.returncode == 0, (resumed.stderr, fresh_err)
        assert resumed.stdout == fresh_out
        assert len(list(cache.glob("*.cell"))) == cells
    finally:
        if fresh.poll() is None:  # a failed assert above: stop it, not to run beside the next serial test
            fresh.kill()
            fresh.communicate()
