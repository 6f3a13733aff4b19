"""The sample/SGD/stride engine (docs/train.md) and the theorem checks against independent oracles: finite
differences, Monte Carlo, the non-overlapping closed form of `two_layer.py`, explicit loops, and hand-made
traces."""

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import optim
from resnet_cli.models.two_layer import population as tl
from resnet_cli.models.two_layer import samples as ts
from resnet_cli.models.two_layer import theorems as th

PI = math.pi
CRITERIA = optim.Criteria(1e-2, 1e-2, PI / 4)  # phi_tol, a_tol, spurious_tol: the train command's defaults


def teacher_and_point(rng, n, p, k):
    """n teachers (unit v*, a*) and n points (unit v, a)."""
    return tl.sample_sphere(rng, n, p), rng.standard_normal((n, k)), tl.sample_sphere(rng, n, p), rng.standard_normal((n, k))


def offset_of(student, p):
    return tl.unit_e(p) if student == "resnet" else 0.0


def central_differences(f, x, h):
    """∂f/∂x_i for each coordinate of the last axis of x (f returns one value per leading row)."""
    out = np.empty_like(x)
    for i in range(x.shape[-1]):
        dx = np.zeros_like(x)
        dx[..., i] = h
        out[..., i] = (f(x + dx) - f(x - dx)) / (2 * h)
    return out


# --- inputs and patches --------------------------------------------------------------------------------------


@pytest.mark.parametrize("law", ts.LAWS)
def test_input_laws_have_mean_zero_and_unit_variance(law):
    x = ts.sample_inputs(np.random.default_rng(3), (200_000,), law)
    assert abs(x.mean()) < 4 / math.sqrt(x.size)
    assert abs(x.var() - 1) < 0.02


@pytest.mark.parametrize("p,k,s", [(5, 3, 5), (5, 4, 2), (4, 3, 1), (6, 2, 4)])
def test_patches_view_matches_the_index_array(p, k, s):
    d = ts.input_dim(p, k, s)
    x = np.random.default_rng(0).standard_normal((2, 7, d))
    z = ts.patches(x, p, s)
    assert z.shape == (2, 7, k, p)
    np.testing.assert_array_equal(z, x[..., ts.patch_index(p, k, s)])
    with pytest.raises(ValueError):
        ts.patches(x[..., :-1], p, s) if s > 1 else ts.check_stride(p, p + 1)


def test_per_trial_generators_make_a_trials_data_independent_of_the_batch():
    rng = np.random.default_rng(6)
    v_star, a_star, _, _ = teacher_and_point(rng, 3, 4, 3)
    gens = lambda: ts.trial_generators(np.random.default_rng(1), 3)  # noqa: E731
    x, y = ts.draw_training_set(gens(), v_star, a_star, 40, stride=2, law="uniform", label_noise=0.3)
    x1, y1 = ts.draw_training_set(gens()[1:2], v_star[1:2], a_star[1:2], 40, stride=2, law="uniform", label_noise=0.3)
    np.testing.assert_array_equal(x[1:2], x1)
    np.testing.assert_array_equal(y[1:2], y1)
    assert x.shape == (3, 40, ts.input_dim(4, 3, 2)) and np.abs(x).max() <= math.sqrt(3)
    clean = ts.outputs(ts.patches(x, 4, 2), v_star, a_star)
    assert 0.2 < np.std(y - clean) < 0.4  # the label noise is there, at its scale


# --- the empirical loss --------------------------------------------------------------------------------------


