"""`hessian`: the exact Hessian spectrum of an n-shortcut network, with Theorem 1 of Li et al. (2017).

For `runs` independent initialisations (drawn at once), optionally trained by full-batch GD (`at="trained"`),
the Hessian of the loss is computed — exactly (`eigvalsh` of the matrix assembled from Kronecker blocks or
pre-activation tangents) or by stochastic Lanczos quadrature — and summarised as in the paper (|λ|max, the
10th percentile of |λ|, cond10, true cond, index). At the zero point of a shortcut network the prediction of
Theorem 1 is computed independently and the largest deviation from it reported. Each trial's Hessian is a
cell of `executor.run_cells` (--jobs, --dask, --cache); everything random is drawn here beforehand.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from resnet_cli import budget, eigen
from resnet_cli.config import require, setting
from resnet_cli.data import dataset_shape
from resnet_cli.experiments import sweep
from resnet_cli.experiments.shortcut_problem import (
    BRACKET_WIDTH, Measurement, NetworkSettings, Problem, ProblemResult, SPECTRA, STAT_KEYS, SpectrumSettings, build_problem,
    check_spectrum, data_sizes, exact_block_size, is_linear, measure_hessian, stats_dict, tanh_positions,
)
from resnet_cli.experiments.sweep import Progress, SweepSettings, no_progress
from resnet_cli.models import shortcut as sc
from resnet_cli.spectrum import SpectrumStats, mean_bounds, rademacher, spectrum_stats, trial_confidence

HESSIAN_SPECTRA = (*SPECTRA, "inertia")  # hessian only: certified brackets from Sylvester inertia counts
POINTS = ("init", "trained")
EXACT_MAX_TOTAL = 1_000_000  # exact by blocks: eigenvalues and index arrays of every parameter
THEOREM_PROBES = 4  # probe vectors of the SLQ check of Theorem 1


def theorem1_check(problem: Problem, measurement: Measurement, signs: np.ndarray | None) -> dict[str, Any] | None:
    """Theorem 1 beside the measurement at w = 0, with the largest deviation (None for a plain network).

    Exact: max |H − H_pred| over all entries and, where the theorem states the eigenvalues (n = 2, n ≥ 3;
    n = 1 from the predicted matrix), max |λ_i − λ_i,pred| of the sorted spectra. SLQ: max |(H − H_pred) v|
    over the probe vectors v = `signs` / √parameters (`signs`: THEOREM_PROBES × parameters random signs, drawn
    by the caller; a lower bound of the matrix deviation).
    """
    net, ds = problem.net, problem.dataset
    pred = sc.theorem1_prediction(net, ds.X, ds.Y)
    if pred is None:
        return None
    out: dict[str, Any] = {"case": pred.case, "coefficient": pred.coefficient}
    if pred.case == "n>=3":
        out["statement"] = "the zero point is an (n-1)th-order stationary point: H = 0"
    elif pred.case == "n=2":
        out["statement"] = (
            f"eigenvalues ±c·√eig(AᵀA), c = σ'_mid(0)σ'_post(0) = {pred.coefficient:g}, each {net.units * net.dim} "
            "times (R·d); A = Σ_{Xσpre(X)} − Σ_{Yσpre(X)}"
        )
        out["singular_values_A"] = np.linalg.svd(pred.matrix_A, compute_uv=False)
    else:
        out["statement"] = "block-Toeplitz: every diagonal block B, every block below the diagonal A (above Aᵀ)"
    if measurement.matrix is not None:
        entry = _entry_deviation(measurement.matrix, pred)
        out["entry_deviation"] = entry
        deviations = [entry]
        if pred.eigenvalues.size == net.n_params and measurement.eigenvalues is not None:
            eig_dev = float(np.abs(measurement.eigenvalues - pred.eigenvalues).max())
            out["eigenvalue_deviation"] = eig_dev
            deviations.append(eig_dev)
        out["max_abs_deviation"] = max(deviations)
        out["deviation_kind"] = "exact"
    else:
        V = np.asarray(signs, dtype=np.float64) / np.sqrt(net.n_params)
        W0 = np.zeros(net.weight_shape)
        HV = sc.hessian_vector_products(net, W0, V, ds.X, ds.Y, moments=problem.moments)
        out["max_abs_deviation"] = float(np.abs(HV - pred.matvec(V)).max())
        out["deviation_kind"] = "probe vectors"
    if pred.eigenvalues.size == net.n_params:
        out["predicted"] = stats_dict(spectrum_stats(pred.eigenvalues))
        out["eigenvalues"] = pred.eigenvalues
    return out


ENTRY_CHECK_MAX_PARAMS = 20_000  # above: the Theorem 1 entry check covers the first and last block's columns


ENTRY_CHUNK = 512  # basis columns pushed through H_pred at once


def _entry_deviation(H: eigen.BlockMatrix, pred: sc.Theorem1Prediction, chunk: int = ENTRY_CHUNK) -> float:
    """max |H − H_pred| over all entries, block by block: the columns `idx` of H_pred (H_pred applied to
    those basis vectors) against the block on its rows and 0 elsewhere; H_pred is never formed whole
    (for one dense block this is |H − pred.dense()|). O(P²) work: above ENTRY_CHECK_MAX_PARAMS only the
    columns of the first and the last block are compared where every unit's block is the same (one array, as
    `shortcut.hessian_blocks` builds a linear network's, or equal bit for bit); blocks that differ (split from a
    computed matrix) are all compared."""
    P = H.size
    worst = 0.0
    pairs = list(zip(H.indices, H.blocks))
    if P > ENTRY_CHECK_MAX_PARAMS and len(pairs) > 2 and len(H.distinct()) == 1:
        pairs = [pairs[0], pairs[-1]]
    for idx, block in pairs:
        for lo in range(0, idx.size, chunk):
            cols = idx[lo: lo + chunk]
            E = np.zeros((cols.size, P))
            E[np.arange(cols.size), cols] = 1.0
            pred_cols = pred.matvec(E).T  # (P, chunk): columns `cols` of H_pred
            pred_cols[idx] -= block[:, lo: lo + chunk]
            worst = max(worst, float(np.abs(pred_cols).max()))
    return worst


# --- the `hessian` experiment -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HessianSettings(NetworkSettings, SpectrumSettings, SweepSettings):
    """Settings of `resnet-cli hessian` (see docs/hessian.md)."""

    COMMAND = "hessian"
    spectrum: str = setting("exact", choices=HESSIAN_SPECTRA)
    bracket_width: float = setting(BRACKET_WIDTH, min=1e-12, max=0.5)
    trials: int = setting(1, min=1)
    at: str = setting("init", choices=POINTS)
    steps: int = setting(100, min=0)
    lr: float = setting(0.1, min=0.0, open_min=True)

    def check(self) -> None:
        super().check()
        # Theorem 1 (Li et al. 2017): for n ≥ 2 every gradient at w = 0 is a product with a zero layer, so GD never
        # moves and "trained" would silently be the initial point.
        require(not (self.at == "trained" and self.init == "zero" and self.shortcut >= 2),
                f"--at trained --init zero --shortcut {self.shortcut}: zero is a stationary point of an n ≥ 2 "
                "shortcut network, GD never leaves it; use --init small or --at init")
        budget.check(cost(self))


def cost(cfg: HessianSettings) -> budget.Cost:
    """Memory and time before any allocation (resnet_cli/budget.py): the data, GD on the trials, and
    one spectrum per trial (exact: the dense Hessian, parameters² × 8 bytes and more), each worker
    process holding the data and one spectrum's arrays."""
    total = budget.shortcut(cfg.data, cfg.samples, cfg.dim, [cfg.depth], trials=cfg.trials,
                           steps=cfg.steps if cfg.at == "trained" else 0, linear=is_linear(cfg),
                           tanh_positions=tanh_positions(cfg),
                           spectra=cfg.trials, spectrum=cfg.spectrum,
                           lanczos=(cfg.lanczos_steps, cfg.lanczos_probes), exact_sizes=exact_sizes(cfg),
                           sized=budget.flags(depth=cfg.depth, trials=cfg.trials, **data_sizes(cfg),
                                              **({"lanczos_probes": cfg.lanczos_probes, "lanczos_steps": cfg.lanczos_steps}
                                                 if cfg.spectrum in ("slq", "auto") else {})))
    check_seconds, check_bytes = theorem1_check_cost(cfg)
    total = dataclasses.replace(total, seconds=total.seconds + check_seconds, nbytes=total.nbytes + check_bytes)
    workers = 1 if cfg.dask else min(sweep.workers(cfg, spectra_cost), cfg.trials)
    if workers == 1:
        return total
    one = spectra_cost(cfg, spectra=1)
    # Only the spectra run in parallel (training is one program in the parent).
    return dataclasses.replace(total, nbytes=total.nbytes + (workers - 1) * one.nbytes,
                               workers=workers if cfg.at == "init" else 1)


