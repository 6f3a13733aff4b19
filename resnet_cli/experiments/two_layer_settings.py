"""The settings of the two-layer commands (Liu et al. 2019): data, and the values they resolve to.

The groups every two-layer command shares — the teacher (`TeacherSettings`), the step sizes and step counts
(`StepSettings`), the outcome criteria (`OutcomeSettings`), where the gradients come from (`SampleSettings`),
how Theorem 1 is checked (`TheoremSettings`) — and the settings of `train two-layer` (`TrainSettings`) and
`landscape two-layer` (`LandscapeSettings`) are frozen dataclasses of fields with their defaults, ranges
and choices (written once) and cross-field validation (`check`). Nothing else: what the settings stand for —
teachers drawn, schedules, criteria, GD states, Theorem 1's hypotheses, the cost of a run (`train_cost`,
`landscape_cost`, which `check` refuses beyond the budget and `api.command_cost` announces) — is computed by the
functions below, which pass the fields as explicit arguments to the engine (resnet_cli/models/two_layer/).
`success-rate`'s settings (experiments/success_rate.py) are made of the same groups.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from resnet_cli import budget
from resnet_cli.config import Settings, require, require_distinct, setting
from resnet_cli.experiments import noise
from resnet_cli.experiments.flow import FlowSettings
from resnet_cli.experiments.noise import NoiseSettings
from resnet_cli.models.two_layer import optim, population as tl, samples as ts, states, theorems as th
from resnet_cli.models.two_layer.flow import SOLVER_TIME

if TYPE_CHECKING:
    from resnet_cli.experiments.success_rate import SuccessSettings

STUDENTS = tl.STUDENTS
SCHEDULES = optim.PLANS
#: accepted as well, rewritten with a notice (resnet_cli/vocabulary.py): the old name of large-w
OLD_SCHEDULES = ("constant",)
TEACHER_V = tl.TEACHER_V
TEACHER_A = tl.TEACHER_A
TRAJECTORIES = ("theorem1", "run")
STATS = ("loss", "phi", "a_dot_astar", "a_err")  # per-trial statistics of a run (final and traced)


# --- the shared groups of settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class TeacherSettings(Settings):
    """How the teacher (v*, a*) is drawn (`population.draw_teachers`).

    v*: ``prior`` = uniform on the cap angle(v*, e) ≤ prior_angle (the skip-layer prior of Liu et al. 2019,
    60° ⇔ v* = e + w*, ‖w*‖ ≤ 1) or ``sphere`` = uniform on S^{p−1} (Du et al. 2017); None: prior for the
    resnet student, sphere for cnn. a*: ``gaussian`` N(0, I_k), ``uniform`` U[−1, 1]^k, or ``ones``.
    """

    teacher_v: Optional[str] = setting(None, choices=TEACHER_V, shown="by student: prior for resnet, sphere for cnn")
    teacher_a: str = setting("gaussian", choices=TEACHER_A)
    prior_angle: float = setting(60.0, min=0, open_min=True, max=180)


@dataclass(frozen=True)
class StepSettings(Settings):
    """Step sizes and step counts of the two-stage schedules; None means the Theorem 1/2 value."""

    lr_a: Optional[float] = setting(None, min=0, open_min=True, shown="Theorem 1")
    lr_w: Optional[float] = setting(None, min=0, shown="Theorem 1")
    lr: Optional[float] = setting(None, min=0, open_min=True, shown="Theorem 2")
    c_lr_w: float = setting(1.0, min=0)
    stage1_steps: Optional[int] = setting(None, min=0, shown="⌈1/η_a⌉")
    steps: Optional[int] = setting(None, min=1, shown="T1 + stage2-steps")
    stage2_steps: int = setting(20000, min=0)


@dataclass(frozen=True)
class OutcomeSettings(Settings):
    """How a run's final state is classified (global / spurious / undecided / diverged)."""

    phi_tol: float = setting(1e-2, min=0, open_min=True, max=math.pi / 2)
    a_tol: float = setting(1e-2, min=0, open_min=True)
    spurious_tol: float = setting(math.pi / 4, min=0, open_min=True, max=math.pi / 2, shown="π/4")


@dataclass(frozen=True)
class SizeSettings(Settings):
    """One model size: patch dimension p and number of patches k."""

    p: int = setting(8, min=2)
    k: int = setting(4, min=1)


