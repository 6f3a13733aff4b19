"""The settings of perturbed GD (Zhou et al. 2019; the engine is models/two_layer/noise.py), shared by
`train two-layer` (`--noise SIZE` turns it on) and `success-rate` (the `*-noise` methods). With --samples or
--online the same law perturbs the sampled gradients: perturbed minibatch (or online) SGD.

`noise_law(settings, steps)` is the law a run uses; `noise_rng(seed, *keys)` its generator, a stream of its own
(`rng.cell_rng(seed, *keys, NOISE_KEY)`), so turning the noise on changes no other draw of a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from resnet_cli.config import Settings, require, setting
from resnet_cli.models.two_layer import noise as nz
from resnet_cli.rng import cell_rng

if TYPE_CHECKING:
    from resnet_cli.experiments.success_rate import SuccessSettings

#: The last key of the noise stream's generator (any fixed non-negative integer; it only has to differ from
#: the keys of the run's other streams).
NOISE_KEY = 7


@dataclass(frozen=True)
class NoiseSettings(Settings):
    """Perturbed GD: σ0 (`noise`, None = off in train two-layer and noise.DEFAULT_SIZE for success-rate's *-noise
    methods), the annealing of σ_t on the clock t/T (`noise_anneal`, `noise_rate`) and the layers perturbed
    (`noise_on`); models/two_layer/noise.py has the formulas."""

    noise: Optional[float] = setting(None, min=0, shown="3 for *-noise methods, else off")
    noise_anneal: str = setting("exponential", choices=nz.ANNEALS)
    noise_rate: float = setting(10.0, min=0)
    noise_on: str = setting("w", choices=nz.TARGETS)


def check_population(on: bool, *, overlapping: bool, flow: bool = False) -> None:
    """Perturbed GD's rules against a run's other settings (the command's `check` passes them; `on`: the run
    uses perturbed GD, --noise > 0 in train two-layer or a *-noise method in success-rate). Samples are
    allowed (perturbed SGD); overlapping patches and the gradient flow are not."""
    if not on:
        return
    require(not overlapping, "--noise / *-noise: perturbed GD is for non-overlapping patches; drop --stride")
    require(not flow, "--noise with --flow: the gradient flow has no noise; drop one")


def noise_law(settings: NoiseSettings, steps: int) -> nz.Noise:
    """The noise of a run of `steps` steps (σ0 = noise.DEFAULT_SIZE when --noise is not given)."""
    s = settings
    size = nz.DEFAULT_SIZE if s.noise is None else s.noise
    return nz.Noise(size, s.noise_anneal, s.noise_rate, s.noise_on, max(steps, 1))


def noise_rng(seed: int, *keys: int) -> np.random.Generator:
    """The generator of a run's noise: `cell_rng(seed, *keys, NOISE_KEY)`."""
    return cell_rng(seed, *keys, NOISE_KEY)


def spurious_starts(settings: SuccessSettings, p: int, k: int, angles: list[float], laws: list[nz.Noise | None], kind: str = "large-w",
                    streams: list[int] | None = None) -> list[dict[str, Any]]:
    """"From any initialization": the CNN student started at angle φ0 from v* (π: the spurious point (−v*, ā)
    itself) with a0 = ā, trained by the *-large-w schedule of `settings` (a `StepSettings`, `TeacherSettings`,
    `OutcomeSettings` too) as plain GD (law None) or perturbed GD with each law; `settings.trials` teachers from
    `cell_rng(seed, p, k)` (sphere law unless --teacher-v says otherwise), the noise of law j from
    `noise_rng(seed, p, k, j)` (`streams[j]` instead of j where given: laws with one key draw the same noise, each
    from its own generator; several sizes of one annealing then run in one call as they run alone). With
    samples (`settings` a `SampleSettings` with --samples/--online) the runs are (perturbed) SGD on one training
    set drawn after the teachers, every run with its own copy of the trials' sampling generators
    (`states.state_factories`). One row per (φ0, law): the counts of each outcome."""
    from resnet_cli.experiments import two_layer_settings as tls  # which imports this module
    from resnet_cli.models.two_layer import optim

    s: SuccessSettings = settings
    rng = cell_rng(s.seed, p, k)
    v_star, a_star = tls.draw_teachers(s, rng, s.trials, p, k, "cnn")
    steps, schedule = tls.total_steps(s, k), tls.schedule(s, kind, a_star)
    states = iter(tls.state_factories(s, rng, v_star, a_star, copies=len(angles) * len(laws)))
    runs, keys = [], []
    for phi0 in angles:
        v0, a0 = nz.spurious_start(v_star, a_star, phi0)
        for j, law in enumerate(laws):
            state = next(states)
            key = j if streams is None else streams[j]
            rep = state if law is None else nz.noisy_state(law, noise_rng(s.seed, p, k, key), state)
            runs.append(optim.Run(v0, a0, v_star, a_star, schedule, steps, representation=rep))
            keys.append((phi0, law))
    # one program per kind of state (`optim.run_groups`: the perturbed runs of one (p, k) share one state array;
    # every row's numbers are those of its run alone)
    results = optim.run_groups(runs, tls.criteria(s))
    return [{"phi0": phi0, "law": None if law is None else vars(law) | {}, "steps": steps,
             **{name: int(np.sum(gd.outcome == name)) for name in optim.OUTCOMES}}
            for (phi0, law), gd in zip(keys, results)]
