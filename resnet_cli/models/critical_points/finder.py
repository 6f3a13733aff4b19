"""The Newton/Levenberg–Marquardt finder of critical points, kinks included (docs/landscape.md, "Newton finder").

Solves F(θ, s) = [∇R_{D(s)}(θ); z_E(θ)] = 0 from B starts at once; one iteration is one step of
`resnet_cli.descent.descend` over the batch (its callback stops the loop when no start is active). The
Jacobian is J = [[∇²R_{D(s)}, ∂_s ∇R_{D(s)}], [∂z_E/∂θ, 0]]: ∇²R_{D(s)} and ∂z/∂θ from
`pattern.pattern_derivatives` (block-triangular forward-over-reverse), ∂_s ∇R_{D(s)} by an exact central
difference of gradients (∇R_D is quadratic in each s_e) from `pattern.pattern_gradient` — one reverse pass
per column, no tangents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from resnet_cli.descent import STOP, descend
from resnet_cli.models.clarke import min_norm_subgradient
from resnet_cli.models.critical_points.kinks import Entry, pattern_with
from resnet_cli.models.critical_points.pattern import (PatternDerivs, Problem, pattern_derivatives,
                                                       pattern_gradient)

Array = np.ndarray


@dataclass
class FinderResult:
    """Outcome of `find_critical_points` for B starts.

    theta (B, P) end points; converged (B,); iterations (B,); risk (B,);
    residual (B,) ‖∇R_{D(s)}‖ (the Clarke-weighted gradient the Newton system drives to 0);
    kink_gap (B,) max|z_E| (0 without kinks); grad_norm (B,) the engine's ‖∇R‖ with σ'(0) = 0 (the gradient
    of one side at a kink point); clarke_norm (B,) the engine's min-norm subgradient
    (`clarke.min_norm_subgradient`); kinks[b] the entries E (layer, unit, sample) and weights[b] their
    slopes s ∈ [0, 1]; history[b] the residual ‖F‖ per iteration.
    """

    theta: Array
    converged: Array
    iterations: Array
    risk: Array
    residual: Array
    kink_gap: Array
    grad_norm: Array
    clarke_norm: Array
    kinks: list[list[Entry]]
    weights: list[Array]
    history: list[list[float]] = field(default_factory=list)


@dataclass
class _Point:
    """One start's current derivatives: g (P,), H (P, P), dz per layer (units, m, Q_l), z per layer (units, m)."""

    g: Array
    H: Array
    dz: list[Array]
    z: list[Array]


@dataclass
class _Run:
    """The finder's batched state (B starts); arrays are updated in place by `_iterate`."""

    problem: Problem
    theta: Array  # (B, P)
    entries: list[list[Entry]]
    slopes: list[Array]
    F: list[Array]  # per start (P + |E|,)
    cur: list[_Point]
    lam: Array
    iters: Array
    active: Array
    converged: Array
    poor: Array  # the last step was rejected or decreased ‖F‖² by < 1/4 of the prediction
    history: list[list[float]]
    opts: dict[str, Any]


def _residual(problem: Problem, theta: Array, Z: list[Array], entries: list[list[Entry]],
              slopes: list[Array]) -> tuple[PatternDerivs, list[Array]]:
    """Pattern derivatives at θ (B, P) with D = 1[Z > 0] (Z: the network's own pre-activations at θ), slopes s on
    E; and F = [∇R_D; z_E] per start (z_E from Z as well)."""
    B = theta.shape[0]
    Ds = [pattern_with([zl[b] for zl in Z], entries[b], slopes[b]) for b in range(B)]
    D = [np.stack([Ds[b][layer] for b in range(B)]) for layer in range(len(Z))]
    der = pattern_derivatives(problem, theta, D)
    F = [np.concatenate([der.grad[b], [Z[layer][b, j, i] for layer, j, i in entries[b]]]) for b in range(B)]
    return der, F


def _point(der: PatternDerivs, Z: list[Array], b: int) -> _Point:
    return _Point(der.grad[b], der.hess[b], [dz[b] for dz in der.dz], [zl[b] for zl in Z])


def _done(run: _Run, b: int) -> bool:
    P, F = run.theta.shape[1], run.F[b]
    small_gap = len(run.entries[b]) == 0 or np.abs(F[P:]).max() < run.opts["tol"]
    return bool(np.all(np.isfinite(F)) and np.linalg.norm(F[:P]) < run.opts["tol"] and small_gap)


