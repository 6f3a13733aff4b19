"""CLI of `train two-layer` and `landscape two-layer`: options, JSON, bad input, atomic outputs, seeds, plots."""

import json
import subprocess
import sys

import pytest

TRAIN = ("train", "two-layer")
LAND = ("landscape", "two-layer")
FAST_LAND = (*LAND, "--steps", "300", "--basin-phi", "3", "--basin-a", "2", "--probes", "200")

SHARED = [
    "--p", "--k", "--teacher-v", "--teacher-a", "--prior-angle", "--lr-a", "--lr-w", "--lr", "--c-lr-w",
    "--stage1-steps", "--steps", "--stage2-steps", "--phi-tol", "--a-tol", "--spurious-tol", "--seed", "--config",
    "--out", "--json", "--plot", "--quiet",
]
TRAIN_OPTIONS = [*SHARED, "--student", "--schedule", "--trials", "--same-teacher", "--trace-every"]
LAND_OPTIONS = [*SHARED, "--profile-points", "--basin-phi", "--basin-a", "--schedule", "--probes", "--probe-radius"]


@pytest.mark.parametrize("cmd,options", [(TRAIN, TRAIN_OPTIONS), (LAND, LAND_OPTIONS)])
def test_every_option_in_help(cli, cmd, options):
    r = cli(*cmd, "--help")
    assert r.code == 0
    text = r.stdout.replace("\n", " ")
    for option in options:
        assert option in text, option
    assert "--eta" not in text and "--iterations" not in text


