"""Second order at a critical point, kinks included, and its class against the best linear predictor
(Yun et al. 2019; docs/landscape.md, "Newton finder")."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from resnet_cli import inertia
from resnet_cli.models.clarke import min_norm_subgradient
from resnet_cli.models.critical_points.kinks import (Entry, clarke_weights, kink_differences, kink_entries, nested,
                                                     pattern_with)
from resnet_cli.models.critical_points.pattern import PatternDerivs, Problem, pattern_derivatives
from resnet_cli.rng import make_rng

Array = np.ndarray


def _eig_counts(evals: Array, eig_tol: float) -> tuple[float, int, int, int]:
    """(λ_min, #negative, #zero, #positive) with the threshold eig_tol·max(|λ|)."""
    if evals.size == 0:
        return float("nan"), 0, 0, 0
    thr = eig_tol * max(float(np.abs(evals).max()), 1e-300)
    return float(evals[0]), int((evals < -thr).sum()), int((np.abs(evals) <= thr).sum()), int((evals > thr).sum())


# Gradient-flat points (Frye et al. 2021, "Critical point-finding methods reveal gradient-flat regions of deep
# network losses"): a finder may stop where the gradient g lies in the (near-)kernel of the Hessian H, so that
# H g ≈ 0 although g ≠ 0 — a minimum of ‖g‖², not a critical point of R.
FLAT_SHARE = 0.9  # a non-critical point is gradient-flat when ≥ 90 % of ‖g‖² lies in the near-kernel of H


def gradient_flatness(g: Array, H: Array, eig_tol: float) -> dict[str, Any]:
    """How much of the gradient g (P,) lies in the near-kernel of the symmetric H (P, P).

    Near-kernel: the eigenvectors v_i of H with |λ_i| ≤ eig_tol·max|λ| (the tolerance of the point's
    classes). Keys: grad_norm ‖g‖; hg_ratio ‖Hg‖/‖g‖ (0 when g ∈ ker H; between min|λ| and max|λ|
    otherwise); hg_relative ‖Hg‖/(max|λ|·‖g‖) ∈ [0, 1]; kernel_share Σ_{|λ_i| small} (v_iᵀg)²/‖g‖² ∈ [0, 1]
    (the share of ‖g‖² in the near-kernel); kernel_dim the near-kernel's dimension. Ratios are NaN at g = 0.
    """
    g = np.asarray(g, dtype=float)
    H = np.asarray(H, dtype=float)
    nan = float("nan")
    if not (np.isfinite(g).all() and np.isfinite(H).all()):  # a diverged start: nothing to measure
        return {"grad_norm": nan, "hg_ratio": nan, "hg_relative": nan, "kernel_share": nan, "kernel_dim": 0}
    evals, evecs = np.linalg.eigh(0.5 * (H + H.T))
    lam_abs = max(float(np.abs(evals).max(initial=0.0)), 1e-300)
    kernel = np.abs(evals) <= eig_tol * lam_abs
    gn = float(np.linalg.norm(g))
    hg = float(np.linalg.norm(H @ g))
    coef = evecs.T @ g
    return {"grad_norm": gn, "hg_ratio": hg / gn if gn > 0 else nan,
            "hg_relative": hg / (lam_abs * gn) if gn > 0 else nan,
            "kernel_share": float(np.sum(coef[kernel] ** 2)) / gn**2 if gn > 0 else nan,
            "kernel_dim": int(kernel.sum())}


def stationarity_class(converged: bool, flatness: dict[str, Any], share: float = FLAT_SHARE) -> str:
    """"critical" (the finder's stationarity test passed: g ≈ 0), "gradient-flat" (it did not, and at least
    `share` of ‖g‖² lies in the near-kernel of H: Frye et al. 2021's gradient-flat point) or "neither"."""
    if converged:
        return "critical"
    kshare = flatness["kernel_share"]
    return "gradient-flat" if kshare == kshare and kshare >= share else "neither"


def flatness_at(problem: Problem, theta: Array, eig_tol: float) -> dict[str, Any]:
    """`gradient_flatness` of the engine's gradient and Hessian (σ'(0) = 0) at θ (P,): for points where the
    finder stopped without converging (no analysis of kinks there)."""
    der = pattern_derivatives(problem, np.asarray(theta, dtype=float)[None])
    return gradient_flatness(der.grad[0], der.hess[0], eig_tol)


JUMP_TOL = 1e-8  # a kink's jump counts as positive above JUMP_TOL·(1 + |R|): below, the rise is rounding

UNDECIDED_REASONS = {"kink": "at a ReLU kink: neither a saddle nor a minimum is certified",
                     "alt_tolerance": "not a counterexample at --eig-tol-alt",
                     "escape_descent": "the escape probe found descent"}


def honest_kind(kind: str, alt_kind: str, probe: dict[str, Any] | None,
                eig_tol_alt: float) -> tuple[str, list[dict[str, str]]]:
    """The label a point is reported with, and why it is "undecided" (an empty list otherwise).

    A worse-than-linear point is a "counterexample" only when it is one at both eigenvalue tolerances
    (`kind` at --eig-tol, `alt_kind` at --eig-tol-alt) AND the escape probe (`escape_probe`; None when it
    did not run) found no descent; every other worse point without certified negative curvature at
    --eig-tol is "undecided", with each reason that applies: {code (a key of UNDECIDED_REASONS), text}.
    Other kinds ("better", "equal", "strict_saddle", "not_converged") pass through.
    """
    reasons: list[dict[str, str]] = []
    if kind == "kink_undecided":
        reasons.append({"code": "kink", "text": UNDECIDED_REASONS["kink"]})
    elif kind != "counterexample":
        return kind, reasons
    if kind == "counterexample" and alt_kind != "counterexample":
        what = "a strict saddle" if alt_kind == "strict_saddle" else "undecided at a kink"
        reasons.append({"code": "alt_tolerance", "text": f"{what} at --eig-tol-alt {eig_tol_alt:g}"})
    if probe is not None and probe.get("descent"):
        i = int(np.argmin(probe["min_change"]))
        falls = probe["descent_radii"]
        scale = ("at every radius tried: a higher-order saddle, evidence" if len(falls) == len(probe["radii"]) else
                 f"only from radius {min(falls):g} on: not a minimum at that scale, R does not fall at the smaller radii "
                 "(a minimum whose basin is narrower, e.g. a dead ReLU unit that such a step revives, looks so)")
        reasons.append({"code": "escape_descent", "text": f"the escape probe lowers R by "
                        f"{-probe['min_change'][i]:.2g} at radius {probe['radii'][i]:g}, {scale}"})
    return ("undecided", reasons) if reasons else ("counterexample", reasons)


def inertia_index(hessian: Array, eig_tol: float = 1e-8) -> dict[str, Any]:
    """The reported Hessian's counts (negative, zero, positive at ±eig_tol·|λ|max) by Sylvester inertia:
    LDLᵀ factorisations (`resnet_cli.inertia.index_counts`), no eigendecomposition — beside, and checked
    against, the eigenvalue counts of `analyse_point`."""
    if hessian.shape[0] == 0:
        return {"negative": 0, "zero": 0, "positive": 0, "epsilon": 0.0, "n": 0}
    return inertia.index_counts(hessian, eig_tol)


def analyse_point(problem: Problem, theta: Array, *, linear_risk: float, entries: list[Entry] | None = None,
                  weights: Array | None = None, kink_tol: float = 1e-9, gap_tol: float = 1e-4, eig_tol: float = 1e-8,
                  max_pieces: int = 256, probe_directions: int = 1000, risk_scale: float | None = None
                  ) -> dict[str, Any]:
    """Everything about one critical point θ (P,): risk, stationarity, kinks, second order, class, index.

    Kinks: `entries` (layer, unit, sample) — by default those with |z| ≤ kink_tol·max(1, max|z|) — with their
    slopes `weights` (default: `clarke_weights`). Keys:
      risk, gap (R − R_lin), grad_norm (the engine's ‖∇R‖, σ'(0) = 0: one side's gradient at a kink),
      clarke_norm (‖∇R_{D(s)}‖, the Clarke subgradient with weights s; = grad_norm at smooth points),
      engine_clarke_norm (`clarke.min_norm_subgradient`), kinks [{layer, unit, sample, z, slope, jump (`kink_jumps`)}],
      on_kink (bool), nested_kinks (bool), hessian {lambda_min, lambda_max, negative, zero, positive}:
      at a smooth point the Hessian of R; at a kink point the kink-manifold Hessian Zᵀ∇²R_{D(s)}Z
      (dimension P − rank ∂z_E/∂θ, reported as `dim`), pieces: None at smooth points, else {count,
      enumerated (bool), lambda_min (min over pieces), all [{pattern: [0/1 per kink], lambda_min,
      negative}], sigma0_piece (the piece of σ'(0) = 0: every on-kink slope 0)} or, with more than
      `max_pieces` pieces, {count, enumerated: False, note: "too many pieces"}; index (share of negative
      eigenvalues of the reported Hessian), kind (see `classify_point`), escape_probe (for counterexample
      and kink_undecided points: `escape_probe` along the reported Hessian's null eigenvectors, else None),
      flatness (`gradient_flatness` of the Clarke subgradient ∇R_{D(s)} and the full Hessian ∇²R_{D(s)}).

    An eigenvalue counts as negative (zero) when λ < −eig_tol·max|λ| (|λ| ≤ eig_tol·max|λ|). The default
    1e-8 suits Newton end points (‖∇R‖ < 1e-10 puts the Hessian within ~1e-10 of the critical point's);
    the GD experiment's 1e-5 is too coarse here: on example 1, Newton finds ResNet points at Var(Y) with
    λ_min ≈ −1e-5 (relative −5e-7) whose risk does drop along the eigenvector.
    """
    theta = np.asarray(theta, dtype=float)
    z = [zl[0] for zl in problem.preactivations(theta[None])]
    entries = list(kink_entries(z, kink_tol) if entries is None else entries)
    n = len(entries)
    s = clarke_weights(problem, theta, entries) if weights is None else np.asarray(weights, dtype=float)
    der = pattern_derivatives(problem, theta[None], [d[None] for d in pattern_with(z, entries, s)])
    H = der.hess[0]
    out = _first_order(problem, theta, der, z, entries, s, linear_risk)
    if n == 0:
        evals, evecs = np.linalg.eigh(H)
        reported, out["pieces"] = H, None
    else:
        reported, evals, evecs = _kink_manifold_hessian(der, H, entries)
        out["pieces"] = _pieces(problem, theta, z, entries, eig_tol, max_pieces)
    lam, neg, zero, pos = _eig_counts(evals, eig_tol)
    out["hessian"] = {"kind": "smooth" if n == 0 else "kink-manifold", "dim": evals.size, "lambda_min": lam,
                      "lambda_max": float(evals[-1]) if evals.size else float("nan"),
                      "negative": neg, "zero": zero, "positive": pos, "inertia": inertia_index(reported, eig_tol)}
    out["index"] = neg / evals.size if evals.size else 0.0
    out["flatness"] = gradient_flatness(der.grad[0], H, eig_tol)
    out["kind"] = classify_point(out, linear_risk=linear_risk, gap_tol=gap_tol, risk_scale=risk_scale)
    out["escape_probe"] = None
    if out["kind"] in ("counterexample", "kink_undecided") and probe_directions > 0:
        near = np.abs(evals) <= eig_tol * max(float(np.abs(evals).max(initial=0.0)), 1e-300)
        out["escape_probe"] = escape_probe(problem, theta, evecs[:, near], directions=probe_directions,
                                           eigenvalues=evals[near])
    return out


def _first_order(problem: Problem, theta: Array, der: PatternDerivs, z: list[Array], entries: list[Entry],
                 s: Array, linear_risk: float) -> dict[str, Any]:
    """Risk, gap, the engine's gradient and min-norm subgradient norms, the Clarke subgradient ∇R_{D(s)}'s
    norm and the kink entries of `analyse_point`."""
    risk, g = problem.risk_grad(theta[None])
    _, eng_clarke, _ = min_norm_subgradient(problem.risk_grad, problem.preactivations, theta[None], g)
    return {
        "network": problem.network,
        "risk": float(risk[0]),
        "gap": float(risk[0] - linear_risk),
        "linear_risk": float(linear_risk),
        "grad_norm": float(np.linalg.norm(g[0])),
        "clarke_norm": float(np.linalg.norm(der.grad[0])),
        "engine_clarke_norm": float(eng_clarke[0]),
        "kinks": [{"layer": l + 1, "unit": j, "sample": i, "z": float(z[l][j, i]), "slope": float(se),
                   "jump": jump} for (l, j, i), se, jump in zip(entries, s, kink_jumps(problem, theta, der, entries))],
        "on_kink": len(entries) > 0,
        "nested_kinks": nested(entries),
    }


def kink_jumps(problem: Problem, theta: Array, der: PatternDerivs, entries: list[Entry]) -> list[float]:
    """Per kink e, the rise of R's one-sided slope across it along the unit normal n_e = ∂z_e/∂θ / ‖∂z_e/∂θ‖:
    ⟨Δ_e, n_e⟩ = c_e ‖∂z_e/∂θ‖ (`kink_differences`), so its sign is that of the backpropagated signal c_e.
    Leaving a Clarke point with slope s_e ∈ (0, 1) raises R at first order on both sides only when it is
    positive: (1 − s_e)·jump going to z_e > 0, s_e·jump going to z_e < 0."""
    if not entries:
        return []
    _, delta = kink_differences(problem, theta, entries)
    out = []
    for (l, j, i), d in zip(entries, delta):
        row = der.dz_row(0, l, j, i)
        norm = float(np.linalg.norm(row))
        out.append(float(d @ row) / norm if norm > 0 else 0.0)
    return out


def _kink_manifold_hessian(der: PatternDerivs, H: Array, entries: list[Entry]) -> tuple[Array, Array, Array]:
    """Zᵀ H Z (q, q), its eigenvalues (q,) and eigenvectors mapped back to θ (P, q): Z an orthonormal basis
    (P, q) of {d : (∂z_E/∂θ) d = 0}, the tangent space of the kink manifold (rank of ∂z_E/∂θ at 1e-10)."""
    P = H.shape[0]
    Jz = np.stack([der.dz_row(0, l, j, i) for l, j, i in entries])  # (n, P)
    _, sv, Vt = np.linalg.svd(Jz)
    rank = int((sv > 1e-10 * max(float(sv.max(initial=0.0)), 1e-300)).sum())
    Zb = Vt[rank:].T  # (P, P − rank)
    reduced = Zb.T @ H @ Zb
    if not Zb.shape[1]:
        return reduced, np.zeros(0), np.zeros((P, 0))
    evals, evecs = np.linalg.eigh(reduced)
    return reduced, evals, Zb @ evecs


def _pieces(problem: Problem, theta: Array, z: list[Array], entries: list[Entry], eig_tol: float,
            max_pieces: int) -> dict[str, Any]:
    """λ_min and the negative count of every smooth piece meeting θ (all 2^n on-kink patterns, evaluated as
    one batch), or "too many pieces" when 2^n > max_pieces."""
    n = len(entries)
    count = 2**n
    if count > max_pieces:
        return {"count": count, "enumerated": False,
                "note": f"too many pieces: 2^{n} = {count} > {max_pieces}; not enumerated"}
    bits = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    pats = [pattern_with(z, entries, row) for row in bits]
    Dp = [np.stack([pt[layer] for pt in pats]) for layer in range(len(z))]
    ev = np.linalg.eigvalsh(pattern_derivatives(problem, np.repeat(theta[None], count, axis=0), Dp).hess)
    rows = []
    for row, e in zip(bits, ev):
        lam, neg, _, _ = _eig_counts(e, eig_tol)
        rows.append({"pattern": [int(v) for v in row], "lambda_min": lam, "negative": neg})
    return {"count": count, "enumerated": True, "lambda_min": min(r["lambda_min"] for r in rows), "all": rows,
            "sigma0_piece": rows[0]}


def escape_probe(problem: Problem, theta: Array, basis: Array, directions: int = 1000,
                 radii: tuple[float, ...] = (1e-3, 1e-2, 1e-1), seed: int = 0,
                 eigenvalues: Array | None = None) -> dict[str, Any]:
    """Evidence against a minimum within radius r: min of R(θ + r d) − R(θ) over random unit d in span(basis), and
    over ±each basis vector whose eigenvalue (`eigenvalues`, (q,), when given) is negative.

    basis (P, q): the Hessian's (near-)null eigenvectors, i.e. within the eigenvalue tolerance. Without
    negative curvature, second order is silent there; a decrease found at radius r shows the point is not a
    minimum within r (cubic or quartic escape). A negative eigenvalue inside the tolerance is tested along
    its own eigenvector, where random directions can miss it. Evidence, not a proof: a decrease is a fact
    at radius r; no decrease proves nothing.
    Returns {dim, directions, radii, min_change per radius, descent_radii (those where a change is below
    −1e-12·(1+R)), descent (bool: some are)}. Descent only at the larger radii is not saddle evidence: R does
    not fall nearer θ there.
    """
    q = basis.shape[1]
    R0 = float(problem.risk(theta[None])[0])
    changes = []
    parts = []
    if q and directions:
        rng = make_rng(seed)
        d = basis @ rng.normal(size=(q, directions))
        parts.append(d / np.linalg.norm(d, axis=0, keepdims=True))
    if q and eigenvalues is not None and np.any(eigenvalues < 0):
        own = basis[:, eigenvalues < 0]
        parts += [own, -own]
    if parts:
        d = np.concatenate(parts, axis=1)
        for r in radii:
            changes.append(float((problem.risk(theta[None] + r * d.T) - R0).min()))
    tried = sum(part.shape[1] for part in parts)
    falls = [r for r, change in zip(radii, changes) if change < -1e-12 * (1.0 + abs(R0))]
    return {"dim": q, "directions": tried, "radii": list(radii) if tried else [], "min_change": changes,
            "descent_radii": falls, "descent": bool(falls)}


def classify_point(info: dict[str, Any], *, linear_risk: float, gap_tol: float = 1e-4,
                   risk_scale: float | None = None) -> str:
    """"better" / "equal" (at least as good as linear), "strict_saddle", "counterexample", "kink_undecided".

    gap = R − R_lin against tol = gap_tol·`risk_scale` (default R_lin; a caller whose R_lin may be 0 passes a
    floor, as `landscape deep-resnet` does, so "equal" means what its printed tolerance says). For a worse point: strict_saddle when the reported Hessian
    (smooth Hessian, or the kink-manifold Hessian at a kink point — a certified descent curve along the
    kinks) has a negative eigenvalue; otherwise, at a smooth point, counterexample (no negative curvature:
    a possibly degenerate local minimum worse than linear). At a kink point without negative curvature on
    the kink manifold: counterexample when the kinks are not nested, every slope lies strictly inside
    (0, 1) and every kink's jump (`kink_jumps`) is positive (then every direction leaving the manifold
    raises R at first order) and no enumerated piece has negative curvature; otherwise kink_undecided.
    """
    scale = max(abs(linear_risk), 1e-300) if risk_scale is None else risk_scale
    gap = info["gap"]
    if gap < -gap_tol * scale:
        return "better"
    if gap <= gap_tol * scale:
        return "equal"
    if info["hessian"]["negative"] > 0:
        return "strict_saddle"
    if not info["on_kink"]:
        return "counterexample"
    slopes = np.array([k["slope"] for k in info["kinks"]])
    jumps = np.array([k["jump"] for k in info["kinks"]])
    interior = bool(np.all((slopes > 1e-8) & (slopes < 1 - 1e-8)))
    # and R rises leaving every kink, on both sides (`kink_jumps`): a negative backpropagated signal there
    # makes both sides descend, a ridge of Clarke points
    interior = interior and bool(np.all(jumps > JUMP_TOL * (1.0 + abs(info["risk"]))))
    pieces = info["pieces"]
    pieces_ok = pieces is not None and pieces["enumerated"] and all(r["negative"] == 0 for r in pieces["all"])
    if interior and not info["nested_kinks"] and pieces_ok:
        return "counterexample"
    return "kink_undecided"

