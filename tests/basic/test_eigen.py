"""resnet_cli/eigen.py against numpy's eigvalsh: every eigensolver route, block splitting, the known block
structure of shortcut Hessians at zero (Li et al. 2017 Theorem 1), Sylvester inertia counts and the
certified brackets of --spectrum inertia."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli import eigen, inertia
from resnet_cli.data import load_digits
from resnet_cli.models import shortcut as sc
from resnet_cli.spectrum import spectrum_stats


def _random_symmetric(rng: np.random.Generator, n: int) -> np.ndarray:
    A = rng.standard_normal((n, n))
    return (A + A.T) / 2


def _with_spectrum(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((lam.size, lam.size)))
    A = (Q * lam) @ Q.T
    return (A + A.T) / 2


def _block_structured(rng: np.random.Generator, sizes: list[int], permute: bool = True) -> np.ndarray:
    """Symmetric blocks of `sizes` (some repeated bitwise), then a random symmetric permutation."""
    blocks = [_random_symmetric(rng, k) for k in sizes]
    blocks[-1] = blocks[0].copy() if sizes[-1] == sizes[0] else blocks[-1]
    n = sum(sizes)
    H = np.zeros((n, n))
    at = 0
    for B in blocks:
        H[at: at + B.shape[0], at: at + B.shape[0]] = B
        at += B.shape[0]
    if not permute:
        return H
    perm = rng.permutation(n)
    return H[np.ix_(perm, perm)]


@pytest.mark.parametrize("solver", eigen.SOLVERS)
def test_every_solver_equals_numpy_to_1e_10(solver):
    if solver == "mkl" and not eigen.mkl_available():
        pytest.skip("the optional mkl route needs torch (the bench extra)")
    rng = np.random.default_rng(7)
    for n in (1, 2, 37, 160):
        H = _random_symmetric(rng, n)
        ref = np.linalg.eigvalsh(H)
        got = eigen.eigvalsh(H.copy(), solver, overwrite=True)
        assert np.abs(got - ref).max() <= 1e-10 * np.abs(ref).max()


def test_auto_names_a_real_solver_at_every_size():
    for n in (1, 500, 2000, 10_000, 10**6):
        assert eigen.choose_solver(n) in eigen.SOLVERS[1:]


def test_every_vendor_table_is_ascending_and_ends_with_the_two_stage_route():
    for table, mkl_from in eigen._MEASURED.values():
        limits = [limit for limit, _ in table]
        assert limits == sorted(limits) and table[-1] == (10**9, "evd2") and mkl_from > limits[0]
        assert all(name in eigen.SOLVERS for _, name in table)
    assert (eigen.AUTO_SOLVERS, eigen.MKL_FROM) in eigen._MEASURED.values()


def test_auto_takes_mkl_only_where_measured_faster_and_installed(monkeypatch):
    monkeypatch.setattr(eigen, "mkl_available", lambda: True)
    assert eigen.choose_solver(eigen.MKL_FROM) == "mkl"
    assert eigen.choose_solver(eigen.MKL_FROM - 1) != "mkl"
    monkeypatch.setattr(eigen, "mkl_available", lambda: False)
    assert eigen.choose_solver(10**6) != "mkl"
    with pytest.raises(ValueError, match="needs torch"):
        eigen.eigvalsh(np.eye(3), "mkl")


def test_components_and_block_eigenvalues_equal_the_dense_matrix():
    rng = np.random.default_rng(3)
    for sizes in ([3, 5, 3], [1, 1, 7, 2], [10], [4, 4, 4, 4]):
        H = _block_structured(rng, sizes)
        parts = eigen.components(H)
        assert sorted(p.size for p in parts) == sorted(sizes)
        for p in parts:  # no entry joins two components
            outside = np.setdiff1d(np.arange(H.shape[0]), p)
            assert not np.any(H[np.ix_(p, outside)])
        split = eigen.split_blocks(H)
        np.testing.assert_array_equal(split.to_dense(), H)
        ref = np.linalg.eigvalsh(H)
        assert np.abs(split.eigenvalues() - ref).max() <= 1e-10 * np.abs(ref).max()
    # equal blocks are solved once
    H = _block_structured(rng, [6, 2, 6], permute=False)
    assert sorted(count for _, count in eigen.split_blocks(H).distinct()) == [1, 2]


@pytest.fixture(scope="module")
def moments():
    data = load_digits()
    return sc.second_moments(data.X, data.Y)


@pytest.mark.parametrize("shortcut,depth", [(2, 2), (2, 8), (3, 6), (4, 8)])
def test_shortcut_hessian_blocks_at_zero_are_the_dense_hessian(moments, shortcut, depth):
    """At w = 0 a linear n-shortcut network (n ≥ 2) has one Hessian block per unit; the blocks built
    without the dense matrix equal it entry for entry, and their eigenvalues equal dense eigvalsh."""
    net = sc.make_network(shortcut, depth, 10)
    W = np.zeros(net.weight_shape)
    H = sc.hessian(net, W, moments=moments)
    blocks = sc.hessian_blocks(net, W, moments)
    assert blocks.size == net.n_params and blocks.largest == shortcut * 100
    np.testing.assert_array_equal(blocks.to_dense(), H)
    ref = np.linalg.eigvalsh(H)
    scale = max(np.abs(ref).max(), 1e-300)
    assert np.abs(blocks.eigenvalues() - ref).max() <= 1e-10 * scale
    # the detected components are at least as fine as the units
    assert len(eigen.components(H)) >= net.units


def test_hessian_blocks_only_where_the_structure_is_known(moments):
    rng = np.random.default_rng(0)
    for shortcut, init in ((2, "small"), (1, "zero"), (0, "zero")):
        net = sc.make_network(shortcut, 4, 10)
        W = sc.init_weights(net, init, rng)
        assert sc.hessian_blocks(net, W, moments) is None
    relu = sc.make_network(2, 4, 10, act_mid="relu")
    assert sc.hessian_blocks(relu, np.zeros(relu.weight_shape), moments) is None


def _gap_shifts(lam: np.ndarray) -> list[float]:
    """Shifts halfway between distinct eigenvalues (and outside), where a count is well defined."""
    u = np.unique(np.round(lam, 9))
    mids = list((u[:-1] + u[1:]) / 2) if u.size > 1 else []
    span = max(np.abs(lam).max(), 1.0)
    return [float(u[0] - span), float(u[-1] + span)] + [float(m) for m in mids[:: max(1, len(mids) // 6)]]


def _matrices():
    """60 test matrices: random, block-structured (as BlockMatrix too), and with clusters at 0."""
    rng = np.random.default_rng(11)
    out = []
    for i in range(20):
        out.append(("random", _random_symmetric(rng, int(rng.integers(1, 120)))))
    for i in range(20):
        sizes = [int(k) for k in rng.integers(1, 12, size=int(rng.integers(2, 6)))]
        out.append(("blocks", _block_structured(rng, sizes)))
    for i in range(20):
        n = int(rng.integers(5, 120))
        lam = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 1, n)
        zeros = int(rng.integers(1, n))
        lam[:zeros] = rng.standard_normal(zeros) * 1e-13  # a cluster within rounding of 0
        out.append(("zero-cluster", _with_spectrum(rng, lam)))
    return out


@pytest.mark.parametrize("kind,H", _matrices(), ids=lambda v: v if isinstance(v, str) else "")
def test_inertia_counts_equal_eigvalsh_counts(kind, H):
    lam = np.linalg.eigvalsh(H)
    for sigma in _gap_shifts(lam):
        assert inertia.count_below(H, sigma)[0] == np.count_nonzero(lam < sigma)
        if kind == "blocks":
            assert eigen.split_blocks(H).count_below(sigma)[0] == np.count_nonzero(lam < sigma)
    eps = 1e-9 * np.abs(lam).max()
    got = inertia.inertia_counts(H, eps)
    assert (got.negative, got.near_zero, got.positive) == (
        np.count_nonzero(lam < -eps), np.count_nonzero(np.abs(lam) <= eps), np.count_nonzero(lam > eps))


def test_a_count_in_place_is_the_count_of_a_copy():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((60, 60))
    H = A + A.T
    for sigma in (-1.0, 0.0, 2.5):
        copied = inertia.inertia_at(H, sigma)
        assert np.array_equal(H, A + A.T)  # without overwrite, H is left as it was
        for order in ("C", "F"):
            consumed = np.array(H, order=order)
            assert inertia.inertia_at(consumed, sigma, overwrite=True) == copied  # bit for bit, logdet included
            assert not np.array_equal(consumed, H)  # factorised in place: no copy was made
        assert eigen.BlockMatrix.dense(H.copy()).count_below(sigma, overwrite=True) == copied[:2]


def test_inertia_handles_exact_zeros_and_two_by_two_pivots():
    assert inertia.count_below(np.zeros((4, 4)), 0.0) == (0, 4)
    assert inertia.count_below(np.zeros((4, 4)), 1.0) == (4, 0)
    J = np.array([[0.0, 1.0], [1.0, 0.0]])  # needs a 2×2 pivot: eigenvalues ±1
    assert inertia.count_below(J, 0.0) == (1, 0)
    assert inertia.count_below(J, 2.0) == (2, 0)
    assert inertia.count_below(J, -2.0) == (0, 0)


@pytest.mark.parametrize("seed", range(6))
def test_certified_brackets_contain_the_exact_statistics(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 200))
    lam = rng.standard_normal(n) * np.exp(rng.uniform(-6, 2, n))
    H = _with_spectrum(rng, lam)
    exact = spectrum_stats(np.linalg.eigvalsh(H))
    hint = exact.abs_p10 * float(rng.uniform(0.1, 10)) if seed % 2 else None
    ritz = (exact.lambda_min * 0.99, exact.lambda_max * 0.99) if seed % 3 else None
    b = inertia.bracket_spectrum(H, 1e-3, ritz=ritz, p10_hint=hint)
    for key, value in (("abs_max", exact.abs_max), ("abs_p10", exact.abs_p10), ("cond10", exact.cond10),
                       ("lambda_min", exact.lambda_min), ("lambda_max", exact.lambda_max)):
        lo, hi = b[key]
        assert lo <= value * (1 + 1e-12) and value <= hi * (1 + 1e-12), key
    for key in ("abs_max", "abs_p10"):
        assert (b[key][1] - b[key][0]) <= 1e-3 * b[key][1] * (1 + 1e-9)
    assert b["negative"] == int(round(exact.index * n))


def test_brackets_hold_the_exact_edges_when_ritz_values_round_outside():
    """Converged Ritz values may lie a rounding outside [λmin, λmax]: the brackets still hold the exact edges,
    compared with no tolerance."""
    rng = np.random.default_rng(7)
    lam = rng.standard_normal(60)
    H = _with_spectrum(rng, lam)
    exact = np.linalg.eigvalsh(H)
    ritz = (exact[0] - 4e-15 * abs(exact[0]), exact[-1] + 4e-15 * abs(exact[-1]))
    b = inertia.bracket_spectrum(H, 1e-12, ritz=ritz)
    assert b["lambda_min"][0] <= exact[0] <= b["lambda_min"][1]
    assert b["lambda_max"][0] <= exact[-1] <= b["lambda_max"][1]
    assert b["abs_max"][0] <= np.abs(exact).max() <= b["abs_max"][1]


def test_brackets_of_a_zero_and_a_beyond_precision_spectrum():
    assert inertia.bracket_spectrum(np.zeros((5, 5)))["zero_matrix"]
    rng = np.random.default_rng(2)
    lam = np.r_[np.zeros(10), np.linspace(1, 2, 30)]
    b = inertia.bracket_spectrum(_with_spectrum(rng, lam), 1e-2)
    assert b["beyond_precision"] and b["cond10"] is None and b["near_zero"] == 10


@pytest.mark.parametrize("network", ["resnet", "fc"])
def test_critical_point_inertia_counts_equal_its_eigenvalue_counts(network):
    """`critical_points.analyse_point` reports the index twice: from eigenvalues and by inertia."""
    from resnet_cli.models import critical_points as cp
    from resnet_cli.models import deep_resnet as dr

    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((3, 12)), rng.standard_normal((2, 12))  # samples are columns here
    shape = dr.ResNetShape(3, 3, 2, 2, 2) if network == "resnet" else dr.FCShape(3, 3, 2, 2)
    pr = cp.Problem(shape, X, Y)
    for _ in range(3):
        theta = rng.standard_normal(pr.n_params)
        info = cp.analyse_point(pr, theta, linear_risk=0.0, probe_directions=0)
        h = info["hessian"]
        assert (h["inertia"]["negative"], h["inertia"]["zero"], h["inertia"]["positive"]) == (
            h["negative"], h["zero"], h["positive"])
