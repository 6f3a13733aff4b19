"""`--cache DIR` (docs/cluster.md): a sweep interrupted half way and run again computes only the missing
cells and prints the same JSON as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

ARGS = ["depth-sweep", "--measure", "final-loss", "--depth", "2,4,6,8,10,12", "--network", "xavier", "--trials", "3",
        "--steps", "3000", "--jobs", "1", "--json", "--quiet"]


def test_interrupted_cached_sweep_resumes_to_the_same_result(tmp_path, cli):
    cache = tmp_path / "cache"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "resnet_cli", *ARGS, "--cache", str(cache)], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(cache.glob("*.cell"))) < 2:  # some cells, not all
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    stored = len(list(cache.glob("*.cell")))
    assert 2 <= stored < 6, stored
    resumed = cli(*ARGS, "--cache", str(cache))
    fresh = cli(*ARGS)
    assert resumed.code == 0 and fresh.code == 0, resumed.stderr
    assert resumed.stdout == fresh.stdout
    assert len(list(cache.glob("*.cell"))) == 6
