"""The training methods of success-rate (Liu et al. 2019): one vocabulary that the experiment runs and the
command line offers (resnet_cli/commands/options.py imports it from here, not from an experiment).

Without warm-up there are two readings of "no SSW" (docs/success-rate.md), both here:
  *-large-w:    the large step η on w from step 0, Theorem 1's small step η_a on a in stage I (schedule
                `large-w`; what the development snapshots before 0.1.0 called "cnn" and "resnet");
  *-large-both: the large step η on both layers from step 0 (schedule `large-both`).
*-noise: the *-large-both schedule as perturbed GD, Gaussian noise on the gradient annealed to 0 (Zhou et al. 2019).
resnet-layerwise is a reviewer's schedule (NeurIPS 2019 reviews, point 3): a alone in stage I, then w alone
with a fixed; resnet-a-first lets a move in stage II too (what those snapshots called resnet-layerwise).
"""

from __future__ import annotations

from resnet_cli.vocabulary import RENAMED_VALUES

#: method -> (student, schedule)
METHODS: dict[str, tuple[str, str]] = {
    "cnn-large-w": ("cnn", "large-w"),
    "cnn-large-both": ("cnn", "large-both"),
    "resnet-large-w": ("resnet", "large-w"),
    "resnet-large-both": ("resnet", "large-both"),
    "resnet-ssw": ("resnet", "ssw"),
    "resnet-layerwise": ("resnet", "layerwise"),
    "resnet-a-first": ("resnet", "a-first"),
    "cnn-noise": ("cnn", "large-both"),
    "resnet-noise": ("resnet", "large-both"),
}
#: Perturbed GD with annealed noise (Zhou et al. 2019; models/two_layer/noise.py): the *-large-both schedule with
#: Gaussian noise on the gradient (--noise, --noise-anneal, --noise-rate, --noise-on). No gradient flow.
NOISY = ("cnn-noise", "resnet-noise")
#: "<method>-flow": the gradient flow of the method's schedule (resnet_cli/experiments/flow.py), on the same
#: teachers and starts: its rate at the method's horizon, and the fixed point the flow tends to.
FLOW = "-flow"
FLOW_METHODS = tuple(name + FLOW for name in METHODS if name not in NOISY)
#: Old method names, still accepted (resnet_cli/vocabulary.py: `Settings.resolve` rewrites them, with a notice).
ALIASES: dict[str, str] = RENAMED_VALUES["success-rate"]["method"]


def method_spec(name: str) -> tuple[str, str]:
    """(student, schedule) of a method name or alias (a "-flow" method has its GD method's)."""
    name = ALIASES.get(name, name)
    return METHODS[name[: -len(FLOW)] if name.endswith(FLOW) else name]
