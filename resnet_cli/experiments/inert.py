"""Flags without effect under other choices, declared once, as data: `INERT`, and `inert_notices`, the
"note: --X has no effect with --Y v" lines a command prints for the flags the user typed (commands/shell.py).
No CLI library is imported here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from resnet_cli.config import flag_of
from resnet_cli.experiments.two_layer_settings import output1_unchecked


@dataclasses.dataclass(frozen=True)
class Inert:
    """`flag` (a field) has no effect on `commands` when the field `when` takes one of `values` — or, with
    `only=True`, when it takes any other value (the flag acts only under `values`)."""

    commands: tuple[str, ...]
    flag: str
    when: str
    values: tuple[Any, ...]
    only: bool = False
    #: instead of `when`/`values`: a test of the settings and the words that say it ("without --stride s < p")
    test: Callable[[Any], bool] | None = None
    because: str = ""

    def applies(self, settings: Any) -> bool:
        if getattr(settings, "COMMAND", "") not in self.commands:
            return False
        if self.test is not None:
            return self.test(settings)
        if not hasattr(settings, self.when):
            return False
        return (getattr(settings, self.when) in self.values) != self.only

    def notice(self, settings: Any) -> str:
        if self.test is not None:
            return f"note: {flag_of(self.flag)} has no effect {self.because}"
        now = getattr(settings, self.when)
        shown = now if not isinstance(now, bool) else str(now).lower()
        if self.only:
            wanted = " or ".join(f"{flag_of(self.when)} {v}" for v in self.values)
            return f"note: {flag_of(self.flag)} has no effect with {flag_of(self.when)} {shown} (only with {wanted})"
        return f"note: {flag_of(self.flag)} has no effect with {flag_of(self.when)} {shown}"


_SHORTCUT = ("hessian", "train shortcut")
_SPECTRUM = ("hessian", "train shortcut", "depth-sweep")
_TWO_LAYER = ("train two-layer", "landscape two-layer", "success-rate")
_RUNS = ("train two-layer", "success-rate")  # the two-layer commands with perturbed GD and gradient flows


def _no_noise(s: Any) -> bool:
    """No run perturbs its gradient: train two-layer without --noise; success-rate without a *-noise method
    (the only ones --noise acts on) or with --noise 0."""
    if s.COMMAND == "train two-layer":
        return not s.noise
    return s.noise == 0 or not any(m.endswith("-noise") for m in s.method)


def _no_flow(s: Any) -> bool:
    return not s.flow if s.COMMAND == "train two-layer" else not any(m.endswith("-flow") for m in s.method)


def _sphere_teacher(s: Any) -> bool:
    """v* is drawn from the sphere: --teacher-v sphere, or train two-layer's cnn student by default."""
    return s.teacher_v == "sphere" or (s.teacher_v is None and getattr(s, "student", "resnet") == "cnn")


INERT: tuple[Inert, ...] = (
    *(Inert(_SPECTRUM, f, "spectrum", ("exact",)) for f in ("lanczos_probes", "lanczos_steps")),
    Inert(_SHORTCUT, "plain_unit", "shortcut", (0,), only=True),
    Inert(_SHORTCUT, "plain_unit", "", (), test=lambda s: s.shortcut == 0 and s.act_pre == s.act_mid == s.act_post == "identity",
          because="on a linear network (every --act-* identity)"),
    Inert(_SHORTCUT, "act_mid", "shortcut", (1,)),
    *(Inert(("hessian",), f, "at", ("init",)) for f in ("steps", "lr")),
    *(Inert(("train shortcut",), f, "hessian_every", (0,)) for f in ("spectrum", "lanczos_probes", "lanczos_steps")),
    *(Inert(("depth-sweep",), f, "measure", ("init-cond",)) for f in ("lr", "steps")),
    *(Inert(("depth-sweep",), f, "measure", ("final-loss",))
      for f in ("spectrum", "lanczos_probes", "lanczos_steps", "exact_max_params")),
    Inert(("depth-sweep",), "exact_max_params", "spectrum", ("auto",), only=True),
    Inert(("landscape deep-resnet",), "rho", "data", ("yun-example1",), only=True),
    Inert(("landscape deep-resnet",), "samples", "data", ("yun-example1", "yun-example2")),
    Inert(("landscape deep-resnet",), "dim", "data", ("gaussian",), only=True),
    *(Inert(("landscape deep-resnet",), f, "finder", ("newton",)) for f in ("steps", "lr", "grad_tol")),
    *(Inert(("landscape deep-resnet",), f, "finder", ("gd",)) for f in ("newton_steps", "newton_tol")),
    Inert(("landscape deep-resnet",), "init_scale", "init", ("near-identity",), only=True),
    Inert(("landscape deep-resnet",), "fc_width", "compare", ("fc",), only=True),
    Inert(("train two-layer",), "same_teacher", "trials", (1,)),
    Inert(("landscape two-layer",), "trials", "stride", (), test=lambda s: s.stride is None or s.stride >= s.p,
          because="without --stride s < p (its GD search starts at the overlapping strides)"),
    *(Inert(_RUNS, f, "", (), test=_no_noise, because="without perturbed GD (--noise, or a *-noise method)")
      for f in ("noise_anneal", "noise_rate", "noise_on")),
    *(Inert(_RUNS, f, "", (), test=_no_flow, because="without a gradient flow (--flow, or a NAME-flow method)")
      for f in ("flow_solver", "flow_rtol", "flow_atol")),
    Inert(_TWO_LAYER, "stage2_steps", "", (), test=lambda s: s.steps is not None,
          because="with --steps (the total number of steps is given)"),
    Inert(_TWO_LAYER, "prior_angle", "", (), test=_sphere_teacher,
          because="when v* is drawn from the sphere (--teacher-v sphere; train two-layer's cnn student by default)"),
    Inert(("hessian",), "bracket_width", "spectrum", ("inertia",), only=True),
    *(Inert(_RUNS, f, "", (), test=output1_unchecked,
            because="where no run has Theorem 1's output (1) checked (outside its hypotheses: --theorem-all "
                    "checks them)") for f in ("theorem_m", "theorem_big_m", "theorem_trajectory")),
    *(Inert(_SPECTRUM, "eigensolver", "spectrum", (v,)) for v in ("slq", "inertia")),
    Inert(("train shortcut",), "eigensolver", "hessian_every", (0,)),
    Inert(("depth-sweep",), "eigensolver", "measure", ("final-loss",)),
    Inert(("depth-sweep",), "init", "", (), test=lambda s: not any(n.endswith("-shortcut") for n in s.network),
          because="without an n-shortcut kind in --network (xavier and orthogonal carry their own)"),
)


def inert_notices(settings: Any, given: Any) -> list[str]:
    """One "note: --X has no effect with --Y v" line per flag in `given` (the flags the user typed) that
    the other settings make inert (the table `INERT`). The flag is not refused: the run is the same."""
    lines = []
    for rule in INERT:
        if rule.flag in given and rule.applies(settings):
            line = rule.notice(settings)
            if line not in lines:
                lines.append(line)
    return lines
