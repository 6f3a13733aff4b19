"""The theorems of Liu et al. 2019 checked along a run: pure functions over traces (docs/train.md).

A trace is what `optim.run_gd` records: `iterations` (records,) — the iteration t of each record, the state
after t steps — and per-record statistics as arrays (trials × records): phi, a_dot_astar, a_err, loss.
T1 is the number of stage-I iterations: the step from the state at t uses stage-I step sizes iff t < T1.

Theorem 1, output (1) (poster, "Convergence Analysis"):

    φ_t ≤ 5π/12  and  0 ≤ m ≤ a_tᵀa* ≤ M   for all t ∈ [T1, T],

with "some constants 0 < m < M" that the poster does not give. `theorem1_output` checks (1) at the recorded
iterations in [T1, T] for the m, M the caller uses (per trial), reports the first recorded iteration where
it fails, and the tightest bounds the run itself satisfies (min and max of aᵀa* over the window).

Partial dissipativity (poster, "Convergence Analysis", verbatim up to typesetting):

    "Partial Dissipativity Condition: Given any δ ≥ 0 and c ≥ 0,
     C1: ⟨−∇_w L(w, a), w* − w⟩ ≥ c‖w − w*‖²₂ − δ;
     C2: ⟨−∇_a L(w, a), a* − a⟩ ≥ c‖a − a*‖²₂ − δ;"

with the stage annotations "Stage I: C1 holds ⟺ Improvement of a. C2 does not hold, but w will not move far
away!" and "Stage II: C1, C2 jointly hold ⟺ Convergence!". (The Stage-I line swaps the labels: C2 is the
condition on a. A reviewer notes the same slip in the paper: "The dissipative region is for gradient of loss
w.r.t. a, not w" — reviews, minor correction 1.) We evaluate both conditions on the *population* loss L at
every record; w* − w = v* − v for both students (the offset e cancels), and ∇_w L is the gradient the
normalized GD uses (the tangent gradient at ‖e + w‖ = 1).

Definition used here. For a stated δ ≥ 0 and a stage S (a set of recorded iterations), the largest c for
which C holds along S is

    c_S = min_{t ∈ S} (⟨−∇L(t), x* − x_t⟩ + δ) / ‖x_t − x*‖²      (x = w for C1, x = a for C2),

records with x_t = x* imposing nothing (there the inner product is 0 ≥ −δ for every c) and giving +∞.
C holds along S for exactly the c ≤ c_S; c_S < 0 means it holds for no c ≥ 0 (the poster's c ≥ 0).
Stage I is the records t < T1, stage II the records t ≥ T1. Only recorded iterations are checked.

For the non-overlapping net the two inner products follow from the trace statistics alone (Liu et al. 2019
formulas, M − N(φ) = (1/2 − g(φ)) I):

    C1:  ⟨−∇_w L, w* − w⟩ = s sin²φ,  ‖w − w*‖² = 2(1 − cos φ),  s = (aᵀa*)(π − φ)/π,
    C2:  ⟨−∇_a L, a* − a⟩ = 2L − (1 − 2g(φ)) (aᵀa* + ‖a*‖²),  ‖a − a*‖² = a_err²,

(the first from ∇_w L = −s(I − vvᵀ)v*, so without δ the C1 ratio is s(1 + cos φ)/2: positive iff aᵀa* > 0,
the paper's story; the second from L = (1 − 2g)aᵀa* + (a − a*)ᵀM(a − a*)). `dissipativity_terms_vectors` computes the same
from vector traces and any gradient function (e.g. the stride-s population gradients).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from resnet_cli.models.two_layer import population as tl

PI = math.pi
PHI_MAX = 5 * PI / 12  # Theorem 1, output (1)


@dataclass
class Theorem1Check:
    """Output (1) of Theorem 1 on [T1, T], per trial (arrays of shape (trials,)).

    held: (1) held at every recorded iteration in the window (non-finite values count as failures);
    first_failure: the first recorded iteration in the window where it failed, −1 if none;
    phi_max: max φ_t over the window; a_dot_min, a_dot_max: min and max aᵀa* over the window (the tightest
    m, M this run satisfies); records: how many records the window held.
    """

    held: np.ndarray
    first_failure: np.ndarray
    phi_max: np.ndarray
    a_dot_min: np.ndarray
    a_dot_max: np.ndarray
    records: int


def _window(iterations: np.ndarray, start: int, end: int | None) -> np.ndarray:
    iterations = np.asarray(iterations)
    end = int(iterations.max()) if end is None else end
    return (iterations >= start) & (iterations <= end)


def theorem1_output(
    iterations: np.ndarray,
    phi: np.ndarray,
    a_dot_astar: np.ndarray,
    t1: int,
    m: np.ndarray | float,
    big_m: np.ndarray | float,
    t_end: int | None = None,
    phi_max: float = PHI_MAX,
) -> Theorem1Check:
    """Did φ_t ≤ 5π/12 and 0 ≤ m ≤ a_tᵀa* ≤ M hold for every recorded t ∈ [T1, T]? (Theorem 1, output (1)).

    iterations (records,); phi, a_dot_astar (trials × records); m, M scalars or (trials,); T = t_end, default
    the last record. m < 0 fails everywhere (the theorem's 0 ≤ m). Raises ValueError for an empty window.
    """
    iterations = np.asarray(iterations)
    phi, a_dot = np.atleast_2d(phi), np.atleast_2d(a_dot_astar)
    sel = _window(iterations, t1, t_end)
    if not sel.any():
        raise ValueError(f"no recorded iteration in [T1, T] = [{t1}, {t_end if t_end is not None else iterations.max()}]")
    m = np.broadcast_to(np.asarray(m, dtype=float), phi.shape[:1])[:, None]
    big_m = np.broadcast_to(np.asarray(big_m, dtype=float), phi.shape[:1])[:, None]
    ph, ad = phi[:, sel], a_dot[:, sel]
    with np.errstate(invalid="ignore"):
        ok = (ph <= phi_max) & (m >= 0) & (ad >= m) & (ad <= big_m)  # nan compares False: a failure
    bad = ~ok
    first = np.where(bad.any(axis=1), iterations[sel][np.argmax(bad, axis=1)], -1)
    return Theorem1Check(
        held=~bad.any(axis=1),
        first_failure=first,
        phi_max=ph.max(axis=1),
        a_dot_min=ad.min(axis=1),
        a_dot_max=ad.max(axis=1),
        records=int(sel.sum()),
    )


def dissipativity_terms(
    phi: np.ndarray, a_dot_astar: np.ndarray, loss: np.ndarray, a_err: np.ndarray, a_star: np.ndarray
) -> dict[str, np.ndarray]:
    """The C1/C2 inner products and squared distances of the non-overlapping population loss from trace
    statistics (module docstring). phi, a_dot_astar, loss, a_err (trials × records), a_star (trials × k).

    Returns inner_w, dist2_w, inner_a, dist2_a, each (trials × records).
    """
    phi = np.asarray(phi, dtype=float)
    s = a_dot_astar * (PI - phi) / PI
    one_minus_cos = 2 * np.sin(phi / 2) ** 2  # 1 − cos φ without cancellation near φ = 0
    norm2 = np.sum(a_star**2, axis=-1)[:, None]
    two_g = 2 * tl.kernel_g(phi)
    return {
        "inner_w": s * np.sin(phi) ** 2,
        "dist2_w": 2 * one_minus_cos,
        "inner_a": 2 * loss - (1 - two_g) * (a_dot_astar + norm2),
        "dist2_a": np.asarray(a_err, dtype=float) ** 2,
    }


def dissipativity_terms_vectors(
    v: np.ndarray,
    a: np.ndarray,
    v_star: np.ndarray,
    a_star: np.ndarray,
    gradients: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] = tl.gradients,
) -> dict[str, np.ndarray]:
    """The same four arrays from vector traces: v (trials × records × p, unit rows), a (trials × records × k),
    v_star (trials × p), a_star (trials × k); `gradients(v, a, v_star, a_star)` returns the tangent ∇_w L and
    ∇_a L (default the non-overlapping closed form; pass e.g. a stride-s closure). w* − w = v* − v."""
    vs, ast = v_star[:, None, :], a_star[:, None, :]
    grad_w, grad_a = gradients(v, a, np.broadcast_to(vs, v.shape), np.broadcast_to(ast, a.shape))
    dw, da = vs - v, ast - a
    return {
        "inner_w": -np.sum(grad_w * dw, axis=-1),
        "dist2_w": np.sum(dw**2, axis=-1),
        "inner_a": -np.sum(grad_a * da, axis=-1),
        "dist2_a": np.sum(da**2, axis=-1),
    }


def largest_c(inner: np.ndarray, dist2: np.ndarray, delta: float, mask: np.ndarray | None = None) -> np.ndarray:
    """c_S = min over the masked records of (inner + δ)/dist2 (+∞ where dist2 = 0), per trial (module docstring).

    inner, dist2 (trials × records); mask (records,) selects the stage (default all). An empty stage gives
    +∞ (nothing to violate); a non-finite record gives nan (the condition is undefined there).
    """
    inner, dist2 = np.atleast_2d(inner), np.atleast_2d(dist2)
    if mask is not None:
        inner, dist2 = inner[:, mask], dist2[:, mask]
    if inner.shape[1] == 0:
        return np.full(inner.shape[0], np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dist2 > 0, (inner + delta) / np.where(dist2 > 0, dist2, 1.0), np.inf)
    ratio = np.where(np.isfinite(inner) & np.isfinite(dist2), ratio, np.nan)
    return ratio.min(axis=1)  # nan propagates: a diverged record leaves the stage undefined


def dissipativity(
    iterations: np.ndarray, terms: dict[str, np.ndarray], t1: int, delta: float
) -> dict[str, np.ndarray]:
    """Largest c for C1 and C2 along stage I (t < T1) and stage II (t ≥ T1), for the stated δ.

    Returns {"C1": (trials × 2), "C2": (trials × 2)}, column 0 stage I, column 1 stage II.
    """
    if delta < 0:
        raise ValueError("δ must be ≥ 0 (the poster's condition)")
    iterations = np.asarray(iterations)
    stages = (iterations < t1, iterations >= t1)
    return {
        name: np.stack([largest_c(terms[f"inner_{x}"], terms[f"dist2_{x}"], delta, mask) for mask in stages], axis=1)
        for name, x in (("C1", "w"), ("C2", "a"))
    }


# --- Theorem 1's hypotheses and its check along a run ---------------------------------------------------------


def theorem1_outside(student: str, schedule: str, *, v_law: str = "prior", prior_angle: float = 60.0,
                     steps_set: bool = False, c_lr_w: float = 1.0, sampled: bool = False,
                     overlapping: bool = False, early_window: bool = False, perturbed: bool = False) -> str | None:
    """Why a run is outside Theorem 1's hypotheses ("; "-joined reasons), None when inside.

    Theorem 1 (poster): the shortcut student with normalization, w0 = 0, a0 in the ball of radius |1ᵀa*|/√k
    (`population.draw_inits`), η_a = π/(20(k + π − 1)²), η_w = C‖a*‖²η_a² with C > 0, the population loss of
    Gaussian inputs with non-overlapping patches, and the skip-layer prior v* = e + w*, ‖w*‖ ≤ 1
    (angle(v*, e) ≤ 60°). The run: `student` with `schedule` (one of `optim.PLANS`), v* drawn from `v_law`
    with `prior_angle` degrees, `steps_set` (η_a or η_w given instead of Theorem 1's), C = `c_lr_w`,
    `sampled` gradients (samples or online), `overlapping` patches (stride < p), `early_window`: the window
    [T1, T] starts before ⌈1/η_a⌉ (a --stage1-steps below it: T1 = Õ(1/η_a) is the theorem's, not ours to
    shorten), `perturbed`: noise on the gradient (not GD).
    """
    reasons = [
        (student != "resnet", "no shortcut"),
        (schedule in ("layerwise", "a-first"), "η_w = 0 in stage I"),
        (schedule in ("large-w", "large-both"), "no warm-up"),
        (steps_set, "step sizes set"),
        (c_lr_w == 0, "C = 0"),
        (v_law != "prior" or prior_angle > 60, "no skip-layer prior"),
        (sampled, "samples, not the population loss"),
        (overlapping, "overlapping patches"),
        (early_window, "T1 below ⌈1/η_a⌉"),
        (perturbed, "perturbed gradients"),
    ]
    found = [why for bad, why in reasons if bad]
    return "; ".join(found) if found else None


@dataclass
class TheoremReport:
    """Theorem 1's output (1) on the recorded iterations of [T1, T] and the largest c of C1/C2 per stage,
    per trial (arrays of shape (trials,); c arrays (trials × 2): stage I, stage II; None where undefined)."""

    t1: int
    records: int
    held: np.ndarray | None
    first_failure: np.ndarray | None
    phi_max: np.ndarray | None
    a_dot_min_rel: np.ndarray | None  # min aᵀa*/‖a*‖² over the window: the largest m this run satisfied
    a_dot_max_rel: np.ndarray | None  # max aᵀa*/‖a*‖²: the smallest M
    c1: np.ndarray | None
    c2: np.ndarray | None

    def trial(self, i: int) -> dict[str, Any]:
        """The JSON view of trial i (non-finite numbers as None, except a c that is ∞: its stage had no record,
        written "inf" in JSON)."""
        def num(x: np.ndarray | None, cast: type = float) -> Any:
            return None if x is None or not np.isfinite(x[i]) else cast(x[i])

        def pair(c: np.ndarray | None) -> Any:
            return None if c is None else [None if np.isnan(v) else float(v) for v in c[i]]

        return {
            "output1_held": None if self.held is None else bool(self.held[i]),
            "first_failure": None if self.first_failure is None or self.first_failure[i] < 0 else int(self.first_failure[i]),
            "phi_max": num(self.phi_max), "a_dot_min_rel": num(self.a_dot_min_rel),
            "a_dot_max_rel": num(self.a_dot_max_rel), "c1": pair(self.c1), "c2": pair(self.c2),
        }


def theorem_report(a_star: np.ndarray, t1: int, iterations: list[int], trace: dict[str, list[np.ndarray]], *,
                   m_rel: float, big_m_rel: float, delta: float | None = None,
                   output1: tuple[list[int], dict[str, list[np.ndarray]]] | None = None,
                   check_output1: bool = True) -> TheoremReport:
    """Check the theorems on a `run_gd` trace (only the recorded iterations count; a* trials × k): output (1)
    with m = `m_rel`·‖a*‖², M = `big_m_rel`·‖a*‖² on the trace `output1` = (iterations, trace) when given
    (Theorem 1's own steps), else on this one; and (for a stated δ) the largest c of C1/C2 per stage on the
    population loss of the non-overlapping net, always on this run. `delta` None (success-rate; patches at
    s < p, where the trace statistics do not determine the C1/C2 terms) leaves c1, c2 None; `check_output1`
    False leaves output (1) None (a run outside Theorem 1's hypotheses)."""
    its = np.asarray(iterations)
    if its.size == 0:
        return TheoremReport(t1, 0, None, None, None, None, None, None, None)
    stats = {key: np.stack(trace[key], axis=1) for key in ("phi", "a_dot_astar", "loss", "a_err")}
    norm2 = np.sum(a_star**2, axis=1)
    out_its, out_stats = (its, stats) if output1 is None else (
        np.asarray(output1[0]), {key: np.stack(output1[1][key], axis=1) for key in ("phi", "a_dot_astar")}
        if len(output1[0]) else {})  # (Theorem 1's own run may record nothing: every row diverged at once)
    in_window = int(np.sum(out_its >= t1)) if check_output1 else 0
    held = first = phi_max = lo = hi = None
    if in_window:
        check = theorem1_output(out_its, out_stats["phi"], out_stats["a_dot_astar"], t1, m_rel * norm2,
                                big_m_rel * norm2)
        held, first, phi_max = check.held, check.first_failure, check.phi_max
        lo, hi = check.a_dot_min / norm2, check.a_dot_max / norm2
    c1 = c2 = None
    if delta is not None:
        with np.errstate(all="ignore"):
            terms = dissipativity_terms(stats["phi"], stats["a_dot_astar"], stats["loss"], stats["a_err"], a_star)
            c = dissipativity(its, terms, t1, delta)
        c1, c2 = c["C1"], c["C2"]
    return TheoremReport(t1, in_window, held, first, phi_max, lo, hi, c1, c2)
