"""`depth-sweep`: one measurement across depths and network kinds — Li et al. (2017), Figures 5, 9 and 10.

Network kinds (§5 and Appendix B of the paper):

- ``2-shortcut``, ``1-shortcut``, ``3-shortcut``: n-shortcut networks with the "zero" initialisation of §4.1
  (exactly zero, the point of Theorem 1, for ``init-cond``; 0.01 × Xavier, the paper's "zero initialization
  with small random perturbations", for training — exact zero is a stationary point GD cannot leave);
- ``xavier``, ``orthogonal``: plain networks (no shortcut) with that initialisation; with ReLUs they sit
  where a 2-shortcut network has them (Appendix B).

Measures:

- ``init-cond`` (Figure 5): cond10 = |λ|max / |λ|(10th percentile) of the Hessian at the initial point, mean
  and standard deviation over trials; the exact spectrum (`eigvalsh`) up to a size threshold, stochastic
  Lanczos quadrature above it. Where every layer map is orthogonal (orthogonal plain networks, 1-shortcut
  networks at zero) the exact statistics come from inertia counts on the layer-Toeplitz form at any depth
  (`shortcut_problem.counts_route`), from `COUNTS_FROM` parameters on. A Hessian that is exactly zero (n ≥ 3 at zero: Theorem 1) is "degenerate".
- ``final-loss`` (Figures 9, 10): full-batch GD for `steps` steps over a grid of learning rates, all rates
  and trials of a (kind, depth) cell in one batched array program (`shortcut.gradient_descent`); per rate
  the mean final loss − L_min (linear networks) or final loss (ReLU in the mid positions, as the paper
  plots it) over trials; the best rate is the one with the lowest mean among rates where no trial diverged.

Every (kind, depth) cell draws from its own generator, ``rng.spawn_rngs(seed, 2, kind code, depth)``, so a
cell's numbers do not depend on which other cells are in the sweep, nor on how many processes run it.
Pure computation: no printing, no files (the data are loaded through `resnet_cli.data`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from resnet_cli import budget
from resnet_cli.config import parse_float_list, require, require_distinct, setting
from resnet_cli.data import Dataset, load_dataset
from resnet_cli.errors import ConfigError
from resnet_cli.executor import cell_progress
from resnet_cli.data import dataset_shape
from resnet_cli.experiments.shortcut_problem import (CERTIFY_FROM, COUNT_WIDTH, COUNTS_FROM, EXACT_MAX_PARAMS, DataSettings,
                                                      Problem, SpectrumSettings, certify_beyond_precision,
                                                      counts_route, exact_block_size, measure_hessian)
from resnet_cli.experiments import sweep
from resnet_cli.experiments.sweep import Progress, SweepSettings
from resnet_cli.models import shortcut as sc
from resnet_cli.rng import spawn_rngs
from resnet_cli.spectrum import BEYOND, ZERO_TOLERANCE, SpectrumStats, beyond_note, mean_bounds, spectrum_stats, trial_confidence
from resnet_cli.experiments.summary import short_repr

MEASURES = ("init-cond", "final-loss")
ACT_MIDS = ("identity", "relu")
SPECTRA = ("auto", "exact", "slq")
SHORTCUT_INITS = ("auto", "zero", "small")
DEFAULT_EXACT_MAX_PARAMS = 3200  # depth 32 at d = 10: eigvalsh takes a few seconds there
# A grid of learning rates is "flat" (the best rate is not meaningful, as the paper says of Xavier at depth
# 96) when the mean final values of all converged rates lie within this relative spread of each other.
FLAT_SPREAD = 0.05



@dataclass(frozen=True)
class NetworkKind:
    """One curve of the paper's figures: a shortcut depth (0 = plain) and, for plain networks, an init."""

    name: str
    code: int  # stable number used in the cell's seed
    shortcut: int
    init: str | None  # None: the shortcut initialisation (zero / small)
    label: str


