"""Error bounds of stochastic Lanczos quadrature (resnet_cli/spectrum.py `slq_bounds`) against eigvalsh.

Oracles: the exact spectral measure of each probe (eigenvectors of the matrix) for the per-probe
Chebyshev–Markov–Stieltjes brackets; Monte Carlo for the variance of a Rademacher quadratic form; and
coverage — the exact |λ| percentile and cond10 (`spectrum_stats`) inside the intervals in at least 95 % of
100 seeded cases (random, structured with repeated eigenvalues, wide dynamic range, shortcut Hessians).
"""

import numpy as np
import pytest

from resnet_cli.spectrum import (
    CONFIDENCE, PERCENTILE, _brackets, rademacher, sampling_margin, slq_quadrature, slq_stats, spectrum_stats,
)


def orthogonal(n, rng):
    return np.linalg.qr(rng.standard_normal((n, n)))[0]


def matrix(kind, n, rng):
    """A symmetric test matrix of one of four kinds."""
    if kind == "wigner":
        A = rng.standard_normal((n, n))
        return (A + A.T) / 2
    if kind == "repeated":  # few distinct eigenvalues (like Theorem 1's ±σ_i(A), each R·d times)
        lam = np.repeat(rng.standard_normal(int(rng.integers(3, 12))), n)[:n]
    elif kind == "graded":  # eigenvalues over many decades, both signs (like deep plain networks)
        lam = rng.choice([-1.0, 1.0], n) * 10.0 ** rng.uniform(-8, 0, n)
    else:  # "lowrank": a tenth or more of the eigenvalues exactly zero
        lam = rng.standard_normal(n) * (rng.random(n) > rng.uniform(0.05, 0.4))
    Q = orthogonal(n, rng)
    return (Q * lam) @ Q.T


@pytest.mark.parametrize("seed", range(12))
def test_per_probe_brackets_hold_against_the_exact_measure(seed):
    """Each probe's spectral distribution (weights (uᵀq_i)² at λ_i) lies between its two step functions."""
    rng = np.random.default_rng(seed)
    kind = ("wigner", "repeated", "graded", "lowrank")[seed % 4]
    n = int(rng.integers(30, 120))
    H = matrix(kind, n, rng)
    lam, Q = np.linalg.eigh(H)
    V = rademacher(rng, 3, n)
    quad = slq_quadrature(lambda X: X @ H, n, int(rng.integers(2, 25)), 3, vectors=V)
    mass = ((V / np.sqrt(n)) @ Q) ** 2  # (probes, n): the exact measure of each probe
    scale = np.abs(lam).max()
    t = np.concatenate([np.abs(lam), np.linspace(0, 1.1 * scale, 50)])
    low, high = _brackets(quad, t, absolute=True)
    exact = np.array([(w[None, :] * (np.abs(lam)[None, :] <= t[:, None])).sum(1) for w in mass])
    tol = 1e-8  # Ritz values of a converged run equal eigenvalues up to rounding
    shifted = np.array([(w[None, :] * (np.abs(lam)[None, :] <= t[:, None] * (1 + 1e-9) + 1e-12 * scale)).sum(1)
                        for w in mass])
    assert np.all(low <= shifted + tol)
    assert np.all(high >= np.array([(w[None, :] * (np.abs(lam)[None, :] <= t[:, None] * (1 - 1e-9) - 1e-12 * scale))
                                    .sum(1) for w in mass]) - tol)
    x = np.concatenate([lam, np.linspace(-1.1 * scale, 1.1 * scale, 50)])
    low, high = _brackets(quad, x, absolute=False)
    up = np.array([(w[None, :] * (lam[None, :] < x[:, None] + 1e-9 * scale)).sum(1) for w in mass])
    down = np.array([(w[None, :] * (lam[None, :] < x[:, None] - 1e-9 * scale)).sum(1) for w in mass])
    assert np.all(low <= up + tol) and np.all(high >= down - tol)
    assert exact.shape == low.shape[:1] + t.shape


