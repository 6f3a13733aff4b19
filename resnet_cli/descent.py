"""The one optimizer driver of every engine (after HIPS/autograd's `misc/optimizers.py`).

An optimizer here is a short loop over a *batched* state (many trials, runs, learning rates or starts at
once, one array program): `descend(step, state, steps, callback=..., every=...)` applies
`state = step(state, i)` for i = 0 … steps − 1 and, after every `every`-th step and after the last, calls
`callback(state, i + 1)` — the one signature through which every engine reports progress, records traces,
freezes finished members and stops early (a callback returning `STOP` ends the loop). Floating-point
warnings are silenced inside: divergence is a result the engines record, not an error.

The engines keep what is theirs in their state and step:
- Liu et al. 2019 (`optim.run_gd`): GD with normalization and step-size schedules; the exact reduced
  plane-coordinate state (`gd_states.PlaneState`) or the reference vector state; finished trials compacted.
- Liu et al. at stride s < p (`stride_landscape.descend`): normalized GD on `samples.StrideState`.
- Li et al. 2017 (`models.shortcut.gradient_descent`): full-batch GD over stacks of learning rates × runs.
- Yun et al. 2019 (`models.clarke.gradient_descent`): per-start Armijo step control along the
  min-norm (Clarke) subgradient.
- The Newton/LM critical-point finder (`models.critical_points.finder`): one LM iteration of every active
  start per step; the callback stops the loop when no start is active.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import numpy as np

S = TypeVar("S")
STOP = object()  # a callback returns this to end the loop early

Step = Callable[[S, int], S]
Callback = Callable[[S, int], Any]


def descend(step: Step, state: S, steps: int, *, callback: Callback | None = None, every: int = 1) -> tuple[S, int]:
    """Run `steps` steps of `step` on `state`; returns (final state, steps taken).

    `callback(state, done)` runs after step `done` whenever `done % every == 0` or `done == steps`.
    """
    if steps < 0:
        raise ValueError("steps must be >= 0")
    every = max(int(every), 1)
    done = 0
    with np.errstate(all="ignore"):
        for i in range(steps):
            state = step(state, i)
            done = i + 1
            if callback is not None and (done % every == 0 or done == steps):
                if callback(state, done) is STOP:
                    break
    return state, done