NETWORK_KINDS: dict[str, NetworkKind] = {
    k.name: k
    for k in (
        NetworkKind("2-shortcut", 1, 2, None, "2-shortcut network, zero init"),
        NetworkKind("1-shortcut", 2, 1, None, "1-shortcut network, zero init"),
        NetworkKind("3-shortcut", 3, 3, None, "3-shortcut network, zero init"),
        NetworkKind("xavier", 4, 0, "xavier", "plain network, Xavier init"),
        NetworkKind("orthogonal", 5, 0, "orthogonal", "plain network, orthogonal init"),
    )
}


DEFAULT_LRS = "logspace:-3:0.5:8"  # 10^-3 … 10^0.5 in half decades (8 rates)


@dataclass(frozen=True)
class DepthSweepSettings(DataSettings, SpectrumSettings, SweepSettings):
    """Settings of `resnet-cli depth-sweep` (see docs/depth-sweep.md)."""

    COMMAND = "depth-sweep"
    depth: list[int] = setting([2, 4, 8, 16, 32], min=1)
    network: list[str] = setting(list(NETWORK_KINDS), choices=tuple(NETWORK_KINDS))
    measure: str = setting("init-cond", choices=MEASURES)
    act_mid: str = setting("identity", choices=ACT_MIDS)
    trials: int = setting(10, min=1)
    init: str = setting("auto", choices=SHORTCUT_INITS)
    steps: int = setting(1000, min=1)
    lr: list[float] = setting(parse_float_list(DEFAULT_LRS), min=0.0, open_min=True, shown=DEFAULT_LRS)
    spectrum: str = setting("auto", choices=SPECTRA)
    exact_max_params: int = setting(DEFAULT_EXACT_MAX_PARAMS, min=1, max=EXACT_MAX_PARAMS)

    def check(self) -> None:
        super().check()
        for flag, values in (("--depth", self.depth), ("--network", self.network), ("--lr", self.lr)):
            require_distinct(flag, values)
        budget.check(cost(self))


def cost(cfg: DepthSweepSettings) -> budget.Cost:
    """Memory and time before any allocation (resnet_cli/budget.py): per cell, exact Hessians
    (parameters² × 8 bytes and more) or GD on rates × trials weight sets, cells in parallel."""
    final = cfg.measure == "final-loss"
    sized = budget.flags(depth=cfg.depth, trials=cfg.trials, **({"steps": cfg.steps} if final else {}),
                         **({"dim": cfg.dim} if cfg.dim else {}), **({"samples": cfg.samples} if cfg.samples else {}),
                         **({"lanczos_probes": cfg.lanczos_probes} if not final and cfg.spectrum in ("slq", "auto")
                            else {}))
    cells = existing_cells(cfg)  # a kind that has no network at a depth costs nothing there
    return budget.shortcut(cfg.data, cfg.samples, cfg.dim, [d for d, _ in cells],
                           trials=cfg.trials, rates=len(cfg.lr) if final else 1, steps=cfg.steps if final else 0,
                           linear=cfg.act_mid == "identity", spectra=0 if final else cfg.trials,
                           spectrum=cfg.spectrum, exact_limit=cfg.exact_max_params,
                           lanczos=(cfg.lanczos_steps, cfg.lanczos_probes), workers=sweep.workers(cfg, cost), sized=sized,
                           exact_sizes=None if final else [exact_size(cfg, NETWORK_KINDS[k], d) for d, k in cells],
                           counted=None if final else [counted(cfg, NETWORK_KINDS[k], d) for d, k in cells])


def existing_cells(cfg: DepthSweepSettings) -> list[tuple[int, str]]:
    """(depth, kind) of every cell with a network: not a depth that is no multiple of the kind's unit."""
    d = dataset_shape(cfg.data, cfg.samples, cfg.dim)[1]
    return [(depth, k) for depth in cfg.depth for k in cfg.network
            if not isinstance(build_network(cfg, NETWORK_KINDS[k], depth, d), str)]


def exact_size(cfg: DepthSweepSettings, kind: NetworkKind, depth: int) -> int:
    """The largest block the exact spectrum of a cell solves (`solved_size`), before the data are loaded."""
    net = build_network(cfg, kind, depth, d := dataset_shape(cfg.data, cfg.samples, cfg.dim)[1])
    return depth * d * d if isinstance(net, str) else solved_size(net, init_for(cfg, kind))


