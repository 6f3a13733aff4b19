"""Perturbed GD (models/two_layer/noise.py): the annealing schedules' values, one noisy step against the update
written out with the same draws, zero noise = plain GD bit for bit, same seed same numbers, compaction-free
noise streams, and the spurious start."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import noise as nz, optim, population as tl
from noise_checks import assert_frozen_rows_keep_their_streams, assert_noisy_step, assert_seeded, assert_zero_noise_is_plain


def _problem(seed: int, n: int = 12, p: int = 6, k: int = 5):
    rng = np.random.default_rng(seed)
    v_star = tl.sample_sphere(rng, n, p)
    a_star = rng.standard_normal((n, k))
    return tl.sample_sphere(rng, n, p), rng.standard_normal((n, k)), v_star, a_star


def test_anneal_values():
    t = np.array([0, 50, 100, 400])
    assert np.array_equal(nz.Noise(0.5, "none", 3.0, horizon=400).level(t), np.full(4, 0.5))
    assert np.allclose(nz.Noise(0.5, "exponential", 3.0, horizon=400).level(t), 0.5 * np.exp(-3.0 * t / 400))
    assert np.allclose(nz.Noise(0.5, "polynomial", 3.0, horizon=400).level(t), 0.5 / (1 + 3.0 * t / 400))
    assert nz.Noise(2.0, "exponential", 10.0, horizon=1000).level(1000) == pytest.approx(2.0 * math.exp(-10))
    with pytest.raises(ValueError):
        nz.Noise(1.0, "cosine")


@pytest.mark.parametrize("law", [nz.Noise(3.0, "exponential", 10.0, horizon=20437),
                                 nz.Noise(0.3, "polynomial", 100.0, horizon=7001), nz.Noise(1, "exponential", 3, horizon=9),
                                 nz.Noise(10.0, "none", 0.0, horizon=5)])
def test_one_step_level_has_the_bits_of_the_array_level(law):
    """`level_at` (what a run's clock reads, on Python floats) equals `level` of that one step bit for bit."""
    t = np.arange(law.horizon + 1)
    one = np.array([law.level_at(int(i)) for i in t])
    assert one.tobytes() == np.array([law.level(np.int64(i)) for i in t]).tobytes()
    assert all(type(law.level_at(int(i))) is float for i in t[:3])


@pytest.mark.parametrize("on", ["w", "a", "both"])
def test_one_step_is_the_update_written_out(on):
    """v ← (v − η_w(∇_v L + σ‖a*‖²ξ))/‖·‖, a ← a − η_a(∇_a L + σ‖a*‖ζ), with ξ then ζ drawn as p × n, k × n."""
    v0, a0, v_star, a_star = _problem(1)
    n = v0.shape[0]
    noise = nz.Noise(0.7, "exponential", 2.0, on, horizon=10)
    state = nz.NoisyState(v0, a0, v_star, a_star, noise, np.random.default_rng(5))
    eta_a, eta_w = np.full(n, 0.03), np.full(n, 0.2)
    state.step(eta_a, eta_w)
    grad_v, grad_a = tl.gradients(v0, a0, v_star, a_star)
    assert_noisy_step(state, v0, a0, a_star, grad_v, grad_a, eta_w, eta_a, on, seed=5, size=0.7)


def _run(noise, seed=3, stop=False, problem=0, steps=400):
    v0, a0, v_star, a_star = _problem(problem)
    sched = optim.Schedule("large-w", np.full(len(v0), 0.02), np.full(len(v0), 0.0), np.full(len(v0), 0.1), 50)
    rep = "vector" if noise is None else nz.noisy_state(noise, np.random.default_rng(seed))
    return optim.run_gd(v0, a0, v_star, a_star, sched, steps, optim.Criteria(0.05, 0.05, math.pi / 4),
                        trace_points=[0, 100, steps], stop_when_global=stop, representation=rep)


def test_zero_noise_is_plain_gd_exactly():
    assert_zero_noise_is_plain(_run, [nz.Noise(0.0, "none", 0.0, on, horizon=400) for on in nz.TARGETS])


def test_same_seed_same_numbers_other_seed_other_numbers():
    assert_seeded(_run, nz.Noise(1.0, "exponential", 5.0, "both", horizon=400))


def test_a_row_noise_does_not_depend_on_frozen_rows():
    assert_frozen_rows_keep_their_streams(_run, nz.Noise(0.2, "exponential", 8.0, "w", horizon=3000), steps=3000)


def test_spurious_start():
    v0, a0, v_star, a_star = _problem(2)
    v, a = nz.spurious_start(v_star, a_star)
    assert np.allclose(v, -v_star) and np.allclose(a, tl.spurious_optimum(v_star, a_star)[1])
    v, _ = nz.spurious_start(v_star, a_star, angle=2.0)
    assert np.allclose(tl.angle(v, v_star), 2.0)


@pytest.mark.parametrize("stop", [False, True])
def test_noise_on_w_keeps_a_in_its_plane_same_run_as_the_vector_state(stop):
    """Oracle for `FilterNoisyState` (what `noisy_state` uses for noise on w): whole runs, with the same draws,
    against `NoisyState` (the vector update written out): the same v, a, outcomes and trace to rounding, also
    when finished rows are compacted away (`stop`), and a = [a0, 1, a*] e stays exact along the run."""
    noise = nz.Noise(0.8, "exponential", 6.0, "w", horizon=2000)
    v0, a0, v_star, a_star = _problem(4, n=40, p=6, k=9)
    sched = optim.Schedule("large-w", np.full(40, 0.02), np.full(40, 0.0), np.full(40, 0.1), 50)
    runs = {}
    for kind in (nz.NoisyState, nz.FilterNoisyState):
        def rep(v, a, vs, ast, kind=kind):
            return kind(v, a, vs, ast, noise, np.random.default_rng(9))
        runs[kind] = optim.run_gd(v0, a0, v_star, a_star, sched, 2000, optim.Criteria(0.05, 0.05, math.pi / 4),
                                  trace_points=[0, 500, 2000], stop_when_global=stop, representation=rep)
    vector, filtered = runs[nz.NoisyState], runs[nz.FilterNoisyState]
    assert isinstance(nz.noisy_state(noise, np.random.default_rng(0))(v0, a0, v_star, a_star), nz.FilterNoisyState)
    assert np.array_equal(vector.outcome, filtered.outcome) and np.array_equal(vector.iterations, filtered.iterations)
    assert {"global", "spurious"} <= set(vector.outcome.tolist())  # rows end both ways
    if stop:  # rows leave the batch at different steps, so take/put are exercised
        assert len(set(vector.iterations.tolist())) > 3
    assert np.allclose(filtered.v, vector.v, rtol=0, atol=1e-10) and np.allclose(filtered.a, vector.a, rtol=0, atol=1e-10)
    assert not np.allclose(filtered.v, v0)  # the run moved
    for name, values in vector.trace.items():
        for mine, theirs in zip(filtered.trace[name], values):
            assert np.allclose(mine, theirs, rtol=1e-9, atol=1e-10), name


@pytest.mark.parametrize("stop", [False, True])
def test_perturbed_runs_of_one_p_stacked_equal_each_run_alone(stop):
    """`optim.run_groups` stacks FilterNoisyState runs of one p, whatever their k (`FilterNoisyState.concat`,
    `Perturbations`): three runs with different k, laws, generators, schedules and lengths give bit for bit
    what each gives alone (statistics, traces, final a included), also when finished rows leave the batch
    (`stop`), and a plain run beside them is not stacked with them. p = 8: numpy's sums over p then depend on
    the memory order, which `take` changes (the statistics use one layout)."""
    criteria = optim.Criteria(0.05, 0.05, math.pi / 4)
    laws = [nz.Noise(0.8, "exponential", 6.0, "w", horizon=1500), nz.Noise(0.3, "polynomial", 100.0, "w", horizon=1500),
            nz.Noise(1.0, "none", 0.0, "w", horizon=1500)]
    runs = []
    for j, law in enumerate(laws):
        v0, a0, v_star, a_star = _problem(10 + j, n=15 + 5 * j, p=8, k=(7, 4, 9)[j])
        n = v0.shape[0]
        sched = optim.Schedule("large-w", np.full(n, 0.02), np.full(n, 0.0), np.full(n, 0.1 + 0.05 * j), 50)
        runs.append(optim.Run(v0, a0, v_star, a_star, sched, 1000 + 250 * j, trace_points=[0, 500, 1000],
                              stop_when_global=stop, representation=nz.noisy_state(law, np.random.default_rng(j))))
    plain = optim.Run(*(_problem(20, n=10, p=8, k=7)), optim.Schedule("large-w", np.full(10, 0.02), np.full(10, 0.0),
                                                                     np.full(10, 0.1), 50), 800)
    keys = [run.fuse_key() for run in runs]
    assert keys[0] == keys[1] == keys[2] == (nz.FUSE_GROUP, 8) and plain.fuse_key() != keys[0]
    together = optim.run_groups([*runs, plain], criteria)
    for j, (law, run) in enumerate(zip(laws, runs)):
        alone = optim.run_gd(run.v0, run.a0, run.v_star, run.a_star, run.schedule, run.iterations, criteria,
                             trace_points=run.trace_points, stop_when_global=stop,
                             representation=nz.noisy_state(law, np.random.default_rng(j)))
        mine = together[j]
        assert mine.a.shape == alone.a.shape == run.a0.shape
        assert np.array_equal(mine.v, alone.v) and np.array_equal(mine.a, alone.a)
        assert all(np.array_equal(mine.final[key], alone.final[key], equal_nan=True) for key in alone.final)
        assert np.array_equal(mine.outcome, alone.outcome) and np.array_equal(mine.iterations, alone.iterations)
        for name, values in alone.trace.items():
            assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(mine.trace[name], values)), name
    assert any(len(set(r.iterations.tolist())) > 2 for r in together[:3]) or not stop  # rows left at different steps
    assert not np.array_equal(together[0].v, runs[0].v0)  # the runs moved
