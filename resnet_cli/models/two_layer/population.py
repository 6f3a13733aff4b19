"""Two-layer non-overlapping conv nets learned from a teacher with Gaussian inputs (Liu et al. 2019; Du et al. 2017).

Patches Z_1..Z_k iid N(0, I_p), σ = ReLU, e = 1/√p · 1. Teacher f(Z) = Σ_j a*_j σ(Z_jᵀ v*), ‖v*‖ = 1.
Student h(Z) = Σ_j a_j σ(Z_jᵀ v) with v = u/‖u‖, where u = w (CNN, Du et al. 2017) or u = e + w (ResNet,
Liu et al. 2019, the shortcut adds e). Everything here is the *population* loss in closed form
(Liu et al. 2019, the poster's convention without ½; docs/train.md):

    L(v, a) = a*ᵀ M a* − 2 aᵀ N(φ) a* + aᵀ M a,   φ = angle(v, v*),
    g(φ) = (sin φ + (π − φ) cos φ) / (2π),  M = ((π − 1) I + 11ᵀ)/(2π),  N(φ) = g(φ) I + (11ᵀ − I)/(2π).

All functions are pure and batched: `v`, `w`, `v_star` have shape (..., p) and `a`, `a_star` shape (..., k);
leading axes broadcast (one row per trial). M and N are never formed: they act as combinations of I and 11ᵀ.
"""

from __future__ import annotations

import math

import numpy as np

PI = math.pi
TEACHER_V = ("prior", "sphere")  # laws of v*: the skip-layer prior cap around e, or uniform on the sphere
TEACHER_A = ("gaussian", "uniform", "ones")  # laws of a*
STUDENTS = ("resnet", "cnn")  # with the shortcut e (Liu et al. 2019) or without (Du et al. 2017)


def unit_e(p: int) -> np.ndarray:
    """The shortcut direction e = 1/√p · 1 of the ResNet student (Liu et al. 2019, poster eq. for h)."""
    return np.full(p, 1.0 / math.sqrt(p))


def kernel_g(phi: np.ndarray) -> np.ndarray:
    """g(φ) = E σ(zᵀu) σ(zᵀv) for unit u, v at angle φ: (sin φ + (π − φ) cos φ)/(2π) (Du et al. 2017, Lemma)."""
    phi = np.asarray(phi, dtype=float)
    return (np.sin(phi) + (PI - phi) * np.cos(phi)) / (2 * PI)


def apply_M(a: np.ndarray) -> np.ndarray:
    """M a with M = ((π − 1) I + 11ᵀ)/(2π), the second moment of the patch activations (Liu et al. 2019)."""
    return ((PI - 1) * a + a.sum(axis=-1, keepdims=True)) / (2 * PI)


