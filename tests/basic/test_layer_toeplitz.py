"""The layer-Toeplitz form (resnet_cli/inertia.py, `LayerToeplitz`; resnet_cli/models/shortcut/linear.py,
`layer_toeplitz`) against the dense Hessian and numpy's eigvalsh: the similarity (same eigenvalues), the block
recursion's counts (same counts as a dense LDLᵀ), the statistics by counts (same as eigvalsh's to 1e-10) and
depth-sweep's counts route (same cells as the dense route)."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli import inertia
from resnet_cli.experiments import depth_sweep as ds
from resnet_cli.experiments import shortcut_problem as sp
from resnet_cli.models import shortcut as sc
from resnet_cli.spectrum import spectrum_stats


def _moments(rng: np.random.Generator, d: int) -> sc.SecondMoments:
    """Correlated inputs (Σ_XX far from I) and targets unrelated to them: nothing cancels by accident."""
    X = rng.standard_normal((60, d)) @ rng.standard_normal((d, d))
    return sc.second_moments(X, rng.standard_normal((60, d)))


def _network(kind: str, d: int, depth: int, rng: np.random.Generator) -> tuple[sc.ShortcutNet, np.ndarray]:
    if kind == "orthogonal":
        net = sc.make_network(0, depth, d)
        return net, sc.init_weights(net, "orthogonal", rng)
    net = sc.make_network(1, depth, d)
    return net, sc.init_weights(net, "zero", rng)


CASES = [("orthogonal", 3, 5), ("orthogonal", 4, 11), ("1-shortcut", 3, 6), ("1-shortcut", 4, 9),
         ("orthogonal", 2, 1)]


@pytest.mark.parametrize("kind,d,depth", CASES)
def test_the_form_has_the_dense_hessians_eigenvalues(kind, d, depth):
    rng = np.random.default_rng(depth)
    moments = _moments(rng, d)
    net, W = _network(kind, d, depth, rng)
    form = sc.layer_toeplitz(net, W, moments)
    assert form is not None and form.size == net.n_params
    dense = sc.linear_hessian(net, W, moments)
    lam = np.linalg.eigvalsh(dense)
    scale = np.abs(lam).max()
    assert np.abs(np.linalg.eigvalsh(form.to_dense()) - lam).max() <= 1e-12 * scale
    # the form is not the Hessian itself (orthogonal coordinates change), except at zero where Q_t = I
    if kind == "1-shortcut":
        assert np.abs(form.to_dense() - dense).max() <= 1e-13 * scale
    V = rng.standard_normal((3, form.size))
    assert np.abs(form.matvec(V) - V @ form.to_dense()).max() <= 1e-12 * scale
    assert form.gershgorin() == pytest.approx(inertia.gershgorin_bound(form.to_dense()), rel=1e-12)
    assert np.array_equal(form.diagonal(), np.diagonal(form.to_dense()))


@pytest.mark.parametrize("kind,d,depth", CASES[:4])
def test_block_recursion_counts_equal_dense_counts(kind, d, depth):
    """At the midpoints between well-separated eigenvalues and outside the spectrum (a count can change
    only within rounding of an eigenvalue, so closer midpoints say nothing)."""
    rng = np.random.default_rng(100 + depth)
    moments = _moments(rng, d)
    net, W = _network(kind, d, depth, rng)
    form = sc.layer_toeplitz(net, W, moments)
    lam = np.linalg.eigvalsh(sc.linear_hessian(net, W, moments))
    gaps = np.diff(lam)
    sigmas = np.concatenate([(lam[1:] + lam[:-1])[gaps > 1e-8 * np.abs(lam).max()] / 2,
                             [lam[0] - 1.0, lam[-1] + 1.0]])
    assert sigmas.size > net.n_params // 2
    for sigma in sigmas:
        assert form.count_below(sigma)[0] == np.count_nonzero(lam < sigma)
        assert form.count_below(sigma) == inertia.count_below(form.to_dense(), sigma)


def test_no_form_where_a_layer_map_is_not_orthogonal():
    rng = np.random.default_rng(0)
    moments = _moments(rng, 3)
    plain = sc.make_network(0, 4, 3)
    assert sc.layer_toeplitz(plain, sc.init_weights(plain, "xavier", rng), moments) is None
    one = sc.make_network(1, 4, 3)
    assert sc.layer_toeplitz(one, sc.init_weights(one, "small", rng), moments) is None
    two = sc.make_network(2, 4, 3)
    assert sc.layer_toeplitz(two, sc.init_weights(two, "zero", rng), moments) is None  # 2 layers a unit
    relu = sc.make_network(0, 4, 3, act_mid="relu")
    assert sc.layer_toeplitz(relu, sc.init_weights(relu, "orthogonal", rng), moments) is None


def test_brent_isolates_an_eigenvalue_in_few_factorisations():
    lam = np.array([-3.0, -1.0, 0.25, 0.2500001, 2.0, 7.0])
    H = np.diag(lam)
    a, b, spent = inertia._refine_single(H, 1.0, 3.0, 1e-13)
    assert a <= 2.0 <= b and b - a <= 1e-13
    assert spent <= 15  # bisection from width 2 to 1e-13 takes 44
    a, b, _ = inertia._refine_single(H, 0.24, 0.25000005, 1e-15)  # the lower one of a close pair
    assert a <= 0.25 <= b and b - a <= 1e-15


def test_brent_converges_where_a_neighbour_just_outside_bends_the_determinant():
    """The case met at the 10th percentile of a dense spectrum (orthogonal network, depth 48): the bracket
    from the counts holds one eigenvalue, and the next one lies a quarter of the bracket's width beyond its
    end. Regula falsi kept that end for 6 steps (15 factorisations to 1e-12); the certified ends hold."""
    rng = np.random.default_rng(3)
    target, neighbour = -0.7948690975415112, -0.79499199
    lam = np.concatenate([[neighbour, target, -0.79312879], rng.uniform(1.0, 5.0, 40), -rng.uniform(1.0, 5.0, 40)])
    H = np.diag(lam)
    a, b, spent = inertia._refine_single(H, -0.79494858445126537, -0.79478961063175713, 1e-12 * 0.795)
    assert a <= target <= b and b - a <= 1e-12 * 0.795
    assert spent <= 12


def test_bracket_spectrum_counts_each_shift_once():
    """Its searches meet at shifts already counted (`_Counted`): the factorisations reported are the ones made,
    fewer than the counts asked for."""
    rng = np.random.default_rng(5)
    lam = np.concatenate([rng.uniform(-2.0, -0.1, 60), rng.uniform(0.1, 3.0, 140)])
    made = []

    class Diagonal:
        size = lam.size

        def inertia_at(self, sigma):
            made.append(sigma)
            with np.errstate(divide="ignore"):  # a shift on an eigenvalue: log |det| = −inf, as a zero pivot gives
                return int(np.count_nonzero(lam < sigma)), 0, float(np.sum(np.log(np.abs(lam - sigma))))

        def diagonal(self):
            return lam

        def gershgorin(self):
            return float(np.abs(lam).max())

    b = inertia.bracket_spectrum(Diagonal(), 1e-12)
    assert b["factorisations"] == len(made) == len(set(made))
    want = spectrum_stats(lam)
    assert 0.5 * sum(b["abs_p10"]) == pytest.approx(want.abs_p10, rel=1e-11)
    assert 0.5 * sum(b["abs_max"]) == pytest.approx(want.abs_max, rel=1e-11)


@pytest.mark.parametrize("kind,depth", [("orthogonal", 24), ("1-shortcut", 20)])
def test_statistics_by_counts_equal_eigvalsh_statistics(kind, depth):
    """d = 10 (the digits' 10 components), where the counts route starts (COUNTS_FROM parameters)."""
    cfg = ds.DepthSweepSettings(depth=[depth], network=[kind], trials=1)
    data = ds.load_data(cfg)
    moments = sc.second_moments(data.X, data.Y)
    net = ds.build_network(cfg, ds.NETWORK_KINDS[kind], depth, data.dim)
    init = ds.init_for(cfg, ds.NETWORK_KINDS[kind])
    init_rng, probe_rng = ds.cell_generators(0, ds.NETWORK_KINDS[kind], depth)
    problem = sp.Problem(net, data, moments, 0.0, init_rng, probe_rng)
    W = sc.init_weights(net, init, init_rng)
    got = sp.measure_by_counts(problem, W, cfg)
    want = spectrum_stats(np.linalg.eigvalsh(sc.linear_hessian(net, W, moments)))
    for key in ("abs_max", "abs_p10", "cond10", "lambda_min", "lambda_max"):
        assert getattr(got.stats, key) == pytest.approx(getattr(want, key), rel=1e-10), key
    assert got.stats.index == want.index and not got.stats.approximate
    b = got.brackets
    assert b["abs_p10"][1] - b["abs_p10"][0] <= sp.COUNT_WIDTH * b["abs_p10"][1]
    assert b["factorisations"] < 150


def test_depth_sweep_takes_the_counts_route_with_the_dense_routes_numbers(monkeypatch):
    """The route is chosen from COUNTS_FROM parameters on (depth 24 here); the two routes are then compared at
    depth 12 with the threshold lowered to 1,000 parameters (the same code, a dense side 10x cheaper)."""
    cfg = ds.DepthSweepSettings(depth=[24], network=["orthogonal", "1-shortcut"], trials=2, jobs=1)
    assert [ds.counted(cfg, ds.NETWORK_KINDS[k], depth) for k, depth in
            (("orthogonal", 24), ("1-shortcut", 24), ("xavier", 24), ("orthogonal", 16))] == [True, True, False, False]
    assert ds.exact_size(cfg, ds.NETWORK_KINDS["orthogonal"], 24) == 100
    monkeypatch.setattr(sp, "COUNTS_FROM", 1000)
    cfg = ds.DepthSweepSettings(depth=[12], network=["orthogonal", "1-shortcut"], trials=2, jobs=1)
    assert ds.counted(cfg, ds.NETWORK_KINDS["orthogonal"], 12)
    counted = {c.network: c for c in ds.run(cfg).cells}
    monkeypatch.setattr(sp, "COUNTS_FROM", 10**9)
    dense = {c.network: c for c in ds.run(cfg).cells}
    for kind in ("orthogonal", "1-shortcut"):
        assert "inertia counts" in counted[kind].extra["exact_by"] and "exact_by" not in dense[kind].extra
        assert counted[kind].spectrum == dense[kind].spectrum == "exact"
        np.testing.assert_allclose(counted[kind].values, dense[kind].values, rtol=1e-10)


def test_counts_fall_back_to_the_dense_spectrum_where_a_map_is_not_orthogonal():
    """A network the counts route was chosen for, at weights that are not orthogonal (here: scaled by 1.01),
    gets the dense exact statistics, not an error."""
    cfg = ds.DepthSweepSettings(depth=[4], network=["orthogonal"], trials=1)
    data = ds.load_data(cfg)
    moments = sc.second_moments(data.X, data.Y)
    net = sc.make_network(0, 4, data.dim)
    W = 1.01 * sc.init_weights(net, "orthogonal", np.random.default_rng(0))
    problem = sp.Problem(net, data, moments, 0.0, None, np.random.default_rng(1))
    got = sp.measure_by_counts(problem, W, cfg)
    want = spectrum_stats(np.linalg.eigvalsh(sc.linear_hessian(net, W, moments)))
    assert got.brackets is None and got.eigenvalues is not None
    assert got.stats.cond10 == pytest.approx(want.cond10, rel=1e-10)
