"""`landscape deep-resnet`: critical points of deep ResNets and FC ReLU nets against the best linear
predictor (Yun et al. 2019, "Are deep ResNets provably better than linear predictors?").

For each network kind (and each depth in `blocks`) a finder runs from `trials` random starts at once:

- `finder = "gd"`: gradient descent (one batched array program), each start stopping when its
  min-norm (Clarke) subgradient norm falls below `grad_tol`. GD escapes saddles, so it measures minima only:
  the strict-saddle share it reports is 0 % by construction.
- `finder = "newton"` (default): Levenberg–Marquardt on ∇R = 0 with the exact Hessian and kink handling
  (`models.critical_points.find_critical_points`) from the same random starts; it converges to critical
  points of any index (saddles included) and stops at ‖∇R‖ < `newton_tol` (smooth) or at a Clarke point
  whose subgradient norm and kink gap are below `newton_tol`.
- `finder = "gd+newton"`: gradient descent, then the Newton/LM polish from every GD end point.

Each point is classified against the best linear predictor's risk R_lin (least squares):

- strictly better:  R < R_lin − gap_tol·R_lin
- as good (equal):  |R − R_lin| ≤ gap_tol·R_lin
- worse, strict saddle: R > R_lin + gap_tol·R_lin and λmin < −eig_tol·max|λ| of the point's Hessian
- worse, counterexample: worse, no negative curvature beyond --eig-tol NOR beyond --eig-tol-alt, and the
  escape probe (random steps in the Hessian's null space) finds no descent — a (possibly degenerate)
  local minimum worse than linear. Yun et al.'s theorem says a ResNet has none (under its conditions).
- worse, undecided: every other worse point without certified negative curvature at --eig-tol, with its
  reasons (`critical_points.honest_kind`): at a ReLU kink where the second-order information certifies
  neither a saddle nor a minimum; a strict saddle (or undecided) at --eig-tol-alt; descent found by the
  escape probe. `kind_at_eig_tol` keeps the class by curvature alone.

The index is reported as a count and a fraction: `index_count` negative eigenvalues of the point's Hessian
(dimension `index_dim`), `index` = their ratio. Every point the finder returns — converged or not — also
gets `flatness` (`critical_points.gradient_flatness`: ‖Hg‖/‖g‖ and the share of ‖g‖² in the near-kernel of
H) and `stationary`: "critical" (the finder converged), "gradient-flat" (it did not, and g lies in the
near-kernel of H: Frye et al. 2021, "Critical point-finding methods reveal gradient-flat regions of deep
network losses") or "neither".

GD points: the Hessian is the engine's (σ'(0) = 0); at a kink point it is the Hessian of that ONE smooth
piece, and the point says so (`hessian_kind`). Newton points: `analyse_point` — the smooth gradient norm
and the Clarke subgradient norm separately, the kink entries, λ_min of every smooth piece meeting the
point (or "too many pieces"), the Hessian restricted to the kink manifold (the point's reported Hessian at
a kink), the index (share of negative eigenvalues), the class at `eig_tol` and again at `eig_tol_alt`, an
escape probe in the Hessian's null space for worse points without negative curvature, de-duplication up
to unit permutations and positive rescalings (`dedup_tol`), and the exported parameters per block with
shapes and the data set (`export_point`).

"At least as good as linear" = strictly better + equal. Starts that do not converge are reported as not
converged (never dropped silently). For ResNet points the risk of the best linear read-out of every
block output h_0..h_L is also computed (the paper's §3.2 "per-block risk").

Every (blocks, network) combination is one cell of `executor.run_cells` (--jobs, --dask, --cache). All
random draws happen in the parent, in one order: the data, then the starts of every cell (blocks outer,
network inner); a cell gets its starts and the data and draws nothing (the escape probe's directions come
from its own fixed seed), so the numbers are bitwise the same for any executor and --jobs.

The per-point analysis and the rows are `experiments/deep_resnet_points.py`; gradient descent along the
min-norm subgradient is `models/clarke.py`, the Newton/LM finder `models/critical_points/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional

import numpy as np

from resnet_cli import budget
from resnet_cli.config import require_distinct, setting
from resnet_cli.data import Dataset, check_spec, dataset_shape, load_dataset
from resnet_cli.errors import ConfigError
from resnet_cli.executor import cell_progress
from resnet_cli.experiments import sweep
from resnet_cli.experiments.sweep import Progress, SweepSettings
from resnet_cli.models import critical_points as cp
from resnet_cli.models import deep_resnet as dr
from resnet_cli.models.clarke import gradient_descent, min_norm_subgradient
from resnet_cli.experiments.deep_resnet_points import (MAX_PIECES, gd_points, newton_points, newton_summary,
                                                       per_block_summary, row_summary)
from resnet_cli.rng import make_rng
from resnet_cli.experiments.summary import short_repr

NETWORKS = ["resnet", "fc"]
MAX_PARAMS = 4000  # exact Hessians are P x P and their tangent arrays P x width x samples
MAX_TANGENT_ENTRIES = 6e7
FINDERS = ("gd", "newton", "gd+newton")



@dataclass(frozen=True)
class DeepResnetSettings(SweepSettings):
    """Every option of `landscape deep-resnet`, its default and its range, once (docs/landscape.md)."""

    COMMAND: ClassVar[str] = "landscape deep-resnet"
    data: str = setting("yun-example1")
    # bounded so that the risk (∝ ρ², ρ⁴ in the paper's closed forms) and the init's products stay finite:
    # beyond, the statistics would be inf/nan rather than an answer
    rho: float = setting(0.5, min=0, open_min=True, max=1e6)
    samples: int = setting(64, min=2, max=100000)
    dim: int = setting(4, min=1, max=1000)
    blocks: list[int] = setting([1], min=1, max=64)
    width: Optional[int] = setting(None, min=1, shown="input dim")
    hidden: int = setting(1, min=1, max=512)
    bias: bool = setting(True)
    compare: str = setting("none", choices=("none", "fc"))
    fc_width: Optional[int] = setting(None, min=1, shown="matched")
    trials: int = setting(20, min=1, max=10000)
    steps: int = setting(20000, min=1)
    lr: float = setting(0.01, min=0, open_min=True)
    grad_tol: float = setting(1e-6, min=0, open_min=True, max=1e-3)  # above, far-from-critical points pass
    gap_tol: float = setting(1e-4, min=1e-12)  # below, rounding of R (1e-16 relative) would decide the class
    eig_tol: float = setting(1e-5, min=1e-12, max=1e-2)  # above, a clearly negative λmin would not be a saddle;
    # below 1e-12, rounding of the eigenvalues (1e-16 · |λ|max) would decide "strict saddle" (as gap_tol)
    init: str = setting("standard", choices=("standard", "near-identity"))
    init_scale: float = setting(0.5, min=0, open_min=True, max=1e3)
    finder: str = setting("newton", choices=FINDERS)
    newton_steps: int = setting(300, min=1, max=100000)
    newton_tol: float = setting(1e-10, min=0, open_min=True, max=1e-3)
    dedup_tol: float = setting(1e-6, min=0)
    eig_tol_alt: float = setting(1e-8, min=1e-12, max=1e-2)
    seed: int = setting(0)

    def check(self) -> None:
        check_spec(self.data)
        require_distinct("--blocks", self.blocks)
        budget.check(cost(self))


def data_sizes(cfg: DeepResnetSettings) -> tuple[int, int, int]:
    """(samples, d_in, d_out) of --data without loading it (MNIST: at most --samples)."""
    return dataset_shape(cfg.data, cfg.samples, cfg.dim, teacher="relu")

def cost(cfg: DeepResnetSettings) -> budget.Cost:
    """Memory and time before any allocation (resnet_cli/budget.py): per network and depth, the Newton
    finder's trials × params² Hessians and trials × params × units × samples tangents (all starts at
    once), gradient descent's activations; the time of GD steps and Newton iterations."""
    gd, newton = cfg.finder != "newton", cfg.finder != "gd"
    sized = budget.flags(trials=cfg.trials, blocks=cfg.blocks, hidden=cfg.hidden,
                         **({"width": cfg.width} if cfg.width else {}),
                         **({"compare": cfg.compare, "fc_width": cfg.fc_width} if cfg.compare == "fc" else {}),
                         **({"samples": cfg.samples, "dim": cfg.dim} if cfg.data == "gaussian" else
                            {"data": cfg.data, "samples": cfg.samples} if cfg.samples is not None else {}),
                         **({"steps": cfg.steps} if gd else {}), **({"newton_steps": cfg.newton_steps} if newton else {}))
    return _cost(cfg, net_sizes(cfg), sized, workers=sweep.workers(cfg, cost))