def counted(cfg: DepthSweepSettings, kind: NetworkKind, depth: int) -> bool:
    """Whether the cell's spectrum comes from counts (`takes_counts`), before the data are loaded."""
    net = build_network(cfg, kind, depth, dataset_shape(cfg.data, cfg.samples, cfg.dim)[1])
    return not isinstance(net, str) and takes_counts(cfg, net, init_for(cfg, kind))


def takes_counts(cfg: DepthSweepSettings, net: sc.ShortcutNet, init: str) -> bool:
    """The cell's spectrum is exact under these settings (`spectrum_for`) and comes from counts on the
    layer-Toeplitz form (`shortcut_problem.counts_route`)."""
    return counts_route(net, init) and spectrum_for(cfg, solved_size(net, init)) == "exact"


def solved_size(net: sc.ShortcutNet, init: str) -> int:
    """The largest matrix an exact spectrum of this network at this init factorises or solves: one layer
    (d²) on the counts route, one unit where the zero-init blocks are known, else every parameter."""
    return net.dim ** 2 if counts_route(net, init) else exact_block_size(net, init)


def init_for(cfg: DepthSweepSettings, kind: NetworkKind) -> str:
    """The initialisation a kind gets under these settings' measure (see the module docstring)."""
    if kind.init is not None:
        return kind.init
    if cfg.init != "auto":
        return cfg.init
    return "zero" if cfg.measure == "init-cond" else "small"


@dataclass
class Cell:
    """The result for one (network kind, depth).

    ``status``: "ok"; "degenerate" (init-cond: the Hessian is exactly zero, cond10 undefined);
    "beyond-precision" (init-cond: in some trial cond10 > 1e12, where float64 cannot resolve the 10th percentile);
    "not-applicable" (the depth is not a multiple of the kind's unit); "all-diverged" (final-loss: every
    learning rate diverged in some trial). ``values``: the per-trial measurement (cond10 or the final value at
    the best rate). ``grid`` (final-loss): one entry per learning rate.
    """

    network: str
    depth: int
    measure: str
    status: str
    init: str
    mean: float | None = None
    std: float | None = None
    trials: int = 0
    values: list[float] = field(default_factory=list)
    n_params: int = 0
    spectrum: str | None = None  # "exact" or "slq" (init-cond)
    note: str = ""
    theory_cond10: float | None = None
    best_lr: float | None = None
    best_lr_flat: bool = False
    best_lr_at_edge: bool = False
    grid: list[dict[str, Any]] = field(default_factory=list)
    l_min: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepResult:
    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: DepthSweepSettings
    data: dict[str, Any]
    cells: list[Cell]
    notes: list[str]
    spectrum_statement: str | None
    quantity: str  # what mean/std are: "cond10", "final loss − L_min", "final loss"

    def rows(self) -> list[dict[str, Any]]:
        """One flat row per (network, depth): the table, and the rows of --out x.csv."""
        rows = []
        for c in self.cells:
            row: dict[str, Any] = {"depth": c.depth, "network": c.network, "measure": c.measure,
                                   "quantity": self.quantity, "mean": c.mean, "std": c.std, "status": c.status,
                                   "trials": c.trials, "init": c.init, "n_params": c.n_params}
            if c.measure == "init-cond":
                row.update(spectrum=c.spectrum, theory_cond10=c.theory_cond10,
                           trials_beyond_precision=c.extra.get("trials_beyond_precision", 0))
                if c.extra.get("bounds"):
                    b = c.extra["bounds"]
                    row.update(cond10_lower=b["cond10"]["lower"], cond10_upper=b["cond10"]["upper"],
                               cond10_too_wide=b["cond10_too_wide"], confidence=b["confidence"])
            else:
                row.update(best_lr=c.best_lr, best_lr_flat=c.best_lr_flat, best_lr_at_edge=c.best_lr_at_edge,
                           diverged_lrs=sum(1 for e in c.grid if e["diverged_trials"]))
            row["note"] = c.note
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        cells = []
        for c in self.cells:
            entry = {"network": c.network, "depth": c.depth, "status": c.status, "values": c.values, **c.extra}
            if c.grid:
                entry["grid"] = c.grid
            cells.append(entry)
        return {"command": "depth-sweep", "config": sweep.result_config(self.settings), "measure": self.settings.measure,
                "quantity": self.quantity, "spectrum": self.spectrum_statement, "data": self.data,
                "rows": self.rows(), "cells": cells, "notes": self.notes}


