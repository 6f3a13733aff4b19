"""The one data loader: bundled digits, user MNIST (IDX/.npz), gaussian (linear and ReLU teachers), and the
examples of Yun et al. 2019 — all with samples as rows."""

import gzip
import struct

import numpy as np
import pytest

from resnet_cli import data as data_module
from resnet_cli.data import load_dataset, load_digits, one_hot, read_idx, whiten_principal_components
from resnet_cli.errors import ConfigError, DataError, UserError


def write_idx(path, array, gz=False):
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


def fake_mnist(rng, m=60):
    """Small MNIST-like images (m × 6×6, with 12 'on' pixels per class template) and labels."""
    labels = np.arange(m) % 10
    templates = rng.integers(0, 256, size=(10, 6, 6))
    noise = rng.integers(0, 40, size=(m, 6, 6))
    images = np.clip(templates[labels] + noise, 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def assert_whitened(X):
    m = X.shape[0]
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.T @ X / m, np.eye(X.shape[1]), atol=1e-10, rtol=0)


def test_bundled_digits_load_offline_and_are_whitened():
    data = load_digits()
    assert data.X.shape == (1797, 10) and data.Y.shape == (1797, 10)
    assert_whitened(data.X)
    # one-hot labels, all ten classes present, as shipped by scikit-learn
    assert set(np.unique(data.Y)) == {0.0, 1.0}
    np.testing.assert_array_equal(data.Y.sum(axis=1), 1.0)
    counts = data.Y.sum(axis=0)
    assert counts.sum() == 1797 and counts.min() >= 170
    assert load_dataset("digits").X.tobytes() == data.X.tobytes()  # deterministic


def test_whitening_keeps_top_principal_subspace():
    rng = np.random.default_rng(1)
    # inputs with 3 strong directions and 5 weak ones: top-3 whitening must span the strong ones
    basis = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    scales = np.array([10.0, 7.0, 5.0, 0.1, 0.1, 0.1, 0.1, 0.1])
    raw = (rng.standard_normal((500, 8)) * scales) @ basis.T + 3.0
    Z = whiten_principal_components(raw, 3)
    assert_whitened(Z)
    # Z spans the same column space as the top-3 left singular vectors of the centred data (the sample PCs)
    centred = raw - raw.mean(axis=0)
    u = np.linalg.svd(centred, full_matrices=False)[0][:, :3]
    np.testing.assert_allclose(u @ (u.T @ Z), Z, atol=1e-10)
    # ... and those sample PCs lie close to the true strong directions
    assert np.linalg.svd(basis[:, :3].T @ np.linalg.qr(centred.T @ u)[0], compute_uv=False).min() > 0.99


def test_whitening_rejects_degenerate_inputs():
    with pytest.raises(DataError):
        whiten_principal_components(np.ones((50, 12)), 10)
    with pytest.raises(DataError):
        whiten_principal_components(np.zeros((5, 12)), 10)


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(DataError):
        one_hot(np.array([10]), 10)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_idx_files(tmp_path, gz):
    images, labels = fake_mnist(np.random.default_rng(2))
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, gz)
    np.testing.assert_array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images)
    by_folder = load_dataset(f"mnist:{tmp_path}")
    by_file = load_dataset(f"mnist:{tmp_path / f'train-images-idx3-ubyte{suffix}'}")
    explicit = load_dataset(
        f"mnist:{tmp_path / f'train-images-idx3-ubyte{suffix}'},{tmp_path / f'train-labels-idx1-ubyte{suffix}'}"
    )
    for data in (by_folder, by_file, explicit):
        assert data.X.shape == (60, 10)
        assert_whitened(data.X)
        np.testing.assert_array_equal(data.Y.argmax(axis=1), labels)
    np.testing.assert_array_equal(by_folder.X, by_file.X)
    # the same preprocessing as an independent computation: PCA by SVD, whitened by the singular values
    flat = images.reshape(60, -1).astype(float)
    centred = flat - flat.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    reference = u[:, :10] * np.sqrt(60)
    # equal up to the sign of each component
    signs = np.sign(np.sum(reference * by_folder.X, axis=0))
    np.testing.assert_allclose(reference * signs, by_folder.X, atol=1e-8)


def test_mnist_npz_and_samples(tmp_path):
    images, labels = fake_mnist(np.random.default_rng(3), m=80)
    np.savez(tmp_path / "m.npz", x_train=images, y_train=labels)
    data = load_dataset(f"mnist:{tmp_path / 'm.npz'}", samples=50)
    assert data.X.shape == (50, 10)
    np.testing.assert_array_equal(data.Y.argmax(axis=1), labels[:50])


