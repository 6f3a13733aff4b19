"""What a run will cost, known before it starts: memory of its largest arrays and a time estimate.

Why (issue 11 points 1-2): sizes that cannot fit used to end in a MemoryError traceback, some only after
allocating 8 GB; sizes that fit but run for hours gave no warning. Each experiment's settings have a
`cost()` giving a `Cost` from the sizes alone (no allocation); its `check()` calls `check(cost)`, which
refuses arrays larger than the available memory (`resources.check_memory`, the flags in the message) and
runs longer than `REFUSE_SECONDS`. The command shell prints `announcement(cost)` on stderr when the
estimate exceeds `ANNOUNCE_SECONDS` (``--quiet`` hides it).

The time model is work units × a seconds-per-unit constant measured on the development machine (one core
of a 2-core x86-64 VM, numpy with OpenBLAS on one thread; `make bench` machine) and divided by the
processes that run cells. The units are upper bounds (runs that stop early, e.g. when every trial reached
the optimum, take less), so an estimate is "about", never a promise; the constants are below.
Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from resnet_cli.data import dataset_shape
from resnet_cli.errors import ConfigError
from resnet_cli.resources import check_memory, format_duration

#: Announce a run on stderr when its estimate exceeds this many seconds.
ANNOUNCE_SECONDS = 180.0
#: Refuse a run whose estimate exceeds this (30 days): a typo such as --steps 1e13, not an experiment.
REFUSE_SECONDS = 30 * 86400.0

# --- seconds per work unit, measured (see each experiment's `cost()` for its unit) ------------------------
#: Two-layer GD (Liu et al.): per trial · step · (p + k + 8) (the 8: per-row work that does not grow with
#: p, k). success-rate defaults at --trials 100, --jobs 1: 7.9e9 units in 8.3 s (upper-bound units: trials
#: that reach the optimum stop early); --k 4 --trials 20000 --steps 2000000: 1.8e-9 s per (p + k) unit.
TWO_LAYER_STEP = 1.05e-9
#: Shortcut-network GD (Li et al.): per trial · learning rate · step · layer · d² · (d if linear, else samples).
#: depth-sweep final-loss, depth 32, 5 trials × 8 rates × 1000 steps (1.3e9 units): 1.7 s.
SHORTCUT_STEP = 1.3e-9
#: Exact Hessian spectrum: per (parameters)³ (assembly + eigvalsh). hessian --depth 60 (6000 params): 23 s;
#: depth 40 (4000): 4.3 s.
EIGVALSH = 1.0e-10
#: Sylvester inertia brackets (`hessian --spectrum inertia`): per (parameters)³, about 60 LDLᵀ
#: factorisations (LAPACK dsytrf, n³/3 flops each) for brackets of 1 % (resnet_cli/eigen.py).
INERTIA = 1.2e-9
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
#: Float arrays alive at once per row of a batched two-layer GD program (state, schedule, gradients, temps).
TWO_LAYER_ARRAYS = 16


@dataclass(frozen=True)
class Cost:
    """The largest arrays a run allocates (bytes), its estimated time on one core (seconds) and the flags
    that set them (named in a refusal), and the processes sharing the work."""

    nbytes: float
    seconds: float
    flags: str
    workers: int = 1

    @property
    def wall_seconds(self) -> float:
        return self.seconds / max(1, self.workers)


def flags(**values: object) -> str:
    """"--trials 1000 --k 4,9": the options that size a run, for messages."""
    parts = []
    for name, value in values.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(str(v) for v in value) if len(value) <= 6 else f"{value[0]},…,{value[-1]}"
        parts.append(f"--{name.replace('_', '-')} {value}")
    return " ".join(parts)


def check(cost: Cost) -> None:
    """Refuse, before any allocation, arrays that do not fit and runs beyond REFUSE_SECONDS (ConfigError)."""
    check_memory(cost.nbytes, cost.flags)
    if cost.wall_seconds > REFUSE_SECONDS:
        raise ConfigError(f"{cost.flags}: this run would need about {format_duration(cost.wall_seconds)} "
                          f"(estimate), more than {format_duration(REFUSE_SECONDS)}; reduce the sizes")


def announcement(cost: Cost) -> str | None:
    """The one stderr line announcing a long run, or None below ANNOUNCE_SECONDS."""
    if cost.wall_seconds <= ANNOUNCE_SECONDS:
        return None
    return f"this run needs about {format_duration(cost.wall_seconds)} (estimate); --quiet hides this"


def two_layer(settings: object, ps: list[int], ks: list[int], rows: int, *, workers: int = 1,
              sized: str = "") -> Cost:
    """Batched two-layer GD over `rows` (methods × trials, or basin cells) for every (p, k): memory of the
    largest (p, k) program (times the processes running one each) and the time of all of them.

    Per row: the state and its temporaries (TWO_LAYER_ARRAYS × (p + k) floats), and with sampled
    gradients its training set (samples × p × k floats) and per-step inputs."""
    per_step = getattr(settings, "per_step", lambda: 0)()
    samples = getattr(settings, "samples", None) or 0
    cells = len(ps) * len(ks)
    p_max, k_max = max(ps), max(ks)
    row_bytes = 8.0 * (TWO_LAYER_ARRAYS * (p_max + k_max) + (samples + per_step) * p_max * k_max)
    nbytes = rows * row_bytes * min(max(1, workers), cells)
    steps = {k: settings.total_steps(k) for k in ks}  # type: ignore[attr-defined]
    seconds = sum(rows * steps[k] * (p + k + 8 + per_step * p * k) * TWO_LAYER_STEP for p in ps for k in ks)
    return Cost(nbytes, seconds, sized, workers=min(max(1, workers), cells))


def shortcut(data: str, samples: int | None, dim: int | None, depths: list[int], *, trials: int, rates: int = 1,
             steps: int = 0, linear: bool = True, spectra: int = 0, spectrum: str = "exact",
             exact_limit: float = float("inf"), lanczos: tuple[int, int] = (80, 8), workers: int = 1,
             sized: str = "", exact_sizes: list[int] | None = None) -> Cost:
    """n-shortcut networks of `depths` layers of d × d: the data, GD on trials × rates weight sets, and
    `spectra` Hessian spectra per depth (exact: the dense matrix; slq: Lanczos vectors; inertia: the
    dense matrix and LDLᵀ factorisations). `exact_sizes` (one per depth): the largest block an exact
    spectrum solves where the Hessian's block structure is known (resnet_cli/eigen.py), else parameters."""
    m, d, _ = dataset_shape(data, samples, dim)
    data_bytes = 8.0 * (3 * m * d + 3 * d * d)  # X, Y, a centred copy; second moments
    per_layer = d * d * (d if linear else m)  # one layer of one step: moments (linear) or the samples (ReLU)
    largest = seconds = 0.0
    for i, L in enumerate(depths):
        n = float(L) * d * d
        if exact_sizes is not None and spectrum != "inertia":
            n_solved = float(exact_sizes[i])  # known blocks: one of them in memory, solved once
        else:
            n_solved = n
        gd = 8.0 * 6 * trials * rates * n + (0.0 if linear else 8.0 * 2 * trials * rates * m * d * L)
        exact = spectrum in ("exact", "inertia") or (spectrum == "auto" and n_solved <= exact_limit)
        if not spectra:
            hess = 0.0
        elif exact:
            hess = EIGVALSH_BYTES * n_solved**2 + (0.0 if linear else 8.0 * m * d * n)
        else:
            hess = 8.0 * n * (lanczos[0] + 4) * 2
        largest = max(largest, gd, hess)
        seconds += trials * rates * steps * L * per_layer * SHORTCUT_STEP
        if spectra:
            per = INERTIA * n**3 if spectrum == "inertia" else EIGVALSH * n_solved**3
            seconds += spectra * (per if exact else 3 * lanczos[0] * lanczos[1] * L * per_layer * SHORTCUT_STEP)
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
    Newton iteration, every start assumed to take all of them: an upper bound), plus the step overhead.
    """
    largest = seconds = 0.0
    for P, L, units in nets:
        tangents = 2 * 8.0 * P * units * samples
        hessians = 4 * 8.0 * P * P
        need = 0.0
        if newton_steps:
            need = max(trials, pieces) * (hessians + tangents)
            seconds += trials * newton_steps * (P + 1) * P * samples * DEEP_RESNET_STEP + trials * newton_steps * EIGVALSH * P**3
        if gd_steps:
            need = max(need, 2 * 8.0 * trials * (units * samples + 4 * P), hessians + tangents)
            seconds += gd_steps * (trials * P * samples * DEEP_RESNET_STEP + L * DEEP_RESNET_STEP_OVERHEAD)
            if not newton_steps:  # the Hessian at every end point
                seconds += trials * P * P * samples * DEEP_RESNET_STEP
        largest = max(largest, need)
    cells = max(1, min(max(1, workers), len(nets)))
    return Cost(largest * cells, seconds, sized, workers=cells)
