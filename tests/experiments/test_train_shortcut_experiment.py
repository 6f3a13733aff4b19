"""`train shortcut` as an experiment (Li, Jiao, Han & Weissman 2017, Figures 3, 7, 8): the Frobenius-norm trace
against an independent recomputation, interpolation at common losses, the index, the li2017 presets."""

import numpy as np
import pytest

from resnet_cli.config import load_toml
from resnet_cli.experiments import train_shortcut as ts
from resnet_cli.experiments.shortcut_problem import build_problem
from resnet_cli.models import shortcut as sc
from resnet_cli.spectrum import spectrum_stats


def small(**overrides):
    values = {"depth": 4, "samples": 200, "steps": 12, "lr": 0.3, "trace_every": 4}
    values.update(overrides)
    return ts.TrainShortcutSettings.resolve(None, values)


@pytest.mark.parametrize("act_mid", ["identity", "relu"])
def test_frobenius_trace_equals_norms_of_independently_trained_weights(act_mid):
    cfg = small(act_mid=act_mid)
    p = ts.run(cfg).to_dict()
    problem = build_problem(cfg)
    W0 = sc.init_weights(problem.net, cfg.init, problem.init_rng)
    for row in p["trace"]:
        # one uninterrupted GD run of row["step"] steps, and norms by np.linalg.norm matrix by matrix
        W = sc.gradient_descent(problem.net, W0, cfg.lr, row["step"], X=problem.dataset.X, Y=problem.dataset.Y,
                                moments=problem.moments).weights
        norms = [np.linalg.norm(W[r, l], "fro") for r in range(W.shape[0]) for l in range(W.shape[1])]
        assert row["frob_mean"] == pytest.approx(np.mean(norms), rel=1e-12)
        k = p["norms"]["step"].index(row["step"])
        np.testing.assert_allclose(p["norms"]["frob"][k], norms, rtol=1e-12)
        assert p["norms"]["loss"][k] == p["curve"]["loss"][row["step"]]
    assert len(p["norms"]["frob"][0]) == cfg.depth


def test_trace_every_and_hessian_every():
    p = ts.run(small(steps=10, trace_every=3, hessian_every=4)).to_dict()
    assert [h["step"] for h in p["hessian"]] == [0, 4, 8, 10]
    assert [row["step"] for row in p["trace"]] == [0, 3, 4, 6, 8, 9, 10]  # trace steps, Hessian steps, the end
    assert all("frob_mean" in row for row in p["trace"])
    assert {"abs_max", "index"} <= set(p["trace"][2]) and "index" not in p["trace"][1]
    assert set(p["norms"]["step"]) >= {0, 3, 4, 6, 8, 9, 10}
    q = ts.run(small(steps=10, hessian_every=0, trace_every=None)).to_dict()
    assert q["hessian"] == [] and [row["step"] for row in q["trace"]] == list(range(11))  # about 20 rows: every step


def test_index_by_tolerance_against_an_independent_spectrum_at_the_start():
    # a plain Xavier network of depth 8: its three tolerances give three different indexes at the start
    cfg = small(steps=4, hessian_every=4, shortcut=0, init="xavier", depth=8)
    p = ts.run(cfg).to_dict()
    problem = build_problem(cfg)  # the same seed: the same initial weights
    W = sc.init_weights(problem.net, cfg.init, problem.init_rng)
    lam = np.linalg.eigvalsh(sc.hessian(problem.net, W, problem.dataset.X, problem.dataset.Y))
    for h in p["hessian"]:
        by = h["index_by_tolerance"]
        assert by["1e-12"] == h["index"] and by["1e-12"] >= by["1e-10"] >= by["1e-8"]
    expected = {key: np.mean(lam < -float(key) * np.abs(lam).max()) for key in ("1e-12", "1e-10", "1e-8")}
    assert len(set(expected.values())) == 3  # the case tells the tolerances apart
    assert p["hessian"][0]["index_by_tolerance"] == pytest.approx(expected, abs=1e-12)


def test_deferred_hessians_are_the_ones_a_run_measures():
    """`train(defer_hessians=True)` keeps the weights at the Hessian steps; `measure_at` there gives the entries
    `run` measures, on the same trajectory to the bit (what li2017-training's Figure 8 relies on)."""
    cfg = small(steps=10, hessian_every=4)
    full = ts.run(cfg).to_dict()
    deferred = ts.run_deferred(cfg)
    assert deferred["hessian"] == [] and sorted(deferred["weights_at"]) == [0, 4, 8, 10]
    assert deferred["curve"]["loss"].tolist() == full["curve"]["loss"].tolist()
    for entry in full["hessian"]:
        got = ts.measure_at((deferred["settings"], deferred["weights_at"][entry["step"]]))
        assert {"step": entry["step"], "loss": entry["loss"], "loss_gap": entry["loss_gap"], **got} == entry


