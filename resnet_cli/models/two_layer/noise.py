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
(`optim.VectorState`) with the two perturbations added inside its step. Every row draws from one generator,
p (and k) normals per row and step for all rows of the batch whether active or frozen, so a row's noise does
not depend on which other rows have finished; with σ0 = 0 nothing is drawn and the run is plain GD bit for bit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

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


class NoisyState(VectorState):
    """`optim.VectorState` with the perturbations of perturbed GD (module docstring), for `optim.run_gd`'s
    `representation`: `lambda v0, a0, vs, ast: NoisyState(v0, a0, vs, ast, noise, rng)`.

    Rows are trials (v0: trials × p, a0: trials × k). The state counts its steps (the annealing clock); a
    compacted part (`take`) keeps the clock, the generator (shared) and its rows' places in the full batch."""

    def __init__(self, v0: np.ndarray, a0: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, noise: Noise,
                 rng: np.random.Generator) -> None:
        super().__init__(v0, a0, v_star, a_star)
        norm2 = np.sum(np.asarray(a_star, dtype=float) ** 2, axis=-1)
        self.noise, self._rng, self._clock, self._level = noise, rng, 0, 0.0
        self._rows, self._n = np.arange(norm2.size), norm2.size
        self._scale_w, self._scale_a = norm2, np.sqrt(norm2)

    def step(self, eta_a: np.ndarray, eta_w: np.ndarray) -> None:
        self._level = float(self.noise.level(self._clock))
        super().step(eta_a, eta_w)
        self._clock += 1

    def _draw(self, size: int) -> np.ndarray:
        """size × (active rows) standard normals: drawn for every row of the full batch, the active ones kept."""
        z = self._rng.standard_normal((size, self._n))
        return z if self._rows.size == self._n else z[:, self._rows]

    def _perturb_w(self, u: np.ndarray, eta_w: np.ndarray) -> None:
        if self._level and self.noise.on != "a":
            u -= (eta_w * self._level * self._scale_w) * self._draw(u.shape[0])

    def _perturb_a(self, a_new: np.ndarray, eta_a: np.ndarray) -> None:
        if self._level and self.noise.on != "w":
            a_new -= (eta_a * self._level * self._scale_a) * self._draw(a_new.shape[0])

    def take(self, index: np.ndarray) -> "NoisyState":
        part = super().take(index)
        assert isinstance(part, NoisyState)
        part.noise, part._rng, part._clock, part._level, part._n = self.noise, self._rng, self._clock, self._level, self._n
        part._rows, part._scale_w, part._scale_a = self._rows[index], self._scale_w[index], self._scale_a[index]
        return part

    def put(self, index: np.ndarray, part: VectorState) -> None:
        super().put(index, part)
        self._clock = getattr(part, "_clock", self._clock)


def noisy_state(noise: Noise, rng: np.random.Generator):  # noqa: ANN201 (a state factory of optim.run_gd)
    """The `representation` of `optim.run_gd` for perturbed GD with `noise`, drawing from `rng`."""
    return lambda v0, a0, v_star, a_star: NoisyState(v0, a0, v_star, a_star, noise, rng)


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
