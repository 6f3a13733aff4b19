"""`landscape deep-resnet` (Yun et al. 2019): the command-line contract (flags, outputs, errors, presets)."""

import csv
import json

import numpy as np
import pytest

QUICK = ("landscape", "deep-resnet", "--trials", "3", "--quiet")  # (--steps is for --finder gd)


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
    r = cli(*QUICK, "--data", "yun-example2", "--blocks", "2", "--seed", "1", "--detail")
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
    r = cli(*QUICK, "--data", "digits", "--samples", "40", "--hidden", "1", "--finder", "gd", "--steps", "200",
            "--json")  # data shapes only
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
                "--init", "--init-scale", "--finder", "--newton-steps", "--newton-tol", "--dedup-tol", "--eig-tol-alt",
                "--jobs", "--dask", "--cache", "--config", "--seed", "--out", "--json", "--plot", "--quiet"):
        assert opt in r.stdout, opt


def test_jobs_1_and_2_give_identical_json(cli):
    """Every (blocks, network) cell gets its starts from the parent's one generator and runs BLAS on one
    thread: the JSON is the same, bitwise, in this process and in a pool of 2."""
    for finder in ("newton", "gd"):
        steps = ("--steps", "500") if finder == "gd" else ()  # (the default 20000 GD steps: 7 s of nothing new)
        args = (*QUICK, "--blocks", "1,2", "--compare", "fc", "--finder", finder, *steps, "--json")
        one, two = cli(*args, "--jobs", "1"), cli(*args, "--jobs", "2")
        assert one.code == 0 and two.code == 0, one.stderr + two.stderr
        assert two.stdout == one.stdout
        payload = json.loads(one.stdout)
        assert [(r["blocks"], r["network"]) for r in payload["rows"]] == [(1, "resnet"), (1, "fc"), (2, "resnet"),
                                                                          (2, "fc")]
        assert not {"jobs", "dask", "cache"} & set(payload["config"])


def test_cache_keeps_every_cell_and_a_rerun_prints_the_same(cli, tmp_path):
    cache = tmp_path / "cells"
    args = (*QUICK, "--blocks", "1,2", "--compare", "fc", "--json", "--jobs", "1")
    fresh = cli(*args)
    first = cli(*args, "--cache", str(cache))
    assert fresh.code == 0 and first.code == 0, first.stderr
    entries = sorted(cache.glob("*.cell"))
    assert len(entries) == 4 and first.stdout == fresh.stdout
    entries[1].unlink()  # as if interrupted before that cell finished
    again = cli(*args, "--cache", str(cache), "--jobs", "2")
    assert again.code == 0, again.stderr
    assert again.stdout == fresh.stdout and len(list(cache.glob("*.cell"))) == 4


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
    for extra in (("--compare", "fc", "--blocks", "1,2"), ("--data", "yun-example2", "--blocks", "4", "--detail")):
        r = cli(*QUICK, *extra)
        assert r.code == 0, r.stderr
        assert max(len(line) for line in r.stdout.splitlines()) <= 80
        assert "…" not in r.stdout  # no cut header or number


def test_risks_below_the_tolerance_print_as_below_tol(cli):
    # GD-specific, so --finder gd explicitly: with seed 1 gradient descent reaches the zero-risk fit of the
    # three samples (R ≈ 1e-13), which must print as "< tol"; Newton from these starts stops at other points
    r = cli(*QUICK, "--data", "yun-example2", "--blocks", "2", "--trials", "6", "--steps", "3000", "--seed", "1",
            "--finder", "gd", "--detail")
    assert r.code == 0, r.stderr
    assert "< tol" in r.stdout and "e-1" not in r.stdout  # no 1e-13 noise


# ----------------------------------------------------------------------------------------------------
# Newton finder (docs/landscape.md): saddles measured, kinks reported honestly, exported points re-checked
# ----------------------------------------------------------------------------------------------------