def _set_entries(run: _Run, b: int, entries: list[Entry], slopes: Array, z: list[Array]) -> None:
    """New kink entries of start b; F's z_E part follows (∇R_D is unchanged when an entry joins at its own
    side's slope or leaves with its slope settled there)."""
    P = run.theta.shape[1]
    run.entries[b], run.slopes[b] = entries, slopes
    run.F[b] = np.concatenate([run.F[b][:P], [z[layer][j, i] for layer, j, i in entries]])


def _join_nearest(run: _Run, b: int) -> None:
    """After a poor or rejected step, the entry nearest to its kink joins E if it is within reach of a Newton
    step, |z_e| ≤ kappa·‖F‖ (slope = its side's, so the merit does not jump)."""
    zc = run.cur[b].z
    if not run.poor[b] or len(run.entries[b]) >= run.opts["max_kinks"]:
        return
    reach = run.opts["kappa"] * float(np.linalg.norm(run.F[b]))
    E = set(run.entries[b])
    near = sorted((abs(zl[j, i]), (layer, int(j), int(i)))
                  for layer, zl in enumerate(zc) for j, i in zip(*np.nonzero(np.abs(zl) <= reach)))
    added = [e for _, e in near if e not in E][:1]
    if added:
        slopes = np.concatenate([run.slopes[b], [float(zc[l][j, i] > 0) for l, j, i in added]])
        _set_entries(run, b, run.entries[b] + added, slopes, zc)


def _slope_columns(problem: Problem, theta: Array, points: list[_Point], entries: list[list[Entry]],
                   slopes: list[Array]) -> list[Array]:
    """∂∇R_D/∂s_e (P, n_b) of every start (θ (B, P)) by a central difference with step ½, exact because ∇R_D
    is quadratic in s_e: the 2·Σn_b gradients of all starts in one `pattern_gradient` call."""
    rows, layers = [], [[] for _ in range(len(points[0].z))] if points else []
    for b, (pt, E, s) in enumerate(zip(points, entries, slopes)):
        n = len(E)
        if not n:
            continue
        base = pattern_with(pt.z, E, s)
        stack = [np.repeat(d[None], 2 * n, axis=0) for d in base]
        for e, (layer, j, i) in enumerate(E):
            stack[layer][2 * e, j, i], stack[layer][2 * e + 1, j, i] = s[e] + 0.5, s[e] - 0.5
        for layer, d in enumerate(stack):
            layers[layer].append(d)
        rows.append(np.repeat(theta[b][None], 2 * n, axis=0))
    if not rows:
        return [np.zeros((theta.shape[1], 0)) for _ in points]
    gg = pattern_gradient(problem, np.concatenate(rows), [np.concatenate(d) for d in layers]).grad
    cols, pos = [], 0
    for E in entries:
        n = len(E)
        cols.append((gg[pos : pos + 2 * n : 2] - gg[pos + 1 : pos + 2 * n : 2]).T)  # (g(s+½) − g(s−½)) / 1
        pos += 2 * n
    return cols


def _jacobian(pt: _Point, E: list[Entry], slope_columns: Array) -> Array:
    """J (P + n, P + n) of F(θ, s) at one start: [[∇²R_D, ∂_s∇R_D], [∂z_E/∂θ, 0]]."""
    P, n = pt.H.shape[0], len(E)
    J = np.zeros((P + n, P + n))
    J[:P, :P] = pt.H
    J[:P, P:] = slope_columns
    for e, (layer, j, i) in enumerate(E):
        row = pt.dz[layer][j, i]
        J[P + e, : row.size] = row
    return J


def _lm_step(J: Array, F: Array, lam: float, s: Array, P: int) -> tuple[Array, Array, float]:
    """(JᵀJ + μI) δ = −JᵀF with μ = λ‖F‖ (Fan–Yuan); s clipped to [0, 1]. Returns (δθ (P,), new s, the
    predicted decrease of ‖F‖²)."""
    n = J.shape[0] - P
    nF = float(np.linalg.norm(F))
    A = J.T @ J + lam * nF * np.eye(P + n)
    try:
        delta = -np.linalg.solve(A, J.T @ F)
    except np.linalg.LinAlgError:
        delta = -np.linalg.lstsq(A, J.T @ F, rcond=None)[0]
    new_s = np.clip(s + delta[P:], 0.0, 1.0) if n else s
    step = np.concatenate([delta[:P], new_s - s])
    return delta[:P], new_s, nF**2 - float(np.linalg.norm(F + J @ step)) ** 2


