"""`reproduce stride-landscape`: the declared runs are the ones that made docs/data (flags and seed), and the
stored sweeps hold what the section reads (strides p … 1, every point critical)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from resnet_cli.reproductions import stride_landscape as rep

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("seed", range(rep.TEACHERS))
def test_the_declared_runs_made_the_stored_data(seed):
    from resnet_cli.experiments.two_layer import LandscapeSettings
    from resnet_cli.report import to_jsonable

    stored = json.loads((DOCS / "data" / f"stride-landscape-seed-{seed}.json").read_text())
    mine = json.loads(json.dumps(to_jsonable(LandscapeSettings.resolve(None, {**rep.FLAGS, "seed": seed}).to_dict())))
    declared = [*rep.FLAGS, "seed"]
    assert {k: mine[k] for k in declared} == {k: stored["config"][k] for k in declared}
    sweep = stored["stride_sweep"]
    assert sweep["strides"] == list(range(rep.FLAGS["p"], 0, -1))
    assert all(row["grad_norm"] < sweep["grad_tol"] for row in sweep["spurious_branch"] + sweep["found"])


def test_one_teacher_recomputed_equals_the_stored_data():
    """The sweep is deterministic and its speed-ups (minimize stops where a step rounds away) change nothing:
    teacher 1 recomputed equals docs/data to 1e-9."""
    from resnet_cli.report import to_jsonable

    stored = json.loads((DOCS / "data" / "stride-landscape-seed-1.json").read_text())
    payload, seconds = rep.run_one(1)
    mine = json.loads(json.dumps(to_jsonable(payload)))
    assert seconds > 0

    def close(x, y, where=""):
        if isinstance(x, dict):
            assert set(x) == set(y), where
            for key in x:
                close(x[key], y[key], f"{where}.{key}")
        elif isinstance(x, list):
            assert len(x) == len(y), where
            for i, (a, b) in enumerate(zip(x, y)):
                close(a, b, f"{where}[{i}]")
        elif isinstance(x, float) and isinstance(y, float):
            assert x == pytest.approx(y, rel=0, abs=1e-9), where
        else:
            assert x == y, where

    close(mine["stride_sweep"], stored["stride_sweep"])
    close(mine["critical_points"], stored["critical_points"])


def test_the_section_prints_no_negative_zero_and_the_figure_draws(tmp_path):
    text = rep.section(DOCS)
    assert "-0.0000" not in text and "| 5 | 0 |" in text  # teacher 1's followed point is global at s = 5: loss 0
    assert "figures/stride-landscape.png" in text
    assert rep._number(-3e-17) == "0" and rep._number(-0.25) == "-0.2500" and rep._number(1e-4) == "0.0001"
    pytest.importorskip("matplotlib")
    from resnet_cli.plots import two_layer as plots

    sweeps = {seed: json.loads((DOCS / "data" / f"stride-landscape-seed-{seed}.json").read_text())["stride_sweep"]
              for seed in range(rep.TEACHERS)}
    plots.stride_sweeps(sweeps, str(tmp_path / "sweep.png"))
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
