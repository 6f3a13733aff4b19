"""`landscape deep-resnet`: critical points of deep ResNets and FC ReLU nets against the best linear
predictor (Yun et al. 2019, "Are deep ResNets provably better than linear predictors?").

For each network kind (and each depth in `blocks`) a finder runs from `trials` random starts at once:

- `finder = "gd"` (default): gradient descent (one batched array program), each start stopping when its
  min-norm (Clarke) subgradient norm falls below `grad_tol`. GD escapes saddles, so it measures minima only:
  the strict-saddle share it reports is 0 % by construction.
- `finder = "newton"`: Levenberg–Marquardt on ∇R = 0 with the exact Hessian and kink handling
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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Optional

import numpy as np

from resnet_cli import budget
from resnet_cli.config import setting
from resnet_cli.data import Dataset, check_spec, dataset_shape, load_dataset
from resnet_cli.errors import ConfigError
from resnet_cli.executor import cell_progress
from resnet_cli.experiments import sweep
from resnet_cli.experiments.sweep import SweepSettings
from resnet_cli.models import critical_points as cp
from resnet_cli.models import deep_resnet as dr
from resnet_cli.models.clarke import DescentResult, gradient_descent, min_norm_subgradient
from resnet_cli.rng import make_rng
from resnet_cli.experiments.summary import short_repr

NETWORKS = ["resnet", "fc"]
MAX_PARAMS = 4000  # exact Hessians are P x P and their tangent arrays P x width x samples
MAX_TANGENT_ENTRIES = 6e7
FINDERS = ("gd", "newton", "gd+newton")
ESCAPE_DIRECTIONS = 1000  # random null-space directions of the escape probe (counterexamples)
MAX_PIECES = 256  # at most this many smooth pieces of a kink point are enumerated (evaluated at once)

Progress = Callable[..., None]


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
    grad_tol: float = setting(1e-6, min=0, open_min=True)
    gap_tol: float = setting(1e-4, min=0)
    eig_tol: float = setting(1e-5, min=0)
    init: str = setting("standard", choices=("standard", "near-identity"))
    init_scale: float = setting(0.5, min=0, open_min=True, max=1e3)
    finder: str = setting("newton", choices=FINDERS)
    newton_steps: int = setting(300, min=1, max=100000)
    newton_tol: float = setting(1e-10, min=0, open_min=True)
    dedup_tol: float = setting(1e-6, min=0)
    eig_tol_alt: float = setting(1e-8, min=0)
    seed: int = setting(0)

    def check(self) -> None:
        check_spec(self.data)
        budget.check(self.cost())

    def data_sizes(self) -> tuple[int, int, int]:
        """(samples, d_in, d_out) of --data without loading it (MNIST: at most --samples)."""
        return dataset_shape(self.data, self.samples, self.dim, teacher="relu")

    def cost(self) -> budget.Cost:
        """Memory and time before any allocation (resnet_cli/budget.py): per network and depth, the Newton
        finder's trials × params² Hessians and trials × params × units × samples tangents (all starts at
        once), gradient descent's activations; the time of GD steps and Newton iterations."""
        gd, newton = self.finder != "newton", self.finder != "gd"
        sized = budget.flags(trials=self.trials, blocks=self.blocks, hidden=self.hidden,
                             **({"width": self.width} if self.width else {}),
                             **({"samples": self.samples, "dim": self.dim} if self.data == "gaussian" else {}),
                             **({"steps": self.steps} if gd else {}), **({"newton_steps": self.newton_steps} if newton else {}))
        return self._cost(self.net_sizes(), sized, workers=sweep.workers(self))

    def _cost(self, nets: list[tuple[int, int, int]], sized: str = "", workers: int = 1) -> budget.Cost:
        gd, newton = self.finder != "newton", self.finder != "gd"
        return budget.deep_resnet(nets, self.data_sizes()[0], trials=self.trials, gd_steps=self.steps if gd else 0,
                                  newton_steps=self.newton_steps if newton else 0, pieces=MAX_PIECES, sized=sized,
                                  workers=workers)

    def net_sizes(self) -> list[tuple[int, int, int]]:
        """(params, blocks, units) of every cell in run order (blocks outer, network inner), from the sizes alone."""
        _, d_in, d_out = self.data_sizes()
        width = max(self.width or d_in, d_in)  # a smaller --width is refused when the run starts
        nets = []
        for L in self.blocks:
            rs = dr.ResNetShape(d_in, width, self.hidden, L, d_out, self.bias)
            nets.append((rs.n_params, L, d_in + (L + 1) * width + 2 * L * self.hidden + d_out))
            if self.compare == "fc":
                fw = self.fc_width if self.fc_width is not None else dr.matched_fc_width(rs)
                nets.append((dr.FCShape(d_in, fw, L, d_out, self.bias).n_params, L, d_in + 3 * L * fw + d_out))
        return nets

    def cell_seconds(self) -> list[float]:
        """The estimated seconds of every cell in run order: weights of the progress bar and the schedule."""
        return [self._cost([net]).seconds for net in self.net_sizes()]

    def finder_share(self, n_params: int, blocks: int) -> float:
        """The finder's (GD, Newton/LM) share of a cell's estimated time; the rest is the analysis of its
        points, one Hessian each (budget.py's model: GD counts as its full --steps, so a GD that stops
        early makes the bar jump forward, never back)."""
        points = self.trials * n_params**2 * self.data_sizes()[0] * budget.DEEP_RESNET_STEP
        finder = self._cost([(n_params, blocks, 0)]).seconds - (points if self.finder == "gd" else 0.0)
        return finder / (finder + points)

    @property
    def networks(self) -> list[str]:
        return ["resnet"] + (["fc"] if self.compare == "fc" else [])


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
        config = {**sweep.result_config(self.settings), "width": self.width, "networks": self.settings.networks}
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
# Classification of critical points
# ----------------------------------------------------------------------------------------------------