def test_bad_data_files(tmp_path):
    with pytest.raises(DataError):
        load_dataset(f"mnist:{tmp_path / 'missing.npz'}")
    with pytest.raises(DataError):
        load_dataset(f"mnist:{tmp_path}")  # empty folder
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError):
        load_dataset(f"mnist:{tmp_path / 'bad.npz'}")
    np.savez(tmp_path / "wrongkeys.npz", a=np.zeros(3))
    with pytest.raises(DataError):
        load_dataset(f"mnist:{tmp_path / 'wrongkeys.npz'}")
    images, labels = fake_mnist(np.random.default_rng(4))
    write_idx(tmp_path / "train-images-idx3-ubyte", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:-1])
    with pytest.raises(DataError):  # counts disagree
        load_dataset(f"mnist:{tmp_path}")
    raw = (tmp_path / "train-images-idx3-ubyte").read_bytes()
    (tmp_path / "train-images-idx3-ubyte").write_bytes(raw[:-7])
    with pytest.raises(DataError):  # truncated
        load_dataset(f"mnist:{tmp_path}")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04junk")
    with pytest.raises(DataError):  # bad magic
        load_dataset(f"mnist:{tmp_path}")


def test_gaussian_and_bad_specs():
    a = load_dataset("gaussian", samples=30, dim=4, rng=np.random.default_rng(5))
    b = load_dataset("gaussian", samples=30, dim=4, rng=np.random.default_rng(5))
    assert a.X.shape == (30, 4) and a.Y.shape == (30, 4)
    assert a.X.tobytes() == b.X.tobytes() and a.Y.tobytes() == b.Y.tobytes()
    for spec, kwargs in [("cifar", {}), ("digits", {"dim": 4}), ("digits", {"samples": 0}),
                         ("digits", {"samples": 5000}), ("mnist", {})]:
        with pytest.raises(ConfigError):
            load_dataset(spec, **kwargs)
    with pytest.raises(ConfigError):
        load_dataset("gaussian", samples=0, dim=3, rng=np.random.default_rng(0))


def test_yun_examples_have_samples_as_rows_and_the_papers_values():
    one = load_dataset("yun-example1", rho=0.5)
    assert one.X.shape == (6, 1) and one.Y.shape == (6, 1)
    np.testing.assert_array_equal(one.X[:, 0], np.arange(6.0))
    np.testing.assert_array_equal(one.Y[:, 0] - one.X[:, 0], 0.5 * np.array([-1, -1, 1, -1, 1, 1]))
    # the best affine fit (numpy.linalg.lstsq) has the paper's risk 8ρ²/15
    design = np.c_[one.X, np.ones(6)]
    residual = one.Y - design @ np.linalg.lstsq(design, one.Y, rcond=None)[0]
    assert float(np.mean(residual**2)) == pytest.approx(8 * 0.25 / 15, rel=1e-12)
    assert one.info["paper_linear_risk"] == pytest.approx(8 * 0.25 / 15)
    two = load_dataset("yun-example2")
    np.testing.assert_array_equal(two.X[:, 0], [1.0, 2.5, 3.0])
    np.testing.assert_array_equal(two.Y[:, 0], [1.0, 3.0, 2.0])
    for kwargs in ({"samples": 10}, {"dim": 2}, {"rho": 0.0}):
        with pytest.raises(ConfigError):
            load_dataset("yun-example1", **kwargs)


def test_relu_teacher_keeps_the_release_stream():
    """The draws of release 0.1 (samples as columns), transposed: the same numbers."""
    rng = np.random.default_rng(9)
    X = rng.normal(size=(3, 20))
    S = rng.normal(0.0, 1.0 / np.sqrt(3), size=(3, 3))
    a = rng.normal(0.0, 1.0 / np.sqrt(3), size=(3,))
    y = a @ np.maximum(S @ X, 0.0) + 0.1 * rng.normal(size=20)
    ds = load_dataset("gaussian", np.random.default_rng(9), samples=20, dim=3, teacher="relu")
    assert ds.X.shape == (20, 3) and ds.Y.shape == (20, 1)
    np.testing.assert_array_equal(ds.X, X.T)
    np.testing.assert_array_equal(ds.Y[:, 0], y)


def test_check_spec_names_the_flag():
    assert data_module.check_spec("mnist:/x") == "mnist"
    with pytest.raises(ConfigError, match="--data 'cifar'"):
        data_module.check_spec("cifar")


