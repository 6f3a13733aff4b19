"""What the Li et al. (2017) experiments share (`hessian`, `train shortcut`, `depth-sweep`): the settings
mixins of the data, the network and the spectrum method (data: fields only), `Problem` (a network, its data
and second moments, from `build_problem(settings)`), and measuring a Hessian's spectrum at a point
(exactly, by blocks, by counts on the layer-Toeplitz form, by SLQ or by certified inertia brackets;
`measure_hessian`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from resnet_cli import eigen, inertia
from resnet_cli.config import Settings, require, setting
from resnet_cli.data import PRINCIPAL_COMPONENTS, Dataset, check_spec, load_dataset
from resnet_cli.errors import ConfigError
from resnet_cli.experiments.summary import short_repr
from resnet_cli.models import shortcut as sc
from resnet_cli.rng import spawn_rngs
from resnet_cli.spectrum import (
    CONFIDENCE, PERCENTILE, ZERO_TOLERANCE, SpectrumStats, density_stats, lanczos, rademacher, slq_quadrature, slq_stats,
    spectrum_stats,
)

SPECTRA = ("exact", "slq")
# Largest dense exact Hessian accepted in any setting (a 10⁵ × 10⁵ matrix is 80 GB); below it the memory and
# time estimate of resnet_cli/budget.py decides (the available memory refuses, a long run is announced).
EXACT_MAX_PARAMS = 100_000
BRACKET_WIDTH = 1e-2  # default relative width of the certified brackets of --spectrum inertia
# The exact statistics by counts (`measure_by_counts`): brackets this narrow, relative, are below the rounding
# of a dense eigensolver's |λ| at the 10th percentile (about 1e-16 · |λ|max), so they count as exact values.
COUNT_WIDTH = 1e-12
# From this many parameters on, an exact spectrum of a network with the layer-Toeplitz structure comes from
# counts (`counts_route`). Measured 2026-12-06 (Intel Xeon with AVX-512, one thread, orthogonal plain
# networks, d = 10), counts against evd2: 0.58 against 0.39 s at 1,600 parameters, 0.57 against 1.19 s at
# 2,400, 1.66 against 15.8 s at 6,400, 3.39 against 113 s at 12,800 (docs/hessian.md, "Exact by counts").
COUNTS_FROM = 2000
# The counts route starts from a Lanczos run on this many of the drawn probes: its Ritz values and its estimate
# of the 10th percentile place the first counts; full reorthogonalisation over 80 steps × 8 probes cost as much
# as the counts at depth 128 (1.2 of 3.5 CPU-s a trial, 2026-12-07, AMD EPYC, one thread), and the brackets,
# certified by counts, do not depend on where they start. 2 probes: 2.1 CPU-s a trial, 35-55 factorisations.
COUNT_START_PROBES = 2
# From this many parameters (of the largest block) on, depth-sweep's init-cond tries `certify_beyond_precision`
# before the dense eigensolver: two LDLᵀ counts (n³/3 flops each) against the eigensolver's tridiagonal
# reduction. Measured 2026-12-07 (AMD EPYC, one thread, a Xavier network of depth 64, 6,400 parameters): one
# count 2.15 s, the eigensolver (evr) 12-21 s.
CERTIFY_FROM = 2000
CERTIFY_LANCZOS_STEPS = 40  # one start vector: its largest |Ritz value| is the lower bound of |λ|max
STAT_KEYS = ("abs_max", "abs_p10", "cond10", "cond", "index", "lambda_min", "lambda_max")


@dataclass(frozen=True)
class DataSettings(Settings):
    """The data of every Li et al. (2017) experiment (`hessian`, `train shortcut`, `depth-sweep`)."""

    data: str = setting("digits")
    samples: Optional[int] = setting(None, min=1, shown="all; gaussian: 1000")
    dim: Optional[int] = setting(None, min=1, shown="10 (gaussian)")
    seed: int = setting(0)

    def check(self) -> None:
        super().check()
        kind = check_spec(self.data)
        require(kind not in ("digits", "mnist") or self.samples is None or self.samples > PRINCIPAL_COMPONENTS,
                f"--samples {self.samples}: {kind} keeps its first N images, and whitening their "
                f"{PRINCIPAL_COMPONENTS} principal components needs more than {PRINCIPAL_COMPONENTS}")


@dataclass(frozen=True)
class NetworkSettings(DataSettings):
    """One n-shortcut network and its data: shared by `hessian` and `train shortcut`."""

    shortcut: int = setting(2, min=0)
    depth: int = setting(8, min=1)
    init: str = setting("zero", choices=sc.INITS)
    act_pre: str = setting("identity", choices=sc.ACTIVATIONS)
    act_mid: str = setting("identity", choices=sc.ACTIVATIONS)
    act_post: str = setting("identity", choices=sc.ACTIVATIONS)
    plain_unit: int = setting(2, min=1)

    def check(self) -> None:
        super().check()
        try:  # the depth must fill whole units (before the run: an error is then the only line on stderr)
            sc.make_network(self.shortcut, self.depth, 1, act_pre=self.act_pre, act_mid=self.act_mid,
                            act_post=self.act_post, plain_unit=self.plain_unit)
        except ConfigError as error:
            unit = f"--shortcut {self.shortcut}" if self.shortcut else f"--plain-unit {self.plain_unit}"
            raise ConfigError(f"--depth {self.depth} {unit}: {error}") from None


def is_linear(cfg: NetworkSettings) -> bool:
    """Every activation the identity: the network is linear (its loss and Hessian come from second moments); a
    1-shortcut unit has no mid position (`make_network`), so its --act-mid does not count."""
    return cfg.act_pre == cfg.act_post == "identity" and (cfg.act_mid == "identity" or cfg.shortcut == 1)


def tanh_positions(cfg: NetworkSettings) -> int:
    """How many of the activation positions (pre, mid, post) are tanh, for the budget (`budget.TANH_ELEMENT`)."""
    return [cfg.act_pre, cfg.act_mid if cfg.shortcut != 1 else "identity", cfg.act_post].count("tanh")


def data_sizes(cfg: DataSettings) -> dict[str, int]:
    """The data sizes the user set (for messages)."""
    return {k: v for k, v in (("samples", cfg.samples), ("dim", cfg.dim)) if v}



@dataclass(frozen=True)
class SpectrumSettings(Settings):
    """How a Hessian spectrum is computed: exactly, or by stochastic Lanczos quadrature."""

    spectrum: str = setting("exact", choices=SPECTRA)
    lanczos_steps: int = setting(80, min=1)
    lanczos_probes: int = setting(8, min=1)
    eigensolver: str = setting("auto", choices=eigen.SOLVERS)

    def check(self) -> None:
        super().check()
        require(self.eigensolver != "mkl" or eigen.mkl_available(),
                "--eigensolver mkl: needs torch (pip install 'resnet-cli[bench]'); auto or numpy work without it")


@dataclass
class Problem:
    """A network, its data and the data's second moments, ready for the engine."""

    net: sc.ShortcutNet
    dataset: Dataset
    moments: sc.SecondMoments
    l_min: float
    init_rng: np.random.Generator | None = None  # None in a cell task: a cell draws nothing
    probe_rng: np.random.Generator | None = None

    def data_info(self) -> dict[str, Any]:
        return {
            "name": self.dataset.name,
            "description": self.dataset.description,
            "samples": self.dataset.samples,
            "dim": self.dataset.dim,
            "l_min": self.l_min,
        }

    def network_info(self) -> dict[str, Any]:
        net = self.net
        return {
            "description": net.describe(),
            "shortcut": net.shortcut_depth,
            "depth": net.depth,
            "units": net.units,
            "unit_layers": net.unit_layers,
            "dim": net.dim,
            "n_params": net.n_params,
            "act_pre": net.act_pre,
            "act_mid": net.act_mid,
            "act_post": net.act_post,
        }