NEWTON = ("landscape", "deep-resnet", "--finder", "newton", "--quiet")


def _plain_risk(record, flat=None, slopes=None):
    """R of an exported point from its per-block arrays, one sample at a time with plain loops (independent of
    the engine). `flat` replaces the parameters (in the record's own order: blocks, then read-out); `slopes`
    maps (layer, unit, sample) to a fixed ReLU slope (a pattern network; elsewhere the slope is frozen at the
    point's own 1[z > 0] when `slopes` is given, σ otherwise)."""
    names = [(name, item["shape"]) for block in record["blocks"] for name, item in block.items()]
    names += [(name, item["shape"]) for name, item in record["readout"].items()]
    values = flat if flat is not None else np.concatenate(
        [np.ravel(part[name]["values"]) for part in record["blocks"] + [record["readout"]] for name in part])
    params, at = {}, 0
    for name, shape in names:
        size = int(np.prod(shape))
        params[name] = np.asarray(values[at:at + size], dtype=float).reshape(shape)
        at += size
    X, Y = np.array(record["data"]["X"]), np.array(record["data"]["Y"])
    shape = record["shape"]
    resnet = record["network"] == "resnet"
    layers = shape["blocks"] if resnet else shape["layers"]
    total = 0.0
    for i in range(X.shape[1]):
        h = np.concatenate([X[:, i], np.zeros(shape["width"] - X.shape[0])]) if resnet else X[:, i]
        for layer in range(1, layers + 1):
            U = params[f"U{layer}"] if resnet else params[f"W{layer}"]
            b = params.get(f"b{layer}", np.zeros(U.shape[0]))
            z = U @ h + b
            a = np.array([slopes.get((layer, j, i), slopes[("frozen", layer, j, i)]) * z[j] if slopes is not None
                          else max(z[j], 0.0) for j in range(z.size)])
            h = h + params[f"V{layer}"] @ a if resnet else a
        W = params["W"] if resnet else params["W_out"]
        f = W @ h + params.get("c", np.zeros(W.shape[0]))
        total += float(np.sum((f - Y[:, i]) ** 2))
    return total / X.shape[1], values


def _fd_grad_hess(fun, x, eps=1e-4):
    n = x.size
    g, H = np.zeros(n), np.zeros((n, n))
    f0 = fun(x)
    for a in range(n):
        ea = np.zeros(n)
        ea[a] = eps
        g[a] = (fun(x + ea) - fun(x - ea)) / (2 * eps)
        H[a, a] = (fun(x + ea) - 2 * f0 + fun(x - ea)) / eps**2
        for b in range(a):
            eb = np.zeros(n)
            eb[b] = eps
            H[a, b] = H[b, a] = (fun(x + ea + eb) - fun(x + ea - eb) - fun(x - ea + eb) + fun(x - ea - eb)) / (4 * eps**2)
    return g, H


def _frozen(record, values):
    """The point's own activation pattern 1[z > 0] per (layer, unit, sample) and every z ("z"), by a plain
    forward pass."""
    slopes = {}
    X = np.array(record["data"]["X"])
    resnet = record["network"] == "resnet"
    arrays = {name: np.array(item["values"]) for part in record["blocks"] + [record["readout"]]
              for name, item in part.items()}
    for i in range(X.shape[1]):
        h = np.concatenate([X[:, i], np.zeros(record["shape"]["width"] - X.shape[0])]) if resnet else X[:, i]
        for layer in range(1, (record["shape"]["blocks"] if resnet else record["shape"]["layers"]) + 1):
            U = arrays[f"U{layer}"] if resnet else arrays[f"W{layer}"]
            z = U @ h + arrays.get(f"b{layer}", np.zeros(U.shape[0]))
            for j in range(z.size):
                slopes[("frozen", layer, j, i)] = float(z[j] > 0)
                slopes.setdefault("z", []).append(float(z[j]))
            a = np.maximum(z, 0.0)
            h = h + arrays[f"V{layer}"] @ a if resnet else a
    return slopes


