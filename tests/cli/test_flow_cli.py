"""The gradient-flow options from the command line: `success-rate --method NAME-flow`, `train two-layer --flow`."""

from __future__ import annotations

import json


def test_flow_methods_share_the_cells_draws_and_report_their_limits(cli):
    result = cli("success-rate", "--k", "4", "--trials", "40", "--method", "cnn-large-w,cnn-large-w-flow",
                 "--json", "--quiet")
    assert result.code == 0, result.stderr
    gd, flow = json.loads(result.stdout)["cells"]
    assert (gd["method"], flow["method"]) == ("cnn-large-w", "cnn-large-w-flow")
    assert gd["phi0_median_deg"] == flow["phi0_median_deg"]  # same starts
    limits = [flow[f"limit_{name}"] for name in ("global", "spurious", "saddle", "other", "not_converged")]
    assert sum(limits) == 40 and flow["limit_global"] >= flow["global"]
    assert flow["flow_rtol"] == 1e-8 and flow["flow_evaluations"] > 0


def test_train_flow_reports_where_the_flow_ends(cli):
    result = cli("train", "two-layer", "--flow", "--trials", "4", "--student", "cnn", "--schedule", "large-w",
                 "--seed", "7", "--json", "--quiet")
    assert result.code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert sum(payload["flow"]["limits"].values()) == 4
    assert all(run["flow_newton_residual"] <= 1e-12 for run in payload["runs"])
    assert payload["trace"]["step"][0] == 0 and payload["trace"]["step"][-1] == payload["config"]["steps"]


def test_flow_refuses_what_it_cannot_integrate(cli, one_line_error):
    assert "--flow" in one_line_error(cli("train", "two-layer", "--flow", "--samples", "64"))
    assert "flow" in one_line_error(cli("success-rate", "--method", "resnet-ssw-flow", "--online", "--k", "4"))


def test_a_flow_that_came_to_rest_before_the_solver_gave_up_is_classified_where_it_stopped(cli):
    """--steps 1e8: BDF reaches the optimum, then fails ('step size less than spacing') on the rescaled
    horizon; the trial was 'diverged' with loss, φ and ‖a − a*‖ all below 1e-12 in the same row."""
    out = " ".join(cli("train", "two-layer", "--flow", "--steps", "100000000", "--quiet").stdout.split())
    assert "outcomes: global 1" in out and "diverged" not in out
    assert "after every trial had come to rest at a fixed point" in out
