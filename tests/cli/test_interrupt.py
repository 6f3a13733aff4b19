"""Ctrl-C and SIGTERM at any moment: exit 130 (143 for SIGTERM) within 2 s, one line on stderr, no traceback,
no process of the run's group left, no file written (docs/cli.md, "Exit codes").

Each run is `python -m resnet_cli …` in its own session without a terminal; the signal goes to the whole
process group, as a terminal's Ctrl-C does (worker processes included). The moments are drawn once from a
seeded generator: 5 per command for the seven commands (between 0.05 s and 2.5 s after the start, which
covers imports, the first allocations and the spawn of pool workers), one per preset, and a double Ctrl-C.
A moment earlier than the process's own signal set-up is moved to it: before the first line of `resnet_cli`
runs (the interpreter's start, ~50 ms), no program can handle a signal. The runs go three at a time; the
measured latencies are written to the pytest log (`-rA` shows them). A run that has not stopped 15 s after
the signal gets SIGABRT, whose faulthandler dump (the stack of every thread) is the failure message.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resnet_cli.config import preset_names

# Timing checks: `make test` runs the tests marked serial one at a time, after the parallel part.
pytestmark = pytest.mark.serial

BUSY = {  # each runs for minutes uninterrupted
    "train-two-layer": ["train", "two-layer", "--trials", "20000", "--k", "9", "--steps", "2000000"],
    "train-shortcut": ["train", "shortcut", "--depth", "8", "--steps", "2000000"],
    "landscape-two-layer": ["landscape", "two-layer", "--k", "9", "--probes", "2000000", "--profile-points", "2000",
                            "--steps", "2000000"],  # (without --steps it ends after about 4 s)
    "landscape-deep-resnet": ["landscape", "deep-resnet", "--trials", "2000", "--blocks", "1,2"],
    "success-rate": ["success-rate", "--k", "4,9", "--trials", "20000", "--steps", "2000000", "--jobs", "2"],
    "hessian": ["hessian", "--trials", "400", "--depth", "12", "--init", "xavier", "--jobs", "2"],  # dense: ~18 s
    "depth-sweep": ["depth-sweep", "--measure", "final-loss", "--depth", "16,32", "--network", "xavier,orthogonal",
                    "--trials", "20", "--steps", "200000", "--jobs", "2"],
}
COMMAND_OF = {"train-shortcut": ["train", "shortcut"], "depth-sweep": ["depth-sweep"],
              "success-rate": ["success-rate"], "landscape-deep-resnet": ["landscape", "deep-resnet"]}
MOMENTS_PER_COMMAND = 5


def _preset_argv(name: str) -> list[str]:
    from resnet_cli.config import load_toml

    tables = [t for t in load_toml(name) if t in COMMAND_OF]
    return [*COMMAND_OF[tables[0]], "--config", name]


def _runs() -> list[tuple[str, list[str], float, int]]:
    """(id, argv, moment in s, how many SIGINTs)."""
    rng = random.Random(20261205)
    runs = [(f"{name}-{i}", argv, round(rng.uniform(0.05, 2.5), 2), 1)
            for name, argv in BUSY.items() for i in range(MOMENTS_PER_COMMAND)]
    # Presets as they are: the quickest (li2017-fig3) ends in about 0.45 s on an idle machine, so their moments
    # stay below 0.4 s (most of which is start-up: an interrupt while modules import is one to survive too).
    runs += [(f"preset-{name}", _preset_argv(name), round(rng.uniform(0.05, 0.4), 2), 1) for name in preset_names()]
    runs += [("double-success-rate", BUSY["success-rate"], 1.3, 2), ("double-train-shortcut", BUSY["train-shortcut"], 0.9, 2)]
    return runs


RUNS = _runs()


def _status(pid: int, field: str) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return line.split()[1]
    except OSError:
        return None
    return None


def _ready(pid: int) -> bool:
    """The process catches SIGTERM: `signals.install()` has run (the first line of `edge.main`)."""
    caught = _status(pid, "SigCgt")
    return caught is not None and bool(int(caught, 16) >> (signal.SIGTERM - 1) & 1)


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


def interrupt(argv: list[str], folder: Path, moment: float, signum: int = signal.SIGINT, times: int = 1) -> dict:
    """Start `resnet-cli ARGV --out …` in `folder`, signal its group at `moment` s; what happened."""
    folder.mkdir(parents=True, exist_ok=True)
    # PYTHONFAULTHANDLER: a run that does not stop is sent SIGABRT first, so its stacks (every thread, every
    # process of the group) land in the failure message before SIGKILL
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1"}
    env.pop("RESNET_CLI_DEBUG", None)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "resnet_cli", *argv, "--out", str(folder / "out.json"), "--quiet"],
                            cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        while not _ready(proc.pid) and proc.poll() is None and time.monotonic() - start < 30:
            time.sleep(0.005)
        time.sleep(max(0.0, start + moment - time.monotonic()))
        sent = time.monotonic() - start
        if proc.poll() is not None:
            _, err = proc.communicate()
            return {"code": proc.returncode, "latency": None, "err": "finished before the signal: " + err.decode(),
                    "left": [], "files": [], "sent": sent}
        os.killpg(proc.pid, signum)
        signalled = time.monotonic()
        for _ in range(times - 1):
            time.sleep(0.1)
            try:
                os.killpg(proc.pid, signum)
            except ProcessLookupError:
                break
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGABRT)  # faulthandler prints where each process is
            try:
                _, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate()
            err = b"did not stop within 15 s; the stacks at SIGABRT:\n" + err
        latency = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = group_members(proc.pid)
    deadline = time.monotonic() + max(0.2, 2.0 - latency)  # a killed worker may take a moment to be reaped
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = group_members(proc.pid)
    return {"code": proc.returncode, "latency": latency, "err": err.decode(), "left": left,
            "files": sorted(p.name for p in folder.iterdir()), "sent": sent}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("interrupt")
    with cf.ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(interrupt, argv, root / name, moment, times=times)
                   for name, argv, moment, times in RUNS}
        results = {name: future.result() for name, future in futures.items()}
    latencies = [r["latency"] for r in results.values() if r["latency"] is not None]
    print(f"\ninterrupt latencies over {len(latencies)} runs: max {max(latencies):.2f} s, "
          f"median {sorted(latencies)[len(latencies) // 2]:.2f} s")
    return results


def _check(result: dict, expected: int) -> None:
    err = result["err"]
    assert result["code"] == expected, err
    assert result["latency"] < 2.0, result["latency"]
    assert not result["left"], result["left"]
    assert result["files"] == [], result["files"]
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "stopped, nothing written" in lines[0]


def test_the_moments_cover_every_command_and_preset():
    assert len(RUNS) >= 7 * MOMENTS_PER_COMMAND + len(preset_names()) + 2
    assert min(moment for _, _, moment, _ in RUNS) >= 0.05


@pytest.mark.parametrize("name", [r[0] for r in RUNS])
def test_sigint_at_a_random_moment(outcomes, name):
    _check(outcomes[name], 130)


def test_sigterm_gives_143(tmp_path):
    _check(interrupt(BUSY["depth-sweep"], tmp_path, 1.5, signal.SIGTERM), 143)
