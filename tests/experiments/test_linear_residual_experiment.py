"""`landscape linear-resnet` runs: the same seed gives the same numbers, the kinds add up, the region check."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli.errors import ConfigError
from resnet_cli.experiments import linear_residual as exp
from resnet_cli.models import critical_points as cp
from resnet_cli.models import linear_residual as lr
from resnet_cli.plots import linear_residual as plots
from resnet_cli.render import linear_residual as render
from resnet_cli.render.common import console

SMALL = {"dim": 3, "samples": 60, "blocks": [2], "radius": [0.2, 1.8], "trials": 4, "probes": 20}


def test_same_seed_same_numbers_other_seed_other_starts():
    a = exp.run(exp.LinearResnetSettings.resolve(None, {**SMALL, "seed": 3})).to_dict()
    b = exp.run(exp.LinearResnetSettings.resolve(None, {**SMALL, "seed": 3})).to_dict()
    c = exp.run(exp.LinearResnetSettings.resolve(None, {**SMALL, "seed": 4})).to_dict()
    assert a == b
    assert [p["risk"] for p in a["points"]] != [p["risk"] for p in c["points"]]


def test_kinds_add_up_and_points_inside_the_region_are_global():
    out = exp.run(exp.LinearResnetSettings.resolve(None, {**SMALL, "seed": 0})).to_dict()
    for row in out["rows"]:
        assert row["starts"] == sum(row[k.replace(" ", "_").replace("-", "_")] for k in exp.KINDS)
    depth = out["depths"][0]
    assert depth["points"] == 8 and depth["inside"] >= 1 and depth["inside_nonglobal"] == 0
    for p in out["points"]:
        if p["kind"] == "global":
            assert p["gap"] <= out["risk_tol"] and p["negative"] == 0
        elif p["kind"] == "saddle":
            assert p["negative"] > 0 and p["lambda_min"] < 0 and p["radius"] >= 1.0


@pytest.mark.parametrize("overrides, message", [
    ({"data": "yun-example1"}, "d_in = d_out"),
    ({"dim": 30, "blocks": [3]}, "exact Hessians need at most"),
    ({"radius": [0.5, 0.5]}, "listed twice"),
    ({"radius": [0.0]}, "greater than 0"),
])
def test_refusals_name_the_flag(overrides, message):
    with pytest.raises(ConfigError, match=message):
        exp.LinearResnetSettings.resolve(None, overrides)


@pytest.mark.parametrize("seed", [0, 5])
def test_an_exact_fit_is_global_to_the_rounding_of_r(seed):
    """With fewer samples than dimensions R* ≈ 0 (an exact fit): gap_tol·R* fell below the rounding of R, so points
    with R − R* of 2e-15 were 'local minima' inside the region, false exceptions to Theorem 2.2."""
    out = exp.run(exp.LinearResnetSettings.resolve(None, {"data": "gaussian", "samples": 2, "dim": 4, "blocks": [2],
                                                           "radius": [0.3], "trials": 4, "seed": seed})).to_dict()
    depth = out["depths"][0]
    assert depth["local_minimum"] == 0 and depth["global"] == depth["inside"] == 4
    assert out["risk_tol"] > 1e-6 * out["optimum"]  # the rounding floor decides, not gap_tol · R*


def _moments(seed: int = 0, d: int = 3, m: int = 40) -> lr.Moments:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, d))
    return lr.moments(X, X + X @ (0.5 * rng.normal(size=(d, d))))


def test_all_factors_zero_at_depth_three_is_a_higher_order_saddle():
    """A_j = −I for L = 3: gradient and Hessian vanish (every term keeps a zero factor), and R changes at third
    order: the escape probe lowers R at every radius, the one case labelled a higher-order saddle."""
    mom = _moments()
    theta = np.tile(-np.eye(3).ravel(), 3)
    assert np.abs(lr.hessian(theta[None], mom)[0]).max() == 0.0
    cfg = exp.LinearResnetSettings.resolve(None, {"dim": 3, "probes": 50})
    point = exp.analyse(theta, True, mom, lr.least_squares(mom).risk, 1e-12, cfg)
    assert point["kind"] == "higher-order saddle" and point["escape"]["descent_radii"] == list(exp.PROBE_RADII)


@pytest.mark.parametrize("falls, kind", [([1e-3, 1e-2, 1e-1], "higher-order saddle"), ([1e-1], "undecided"),
                                         ([1e-2, 1e-1], "undecided"), ([], "local minimum")])
def test_a_descent_only_at_the_larger_radii_is_undecided(falls, kind):
    """A label holds at every radius shown: R falling only from 0.1 on is no evidence nearer the point (a minimum
    with a narrower basin looks the same); it was labelled a higher-order saddle."""
    probe = {"radii": list(exp.PROBE_RADII), "descent_radii": falls, "descent": bool(falls)}
    assert exp.probe_kind(probe) == kind


def test_undecided_points_are_counted_shown_and_drawn(monkeypatch, tmp_path):
    def probe(*args, radii, **kwargs):
        return {"dim": 1, "radii": list(radii), "min_change": [0.0, 0.0, -1.0], "descent_radii": [radii[-1]],
                "descent": True}
    monkeypatch.setattr(cp, "escape_probe", probe)
    mom = _moments()
    theta = np.tile(-np.eye(3).ravel(), 3)
    cfg = exp.LinearResnetSettings.resolve(None, {"dim": 3})
    point = exp.analyse(theta, True, mom, lr.least_squares(mom).risk, 1e-12, cfg)
    assert point["kind"] == "undecided"
    out = exp.run(exp.LinearResnetSettings.resolve(None, {**SMALL, "seed": 0})).to_dict()
    assert sum(row["undecided"] for row in out["rows"]) == out["depths"][0]["undecided"]
    payload = {**out, "points": [{**p, "kind": "undecided"} if p["kind"] == "saddle" else p for p in out["points"]]}
    with console.capture() as captured:
        render.landscape(payload, detail=True)
    text = captured.get()
    assert "undec." in text and "at some radii, not all" in text
    plots.landscape(payload, str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").stat().st_size > 0
