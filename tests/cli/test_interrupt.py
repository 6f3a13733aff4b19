"""Ctrl-C and SIGTERM (issue 11 point 3): every command stops within 2 s, exit 130 (143 for SIGTERM), one
line on stderr, no worker process left, no file written. Each run is a subprocess in its own process group,
without a terminal; the signal goes to the group, as a terminal's Ctrl-C does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BUSY = {  # long enough to be interrupted mid-work (minutes uninterrupted)
    "success-rate": ["success-rate", "--k", "4,9", "--trials", "20000", "--steps", "2000000", "--jobs", "2"],
    "depth-sweep": ["depth-sweep", "--measure", "final-loss", "--depth", "16,32", "--network", "xavier,orthogonal",
                    "--trials", "20", "--steps", "200000", "--jobs", "2"],
    "train-two-layer": ["train", "two-layer", "--trials", "20000", "--k", "9", "--steps", "2000000"],
}


def children(pid: int) -> list[int]:
    """Live descendants of `pid` (from /proc), zombies excluded."""
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == parent and fields[0] != "Z":
                found.append(int(entry))
                frontier.append(int(entry))
    return found


def group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes of process group `pgid`, with their command lines."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(f"{entry} {fields[0]} {cmdline}")
    return found


def interrupt(name: str, folder: Path, signum: int = signal.SIGINT, busy_after: float = 2.5) -> tuple[int, float, str]:
    out = folder / "out.json"
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "resnet_cli", *BUSY[name], "--out", str(out)], cwd=folder, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        time.sleep(busy_after)
        assert proc.poll() is None, proc.communicate()
        if "--jobs" in BUSY[name]:
            assert children(proc.pid), "the pool has no workers yet"
        os.killpg(proc.pid, signum)
        start = time.monotonic()
        _, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    leftovers = children(proc.pid)
    # workers re-parented after their parent died would still be in the run's process group
    alive_group = group_members(proc.pid)
    deadline = time.monotonic() + max(0.2, 2.0 - elapsed)  # a killed worker may take a moment to be reaped
    while alive_group and time.monotonic() < deadline:
        time.sleep(0.05)
        alive_group = group_members(proc.pid)
    assert not leftovers and not alive_group, (leftovers, alive_group)
    assert sorted(p.name for p in folder.iterdir()) == [], list(folder.iterdir())
    return proc.returncode, elapsed, err.decode()


def _check(code: int, elapsed: float, err: str, expected: int) -> None:
    assert code == expected, err
    assert elapsed < 2.0, elapsed
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("this run needs")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "stopped, nothing written" in lines[0]


@pytest.mark.parametrize("name", list(BUSY))
def test_sigint_stops_within_two_seconds(tmp_path, name):
    _check(*interrupt(name, tmp_path), 130)


def test_sigterm_gives_143(tmp_path):
    _check(*interrupt("depth-sweep", tmp_path, signal.SIGTERM), 143)


def test_sigint_five_times_in_a_row(tmp_path):
    for i in range(5):
        folder = tmp_path / str(i)
        folder.mkdir()
        _check(*interrupt("success-rate", folder, busy_after=1.5 + 0.2 * i), 130)