def test_at_levels_reads_only_its_read_points():
    """Values away from `read_points` may stay unmeasured (NaN): the readings do not change, on a trace that
    goes down, back up and down again, at levels inside it, at its last point and out of reach."""
    rng = np.random.default_rng(0)
    x = np.array([3.0, 2.5, 1.0, 1.8, 0.5, 0.2, 0.2, -1.0, -1.5, -2.0])
    y = rng.standard_normal(x.size)
    levels = [2.9, 1.5, 0.9, -1.0, -2.0, -3.0, 5.0]
    read = ts.read_points(x, levels)
    assert read == {0, 1, 2, 3, 4, 6, 7, 8, 9}  # 0.9 is read on the way down after the rise, 5 never
    sparse = np.where(np.isin(np.arange(x.size), sorted(read)), y, np.nan)
    np.testing.assert_array_equal(ts.at_levels(x, sparse, levels), ts.at_levels(x, y, levels))
    assert np.isfinite(ts.at_levels(x, y, levels)[:5]).all() and np.isnan(ts.at_levels(x, y, levels)[5:]).all()


def test_segmenting_for_trace_rows_does_not_change_the_numbers():
    a = ts.run(small(steps=12, trace_every=1)).to_dict()
    b = ts.run(small(steps=12, trace_every=12)).to_dict()
    assert a["curve"]["loss"].tolist() == b["curve"]["loss"].tolist()
    assert a["norms"]["frob"][-1] == b["norms"]["frob"][-1]


@pytest.mark.parametrize("lr, every", [(2.0, None), (3.0, None), (2.0, 7)])
def test_divergence_is_judged_from_the_first_loss_whatever_the_segments(lr, every):
    """A run trained in segments (trace and Hessian steps) diverges where one GD call over all its steps does:
    a loss above BLOWUP × max(L0, 1), L0 its loss at step 0 (each segment used to count from its own start,
    so a loss growing by less than 1e12 per segment ran on to overflow); the trace ends at that step."""
    flags = {"shortcut": 1, "depth": 1, "init": "small", "data": "gaussian", "samples": 30, "dim": 3, "steps": 1000,
             "lr": lr, **({"trace_every": every} if every else {})}
    result = ts.run(ts.TrainShortcutSettings.resolve(None, flags))
    problem = build_problem(result.settings)
    whole = sc.gradient_descent(problem.net, sc.init_weights(problem.net, "small", problem.init_rng), lr, 1000,
                                X=problem.dataset.X, Y=problem.dataset.Y, moments=problem.moments)
    assert whole.diverged and result.diverged
    assert result.diverged_step == int(whole.diverged_epoch) == result.steps_run
    assert result.final_loss == whole.losses[result.diverged_step - 1] < sc.BLOWUP * max(whole.losses[0], 1.0)
    # the trace ends at the diverged step, with the loss that crossed the limit (finite here, not inf)
    assert result.losses.size == result.diverged_step + 1
    assert result.losses[-1] == whole.losses[result.diverged_step] > sc.BLOWUP * max(whole.losses[0], 1.0)


def test_at_levels_is_exact_on_a_monotone_trace():
    x = np.array([3.0, 2.0, 1.5, 0.0, -1.0])  # e.g. lg(loss) along training, decreasing
    y = 2.0 * x + 1.0  # linear in x: interpolation must give it back exactly
    levels = np.array([3.0, 2.5, 1.75, 0.25, -1.0])
    np.testing.assert_array_equal(ts.at_levels(x, y, levels), 2.0 * levels + 1.0)
    np.testing.assert_array_equal(ts.at_levels(x, y ** 2, levels), np.interp(levels, x[::-1], (y ** 2)[::-1]))
    assert np.isnan(ts.at_levels(x, y, [3.5, -2.0])).all()  # never reached: NaN


def test_at_levels_takes_the_first_downward_passage():
    x = np.array([2.0, 0.0, 1.0, -1.0])  # the loss comes back up to 1 and falls again
    y = np.array([0.0, 10.0, 20.0, 30.0])
    assert ts.at_levels(x, y, [0.5])[0] == pytest.approx(7.5)  # between steps 0 and 1, not 2 and 3


