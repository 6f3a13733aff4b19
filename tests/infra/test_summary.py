"""A result echoed in a REPL is a few lines (experiments/summary.py), not the dataclass dump."""

import dataclasses

import numpy as np

from resnet_cli.api import HessianSettings, run
from resnet_cli.experiments.summary import short_repr


@dataclasses.dataclass
class Fake:
    __repr__ = short_repr
    big: np.ndarray

    def to_dict(self):
        return {"command": "demo", "config": {"seed": 7, "k": 3}, "rate": 0.123456, "n": 12, "note": "x" * 80,
                "counts": {"global": 3, "spurious": 1}, "rows": [{"a": 1}] * 5, "trace": {"loss": self.big}}


def test_short_repr_names_the_command_the_headline_and_the_tables():
    text = repr(Fake(np.zeros((1000, 1000))))
    lines = text.splitlines()
    assert lines[0] == "Fake: resnet-cli demo, seed 7"
    assert "rate=0.1235" in text and "n=12" in text and "counts={global: 3, spurious: 1}" in text
    assert "tables: rows (5), trace (1)" in text and "to_dict()" in lines[-1]
    assert len(lines) <= 6 and max(map(len, lines)) <= 100 and "x" * 41 not in text


def test_a_real_result_echoes_in_a_few_lines():
    result = run(HessianSettings(shortcut=2, depth=4, init="zero"))
    text = repr(result)
    assert text.startswith("HessianResult: resnet-cli hessian, seed 0") and "cond10=1.542" in text
    assert len(text.splitlines()) <= 8 and len(text) < 800
    assert len(repr(dataclasses.asdict(result))) > 5 * len(text)  # what the dataclass repr would have dumped
