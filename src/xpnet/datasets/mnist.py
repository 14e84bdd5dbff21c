"""MNIST handwritten digits (LeCun, Cortes & Burges): 60,000 + 10,000 images of 28x28.

Downloaded once into the cache (see :func:`xpnet.datasets._download.cache_dir`)
and checked against SHA-256 sums (the same sums TensorFlow Datasets records).
"""

from __future__ import annotations

from xpnet.datasets import _idx

__all__ = ["load_data"]

MIRRORS = [
    "https://storage.googleapis.com/cvdf-datasets/mnist",
    "https://ossci-datasets.s3.amazonaws.com/mnist",
]
SHA256 = {
    "train-images": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def load_data(cache_dir=None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 28, 28) and labels (n,).

    Args:
        cache_dir: where to keep the files (default ``$XPNET_DATA`` or
            ``~/.xpnet/datasets``); a second call reads them from there.
    """
    return _idx.load("mnist", MIRRORS, SHA256, cache_dir)
