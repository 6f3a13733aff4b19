"""Every command-line option, declared once per idea (the vocabulary of docs/cli.md).

A command's signature lists the options it takes as keyword-only parameters annotated with these types and
WITHOUT defaults: `defaults_from(SettingsClass)` fills each default from the experiment's settings dataclass
(the one place it is written, `resnet_cli/config.py`), so `--help` shows it and nothing can drift. The
same decorator makes an option whose setting has `choices` a `click.Choice` of exactly those (`--help`
lists what this command accepts; shell completion offers them); list options take the shell forms
documented in docs/cli.md and offer their choices to completion.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import typing
from typing import Annotated, Callable, Optional

import click
import typer

from resnet_cli.models.two_layer.methods import FLOW_METHODS as _FLOW_METHODS, METHODS as _METHODS

TEACHER, STEPS, OUTCOME = "Teacher", "Step sizes and steps", "Outcome criteria"

# How `--help` shows the value of a list option: its grammar (docs/cli.md, "Lists and ranges"), not TEXT.
INT_LIST, FLOAT_LIST, NAME_LIST = "N,N,..|A:B[:xF]", "X,X,..|logspace:LO:HI:N", "NAME,NAME,.."
NETWORK, SPECTRUM, OUTPUT, SWEEP = "Network and data", "Hessian spectrum", "Output", "Sweep"


class _Choice(click.Choice):
    """A click Choice whose metavar can wrap in a narrow help column: "[zero | small | xavier]" (click's
    "[zero|small|xavier]" has no space, so rich folds it inside a word)."""

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str | None:
        metavar = super().get_metavar(param, ctx) if ctx is not None else super().get_metavar(param)
        return metavar.replace("|", " | ") if metavar else metavar


def _choice(*values: str) -> click.Choice:
    return _Choice(list(values), case_sensitive=True)


def _complete_list(values: tuple[str, ...]) -> Callable[[str], list[str]]:
    """Shell completion for a comma list: offers each choice after the last comma."""

    def complete(incomplete: str) -> list[str]:
        head, _, last = incomplete.rpartition(",")
        prefix = head + "," if head else ""
        return [prefix + v for v in values if v.startswith(last)]

    return complete


def _opt(flag: str, help: str, panel: str | None = None, **kw) -> typer.models.OptionInfo:
    return typer.Option(flag, help=help, rich_help_panel=panel, **kw)


# --- every command -------------------------------------------------------------------------------------------
Seed = Annotated[int, _opt("--seed", "Seed of every random draw (whole number ≥ 0): same seed, same numbers.")]
CONFIG_HELP = "TOML file or packaged preset; flags typed here win."
Config = Annotated[Optional[str], _opt("--config", CONFIG_HELP, OUTPUT, metavar="FILE|PRESET")]
Out = Annotated[Optional[str], _opt("--out", "Write the result to a .json or .csv file (atomically).", OUTPUT,
                                    metavar="FILE")]
Json = Annotated[bool, _opt("--json", "Print the result as JSON on stdout (and nothing else).", OUTPUT)]
Plot = Annotated[Optional[str], _opt("--plot", "Save a figure to a .png/.pdf/.svg file (extra 'plot').", OUTPUT,
                                      metavar="FILE")]
Quiet = Annotated[bool, _opt("--quiet", "No progress on stderr.", OUTPUT)]
Detail = Annotated[bool, _opt("--detail", "Also print the secondary tables (the default output is a headline).",
                              OUTPUT)]
Trials = Annotated[int, _opt("--trials", "Independent random repetitions (draws of teacher, init or data).")]
Jobs = Annotated[
    Optional[int],
    _opt("--jobs", "Worker processes for the cells. Results do not depend on it (bitwise).", SWEEP),
]
Dask = Annotated[
    Optional[str],
    _opt("--dask", "Run the cells on a dask.distributed scheduler at ADDRESS (e.g. tcp://host:8786; extra "
         "'distributed'); --jobs is then ignored. Same numbers, bitwise (docs/cluster.md).", SWEEP,
         metavar="ADDRESS"),
]
Cache = Annotated[
    Optional[str],
    _opt("--cache", "Keep each finished cell in folder DIR; a re-run (after Ctrl-C or a crash) computes only the "
         "missing cells and prints the same result.", SWEEP, metavar="DIR"),
]
Steps = Annotated[int, _opt("--steps", "Optimizer steps (iterations of gradient descent).", STEPS)]
Lr = Annotated[float, _opt("--lr", "Step size of gradient descent.", STEPS)]
LrAdaptive = Annotated[float, _opt("--lr", "Initial step size of the finder's GD (--finder gd), adapted per start "
                                   "(× 1.2 after a step that lowers the risk enough, ÷ 2 after one that does not).",
                                   STEPS)]

# --- two-layer (Liu et al. 2019) ----------------------------------------------------------------------------
METHODS = (*_METHODS, *_FLOW_METHODS)  # completion offers these, not the deprecated aliases the settings still accept
Student = Annotated[str, _opt("--student", "resnet (shortcut, w0 = 0) or cnn (no shortcut, random v0).")]
P = Annotated[int, _opt("--p", "Patch dimension p (≥ 2).")]
K = Annotated[int, _opt("--k", "Number of patches k (≥ 1).")]
PList = Annotated[str, _opt("--p", "Patch dimensions: a list or range (8 | 4,8,16 | 2:32:x2).", SWEEP,
                            metavar=INT_LIST)]
KList = Annotated[str, _opt("--k", "Numbers of patches: a list or range (4,9,16 | 1:10 | 4:100:x2).", SWEEP,
                            metavar=INT_LIST)]
Schedule = Annotated[
    str, _opt("--schedule", "ssw (step-size warm-up); large-w (large step η on w from step 0, Theorem 1's η_a on "
              "a); large-both (η on both layers from step 0); layerwise (a alone in stage I, w alone in stage "
              "II); a-first (a alone in stage I, both in stage II); constant: the old name of large-w.", STEPS)
]
ScheduleList = Annotated[
    str, _opt("--schedule", "Schedules, a comma list of ssw, large-w, large-both, layerwise, a-first (constant: the old name "
              "of large-w).", STEPS,
              metavar=NAME_LIST)
]
MethodList = Annotated[
    str, _opt("--method", "Training methods, a comma list of " + ", ".join(_METHODS) + " (-large-w: large step "
              "on w only from step 0; -large-both: on both layers; cnn, resnet: old names of the -large-w ones); "
              "NAME-flow: the gradient flow of NAME's schedule (see --flow-rtol).", SWEEP,
              metavar=NAME_LIST, autocompletion=_complete_list(METHODS))
]
SameTeacher = Annotated[bool, _opt("--same-teacher/--no-same-teacher", "All trials share one teacher draw.", TEACHER)]
TraceEvery = Annotated[Optional[int], _opt("--trace-every", "A trace row every N steps.")]
TeacherV = Annotated[
    Optional[str],
    _opt("--teacher-v", "How v* is drawn: prior (uniform on the cap angle(v*, e) ≤ --prior-angle) or sphere.",
         TEACHER),
]
TeacherA = Annotated[str, _opt("--teacher-a", "How a* is drawn: gaussian N(0, I), uniform U[-1,1]^k, ones.", TEACHER)]
PriorAngle = Annotated[float, _opt("--prior-angle", "Cap half-angle of the skip-layer prior, degrees (60 ⇔ ‖w*‖ ≤ 1).", TEACHER)]
LrA = Annotated[Optional[float], _opt("--lr-a", "Stage-I step for a (default: Theorem 1's π/(20(k+π−1)²)).", STEPS)]
LrW = Annotated[Optional[float], _opt("--lr-w", "Stage-I step for w (default: Theorem 1's C‖a*‖²η_a²).", STEPS)]
LrStage2 = Annotated[
    Optional[float],
    _opt("--lr", "η: the stage-II step for both layers, and the large step from step 0 under large-w (on w) and "
         "large-both (on both) (default: Theorem 2's min{m/(2M²), 5π²/(4(k+π−1)²)} with m = M = ‖a*‖²).", STEPS),
]
CLrW = Annotated[float, _opt("--c-lr-w", "The constant C of Theorem 1's η_w (not given in the paper).", STEPS)]
Stage1Steps = Annotated[Optional[int], _opt("--stage1-steps", "Stage-I length T1 (default: Theorem 1's ⌈1/η_a⌉).", STEPS)]
TotalSteps = Annotated[Optional[int], _opt("--steps", "Total steps (default: T1 + --stage2-steps).", STEPS)]
Stage2Steps = Annotated[int, _opt("--stage2-steps", "Stage-II steps when --steps is not given.", STEPS)]
PhiTol = Annotated[float, _opt("--phi-tol", "global: final angle φ below this (radians) ...", OUTCOME)]
ATol = Annotated[float, _opt("--a-tol", "... and ‖a − a*‖ ≤ a-tol · ‖a*‖.", OUTCOME)]
SpuriousTol = Annotated[float, _opt("--spurious-tol", "spurious: final φ above π − this (radians); else undecided.", OUTCOME)]
ProfilePoints = Annotated[int, _opt("--profile-points", "Points of the φ-profile on [0, π].")]
BasinPhi = Annotated[int, _opt("--basin-phi", "Rows of the basin map: initial angles φ0 on [0, π].")]
BasinA = Annotated[int, _opt("--basin-a", "Columns of the basin map: a0 = q·a* for q on [−1, 1].")]
Probes = Annotated[int, _opt("--probes", "Random perturbations probed where the Hessian is degenerate: N "
                               "directions, each at ± up to --probe-radius.")]
EscapeProbes = Annotated[int, _opt("--probes", "Random perturbations probed where the Hessian is degenerate: N "
                                     "near-null directions, each at radii 1e-3, 1e-2 and 0.1.")]
SearchStarts = Annotated[int, _opt("--trials", "GD search starts at each overlapping stride (only with --stride "
                                   "s < p: the search for the critical points at strides p … s).")]
ProbeRadius = Annotated[float, _opt("--probe-radius", "Largest perturbation size of the probes.")]
DATA, THEOREMS = "Data and SGD (default: the exact population loss)", "Theorem checks"
TwoLayerSamples = Annotated[
    Optional[int], _opt("--samples", "A fixed training set of N inputs per trial (drawn from the seed); default: "
                        "the population loss in closed form.", DATA)]
Batch = Annotated[Optional[int], _opt("--batch", "Minibatch size B of SGD (default: N, full-batch GD on the "
                                      "sample; with --online: 1).", DATA)]
Online = Annotated[bool, _opt("--online/--no-online", "Online SGD: B fresh inputs every step.", DATA)]
LabelNoise = Annotated[float, _opt("--label-noise", "σ of Gaussian noise added to the teacher's labels.", DATA)]
Stride = Annotated[
    Optional[int], _opt("--stride", "Patch stride s, 1 ≤ s ≤ p (s < p: overlapping patches, input dim (k−1)s + p; "
                        "the exact plane reduction does not hold there, so the full-vector engine runs).", DATA)]
Inputs = Annotated[str, _opt("--inputs", "Law of the input entries (unit variance), with --samples or --online.", DATA)]
TheoremM = Annotated[float, _opt("--theorem-m", "m of Theorem 1's output (1), in units of ‖a*‖², 0 < m < M (checks "
                                 "only; the step sizes keep m = M = ‖a*‖²).", THEOREMS)]
TheoremBigM = Annotated[float, _opt("--theorem-big-m", "M of Theorem 1's output (1), in units of ‖a*‖².", THEOREMS)]
FLOW = "Gradient flow (the *-flow methods, --flow)"
Flow = Annotated[bool, _opt("--flow/--no-flow", "Integrate the gradient flow of the schedule (step → 0, same "
                            "horizon) instead of running GD; report where it ends.", FLOW)]
FlowRtol = Annotated[float, _opt("--flow-rtol", "Relative tolerance of the ODE solver of the gradient flow.", FLOW)]
FlowAtol = Annotated[float, _opt("--flow-atol", "Absolute tolerance of the ODE solver of the gradient flow.", FLOW)]
FlowSolver = Annotated[str, _opt("--flow-solver", "scipy solve_ivp method of the gradient flow (BDF: the fastest "
                                 "measured here).", FLOW)]
TheoremTrajectory = Annotated[str, _opt(
    "--theorem-trajectory", "Where output (1) is checked: theorem1 (Theorem 1's own steps kept on all of [T1, T], "
    "the theorem as stated) or run (the run itself: stage-II steps after T1).", THEOREMS)]
TheoremAll = Annotated[bool, _opt("--theorem-all/--no-theorem-all", "Check output (1) also for methods outside "
                                  "Theorem 1's hypotheses (no shortcut, no warm-up, sphere teacher, samples).",
                                  THEOREMS)]
NOISE = "Perturbed GD (--noise, the *-noise methods)"
Noise = Annotated[Optional[float], _opt("--noise", "σ0 of the Gaussian noise added to the gradient (perturbed GD, "
                                        "Zhou et al. 2019), in units of ‖a*‖² for w and ‖a*‖ for a.", NOISE)]
NoiseAnneal = Annotated[str, _opt("--noise-anneal", "How σ_t decays on the clock t/T: none, exponential "
                                  "σ0·exp(−r t/T), polynomial σ0/(1 + r t/T).", NOISE)]
NoiseRate = Annotated[float, _opt("--noise-rate", "The rate r of --noise-anneal.", NOISE)]
NoiseOn = Annotated[str, _opt("--noise-on", "Which gradient is perturbed: w, a or both.", NOISE)]
Delta = Annotated[float, _opt("--delta", "δ of the partial dissipativity conditions C1/C2.", THEOREMS)]

# --- n-shortcut networks (Li et al. 2017) -------------------------------------------------------------------
Shortcut = Annotated[int, _opt("--shortcut", "Shortcut depth n: 0 = plain network (no shortcut), 1, 2, 3, …", NETWORK)]
Depth = Annotated[int, _opt("--depth", "Total number of d×d weight layers (a multiple of n).", NETWORK)]
DepthList = Annotated[str, _opt("--depth", "Depths: a list or range (2,4,8 | 2:64:x2).", SWEEP, metavar=INT_LIST)]
Init = Annotated[str, _opt("--init", "Initial weights: zero | small (0.01 × Xavier) | xavier | orthogonal.", NETWORK)]
ActPre = Annotated[str, _opt("--act-pre", "Activation before a unit's first layer.", NETWORK)]
ActMid = Annotated[str, _opt("--act-mid", "Activation between a unit's layers.", NETWORK)]
ActPost = Annotated[str, _opt("--act-post", "Activation after a unit's last layer.", NETWORK)]
PlainUnit = Annotated[
    int, _opt("--plain-unit", "Plain network only: its activations sit where those of a PLAIN-UNIT-shortcut network "
              "would (paper: 2).", NETWORK)
]
DATA_HELP = ("digits (bundled UCI digits), mnist:PATH (IDX files, a folder of them, or .npz), gaussian, or the "
             "examples of Yun et al. 2019, yun-example1 | yun-example2 (fixed points; not in landscape linear-resnet).")
Data = Annotated[str, _opt("--data", DATA_HELP, NETWORK, metavar="NAME|mnist:PATH")]
Samples = Annotated[Optional[int], _opt("--samples", "Number of samples (gaussian), or the first N of a data set.", NETWORK)]
Dim = Annotated[Optional[int], _opt("--dim", "Input dimension of --data gaussian.", NETWORK)]
At = Annotated[str, _opt("--at", "Where: init (the initial point) or trained (after --steps of GD at --lr).")]
Spectrum = Annotated[
    str, _opt("--spectrum", "exact: every eigenvalue (eigvalsh, block by block where the Hessian has exact-zero "
              "structure); slq: stochastic Lanczos quadrature; auto (where offered): exact up to --exact-max-params; "
              "inertia (hessian): certified brackets from LDLᵀ eigenvalue counts.", SPECTRUM)
]
LanczosSteps = Annotated[int, _opt("--lanczos-steps", "Lanczos steps per probe vector (slq).", SPECTRUM)]
LanczosProbes = Annotated[int, _opt("--lanczos-probes", "Random probe vectors of SLQ.", SPECTRUM)]
ExactMaxParams = Annotated[int, _opt("--exact-max-params", "Largest Hessian block (parameters) whose spectrum auto computes exactly.", SPECTRUM)]
Eigensolver = Annotated[str, _opt("--eigensolver", "LAPACK route of exact spectra: auto (the fastest measured for the size), numpy, scipy's ev, evd, evr, evx, evd2 (LAPACK's two-stage syevd_2stage), or mkl (torch's, optional).", SPECTRUM)]
BracketWidth = Annotated[float, _opt("--bracket-width", "Relative width of the certified brackets of --spectrum inertia.", SPECTRUM)]
Eigenvalues = Annotated[Optional[str], _opt("--eigenvalues", "Write every eigenvalue (slq: nodes, weights) to this .csv file.",
                                                    OUTPUT, metavar="FILE")]
HessianEvery = Annotated[int, _opt("--hessian-every", "Hessian statistics every N steps (0 = never).", SPECTRUM)]
NetworkList = Annotated[str, _opt("--network", "Network kinds, a comma list (2-shortcut, 1-shortcut, 3-shortcut, "
                                   "xavier, orthogonal).", SWEEP, metavar=NAME_LIST)]
Measure = Annotated[str, _opt("--measure", "init-cond (Fig. 5) or final-loss (Figs. 9, 10).", SWEEP)]
ShortcutInit = Annotated[str, _opt("--init", "Init of the n-shortcut kinds: auto, zero or small (the plain kinds carry theirs: xavier, orthogonal).", NETWORK)]
LrGrid = Annotated[str, _opt("--lr", "Step-size grid: a list (1e-3,0.01), or logspace:LO:HI:N (N points, 10^LO … "
                              "10^HI).", SWEEP, metavar=FLOAT_LIST)]

# --- deep ResNets (Yun et al. 2019) -------------------------------------------------------------------------
Rho = Annotated[float, _opt("--rho", "ρ of yun-example1: Y = X + ρ·(−1,−1,1,−1,1,1).", NETWORK)]
Blocks = Annotated[str, _opt("--blocks", "Residual blocks L; a list or range (1,2,4,8 | 1:8:x2) gives one row per "
                              "depth.", NETWORK, metavar=INT_LIST)]
Width = Annotated[Optional[int], _opt("--width", "Residual stream width (≥ input dim; default: input dim).", NETWORK)]
Hidden = Annotated[int, _opt("--hidden", "ReLU units inside each residual block.", NETWORK)]
Bias = Annotated[bool, _opt("--bias/--no-bias", "Biases and output offset (affine linear predictor).", NETWORK)]
Compare = Annotated[str, _opt("--compare", "none | fc: add a fully-connected ReLU net of at most as many parameters.")]
FcWidth = Annotated[Optional[int], _opt("--fc-width", "Width of the FC net (default: largest with ≤ ResNet params).", NETWORK)]
GradTol = Annotated[float, _opt("--grad-tol", "Stop when the (min-norm sub)gradient norm is below this.", STEPS)]
GapTol = Annotated[float, _opt("--gap-tol", "Relative risk tolerance: deep-resnet, equal to linear when |R − R_lin| ≤ "
                                "tol·R_lin; linear-resnet, global when R − R* ≤ tol·R* (at least 1e-12 of the targets' scale).")]
EigTol = Annotated[float, _opt("--eig-tol", "Strict saddle when λmin < −tol·max|λ| of the exact Hessian.")]
ResnetInit = Annotated[str, _opt("--init", "standard | near-identity (Σ_l ‖V_l‖‖U_l‖ = --init-scale at any depth).", NETWORK)]
InitScale = Annotated[float, _opt("--init-scale", "Total block norm Σ_l ‖V_l‖₂‖U_l‖₂ of the near-identity init.", NETWORK)]
Finder = Annotated[str, _opt("--finder", "gd (minima only: GD escapes saddles) | newton (Levenberg–Marquardt on ∇R = 0 "
                             "from the random starts: critical points of any index) | gd+newton (Newton from GD's "
                             "end points).", STEPS)]
NewtonSteps = Annotated[int, _opt("--newton-steps", "Newton/LM iterations at most per start.", STEPS)]
NewtonTol = Annotated[float, _opt("--newton-tol", "Newton/LM converged when ‖∇R‖ < this (deep-resnet at a ReLU kink: the Clarke norm and the kink gap).", STEPS)]
DedupTol = Annotated[float, _opt("--dedup-tol", "Merge points equal up to unit permutations and rescalings within this.")]
EigTolAlt = Annotated[float, _opt("--eig-tol-alt", "Second eigenvalue tolerance: the classes are recounted with it, beside.")]

# --- deep linear residual networks (Hardt & Ma 2017) ---------------------------------------------------------
Target = Annotated[str, _opt("--target", "residual: y + x (the map I + T, near identity); data: y as loaded "
                             "(gaussian: y = T x + 0.1ε; digits: one-hot labels).", NETWORK)]
Radius = Annotated[str, _opt("--radius", "Start radii r0 = max_j ‖A_j‖₂, a list (0.2,0.6,1.5); --trials starts "
                             "each.", SWEEP, metavar=FLOAT_LIST)]
Damping = Annotated[float, _opt("--damping", "Initial Levenberg–Marquardt damping λ0 (μ = λ‖∇R‖): larger keeps "
                                "the first steps near the start.", STEPS)]

# Parameters of a command that are not settings of its experiment (they say where results go).
OUTPUT_PARAMS = ("config", "out", "json_out", "plot", "quiet", "eigenvalues", "detail")


def defaults_from(settings_cls: type) -> Callable:
    """Give a command's options the defaults of `settings_cls` (one source): a decorator.

    Each keyword-only parameter whose name is a field of the settings gets that field's default, and
    `--help` shows it (`shown` metadata for defaults computed later); a field with `choices` makes its option
    a click Choice of exactly those (a comma-list field: shell completion of them), so `--help` lists what
    this command accepts and nothing else. Output options keep their own.
    """
    defaults = settings_cls.defaults()
    presets = presets_for(settings_cls.COMMAND)
    shown = settings_cls.shown_defaults()
    choices = {f.name: f.metadata.get("choices") for f in dataclasses.fields(settings_cls)}

    def decorate(fn: Callable) -> Callable:
        hints = typing.get_type_hints(fn, include_extras=True)
        params = []
        for param in inspect.signature(fn).parameters.values():
            annotation = hints.get(param.name, param.annotation)
            if param.name in defaults:
                base, *meta = typing.get_args(annotation)
                infos = []
                for info in meta:
                    if isinstance(info, typer.models.OptionInfo):
                        info = copy.copy(info)
                        # A default is stated once: by the help text when it says "default: ...", else by
                        # the [default: ...] that typer appends.
                        info.show_default = False if "default:" in (info.help or "").lower() else shown.get(
                            param.name, True)
                        allowed = choices.get(param.name)
                        if allowed and isinstance(defaults[param.name], list):
                            info.autocompletion = info.autocompletion or _complete_list(tuple(allowed))
                        elif allowed:
                            info.click_type = _choice(*allowed)
                    infos.append(info)
                annotation = Annotated[(base, *infos)]
                value = defaults[param.name]
                if isinstance(value, list):
                    value = ",".join(str(v) for v in value)
                param = param.replace(default=value, annotation=annotation)
            elif param.name == "config":
                annotation = _with_presets(annotation, presets)
                param = param.replace(annotation=annotation)
            elif param.default is inspect.Parameter.empty and param.kind is inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"{fn.__module__}: option {param.name} has no default and no setting")
            else:
                param = param.replace(annotation=annotation)
            params.append(param)
        fn.__signature__ = inspect.signature(fn).replace(parameters=params)
        return fn

    return decorate



def presets_for(command: str) -> list[str]:
    """The packaged presets with a table for `command` (e.g. "success-rate": liu2019-success, ...)."""
    from importlib import resources

    from resnet_cli.config import PRESET_PACKAGE, preset_names
    from resnet_cli.vocabulary import SECTIONS

    header = f"[{SECTIONS.get(command, command.replace(' ', '-'))}]"
    folder = resources.files(PRESET_PACKAGE)
    return [name for name in preset_names()
            if any(line.strip() == header for line in folder.joinpath(f"{name}.toml").read_text("utf-8").splitlines())]


def _with_presets(annotation: typing.Any, presets: list[str]) -> typing.Any:
    """The --config option of one command: its presets named in the help and offered by shell completion."""
    base, *meta = typing.get_args(annotation)
    infos = []
    for info in meta:
        if isinstance(info, typer.models.OptionInfo):
            info = copy.copy(info)
            if presets:
                info.help = f"{CONFIG_HELP} Presets: {', '.join(presets)}."
            info.autocompletion = lambda incomplete: [name for name in presets if name.startswith(incomplete)]
        infos.append(info)
    return Annotated[(base, *infos)]
