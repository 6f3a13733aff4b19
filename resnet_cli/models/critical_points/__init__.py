"""Critical points of ReLU ResNets and FC nets by Newton's method — saddles included, kinks handled honestly.

Gradient descent does not stop at saddles and crawls near degenerate critical points, so it cannot tell
how often a landscape has strict saddles (Yun et al. 2019, "Are deep ResNets provably better than linear
predictors?": every critical point of a deep ResNet is at least as good as the best linear predictor or has
a strictly negative Hessian eigenvalue). This
module solves ∇R(θ) = 0 directly with a Levenberg–Marquardt (damped Gauss–Newton) iteration on ½‖F‖²,
using the exact Hessian, so it converges (quadratically near a solution) to critical points of any index.

Models and data. `Problem` binds a network shape (`deep_resnet.ResNetShape` or `deep_resnet.FCShape`) to
data X (d_in, m), Y (d_out, m). Parameters are flat vectors θ (P,), batches are (B, P), in the layout of
`shape.spec()`. The risk is R(θ) = (1/m) Σ_i ‖f(x_i) − y_i‖² (as in `deep_resnet`).

Activation patterns. For a fixed pattern D (one array (hidden, m) per ReLU layer, entries in [0, 1]) the
*pattern network* replaces σ(z) by D ⊙ z. Its risk R_D is a polynomial in θ; for D = 1[z(θ) > 0] it equals
R near θ (a smooth piece of R). `pattern_derivatives` gives R_D, ∇R_D (B, P), ∇²R_D (B, P, P) (block-
triangular forward-over-reverse, batched over starts: `pattern.py`) and the pre-activations z with their
tangents ∂z_l/∂θ (B, units, m, Q_l) over the Q_l parameters of layers ≤ l; `pattern_gradient` R_D and ∇R_D.

Kinks. A sample i sits on a kink of unit j in layer l when z_{l,j,i}(θ) = 0; there R is not differentiable.
Let E be the set of such entries e = (l, j, i) and s ∈ [0, 1]^E slopes on them (D_e = s_e, the other
entries follow the sign of z). Because the network output is affine in each activation, ∇R_D is
multilinear in s, so at a point with z_E = 0, ∇R_{D(s)} is a convex combination of the gradients of the
2^|E| pieces meeting the point — an element of the Clarke subdifferential ∂R. The finder therefore solves

    F(θ, s) = [ ∇R_{D(s)}(θ) ;  z_E(θ) ] = 0,        (P + |E| equations, P + |E| unknowns)

with Jacobian J = [[∇²R_{D(s)}, ∂_s ∇R_{D(s)}], [∂z_E/∂θ, 0]] (∂_s by an exact central difference of
gradients: ∇R_D is quadratic in each s_e). With E = ∅ this is plain Newton/LM on ∇R = 0. E is built on the way, one
entry at a time and only within reach of a Newton step (|z_e| ≤ κ‖F‖): after a poor or rejected step the
entry nearest to its kink joins, and after a rejected step the first kink the step crossed joins; a new
entry starts at s_e = its current slope (so the merit does not jump). An entry leaves E when s_e settles
on the bound of its own side (s_e = 1[z_e > 0]), which leaves R_D unchanged.
LM step: (JᵀJ + μI) δ = −JᵀF with μ = λ_b ‖F‖ (Fan–Yuan), per-start λ_b adapted by the ratio of actual to
predicted decrease of ‖F‖²; s is kept in [0, 1]. Converged when ‖∇R_{D(s)}‖ < tol and max|z_E| < tol:
then 0 ≈ ∇R_{D(s)} ∈ ∂R (a Clarke-critical point; a smooth critical point when E = ∅).

Second order at a kink point. The Hessian of one piece says nothing about the point by itself. We report
(a) λ_min of every piece meeting the point (all 2^|E| patterns of the on-kink entries, when 2^|E| ≤
`max_pieces`; otherwise "too many pieces"), and (b) the *kink-manifold Hessian* Zᵀ ∇²R_{D(s)} Z, Z an
orthonormal basis of {d : (∂z_E/∂θ) d = 0}: on M = {z_E = 0} every piece agrees with R_{D(s)}, whose
gradient vanishes, so this is the Hessian of R restricted to M, and a negative eigenvalue is a certified
second-order descent direction along the kinks. (Exact when no on-kink entry lies upstream of another on
the same sample — then z_E is smooth; otherwise `nested_kinks` is reported and (b) uses the generalized
Jacobian of the chosen slopes.)

Symmetries. Hidden unit j of a block (rows U_j, b_j; column V_j) — or of an FC layer (row W_j, b_j; column of
the next layer) — can be permuted with the others and rescaled by any c > 0 (in-weights × c, out-weights /
c) without changing the function. `canonical_form` fixes the scale (‖[U_j, b_j]‖ = 1 when non-zero) and
`deduplicate` merges points equal after the best unit permutation (per block/layer).

Export. `export_point` writes parameters per block with shapes, the data and the risk as plain JSON-able
lists; `import_point` reads them back (tests recompute R, ∇R and ∇²R by finite differences of a plain
forward pass).

Modules: `pattern` (Problem, the pattern derivatives: block-triangular forward-over-reverse), `kinks`
(entries and slopes), `finder` (the LM iteration, run by `resnet_cli.descent.descend`), `analysis` (second
order and classes), `symmetry` (canonical form, de-duplication), `export` (JSON records).
"""

from __future__ import annotations

from resnet_cli.models.critical_points.analysis import (FLAT_SHARE, UNDECIDED_REASONS, analyse_point,
                                                        classify_point, escape_probe, flatness_at,
                                                        gradient_flatness, honest_kind, inertia_index,
                                                        stationarity_class)
from resnet_cli.models.critical_points.export import EXPORT_FORMAT, export_point, import_point
from resnet_cli.models.critical_points.finder import FinderResult, find_critical_points
from resnet_cli.models.critical_points.kinks import Entry, clarke_weights, kink_entries, nested, pattern_with
from resnet_cli.models.critical_points.pattern import (PatternDerivs, Problem, Shape, pattern_derivatives,
                                                       pattern_gradient, relu_pattern)
from resnet_cli.models.critical_points.symmetry import (align, canonical_form, deduplicate, function_distance,
                                                        point_distance, unit_layout)

__all__ = ["FLAT_SHARE", "UNDECIDED_REASONS", "EXPORT_FORMAT", "Entry", "FinderResult", "PatternDerivs", "Problem",
           "Shape", "align", "analyse_point", "canonical_form", "clarke_weights", "classify_point", "deduplicate",
           "escape_probe", "export_point", "find_critical_points", "flatness_at", "function_distance",
           "gradient_flatness", "honest_kind", "import_point", "inertia_index", "kink_entries", "nested",
           "pattern_derivatives", "pattern_gradient", "pattern_with", "point_distance", "relu_pattern",
           "stationarity_class", "unit_layout"]
