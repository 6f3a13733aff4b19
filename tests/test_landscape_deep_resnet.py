"""`landscape deep-resnet` (Yun et al. 2019): experiment oracles and the CLI contract."""

import csv
import json

import numpy as np
import pytest

from helpers import assert_one_line_error, run_cli
from resnet_cli.experiments import deep_resnet as exp
from resnet_cli.models import deep_resnet as dr
from resnet_cli.models import yun_examples as yx


def _one_kink_resnet_global_min(X, Y):
    """Oracle: min over kink positions t of the affine fit on [x, σ(±(x − t)), 1] (dense scan + samples)."""
    xs, ys = X[0], Y[0]
    best = np.inf
    for t in np.concatenate([np.linspace(xs.min() - 1, xs.max() + 1, 4001), xs]):
        for side in (1.0, -1.0):
            A = np.c_[xs, np.maximum(side * (xs - t), 0.0), np.ones_like(xs)]
            r = ys - A @ np.linalg.lstsq(A, ys, rcond=None)[0]
            best = min(best, r @ r / xs.size)
    return best


@pytest.fixture(scope="module")
def example1_run():
    cfg = exp.Config(data="yun-example1", rho=0.5, compare=["fc"], inits=6, steps=3000)
    return exp.run(cfg, np.random.default_rng(0))


def test_example1_fc_has_a_local_minimum_no_better_than_linear(example1_run):
    res = example1_run
    lin = res.linear_risk
    assert lin == pytest.approx(8 * 0.5**2 / 15, rel=1e-12)
    fc = [p for p in res.points if p["network"] == "fc" and p["converged"]]
    assert fc, "no FC start converged"
    # the paper's claim: no FC critical point beats the best linear predictor on this dataset
    assert all(p["risk"] >= lin * (1 - 1e-6) for p in fc)
    minima = [p for p in fc if p["stationarity"] < 1e-6 and p["lambda_min"] >= -1e-5 * max(abs(p["lambda_max"]), 1)]
    assert minima, "no FC local minimum found"
    assert all(p["risk"] >= lin * (1 - 1e-6) for p in minima)
    # and some of them are strictly worse: dead-unit minima (constant predictor, risk = Var(Y))
    row = next(r for r in res.rows if r["network"] == "fc")
    assert row["counterexamples"] >= 1
    worst = max(p["risk"] for p in minima)
    assert worst == pytest.approx(float(np.var(yx.yun_example1(0.5)[1])), rel=1e-6)


def test_example1_resnet_minima_are_strictly_better_than_linear(example1_run):
    res = example1_run
    lin = res.linear_risk
    rn = [p for p in res.points if p["network"] == "resnet" and p["converged"]]
    assert rn
    assert all(p["risk"] <= lin * (1 + 1e-4) for p in rn)  # none worse than linear
    better = [p for p in rn if p["kind"] == "better"]
    assert better
    # the best one is the one-kink ResNet's global minimum (29/228 at rho = 0.5), below the paper's point
    oracle = _one_kink_resnet_global_min(*yx.yun_example1(0.5))
    assert min(p["risk"] for p in better) == pytest.approx(oracle, rel=1e-5)
    assert oracle < yx.example1_paper_resnet_risk(0.5) < lin
    row = next(r for r in res.rows if r["network"] == "resnet")
    assert row["counterexamples"] == 0 and row["share_at_least_linear"] == 1.0


def test_per_block_risk_of_last_block_equals_risk_at_critical_points():
    cfg = exp.Config(data="yun-example2", blocks=[2], inits=6, steps=3000)
    res = exp.run(cfg, np.random.default_rng(1))
    assert res.per_block is not None and res.per_block["blocks"] == 2
    pts = [p for p in res.points if p["converged"]]
    assert pts
    for p in pts:
        pb = p["per_block_risk"]
        assert len(pb) == 3
        assert pb[0] == pytest.approx(res.linear_risk, rel=1e-10)  # h_0 = x
        # at a critical point the read-out (W, c) is the least-squares fit of Y on h_L
        assert pb[-1] == pytest.approx(p["risk"], rel=1e-4, abs=1e-9)
        assert p["per_block_monotone"] == bool(np.all(np.diff(pb) <= cfg.gap_tol * res.linear_risk))


