"""The two exact GD states of `optim.run_gd` (Liu et al. 2019, GD with normalization), batched over trials.

- ``VectorState``: v (trials × p) and a (trials × k), the update of `optim.gd_step`, fused into a few
  whole-batch numpy calls per step.
- ``PlaneState``: the same GD in reduced coordinates: v = cos θ v* + sin θ n and a = [a0, 1, a*] c, O(1) per
  trial-step whatever p and k (the derivation is in resnet_cli/models/two_layer/optim.py's docstring).

Both offer the driver's interface: step(η_a, η_w), take/put (compaction), finite, statistics, vectors; and
concat/split, which stack the trials of several runs into one state (`optim.run_groups`; which runs stack is
`optim.Run.fuse_key`'s decision).
"""

from __future__ import annotations

import functools
import math
import operator
from typing import Any

import numpy as np

from resnet_cli.models.two_layer import population as tl

PI = math.pi
_rank_one: Any = None  # BLAS's dger (scipy.linalg.blas), loaded by the first VectorState: scipy.linalg is a
# quarter of the command line's start-up, which needs none of it


def _load_rank_one() -> None:
    global _rank_one
    if _rank_one is None:
        from scipy.linalg.blas import dger

        _rank_one = dger


def sum_rows(x: np.ndarray, axis: int, out: np.ndarray) -> np.ndarray:
    """`np.add.reduce(x, axis, None, out)` over the components of a state whose last axis is the trials: the rows
    added one after another, whatever the number of trials. numpy does that for two or more trials, but sums a
    lone trial's column pairwise (8 partial sums from 8 rows on), so a state of one trial (a run of one, or the
    last row left in a batch) got other last bits than the same trial in a batch; that column is added here in
    Python floats, in order (the same bits as numpy's batched sum)."""
    if x.shape[-1] != 1:
        return np.add.reduce(x, axis, None, out)
    columns = np.moveaxis(x, axis, -1)[..., 0, :]  # (…, rows): the lone trial's columns
    sums = [functools.reduce(operator.add, column) for column in columns.reshape(-1, x.shape[axis]).tolist()]
    out.reshape(-1)[:] = sums
    return out