def spectra_cost(cfg: HessianSettings, spectra: int | None = None) -> budget.Cost:
    """What the cells cost on one core: `spectra` spectra (default: one per trial) and not the training
    (`--at trained`), which runs in the parent before them, so a long training with small spectra does not
    start a pool (`sweep.workers`)."""
    return budget.shortcut(cfg.data, cfg.samples, cfg.dim, [cfg.depth], trials=0, linear=is_linear(cfg),
                           spectra=cfg.trials if spectra is None else spectra, spectrum=cfg.spectrum,
                           lanczos=(cfg.lanczos_steps, cfg.lanczos_probes), exact_sizes=exact_sizes(cfg))


def theorem1_check_cost(cfg: HessianSettings) -> tuple[float, float]:
    """(seconds, bytes) of Theorem 1's entry check at w = 0 with a dense or block Hessian (`_entry_deviation`):
    every entry, or above ENTRY_CHECK_MAX_PARAMS the columns of the first and last unit's block; in memory,
    a chunk of basis columns, their image and its transpose (3 × ENTRY_CHUNK × P floats)."""
    if not (cfg.at == "init" and cfg.init == "zero" and cfg.shortcut and cfg.spectrum != "slq"):
        return 0.0, 0.0
    P = cfg.depth * dataset_shape(cfg.data, cfg.samples, cfg.dim)[1] ** 2
    columns = P if P <= ENTRY_CHECK_MAX_PARAMS else min(P, 2 * exact_sizes(cfg)[0])  # (one dense block: all)
    return budget.THEOREM1_ENTRY * columns * P, 8.0 * 3 * min(ENTRY_CHUNK, P) * P