def build_problem(cfg: NetworkSettings) -> Problem:
    """Load the data (seeded), build the network; every random draw flows from cfg.seed (3 streams)."""
    data_rng, init_rng, probe_rng = spawn_rngs(cfg.seed, 3)
    dataset = load_dataset(cfg.data, data_rng, samples=cfg.samples, dim=cfg.dim)
    net = sc.make_network(
        cfg.shortcut,
        cfg.depth,
        dataset.dim,
        act_pre=cfg.act_pre,
        act_mid=cfg.act_mid,
        act_post=cfg.act_post,
        plain_unit=cfg.plain_unit,
    )
    moments = sc.second_moments(dataset.X, dataset.Y)
    return Problem(
        net=net,
        dataset=dataset,
        moments=moments,
        l_min=sc.optimal_linear_loss(moments),
        init_rng=init_rng,
        probe_rng=probe_rng,
    )


@dataclass
class Measurement:
    """The spectrum of the Hessian at one point: exact eigenvalues, or SLQ nodes and weights."""

    stats: SpectrumStats
    eigenvalues: np.ndarray | None = None
    nodes: np.ndarray | None = None
    weights: np.ndarray | None = None
    matrix: eigen.BlockMatrix | None = None
    brackets: dict[str, Any] | None = None  # --spectrum inertia


