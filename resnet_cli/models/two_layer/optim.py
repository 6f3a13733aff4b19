"""Gradient descent with normalization and step-size schedules, batched over trials (Liu et al. 2019).

One trial is one row. The update of Liu et al. 2019 (poster, "Gradient Descent with Normalization"):

    w̃ = w − η_w ∇_w L(w, a),   w ← (e + w̃)/‖e + w̃‖ − e,   a ← a − η_a ∇_a L(w, a)

(the CNN student of Du et al. 2017 has no e: w ← w̃/‖w̃‖). Both keep ‖u‖ = 1 for u = e + w (resp. w), so
∇_w L = ∇_v L and the state is carried as the unit filter v = u directly; w = v − e is recovered on output.

Schedules (docs/train.md; T1 = stage-I iterations):
- ``ssw``: step-size warm-up. Stage I (t < T1): η_a, η_w (Theorem 1); stage II: η for both (Theorem 2).
- ``large-w``: no warm-up on w. η_w = η from the first iteration; η_a as in ``ssw``.
- ``layerwise`` (a reviewer's proposal, NeurIPS 2019 reviews of Liu et al., point 3): stage I trains a only
  (η_w = 0, η_a), stage II trains w only with a fixed (η on w, 0 on a).
- ``a-first``: stage I as ``layerwise``, stage II trains both with η (the reviewer's order with a free in
  stage II, so that a can still reach a*).

`Schedule.held()` keeps a schedule's stage-I step sizes after T1 as well: Theorem 1's own steps on all of
[T1, T] for ``ssw`` (the trajectory Theorem 1's output (1) speaks of).

Two exact representations of the same iteration (resnet_cli/models/two_layer/gd_states.py; tests check they agree):
- ``VectorState``: v (trials × p) and a (trials × k), the update as written above (`gd_step`), fused into
  a few whole-batch numpy calls per step.
- ``PlaneState``: the same GD in reduced coordinates. ∇_v L ∝ (I − vvᵀ)v* keeps v in the plane of v0 and
  v*, so v = cos θ v* + sin θ n and the normalized step is exactly θ ← θ − atan(η_w s sin θ) with
  s = (aᵀa*)(π − φ)/π. M and N(φ) are combinations of I and 11ᵀ, so a stays in span{a0, 1, a*}:
  a = B c with B = [a0, 1, a*] and c ∈ R³. A step then costs O(1) per trial whatever p and k are, which is
  what makes the success-rate grid (k up to 100, ~10⁵ iterations at the Theorem-1 step sizes) fast.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from resnet_cli.descent import STOP, descend
from resnet_cli.models.two_layer import population as tl
from resnet_cli.models.two_layer.gd_states import (PlaneState, VectorState, _any_orthogonal,  # noqa: F401 (optim.*)
                                               run_statistics)

PI = math.pi
SCHEDULES = ("ssw", "large-w", "layerwise", "a-first")
# The schedules a run can ask for: SCHEDULES plus "large-both", the stage-II step η on BOTH layers from the first
# step (no warm-up at all; "large-w" is the large step on w only, η_a stays Theorem 1's small step in stage I).
PLANS = (*SCHEDULES, "large-both")
OUTCOMES = ("global", "spurious", "undecided", "diverged")


def theorem1_eta_a(k: int) -> float:
    """Stage-I step size for a: η_a = π / (20 (k + π − 1)²) (Liu et al. 2019, Theorem 1)."""
    return math.pi / (20 * (k + math.pi - 1) ** 2)


def theorem1_eta_w(a_star: np.ndarray, eta_a: float, c: float) -> np.ndarray:
    """Stage-I step size for w: η_w = C ‖a*‖² η_a² (Liu et al. 2019, Theorem 1), one per trial."""
    return c * np.sum(a_star**2, axis=-1) * (eta_a * eta_a)  # (inf past 1e154, not OverflowError as eta_a**2)


def theorem2_eta(a_star: np.ndarray, k: int, m: np.ndarray | None = None, big_m: np.ndarray | None = None) -> np.ndarray:
    """Stage-II step size η = min{m/(2M²), 5π²/(4(k + π − 1)²)} (Liu et al. 2019, Theorem 2), per trial.

    m ≤ aᵀa* ≤ M are the bounds that stage I guarantees; the paper gives no numbers. Our default is
    m = M = ‖a*‖², the value aᵀa* tends to, so m/(2M²) = 1/(2‖a*‖²): it keeps the w-step below the
    stability limit 2/λ_max of the w-block of the Hessian at the optimum, (a*ᵀa*)(I − v*v*ᵀ).
    """
    norm2 = np.sum(a_star**2, axis=-1)
    m = norm2 if m is None else m
    big_m = norm2 if big_m is None else big_m
    return np.minimum(m / (2 * big_m**2), 5 * math.pi**2 / (4 * (k + math.pi - 1) ** 2))


def stage1_length(k: int, stage1_steps: int | None = None, lr_a: float | None = None) -> int:
    """T1: `stage1_steps` when given, else ⌈1/η_a⌉ (Theorem 1: T1 = Õ(1/η_a)) for η_a = `lr_a` or Theorem 1's."""
    if stage1_steps is not None:
        return stage1_steps
    return int(math.ceil(1.0 / (lr_a if lr_a is not None else theorem1_eta_a(k))))


