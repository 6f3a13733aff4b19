"""Kink entries of a ReLU network at a point and the slopes put on them (docs/landscape.md, "Newton finder").

A sample i sits on a kink of unit j in layer l when z_{l,j,i}(θ) = 0. An entry is (layer 0-based, unit,
sample); slopes s ∈ [0, 1] on the entries E give the pattern D(s) (D_e = s_e, the other entries follow the
sign of z). ∇R_{D(s)} is multilinear in s, so at z_E = 0 it is an element of the Clarke subdifferential.
"""

from __future__ import annotations

import numpy as np

from resnet_cli.models.clarke import box_least_squares
from resnet_cli.models.critical_points.pattern import Problem, pattern_gradient

Array = np.ndarray
Entry = tuple[int, int, int]  # (layer index 0-based, unit, sample)


def kink_entries(z: list[Array], tol: float = 1e-9) -> list[Entry]:
    """Entries (layer, unit, sample) with |z| ≤ tol·max(1, max|z|) for ONE point: z is a list of (units, m)."""
    zmax = max(float(np.abs(zl).max(initial=0.0)) for zl in z)
    thr = tol * max(1.0, zmax)
    return [(layer, int(j), int(i)) for layer, zl in enumerate(z) for j, i in zip(*np.nonzero(np.abs(zl) <= thr))]


def pattern_with(z: list[Array], entries: list[Entry], s: Array) -> list[Array]:
    """D = 1[z > 0] with D_e = s_e on the listed entries; z is a list of (units, m) (one point)."""
    D = [(zl > 0).astype(float) for zl in z]
    for (layer, j, i), se in zip(entries, s):
        D[layer][j, i] = se
    return D


def nested(entries: list[Entry]) -> bool:
    """True when two on-kink entries of different layers share a sample (z_E then is not smooth)."""
    by_sample: dict[int, set[int]] = {}
    for layer, _, i in entries:
        by_sample.setdefault(i, set()).add(layer)
    return any(len(v) > 1 for v in by_sample.values())


def kink_differences(problem: Problem, theta: Array, entries: list[Entry]) -> tuple[Array, Array]:
    """g0 = ∇R with every entry's slope 0 (P,) and Δ (n, P): Δ_e = ∇R with D_e = 1 minus g0 (the other
    entries 0). At z_e = 0, Δ_e = c_e ∂z_e/∂θ, c_e the signal backpropagated to the unit's output there."""
    n = len(entries)
    z = [zl[0] for zl in problem.preactivations(theta[None])]
    pats = [pattern_with(z, entries, np.zeros(n))]
    for e in range(n):
        s = np.zeros(n)
        s[e] = 1.0
        pats.append(pattern_with(z, entries, s))
    D = [np.stack([pt[layer] for pt in pats]) for layer in range(len(z))]
    G = pattern_gradient(problem, np.repeat(theta[None], n + 1, axis=0), D).grad
    return G[0], G[1:] - G[0]


def clarke_weights(problem: Problem, theta: Array, entries: list[Entry]) -> Array:
    """Slopes s ∈ [0, 1]^E minimising ‖∇R_{D(s)}(θ)‖ at θ (P,) (the min-norm Clarke subgradient's weights).

    ∇R_{D(s)} = g0 + Σ_e s_e Δ_e exactly when the kinks lie in one layer (otherwise multilinear in s; this
    is then its affine part at s = 0), with g0, Δ of `kink_differences`.
    """
    if not entries:
        return np.zeros(0)
    g0, delta = kink_differences(problem, theta, entries)
    return box_least_squares(delta, g0)

