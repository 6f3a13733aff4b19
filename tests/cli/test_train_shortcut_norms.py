"""`resnet-cli train shortcut`: the Frobenius-norm column and JSON (Li et al. 2017, Fig. 3), --trace-every and
--hessian-every on the command line, the li2017-fig3/7/8 presets, tables at 80 columns."""

import csv
import json

import numpy as np


def test_norm_column_trace_every_and_csv(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    out = tmp_path / "t.csv"
    r = cli("train", "shortcut", "--depth", "4", "--steps", "12", "--samples", "200", "--trace-every", "4",
            "--out", str(out), "--quiet")
    assert r.code == 0, r.stderr
    assert "mean ‖W‖_F" in r.stdout and all(len(line) <= 80 for line in r.stdout.splitlines())
    rows = list(csv.DictReader(out.open()))
    assert [row["step"] for row in rows] == ["0", "4", "8", "12"] and float(rows[-1]["frob_mean"]) > 0


def test_hessian_every_keeps_80_columns_and_points_to_the_norms(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = cli("train", "shortcut", "--depth", "4", "--steps", "10", "--samples", "200", "--hessian-every", "5",
            "--trace-every", "5", "--quiet")
    assert r.code == 0 and "index" in r.stdout and "in --json" in r.stdout
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    p = json.loads(cli("train", "shortcut", "--depth", "4", "--steps", "10", "--samples", "200", "--hessian-every",
                       "5", "--trace-every", "5", "--json", "--quiet").stdout)
    assert [h["step"] for h in p["hessian"]] == [0, 5, 10] and [t["step"] for t in p["trace"]] == [0, 5, 10]
    assert np.all(np.diff(p["norms"]["step"]) > 0) and len(p["norms"]["frob"][0]) == 4


def test_li2017_training_presets_on_the_command_line(cli, tmp_path):
    for name in ("li2017-fig3", "li2017-fig7", "li2017-fig8"):
        fig = tmp_path / f"{name}.png"
        r = cli("train", "shortcut", "--config", name, "--steps", "4", "--depth", "4", "--samples", "100",
                "--hessian-every", "2", "--plot", str(fig), "--quiet")
        assert r.code == 0, (name, r.stderr)
        assert r.stderr == "" and fig.stat().st_size > 1000  # no renamed-key notices from the presets