def schedule_of(kind: str, a_star: np.ndarray, *, lr_a: float | None = None, lr_w: float | None = None,
                lr: float | None = None, c_lr_w: float = 1.0, stage1_steps: int | None = None) -> "Schedule":
    """The per-trial step sizes of schedule `kind` (one of PLANS) for the teachers `a_star` (trials × k): each
    step size given, else its theorem's (η_a Theorem 1, η_w = C‖a*‖²η_a² with C = `c_lr_w`, η Theorem 2);
    T1 from `stage1_length`."""
    n, k = a_star.shape
    eta_a = lr_a if lr_a is not None else theorem1_eta_a(k)
    eta_w = np.full(n, lr_w) if lr_w is not None else theorem1_eta_w(a_star, eta_a, c_lr_w)
    eta = np.full(n, lr) if lr is not None else theorem2_eta(a_star, k)
    t1 = stage1_length(k, stage1_steps, lr_a)
    if kind == "large-both":  # η on a and w from step 0: stage I is stage II
        return Schedule("large-w", eta, eta_w, eta, t1)
    return Schedule(kind, np.full(n, eta_a), eta_w, eta, t1)


@dataclass
class Schedule:
    """Per-trial step sizes of a two-stage schedule (arrays of shape (trials,)).

    `eta_a`, `eta_w`: Theorem 1's stage-I values; `eta`: Theorem 2's stage-II value; `kinds`: the schedule of
    each trial (trials of different schedules can share one batch). `stage1_eta_w` is the w-step actually
    used in stage I: η_w (ssw), η (large-w: no warm-up), 0 (layerwise, a-first); `stage2_eta_a` the a-step
    of stage II: η, 0 (layerwise). `hold` (per trial): stage-I step sizes after T1 too (`held()`).
    """

    kind: str | np.ndarray
    eta_a: np.ndarray
    eta_w: np.ndarray
    eta: np.ndarray
    stage1_iterations: int | np.ndarray  # T1, or one per trial (`stack` of schedules with different T1)
    hold: np.ndarray | bool = False

    def __post_init__(self) -> None:
        kinds = np.broadcast_to(np.asarray(self.kind, dtype=object), self.eta_a.shape)
        unknown = set(kinds.tolist()) - set(SCHEDULES)
        if unknown:
            raise ValueError(f"unknown schedule {sorted(unknown)!r}")
        self.kinds = kinds
        self.hold = np.broadcast_to(np.asarray(self.hold, dtype=bool), self.eta_a.shape)
        self.stage1_eta_w = np.where(kinds == "ssw", self.eta_w, np.where(kinds == "large-w", self.eta, 0.0)).astype(float)
        self.stage2_eta_a = np.where(kinds == "layerwise", 0.0, self.eta).astype(float)
        self._stage2 = (np.where(self.hold, self.eta_a, self.stage2_eta_a), np.where(self.hold, self.stage1_eta_w, self.eta))
        self._bounds: list[int] | None = None

    def at(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(η_a, η_w) at iteration t (0-based) for every trial."""
        t1 = self.stage1_iterations
        if isinstance(t1, (int, np.integer)):
            if t >= t1:
                return self._stage2
            return self.eta_a, self.stage1_eta_w
        return self._mixed_at(t)

    def _mixed_at(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """`at` with a stage-I length per trial: stage II in the rows with T1 ≤ t. The arrays change only when t
        passes one of the distinct T1, so they are built once per interval and reused."""
        if self._bounds is None:
            self._bounds, self._mixed = np.unique(self.stage1_iterations).tolist(), {}
        j = bisect.bisect_right(self._bounds, t)  # how many distinct T1 are ≤ t
        if j == 0:
            return self.eta_a, self.stage1_eta_w
        if j == len(self._bounds):
            return self._stage2
        if j not in self._mixed:
            late = self.stage1_iterations <= t
            self._mixed[j] = (np.where(late, self._stage2[0], self.eta_a), np.where(late, self._stage2[1], self.stage1_eta_w))
        return self._mixed[j]

    def held(self) -> "Schedule":
        """The same trials with their stage-I step sizes kept on all of [T1, T] (no switch at T1)."""
        return Schedule(self.kinds, self.eta_a, self.eta_w, self.eta, self.stage1_iterations, True)

    def take(self, index: np.ndarray) -> "Schedule":
        """The schedule of a subset of trials."""
        t1 = self.stage1_iterations
        return Schedule(self.kinds[index], self.eta_a[index], self.eta_w[index], self.eta[index],
                        t1 if isinstance(t1, (int, np.integer)) else t1[index], self.hold[index])

    @staticmethod
    def stack(schedules: "list[Schedule]") -> "Schedule":
        """One schedule for the concatenated trials of several; T1 stays one number when they share it, else
        it becomes one per trial (the rows switch to stage II each at its own T1)."""
        lengths = [s.stage1_iterations for s in schedules]
        same = all(isinstance(t, (int, np.integer)) for t in lengths) and len(set(lengths)) == 1
        t1 = lengths[0] if same else np.concatenate([np.broadcast_to(t, s.eta_a.shape) for t, s in zip(lengths, schedules)])
        return Schedule(
            np.concatenate([s.kinds for s in schedules]),
            *(np.concatenate([getattr(s, name) for s in schedules]) for name in ("eta_a", "eta_w", "eta")),
            t1,
            np.concatenate([s.hold for s in schedules]),
        )


@dataclass
class Criteria:
    """How a run's final state is classified (docs/train.md; every threshold is an option: --phi-tol, --a-tol,
    --spurious-tol).

    global:    φ_T < phi_tol and ‖a_T − a*‖ ≤ a_tol · ‖a*‖;
    spurious:  φ_T > π − spurious_tol (v has gone to the far side, toward −v*);
    undecided: neither; diverged: a non-finite number appeared.
    """

    phi_tol: float
    a_tol: float
    spurious_tol: float

    def classify(self, phi: np.ndarray, a_err_rel: np.ndarray, finite: np.ndarray) -> np.ndarray:
        """Outcome names, one per trial."""
        out = np.full(phi.shape, "undecided", dtype=object)
        out[(phi < self.phi_tol) & (a_err_rel <= self.a_tol)] = "global"
        out[phi > math.pi - self.spurious_tol] = "spurious"
        out[~finite] = "diverged"
        return out


def gd_step(
    v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, eta_a: np.ndarray, eta_w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One step of GD with normalization (Liu et al. 2019), simultaneous in (w, a), for every row."""
    grad_v, grad_a = tl.gradients(v, a, v_star, a_star)
    u = v - eta_w[:, None] * grad_v
    v_new = u / np.linalg.norm(u, axis=-1, keepdims=True)
    return v_new, a - eta_a[:, None] * grad_a