def classify(risk: float, lam_min: float, lam_absmax: float, linear_risk: float, scale: float,
             cfg: DeepResnetSettings, kinks: int = 0, eig_tol: float | None = None) -> str:
    """One of "better", "equal", "strict_saddle", "counterexample", "kink_undecided".

    At a point where a ReLU kink sits on a sample (kinks > 0) the Hessian is that of one smooth piece
    (σ'(0) = 0); its negative curvature may point across the kink, so it certifies nothing: a worse point
    there with λmin < 0 is "kink_undecided" (counted, never dropped). `eig_tol` defaults to --eig-tol.
    The label a point is reported with is `critical_points.honest_kind` of this class.
    """
    eig_tol = cfg.eig_tol if eig_tol is None else eig_tol
    gap = risk - linear_risk
    if gap < -cfg.gap_tol * scale:
        return "better"
    if gap <= cfg.gap_tol * scale:
        return "equal"
    if lam_min < -eig_tol * max(lam_absmax, 1e-300):
        return "kink_undecided" if kinks > 0 else "strict_saddle"
    return "counterexample"


def _summarise(network: str, blocks: int, n_params: int, width: int, hidden: int | None,
               points: list[dict[str, Any]], trials: int, linear_risk: float) -> dict[str, Any]:
    done = [p for p in points if p["converged"]]
    n = len(done)
    kinds = [p["kind"] for p in done]

    def share(count: int) -> float:
        return count / n if n else float("nan")

    better, equal = kinds.count("better"), kinds.count("equal")
    saddle, counter = kinds.count("strict_saddle"), kinds.count("counterexample")
    undecided = kinds.count("undecided")
    reasons = {code: sum(any(r["code"] == code for r in p["undecided_reasons"]) for p in done)
               for code in cp.UNDECIDED_REASONS}
    stationary = [p["stationary"] for p in points]
    risks = [p["risk"] for p in done]
    row: dict[str, Any] = {
        "network": network,
        "blocks": blocks,
        "params": n_params,
        "width": width,
        "hidden": hidden,
        "trials": trials,
        "points": n,
        "not_converged": trials - n,
        "strictly_better": better,
        "equal": equal,
        "worse": saddle + counter + undecided,
        "undecided": undecided,
        "undecided_reasons": reasons,
        "worse_at_kink_undecided": reasons["kink"],
        "share_at_least_linear": share(better + equal),
        "share_strictly_better": share(better),
        "share_strict_saddle": share(saddle),
        "counterexamples": counter,
        "critical": stationary.count("critical"),
        "gradient_flat": stationary.count("gradient-flat"),
        "neither_critical_nor_flat": stationary.count("neither"),
        "saddle_index_min": min((p["index"] for p in done if p["kind"] == "strict_saddle"), default=float("nan")),
        "saddle_index_max": max((p["index"] for p in done if p["kind"] == "strict_saddle"), default=float("nan")),
        "saddle_index_counts": sorted({(p["index_count"], p["index_dim"]) for p in done
                                       if p["kind"] == "strict_saddle"}),
        "best_risk": min(risks) if risks else float("nan"),
        "worst_risk": max(risks) if risks else float("nan"),
        "linear_risk": linear_risk,
        "max_risk_ratio": (max(risks) / linear_risk) if risks and linear_risk > 0 else float("nan"),
    }
    if network == "resnet":
        norms = [p["block_norm_sum"] for p in done]
        row["max_block_norm_sum"] = max(norms) if norms else float("nan")
    return row