@dataclass(frozen=True)
class SampleSettings(Settings):
    """Where the gradients come from (docs/train.md): the population loss in closed form (the default), a fixed
    training set of `samples` inputs (GD with `batch` None or N, minibatch SGD with batch B < N), or online
    SGD (`online`: B fresh inputs every step). Inputs have i.i.d. unit-variance entries of the law `inputs`;
    patch i is the coordinates is … is + p − 1 (`stride` None = p: non-overlapping). Outcomes are always
    judged on the population numbers (φ and the a-errors do not depend on the input law; the "loss"
    statistic is the Gaussian closed form, at the given stride)."""

    samples: Optional[int] = setting(None, min=1, shown="population")
    batch: Optional[int] = setting(None, min=1, shown="N (full batch); 1 online")
    online: bool = setting(False)
    label_noise: float = setting(0.0, min=0)
    stride: Optional[int] = setting(None, min=1, shown="p")
    inputs: str = setting("gaussian", choices=ts.LAWS)

    def check(self) -> None:
        super().check()
        drawn = sampled(self)
        require(not (self.online and self.samples is not None),
                f"--samples {self.samples} with --online: online SGD draws fresh inputs every step; drop one")
        require(self.batch is None or drawn, f"--batch {self.batch}: needs --samples N or --online")
        require(self.batch is None or self.samples is None or self.batch <= self.samples,
                f"--batch {self.batch}: must be at most --samples {self.samples}")
        require(self.label_noise == 0 or drawn,
                f"--label-noise {self.label_noise:g}: needs --samples N or --online (the population loss has no labels)")
        require(self.inputs == "gaussian" or drawn,
                f"--inputs {self.inputs}: needs --samples N or --online (the closed form is for Gaussian inputs)")


@dataclass(frozen=True)
class TheoremSettings(Settings):
    """How Theorem 1's output (1) is checked (Liu et al. 2019, poster, "Convergence Analysis"):
    φ_t ≤ 5π/12 and 0 ≤ m ≤ a_tᵀa* ≤ M for t ∈ [T1, T], with m = theorem_m·‖a*‖² and M = theorem_big_m·‖a*‖².

    The theorem asks 0 < m < M (constants it does not give). Our defaults m = 0.1‖a*‖², M = 1.1‖a*‖²: a_t → a*
    makes a_tᵀa* → ‖a*‖², so any M that holds on a long window is at least ‖a*‖² (1.1 leaves room for
    overshoot), and m > 0 is the "a has improved" of stage I (aᵀa* bounded away from 0). The run reports
    beside them the tightest pair it achieved (min and max of aᵀa*/‖a*‖² on the window).

    `theorem_trajectory`: ``theorem1`` checks Theorem 1's own steps (the stage-I step sizes kept on all of
    [T1, T]: the theorem as stated, one extra run); ``run`` checks the run itself (stage-II steps after T1).
    `theorem_all`: also check methods outside the theorem's hypotheses (`theorem1_outside`). These options
    change the check, never the run's steps (the stage-II η keeps m = M = ‖a*‖²).
    """

    theorem_m: float = setting(0.1, min=0, open_min=True)
    theorem_big_m: float = setting(1.1, min=0, open_min=True)
    theorem_trajectory: str = setting("theorem1", choices=TRAJECTORIES)
    theorem_all: bool = setting(False)

    def check(self) -> None:
        super().check()
        require(self.theorem_m < self.theorem_big_m,
                f"--theorem-m {self.theorem_m:g}: must be below --theorem-big-m {self.theorem_big_m:g} "
                "(Theorem 1 asks 0 < m < M)")


def check_stride(stride: int | None, ps: list[int]) -> None:
    """--stride s must be at most every --p (1 ≤ s ≤ p)."""
    require(stride is None or stride <= min(ps), f"--stride {stride}: must be at most --p {min(ps)} (1 ≤ s ≤ p)")


# --- what the settings resolve to (explicit arguments for the engine) -------------------------------------


def v_law(s: TeacherSettings, student: str = "resnet") -> str:
    """The law of v*: --teacher-v, else the student's default."""
    return tl.teacher_v_law(s.teacher_v, student)