@pytest.mark.parametrize("p,k,s", [(5, 3, 5), (5, 3, 2), (4, 4, 1)])
@pytest.mark.parametrize("student", ["resnet", "cnn"])
def test_empirical_gradients_match_finite_differences(p, k, s, student):
    rng = np.random.default_rng(10 * p + k + s)
    n, n_samples = 2, 60
    v_star, a_star, _, a = teacher_and_point(rng, n, p, k)
    x, y = ts.draw_training_set(rng, v_star, a_star, n_samples, stride=s, label_noise=0.1)
    z = ts.patches(x, p, s)
    off = offset_of(student, p)
    w = 0.5 * rng.standard_normal((n, p))
    grad_w, grad_a = ts.empirical_gradient_w(w, a, z, y, off)
    fd_w = central_differences(lambda ww: ts.empirical_loss_w(ww, a, z, y, off), w, 1e-6)
    fd_a = central_differences(lambda aa: ts.empirical_loss_w(w, aa, z, y, off), a, 1e-6)
    np.testing.assert_allclose(grad_w, fd_w, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(grad_a, fd_a, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("s", [4, 2])
def test_empirical_loss_converges_to_the_population_loss_like_one_over_root_n(s):
    """Fixed (v, a), fresh samples per N and trial: mean |L̂ − L| ∝ N^(−1/2).

    Measured (seed 5): mean slope −0.486 (s = 4) and −0.479 (s = 2); the CLT ratio below stays in 0.81–1.18.
    Tolerances: slope −1/2 ± 0.1 (the fit's noise over 3 × 96 gaps is ≈ ±0.04) and, per N,
    mean|gap| · √N / (√(2/π) sd(err²)) ∈ [0.75, 1.25] (the CLT value is 1)."""
    rng = np.random.default_rng(5)
    p, k, trials = 4, 3, 96
    sizes = np.array([250, 1000, 4000, 16000])
    slopes = []
    for _ in range(3):  # three teacher/point pairs, `trials` independent training sets each
        one = teacher_and_point(rng, 1, p, k)
        v_star, a_star, v, a = (np.repeat(t, trials, axis=0) for t in one)
        pop = ts.stride_population_loss(v, a, v_star, a_star, s)
        gaps, spread = [], None
        for n_samples in sizes:
            x, y = ts.draw_training_set(rng, v_star, a_star, int(n_samples), stride=s)
            err = (ts.outputs(ts.patches(x, p, s), v, a) - y) ** 2
            gaps.append(np.mean(np.abs(err.mean(axis=1) - pop)))
            spread = err.std()  # the last (largest) N: sd of one squared error
        gaps = np.array(gaps)
        slopes.append(np.polyfit(np.log(sizes), np.log(gaps), 1)[0])
        ratio = gaps * np.sqrt(sizes) / (math.sqrt(2 / PI) * spread)
        assert np.all((ratio > 0.75) & (ratio < 1.25)), ratio
    assert abs(np.mean(slopes) + 0.5) < 0.1, slopes


# --- the stride-s population loss ----------------------------------------------------------------------------


@pytest.mark.parametrize("p,k", [(8, 4), (3, 1), (5, 9), (1, 3)])
def test_stride_p_equals_the_non_overlapping_closed_form(p, k):
    rng = np.random.default_rng(p + 17 * k)
    v_star, a_star, v, a = teacher_and_point(rng, 6, p, k)
    v[0], v[1] = v_star[0], -v_star[1]  # the global and the spurious direction
    assert np.abs(ts.stride_population_loss(v, a, v_star, a_star, p) - tl.population_loss(v, a, v_star, a_star)).max() < 1e-12
    g_v, g_a = ts.stride_gradients(v, a, v_star, a_star, p)
    e_v, e_a = tl.gradients(v, a, v_star, a_star)
    assert np.abs(g_v - e_v).max() < 1e-12 and np.abs(g_a - e_a).max() < 1e-12


@pytest.mark.parametrize("p,k,s", [(5, 3, 2), (4, 4, 1), (6, 3, 4)])
def test_stride_closed_form_matches_monte_carlo(p, k, s):
    rng = np.random.default_rng(100 + 10 * p + s)
    v_star, a_star, v, a = teacher_and_point(rng, 1, p, k)
    n_samples = 300_000
    x = rng.standard_normal((1, n_samples, ts.input_dim(p, k, s)))
    z = ts.patches(x, p, s)
    err = (ts.outputs(z, v_star, a_star) - ts.outputs(z, v, a))[0] ** 2
    mc, se = err.mean(), err.std() / math.sqrt(n_samples)
    closed = float(ts.stride_population_loss(v, a, v_star, a_star, s)[0])
    assert abs(closed - mc) < 4 * se, (closed, mc, se)
    assert se < 0.02 * closed
    # the overlap matters: the non-overlapping formula is off by many standard errors
    assert abs(float(tl.population_loss(v, a, v_star, a_star)[0]) - mc) > 4 * se


def test_stride_kernel_matches_the_embedded_filters():
    """κ_l from lag cosines equals g(angle) of the explicitly embedded filters U_i, U*_j (Du et al.'s lemma)."""
    rng = np.random.default_rng(4)
    p, k, s = 5, 4, 2
    v_star, _, v, _ = teacher_and_point(rng, 1, p, k)
    U, U_star = ts.embed(v[0], k, s), ts.embed(v_star[0], k, s)
    q = ts.band(p, k, s)
    cos = ts.lag_cosines(v[0], v_star[0], s, q)
    for i in range(k):
        for j in range(k):
            expected = U[i] @ U_star[j]
            got = cos[j - i + q] if abs(j - i) <= q else 0.0
            assert got == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("p,k,s", [(5, 3, 2), (4, 4, 1), (6, 5, 3)])
@pytest.mark.parametrize("student", ["resnet", "cnn"])
def test_stride_gradients_match_finite_differences(p, k, s, student):
    rng = np.random.default_rng(7 * p + k + 3 * s)
    v_star, a_star, _, a = teacher_and_point(rng, 3, p, k)
    off = offset_of(student, p)
    w = 0.5 * rng.standard_normal((3, p))
    grad_w, grad_a = ts.stride_gradient_w(w, a, v_star, a_star, s, off)
    loss = lambda ww, aa: ts.stride_population_loss(off + ww, aa, v_star, a_star, s)  # noqa: E731
    np.testing.assert_allclose(grad_w, central_differences(lambda ww: loss(ww, a), w, 1e-6), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(grad_a, central_differences(lambda aa: loss(w, aa), a, 1e-6), rtol=1e-6, atol=1e-9)


# --- the states ----------------------------------------------------------------------------------------------


def resnet_teachers_and_inits(rng, n, p, k):
    """The train command's draws (ResNet student): v* uniform on the 60° cap around e (the skip-layer prior),
    a* ~ N(0, I_k); then w0 = 0 (v0 = e) and a0 uniform in the ball of radius |1ᵀa*|/√k (Theorem 1)."""
    v_star = tl.sample_cap(rng, n, p, tl.unit_e(p), math.radians(60.0))
    a_star = rng.standard_normal((n, k))
    v0 = np.tile(tl.unit_e(p), (n, 1))
    a0 = tl.sample_ball(rng, n, k, np.abs(a_star.sum(axis=1)) / math.sqrt(k))
    return v_star, a_star, v0, a0


def setup_run(seed, n, p, k, s=None, n_samples=200):
    rng = np.random.default_rng(seed)
    v_star, a_star, v0, a0 = resnet_teachers_and_inits(rng, n, p, k)
    x, y = ts.draw_training_set(rng, v_star, a_star, n_samples, stride=s)
    return rng, v_star, a_star, v0, a0, x, y


def test_full_batch_sample_state_is_gd_on_the_empirical_loss():
    p, k, s, n = 6, 3, 3, 4
    _, v_star, a_star, v0, a0, x, y = setup_run(1, n, p, k, s)
    state = ts.SampleState(v0, a0, v_star, a_star, x, y, stride=s)
    eta_a, eta_w = np.full(n, 0.05), np.linspace(0.01, 0.1, n)
    v, a = v0.copy(), a0.copy()
    z = x[..., ts.patch_index(p, k, s)]  # the index-array patches: an independent extraction
    for _ in range(25):
        state.step(eta_a, eta_w)
        for i in range(n):  # trial by trial, the update of optim.gd_step written out
            g_v, g_a = ts.empirical_raw_gradients(v[i], a[i], z[i], y[i])
            g_v = g_v - (g_v @ v[i]) * v[i]
            u = v[i] - eta_w[i] * g_v
            v[i], a[i] = u / np.linalg.norm(u), a[i] - eta_a[i] * g_a
    np.testing.assert_allclose(state.v, v, atol=1e-13)
    np.testing.assert_allclose(state.a, a, atol=1e-13)
    assert np.all(state.training_loss() < ts.empirical_loss(v0, a0, z, y))


@pytest.mark.parametrize("mode", ["minibatch", "online"])
def test_sgd_is_reproducible_and_each_trial_evolves_as_alone(mode):
    p, k, n = 5, 3, 4

    def make(seed=2, rows=slice(None)):
        rng, v_star, a_star, v0, a0, x, y = setup_run(seed, n, p, k, n_samples=50)
        rngs = ts.trial_generators(rng, n)
        kw = dict(batch=7, rngs=[g for g in np.array(rngs, dtype=object)[rows]], stride=2 if mode == "online" else None)
        if mode == "online":
            return ts.SampleState(v0[rows], a0[rows], v_star[rows], a_star[rows], online=True, label_noise=0.2, chunk=4, **kw)
        return ts.SampleState(v0[rows], a0[rows], v_star[rows], a_star[rows], x[rows], y[rows], **kw)

    eta = np.full(n, 0.05)
    first, second, alone = make(), make(), make(rows=slice(2, 3))
    for _ in range(30):  # 30 × 7 samples: several epochs of 50 (and several online chunks)
        first.step(eta, eta)
        second.step(eta, eta)
        alone.step(eta[:1], eta[:1])
    np.testing.assert_array_equal(first.v, second.v)
    np.testing.assert_array_equal(first.a, second.a)
    np.testing.assert_array_equal(first.v[2:3], alone.v)
    np.testing.assert_array_equal(first.a[2:3], alone.a)
    other = make(seed=3)
    for _ in range(3):
        other.step(eta, eta)
    assert not np.allclose(other.v, first.v)

    # take/put (the driver's compaction) changes nothing
    whole, parted = make(), make()
    for t in range(20):
        whole.step(eta, eta)
        if t == 5:
            part = parted.take(np.array([0, 3]))
        if t >= 5:
            part.step(eta[:2], eta[:2])
        else:
            parted.step(eta, eta)
        if t == 12:
            parted.put(np.array([0, 3]), part)
            part = parted.take(np.array([0, 3]))
    parted.put(np.array([0, 3]), part)
    np.testing.assert_array_equal(parted.v[[0, 3]], whole.v[[0, 3]])
    np.testing.assert_array_equal(parted.a[[0, 3]], whole.a[[0, 3]])


def test_gd_on_a_large_sample_tracks_the_population_run():
    """Label noise σ = 0.5: GD on L̂ (150 steps, η = 0.1, run_gd drives both) follows the population run
    along the whole trace, and 10× more samples shrink the largest gap by ≈ √10.

    Measured (seed 8): max |Δφ| over the trace 0.073 (N = 2000) and 0.022 (N = 20000), ratio 3.3."""
    p, k, n = 6, 3, 3
    rng = np.random.default_rng(8)
    v_star, a_star, v0, a0 = resnet_teachers_and_inits(rng, n, p, k)
    schedule = optim.Schedule("large-w", np.full(n, 0.1), np.full(n, 0.1), np.full(n, 0.1), 0)
    points = range(0, 151, 10)
    pop = optim.run_gd(v0, a0, v_star, a_star, schedule, 150, CRITERIA, representation="vector", trace_points=points)
    pop_phi = np.stack(pop.trace["phi"], axis=1)
    assert np.all(pop_phi[:, -1] < 1e-3) and np.all(pop_phi[:, 0] > 0.4)  # the run goes somewhere
    gaps = {}
    for n_samples in (2000, 20000):
        x, y = ts.draw_training_set(rng, v_star, a_star, n_samples, label_noise=0.5)
        state = lambda v, a, vs, ast, x=x, y=y: ts.SampleState(v, a, vs, ast, x, y)  # noqa: E731
        emp = optim.run_gd(v0, a0, v_star, a_star, schedule, 150, CRITERIA, representation=state, trace_points=points)
        gaps[n_samples] = np.abs(np.stack(emp.trace["phi"], axis=1) - pop_phi).max()
        if n_samples == 20000:
            assert np.abs(emp.a - pop.a).max() < 0.03
            np.testing.assert_allclose(np.stack(emp.trace["loss"], 1), np.stack(pop.trace["loss"], 1), atol=0.02)
    assert gaps[20000] < 0.05
    assert 2.0 < gaps[2000] / gaps[20000] < 5.0, gaps


def test_stride_state_at_s_equal_p_is_vector_gd_and_learns_for_s_below_p():
    p, k, n = 6, 4, 3
    _, v_star, a_star, v0, a0, _, _ = setup_run(9, n, p, k, n_samples=1)
    schedule = optim.Schedule("ssw", np.full(n, 0.02), np.full(n, 0.002), np.full(n, 0.1), 50)
    crit = CRITERIA
    ref = optim.run_gd(v0, a0, v_star, a_star, schedule, 300, crit, representation="vector")
    same = optim.run_gd(v0, a0, v_star, a_star, schedule, 300, crit,
                        representation=lambda v, a, vs, ast: ts.StrideState(v, a, vs, ast, p))
    np.testing.assert_allclose(same.v, ref.v, atol=1e-12)
    np.testing.assert_allclose(same.a, ref.a, atol=1e-12)
    over = optim.run_gd(v0, a0, v_star, a_star, schedule, 3000, crit, stop_when_global=True,
                        representation=lambda v, a, vs, ast: ts.StrideState(v, a, vs, ast, 2))
    start = ts.stride_population_loss(v0, a0, v_star, a_star, 2)
    assert np.all(over.outcome == "global")
    assert np.all(over.final["loss"] < 1e-3 * start), (over.final["loss"], start)
    np.testing.assert_allclose(over.final["loss"], ts.stride_population_loss(over.v, over.a, v_star, a_star, 2))


# --- the theorems --------------------------------------------------------------------------------------------


def test_theorem1_output_on_a_hand_made_trace():
    its = np.array([0, 5, 10, 15, 20])
    ok_phi = 1.0  # < 5π/12 ≈ 1.309
    phi = np.array(
        [
            [3.0, 2.0, ok_phi, ok_phi, ok_phi],  # before T1 nothing counts: holds
            [3.0, 2.0, ok_phi, 1.4, ok_phi],  # φ > 5π/12 at t = 15
            [3.0, 2.0, ok_phi, ok_phi, ok_phi],
            [3.0, 2.0, ok_phi, np.nan, ok_phi],  # diverged at t = 15
        ]
    )
    a_dot = np.array([[-5, -1, 1.0, 2.0, 3.0], [0, 0, 1.0, 2.0, 3.0], [0, 0, 1.0, 2.0, 0.5], [0, 0, 1, 2, 3]])
    check = th.theorem1_output(its, phi, a_dot, t1=10, m=1.0, big_m=3.0)
    np.testing.assert_array_equal(check.held, [True, False, False, False])
    np.testing.assert_array_equal(check.first_failure, [-1, 15, 20, 15])
    assert check.records == 3
    np.testing.assert_array_equal(check.a_dot_min[:3], [1.0, 1.0, 0.5])
    assert not th.theorem1_output(its, phi, a_dot, 10, m=1.0, big_m=2.5).held[0]  # M too small at t = 20
    assert not th.theorem1_output(its, phi, a_dot, 10, m=-1.0, big_m=3.0).held[0]  # the theorem's 0 ≤ m
    assert th.theorem1_output(its, phi, a_dot, 10, m=1.0, big_m=3.0, t_end=15).held[1] == False  # noqa: E712
    assert th.theorem1_output(its, phi, a_dot, 10, m=1.0, big_m=3.0, t_end=10).held.all()
    with pytest.raises(ValueError):
        th.theorem1_output(its, phi, a_dot, t1=30, m=1.0, big_m=3.0)


def test_largest_c_on_a_hand_made_trace():
    its = np.array([0, 1, 2, 3])
    inner = np.array([[1.0, -0.5, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    dist2 = np.array([[1.0, 1.0, 4.0, 0.0], [2.0, 4.0, 1.0, 0.5]])
    delta = 0.25
    # trial 0: ratios 1.25, −0.25 | 0.5625, +∞ (w = w*);  trial 1: 0.625, 0.3125 | 1.25, 2.5
    c = th.largest_c(inner, dist2, delta, its < 2)
    np.testing.assert_allclose(c, [-0.25, 0.3125])
    np.testing.assert_allclose(th.largest_c(inner, dist2, delta, its >= 2), [0.5625, 1.25])
    out = th.dissipativity(its, {"inner_w": inner, "dist2_w": dist2, "inner_a": inner, "dist2_a": dist2}, 2, delta)
    np.testing.assert_allclose(out["C1"], [[-0.25, 0.5625], [0.3125, 1.25]])
    # the definition: C holds at every record of the stage for c = c_S and fails somewhere for c_S + ε
    for cs, sel in ((out["C1"][:, 0], its < 2), (out["C1"][:, 1], its >= 2)):
        lhs, rhs = inner[:, sel], dist2[:, sel]
        assert np.all(lhs >= cs[:, None] * rhs - delta - 1e-12)
        assert np.all(np.any(lhs < (cs[:, None] + 1e-6) * rhs - delta, axis=1) | np.isinf(cs))
    with pytest.raises(ValueError):
        th.dissipativity(its, {"inner_w": inner, "dist2_w": dist2, "inner_a": inner, "dist2_a": dist2}, 2, -1.0)


def test_dissipativity_terms_from_statistics_equal_the_vector_formulas():
    rng = np.random.default_rng(12)
    n, records, p, k = 3, 6, 7, 4
    v_star, a_star = tl.sample_sphere(rng, n, p), rng.standard_normal((n, k))
    v = tl.sample_sphere(rng, n * records, p).reshape(n, records, p)
    a = rng.standard_normal((n, records, k))
    vs, ast = v_star[:, None], a_star[:, None]
    stats = optim.run_statistics(v, a, vs, ast)
    from_stats = th.dissipativity_terms(stats["phi"], stats["a_dot_astar"], stats["loss"], stats["a_err"], a_star)
    from_vectors = th.dissipativity_terms_vectors(v, a, v_star, a_star)
    for key in from_vectors:
        np.testing.assert_allclose(from_stats[key], from_vectors[key], atol=1e-12)
    stride = th.dissipativity_terms_vectors(v, a, v_star, a_star, lambda *args: ts.stride_gradients(*args, p))
    np.testing.assert_allclose(stride["inner_w"], from_vectors["inner_w"], atol=1e-12)


def test_theorems_along_a_real_resnet_ssw_run():
    """Seed 0, ResNet + SSW, p = 8, k = 4, 8 trials: output (1) holds on [T1, T] with m = 0.1‖a*‖²,
    M = 1.1‖a*‖² (measured: min aᵀa*/‖a*‖² over the window 0.18, max φ 1.02 < 5π/12 ≈ 1.31); with the
    step-size defaults' m = M = ‖a*‖² it fails at T1 itself. C2 holds with c > 0 in both stages and C1 in
    stage II (δ = 10⁻³); C1 fails in stage I for some trials (aᵀa* < 0 early on)."""
    p, k, trials = 8, 4, 8
    v_star, a_star, v0, a0 = resnet_teachers_and_inits(np.random.default_rng(0), trials, p, k)
    eta_a = optim.theorem1_eta_a(k)
    t1 = math.ceil(1 / eta_a)
    schedule = optim.Schedule("ssw", np.full(trials, eta_a), optim.theorem1_eta_w(a_star, eta_a, 1.0),
                              optim.theorem2_eta(a_star, k), t1)
    steps = t1 + 20000
    gd = optim.run_gd(v0, a0, v_star, a_star, schedule, steps, CRITERIA,
                      trace_points=optim.trace_points(steps, None, t1))
    assert np.all(gd.outcome == "global")
    its = np.array(gd.trace_iterations)
    trace = {key: np.stack(value, axis=1) for key, value in gd.trace.items()}
    norm2 = np.sum(a_star**2, axis=1)
    check = th.theorem1_output(its, trace["phi"], trace["a_dot_astar"], t1, 0.1 * norm2, 1.1 * norm2)
    assert check.held.all(), check
    assert np.all(check.phi_max < 5 * PI / 12) and np.all(check.a_dot_min > 0.1 * norm2)
    strict = th.theorem1_output(its, trace["phi"], trace["a_dot_astar"], t1, norm2, norm2)
    assert not strict.held.any() and np.all(strict.first_failure == t1)
    terms = th.dissipativity_terms(trace["phi"], trace["a_dot_astar"], trace["loss"], trace["a_err"], a_star)
    c = th.dissipativity(its, terms, t1, delta=1e-3)
    assert np.all(c["C2"] > 0) and np.all(c["C1"][:, 1] > 0)
    assert np.any(c["C1"][:, 0] < 0)


def test_band_windows_are_numpys_sliding_windows():
    """The stride-s loss's windows (`samples._windows`, without sliding_window_view's argument checks) are
    numpy's own, read-only, for C-ordered, transposed and sliced arrays."""
    from numpy.lib.stride_tricks import sliding_window_view

    from resnet_cli.models.two_layer.samples import _windows

    rng = np.random.default_rng(0)
    for x in (rng.random((4, 3, 30)), rng.random((30, 4)).T, rng.random((5, 7, 30))[:, ::2, :], rng.random(12)):
        for width in (1, 5, 12):
            mine, numpys = _windows(x, width), sliding_window_view(x, width, axis=-1)
            assert mine.shape == numpys.shape and mine.strides == numpys.strides
            assert np.array_equal(mine, numpys) and not mine.flags.writeable