def test_train_json_has_config_and_runs(cli):
    r = cli(*TRAIN, "--k", "4", "--trials", "3", "--seed", "2", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["config"]["seed"] == 2 and data["config"]["k"] == 4 and data["config"]["schedule"] == "ssw"
    assert data["config"]["teacher_v"] == "prior"
    assert len(data["runs"]) == 3
    for run in data["runs"]:
        assert run["outcome"] in ("global", "spurious", "undecided", "diverged")
        assert set(run["final"]) >= {"loss", "phi", "a_dot_astar"}
        assert set(run) >= {"steps", "lr_a", "lr_w", "stage1_lr_w", "lr"}
    assert sum(data["counts"].values()) == 3


def test_train_table_fits_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli(*TRAIN, "--k", "4", "--steps", "500", "--trials", "3")
    assert r.code == 0
    assert "trace: median over 3 trials" in r.stdout and "outcomes: global 3" in r.stdout and "aᵀa*" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_old_spellings_still_work_with_a_notice(cli):
    old = cli(*TRAIN, "--k", "3", "--iterations", "300", "--eta-a", "0.01", "--c-eta-w", "2", "--json")
    new = cli(*TRAIN, "--k", "3", "--steps", "300", "--lr-a", "0.01", "--c-lr-w", "2", "--json")
    assert old.code == 0 and old.stdout == new.stdout
    for flag, replacement in (("--iterations", "--steps"), ("--eta-a", "--lr-a"), ("--c-eta-w", "--c-lr-w")):
        assert f"note: {flag} is deprecated" in old.stderr and f"use {replacement}" in old.stderr
    land = cli(*FAST_LAND, "--schedules", "ssw", "--stage2-iterations", "100", "--json")
    assert land.code == 0 and "use --schedule" in land.stderr and "use --stage2-steps" in land.stderr


def test_same_seed_same_json(cli):
    args = (*TRAIN, "--student", "cnn", "--schedule", "large-w", "--trials", "4", "--seed", "9", "--json", "--steps", "2000")
    assert cli(*args).stdout == cli(*args).stdout
    land = (*FAST_LAND, "--seed", "3", "--json")
    assert cli(*land).stdout == cli(*land).stdout


def test_diverged_is_reported_not_raised(cli):
    r = cli(*TRAIN, "--lr", "50", "--json")
    assert r.code == 0
    assert json.loads(r.stdout)["runs"][0]["outcome"] == "diverged"


@pytest.mark.parametrize(
    "args,flag",
    [
        (("--k", "0"), "--k 0"),
        (("--p", "-1"), "--p -1"),
        (("--p", "1"), "--p 1"),
        (("--lr-a", "-1"), "--lr-a"),
        (("--lr", "0"), "--lr"),
        (("--student", "vgg"), "--student"),
        (("--schedule", "cosine"), "--schedule"),
        (("--teacher-a", "cauchy"), "--teacher-a"),
        (("--trials", "0"), "--trials 0"),
        (("--steps", "0"), "--steps 0"),
        (("--trace-every", "0"), "--trace-every 0"),
        (("--phi-tol", "2"), "--phi-tol"),
        (("--k", "x"), "--k"),
        (("--seed", "-1"), "--seed"),
        (("--out", "trace.txt"), "--out"),
        (("--plot", "trace.gif"), "--plot"),
    ],
)
def test_train_bad_input_exits_2_with_one_line(cli, one_line_error, args, flag):
    assert flag in one_line_error(cli(*TRAIN, *args))


@pytest.mark.parametrize("args", [("--k", "0"), ("--schedule", "ssw,bogus"), ("--basin-phi", "0"), ("--probes", "0")])
def test_landscape_bad_input(cli, one_line_error, args):
    assert args[0] in one_line_error(cli(*LAND, *args))


@pytest.mark.parametrize(
    "text",
    [
        "k = = 3\n",
        "bogus_key = 1\n",
        "k = \"four\"\n",
        "[train-two-layer]\nnope = 1\n",
        "lr_a = \"x\"\n",
        "steps = 2.5\n",
        "trace_every = true\n",
        "out = 3\n",
    ],
)
def test_bad_toml_exits_2(cli, one_line_error, tmp_path, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    one_line_error(cli(*TRAIN, "--config", str(cfg)))


def test_toml_config_applies_under_flags(cli, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train-two-layer]\nk = 5\nstudent = \"cnn\"\nsteps = 300\n")
    data = json.loads(cli(*TRAIN, "--config", str(cfg), "--k", "6", "--json").stdout)
    assert data["config"]["k"] == 6 and data["config"]["student"] == "cnn" and data["config"]["steps"] == 300


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_out_written_atomically(cli, tmp_path, suffix):
    target = tmp_path / f"trace{suffix}"
    r = cli(*TRAIN, "--trials", "2", "--steps", "400", "--trace-every", "100", "--out", str(target))
    assert r.code == 0, r.stderr
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    text = target.read_text()
    if suffix == ".csv":
        lines = text.splitlines()
        assert lines[0] == "trial,step,loss,phi,a_dot_astar,a_err"
        assert len(lines) == 1 + 2 * 5  # 2 trials × steps 0,100,200,300,400
    else:
        assert json.loads(text)["trace"]["step"] == [0, 100, 200, 300, 400]


def test_landscape_json_has_teacher_and_critical_points(cli):
    r = cli(*FAST_LAND, "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert set(data["teacher"]) >= {"v_star", "a_star"}
    kinds = [cp["kind"] for cp in data["critical_points"]]
    assert kinds == ["global", "spurious"]
    for cp in data["critical_points"]:
        assert set(cp) >= {"kind", "loss", "v", "w_resnet", "a", "verdict", "grad_norm"}
        assert cp["grad_norm"] < 1e-12
    assert data["critical_points"][0]["loss"] == pytest.approx(0, abs=1e-12)
    assert len(data["basin"]["outcomes"]["ssw"]) == 3
    assert data["config"]["schedule"] == ["ssw", "large-w"]


def test_landscape_table_and_out(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    target = tmp_path / "profile.csv"
    r = cli(*FAST_LAND, "--out", str(target))
    assert r.code == 0 and "critical points" in r.stdout and "basins of GD" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert target.read_text().splitlines()[0] == "phi,loss,a_dot_astar"


def test_plots_are_written(cli, tmp_path):
    pytest.importorskip("matplotlib")
    train_png, land_png = tmp_path / "trace.png", tmp_path / "land.png"
    assert cli(*TRAIN, "--trials", "3", "--steps", "500", "--plot", str(train_png)).code == 0
    assert cli(*FAST_LAND, "--plot", str(land_png)).code == 0
    for png in (train_png, land_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_module_entry_point_and_version():
    r = subprocess.run([sys.executable, "-m", "resnet_cli", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("resnet-cli ")
    r = subprocess.run([sys.executable, "-m", "resnet_cli", "train", "two-layer", "--k", "0"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_flow_says_why_theorem1_is_not_checked(cli):
    out = " ".join(cli("train", "two-layer", "--flow", "--stage2-steps", "100", "--trials", "2").stdout.split())
    assert "not checked on the gradient flow" in out and "no recorded step" not in out


def test_a_run_shorter_than_stage_one_says_stage_two_never_starts(cli):
    out = " ".join(cli("train", "two-layer", "--steps", "100", "--stage1-steps", "200").stdout.split())
    assert "stage II never starts (the run's 100 steps ≤ T1)" in out and "then η =" not in out


def test_a_run_without_stage_two_does_not_name_a_flag_not_given(cli):
    """--stage2-steps 0 said '(--steps 241 ≤ T1)': --steps was never given."""
    out = " ".join(cli("train", "two-layer", "--stage2-steps", "0").stdout.split())
    assert "stage II never starts (the run's 241 steps ≤ T1)" in out and "--steps" not in out.split("docs/")[0]