def load_data(cfg: DataSettings) -> Dataset:
    """The data set, with gaussian data drawn from the same stream as `hessian --seed` uses."""
    return load_dataset(cfg.data, spawn_rngs(cfg.seed, 3)[0], samples=cfg.samples, dim=cfg.dim)


def cell_generators(seed: int, kind: NetworkKind, depth: int) -> tuple[np.random.Generator, np.random.Generator]:
    """(init generator, probe generator) of one cell, independent of every other cell."""
    init_rng, probe_rng = spawn_rngs(seed, 2, kind.code, depth)
    return init_rng, probe_rng


def build_network(cfg: DepthSweepSettings, kind: NetworkKind, depth: int, dim: int) -> sc.ShortcutNet | str:
    """The network of a cell, or the reason it does not exist at this depth."""
    if kind.shortcut and depth % kind.shortcut:
        return f"depth {depth} is not a multiple of {kind.shortcut}"
    if kind.shortcut == 0 and cfg.act_mid != "identity" and depth % 2:
        return f"depth {depth} is odd: the plain network's ReLUs sit in pairs of layers (as in a 2-shortcut network)"
    return sc.make_network(kind.shortcut, depth, dim, act_mid=cfg.act_mid, plain_unit=2)


def spectrum_for(cfg: DepthSweepSettings, size: int) -> str:
    """exact or slq for a cell whose exact spectrum solves blocks of at most `size` parameters."""
    if cfg.spectrum == "auto":
        return "exact" if size <= cfg.exact_max_params else "slq"
    return cfg.spectrum


def spectrum_statement(cfg: DepthSweepSettings) -> str:
    """Which spectra the cells get; the kinds on the counts route are named only where every cell of theirs
    is exact (`exact_size`: one layer where their init takes the counts route, every parameter at --init small)."""
    statement, cells = _spectrum_statement(cfg), existing_cells(cfg)
    counting = [k for k in ("orthogonal", "1-shortcut") if k in cfg.network and cfg.act_mid == "identity" and all(
        spectrum_for(cfg, exact_size(cfg, NETWORK_KINDS[k], depth)) == "exact" for depth, kind in cells if kind == k)]
    if counting:
        statement += (f"; {' and '.join(counting)} networks exact at every depth (from {COUNTS_FROM} "
                      f"parameters by inertia counts, brackets ≤ {COUNT_WIDTH:.0e} relative)")
    return statement


def _spectrum_statement(cfg: DepthSweepSettings) -> str:
    slq = f"stochastic Lanczos quadrature ({cfg.lanczos_steps} steps × {cfg.lanczos_probes} probes, approximate)"
    if cfg.spectrum == "exact":
        return "Hessian spectra: exact (eigvalsh, by blocks where known) for every cell"
    if cfg.spectrum == "slq":
        return f"Hessian spectra: {slq} for every cell"
    return (f"Hessian spectra: exact (eigvalsh) up to {cfg.exact_max_params} parameters per block, "
            f"{slq} above (cells marked ≈)")


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    with np.errstate(invalid="ignore"):
        return float(np.mean(values)), float(np.std(values))


# --- init-cond (Figure 5) -----------------------------------------------------------------------------------


