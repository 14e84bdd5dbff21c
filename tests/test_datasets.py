"""Data sets: the bundled digits, cached checksummed downloads (never the network), synthetic."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

import xpnet as xn
from xpnet.datasets import _download, fashion_mnist, mnist


def test_digits_are_bundled_with_their_provenance():
    x, y = xn.datasets.load_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.uint8
    assert y.shape == (1797,) and y.dtype == np.int64
    assert int(x.min()) == 0 and int(x.max()) == 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    readme = Path(xn.datasets.__file__).parent / "data" / "README.md"
    text = readme.read_text()
    assert "CC BY 4.0" in text and "Alpaydin" in text


def test_digits_split_is_stratified_and_fixed():
    (x_tr, _y_tr), (x_te, y_te) = xn.datasets.digits.load_data(flatten=True)
    assert x_tr.shape == (1437, 64) and x_te.shape == (360, 64)
    assert np.bincount(y_te).min() >= 35
    (_, _), (_, y_te2) = xn.datasets.digits.load_data(flatten=True)
    np.testing.assert_array_equal(y_te, y_te2)


@pytest.mark.parametrize(
    "make, kw, n_classes",
    [
        (xn.datasets.make_xor, {"n_samples": 40}, 2),
        (xn.datasets.make_spirals, {"n_samples": 40}, 2),
        (xn.datasets.make_moons, {"n_samples": 40}, 2),
        (xn.datasets.make_blobs, {"n_samples": 40, "centers": 4, "n_features": 3}, 4),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_synthetic_classification_sets(make, kw, n_classes):
    x, y = make(seed=1, **kw)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert len(x) == len(y) == 40
    assert sorted(set(y.tolist())) == list(range(n_classes))
    x2, _y2 = make(seed=1, **kw)
    np.testing.assert_array_equal(x, x2)
    x3, _ = make(seed=2, **kw)
    assert not np.array_equal(x, x3)
    with pytest.raises(ValueError, match="n_samples"):
        make(n_samples=0)


def test_xor_without_noise_is_the_truth_table():
    x, y = xn.datasets.make_xor(n_samples=4, noise=0.0)
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


def test_multilabel_set():
    x, y = xn.datasets.make_multilabel(n_samples=300, n_features=6, n_labels=4, seed=0)
    assert x.shape == (300, 6) and y.shape == (300, 4) and y.dtype == np.float32
    assert set(np.unique(y).tolist()) == {0.0, 1.0}
    per_sample = y.sum(axis=1)
    assert per_sample.max() >= 2  # several labels at once happen
    assert 0.2 < y.mean() < 0.5


# --------------------------------------------------------------------------- downloads


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def test_get_file_downloads_verifies_and_reuses_the_cache(tmp_path):
    src = tmp_path / "src.bin"
    digest = _write(src, b"payload")
    cache = tmp_path / "cache"
    got = _download.get_file("data.bin", [src.as_uri()], digest, cache)
    assert got.read_bytes() == b"payload"
    src.unlink()  # the cache must be used from now on
    again = _download.get_file("data.bin", ["file:///nonexistent/x"], digest, cache)
    assert again == got
    assert not list(cache.glob("*.part"))


def test_get_file_rejects_a_checksum_mismatch_and_keeps_no_file(tmp_path):
    src = tmp_path / "src.bin"
    _write(src, b"tampered")
    cache = tmp_path / "cache"
    with pytest.raises(_download.DownloadError, match="checksum mismatch"):
        _download.get_file("data.bin", [src.as_uri()], "0" * 64, cache)
    assert not (cache / "data.bin").exists()
    assert not list(cache.iterdir())


def test_get_file_tries_mirrors_and_replaces_a_corrupted_cache(tmp_path):
    src = tmp_path / "good.bin"
    digest = _write(src, b"good")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "data.bin").write_bytes(b"corrupted")
    got = _download.get_file("data.bin", ["file:///nonexistent/a", src.as_uri()], digest, cache)
    assert got.read_bytes() == b"good"


def test_get_file_reports_every_mirror(tmp_path):
    with pytest.raises(_download.DownloadError, match=r"(?s)nonexistent/a.*nonexistent/b.*put it"):
        _download.get_file(
            "x", ["file:///nonexistent/a", "file:///nonexistent/b"], "0" * 64, tmp_path
        )


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("XPNET_DATA", str(tmp_path))
    assert _download.cache_dir() == tmp_path
    assert _download.cache_dir(tmp_path / "x") == tmp_path / "x"


def _idx(data: np.ndarray) -> bytes:
    header = (0x0800 + data.ndim).to_bytes(4, "big")
    header += b"".join(int(d).to_bytes(4, "big") for d in data.shape)
    return gzip.compress(header + data.astype(np.uint8).tobytes())


@pytest.mark.parametrize("module", [mnist, fashion_mnist], ids=["mnist", "fashion_mnist"])
def test_mnist_style_loaders_on_small_local_files(module, tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    parts = {
        "train-images": rng.integers(0, 256, (5, 28, 28)),
        "train-labels": rng.integers(0, 10, 5),
        "t10k-images": rng.integers(0, 256, (3, 28, 28)),
        "t10k-labels": rng.integers(0, 10, 3),
    }
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    hashes = {}
    for part, arr in parts.items():
        fname = xn.datasets._idx.NAMES[part]
        hashes[part] = _write(mirror / fname, _idx(arr))
    monkeypatch.setattr(module, "MIRRORS", [mirror.as_uri()])
    monkeypatch.setattr(module, "SHA256", hashes)
    (x_tr, y_tr), (x_te, y_te) = module.load_data(cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(x_tr, parts["train-images"])
    np.testing.assert_array_equal(y_te, parts["t10k-labels"])
    assert x_tr.dtype == np.uint8 and x_te.shape == (3, 28, 28) and y_tr.shape == (5,)
    for f in mirror.iterdir():
        f.unlink()
    (x_tr2, _), _ = module.load_data(cache_dir=tmp_path / "cache")  # from the cache
    np.testing.assert_array_equal(x_tr, x_tr2)


def test_real_checksums_are_sha256():
    for module in (mnist, fashion_mnist):
        assert set(module.SHA256) == set(xn.datasets._idx.PARTS)
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in module.SHA256.values())


def test_idx_reader_rejects_foreign_and_truncated_files(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x09\x99rest"))
    with pytest.raises(_download.DownloadError, match="not an IDX file"):
        _download.read_idx_gz(bad, 1)
    short = tmp_path / "short.gz"
    header = (0x0803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (4, 2, 2))
    short.write_bytes(gzip.compress(header + b"\0"))
    with pytest.raises(_download.DownloadError, match="truncated"):
        _download.read_idx_gz(short, 3)
