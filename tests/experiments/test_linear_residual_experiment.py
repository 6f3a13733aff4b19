"""`landscape linear-resnet` runs: the same seed gives the same numbers, the kinds add up, the region check."""

from __future__ import annotations

import pytest

from resnet_cli.errors import ConfigError
from resnet_cli.experiments import linear_residual as exp

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