def exact_sizes(cfg: HessianSettings) -> list[int]:
    """The largest block an exact spectrum solves (`exact_block_size`), for the budget."""
    d = dataset_shape(cfg.data, cfg.samples, cfg.dim)[1]
    if cfg.shortcut and cfg.depth % cfg.shortcut == 0 and cfg.at == "init":
        net = sc.make_network(cfg.shortcut, cfg.depth, d)
        return [exact_block_size(sc.ShortcutNet(d, net.units, net.unit_layers, True, cfg.act_pre, cfg.act_mid,
                                                cfg.act_post), cfg.init)]
    return [cfg.depth * d * d]


@dataclass(repr=False)
class HessianResult(ProblemResult):
    """`hessian`'s result: the statistics over trials (`summary`), each trial's, Theorem 1 and the spectra."""

    summary: dict[str, Any]
    trials: list[dict[str, Any]]
    theory: dict[str, Any] | None
    spectra: list[dict[str, np.ndarray]] = field(default_factory=list)

    def to_dict(self, arrays: bool = False) -> dict[str, Any]:
        """The JSON payload (keys in docs/architecture.md, "Results and payloads"); with `arrays`, also
        `spectra` (per trial: `eigenvalues`, or SLQ `nodes`/`weights`, or inertia `brackets`) and
        `theory_eigenvalues` (Theorem 1's predicted spectrum or None): numpy arrays for `--plot` and
        `--eigenvalues`, never in the JSON."""
        s = self.summary
        keys = ("n_params", *STAT_KEYS, "zero_matrix", "loss", "std", "trials", "diverged_trials")
        payload: dict[str, Any] = {"command": "hessian", "config": sweep.result_config(self.settings), **{k: s[k] for k in keys}}
        payload.update(spectrum=self.settings.spectrum, approximate=self.settings.spectrum != "exact",
                       network=self.network, data=self.data, per_trial=self.trials, theory=None)
        if s.get("bounds") is not None:
            payload["bounds"] = s["bounds"]
        if s.get("index_by_tolerance") is not None:
            payload["index_by_tolerance"] = s["index_by_tolerance"]
        if self.theory is not None:
            payload["theory"] = {k: v for k, v in self.theory.items() if k != "eigenvalues"}
        if arrays:
            payload["spectra"] = self.spectra
            payload["theory_eigenvalues"] = None if self.theory is None else self.theory.get("eigenvalues")
        return payload


def summarise(stats_list: list[SpectrumStats]) -> dict[str, Any]:
    """Mean and standard deviation of each statistic over trials (a zero Hessian is flagged, not averaged)."""
    out: dict[str, Any] = {"trials": len(stats_list)}
    if not stats_list:
        out.update({k: None for k in STAT_KEYS})
        out["std"] = {k: None for k in STAT_KEYS}
        out["zero_matrix"] = False
        return out
    zero = all(s.zero_matrix for s in stats_list)
    out["zero_matrix"] = zero
    out["std"] = {}
    for key in STAT_KEYS:
        values = np.array([getattr(s, key) for s in stats_list], dtype=float)
        if (zero and key in ("cond10", "cond")) or np.all(np.isnan(values)):  # inertia: abs_min, cond not bracketed
            out[key], out["std"][key] = None, None
            continue
        with np.errstate(invalid="ignore"):
            out[key] = float(np.mean(values))
            out["std"][key] = float(np.std(values)) if np.all(np.isfinite(values)) else None
    if any(s.bounds is not None for s in stats_list):
        out["bounds"] = mean_bounds([s.bounds for s in stats_list if not s.zero_matrix])
    if all(s.index_by_tolerance is not None for s in stats_list):  # exact: the mean index at every tolerance
        out["index_by_tolerance"] = {tol: float(np.mean([s.index_by_tolerance[tol] for s in stats_list]))
                                     for tol in stats_list[0].index_by_tolerance}
    return out