def run_statistics(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> dict[str, np.ndarray]:
    """Per-trial loss, φ, aᵀa*, ‖a − a*‖ and ‖a − a*‖/‖a*‖ (non-finite rows give nan)."""
    with np.errstate(all="ignore"):
        phi = tl.angle(v, v_star)
        a_err = np.linalg.norm(a - a_star, axis=-1)
        return {
            "loss": tl.population_loss_phi(phi, a, a_star),
            "phi": phi,
            "a_dot_astar": np.sum(a * a_star, axis=-1),
            "a_err": a_err,
            "a_err_rel": a_err / np.linalg.norm(a_star, axis=-1),
        }


class UnitVStep:
    """What the states that keep v as a unit vector per trial (p × trials) share: `VectorState` here and
    `noise.FilterNoisyState`. The rows lost to overflow (``_zeroed``, ``_pending``), the step sizes' scalings
    (``_etas``), v ← u/‖u‖ and `split` (the runs of a stacked state); the subclass's `_build` sets the three
    attributes, its `concat` sets ``parts``."""

    _zeroed: np.ndarray
    _pending: bool
    _etas: tuple | None
    parts: list  # set by a subclass's concat

    def _drop_lost_rows(self, v: np.ndarray) -> None:
        """gd_step normalizes v = 0 (`_normalize`) to 0/0: a row whose ‖u‖ overflowed is lost (NaN)."""
        if self._pending:
            v[:, self._zeroed] = math.nan
            self._zeroed[:], self._pending = False, False

    def _scales(self, eta_a: np.ndarray, eta_w: np.ndarray) -> tuple[float | np.ndarray, np.ndarray]:
        """(1 − η_a(π − 1)/π, [η_w/π, η_a/π, η_a/π]), kept while the schedule hands the same arrays; the first
        one number when it is the same for every trial (the same products, fewer memory passes)."""
        if self._etas is None or self._etas[0] is not eta_a or self._etas[1] is not eta_w:
            decay = 1.0 - eta_a * ((PI - 1) / PI)
            if decay.size and (decay == decay[0]).all():
                decay = float(decay[0])
            self._etas = (eta_a, eta_w, decay, np.stack([eta_w / PI, eta_a / PI, eta_a / PI]))
        return self._etas[2], self._etas[3]

    def split(self) -> list:
        """The parts of a `concat` state (``parts``, in row order), each holding its current rows again."""
        start = 0
        for part in self.parts:
            rows = np.arange(start, start + part._trials())
            part.put(slice(None), self.take(rows))  # type: ignore[attr-defined]
            start += rows.size
        return self.parts

    def _trials(self) -> int:
        """The number of trials (rows) this state holds."""
        raise NotImplementedError

    def _normalize(self, u: np.ndarray, v: np.ndarray, pv: np.ndarray, norm: np.ndarray) -> None:
        """v ← u/‖u‖ per trial (u, v, the buffer pv: p × trials; norm: trials, overwritten). ‖u‖ may overflow:
        such a row's v becomes 0 (u/∞), as in gd_step, and `_drop_lost_rows` makes it NaN at the next step."""
        np.multiply(u, u, pv)
        np.sqrt(sum_rows(pv, 0, norm), norm)
        if not math.isfinite(np.dot(norm, norm)):  # ‖u‖ may have overflowed (or a lost row is still here)
            overflow = np.isinf(norm)
            if overflow.any():
                self._zeroed |= overflow
                self._pending = True
        np.multiply(u, np.divide(1.0, norm, norm), v)


class VectorState(UnitVStep):
    """The GD state as full vectors: v (trials × p), a (trials × k); the update of `gd_step`, fused.

    Stored transposed (components × trials), so each component is contiguous over the trials: per-trial
    scalings broadcast along the fast axis and the row-wise dot products are a product into a buffer and a sum
    over the leading axis (the same additions for every trial, whatever the batch). v is kept unit (normalized
    once here, then by every step), so φ = atan2(‖t‖, vᵀv*) with the tangent t = (I − vvᵀ)v* that the w-step
    needs anyway: one atan2 per step, no renormalization of v or v*. v* is stored negated, so that the sum gives
    −cos φ and π − φ = atan2(sin φ, −cos φ) is one call (accurate to the last bits where π − φ is small). One buffer holds [v; a]
    above its products with [−v*; a*]: one multiplication gives the terms of vᵀv* and aᵀa*, and a over a ⊙ a*
    is one sum for 1ᵀa and aᵀa*. The a-step is a ← d a + b a* + c 1 in place (d one number while every trial
    has the same η_a; + c 1 as BLAS's rank-one update, the same additions). Per step: 10 operations on p ×
    trials arrays, 1 on (p + k) × trials, 5 on k × trials, 11 on per-trial numbers, no allocation; every
    operation is elementwise across trials, and the sums over components add row after row for any number of
    trials (`sum_rows`), so a row's numbers do not depend on the rest of the batch (`take`, `concat`). Agrees
    with `gd_step` to rounding (tests/models/test_vector_step.py).
    """

    def __init__(self, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> None:
        v0, a0 = np.asarray(v0, dtype=float), np.asarray(a0, dtype=float)
        self.v_star, self.a_star = v_star, a_star
        self._build((v0 / np.linalg.norm(v0, axis=-1, keepdims=True)).T,
                    (v_star / np.linalg.norm(v_star, axis=-1, keepdims=True)).T,  # unit v*
                    a0.T, np.asarray(a_star, dtype=float).T, np.zeros(a0.shape[0], dtype=bool))

    def _build(self, v: np.ndarray, y: np.ndarray, a: np.ndarray, a_star: np.ndarray, zeroed: np.ndarray) -> None:
        """The state from v, unit v* (p × trials), a, a* (k × trials) and the rows lost to overflow (copied),
        with the working buffers of `step`."""
        (p, n), k = v.shape, a.shape[0]
        self._p = p
        self._z = np.empty((2, p + k, n))  # [v; a] over [v ⊙ v*; a ⊙ a*] (then scratch)
        self._z[0, :p], self._z[0, p:] = v, a
        self._w = np.ascontiguousarray(np.concatenate([-y, a_star]), dtype=float)  # [−v*; a*]
        self._sum_star = sum_rows(self._w[p:], 0, np.empty(n))  # 1ᵀa*
        z, w, per = self._z, self._w, np.empty((9, n))
        # the arrays `step` works on, as views made once: v, −v*, a, a*, [v; a], [−v*; a*], the product rows (all,
        # v's, a's), a over a ⊙ a*, the tangent t; per-trial rows: [1ᵀa, aᵀa*] and −cos φ (the sums), sin φ,
        # π − φ, ‖u‖ and [x, b, c] (the coefficients of the w- and a-steps, scaled by one product)
        self._views = (z[0, :p], w[:p], z[0, p:], w[p:], z[0], w, z[1], z[1, :p], z[1, p:], z[:, p:],
                       np.empty((p, n)), per[0:2], per[0], per[1], per[2], per[3], per[4], per[5], per[6:9],
                       per[6], per[7], per[8])
        self._ones, self._a_t = np.ones(k), z[0, p:].T  # a + 1cᵀ is BLAS's rank-one update on a's Fortran view
        _load_rank_one()
        self._zeroed, self._pending = np.array(zeroed, dtype=bool), bool(np.any(zeroed))
        self._etas: tuple | None = None

    @property
    def v(self) -> np.ndarray:
        """Unit filters, trials × p (a view)."""
        return self._z[0, : self._p].T

    @property
    def a(self) -> np.ndarray:
        """Output weights, trials × k (a view)."""
        return self._z[0, self._p:].T

    def step(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        # Every operation writes into a buffer of `_build` (outputs passed by position: cheaper than out=).
        (v, neg_y, a, a_star, z, w, product, pv, pa, a_over, t, sums, sum_a, a_dot, neg_cos, sin, far, norm, xbc,
         x, b, c) = self._views
        self._drop_lost_rows(v)
        np.multiply(z, w, product)
        sum_rows(pv, 0, neg_cos)  # −vᵀv* (both unit)
        sum_rows(a_over, 1, sums)  # 1ᵀa, aᵀa*
        np.multiply(v, neg_cos, t)
        np.subtract(t, neg_y, t)  # t = (I − vvᵀ)v*, ‖t‖ = sin φ
        np.multiply(t, t, pv)
        np.sqrt(sum_rows(pv, 0, sin), sin)
        np.arctan2(sin, neg_cos, far)  # π − φ
        # w: ∇_v L = −s t with s = (aᵀa*)(π − φ)/π, x = η_w s; a: a − η_a(2Ma − 2N(φ)a*) = d a + b a* + c 1 with
        # d = 1 − η_a(π − 1)/π, b = η_a(2g(φ) − 1/π), c = η_a(1ᵀa* − 1ᵀa)/π and 2g(φ) = (sin φ + (π − φ) cos φ)/π.
        decay, scale = self._scales(eta_a, eta_w)
        np.multiply(a_dot, far, x)  # (aᵀa*)(π − φ)
        np.multiply(neg_cos, far, b)  # −(π − φ) cos φ
        np.subtract(sin, b, b)
        np.subtract(b, 1.0, b)
        np.subtract(self._sum_star, sum_a, c)
        np.multiply(xbc, scale, xbc)  # times [η_w/π, η_a/π, η_a/π]
        # v ← (v + x t)/‖v + x t‖
        np.multiply(t, x, t)
        np.add(t, v, t)
        self._perturb_w(t, eta_w)
        self._normalize(t, v, pv, norm)
        np.multiply(a_star, b, pa)
        np.multiply(a, decay, a)
        np.add(a, pa, a)
        _rank_one(1.0, c, self._ones, a=self._a_t, overwrite_a=True)  # a += c (the same additions, one pass)
        self._perturb_a(a, eta_a)

    def _perturb_w(self, u: np.ndarray, eta_w: np.ndarray) -> None:
        """Hook on u = v − η_w ∇_v L (p × trials) before it is normalized: nothing here; perturbed GD
        (models/two_layer/noise.py) subtracts η_w ξ."""

    def _perturb_a(self, a_new: np.ndarray, eta_a: np.ndarray) -> None:
        """Hook on the new a = a − η_a ∇_a L (k × trials): nothing here (noise.py subtracts η_a ξ_a)."""

    def _parts(self, index: np.ndarray | slice = slice(None)) -> tuple[np.ndarray, ...]:
        """What `_build` takes (components × trials): v, unit v*, a, a*, of the trials `index`."""
        p, (z, w) = self._p, (self._z[0][:, index], self._w[:, index])
        return z[:p], -w[:p], z[p:], w[p:]

    @staticmethod
    def concat(states: "list[VectorState]") -> "VectorState":
        """The trials of several states of one (p, k) as one (`split` writes the current rows back)."""
        whole = object.__new__(VectorState)
        whole.v_star, whole.a_star = (np.concatenate([getattr(s, name) for s in states]) for name in ("v_star", "a_star"))
        whole._build(*(np.concatenate(arrays, axis=1) for arrays in zip(*(s._parts() for s in states))),
                     np.concatenate([s._zeroed for s in states]))
        whole.parts = states
        return whole

    def _trials(self) -> int:
        return self._z.shape[2]

    def take(self, index: np.ndarray) -> "VectorState":
        part = object.__new__(type(self))  # no renormalization: the rows continue bit for bit
        part.v_star, part.a_star = self.v_star[index], self.a_star[index]
        part._build(*self._parts(index), self._zeroed[index])
        return part

    def put(self, index: np.ndarray, part: "VectorState") -> None:
        self._z[0][:, index], self._zeroed[index] = part._z[0], part._zeroed
        self._pending = bool(self._zeroed.any())

    def finite(self) -> np.ndarray:
        return np.isfinite(self._z[0]).all(axis=0)

    def statistics(self) -> dict[str, np.ndarray]:
        """`run_statistics` per trial. A lone trial's are those of a batch of two (itself twice): numpy sums a
        lone row over p ≥ 8 pairwise and the rows of a batch (v is a strided view) in order, so a run of one,
        or the last row of a batch at a check, would get other last bits than the same trial in a batch."""
        if self._trials() == 1:
            pair = VectorState.concat([self, self])
            return {key: value[:1] for key, value in pair.statistics().items()}
        return run_statistics(self.v, self.a, self.v_star, self.a_star)

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.v.copy(), self.a.copy()


#: Up to this many trials `PlaneState.step` runs row by row in Python floats (`_step_rows`). On an AMD EPYC
#: without AVX-512 its numpy program (~35 calls) took 55-93 µs a step whatever the rows (1 to 32), the rows
#: 18 µs for 1, 47 for 16, 62 for 24 and 66 for 32.
FEW_ROWS = 16


def _plane_row(fixed: tuple, theta: float, c0: float, c1: float, c2: float, cos: float, sin: float, decay: float,
               step_a: float, eta_a: float, eta_w: float) -> tuple[float, ...]:
    """One row of `PlaneState.step` before θ turns: (the new c, the new cos θ and sin θ, s), with `fixed` =
    (q, o, 1ᵀa*) of the row; every operation as `step` orders it."""
    q0, q1, q2, o0, o1, o2, sum_star = fixed
    far = PI - abs(theta)
    a_dot = q0 * c0 + q1 * c1 + q2 * c2
    ones_a = o0 * c0 + o1 * c1 + o2 * c2 - sum_star
    two_g = (abs(sin) + far * cos) / PI - 1 / PI
    step_w = eta_w * (a_dot * far / PI) * sin
    rot = math.sqrt(step_w * step_w + 1.0)
    return (c0 * decay, c1 * decay - step_a * ones_a, c2 * decay + eta_a * two_g, (cos + step_w * sin) / rot,
            (sin - step_w * cos) / rot, step_w)


class PlaneState:
    """The GD state in exact reduced coordinates: angle θ in the plane (v*, n) and c ∈ R³ with a = [a0, 1, a*] c."""

    def __init__(self, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> None:
        v0 = v0 / np.linalg.norm(v0, axis=-1, keepdims=True)
        cos = np.clip(np.sum(v0 * v_star, axis=-1), -1.0, 1.0)
        normal = v0 - cos[:, None] * v_star
        length = np.linalg.norm(normal, axis=-1)
        # v0 = ±v*: any unit normal will do (θ stays at 0 or π, sin θ = 0 there).
        fallback = _any_orthogonal(v_star)
        self.normal = np.where(length[:, None] > 0, normal / np.where(length > 0, length, 1.0)[:, None], fallback)
        self.set_angle(np.arccos(cos))
        n, k = a0.shape
        self.basis, self.astar_b, self.ones_b = coefficient_basis(a0, a_star)
        self.gram = np.einsum("nki,nkj->nij", self.basis, self.basis)
        self.sum_star = a_star.sum(axis=-1)
        self.norm2_star = np.sum(a_star**2, axis=-1)
        self.coef = np.zeros((3, n))  # c, stored as rows so each component is contiguous
        self.coef[0] = 1.0
        self.q, self.o = self.astar_b.T.copy(), self.ones_b.T.copy()
        self.v_star, self.a_star = v_star, a_star

    def set_angle(self, theta: np.ndarray) -> None:
        """θ (trials) and the cos θ, sin θ (2 × trials) that `step` rotates."""
        self.theta = theta
        self.cs = np.stack([np.cos(theta), np.sin(theta)])

    @property
    def c(self) -> np.ndarray:
        """Coefficients of a in B = [a0, 1, a*], trials × 3."""
        return self.coef.T

    def step(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        # Components as rows (3 × trials): row-wise dot products of length 3 written out, no reductions; the
        # buffers only save allocations, and the η_a terms are computed again only when the schedule hands new
        # arrays. θ moves by −arctan(s); cos θ and sin θ are not recomputed (numpy's float64 sin and cos cost
        # ~8 ns an element here, 85 % of a step) but rotated by that angle: cos α = 1/√(1 + s²), sin α = s cos α.
        # Each step rounds both θ and the pair, so after T steps they agree to within T × 2.2e-16 (θ near π
        # moves by up to half an ulp of π a step; tests/models/test_two_layer_flow.py checks 20,000 steps).
        if 0 < self.theta.size <= FEW_ROWS and np.shape(eta_a) == np.shape(eta_w) == self.theta.shape:
            return self._step_rows(eta_a, eta_w)  # a few trials: numpy's call overhead would be most of the step
        theta, (c0, c1, c2), (cos, sin) = self.theta, self.coef, self.cs
        q, o = self.q, self.o
        n = theta.size
        buf = getattr(self, "_buf", None)
        if buf is None or buf.shape[1] != n:
            buf = self._buf = np.empty((6, n))
        far, a_dot, ones_a, tmp, two_g, rot = buf
        np.abs(theta, out=far)
        np.subtract(PI, far, out=far)  # π − φ
        np.multiply(q[0], c0, out=a_dot)
        a_dot += np.multiply(q[1], c1, out=tmp)
        a_dot += np.multiply(q[2], c2, out=tmp)
        np.multiply(o[0], c0, out=ones_a)
        ones_a += np.multiply(o[1], c1, out=tmp)
        ones_a += np.multiply(o[2], c2, out=tmp)
        decay, step_a = self._eta_a_terms(eta_a)
        # ∇_a L = 2Ma − 2N(φ)a* in coefficients of B = [a0, 1, a*]; 2 g(φ) = (|sin θ| + (π − φ) cos θ)/π.
        coef = np.empty_like(self.coef)
        np.multiply(c0, decay, out=coef[0])
        ones_a -= self.sum_star
        np.subtract(np.multiply(c1, decay, out=coef[1]), np.multiply(step_a, ones_a, out=ones_a), out=coef[1])
        np.abs(sin, out=two_g)
        two_g += np.multiply(far, cos, out=tmp)
        two_g /= PI
        two_g -= 1 / PI
        np.add(np.multiply(c2, decay, out=coef[2]), np.multiply(eta_a, two_g, out=two_g), out=coef[2])
        self.coef = coef
        a_dot *= far
        a_dot /= PI
        step_w = np.multiply(eta_w, a_dot, out=a_dot)
        step_w *= sin
        # (cos, sin) of θ − α, tan α = s: ((cos + s sin) / √(1 + s²), (sin − s cos) / √(1 + s²))
        np.multiply(step_w, step_w, out=rot)
        rot += 1.0
        np.sqrt(rot, out=rot)
        cs = np.empty_like(self.cs)
        np.add(cos, np.multiply(step_w, sin, out=tmp), out=cs[0])
        np.subtract(sin, np.multiply(step_w, cos, out=tmp), out=cs[1])
        cs /= rot
        self.cs = cs
        self._turn(step_w)

    def _turn(self, step_w: np.ndarray) -> None:
        """θ ← θ − arctan(s) (s: trials, overwritten), kept in [−π, π] so that φ = |θ|: each row on its own (a
        row lost to overflow, NaN, once kept every other row of its batch from wrapping until the driver's
        next check dropped it, up to 100 steps with |θ| > π, so a row's numbers depended on its batch)."""
        theta = self.theta - np.arctan(step_w, out=step_w)
        if (np.abs(theta) > PI).any():
            theta = np.where(theta > PI, theta - 2 * PI, np.where(theta < -PI, theta + 2 * PI, theta))
        self.theta = theta

    def _step_rows(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        """`step` for a state of a few trials (≤ `FEW_ROWS`), row by row in Python floats: the same operations in
        the same order, so the same bits (+, −, ×, ÷, √ and |x| round alike in Python and numpy; arctan is
        numpy's own, on the rows' array, as in `step`). Times at `FEW_ROWS`; a default `train two-layer` (one
        trial, 40,482 steps) took 4.8 s on that core before, 1.6 s with it (start-up included)."""
        fixed = getattr(self, "_fixed", None)  # q, o and 1ᵀa* as rows of floats, while the state holds these arrays
        if fixed is None or fixed[0] is not self.q:
            fixed = self._fixed = (self.q, list(zip(*self.q.tolist(), *self.o.tolist(), self.sum_star.tolist())))
        decay, step_a = self._eta_a_terms(eta_a)
        thetas = self.theta.tolist()
        rows = [_plane_row(*row) for row in zip(fixed[1], thetas, *self.coef.tolist(), *self.cs.tolist(),
                                                decay.tolist(), step_a.tolist(), eta_a.tolist(), eta_w.tolist())]
        c0, c1, c2, cos, sin, step_w = zip(*rows)
        theta = (t - alpha for t, alpha in zip(thetas, np.arctan(np.array(step_w)).tolist()))
        theta = [t - 2 * PI if t > PI else t + 2 * PI if t < -PI else t for t in theta]  # as `_turn`
        self.coef, self.cs, self.theta = np.array([c0, c1, c2]), np.array([cos, sin]), np.array(theta)

    def _eta_a_terms(self, eta_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(1 − η_a(π − 1)/π, η_a/π), kept while the schedule hands the same η_a array."""
        cached = getattr(self, "_eta_a", None)
        if cached is None or cached[0] is not eta_a:
            cached = self._eta_a = (eta_a, 1.0 - eta_a * ((PI - 1) / PI), eta_a / PI)
        return cached[1], cached[2]

    # Per-trial arrays: components as rows (3 × trials), trials first, and those sized by p or k (v*, a*, the
    # normal n and the basis B), which only `vectors` reads. _MOVING: what a step changes (trials on the last
    # axis), which `split` and `put` hand back to the full state.
    _MOVING = ("theta", "coef", "cs")
    _COLUMNS, _ROWS, _SIZED = ("coef", "cs", "q", "o"), ("theta", "gram", "ones_b", "astar_b", "sum_star", "norm2_star"), \
        ("normal", "basis", "v_star", "a_star")

    def take(self, index: np.ndarray | slice) -> "PlaneState":
        part = object.__new__(PlaneState)
        for name in self._COLUMNS:
            setattr(part, name, getattr(self, name)[:, index])
        for name in self._ROWS + self._SIZED:
            value = getattr(self, name)
            setattr(part, name, None if value is None else value[index])
        return part

    @staticmethod
    def concat(states: "list[PlaneState]") -> "PlaneState":
        """The trials of several states (any p and k) as one: the arrays a step and the statistics read,
        stacked; the vectors stay with the parts (`split` writes what a step changed back into them)."""
        whole = object.__new__(PlaneState)
        for name in PlaneState._COLUMNS:
            setattr(whole, name, np.concatenate([getattr(s, name) for s in states], axis=1))
        for name in PlaneState._ROWS:
            setattr(whole, name, np.concatenate([getattr(s, name) for s in states]))
        for name in PlaneState._SIZED:
            setattr(whole, name, None)
        whole.parts = states
        return whole

    def split(self) -> "list[PlaneState]":
        """The parts of a `concat` state, holding the current θ, c (and cos θ, sin θ) of their trials."""
        start = 0
        for part in self.parts:
            rows = slice(start, start + part.theta.size)
            for name in self._MOVING:
                setattr(part, name, getattr(self, name)[..., rows].copy())
            start = rows.stop
        return self.parts

    def put(self, index: np.ndarray, part: "PlaneState") -> None:
        for name in self._MOVING:
            getattr(self, name)[..., index] = getattr(part, name)

    def finite(self) -> np.ndarray:
        return np.isfinite(self.theta) & np.isfinite(self.coef).all(axis=0) & np.isfinite(self.cs).all(axis=0)

    def statistics(self) -> dict[str, np.ndarray]:
        with np.errstate(all="ignore"):
            c = self.c
            phi = np.abs(self.theta)
            a_dot = np.sum(self.astar_b * c, axis=-1)
            ones_a = np.sum(self.ones_b * c, axis=-1)
            a_norm2 = np.einsum("ni,nij,nj->n", c, self.gram, c)
            a_m_a = ((PI - 1) * a_norm2 + ones_a**2) / (2 * PI)
            star_m_star = ((PI - 1) * self.norm2_star + self.sum_star**2) / (2 * PI)
            a_n_star = tl.kernel_g(phi) * a_dot + (self.sum_star * ones_a - a_dot) / (2 * PI)
            d = c.copy()
            d[:, 2] -= 1.0  # a − a* = B (c − e₃), well conditioned near a = a*
            a_err = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", d, self.gram, d), 0.0))
            return {
                "loss": np.maximum(star_m_star - 2 * a_n_star + a_m_a, 0.0),  # ≥ 0, as `population_loss_phi`
                "phi": phi,
                "a_dot_astar": a_dot,
                "a_err": a_err,
                "a_err_rel": a_err / np.sqrt(self.norm2_star),
            }

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        v = self.cs[0][:, None] * self.v_star + self.cs[1][:, None] * self.normal
        return v, np.einsum("nki,ni->nk", self.basis, self.c)


def coefficient_basis(a0: np.ndarray, a_star: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The basis B = [a0, 1, a*] (trials × k × 3) of the plane noiseless a-steps keep a in, with Bᵀa* and Bᵀ1
    (trials × 3): a = B c gives aᵀa* = (Bᵀa*)ᵀc and 1ᵀa = (Bᵀ1)ᵀc (`PlaneState`, noise.FilterNoisyState)."""
    basis = np.stack([a0, np.ones_like(a0), a_star], axis=-1)
    return basis, np.einsum("nk,nki->ni", a_star, basis), basis.sum(axis=1)


def _any_orthogonal(v_star: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to each row of v_star (Gram–Schmidt on the least aligned axis)."""
    axis = np.argmin(np.abs(v_star), axis=-1)
    x = np.zeros_like(v_star)
    x[np.arange(len(v_star)), axis] = 1.0
    x -= np.sum(x * v_star, axis=-1, keepdims=True) * v_star
    return x / np.linalg.norm(x, axis=-1, keepdims=True)