def draw_teachers(s: TeacherSettings, rng: np.random.Generator, n: int, p: int, k: int,
                  student: str = "resnet") -> tuple[np.ndarray, np.ndarray]:
    """n teachers (v* rows of unit norm, a* rows) of the settings' laws."""
    return tl.draw_teachers(rng, n, p, k, v_law=v_law(s, student), a_law=s.teacher_a, prior_angle=s.prior_angle)


def stage1_length(s: StepSettings, k: int) -> int:
    """T1: --stage1-steps, else ⌈1/η_a⌉."""
    return optim.stage1_length(k, s.stage1_steps, s.lr_a)


def total_steps(s: StepSettings, k: int) -> int:
    """All steps: --steps, else T1 + --stage2-steps."""
    return s.steps if s.steps is not None else stage1_length(s, k) + s.stage2_steps


def schedule(s: StepSettings, kind: str, a_star: np.ndarray) -> optim.Schedule:
    """The per-trial step sizes of schedule `kind` for the teachers `a_star` (trials × k)."""
    return optim.schedule_of(kind, a_star, lr_a=s.lr_a, lr_w=s.lr_w, lr=s.lr, c_lr_w=s.c_lr_w,
                             stage1_steps=s.stage1_steps)


def criteria(s: OutcomeSettings) -> optim.Criteria:
    return optim.Criteria(s.phi_tol, s.a_tol, s.spurious_tol)


def sampled(s: SampleSettings) -> bool:
    """Gradients from inputs (--samples or --online), not the population loss."""
    return s.samples is not None or s.online


def per_step(s: SampleSettings) -> int:
    """Inputs one step of one trial reads (0: the population loss)."""
    return states.per_step(s.samples, s.batch, s.online)


def gradient_mode(s: SampleSettings, p: int | None = None) -> str:
    """A short description of the gradients, e.g. ``population`` or ``SGD, N = 1000, B = 8``."""
    stride = "" if s.stride is None or s.stride == p else f", stride {s.stride}"
    law = "" if s.inputs == "gaussian" else f", {s.inputs} inputs"
    noise = f", label noise {s.label_noise:g}" if s.label_noise else ""
    if s.online:
        kind = f"online SGD, B = {per_step(s)}"
    elif s.samples is None:
        kind = "population"
    elif per_step(s) == s.samples:
        kind = f"GD on N = {s.samples} samples"
    else:
        kind = f"SGD, N = {s.samples}, B = {s.batch}"
    return kind + stride + law + noise


def state_factories(s: SampleSettings, rng: np.random.Generator, v_star: np.ndarray, a_star: np.ndarray,
                    copies: int = 1) -> list[Any]:
    """`copies` GD-state factories over the trials of (v*, a*), sharing one draw of data (`states.state_factories`)."""
    return states.state_factories(rng, v_star, a_star, copies, samples=s.samples, batch=s.batch, online=s.online,
                              stride=s.stride, law=s.inputs, label_noise=s.label_noise)


#: The settings of the runs Theorem 1 is checked on: every group its hypotheses look at.
TheoremRun = Union["TrainSettings", "SuccessSettings"]


def theorem1_outside(s: TheoremRun, student: str, kind: str, law: str | None = None,
                     k: int | None = None) -> str | None:
    """Why a run of `student` with schedule `kind` (at `k`; None: at every k of the settings) is outside
    Theorem 1's hypotheses (None: inside); `law`: the law v* was drawn from (default: the student's).
    Perturbed GD: train two-layer's --noise (success-rate's *-noise methods are large-both, outside already)."""
    perturbed = isinstance(s, TrainSettings) and bool(s.noise)
    sizes = s.p if isinstance(s.p, list) else [s.p]
    ks = [k] if k is not None else s.k if isinstance(s.k, list) else [s.k]
    early = s.stage1_steps is not None and s.stage1_steps < min(optim.stage1_length(each) for each in ks)
    return th.theorem1_outside(student, kind, v_law=law or v_law(s, student), prior_angle=s.prior_angle,
                               steps_set=s.lr_a is not None or s.lr_w is not None, c_lr_w=s.c_lr_w,
                               sampled=sampled(s), overlapping=s.stride not in (None, min(sizes)),
                               early_window=early, perturbed=perturbed)