def _cost(cfg: DeepResnetSettings, nets: list[tuple[int, int, int]], sized: str = "", workers: int = 1) -> budget.Cost:
    gd, newton = cfg.finder != "newton", cfg.finder != "gd"
    return budget.deep_resnet(nets, data_sizes(cfg)[0], trials=cfg.trials, gd_steps=cfg.steps if gd else 0,
                              newton_steps=cfg.newton_steps if newton else 0, pieces=MAX_PIECES, sized=sized,
                              workers=workers)

def net_sizes(cfg: DeepResnetSettings) -> list[tuple[int, int, int]]:
    """(params, blocks, units) of every cell in run order (blocks outer, network inner), from the sizes alone."""
    _, d_in, d_out = data_sizes(cfg)
    width = max(cfg.width or d_in, d_in)  # a smaller --width is refused when the run starts
    nets = []
    for L in cfg.blocks:
        rs = dr.ResNetShape(d_in, width, cfg.hidden, L, d_out, cfg.bias)
        nets.append((rs.n_params, L, d_in + (L + 1) * width + 2 * L * cfg.hidden + d_out))
        if cfg.compare == "fc":
            fw = cfg.fc_width if cfg.fc_width is not None else dr.matched_fc_width(rs)
            nets.append((dr.FCShape(d_in, fw, L, d_out, cfg.bias).n_params, L, d_in + 3 * L * fw + d_out))
    return nets