def _accept(run: _Run, b: int, theta: Array, slopes: Array, pt: _Point, F: Array, ratio: float) -> None:
    """Take the step; entries whose slope settled on their own side leave E (R_D unchanged by that).

    Signs come from the network's own forward pass (σ), the same z that sets D in `_residual`: the pattern
    network's z (a = D ⊙ z) differs by O(kink gap) downstream of a fractional slope, and at nested kinks that
    flips the sign of a downstream z ≈ 1e-23 — deciding "settled on its side" with it dropped an entry whose
    D then changed, leaving a stale ‖F‖ (near-identity preset, L = 4, seed 0, trial 3).
    """
    run.theta[b], run.slopes[b], run.cur[b], run.F[b] = theta, slopes, pt, F
    lam = run.lam[b]
    run.lam[b] = max(lam * 0.25, 1e-12) if ratio > 0.75 else (lam * 4.0 if ratio < 0.25 else lam)
    E, s, zb = run.entries[b], run.slopes[b], pt.z
    keep = [e for e, (layer, j, i) in enumerate(E)
            if not ((s[e] == 1.0 and zb[layer][j, i] > 0) or (s[e] == 0.0 and zb[layer][j, i] < 0))]
    if len(keep) < len(E):
        _set_entries(run, b, [E[e] for e in keep], s[keep], zb)


def _reject(run: _Run, b: int, z_trial: list[Array]) -> None:
    """λ ×4; the first kink the rejected step crossed joins E with its current slope, when it is within
    reach, |z_e| ≤ kappa·‖F‖ (Newton steps have length O(‖F‖); the later kinks may never be reached)."""
    run.lam[b] *= 4.0
    zc = run.cur[b].z
    if len(run.entries[b]) >= run.opts["max_kinks"]:
        return
    E = set(run.entries[b])
    cand = []  # (fraction of the step at which the kink is crossed, entry)
    for layer, (zl_old, zl_new) in enumerate(zip(zc, z_trial)):
        for j, i in zip(*np.nonzero((zl_old > 0) != (zl_new > 0))):
            if (layer, int(j), int(i)) not in E:
                t = abs(zl_old[j, i]) / max(abs(zl_old[j, i] - zl_new[j, i]), 1e-300)
                cand.append((t, (layer, int(j), int(i))))
    reach = run.opts["kappa"] * float(np.linalg.norm(run.F[b]))
    added = [(e, float(zc[e[0]][e[1], e[2]] > 0)) for _, e in sorted(cand)[:1]
             if abs(zc[e[0]][e[1], e[2]]) <= reach]
    if added:
        slopes = np.concatenate([run.slopes[b], [v for _, v in added]])
        _set_entries(run, b, run.entries[b] + [e for e, _ in added], slopes, zc)
        run.lam[b] = max(run.lam[b] / 4.0, run.opts["damping"])


def _iterate(run: _Run, it: int) -> _Run:
    """One LM iteration of every active start: per start a (P+|E|)-square damped system, then one batched
    evaluation of all trial points, then accept/reject per start."""
    idx = np.flatnonzero(run.active)
    P = run.theta.shape[1]
    trials, trial_slopes, preds = [], [], []
    for b in idx:
        _join_nearest(run, b)
    cols = _slope_columns(run.problem, run.theta[idx], [run.cur[b] for b in idx], [run.entries[b] for b in idx],
                          [run.slopes[b] for b in idx])
    for pos, b in enumerate(idx):
        J = _jacobian(run.cur[b], run.entries[b], cols[pos])
        step, new_s, pred = _lm_step(J, run.F[b], run.lam[b], run.slopes[b], P)
        trials.append(run.theta[b] + step), trial_slopes.append(new_s), preds.append(pred)
    trial = np.stack(trials)
    with np.errstate(over="ignore", invalid="ignore"):
        Zt = run.problem.preactivations(trial)
        der_t, F_t = _residual(run.problem, trial, Zt, [list(run.entries[b]) for b in idx], trial_slopes)
    for pos, b in enumerate(idx):
        run.iters[b] += 1
        old = float(np.linalg.norm(run.F[b])) ** 2
        new = float(np.linalg.norm(F_t[pos])) ** 2 if np.all(np.isfinite(F_t[pos])) else np.inf
        ratio = (old - new) / max(preds[pos], 1e-300)
        run.poor[b] = not (np.isfinite(new) and ratio > 0.25)
        if np.isfinite(new) and ratio > 1e-4:
            _accept(run, b, trial[pos], trial_slopes[pos], _point(der_t, Zt, pos), F_t[pos], ratio)
        else:
            _reject(run, b, [zl[pos] for zl in Zt])
        _settle(run, b)
    return run


