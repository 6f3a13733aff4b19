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
