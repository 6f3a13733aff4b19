"""Full-batch gradient descent on a batch of n-shortcut networks (runs × learning rates), through
`resnet_cli.descent.descend` (Li et al. 2017, §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from resnet_cli.descent import descend
from resnet_cli.models.shortcut.linear import linear_loss_and_gradient
from resnet_cli.models.shortcut.network import (
    SecondMoments, ShortcutNet, linear_loss_gap, loss_and_gradient, optimal_linear_loss, optimal_linear_map,
    second_moments,
)

# Gradient descent: a loss above BLOWUP × max(initial loss, 1) counts as diverged (before it overflows).
BLOWUP = 1e12

# --- gradient descent, batched over runs and learning rates -------------------------------------------------


@dataclass
class GDResult:
    """Outcome of full-batch gradient descent on a batch of networks (leading axes ``batch``).

    ``losses[e]`` is the loss at the weights after e epochs (e = 0 … epochs); ``gaps[e]`` = losses[e] − L_min
    (computed without cancellation for linear networks). A member whose loss or gradient stopped being
    finite, or whose loss grew beyond ``BLOWUP`` × max(its initial loss, 1), is ``diverged`` (at
    ``diverged_epoch``, whose loss, gap and gradient norm are the values that crossed the limit, finite if only
    above it); from then on it is frozen, its later losses are inf and ``weights`` holds the weights of the epoch
    before.
    """

    weights: np.ndarray
    losses: np.ndarray
    gaps: np.ndarray
    grad_norms: np.ndarray
    diverged: np.ndarray
    diverged_epoch: np.ndarray
    l_min: float


def gradient_descent(
    net: ShortcutNet,
    weights: np.ndarray,
    learning_rates: np.ndarray | float,
    epochs: int,
    *,
    X: np.ndarray | None = None,
    Y: np.ndarray | None = None,
    moments: SecondMoments | None = None,
    progress: Callable[[int, int], None] | None = None,
    initial_loss: float | None = None,
) -> GDResult:
    """Full-batch GD W ← W − η ∇L for `epochs` epochs on a batch of networks at once.

    ``weights`` (*wbatch, R, n, d, d) and ``learning_rates`` (*lbatch) broadcast together to the batch shape,
    e.g. initial weights of shape (runs, R, n, d, d) against rates of shape (k, 1) give a (k, runs) batch. Linear networks step from the second moments (cost
    O(depth·d³) per step whatever m, Li et al. eq. 7); nonlinear ones backpropagate over X, Y. Every member
    evolves exactly as it would alone: the result equals one-member-at-a-time runs. Divergence (NaN/inf)
    is recorded per member, never raised; a diverged member leaves the batch (its weights frozen, nothing
    more computed for it), so a grid whose large rates blow up early costs what its surviving members cost.
    ``progress(epoch, epochs)`` is called after each epoch. ``initial_loss``: the loss the divergence threshold
    counts from (BLOWUP × max(initial_loss, 1)) for a run continued in segments (its loss at step 0); by
    default each member's loss at ``weights``.

    Long because: the step and its divergence bookkeeping are closures over one record (the descend loop).
    """
    if epochs < 0:
        raise ValueError("epochs must be >= 0")
    weights = np.asarray(weights, dtype=np.float64)
    lrs = np.asarray(learning_rates, dtype=np.float64)
    batch = np.broadcast_shapes(weights.shape[:-4], lrs.shape)
    members = int(np.prod(batch, dtype=np.int64))
    frozen = np.array(np.broadcast_to(weights, batch + net.weight_shape), order="C")  # every member's weights
    flat = frozen.reshape((members,) + net.weight_shape)  # a view: members written here are final
    rates = np.broadcast_to(lrs, batch).reshape(members)
    if net.is_linear:
        if moments is None:
            moments = second_moments(X, Y)
    elif X is None or Y is None:
        raise ValueError("a nonlinear network needs the samples X, Y")
    l_min = optimal_linear_loss(moments if moments is not None else second_moments(X, Y))
    record = GDResult(frozen, np.full((epochs + 1,) + batch, np.inf), np.full((epochs + 1,) + batch, np.inf),
                      np.full((epochs + 1,) + batch, np.nan), np.zeros(batch, dtype=bool),
                      np.full(batch, -1, dtype=np.int64), l_min)
    losses, gaps, grad_norms = (a.reshape((epochs + 1, members)) for a in (record.losses, record.gaps,
                                                                           record.grad_norms))
    diverged, diverged_epoch = record.diverged.reshape(members), record.diverged_epoch.reshape(members)
    w_star = optimal_linear_map(moments) if net.is_linear else None
    active = [np.arange(members)]  # the members still descending (rows of the working arrays), in order
    limit: list[np.ndarray] = []  # the divergence threshold of the active members, fixed at epoch 0
    workspace: dict = {}  # the per-layer buffers of loss_and_gradient, reused at every step

    def evaluate(W: np.ndarray, W_before: np.ndarray, epoch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Loss and gradient of the active members at W (epoch `epoch`), recorded; members that just diverged
        go back to W_before (their final weights) and leave the batch: the rows returned are the survivors'."""
        rows = active[0]
        if net.is_linear:
            value, grad, M = linear_loss_and_gradient(net, W, moments)
            gap = linear_loss_gap(M, moments, w_star)
        else:
            value, grad = loss_and_gradient(net, W, X, Y, workspace)
            gap = value - l_min
        if not limit:
            start = value if initial_loss is None else np.full(value.shape, initial_loss)
            limit.append(BLOWUP * np.maximum(np.where(np.isfinite(start), start, 1.0), 1.0))
        gnorm = np.sqrt(np.sum(grad * grad, axis=(-4, -3, -2, -1)))
        ok = np.isfinite(value) & np.isfinite(gnorm) & (value <= limit[0])
        losses[epoch, rows], gaps[epoch, rows], grad_norms[epoch, rows] = value, gap, gnorm
        if not ok.all():
            bad = rows[~ok]
            diverged_epoch[bad], diverged[bad] = epoch, True  # its record keeps the values that crossed the limit
            flat[bad] = W_before[~ok]
            active[0], limit[0] = rows[ok], limit[0][ok]
            W, grad = W[ok], grad[ok]
        return W, grad, ok

    def step(state: tuple[np.ndarray, np.ndarray], epoch: int) -> tuple[np.ndarray, np.ndarray]:
        W, grad, _ = evaluate(*state, epoch)
        return W - rates[active[0]][:, None, None, None, None] * grad, W

    callback = None if progress is None else (lambda state, done: progress(done, epochs))
    (W, W_before), _ = descend(step, (flat.copy(), flat.copy()), epochs, callback=callback)
    with np.errstate(all="ignore"):
        flat[active[0]] = evaluate(W, W_before, epochs)[0]
    return record
