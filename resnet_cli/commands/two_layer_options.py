"""Options shared by the two-layer commands (`train two-layer`, `landscape two-layer`, `success-rate`):
the teacher, the step sizes and the outcome criteria, and their validation into engine configs."""

from __future__ import annotations

import math
from typing import Annotated, Any, Optional

import typer

from resnet_cli import optim
from resnet_cli.config import one_of, require
from resnet_cli.experiments import two_layer as exp

PANEL_TEACHER = "Teacher"
PANEL_STEPS = "Step sizes and iterations"
PANEL_OUTCOME = "Outcome criteria"

TeacherVOpt = Annotated[
    Optional[str],
    typer.Option(
        "--teacher-v",
        help="How v* is drawn: prior (uniform on the cap angle(v*, e) ≤ --prior-angle, the skip-layer prior) "
        "or sphere (uniform). Default: prior for the resnet student, sphere for cnn.",
        rich_help_panel=PANEL_TEACHER,
    ),
]
TeacherAOpt = Annotated[
    str,
    typer.Option("--teacher-a", help="How a* is drawn: gaussian N(0, I), uniform U[-1,1]^k, ones.", rich_help_panel=PANEL_TEACHER),
]
PriorAngleOpt = Annotated[
    float,
    typer.Option("--prior-angle", help="Cap half-angle of the skip-layer prior, degrees (60 ⇔ ‖w*‖ ≤ 1).", rich_help_panel=PANEL_TEACHER),
]
EtaAOpt = Annotated[
    Optional[float],
    typer.Option("--eta-a", help="Stage-I step for a. Default: Theorem 1, π/(20(k+π−1)²).", rich_help_panel=PANEL_STEPS),
]
EtaWOpt = Annotated[
    Optional[float],
    typer.Option("--eta-w", help="Stage-I step for w. Default: Theorem 1, C‖a*‖²η_a².", rich_help_panel=PANEL_STEPS),
]
EtaOpt = Annotated[
    Optional[float],
    typer.Option(
        "--eta",
        help="Stage-II step for both. Default: Theorem 2, min{m/(2M²), 5π²/(4(k+π−1)²)} with m = M = ‖a*‖².",
        rich_help_panel=PANEL_STEPS,
    ),
]
CEtaWOpt = Annotated[
    float, typer.Option("--c-eta-w", help="The constant C of Theorem 1's η_w (not given in the paper).", rich_help_panel=PANEL_STEPS)
]
Stage1Opt = Annotated[
    Optional[int],
    typer.Option("--stage1-iterations", help="Stage-I length T1. Default: ⌈1/η_a⌉ (Theorem 1: Õ(1/η_a)).", rich_help_panel=PANEL_STEPS),
]
IterationsOpt = Annotated[
    Optional[int],
    typer.Option("--iterations", help="Total iterations. Default: T1 + --stage2-iterations.", rich_help_panel=PANEL_STEPS),
]
Stage2Opt = Annotated[
    int, typer.Option("--stage2-iterations", help="Stage-II iterations when --iterations is not given.", rich_help_panel=PANEL_STEPS)
]
PhiTolOpt = Annotated[
    float, typer.Option("--phi-tol", help="global: final angle φ below this (radians)...", rich_help_panel=PANEL_OUTCOME)
]
ATolOpt = Annotated[
    float, typer.Option("--a-tol", help="...and ‖a − a*‖ ≤ a-tol · ‖a*‖.", rich_help_panel=PANEL_OUTCOME)
]
SpuriousTolOpt = Annotated[
    float,
    typer.Option("--spurious-tol", help="spurious: final φ above π − this (radians). Else undecided.", rich_help_panel=PANEL_OUTCOME),
]


def teacher_config(opts: dict[str, Any], student: str) -> exp.TeacherConfig:
    """Validate the teacher options; the v* default depends on the student (prior for resnet, sphere for cnn)."""
    v_kind = opts["teacher_v"] or ("prior" if student == "resnet" else "sphere")
    one_of(v_kind, exp.TEACHER_V, "--teacher-v")
    one_of(opts["teacher_a"], exp.TEACHER_A, "--teacher-a")
    require(0 < opts["prior_angle"] <= 180, "--prior-angle must be in (0, 180] degrees")
    return exp.TeacherConfig(v_kind, opts["teacher_a"], float(opts["prior_angle"]))


def criteria(opts: dict[str, Any]) -> optim.Criteria:
    """Validate the outcome thresholds."""
    require(0 < opts["phi_tol"] < math.pi / 2, "--phi-tol must be in (0, π/2)")
    require(opts["a_tol"] > 0, "--a-tol must be positive")
    require(0 < opts["spurious_tol"] < math.pi / 2, "--spurious-tol must be in (0, π/2)")
    return optim.Criteria(opts["phi_tol"], opts["a_tol"], opts["spurious_tol"])


def check_sizes(p: int, k: int) -> None:
    require(p >= 2, f"--p must be at least 2 (got {p})")
    require(k >= 1, f"--k must be at least 1 (got {k})")


def train_config(opts: dict[str, Any], *, student: str, p: int, k: int, schedule: str, trials: int) -> exp.TrainConfig:
    """Validate step sizes and iterations and build the engine's TrainConfig."""
    check_sizes(p, k)
    one_of(student, exp.STUDENTS, "--student")
    one_of(schedule, optim.SCHEDULES, "--schedule")
    for name in ("eta_a", "eta"):
        value = opts.get(name)
        require(value is None or (math.isfinite(value) and value > 0), f"--{name.replace('_', '-')} must be positive")
    eta_w = opts.get("eta_w")
    require(eta_w is None or (math.isfinite(eta_w) and eta_w >= 0), "--eta-w must be zero or positive")
    require(opts["c_eta_w"] >= 0, "--c-eta-w must be zero or positive")
    for name in ("stage1_iterations",):
        value = opts.get(name)
        require(value is None or value >= 0, f"--{name.replace('_', '-')} must be zero or positive")
    require(opts.get("iterations") is None or opts["iterations"] >= 1, "--iterations must be at least 1")
    require(opts["stage2_iterations"] >= 0, "--stage2-iterations must be zero or positive")
    require(trials >= 1, f"--trials must be at least 1 (got {trials})")
    return exp.TrainConfig(
        student=student,
        p=p,
        k=k,
        schedule=schedule,
        eta_a=opts.get("eta_a"),
        eta_w=eta_w,
        eta=opts.get("eta"),
        c_eta_w=float(opts["c_eta_w"]),
        stage1_iterations=opts.get("stage1_iterations"),
        iterations=opts.get("iterations"),
        stage2_iterations=opts["stage2_iterations"],
        trials=trials,
        teacher=teacher_config(opts, student),
        criteria=criteria(opts),
    )
