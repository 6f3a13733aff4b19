"""The critical points of the two-layer population loss and their classification (Liu et al. 2019).

The loss L(v, a) of `population` (v on the unit sphere S^{p−1}, a ∈ R^k) has a global optimum (v*, a*) and a
spurious local optimum at angle(v, v*) = π (the poster's Theorem "spurious local optimum"). Here: the Hessian
restricted to the tangent space of the sphere, probing of degenerate points by random perturbations, and the
verdict (local minimum / saddle) with the method that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from resnet_cli.models.two_layer import population as tl


@dataclass
class CriticalPoint:
    kind: str
    v: np.ndarray
    a: np.ndarray
    loss: float
    grad_norm: float
    hessian_eigenvalues: np.ndarray  # on the tangent space of the sphere × R^k
    a_dot_astar: float
    verdict: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON view; `w_resnet` = v − e is the ResNet parametrization of the same point."""
        return {
            "kind": self.kind, "loss": self.loss, "grad_norm": self.grad_norm, "a_dot_astar": self.a_dot_astar,
            "hessian_min": float(self.hessian_eigenvalues.min()), "hessian_max": float(self.hessian_eigenvalues.max()),
            "verdict": self.verdict, "method": self.method, "v": self.v, "w_resnet": self.v - tl.unit_e(self.v.size),
            "a": self.a,
        }



def tangent_basis(v: np.ndarray, k: int) -> np.ndarray:
    """An orthonormal basis (p + k, p − 1 + k) of the tangent space of the sphere at unit v (p,) × R^k."""
    p = v.size
    q, _ = np.linalg.qr(np.column_stack([v, np.eye(p)]))
    basis = np.zeros((p + k, p - 1 + k))
    basis[:p, : p - 1] = q[:, 1:p]
    basis[p:, p - 1 :] = np.eye(k)
    return basis