@dataclass(frozen=True)
class TrialTask:
    """The Hessian of one trial, as a cell of `executor.run_cells`: picklable, and its own cache key (the
    settings without --jobs/--dask/--cache, the network and data, the trial's weights and the random signs
    the parent drew for it: SLQ probes, and at the zero point of trial 0 those of the Theorem 1 check)."""

    settings: HessianSettings
    problem: Problem  # without generators: a cell draws nothing
    trial: int
    weights: np.ndarray
    trained: bool  # the loss comes from training (the parent), else it is the loss at the initial point
    probes: np.ndarray | None = None  # SLQ: lanczos_probes × parameters signs
    theorem: bool = False  # trial 0 at w = 0: check Theorem 1 here (exact: with the dense Hessian)
    theorem_signs: np.ndarray | None = None  # SLQ: THEOREM_PROBES × parameters signs for the check


@dataclass
class TrialResult:
    """What a trial's cell returns: loss at the initial point (when not trained), spectrum and Theorem 1."""

    stats: SpectrumStats
    spectrum: dict[str, Any]
    loss: float | None = None
    loss_gap: float | None = None
    theory: dict[str, Any] | None = None


def measure_trial(task: TrialTask) -> TrialResult:
    """One trial's Hessian spectrum (and the Theorem 1 check, for trial 0 at the zero point)."""
    problem, cfg = task.problem, task.settings
    loss = None if task.trained else _loss_at(problem, task.weights)
    keep = task.theorem and cfg.spectrum != "slq"
    m = measure_hessian(problem, task.weights, cfg, keep_matrix=keep, probes=task.probes,
                        confidence=trial_confidence(cfg.trials))
    if m.eigenvalues is not None:
        spectrum = {"trial": task.trial, "eigenvalues": m.eigenvalues}
    elif m.brackets is not None:
        spectrum = {"trial": task.trial, "brackets": m.brackets}
    else:
        spectrum = {"trial": task.trial, "nodes": m.nodes, "weights": m.weights}
    out = TrialResult(m.stats, spectrum, loss, None if loss is None else loss - problem.l_min)
    if task.theorem:
        out.theory = theorem1_check(problem, m, task.theorem_signs)
    return out


def trial_tasks(cfg: HessianSettings, problem: Problem, W: np.ndarray, diverged: np.ndarray | None) -> list[TrialTask]:
    """A task per trial that did not diverge. The parent draws every random sign, in the order the trials
    once drew them one after another from `problem.probe_rng`: trial 0's SLQ probes, the Theorem 1 check's
    signs (zero point, shortcut network), then each later trial's probes; exact spectra draw nothing."""
    net = problem.net
    at_zero = cfg.at == "init" and cfg.init == "zero"
    slq_probes = cfg.spectrum == "slq"
    lanczos_probes = cfg.spectrum in ("slq", "inertia")  # inertia: Lanczos gives the inner values of λmin/λmax
    bare = dataclasses.replace(problem, init_rng=None, probe_rng=None)
    cell_cfg = sweep.cell_settings(cfg)
    tasks = []
    for r in range(cfg.trials):
        if diverged is not None and diverged[r]:
            continue
        probes = rademacher(problem.probe_rng, cfg.lanczos_probes, net.n_params) if lanczos_probes else None
        theorem = at_zero and r == 0
        signs = None
        if theorem and slq_probes and net.shortcut:
            signs = rademacher(problem.probe_rng, THEOREM_PROBES, net.n_params)
        tasks.append(TrialTask(cell_cfg, bare, r, W[r], diverged is not None, probes, theorem, signs))
    return tasks


