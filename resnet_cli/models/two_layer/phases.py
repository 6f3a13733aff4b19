"""Two phases of GD with weight normalization, slow then fast (Du et al. 2017, "Gradient descent learns
one-hidden-layer CNN: don't be afraid of spurious local minima"), read off recorded traces.

A trace is `steps` (records,) and per-trial values (trials × records), as `optim.run_gd` records them. Two
definitions of the boundary between the phases, because the choice changes the headline:

- `first_below`: the first recorded step at which a statistic (the angle φ_t) is at or below a threshold
  (per trial; a threshold per trial is allowed, e.g. φ_0/2);
- `change_point`: the corner of the best two-piece continuous linear fit ("hinge") of log10 loss against t on
  the window before the loss reaches a floor: y ≈ c + s1·min(t − τ, 0) + s2·max(t − τ, 0), τ over the
  recorded steps, least squares. Slow then fast means s2 much steeper than s1 (s2/s1 ≫ 1).
"""

from __future__ import annotations

import numpy as np


def first_below(steps: np.ndarray, values: np.ndarray, threshold: float | np.ndarray) -> np.ndarray:
    """Per trial (rows of `values`, trials × records): the first step of `steps` at which the value is ≤
    `threshold` (a number or one per trial); −1 where it never is."""
    values = np.asarray(values, dtype=float)
    below = values <= np.asarray(threshold, dtype=float).reshape(-1, 1)
    hit = below.any(axis=1)
    return np.where(hit, np.asarray(steps)[np.argmax(below, axis=1)], -1)


def hinge_fit(t: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """The best continuous two-piece linear fit of y against t (both (n,), n ≥ 3), its corner τ among the
    interior points of t: (τ, slope before, slope after, residual sum of squares)."""
    t, y = np.asarray(t, dtype=float), np.asarray(y, dtype=float)
    corners = t[1:-1]
    d = t[None, :] - corners[:, None]  # candidates × points
    x = np.stack([np.ones_like(d), np.minimum(d, 0.0), np.maximum(d, 0.0)], axis=-1)  # candidates × n × 3
    gram = np.einsum("cni,cnj->cij", x, x)
    rhs = np.einsum("cni,n->ci", x, y)
    coef = np.linalg.solve(gram + 1e-12 * np.eye(3), rhs[..., None])[..., 0]
    sse = np.sum((np.einsum("cni,ci->cn", x, coef) - y) ** 2, axis=1)
    best = int(np.argmin(sse))
    return float(corners[best]), float(coef[best, 1]), float(coef[best, 2]), float(sse[best])


def change_point(steps: np.ndarray, loss: np.ndarray, floor: float = 1e-10, points: int = 200) -> dict[str, np.ndarray]:
    """Per trial (loss: trials × records): the hinge fit of log10 loss on the window from step 0 to the first
    record with loss ≤ `floor` (the whole trace if never), thinned to at most `points` records. Returns arrays
    `tau`, `slope_slow`, `slope_fast` (decades per step) and `end` (the window's last step); nan where the
    window has fewer than 4 records."""
    steps = np.asarray(steps, dtype=float)
    loss = np.asarray(loss, dtype=float)
    n = loss.shape[0]
    out = {name: np.full(n, np.nan) for name in ("tau", "slope_slow", "slope_fast", "end")}
    for i in range(n):
        finite = np.isfinite(loss[i])
        low = np.flatnonzero(finite & (loss[i] <= floor))
        stop = low[0] + 1 if low.size else loss.shape[1]
        keep = np.flatnonzero(finite[:stop])
        if keep.size < 4:
            continue
        keep = keep[np.unique(np.round(np.linspace(0, keep.size - 1, min(points, keep.size))).astype(int))]
        y = np.log10(np.maximum(loss[i, keep], floor))
        tau, s1, s2, _ = hinge_fit(steps[keep], y)
        out["tau"][i], out["slope_slow"][i], out["slope_fast"][i], out["end"][i] = tau, s1, s2, steps[keep[-1]]
    return out
