"""The depth-sweep engine (Li et al. 2017, Figs. 5, 9, 10) against its oracles.

Oracles: Theorem 1 (2-shortcut cond10 at zero is the same at every depth and equals the cond10 of
±σ_i(A), each R·d times; H = 0 for n ≥ 3), one-rate-at-a-time gradient descent (the batched grid),
exact eigvalsh (the SLQ route), and hand-made grids (the best-rate and flat rules).
"""

import numpy as np
import pytest

from resnet_cli.errors import ConfigError, UserError
from resnet_cli.experiments import depth_sweep as ds
from resnet_cli.models import shortcut as sc
from resnet_cli.spectrum import spectrum_stats


def sweep(**kw):
    cfg = ds.DepthSweepSettings.resolve(None, kw)
    return {(c.network, c.depth): c for c in ds.run(cfg).cells}


def test_two_shortcut_init_cond_is_flat_in_depth_and_matches_theorem1():
    cells = sweep(depth=[2, 4, 8, 12], network=["2-shortcut"], measure="init-cond")
    values = [cells[("2-shortcut", d)].mean for d in (2, 4, 8, 12)]
    assert max(values) - min(values) <= 1e-8 * max(values)
    for d in (2, 4, 8, 12):
        c = cells[("2-shortcut", d)]
        assert c.status == "ok" and c.spectrum == "exact" and c.init == "zero"
        assert c.trials == 1 and c.std == 0.0  # zero init: deterministic, one evaluation
        assert c.mean == pytest.approx(c.theory_cond10, rel=1e-10)


def test_one_shortcut_grows_three_shortcut_degenerate_plain_grows():
    cells = sweep(depth=[2, 3, 4, 6, 8], network=["1-shortcut", "3-shortcut", "orthogonal"], trials=2)
    c1 = [cells[("1-shortcut", d)].mean for d in (2, 4, 8)]
    assert c1[0] < c1[1] < c1[2]
    for d in (3, 6):
        c3 = cells[("3-shortcut", d)]
        assert c3.status == "degenerate" and c3.mean is None and c3.std is None and c3.values == []
        assert "H = 0" in c3.note
    for d in (2, 4, 8):
        assert cells[("3-shortcut", d)].status == "not-applicable"
    ortho = [cells[("orthogonal", d)].mean for d in (2, 4, 8)]
    assert ortho[0] < ortho[1] < ortho[2]  # the paper's claim: orthogonal init's cond grows with depth
    assert cells[("orthogonal", 4)].trials == 2 and cells[("orthogonal", 4)].std > 0


def test_relu_mid_at_zero_is_degenerate_and_small_init_is_not():
    cells = sweep(depth=[2], network=["2-shortcut"], act_mid="relu", samples=200)
    assert cells[("2-shortcut", 2)].status == "degenerate"  # ReLU'(0) = 0: Theorem 1's coefficient is 0
    cells = sweep(depth=[2], network=["2-shortcut"], act_mid="relu", samples=200, init="small", trials=2)
    assert cells[("2-shortcut", 2)].status == "ok" and cells[("2-shortcut", 2)].init == "small"


def test_slq_above_the_threshold_agrees_with_exact_for_orthogonal():
    exact = sweep(depth=[4], network=["orthogonal", "1-shortcut"], trials=2)
    approx = sweep(depth=[4], network=["orthogonal", "1-shortcut"], trials=2, exact_max_params=300)
    for name in ("orthogonal", "1-shortcut"):
        assert exact[(name, 4)].spectrum == "exact" and approx[(name, 4)].spectrum == "slq"
        assert approx[(name, 4)].mean == pytest.approx(exact[(name, 4)].mean, rel=0.05)


def test_cells_do_not_depend_on_the_rest_of_the_sweep():
    alone = sweep(depth=[4], network=["xavier"], trials=2)
    many = sweep(depth=[2, 4], network=["orthogonal", "xavier"], trials=2)
    assert alone[("xavier", 4)].values == many[("xavier", 4)].values


# --- final-loss ----------------------------------------------------------------------------------------------------


