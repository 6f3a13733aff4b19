"""`resnet-cli depth-sweep`: table, JSON rows, outputs, presets, reproducibility, one-line errors."""

import csv
import json

import pytest

SMALL_TRAIN = ("--measure", "final-loss", "--depth", "2,4", "--trials", "2", "--steps", "15",
               "--lr", "0.1,1,1000")


def flat(text):
    """The output with rich's line wrapping undone (80 columns when not a terminal)."""
    return " ".join(text.split())


@pytest.fixture
def js(cli):
    def run(*args):
        r = cli("depth-sweep", *args, "--json", "--quiet")
        assert r.code == 0, r.stderr
        return json.loads(r.stdout)

    return run


def test_init_cond_table_states_method_and_degenerate_cells(cli, js, one_line_error):
    r = cli("depth-sweep", "--depth", "2,3,4", "--trials", "2", "--exact-max-params", "300", "--quiet",
                "--jobs", "1")
    assert r.code == 0, r.stderr
    out = flat(r.stdout)
    assert "Fig. 5" in out and "cond10" in out
    assert "exact (eigvalsh) up to 300 parameters" in out and "stochastic Lanczos quadrature" in out
    assert "H = 0" in out and "degenerate" in out  # 3-shortcut at depth 3
    assert "n/a" in out  # 2-shortcut at depth 3
    assert "≈" in out  # depth 4 (400 parameters) by SLQ
    assert "Theorem 1" in out
    assert "nan" not in out.lower()


def test_init_cond_json_rows(cli, js, one_line_error):
    p = js("--depth", "2,4", "--network", "2-shortcut,3-shortcut,xavier", "--trials", "2", "--jobs", "1")
    assert p["measure"] == "init-cond" and p["quantity"] == "cond10" and "exact" in p["spectrum"]
    rows = {(r["network"], r["depth"]): r for r in p["rows"]}
    for row in p["rows"]:
        for key in ("depth", "network", "measure", "mean", "std", "status", "spectrum"):
            assert key in row
    assert rows[("2-shortcut", 2)]["mean"] == pytest.approx(rows[("2-shortcut", 4)]["mean"], rel=1e-8)
    assert rows[("2-shortcut", 2)]["theory_cond10"] == pytest.approx(rows[("2-shortcut", 2)]["mean"], rel=1e-10)
    assert rows[("3-shortcut", 2)]["status"] == "not-applicable" and rows[("3-shortcut", 2)]["mean"] is None
    assert rows[("xavier", 4)]["trials"] == 2 and rows[("xavier", 4)]["std"] > 0


def test_final_loss_table_json_and_diverged_rates(cli, js, one_line_error):
    r = cli("depth-sweep", *SMALL_TRAIN, "--network", "2-shortcut,orthogonal", "--quiet", "--jobs", "1", "--detail")
    assert r.code == 0, r.stderr
    assert "best learning rate" in r.stdout and "diverged" in r.stdout and "Fig. 9" in flat(r.stdout)
    p = js(*SMALL_TRAIN, "--network", "2-shortcut,orthogonal", "--jobs", "1")
    assert p["quantity"] == "final loss − L_min"
    for row in p["rows"]:
        assert {"depth", "network", "measure", "mean", "std", "best_lr"} <= set(row)
        assert row["measure"] == "final-loss" and row["best_lr"] in (0.1, 1.0)
        assert row["diverged_lrs"] == 1 and row["mean"] >= 0
    for cell in p["cells"]:
        assert cell["grid"][-1]["diverged_trials"] == 2 and cell["grid"][-1]["mean"] is None


def test_the_footer_says_which_cells_hold_one_trial(cli, js, one_line_error):
    """Cells that start at w = 0 (the shortcut networks with --init zero) hold one run, not --trials."""
    args = (*SMALL_TRAIN, "--network", "2-shortcut,orthogonal", "--init", "zero", "--quiet", "--jobs", "1")
    r = cli("depth-sweep", *args)
    assert r.code == 0, r.stderr
    assert "1 at w = 0: 2-shortcut" in flat(r.stdout) and "orthogonal" not in flat(r.stdout).split("1 at w = 0:")[1]
    assert {row["network"]: row["trials"] for row in js(*args)["rows"]}["2-shortcut"] == 1


def test_relu_mid_reports_final_loss_and_flags_omitted_kinds(cli, js, one_line_error):
    p = js("--measure", "final-loss", "--act-mid", "relu", "--depth", "2", "--network", "2-shortcut,1-shortcut",
           "--samples", "120", "--trials", "1", "--steps", "5", "--lr", "0.1", "--jobs", "1")
    assert p["quantity"] == "final loss"
    assert any("omits 1- and 3-shortcut" in n for n in p["notes"])
    assert all(r["status"] == "ok" for r in p["rows"])


def test_same_seed_same_output_any_jobs_and_seed_matters(cli, js, one_line_error):
    args = ("--depth", "2,4", "--network", "xavier,orthogonal,2-shortcut", "--trials", "2")
    one = cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "1")
    two = cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "2")
    assert one.code == 0 and two.code == 0
    # every cell runs BLAS on one thread, in this process and in workers: the JSON is the same, bitwise
    assert two.stdout == one.stdout
    again = cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "1")
    assert again.stdout == one.stdout
    other = cli("depth-sweep", *args, "--json", "--quiet", "--jobs", "1", "--seed", "1")
    assert json.loads(other.stdout)["rows"] != json.loads(one.stdout)["rows"]