def test_common_levels_across_runs_and_lower_share():
    a = [(np.array([4.0, 2.0, 0.0]), np.array([0.4, 0.2, 0.0])), (np.array([3.0, 1.0]), np.array([0.3, 0.1]))]
    levels = ts.common_levels([x for x, _ in a], 3)
    np.testing.assert_array_equal(levels, [3.0, 2.0, 1.0])  # lowest start to highest end
    agg = ts.across_runs(a, levels)
    assert agg["mean"] == pytest.approx([0.3, 0.2, 0.1]) and agg["runs"] == [2, 2, 2]
    b = [(np.array([4.0, 0.0]), np.array([1.0, 1.0])), (np.array([3.0, 1.0]), np.array([0.0, 0.0]))]
    share = ts.lower_share(a, b, levels)
    assert share["lower"] == [1, 1, 1] and share["pairs"] == [2, 2, 2] and share["share"] == [0.5, 0.5, 0.5]
    assert ts.common_levels([np.array([1.0, 0.5]), np.array([0.4, 0.1])], 3).size == 0


def test_index_of_a_hand_made_matrix():
    H = np.diag([-2.0, -1e-3, 0.0, 0.5, 1.0, 3.0, 4.0, 5.0])  # 2 negative eigenvalues of 8
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((8, 8)))
    stats = spectrum_stats(np.linalg.eigvalsh(Q @ H @ Q.T))
    assert stats.index == pytest.approx(2 / 8)
    assert stats.abs_max == pytest.approx(5.0)


@pytest.mark.parametrize("name", ["li2017-fig3", "li2017-fig7", "li2017-fig8"])
def test_li2017_training_presets_parse_and_run_small(name):
    cfg = ts.TrainShortcutSettings.resolve(name, {"steps": 4, "depth": 4, "samples": 100, "hessian_every": None})
    assert cfg.shortcut == 2 and cfg.init == "small"
    plan = load_toml(name)["reproduce"]
    assert plan  # what `resnet-cli reproduce li2017-training` loops over
    p = ts.run(cfg).to_dict()
    assert len(p["curve"]["loss"]) == 5 and p["norms"]["step"][-1] == 4
    assert cfg.act_mid == ("relu" if name == "li2017-fig7" else "identity")


def test_figure8_data_and_claims_show_the_index_at_every_tolerance():
    """docs/data/li2017-fig8.json (what `reproduce li2017-training` wrote): the share at the first tolerance is
    the headline share, and the claims state the majority counts of the others as the data give them."""
    import json
    from pathlib import Path

    from resnet_cli.reproductions import li2017_training as lt

    d = json.loads((Path(__file__).parents[2] / "docs" / "data" / "li2017-fig8.json").read_text())
    tolerances = list(d["share_by_tolerance"])
    assert tolerances == ["1e-12", "1e-10", "1e-8"] and d["share_by_tolerance"]["1e-12"] == d["share"]
    text = lt.claims_fig8(d)[0][1]
    for tol, (majority, levels) in zip(tolerances[1:], ((10, 12), (9, 12))):  # read off the data by hand
        share = d["share_by_tolerance"][tol]
        assert sum(1 for n, k in zip(share["lower"], share["pairs"]) if k and 2 * n > k) == majority
        pairs = sum(n for n, k in zip(share["lower"], share["pairs"]) if k)
        assert f"a majority at {majority} of {levels} levels ({pairs} of 120 pairs) at tol = {tol}" in text
    for net in d["networks"].values():  # counting more eigenvalues as zero can only lower the index
        ends = [np.mean(net["end_by_tolerance"][t]) for t in tolerances]
        assert ends[0] >= ends[1] >= ends[2]
    # the hand-written remark says what the data say: the lowest level's seeds at each tolerance, the final
    # orthogonal index at each and how little the 2-shortcut one moves
    remark = " ".join(lt.fig8_remark(d["share"]).split())
    at = int(np.argmin(d["share"]["level"]))
    assert round(d["share"]["level"][at], 1) == -2.7  # "the lowest level (−2.7)"
    lowest = [d["share_by_tolerance"][t]["lower"][at] for t in tolerances]
    assert f"(−2.7) {lowest[0]} of 10 seeds are lower again" in remark and lowest[1:] == [1, 0]
    assert "1 of 10 seeds is lower there, with 1e-8 none" in remark
    orth, two = (d["networks"][n]["end_by_tolerance"] for n in ("orthogonal", "2-shortcut"))
    finals = [lt.fmt(np.mean(orth[t]), 3) for t in tolerances]
    assert f"final index is {finals[1]} or {finals[2]} instead of {finals[0]}" in remark
    assert np.ptp([np.mean(two[t]) for t in tolerances]) < 0.001
