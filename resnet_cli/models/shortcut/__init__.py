"""n-shortcut networks of Li, Jiao, Han & Weissman (2017), "Demystifying ResNet" — pure numpy.

Architecture (Definitions 2-3): R residual units of n square layers (d × d), depth = R·n. Unit r maps

    h  ↦  h + σ_post(W_{r,n} σ_mid(W_{r,n-1} … σ_mid(W_{r,1} σ_pre(h)) … ))

and the plain network (``shortcut=False``) drops the ``h +``, keeping the activations at the same places
(Appendix B: "we added ReLUs at the same positions in linear networks as in 2-shortcut networks").

Conventions used throughout this module:

- Samples are ROWS: X, Y have shape (m, d); Σ_XX = XᵀX/m and Σ_YX = YᵀX/m (eqs. 8-9).
- Weights have shape ``(*batch, R, n, d, d)``: optional leading batch axes (runs, learning rates), then
  unit, layer within the unit (applied first = 0), row, column. The parameter vector is this array
  flattened in C order, i.e. indexed (r, l, i, j); Hessians are (P, P) with P = R·n·d² in that order.
- Loss L = 1/(2m) ‖Y − F(X)‖²_F (eq. 6).
- ReLU'(0) = 0 (the convention of torch and of ``x > 0``): at the exact zero point a ReLU at the mid or post
  position therefore makes σ'(0) = 0 in Theorem 1. tanh is smooth and has σ'(0) = 1.

Linear networks (all activations identity) are computed from the second moments alone, so a loss, a
gradient step and the exact Hessian cost nothing per sample (docs/hessian.md). Nonlinear networks get
their exact Hessian from forward tangents of the pre-activations (d directions per layer rather than d²)
pushed through a second-order backward pass, summed over samples in chunks.
"""

from __future__ import annotations

# The package in parts (each module says its part); every public name is here as before:
# `from resnet_cli.models import shortcut as sc` then `sc.make_network`, `sc.hessian`, `sc.gradient_descent`, ….
from resnet_cli.models.shortcut.network import (  # noqa: F401
    ACTIVATIONS, INITS, SMALL_INIT_SCALE, SecondMoments, ShortcutNet, activation_derivative_at_zero,
    compressed_data, flatten, forward, init_weights, linear_loss_gap, linear_loss_of_map, loss,
    loss_and_gradient, make_network, optimal_linear_loss, optimal_linear_map, second_moments, unflatten,
)
from resnet_cli.models.shortcut.linear import (  # noqa: F401
    ORTHOGONAL_TOLERANCE, end_to_end_map, hessian_blocks, layer_toeplitz, linear_hessian, linear_loss, linear_loss_and_gradient,
)
from resnet_cli.models.shortcut.curvature import (  # noqa: F401
    hessian, hessian_vector_products, nonlinear_hessian,
)
from resnet_cli.models.shortcut.theorem1 import (  # noqa: F401
    Theorem1Prediction, theorem1_prediction,
)
from resnet_cli.models.shortcut.training import (  # noqa: F401
    BLOWUP, GDResult, gradient_descent,
)
