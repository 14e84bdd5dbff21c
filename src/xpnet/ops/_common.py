"""Helpers shared by the op families: argument checks, axes, wrapping into Tensors."""

from __future__ import annotations

import numbers

from xpnet.tensor import Tensor, _scalar


def _arg(v):
    """Tensors and arrays pass; library scalars become Python scalars (no float64 leaks)."""
    if isinstance(v, numbers.Number):  # NumPy scalars too (they also have .shape)
        return _scalar(v)
    return v


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else a for a in axis)


def _kshape(shape, axes) -> tuple[int, ...]:
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _drop(shape, axes) -> tuple[int, ...]:
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def as_tensor(x) -> Tensor:
    """A Tensor for ``x``: Tensors pass, arrays are wrapped as they are (no copy, no
    gradient), anything else (lists, scalars) is converted to the active backend."""
    if isinstance(x, Tensor):
        return x
    return Tensor._make(x, None) if hasattr(x, "shape") else Tensor(x)


def set_at(z, index, values):
    """``z[index] = values`` as a new array (``z`` itself where the library can).

    The standard has no functional indexed update (JAX arrays are immutable), so
    this goes through array-api-extra's ``at``, which writes in place where it may.
    """
    import array_api_extra as xpx

    return xpx.at(z, index).set(values)
