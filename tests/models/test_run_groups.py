"""`optim.run_groups` (several runs in one state array and one loop) gives every run exactly what `optim.run_gd`
gives it alone: runs of different p, k, T1, lengths, trace points, early stops and snapshots, for the plane
state (any sizes stack) and the vector state (one (p, k) stacks); and success-rate's batch of (p, k) cells
(`run_pks`) gives each cell what `run_pk` gives it alone."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli.experiments import success_rate as sr, sweep
from resnet_cli.models.two_layer import optim, population as tl


def _run(seed: int, p: int, k: int, t1: int, extra: int, representation: str, *, stop: bool) -> optim.Run:
    rng = np.random.default_rng(seed)
    v_star, a_star = tl.draw_teachers(rng, 7, p, k)
    v0, a0 = tl.draw_inits(rng, "resnet", v_star, a_star)
    kinds = np.array(["ssw", "large-w", "layerwise", "a-first", "ssw", "ssw", "large-w"], dtype=object)
    base = optim.schedule_of("ssw", a_star, stage1_steps=t1)
    schedule = optim.Schedule(kinds, base.eta_a * 40, base.eta_w * 40, base.eta, t1, hold=np.arange(7) == 5)
    points = sorted({0, t1, t1 + extra, *range(37, t1 + extra, 53)})
    return optim.Run(v0, a0, v_star, a_star, schedule, t1 + extra, points, stop, representation, t1)


def _same(got: optim.GDResult, want: optim.GDResult) -> None:
    for name in ("v", "a", "iterations"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert got.outcome.tolist() == want.outcome.tolist()
    assert got.trace_iterations == want.trace_iterations
    for key in want.final:
        assert np.array_equal(got.final[key], want.final[key], equal_nan=True), key
        assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(got.trace[key], want.trace[key])), key
    assert all(np.array_equal(x, y) for x, y in zip(got.snapshot, want.snapshot))


@pytest.mark.parametrize("representation, sizes", [("plane", [(5, 3), (8, 9), (4, 1)]), ("vector", [(5, 3)] * 3)])
def test_runs_together_equal_runs_alone(representation, sizes):
    runs = [_run(seed, p, k, t1, extra, representation, stop=seed != 1)
            for seed, ((p, k), t1, extra) in enumerate(zip(sizes, (120, 317, 40), (400, 150, 333)))]
    criteria = optim.Criteria(phi_tol=5e-2, a_tol=5e-2, spurious_tol=0.7)
    together = optim.run_groups(runs, criteria, check_every=50)
    assert sum(r.iterations.min() < runs[i].iterations for i, r in enumerate(together)) >= 1  # an early stop happened
    for run, got in zip(runs, together):
        alone = optim.run_gd(run.v0, run.a0, run.v_star, run.a_star, run.schedule, run.iterations, criteria,
                             trace_points=run.trace_points, stop_when_global=run.stop_when_global, check_every=50,
                             representation=representation, snapshot_at=run.snapshot_at)
        _same(got, alone)


@pytest.mark.parametrize("representation", ["plane", "vector"])
def test_a_run_of_no_iterations_beside_longer_ones_does_not_move(representation):
    criteria = optim.Criteria(phi_tol=5e-2, a_tol=5e-2, spurious_tol=0.7)
    longer = _run(3, 5, 3, 120, 200, representation, stop=False)
    still = _run(4, 5, 3, 120, 200, representation, stop=False)
    still.iterations, still.trace_points, still.snapshot_at = 0, [0], None
    got = optim.run_groups([longer, still], criteria, check_every=50)[1]
    alone = optim.run_gd(still.v0, still.a0, still.v_star, still.a_star, still.schedule, 0, criteria,
                         trace_points=[0], check_every=50, representation=representation)
    for name in ("v", "a", "iterations"):  # before: its rows stepped with the longer run's
        assert np.array_equal(getattr(got, name), getattr(alone, name)), name
    assert got.outcome.tolist() == alone.outcome.tolist()
    _same(optim.run_groups([longer, still], criteria, check_every=50)[0],
          optim.run_gd(longer.v0, longer.a0, longer.v_star, longer.a_star, longer.schedule, longer.iterations, criteria,
                       trace_points=longer.trace_points, check_every=50, representation=representation,
                       snapshot_at=longer.snapshot_at))


def test_schedule_with_a_stage_one_length_per_trial():
    a = optim.Schedule("ssw", np.full(2, 0.1), np.full(2, 0.2), np.full(2, 0.3), 5)
    b = optim.Schedule("layerwise", np.full(3, 0.4), np.full(3, 0.5), np.full(3, 0.6), 9)
    both = optim.Schedule.stack([a, b])
    for t in (0, 4, 5, 8, 9, 20):
        eta_a, eta_w = both.at(t)
        assert eta_a.tolist() == a.at(t)[0].tolist() + b.at(t)[0].tolist()
        assert eta_w.tolist() == a.at(t)[1].tolist() + b.at(t)[1].tolist()
        part = both.take(np.array([1, 3]))
        assert part.at(t)[0].tolist() == [a.at(t)[0][1], b.at(t)[0][1]]


def test_cells_in_one_batch_equal_cells_alone():
    s = sr.SuccessSettings(p=[5], k=[2, 4], trials=12, stage2_steps=300, method=["cnn-large-w", "resnet-ssw"], seed=3)
    s.check()
    tasks = [sr.PkTask(sweep.cell_settings(s), 5, k) for k in s.k]
    together = sr.run_pks(sr.PkGroup(tuple(tasks)))
    for task, cells in zip(tasks, together):
        assert [c.to_dict() for c in cells] == [c.to_dict() for c in sr.run_pk(task)]