def one_at_a_time(cfg, name, depth, dataset, moments):
    """The oracle: every (rate, run) trained alone, from the same initial weights."""
    kind = ds.NETWORK_KINDS[name]
    net = ds.build_network(cfg, kind, depth, dataset.dim)
    init_rng, _ = ds.cell_generators(cfg.seed, kind, depth)
    runs = 1 if ds.init_for(cfg, kind) == "zero" else cfg.trials
    W0 = sc.init_weights(net, ds.init_for(cfg, kind), init_rng, batch_shape=(runs,))
    out = np.empty((len(cfg.lr), runs))
    for i, lr in enumerate(cfg.lr):
        for r in range(runs):
            g = sc.gradient_descent(net, W0[r], lr, cfg.steps, X=dataset.X, Y=dataset.Y, moments=moments)
            out[i, r] = (g.gaps if net.is_linear else g.losses)[-1]
    return out


@pytest.mark.parametrize("name,act_mid", [("2-shortcut", "identity"), ("xavier", "identity"), ("2-shortcut", "relu")])
def test_batched_grid_equals_one_rate_at_a_time(name, act_mid):
    cfg = ds.DepthSweepSettings(depth=[4], network=[name], measure="final-loss", act_mid=act_mid, trials=3, steps=40,
                         lr=[0.01, 0.1, 1.0, 300.0], samples=150 if act_mid == "relu" else None, seed=3)
    dataset = ds.load_data(cfg)
    moments = sc.second_moments(dataset.X, dataset.Y)
    cell = ds.final_loss_cell(cfg, ds.NETWORK_KINDS[name], 4, dataset, moments, sc.optimal_linear_loss(moments))
    oracle = one_at_a_time(cfg, name, 4, dataset, moments)
    for i, entry in enumerate(cell.grid):
        finite = np.isfinite(oracle[i])
        assert entry["diverged_trials"] == int(np.count_nonzero(~finite))
        if finite.all():
            assert entry["mean"] == pytest.approx(float(np.mean(oracle[i])), rel=1e-12, abs=0)
            assert entry["std"] == pytest.approx(float(np.std(oracle[i])), rel=1e-9, abs=1e-15)
    # the rate 300 diverges in every run: reported, not raised, and never the best
    assert cell.grid[-1]["diverged_trials"] == 3 and cell.grid[-1]["mean"] is None
    assert cell.status == "ok" and cell.best_lr != 300.0
    best = [i for i, e in enumerate(cell.grid) if e.get("best")]
    assert len(best) == 1 and cell.best_lr == cfg.lr[best[0]]
    np.testing.assert_allclose(cell.values, oracle[best[0]], rtol=1e-12)
    converged = [e["mean"] for e in cell.grid if e["diverged_trials"] == 0]
    assert cell.mean == min(converged)


def test_all_rates_diverging_is_a_result():
    cells = sweep(depth=[4], network=["2-shortcut", "orthogonal"], measure="final-loss", trials=2, steps=30,
                  lr=[500.0, 5000.0])
    for name in ("2-shortcut", "orthogonal"):
        c = cells[(name, 4)]
        assert c.status == "all-diverged" and c.mean is None and c.best_lr is None
        assert all(e["diverged_trials"] == 2 and "first_diverged_step" in e for e in c.grid)


def test_zero_init_training_stays_at_zero_for_two_shortcut():
    """Theorem 1's point is stationary (n >= 2): GD from exact zero does not move; its gap is L(0) − L_min."""
    cells = sweep(depth=[4], network=["2-shortcut"], measure="final-loss", init="zero", steps=20,
                  lr=[0.1, 1.0])
    c = cells[("2-shortcut", 4)]
    data = ds.load_data(ds.DepthSweepSettings())
    moments = sc.second_moments(data.X, data.Y)
    identity_gap = float(sc.linear_loss_gap(np.eye(10), moments))  # F(x) = x at zero (shortcuts only)
    assert c.trials == 1 and c.mean == pytest.approx(identity_gap, rel=1e-12) and "stationary" in c.note