def test_rademacher_quadratic_form_variance_bound_by_monte_carlo():
    """Var(vᵀPv/n) ≤ 2g(1 − g)/n for a spectral projector P of rank gn (the variance behind the margin)."""
    rng = np.random.default_rng(5)
    n, r = 40, 9
    U = orthogonal(n, rng)[:, :r]
    V = rademacher(rng, 20000, n)
    g = ((V @ U) ** 2).sum(1) / n
    assert abs(g.mean() - r / n) < 5 * np.sqrt(2 * (r / n) * (1 - r / n) / n / 20000)
    assert g.var() <= 2 * (r / n) * (1 - r / n) / n * 1.05


def test_sampling_margin_shrinks_with_samples_and_meets_cantelli():
    a, b = sampling_margin(0.1, 800 * 8, 0.025, "below"), sampling_margin(0.1, 800 * 32, 0.025, "below")
    assert 0 < b < a
    assert b == pytest.approx(a / 2, rel=0.05)  # 1/√(nm) scaling
    s2 = 2 * 0.1 * 0.9 / (800 * 8)
    assert s2 / (s2 + a**2) <= 0.025 + 1e-9  # Cantelli at g = level


def shortcut_hessians():
    """A few exact Hessians of the project's networks (small, at init) for the coverage cases."""
    from resnet_cli.data import load_dataset
    from resnet_cli.models import shortcut as sc

    rng = np.random.default_rng(11)
    ds = load_dataset("gaussian", rng, samples=200, dim=4)
    out = []
    for shortcut, init, depth in ((2, "zero", 6), (2, "small", 6), (1, "small", 4), (0, "xavier", 8),
                                  (0, "orthogonal", 6), (3, "small", 6)):
        net = sc.make_network(shortcut, depth, ds.dim, plain_unit=2)
        W = sc.init_weights(net, init, rng, batch_shape=(1,))[0]
        out.append(sc.hessian(net, W, ds.X, ds.Y))
    return out


def test_slq_intervals_cover_the_exact_percentile_and_cond10():
    """In ≥ 95 % of 100 seeded cases the exact |λ| 10th percentile and cond10 lie inside the 95 % intervals
    (in practice the bounds are conservative: every case is covered)."""
    cases = []
    hessians = shortcut_hessians()
    for seed in range(100):
        rng = np.random.default_rng(1000 + seed)
        if seed < 2 * len(hessians):
            H = hessians[seed % len(hessians)]
        else:
            H = matrix(("wigner", "repeated", "graded", "lowrank")[seed % 4], int(rng.integers(60, 250)), rng)
        n = H.shape[0]
        exact = spectrum_stats(np.linalg.eigvalsh(H))
        if exact.zero_matrix:
            continue
        quad = slq_quadrature(lambda X: X @ H, n, int(rng.integers(15, 50)), int(rng.integers(4, 10)), rng)
        b = slq_stats(quad).bounds
        assert b["confidence"] == CONFIDENCE
        p, c = b["abs_p10"], b["cond10"]
        covered = p["lower"] <= exact.abs_p10 <= p["upper"] and (
            c["lower"] <= exact.cond10 <= c["upper"] if np.isfinite(exact.cond10) else c["upper"] == np.inf)
        covered &= b["abs_max"]["lower"] <= exact.abs_max * (1 + 1e-9) and exact.abs_max <= b["abs_max"]["upper"] * (1 + 1e-9)
        covered &= b["index"]["lower"] <= exact.index <= b["index"]["upper"]
        cases.append(covered)
    assert len(cases) >= 95
    assert np.mean(cases) >= 0.95, f"covered {sum(cases)} of {len(cases)}"


