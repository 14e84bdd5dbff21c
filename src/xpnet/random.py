"""``xn.random``: random tensors under Keras 3's names (``keras.random``).

Each function returns a :class:`~xpnet.tensor.Tensor` of the active backend
(no gradient). ``seed`` is an int (the same draw every call), a
:class:`SeedGenerator` (its own stream, advancing each call) or None (the
global stream that :func:`xpnet.set_seed` seeds).
"""

from __future__ import annotations

import numbers
from typing import Any

from xpnet import backend as B
from xpnet.backend import SeedGenerator
from xpnet.tensor import Tensor

__all__ = [
    "SeedGenerator",
    "dropout",
    "normal",
    "randint",
    "shuffle",
    "truncated_normal",
    "uniform",
]

np = B.host_numpy


def _host_gen(seed: Any):
    if seed is None:
        return B.host_rng()
    if isinstance(seed, SeedGenerator):
        return seed._random.host
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(
        f"seed must be a non-negative int, a xn.random.SeedGenerator or None; received {seed!r}."
    )


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _out(host_array, dtype) -> Tensor:
    return Tensor._make(B.asarray(host_array, B.dtype(dtype or B.floatx())), None)


def normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None) -> Tensor:
    """Draws from N(``mean``, ``stddev``²)."""
    z = _host_gen(seed).standard_normal(_shape(shape))
    return _out(z * float(stddev) + float(mean), dtype)


def uniform(shape, minval: float = 0.0, maxval: float = 1.0, dtype=None, seed=None) -> Tensor:
    """Draws from U[``minval``, ``maxval``)."""
    if not float(maxval) > float(minval):
        raise ValueError(f"uniform: maxval ({maxval}) must exceed minval ({minval}).")
    return _out(_host_gen(seed).uniform(float(minval), float(maxval), _shape(shape)), dtype)


def truncated_normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None):
    """Normal draws redrawn until within two standard deviations of the mean, as in Keras."""
    gen = _host_gen(seed)
    shape = _shape(shape)
    z = gen.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return _out(z * float(stddev) + float(mean), dtype)


def randint(shape, minval: int, maxval: int, dtype: str = "int32", seed=None) -> Tensor:
    """Integers drawn uniformly from [``minval``, ``maxval``)."""
    if int(maxval) <= int(minval):
        raise ValueError(f"randint: maxval ({maxval}) must exceed minval ({minval}).")
    ints = _host_gen(seed).integers(int(minval), int(maxval), _shape(shape))
    return Tensor._make(B.asarray(ints.astype(dtype)), None)


def shuffle(x, axis: int = 0, seed=None) -> Tensor:
    """``x`` with its entries along ``axis`` in a random order."""
    t = x if isinstance(x, Tensor) else Tensor(x)
    n = t.shape[axis]
    perm = B.asarray(_host_gen(seed).permutation(n).astype("int64"))
    xp = B.namespace(t.data)
    return Tensor._make(xp.take(t.data, perm, axis=axis % t.ndim), None)


def dropout(inputs, rate: float, noise_shape=None, seed=None) -> Tensor:
    """``inputs`` with a fraction ``rate`` of entries zeroed and the rest scaled by 1/(1-rate).

    Differentiable with respect to ``inputs`` (the mask is a constant).
    """
    from xpnet import ops

    if not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"dropout: rate must be in [0, 1); received {rate!r}.")
    t = inputs if isinstance(inputs, Tensor) else Tensor(inputs)
    shape = (
        t.shape
        if noise_shape is None
        else tuple(t.shape[i] if d is None else int(d) for i, d in enumerate(noise_shape))
    )
    keep = _host_gen(seed).random(shape) >= float(rate)
    mask = B.asarray(keep.astype(np.float32) / (1.0 - float(rate)), t.data.dtype)
    return ops.mul(t, Tensor._make(mask, None))
