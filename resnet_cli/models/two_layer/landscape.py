"""The critical points of the two-layer population loss and their classification (Liu et al. 2019).

The loss L(v, a) of `population` (v on the unit sphere S^{p−1}, a ∈ R^k) has a global optimum (v*, a*) and a
spurious local optimum at angle(v, v*) = π (the poster's Theorem "spurious local optimum"). Here: the Hessian
restricted to the tangent space of the sphere, probing of degenerate points by random perturbations, and the
verdict (local minimum / saddle) with the method that decided it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

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



def tangent_hessian(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """The Hessian of L restricted to the tangent space of the sphere at v (× all of R^k), in an orthonormal basis.

    L is invariant to the norm of u, so the Euclidean Hessian in (w, a) has a null radial direction; the
    tangent restriction removes it.
    """
    p = v.size
    H = tl.hessian_w(v, a, v_star, a_star, offset=0.0)
    q, _ = np.linalg.qr(np.column_stack([v, np.eye(p)]))
    basis = np.zeros((p + a.size, p - 1 + a.size))
    basis[:p, : p - 1] = q[:, 1:p]
    basis[p:, p - 1 :] = np.eye(a.size)
    return basis.T @ H @ basis


PROBE_CHUNK = 20_000  # rows of probes per numpy call in `probe_minimum`


def _draw_rows(draw: Callable[..., np.ndarray], rows: int, cols: int) -> np.ndarray:
    """`draw(size=(rows, cols))`, made of consecutive chunks of PROBE_CHUNK rows (the same numbers)."""
    out = np.empty((rows, cols))
    for lo in range(0, rows, PROBE_CHUNK):
        out[lo:lo + PROBE_CHUNK] = draw(size=(min(PROBE_CHUNK, rows - lo), cols))
    return out


def probe_minimum(
    rng: np.random.Generator, v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, probes: int, radius: float
) -> tuple[bool, float]:
    """Probe perturbations of size `radius`: is L higher (by more than rounding) at all of them?

    Two kinds, `probes` each: (1) v rotated on the sphere and a shifted, both at random; (2) v rotated at
    random with a re-optimized in closed form, min_a L(v', a) (L is strictly convex in a, so the point is a
    local minimum iff v is one of this reduced loss). Kind (2) sees descent directions of higher order that
    random joint perturbations miss (at φ = π the loss changes only as ε³ along v).
    Returns (all higher, smallest L(probe) − L(point)).
    """
    p, k = v.size, a.size
    base = float(tl.population_loss(v, a, v_star, a_star))
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
        joint.append(tl.population_loss(vp, a + da, v_star, a_star) - base)
        reduced.append(tl.profile_loss(tl.angle(np.cos(size) * v + np.sin(size) * dv, v_star), a_star) - base)
    delta = np.concatenate([*joint, *reduced])
    rounding = 1e-12 * max(1.0, abs(base))  # changes below this are float noise, not descent
    return bool(np.all(delta > rounding)), float(delta.min())


def classify_point(
    rng: np.random.Generator, kind: str, v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray,
    probes: int, probe_radius: float,
) -> CriticalPoint:
    """Loss, gradient norm and a local-minimality verdict: from the tangent Hessian when it is definite,
    from probing `probes` random perturbations of size `probe_radius` (of each kind, see `probe_minimum`) when it is
    degenerate (the spurious point: g is cubic at φ = π). v, v*: unit vectors (p,); a, a*: (k,)."""
    grad_v, grad_a = tl.gradients(v, a, v_star, a_star)
    eig = np.linalg.eigvalsh(tangent_hessian(v, a, v_star, a_star))
    scale = max(1.0, float(np.abs(eig).max()))
    if eig.min() > 1e-9 * scale:
        verdict, method = "local minimum", "Hessian positive definite on the tangent space"
    elif eig.min() < -1e-9 * scale:
        verdict, method = "saddle", "Hessian has a negative eigenvalue"
    else:
        higher, worst = probe_minimum(rng, v, a, v_star, a_star, probes, probe_radius)
        zero = int(np.sum(np.abs(eig) <= 1e-9 * scale))
        verdict = "local minimum" if higher else "saddle"
        method = (
            f"Hessian degenerate ({zero} zero eigenvalues); probed {2 * probes} perturbations of size "
            f"{probe_radius:g} (half with a re-optimized): {'all higher' if higher else 'some lower'} "
            f"(min ΔL = {worst:.3e})"
        )
    return CriticalPoint(
        kind=kind,
        v=v,
        a=a,
        loss=float(tl.population_loss(v, a, v_star, a_star)),
        grad_norm=float(np.sqrt(np.sum(grad_v**2) + np.sum(grad_a**2))),
        hessian_eigenvalues=eig,
        a_dot_astar=float(a @ a_star),
        verdict=verdict,
        method=method,
    )
