"""Experiments on the two-layer teacher–student model (Liu et al. 2019): training runs and the landscape.

The settings of `train two-layer` (`TrainSettings`) and `landscape two-layer` (`LandscapeSettings`) are built
from mixins shared with `success-rate`: the teacher (`TeacherSettings`), the step sizes and step counts
(`StepSettings`) and the outcome criteria (`OutcomeSettings`); each holds its defaults, ranges and choices
once. `run_train(settings, progress=)` and `run_landscape(settings, progress=)` draw every random number
from `rng.make_rng(settings.seed)` in a fixed order (teachers first, then initializations) and return
results whose `to_dict()` is the command's JSON. Nothing here prints or writes files.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from resnet_cli import budget
from resnet_cli.config import Settings, require, setting
from resnet_cli.models.two_layer import landscape as critical, optim, population as tl, samples as ts, theorems as th
from resnet_cli.models.two_layer import stride_landscape as sl
from resnet_cli.rng import make_rng
from resnet_cli.experiments import flow
from resnet_cli.experiments.noise import NoiseSettings, noise_law, noise_rng, noisy
from resnet_cli.models.two_layer.noise import noisy_state
from resnet_cli.experiments.summary import short_repr

STUDENTS = ("resnet", "cnn")
# The schedules of optim, plus "large-both": the stage-II step η on BOTH layers from the first step (no
# warm-up at all). "constant" is the large step on w only (η_a stays Theorem 1's small step in stage I).
SCHEDULES = (*optim.SCHEDULES, "large-both")
TEACHER_V = ("prior", "sphere")
TEACHER_A = ("gaussian", "uniform", "ones")
STATS = ("loss", "phi", "a_dot_astar", "a_err")  # per-trial statistics of a run (final and traced)
Progress = Callable[[int, int], None]


# --- the shared groups of settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class TeacherSettings(Settings):
    """How the teacher (v*, a*) is drawn.

    v*: ``prior`` = uniform on the cap angle(v*, e) ≤ prior_angle (the skip-layer prior of Liu et al. 2019,
    60° ⇔ v* = e + w*, ‖w*‖ ≤ 1) or ``sphere`` = uniform on S^{p−1} (Du et al. 2017); None: prior for the
    resnet student, sphere for cnn. a*: ``gaussian`` N(0, I_k), ``uniform`` U[−1, 1]^k, or ``ones``.
    """

    teacher_v: Optional[str] = setting(None, choices=TEACHER_V, shown="by student")
    teacher_a: str = setting("gaussian", choices=TEACHER_A)
    prior_angle: float = setting(60.0, min=0, open_min=True, max=180)

    def v_kind(self, student: str = "resnet") -> str:
        """The law of v*: the option, else the student's default."""
        return self.teacher_v or ("prior" if student == "resnet" else "sphere")

    def draw(self, rng: np.random.Generator, n: int, p: int, k: int, student: str = "resnet") -> tuple[np.ndarray, np.ndarray]:
        """n teachers (v* rows of unit norm, a* rows)."""
        if self.v_kind(student) == "prior":
            v_star = tl.sample_cap(rng, n, p, tl.unit_e(p), math.radians(self.prior_angle))
        else:
            v_star = tl.sample_sphere(rng, n, p)
        if self.teacher_a == "gaussian":
            a_star = rng.standard_normal((n, k))
        elif self.teacher_a == "uniform":
            a_star = rng.uniform(-1.0, 1.0, size=(n, k))
        else:
            a_star = np.ones((n, k))
        return v_star, a_star


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

    def stage1_length(self, k: int) -> int:
        """T1: the option, else ⌈1/η_a⌉ (Theorem 1: T1 = Õ(1/η_a))."""
        if self.stage1_steps is not None:
            return self.stage1_steps
        return int(math.ceil(1.0 / self.step_a(k)))

    def total_steps(self, k: int) -> int:
        """All steps: the option, else T1 + stage2_steps."""
        return self.steps if self.steps is not None else self.stage1_length(k) + self.stage2_steps

    def step_a(self, k: int) -> float:
        """η_a: the option, else Theorem 1."""
        return self.lr_a if self.lr_a is not None else optim.theorem1_eta_a(k)

    def schedule_of(self, kind: str, a_star: np.ndarray) -> optim.Schedule:
        """The per-trial step sizes of schedule `kind` for the teachers `a_star` (trials × k)."""
        n, k = a_star.shape
        eta_a = self.step_a(k)
        eta_w = np.full(n, self.lr_w) if self.lr_w is not None else optim.theorem1_eta_w(a_star, eta_a, self.c_lr_w)
        eta = np.full(n, self.lr) if self.lr is not None else optim.theorem2_eta(a_star, k)
        if kind == "large-both":  # η on a and w from step 0: stage I is stage II
            return optim.Schedule("constant", eta, eta_w, eta, self.stage1_length(k))
        return optim.Schedule(kind, np.full(n, eta_a), eta_w, eta, self.stage1_length(k))


