"""The fused `optim.VectorState` step is `optim.gd_step` (the update as written) to rounding, divergence included;
the in-place online input buffers of `SampleState` draw the same numbers as fresh arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from resnet_cli.models.two_layer import optim
from resnet_cli.models.two_layer import population as tl
from resnet_cli.models.two_layer import samples as ts


class GdStepState:
    """The unfused reference: `optim.gd_step` on (trials × p, trials × k) rows, with VectorState's interface."""

    def __init__(self, v0, a0, v_star, a_star):
        self.v, self.a = np.array(v0, dtype=float), np.array(a0, dtype=float)
        self.v_star, self.a_star = v_star, a_star

    def step(self, eta_a, eta_w):
        self.v, self.a = optim.gd_step(self.v, self.a, self.v_star, self.a_star, eta_a, eta_w)

    def take(self, index):
        return GdStepState(self.v[index], self.a[index], self.v_star[index], self.a_star[index])

    def put(self, index, part):
        self.v[index], self.a[index] = part.v, part.a

    def finite(self):
        return np.isfinite(self.v).all(axis=1) & np.isfinite(self.a).all(axis=1)

    def statistics(self):
        return optim.run_statistics(self.v, self.a, self.v_star, self.a_star)

    def vectors(self):
        return self.v.copy(), self.a.copy()


def _problem(seed, n, p, k, student):
    rng = np.random.default_rng(seed)
    v_star, a_star = tl.draw_teachers(rng, n, p, k, v_law=tl.teacher_v_law(None, student))
    v0, a0 = tl.draw_inits(rng, student, v_star, a_star)
    return v0, a0, v_star, a_star


def _fused_and_reference(problem, schedule, steps):
    """`steps` steps of the fused state and of `gd_step` from the same (v0, a0, v*, a*); their v and a agree."""
    fused, ref = optim.VectorState(*problem), GdStepState(*problem)
    for t in range(steps):
        fused.step(*schedule.at(t))
        ref.step(*schedule.at(t))
    np.testing.assert_allclose(fused.v, ref.v, atol=1e-12, rtol=0)
    np.testing.assert_allclose(fused.a, ref.a, atol=1e-12 * np.abs(ref.a).max(), rtol=0)
    return fused, ref


@pytest.mark.parametrize("p, k, student", [(8, 16, "resnet"), (5, 3, "cnn"), (16, 40, "cnn"), (2, 1, "resnet")])
def test_fused_step_is_gd_step(p, k, student):
    v0, a0, v_star, a_star = _problem(p * k, 40, p, k, student)
    schedule = optim.schedule_of("ssw", a_star)  # Theorem 1's step sizes, then Theorem 2's from step 200 on
    schedule.stage1_iterations = 200
    fused, ref = _fused_and_reference((v0, a0, v_star, a_star), schedule, 600)
    np.testing.assert_allclose(np.linalg.norm(fused.v, axis=1), 1.0, atol=1e-14)
    for key, value in ref.statistics().items():
        np.testing.assert_allclose(fused.statistics()[key], value, atol=1e-11, rtol=1e-12)


def test_fused_step_diverges_when_gd_step_does():
    """Step sizes far too large for some trials: the same trials are reported diverged after the same number of
    steps (gd_step's v becomes u/∞ = 0 when ‖u‖² overflows, then 0/0 one step later), checked every step."""
    n, p, k = 60, 6, 5
    v0, a0, v_star, a_star = _problem(4, n, p, k, "cnn")
    eta = np.where(np.arange(n) % 3 == 0, np.linspace(0.6, 5.0, n), 0.1)
    schedule = optim.Schedule("large-w", eta, eta, eta, 0)
    criteria = optim.Criteria(1e-2, 1e-2, math.pi / 4)  # the default --phi-tol, --a-tol, --spurious-tol
    runs = [optim.run_gd(v0, a0, v_star, a_star, schedule, 800, criteria, stop_when_global=True, check_every=1,
                         representation=rep) for rep in ("vector", GdStepState)]
    assert "diverged" in set(runs[0].outcome) and "global" in set(runs[0].outcome)
    assert list(runs[0].outcome) == list(runs[1].outcome)
    np.testing.assert_array_equal(runs[0].iterations, runs[1].iterations)
    ok = runs[1].outcome != "diverged"
    np.testing.assert_allclose(runs[0].v[ok], runs[1].v[ok], atol=1e-12)


@pytest.mark.parametrize("rows", [[1, 4, 6], [4]], ids=["three", "one"])
def test_take_and_put_continue_the_rows_bit_for_bit(rows):
    """Also when one row is left (a run of one, or the last row of a batch): numpy sums a lone column of 8 or
    more components pairwise, not row after row as for two or more trials (`gd_states.sum_rows`)."""
    v0, a0, v_star, a_star = _problem(6, 7, 8, 9, "resnet")
    eta_a, eta_w = np.full(7, 0.02), np.full(7, 0.2)
    whole, parted = optim.VectorState(v0, a0, v_star, a_star), optim.VectorState(v0, a0, v_star, a_star)
    rows = np.array(rows)
    for t in range(60):
        whole.step(eta_a, eta_w)
        if t < 20:
            parted.step(eta_a, eta_w)
            continue
        if t == 20:
            part = parted.take(rows)
        part.step(eta_a[rows], eta_w[rows])
    parted.put(rows, part)
    np.testing.assert_array_equal(parted.v[rows], whole.v[rows])
    np.testing.assert_array_equal(parted.a[rows], whole.a[rows])


