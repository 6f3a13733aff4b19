"""The points and rows of `landscape deep-resnet` (Yun et al. 2019; docs/landscape.md): the class of every
point a finder returns against the best linear predictor, and the summary row of each (blocks, network) cell.

`gd_points` analyses gradient-descent end points (the engine's Hessian, σ'(0) = 0); `newton_points` runs the
Newton/LM finder (`models.critical_points.find_critical_points`) and analyses its points with
`critical_points.analyse_point` at both eigenvalue tolerances. `row_summary`, `newton_summary` and
`per_block_summary` count them. The settings are `experiments.deep_resnet.DeepResnetSettings`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from resnet_cli.models import critical_points as cp
from resnet_cli.models.clarke import DescentResult

if TYPE_CHECKING:
    from resnet_cli.experiments.deep_resnet import DeepResnetSettings

ESCAPE_DIRECTIONS = 1000  # random null-space directions of the escape probe (counterexamples)
MAX_PIECES = 256  # at most this many smooth pieces of a kink point are enumerated (evaluated at once)


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


def row_summary(network: str, blocks: int, n_params: int, width: int, hidden: int | None,
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


def gd_points(network: str, blocks: int, res: DescentResult, hess_fn: Callable[[np.ndarray], np.ndarray],
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
                near = np.abs(evals) <= cfg.eig_tol * max(lam_absmax, 1e-300)
                probe = cp.escape_probe(problem, th, evecs[:, near], directions=ESCAPE_DIRECTIONS,
                                        eigenvalues=evals[near])
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


def _analysed(problem: cp.Problem, fr: cp.FinderResult, b: int, linear_risk: float, scale: float,
              cfg: DeepResnetSettings, same_point: dict[int, int], same_predictor: dict[int, int]) -> dict[str, Any]:
    """The analysis of converged point b (`critical_points.analyse_point` at both eigenvalue tolerances,
    `honest_kind`, de-duplication labels): the keys `newton_points` adds to it."""
    # the finder's kink entries and slopes, plus every other sample on a kink (|z| ≤ 1e-9·max(1, |z|)),
    # whose slope is its side's 1[z > 0] (the finder's pattern, so its Clarke norm is unchanged)
    entries, weights = list(fr.kinks[b]), list(fr.weights[b])
    z = [zl[0] for zl in problem.preactivations(fr.theta[b][None])]
    for layer, j, i in cp.kink_entries(z):
        if (layer, j, i) not in entries:
            entries.append((layer, j, i))
            weights.append(float(z[layer][j, i] > 0))
    kw = {"linear_risk": linear_risk, "entries": entries, "weights": weights, "gap_tol": cfg.gap_tol,
          "max_pieces": MAX_PIECES, "risk_scale": scale}
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


def newton_points(network: str, blocks: int, problem: cp.Problem, starts: np.ndarray, start: str,
                   linear_risk: float, scale: float, cfg: DeepResnetSettings,
                   extra: Callable[[np.ndarray], dict[str, Any]],
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
            point.update(_analysed(problem, fr, b, linear_risk, scale, cfg, same_point, same_predictor))
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


def newton_summary(points: list[dict[str, Any]], cfg: DeepResnetSettings) -> dict[str, Any]:
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


def per_block_summary(points: list[dict[str, Any]], cfg: DeepResnetSettings, scale: float) -> dict[str, Any] | None:
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
