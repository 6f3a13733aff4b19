"""success-rate: Wilson intervals, bookkeeping, determinism, statistical checks, CLI."""

import json

import pytest

from helpers import assert_one_line_error, run_cli
from resnet_cli.experiments import success_rate as sr
from resnet_cli.experiments.two_layer import TrainConfig


@pytest.mark.parametrize(
    "x,n,low,high",
    [(5, 10, 0.2366, 0.7634), (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (81, 263, 0.2553, 0.3662)],
)
def test_wilson_interval_known_values(x, n, low, high):
    got = sr.wilson_interval(x, n)
    assert got[0] == pytest.approx(low, abs=1e-4) and got[1] == pytest.approx(high, abs=1e-4)


def small(**kw):
    base = TrainConfig(stage2_iterations=6000)
    return sr.SuccessConfig(ps=[8], ks=[4], methods=["cnn", "resnet", "resnet-ssw", "resnet-layerwise"], trials=300, seed=0, base=base, **kw)


def test_counts_add_up_and_statistics():
    cells = sr.run(small())
    by = {c.method: c for c in cells}
    for c in cells:
        assert sum(c.counts.values()) == c.trials == 300
        assert c.ci_low <= c.rate <= c.ci_high
    # Measured with this seed (300 trials): cnn 0.643 [0.588, 0.695], resnet 0.843 [0.798, 0.880],
    # resnet-ssw 1.0 [0.987, 1], resnet-layerwise 1.0.
    assert 0.1 < by["cnn"].ci_low and by["cnn"].ci_high < 0.9
    assert by["resnet-ssw"].rate == 1.0 and by["resnet-layerwise"].rate == 1.0
    assert by["cnn"].ci_high < by["resnet"].ci_low  # the shortcut init helps, beyond the interval
    # Shared draws: a0 is the same for all methods, the ResNet starts at v0 = e.
    assert by["cnn"].share_a0_against == by["resnet"].share_a0_against


def test_parallel_equals_serial():
    cfg = sr.SuccessConfig(ps=[4, 8], ks=[3, 5], methods=["cnn", "resnet-ssw"], trials=40, seed=3, base=TrainConfig(stage2_iterations=2000))
    serial, parallel = sr.run(cfg, jobs=1), sr.run(cfg, jobs=2)
    assert [(c.p, c.k, c.method, c.counts) for c in serial] == [(c.p, c.k, c.method, c.counts) for c in parallel]


def test_cli_json_cells():
    r = run_cli("success-rate", "--k", "4,5", "--trials", "50", "--methods", "cnn,resnet-ssw", "--stage2-iterations", "3000", "--json", "--jobs", "1")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["cells"]) == 4
    for cell in data["cells"]:
        assert set(cell) >= {"p", "k", "method", "trials", "global", "spurious", "undecided", "diverged", "rate", "ci_low", "ci_high"}
        assert cell["global"] + cell["spurious"] + cell["undecided"] + cell["diverged"] == 50
    assert data["config"]["seed"] == 0 and data["config"]["methods"] == ["cnn", "resnet-ssw"]


def test_cli_table_csv_plot_and_preset(tmp_path):
    out, png = tmp_path / "r.csv", tmp_path / "r.png"
    r = run_cli("success-rate", "--config", "liu2019-success", "--k", "4", "--trials", "30", "--stage2-iterations", "2000",
                "--out", str(out), "--plot", str(png), "--jobs", "1")
    assert r.code == 0, r.stderr
    assert "resnet-ssw" in r.stdout and "Wilson" in r.stdout
    lines = out.read_text().splitlines()
    assert lines[0].startswith("p,k,method,trials,global,spurious,undecided,diverged,rate,ci_low,ci_high")
    assert len(lines) == 1 + 3  # the preset's three methods at k = 4
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.png"]


def test_same_seed_same_json():
    args = ("success-rate", "--k", "4", "--trials", "30", "--stage2-iterations", "2000", "--json", "--seed", "5")
    assert run_cli(*args).stdout == run_cli(*args).stdout


@pytest.mark.parametrize(
    "args",
    [("--k", ""), ("--k", "0"), ("--k", "4,0"), ("--trials", "0"), ("--methods", "cnn,vgg"), ("--methods", ""),
     ("--p", "1"), ("--k", "a:b"), ("--jobs", "0"), ("--eta-a", "-1")],
)
def test_bad_input_exits_2(args):
    assert_one_line_error(run_cli("success-rate", *args))


def test_help_lists_every_option():
    text = run_cli("success-rate", "--help").stdout.replace("\n", " ")
    for option in ("--p", "--k", "--methods", "--trials", "--jobs", "--iterations", "--stage1-iterations", "--seed",
                   "--config", "--out", "--json", "--plot", "--quiet", "--teacher-v", "--teacher-a", "--eta", "--spurious-tol"):
        assert option in text, option