@dataclass(frozen=True)
class OutcomeSettings(Settings):
    """How a run's final state is classified (global / spurious / undecided / diverged)."""

    phi_tol: float = setting(1e-2, min=0, open_min=True, max=math.pi / 2)
    a_tol: float = setting(1e-2, min=0, open_min=True)
    spurious_tol: float = setting(math.pi / 4, min=0, open_min=True, max=math.pi / 2, shown="π/4")

    def criteria(self) -> optim.Criteria:
        return optim.Criteria(self.phi_tol, self.a_tol, self.spurious_tol)


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
        sampled = self.samples is not None or self.online
        require(not (self.online and self.samples is not None),
                f"--samples {self.samples} with --online: online SGD draws fresh inputs every step; drop one")
        require(self.batch is None or sampled, f"--batch {self.batch}: needs --samples N or --online")
        require(self.batch is None or self.samples is None or self.batch <= self.samples,
                f"--batch {self.batch}: must be at most --samples {self.samples}")
        require(self.label_noise == 0 or sampled,
                f"--label-noise {self.label_noise:g}: needs --samples N or --online (the population loss has no labels)")
        require(self.inputs == "gaussian" or sampled,
                f"--inputs {self.inputs}: needs --samples N or --online (the closed form is for Gaussian inputs)")
        sizes = getattr(self, "p", None)
        smallest = min(sizes) if isinstance(sizes, list) else sizes
        require(self.stride is None or smallest is None or self.stride <= smallest,
                f"--stride {self.stride}: must be at most --p {smallest} (1 ≤ s ≤ p)")

    @property
    def sampled(self) -> bool:
        return self.samples is not None or self.online

    def per_step(self) -> int:
        """Inputs one step of one trial reads: 0 for the population loss, else B (online or SGD) or N (GD)."""
        if self.online:
            return self.batch or 1
        if self.samples is not None:
            return self.batch or self.samples
        return 0

    def mode(self, p: int | None = None) -> str:
        """A short description of the gradients, e.g. ``population`` or ``SGD, N = 1000, B = 8``."""
        stride = "" if self.stride is None or self.stride == p else f", stride {self.stride}"
        law = "" if self.inputs == "gaussian" else f", {self.inputs} inputs"
        noise = f", label noise {self.label_noise:g}" if self.label_noise else ""
        if self.online:
            kind = f"online SGD, B = {self.per_step()}"
        elif self.samples is None:
            kind = "population"
        elif self.per_step() == self.samples:
            kind = f"GD on N = {self.samples} samples"
        else:
            kind = f"SGD, N = {self.samples}, B = {self.batch}"
        return kind + stride + law + noise

    def state_factory(self, rng: np.random.Generator, v_star: np.ndarray, a_star: np.ndarray,
                      copies: int = 1) -> list[Any]:
        """`copies` GD-state factories for `optim.run_gd(representation=...)` over the trials (rows) of
        (v*, a*). Population at s = p: ``"plane"`` (exact reduced coordinates, as always). Population at
        s < p: `StrideState` (the vector representation; the plane reduction does not hold there). Samples:
        one Generator per trial spawned from `rng` (after the teachers and inits, so the default runs draw
        exactly what they drew before), which draws the trial's training set and then its SGD stream; every
        copy gets the same data and its own copy of the Generators (common random numbers across methods)."""
        n, p = v_star.shape
        stride = p if self.stride is None else self.stride
        if not self.sampled:
            if stride == p:
                return ["plane"] * copies
            return [lambda v, a, vs, ast: ts.StrideState(v, a, vs, ast, stride)] * copies
        gens = ts.trial_generators(rng, n)
        if self.online:
            data = {"online": True}
        else:
            x, y = ts.draw_training_set(gens, v_star, a_star, self.samples, stride, self.inputs, self.label_noise)
            data = {"x": x, "y": y}
        factories = []
        for _ in range(copies):
            mine = copy.deepcopy(gens)
            factories.append(lambda v, a, vs, ast, mine=mine: ts.SampleState(
                v, a, vs, ast, data.get("x"), data.get("y"), batch=self.per_step(), rngs=mine,
                online=data.get("online", False), stride=stride, law=self.inputs, label_noise=self.label_noise))
        return factories