def init_cond_cell(
    cfg: DepthSweepSettings, kind: NetworkKind, depth: int, dataset: Dataset, moments: sc.SecondMoments, l_min: float,
    progress: Callable[[float], None] | None = None,
) -> Cell:
    """cond10 of the Hessian at the initial point, over `trials` draws (one evaluation when the init is zero)."""
    init, net = init_for(cfg, kind), build_network(cfg, kind, depth, dataset.dim)
    if isinstance(net, str):  # this kind has no network at this depth (e.g. 3-shortcut at depth 4)
        return Cell(kind.name, depth, cfg.measure, "not-applicable", init, note=net)
    size = solved_size(net, init)
    spectrum = spectrum_for(cfg, size)
    method = "counts" if takes_counts(cfg, net, init) else spectrum
    if spectrum == "exact" and size > EXACT_MAX_PARAMS:
        raise ConfigError(f"--spectrum exact: {kind.name} at depth {depth} has a dense Hessian of {size} "
                          f"parameters, above {EXACT_MAX_PARAMS}; use --spectrum auto or slq")
    init_rng, probe_rng = cell_generators(cfg.seed, kind, depth)
    problem = Problem(net, dataset, moments, l_min, init_rng, probe_rng)
    evaluations = 1 if init == "zero" else cfg.trials
    W = sc.init_weights(net, init, init_rng, batch_shape=(evaluations,))
    stats, certified = _trial_stats(problem, W, cfg, method, method == "exact" and size >= CERTIFY_FROM, progress)
    cell = Cell(kind.name, depth, cfg.measure, "ok", init, trials=evaluations, n_params=net.n_params, spectrum=spectrum)
    if method == "counts":
        cell.extra["exact_by"] = f"inertia counts on the layer-Toeplitz form, brackets ≤ {COUNT_WIDTH:.0e} relative"
    if init == "zero":
        cell.note = "zero init is deterministic: one evaluation"
        cell.theory_cond10, theory_note = _theorem1_cond10(net, dataset)
        if theory_note:
            cell.extra["theorem1"] = theory_note
    if all(s.zero_matrix for s in stats):
        cell.status = "degenerate"
        cell.note = "H = 0 at this point: cond10 undefined" + (
            " (Theorem 1: zero is a stationary point of order n − 1 ≥ 2)" if kind.shortcut >= 3 and init == "zero"
            else " (σ'(0) = 0 for ReLU, so Theorem 1's coefficient vanishes)" if init == "zero" else "")
        cell.values = []
        return cell
    values = np.array([s.cond10 if not s.zero_matrix else np.nan for s in stats], dtype=float)
    cell.values = [float(v) for v in values]
    cell.extra.update(_trial_means(stats, certified))
    if spectrum == "slq":  # estimates: the interval of the mean (spectrum.mean_bounds) says what is known
        cell.extra["bounds"] = mean_bounds([s.bounds for s in stats])
        cell.mean, cell.std = _mean_std(values)
        return cell
    beyond = int(np.count_nonzero(~np.isfinite(values)))
    if beyond:
        # |λ| at the 10th percentile is at most ZERO_TOLERANCE·|λ|max, i.e. within the rounding of the
        # eigensolver: cond10 exceeds 1/ZERO_TOLERANCE but its value cannot be measured in float64.
        cell.status = "beyond-precision"
        cell.extra["trials_beyond_precision"] = beyond
        cell.note = (cell.note + "; " if cell.note else "") + (
            f"cond10 > {BEYOND} in {beyond} of {len(values)} trials: |λ| at the 10th percentile is "
            f"below {ZERO_TOLERANCE:.0e}·|λ|max, the resolution of float64 eigenvalues"
            + (f" ({certified} of them shown by two inertia counts, without the eigenvalues)" if certified else ""))
        return cell
    cell.mean, cell.std = _mean_std(values)
    return cell


def _trial_means(stats: list[SpectrumStats], certified: int) -> dict[str, Any]:
    """The JSON cell's means over trials of |λ|max, |λ|p10 (None when any trial was certified by counts: its
    p10 is only known to be below 1e-12·m) and the index, and what the counts certified."""
    known = [s.abs_p10 for s in stats if np.isfinite(s.abs_p10)]
    out: dict[str, Any] = {"abs_max": float(np.mean([s.abs_max for s in stats])),
                           # (a certified trial's p10 is only bounded: no mean over all trials exists then)
                           "abs_p10": float(np.mean(known)) if known and not certified else None,
                           "index": float(np.mean([s.index for s in stats]))}
    if certified:
        out["trials_certified_by_counts"] = certified
        out["certified_by"] = (f"two inertia counts: at least 10 % of the eigenvalues have |λ| ≤ {ZERO_TOLERANCE:.0e}·m, "
                               "m = the largest |Ritz value| of a Lanczos run (≤ |λ|max; abs_max is m there, abs_p10 "
                               "unknown)")
    return out