STATES = {"vector": VectorState, "plane": PlaneState}


@dataclass
class GDResult:
    """Final state, outcomes and (optionally) a trace of a batched GD run."""

    v: np.ndarray
    a: np.ndarray
    outcome: np.ndarray
    final: dict[str, np.ndarray]
    iterations: np.ndarray  # iterations each trial actually ran (< total when stopped early)
    trace_iterations: list[int] = field(default_factory=list)
    trace: dict[str, list[np.ndarray]] = field(default_factory=dict)
    snapshot: tuple[np.ndarray, np.ndarray] | None = None  # (v, a) of every trial at `snapshot_at`


def trace_points(iterations: int, every: int | None, stage1: int = 0, records: int = 24) -> list[int]:
    """Iterations at which to record a trace: every `every` iterations, or (None) about `records`
    log-spaced points plus the end of stage I, so both the phase transition and convergence show."""
    if every:
        return sorted(set(range(0, iterations + 1, every)) | {iterations})
    points = np.unique(np.round(np.geomspace(1, max(iterations, 1), records)).astype(int))
    extra = {0, iterations} | ({stage1} if 0 < stage1 < iterations else set())
    return sorted(set(points.tolist()) | extra)


def window_points(stage1: int, steps: int, records: int = 50, every: int = 100) -> list[int]:
    """Records for the Theorem-1 check of a run without a user trace: T1, then about `records` points up to
    T on multiples of `every` (so the driver's periodic checks still do the recording), and T."""
    if stage1 > steps:
        return []
    gap = every * max(1, math.ceil((steps - stage1) / (records * every)))
    start = (stage1 // gap + 1) * gap
    return sorted({stage1, steps, *range(start, steps + 1, gap)})


@dataclass
class Batch:
    """What `descend` carries for `run_gd`: the state of every trial, the working state and schedule of the
    trials still active (compacted when some finish), and per trial the steps run and finiteness."""

    state: Any  # VectorState | PlaneState (or any state with their interface)
    work: Any
    sched: Schedule
    active: np.ndarray
    ran: np.ndarray
    finite: np.ndarray

    def step(self, t: int) -> "Batch":
        eta_a, eta_w = self.sched.at(t)
        self.work.step(eta_a, eta_w)
        return self

    def sync(self) -> None:
        """Copy the active rows back into the full state."""
        if self.work is not self.state:
            self.state.put(self.active, self.work)


@dataclass
class Run:
    """One batched GD run for `run_groups`: the arguments of `run_gd` that belong to a run (docs there)."""

    v0: np.ndarray
    a0: np.ndarray
    v_star: np.ndarray
    a_star: np.ndarray
    schedule: Schedule
    iterations: int
    trace_points: Sequence[int] = ()
    stop_when_global: bool = False
    representation: str | Callable[..., Any] = "plane"
    snapshot_at: int | None = None

    def fuse_key(self) -> Any:
        """Runs with equal keys share one state array: plane runs all; vector runs of one (p, k); runs of a
        factory with a ``fuse_group`` (noise.py's FilterNoisyState, whose step has nothing of k's size) of one
        (group, p); others alone."""
        if self.representation == "plane":
            return "plane"
        if self.representation == "vector":
            return ("vector", self.v0.shape[1], self.a0.shape[1])
        group = getattr(self.representation, "fuse_group", None)  # a factory whose states stack (noise.py)
        if group is not None:
            return (group, self.v0.shape[1])
        return id(self)


def run_gd(
    v0: np.ndarray,
    a0: np.ndarray,
    v_star: np.ndarray,
    a_star: np.ndarray,
    schedule: Schedule,
    iterations: int,
    criteria: Criteria,
    *,
    trace_points: Sequence[int] = (),
    stop_when_global: bool = False,
    check_every: int = 100,
    representation: str | Callable[..., Any] = "plane",
    progress: Callable[[int, int], None] | None = None,
    snapshot_at: int | None = None,
) -> GDResult:
    """Batched GD with normalization (Liu et al. 2019) from (v0, a0), every trial (row) at once.

    The loop is `descent.descend`. The trace holds the statistics of every trial at the iterations in
    `trace_points`. Diverged trials (a non-finite state) are frozen and reported as ``diverged``. With
    `stop_when_global`, trials meeting the global criterion are frozen too (checked every `check_every`
    iterations) and the active rows are compacted, so finished trials cost nothing. Every row evolves
    exactly as it would alone. `representation` is ``plane`` (exact reduced coordinates, fast), ``vector``
    (the reference) or a state class with their interface. `snapshot_at`, one of `trace_points` (so the
    run checks exactly where it would without it): (v, a) of every trial there, in `GDResult.snapshot`
    (a trial frozen earlier gives its frozen state).
    """
    run = Run(v0, a0, v_star, a_star, schedule, iterations, trace_points, stop_when_global, representation, snapshot_at)
    return run_groups([run], criteria, check_every=check_every, progress=progress)[0]


def run_groups(runs: Sequence[Run], criteria: Criteria, *, check_every: int = 100,
               progress: Callable[[int, int], None] | None = None) -> list[GDResult]:
    """Several `run_gd` runs (e.g. the cells of a sweep) as few programs: runs whose states stack (`Run.fuse_key`)
    are one state array and one loop, so the per-step call overhead is paid once for all of them. Each run
    keeps its own schedule (its own T1), length, trace points, early stops and snapshot, and every row is
    checked, frozen and recorded exactly when it would be in its own `run_gd`: the results equal those of
    separate runs bit for bit. `progress(done, total)` counts iterations over the programs."""
    for run in runs:
        if run.snapshot_at is not None and run.snapshot_at not in set(int(t) for t in run.trace_points):
            raise ValueError("snapshot_at must be one of the trace points")
    sets: dict[Any, list[int]] = {}
    for i, run in enumerate(runs):
        sets.setdefault(run.fuse_key(), []).append(i)
    lengths = [max(runs[i].iterations for i in members) for members in sets.values()]
    results: list[Any] = [None] * len(runs)
    for j, members in enumerate(sets.values()):
        before = sum(lengths[:j])
        tick = None if progress is None else (lambda done, total, b=before: progress(b + done, sum(lengths)))
        for i, result in zip(members, _run_fused([runs[i] for i in members], criteria, check_every, tick)):
            results[i] = result
    return results


def _make_state(run: Run) -> Any:
    make = STATES[run.representation] if isinstance(run.representation, str) else run.representation
    return make(run.v0, run.a0, run.v_star, run.a_star)


class _Fused:
    """The bookkeeping of `_run_fused`: which run each row belongs to, when each run checks, its records."""

    def __init__(self, runs: Sequence[Run], check_every: int) -> None:
        self.runs, self.check_every = runs, check_every
        self.sizes = [run.v0.shape[0] for run in runs]
        self.starts = np.cumsum([0, *self.sizes])
        self.group = np.repeat(np.arange(len(runs)), self.sizes)
        self.ends = np.array([run.iterations for run in runs], dtype=int)
        self.wanted = [set(int(t) for t in run.trace_points) for run in runs]
        self.stops = np.array([run.stop_when_global for run in runs], dtype=bool)
        self.alive = np.ones(len(runs), dtype=bool)  # a run is over once all its rows are frozen or at its end
        self.special: dict[int, list[int]] = {}  # iteration -> runs that check there besides the periodic checks
        for g, run in enumerate(runs):
            for t in sorted(self.wanted[g] | {run.iterations}):
                if 0 < t <= run.iterations:
                    self.special.setdefault(t, []).append(g)
        self.traces: list[tuple[list[int], dict[str, list[np.ndarray]]]] = [([], {}) for _ in runs]
        self.snapshots: list[Any] = [None] * len(runs)

    def every(self) -> int:
        return 1 if any(t % self.check_every for t in self.special) else self.check_every

    def due(self, done: int) -> np.ndarray:
        """Per run: does it check after iteration `done`."""
        due = np.zeros(len(self.runs), dtype=bool)
        if done % self.check_every == 0:
            due |= done <= self.ends
        due[self.special.get(done, [])] = True
        return due & self.alive

    def record(self, g: int, state: Any, done: int) -> None:
        rows = slice(self.starts[g], self.starts[g + 1])
        stats = state.statistics() if len(self.runs) == 1 else state.take(rows).statistics()
        iterations, trace = self.traces[g]
        iterations.append(done)
        for key, value in stats.items():
            trace.setdefault(key, []).append(value)


def _parts(state: Any, count: int) -> list[Any]:
    return [state] if count == 1 else state.split()


def _first_batch(state: Any, schedule: Schedule, ends: np.ndarray) -> Batch:
    """Every row active, but those of runs of 0 iterations (beside longer ones): they never step."""
    batch = Batch(state, state, schedule, np.arange(ends.size), ends.copy(), np.ones(ends.size, dtype=bool))
    if not ends.all() and ends.any():
        batch.active = np.flatnonzero(ends > 0)
        batch.work, batch.sched = state.take(batch.active), schedule.take(batch.active)
    return batch


def _run_fused(runs: Sequence[Run], criteria: Criteria, check_every: int,
               progress: Callable[[int, int], None] | None) -> list[GDResult]:
    """`run_groups` for runs that share one state array (rows in run order)."""
    f = _Fused(runs, check_every)
    states = [_make_state(run) for run in runs]
    state = states[0] if len(runs) == 1 else type(states[0]).concat(states)
    n, total = int(f.starts[-1]), int(f.ends.max(initial=0))
    schedule = Schedule.stack([run.schedule for run in runs]) if len(runs) > 1 else runs[0].schedule
    batch = _first_batch(state, schedule, np.repeat(f.ends, f.sizes))

    def check(b: Batch, done: int) -> object:
        if done % check_every and done not in f.special:
            return None
        due = f.due(done)
        if not due.any():
            return None
        rows_due = due[f.group[b.active]]
        ok = b.work.finite()
        keep = ok | ~rows_due
        if (due & f.stops).any():
            stats = b.work.statistics()
            hit = (stats["phi"] < criteria.phi_tol) & (stats["a_err_rel"] <= criteria.a_tol)
            keep &= ~(hit & (due & f.stops)[f.group[b.active]])
        b.sync()
        b.finite[b.active[~ok & rows_due]] = False
        b.ran[b.active[~keep]] = done
        keep &= ~(due & (f.ends == done))[f.group[b.active]]  # runs at their last iteration: their rows stop
        if not keep.all():
            b.active = b.active[keep]
            b.work, b.sched = state.take(b.active), schedule.take(b.active)
        snapping = [g for g in np.flatnonzero(due) if runs[g].snapshot_at == done]
        parts = _parts(state, len(runs)) if snapping else []
        for g in np.flatnonzero(due):
            if done in f.wanted[g]:
                f.record(g, state, done)
            if g in snapping:
                f.snapshots[g] = parts[g].vectors()
        f.alive &= ~(f.ends == done) & (np.bincount(f.group[b.active], minlength=len(runs)) > 0)
        if progress is not None:
            progress(done, total)
        return STOP if not f.alive.any() else None

    for g, run in enumerate(runs):
        if 0 in f.wanted[g]:
            f.record(g, state, 0)
        if run.snapshot_at == 0:
            f.snapshots[g] = _parts(state, len(runs))[g].vectors()
    batch, _ = descend(Batch.step, batch, total, callback=check, every=f.every())
    batch.sync()
    final = state.statistics()
    finite = batch.finite & np.isfinite(final["loss"])
    outcome = criteria.classify(final["phi"], final["a_err_rel"], finite)
    results = []
    for g, part in enumerate(_parts(state, len(runs))):
        rows = slice(f.starts[g], f.starts[g + 1])
        v, a = part.vectors()
        iterations, trace = f.traces[g]
        results.append(GDResult(v, a, outcome[rows], {key: value[rows] for key, value in final.items()}, batch.ran[rows],
                                iterations, trace, f.snapshots[g]))
    return results