def tangent_hessian(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """The Hessian of L restricted to the tangent space of the sphere at v (× all of R^k), in an orthonormal basis.

    L is invariant to the norm of u, so the Euclidean Hessian in (w, a) has a null radial direction; the
    tangent restriction removes it.
    """
    H = tl.hessian_w(v, a, v_star, a_star, offset=0.0)
    basis = tangent_basis(v, a.size)
    return basis.T @ H @ basis


@dataclass(frozen=True)
class Model:
    """A population loss as `classify_point` uses it: loss(v, a) and reduced(v) = min_a L(v, a) batched over
    rows (v (n, p), a (n, k) → (n,)); gradients(v, a) → (tangent ∇_v, ∇_a); tangent_hessian(v, a) for one
    point. `non_overlapping(v*, a*)` is the closed form of `population`; `stride_landscape.stride_model` the
    loss of overlapping patches."""

    loss: Callable[[np.ndarray, np.ndarray], np.ndarray]
    gradients: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    tangent_hessian: Callable[[np.ndarray, np.ndarray], np.ndarray]
    reduced: Callable[[np.ndarray], np.ndarray]


def non_overlapping(v_star: np.ndarray, a_star: np.ndarray) -> Model:
    """The non-overlapping loss of `population` (s = p) as a `Model`."""
    return Model(
        loss=lambda v, a: tl.population_loss(v, a, v_star, a_star),
        gradients=lambda v, a: tl.gradients(v, a, v_star, a_star),
        tangent_hessian=lambda v, a: tangent_hessian(v, a, v_star, a_star),
        reduced=lambda v: tl.profile_loss(tl.angle(v, v_star), a_star),
    )


PROBE_CHUNK = 20_000  # rows of probes per numpy call in `probe_minimum`


def _draw_rows(draw: Callable[..., np.ndarray], rows: int, cols: int) -> np.ndarray:
    """`draw(size=(rows, cols))`, made of consecutive chunks of PROBE_CHUNK rows (the same numbers)."""
    out = np.empty((rows, cols))
    for lo in range(0, rows, PROBE_CHUNK):
        out[lo:lo + PROBE_CHUNK] = draw(size=(min(PROBE_CHUNK, rows - lo), cols))
    return out


def probe_minimum(
    rng: np.random.Generator, v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, probes: int, radius: float,
    model: Optional[Model] = None,
) -> tuple[bool, float]:
    """Probe perturbations of size `radius`: is L higher (by more than rounding) at all of them, lower (by
    more than rounding) at some, or neither (every change within rounding: the probe cannot tell)?

    Two kinds, `probes` each: (1) v rotated on the sphere and a shifted, both at random; (2) v rotated at
    random with a re-optimized in closed form, min_a L(v', a) (L is strictly convex in a, so the point is a
    local minimum iff v is one of this reduced loss). Kind (2) sees descent directions of higher order that
    random joint perturbations miss (at φ = π the loss changes only as ε³ along v).
    Returns ("higher" | "lower" | "within rounding", smallest L(probe) − L(point)). `model`: the loss
    (default: `non_overlapping`).
    """
    p, k = v.size, a.size
    model = model or non_overlapping(v_star, a_star)
    base = float(model.loss(v[None], a[None])[0])
    # In chunks of PROBE_CHUNK rows: a million probes are seconds of numpy that Ctrl-C could not stop; between
    # chunks it can (docs/cli.md: every command stops within 2 s). A generator fills an array in order, so
    # drawing it in consecutive row chunks gives the very numbers of one draw.
    dv_all = _draw_rows(rng.standard_normal, probes, p)
    uniform = _draw_rows(rng.uniform, probes, 1)
    da_all = _draw_rows(rng.standard_normal, probes, k)
    joint, reduced = [], []
    for lo in range(0, probes, PROBE_CHUNK):
        dv = dv_all[lo:lo + PROBE_CHUNK]
        dv -= np.outer(dv @ v, v)
        dv /= np.linalg.norm(dv, axis=1, keepdims=True)
        size = np.full((len(dv), 1), radius)
        angle = size * uniform[lo:lo + PROBE_CHUNK]
        vp = np.cos(angle) * v + np.sin(angle) * dv
        da = da_all[lo:lo + PROBE_CHUNK]
        da *= np.sqrt(size**2 - angle**2) / np.linalg.norm(da, axis=1, keepdims=True)
        joint.append(model.loss(vp, a + da) - base)
        reduced.append(model.reduced(np.cos(size) * v + np.sin(size) * dv) - base)
    delta = np.concatenate([*joint, *reduced])
    rounding = 1e-12 * max(1.0, abs(base))  # changes below this are float noise, not descent
    worst = float(delta.min())
    return ("higher" if worst > rounding else "lower" if worst < -rounding else "within rounding"), worst


def classify_point(
    rng: np.random.Generator, kind: str, v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray,
    probes: int, probe_radius: float, model: Optional[Model] = None,
) -> CriticalPoint:
    """Loss, gradient norm and a local-minimality verdict: from the tangent Hessian when it is definite,
    from probing `probes` random perturbations of size `probe_radius` (of each kind, see `probe_minimum`) when it is
    degenerate (the spurious point: g is cubic at φ = π). v, v*: unit vectors (p,); a, a*: (k,). `model`: the
    loss (default: `non_overlapping`, the closed form of `population`)."""
    model = model or non_overlapping(v_star, a_star)
    grad_v, grad_a = model.gradients(v, a)
    eig = np.linalg.eigvalsh(model.tangent_hessian(v, a))
    scale = max(1.0, float(np.abs(eig).max()))
    if eig.min() > 1e-9 * scale:
        verdict, method = "local minimum", "Hessian positive definite on the tangent space"
    elif eig.min() < -1e-9 * scale:
        verdict, method = "saddle", "Hessian has a negative eigenvalue"
    else:
        outcome, worst = probe_minimum(rng, v, a, v_star, a_star, probes, probe_radius, model)
        zero = int(np.sum(np.abs(eig) <= 1e-9 * scale))
        verdict = {"higher": "local minimum", "lower": "saddle"}.get(outcome, "undecided")
        seen = {"higher": "all higher", "lower": "some lower"}.get(outcome, "every change within rounding "
                                                                              "(raise --probe-radius)")
        method = (
            f"Hessian degenerate ({zero} zero eigenvalues); probed {2 * probes} perturbations of size "
            f"{probe_radius:g} (half with a re-optimized): {seen} (min ΔL = {worst:.3e})"
        )
    return CriticalPoint(
        kind=kind,
        v=v,
        a=a,
        loss=float(model.loss(v[None], a[None])[0]),
        grad_norm=float(np.sqrt(np.sum(grad_v**2) + np.sum(grad_a**2))),
        hessian_eigenvalues=eig,
        a_dot_astar=float(a @ a_star),
        verdict=verdict,
        method=method,
    )
