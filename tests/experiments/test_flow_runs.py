"""Gradient-flow runs (resnet_cli/experiments/flow.py): GD's outcomes approach the flow's as the step shrinks,
and the limits the flow reaches are the closed-form critical points."""

from __future__ import annotations

import math

import numpy as np

from resnet_cli.models.two_layer import optim
from resnet_cli.experiments import flow as ef
from resnet_cli.models.two_layer.population import draw_inits
from resnet_cli.models.two_layer import population as tl


def draws(seed: int, n: int, p: int, k: int):
    rng = np.random.default_rng(seed)
    v_star = tl.sample_sphere(rng, n, p)
    a_star = rng.standard_normal((n, k))
    _, a0 = draw_inits(rng, "resnet", v_star, a_star)
    return v_star, a_star, tl.sample_sphere(rng, n, p), a0


CRITERIA = optim.Criteria(phi_tol=1e-3, a_tol=1e-2, spurious_tol=math.pi / 4)


def test_gd_outcomes_approach_the_flow_as_the_step_shrinks():
    """Large steps (η = 0.6 on both layers) change GD's outcomes; the same steps × h, counts × 1/h, agree with
    the flow on more and more trials, and the success rates converge."""
    n, p, k = 300, 6, 4
    v_star, a_star, v0, a0 = draws(0, n, p, k)
    eta = np.full(n, 0.6)
    steps = 60
    schedule = optim.Schedule("large-w", eta, eta, eta, steps)
    flow = ef.run_flow(v0, a0, v_star, a_star, schedule, steps, CRITERIA, rtol=1e-10, atol=1e-12)
    disagree, gaps = [], []
    for h in (1.0, 0.3, 0.1):
        scaled = optim.Schedule("large-w", h * eta, h * eta, h * eta, round(steps / h))
        gd = optim.run_gd(v0, a0, v_star, a_star, scaled, round(steps / h), CRITERIA)
        disagree.append(int(np.sum(gd.outcome != flow.outcome)))
        gaps.append(abs(np.mean(gd.outcome == "global") - np.mean(flow.outcome == "global")))
    assert disagree[0] > 0  # the large step does change outcomes: the comparison is not vacuous
    assert disagree[2] <= disagree[1] <= disagree[0] and disagree[2] < disagree[0]
    assert gaps[2] <= gaps[0]


def test_limits_are_the_closed_form_critical_points():
    n, p, k = 60, 5, 3
    v_star, a_star, v0, a0 = draws(1, n, p, k)
    eta = np.full(n, 0.05)
    schedule = optim.Schedule("large-w", eta, eta, eta, 10)
    run = ef.run_flow(v0, a0, v_star, a_star, schedule, 200, CRITERIA)
    counts = run.limit_counts()
    assert counts["global"] + counts["spurious"] == n  # generic starts end at one of the two
    assert counts["spurious"] > 0 and counts["global"] > 0
    assert np.all(run.residual <= 1e-12)
    # Every trial the horizon calls global has the global limit.
    assert np.all(run.limit_kind[run.outcome == "global"] == "global")
