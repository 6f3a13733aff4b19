"""`hessian`'s exact paths: by blocks at zero (same numbers as the dense matrix), every --eigensolver, and
--spectrum inertia (certified brackets that contain the exact statistics)."""

from __future__ import annotations

import pytest

from resnet_cli.experiments import hessian as hx


def _run(**kw):
    return hx.run(hx.HessianSettings(**kw)).to_dict(arrays=True)


def test_zero_init_by_blocks_matches_dense_and_theorem1(monkeypatch):
    blocks = _run(depth=8)
    monkeypatch.setattr(hx.sc, "hessian_blocks", lambda *a: None)  # force the dense matrix
    dense = _run(depth=8)
    for key in ("abs_max", "abs_p10", "cond10", "index", "lambda_min", "lambda_max"):
        assert blocks[key] == pytest.approx(dense[key], rel=1e-10)
    assert blocks["theory"]["max_abs_deviation"] <= 1e-12 * blocks["abs_max"]
    assert blocks["theory"]["entry_deviation"] == pytest.approx(dense["theory"]["entry_deviation"], abs=1e-14)


def test_depth_128_at_zero_is_exact_beyond_the_old_cap():
    p = _run(depth=128)
    assert p["n_params"] == 12800 and p["spectrum"] == "exact"
    assert p["cond10"] == pytest.approx(p["theory"]["predicted"]["cond10"], rel=1e-10)


@pytest.mark.parametrize("solver", ["numpy", "ev", "evr"])
def test_eigensolver_choice_keeps_the_numbers(solver):
    ref = _run(depth=4, init="small", eigensolver="auto")
    got = _run(depth=4, init="small", eigensolver=solver)
    for key in ("abs_max", "abs_p10", "lambda_min", "lambda_max"):
        assert got[key] == pytest.approx(ref[key], rel=1e-10)


@pytest.mark.parametrize("kw", [dict(depth=4, init="xavier", shortcut=0), dict(depth=6, init="zero", shortcut=1),
                                dict(depth=4, init="zero")])
def test_inertia_brackets_contain_the_exact_statistics(kw):
    exact = _run(**kw)
    got = _run(spectrum="inertia", bracket_width=1e-3, **kw)
    b = got["per_trial"][0]["brackets"]
    tol = 1e-12 * exact["abs_max"]  # Ritz values (the inner ends of the λ brackets) are exact up to rounding
    for key in ("abs_max", "abs_p10", "lambda_min", "lambda_max"):
        lo, hi = b[key]
        assert lo - tol <= exact[key] <= hi + tol, key
    assert b["cond10"][0] * (1 - 1e-12) <= exact["cond10"] <= b["cond10"][1] * (1 + 1e-12)
    assert b["negative"] == round(exact["index"] * exact["n_params"])
    assert got["approximate"] and got["cond"] is None
    assert tuple(got["spectra"][0]["brackets"]["abs_max"]) == tuple(b["abs_max"])  # --eigenvalues' rows come from these