TRAJECTORIES = ("theorem1", "run")


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

    def theorem1_outside(self, student: str, schedule: str, v_law: str | None = None) -> str | None:
        """Why a run of `student` with `schedule` is outside Theorem 1's hypotheses (None: inside).

        Theorem 1 (poster): the shortcut student with normalization, w0 = 0, a0 in the ball of radius
        |1ᵀa*|/√k (our draws), η_a = π/(20(k + π − 1)²), η_w = C‖a*‖²η_a² with C > 0, the population loss of
        Gaussian inputs with non-overlapping patches, and the skip-layer prior v* = e + w*, ‖w*‖ ≤ 1
        (angle(v*, e) ≤ 60°). `v_law`: the law v* was drawn from (default: the student's default law).
        """
        s: Any = self
        p = getattr(s, "p", None)
        smallest = min(p) if isinstance(p, list) else p
        reasons = [
            (student != "resnet", "no shortcut"),
            (schedule in ("layerwise", "a-first"), "η_w = 0 in stage I"),
            (schedule in ("constant", "large-both"), "no warm-up"),
            (getattr(s, "lr_a", None) is not None or getattr(s, "lr_w", None) is not None, "step sizes set"),
            (getattr(s, "c_lr_w", 1.0) == 0, "C = 0"),
            ((v_law or getattr(s, "v_kind", lambda _: "prior")(student)) != "prior" or getattr(s, "prior_angle", 60) > 60,
             "no skip-layer prior"),
            (bool(getattr(s, "sampled", False)), "samples, not the population loss"),
            (getattr(s, "stride", None) not in (None, smallest), "overlapping patches"),
        ]
        found = [why for bad, why in reasons if bad]
        return "; ".join(found) if found else None

    def theorem1_checked(self, student: str, schedule: str, v_law: str | None = None) -> bool:
        """Is output (1) checked for this run: inside the hypotheses, or asked for (`theorem_all`)."""
        return self.theorem_all or self.theorem1_outside(student, schedule, v_law) is None