def test_gradient_descent_converges_to_least_squares_on_a_quadratic():
    rng = np.random.default_rng(2)
    A, y = rng.normal(size=(20, 4)), rng.normal(size=20)

    def risk_grad(theta):
        r = theta @ A.T - y
        return np.mean(r * r, axis=1), 2 * r @ A / 20

    res = exp.gradient_descent(risk_grad, rng.normal(size=(3, 4)), steps=5000, lr=0.1, grad_tol=1e-7)
    assert res.converged.all()
    np.testing.assert_allclose(res.theta, np.tile(np.linalg.lstsq(A, y, rcond=None)[0], (3, 1)), atol=1e-6)


def test_classify():
    cfg = exp.Config()
    assert exp.classify(0.9, 1.0, 1.0, 1.0, 1.0, cfg) == "better"
    assert exp.classify(1.0 + 1e-6, -1.0, 1.0, 1.0, 1.0, cfg) == "equal"
    assert exp.classify(1.5, -0.1, 1.0, 1.0, 1.0, cfg) == "strict_saddle"
    assert exp.classify(1.5, -1e-9, 1.0, 1.0, 1.0, cfg) == "counterexample"
    assert exp.classify(1.5, -0.1, 1.0, 1.0, 1.0, cfg, kinks=2) == "kink_undecided"


def test_box_least_squares_against_projected_gradient():
    rng = np.random.default_rng(3)
    for _ in range(40):
        n, P = int(rng.integers(1, 6)), int(rng.integers(6, 10))
        D, g0 = rng.normal(size=(n, P)), 2 * rng.normal(size=P)
        s = dr._box_least_squares(D, g0)
        assert np.all((s >= 0) & (s <= 1))
        Q, q = D @ D.T, D @ g0
        L = np.linalg.eigvalsh(Q).max()
        x = np.zeros(n)
        for _ in range(5000):
            x = np.clip(x - (Q @ x + q) / L, 0, 1)
        assert np.linalg.norm(g0 + D.T @ s) <= np.linalg.norm(g0 + D.T @ x) + 1e-9


# ---------------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------------

QUICK = ("landscape", "deep-resnet", "--inits", "3", "--steps", "400", "--quiet")


def test_json_rows_and_determinism():
    r1 = run_cli(*QUICK, "--compare", "fc", "--json", "--seed", "5")
    assert r1.code == 0, r1.stderr
    payload = json.loads(r1.stdout)
    assert [row["network"] for row in payload["rows"]] == ["resnet", "fc"]
    for row in payload["rows"]:
        for key in ("network", "points", "share_at_least_linear", "share_strict_saddle", "counterexamples"):
            assert key in row
    assert payload["linear_risk"] == pytest.approx(8 * 0.25 / 15)
    assert len(payload["points"]) == 6
    r2 = run_cli(*QUICK, "--compare", "fc", "--json", "--seed", "5")
    assert r2.stdout == r1.stdout
    r3 = run_cli(*QUICK, "--compare", "fc", "--json", "--seed", "6")
    assert r3.stdout != r1.stdout


def test_table_output_and_per_block_table():
    r = run_cli(*QUICK, "--data", "yun-example2", "--blocks", "2", "--seed", "1")
    assert r.code == 0, r.stderr
    assert "best linear predictor" in r.stdout and "Per-block risk" in r.stdout
    assert r.stderr == ""  # --quiet: no progress


