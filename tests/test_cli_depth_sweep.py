"""`resnet-cli depth-sweep`: table, JSON rows, outputs, presets, reproducibility, one-line errors."""

import csv
import json

import pytest

from helpers import assert_one_line_error, run_cli

SMALL_TRAIN = ("--measure", "final-loss", "--depths", "2,4", "--runs", "2", "--epochs", "15",
               "--lrs", "0.1,1,1000")


def flat(text):
    """The output with rich's line wrapping undone (80 columns when not a terminal)."""
    return " ".join(text.split())


def js(*args):
    r = run_cli("depth-sweep", *args, "--json", "--quiet")
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def test_init_cond_table_states_method_and_degenerate_cells():
    r = run_cli("depth-sweep", "--depths", "2,3,4", "--runs", "2", "--exact-max-params", "300", "--quiet",
                "--jobs", "1")
    assert r.code == 0, r.stderr
    out = flat(r.stdout)
    assert "Fig. 5" in out and "cond10" in out
    assert "exact (eigvalsh) up to 300 parameters" in out and "stochastic Lanczos quadrature" in out
    assert "H = 0" in out and "degenerate" in out  # 3-shortcut at depth 3
    assert "n/a" in out  # 2-shortcut at depth 3
    assert "≈" in out  # depth 4 (400 parameters) by SLQ
    assert "Thm 1" in out
    assert "nan" not in out.lower()


def test_init_cond_json_rows():
    p = js("--depths", "2,4", "--networks", "2-shortcut,3-shortcut,xavier", "--runs", "2", "--jobs", "1")
    assert p["measure"] == "init-cond" and p["quantity"] == "cond10" and "exact" in p["method"]
    rows = {(r["network"], r["depth"]): r for r in p["rows"]}
    for row in p["rows"]:
        for key in ("depth", "network", "measure", "mean", "std", "status", "method"):
            assert key in row
    assert rows[("2-shortcut", 2)]["mean"] == pytest.approx(rows[("2-shortcut", 4)]["mean"], rel=1e-8)
    assert rows[("2-shortcut", 2)]["theory_cond10"] == pytest.approx(rows[("2-shortcut", 2)]["mean"], rel=1e-10)
    assert rows[("3-shortcut", 2)]["status"] == "not-applicable" and rows[("3-shortcut", 2)]["mean"] is None
    assert rows[("xavier", 4)]["runs"] == 2 and rows[("xavier", 4)]["std"] > 0


def test_final_loss_table_json_and_diverged_rates():
    r = run_cli("depth-sweep", *SMALL_TRAIN, "--networks", "2-shortcut,orthogonal", "--quiet", "--jobs", "1")
    assert r.code == 0, r.stderr
    assert "best lr" in r.stdout and "diverged" in r.stdout and "Fig. 9" in flat(r.stdout)
    p = js(*SMALL_TRAIN, "--networks", "2-shortcut,orthogonal", "--jobs", "1")
    assert p["quantity"] == "final loss − L_min"
    for row in p["rows"]:
        assert {"depth", "network", "measure", "mean", "std", "best_lr"} <= set(row)
        assert row["measure"] == "final-loss" and row["best_lr"] in (0.1, 1.0)
        assert row["diverged_lrs"] == 1 and row["mean"] >= 0
    for cell in p["cells"]:
        assert cell["grid"][-1]["diverged_runs"] == 2 and cell["grid"][-1]["mean"] is None


def test_relu_mid_reports_final_loss_and_flags_omitted_kinds():
    p = js("--measure", "final-loss", "--act-mid", "relu", "--depths", "2", "--networks", "2-shortcut,1-shortcut",
           "--samples", "120", "--runs", "1", "--epochs", "5", "--lrs", "0.1", "--jobs", "1")
    assert p["quantity"] == "final loss"
    assert any("omits 1- and 3-shortcut" in n for n in p["notes"])
    assert all(r["status"] == "ok" for r in p["rows"])


def test_same_seed_same_output_any_jobs_and_seed_matters():
    args = ("--depths", "2,4", "--networks", "xavier,orthogonal,2-shortcut", "--runs", "2")
    one = run_cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "1")
    two = run_cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "2")
    assert one.code == 0 and two.code == 0
    # cells in worker processes (BLAS on one thread) equal the in-process ones up to BLAS rounding
    rows1, rows2 = json.loads(one.stdout)["rows"], json.loads(two.stdout)["rows"]
    assert [(r["network"], r["depth"], r["status"]) for r in rows1] == [(r["network"], r["depth"], r["status"]) for r in rows2]
    for a, b in zip(rows1, rows2):
        assert a["mean"] == pytest.approx(b["mean"], rel=1e-12) and a["std"] == pytest.approx(b["std"], rel=1e-9, abs=1e-12)
    again = run_cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "1")
    assert again.stdout == one.stdout
    other = run_cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "1", "--seed", "1")
    assert json.loads(other.stdout)["rows"] != json.loads(one.stdout)["rows"]