def check_spectrum(spectrum: str, n_params: int) -> None:
    """A dense exact spectrum (or inertia) of more than EXACT_MAX_PARAMS parameters — `n_params` is the largest
    block — is refused whatever the memory (below, the budget of the settings' cost() decides)."""
    require(spectrum == "slq" or n_params <= EXACT_MAX_PARAMS,
            f"--spectrum {spectrum}: {n_params} parameters is above {EXACT_MAX_PARAMS} (a dense Hessian of "
            f"{8 * n_params**2 / 1e9:.0f} GB); use --spectrum slq")


def exact_block_size(net: sc.ShortcutNet, init: str) -> int:
    """The largest block an exact spectrum solves at an initial point drawn with `init`: one unit
    (n·d²) where `shortcut.hessian_blocks` knows the structure (linear n-shortcut network, n ≥ 2, at zero),
    else every parameter."""
    known = init == "zero" and net.is_linear and net.shortcut and net.unit_layers >= 2
    return net.unit_layers * net.dim**2 if known else net.n_params


def counts_route(net: sc.ShortcutNet, init: str) -> bool:
    """Whether an exact spectrum at an initial point drawn with `init` comes from counts on the layer-Toeplitz
    form (`sc.layer_toeplitz`: a linear network of one-layer units whose every layer map is orthogonal — plain
    at the orthogonal init, 1-shortcut at zero) rather than a dense eigensolver: from COUNTS_FROM parameters."""
    toeplitz = net.is_linear and net.unit_layers == 1 and (
        (init == "orthogonal" and not net.shortcut) or (init == "zero" and net.shortcut))
    return toeplitz and net.n_params >= COUNTS_FROM


def exact_blocks(problem: Problem, weights: np.ndarray) -> eigen.BlockMatrix:
    """The Hessian as blocks: built per unit where the structure is known (`shortcut.hessian_blocks`),
    else assembled densely and split into the connected components of its nonzero pattern."""
    net, ds = problem.net, problem.dataset
    if net.is_linear:
        known = sc.hessian_blocks(net, weights, problem.moments)
        if known is not None:
            return known
    return eigen.split_blocks(sc.hessian(net, weights, ds.X, ds.Y, moments=problem.moments))


def measure_hessian(
    problem: Problem, weights: np.ndarray, spec: SpectrumSettings, method: str | None = None, keep_matrix: bool = False,
    probes: np.ndarray | None = None, confidence: float = CONFIDENCE,
) -> Measurement:
    """Spectrum of the Hessian at `weights` (one network): exact `eigvalsh`, or SLQ with Rademacher probes
    (`method` overrides `spec.spectrum`, e.g. the exact/slq choice of depth-sweep's auto). SLQ takes the
    given `probes` (lanczos_probes × parameters), else draws them from `problem.probe_rng`; its statistics
    carry intervals holding with probability ≥ `confidence` (`spectrum.slq_bounds`)."""
    net, ds = problem.net, problem.dataset
    kind = method or spec.spectrum
    if kind == "exact":
        H = exact_blocks(problem, weights)
        eig = H.eigenvalues(spec.eigensolver)
        return Measurement(spectrum_stats(eig), eigenvalues=eig, matrix=H if keep_matrix else None)
    if kind == "inertia":
        return measure_inertia(problem, weights, spec, keep_matrix, probes)
    if kind == "counts":
        return measure_by_counts(problem, weights, spec, probes)

    def matvec(V: np.ndarray) -> np.ndarray:
        return sc.hessian_vector_products(net, weights, V, ds.X, ds.Y, moments=problem.moments)

    quad = slq_quadrature(matvec, net.n_params, spec.lanczos_steps, spec.lanczos_probes, problem.probe_rng,
                          vectors=probes)
    nodes, wts = quad.flat()
    return Measurement(slq_stats(quad, confidence), nodes=nodes, weights=wts)