def _settle(run: _Run, b: int) -> None:
    """Record ‖F‖; a start stops when converged or when λ exceeds 1e16."""
    run.history[b].append(float(np.linalg.norm(run.F[b])))
    if _done(run, b):
        run.converged[b], run.active[b] = True, False
    elif run.lam[b] > 1e16:
        run.active[b] = False


def find_critical_points(problem: Problem, theta0: Array, *, tol: float = 1e-10, max_iter: int = 300,
                         damping: float = 1e-3, max_kinks: int = 32, kappa: float = 0.1) -> FinderResult:
    """Levenberg–Marquardt on F(θ, s) = [∇R_{D(s)}(θ); z_E(θ)] = 0 from every start θ0 (B, P) at once.

    Each iteration evaluates R_D, ∇R_D, ∇²R_D and ∂z/∂θ for all active starts in one batched call, then per
    start solves the (P+|E|)-square damped system (JᵀJ + μI)δ = −JᵀF, μ = λ_b‖F‖ (λ_b starts at `damping`,
    ×0.25 after a very successful step, ×4 after a poor or rejected one). A step is accepted when ‖F‖²
    decreases by at least 1e-4 of the predicted decrease. Kink entries join E one at a time, only when
    |z_e| ≤ kappa·‖F‖: the entry nearest its kink after a poor (ratio < 1/4) or rejected step, the first
    kink crossed by a rejected step (at most `max_kinks` per start); they leave E when their slope settles
    on their own side. Starts may be random or the end points of gradient descent.
    A start stops when ‖∇R_{D(s)}‖ < tol and max|z_E| < tol (converged), or after `max_iter` iterations or
    when λ_b exceeds 1e16 (not converged; never dropped).
    """
    theta = np.array(np.atleast_2d(theta0), dtype=float)
    B, P = theta.shape
    entries: list[list[Entry]] = [[] for _ in range(B)]
    slopes = [np.zeros(0) for _ in range(B)]
    Z = problem.preactivations(theta)
    der, F = _residual(problem, theta, Z, entries, slopes)
    run = _Run(problem, theta, entries, slopes, F, [_point(der, Z, b) for b in range(B)],
               lam=np.full(B, float(damping)), iters=np.zeros(B, dtype=int), active=np.ones(B, dtype=bool),
               converged=np.zeros(B, dtype=bool), poor=np.zeros(B, dtype=bool), history=[[] for _ in range(B)],
               opts={"tol": tol, "max_kinks": max_kinks, "kappa": kappa, "damping": float(damping)})
    for b in range(B):
        run.history[b].append(float(np.linalg.norm(run.F[b])))
        if _done(run, b):
            run.converged[b], run.active[b] = True, False
        elif not np.all(np.isfinite(run.F[b])):
            run.active[b] = False
    if run.active.any():
        descend(_iterate, run, max_iter, callback=lambda r, done: None if r.active.any() else STOP)
    return _result(run)


def _result(run: _Run) -> FinderResult:
    problem, theta, P = run.problem, run.theta, run.theta.shape[1]
    risk, g = problem.risk_grad(theta)
    _, clarke, _ = min_norm_subgradient(problem.risk_grad, problem.preactivations, theta, g)
    residual = np.array([np.linalg.norm(F[:P]) for F in run.F])
    gap = np.array([np.abs(F[P:]).max() if len(E) else 0.0 for F, E in zip(run.F, run.entries)])
    return FinderResult(theta=theta, converged=run.converged, iterations=run.iters, risk=risk, residual=residual,
                        kink_gap=gap, grad_norm=np.linalg.norm(g, axis=1), clarke_norm=clarke,
                        kinks=run.entries, weights=run.slopes, history=run.history)
