"""Pinned outputs: every number recorded before the "One spine" refactor is still produced.

`tests/golden/record.py` stored, per case, the command line (in the vocabulary of the time) and every number
of the `--json` result outside `config`. Keys may move; numbers may not: each pinned number must be matched
by a number of today's output within 1e-9 relative (1e-12 absolute), one to one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import run_cli

GOLDEN = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN))
from record import numbers  # noqa: E402

CASES = sorted(p.stem for p in GOLDEN.glob("*.json"))


def unmatched(pinned: list[float], produced: list[float], rtol: float = 1e-9, atol: float = 1e-12) -> list[float]:
    """Pinned values with no partner in `produced` (greedy one-to-one matching on sorted lists)."""
    left = sorted(produced)
    missing = []
    j = 0
    for value in sorted(pinned):
        while j < len(left) and left[j] < value - (atol + rtol * abs(value)):
            j += 1
        if j < len(left) and abs(left[j] - value) <= atol + rtol * abs(value):
            j += 1
        else:
            missing.append(value)
    return missing


@pytest.mark.parametrize("case", CASES)
def test_pinned_numbers_unchanged(case):
    record = json.loads((GOLDEN / f"{case}.json").read_text())
    result = run_cli(*record["argv"], "--json", "--quiet")
    assert result.code == 0, result.stderr
    produced = [v for _, v in numbers(json.loads(result.stdout))]
    pinned = [v for _, v in record["numbers"]]
    missing = unmatched(pinned, produced)
    assert not missing, f"{len(missing)} of {len(pinned)} pinned numbers missing, e.g. {missing[:5]}"


def test_matcher_detects_a_change():
    assert unmatched([1.0, 2.0, 3.0], [3.0, 1.0, 2.0]) == []
    assert unmatched([1.0, 2.0], [1.0, 2.0 * (1 + 1e-6)]) == [2.0]
    assert unmatched([1.0, 1.0], [1.0]) == [1.0]
    assert np.isfinite(sum(unmatched([], [1.0])) + 0.0)