def test_depth_sweep_near_identity_and_options(tmp_path):
    out = tmp_path / "sweep.csv"
    r = run_cli("landscape", "deep-resnet", "--data", "gaussian", "--samples", "12", "--dim", "2",
                "--blocks", "1,2", "--width", "3", "--hidden", "2", "--init", "near-identity",
                "--init-scale", "0.2", "--compare", "fc", "--fc-width", "2", "--inits", "2", "--steps", "200",
                "--lr", "0.05", "--grad-tol", "1e-4", "--gap-tol", "1e-3", "--eig-tol", "1e-4", "--no-bias",
                "--out", str(out), "--quiet")
    assert r.code == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert [(row["network"], row["blocks"]) for row in rows] == [("resnet", "1"), ("fc", "1"), ("resnet", "2"),
                                                                  ("fc", "2")]
    assert rows[1]["width"] == "2" and rows[0]["width"] == "3"


def test_rho_changes_example1_and_out_json(tmp_path):
    out = tmp_path / "r.json"
    r = run_cli(*QUICK, "--rho", "0.1", "--out", str(out))
    assert r.code == 0, r.stderr
    payload = json.loads(out.read_text())
    assert payload["linear_risk"] == pytest.approx(8 * 0.01 / 15)
    assert payload["data"]["rho"] == 0.1


def test_plot_is_written(tmp_path):
    pytest.importorskip("matplotlib")
    for extra in (("--compare", "fc"), ("--data", "yun-example2", "--blocks", "2"), ("--blocks", "1,2")):
        target = tmp_path / f"p{len(extra)}{extra[-1].replace(',', '')}.png"
        r = run_cli(*QUICK, *extra, "--plot", str(target))
        assert r.code == 0, r.stderr
        assert target.stat().st_size > 1000


def test_config_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[landscape-deep-resnet]\ninits = 2\nsteps = 100\ncompare = "fc"\nblocks = [1]\n')
    r = run_cli("landscape", "deep-resnet", "--config", str(cfg), "--json", "--quiet")
    assert r.code == 0, r.stderr
    payload = json.loads(r.stdout)
    assert payload["config"]["inits"] == 2 and len(payload["rows"]) == 2


def test_digits_data_from_the_bundled_loader():
    from resnet_cli.data import load_dataset

    r = run_cli(*QUICK, "--data", "digits", "--samples", "40", "--hidden", "1", "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)["data"]
    assert (data["d_in"], data["d_out"], data["samples"]) == (10, 10, 40)
    ds = load_dataset("digits", samples=40)
    X, Y = dr_load_digits(40)
    np.testing.assert_array_equal(X, ds.X.T)
    np.testing.assert_array_equal(Y, ds.Y.T)


def dr_load_digits(samples):
    from resnet_cli.experiments.deep_resnet import load_digits

    return load_digits(np.random.default_rng(0), samples)


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
        ("--inits", "0"),
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
def test_bad_input_is_one_line_exit_2(args):
    assert_one_line_error(run_cli("landscape", "deep-resnet", *args))


def test_bad_config_key(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("nonsense = 3\n")
    assert_one_line_error(run_cli("landscape", "deep-resnet", "--config", str(cfg)))


def test_help_lists_every_option():
    r = run_cli("landscape", "deep-resnet", "--help")
    assert r.code == 0
    for opt in ("--data", "--rho", "--samples", "--dim", "--blocks", "--width", "--hidden", "--bias", "--no-bias",
                "--compare", "--fc-width", "--inits", "--steps", "--lr", "--grad-tol", "--gap-tol", "--eig-tol",
                "--init", "--init-scale", "--config", "--seed", "--out", "--json", "--plot", "--quiet"):
        assert opt in r.stdout, opt


@pytest.mark.parametrize("preset,rows", [("yun2019-example1", 2), ("yun2019-example2", 1),
                                         ("yun2019-near-identity", 8)])
def test_presets(preset, rows):
    r = run_cli("landscape", "deep-resnet", "--config", preset, "--inits", "1", "--steps", "20", "--json", "--quiet")
    assert r.code == 0, r.stderr
    assert len(json.loads(r.stdout)["rows"]) == rows