def test_edge_intervals_hold_at_few_lanczos_steps_and_to_the_last_bit():
    """λmin, λmax and |λ|max hold the exact values with no tolerance in 240 cases of 2–12 Lanczos steps
    (where Ritz residuals do not yet bound the extreme eigenvalues, the outer end is ±∞), and at many steps,
    where the interval collapses onto the exact value, rounding does not push it out."""
    unbounded = 0
    for seed in range(240):
        rng = np.random.default_rng(5000 + seed)
        H = matrix(("wigner", "repeated", "graded", "lowrank")[seed % 4], int(rng.integers(12, 80)), rng)
        lam = np.linalg.eigvalsh(H)
        steps = int(rng.integers(2, 7)) if seed % 3 else int(rng.integers(30, 60))
        b = slq_stats(slq_quadrature(lambda X: X @ H, H.shape[0], steps, int(rng.integers(1, 4)), rng)).bounds
        if b is None:
            continue
        assert b["lambda_min"]["lower"] <= lam[0] <= b["lambda_min"]["upper"], seed
        assert b["lambda_max"]["lower"] <= lam[-1] <= b["lambda_max"]["upper"], seed
        assert b["abs_max"]["lower"] <= np.abs(lam).max() <= b["abs_max"]["upper"], seed
        unbounded += not b["edges_converged"]
        assert b["edges_converged"] == (np.isfinite(b["lambda_min"]["lower"]) and np.isfinite(b["lambda_max"]["upper"]))
    assert 40 <= unbounded <= 200  # few steps leave edges open; many close them


def test_exact_quadrature_brackets_theorem1_percentile():
    """At a 2-shortcut network's zero point Lanczos exhausts the Krylov space (few distinct eigenvalues):
    every probe is exact and the interval is the two |λ| values around the 10th percentile."""
    H = shortcut_hessians()[0]
    n = H.shape[0]
    quad = slq_quadrature(lambda X: X @ H, n, 40, 6, np.random.default_rng(2))
    assert quad.exact.all()
    b = slq_stats(quad).bounds
    mags = np.sort(np.abs(np.linalg.eigvalsh(H)))
    i = int(np.floor(PERCENTILE / 100 * (n - 1)))
    assert b["abs_p10"]["lower"] <= mags[i] and mags[i + 1] <= b["abs_p10"]["upper"]
    assert b["abs_p10"]["upper"] <= mags[-1] + 1e-9


def fast_orthogonal(n, rng):
    """A dense random orthogonal Q as two rounds of signs, orthonormal DCT and permutation (O(n log n) per
    product): (Q, Qᵀ) as functions on the rows of a block."""
    from scipy.fft import dct, idct

    d1, d2 = rng.choice([-1.0, 1.0], n), rng.choice([-1.0, 1.0], n)
    p1, p2 = rng.permutation(n), rng.permutation(n)
    i1, i2 = np.argsort(p1), np.argsort(p2)

    def Q(X):
        return dct(d2 * dct(d1 * X, norm="ortho", axis=-1)[..., p1], norm="ortho", axis=-1)[..., p2]

    def QT(Y):
        return d1 * idct((d2 * idct(Y[..., i2], norm="ortho", axis=-1))[..., i1], norm="ortho", axis=-1)

    return Q, QT


def test_fast_orthogonal_is_orthogonal():
    Q, QT = fast_orthogonal(40, np.random.default_rng(0))
    M = Q(np.eye(40))
    assert np.allclose(M @ M.T, np.eye(40), atol=1e-13) and np.allclose(QT(np.eye(40)), M.T, atol=1e-13)


def test_informative_intervals_cover_at_the_stated_confidence():
    """100 seeded spectra of order 600 with known eigenvalues (H = Q diag(λ) Qᵀ), 40–80 Lanczos steps, 8–14
    probes: the intervals are informative (cond10 within a factor 10) in many cases and cover the exact
    percentile and cond10 in ≥ 95 % of all cases."""
    n, covered, informative = 600, 0, 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        Q, QT = fast_orthogonal(n, rng)
        lam = (rng.standard_normal(n), rng.uniform(0.2, 3, n) * rng.choice([-1, 1], n),
               np.repeat(rng.standard_normal(25), n // 25),
               rng.gamma(2.0, 1.0, n) * np.where(rng.random(n) < 0.3, -1, 1))[seed % 4]
        exact = spectrum_stats(lam)
        quad = slq_quadrature(lambda X: Q(lam * QT(X)), n, int(rng.integers(40, 81)), int(rng.integers(8, 15)), rng)
        b = slq_stats(quad).bounds
        p, c = b["abs_p10"], b["cond10"]
        covered += p["lower"] <= exact.abs_p10 <= p["upper"] and c["lower"] <= exact.cond10 <= c["upper"]
        informative += not b["cond10_too_wide"]
    assert covered >= 95, covered
    assert informative >= 30, informative