def fake_gd(final_gaps, diverged):
    final_gaps = np.asarray(final_gaps, dtype=float)
    diverged = np.asarray(diverged, dtype=bool)
    gaps = np.stack([np.ones_like(final_gaps), np.where(diverged, np.inf, final_gaps)])
    return sc.GDResult(weights=None, losses=gaps + 1, gaps=gaps, grad_norms=None, diverged=diverged,
                       diverged_epoch=np.where(diverged, 1, -1), l_min=1.0)


def test_best_rate_and_flat_rules_on_a_hand_made_grid():
    cfg = ds.DepthSweepSettings(lr=[0.1, 1.0, 10.0], trials=2, measure="final-loss")
    kind = ds.NETWORK_KINDS["orthogonal"]
    net = sc.make_network(0, 2, 3)
    # rate 10 has the lowest mean but diverged in one run: excluded; best is rate 1
    cell = ds.summarise_grid(cfg, kind, 2, "orthogonal", net, fake_gd([[4, 6], [1, 3], [0.1, 0.1]],
                                                                      [[0, 0], [0, 0], [0, 1]]))
    assert cell.best_lr == 1.0 and cell.mean == 2.0 and cell.std == 1.0 and not cell.best_lr_flat
    assert cell.grid[2]["diverged_trials"] == 1 and cell.grid[2]["mean"] is None
    # all converged rates within 5% of each other: the best rate is flagged as not meaningful
    cell = ds.summarise_grid(cfg, kind, 2, "orthogonal", net, fake_gd([[1.0, 1.0], [0.97, 0.97], [0.99, 0.99]],
                                                                      np.zeros((3, 2))))
    assert cell.best_lr == 1.0 and cell.best_lr_flat and not cell.best_lr_at_edge
    # the best rate at the largest rate of the grid is flagged: the optimum may lie beyond it
    cell = ds.summarise_grid(cfg, kind, 2, "orthogonal", net, fake_gd([[4, 6], [1, 3], [0.1, 0.3]],
                                                                      np.zeros((3, 2))))
    assert cell.best_lr == 10.0 and cell.best_lr_at_edge and not cell.best_lr_flat
    assert any("edge of the --lr grid" in n for n in ds.sweep_notes(cfg, [cell]))


# --- validation --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [
    {"depth": [0]}, {"depth": []}, {"depth": [2, 2]}, {"network": ["resnet"]}, {"network": []},
    {"lr": []}, {"lr": [-0.1]}, {"lr": [float("nan")]}, {"measure": "final"}, {"act_mid": "tanh"},
    {"trials": 0}, {"steps": 0}, {"spectrum": "lanczos"}, {"exact_max_params": 0}, {"exact_max_params": 10**6},
    {"init": "xavier"}, {"lanczos_probes": 0}, {"jobs": 0}, {"seed": -1},
])
def test_bad_configs_raise_config_error(kw):
    with pytest.raises(ConfigError):
        ds.DepthSweepSettings.resolve(None, kw).validate()


def test_no_applicable_cell_and_exact_too_large_are_errors():
    with pytest.raises(ConfigError, match="multiple of n"):
        ds.run(ds.DepthSweepSettings(depth=[3], network=["2-shortcut"]))
    with pytest.raises(UserError, match="exact|would need"):  # a dense Hessian of 102,400 parameters
        ds.run(ds.DepthSweepSettings(depth=[1024], network=["xavier"], spectrum="exact"))


def test_structured_zero_init_is_exact_at_depth_128_and_matches_theorem1():
    """A 2-shortcut network at zero has one Hessian block per unit: depth 128 (12,800 parameters, above the
    old fixed cap) is exact under auto with the default --exact-max-params, and cond10 is Theorem 1's."""
    res = ds.run(ds.DepthSweepSettings(depth=[128, 129], network=["2-shortcut", "3-shortcut"], trials=1))
    cells = {(c.network, c.depth): c for c in res.cells}
    two, three = cells["2-shortcut", 128], cells["3-shortcut", 129]
    assert two.spectrum == "exact" and two.status == "ok" and two.n_params == 12800
    assert two.mean == pytest.approx(two.theory_cond10, rel=1e-10)
    assert three.spectrum == "exact" and three.status == "degenerate"


