"""CLI of the sample/SGD/stride options (docs/train.md) on `train two-layer` and `success-rate`: help, JSON, tables at 80 columns, errors."""

import json

import pytest

TRAIN = ("train", "two-layer")
NEW = ["--samples", "--batch", "--online", "--label-noise", "--stride", "--inputs", "--theorem-m", "--theorem-big-m"]


@pytest.mark.parametrize("cmd,extra", [(TRAIN, ["--delta"]), (("success-rate",), [])])
def test_help_lists_the_new_options(help_text, cmd, extra):
    text = help_text(*cmd)
    for option in NEW + extra:
        assert option in text, option
    assert "plane reduction does not hold" in text  # --stride says which engine runs
    assert "large-both" in text


def test_train_with_sgd_json_and_tables(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    args = (*TRAIN, "--trials", "3", "--samples", "200", "--batch", "8", "--steps", "600", "--theorem-m", "0.1",
            "--theorem-big-m", "1.1", "--theorem-all", "--detail")  # samples: outside Theorem 1's hypotheses
    data = json.loads(cli(*args, "--json").stdout)
    # two programs: the run and (--theorem-all) the same trials on Theorem 1's own steps
    assert data["config"]["data"] == "SGD, N = 200, B = 8" and data["config"]["work"]["trial_sample_steps"] == 2 * 3 * 8 * 600
    t = data["runs"][0]["theorems"]
    assert set(t) == {"output1_held", "first_failure", "phi_max", "a_dot_min_rel", "a_dot_max_rel", "c1", "c2"}
    r = cli(*args)
    assert r.code == 0, r.stderr
    assert "gradients: SGD, N = 200, B = 8" in r.stdout and "Theorem 1, output (1)" in r.stdout
    assert "C1 stage I" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80


def test_success_rate_all_methods_online_fit_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    methods = "cnn-large-w,cnn-large-both,resnet-large-w,resnet-large-both,resnet-ssw,resnet-layerwise"
    r = cli("success-rate", "--k", "4", "--trials", "8", "--steps", "400", "--method", methods, "--online",
            "--batch", "2", "--inputs", "rademacher", "--jobs", "1", "--detail", "--theorem-all")
    assert r.code == 0, r.stderr
    assert "online SGD, B = 2, rademacher inputs" in r.stdout and "Theorem 1, output (1) on [T1, T]" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    for method in methods.split(","):
        assert method in r.stdout


def test_stride_runs_from_the_command_line(cli):
    r = cli(*TRAIN, "--k", "3", "--stride", "3", "--steps", "300", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["config"]["data"] == "population, stride 3" and data["runs"][0]["theorems"]["c1"] is None


@pytest.mark.parametrize(
    "cmd,args,flag",
    [
        (TRAIN, ("--batch", "4"), "--batch 4: needs --samples"),
        (TRAIN, ("--samples", "0"), "--samples 0"),
        (TRAIN, ("--stride", "9"), "--stride 9"),
        (TRAIN, ("--inputs", "uniform"), "--inputs uniform"),
        (TRAIN, ("--online", "--samples", "5"), "--online"),
        (TRAIN, ("--theorem-m", "3"), "--theorem-m 3"),
        (("success-rate",), ("--label-noise", "0.5"), "--label-noise 0.5"),
        (("success-rate",), ("--method", "resnet-large"), "--method"),
    ],
)
def test_bad_input_is_one_line(cli, one_line_error, cmd, args, flag):
    assert flag in one_line_error(cli(*cmd, *args))


def test_landscape_basins_train_on_samples(cli):
    args = ("landscape", "two-layer", "--steps", "300", "--basin-phi", "3", "--basin-a", "2", "--probes", "50",
            "--samples", "100", "--batch", "5", "--json")
    data = json.loads(cli(*args).stdout)
    assert data["config"]["data"] == "SGD, N = 100, B = 5"
    assert len(data["basin"]["outcomes"]["ssw"]) == 3
    population = json.loads(cli(*args[:-5], "--json").stdout)
    assert population["critical_points"] == data["critical_points"]  # population objects, same teacher


@pytest.mark.parametrize("args", [
    ["train", "two-layer", "--stage2-steps", "200", "--trials", "2", "--noise", "1e300"],  # KeyError: 'phi'
    ["train", "two-layer", "--stage2-steps", "200", "--trials", "1", "--lr-a", "1e160"],  # OverflowError
    ["success-rate", "--trials", "10", "--k", "4", "--method", "resnet-ssw", "--lr-a", "1e300"],  # OverflowError
    ["train", "two-layer", "--trials", "2", "--k", "2", "--p", "2", "--stage2-steps", "100", "--flow", "--schedule",
     "large-both", "--lr", "1e300"],  # KeyError: 'loss' (a flow that recorded nothing)
])
def test_extreme_step_sizes_and_noise_are_results(cli, args):
    """Each of these ended in 'internal error' (a third review round); divergence is a result."""
    r = cli(*args, "--quiet")
    assert r.code == 0, r.stderr
    assert "diverged" in r.stdout or "0.000 (" in r.stdout