def test_outputs_and_plots(tmp_path):
    out_json, out_csv = tmp_path / "s.json", tmp_path / "s.csv"
    fig1, fig2 = tmp_path / "cond.png", tmp_path / "loss.png"
    r = run_cli("depth-sweep", "--depths", "2,3,4", "--runs", "2", "--out", str(out_json), "--plot", str(fig1),
                "--quiet", "--jobs", "1")
    assert r.code == 0, r.stderr
    assert json.loads(out_json.read_text())["command"] == "depth-sweep"
    assert fig1.stat().st_size > 5000
    r = run_cli("depth-sweep", *SMALL_TRAIN, "--networks", "2-shortcut,xavier", "--out", str(out_csv),
                "--plot", str(fig2), "--quiet", "--jobs", "1")
    assert r.code == 0, r.stderr
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 4 and {"depth", "network", "mean", "std", "best_lr"} <= set(rows[0])
    assert fig2.stat().st_size > 5000


def test_presets_and_flags_over_them():
    p = js("--config", "li2017-fig9", "--depths", "6", "--networks", "2-shortcut", "--runs", "1", "--epochs", "3")
    cfg = p["config"]
    assert cfg["measure"] == "final-loss" and len(cfg["lrs"]) == 10 and cfg["epochs"] == 3
    assert cfg["lrs"][0] == pytest.approx(1e-4) and cfg["lrs"][-1] == pytest.approx(10**0.5)
    p = js("--config", "li2017-fig10", "--depths", "4", "--networks", "2-shortcut", "--epochs", "2", "--lrs", "0.1")
    assert p["config"]["act_mid"] == "relu" and p["data"]["samples"] == 500 and p["config"]["runs"] == 3
    p = js("--config", "li2017-fig5", "--depths", "2", "--networks", "2-shortcut")
    assert p["config"]["exact_max_params"] == 6400 and p["config"]["runs"] == 10


def test_gaussian_data_slq_options_and_shortcut_init():
    p = js("--data", "gaussian", "--samples", "300", "--dim", "4", "--depths", "4", "--networks", "1-shortcut",
           "--method", "slq", "--lanczos-steps", "30", "--probes", "3", "--shortcut-init", "small", "--runs", "2")
    row = p["rows"][0]
    assert p["data"]["dim"] == 4 and row["method"] == "slq" and row["init"] == "small" and row["runs"] == 2
    assert p["config"]["lanczos_steps"] == 30 and p["config"]["probes"] == 3


def test_help_lists_every_option():
    r = run_cli("depth-sweep", "--help")
    assert r.code == 0
    for option in ("--depths", "--networks", "--measure", "--act-mid", "--data", "--samples", "--dim", "--runs",
                   "--shortcut-init", "--epochs", "--lrs", "--method", "--exact-max-params", "--lanczos-steps",
                   "--probes", "--jobs", "--config", "--seed", "--out", "--json", "--plot", "--quiet"):
        assert option in r.stdout, option


@pytest.mark.parametrize("args", [
    ("--depths", "0"),
    ("--depths", "2,x"),
    ("--depths", ""),
    ("--lrs", ""),
    ("--lrs", "0.1,-1"),
    ("--lrs", "logspace:a:b:3"),
    ("--networks", "resnet"),
    ("--networks", "2-shortcut,2-shortcut"),
    ("--measure", "loss"),
    ("--act-mid", "sigmoid"),
    ("--runs", "0"),
    ("--epochs", "0", "--measure", "final-loss"),
    ("--jobs", "0"),
    ("--method", "power"),
    ("--exact-max-params", "0"),
    ("--shortcut-init", "xavier"),
    ("--depths", "3", "--networks", "2-shortcut"),
    ("--depths", "128", "--networks", "2-shortcut", "--method", "exact"),
    ("--data", "mnist:/no/such/file.npz"),
    ("--data", "cifar"),
    ("--out", "result.txt"),
    ("--plot", "/no/such/folder/x.png"),
    ("--config", "no-such-preset"),
    ("--seed", "abc"),
])
def test_bad_input_one_line(args):
    assert_one_line_error(run_cli("depth-sweep", *args, "--quiet"))


def test_unknown_preset_key_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[depth-sweep]\ndepths = [2]\nlearning-rate = 0.1\n')
    assert_one_line_error(run_cli("depth-sweep", "--config", str(bad), "--quiet"))
