"""Every data set of every command, behind one loader: `load_dataset(name, rng, samples=, dim=, rho=)`.

- ``digits`` (default of the Li et al. 2017 commands): the UCI hand-written digits (1797 images of 8×8)
  bundled in ``resnet_cli/data/``, preprocessed as Li et al. (2017), Appendix B: centred, the 10 greatest
  principal components whitened, one-hot outputs (d = 10);
- ``mnist:PATH``: a user's MNIST, as IDX files (``train-images-idx3-ubyte[.gz]`` and the labels beside
  it, or a folder holding them, or ``IMAGES,LABELS``) or as a ``.npz`` (keys ``x_train``/``y_train``,
  ``images``/``labels`` or ``x``/``y``), preprocessed like digits;
- ``gaussian``: synthetic inputs x ~ N(0, I_d) with one of two teachers: ``teacher="linear"`` (Li et al.:
  y = T x + 0.1·ε, T_ij ~ N(0, 1/d), ε ~ N(0, I_d)) or ``teacher="relu"`` (`landscape deep-resnet`:
  y = aᵀσ(S x) + 0.1·ε, a one-hidden-layer ReLU teacher, so the best linear predictor is suboptimal);
- ``yun-example1`` / ``yun-example2``: the two motivating examples of Yun et al. 2019, "Are deep ResNets
  provably better than linear predictors?" (§3.1, §3.2), fixed points on the line (see `yun_example1`,
  `yun_example2`).

ONE axis convention: samples are ROWS. ``X`` has shape (m, d_in) and ``Y`` (m, d_out), so the second-moment
statistics of Li et al.'s eqs. (8)-(9) are Σ_XX = XᵀX/m and Σ_YX = YᵀX/m. (The deep-ResNet engine computes
with samples as columns; `experiments.deep_resnet.columns` is the one place that transposes.) This is the
one engine module that opens files; every failure to read one raises `DataError` (one line on stderr,
exit code 2).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from resnet_cli.errors import ConfigError, DataError
from resnet_cli.resources import check_memory

PRINCIPAL_COMPONENTS = 10
NUM_CLASSES = 10
GAUSSIAN_NOISE = 0.1
YUN_EXAMPLES = ("yun-example1", "yun-example2")
DATA_KINDS = ("digits", "mnist:PATH", "gaussian", *YUN_EXAMPLES)
TEACHERS = ("linear", "relu")
DIGITS_SAMPLES = 1797  # the bundled UCI digits
MNIST_SAMPLES = 60000  # the MNIST training set: an upper bound for a file not yet read
YUN_SAMPLES = {"yun-example1": 6, "yun-example2": 3}


@dataclass(frozen=True)
class Dataset:
    """Inputs ``X`` (m, d_in) and outputs ``Y`` (m, d_out), samples as rows, with a description of their origin."""

    X: np.ndarray
    Y: np.ndarray
    name: str
    description: str
    info: dict = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def dim(self) -> int:
        return int(self.X.shape[1])


def whiten_principal_components(inputs: np.ndarray, components: int = PRINCIPAL_COMPONENTS) -> np.ndarray:
    """Centre `inputs` (m, p), project on the top `components` principal components, whiten.

    Li et al. (2017), Appendix B. The result Z (m, k) has mean 0 and ZᵀZ/m = I to rounding: after the
    projection on the leading eigenvectors of the covariance, a second, symmetric whitening with the exact
    covariance of the projected data removes the rounding of the first. Each component's sign is fixed so
    that its largest-magnitude loading is positive (the result does not depend on the eigensolver's signs).
    """
    x = np.asarray(inputs, dtype=np.float64)
    m, p = x.shape
    largest = float(np.abs(x).max()) if x.size else 0.0
    if largest > 0 and not 1e-100 < largest < 1e100:  # whitening does not see the scale; the covariance's
        x = x / largest                                  # squares would overflow or underflow float64
    if components > p:
        raise DataError(f"cannot keep {components} principal components of {p}-dimensional inputs")
    if m <= components:
        raise DataError(f"need more than {components} samples to whiten {components} components, got {m}")
    centred = x - x.mean(axis=0)
    covariance = centred.T @ centred / m
    eigvals, eigvecs = np.linalg.eigh(covariance)
    order = np.argsort(eigvals)[::-1][:components]
    if eigvals[order[-1]] <= 1e-12 * max(eigvals[order[0]], 1e-300):
        raise DataError(f"the inputs span fewer than {components} directions: cannot whiten them")
    basis = eigvecs[:, order]
    signs = np.sign(basis[np.argmax(np.abs(basis), axis=0), np.arange(components)])
    basis = basis * np.where(signs == 0, 1.0, signs)
    projected = centred @ basis / np.sqrt(eigvals[order])
    second = projected.T @ projected / m
    s_vals, s_vecs = np.linalg.eigh(second)
    inverse_sqrt = (s_vecs / np.sqrt(s_vals)) @ s_vecs.T
    return projected @ inverse_sqrt


def one_hot(labels: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """One-hot rows (m, classes) of integer labels 0..classes-1."""
    labels = np.asarray(labels).astype(np.int64).ravel()
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise DataError(f"labels must lie in 0..{classes - 1}, found {labels.min()}..{labels.max()}")
    out = np.zeros((labels.size, classes))
    out[np.arange(labels.size), labels] = 1.0
    return out


def _preprocess(images: np.ndarray, labels: np.ndarray, name: str, source: str, samples: int | None) -> Dataset:
    images = np.asarray(images)
    labels = np.asarray(labels).ravel()
    if images.ndim < 2:
        raise DataError(f"{source}: images must have one row per sample, got shape {images.shape}")
    if images.size == 0:
        raise DataError(f"{source}: no images (shape {images.shape})")
    if images.dtype.kind not in "biuf":  # (b: binarised MNIST)
        raise DataError(f"{source}: pixel values must be real numbers, not {images.dtype}")
    if labels.dtype.kind not in "biuf":
        raise DataError(f"{source}: labels must be integers, not {labels.dtype}")
    flat = images.reshape(images.shape[0], -1)
    if flat.shape[0] != labels.shape[0]:
        raise DataError(f"{source}: {flat.shape[0]} images but {labels.shape[0]} labels")
    if samples is not None:  # the first samples, before any float64 copy of them all
        if samples < 1:
            raise ConfigError(f"--samples {samples}: must be at least 1")
        if samples > flat.shape[0]:
            raise ConfigError(f"--samples {samples}: {name} has only {flat.shape[0]} samples")
        flat, labels = flat[:samples], labels[:samples]
    m, pixels = flat.shape
    # float64 copies of the inputs (cast, centred, projected) and the pixels × pixels covariance with its
    # eigenvectors (`whiten_principal_components`)
    given = f" --samples {samples}" if samples is not None else ""
    check_memory(8.0 * (3 * m * pixels + 2 * pixels * pixels), f"--data {name}:{source}{given} ({m} samples of "
                 f"{pixels} pixels)" if name == "mnist" else f"--data {name}{given}")
    flat = flat.astype(np.float64)
    bad = int(np.count_nonzero(~np.isfinite(flat)))
    if bad:
        raise DataError(f"{source}: {bad} of {flat.size} pixel values are not finite (NaN or infinite)")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.isfinite(labels)) or not np.all(np.equal(np.mod(labels, 1), 0)):
            raise DataError(f"{source}: labels must be integers")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):  # (before a cast: 2⁶⁴ − 1 is not −1)
        raise DataError(f"{source}: labels must lie in 0..{NUM_CLASSES - 1}, found {labels.min()}..{labels.max()}")
    X = whiten_principal_components(flat, PRINCIPAL_COMPONENTS)
    Y = one_hot(labels, NUM_CLASSES)
    description = (
        f"{name}: {X.shape[0]} samples of {flat.shape[1]} pixels, centred, top {PRINCIPAL_COMPONENTS} "
        f"principal components whitened; one-hot labels (d = {NUM_CLASSES})"
    )
    return Dataset(X=X, Y=Y, name=name, description=description, info={"source": source, "pixels": flat.shape[1]})


def load_digits(samples: int | None = None) -> Dataset:
    """The bundled UCI digits (1797 × 8×8, CC BY 4.0, Alpaydin & Kaynak), preprocessed as Li et al. App. B."""
    try:
        with resources.files("resnet_cli").joinpath("data/digits.npz").open("rb") as fh:
            with np.load(fh) as archive:
                images, labels = archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"the bundled digits file cannot be read ({exc}); reinstall resnet-cli") from None
    return _preprocess(images, labels, "digits", "bundled UCI digits", samples)


# --- IDX files (the MNIST distribution format) ---------------------------------------------------------

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _gunzip(data: bytes, limit: int) -> bytes:
    """At most `limit` bytes (≥ 1) of the gzip members in `data`, one after another as `gzip.decompress` reads
    them; the rest is not decompressed (a file whose header declares little cannot inflate to gigabytes)."""
    out, size = [], 0
    while data[:2] == b"\x1f\x8b" and size < limit:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunk = member.decompress(data, limit - size)
        out.append(chunk)
        size += len(chunk)
        if not member.eof and size < limit:
            raise zlib.error("the compressed stream ends early")
        data = member.unused_data
    return b"".join(out)


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed): magic 0,0,type,ndim; big-endian uint32 sizes; data."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        raw = path.read_bytes()
        compressed = raw if raw[:2] == b"\x1f\x8b" else None
        if compressed is not None:  # the header first: the rest only up to the size it declares
            raw = _gunzip(compressed, 4 + 4 * 3)
    except (OSError, EOFError, zlib.error) as exc:  # (zlib: a damaged deflate stream)
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    if ndim > 3:  # images are (m, rows, cols), labels (m,)
        raise DataError(f"{path}: an IDX file of {ndim} dimensions; images and labels have 1 to 3")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: 65536⁴ wrapped to 0 in int64
    if compressed is not None:  # decompressed: at most one byte more than the header declares, if that fits
        check_memory(expected, f"--data mnist:{path} (IDX header: shape {shape})")
        try:
            raw = _gunzip(compressed, header + expected + 1)
        except zlib.error as exc:
            raise DataError(f"{path}: cannot read ({exc})") from None
        del compressed
    if len(raw) - header > expected:
        raise DataError(f"{path}: IDX header says {shape} ({expected} bytes) but more bytes follow")
    if len(raw) - header != expected:
        raise DataError(f"{path}: IDX header says {shape} ({expected} bytes) but {len(raw) - header} bytes follow")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _labels_beside(images_path: Path) -> Path | None:
    name = images_path.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            candidate = images_path.with_name(name.replace(a, b))
            for c in (candidate, Path(str(candidate) + ".gz"), Path(str(candidate).removesuffix(".gz"))):
                if c.is_file():
                    return c
    return None


def _mnist_files(spec: str) -> tuple[Path, Path]:
    if "," in spec:
        images, labels = (Path(p.strip()) for p in spec.split(",", 1))
        return images, labels
    path = Path(spec)
    if path.is_dir():
        for stem in ("train-images-idx3-ubyte", "train-images.idx3-ubyte"):
            for suffix in ("", ".gz"):
                images = path / f"{stem}{suffix}"
                if images.is_file():
                    labels = _labels_beside(images)
                    if labels is None:
                        raise DataError(f"{path}: found {images.name} but no labels file beside it")
                    return images, labels
        raise DataError(f"{path}: no train-images-idx3-ubyte[.gz] in this folder")
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    labels = _labels_beside(path)
    if labels is None:
        raise DataError(f"{path}: no labels file beside it (give mnist:IMAGES,LABELS)")
    return path, labels


def load_mnist(spec: str, samples: int | None = None) -> Dataset:
    """MNIST from a user's files (IDX or .npz), preprocessed as Li et al. (2017), Appendix B."""
    if not spec:
        raise ConfigError("--data mnist:PATH needs a path (a .npz file, an IDX images file or a folder)")
    path = Path(spec)
    if path.suffix == ".npz":
        if not path.is_file():
            raise DataError(f"data file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as archive:
                keys = set(archive.files)
                for ki, kl in (("x_train", "y_train"), ("images", "labels"), ("x", "y")):
                    if ki in keys and kl in keys:
                        images, labels = archive[ki], archive[kl]
                        break
                else:
                    raise DataError(
                        f"{path}: expected arrays x_train/y_train, images/labels or x/y, found {sorted(keys)}"
                    )
        except DataError:
            raise
        except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError: all mean "not a readable npz"
            raise DataError(f"{path}: not a readable .npz file ({type(exc).__name__})") from None
    else:
        images_path, labels_path = _mnist_files(spec)
        images, labels = read_idx(images_path), read_idx(labels_path)
        if labels.ndim != 1:
            raise DataError(f"{labels_path}: labels must be a 1-d IDX array, got shape {labels.shape}")
    return _preprocess(images, labels, "mnist", str(spec), samples)


def make_gaussian(samples: int, dim: int, rng: np.random.Generator) -> Dataset:
    """Synthetic regression data: x ~ N(0, I_d), y = T x + 0.1 ε, T_ij ~ N(0, 1/d), ε ~ N(0, I_d)."""
    if samples < 1 or dim < 1:
        raise ConfigError(f"gaussian data needs --samples >= 1 and --dim >= 1, got {samples} and {dim}")
    X = rng.standard_normal((samples, dim))
    teacher = rng.standard_normal((dim, dim)) / np.sqrt(dim)
    Y = X @ teacher.T + GAUSSIAN_NOISE * rng.standard_normal((samples, dim))
    description = f"gaussian: {samples} samples, x ~ N(0, I_{dim}), y = T x + {GAUSSIAN_NOISE}·noise"
    return Dataset(X=X, Y=Y, name="gaussian", description=description, info={"source": "synthetic"})


def make_relu_teacher(samples: int, dim: int, rng: np.random.Generator, noise: float = GAUSSIAN_NOISE) -> Dataset:
    """Gaussian inputs x ~ N(0, I_dim) labelled by a random one-hidden-layer ReLU teacher plus noise.

    Teacher (ours, for `landscape deep-resnet`): y = aᵀσ(S x) + noise·ε with S ~ N(0, I/dim) of shape
    (dim, dim), a ~ N(0, 1/dim) per entry, ε ~ N(0, 1); d_out = 1. The ReLU part makes the best linear
    predictor strictly suboptimal. The draws are made sample-as-column (X first, as (dim, samples)) so the
    stream is that of the development snapshots before 0.1.0; the arrays returned have samples as rows.
    """
    if samples < 1 or dim < 1:
        raise ConfigError(f"gaussian data needs --samples >= 1 and --dim >= 1, got {samples} and {dim}")
    X = rng.normal(size=(dim, samples))
    S = rng.normal(0.0, 1.0 / math.sqrt(dim), size=(dim, dim))
    a = rng.normal(0.0, 1.0 / math.sqrt(dim), size=(dim,))
    y = a @ np.maximum(S @ X, 0.0) + noise * rng.normal(size=samples)
    description = f"gaussian: {samples} samples, x ~ N(0, I_{dim}), y = aᵀ relu(S x) + {noise}·noise"
    return Dataset(X=X.T, Y=y[:, None], name="gaussian", description=description,
                   info={"source": "synthetic", "teacher": "a^T relu(S x) + 0.1 noise"})


# --- the motivating examples of Yun et al. 2019 -------------------------------------------------------------
# ("Are deep ResNets provably better than linear predictors?")
#
# Example 1 (paper §3.1): six points X = [0 1 2 3 4 5], Y = X + ρ·s with s = (−1, −1, +1, −1, +1, +1).
# The signs are our reading of the paper's display (the extraction we could check lost the minus signs):
# with them the best affine predictor's risk is exactly 8ρ²/15, the value the paper states, and no other
# sign pattern of the form X + ρ·s gives 8ρ²/15 (checked by enumerating all 64). Why it shows the claim: a
# one-hidden-node ReLU net f(x) = a σ(u x + b) + c is, on these points, either affine (all points on the
# active side) or has a flat piece, and for this zigzag the flat piece never pays: its global minimum equals
# the affine risk 8ρ²/15. A one-block ResNet f(x) = w(x + v σ(u x + b)) + c keeps the linear term x, so it
# can add a kink to the affine fit and is strictly better than 8ρ²/15 (the paper gives one such point with
# risk ρ²(12ρ² + 82ρ + 215)/(21ρ² + 156ρ + 420)).
# Example 2 (paper §3.2): X = [1 2.5 3], Y = [1 3 2]; with a 2-block ResNet the risk of the best linear
# read-out of h_1 need not lie between those of h_0 = x and h_2, even at a global minimum.

EXAMPLE1_SIGNS = np.array([-1.0, -1.0, 1.0, -1.0, 1.0, 1.0])


def example1_linear_risk(rho: float) -> float:
    """The paper's closed form for example 1's best affine risk: 8ρ²/15."""
    return 8.0 * rho * rho / 15.0


def example1_paper_resnet_risk(rho: float) -> float:
    """The risk of the paper's one-block ResNet point for example 1: ρ²(12ρ²+82ρ+215)/(21ρ²+156ρ+420)."""
    return rho * rho * (12 * rho * rho + 82 * rho + 215) / (21 * rho * rho + 156 * rho + 420)


def yun_example1(rho: float = 0.5) -> Dataset:
    """Yun et al. 2019 §3.1: x = 0..5, y = x + ρ·(−1, −1, +1, −1, +1, +1); R_lin = 8ρ²/15."""
    if not (math.isfinite(rho) and rho > 0):
        raise ConfigError(f"--rho {rho}: must be greater than 0")
    x = np.arange(6, dtype=float)
    info = {"rho": rho, "paper_linear_risk": example1_linear_risk(rho),
            "paper_resnet_point_risk": example1_paper_resnet_risk(rho)}
    return Dataset(X=x[:, None], Y=(x + rho * EXAMPLE1_SIGNS)[:, None], name="yun-example1",
                   description=f"yun-example1: x = 0..5, y = x + {rho}·(−1,−1,1,−1,1,1)", info=info)


def yun_example2() -> Dataset:
    """Yun et al. 2019 §3.2: x = (1, 2.5, 3), y = (1, 3, 2)."""
    return Dataset(X=np.array([[1.0], [2.5], [3.0]]), Y=np.array([[1.0], [3.0], [2.0]]), name="yun-example2",
                   description="yun-example2: x = (1, 2.5, 3), y = (1, 3, 2)")


def check_spec(spec: str) -> str:
    """The data set name of `spec` (``mnist`` for ``mnist:PATH``); ConfigError naming --data otherwise."""
    spec = (spec or "").strip()
    if spec in ("digits", "gaussian", *YUN_EXAMPLES):
        return spec
    if spec == "mnist" or spec.startswith("mnist:"):
        return "mnist"
    raise ConfigError(f"--data {spec!r}: choose {', '.join(DATA_KINDS)}")


def load_dataset(
    spec: str,
    rng: np.random.Generator | None = None,
    *,
    samples: int | None = None,
    dim: int | None = None,
    rho: float | None = None,
    teacher: str = "linear",
) -> Dataset:
    """Load ``digits``, ``mnist:PATH``, ``gaussian``, ``yun-example1`` or ``yun-example2`` (samples as rows).

    For digits and MNIST, ``samples`` keeps the first samples (before preprocessing) and ``dim`` must be
    10 or None (d is the number of classes). ``gaussian`` draws ``samples`` (default 1000) points of
    dimension ``dim`` (default 10) with ``rng``, labelled by the ``teacher`` (linear or relu). The Yun et al.
    examples are fixed points: ``rho`` (default 0.5) sets example 1; ``samples`` and ``dim`` must be None.
    """
    spec = (spec or "").strip()
    kind = check_spec(spec)
    if kind in YUN_EXAMPLES:
        for flag, value in (("--samples", samples), ("--dim", dim)):
            if value is not None:
                raise ConfigError(f"{flag} {value}: {kind} has fixed samples (it applies to gaussian, digits, mnist)")
        return yun_example1(0.5 if rho is None else rho) if kind == "yun-example1" else yun_example2()
    if kind == "digits":
        _require_ten(dim, spec)
        return load_digits(samples)
    if kind == "mnist":
        _require_ten(dim, "mnist")
        try:
            return load_mnist(spec[len("mnist:"):] if spec.startswith("mnist:") else "", samples)
        except DataError as exc:  # name the option the files came from
            raise DataError(f"--data {spec}: {exc}") from None
    if rng is None:
        raise ValueError("gaussian data needs an rng")
    if teacher not in TEACHERS:
        raise ValueError(f"teacher must be one of {TEACHERS}, got {teacher!r}")
    make = make_gaussian if teacher == "linear" else make_relu_teacher
    return make(1000 if samples is None else samples, 10 if dim is None else dim, rng)
def dataset_shape(spec: str, samples: int | None = None, dim: int | None = None,
                  teacher: str = "linear") -> tuple[int, int, int]:
    """(samples, d_in, d_out) that `load_dataset` would give, without loading or drawing anything (for the
    memory and time estimates of resnet_cli/budget.py); MNIST counts at most its training set."""
    kind = check_spec((spec or "").strip())
    if kind in YUN_EXAMPLES:
        return YUN_SAMPLES[kind], 1, 1
    if kind == "gaussian":
        m, d = (1000 if samples is None else samples), (10 if dim is None else dim)
        return m, d, (d if teacher == "linear" else 1)
    if kind == "mnist":  # a missing file said before any estimate (an announced run that then fails: 2 lines)
        for part in (spec or "").strip().removeprefix("mnist:").split(",", 1):
            if part.strip() and not Path(part.strip()).exists():
                raise DataError(f"--data {spec.strip()}: data file not found: {part.strip()}")
    available = DIGITS_SAMPLES if kind == "digits" else MNIST_SAMPLES
    if kind == "digits" and samples is not None and samples > available:  # (said before any estimate)
        raise ConfigError(f"--samples {samples}: digits has only {available} samples")
    return min(samples or available, available), PRINCIPAL_COMPONENTS, NUM_CLASSES


def _require_ten(dim: int | None, name: str) -> None:
    if dim is not None and dim != NUM_CLASSES:
        raise ConfigError(f"--dim {dim}: {name} has d = {NUM_CLASSES} (--dim applies to --data gaussian)")