def test_cond10_beyond_float64_resolution_is_reported_not_inf(monkeypatch):
    """When |λ| at the 10th percentile is within the eigensolver's rounding (≤ 1e-12·|λ|max), cond10 is only
    known to exceed 1e12: the cell says so, with no inf or NaN in its mean."""
    from resnet_cli.experiments.shortcut_problem import Measurement
    from resnet_cli.spectrum import spectrum_stats

    spectra = iter([np.r_[np.zeros(3), np.linspace(1, 2, 17)], np.linspace(1, 2, 20)])

    def fake_measure(problem, W, spec, method=None, keep_matrix=False, **kw):
        return Measurement(spectrum_stats(next(spectra)))

    monkeypatch.setattr(ds, "measure_hessian", fake_measure)
    cells = sweep(depth=[2], network=["xavier"], trials=2)
    c = cells[("xavier", 2)]
    assert c.status == "beyond-precision" and c.mean is None and c.std is None
    assert c.extra["trials_beyond_precision"] == 1 and "> 1e12" in c.note


def test_cell_streams_come_from_the_rng_helper():
    """Cell streams are spawn_rngs(seed, 2, kind code, depth) == SeedSequence([seed, code, depth]).spawn(2)."""
    kind = ds.NETWORK_KINDS["xavier"]
    init_rng, probe_rng = ds.cell_generators(7, kind, 4)
    seqs = np.random.SeedSequence([7, kind.code, 4]).spawn(2)
    assert init_rng.random() == np.random.default_rng(seqs[0]).random()
    assert probe_rng.random() == np.random.default_rng(seqs[1]).random()


def test_the_counts_sentence_only_where_the_counts_run():
    """With --exact-max-params below d² the orthogonal and 1-shortcut cells are SLQ; the statement said they were
    exact by counts."""
    on = ds.DepthSweepSettings.resolve(None, {"depth": "2", "trials": 1})
    off = ds.DepthSweepSettings.resolve(None, {"depth": "2", "trials": 1, "exact_max_params": 1})
    assert "inertia counts" in ds.spectrum_statement(on)
    assert "inertia counts" not in ds.spectrum_statement(off)
    assert not ds.takes_counts(off, ds.build_network(off, ds.NETWORK_KINDS["orthogonal"], 2, 10), "orthogonal")


def test_the_counts_sentence_names_only_kinds_exact_at_every_depth():
    """At --init small the 1-shortcut network is not on the counts route: its depth-64 cell (6,400 parameters)
    is SLQ, and the footer said '1-shortcut networks exact at every depth'."""
    small = ds.DepthSweepSettings.resolve(None, {"depth": "8,64", "network": "1-shortcut,orthogonal", "init": "small",
                                                 "trials": 1})
    assert "orthogonal networks exact at every depth" in ds.spectrum_statement(small)
    assert "1-shortcut" not in ds.spectrum_statement(small)
    zero = ds.DepthSweepSettings.resolve(None, {"depth": "8,64", "network": "1-shortcut", "trials": 1})
    assert "1-shortcut networks exact at every depth" in ds.spectrum_statement(zero)


def test_a_network_absent_at_every_depth_gets_a_note():
    """The default depths (2, 4, …, 32) have no 3-shortcut network: its column was all n/a with no word why."""
    cfg = ds.DepthSweepSettings.resolve(None, {"depth": "2,4", "trials": 1, "network": "2-shortcut,3-shortcut"})
    cells = [ds.Cell("2-shortcut", 2, "init-cond", "ok", "zero"),
             ds.Cell("3-shortcut", 2, "init-cond", "not-applicable", "zero"),
             ds.Cell("3-shortcut", 4, "init-cond", "not-applicable", "zero")]
    notes = ds.sweep_notes(cfg, cells)
    assert "n/a: 3-shortcut has no network at any depth here (its depth must be a multiple of 3)" in notes
    assert not any("2-shortcut has no network" in n for n in notes)


