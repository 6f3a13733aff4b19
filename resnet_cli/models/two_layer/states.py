"""The GD states of a two-layer run, by where its gradients come from (Liu et al. 2019; docs/train.md): the
exact plane coordinates of the population loss (`optim.PlaneState`), the vector state of the stride-s
population loss (`samples.StrideState`) or GD/SGD on samples (`samples.SampleState`), as the factories
`optim.run_gd(representation=...)` takes. Arrays: v* (trials × p), a* (trials × k).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from resnet_cli.models.two_layer import samples as ts


def per_step(samples: int | None = None, batch: int | None = None, online: bool = False) -> int:
    """Inputs one step of one trial reads: 0 for the population loss (neither `samples` nor `online`), else
    B = `batch` (online SGD: 1 when not given; minibatch SGD) or N = `samples` (full-batch GD)."""
    if online:
        return batch or 1
    if samples is not None:
        return batch or samples
    return 0


def state_factories(rng: np.random.Generator, v_star: np.ndarray, a_star: np.ndarray, copies: int = 1, *,
                    samples: int | None = None, batch: int | None = None, online: bool = False,
                    stride: int | None = None, law: str = "gaussian", label_noise: float = 0.0) -> list[Any]:
    """`copies` GD-state factories for `optim.run_gd(representation=...)` over the trials (rows) of (v*, a*)
    (n × p, n × k). Population (neither `samples` nor `online`) at s = p (`stride` None = p): ``"plane"`` (exact
    reduced coordinates). Population at s < p: `StrideState` (the vector representation; the plane reduction
    does not hold there). Samples: one Generator per trial spawned from `rng` (after the teachers and inits,
    so the default runs draw exactly what they drew before), which draws the trial's training set of `samples`
    inputs of `law` (labels with `label_noise`) and then its SGD stream (`batch` inputs a step, `per_step`);
    every copy gets the same data and its own copy of the Generators (common random numbers across methods)."""
    n, p = v_star.shape
    stride = p if stride is None else stride
    if samples is None and not online:
        if stride == p:
            return ["plane"] * copies
        return [lambda v, a, vs, ast: ts.StrideState(v, a, vs, ast, stride)] * copies
    gens = ts.trial_generators(rng, n)
    if online:
        data: dict[str, Any] = {"online": True}
    else:
        x, y = ts.draw_training_set(gens, v_star, a_star, samples, stride, law, label_noise)
        data = {"x": x, "y": y}
    inputs = per_step(samples, batch, online)
    factories = []
    for _ in range(copies):
        mine = copy.deepcopy(gens)
        factories.append(lambda v, a, vs, ast, mine=mine: ts.SampleState(
            v, a, vs, ast, data.get("x"), data.get("y"), batch=inputs, rngs=mine,
            online=data.get("online", False), stride=stride, law=law, label_noise=label_noise))
    return factories
