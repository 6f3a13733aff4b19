"""Hostile inputs across all seven commands (docs/cli.md: exit 2, one line).

Each case is a command line a user could type, or a file they could point at. Every case must end in exit 2
(or 0 where the input is fine and the answer is a result), with exactly one line on stderr, no traceback and
no output file left behind — and without allocating more than the address-space limit below: the cases run
in ONE child process under `RLIMIT_AS` (numpy + typer + the package need ~120 MB of address space with one
BLAS thread), each case in-process through `resnet_cli.cli.run`, isolated by try/except and reported as JSON.
A size that would need gigabytes must be refused from its estimate, before allocation, or the child fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

LIMIT = 1536 << 20  # bytes of address space for the child running every case

TWO = ["train", "two-layer"]
LAND = ["landscape", "two-layer"]
SR = ["success-rate"]
HES = ["hessian"]
TSC = ["train", "shortcut"]
DS = ["depth-sweep"]
DR = ["landscape", "deep-resnet"]
LR = ["landscape", "linear-resnet"]
COMMANDS = {"train-two-layer": TWO, "landscape-two-layer": LAND, "success-rate": SR, "hessian": HES,
            "train-shortcut": TSC, "depth-sweep": DS, "deep-resnet": DR, "linear-resnet": LR}
# A cheap run of each command (used where a case needs the command to get as far as its outputs).
SMALL = {
    "train-two-layer": [*TWO, "--k", "3", "--steps", "20"],
    "landscape-two-layer": [*LAND, "--k", "3", "--steps", "20", "--basin-phi", "2", "--basin-a", "2", "--probes", "10"],
    "success-rate": [*SR, "--k", "3", "--trials", "5", "--steps", "20", "--jobs", "1"],
    "hessian": [*HES, "--depth", "2"],
    "train-shortcut": [*TSC, "--depth", "2", "--steps", "5"],
    "depth-sweep": [*DS, "--depth", "2", "--network", "xavier", "--trials", "1", "--jobs", "1"],
    "deep-resnet": [*DR, "--trials", "1", "--newton-steps", "20"],
    "linear-resnet": [*LR, "--trials", "1", "--radius", "0.5", "--newton-steps", "20"],
}


def cases() -> list[tuple[str, list[str], int]]:
    """(id, argv, expected exit code); `{tmp}` in an argument is the case folder."""
    out: list[tuple[str, list[str], int]] = []

    def add(name: str, argv: list[str], code: int = 2) -> None:
        out.append((name, argv, code))

    for name, cmd in COMMANDS.items():
        add(f"{name}-seed-negative", [*cmd, "--seed", "-1"])
        add(f"{name}-seed-above-int64", [*cmd, "--seed", str(2**64)])
        add(f"{name}-seed-text", [*cmd, "--seed", "abc"])
        if name != "train-shortcut":  # it has no --trials
            add(f"{name}-trials-1e9-text", [*cmd, "--trials", "1e9"])
        add(f"{name}-unknown-flag", [*cmd, "--no-such-flag", "1"])
        add(f"{name}-config-missing", [*cmd, "--config", "{tmp}/missing.toml"])
        add(f"{name}-config-folder", [*cmd, "--config", "{tmp}"])
        add(f"{name}-config-not-utf8", [*cmd, "--config", "{tmp}/latin1.toml"])
        add(f"{name}-config-malformed", [*cmd, "--config", "{tmp}/malformed.toml"])
        add(f"{name}-config-unreadable", [*cmd, "--config", "/proc/self/mem"])
        add(f"{name}-config-int-above-int64", [*cmd, "--config", "{tmp}/huge.toml"])
        add(f"{name}-out-unwritable-proc", [*SMALL[name], "--out", "/proc/out.json"])
        add(f"{name}-out-folder-is-a-file", [*SMALL[name], "--out", "{tmp}/afile.txt/out.json"])
        add(f"{name}-out-is-a-directory", [*SMALL[name], "--out", "{tmp}/adir.json"])
        add(f"{name}-plot-unwritable-sys", [*SMALL[name], "--plot", "/sys/fig.png"])
        add(f"{name}-out-bad-suffix", [*SMALL[name], "--out", "{tmp}/out.txt"])
        add(f"{name}-out-empty", [*SMALL[name], "--out", ""])  # not "no file": refused
        add(f"{name}-plot-empty", [*SMALL[name], "--plot", ""])
        add(f"{name}-config-empty", [*SMALL[name], "--config", ""])
    add("no-arguments", [], 0)  # the help, exit 0 (the help is the result)
    add("train-no-subcommand", ["train"], 0)
    add("unknown-command", ["no-such-command"])
    add("train-two-layer-preset-of-another-command", [*TWO, "--config", "li2017-fig6"])
    add("success-rate-preset-of-another-command", [*SR, "--config", "yun2019-example1"])
    add("depth-sweep-preset-of-another-command", [*DS, "--config", "liu2019-success"])
    add("train-two-layer-config-int-beyond-double", [*TWO, "--config", "{tmp}/beyond-double.toml"])
    add("linear-resnet-config-list-beyond-double", [*LR, "--config", "{tmp}/beyond-double-list.toml"])
    add("train-two-layer-config-int-of-5000-digits", [*TWO, "--config", "{tmp}/digits-5000.toml"])
    add("success-rate-k-range-3e9", [*SR, "--k", "1:3000000000"])
    add("success-rate-k-3e9", [*SR, "--k", "3000000000"])
    add("success-rate-p-1e9", [*SR, "--p", "1000000000"])
    add("success-rate-trials-1e10", [*SR, "--trials", "10000000000"])
    add("success-rate-steps-1e13", [*SR, "--steps", "10000000000000"])
    add("success-rate-k-zero", [*SR, "--k", "0"])
    add("success-rate-k-empty-item", [*SR, "--k", "4,,9"])
    add("success-rate-k-trailing-comma", [*SR, "--k", "4,9,"])
    add("success-rate-cache-empty", [*SR, "--cache", ""])
    add("success-rate-dask-empty", [*SR, "--dask", ""])
    add("depth-sweep-lr-empty-item", [*DS, "--lr", "0.1,,1"])
    add("depth-sweep-network-empty-item", [*DS, "--network", "xavier,"])
    add("hessian-out-and-eigenvalues-same-file", [*SMALL["hessian"], "--out", "{tmp}/same.csv", "--eigenvalues",
                                                  "{tmp}/same.csv"])
    add("linear-resnet-radius-nan", [*LR, "--radius", "nan"])
    add("linear-resnet-radius-negative", [*LR, "--radius", "-1"])
    add("linear-resnet-radius-empty-item", [*LR, "--radius", "0.5,,1"])
    add("linear-resnet-radius-1e300", [*LR, "--radius", "1e300"])
    add("linear-resnet-dim-100000", [*LR, "--dim", "100000"])
    add("linear-resnet-blocks-1000", [*LR, "--blocks", "1000"])
    add("success-rate-cache-is-out", [*SMALL["success-rate"], "--cache", "{tmp}/same-dir.csv", "--out",
                                      "{tmp}/same-dir.csv"])  # created the folder, computed, then refused
    add("linear-resnet-eig-tol-half", [*LR, "--eig-tol", "0.5"])  # a λmin of −2 was called a local minimum
    add("linear-resnet-newton-tol-1e300", [*LR, "--newton-tol", "1e300"])
    add("linear-resnet-probes-0", [*SMALL["linear-resnet"], "--eig-tol", "1e-2", "--probes", "0"], 0)
    add("deep-resnet-newton-tol-1e6", [*DR, "--newton-tol", "1e6"])  # a gradient of 2.75 was "critical"
    add("deep-resnet-eig-tol-0", [*DR, "--eig-tol", "0"])  # λmin = −5.8e-17 (rounding) made a strict saddle
    add("deep-resnet-eig-tol-alt-0", [*DR, "--eig-tol-alt", "0"])
    add("deep-resnet-grad-tol-1e6", [*DR, "--finder", "gd", "--grad-tol", "1e6"])
    add("linear-resnet-trials-1e9", [*LR, "--trials", "1000000000"])
    add("linear-resnet-hessians-too-many", [*LR, "--trials", "10000", "--dim", "5", "--blocks", "20"])
    add("linear-resnet-data-yun", [*LR, "--data", "yun-example1"])
    add("linear-resnet-target-unknown", [*LR, "--target", "bogus"])
    add("linear-resnet-damping-zero", [*LR, "--damping", "0"])
    add("linear-resnet-damping-inf", [*LR, "--damping", "inf"])
    add("linear-resnet-mnist-missing", [*LR, "--data", "mnist:{tmp}/missing"])
    add("deep-resnet-rho-1e200", [*DR, "--rho", "1e200"])
    add("deep-resnet-init-scale-1e308", [*DR, "--init", "near-identity", "--init-scale", "1e308"])
    add("success-rate-method-twice", [*SR, "--method", "cnn,cnn"])
    add("success-rate-jobs-zero", [*SR, "--jobs", "0"])
    add("success-rate-dask-unreachable-malformed", [*SMALL["success-rate"], "--dask", "not a url::"])
    add("success-rate-cache-is-a-file", [*SMALL["success-rate"], "--cache", "{tmp}/afile.txt"])
    add("success-rate-lr-nan", [*SR, "--lr", "nan"])
    add("success-rate-lr-inf", [*SR, "--lr", "inf"])
    add("train-two-layer-trials-1e9", [*TWO, "--trials", "1000000000"])
    add("train-two-layer-steps-1e13-many-trials", [*TWO, "--trials", "1000", "--steps", "10000000000000"])
    add("train-two-layer-k-1e9", [*TWO, "--k", "1000000000"])
    add("train-two-layer-p-1", [*TWO, "--p", "1"])
    add("train-two-layer-prior-angle-nan", [*TWO, "--prior-angle", "nan"])
    add("landscape-profile-points-1e9", [*LAND, "--profile-points", "1000000000"])
    add("landscape-basin-100000-squared", [*LAND, "--basin-phi", "100000", "--basin-a", "100000"])
    add("landscape-probes-1e12", [*LAND, "--probes", "1000000000000"])
    add("landscape-schedule-twice", [*LAND, "--schedule", "ssw,ssw"])
    add("hessian-depth-100000", [*HES, "--depth", "100000"])
    add("hessian-dim-100000", [*HES, "--data", "gaussian", "--dim", "100000"])
    add("hessian-samples-1e12", [*HES, "--data", "gaussian", "--samples", "1000000000000"])
    add("hessian-trials-1e9", [*HES, "--trials", "1000000000"])
    add("hessian-mnist-nan-pixels", [*HES, "--data", "mnist:{tmp}/nan-mnist.npz"])
    add("hessian-mnist-missing", [*HES, "--data", "mnist:{tmp}/missing.npz"])
    add("hessian-mnist-not-an-npz", [*HES, "--data", "mnist:{tmp}/latin1.npz"])
    add("hessian-eigenvalues-unwritable", [*SMALL["hessian"], "--eigenvalues", "/proc/eig.csv"])
    add("hessian-eigenvalues-directory", [*SMALL["hessian"], "--eigenvalues", "{tmp}/adir.csv"])
    add("hessian-data-unknown", [*HES, "--data", "imagenet"])
    add("train-shortcut-steps-1e13", [*TSC, "--steps", "10000000000000"])
    add("train-shortcut-depth-100000", [*TSC, "--depth", "100000", "--hessian-every", "1"])
    add("train-shortcut-mnist-nan-pixels", [*TSC, "--data", "mnist:{tmp}/nan-mnist.npz", "--steps", "2"])
    add("depth-sweep-depth-100000", [*DS, "--depth", "100000"])
    add("depth-sweep-lr-logspace-400", [*DS, "--lr", "logspace:0:400:3"])
    add("depth-sweep-lr-negative", [*DS, "--lr", "-0.1"])
    add("depth-sweep-steps-1e10", [*DS, "--measure", "final-loss", "--steps", "10000000000"])
    add("depth-sweep-dim-100000", [*DS, "--data", "gaussian", "--dim", "100000"])
    add("depth-sweep-depth-list-huge", [*DS, "--depth", "1:3000000000"])
    add("depth-sweep-network-unknown", [*DS, "--network", "vgg"])
    add("depth-sweep-mnist-nan-pixels", [*DS, "--data", "mnist:{tmp}/nan-mnist.npz", "--depth", "2",
                                         "--network", "xavier", "--jobs", "1"])
    add("deep-resnet-trials-1e9", [*DR, "--trials", "1000000000"])
    add("deep-resnet-blocks-100000", [*DR, "--blocks", "100000"])
    if importlib.util.find_spec("torch") is None:  # the optional mkl eigensolver without torch: a user error
        add("hessian-eigensolver-mkl-without-torch", [*SMALL["hessian"], "--eigensolver", "mkl"])
    add("deep-resnet-samples-1e9", [*DR, "--data", "gaussian", "--samples", "1000000000"])
    add("deep-resnet-dim-100000", [*DR, "--data", "gaussian", "--dim", "100000"])
    add("deep-resnet-rho-nan", [*DR, "--rho", "nan"])
    add("deep-resnet-blocks-zero", [*DR, "--blocks", "0"])
    add("deep-resnet-hidden-100000", [*DR, "--hidden", "100000"])
    # in range, but the estimate refuses them: the Newton finder's trials × params² Hessians (~4 TB), its
    # trials × params × units × samples tangents (~2 TB), and GD steps that would take centuries
    add("deep-resnet-newton-hessians-trials-10000", [*DR, "--trials", "10000", "--data", "gaussian", "--dim", "30",
                                                     "--hidden", "30"])
    add("deep-resnet-tangents-blocks-64", [*DR, "--trials", "10000", "--blocks", "64", "--hidden", "8"])
    add("deep-resnet-gd-steps-1e13", [*DR, "--finder", "gd", "--steps", "10000000000000"])
    # Inputs that are fine: the result is the answer (exit 0; one stderr line is not required there).
    add("success-rate-out-onto-symlink", [*SMALL["success-rate"], "--out", "{tmp}/link.json", "--quiet"], 0)
    add("train-two-layer-json", [*SMALL["train-two-layer"], "--json", "--quiet"], 0)
    return [c for c in out if c is not None]


CASES = cases()

CHILD = r"""
import contextlib, io, json, os, sys, traceback
os.environ["OPENBLAS_NUM_THREADS"] = "1"
from resnet_cli.cli import run
results = {}
for name, argv in json.load(sys.stdin):
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(argv)
    except BaseException as exc:  # SystemExit, MemoryError, ...: recorded, the next case still runs
        code = f"raised {type(exc).__name__}: {exc}"
        err.write(traceback.format_exc())
    results[name] = {"code": code, "stderr": err.getvalue(), "stdout_len": len(out.getvalue())}