@dataclass
class TheoremReport:
    """Theorem 1's output (1) on the recorded iterations of [T1, T] and the largest c of C1/C2 per stage,
    per trial (arrays of shape (trials,); c arrays (trials × 2): stage I, stage II; None where undefined)."""

    t1: int
    records: int
    held: np.ndarray | None
    first_failure: np.ndarray | None
    phi_max: np.ndarray | None
    a_dot_min_rel: np.ndarray | None  # min aᵀa*/‖a*‖² over the window: the largest m this run satisfied
    a_dot_max_rel: np.ndarray | None  # max aᵀa*/‖a*‖²: the smallest M
    c1: np.ndarray | None
    c2: np.ndarray | None

    def trial(self, i: int) -> dict[str, Any]:
        """The JSON view of trial i (non-finite numbers as None)."""
        def num(x: np.ndarray | None, cast: type = float) -> Any:
            return None if x is None or not np.isfinite(x[i]) else cast(x[i])

        def pair(c: np.ndarray | None) -> Any:
            return None if c is None else [None if not np.isfinite(v) else float(v) for v in c[i]]

        return {
            "output1_held": None if self.held is None else bool(self.held[i]),
            "first_failure": None if self.first_failure is None or self.first_failure[i] < 0 else int(self.first_failure[i]),
            "phi_max": num(self.phi_max), "a_dot_min_rel": num(self.a_dot_min_rel),
            "a_dot_max_rel": num(self.a_dot_max_rel), "c1": pair(self.c1), "c2": pair(self.c2),
        }


def theorem_report(settings: TheoremSettings, a_star: np.ndarray, t1: int, iterations: list[int],
                   trace: dict[str, list[np.ndarray]], delta: float | None = None,
                   output1: tuple[list[int], dict[str, list[np.ndarray]]] | None = None,
                   check_output1: bool = True) -> TheoremReport:
    """Check the theorems on a `run_gd` trace (only the recorded iterations count): output (1) with the
    settings' m, M on the trace `output1` = (iterations, trace) when given (Theorem 1's own steps), else on
    this one; and (for a stated δ) the largest c of C1/C2 per stage on the population loss of the
    non-overlapping net, always on this run. `delta` None (success-rate; patches at s < p, where the trace
    statistics do not determine the C1/C2 terms) leaves c1, c2 None; `check_output1` False leaves output
    (1) None (a run outside Theorem 1's hypotheses)."""
    its = np.asarray(iterations)
    if its.size == 0:
        return TheoremReport(t1, 0, None, None, None, None, None, None, None)
    stats = {key: np.stack(trace[key], axis=1) for key in ("phi", "a_dot_astar", "loss", "a_err")}
    norm2 = np.sum(a_star**2, axis=1)
    out_its, out_stats = (its, stats) if output1 is None else (
        np.asarray(output1[0]), {key: np.stack(output1[1][key], axis=1) for key in ("phi", "a_dot_astar")})
    in_window = int(np.sum(out_its >= t1)) if check_output1 else 0
    held = first = phi_max = lo = hi = None
    if in_window:
        check = th.theorem1_output(out_its, out_stats["phi"], out_stats["a_dot_astar"], t1,
                                   settings.theorem_m * norm2, settings.theorem_big_m * norm2)
        held, first, phi_max = check.held, check.first_failure, check.phi_max
        lo, hi = check.a_dot_min / norm2, check.a_dot_max / norm2
    c1 = c2 = None
    if delta is not None:
        with np.errstate(all="ignore"):
            terms = th.dissipativity_terms(stats["phi"], stats["a_dot_astar"], stats["loss"], stats["a_err"], a_star)
            c = th.dissipativity(its, terms, t1, delta)
        c1, c2 = c["C1"], c["C2"]
    return TheoremReport(t1, in_window, held, first, phi_max, lo, hi, c1, c2)


