"""Symmetries of ReLU nets: canonical form and de-duplication of critical points.

Hidden unit j of a block (rows U_j, b_j; column V_j) — or of an FC layer (row W_j, b_j; column of the next
layer) — can be permuted with the others and rescaled by any c > 0 (in-weights × c, out-weights / c)
without changing the function. `canonical_form` fixes the scale and `deduplicate` merges points equal
after the best unit permutation (per block/layer).
"""

from __future__ import annotations

import itertools

import numpy as np

from resnet_cli.models import deep_resnet as dr
from resnet_cli.models.critical_points.pattern import Problem

Array = np.ndarray


def unit_layout(problem: Problem) -> list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per ReLU layer: the (name, axis) of its in-weights ('row' entries) and out-weights ('col')."""
    out = []
    if problem.network == "resnet":
        for layer in range(1, problem.n_layers + 1):
            ins = [(f"U{layer}", "row")] + ([(f"b{layer}", "vec")] if problem.shape.bias else [])
            out.append((ins, [(f"V{layer}", "col")]))
    else:
        for layer in range(1, problem.n_layers + 1):
            ins = [(f"W{layer}", "row")] + ([(f"b{layer}", "vec")] if problem.shape.bias else [])
            nxt = f"W{layer + 1}" if layer < problem.n_layers else "W_out"
            out.append((ins, [(nxt, "col")]))
    return out


def _take(arr: Array, axis: str) -> Array:
    """Unit-major view: rows of a 'row' matrix, columns of a 'col' matrix, entries of a 'vec'."""
    if axis == "row":
        return arr
    if axis == "col":
        return arr.T
    return arr[:, None]


def canonical_form(problem: Problem, theta: Array) -> Array:
    """θ (P,) moved along its symmetry orbit to a canonical representative (same function everywhere).

    Layer by layer (bottom to top, so an FC layer's rescaling is absorbed by the next before that one is
    normalised): unit j's in-weights w_j = [row j of U (or W_l), b_j] are scaled to ‖w_j‖ = 1 and its
    out-weights (column j of V, or of the next layer) by the inverse factor (σ(c t) = c σ(t) for c > 0);
    units with w_j = 0 are left alone. Then the units are sorted by their in-weights (lexicographic, after
    rounding to 1e-8), and out-weights follow. Points on one orbit get the same form up to rounding and
    ties; `deduplicate` therefore matches units explicitly instead of relying on the sort.
    """
    spec = problem.shape.spec()
    p = {k: v.copy() for k, v in dr.unpack(spec, np.asarray(theta, dtype=float)[None]).items()}
    p = {k: v[0] for k, v in p.items()}
    for ins, outs in unit_layout(problem):
        W_in = np.concatenate([_take(p[name], ax) for name, ax in ins], axis=1)  # (units, fan_in+1)
        norms = np.linalg.norm(W_in, axis=1)
        c = np.where(norms > 0, 1.0 / np.where(norms > 0, norms, 1.0), 1.0)
        for name, ax in ins:
            p[name] = p[name] * (c[:, None] if ax == "row" else c)
        for name, _ in outs:
            p[name] = p[name] / c[None, :]
        W_in = np.concatenate([_take(p[name], ax) for name, ax in ins], axis=1)
        order = np.lexsort(np.round(W_in, 8).T[::-1])
        for name, ax in ins:
            p[name] = p[name][order]
        for name, _ in outs:
            p[name] = p[name][:, order]
    return dr.pack(spec, {k: v[None] for k, v in p.items()}, (1,))[0]


def _best_permutation(A: Array, B: Array, brute_max: int = 7) -> Array:
    """perm minimising Σ_j ‖A[j] − B[perm[j]]‖² (exhaustive up to brute_max units, else greedy)."""
    k = A.shape[0]
    C = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    if k <= brute_max:
        best, best_val = None, np.inf
        for perm in itertools.permutations(range(k)):
            val = C[np.arange(k), perm].sum()
            if val < best_val:
                best, best_val = perm, val
        return np.array(best)
    perm = -np.ones(k, dtype=int)
    used = np.zeros(k, dtype=bool)
    for flat in np.argsort(C, axis=None):
        i, j = divmod(int(flat), k)
        if perm[i] < 0 and not used[j]:
            perm[i], used[j] = j, True
    return perm


def align(problem: Problem, reference: Array, theta: Array) -> Array:
    """canonical_form(θ) with its units permuted (per layer, bottom to top) to best match canonical(reference)."""
    return _align_canonical(problem, canonical_form(problem, reference), canonical_form(problem, theta))


def _align_canonical(problem: Problem, ref_canonical: Array, canonical: Array) -> Array:
    """`align` of two points already in canonical form (P,)."""
    spec = problem.shape.spec()
    ref = {k: v[0] for k, v in dr.unpack(spec, ref_canonical[None]).items()}
    p = {k: v[0].copy() for k, v in dr.unpack(spec, canonical[None]).items()}
    layout = unit_layout(problem)
    for pos, (ins, outs) in enumerate(layout):
        # match on in-weights (comparable once the layers below are aligned) and out-weights — except for
        # an FC layer below the top, whose out-weights' rows belong to the next, not yet aligned, layer
        use_out = problem.network == "resnet" or pos == len(layout) - 1
        feats = [(n, ax) for n, ax in ins] + ([(n, "col") for n, _ in outs] if use_out else [])
        fa = np.concatenate([_take(ref[n], ax) for n, ax in feats], 1)
        fb = np.concatenate([_take(p[n], ax) for n, ax in feats], 1)
        perm = _best_permutation(fa, fb)
        for name, ax in ins:
            p[name] = p[name][perm]
        for name, _ in outs:
            p[name] = p[name][:, perm]
    return dr.pack(spec, {k: v[None] for k, v in p.items()}, (1,))[0]


def point_distance(problem: Problem, a: Array, b: Array) -> float:
    """max |canonical(a) − aligned canonical(b)| / (1 + max |canonical(a)|): 0 for symmetric copies."""
    return _canonical_distance(problem, canonical_form(problem, a), canonical_form(problem, b))


def _canonical_distance(problem: Problem, ca: Array, cb: Array) -> float:
    """`point_distance` of two points already in canonical form."""
    return float(np.abs(ca - _align_canonical(problem, ca, cb)).max() / (1.0 + np.abs(ca).max()))


def function_distance(problem: Problem, a: Array, b: Array) -> float:
    """max_i ‖f_a(x_i) − f_b(x_i)‖∞ / (1 + max|f_a|): the predictors compared on the data."""
    out = dr.resnet_output if problem.network == "resnet" else dr.fc_output
    F = out(problem.shape, np.stack([a, b]), problem.X)
    return float(np.abs(F[0] - F[1]).max() / (1.0 + np.abs(F[0]).max()))


def deduplicate(problem: Problem, thetas: Array, tol: float = 1e-6, by: str = "parameters") -> tuple[list[int], Array]:
    """Merge points equal up to unit permutations and positive rescalings: thetas (N, P).

    Greedy: each point joins the first representative within `point_distance` ≤ tol, or becomes one.
    Returns (indices of the representatives, label (N,) = position of each point's representative).
    Continua of critical points (e.g. a dead unit's free out-weights, the W = 0 saddles) are not merged:
    only exact orbits. `by="function"` merges points whose predictors agree on the data instead
    (`function_distance` ≤ tol) — coarser: different critical points can share a predictor.
    """
    if by not in ("parameters", "function"):
        raise ValueError(f"by must be 'parameters' or 'function', not {by!r}")
    if by == "parameters":  # each point put in canonical form once, not once per comparison
        canon = [canonical_form(problem, th) for th in thetas]
        dist = lambda i, j: _canonical_distance(problem, canon[i], canon[j])  # noqa: E731
    else:
        dist = lambda i, j: function_distance(problem, thetas[i], thetas[j])  # noqa: E731
    reps: list[int] = []
    labels = np.zeros(len(thetas), dtype=int)
    for n in range(len(thetas)):
        for r, rep in enumerate(reps):
            if dist(rep, n) <= tol:
                labels[n] = r
                break
        else:
            labels[n] = len(reps)
            reps.append(n)
    return reps, labels