@pytest.mark.parametrize("kind", ["vector", "noisy", "filter-noisy", "stride"])
def test_a_lone_trial_has_the_statistics_it_has_in_a_batch(kind):
    """The driver judges outcomes (at checks and at the end) on `statistics()` of the rows still running; a row
    left alone (a run of one, the last row of a batch) must get the numbers it gets in the batch, to the bit
    (numpy sums a lone contiguous row over p ≥ 8 pairwise, the rows of a batch in order)."""
    from resnet_cli.models.two_layer import noise as nz

    n, p, k = 40, 16, 12
    v0, a0, v_star, a_star = _problem(3, n, p, k, "resnet")
    make = {"vector": lambda: optim.VectorState(v0, a0, v_star, a_star),
            "noisy": lambda: nz.NoisyState(v0, a0, v_star, a_star, nz.Noise(1.0, on="both", horizon=10),
                                           np.random.default_rng(1)),
            "filter-noisy": lambda: nz.FilterNoisyState(v0, a0, v_star, a_star, nz.Noise(1.0, on="w", horizon=10),
                                                        np.random.default_rng(1)),
            "stride": lambda: ts.StrideState(v0, a0, v_star, a_star, 8)}[kind]
    state = make()
    for _ in range(3):
        state.step(np.full(n, 0.01), np.full(n, 0.3))
    batch = state.statistics()
    for i in range(n):
        alone = state.take(np.array([i])).statistics()
        for key, value in batch.items():
            assert alone[key].shape == (1,) and alone[key][0].tobytes() == value[i].tobytes(), (i, key)


@pytest.mark.parametrize("law", ts.LAWS)
def test_inputs_drawn_into_a_buffer_are_the_fresh_draws(law):
    fresh = ts.sample_inputs(np.random.default_rng(5), (3, 4, 7), law)
    buffer = np.full((2, 3, 4, 7), np.nan)
    ts.sample_inputs(np.random.default_rng(5), (3, 4, 7), law, out=buffer[1])
    np.testing.assert_array_equal(buffer[1], fresh)
    assert np.isnan(buffer[0]).all()
    legacy = {"gaussian": lambda g: g.standard_normal((3, 4, 7)),
              "uniform": lambda g: g.uniform(-np.sqrt(3.0), np.sqrt(3.0), size=(3, 4, 7)),
              "rademacher": lambda g: 2.0 * g.integers(0, 2, size=(3, 4, 7)) - 1.0}[law]
    np.testing.assert_array_equal(fresh, legacy(np.random.default_rng(5)))


def test_fused_step_is_gd_step_with_per_trial_steps_and_kinds():
    """η_a different in every trial from the first step (the decay d as an array, not one number), layerwise rows
    (η_w = 0 in stage I, η_a = 0 in stage II) and held rows, through the stage switch."""
    n, p, k = 12, 8, 16
    v0, a0, v_star, a_star = _problem(9, n, p, k, "resnet")
    kinds = np.array(list(optim.SCHEDULES) * (n // len(optim.SCHEDULES)), dtype=object)
    base = optim.schedule_of("ssw", a_star)
    schedule = optim.Schedule(kinds, base.eta_a * np.linspace(1.0, 30.0, n), base.eta_w * 20, base.eta, 150,
                              hold=np.arange(n) % 5 == 0)
    _fused_and_reference((v0, a0, v_star, a_star), schedule, 400)


def test_vector_state_equals_plane_state_on_mixed_schedules():
    """The oracle of the two representations at the bench's sizes (p = 8, k = 16): every schedule kind, held rows,
    early stops and compaction; the same outcomes, stopping iterations and final states."""
    n, p, k = 24, 8, 16
    v0, a0, v_star, a_star = _problem(10, n, p, k, "resnet")
    kinds = np.array(list(optim.SCHEDULES) * (n // len(optim.SCHEDULES)), dtype=object)
    base = optim.schedule_of("ssw", a_star)
    schedule = optim.Schedule(kinds, base.eta_a * 40, base.eta_w * 40, base.eta, 200, hold=np.arange(n) % 7 == 0)
    criteria = optim.Criteria(5e-2, 5e-2, 0.7)
    runs = [optim.run_gd(v0, a0, v_star, a_star, schedule, 900, criteria, stop_when_global=True, check_every=50,
                         representation=rep, trace_points=[0, 200, 900]) for rep in ("vector", "plane")]
    assert "global" in set(runs[0].outcome) and (runs[0].iterations < 900).any()  # early stops happened
    assert list(runs[0].outcome) == list(runs[1].outcome)
    np.testing.assert_array_equal(runs[0].iterations, runs[1].iterations)
    np.testing.assert_allclose(runs[0].v, runs[1].v, atol=1e-10)
    np.testing.assert_allclose(runs[0].a, runs[1].a, atol=1e-10 * np.abs(runs[1].a).max())
    for key in ("phi", "a_err", "loss"):
        np.testing.assert_allclose(runs[0].trace[key][-1], runs[1].trace[key][-1], atol=1e-10)