def theorem1_checked(s: TheoremRun, student: str, kind: str, law: str | None = None, k: int | None = None) -> bool:
    """Is output (1) checked for this run (at `k`): inside the hypotheses, or asked for (--theorem-all)."""
    return s.theorem_all or theorem1_outside(s, student, kind, law, k) is None


def output1_unchecked(s: Any) -> bool:
    """No run of train two-layer's or success-rate's settings `s` has Theorem 1's output (1) checked (outside
    its hypotheses without --theorem-all; a gradient flow; a perturbed method): --theorem-m, --theorem-big-m and
    --theorem-trajectory then change nothing."""
    from resnet_cli.models.two_layer.methods import ALIASES, METHODS, NOISY

    if s.COMMAND == "train two-layer":
        return bool(s.flow) or not theorem1_checked(s, s.student, s.schedule)
    names = [ALIASES.get(m, m) for m in s.method]
    return not any(name in METHODS and name not in NOISY and theorem1_checked(s, *METHODS[name], v_law(s))
                   for name in names)


def theorem_report(s: TheoremSettings, a_star: np.ndarray, t1: int, iterations: list[int],
                   trace: dict[str, list[np.ndarray]], **options: Any) -> th.TheoremReport:
    """`theorems.theorem_report` with the settings' m and M (`options`: delta, output1, check_output1)."""
    return th.theorem_report(a_star, t1, iterations, trace, m_rel=s.theorem_m, big_m_rel=s.theorem_big_m, **options)


def gradient_sizes(s: SampleSettings) -> dict[str, Any]:
    """The options that size a step's gradient, as `budget.two_layer` takes them."""
    return {"per_step": per_step(s), "samples": s.samples, "online": s.online, "stride": s.stride}


def step_flags(s: StepSettings) -> dict[str, Any]:
    """The step options that size a run, for the flags a refusal names: --steps, else --stage2-steps and
    what sets T1 where given (--stage1-steps, else --lr-a: T1 = ⌈1/η_a⌉)."""
    if s.steps is not None:
        return {"steps": s.steps}
    stage1 = {"stage1_steps": s.stage1_steps} if s.stage1_steps is not None else \
        {"lr_a": s.lr_a} if s.lr_a is not None else {}
    return {**stage1, "stage2_steps": s.stage2_steps}


def sample_flags(s: SampleSettings) -> dict[str, int]:
    """The sample options that size a run's arrays (training set, minibatch), where given, for the flags a
    refusal names: --samples, --batch."""
    return {name: value for name, value in (("samples", s.samples), ("batch", s.batch)) if value is not None}


# --- the commands' settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings(SizeSettings, TeacherSettings, StepSettings, OutcomeSettings, SampleSettings, TheoremSettings,
                    FlowSettings, NoiseSettings):
    COMMAND = "train two-layer"
    student: str = setting("resnet", choices=STUDENTS)
    schedule: str = setting("ssw", choices=(*SCHEDULES, *OLD_SCHEDULES))
    trials: int = setting(1, min=1)
    same_teacher: bool = setting(False)
    trace_every: Optional[int] = setting(None, min=1, shown="about 24, log-spaced")
    delta: float = setting(1e-3, min=0)
    flow: bool = setting(False)
    noise: Optional[float] = setting(None, min=0, shown="off")  # no *-noise methods here
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        check_stride(self.stride, [self.p])
        noise.check_population(bool(self.noise), overlapping=overlapping(self.stride, self.p), flow=self.flow)
        require(not self.flow or not sampled(self), "--flow: the gradient flow is of the population loss; drop "
                "--samples/--online")
        require(not self.flow or not overlapping(self.stride, self.p),
                "--flow: the gradient flow is for non-overlapping patches; drop --stride")
        budget.check(train_cost(self))


def train_cost(s: TrainSettings) -> budget.Cost:
    """Memory and time of `train two-layer` before any allocation (resnet_cli/budget.py): the GD programs over
    the trials."""
    programs = train_programs(s)
    traced = {"trace_every": s.trace_every} if s.trace_every is not None else {}
    full = budget.two_layer([s.p], [s.k], programs * s.trials, {s.k: total_steps(s, s.k)}, **gradient_sizes(s),
                            programs=programs, sized=budget.flags(trials=s.trials, p=s.p, k=s.k, **step_flags(s), **sample_flags(s),
                                               **traced))
    cost = with_flow_time(full, programs, programs if s.flow else 0, s.flow_solver)
    if not traced:  # (about 24 records: nothing to count)
        return cost
    records = total_steps(s, s.k) // s.trace_every + 1
    return dataclasses.replace(cost, seconds=cost.seconds + records * budget.TRACE_RECORD_SECONDS,
                               nbytes=cost.nbytes + records * s.trials * budget.TRACE_RECORD_BYTES)