def cell_seconds(cfg: DeepResnetSettings) -> list[float]:
    """The estimated seconds of every cell in run order: weights of the progress bar and the schedule."""
    return [_cost(cfg, [net]).seconds for net in net_sizes(cfg)]

def finder_share(cfg: DeepResnetSettings, n_params: int, blocks: int) -> float:
    """The finder's (GD, Newton/LM) share of a cell's estimated time; the rest is the analysis of its
    points, one Hessian each (budget.py's model: GD counts as its full --steps, so a GD that stops
    early makes the bar jump forward, never back)."""
    points = cfg.trials * n_params**2 * data_sizes(cfg)[0] * budget.DEEP_RESNET_STEP
    finder = _cost(cfg, [(n_params, blocks, 0)]).seconds - (points if cfg.finder == "gd" else 0.0)
    return finder / (finder + points)

def networks(cfg: DeepResnetSettings) -> list[str]:
    """The network kinds of a run: the ResNet, and the FC net with --compare fc."""
    return ["resnet"] + (["fc"] if cfg.compare == "fc" else [])



@dataclass
class DeepResnetResult:
    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: DeepResnetSettings
    width: int
    data: dict[str, Any]
    linear_risk: float
    risk_tol: float  # gap_tol · max(R_lin, tiny): risks closer than this are "equal"
    rows: list[dict[str, Any]]
    points: list[dict[str, Any]]
    per_block: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        config = {**sweep.result_config(self.settings), "width": self.width, "networks": networks(self.settings)}
        return {"command": DeepResnetSettings.COMMAND, "config": config, "data": self.data,
                "linear_risk": self.linear_risk, "risk_tol": self.risk_tol, "rows": self.rows,
                "per_block": self.per_block, "points": self.points}


# ----------------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------------


def load(settings: DeepResnetSettings, rng: np.random.Generator) -> Dataset:
    """The data set of `settings` from `resnet_cli.data` (samples as rows). --samples applies to gaussian,
    digits and mnist, --dim to gaussian (whose teacher here is the ReLU one), --rho to yun-example1."""
    kind = check_spec(settings.data)
    fixed = kind in ("yun-example1", "yun-example2")
    return load_dataset(settings.data, rng, samples=None if fixed else settings.samples,
                        dim=settings.dim if kind == "gaussian" else None, rho=settings.rho, teacher="relu")