@pytest.mark.parametrize("spec, samples, dim, teacher", [
    ("yun-example1", None, None, "linear"), ("yun-example2", None, None, "linear"), ("digits", None, None, "linear"),
    ("digits", 100, None, "linear"), ("gaussian", 7, 3, "linear"), ("gaussian", 7, 3, "relu"),
    ("gaussian", None, None, "linear"),
])
def test_dataset_shape_is_what_load_dataset_gives(spec, samples, dim, teacher):
    loaded = data_module.load_dataset(spec, np.random.default_rng(0), samples=samples, dim=dim, teacher=teacher)
    assert data_module.dataset_shape(spec, samples, dim, teacher) == (loaded.X.shape[0], loaded.X.shape[1], loaded.Y.shape[1])


def test_missing_mnist_files_name_the_data_option(tmp_path):
    with pytest.raises(DataError, match=rf"^--data mnist:{tmp_path}/none.npz: data file not found: "):
        load_dataset(f"mnist:{tmp_path}/none.npz")


@pytest.mark.parametrize("case, match", [
    ("empty", "no images"), ("string labels", "labels must be integers"), ("huge labels", "0..9, found 18446744"),
    ("idx overflow", "IDX header says"), ("damaged gzip", "cannot read|not an IDX file"),
    ("idx 255 dimensions", "IDX file of 255 dimensions"), ("gzip beyond its header", "the arrays would need"),
    ("60000 pixels", "the arrays would need"),
])
def test_hostile_mnist_files_are_one_data_error(tmp_path, case, match):
    """Each of these ended in an internal error (reshape of an empty array, a ufunc on strings, int64 products
    that wrapped to 0, zlib.error) or a false message (labels 2⁶⁴ − 1 shown as −1)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 20)), rng.integers(0, 10, 50)
    target = tmp_path / "m.npz"
    if case == "empty":
        np.savez(target, x=np.zeros((0, 20)), y=np.zeros(0, int))
    elif case == "string labels":
        np.savez(target, x=X, y=y.astype(str))
    elif case == "huge labels":
        np.savez(target, x=X, y=np.full(50, 2**64 - 1, dtype=np.uint64))
    elif case == "60000 pixels":  # a pixels × pixels covariance of 29 GB: out of memory, not refused
        np.savez(target, x=np.ones((11, 60000), np.uint8), y=np.zeros(11, int))
    else:
        target = tmp_path
        labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 0)
        (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)
        if case == "idx overflow":
            (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", *[65536] * 3))
        elif case == "idx 255 dimensions":  # numpy arrays have at most 64: an internal error in reshape
            (tmp_path / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 255]) + struct.pack(">255I", *[1] * 255))
        elif case == "gzip beyond its header":  # a few bytes that claim 2⁴⁸: refused before decompressing
            (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(
                gzip.compress(bytes([0, 0, 8, 3]) + struct.pack(">3I", *[65536] * 3) + bytes(1000)))
        else:
            packed = gzip.compress(b"x" * 1000)
            (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(packed[:12] + b"\xff" * 10 + packed[22:])
    with pytest.raises(UserError if "would need" in match else DataError, match=match):
        load_dataset(f"mnist:{target}")


def test_whitening_does_not_see_the_scale():
    """Pixels of 1e200 overflowed the covariance (LinAlgError) and of 1e-200 underflowed it ("fewer than 10
    directions"); whitening is scale-invariant, so such inputs are rescaled first."""
    X = np.random.default_rng(0).standard_normal((50, 20))
    ref = whiten_principal_components(X)
    for scale in (1e200, 1e-200):
        np.testing.assert_allclose(whiten_principal_components(X * scale), ref, atol=1e-12)


def test_gzip_idx_members_and_sizes(tmp_path):
    """The header-first reading crashed (ValueError: a negative max_length) when the data were shorter than the
    first read, inflated everything when the length came to 0, and refused gzip files of several members,
    which gzip.decompress reads whole."""
    from resnet_cli.data import read_idx

    raw = bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + bytes(range(10))
    (tmp_path / "multi.gz").write_bytes(gzip.compress(raw[:10]) + gzip.compress(raw[10:]))
    assert read_idx(tmp_path / "multi.gz").tolist() == list(range(10))
    (tmp_path / "short.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes(20)))
    with pytest.raises(DataError, match="more bytes follow"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 7) + bytes(10**7)))
    with pytest.raises(DataError, match="more bytes follow"):
        read_idx(tmp_path / "bomb.gz")
