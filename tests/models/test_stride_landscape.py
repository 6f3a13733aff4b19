"""The stride-s landscape (models/two_layer/stride_landscape.py) against its oracles: finite differences of the
stride gradients for the exact Hessian, the non-overlapping closed form at s = p, Newton's gradient norm
along the continuation, and seeded reproducibility of `landscape two-layer --stride`."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli.experiments.two_layer import LandscapeSettings, run_landscape
from resnet_cli.models.two_layer import landscape as critical, population as tl, samples as ts
from resnet_cli.models.two_layer import stride_landscape as sl


def _teacher(seed: int, p: int = 6, k: int = 3):
    rng = np.random.default_rng(seed)
    v_star = tl.sample_sphere(rng, 1, p)[0]
    return rng, v_star, rng.standard_normal(k)


@pytest.mark.parametrize("stride", [1, 2, 3, 4, 6])
def test_hessian_is_the_derivative_of_the_stride_gradient(stride):
    rng, v_star, a_star = _teacher(stride)
    p, k = v_star.size, a_star.size
    v = tl.sample_sphere(rng, 1, p)[0]
    a = rng.standard_normal(k)
    H = sl.stride_hessian(v, a, v_star, a_star, stride)
    h, fd = 1e-5, np.zeros((p + k, p + k))
    for i in range(p + k):
        e = np.zeros(p + k)
        e[i] = h
        plus = np.concatenate(ts.stride_gradient_w(v + e[:p], a + e[p:], v_star, a_star, stride))
        minus = np.concatenate(ts.stride_gradient_w(v - e[:p], a - e[p:], v_star, a_star, stride))
        fd[:, i] = (plus - minus) / (2 * h)
    assert np.allclose(H, H.T, atol=1e-13)
    assert np.abs(H - fd).max() < 1e-8 * max(1.0, np.abs(H).max())


def test_optimal_a_minimizes_the_stride_loss():
    rng, v_star, a_star = _teacher(3)
    v = tl.sample_sphere(rng, 4, v_star.size)
    a = sl.optimal_a(v, v_star, a_star, 2)
    grad_a = ts.stride_gradients(v, a, np.tile(v_star, (4, 1)), np.tile(a_star, (4, 1)), 2)[1]
    assert np.abs(grad_a).max() < 1e-12
    best = sl.profile_loss(v, v_star, a_star, 2)
    assert np.all(ts.stride_population_loss(v, a + 1e-3, np.tile(v_star, (4, 1)), np.tile(a_star, (4, 1)), 2) > best)


@pytest.mark.parametrize("point", ["random", "global", "spurious"])
def test_at_s_equal_p_everything_is_the_non_overlapping_closed_form(point):
    rng, v_star, a_star = _teacher(7)
    p = v_star.size
    if point == "random":
        v, a = tl.sample_sphere(rng, 1, p)[0], rng.standard_normal(a_star.size)
    else:
        v, a = (tl.global_optimum if point == "global" else tl.spurious_optimum)(v_star, a_star)
    assert np.abs(sl.stride_hessian(v, a, v_star, a_star, p) - tl.hessian_w(v, a, v_star, a_star)).max() < 1e-14
    model, closed = sl.stride_model(v_star, a_star, p), critical.non_overlapping(v_star, a_star)
    assert np.abs(model.tangent_hessian(v, a) - closed.tangent_hessian(v, a)).max() < 1e-14
    vs = tl.sample_sphere(rng, 5, p)
    assert np.allclose(model.reduced(vs), closed.reduced(vs), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("follow", ["minimum", "critical"])
def test_the_continuation_ends_at_critical_points_of_each_stride(follow):
    _, v_star, a_star = _teacher(11)
    p = v_star.size
    branch = sl.continue_point(*tl.spurious_optimum(v_star, a_star), v_star, a_star, list(range(p, 0, -1)),
                               substeps=4, follow=follow)
    assert branch.strides == list(range(p, 0, -1))
    for s, v, a, norm in zip(branch.strides, branch.v, branch.a, branch.grad_norm):
        grad_v, grad_a = ts.stride_gradients(v, a, v_star, a_star, s)  # recomputed, not the solver's word
        assert np.sqrt(np.sum(grad_v**2) + np.sum(grad_a**2)) < sl.GRAD_TOL
        assert norm < sl.GRAD_TOL and abs(np.linalg.norm(v) - 1) < 1e-12
        if follow == "minimum" and s < p:  # a descent ends at a minimum: no negative curvature (eigvalsh)
            assert np.linalg.eigvalsh(sl.stride_tangent_hessian(v, a, v_star, a_star, s)).min() > -1e-9


def test_minimize_never_raises_the_loss_and_stops_at_a_minimum():
    rng, v_star, a_star = _teacher(4)
    v0, a0 = tl.sample_sphere(rng, 1, v_star.size)[0], rng.standard_normal(a_star.size)
    v, a, norm = sl.minimize(v0, a0, v_star, a_star, [(0.5, 2), (0.5, 3)])
    loss = lambda v, a: sum(0.5 * ts.stride_population_loss(v, a, v_star, a_star, s) for s in (2, 3))  # noqa: E731
    assert loss(v, a) <= loss(v0, a0) and norm < sl.GRAD_TOL


def test_newton_reaches_a_saddle_too():
    """Newton solves ∇L = 0: started near the (non-degenerate) saddle it found, it converges back to it."""
    _, v_star, a_star = _teacher(11)
    p = v_star.size
    branch = sl.continue_point(*tl.spurious_optimum(v_star, a_star), v_star, a_star, [p, p - 1, p - 2], substeps=4)
    v, a = branch.v[-1], branch.a[-1]
    v2, a2, norm = sl.newton(v + 1e-3 * np.arange(p) / p, a - 1e-3, v_star, a_star, [(1.0, p - 2)])
    assert norm < sl.GRAD_TOL and np.abs(v2 / np.linalg.norm(v2) - v).max() < 1e-6 and np.abs(a2 - a).max() < 1e-6


def _small(**kw):
    return LandscapeSettings(p=5, k=3, profile_points=3, basin_phi=2, basin_a=2, schedule=["ssw"], steps=50,
                             probes=50, trials=4, seed=3, **kw)


def test_landscape_with_stride_p_is_todays_landscape():
    today = run_landscape(_small()).to_dict()
    at_p = run_landscape(_small(stride=5)).to_dict()
    today["config"].pop("stride"), at_p["config"].pop("stride")
    assert repr(today) == repr(at_p)


def test_stride_sweep_is_seeded_and_starts_with_todays_points():
    one, two = run_landscape(_small(stride=3)).to_dict(), run_landscape(_small(stride=3)).to_dict()
    assert repr(one) == repr(two)  # the whole payload, to the bit
    today = run_landscape(_small()).to_dict()
    sweep = one["stride_sweep"]
    assert sweep["strides"] == [5, 4, 3]
    first = sweep["spurious_branch"][0]
    spurious = today["critical_points"][1]
    for key in ("loss", "grad_norm", "a_dot_astar", "hessian_min", "hessian_max", "verdict"):
        assert first[key] == spurious[key]
    assert all(row["grad_norm"] < sl.GRAD_TOL for row in sweep["spurious_branch"] + sweep["found"])
    assert [row["kind"] for row in sweep["found"] if row["stride"] == 3][0] == "global"
    last = sweep["spurious_branch"][-1]
    if last["kind"] == "spurious":  # the followed minimum is the command's second point while it is not global
        assert one["critical_points"][1]["loss"] == last["loss"]
    else:
        assert last["loss"] < 1e-12 and all(cp["kind"] == "other" for cp in one["critical_points"][1:])


def _stored(seed: int, stride: int):
    import json
    from pathlib import Path

    data = json.loads((Path(__file__).resolve().parents[2] / "docs" / "data" /
                       f"stride-landscape-seed-{seed}.json").read_text())
    row = next(r for r in data["stride_sweep"]["spurious_branch"] if r["stride"] == stride)
    return (np.array(data["teacher"]["v_star"]), np.array(data["teacher"]["a_star"]), np.array(row["v"]),
            np.array(row["a"]))


def test_a_minimum_that_vanishes_at_a_fold_is_not_followed_on():
    """Teacher 10's minimum of s = 4 meets a saddle-node fold near t = 0.3 of the homotopy to s = 3: λmin → 0,
    then the descent jumps 0.79 to another non-global minimum, however fine the steps. That other minimum was
    reported as the same point surviving to s = 1. A smooth path (teacher 9, moves of 0.48 and 0.62 at Δt =
    1/8 that shrink when refined) is not a fold."""
    v_star, a_star, v, a = _stored(10, 4)
    branch = sl.continue_point(v, a, v_star, a_star, [4, 3])
    assert branch.fold.tolist() == [False, True] and branch.move[1] > 0.5
    for s_, v_, a_, n in zip(branch.strides, branch.v, branch.a, branch.grad_norm):
        assert n < sl.GRAD_TOL  # the end point is still a critical point (the other minimum)
    v_star, a_star, v, a = _stored(9, 5)
    branch = sl.continue_point(v, a, v_star, a_star, [5, 4, 3])
    assert not branch.fold.any()


def test_the_fold_refinement_sees_a_jump_as_a_jump():
    """`_homotopy_step` over t ∈ [0.25, 0.375] of teacher 10's homotopy 4 → 3, which holds the fold: halved six
    times, the solve still jumps (a fold); over [0, 0.125] the path is smooth (no fold)."""
    v_star, a_star, v, a = _stored(10, 4)
    *_, move, fold = sl._homotopy_step(v, a, v_star, a_star, 4, 3, 0.25, 0.375)
    assert fold and move > sl.FOLD_MOVE
    *_, move, fold = sl._homotopy_step(v, a, v_star, a_star, 4, 3, 0.0, 0.125)  # before the fold: smooth
    assert not fold
