"""The 8x8 handwritten digits (UCI, Alpaydin & Kaynak, CC BY 4.0), bundled in the package.

See ``xpnet/datasets/data/README.md`` for the data's origin and license.
"""

from __future__ import annotations

from importlib import resources

from xpnet.backend import host_numpy as np

__all__ = ["load_data", "load_digits"]


def load_digits(flatten: bool = False):
    """The 1797 digit images and their labels, as NumPy arrays.

    Returns:
        ``(images, labels)``: uint8 images of shape ``(1797, 8, 8)`` with values
        0..16 (``(1797, 64)`` when ``flatten``), and int64 labels 0..9.

    >>> import xpnet as xn
    >>> x, y = xn.datasets.load_digits(flatten=True)
    >>> x.shape, int(x.max()), sorted(set(y.tolist())) == list(range(10))
    ((1797, 64), 16, True)
    """
    ref = resources.files("xpnet.datasets").joinpath("data/digits.npz")
    with ref.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        images = npz["images"]
        labels = npz["target"].astype(np.int64)
    if flatten:
        images = images.reshape(images.shape[0], -1)
    return images, labels


def load_data(test_size: float = 0.2, seed: int = 0, flatten: bool = False):
    """Keras-style split of the digits: ``(x_train, y_train), (x_test, y_test)``.

    The split is stratified (each class keeps its share in both parts) and
    fixed by ``seed``, so every backend sees the same test set.

    >>> import xpnet as xn
    >>> (x_tr, y_tr), (x_te, y_te) = xn.datasets.digits.load_data()
    >>> x_tr.shape, x_te.shape
    ((1437, 8, 8), (360, 8, 8))
    """
    from xpnet.data import train_test_split

    x, y = load_digits(flatten=flatten)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, stratify=y, seed=seed)
    return (x_tr, y_tr), (x_te, y_te)
