"""CLI of `train two-layer` and `landscape two-layer`: options, JSON, bad input, atomic outputs, seeds, plots."""

import json
import subprocess
import sys

import pytest

from helpers import assert_one_line_error, run_cli

TRAIN = ("train", "two-layer")
LAND = ("landscape", "two-layer")
FAST_LAND = (*LAND, "--iterations", "300", "--basin-phi", "3", "--basin-a", "2", "--probes", "200")

TRAIN_OPTIONS = [
    "--student", "--p", "--k", "--schedule", "--eta-a", "--eta-w", "--eta", "--c-eta-w", "--stage1-iterations",
    "--iterations", "--stage2-iterations", "--trials", "--same-teacher", "--teacher-v", "--teacher-a",
    "--prior-angle", "--phi-tol", "--a-tol", "--spurious-tol", "--trace-every", "--seed", "--config", "--out",
    "--json", "--plot", "--quiet",
]
LAND_OPTIONS = [
    "--p", "--k", "--teacher-v", "--teacher-a", "--prior-angle", "--profile-points", "--basin-phi", "--basin-a",
    "--schedules", "--probes", "--probe-radius", "--eta-a", "--eta-w", "--eta", "--c-eta-w", "--stage1-iterations",
    "--iterations", "--stage2-iterations", "--phi-tol", "--a-tol", "--spurious-tol", "--seed", "--config", "--out",
    "--json", "--plot", "--quiet",
]


@pytest.mark.parametrize("cmd,options", [(TRAIN, TRAIN_OPTIONS), (LAND, LAND_OPTIONS)])
def test_every_option_in_help(cmd, options):
    r = run_cli(*cmd, "--help")
    assert r.code == 0
    text = r.stdout.replace("\n", " ")
    for option in options:
        assert option in text, option


def test_train_json_has_config_and_runs():
    r = run_cli(*TRAIN, "--k", "4", "--trials", "3", "--seed", "2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["config"]["seed"] == 2 and data["config"]["k"] == 4 and data["config"]["schedule"] == "ssw"
    assert data["config"]["teacher"]["v_kind"] == "prior"
    assert len(data["runs"]) == 3
    for run in data["runs"]:
        assert run["outcome"] in ("global", "spurious", "undecided", "diverged")
        assert set(run["final"]) >= {"loss", "phi", "a_dot_astar"}
    assert sum(data["counts"].values()) == 3


def test_train_table_output():
    r = run_cli(*TRAIN, "--k", "4", "--iterations", "500")
    assert r.code == 0
    assert "trace of trial 0" in r.stdout and "outcome per trial" in r.stdout and "aᵀa*" in r.stdout


def test_same_seed_same_json():
    args = (*TRAIN, "--student", "cnn", "--schedule", "constant", "--trials", "4", "--seed", "9", "--json", "--iterations", "2000")
    assert run_cli(*args).stdout == run_cli(*args).stdout
    land = (*FAST_LAND, "--seed", "3", "--json")
    assert run_cli(*land).stdout == run_cli(*land).stdout


def test_diverged_is_reported_not_raised():
    r = run_cli(*TRAIN, "--eta", "50", "--json")
    assert r.code == 0
    assert json.loads(r.stdout)["runs"][0]["outcome"] == "diverged"


@pytest.mark.parametrize(
    "args",
    [
        ("--k", "0"),
        ("--p", "-1"),
        ("--p", "1"),
        ("--eta-a", "-1"),
        ("--eta", "0"),
        ("--student", "vgg"),
        ("--schedule", "cosine"),
        ("--teacher-a", "cauchy"),
        ("--trials", "0"),
        ("--iterations", "0"),
        ("--trace-every", "0"),
        ("--k", "x"),
        ("--out", "trace.txt"),
        ("--plot", "trace.gif"),
    ],
)
def test_train_bad_input_exits_2_with_one_line(args):
    assert_one_line_error(run_cli(*TRAIN, *args))


@pytest.mark.parametrize("args", [("--k", "0"), ("--schedules", "ssw,bogus"), ("--basin-phi", "0"), ("--probes", "0")])
def test_landscape_bad_input(args):
    assert_one_line_error(run_cli(*LAND, *args))


@pytest.mark.parametrize(
    "text",
    [
        "k = = 3\n",
        "bogus_key = 1\n",
        "k = \"four\"\n",
        "[train-two-layer]\nnope = 1\n",
        # options whose default is None are typed by their declaration, not by the default
        "eta_a = \"x\"\n",
        "iterations = 2.5\n",
        "trace_every = true\n",
        "out = 3\n",
    ],
)
def test_bad_toml_exits_2(tmp_path, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert_one_line_error(run_cli(*TRAIN, "--config", str(cfg)))


def test_toml_config_applies_under_flags(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train-two-layer]\nk = 5\nstudent = \"cnn\"\niterations = 300\n")
    data = json.loads(run_cli(*TRAIN, "--config", str(cfg), "--k", "6", "--json").stdout)
    assert data["config"]["k"] == 6 and data["config"]["student"] == "cnn" and data["config"]["iterations"] == 300


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_out_written_atomically(tmp_path, suffix):
    target = tmp_path / f"trace{suffix}"
    r = run_cli(*TRAIN, "--trials", "2", "--iterations", "400", "--trace-every", "100", "--out", str(target))
    assert r.code == 0, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    text = target.read_text()
    if suffix == ".csv":
        lines = text.splitlines()
        assert lines[0] == "trial,iteration,loss,phi,a_dot_astar,a_err"
        assert len(lines) == 1 + 2 * 5  # 2 trials × iterations 0,100,200,300,400
    else:
        assert json.loads(text)["trace"]["iteration"] == [0, 100, 200, 300, 400]


def test_landscape_json_has_teacher_and_critical_points():
    r = run_cli(*FAST_LAND, "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data["teacher"]) >= {"v_star", "a_star"}
    kinds = [cp["kind"] for cp in data["critical_points"]]
    assert kinds == ["global", "spurious"]
    for cp in data["critical_points"]:
        assert set(cp) >= {"kind", "loss", "v", "a", "verdict", "grad_norm"}
        assert cp["grad_norm"] < 1e-12
    assert data["critical_points"][0]["loss"] == pytest.approx(0, abs=1e-12)
    assert len(data["basin"]["outcomes"]["ssw"]) == 3


def test_landscape_table_and_out(tmp_path):
    target = tmp_path / "profile.csv"
    r = run_cli(*FAST_LAND, "--out", str(target))
    assert r.code == 0 and "critical points" in r.stdout and "basins of GD" in r.stdout
    assert target.read_text().splitlines()[0] == "phi,loss,a_dot_astar"


def test_plots_are_written(tmp_path):
    pytest.importorskip("matplotlib")
    train_png, land_png = tmp_path / "trace.png", tmp_path / "land.png"
    assert run_cli(*TRAIN, "--trials", "3", "--iterations", "500", "--plot", str(train_png)).code == 0
    assert run_cli(*FAST_LAND, "--plot", str(land_png)).code == 0
    for png in (train_png, land_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_module_entry_point_and_version():
    r = subprocess.run([sys.executable, "-m", "resnet_cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("resnet-cli ")
    r = subprocess.run([sys.executable, "-m", "resnet_cli", "train", "two-layer", "--k", "0"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
