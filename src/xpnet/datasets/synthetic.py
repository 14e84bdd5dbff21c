"""Small synthetic data sets for the course notes' examples (NumPy, seeded).

Each returns ``(x, y)`` with float32 features; class labels are int64, the
multi-label targets float32 0/1 rows. ``seed`` fixes the draw; without it the
global ``xn.set_seed`` generator is used.

>>> import xpnet as xn
>>> x, y = xn.datasets.make_xor(n_samples=4, noise=0.0)
>>> x.tolist(), y.tolist()
([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
"""

from __future__ import annotations

from xpnet import backend as B
from xpnet._checks import positive_int
from xpnet.backend import host_numpy as np

__all__ = ["make_blobs", "make_moons", "make_multilabel", "make_spirals", "make_xor"]


def _rng(seed):
    return B.host_rng() if seed is None else np.random.default_rng(seed)


def _positive(name: str, value) -> int:
    return positive_int("synthetic data", name, value)


def make_xor(n_samples: int = 200, noise: float = 0.1, seed: int | None = None):
    """Points around the corners of the unit square, labelled ``x0 XOR x1``.

    The corners are used in turn ((0,0), (0,1), (1,0), (1,1), ...) and
    Gaussian ``noise`` is added; ``n_samples=4, noise=0`` is the truth table,
    the classic case a linear model cannot fit.
    """
    n = _positive("n_samples", n_samples)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    idx = np.arange(n) % 4
    x = corners[idx] + noise * _rng(seed).standard_normal((n, 2))
    y = (corners[idx, 0] != corners[idx, 1]).astype(np.int64)
    return x.astype(np.float32), y


def make_spirals(
    n_samples: int = 200, noise: float = 0.2, turns: float = 1.5, seed: int | None = None
):
    """Two interleaved spirals (class 0 and 1), half the samples each."""
    n = _positive("n_samples", n_samples)
    rng = _rng(seed)
    n0 = n // 2
    t = np.sqrt(rng.uniform(0.0, 1.0, n)) * turns * 2 * np.pi
    y = (np.arange(n) >= n0).astype(np.int64)
    sign = np.where(y == 0, 1.0, -1.0)
    x = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / (turns * 2 * np.pi)
    x += noise / (turns * 2 * np.pi) * rng.standard_normal((n, 2)) * 2
    return x.astype(np.float32), y


def make_moons(n_samples: int = 200, noise: float = 0.1, seed: int | None = None):
    """Two interleaving half circles (class 0 upper, class 1 lower)."""
    n = _positive("n_samples", n_samples)
    rng = _rng(seed)
    n0 = n // 2
    a0 = np.linspace(0, np.pi, n0)
    a1 = np.linspace(0, np.pi, n - n0)
    upper = np.stack([np.cos(a0), np.sin(a0)], axis=1)
    lower = np.stack([1 - np.cos(a1), 0.5 - np.sin(a1)], axis=1)
    x = np.concatenate([upper, lower]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    return x.astype(np.float32), y


def make_blobs(
    n_samples: int = 300,
    centers: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    seed: int | None = None,
):
    """Isotropic Gaussian clusters, one class per center (sizes as equal as possible)."""
    n = _positive("n_samples", n_samples)
    k = _positive("centers", centers)
    d = _positive("n_features", n_features)
    rng = _rng(seed)
    c = rng.uniform(center_box[0], center_box[1], (k, d))
    y = np.arange(n, dtype=np.int64) % k
    x = c[y] + cluster_std * rng.standard_normal((n, d))
    return x.astype(np.float32), y


def make_multilabel(
    n_samples: int = 500,
    n_features: int = 20,
    n_labels: int = 5,
    noise: float = 0.1,
    seed: int | None = None,
):
    """A multi-label set: each sample carries any subset of ``n_labels`` labels.

    Label ``j`` is on when a hidden linear score of the features beats a
    threshold that makes it on for about a third of the samples; ``noise`` is
    the fraction of label bits flipped. ``y`` is float32 0/1 of shape
    ``(n_samples, n_labels)`` (train with sigmoid outputs and binary
    cross-entropy, one independent decision per label).
    """
    n = _positive("n_samples", n_samples)
    d = _positive("n_features", n_features)
    k = _positive("n_labels", n_labels)
    rng = _rng(seed)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal((d, k))
    score = x @ w
    y = score > np.quantile(score, 2 / 3, axis=0)
    flip = rng.uniform(size=y.shape) < noise
    y = np.where(flip, ~y, y)
    return x.astype(np.float32), y.astype(np.float32)
