"""Fashion-MNIST (Xiao, Rasul & Vollgraf, Zalando, MIT license): 70,000 28x28 clothing images.

Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
7 Sneaker, 8 Bag, 9 Ankle boot. Downloaded once into the cache and checked
against SHA-256 sums (the same sums TensorFlow Datasets records).
"""

from __future__ import annotations

from xpnet.datasets import _idx

__all__ = ["CLASS_NAMES", "load_data"]

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
MIRRORS = [
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
]
SHA256 = {
    "train-images": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}


def load_data(cache_dir=None):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 28, 28) and labels (n,).

    Args:
        cache_dir: where to keep the files (default ``$XPNET_DATA`` or
            ``~/.xpnet/datasets``); a second call reads them from there.
    """
    return _idx.load("fashion_mnist", MIRRORS, SHA256, cache_dir)
