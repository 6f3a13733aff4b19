"""Data sets for the n-shortcut experiments of Li et al. (2017), Appendix B.

The paper trains on MNIST, "whitened", keeping the 10 greatest principal components of the inputs, with
one-hot outputs, so that inputs and outputs both have d = 10. This module gives the same preprocessing to

- ``digits`` (default): the UCI hand-written digits (1797 images of 8×8) bundled in ``resnet_cli/data/``;
- ``mnist:PATH``: a user's MNIST, as IDX files (``train-images-idx3-ubyte[.gz]`` and the labels beside
  it, or a folder holding them, or ``IMAGES,LABELS``) or as a ``.npz`` (keys ``x_train``/``y_train``,
  ``images``/``labels`` or ``x``/``y``);
- ``gaussian``: synthetic inputs x ~ N(0, I_d) and outputs y = T x + 0.1·ε with T_ij ~ N(0, 1/d),
  ε ~ N(0, I_d) (not whitened).

Samples are ROWS: ``X`` and ``Y`` have shape (m, d). The second-moment statistics of the paper's eqs. (8)-(9)
are then Σ_XX = XᵀX/m and Σ_YX = YᵀX/m. This is the one engine module that opens files; every failure to
read one raises `DataError` (one line on stderr, exit code 2).
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from resnet_cli.errors import ConfigError, DataError

PRINCIPAL_COMPONENTS = 10
NUM_CLASSES = 10
GAUSSIAN_NOISE = 0.1
DATA_KINDS = ("digits", "mnist:PATH", "gaussian")


@dataclass(frozen=True)
class Dataset:
    """Inputs ``X`` (m, d) and outputs ``Y`` (m, d), samples as rows, with a description of their origin."""

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
    flat = images.reshape(images.shape[0], -1).astype(np.float64)
    if flat.shape[0] != labels.shape[0]:
        raise DataError(f"{source}: {flat.shape[0]} images but {labels.shape[0]} labels")
    if samples is not None:
        if samples < 1:
            raise ConfigError(f"--samples {samples}: must be at least 1")
        if samples > flat.shape[0]:
            raise ConfigError(f"--samples {samples}: {name} has only {flat.shape[0]} samples")
        flat, labels = flat[:samples], labels[:samples]
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.equal(np.mod(labels, 1), 0)):
            raise DataError(f"{source}: labels must be integers")
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


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed): magic 0,0,type,ndim; big-endian uint32 sizes; data."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
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


def load_dataset(
    spec: str, rng: np.random.Generator | None = None, *, samples: int | None = None, dim: int | None = None
) -> Dataset:
    """Load ``digits``, ``mnist:PATH`` or ``gaussian`` (``samples`` default 1000, ``dim`` default 10).

    For digits and MNIST, ``samples`` keeps the first samples (before preprocessing) and ``dim`` must be
    10 or None (d is the number of classes). ``rng`` draws the gaussian data.
    """
    spec = (spec or "").strip()
    if spec == "digits":
        _require_ten(dim, spec)
        return load_digits(samples)
    if spec == "mnist" or spec.startswith("mnist:"):
        _require_ten(dim, "mnist")
        return load_mnist(spec[len("mnist:"):] if spec.startswith("mnist:") else "", samples)
    if spec == "gaussian":
        if rng is None:
            raise ValueError("gaussian data needs an rng")
        return make_gaussian(1000 if samples is None else samples, 10 if dim is None else dim, rng)
    raise ConfigError(f"--data {spec!r}: choose digits, mnist:PATH or gaussian")


def _require_ten(dim: int | None, name: str) -> None:
    if dim is not None and dim != NUM_CLASSES:
        raise ConfigError(f"--dim {dim}: {name} has d = {NUM_CLASSES} (--dim applies to --data gaussian)")
