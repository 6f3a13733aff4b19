"""CLI of `success-rate`: JSON cells, tables at 80 columns, CSV, figure, preset, seeds, errors, old flags."""

import json

import pytest

QUICK = ("success-rate", "--k", "4", "--trials", "30", "--stage2-steps", "2000", "--jobs", "1")


def test_cli_json_cells(cli):
    r = cli("success-rate", "--k", "4,5", "--trials", "50", "--method", "cnn-large-w,resnet-ssw", "--stage2-steps", "3000",
            "--json", "--jobs", "1")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["cells"]) == 4
    for cell in data["cells"]:
        assert set(cell) >= {"p", "k", "method", "trials", "global", "spurious", "undecided", "diverged", "rate",
                             "ci_low", "ci_high", "steps", "stage1_steps", "mean_steps_run"}
        assert cell["global"] + cell["spurious"] + cell["undecided"] + cell["diverged"] == 50
    assert data["config"]["seed"] == 0 and data["config"]["method"] == ["cnn-large-w", "resnet-ssw"]


def test_cli_tables_csv_plot_and_preset(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("COLUMNS", "80")
    out, png = tmp_path / "r.csv", tmp_path / "r.png"
    r = cli("success-rate", "--config", "liu2019-success", "--k", "4", "--trials", "30", "--stage2-steps", "2000",
            "--method", "cnn-large-w,resnet-large-w,resnet-ssw,resnet-layerwise", "--out", str(out), "--plot", str(png), "--jobs", "1",
                "--detail")
    assert r.code == 0, r.stderr
    assert "layerwise" in r.stdout and "Wilson" in r.stdout and "trials per outcome" in r.stdout
    assert max(len(line) for line in r.stdout.splitlines()) <= 80  # four methods fit
    lines = out.read_text().splitlines()
    assert lines[0].startswith("p,k,method,trials,global,spurious,undecided,diverged,rate,ci_low,ci_high")
    assert len(lines) == 1 + 4
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv", "r.png"]


def test_presets_resolve_without_notices(cli):
    for preset in ("liu2019-success", "liu2019-success-p"):
        r = cli("success-rate", "--config", preset, "--k", "4", "--p", "4", "--trials", "5", "--steps", "50", "--json")
        assert r.code == 0 and r.stderr == "", r.stderr


def test_same_seed_same_json(cli):
    args = (*QUICK, "--json", "--seed", "5")
    assert cli(*args).stdout == cli(*args).stdout


def test_old_spellings_still_work_with_a_notice(cli):
    old = cli("success-rate", "--k", "4", "--trials", "10", "--methods", "cnn", "--stage2-iterations", "100", "--json")
    new = cli("success-rate", "--k", "4", "--trials", "10", "--method", "cnn", "--stage2-steps", "100", "--json")
    assert old.code == 0 and old.stdout == new.stdout
    assert "note: --methods is deprecated" in old.stderr and "use --method" in old.stderr
    assert "use --stage2-steps" in old.stderr
    assert "note: --method cnn is deprecated" in old.stderr and "use cnn-large-w" in old.stderr
    assert '"cnn-large-w"' in old.stdout


@pytest.mark.parametrize(
    "args,flag",
    [(("--k", ""), "--k"), (("--k", "0"), "--k 0"), (("--k", "4,0"), "--k 0"), (("--trials", "0"), "--trials 0"),
     (("--method", "cnn,vgg"), "--method"), (("--method", ""), "--method"), (("--method", "cnn,cnn"), "--method"),
     (("--p", "1"), "--p 1"), (("--k", "a:b"), "--k"), (("--jobs", "0"), "--jobs 0"), (("--lr-a", "-1"), "--lr-a")],
)
def test_bad_input_exits_2(cli, one_line_error, args, flag):
    assert flag in one_line_error(cli("success-rate", *args))


def test_help_lists_every_option(cli):
    text = cli("success-rate", "--help").stdout.replace("\n", " ")
    for option in ("--p", "--k", "--method", "--trials", "--jobs", "--steps", "--stage1-steps", "--stage2-steps",
                   "--seed", "--config", "--out", "--json", "--plot", "--quiet", "--teacher-v", "--teacher-a", "--lr",
                   "--lr-a", "--lr-w", "--c-lr-w", "--spurious-tol"):
        assert option in text, option


def test_printed_reasons_for_unchecked_theorem_and_idle_noise_are_true(cli):
    """A k whose stage I fills the run was dropped from "held in 5 of 5" or blamed on the hypotheses; a
    --noise that no method uses claimed perturbed GD."""
    out = " ".join(cli("success-rate", "--k", "4,16", "--trials", "3", "--steps", "1000", "--method", "resnet-ssw",
                       "--jobs", "1").stdout.split())
    assert "held in 3 of 3" in out and "not checked at k = 16: no recorded step in [T1, T]" in out
    out = " ".join(cli("success-rate", "--k", "4", "--trials", "3", "--steps", "100", "--method", "resnet-ssw",
                       "--jobs", "1").stdout.split())
    assert "not checked at k = 4" in out and "meets its hypotheses" not in out
    out = " ".join(cli("success-rate", "--k", "4", "--trials", "3", "--stage2-steps", "50", "--method", "resnet-ssw",
                       "--noise", "2", "--jobs", "1").stdout.split())
    assert "--noise has no effect here" in out and "perturbed GD" not in out
