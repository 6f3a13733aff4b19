"""`landscape deep-resnet` (Yun et al. 2019): the command-line contract (flags, outputs, errors, presets)."""

import csv
import json

import pytest

QUICK = ("landscape", "deep-resnet", "--trials", "3", "--steps", "400", "--quiet")


def test_json_rows_and_determinism(cli):
    r1 = cli(*QUICK, "--compare", "fc", "--json", "--seed", "5")
    assert r1.code == 0, r1.stderr
    payload = json.loads(r1.stdout)
    assert [row["network"] for row in payload["rows"]] == ["resnet", "fc"]
    for row in payload["rows"]:
        for key in ("network", "points", "share_at_least_linear", "share_strict_saddle", "counterexamples"):
            assert key in row
    assert payload["linear_risk"] == pytest.approx(8 * 0.25 / 15)
    assert len(payload["points"]) == 6
    r2 = cli(*QUICK, "--compare", "fc", "--json", "--seed", "5")
    assert r2.stdout == r1.stdout
    r3 = cli(*QUICK, "--compare", "fc", "--json", "--seed", "6")
    assert r3.stdout != r1.stdout


def test_table_output_and_per_block_table(cli):
    r = cli(*QUICK, "--data", "yun-example2", "--blocks", "2", "--seed", "1")
    assert r.code == 0, r.stderr
    assert "best linear predictor" in r.stdout and "Per-block risk" in r.stdout
    assert r.stderr == ""  # --quiet: no progress


def test_depth_sweep_near_identity_and_options(cli, tmp_path):
    out = tmp_path / "sweep.csv"
    r = cli("landscape", "deep-resnet", "--data", "gaussian", "--samples", "12", "--dim", "2",
                "--blocks", "1,2", "--width", "3", "--hidden", "2", "--init", "near-identity",
                "--init-scale", "0.2", "--compare", "fc", "--fc-width", "2", "--trials", "2", "--steps", "200",
                "--lr", "0.05", "--grad-tol", "1e-4", "--gap-tol", "1e-3", "--eig-tol", "1e-4", "--no-bias",
                "--out", str(out), "--quiet")
    assert r.code == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert [(row["network"], row["blocks"]) for row in rows] == [("resnet", "1"), ("fc", "1"), ("resnet", "2"),
                                                                  ("fc", "2")]
    assert rows[1]["width"] == "2" and rows[0]["width"] == "3"


def test_rho_changes_example1_and_out_json(cli, tmp_path):
    out = tmp_path / "r.json"
    r = cli(*QUICK, "--rho", "0.1", "--out", str(out))
    assert r.code == 0, r.stderr
    payload = json.loads(out.read_text())
    assert payload["linear_risk"] == pytest.approx(8 * 0.01 / 15)
    assert payload["data"]["rho"] == 0.1


def test_plot_is_written(cli, tmp_path):
    pytest.importorskip("matplotlib")
    for extra in (("--compare", "fc"), ("--data", "yun-example2", "--blocks", "2"), ("--blocks", "1,2")):
        target = tmp_path / f"p{len(extra)}{extra[-1].replace(',', '')}.png"
        r = cli(*QUICK, *extra, "--plot", str(target))
        assert r.code == 0, r.stderr
        assert target.stat().st_size > 1000


def test_config_file(cli, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[landscape-deep-resnet]\ntrials = 2\nsteps = 100\ncompare = "fc"\nblocks = [1]\n')
    r = cli("landscape", "deep-resnet", "--config", str(cfg), "--json", "--quiet")
    assert r.code == 0, r.stderr
    payload = json.loads(r.stdout)
    assert payload["config"]["trials"] == 2 and len(payload["rows"]) == 2


def test_digits_data(cli):
    r = cli(*QUICK, "--data", "digits", "--samples", "40", "--hidden", "1", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)["data"]
    assert (data["d_in"], data["d_out"], data["samples"]) == (10, 10, 40)


@pytest.mark.parametrize(
    "args",
    [
        ("--data", "mnist"),
        ("--blocks", "0"),
        ("--blocks", "x"),
        ("--hidden", "0"),
        ("--width", "0"),
        ("--data", "gaussian", "--dim", "3", "--width", "2"),
        ("--compare", "cnn"),
        ("--fc-width", "0"),
        ("--trials", "0"),
        ("--steps", "0"),
        ("--lr", "-1"),
        ("--grad-tol", "0"),
        ("--gap-tol", "-1"),
        ("--eig-tol", "nan"),
        ("--init", "zero"),
        ("--init-scale", "0"),
        ("--rho", "0"),
        ("--samples", "1"),
        ("--dim", "0"),
        ("--out", "x.txt"),
        ("--plot", "x.gif"),
        ("--bogus", "1"),
        ("--data", "gaussian", "--dim", "50", "--hidden", "100"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, one_line_error, args):
    one_line_error(cli("landscape", "deep-resnet", *args))


def test_bad_config_key(cli, one_line_error, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("nonsense = 3\n")
    one_line_error(cli("landscape", "deep-resnet", "--config", str(cfg)))


def test_help_lists_every_option(cli):
    r = cli("landscape", "deep-resnet", "--help")
    assert r.code == 0
    for opt in ("--data", "--rho", "--samples", "--dim", "--blocks", "--width", "--hidden", "--bias", "--no-bias",
                "--compare", "--fc-width", "--trials", "--steps", "--lr", "--grad-tol", "--gap-tol", "--eig-tol",
                "--init", "--init-scale", "--config", "--seed", "--out", "--json", "--plot", "--quiet"):
        assert opt in r.stdout, opt


@pytest.mark.parametrize("preset,rows", [("yun2019-example1", 2), ("yun2019-example2", 1),
                                         ("yun2019-near-identity", 8)])
def test_presets(cli, preset, rows):
    r = cli("landscape", "deep-resnet", "--config", preset, "--trials", "1", "--steps", "20", "--json", "--quiet")
    assert r.code == 0, r.stderr
    assert len(json.loads(r.stdout)["rows"]) == rows


def test_old_spelling_inits_still_works_with_a_notice(cli):
    r = cli("landscape", "deep-resnet", "--inits", "2", "--steps", "50", "--json", "--quiet")
    assert r.code == 0, r.stderr
    assert "--inits is deprecated" in r.stderr and "--trials" in r.stderr
    assert json.loads(r.stdout)["config"]["trials"] == 2


def test_tables_fit_80_columns(cli, monkeypatch):
    from resnet_cli.report import console

    monkeypatch.setattr(console, "width", 80)
    for extra in (("--compare", "fc", "--blocks", "1,2"), ("--data", "yun-example2", "--blocks", "4")):
        r = cli(*QUICK, *extra)
        assert r.code == 0, r.stderr
        assert max(len(line) for line in r.stdout.splitlines()) <= 80
        assert "…" not in r.stdout  # no cut header or number


def test_risks_below_the_tolerance_print_as_below_tol(cli):
    r = cli(*QUICK, "--data", "yun-example2", "--blocks", "2", "--trials", "6", "--steps", "3000", "--seed", "1")
    assert r.code == 0, r.stderr
    assert "< tol" in r.stdout and "e-1" not in r.stdout  # no 1e-13 noise
