"""The min-norm Clarke subgradient of a ReLU risk and gradient descent along it (Yun et al. 2019's networks).

ReLU has no derivative where a pre-activation z is 0; there the risk's Clarke subdifferential is the convex
hull of the one-sided gradients (Clarke, "Optimization and Nonsmooth Analysis", 1983, §2.1). Its min-norm
element is the steepest-descent direction and its norm the stationarity measure (0 exactly at
Clarke-critical points). `gradient_descent` is the descent `landscape deep-resnet --finder gd` runs: all
starts as one batched array program, per-start Armijo step control, through `resnet_cli.descent.descend`.
Arrays: θ and gradients (B, P); the engines' `risk_grad`/`preactivations` are passed in as callables.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from resnet_cli.descent import STOP, descend

Array = np.ndarray
Progress = Callable[..., None]


def box_least_squares(D: Array, g0: Array, iterations: int = 60) -> Array:
    """argmin over s ∈ [0, 1]^n of ‖g0 + Dᵀ s‖² (n is small).

    Closed form for n = 1; otherwise an active-set iteration (solve on the free coordinates, clip), which
    keeps the best feasible point seen. A sub-optimal s only over-states the stationarity measure.
    """
    Q = D @ D.T
    q = D @ g0
    n = q.size
    if n == 1:
        return np.array([min(1.0, max(0.0, -q[0] / Q[0, 0]))]) if Q[0, 0] > 0 else np.zeros(1)

    def value(s: Array) -> float:
        return float(s @ Q @ s + 2.0 * q @ s)

    s = np.clip(np.linalg.lstsq(Q, -q, rcond=None)[0], 0.0, 1.0)
    best, best_val = s, value(s)
    for _ in range(iterations):
        g = Q @ s + q
        free = ((s > 0) & (s < 1)) | ((s <= 0) & (g < 0)) | ((s >= 1) & (g > 0))
        if not free.any():
            break
        trial = s.copy()
        rhs = -(q[free] + Q[np.ix_(free, ~free)] @ s[~free])
        trial[free] = np.linalg.lstsq(Q[np.ix_(free, free)], rhs, rcond=None)[0]
        trial = np.clip(trial, 0.0, 1.0)
        val = value(trial)
        if val < best_val - 1e-15 * (1.0 + abs(best_val)):
            best, best_val = trial, val
        if np.allclose(trial, s, atol=1e-12):
            break
        s = trial
    return best


def min_norm_subgradient(
    risk_grad: Callable[..., tuple[Array, Array]],
    preactivations: Callable[[Array], list[Array]],
    theta: Array,
    grad: Array,
    kink_tol: float = 1e-5,
    max_entries: int = 32,
) -> tuple[Array, Array, Array]:
    """Steepest-descent direction of the ReLU risk: the min-norm element of its Clarke subdifferential.

    Where a pre-activation z is (nearly) 0 — |z| ≤ kink_tol·max(1, max|z| of that start) — the ReLU slope
    may be anything in [0, 1]. The gradient is affine in each such slope (exactly so when the kinks lie in
    one layer), so we evaluate the one-sided gradients and minimise ‖g0 + Σ_e s_e Δ_e‖ over s ∈ [0, 1]^n.
    At smooth points this is the ordinary gradient `grad`. Gradient flow of a non-smooth risk follows this
    direction, and its norm is the stationarity measure (0 exactly at Clarke-critical points).

    theta, grad: (B, P); `risk_grad(theta_batch, masks)` is `resnet_risk_grad`/`fc_risk_grad` with shape
    and data bound. Returns (direction (B, P), its norm (B,), number of kink entries per start (B,)).
    """
    B = theta.shape[0]
    direction = grad.copy()
    kinks = np.zeros(B, dtype=int)
    zs = preactivations(theta)
    zmax = np.max(np.stack([np.abs(z).max(axis=(1, 2)) for z in zs]), axis=0)
    thresh = kink_tol * np.maximum(1.0, zmax)
    nears = [np.abs(z) <= thresh[:, None, None] for z in zs]
    counts = sum(nr.sum(axis=(1, 2)) for nr in nears)
    starts = np.flatnonzero(counts > 0)
    if starts.size:
        thetas, masks_parts, plans = [], [[] for _ in zs], []
        for b in starts:
            entries = []
            for layer, nr in enumerate(nears):
                for j, i in zip(*np.nonzero(nr[b])):
                    entries.append((abs(float(zs[layer][b, j, i])), layer, int(j), int(i)))
            entries = sorted(entries)[:max_entries]
            n = len(entries)
            base = [(z[b] > 0).astype(float) * (~nr[b]) for z, nr in zip(zs, nears)]
            for layer in range(len(zs)):
                block = np.repeat(base[layer][None], n + 1, axis=0)
                for e, (_, lay, j, i) in enumerate(entries):
                    if lay == layer:
                        block[e + 1, j, i] = 1.0
                masks_parts[layer].append(block)
            thetas.append(np.repeat(theta[b][None], n + 1, axis=0))
            plans.append((b, n))
        grads = risk_grad(np.concatenate(thetas), [np.concatenate(part) for part in masks_parts])[1]
        pos = 0
        for b, n in plans:
            g0, D = grads[pos], grads[pos + 1 : pos + 1 + n] - grads[pos]
            direction[b] = g0 + D.T @ box_least_squares(D, g0)
            kinks[b] = n
            pos += n + 1
    return direction, np.linalg.norm(direction, axis=1), kinks


@dataclass
class DescentResult:
    theta: np.ndarray  # (B, P)
    risk: np.ndarray  # (B,)
    grad_norm: np.ndarray  # (B,) ‖∇R‖ with σ'(0) = 0
    stationarity: np.ndarray  # (B,) Clarke measure (= grad_norm at smooth points)
    kinks: np.ndarray  # (B,) number of (sample, unit) pairs sitting on a ReLU kink
    steps: np.ndarray  # (B,) accepted steps
    converged: np.ndarray  # (B,) bool


Direction = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def gradient_descent(risk_grad: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], theta0: np.ndarray, *,
                     steps: int, lr: float, grad_tol: float, direction: Direction | None = None,
                     progress: Progress | None = None) -> DescentResult:
    """Gradient descent from all B starts at once, a discretised gradient flow with per-start step control.

    The step direction is `direction(theta, grad)` — for ReLU nets the min-norm Clarke subgradient
    (`min_norm_subgradient`), which is the gradient at smooth points and slides along a kink that sits on
    a sample instead of zig-zagging across it — or the gradient when `direction` is None. Each start has
    its own step η_b (initially `lr`): a step is accepted when it decreases the risk by the Armijo amount
    1e-4·η_b‖d‖² (then η_b grows by 1.2), otherwise it is rejected and η_b halves. A start stops when
    ‖d‖ < grad_tol; after `steps` iterations the others are reported as not converged. The loop is
    `resnet_cli.descent.descend`; its callback reports progress and stops once no start is active.
    """
    theta = theta0.copy()
    B = theta.shape[0]
    risk, grad = risk_grad(theta)
    gnorm = np.linalg.norm(grad, axis=1)

    def steer(th: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if direction is None:
            return g, np.linalg.norm(g, axis=1), np.zeros(g.shape[0], dtype=int)
        return direction(th, g)

    d, dnorm, kinks = steer(theta, grad)
    eta = np.full(B, float(lr))
    accepted = np.zeros(B, dtype=int)
    active = np.isfinite(risk) & (dnorm >= grad_tol)
    report_every = max(steps // 100, 1)

    def step(state: None, it: int) -> None:  # the arrays above are the state, updated in place
        idx = np.flatnonzero(active)
        trial = theta[idx] - eta[idx, None] * d[idx]
        r_t, g_t = risk_grad(trial)
        ok = np.isfinite(r_t) & (r_t <= risk[idx] - 1e-4 * eta[idx] * dnorm[idx] ** 2)
        good, bad = idx[ok], idx[~ok]
        if good.size:
            theta[good], risk[good], grad[good] = trial[ok], r_t[ok], g_t[ok]
            gnorm[good] = np.linalg.norm(g_t[ok], axis=1)
            d[good], dnorm[good], kinks[good] = steer(theta[good], grad[good])
            accepted[good] += 1
            eta[good] *= 1.2
            active[good] = dnorm[good] >= grad_tol
        eta[bad] *= 0.5
        active[bad] = eta[bad] > 1e-300

    def callback(state: None, done: int) -> Any:
        if progress is not None and (done - 1) % report_every == 0:
            progress(done - 1, steps)
        return None if active.any() else STOP

    if active.any():
        descend(step, None, steps, callback=callback)
    converged = np.isfinite(risk) & (dnorm < grad_tol)
    return DescentResult(theta=theta, risk=risk, grad_norm=gnorm, stationarity=dnorm, kinks=kinks,
                         steps=accepted, converged=converged)