json.dump(results, sys.__stdout__)
"""


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "latin1.toml").write_bytes("seed = 1 # caf\xe9\n".encode("latin-1"))
    (tmp / "latin1.npz").write_bytes(b"\xff\xfe not a zip")
    (tmp / "malformed.toml").write_text("seed = = 1\n[unclosed\n")
    (tmp / "huge.toml").write_text("seed = 99999999999999999999\n")
    (tmp / "beyond-double.toml").write_text(f"lr = 1{'0' * 400}\n")  # float(int) overflowed: exit 1
    (tmp / "beyond-double-list.toml").write_text(f"radius = [1{'0' * 400}, 1]\n")
    (tmp / "digits-5000.toml").write_text(f"lr = 1{'0' * 5000}\n")  # beyond Python's 4300 digits: ValueError
    (tmp / "afile.txt").write_text("a file where a folder is expected\n")
    (tmp / "adir.json").mkdir()
    (tmp / "adir.csv").mkdir()
    (tmp / "target.json").write_text("{}\n")
    os.symlink(tmp / "target.json", tmp / "link.json")
    images = np.full((40, 28, 28), np.nan)
    np.savez(tmp / "nan-mnist.npz", x_train=images, y_train=np.arange(40) % 10)
    return tmp


@pytest.fixture(scope="module")
def outcomes(folder) -> dict:
    """Run every case once, in one child process under the address-space limit."""
    before = sorted(p.name for p in folder.iterdir())
    payload = [(name, [a.replace("{tmp}", str(folder)) for a in argv]) for name, argv, _ in CASES]
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "COLUMNS": "80"}
    env.pop("RESNET_CLI_DEBUG", None)
    proc = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(payload), capture_output=True, text=True,
                          preexec_fn=_limit, env=env, cwd=folder, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(proc.stdout)
    results["__files__"] = (before, sorted(p.name for p in folder.iterdir()))
    return results


def test_at_least_80_cases_across_all_commands():
    assert len(CASES) >= 80 and len({c[0] for c in CASES}) == len(CASES)
    for name in COMMANDS:
        assert sum(1 for c in CASES if c[0].startswith(name)) >= 10, name


@pytest.mark.parametrize("name,argv,code", CASES, ids=[c[0] for c in CASES])
def test_hostile_input(outcomes, name, argv, code):
    result = outcomes[name]
    stderr = result["stderr"]
    assert "Traceback" not in stderr, stderr
    assert result["code"] == code, (result["code"], stderr)
    lines = [line for line in stderr.splitlines() if line.strip()]
    if code == 2:
        assert len(lines) == 1, stderr
        assert lines[0].startswith("error:"), lines[0]


def test_no_output_file_left_and_symlink_kept(outcomes, folder):
    before, after = outcomes["__files__"]
    assert before == after, set(after) ^ set(before)  # nothing new (no out.json, no temp files)
    assert (folder / "link.json").is_symlink()
    assert json.loads((folder / "target.json").read_text())["command"] == "success-rate"
    assert not any(p.name.startswith(".") for p in folder.iterdir())
    assert list((folder / "adir.json").iterdir()) == []
