"""The settings of perturbed GD (Zhou et al. 2019; the engine is models/two_layer/noise.py), shared by
`train two-layer` (`--noise SIZE` turns it on) and `success-rate` (the `*-noise` methods).

`noise_law(settings, steps)` is the law a run uses; `noise_rng(seed, *keys)` its generator, a stream of its own
(`rng.cell_rng(seed, *keys, NOISE_KEY)`), so turning the noise on changes no other draw of a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from resnet_cli.config import Settings, require, setting
from resnet_cli.models.two_layer import noise as nz
from resnet_cli.models.two_layer.methods import NOISY
from resnet_cli.rng import cell_rng

#: σ0 of the *-noise methods of success-rate when --noise is not given (in units of ‖a*‖²: docs/train.md).
DEFAULT_SIZE = 1.0
#: The last key of the noise stream's generator (any fixed non-negative integer; it only has to differ from
#: the keys of the run's other streams).
NOISE_KEY = 7


@dataclass(frozen=True)
class NoiseSettings(Settings):
    """Perturbed GD: σ0 (`noise`, None = off in train two-layer and DEFAULT_SIZE for success-rate's *-noise
    methods), the annealing of σ_t on the clock t/T (`noise_anneal`, `noise_rate`) and the layers perturbed
    (`noise_on`); models/two_layer/noise.py has the formulas."""

    noise: Optional[float] = setting(None, min=0, shown="off (1 for *-noise)")
    noise_anneal: str = setting("exponential", choices=nz.ANNEALS)
    noise_rate: float = setting(10.0, min=0)
    noise_on: str = setting("w", choices=nz.TARGETS)

    def check(self) -> None:
        super().check()
        s = self
        if not noisy(s):
            return
        require(not getattr(s, "sampled", False), "--noise / *-noise: perturbed GD is of the population loss; drop "
                "--samples/--online (SGD has noise of its own)")
        sizes = getattr(s, "p", None)
        sizes = sizes if isinstance(sizes, list) else [sizes]
        require(getattr(s, "stride", None) is None or all(s.stride == p for p in sizes),
                "--noise / *-noise: perturbed GD is for non-overlapping patches; drop --stride")
        require(not getattr(s, "flow", False), "--noise with --flow: the gradient flow has no noise; drop one")


def noisy(settings: NoiseSettings) -> bool:
    """Does the run use perturbed GD: --noise > 0 (train two-layer) or a *-noise method (success-rate)."""
    methods = getattr(settings, "method", None)
    if methods is not None:
        return any(m in NOISY for m in methods)
    return bool(settings.noise)


def noise_law(settings: NoiseSettings, steps: int) -> nz.Noise:
    """The noise of a run of `steps` steps (σ0 = DEFAULT_SIZE when --noise is not given)."""
    s = settings
    size = DEFAULT_SIZE if s.noise is None else s.noise
    return nz.Noise(size, s.noise_anneal, s.noise_rate, s.noise_on, max(steps, 1))


def noise_rng(seed: int, *keys: int) -> np.random.Generator:
    """The generator of a run's noise: `cell_rng(seed, *keys, NOISE_KEY)`."""
    return cell_rng(seed, *keys, NOISE_KEY)