def test_exported_points_recheck_with_an_independent_implementation(cli, tmp_path):
    out = tmp_path / "points.json"
    r = cli(*NEWTON, "--compare", "fc", "--blocks", "1,2", "--trials", "8", "--seed", "3", "--out", str(out))
    assert r.code == 0, r.stderr
    payload = json.loads(out.read_text())
    checked = {"smooth": 0, "kink": 0}
    for point in payload["points"]:
        record = point["parameters"]
        for part in record["blocks"] + [record["readout"]]:
            for item in part.values():  # every array carries its shape
                assert np.array(item["values"]).shape == tuple(item["shape"])
        risk, values = _plain_risk(record)
        assert risk == pytest.approx(point["risk"], rel=1e-10, abs=1e-14)
        if not point["converged"]:
            continue
        frozen = _frozen(record, values)
        if not point["on_kink"] and min(abs(z) for z in frozen["z"]) > 1e-2:  # FD steps stay on one piece
            g, H = _fd_grad_hess(lambda th: _plain_risk(record, th)[0], values)
            lam = np.linalg.eigvalsh(H)
            scale = max(np.abs(lam).max(), 1.0)
            assert np.linalg.norm(g) < 1e-6 * scale
            assert lam[0] == pytest.approx(point["lambda_min"], abs=1e-5 * scale)
            assert point["hessian_kind"] == "smooth"
            checked["smooth"] += 1
        elif point["on_kink"]:
            # at a kink: the pattern network with the reported Clarke slopes has zero gradient (Clarke critical)
            slopes = frozen
            for k in point["kink_entries"]:
                slopes[(k["layer"], k["unit"], k["sample"])] = k["slope"]
            g, _ = _fd_grad_hess(lambda th: _plain_risk(record, th, slopes)[0], values)
            assert np.linalg.norm(g) < 1e-6
            assert point["hessian_kind"] == "kink-manifold" and point["pieces"]["count"] == 2 ** point["kinks"]
            checked["kink"] += 1
    assert checked["smooth"] >= 5 and checked["kink"] >= 3, checked


def test_newton_measures_saddles_and_convergence(cli):
    r = cli(*NEWTON, "--trials", "10", "--json")
    assert r.code == 0, r.stderr
    row = json.loads(r.stdout)["rows"][0]
    assert row["finder"] == "newton" and row["points"] >= 9
    assert row["converged_smooth"] + row["converged_at_kink"] == row["points"]
    assert row["strict_saddles"] > 0  # measured, not 0 by construction
    assert row["distinct"] + row["merged"] == row["points"]
    for key in ("strict_saddles_alt", "counterexamples_alt", "eig_tol_alt", "escape_found"):
        assert key in row


def test_newton_tables_fit_80_columns(cli, monkeypatch):
    from resnet_cli.report import console

    monkeypatch.setattr(console, "width", 80)
    r = cli(*NEWTON, "--compare", "fc", "--blocks", "1,4", "--init", "near-identity", "--trials", "10", "--detail")
    assert r.code == 0, r.stderr
    assert max(len(line) for line in r.stdout.splitlines()) <= 80
    assert "…" not in r.stdout and "e-16" not in r.stdout
    for text in ("Critical points reached by Newton/LM", "At the kink points", "by curvature alone at --eig-tol 1e-05",
                 "Why points are undecided", "critical or gradient-flat"):
        assert text in r.stdout


@pytest.mark.parametrize("args", [("--finder", "bogus"), ("--newton-steps", "0"), ("--newton-tol", "0"),
                                  ("--dedup-tol", "-1"), ("--eig-tol-alt", "nan")])
def test_bad_finder_input_is_one_line_exit_2(cli, one_line_error, args):
    one_line_error(cli("landscape", "deep-resnet", *args))