def window_points(stage1: int, steps: int, records: int = 50, every: int = 100) -> list[int]:
    """Records for the Theorem-1 check of a run without a user trace: T1, then about `records` points up to
    T on multiples of `every` (so the driver's periodic checks still do the recording), and T."""
    if stage1 > steps:
        return []
    gap = every * max(1, math.ceil((steps - stage1) / (records * every)))
    start = (stage1 // gap + 1) * gap
    return sorted({stage1, steps, *range(start, steps + 1, gap)})


def gradient_sizes(settings: SampleSettings) -> dict[str, Any]:
    """The options that size a step's gradient, as `budget.two_layer` takes them."""
    s = settings
    return {"per_step": s.per_step(), "samples": s.samples, "online": s.online, "stride": s.stride}


def step_flags(settings: StepSettings) -> dict[str, int]:
    """The step option that sizes a run, for the flags a refusal names: --steps, else --stage2-steps."""
    s = settings
    return {"steps": s.steps} if s.steps is not None else {"stage2_steps": s.stage2_steps}


def draw_inits(rng: np.random.Generator, student: str, v_star: np.ndarray, a_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Initial (v0, a0): ResNet w0 = 0 ⇒ v0 = e; CNN v0 uniform on the sphere (Du et al. 2017); a0 uniform
    in the ball of radius |1ᵀa*|/√k (Liu et al. 2019, Theorem 1)."""
    n, p = v_star.shape
    k = a_star.shape[1]
    v0 = np.tile(tl.unit_e(p), (n, 1)) if student == "resnet" else tl.sample_sphere(rng, n, p)
    a0 = tl.sample_ball(rng, n, k, np.abs(a_star.sum(axis=1)) / math.sqrt(k))
    return v0, a0


# --- train two-layer --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings(SizeSettings, TeacherSettings, StepSettings, OutcomeSettings, SampleSettings, TheoremSettings,
                    flow.FlowSettings, NoiseSettings):
    COMMAND = "train two-layer"
    student: str = setting("resnet", choices=STUDENTS)
    schedule: str = setting("ssw", choices=SCHEDULES)
    trials: int = setting(1, min=1)
    same_teacher: bool = setting(False)
    trace_every: Optional[int] = setting(None, min=1, shown="about 24, log-spaced")
    delta: float = setting(1e-3, min=0)
    flow: bool = setting(False)
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        require(not self.flow or not self.sampled, "--flow: the gradient flow is of the population loss; drop "
                "--samples/--online")
        require(not self.flow or self.stride is None or self.stride == self.p,
                "--flow: the gradient flow is for non-overlapping patches; drop --stride")
        budget.check(self.cost())

    def programs(self) -> int:
        """GD programs over the trials: the run, and a second one on Theorem 1's own steps when output (1)
        is checked there (`theorem_trajectory` theorem1, T1 ≤ T)."""
        own = (self.theorem1_checked(self.student, self.schedule) and self.theorem_trajectory == "theorem1"
               and self.stage1_length(self.k) <= self.total_steps(self.k))
        return 1 + int(own)

    def cost(self) -> budget.Cost:
        """Memory and time before any allocation (resnet_cli/budget.py): the GD programs over the trials."""
        return budget.two_layer([self.p], [self.k], self.programs() * self.trials, {self.k: self.total_steps(self.k)},
                                **gradient_sizes(self),
                                sized=budget.flags(trials=self.trials, p=self.p, k=self.k, **step_flags(self)))


@dataclass
class TrainResult:
    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: TrainSettings
    schedule: optim.Schedule
    v_star: np.ndarray
    a_star: np.ndarray
    gd: optim.GDResult
    steps: int
    theorems: TheoremReport | None = None
    flow: flow.FlowRun | None = None  # with --flow: the gradient flow's run (its limits per trial)

    @property
    def counts(self) -> dict[str, int]:
        return {name: int(np.sum(self.gd.outcome == name)) for name in optim.OUTCOMES}

    def to_dict(self) -> dict[str, Any]:
        """The JSON result: the settings (with T1, the step count and the v* law resolved), one entry per
        trial, and the trace (each statistic as trials × records)."""
        s, sched, gd = self.settings, self.schedule, self.gd
        config = {**s.to_dict(), "teacher_v": s.v_kind(s.student), "stage1_steps": sched.stage1_iterations,
                  "steps": self.steps, "data": s.mode(s.p), "work": s.cost().work,
                  "theorem1_outside": s.theorem1_outside(s.student, s.schedule)}
        runs = [
            {
                "trial": i,
                "outcome": str(gd.outcome[i]),
                "final": {key: float(gd.final[key][i]) for key in STATS},
                "steps": int(gd.iterations[i]),
                "lr_a": float(sched.eta_a[i]),
                "lr_w": float(sched.eta_w[i]),
                "stage1_lr_w": float(sched.stage1_eta_w[i]),
                "lr": float(sched.eta[i]),
                "teacher": {"v_star": self.v_star[i], "a_star": self.a_star[i]},
                **({"theorems": self.theorems.trial(i)} if self.theorems is not None else {}),
                **({"flow_limit": str(self.flow.limit_kind[i]), "flow_newton_residual": float(self.flow.residual[i])}
                   if self.flow is not None else {}),
            }
            for i in range(s.trials)
        ]
        trace = {"step": gd.trace_iterations, **{key: np.array(gd.trace[key]).T for key in STATS}}
        extra = {} if self.flow is None else {"flow": {"limits": self.flow.limit_counts(), "evaluations": self.flow.nfev,
                                                       "solver_steps": self.flow.steps}}
        return {"command": s.COMMAND, "config": config, "counts": self.counts, "runs": runs, "trace": trace, **extra}


def train(settings: TrainSettings, rng: np.random.Generator, progress: Progress | None = None,
          stop_when_global: bool = False) -> TrainResult:
    """Train `trials` two-layer students against their teachers with GD + normalization, all in one batch."""
    s, n = settings, settings.trials
    if s.same_teacher:
        v1, a1 = s.draw(rng, 1, s.p, s.k, s.student)
        v_star, a_star = np.repeat(v1, n, axis=0), np.repeat(a1, n, axis=0)
    else:
        v_star, a_star = s.draw(rng, n, s.p, s.k, s.student)
    v0, a0 = draw_inits(rng, s.student, v_star, a_star)
    representation, held_state = s.state_factory(rng, v_star, a_star, copies=2)  # same data for both runs
    schedule = s.schedule_of(s.schedule, a_star)
    steps = s.total_steps(s.k)
    if noisy(s):  # perturbed GD (experiments/noise.py): both runs draw the same noise stream
        representation, held_state = (noisy_state(noise_law(s, steps), noise_rng(s.seed)) for _ in range(2))
    if s.flow:  # the schedule's gradient flow (experiments/flow.py), its trace at GD's trace iterations
        run = flow.run_flow(v0, a0, v_star, a_star, schedule, steps, s.criteria(), rtol=s.flow_rtol, atol=s.flow_atol,
                            method=s.flow_solver, trace_points=optim.trace_points(steps, s.trace_every,
                                                                                  schedule.stage1_iterations),
                            progress=None if progress is None else (lambda f: progress(round(f * steps), steps)))
        gd = optim.GDResult(*run.end, run.outcome, run.final, np.full(n, steps), run.trace_iterations, run.trace)
        theorems = theorem_report(s, a_star, schedule.stage1_iterations, gd.trace_iterations, gd.trace,
                                  delta=s.delta, check_output1=False)
        return TrainResult(s, schedule, v_star, a_star, gd, steps, theorems, flow=run)
    gd = optim.run_gd(v0, a0, v_star, a_star, schedule, steps, s.criteria(),
                      trace_points=optim.trace_points(steps, s.trace_every, schedule.stage1_iterations),
                      stop_when_global=stop_when_global, progress=progress, representation=representation)
    overlapping = s.stride is not None and s.stride < s.p
    checked = s.theorem1_checked(s.student, s.schedule)
    own = None
    if s.programs() == 2:  # output (1) on Theorem 1's steps, kept on all of [T1, T]: a second run
        own_gd = optim.run_gd(v0, a0, v_star, a_star, schedule.held(), steps, s.criteria(),
                              trace_points=window_points(schedule.stage1_iterations, steps), representation=held_state)
        own = (own_gd.trace_iterations, own_gd.trace)
    theorems = theorem_report(s, a_star, schedule.stage1_iterations, gd.trace_iterations, gd.trace,
                              delta=None if overlapping else s.delta, output1=own, check_output1=checked)
    return TrainResult(s, schedule, v_star, a_star, gd, steps, theorems)


def run_train(settings: TrainSettings, progress: Progress | None = None) -> TrainResult:
    """`train two-layer`: every draw from `make_rng(settings.seed)`."""
    return train(settings, make_rng(settings.seed), progress)


# --- landscape two-layer ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LandscapeSettings(SizeSettings, TeacherSettings, StepSettings, OutcomeSettings, SampleSettings):
    COMMAND = "landscape two-layer"
    profile_points: int = setting(19, min=2)
    basin_phi: int = setting(7, min=1)
    basin_a: int = setting(5, min=1)
    schedule: list[str] = setting(["ssw", "constant"], choices=SCHEDULES)
    probes: int = setting(2000, min=1)
    probe_radius: float = setting(1e-2, min=0, open_min=True)
    trials: int = setting(32, min=1)  # with --stride s < p: GD search starts at each stride s = p … s
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        require(len(set(self.schedule)) == len(self.schedule), f"--schedule {','.join(self.schedule)}: a schedule twice")
        budget.check(self.cost())

    def overlapping(self) -> bool:
        """--stride s < p: the critical points are followed along s = p … s (`stride_landscape`)."""
        return self.stride is not None and self.stride < self.p

    def cost(self) -> budget.Cost:
        """Memory and time before any allocation (resnet_cli/budget.py): the basin map's GD over
        basin-phi × basin-a cells per schedule, the φ-profile (points × k) and the probes."""
        sized = budget.flags(basin_phi=self.basin_phi, basin_a=self.basin_a, profile_points=self.profile_points,
                             probes=self.probes, k=self.k)
        basin = budget.two_layer([self.p], [self.k], self.basin_phi * self.basin_a, {self.k: self.total_steps(self.k)},
                                 **gradient_sizes(self), sized=sized)
        others = 8.0 * (4 * self.profile_points * (self.k + 1) + 8 * self.probes * (self.p + self.k))
        return budget.Cost(max(basin.nbytes, others), basin.seconds * len(self.schedule), sized)


@dataclass
class LandscapeResult:
    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: LandscapeSettings
    v_star: np.ndarray
    a_star: np.ndarray
    critical_points: list[critical.CriticalPoint]
    profile_phi: np.ndarray
    profile_loss: np.ndarray
    profile_a_dot: np.ndarray
    basin_phi0: np.ndarray
    basin_a_ratio: np.ndarray
    basin: dict[str, np.ndarray]  # schedule -> outcomes (phi × a)
    resnet_init_phi: float
    cnn_init_phi_quantiles: dict[str, float]
    stage1_steps: int
    steps: int
    stride_sweep: Optional[sl.StrideSweep] = None  # --stride s < p: the critical points along s = p … s

    def to_dict(self) -> dict[str, Any]:
        config = {**self.settings.to_dict(), "teacher_v": self.settings.v_kind(), "stage1_steps": self.stage1_steps,
                  "steps": self.steps, "data": self.settings.mode(self.settings.p)}
        return {
            "command": self.settings.COMMAND,
            "config": config,
            "teacher": {"v_star": self.v_star, "a_star": self.a_star, "angle_to_e": self.resnet_init_phi,
                        "a_star_norm": float(np.linalg.norm(self.a_star)), "a_star_sum": float(np.sum(self.a_star))},
            "critical_points": [cp.to_dict() for cp in self.critical_points],
            "profile": [
                {"phi": float(phi), "loss": float(loss), "a_dot_astar": float(ad)}
                for phi, loss, ad in zip(self.profile_phi, self.profile_loss, self.profile_a_dot)
            ],
            "basin": {
                "phi0": self.basin_phi0,
                "a0_over_astar": self.basin_a_ratio,
                "outcomes": {kind: grid.tolist() for kind, grid in self.basin.items()},
                "resnet_init_phi0": self.resnet_init_phi,
                "cnn_init_phi0_quantiles": self.cnn_init_phi_quantiles,
            },
        } | ({"stride_sweep": self.stride_sweep.to_dict()} if self.stride_sweep is not None else {})


def landscape(settings: LandscapeSettings, rng: np.random.Generator, progress: Progress | None = None) -> LandscapeResult:
    """The population landscape of one teacher: critical points, the φ-profile and the basin map."""
    s = settings
    p, k = s.p, s.k
    v_star_b, a_star_b = s.draw(rng, 1, p, k)
    v_star, a_star = v_star_b[0], a_star_b[0]
    points = [
        critical.classify_point(rng, "global", *tl.global_optimum(v_star, a_star), v_star, a_star, s.probes, s.probe_radius),
        critical.classify_point(rng, "spurious", *tl.spurious_optimum(v_star, a_star), v_star, a_star, s.probes,
                                 s.probe_radius),
    ]
    phis = np.linspace(0.0, math.pi, s.profile_points)
    prof = tl.profile_loss(phis, a_star)
    prof_a = tl.optimal_a(phis, np.broadcast_to(a_star, (phis.size, k))) @ a_star

    # Basin map: GD from v0 at angle φ0 from v* (in one random plane) and a0 = q a* for a grid of q.
    phi0 = np.linspace(0.0, math.pi, s.basin_phi)
    ratios = np.linspace(-1.0, 1.0, s.basin_a)
    normal = rng.standard_normal(p)
    normal -= (normal @ v_star) * v_star
    normal /= np.linalg.norm(normal)
    grid_phi, grid_q = np.meshgrid(phi0, ratios, indexing="ij")
    cells = grid_phi.size
    v0 = np.cos(grid_phi.ravel())[:, None] * v_star + np.sin(grid_phi.ravel())[:, None] * normal
    a0 = grid_q.ravel()[:, None] * a_star
    vs, ast = np.tile(v_star, (cells, 1)), np.tile(a_star, (cells, 1))
    basin: dict[str, np.ndarray] = {}
    steps = s.total_steps(k)
    # Population GD by default ("plane", no draw); with --samples/--online every basin cell trains on its own
    # sample (the critical points and the profile stay population objects).
    states = s.state_factory(rng, vs, ast, copies=len(s.schedule))
    for i, kind in enumerate(s.schedule):

        def tick(done: int, _total: int, i: int = i) -> None:
            if progress is not None:
                progress(i * steps + done, len(s.schedule) * steps)

        gd = optim.run_gd(v0, a0, vs, ast, s.schedule_of(kind, ast), steps, s.criteria(), stop_when_global=True,
                          progress=tick, representation=states[i])
        basin[kind] = gd.outcome.reshape(grid_phi.shape)
    e = tl.unit_e(p)
    cnn_phi = tl.angle(tl.sample_sphere(rng, 10000, p), v_star)
    quantiles = {f"q{int(q * 100)}": float(np.quantile(cnn_phi, q)) for q in (0.1, 0.5, 0.9)}
    sweep = None
    if s.overlapping():  # after every draw of the s = p landscape: its numbers stay as they are
        sweep = sl.stride_sweep(rng, v_star, a_star, s.stride, s.trials, s.probes, s.probe_radius, points)
        points = [sweep.found[s.stride][0], sweep.spurious[-1], *sweep.found[s.stride][1:3]]
        # the profile along the basin map's circle from v* (through `normal`), a at its stride-s optimum
        circle = np.cos(phis)[:, None] * v_star + np.sin(phis)[:, None] * normal
        prof = sl.profile_loss(circle, v_star, a_star, s.stride)
        prof_a = sl.optimal_a(circle, v_star, a_star, s.stride) @ a_star
    return LandscapeResult(s, v_star, a_star, points, phis, prof, prof_a, phi0, ratios, basin,
                           float(tl.angle(e, v_star)), quantiles, s.stage1_length(k), steps, sweep)


def run_landscape(settings: LandscapeSettings, progress: Progress | None = None) -> LandscapeResult:
    """`landscape two-layer`: every draw from `make_rng(settings.seed)`."""
    return landscape(settings, make_rng(settings.seed), progress)