def _trial_stats(problem: Problem, W: np.ndarray, cfg: DepthSweepSettings, method: str, certify: bool,
                 progress: Callable[[float], None] | None) -> tuple[list[SpectrumStats], int]:
    """Each trial's statistics, and how many came from `certify_beyond_precision`: with `certify` (a large
    dense exact spectrum) two counts are tried while they show cond10 beyond float64, the eigensolver from the
    first trial where they cannot tell."""
    stats, certified = [], 0
    for r in range(len(W)):
        shown = certify_beyond_precision(problem, W[r]) if certify else None
        certify = shown is not None
        certified += certify
        if shown is None:
            shown = measure_hessian(problem, W[r], cfg, method, confidence=trial_confidence(len(W))).stats
        stats.append(shown)
        if progress is not None:
            progress((r + 1) / len(W))
    return stats, certified


def _theorem1_cond10(net: sc.ShortcutNet, dataset: Dataset) -> tuple[float | None, str]:
    """cond10 predicted by Theorem 1 at zero (n = 2: from ±σ_i(A), each R·d times; n ≥ 3: H = 0)."""
    if not net.shortcut or net.unit_layers == 1:
        return None, ""
    pred = sc.theorem1_prediction(net, dataset.X, dataset.Y)
    if pred.case == "n>=3":
        return None, "H = 0"
    stats = spectrum_stats(pred.eigenvalues)
    if stats.zero_matrix:
        return None, "H = 0"
    return float(stats.cond10), ""


# --- final-loss (Figures 9 and 10) --------------------------------------------------------------------------


def final_loss_cell(
    cfg: DepthSweepSettings, kind: NetworkKind, depth: int, dataset: Dataset, moments: sc.SecondMoments, l_min: float,
    progress: Callable[[float], None] | None = None,
) -> Cell:
    """Full-batch GD over the learning-rate grid and the trials at once; the best rate by the mean final value."""
    init = init_for(cfg, kind)
    net = build_network(cfg, kind, depth, dataset.dim)
    if isinstance(net, str):
        return Cell(kind.name, depth, cfg.measure, "not-applicable", init, note=net)
    init_rng, _ = cell_generators(cfg.seed, kind, depth)
    trials = 1 if init == "zero" else cfg.trials
    W0 = sc.init_weights(net, init, init_rng, batch_shape=(trials,))
    lrs = np.asarray(cfg.lr, dtype=np.float64)
    callback = None if progress is None else (lambda e, n: progress(e / n))
    gd = sc.gradient_descent(net, W0, lrs[:, None], cfg.steps, X=dataset.X, Y=dataset.Y, moments=moments,
                             progress=callback)
    return summarise_grid(cfg, kind, depth, init, net, gd)


def summarise_grid(cfg: DepthSweepSettings, kind: NetworkKind, depth: int, init: str, net: sc.ShortcutNet,
                   gd: sc.GDResult) -> Cell:
    """Per learning rate: trials diverged, mean ± std final value; the best rate among those where none diverged."""
    # the sweep's quantity, whatever this kind's network: a 1-shortcut unit is linear under --act-mid relu (no mid
    # position), and its cell must report the final loss as the others do, not L − L_min
    linear = cfg.act_mid == "identity"
    final = gd.gaps[-1] if linear else gd.losses[-1]  # (rates, trials); inf where diverged
    trials = final.shape[1]
    grid = []
    for i, lr in enumerate(cfg.lr):
        diverged = int(np.count_nonzero(gd.diverged[i]))
        entry: dict[str, Any] = {"lr": float(lr), "diverged_trials": diverged, "mean": None, "std": None}
        if diverged:
            steps = gd.diverged_epoch[i][gd.diverged[i]]
            entry["first_diverged_step"] = int(steps.min())
        else:
            entry["mean"], entry["std"] = _mean_std(final[i])
        grid.append(entry)
    cell = Cell(kind.name, depth, cfg.measure, "ok", init, trials=trials, n_params=net.n_params, grid=grid,
                l_min=float(gd.l_min))
    if init == "zero":
        cell.note = "zero init is deterministic: one trial"
        if net.shortcut and net.unit_layers >= 2:
            cell.note += "; zero is a stationary point of an n ≥ 2 shortcut network, GD stays there"
    converged = [i for i, e in enumerate(grid) if e["diverged_trials"] == 0]
    if not converged:
        cell.status = "all-diverged"
        cell.note = (cell.note + "; " if cell.note else "") + "every learning rate diverged in some trial"
        return cell
    means = np.array([grid[i]["mean"] for i in converged])
    best = converged[int(np.argmin(means))]
    cell.best_lr = float(cfg.lr[best])
    cell.mean, cell.std = grid[best]["mean"], grid[best]["std"]
    cell.values = [float(v) for v in final[best]]
    grid[best]["best"] = True
    if len(cfg.lr) > 1 and cell.best_lr in (min(cfg.lr), max(cfg.lr)):
        cell.best_lr_at_edge = True
    if len(converged) >= 2 and means.max() - means.min() <= FLAT_SPREAD * means.max():
        cell.best_lr_flat = True
    if not linear:
        cell.extra["final_loss_gap_vs_linear_l_min"] = float(np.mean(gd.gaps[-1][best]))
    return cell