def columns(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """THE one place the axis convention changes: the engine (`models.deep_resnet`) computes with samples
    as columns, X (d_in, m) and Y (d_out, m); `resnet_cli.data` gives samples as rows."""
    return np.ascontiguousarray(dataset.X.T, dtype=float), np.ascontiguousarray(dataset.Y.T, dtype=float)


# ----------------------------------------------------------------------------------------------------
# The experiment
# ----------------------------------------------------------------------------------------------------


def check_sizes(settings: DeepResnetSettings, d_in: int, d_out: int, m: int) -> int:
    """The stream width; ConfigError (before any descent) when a network is too large for exact Hessians."""
    width = settings.width if settings.width is not None else d_in
    if width < d_in:
        raise ConfigError(f"--width {width}: smaller than the input dimension {d_in} of --data {settings.data}")
    for L in settings.blocks:
        rs = dr.ResNetShape(d_in, width, settings.hidden, L, d_out, settings.bias)
        fw = settings.fc_width if settings.fc_width is not None else dr.matched_fc_width(rs)
        for name, P, widest in (("ResNet", rs.n_params, max(width, settings.hidden, d_out)),
                                ("FC", dr.FCShape(d_in, fw, L, d_out, settings.bias).n_params, max(fw, d_in, d_out))):
            if name == "FC" and settings.compare != "fc":
                continue
            if P > MAX_PARAMS or P * widest * m > MAX_TANGENT_ENTRIES:
                raise ConfigError(f"--blocks {L}: the {name} has {P} parameters, too large for exact Hessians "
                                  f"(at most {MAX_PARAMS} parameters and {MAX_TANGENT_ENTRIES:.0e} tangent "
                                  f"entries P·width·samples)")
    return width


def network_shape(cfg: DeepResnetSettings, network: str, blocks: int, d_in: int, d_out: int,
                  width: int) -> dr.ResNetShape | dr.FCShape:
    """The shape of one cell's network: the ResNet, or the FC net of --fc-width (default: matched to it)."""
    rshape = dr.ResNetShape(d_in, width, cfg.hidden, blocks, d_out, cfg.bias)
    if network == "resnet":
        return rshape
    fw = cfg.fc_width if cfg.fc_width is not None else dr.matched_fc_width(rshape)
    return dr.FCShape(d_in, fw, blocks, d_out, cfg.bias)


@dataclass(frozen=True)
class CellTask:
    """One (blocks, network) cell with everything it needs: picklable, and its own cache key (the settings
    without --jobs/--dask/--cache, the data, the best linear risk and the starts drawn by the parent)."""

    settings: DeepResnetSettings
    network: str
    blocks: int
    X: np.ndarray  # (d_in, m): samples as columns (`columns`)
    Y: np.ndarray  # (d_out, m)
    width: int
    linear_risk: float
    scale: float
    theta0: np.ndarray  # (trials, P)


def run_cell(task: CellTask, progress: Callable[[float], None] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The finder from the cell's starts, Hessians and classes: (the cell's row, its points).

    ``progress(fraction)`` of the cell, by the estimated time (`finder_share`): gradient descent step by
    step, then (GD) each point's Hessian or (Newton) the finder and each point's analysis.
    """
    cfg, net, L, X, Y = task.settings, task.network, task.blocks, task.X, task.Y
    shape = network_shape(cfg, net, L, X.shape[0], Y.shape[0], task.width)
    share = finder_share(cfg, shape.n_params, L)

    def report(finder: float, points: int = 0) -> None:  # finder: its share done, 0..1
        if progress is not None:
            progress(share * finder + (1 - share) * points / cfg.trials)

    if isinstance(shape, dr.ResNetShape):
        rg = lambda th, masks=None: dr.resnet_risk_grad(shape, th, X, Y, masks)  # noqa: E731
        hf = lambda th: dr.resnet_hessian(shape, th, X, Y)  # noqa: E731
        pre = lambda th: dr.resnet_preactivations(shape, th, X)  # noqa: E731

        def extra(th: np.ndarray) -> dict[str, Any]:
            norms = dr.block_norms(shape, th[None])[0]
            out: dict[str, Any] = {"block_norm_sum": float(norms.sum())}
            pb = dr.per_block_risks(shape, th, X, Y)
            out["per_block_risk"] = [float(v) for v in pb]
            out["per_block_monotone"] = bool(np.all(np.diff(pb) <= cfg.gap_tol * task.scale))
            return out

        hidden: int | None = cfg.hidden
        net_width = task.width
    else:
        rg = lambda th, masks=None: dr.fc_risk_grad(shape, th, X, Y, masks)  # noqa: E731
        hf = lambda th: dr.fc_hessian(shape, th, X, Y)  # noqa: E731
        pre = lambda th: dr.fc_preactivations(shape, th, X)  # noqa: E731
        extra = lambda th: {}  # noqa: E731
        hidden, net_width = None, shape.width

    def steer(th: np.ndarray, g: np.ndarray) -> Any:
        return min_norm_subgradient(rg, pre, th, g)

    res = None
    if cfg.finder != "newton":
        res = gradient_descent(rg, task.theta0, steps=cfg.steps, lr=cfg.lr, grad_tol=cfg.grad_tol,
                               direction=steer, progress=lambda it, steps: report(it / steps))
    after_finder = lambda points: report(1, points)  # noqa: E731
    problem = cp.Problem(shape, X, Y)
    if res is not None and cfg.finder == "gd":
        grad_at = lambda th: steer(th[None], rg(th[None])[1])[0][0]  # noqa: E731
        pts = gd_points(net, L, res, hf, task.linear_risk, task.scale, cfg, extra, problem, grad_at, after_finder)
    else:
        starts = task.theta0 if res is None else res.theta
        pts = newton_points(net, L, problem, starts, "random" if res is None else "gd",
                             task.linear_risk, task.scale, cfg, extra, gd=res, progress=after_finder)
    row = row_summary(net, L, shape.n_params, net_width, hidden, pts, cfg.trials, task.linear_risk)
    row.update(newton_summary(pts, cfg) if cfg.finder != "gd" else {"finder": "gd"})
    return row, pts


def run_cell_task(task: CellTask) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A cell as `executor.run_cells` runs it: progress inside the cell through `cell_progress`."""
    return run_cell(task, cell_progress)


def run(settings: DeepResnetSettings, progress: Progress | None = None) -> DeepResnetResult:
    """Data, best linear predictor, the starts of every cell, then the cells through `executor.run_cells`
    (--jobs local processes, --dask, --cache) and the per-block summary.

    One generator, `make_rng(seed)`, draws the data (gaussian) and then every cell's starts, in order
    (blocks outer, network inner), all here: a cell draws nothing, so the numbers do not depend on where
    or in which order cells run. ``progress(completed, total)`` moves inside cells too.
    """
    cfg = sweep.with_jobs(settings, cost)
    rng = make_rng(cfg.seed)
    dataset = load(cfg, rng)
    X, Y = columns(dataset)
    d_in, d_out, m = X.shape[0], Y.shape[0], X.shape[1]
    width = check_sizes(cfg, d_in, d_out, m)
    info = {"name": dataset.name, **dataset.info, "d_in": d_in, "d_out": d_out, "samples": m}
    lin = dr.best_linear_predictor(X, Y, bias=cfg.bias)
    scale = max(lin.risk, 1e-12 * float(np.mean(np.sum(Y * Y, axis=0))), 1e-300)
    cell_cfg = sweep.cell_settings(cfg)
    tasks = []
    for L in cfg.blocks:
        for net in networks(cfg):
            shape = network_shape(cfg, net, L, d_in, d_out, width)
            if isinstance(shape, dr.ResNetShape):
                theta0 = dr.resnet_init(shape, rng, cfg.trials, X, mode=cfg.init, scale=cfg.init_scale)
            else:
                theta0 = dr.fc_init(shape, rng, cfg.trials, X)
            tasks.append(CellTask(cell_cfg, net, L, X, Y, width, lin.risk, scale, theta0))
    cells = sweep.run_sweep(cfg, run_cell_task, tasks, weights=cell_seconds(cfg), progress=progress)
    rows = [row for row, _ in cells]
    points = [p for _, pts in cells for p in pts]
    per_block = None
    if len(cfg.blocks) == 1 and cfg.blocks[0] >= 2:
        per_block = per_block_summary(points, cfg, scale)
    return DeepResnetResult(settings=settings, width=width, data=info, linear_risk=lin.risk,
                            risk_tol=cfg.gap_tol * scale, rows=rows, points=points, per_block=per_block)