def certify_beyond_precision(problem: Problem, weights: np.ndarray) -> SpectrumStats | None:
    """cond10 > 1/ZERO_TOLERANCE without the eigenvalues, or None when two counts cannot tell.

    The exact route calls a spectrum "beyond precision" when |λ| at the 10th percentile is at most
    ZERO_TOLERANCE · |λ|max (`spectrum_stats`: cond10 = inf). Here: a Lanczos run from one fixed start (no draw)
    gives m = max |Ritz value| ≤ |λ|max (Ritz values lie inside [λmin, λmax]); with τ = ZERO_TOLERANCE · m, two
    LDLᵀ counts give #{−τ ≤ λ < τ} = #{λ < τ} − #{λ < −τ} (Sylvester, `inertia`). When at least as many
    eigenvalues as numpy's 10th percentile interpolates between have |λ| ≤ τ, that percentile is ≤ τ ≤
    ZERO_TOLERANCE · |λ|max: the exact route's verdict, from n³/3 flops twice instead of a full eigensolver (an
    LDLᵀ count has the backward error of an eigensolver's tridiagonal reduction). The statistics: abs_max = m (a
    lower bound, marked approximate), index = #{λ < −τ}/n, abs_p10 and the edges unknown (NaN)."""
    H = exact_blocks(problem, weights)
    n = H.size
    with np.errstate(all="ignore"):
        run = lanczos(H.matvec, np.ones((1, n)), CERTIFY_LANCZOS_STEPS)
    if not (np.isfinite(run.alphas).all() and np.isfinite(run.betas).all()):  # a non-finite Hessian: the eigensolver's
        return None
    lower = float(np.abs(np.linalg.eigvalsh(run.tridiagonal(0))).max())
    if not lower > 0.0:  # (finite: the run's α and β are)
        return None
    tau = ZERO_TOLERANCE * lower
    below_tau, below_minus_tau = H.count_below(tau)[0], H.count_below(-tau, overwrite=True)[0]  # H's last use
    position = PERCENTILE / 100.0 * (n - 1)
    needed = math.floor(position) + 1 + int(position > math.floor(position))  # a_(k), and a_(k+1) if interpolated
    if below_tau - below_minus_tau < needed:
        return None
    nan = float("nan")
    return SpectrumStats(n, lower, nan, nan, float("inf"), float("inf"), below_minus_tau / n, nan, nan, False,
                         approximate=True)


def measure_inertia(problem: Problem, weights: np.ndarray, spec: SpectrumSettings, keep_matrix: bool = False,
                    probes: np.ndarray | None = None) -> Measurement:
    """Certified brackets of the statistics by Sylvester inertia counts (`inertia.bracket_spectrum`): Lanczos
    on the probes gives inner values of λmin and λmax (Ritz values lie inside the spectrum), LDLᵀ counts
    certify outer ones and bisect |λ|max, the 10th percentile of |λ| and cond10 to `bracket_width`; the
    index and near-zero counts are exact. The statistics are the brackets' midpoints (`_bracket_stats`)."""
    net = problem.net
    H = exact_blocks(problem, weights)
    width = getattr(spec, "bracket_width", BRACKET_WIDTH)
    ritz, hint = _lanczos_starts(problem, H.matvec, spec, probes)
    b = inertia.bracket_spectrum(H, width, ritz=ritz, zero_tolerance=ZERO_TOLERANCE, p10_hint=hint)
    return Measurement(_bracket_stats(net.n_params, b, approximate=True), matrix=H if keep_matrix else None,
                       brackets=b)