def test_default_output_is_the_result_table_first_and_short(cli, monkeypatch):
    from resnet_cli.report import console

    monkeypatch.setattr(console, "width", 80)
    r = cli(*NEWTON, "--config", "yun2019-example2", "--trials", "12")
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) <= 30 and max(len(line) for line in lines) <= 80
    assert lines[0].startswith("Critical points against the best linear predictor")
    assert "--detail" in r.stdout and "Per-block risk" not in r.stdout and "┏" not in r.stdout
    detail = cli(*NEWTON, "--config", "yun2019-example2", "--trials", "12", "--detail")
    assert detail.stdout.startswith(r.stdout) and "Per-block risk" in detail.stdout


def test_a_counterexample_is_one_at_both_tolerances_without_escape(cli):
    # Yun example 2 (seed 0): three worse points have λmin < 0 above −eig-tol·max|λ| (no negative curvature at
    # 1e-5) but below −1e-8·max|λ|, and random steps in the Hessian's null space lower R: undecided, with reasons
    r = cli(*NEWTON, "--config", "yun2019-example2", "--seed", "0", "--json")
    assert r.code == 0, r.stderr
    payload = json.loads(r.stdout)
    row = payload["rows"][0]
    assert row["counterexamples"] == 0 and row["undecided"] == 3 and row["no_negative_curvature"] == 3
    assert row["undecided_reasons"] == {"kink": 0, "alt_tolerance": 3, "escape_descent": 3}
    for p in payload["points"]:
        if not p["converged"]:
            continue
        if p["kind"] == "counterexample":  # the rule, wherever a counterexample is reported
            assert p["alt"]["kind"] == "counterexample" and not (p["escape_probe"] or {}).get("descent")
        if p["kind_at_eig_tol"] == "counterexample" and p["kind"] == "undecided":
            codes = {reason["code"] for reason in p["undecided_reasons"]}
            assert codes == {"alt_tolerance", "escape_descent"}
            assert p["alt"]["kind"] == "strict_saddle" and p["alt"]["lambda_min"] < 0
            assert min(p["escape_probe"]["min_change"]) < 0
        # the index as a count and a fraction of the reported Hessian's dimension
        assert p["index"] == pytest.approx(p["index_count"] / p["index_dim"])
        assert p["index_count"] == p["hessian"]["negative"]
    assert row["saddle_index_counts"] and all(0 < c <= d for c, d in row["saddle_index_counts"])


def test_blocks_listed_twice_is_one_line(cli, one_line_error):
    """`--blocks 1,1` ran the same cells twice, silently."""
    assert "--blocks 1,1: 1 is listed twice" in one_line_error(cli("landscape", "deep-resnet", "--blocks", "1,1"))


def test_a_point_within_the_printed_tolerance_of_a_zero_linear_risk_is_equal(cli):
    """With R_lin = 0 the tolerance printed is gap-tol × a floor (1.7e-19 here); the class used gap-tol × R_lin = 0,
    so a point of risk 1e-25 was a 'counterexample'."""
    r = cli("landscape", "deep-resnet", "--jobs", "1", "--trials", "2", "--newton-steps", "20", "--data", "gaussian",
            "--samples", "2", "--dim", "1", "--json")
    assert r.code == 0, r.stderr
    p = json.loads(r.stdout)
    assert p["linear_risk"] == 0.0 and p["risk_tol"] > 0
    for point in p["points"]:
        assert point["risk"] <= p["risk_tol"] and point["kind"] == "equal"


def test_the_tolerance_line_names_the_floor_when_r_lin_is_below_it(cli):
    """With R_lin ≈ 1e-32 the line said "gap-tol·R_lin = 2.4e-18", a product that is 1e-36."""
    out = " ".join(cli(*QUICK, "--data", "gaussian", "--samples", "3", "--dim", "4", "--detail").stdout.split())
    assert "tol = gap-tol·1e-12·mean ‖y‖² = " in out and "(R_lin is below that floor)" in out