def test_outputs_and_plots(tmp_path, cli, js, one_line_error):
    out_json, out_csv = tmp_path / "s.json", tmp_path / "s.csv"
    fig1, fig2 = tmp_path / "cond.png", tmp_path / "loss.png"
    r = cli("depth-sweep", "--depth", "2,3,4", "--trials", "2", "--out", str(out_json), "--plot", str(fig1),
                "--quiet", "--jobs", "1")
    assert r.code == 0, r.stderr
    assert json.loads(out_json.read_text())["command"] == "depth-sweep"
    assert fig1.stat().st_size > 5000
    r = cli("depth-sweep", *SMALL_TRAIN, "--network", "2-shortcut,xavier", "--out", str(out_csv),
                "--plot", str(fig2), "--quiet", "--jobs", "1")
    assert r.code == 0, r.stderr
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 4 and {"depth", "network", "mean", "std", "best_lr"} <= set(rows[0])
    assert fig2.stat().st_size > 5000


def test_presets_and_flags_over_them(cli, js, one_line_error):
    p = js("--config", "li2017-fig9", "--depth", "6", "--network", "2-shortcut", "--trials", "1", "--steps", "3")
    cfg = p["config"]
    assert cfg["measure"] == "final-loss" and len(cfg["lr"]) == 10 and cfg["steps"] == 3
    assert cfg["lr"][0] == pytest.approx(1e-4) and cfg["lr"][-1] == pytest.approx(10**0.5)
    p = js("--config", "li2017-fig10", "--depth", "4", "--network", "2-shortcut", "--steps", "2", "--lr", "0.1")
    assert p["config"]["act_mid"] == "relu" and p["data"]["samples"] == 500 and p["config"]["trials"] == 3
    p = js("--config", "li2017-fig5", "--depth", "2", "--network", "2-shortcut")
    assert p["config"]["exact_max_params"] == 6400 and p["config"]["trials"] == 10


def test_gaussian_data_slq_options_and_shortcut_init(cli, js, one_line_error):
    p = js("--data", "gaussian", "--samples", "300", "--dim", "4", "--depth", "4", "--network", "1-shortcut",
           "--spectrum", "slq", "--lanczos-steps", "30", "--lanczos-probes", "3", "--init", "small", "--trials", "2")
    row = p["rows"][0]
    assert p["data"]["dim"] == 4 and row["spectrum"] == "slq" and row["init"] == "small" and row["trials"] == 2
    assert p["config"]["lanczos_steps"] == 30 and p["config"]["lanczos_probes"] == 3


def test_help_lists_every_option(cli, js, one_line_error):
    r = cli("depth-sweep", "--help")
    assert r.code == 0
    for option in ("--depth", "--network", "--measure", "--act-mid", "--data", "--samples", "--dim", "--trials",
                   "--init", "--steps", "--lr", "--spectrum", "--exact-max-params", "--lanczos-steps",
                   "--lanczos-probes", "--jobs", "--config", "--seed", "--out", "--json", "--plot", "--quiet"):
        assert option in r.stdout, option


@pytest.mark.parametrize("args", [
    ("--depth", "0"),
    ("--depth", "2,x"),
    ("--depth", ""),
    ("--lr", ""),
    ("--lr", "0.1,-1"),
    ("--lr", "logspace:a:b:3"),
    ("--network", "resnet"),
    ("--network", "2-shortcut,2-shortcut"),
    ("--measure", "loss"),
    ("--act-mid", "sigmoid"),
    ("--trials", "0"),
    ("--steps", "0", "--measure", "final-loss"),
    ("--jobs", "0"),
    ("--spectrum", "power"),
    ("--exact-max-params", "0"),
    ("--init", "xavier"),
    ("--depth", "3", "--network", "2-shortcut"),
    ("--depth", "1024", "--network", "xavier", "--spectrum", "exact"),  # 102,400 parameters, dense
    ("--data", "mnist:/no/such/file.npz"),
    ("--data", "cifar"),
    ("--out", "result.txt"),
    ("--plot", "/no/such/folder/x.png"),
    ("--config", "no-such-preset"),
    ("--seed", "abc"),
])
def test_bad_input_one_line(args, cli, js, one_line_error):
    one_line_error(cli("depth-sweep", *args, "--quiet"))


def test_unknown_preset_key_one_line(tmp_path, cli, js, one_line_error):
    bad = tmp_path / "bad.toml"
    bad.write_text('[depth-sweep]\ndepth = [2]\nlearning-rate = 0.1\n')
    one_line_error(cli("depth-sweep", "--config", str(bad), "--quiet"))


def test_old_spellings_still_work_with_a_notice(cli):
    old = cli("depth-sweep", "--depths", "2", "--networks", "xavier", "--runs", "2", "--jobs", "1", "--json", "--quiet")
    new = cli("depth-sweep", "--depth", "2", "--network", "xavier", "--trials", "2", "--jobs", "1", "--json", "--quiet")
    assert old.code == 0 and old.stdout == new.stdout
    assert "use --depth" in old.stderr and "use --network" in old.stderr and "use --trials" in old.stderr
