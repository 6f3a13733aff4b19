"""Phase boundaries (models/two_layer/phases.py) on synthetic traces whose boundary is known."""

from __future__ import annotations

import numpy as np

from resnet_cli.models.two_layer import phases as ph


def _two_phase(tau: float, slow: float = -1e-3, fast: float = -5e-2, steps: int = 1200, noise: float = 0.0):
    t = np.arange(0, steps + 1, 2, dtype=float)
    y = 1.0 + slow * np.minimum(t - tau, 0) + fast * np.maximum(t - tau, 0) + slow * tau
    rng = np.random.default_rng(0)
    return t, 10 ** (y + noise * rng.standard_normal(t.size))


def test_hinge_fit_finds_the_corner_and_slopes():
    t, loss = _two_phase(300.0)
    tau, s1, s2, sse = ph.hinge_fit(t, np.log10(loss))
    assert tau == 300.0 and abs(s1 + 1e-3) < 1e-9 and abs(s2 + 5e-2) < 1e-9 and sse < 1e-18


def test_change_point_stops_at_the_floor_and_tolerates_noise():
    t, a = _two_phase(300.0, noise=0.02)
    _, b = _two_phase(120.0)
    loss = np.vstack([a, b, np.full(t.size, 2.0)])  # the third never falls: a hinge with both slopes ≈ 0
    loss[1, t > 250] = 1e-15  # a rounding floor from t = 252 on: the window ends there
    out = ph.change_point(t, loss, floor=1e-10)
    assert abs(out["tau"][0] - 300) <= 10 and abs(out["tau"][1] - 120) <= 2
    assert out["end"][1] == 252
    assert 500 <= out["end"][0] <= 530  # log10 loss = 0.7 − 0.05 (t − 300) reaches −10 at t = 514
    assert out["slope_fast"][1] / out["slope_slow"][1] > 10 and abs(out["slope_fast"][2]) < 1e-12


def test_first_below():
    steps = np.array([0, 10, 20, 30])
    phi = np.array([[1.0, 0.8, 0.4, 0.1], [2.0, 1.9, 1.8, 1.7]])
    assert ph.first_below(steps, phi, phi[:, 0] / 2).tolist() == [20, -1]
    assert ph.first_below(steps, phi, 0.1).tolist() == [30, -1]