def with_flow_time(cost: budget.Cost, programs: int, flows: int, solver: str) -> budget.Cost:
    """`cost` of `programs` GD programs, `flows` of which are gradient flows: a flow's time is its solver's
    (`models.two_layer.flow.SOLVER_TIME`, relative to the GD time the cost counts for it)."""
    factor = (programs - flows + flows * SOLVER_TIME[solver]) / programs
    return dataclasses.replace(cost, seconds=cost.seconds * factor)


def train_programs(s: TrainSettings) -> int:
    """GD programs over the trials of `train two-layer`: the run, and a second one on Theorem 1's own steps
    when output (1) is checked there (`theorem_trajectory` theorem1, T1 ≤ T)."""
    own = (theorem1_checked(s, s.student, s.schedule) and s.theorem_trajectory == "theorem1"
           and stage1_length(s, s.k) <= total_steps(s, s.k))
    return 1 + int(own)


@dataclass(frozen=True)
class LandscapeSettings(SizeSettings, TeacherSettings, StepSettings, OutcomeSettings, SampleSettings):
    COMMAND = "landscape two-layer"
    profile_points: int = setting(19, min=2)
    basin_phi: int = setting(7, min=1)
    basin_a: int = setting(5, min=1)
    schedule: list[str] = setting(["ssw", "large-w"], choices=(*SCHEDULES, *OLD_SCHEDULES))
    probes: int = setting(2000, min=1)
    probe_radius: float = setting(1e-2, min=0, open_min=True, max=1.0)  # a local probe (sizes of π flip verdicts)
    trials: int = setting(32, min=1)  # with --stride s < p: GD search starts at each stride s = p … s
    teacher_v: Optional[str] = setting(None, choices=TEACHER_V, shown="prior")
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        check_stride(self.stride, [self.p])
        require_distinct("--schedule", self.schedule)
        budget.check(landscape_cost(self))


def landscape_cost(s: LandscapeSettings) -> budget.Cost:
    """Memory and time of `landscape two-layer` before any allocation (resnet_cli/budget.py): the basin map's
    GD over basin-phi × basin-a cells per schedule, the φ-profile (points × k) and the probes."""
    search = overlapping(s.stride, s.p)
    sized = budget.flags(basin_phi=s.basin_phi, basin_a=s.basin_a, profile_points=s.profile_points, probes=s.probes,
                         k=s.k, **step_flags(s), **sample_flags(s),
                         **({"stride": s.stride, "trials": s.trials} if search else {}))
    basin = budget.two_layer([s.p], [s.k], s.basin_phi * s.basin_a, {s.k: total_steps(s, s.k)}, **gradient_sizes(s),
                             sized=sized)
    others = 8.0 * (4 * s.profile_points * (s.k + 1) + 8 * s.probes * (s.p + s.k))
    seconds, nbytes = basin.seconds * len(s.schedule), max(basin.nbytes, others)
    if search:  # at each stride p … s: --trials GD starts of the search (`stride_landscape.search`)
        from resnet_cli.models.two_layer.stride_landscape import SEARCH_STEPS
        each = budget.two_layer([s.p], [s.k], s.trials, {s.k: SEARCH_STEPS}, stride=s.stride, sized=sized)
        per_stride = each.seconds + budget.STRIDE_SECONDS + s.trials * budget.STRIDE_START_SECONDS
        seconds, nbytes = seconds + (s.p - s.stride + 1) * per_stride, max(nbytes, each.nbytes)
    return budget.Cost(nbytes, seconds, sized)


def overlapping(stride: int | None, ps: int | list[int]) -> bool:
    """Do neighbouring patches overlap (--stride s < p) at some of the sizes `ps` (s ≤ p is checked)?"""
    return stride is not None and any(stride < p for p in (ps if isinstance(ps, list) else [ps]))
