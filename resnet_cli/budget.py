"""What a run will cost, known before it starts: memory of its largest arrays and a time estimate — the one
home of work estimates (every experiment's `cost()` calls one of the functions below with its sizes as
explicit arguments; nothing here reads a settings object).

Why: sizes that cannot fit used to end in a MemoryError traceback, some only after allocating 8 GB; sizes
that fit but run for hours or years gave no warning, or a wrong one. `check(cost)` refuses arrays larger
than the available memory (`resources.check_memory`, the flags in the message) and runs longer than
`REFUSE_SECONDS`, before anything is allocated; the command shell prints `announcement(cost)` on stderr
when the estimate exceeds `ANNOUNCE_SECONDS` (``--quiet`` hides it).

The time model is work units × seconds-per-unit constants (below), CPU seconds on one core with one BLAS
thread, plus start-up, worker processes and the figure; the wall estimate divides the work by the
processes that run cells. The constants are calibrated on every README tour command and every preset by
tests/bench/calibrate_estimates.py, which writes the table of estimate against measured CPU time in
docs/estimates.md (every ratio within 3×). Units count every step a run may take (runs that stop early,
e.g. when every trial reached the optimum, take less), so an estimate is "about", never a promise.
Nothing here prints.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Mapping

from resnet_cli.config import flag_of
from resnet_cli.data import dataset_shape
from resnet_cli.errors import ConfigError
from resnet_cli.resources import check_memory, format_duration

#: Announce a run on stderr when its estimate exceeds this many seconds.
ANNOUNCE_SECONDS = 180.0
#: Refuse a run whose estimate exceeds this (30 days): a typo such as --steps 1e13, not an experiment.
REFUSE_SECONDS = 30 * 86400.0

# --- seconds per work unit: CPU seconds on one core with one BLAS thread, fitted on the README tour and the
# presets (tests/bench/calibrate_estimates.py; the table and the load it ran under: docs/estimates.md) ------
#: Every command: interpreter start-up, imports, rendering the result.
STARTUP_SECONDS = 0.5
#: Every spawned worker process of a sweep (`--jobs` > 1): its interpreter and imports.
WORKER_SECONDS = 0.35
#: ... and its memory: interpreter, numpy and the package (about 75 MB resident each, measured with 6 workers).
WORKER_BYTES = 80e6
#: `landscape two-layer --stride s < p`, at each stride: following the spurious point and classifying every
#: point found (probes included), and Newton after each search start's GD (`stride_landscape.search`):
#: `--stride 1 --steps 10` at p = 8, k = 4 took 8.8 CPU-s with 32 starts and 12.8 with 160 (2026-12-08).
STRIDE_SECONDS = 0.8
STRIDE_START_SECONDS = 0.004
#: `train two-layer --trace-every`: each record of the trace (its statistics, and the theorems' checks on
#: them) and its memory per trial: 40000 records of 10 trials took 10 CPU-s and 90 MB more (2026-12-08).
TRACE_RECORD_SECONDS = 2.5e-4
TRACE_RECORD_BYTES = 230.0
#: --plot: importing matplotlib and drawing one figure.
PLOT_SECONDS = 1.0
#: Two-layer GD (Liu et al.): one step of one batched numpy program, whatever its rows (Python and numpy call
#: overhead, ~35 calls). It differs most between machines: 1.45e-5 s where it was first measured (one trial,
#: before such runs stepped row by row), 8e-5 s on an AMD EPYC without AVX-512 (`train two-layer --trials 200
#: --k 16`, 2026-12-08); the geometric middle keeps both within 2.3× (docs/estimates.md, both tables).
TWO_LAYER_PROGRAM_STEP = 3.5e-5
#: ... a program of at most `models.two_layer.gd_states.FEW_ROWS` trials steps row by row in Python floats
#: instead: per step, plus per row and step (`train two-layer --trials 1, 8, 16`, two programs of 20,241
#: steps: 0.34, 1.3 and 2.7 CPU-s after start-up on the AMD EPYC, 2026-12-08).
TWO_LAYER_ROWS_STEP = 5e-6
TWO_LAYER_ROWS_ROW_STEP = 3.7e-6
#: ... the same with sampled gradients (per-step minibatch indices, the SampleState bookkeeping): 4.3e-5 s.
TWO_LAYER_SAMPLE_PROGRAM_STEP = 4.5e-5
#: ... plus, with sampled gradients, per trial and step (each trial's own Generator draws its minibatch).
TWO_LAYER_SAMPLE_ROW_STEP = 1.0e-6
#: ... plus per multiply-add of `two_layer_work` (a population step of one trial in the plane coordinates
#: counts 40, whatever p and k: 2.7e-8 s measured at k = 4 and k = 100 alike; a sampled step B·k·p·4,
#: measured 3.0e-9 s per B·k·p).
MULTIPLY_ADD = 6.5e-10
#: A Gaussian draw, in multiply-adds (online SGD draws B·k·p inputs per trial and step: 9.5e-9 s each).
DRAW_MULTIPLY_ADDS = 16
#: Shortcut-network GD (Li et al.): per trial · learning rate · step · layer · d² · (d if linear, else samples).
#: depth-sweep final-loss, depth 32, 5 trials × 8 rates × 1000 steps (1.3e9 units): 1.7 s.
SHORTCUT_STEP = 1.3e-9
#: ... at least this many units per member and layer: below d = 8 the batched products of d × d matrices cost
#: their per-matrix overhead, not their flops (depth-sweep final-loss, depth 2, d = 2, 100 trials × 8 rates:
#: 0.94 ms a step, ~0.5 µs per member and layer; the flop term said 21 ns).
SHORTCUT_MIN_LAYER_UNITS = 370
#: ... plus, per tanh activation position (pre, mid, post), its evaluation and derivative on every sample, per
#: two layers (a 2-shortcut unit): --data gaussian --samples 5000 --steps 200 with tanh at pre, mid and post took
#: 10.5 CPU-s, at post only 5.9 s, against 3.0 s with ReLU at mid (whose cost the flop term above covers; 2026-12-08).
TANH_ELEMENT = 7e-8
#: ... plus the bookkeeping of one GD step of a cell (losses, gaps, gradient norms, divergence), whatever its
#: depth: depth 2, d = 2, one trial × 8 rates, 20,000 steps took 175 µs a step.
SHORTCUT_STEP_CALLS = 1.5e-4
#: ... plus the numpy calls of one layer in one GD step, whatever the batch and d: what a deep, narrow network
#: costs (train shortcut --depth 100000 --dim 2, 3 steps: 3.2 s; --depth 10000, 20 steps: 1.9 s; the flop term
#: above said 1e-3 s).
SHORTCUT_LAYER_CALLS = 1.0e-5
#: ... and of one layer in one Lanczos step (a Hessian-vector product of all probes): hessian --depth 20000
#: --dim 2 --spectrum slq --at trained (80 Lanczos steps) took 45 s, estimated 0.4 s without it.
SHORTCUT_HVP_CALLS = 2.5e-5
#: `train shortcut --trace-every`: each trace record (GD runs in segments between records; the record's
#: statistics and its JSON): --steps 5000 --trace-every 1 took 3.9 CPU-s and 8 MB more than without (4.6 s and
#: 21 MB with --json; 2026-12-08).
SHORTCUT_TRACE_RECORD_SECONDS = 8e-4
SHORTCUT_TRACE_RECORD_BYTES = 4.5e3
#: ... and its full reorthogonalisation (twice per step against the basis so far): per steps² × parameters ×
#: probes: train shortcut --spectrum slq --lanczos-steps 300 and 1000 (800 parameters, 8 probes) took 0.65 and
#: 5.3 s a spectrum (2026-12-08).
LANCZOS_REORTH = 9e-10
#: Exact Hessian spectrum: per (parameters)³ (assembly + eigvalsh, one BLAS thread): 0.19 s CPU at 1600
#: parameters, 2.5 s at 3200.
EIGVALSH = 6.0e-11
#: ... plus, with activations (ReLU, tanh), forming it: forward tangents and a second-order backward pass,
#: per sample × layer² × d⁴ (`models.shortcut.curvature.nonlinear_hessian`): hessian --act-mid relu --init small
#: at depth 4, 8 and 16 (digits, d = 10) took 0.09, 0.47 and 2.1 s a Hessian (2026-12-08, AMD EPYC).
NONLINEAR_HESSIAN = 4.3e-10
#: Sylvester inertia brackets (`hessian --spectrum inertia`): per (parameters)³. hessian --shortcut 1
#: --depth 104 --spectrum inertia (10,400 parameters, 26 LDLᵀ factorisations of 8.6 s): 225 CPU-s; up to
#: ~60 factorisations where the Ritz values and the SLQ hint start far off (resnet_cli/eigen.py).
INERTIA = 4.0e-10
#: Exact statistics by counts on the layer-Toeplitz form (resnet_cli/inertia.py, `LayerToeplitz`): per layer ×
#: (d²)³, 40-60 counts of one block recursion each: 1.15 s at depth 64 and 2.15 s at depth 128, d = 10
#: (2026-12-07, AMD EPYC, one thread; docs/hessian.md, "Exact by counts").
COUNTS = 1.7e-8
#: `hessian` at w = 0: Theorem 1's entry check, max |H − H_pred| column by column (`_entry_deviation`), per
#: entry compared: hessian --shortcut 2 --depth 128 --init zero (12,800 parameters) spent 2.6 s in it (2026-12-08).
THEOREM1_ENTRY = 1.6e-8
#: Bytes of an exact Hessian spectrum per (parameters)²: the matrix, its copy and eigvalsh's workspace
#: (peak RSS 1.17 GB at 6000 parameters).
EIGVALSH_BYTES = 4 * 8
#: Deep ResNet / FC ReLU nets (Yun et al.), one risk-and-gradient evaluation: per trial · parameter · sample
#: (the Clarke direction included). landscape deep-resnet --finder gd --data gaussian --dim 8 --hidden 8
#: --blocks 3 --samples 200 (417 params), 20 trials × 2000 steps (3.3e9 units): 47 s.
DEEP_RESNET_STEP = 1.4e-8
#: ... plus per GD step and block, whatever the sizes (Python and numpy call overhead): yun-example1,
#: 20 trials × 20000 steps: 5 s.
DEEP_RESNET_STEP_OVERHEAD = 2.5e-4
#: ... plus per trial and block of a GD step, and per trial, block and sample where that exceeds the flop term
#: above (small nets: the calls per sample and block, not their flops): --data yun-example2 --blocks 2 --trials 10
#: --finder gd (3 samples, 20,000 steps) took 18.1 CPU-s, estimated 10.6 before; --data gaussian --samples 32
#: --dim 2 --hidden 2 --blocks 2 --trials 10 --finder gd --steps 5000: 15.6 against 3.5 (2026-12-08).
DEEP_RESNET_TRIAL_STEP = 7e-6
DEEP_RESNET_SAMPLE_STEP = 3.6e-6
#: ... plus per Newton/LM iteration, start and block (the per-start Python of the finder and of the analysis
#: of its point), counting every --newton-steps iteration: the yun2019 presets (tiny networks, 50 starts,
#: 300 iterations) take 0.24 s per network and block.
DEEP_RESNET_NEWTON_OVERHEAD = 1.6e-5
#: Float arrays alive at once per row of a batched two-layer GD program (state, schedule, gradients, temps).
TWO_LAYER_ARRAYS = 16


@dataclass(frozen=True)
class Cost:
    """The largest arrays a run allocates (bytes), its estimated time on one core (seconds) and the flags
    that set them (named in a refusal), the processes sharing the work, and the work counts behind the
    time where a command reports them (`two_layer_work`)."""

    nbytes: float
    seconds: float
    flags: str
    workers: int = 1
    work: Mapping[str, float] = field(default_factory=dict)

    @property
    def wall_seconds(self) -> float:
        """The work divided among its processes, at most one per CPU of this machine: --jobs beyond the
        CPU count share them (a 40-day run with --jobs 4 on 2 CPUs took 20 days, not the 10 estimated)."""
        return self.seconds / max(1, min(self.workers, os.cpu_count() or 1))


def flags(**values: object) -> str:
    """"--trials 1000 --k 4,9": the options that size a run, for messages."""
    parts = []
    for name, value in values.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value) if len(value) <= 6 else f"{value[0]},…,{value[-1]}"
        parts.append(f"{flag_of(name)} {value}")
    return " ".join(parts)


def check(cost: Cost) -> None:
    """Refuse, before any allocation, arrays that do not fit and runs beyond REFUSE_SECONDS (ConfigError)."""
    check_memory(cost.nbytes + (WORKER_BYTES * cost.workers if cost.workers > 1 else 0.0), cost.flags)
    if cost.wall_seconds > REFUSE_SECONDS:
        need = format_duration(cost.wall_seconds)
        raise ConfigError(f"{cost.flags}: this run would need {'' if need.startswith('more') else 'about '}{need} "
                          f"(estimate), more than {format_duration(REFUSE_SECONDS)}; reduce the sizes")


def cpu_seconds(cost: Cost, plot: bool = False) -> float:
    """CPU seconds of the whole command: start-up, worker processes, the work (every process), the figure."""
    spawned = cost.workers if cost.workers > 1 else 0
    return STARTUP_SECONDS + spawned * WORKER_SECONDS + cost.seconds + (PLOT_SECONDS if plot else 0.0)


def wall_seconds(cost: Cost, plot: bool = False) -> float:
    """Wall seconds of the whole command on an idle machine: the work divided among its processes."""
    spawned = WORKER_SECONDS if cost.workers > 1 else 0.0
    return STARTUP_SECONDS + spawned + cost.wall_seconds + (PLOT_SECONDS if plot else 0.0)


def announcement(cost: Cost, plot: bool = False) -> str | None:
    """The one stderr line announcing a long run, or None below ANNOUNCE_SECONDS."""
    seconds = wall_seconds(cost, plot)
    if seconds <= ANNOUNCE_SECONDS:
        return None
    return f"this run needs about {format_duration(seconds)} (estimate); --quiet hides this"


def two_layer_work(ps: list[int], ks: list[int], rows: int, steps: Mapping[int, int], *, trials: int | None = None,
                   per_step: int = 0, samples: int | None = None, online: bool = False,
                   stride: int | None = None) -> dict[str, float]:
    """What batched two-layer GD costs, every option that multiplies work: one program of `rows` trials
    (methods × trials, or basin cells) per (p, k), `steps[k]` steps each; `trials` of them draw a training
    set of `samples` inputs (default: every row); `per_step` inputs read per step and trial (0: the
    population loss; B or N with samples); `stride` None = p (non-overlapping patches).

    program_steps = Σ over (p, k) of steps; trial_steps = Σ rows × steps; trial_sample_steps = the same
    weighted by the inputs one step reads (B, N, or 1 for the population loss); multiply_adds ≈
    trial_sample_steps × k·p × 4 (forward pre-activations, output, two gradient contractions) for sample
    runs, plus the training set's draw and labels (trials × N × k·p) and online inputs (DRAW_MULTIPLY_ADDS
    per drawn number); population runs cost O(1) per trial-step in the plane coordinates (counted as 40
    multiply-adds) and O(k·p·q) with overlapping patches (vector state, q = `models.two_layer.samples.band`)."""
    from resnet_cli.models.two_layer.samples import band

    trials = rows if trials is None else trials
    out = {"program_steps": 0.0, "trial_steps": 0.0, "trial_sample_steps": 0.0, "multiply_adds": 0.0}
    for p in ps:
        for k in ks:
            n = float(steps[k])
            runs = float(rows) * n
            out["program_steps"] += n
            out["trial_steps"] += runs
            out["trial_sample_steps"] += runs * max(per_step, 1)
            if per_step:
                out["multiply_adds"] += runs * per_step * k * p * (4 + (DRAW_MULTIPLY_ADDS if online else 0))
                if samples is not None:
                    out["multiply_adds"] += float(trials) * samples * k * p
            elif stride is not None and stride < p:
                out["multiply_adds"] += runs * k * p * (2 * band(p, k, stride) + 1) * 4
            else:
                out["multiply_adds"] += runs * 40
    return out


def two_layer(ps: list[int], ks: list[int], rows: int, steps: Mapping[int, int], *, trials: int | None = None,
              per_step: int = 0, samples: int | None = None, online: bool = False, stride: int | None = None,
              workers: int = 1, sized: str = "", together: bool = False, programs: int = 1) -> Cost:
    """Batched two-layer GD (the arguments of `two_layer_work`): memory of the largest (p, k) program (times
    the processes running one each; `together`: every cell's rows at once, as success-rate's one batch of
    the grid holds them) and the time of all of them, an upper bound (trials that stop early, at the
    optimum, cost less). `programs`: the rows are that many programs of rows/programs trials, stepped one
    after another (`train two-layer`'s run and Theorem 1's own steps). Per row: the state and its
    temporaries (TWO_LAYER_ARRAYS × (p + k) floats), and with sampled gradients its training set
    (samples × p × k floats) and per-step inputs."""
    from resnet_cli.models.two_layer.gd_states import FEW_ROWS

    cells = len(ps) * len(ks)
    p_max, k_max = max(ps), max(ks)
    row_bytes = 8.0 * (TWO_LAYER_ARRAYS * (p_max + k_max) + ((samples or 0) + per_step) * p_max * k_max)
    nbytes = rows * row_bytes * (cells if together else min(max(1, workers), cells))
    work = two_layer_work(ps, ks, rows, steps, trials=trials, per_step=per_step, samples=samples, online=online,
                          stride=stride)
    vector = bool(per_step) or (stride is not None and stride < min(ps))
    program_steps = work["program_steps"] * programs
    if not vector and rows * (cells if together else 1) <= FEW_ROWS * programs:  # `PlaneState._step_rows`
        seconds = program_steps * TWO_LAYER_ROWS_STEP + work["trial_steps"] * TWO_LAYER_ROWS_ROW_STEP
    else:
        seconds = (program_steps * (TWO_LAYER_SAMPLE_PROGRAM_STEP if vector else TWO_LAYER_PROGRAM_STEP)
                   + (work["trial_steps"] * TWO_LAYER_SAMPLE_ROW_STEP if per_step else 0.0)
                   + work["multiply_adds"] * MULTIPLY_ADD)
    return Cost(nbytes, seconds, sized, workers=min(max(1, workers), cells), work=work)


def shortcut(data: str, samples: int | None, dim: int | None, depths: list[int], *, trials: int, rates: int = 1,
             steps: int = 0, linear: bool = True, spectra: int = 0, spectrum: str = "exact",
             exact_limit: float = float("inf"), lanczos: tuple[int, int] = (80, 8), workers: int = 1,
             sized: str = "", exact_sizes: list[int] | None = None, counted: list[bool] | None = None,
             tanh_positions: int = 0) -> Cost:
    """n-shortcut networks of `depths` layers of d × d: the data, GD on trials × rates weight sets, and
    `spectra` Hessian spectra per depth (exact: the dense matrix; slq: Lanczos vectors; inertia: the
    dense matrix and LDLᵀ factorisations). `exact_sizes` (one per depth): the largest block an exact
    spectrum solves where the Hessian's block structure is known (resnet_cli/eigen.py), else parameters;
    `counted` (one per depth): the exact statistics come from counts on the layer-Toeplitz form (d² blocks,
    Lanczos vectors in memory)."""
    m, d, _ = dataset_shape(data, samples, dim)
    data_bytes = 8.0 * (3 * m * d + 3 * d * d)  # X, Y, a centred copy; second moments
    per_layer = d * d * (d if linear else m)  # one layer of one step: moments (linear) or the samples (ReLU)
    largest = seconds = 0.0
    for i, L in enumerate(depths):
        n = float(L) * d * d
        if exact_sizes is not None:
            n_solved = float(exact_sizes[i])  # known blocks: one of them in memory, solved (or factorised) once
        else:
            n_solved = n
        gd = (8.0 * 6 * trials * rates * n + (0.0 if linear else 8.0 * 2 * trials * rates * m * d * L)
              + 8.0 * 3 * (steps + 1) * trials * rates)  # GD's per-step records: loss, gap and gradient norm
        exact = spectrum in ("exact", "inertia") or (spectrum == "auto" and n_solved <= exact_limit)
        by_counts = bool(counted and counted[i]) and exact
        # Lanczos runs every probe at once: its basis (probes, steps, n) and the batched Hessian-vector
        # products' activations (probes × samples per layer, ReLU nets)
        krylov = 8.0 * n * (lanczos[0] + 4) * 2 * lanczos[1] + (0.0 if linear else 8.0 * 4 * lanczos[1] * m * d * L)
        if not spectra:
            hess = 0.0
        elif by_counts:
            hess = krylov + 8.0 * 8 * d**4
        elif exact:
            hess = EIGVALSH_BYTES * n_solved**2 + (0.0 if linear else 8.0 * m * d * n)
        else:
            hess = krylov
        largest = max(largest, gd, hess)
        seconds += (trials * rates * steps * L * max(per_layer, SHORTCUT_MIN_LAYER_UNITS) * SHORTCUT_STEP
                    + steps * (L * SHORTCUT_LAYER_CALLS + SHORTCUT_STEP_CALLS)
                    + trials * rates * steps * L / 2 * m * d * tanh_positions * TANH_ELEMENT)
        if spectra:
            per = (COUNTS * L * d**6 if by_counts else INERTIA * n_solved**3 if spectrum == "inertia"
                   else EIGVALSH * n_solved**3)
            if not linear and not by_counts:
                per += NONLINEAR_HESSIAN * m * L**2 * d**4
            slq = (lanczos[0] * L * (3 * lanczos[1] * per_layer * SHORTCUT_STEP + SHORTCUT_HVP_CALLS)
                   + LANCZOS_REORTH * lanczos[0] ** 2 * n * lanczos[1])
            if spectrum == "inertia":  # its brackets start from Lanczos' Ritz values
                per += slq
            seconds += spectra * (per if exact else slq)
    cells = max(1, min(max(1, workers), len(depths)))
    return Cost(data_bytes + largest * cells, seconds, sized, workers=cells)


def deep_resnet(nets: list[tuple[int, int, int]], samples: int, *, trials: int, gd_steps: int, newton_steps: int,
                pieces: int = 1, sized: str = "", workers: int = 1) -> Cost:
    """Critical points of deep ResNets / FC ReLU nets, one (params P, blocks L, units U) per network and depth
    (U: the activation rows one sample carries through the net, every layer's z, a and stream summed).

    Memory (the networks are cells: the largest, times the `workers` that run cells at once): the Newton/LM finder (``newton_steps`` > 0)
    evaluates all `trials` starts at once — and the analysis of a point at a kink up to `pieces` smooth pieces
    at once — each with a P² Hessian (4 copies: the blocks, the packed matrix, its transpose, the symmetrised
    sum) and P × U × samples tangents (twice: forward and backward); gradient descent (``gd_steps`` > 0)
    keeps trials × U × samples activations (and their gradients), then one start's Hessian and tangents at a time.
    Time: DEEP_RESNET_STEP per trial · P · sample for each gradient (GD steps), P of them per Hessian (each
    Newton iteration, every start assumed to take all of them: an upper bound), plus the per-step overhead
    (GD: per block; Newton/LM: per start and block, DEEP_RESNET_NEWTON_OVERHEAD).
    """
    largest = seconds = 0.0
    for P, L, units in nets:
        tangents = 2 * 8.0 * P * units * samples
        hessians = 4 * 8.0 * P * P
        need = 0.0
        if newton_steps:
            need = max(trials, pieces) * (hessians + tangents)
            seconds += trials * newton_steps * ((P + 1) * P * samples * DEEP_RESNET_STEP + EIGVALSH * P**3
                                                + L * DEEP_RESNET_NEWTON_OVERHEAD)
        if gd_steps:
            need = max(need, 2 * 8.0 * trials * (units * samples + 4 * P), hessians + tangents)
            per_sample = max(P * DEEP_RESNET_STEP, L * DEEP_RESNET_SAMPLE_STEP)
            seconds += gd_steps * (trials * (samples * per_sample + L * DEEP_RESNET_TRIAL_STEP)
                                   + L * DEEP_RESNET_STEP_OVERHEAD)
            if not newton_steps:  # the Hessian at every end point
                seconds += trials * P * P * samples * DEEP_RESNET_STEP
        largest = max(largest, need)
    cells = max(1, min(max(1, workers), len(nets)))
    return Cost(largest * cells, seconds, sized, workers=cells)


#: Deep linear residual nets (`landscape linear-resnet`), one LM iteration of one start (BLAS on one thread):
#: the eigendecompositions of its P × P Hessian (about two an iteration: 42 ms each at P = 480), per P³; forming
#: that Hessian, per P² (22 ms at P = 480); the per-iteration work of small sizes (call overhead).
LINEAR_RESNET_EIGH = 6.5e-10
LINEAR_RESNET_HESSIAN = 1.0e-7
LINEAR_RESNET_OVERHEAD = 1.2e-4
#: Iterations a start is assumed to take at P = 48 (23 on average at the defaults; --newton-steps is the cap),
#: growing as √(P/48): measured 2026-12-08, the defaults (80 starts, P = 48) 1.36 CPU-s, one start at L = 10
#: (P = 160) 0.26 s and at L = 30 (P = 480, 176 iterations) 17.3 s; the estimate: 1.35, 0.39 and 12 s.
LINEAR_RESNET_ITERATIONS = 40


def linear_resnet(dim: int, blocks: list[int], starts: int, newton_steps: int, sized: str = "") -> Cost:
    """Critical points of deep linear residual nets: all `starts` at once per depth L, P = L d² parameters.
    Memory: 6 float arrays of starts × P² (Hessians, their eigenvectors, the solver's copies) and the
    Jacobian of the product, starts × P × d² (twice). Time: per start and iteration, LINEAR_RESNET_EIGH·P³ +
    LINEAR_RESNET_HESSIAN·P² + LINEAR_RESNET_OVERHEAD, for min(newton_steps, LINEAR_RESNET_ITERATIONS·√(P/48))
    iterations."""
    largest = seconds = 0.0
    for L in blocks:
        P = L * dim * dim
        iterations = min(newton_steps, LINEAR_RESNET_ITERATIONS * math.sqrt(max(1.0, P / 48)))
        largest = max(largest, 8.0 * starts * (6 * P * P + 2 * P * dim * dim))
        seconds += starts * iterations * (LINEAR_RESNET_EIGH * P**3 + LINEAR_RESNET_HESSIAN * P**2
                                          + LINEAR_RESNET_OVERHEAD)
    return Cost(largest, seconds, sized)