def test_two_counts_certify_beyond_precision_exactly_where_the_eigenvalues_say_so():
    """Oracle: the dense spectrum. Xavier at depth 64 (d = 4): cond10 = inf by eigvalsh, and the counts say so
    with the same index and an |λ|max lower bound equal to it; at depth 32 cond10 ≈ 2e10 < 1e12, and the counts
    do not claim it."""
    from resnet_cli.experiments.shortcut_problem import Problem, certify_beyond_precision, exact_blocks

    cfg = ds.DepthSweepSettings.resolve(None, {"data": "gaussian", "dim": 4, "samples": 200})
    dataset = ds.load_data(cfg)
    moments = sc.second_moments(dataset.X, dataset.Y)
    kind = ds.NETWORK_KINDS["xavier"]
    for depth, beyond in ((64, True), (32, False)):
        net = ds.build_network(cfg, kind, depth, dataset.dim)
        init_rng, probe_rng = ds.cell_generators(0, kind, depth)
        W = sc.init_weights(net, "xavier", init_rng, batch_shape=(1,))[0]
        problem = Problem(net, dataset, moments, sc.optimal_linear_loss(moments), init_rng, probe_rng)
        exact = spectrum_stats(exact_blocks(problem, W).eigenvalues())
        got = certify_beyond_precision(problem, W)
        assert (exact.cond10 == np.inf) is beyond and (got is not None) is beyond
        if beyond:
            assert got.cond10 == np.inf and got.index == exact.index and got.approximate
            assert got.abs_max <= exact.abs_max * (1 + 1e-12) and got.abs_max == pytest.approx(exact.abs_max, rel=1e-9)


def test_a_large_dense_cell_beyond_precision_is_shown_by_counts():
    """From CERTIFY_FROM parameters on, init-cond tries the counts before the eigensolver: Xavier at depth 128
    with d = 4 (2,048 parameters) is beyond float64 in both trials, said without the eigenvalues."""
    cell = sweep(depth=[128], network=["xavier"], data="gaussian", dim=4, samples=200, trials=2, jobs=1)[("xavier", 128)]
    assert cell.status == "beyond-precision" and cell.extra["trials_certified_by_counts"] == 2
    assert cell.extra["abs_p10"] is None and "shown by two inertia counts" in cell.note


def test_a_one_layer_unit_has_no_mid_activation():
    """--act-mid relu on a 1-shortcut network changes nothing (no mid position): the network says mid=identity
    and takes the linear path; the note says the flag had no effect."""
    from resnet_cli.experiments.inert import inert_notices
    from resnet_cli.experiments.hessian import HessianSettings

    net = ds.sc.make_network(1, 4, 10, act_mid="relu")
    assert net.act_mid == "identity" and net.is_linear and "mid=identity" in net.describe()
    assert ds.sc.make_network(2, 4, 10, act_mid="relu").act_mid == "relu"
    cfg = HessianSettings.resolve(None, {"shortcut": 1, "depth": 4, "act_mid": "relu"})
    assert "note: --act-mid has no effect with --shortcut 1" in inert_notices(cfg, {"act_mid"})
    plain = HessianSettings.resolve(None, {"shortcut": 0, "depth": 6, "plain_unit": 3})
    assert any("--plain-unit has no effect on a linear network" in n for n in inert_notices(plain, {"plain_unit"}))


def test_a_relu_sweep_reports_every_kind_by_its_final_loss_and_claims_no_counts():
    """Under --act-mid relu the 1-shortcut network is linear (no mid position): its cell must still give the final
    loss, as the table's other cells do (it gave L − L_min, 2.9e-4 where the loss cannot go below L_min), and the
    footer names no kind as exact by counts (those cells go to eigvalsh)."""
    cfg = ds.DepthSweepSettings.resolve(None, {"measure": "final-loss", "act_mid": "relu", "network": "1-shortcut",
                                              "depth": "2", "trials": 1, "steps": 50, "lr": "0.01",
                                              "data": "gaussian", "dim": 3, "samples": 20, "jobs": 1})
    result = ds.run(cfg).to_dict()
    (row,) = result["rows"]
    assert row["mean"] >= result["data"]["l_min"] * (1 - 1e-12)
    relu = ds.DepthSweepSettings.resolve(None, {"depth": "24,32", "network": "orthogonal", "act_mid": "relu",
                                                "trials": 1})
    assert "inertia counts" not in ds.spectrum_statement(relu)
