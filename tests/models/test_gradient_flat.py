"""Gradient-flat points (Frye et al. 2021): g in the near-kernel of H, told apart from critical points, on
hand-built functions where the answer is known; g and H come from finite differences of the function."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_cli.models import critical_points as cp
from resnet_cli.rng import make_rng


def _fd(f, x, h=1e-4):
    """Central finite-difference gradient and Hessian of f at x (the oracle)."""
    n = x.size
    E = np.eye(n) * h
    g = np.array([(f(x + E[i]) - f(x - E[i])) / (2 * h) for i in range(n)])
    H = np.array([[(f(x + E[i] + E[j]) - f(x + E[i] - E[j]) - f(x - E[i] + E[j]) + f(x - E[i] - E[j])) / (4 * h * h)
                   for j in range(n)] for i in range(n)])
    return g, 0.5 * (H + H.T)


def _quadratic(b_in_basis):
    """f(x) = ½ xᵀAx + bᵀx with A = Q diag(3, 1, 0) Qᵀ (a kernel direction q_3) and b = Q·b_in_basis."""
    Q, _ = np.linalg.qr(make_rng(7).normal(size=(3, 3)))
    A = Q @ np.diag([3.0, 1.0, 0.0]) @ Q.T
    b = Q @ np.asarray(b_in_basis, dtype=float)
    return (lambda x: 0.5 * x @ A @ x + b @ x), A, b, Q


def test_a_gradient_in_the_kernel_is_gradient_flat():
    f, A, b, Q = _quadratic([0.0, 0.0, 1.0])  # b ∈ ker A: no critical point at all, g(0) = b ∈ ker H
    g, H = _fd(f, np.zeros(3))
    flat = cp.gradient_flatness(g, H, eig_tol=1e-6)
    assert flat["grad_norm"] == pytest.approx(1.0, rel=1e-6)
    assert flat["kernel_dim"] == 1 and flat["kernel_share"] == pytest.approx(1.0, abs=1e-8)
    assert flat["hg_ratio"] < 1e-5 and flat["hg_relative"] < 1e-5
    assert cp.stationarity_class(bool(np.linalg.norm(g) < 1e-10), flat) == "gradient-flat"


def test_a_true_critical_point_is_critical():
    f, A, b, Q = _quadratic([1.0, -2.0, 0.0])  # b ∈ range A: x* = −A⁺b is a critical point
    x_star = -np.linalg.pinv(A) @ b
    g, H = _fd(f, x_star)
    assert np.linalg.norm(g) < 1e-9
    flat = cp.gradient_flatness(g, H, eig_tol=1e-6)
    assert cp.stationarity_class(bool(np.linalg.norm(g) < 1e-8), flat) == "critical"


def test_a_gradient_off_the_kernel_is_neither():
    f, A, b, Q = _quadratic([0.0, 0.0, 1.0])
    x = Q @ np.array([0.5, 0.0, 0.0])  # g = A x + b = Q (1.5, 0, 1): share of ‖g‖² in ker H = 1/3.25
    g, H = _fd(f, x)
    flat = cp.gradient_flatness(g, H, eig_tol=1e-6)
    assert flat["kernel_share"] == pytest.approx(1 / 3.25, rel=1e-6)
    assert flat["hg_ratio"] == pytest.approx(4.5 / np.sqrt(3.25), rel=1e-6)  # ‖Hg‖ = 3·1.5
    assert cp.stationarity_class(False, flat) == "neither"


def test_the_near_kernel_follows_the_relative_tolerance():
    H = np.diag([1.0, 1e-6, 0.0])
    g = np.array([0.0, 1.0, 0.0])  # along the eigenvalue 1e-6
    assert cp.gradient_flatness(g, H, eig_tol=1e-5)["kernel_share"] == pytest.approx(1.0)
    assert cp.gradient_flatness(g, H, eig_tol=1e-8)["kernel_share"] == pytest.approx(0.0)
    nan = cp.gradient_flatness(np.array([np.inf, 0, 0]), H, eig_tol=1e-5)
    assert nan["kernel_share"] != nan["kernel_share"]  # a diverged point: NaN, no crash


def test_honest_kind_needs_both_tolerances_and_no_escape():
    no_descent = {"descent": False, "min_change": [0.0, 1e-9, 1e-6], "radii": [1e-3, 1e-2, 1e-1], "descent_radii": []}
    descent = {"descent": True, "min_change": [0.0, -1e-5, -1e-3], "radii": [1e-3, 1e-2, 1e-1],
               "descent_radii": [1e-2, 1e-1]}
    assert cp.honest_kind("counterexample", "counterexample", no_descent, 1e-8) == ("counterexample", [])
    kind, why = cp.honest_kind("counterexample", "strict_saddle", descent, 1e-8)
    assert kind == "undecided" and [r["code"] for r in why] == ["alt_tolerance", "escape_descent"]
    assert "1e-08" in why[0]["text"] and "0.001" in why[1]["text"] and "radius 0.1" in why[1]["text"]
    assert cp.honest_kind("counterexample", "counterexample", descent, 1e-8)[0] == "undecided"
    assert [r["code"] for r in cp.honest_kind("kink_undecided", "kink_undecided", None, 1e-8)[1]] == ["kink"]
    for kind in ("better", "equal", "strict_saddle"):
        assert cp.honest_kind(kind, "counterexample", descent, 1e-8) == (kind, [])


def test_descent_only_at_the_largest_radius_is_not_called_saddle_evidence():
    """R rising at 1e-3 and 1e-2 and falling at 0.1 is a minimum's narrow basin as well as a saddle (an FC net
    with a dead ReLU unit of margin < 0.1, which a 0.1 step revives): the reason says so; the label stays
    undecided (a counterexample must hold at every radius shown)."""
    radii = [1e-3, 1e-2, 1e-1]
    far = {"descent": True, "min_change": [0.0, 1e-9, -0.1], "radii": radii, "descent_radii": [1e-1]}
    near = {"descent": True, "min_change": [-1e-11, -1e-7, -1e-3], "radii": radii, "descent_radii": radii}
    kind, why = cp.honest_kind("counterexample", "counterexample", far, 1e-8)
    assert kind == "undecided" and "only from radius 0.1 on" in why[0]["text"] and "saddle" not in why[0]["text"]
    kind, why = cp.honest_kind("counterexample", "counterexample", near, 1e-8)
    assert kind == "undecided" and "at every radius tried: a higher-order saddle" in why[0]["text"]


class _Quadratic:
    """R(θ) = ½ θᵀ diag(λ) θ: a saddle whose one negative eigenvalue hides among many near-zero ones."""

    def __init__(self, lam):
        self.lam = np.asarray(lam, dtype=float)

    def risk(self, thetas):
        return 0.5 * np.sum(self.lam * np.asarray(thetas) ** 2, axis=-1)


def test_escape_probe_tests_negative_eigenvectors_inside_the_tolerance():
    """A negative eigenvalue below the tolerance is probed along its own eigenvector: random directions of the
    40-dimensional near-null space miss it (the positive ones outweigh it), its eigenvector does not; with no
    random direction at all (--probes 0) it is still tested and nothing breaks."""
    lam = np.array([-1.0] + [30.0] * 39)  # all inside a tolerance of 0.5 · max |λ| …
    problem, basis = _Quadratic(lam), np.eye(40)
    random_only = cp.escape_probe(problem, np.zeros(40), basis, directions=200)
    assert not random_only["descent"]
    both = cp.escape_probe(problem, np.zeros(40), basis, directions=200, eigenvalues=lam)
    assert both["descent"] and both["directions"] == 202
    alone = cp.escape_probe(problem, np.zeros(40), basis, directions=0, eigenvalues=lam)
    assert alone["descent"] and alone["directions"] == 2
    nothing = cp.escape_probe(problem, np.zeros(40), basis, directions=0)
    assert nothing == {**nothing, "directions": 0, "radii": [], "min_change": [], "descent_radii": [], "descent": False}