def apply_N(phi: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """N(φ) a* with N(φ) = g(φ) I + (11ᵀ − I)/(2π), the student–teacher cross moment (Liu et al. 2019)."""
    g = kernel_g(phi)[..., None]
    return g * a_star + (a_star.sum(axis=-1, keepdims=True) - a_star) / (2 * PI)


def solve_M(b: np.ndarray) -> np.ndarray:
    """M⁻¹ b in closed form: M⁻¹ = 2π/(π − 1) · (I − 11ᵀ/(k + π − 1))."""
    k = b.shape[-1]
    return 2 * PI / (PI - 1) * (b - b.sum(axis=-1, keepdims=True) / (k + PI - 1))


def angle(v: np.ndarray, v_star: np.ndarray) -> np.ndarray:
    """φ = angle between v and v* (both of any nonzero norm), in [0, π].

    Computed as atan2(‖x − (xᵀy)y‖, xᵀy) for the unit vectors x, y: accurate near 0 and π, where arccos
    loses half the digits (the spurious point sits at φ = π).
    """
    x = v / np.linalg.norm(v, axis=-1, keepdims=True)
    y = v_star / np.linalg.norm(v_star, axis=-1, keepdims=True)
    c = np.sum(x * y, axis=-1)
    return np.arctan2(np.linalg.norm(y - c[..., None] * x, axis=-1), c)


def direction(w: np.ndarray, offset: np.ndarray | float = 0.0) -> np.ndarray:
    """The unit filter v = u/‖u‖ with u = offset + w (offset = e for the ResNet student, 0 for the CNN)."""
    u = offset + w
    return u / np.linalg.norm(u, axis=-1, keepdims=True)


def population_loss_phi(phi: np.ndarray, a: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """L = a*ᵀMa* − 2aᵀN(φ)a* + aᵀMa as a function of the angle φ (Liu et al. 2019); an expected square, so
    never below 0 (the cancellation of the three terms can round to −1e-14 at the optimum: that is 0)."""
    return np.maximum(
        np.sum(a_star * apply_M(a_star), axis=-1)
        - 2 * np.sum(a * apply_N(phi, a_star), axis=-1)
        + np.sum(a * apply_M(a), axis=-1),
        0.0,
    )


def population_loss(v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """The exact population loss E_Z (f − h)² at filter v (any norm; only its direction counts) and a."""
    return population_loss_phi(angle(v, v_star), a, a_star)


def gradients(
    v: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gradients at a unit filter v: (∇_v L on the sphere's tangent space, ∇_a L).

    ∇_a L = 2Ma − 2N(φ)a*;  ∇_v L = −(aᵀa*)(π − φ)/π · (I − vvᵀ)v*  (Liu et al. 2019). For the normalized
    parametrizations (‖u‖ = 1 after every step) this is also ∇_w L.
    """
    cos = np.clip(np.sum(v * v_star, axis=-1), -1.0, 1.0)
    phi = angle(v, v_star)
    s = np.sum(a * a_star, axis=-1) * (PI - phi) / PI
    grad_v = -s[..., None] * (v_star - cos[..., None] * v)
    grad_a = 2 * apply_M(a) - 2 * apply_N(phi, a_star)
    return grad_v, grad_a


def loss_w(
    w: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, offset: np.ndarray | float = 0.0
) -> np.ndarray:
    """L(w, a) with v = (offset + w)/‖offset + w‖: the loss as a function of the raw weights."""
    return population_loss(offset + w, a, v_star, a_star)


def gradient_w(
    w: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, offset: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean gradients (∇_w L, ∇_a L) of L(w, a) at any w: ∇_w L = ∇_v L / ‖offset + w‖ (chain rule)."""
    return chain_to_w(gradients, w, offset, a, v_star, a_star)


def chain_to_w(tangent_gradients, w: np.ndarray, offset: np.ndarray | float, *args) -> tuple[np.ndarray, np.ndarray]:
    """(∇_w, ∇_a) at any raw w from `tangent_gradients(v, *args)`, the gradients at the unit filter
    v = (offset + w)/‖offset + w‖ with ∇_v on the sphere's tangent space: ∇_w = ∇_v / ‖offset + w‖."""
    u = offset + w
    r = np.linalg.norm(u, axis=-1, keepdims=True)
    grad_v, grad_a = tangent_gradients(u / r, *args)
    return grad_v / r, grad_a


def hessian_w(
    w: np.ndarray, a: np.ndarray, v_star: np.ndarray, a_star: np.ndarray, offset: np.ndarray | float = 0.0
) -> np.ndarray:
    """The exact Euclidean Hessian of L(w, a) in (w, a) ∈ R^{p+k}, for one point (1-D arrays).

    With c = vᵀv*, r = ‖u‖, G(c) = g(arccos c): G'(c) = (π − φ)/(2π), G''(c) = 1/(2π sin φ), and
    ∇c = (I − vvᵀ)v*/r, ∇²c = (3c vvᵀ − c I − v*vᵀ − vv*ᵀ)/r². Then
    H_ww = −2(aᵀa*)[G'(c)∇²c + G''(c)∇c∇cᵀ], H_aw = −2a* G'(c)∇cᵀ, H_aa = 2M.
    G''∇c∇cᵀ = sin φ/(2π r²) · n nᵀ with n the unit tangent toward v*, finite at φ ∈ {0, π}.
    """
    u = offset + w
    r = float(np.linalg.norm(u))
    v = u / r
    p, k = v.size, a.size
    c = float(np.clip(v @ v_star, -1.0, 1.0))
    phi = float(angle(v, v_star))
    tangent = v_star - c * v
    s = float(a @ a_star)
    g1 = (PI - phi) / (2 * PI)
    hess_c = (3 * c * np.outer(v, v) - c * np.eye(p) - np.outer(v_star, v) - np.outer(v, v_star)) / r**2
    sin = float(np.linalg.norm(tangent))
    curvature = np.outer(tangent, tangent) / (2 * PI * sin * r**2) if sin > 1e-300 else np.zeros((p, p))
    H = np.zeros((p + k, p + k))
    H[:p, :p] = -2 * s * (g1 * hess_c + curvature)
    H[p:, :p] = -2 * g1 * np.outer(a_star, tangent / r)
    H[:p, p:] = H[p:, :p].T
    H[p:, p:] = ((PI - 1) * np.eye(k) + np.ones((k, k))) / PI
    return H


def global_optimum(v_star: np.ndarray, a_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The global optimum (v*, a*), loss 0."""
    return v_star.copy(), a_star.copy()


def spurious_optimum(v_star: np.ndarray, a_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The spurious critical point (−v*, ā), ā = (11ᵀ + (π − 1)I)⁻¹(11ᵀ − I)a* (Liu et al. 2019; Du et al. 2017).

    The poster writes w̄ = −w*; the critical point of L is at v = −v* (φ = π, where ∇_v L vanishes), which
    for the ResNet parametrization means e + w ∝ −v*. ā = M⁻¹N(π)a* since g(π) = 0.
    """
    return -v_star, solve_M(apply_N(np.full(a_star.shape[:-1], PI), a_star))


def optimal_a(phi: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """a(φ) = M⁻¹N(φ)a*, the minimizer of L over a at a fixed angle φ (L is quadratic in a)."""
    return solve_M(apply_N(phi, a_star))


def profile_loss(phi: np.ndarray, a_star: np.ndarray) -> np.ndarray:
    """min_a L(φ, a) = a*ᵀMa* − (N(φ)a*)ᵀM⁻¹(N(φ)a*): the loss along φ with a optimized in closed form."""
    phi = np.asarray(phi, dtype=float)
    b = apply_N(phi, a_star)
    return np.sum(a_star * apply_M(a_star), axis=-1) - np.sum(b * solve_M(b), axis=-1)


# --- teachers and initializations (every draw from the caller's numpy Generator) ---------------------------


def sample_sphere(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    """n points uniform on the unit sphere S^{p−1}."""
    x = rng.standard_normal((n, p))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def sample_cap(rng: np.random.Generator, n: int, p: int, center: np.ndarray, max_angle: float) -> np.ndarray:
    """n points uniform on the spherical cap {v : angle(v, center) ≤ max_angle} of S^{p−1}.

    The angle θ has density ∝ sin^{p−2} θ on [0, max_angle] (drawn by rejection from a uniform θ), the
    direction orthogonal to `center` is uniform. With center = e and max_angle = 60° this is the skip-layer
    prior of Liu et al. 2019 (v* = e + w*, ‖w*‖ ≤ 1, ‖v*‖ = 1).
    """
    if p == 1:
        return np.tile(center, (n, 1))
    top = math.sin(min(max_angle, PI / 2))
    theta = np.empty(0)
    while theta.size < n:
        t = rng.uniform(0.0, max_angle, size=2 * (n - theta.size) + 8)
        keep = rng.uniform(size=t.size) * top ** (p - 2) <= np.sin(t) ** (p - 2)
        theta = np.concatenate([theta, t[keep]])
    theta = theta[:n]
    x = rng.standard_normal((n, p))
    x -= np.outer(x @ center, center)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.cos(theta)[:, None] * center + np.sin(theta)[:, None] * x


def sample_ball(rng: np.random.Generator, n: int, k: int, radius: np.ndarray) -> np.ndarray:
    """n points uniform in the k-ball of the given radius (one radius per point)."""
    x = rng.standard_normal((n, k))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x * (np.asarray(radius, dtype=float).reshape(-1, 1) * rng.uniform(size=(n, 1)) ** (1.0 / k))


def teacher_v_law(teacher_v: str | None, student: str = "resnet") -> str:
    """The law of v*: `teacher_v` when given, else the student's own (prior for resnet, sphere for cnn)."""
    return teacher_v or ("prior" if student == "resnet" else "sphere")


def draw_teachers(rng: np.random.Generator, n: int, p: int, k: int, *, v_law: str = "prior", a_law: str = "gaussian",
                  prior_angle: float = 60.0) -> tuple[np.ndarray, np.ndarray]:
    """n teachers: v* (n × p, unit rows) and a* (n × k), v* drawn before a*.

    v*: ``prior`` = uniform on the cap angle(v*, e) ≤ `prior_angle` degrees (the skip-layer prior of Liu et
    al. 2019, 60° ⇔ v* = e + w*, ‖w*‖ ≤ 1) or ``sphere`` = uniform on S^{p−1} (Du et al. 2017). a*:
    ``gaussian`` N(0, I_k), ``uniform`` U[−1, 1]^k, or ``ones``.
    """
    if v_law == "prior":
        v_star = sample_cap(rng, n, p, unit_e(p), math.radians(prior_angle))
    else:
        v_star = sample_sphere(rng, n, p)
    if a_law == "gaussian":
        a_star = rng.standard_normal((n, k))
    elif a_law == "uniform":
        a_star = rng.uniform(-1.0, 1.0, size=(n, k))
    else:
        a_star = np.ones((n, k))
    return v_star, a_star


def draw_inits(rng: np.random.Generator, student: str, v_star: np.ndarray, a_star: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Initial (v0, a0), one row per teacher row (n × p, n × k): ResNet w0 = 0 ⇒ v0 = e; CNN v0 uniform on the
    sphere (Du et al. 2017); a0 uniform in the ball of radius |1ᵀa*|/√k (Liu et al. 2019, Theorem 1)."""
    n, p = v_star.shape
    k = a_star.shape[1]
    v0 = np.tile(unit_e(p), (n, 1)) if student == "resnet" else sample_sphere(rng, n, p)
    a0 = sample_ball(rng, n, k, np.abs(a_star.sum(axis=1)) / math.sqrt(k))
    return v0, a0