def _points(network: str, blocks: int, res: DescentResult, hess_fn: Callable[[np.ndarray], np.ndarray],
            linear_risk: float, scale: float, cfg: DeepResnetSettings, extra: Callable[[np.ndarray], dict[str, Any]],
            problem: cp.Problem, grad_at: Callable[[np.ndarray], np.ndarray],
            progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Hessian, class (`classify` at both tolerances, the escape probe, `critical_points.honest_kind`) and
    gradient flatness (of `grad_at(θ)`, the min-norm subgradient) at every GD end point; ``progress(points
    done)`` after each."""
    out = []
    for b in range(res.theta.shape[0]):
        th = res.theta[b]
        point: dict[str, Any] = {
            "network": network,
            "blocks": blocks,
            "trial": b,
            "converged": bool(res.converged[b]),
            "risk": float(res.risk[b]),
            "gap": float(res.risk[b] - linear_risk),
            "grad_norm": float(res.grad_norm[b]),
            "stationarity": float(res.stationarity[b]),
            "kinks": int(res.kinks[b]),
            "steps": int(res.steps[b]),
        }
        H = hess_fn(th)
        flat = cp.gradient_flatness(grad_at(th), H, cfg.eig_tol)
        point.update(flatness=flat, stationary=cp.stationarity_class(point["converged"], flat),
                     undecided_reasons=[])
        if res.converged[b]:
            evals, evecs = np.linalg.eigh(H)
            lam_min, lam_absmax = float(evals[0]), float(np.abs(evals).max())
            point["lambda_min"] = lam_min
            point["lambda_max"] = float(evals[-1])
            args = (point["risk"], lam_min, lam_absmax, linear_risk, scale, cfg, point["kinks"])
            raw, alt = classify(*args), classify(*args, eig_tol=cfg.eig_tol_alt)
            probe = None
            if raw in ("counterexample", "kink_undecided"):
                null = evecs[:, np.abs(evals) <= cfg.eig_tol * max(lam_absmax, 1e-300)]
                probe = cp.escape_probe(problem, th, null, directions=ESCAPE_DIRECTIONS)
            point["kind"], point["undecided_reasons"] = cp.honest_kind(raw, alt, probe, cfg.eig_tol_alt)
            neg = int((evals < -cfg.eig_tol * max(lam_absmax, 1e-300)).sum())
            point.update(kind_at_eig_tol=raw, alt={"eig_tol": cfg.eig_tol_alt, "kind": alt}, escape_probe=probe,
                         index=neg / evals.size, index_count=neg, index_dim=int(evals.size))
        else:
            point["lambda_min"] = float("nan")
            point["lambda_max"] = float("nan")
            point["kind"] = "not_converged"
        # the engine's Hessian takes σ'(0) = 0: at a kink point it is ONE smooth piece's, and we say so
        point["hessian_kind"] = "smooth" if point["kinks"] == 0 else "sigma0_piece"
        point.update(extra(th))
        out.append(point)
        if progress is not None:
            progress(b + 1)
    return out


def _class_of(info: dict[str, Any]) -> dict[str, Any]:
    """The second-order summary of an `analyse_point` dict (one eigenvalue tolerance)."""
    hess = info["hessian"]
    return {"kind": info["kind"], "index": info["index"], "negative": hess["negative"], "zero": hess["zero"],
            "lambda_min": hess["lambda_min"]}


def _analysed(problem: cp.Problem, fr: cp.FinderResult, b: int, linear_risk: float, cfg: DeepResnetSettings,
              same_point: dict[int, int], same_predictor: dict[int, int]) -> dict[str, Any]:
    """The analysis of converged point b (`critical_points.analyse_point` at both eigenvalue tolerances,
    `honest_kind`, de-duplication labels): the keys `_newton_points` adds to it."""
    # the finder's kink entries and slopes, plus every other sample on a kink (|z| ≤ 1e-9·max(1, |z|)),
    # whose slope is its side's 1[z > 0] (the finder's pattern, so its Clarke norm is unchanged)
    entries, weights = list(fr.kinks[b]), list(fr.weights[b])
    z = [zl[0] for zl in problem.preactivations(fr.theta[b][None])]
    for layer, j, i in cp.kink_entries(z):
        if (layer, j, i) not in entries:
            entries.append((layer, j, i))
            weights.append(float(z[layer][j, i] > 0))
    kw = {"linear_risk": linear_risk, "entries": entries, "weights": weights, "gap_tol": cfg.gap_tol,
          "max_pieces": MAX_PIECES}
    info = cp.analyse_point(problem, fr.theta[b], eig_tol=cfg.eig_tol, probe_directions=ESCAPE_DIRECTIONS,
                            **kw)
    unused = len(entries) - len(fr.kinks[b])
    if unused and info["clarke_norm"] >= cfg.newton_tol:
        # nested kinks: the extra entries move the downstream pattern; analyse the finder's own entries
        # and say how many on-kink entries that leaves out
        kw.update(entries=fr.kinks[b], weights=fr.weights[b])
        info = cp.analyse_point(problem, fr.theta[b], eig_tol=cfg.eig_tol,
                                probe_directions=ESCAPE_DIRECTIONS, **kw)
    else:
        unused = 0
    alt = cp.analyse_point(problem, fr.theta[b], eig_tol=cfg.eig_tol_alt, probe_directions=0, **kw)
    hess = info["hessian"]
    kind, reasons = cp.honest_kind(info["kind"], alt["kind"], info["escape_probe"], cfg.eig_tol_alt)
    return {
        # the finder's residual re-computed from scratch (they disagree at some nested-kink points)
        "on_kink_not_analysed": unused, "recheck_failed": bool(info["clarke_norm"] >= cfg.newton_tol),
        "clarke_norm": info["clarke_norm"], "engine_clarke_norm": info["engine_clarke_norm"],
        "stationarity": max(info["clarke_norm"], float(fr.kink_gap[b])),
        "kinks": len(info["kinks"]), "kink_entries": info["kinks"], "on_kink": info["on_kink"],
        "nested_kinks": info["nested_kinks"], "hessian": hess, "hessian_kind": hess["kind"],
        "lambda_min": hess["lambda_min"], "lambda_max": hess["lambda_max"], "pieces": info["pieces"],
        "index": info["index"], "index_count": hess["negative"], "index_dim": hess["dim"],
        "kind": kind, "kind_at_eig_tol": info["kind"], "undecided_reasons": reasons,
        "escape_probe": info["escape_probe"], "flatness": info["flatness"], "stationary": "critical",
        "alt": {"eig_tol": cfg.eig_tol_alt, **_class_of(alt)},
        "duplicate_of": None if same_point[b] == b else same_point[b],
        "same_predictor_as": None if same_predictor[b] == b else same_predictor[b],
    }


def _newton_points(network: str, blocks: int, problem: cp.Problem, starts: np.ndarray, start: str,
                   linear_risk: float, cfg: DeepResnetSettings, extra: Callable[[np.ndarray], dict[str, Any]],
                   gd: DescentResult | None = None, progress: Callable[[int], None] | None = None,
                   ) -> list[dict[str, Any]]:
    """Newton/LM from every start, then per point: stationarity (smooth and Clarke), kinks, pieces, the
    point's Hessian and index at both eigenvalue tolerances, class, de-duplication, exported parameters;
    ``progress(points done)`` after the finder (0) and after each point's analysis."""
    fr = cp.find_critical_points(problem, starts, tol=cfg.newton_tol, max_iter=cfg.newton_steps)
    conv = np.flatnonzero(fr.converged)
    same_point: dict[int, int] = {}
    same_predictor: dict[int, int] = {}
    if conv.size:
        for by, target in (("parameters", same_point), ("function", same_predictor)):
            reps, labels = cp.deduplicate(problem, fr.theta[conv], tol=cfg.dedup_tol, by=by)
            target.update({int(conv[n]): int(conv[reps[lab]]) for n, lab in enumerate(labels)})
    if progress is not None:
        progress(0)
    out = []
    for b in range(starts.shape[0]):
        point: dict[str, Any] = {"network": network, "blocks": blocks, "trial": b, "finder": cfg.finder,
                                 "start": start, "converged": bool(fr.converged[b]),
                                 "iterations": int(fr.iterations[b]), "risk": float(fr.risk[b]),
                                 "gap": float(fr.risk[b] - linear_risk), "grad_norm": float(fr.grad_norm[b]),
                                 "clarke_norm": float(fr.residual[b]), "kink_gap": float(fr.kink_gap[b])}
        if gd is not None:
            point["gd"] = {"steps": int(gd.steps[b]), "converged": bool(gd.converged[b]),
                           "risk": float(gd.risk[b]), "stationarity": float(gd.stationarity[b])}
        if fr.converged[b]:
            point.update(_analysed(problem, fr, b, linear_risk, cfg, same_point, same_predictor))
        else:
            flat = cp.flatness_at(problem, fr.theta[b], cfg.eig_tol)
            point.update({"stationarity": max(float(fr.residual[b]), float(fr.kink_gap[b])),
                          "kinks": len(fr.kinks[b]), "lambda_min": float("nan"), "lambda_max": float("nan"),
                          "kind": "not_converged", "undecided_reasons": [], "flatness": flat,
                          "stationary": cp.stationarity_class(False, flat)})
        point.update(extra(fr.theta[b]))
        point["parameters"] = cp.export_point(problem, fr.theta[b])
        out.append(point)
        if progress is not None:
            progress(b + 1)
    return out


def _newton_summary(points: list[dict[str, Any]], cfg: DeepResnetSettings) -> dict[str, Any]:
    """Convergence, de-duplication, index, kink and tolerance columns of a row (Newton finders)."""
    done = [p for p in points if p["converged"]]
    saddles = [p for p in done if p["kind"] == "strict_saddle"]
    kinked = [p for p in done if p["on_kink"]]
    enumerated = [p["pieces"] for p in kinked if p["pieces"]["enumerated"]]
    negative = [pc for pc in enumerated if any(r["negative"] for r in pc["all"])]
    alt = [p["alt"]["kind"] for p in done]
    worse_flat = [p for p in done if p["kind_at_eig_tol"] in ("counterexample", "kink_undecided")]
    not_saddle = [p["risk"] for p in done if p["kind"] != "strict_saddle"]
    linear_risk = points[0]["risk"] - points[0]["gap"] if points else float("nan")
    return {
        "finder": cfg.finder,
        "newton_tol": cfg.newton_tol,
        "converged_smooth": sum(not p["on_kink"] for p in done),
        "converged_at_kink": len(kinked),
        "recheck_failed": sum(p["recheck_failed"] for p in done),
        "distinct": sum(p["duplicate_of"] is None for p in done),
        "merged": sum(p["duplicate_of"] is not None for p in done),
        "distinct_predictors": sum(p["same_predictor_as"] is None for p in done),
        "strict_saddles": len(saddles),
        "max_risk_ratio_not_saddle": (max(not_saddle) / linear_risk) if not_saddle and linear_risk > 0
        else float("nan"),
        "max_smooth_grad_norm_at_kinks": max((p["grad_norm"] for p in kinked), default=float("nan")),
        "max_clarke_norm": max((p["clarke_norm"] for p in done), default=float("nan")),
        "points_with_negative_piece": len(negative),
        "pieces_lambda_min": min((pc["lambda_min"] for pc in negative), default=float("nan")),
        "too_many_pieces": sum(not p["pieces"]["enumerated"] for p in kinked),
        "probed": len(worse_flat),
        "no_negative_curvature": sum(p["kind_at_eig_tol"] == "counterexample" for p in done),
        "kink_neither": sum(p["kind_at_eig_tol"] == "kink_undecided" for p in done),
        "escape_found": sum(bool(p["escape_probe"] and p["escape_probe"]["descent"]) for p in worse_flat),
        "eig_tol_alt": cfg.eig_tol_alt,
        "strict_saddles_alt": alt.count("strict_saddle"),
        "counterexamples_alt": alt.count("counterexample"),
        "kink_undecided_alt": alt.count("kink_undecided"),
        "share_strict_saddle_alt": alt.count("strict_saddle") / len(done) if done else float("nan"),
    }


def _per_block_summary(points: list[dict[str, Any]], cfg: DeepResnetSettings, scale: float) -> dict[str, Any] | None:
    pts = [p for p in points if p["network"] == "resnet" and p["converged"] and "per_block_risk" in p]
    if not pts:
        return None
    best = min(p["risk"] for p in pts)
    tol = cfg.gap_tol * scale
    global_pts = [p for p in pts if p["risk"] <= best + tol]
    nonmono_all = sum(not p["per_block_monotone"] for p in pts)
    nonmono_global = sum(not p["per_block_monotone"] for p in global_pts)
    # show the non-monotone global minima first (the paper's point), then the lowest-risk others
    shown = sorted(pts, key=lambda p: (not (p in global_pts and not p["per_block_monotone"]), p["risk"]))[:5]
    return {
        "blocks": pts[0]["blocks"],
        "points": len(pts),
        "non_monotone": nonmono_all,
        "best_risk": best,
        "global_points": len(global_pts),
        "global_non_monotone": nonmono_global,
        "lowest": [
            {"trial": p["trial"], "risk": p["risk"], "per_block_risk": p["per_block_risk"],
             "monotone": p["per_block_monotone"]}
            for p in shown
        ],
    }


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
    share = cfg.finder_share(shape.n_params, L)

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
        pts = _points(net, L, res, hf, task.linear_risk, task.scale, cfg, extra, problem, grad_at, after_finder)
    else:
        starts = task.theta0 if res is None else res.theta
        pts = _newton_points(net, L, problem, starts, "random" if res is None else "gd",
                             task.linear_risk, cfg, extra, gd=res, progress=after_finder)
    row = _summarise(net, L, shape.n_params, net_width, hidden, pts, cfg.trials, task.linear_risk)
    row.update(_newton_summary(pts, cfg) if cfg.finder != "gd" else {"finder": "gd"})
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
    cfg = settings
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
        for net in cfg.networks:
            shape = network_shape(cfg, net, L, d_in, d_out, width)
            if isinstance(shape, dr.ResNetShape):
                theta0 = dr.resnet_init(shape, rng, cfg.trials, X, mode=cfg.init, scale=cfg.init_scale)
            else:
                theta0 = dr.fc_init(shape, rng, cfg.trials, X)
            tasks.append(CellTask(cell_cfg, net, L, X, Y, width, lin.risk, scale, theta0))
    cells = sweep.run_sweep(cfg, run_cell_task, tasks, weights=cfg.cell_seconds(), progress=progress)
    rows = [row for row, _ in cells]
    points = [p for _, pts in cells for p in pts]
    per_block = None
    if len(cfg.blocks) == 1 and cfg.blocks[0] >= 2:
        per_block = _per_block_summary(points, cfg, scale)
    return DeepResnetResult(settings=settings, width=width, data=info, linear_risk=lin.risk,
                            risk_tol=cfg.gap_tol * scale, rows=rows, points=points, per_block=per_block)
