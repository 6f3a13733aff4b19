"""Datasets for `landscape deep-resnet`: the two motivating examples of Yun, Sra & Jadbabaie 2019, and
Gaussian teacher data.

Columns are samples: X has shape (d_in, m), Y has shape (d_out, m).

- Example 1 (paper §3.1): six points X = [0 1 2 3 4 5], Y = X + ρ·s with s = (−1, −1, +1, −1, +1, +1).
  The signs are our reading of the paper's display (its text is not in shared/; the extraction we could
  check lost the minus signs): with them the best affine predictor's risk is exactly 8ρ²/15, the value the
  paper states, and no other sign pattern of the form X + ρ·s gives 8ρ²/15 (checked by enumerating all 64).
  Why it shows the claim: a one-hidden-node ReLU net f(x) = a σ(u x + b) + c is, on these points, either
  affine (all points on the active side) or has a flat piece, and for this zigzag the flat piece never pays:
  its global minimum equals the affine risk 8ρ²/15 (a dense scan over the kink position confirms it for
  ρ ∈ {0.1, …, 2}). A one-block ResNet f(x) = w(x + v σ(u x + b)) + c keeps the linear term x, so it can
  add a kink to the affine fit and is strictly better than 8ρ²/15 (the paper gives one such point with
  risk ρ²(12ρ² + 82ρ + 215)/(21ρ² + 156ρ + 420)).
- Example 2 (paper §3.2): X = [1 2.5 3], Y = [1 3 2]; with a 2-block ResNet the risk of the best linear
  read-out of h_1 need not lie between those of h_0 = x and h_2, even at a global minimum.
- Gaussian teacher (ours): X ~ N(0, I_dim), Y = aᵀσ(S X) + 0.1·N(0, 1) with a random one-hidden-layer ReLU
  teacher of `dim` units (S and a with N(0, 1/dim) entries; see `gaussian_teacher`).
"""

from __future__ import annotations

import math

import numpy as np

EXAMPLE1_SIGNS = np.array([-1.0, -1.0, 1.0, -1.0, 1.0, 1.0])


def yun_example1(rho: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Yun et al. 2019 §3.1: X = [0..5], Y = X + ρ·(−1, −1, +1, −1, +1, +1); R_lin = 8ρ²/15."""
    x = np.arange(6, dtype=float)
    return x[None, :], (x + rho * EXAMPLE1_SIGNS)[None, :]


def example1_linear_risk(rho: float) -> float:
    """The paper's closed form for example 1's best affine risk: 8ρ²/15."""
    return 8.0 * rho * rho / 15.0


def example1_paper_resnet_risk(rho: float) -> float:
    """The risk of the paper's one-block ResNet point for example 1: ρ²(12ρ²+82ρ+215)/(21ρ²+156ρ+420)."""
    return rho * rho * (12 * rho * rho + 82 * rho + 215) / (21 * rho * rho + 156 * rho + 420)


def yun_example2() -> tuple[np.ndarray, np.ndarray]:
    """Yun et al. 2019 §3.2: X = [1 2.5 3], Y = [1 3 2]."""
    return np.array([[1.0, 2.5, 3.0]]), np.array([[1.0, 3.0, 2.0]])


def gaussian_teacher(rng: np.random.Generator, samples: int, dim: int, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian inputs X ~ N(0, I_dim) (dim, samples) labelled by a random ReLU teacher plus noise.

    Teacher (ours): y = aᵀ σ(S x) + noise·ε with S ~ N(0, I/dim) of shape (dim, dim), a ~ N(0, 1/dim) per
    entry, ε ~ N(0, 1). The ReLU part makes the best linear predictor strictly suboptimal.
    """
    X = rng.normal(size=(dim, samples))
    S = rng.normal(0.0, 1.0 / math.sqrt(dim), size=(dim, dim))
    a = rng.normal(0.0, 1.0 / math.sqrt(dim), size=(dim,))
    Y = a @ np.maximum(S @ X, 0.0) + noise * rng.normal(size=samples)
    return X, Y[None, :]