# --- the sweep ------------------------------------------------------------------------------------------------


def cell_cost(cfg: DepthSweepSettings, kind: NetworkKind, depth: int) -> float:
    """A rough relative cost for the progress bar and the order of work (largest cells first): per
    evaluation a dense eigensolver's P³ or SLQ's depth, times the evaluations (one at the zero init)."""
    if kind.shortcut and depth % kind.shortcut:
        return 0.0
    if cfg.measure == "final-loss":
        return float(depth)
    p = float(exact_size(cfg, kind, depth))
    evaluations = 1 if init_for(cfg, kind) == "zero" else cfg.trials
    if counted(cfg, kind, depth):  # ~60 counts, each of `depth` blocks
        return evaluations * (400 * depth * p ** 3 / 1e9 + depth * 0.01)
    return evaluations * (p ** 3 / 1e9 + depth * 0.01 if p <= cfg.exact_max_params else depth * 0.1)


def run_cell(cfg: DepthSweepSettings, name: str, depth: int, dataset: Dataset, moments: sc.SecondMoments, l_min: float,
             progress: Callable[[float], None] | None = None) -> Cell:
    kind = NETWORK_KINDS[name]
    fn = init_cond_cell if cfg.measure == "init-cond" else final_loss_cell
    return fn(cfg, kind, depth, dataset, moments, l_min, progress)


@dataclass(frozen=True)
class CellTask:
    """One (network kind, depth) cell with everything it needs: picklable, and its own cache key (the
    settings without --jobs/--dask/--cache, the data and its moments; the seed is in the settings)."""

    settings: DepthSweepSettings
    network: str
    depth: int
    dataset: Dataset
    moments: sc.SecondMoments
    l_min: float


def run_cell_task(task: CellTask) -> Cell:
    """A cell as `executor.run_cells` runs it: progress inside the cell through `cell_progress`."""
    return run_cell(task.settings, task.network, task.depth, task.dataset, task.moments, task.l_min, cell_progress)


