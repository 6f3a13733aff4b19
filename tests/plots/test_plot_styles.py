"""Every figure gives a network kind the same colour and marker, whichever kinds a run sweeps."""

from __future__ import annotations

from resnet_cli.experiments.depth_sweep import NETWORK_KINDS
from resnet_cli.plots.shortcut import NETWORK_STYLE, _run_line, network_style


def test_every_network_kind_has_its_own_style():
    assert set(NETWORK_STYLE) == set(NETWORK_KINDS)
    styles = [network_style(name) for name in NETWORK_KINDS]
    assert len({c for c, _ in styles}) == len(styles) and len({m for _, m in styles}) == len(styles)


def test_titles_name_the_data_trials_and_seed():
    line = _run_line({"seed": 3, "data": "digits"}, {"name": "digits", "samples": 500, "dim": 10}, "3 trials per cell")
    assert line == "digits (500 samples, d = 10), 3 trials per cell, seed 3"
