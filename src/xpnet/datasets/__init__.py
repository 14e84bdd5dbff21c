"""Data sets: the bundled 8x8 digits, MNIST and Fashion-MNIST downloads, synthetic sets.

``load_digits()`` needs no network (the data ships inside the package);
``mnist.load_data()`` and ``fashion_mnist.load_data()`` download once into a
cache folder (``~/.xpnet/datasets`` or ``$XPNET_DATA``), verify SHA-256
checksums and reuse the cache afterwards. Everything returns NumPy arrays on
the host; ``fit`` moves batches to the active backend.

>>> import xpnet as xn
>>> images, labels = xn.datasets.load_digits()
>>> images.shape, labels.shape
((1797, 8, 8), (1797,))
"""

from xpnet.datasets import digits, fashion_mnist, mnist
from xpnet.datasets.digits import load_digits
from xpnet.datasets.synthetic import make_blobs, make_moons, make_multilabel, make_spirals, make_xor

__all__ = [
    "digits",
    "fashion_mnist",
    "load_digits",
    "make_blobs",
    "make_moons",
    "make_multilabel",
    "make_spirals",
    "make_xor",
    "mnist",
]