def _bracket_stats(n_params: int, b: dict[str, Any], approximate: bool) -> SpectrumStats:
    """The statistics of `inertia.bracket_spectrum`'s brackets: their midpoints; abs_min and cond are not
    bracketed (NaN). `approximate`: whether the brackets are wide enough to say so (--spectrum inertia)."""
    if b["zero_matrix"]:
        return SpectrumStats(n_params, 0.0, 0.0, 0.0, float("nan"), float("nan"), 0.0, 0.0, 0.0, True, approximate)
    mid = [0.5 * (b[k][0] + b[k][1]) for k in ("abs_max", "abs_p10", "lambda_min", "lambda_max")]
    cond10 = float("inf") if b["cond10"] is None else 0.5 * (b["cond10"][0] + b["cond10"][1])
    return SpectrumStats(n_params, mid[0], mid[1], float("nan"), cond10, float("nan"), b["negative"] / n_params,
                         mid[2], mid[3], False, approximate)


def _lanczos_starts(problem: Problem, matvec, spec: SpectrumSettings, probes: np.ndarray | None,
                    used: int | None = None) -> tuple[tuple[float, float], float | None]:
    """Where the certified brackets start: the smallest and largest Ritz values of a Lanczos run on the probes
    (they lie inside [λmin, λmax]) and the SLQ estimate of the 10th percentile of |λ| (None when 0). `used`:
    run on the first this many probes only (all are drawn, so the generator's later draws do not move)."""
    n = problem.net.n_params
    V = probes if probes is not None else rademacher(problem.probe_rng, spec.lanczos_probes, n)
    run = lanczos(matvec, V[:used], spec.lanczos_steps)
    nodes, weights = [], []
    for p in range(run.alphas.shape[0]):
        theta, vecs = np.linalg.eigh(run.tridiagonal(p))
        nodes.append(theta)
        weights.append(vecs[0] ** 2)
    flat = np.concatenate(nodes)
    hint = density_stats(flat, np.concatenate(weights), n).abs_p10
    return (float(flat.min()), float(flat.max())), (hint if hint > 0 else None)


def measure_by_counts(problem: Problem, weights: np.ndarray, spec: SpectrumSettings,
                      probes: np.ndarray | None = None) -> Measurement:
    """The exact statistics of a Hessian with the layer-Toeplitz structure (`counts_route`) from inertia counts
    alone: `inertia.bracket_spectrum` of `sc.layer_toeplitz` (orthogonally similar to the Hessian, so the same
    eigenvalues) to relative width COUNT_WIDTH, starting from the Ritz values and the SLQ estimate of one
    Lanczos run on the probes. The statistics are the brackets' midpoints; abs_min and cond are not
    bracketed (NaN). No eigenvalue is computed: the brackets (`Measurement.brackets`) are the certificate.
    Weights whose layer maps are not orthogonal to `sc.ORTHOGONAL_TOLERANCE` get the dense exact spectrum."""
    net = problem.net
    form = sc.layer_toeplitz(net, weights, problem.moments)
    if form is None:
        return measure_hessian(problem, weights, spec, "exact")
    ritz, hint = _lanczos_starts(problem, form.matvec, spec, probes, COUNT_START_PROBES)
    b = inertia.bracket_spectrum(form, COUNT_WIDTH, ritz=ritz, zero_tolerance=ZERO_TOLERANCE, p10_hint=hint)
    return Measurement(_bracket_stats(net.n_params, b, approximate=False), brackets=b)


def stats_dict(stats: SpectrumStats | None) -> dict[str, Any] | None:
    """JSON-ready statistics; undefined ratios of a zero Hessian are None, not NaN."""
    if stats is None:
        return None
    out = asdict(stats)
    for key in ("bounds", "index_by_tolerance"):  # SLQ only; exact spectra only
        if out.get(key) is None:
            out.pop(key, None)
    for key, value in out.items():
        if isinstance(value, float) and np.isnan(value):
            out[key] = None
    if stats.zero_matrix:
        out["cond10"] = None
        out["cond"] = None
    return out


@dataclass
class ProblemResult:
    """What a result of the Li et al. (2017) experiments starts with: its settings, the network and the data
    (`Problem.network_info()`, `Problem.data_info()`)."""

    __repr__ = short_repr  # a few lines in a REPL, not the dataclass dump
    settings: Any
    network: dict[str, Any]
    data: dict[str, Any]
