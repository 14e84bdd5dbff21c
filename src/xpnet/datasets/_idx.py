"""Shared loader of the MNIST-format data sets (four gzipped IDX files)."""

from __future__ import annotations

from xpnet.datasets._download import get_file, read_idx_gz

PARTS = ("train-images", "train-labels", "t10k-images", "t10k-labels")
NAMES = {
    "train-images": "train-images-idx3-ubyte.gz",
    "train-labels": "train-labels-idx1-ubyte.gz",
    "t10k-images": "t10k-images-idx3-ubyte.gz",
    "t10k-labels": "t10k-labels-idx1-ubyte.gz",
}


def load(prefix: str, mirrors, hashes, cache_dir):
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, fetched into the cache."""
    arrays = []
    for part in PARTS:
        fname = NAMES[part]
        urls = [m.rstrip("/") + "/" + fname for m in mirrors]
        path = get_file(f"{prefix}-{fname}", urls, hashes[part], cache_dir)
        arrays.append(read_idx_gz(path, 3 if part.endswith("images") else 1))
    x_tr, y_tr, x_te, y_te = arrays
    return (x_tr, y_tr), (x_te, y_te)