def run(cfg: HessianSettings, progress: Progress | None = None) -> HessianResult:
    """Run the `hessian` experiment (pure computation; the command renders the result).

    The initial weights of every trial (one batch), training (one batched GD program) and every random sign
    are drawn here; each trial's Hessian is then a cell of `executor.run_cells` (--jobs, --dask, --cache)
    on one BLAS thread, so the numbers do not depend on where the cells run."""
    progress, cfg = progress or no_progress, sweep.with_jobs(cfg, spectra_cost)
    problem = build_problem(cfg)
    net = problem.net
    check_spectrum(cfg.spectrum, exact_block_size(net, cfg.init) if cfg.at == "init" and cfg.spectrum == "exact"
                   else net.n_params)
    require(cfg.spectrum == "slq" or net.n_params <= EXACT_MAX_TOTAL,
            f"--spectrum {cfg.spectrum}: {net.n_params} parameters is above {EXACT_MAX_TOTAL} (every eigenvalue "
            "and the Theorem 1 check are kept per parameter); use --spectrum slq")
    W = sc.init_weights(net, cfg.init, problem.init_rng, batch_shape=(cfg.trials,))
    total = cfg.trials + (1 if cfg.at == "trained" else 0)
    trained = None
    if cfg.at == "trained":
        trained = _train(cfg, problem, W, lambda e, n: progress(e / max(n, 1), total, f"training: step {e}/{n}"))
        W = trained.weights
    tasks = trial_tasks(cfg, problem, W, None if trained is None else trained.diverged)
    offset = total - len(tasks)  # training and the diverged trials
    label = f"Hessians ({net.n_params} parameters, {cfg.spectrum})"
    done = sweep.run_sweep(cfg, measure_trial, tasks,
                         progress=lambda d, n: progress(offset + d, total, f"{label}: {d:g}/{n:g}"))
    measured = {task.trial: result for task, result in zip(tasks, done)}
    trials: list[dict[str, Any]] = []
    for r in range(cfg.trials):
        entry: dict[str, Any] = {"trial": r}
        if trained is not None:  # a diverged trial: the loss that crossed the limit, whatever --steps followed
            last = int(trained.diverged_epoch[r]) if trained.diverged[r] else -1
            entry["loss"] = float(trained.losses[last, r])
            entry["loss_gap"] = float(trained.gaps[last, r])
            entry["diverged"] = bool(trained.diverged[r])
            if trained.diverged[r]:
                entry["diverged_step"] = int(trained.diverged_epoch[r])
                entry["stats"] = None
        else:
            entry["loss"], entry["loss_gap"] = measured[r].loss, measured[r].loss_gap
        if r in measured:
            entry["stats"] = stats_dict(measured[r].stats)
        trials.append(entry)
    progress(total, total, "done")
    for entry in trials:
        spectrum = measured[entry["trial"]].spectrum if entry["trial"] in measured else {}
        if "brackets" in spectrum:
            entry["brackets"] = spectrum["brackets"]
    results = [measured[task.trial] for task in tasks]
    theory = next((res.theory for task, res in zip(tasks, results) if task.theorem), None)
    summary = summarise([res.stats for res in results])
    finite_losses = [e["loss"] for e in trials if not e.get("diverged")]
    summary["loss"] = float(np.mean(finite_losses)) if finite_losses else None
    summary["std"]["loss"] = float(np.std(finite_losses)) if finite_losses else None
    summary["n_params"] = net.n_params
    summary["diverged_trials"] = sum(1 for e in trials if e.get("diverged"))
    spectra = [res.spectrum for res in results]
    return HessianResult(cfg, problem.network_info(), problem.data_info(), summary, trials, theory, spectra)


def _train(cfg: HessianSettings, problem: Problem, W: np.ndarray, progress: Callable[[int, int], None]) -> sc.GDResult:
    """--at trained: GD from W, refused where the gradient at the start is exactly 0 (w = 0 of a plain network of
    depth ≥ 2, of n = 1 with ReLU after the sum, as of n ≥ 2 by `check`): "after N steps" would be the start."""
    data = {"X": problem.dataset.X, "Y": problem.dataset.Y, "moments": problem.moments}
    start = sc.gradient_descent(problem.net, W, cfg.lr, 0, **data)
    require(cfg.steps == 0 or not np.all(start.grad_norms[0] == 0),
            f"--at trained --init {cfg.init}: the gradient at the start is exactly 0 (a stationary point of this "
            "network), GD never leaves it; use --init small or --at init")
    progress(0, cfg.steps)
    return sc.gradient_descent(problem.net, W, cfg.lr, cfg.steps, progress=progress, **data)


def _loss_at(problem: Problem, W: np.ndarray) -> float:
    if problem.net.is_linear:
        return float(sc.linear_loss(problem.net, W, problem.moments))
    return float(sc.loss(problem.net, W, problem.dataset.X, problem.dataset.Y))
