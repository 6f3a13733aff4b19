"""Perturbed GD with normalization and annealed Gaussian noise (Zhou et al. 2019, "Toward understanding the
importance of noise in training neural networks", ICML; on the two-layer non-overlapping net of Liu et al.
2019 and Du et al. 2017).

The step is GD with normalization (models/two_layer/optim.py) with a Gaussian perturbation of the gradient:

    w̃ = w − η_w (∇_w L + ξ_t),   w ← (e + w̃)/‖e + w̃‖ − e,   a ← a − η_a (∇_a L + ζ_t)

with ξ_t ~ N(0, (σ_t ‖a*‖²)² I_p) and ζ_t ~ N(0, (σ_t ‖a*‖)² I_k) (`Noise.on` chooses which layers are
perturbed; the units ‖a*‖² and ‖a*‖ are the sizes of the two gradients at a = a*, so one σ means the same
relative perturbation for every k and teacher). The noise level is annealed on the clock t/T of the run
(T = its steps):

    none:         σ_t = σ0
    exponential:  σ_t = σ0 exp(−r t/T)
    polynomial:   σ_t = σ0 / (1 + r t/T)

The perturbation leaves the plane of v0 and v* (ξ has p − 1 tangent directions) and a leaves span{a0, 1, a*},
so the exact plane reduction of `optim.PlaneState` does not hold: `NoisyState` is the vector state
(`optim.VectorState`) with the two perturbations added inside its step. With the noise on w only, a still stays
in span{a0, 1, a*}: `FilterNoisyState` (what `noisy_state` builds then) keeps v as a vector and a as its three
coefficients, the same run to rounding at a cost per step that does not grow with k.

Perturbed minibatch SGD (and perturbed GD on a fixed sample) is the same law on the sampled gradients of
`samples.SampleState`: ∇_w L and ∇_a L above become the batch's ∇_w L̂ and ∇_a L̂ (models/two_layer/samples.py),
the noise is added to them before the step (`perturbed` attaches it to a state factory of samples.py).

Both take their draws from one `Perturbation`: every row draws from one generator, p (and k) normals per row
and step for all rows of the batch whether active or frozen (ξ then ζ, each drawn as size × rows), so a row's
noise does not depend on which other rows have finished; with σ0 = 0 nothing is drawn and the run is plain
GD (plain SGD) bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from resnet_cli.models.two_layer.gd_states import UnitVStep, coefficient_basis, run_statistics, sum_rows
from resnet_cli.models.two_layer.optim import VectorState

#: σ0 when a run names no size (success-rate's *-noise methods), in the units of the module docstring.
DEFAULT_SIZE = 3.0
ANNEALS = ("none", "exponential", "polynomial")
TARGETS = ("w", "a", "both")


@dataclass(frozen=True)
class Noise:
    """The noise law: σ0 (`size`), the annealing `anneal` with its `rate` r, the layers it perturbs (`on`) and
    the annealing clock's horizon T (`horizon`, the run's steps)."""

    size: float
    anneal: str = "exponential"
    rate: float = 10.0
    on: str = "w"
    horizon: int = 1

    def __post_init__(self) -> None:
        if self.anneal not in ANNEALS or self.on not in TARGETS:
            raise ValueError(f"unknown noise anneal {self.anneal!r} or target {self.on!r}")
        if self.size < 0 or self.rate < 0 or self.horizon < 1:
            raise ValueError("noise size and rate must be >= 0 and the horizon >= 1")

    def level(self, t: int | np.ndarray) -> np.ndarray:
        """σ_t at step(s) t (0-based)."""
        x = np.asarray(t, dtype=float) / self.horizon
        if self.anneal == "none":
            return np.full(x.shape, float(self.size))
        if self.anneal == "exponential":
            return self.size * np.exp(-self.rate * x)
        return self.size / (1.0 + self.rate * x)

    def level_at(self, t: int) -> float:
        """σ_t at one step t, the bits of `level` on an array: the same operations in the same order on Python
        floats (IEEE, as numpy's), exp still numpy's; a few µs less per step of a perturbed run."""
        x = float(t) / self.horizon
        if self.anneal == "none":
            return float(self.size)
        if self.anneal == "exponential":
            return float(self.size * np.exp(-self.rate * x))
        return float(self.size / (1.0 + self.rate * x))


#: `Run.fuse_key`'s group of the FilterNoisyState runs: those of one p (any k) share one state array.
FUSE_GROUP = "filter-noisy"


class Perturbation:
    """The draws of perturbed GD for a batch of trials (rows): the law, its generator, the annealing clock and
    the units ‖a*‖² (w) and ‖a*‖ (a) per row (a_star: trials × k). One home for `NoisyState` (population) and
    `samples.SampleState` (SGD); a compacted part (`take`) keeps the clock, the generator (shared) and its rows'
    places in the full batch, so it draws for every row of the batch and keeps its own."""

    def __init__(self, noise: Noise, rng: np.random.Generator, a_star: np.ndarray) -> None:
        norm2 = np.sum(np.asarray(a_star, dtype=float) ** 2, axis=-1)
        self.noise, self.rng, self.clock, self.level = noise, rng, 0, 0.0
        self.rows, self.n = np.arange(norm2.size), norm2.size
        self.scale_w, self.scale_a = norm2, np.sqrt(norm2)

    def advance(self, known: dict[Noise, float] | None = None) -> float:
        """σ_t of the step about to be taken (the clock then moves on by one step); `known` holds the σ_t of
        this step for laws already seen (stacked runs that share a law and a clock compute it once)."""
        level = None if known is None else known.get(self.noise)
        if level is None:
            level = self.noise.level_at(self.clock)
            if known is not None:
                known[self.noise] = level
        self.level, self.clock = level, self.clock + 1
        return level

    def on_w(self) -> bool:
        return bool(self.level) and self.noise.on != "a"

    def on_a(self) -> bool:
        return bool(self.level) and self.noise.on != "w"

    def draw(self, size: int) -> np.ndarray:
        """size × (active rows) standard normals: drawn for every row of the full batch, the active ones kept."""
        z = self.rng.standard_normal((size, self.n))
        return z if self.rows.size == self.n else z[:, self.rows]

    def add(self, grad_w: np.ndarray, grad_a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The perturbed gradients of one step, rows as trials: (∇_w + ξ_t, ∇_a + ζ_t) with ξ_t (trials × p) and
        ζ_t (trials × k) as in the module docstring (σ_t of `advance`); the same draws as `NoisyState`'s."""
        if self.on_w():
            grad_w = grad_w + (self.level * self.scale_w)[:, None] * self.draw(grad_w.shape[-1]).T
        if self.on_a():
            grad_a = grad_a + (self.level * self.scale_a)[:, None] * self.draw(grad_a.shape[-1]).T
        return grad_w, grad_a

    def take(self, index: np.ndarray) -> "Perturbation":
        part = object.__new__(Perturbation)
        part.noise, part.rng, part.clock, part.level, part.n = self.noise, self.rng, self.clock, self.level, self.n
        part.rows, part.scale_w, part.scale_a = self.rows[index], self.scale_w[index], self.scale_a[index]
        return part


class Perturbations:
    """The draws of several perturbed-GD runs stacked into one `FilterNoisyState` (`FilterNoisyState.concat`):
    one `Perturbation` per run, each with its own law, generator, clock and rows, and ``owner`` (the run of each
    current row; rows stay grouped by run, in run order). Each run draws exactly what it draws alone (p × its
    full batch from its own generator, its active rows kept), so a row's noise does not depend on the other runs;
    a run whose σ_t is 0 draws nothing and adds ±0 (`level` 0 on its rows), as it adds nothing alone."""

    def __init__(self, parts: list[Perturbation], owner: np.ndarray) -> None:
        if owner.size > 1 and np.any(np.diff(owner) < 0):
            raise ValueError("the rows of stacked runs must stay grouped by run, in run order")
        if len({id(part.rng) for part in parts}) < len(parts):  # one stream read by two runs interleaves its draws
            raise ValueError("stacked perturbed runs need a generator each")
        self.parts, self.owner = parts, owner
        self.bounds = np.searchsorted(owner, np.arange(len(parts) + 1))  # run j: rows bounds[j]:bounds[j + 1]
        self._sizes = np.diff(self.bounds)
        self.scale_w = np.concatenate([part.scale_w for part in parts])
        self.level = np.zeros(owner.size)

    @property
    def clock(self) -> int:
        return self.parts[0].clock

    @clock.setter
    def clock(self, value: int) -> None:
        for part in self.parts:
            part.clock = value

    def advance(self) -> np.ndarray:
        """σ_t of every run's step about to be taken, per row (each clock moves on by one step)."""
        known: dict[Noise, float] = {}  # the clocks are one (`clock`): one σ_t per law and step
        self.level = np.repeat([part.advance(known) for part in self.parts], self._sizes)
        return self.level

    def on_w(self) -> bool:
        return any(part.on_w() for part in self.parts)

    def draw(self, size: int) -> np.ndarray:
        """size × (active rows): each run's own draws on its rows, zeros where a run adds no noise this step."""
        out = np.zeros((size, self.owner.size))
        for j, part in enumerate(self.parts):
            lo, hi = self.bounds[j], self.bounds[j + 1]
            if hi > lo and part.on_w():
                out[:, lo:hi] = part.draw(size)
        return out

    def take(self, index: np.ndarray) -> "Perturbations":
        """The rows `index` (ascending positions among the current rows, or a slice), each run keeping its own."""
        index = np.arange(self.owner.size)[index]
        owner = self.owner[index]
        parts = [part.take(index[owner == j] - self.bounds[j]) for j, part in enumerate(self.parts)]
        return Perturbations(parts, owner)


class NoisyState(VectorState):
    """`optim.VectorState` with the perturbations of perturbed GD (module docstring), for `optim.run_gd`'s
    `representation`: `lambda v0, a0, vs, ast: NoisyState(v0, a0, vs, ast, noise, rng)`.

    Rows are trials (v0: trials × p, a0: trials × k). The state counts its steps (the annealing clock) in its
    `Perturbation`, which a compacted part (`take`) carries along."""

    def __init__(self, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, noise: Noise,
                 rng: np.random.Generator) -> None:
        super().__init__(v0, a0, v_star, a_star)
        self.perturbation = Perturbation(noise, rng, a_star)

    @property
    def noise(self) -> Noise:
        return self.perturbation.noise

    def step(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        self.perturbation.advance()
        super().step(eta_a, eta_w)

    def _perturb_w(self, u: np.ndarray, eta_w: np.ndarray) -> None:
        z = self.perturbation
        if z.on_w():
            u -= (eta_w * z.level * z.scale_w) * z.draw(u.shape[0])

    def _perturb_a(self, a_new: np.ndarray, eta_a: np.ndarray) -> None:
        z = self.perturbation
        if z.on_a():
            a_new -= (eta_a * z.level * z.scale_a) * z.draw(a_new.shape[0])

    def take(self, index: np.ndarray) -> "NoisyState":
        part = super().take(index)
        assert isinstance(part, NoisyState)
        part.perturbation = self.perturbation.take(index)
        return part

    def put(self, index: np.ndarray, part: VectorState) -> None:
        super().put(index, part)
        if isinstance(part, NoisyState):
            self.perturbation.clock = part.perturbation.clock


class FilterNoisyState(UnitVStep):
    """Perturbed GD with the noise on w only (`Noise.on` = "w", σ0 > 0): the same run as `NoisyState`, to
    rounding, at a cost per step that does not grow with k.

    Only ξ perturbs the step, so a moves as in noiseless GD, a ← d a + b a* + c 1 (`VectorState.step`): a stays in
    span{a0, 1, a*} and is kept as its coefficients e (3 × trials, a = [a0, 1, a*] e, as in `PlaneState`), while
    v stays a vector (p × trials): ξ leaves the plane of v0 and v*. The sums the step needs are 1ᵀa = (Bᵀ1)ᵀe and
    aᵀa* = (Bᵀa*)ᵀe with B = [a0, 1, a*]; each step's numbers are those of `VectorState.step` (the same
    formulas in the same order for v; e in place of a), and the draws are `NoisyState`'s (p × trials normals per
    step from the same generator, for every row of the batch). tests/models/test_noise.py checks it against
    `NoisyState` over whole runs."""

    def __init__(self, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, noise: Noise,
                 rng: np.random.Generator) -> None:
        if noise.on != "w":
            raise ValueError("FilterNoisyState perturbs w only")
        v0, a0 = np.asarray(v0, dtype=float), np.asarray(a0, dtype=float)
        a_star = np.asarray(a_star, dtype=float)
        self.v_star, self.a_star = v_star, a_star
        self.basis, astar_b, ones_b = coefficient_basis(a0, a_star)
        self._v = np.ascontiguousarray((v0 / np.linalg.norm(v0, axis=-1, keepdims=True)).T)
        self._neg_y = np.ascontiguousarray(-(v_star / np.linalg.norm(v_star, axis=-1, keepdims=True)).T)
        n = a0.shape[0]
        self._k = np.full(n, a0.shape[1])  # each row's k (a stack of runs of several k pads a*, B with zeros)
        e = np.zeros((3, n))
        e[0] = 1.0
        # [aᵀa*, 1ᵀa] = sums over the three rows of qo ⊙ e: qo[0] = Bᵀa*, qo[1] = Bᵀ1 (per trial)
        self._build(e, np.stack([astar_b.T, ones_b.T]), a_star.sum(axis=-1), np.zeros(n, dtype=bool))
        self.perturbation = Perturbation(noise, rng, a_star)

    def _build(self, e: np.ndarray, qo: np.ndarray, sum_star: np.ndarray, zeroed: np.ndarray) -> None:
        """e (3 × trials), qo (2 × 3 × trials), 1ᵀa* and the rows lost to overflow, with `step`'s buffers."""
        (p, n) = self._v.shape
        self._e, self._qo, self._sum_star = np.array(e), np.array(qo), np.array(sum_star)
        self._zeroed, self._pending = np.array(zeroed, dtype=bool), bool(np.any(zeroed))
        self._etas: tuple | None = None
        self._buffers = (np.empty((2, 3, n)), np.empty((2, n)), np.empty((p, n)), np.empty((p, n)),
                         np.empty((6, n)))

    @property
    def noise(self) -> Noise:
        return self.perturbation.noise

    @property
    def v(self) -> np.ndarray:
        return self._v.T

    @property
    def a(self) -> np.ndarray:
        """a = [a0, 1, a*] e, trials × k (a new array, as `PlaneState.vectors`); rows of one k only."""
        (rows, k), *others = self._groups()
        if others:
            raise ValueError("the rows of a stack of runs of several k have no common a: split it first")
        return self._a_of(rows, k)

    def _groups(self) -> list[tuple[np.ndarray | slice, int]]:
        """(rows, k) for each k among the rows (rows a slice of all of them when they share one k)."""
        ks = np.unique(self._k)
        if ks.size <= 1:
            return [(slice(None), int(ks[0]) if ks.size else self.basis.shape[1])]
        return [(np.flatnonzero(self._k == k), int(k)) for k in ks]

    def _a_of(self, rows: np.ndarray | slice, k: int) -> np.ndarray:
        """a of the given rows from C-ordered B and e (copies where needed), the layout of a state built from
        those runs: the same sums whatever rows left the batch (`take` leaves e F-ordered)."""
        return np.einsum("nki,in->nk", np.ascontiguousarray(self.basis[rows, :k]),
                         np.ascontiguousarray(self._e[:, rows]))

    def step(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        z = self.perturbation
        z.advance()
        v, neg_y, e = self._v, self._neg_y, self._e
        qo_e, sums, t, pv, per = self._buffers
        a_dot, sum_a = sums
        neg_cos, sin, far, x, b, c = per
        self._drop_lost_rows(v)
        np.multiply(v, neg_y, pv)
        sum_rows(pv, 0, neg_cos)  # −vᵀv*
        np.multiply(self._qo, e, qo_e)
        sum_rows(qo_e, 1, sums)  # aᵀa*, 1ᵀa
        np.multiply(v, neg_cos, t)
        np.subtract(t, neg_y, t)  # t = (I − vvᵀ)v*
        np.multiply(t, t, pv)
        np.sqrt(sum_rows(pv, 0, sin), sin)
        np.arctan2(sin, neg_cos, far)  # π − φ
        decay, scale = self._scales(eta_a, eta_w)
        np.multiply(a_dot, far, x)
        np.multiply(neg_cos, far, b)
        np.subtract(sin, b, b)
        np.subtract(b, 1.0, b)
        np.subtract(self._sum_star, sum_a, c)
        np.multiply(per[3:], scale, per[3:])  # x, b, c times [η_w/π, η_a/π, η_a/π]
        np.multiply(t, x, t)
        np.add(t, v, t)
        if z.on_w():
            t -= (eta_w * z.level * z.scale_w) * z.draw(t.shape[0])
        self._normalize(t, v, pv, sin)  # sin's buffer is the scratch of ‖u‖ (then 1/‖u‖)
        np.multiply(e, decay, e)  # a ← d a + b a* + c 1: e ← d e + (0, c, b)
        np.add(e[1], c, e[1])
        np.add(e[2], b, e[2])

    def take(self, index: np.ndarray) -> "FilterNoisyState":
        part = object.__new__(FilterNoisyState)
        part.v_star, part.a_star, part.basis = self.v_star[index], self.a_star[index], self.basis[index]
        part._v, part._neg_y = self._v[:, index], self._neg_y[:, index]
        part._build(self._e[:, index], self._qo[:, :, index], self._sum_star[index], self._zeroed[index])
        part._k = self._k[index]
        part.perturbation = self.perturbation.take(index)
        return part

    def put(self, index: np.ndarray, part: "FilterNoisyState") -> None:
        self._v[:, index], self._e[:, index], self._zeroed[index] = part._v, part._e, part._zeroed
        self._pending = bool(self._zeroed.any())
        self.perturbation.clock = part.perturbation.clock

    @staticmethod
    def concat(states: "list[FilterNoisyState]") -> "FilterNoisyState":
        """The trials of several runs of one p as one state, each run with its own draws (`Perturbations`);
        every operation of `step` is elementwise across trials and nothing in it has k's size (v is p × trials,
        a is kept as e, 3 × trials), so each row's numbers are those of its run alone, whatever its k. a* and B
        are padded to the largest k with zeros and read back at each row's own k (`statistics`). `split`
        (`UnitVStep.split`) writes the current rows back."""
        whole = object.__new__(FilterNoisyState)
        width = max(s.basis.shape[1] for s in states)
        whole.v_star = np.concatenate([s.v_star for s in states])
        whole.a_star, whole.basis = (np.concatenate([_pad_k(getattr(s, name), width) for s in states])
                                     for name in ("a_star", "basis"))
        whole._v, whole._neg_y = (np.ascontiguousarray(np.concatenate([getattr(s, name) for s in states], axis=1))
                                  for name in ("_v", "_neg_y"))
        whole._build(np.concatenate([s._e for s in states], axis=1), np.concatenate([s._qo for s in states], axis=2),
                     np.concatenate([s._sum_star for s in states]), np.concatenate([s._zeroed for s in states]))
        whole._k = np.concatenate([s._k for s in states])
        sizes = [s._v.shape[1] for s in states]
        whole.perturbation = Perturbations([s.perturbation for s in states], np.repeat(np.arange(len(states)), sizes))
        whole.parts = states
        return whole

    def _trials(self) -> int:
        return self._v.shape[1]

    def finite(self) -> np.ndarray:
        return np.isfinite(self._v).all(axis=0) & np.isfinite(self._e).all(axis=0)

    def statistics(self) -> dict[str, np.ndarray]:
        """`run_statistics` of the rows of each k, on the layout of a state built from their runs (v: C-ordered
        p × rows, a*: rows × k; copies where `take` or a stack of several k left another), so a row's numbers
        are the same whatever else is in the batch: sums over p ≥ 8 depend on the memory order (numpy's
        pairwise sum runs on contiguous rows only). A k with one row is computed as two (that row twice),
        the layout of a batch, and its first taken: a lone row would be contiguous."""
        parts = []
        for rows, k in self._groups():
            index = np.arange(self._k.size)[rows]
            pair = np.repeat(index, 2) if index.size == 1 else rows
            stats = run_statistics(np.ascontiguousarray(self._v[:, pair]).T, self._a_of(pair, k), self.v_star[pair],
                                   np.ascontiguousarray(self.a_star[pair, :k]))
            parts.append((rows, {key: value[:index.size] for key, value in stats.items()}))
        if len(parts) == 1:
            return parts[0][1]
        out: dict[str, np.ndarray] = {}
        for rows, stats in parts:
            for key, value in stats.items():
                out.setdefault(key, np.empty(self._k.size))[rows] = value
        return out

    def vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.v.copy(), self.a


def _pad_k(x: np.ndarray, width: int) -> np.ndarray:
    """x (trials × k …) with zeros appended along k up to `width`."""
    if x.shape[1] == width:
        return x
    return np.concatenate([x, np.zeros((x.shape[0], width - x.shape[1]) + x.shape[2:])], axis=1)


def noisy_state(noise: Noise, rng: np.random.Generator, over: Any = "plane"):  # noqa: ANN201 (a state factory)
    """The `representation` of `optim.run_gd` for perturbed GD with `noise`, drawing from `rng`, over the GD
    state `over`: the population loss ("plane" or "vector": `NoisyState`) or a state factory of samples.py
    (`states.state_factories` with --samples/--online: perturbed SGD, `perturbed`)."""
    if over in ("plane", "vector"):
        kind = FilterNoisyState if noise.on == "w" and noise.size > 0 else NoisyState

        def make(v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> Any:
            return kind(v0, a0, v_star, a_star, noise, rng)
        if kind is FilterNoisyState:  # runs of one p stack into one state array (`optim.run_groups`)
            make.fuse_group = FUSE_GROUP  # type: ignore[attr-defined]
        return make
    return perturbed(over, noise, rng)


def perturbed(factory: Callable[..., Any], noise: Noise, rng: np.random.Generator) -> Callable[..., Any]:
    """A state factory whose states are `factory`'s (`samples.SampleState`: minibatch/online SGD or GD on a
    sample) with the noise of `noise` from `rng` added to their gradients (`Perturbation.add`)."""
    def make(v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> Any:
        state = factory(v0, a0, v_star, a_star)
        if not hasattr(state, "perturbation"):
            raise ValueError(f"{type(state).__name__} takes no gradient noise")
        state.perturbation = Perturbation(noise, rng, a_star)
        return state
    return make


def spurious_start(v_star: np.ndarray, a_star: np.ndarray, angle: float = math.pi) -> tuple[np.ndarray, np.ndarray]:
    """Starts at angle `angle` from v* (π: the spurious point (−v*, ā) itself; the filter turned from −v*
    toward a fixed axis otherwise) with a = ā (models/two_layer/population.py `spurious_optimum`), one per row
    of v* (trials × p) and a* (trials × k)."""
    from resnet_cli.models.two_layer import population as tl
    from resnet_cli.models.two_layer.optim import _any_orthogonal

    normal = _any_orthogonal(v_star)
    v0 = math.cos(angle) * v_star + math.sin(angle) * normal
    a0 = tl.spurious_optimum(v_star, a_star)[1]
    return v0, a0