def run(cfg: DepthSweepSettings, progress: Progress | None = None) -> SweepResult:
    """Every (network, depth) cell through `executor.run_cells` (--jobs local processes, --dask, --cache).
    Every cell draws from its own streams and runs BLAS on one thread wherever it runs, so the numbers are
    bitwise the same for any `--jobs` (unset: `sweep.with_jobs(cfg, cost)`) and executor.

    ``progress(completed, total)`` is called as work completes, inside cells too (weighted by `cell_cost`).
    """
    cfg.validate()
    cfg = sweep.with_jobs(cfg, cost)
    dataset = load_data(cfg)
    moments = sc.second_moments(dataset.X, dataset.Y)
    l_min = sc.optimal_linear_loss(moments)
    order = [(name, depth) for depth in cfg.depth for name in cfg.network]
    costs = {key: cell_cost(cfg, NETWORK_KINDS[key[0]], key[1]) for key in order}
    # Fail fast on cells that cannot be built or measured before any long computation starts.
    applicable = [key for key in order if not isinstance(build_network(cfg, NETWORK_KINDS[key[0]], key[1], dataset.dim), str)]
    if not applicable:
        raise ConfigError("no network in --network can be built at any depth in --depth "
                          "(an n-shortcut network needs a depth that is a multiple of n)")
    if cfg.measure == "init-cond" and cfg.spectrum == "exact":
        for name, depth in applicable:
            p = exact_size(cfg, NETWORK_KINDS[name], depth)
            if p > EXACT_MAX_PARAMS:
                raise ConfigError(f"--spectrum exact: {name} at depth {depth} has a dense Hessian of {p} parameters, "
                                  f"above {EXACT_MAX_PARAMS}; use --spectrum auto or slq")
    cell_cfg = sweep.cell_settings(cfg)
    tasks = [CellTask(cell_cfg, name, depth, dataset, moments, l_min) for name, depth in order]
    cells_done = sweep.run_sweep(cfg, run_cell_task, tasks, weights=[costs[key] for key in order], progress=progress)
    results = dict(zip(order, cells_done))
    cells = [results[key] for key in order]
    notes = sweep_notes(cfg, cells)
    linear = cfg.act_mid == "identity"
    quantity = "cond10" if cfg.measure == "init-cond" else ("final loss − L_min" if linear else "final loss")
    data = {"name": dataset.name, "description": dataset.description, "samples": dataset.samples,
            "dim": dataset.dim, "l_min": l_min}
    return SweepResult(
        settings=cfg,
        data=data,
        cells=cells,
        notes=notes,
        spectrum_statement=spectrum_statement(cfg) if cfg.measure == "init-cond" else None,
        quantity=quantity,
    )


def sweep_notes(cfg: DepthSweepSettings, cells: list[Cell]) -> list[str]:
    notes = []
    shortcut_kinds = [n for n in cfg.network if NETWORK_KINDS[n].shortcut]
    if shortcut_kinds:
        init = init_for(cfg, NETWORK_KINDS[shortcut_kinds[0]])
        what = "exactly zero (Theorem 1's point)" if init == "zero" else "0.01 × Xavier (the paper's perturbed zero init)"
        notes.append(f"shortcut networks start at {what}")
    if cfg.act_mid == "relu":
        odd = [n for n in cfg.network if NETWORK_KINDS[n].shortcut in (1, 3)]
        if odd:
            notes.append("the paper omits 1- and 3-shortcut networks with ReLUs (their ReLU counts differ from "
                         "the 2-shortcut and plain networks'; a 1-shortcut unit has no mid position)")
        if cfg.measure == "final-loss":
            notes.append("with ReLUs the minimum loss is unknown: the final loss itself is reported, as in the "
                         "paper's Figure 10 (the linear L_min is shown for reference)")
    if cfg.measure == "final-loss":
        if any(c.best_lr_flat for c in cells):
            notes.append(f"'flat': the mean final values of all converged rates lie within {FLAT_SPREAD:.0%} of "
                         "each other, so the best rate is not meaningful (the paper omits it there)")
        edge = [f"{c.network} at depth {c.depth}" for c in cells if c.best_lr_at_edge and not c.best_lr_flat]
        if edge:
            notes.append("the best rate is at the edge of the --lr grid (the optimum may lie beyond it) for: "
                         + ", ".join(edge))
        if any(c.status == "ok" and any(e["diverged_trials"] for e in c.grid) for c in cells):
            notes.append("a rate counts as diverged when any trial's loss became non-finite or exceeded 1e12 × its "
                         "start; such rates are excluded from the best-rate choice")
    if any(c.status == "beyond-precision" for c in cells):
        notes.append(beyond_note())
    if any(c.status == "degenerate" for c in cells):
        notes.append("H = 0: degenerate, the Hessian is exactly 0 at the initial point, so cond10 is undefined")
    absent = [n for n in cfg.network if all(c.status == "not-applicable" for c in cells if c.network == n)]
    if absent:
        notes.append("n/a: " + "; ".join(f"{n} has no network at any depth here ({_why_absent(n, cfg)})"
                                         for n in absent))
    return notes


def _why_absent(name: str, cfg: DepthSweepSettings) -> str:
    shortcut = NETWORK_KINDS[name].shortcut
    return f"its depth must be a multiple of {shortcut}" if shortcut else "with --act-mid relu a plain network needs an even depth"
