"""Shapes and indexing: reshape, permute, broadcast, getitem, take, concat, stack, pad."""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from xpnet import backend as B
from xpnet.ops._common import _arg, _axes, _drop, as_tensor, set_at
from xpnet.tensor import Function, Tensor, _scalar


class Reshape(Function):
    def forward(self, x, shape=()):
        self.shape = x.shape
        return self.xp.reshape(x, shape)

    def backward(self, g):
        return self.xp.reshape(g, self.shape)


class Permute(Function):
    def forward(self, x, axes=None):
        axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
        self.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return self.xp.permute_dims(x, axes)

    def backward(self, g):
        return self.xp.permute_dims(g, self.inverse)


class BroadcastTo(Function):
    """Explicit broadcast; its backward returns ``g`` and the engine sums it back."""

    def forward(self, x, shape=()):
        return self.xp.broadcast_to(x, tuple(shape))

    def backward(self, g):
        return g


class GetItem(Function):
    """Basic indexing (ints, slices, ``...``, ``None``) and boolean masks.

    Integer-array indices go through :class:`Take` (repeats need a scatter-add).
    """

    def forward(self, x, index=None):
        self.x_shape, self.x_dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        xp = self.xp
        z = xp.zeros(self.x_shape, dtype=g.dtype, device=B.device_of(g))
        return set_at(z, self.index, g)


class Take(Function):
    """``xp.take`` along ``axis`` with an integer index array of any shape.

    The backward is a scatter-add, so repeated indices accumulate (see
    :func:`xpnet.backend.scatter_add`).
    """

    def forward(self, x, indices, axis=0):
        xp = self.xp
        self.axis = axis % x.ndim
        self.n = x.shape[self.axis]
        self.idx_shape = indices.shape
        self.flat = xp.reshape(indices, (-1,))
        out = xp.take(x, self.flat, axis=self.axis)
        if indices.ndim != 1:
            s = x.shape
            out = xp.reshape(out, (*s[: self.axis], *indices.shape, *s[self.axis + 1 :]))
        return out

    def backward(self, g):
        xp = self.xp
        ax, k = self.axis, len(self.idx_shape)
        if k != 1:
            g = xp.reshape(g, (*g.shape[:ax], -1, *g.shape[ax + k :]))
        return B.scatter_add(xp, g, self.flat, self.n, axis=ax), None


class Concat(Function):
    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        return self.xp.concat(xs, axis=axis)

    def backward(self, g):
        ax = self.axis % g.ndim
        out, start = [], 0
        for n, need in zip(self.sizes, self.needs):
            if need:
                sl = (slice(None),) * ax + (slice(start, start + n), ...)  # strict: index all axes
                out.append(g[sl])
            else:
                out.append(None)
            start += n
        return tuple(out)


class Stack(Function):
    def forward(self, *xs, axis=0):
        self.axis = axis
        return self.xp.stack(xs, axis=axis)

    def backward(self, g):
        ax = self.axis % g.ndim
        return tuple(
            g[(slice(None),) * ax + (i, ...)] if need else None for i, need in enumerate(self.needs)
        )


class Pad(Function):
    """Constant padding; ``pad_width`` is one (before, after) pair per axis."""

    def forward(self, x, pad_width=(), value=0.0):
        import array_api_extra as xpx  # the standard has no pad

        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return xpx.pad(x, pad_width, constant_values=value, xp=self.xp)

    def backward(self, g):
        return g[self.slices]


def reshape(x, shape: Sequence[int]) -> Tensor:
    """The same values in a new shape (one entry may be -1); ``x`` itself if unchanged."""
    shape = tuple(int(s) for s in shape)
    if isinstance(x, Tensor) and shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


def flatten(x, start_axis: int = 0) -> Tensor:
    """Merge the axes from ``start_axis`` on into one."""
    x = as_tensor(x)
    start_axis %= builtins.max(x.ndim, 1)
    return reshape(x, (*x.shape[:start_axis], -1))


def squeeze(x, axis) -> Tensor:
    """Remove length-1 ``axis`` (an int or tuple)."""
    x = as_tensor(x)
    axes = _axes(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has length {x.shape[a]}, expected 1.")
    return reshape(x, _drop(x.shape, axes))


def expand_dims(x, axis: int) -> Tensor:
    """Insert a length-1 axis at ``axis``."""
    x = as_tensor(x)
    shape = list(x.shape)
    shape.insert(axis % (x.ndim + 1), 1)
    return reshape(x, shape)


def permute(x, axes=None) -> Tensor:
    """Reorder axes (None reverses them)."""
    return Permute.apply(x, axes=axes)


def matrix_transpose(x) -> Tensor:
    """Swap the last two axes."""
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose needs at least 2 axes; got shape {x.shape}.")
    axes = (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)
    return permute(x, axes)


def broadcast_to(x, shape: Sequence[int]) -> Tensor:
    """Broadcast to ``shape``; the gradient is summed back."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def _is_int_array(v) -> bool:
    if isinstance(v, Tensor):
        v = v.data
    if isinstance(v, (list, tuple)) and v and builtins.all(isinstance(i, int) for i in v):
        return True
    return (
        hasattr(v, "dtype")
        and getattr(v, "ndim", 0) >= 1
        and B.namespace(v).isdtype(v.dtype, "integral")
    )


def getitem(x, index) -> Tensor:
    """``x[index]``: basic indices and boolean masks; an integer array selects rows (take)."""
    x = as_tensor(x)
    if _is_int_array(index):
        return take(x, index, axis=0)
    if isinstance(index, Tensor):
        index = index.data
    if hasattr(index, "dtype"):  # a boolean mask must stand alone
        return GetItem.apply(x, index=index)
    index = tuple(i.data if isinstance(i, Tensor) else i for i in _as_tuple(index))
    if Ellipsis not in index and builtins.sum(i is not None for i in index) < x.ndim:
        # the standard needs every axis indexed; x[2] on a matrix means x[2, ...]
        index = (*index, Ellipsis)
    return GetItem.apply(x, index=index)


def _as_tuple(index) -> tuple:
    return index if isinstance(index, tuple) else (index,)


def take(x, indices, axis: int = 0) -> Tensor:
    """Select entries along ``axis`` by an integer array (of any shape); repeats allowed."""
    x = as_tensor(x)
    if isinstance(indices, Tensor):
        indices = indices.data
    if not hasattr(indices, "dtype"):
        indices = x.xp.asarray(indices, device=x.device)
    return Take.apply(x, indices, axis=axis)


def concat(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return Concat.apply(*[_arg(t) for t in tensors], axis=axis)


def stack(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return Stack.apply(*[_arg(t) for t in tensors], axis=axis)


def pad(x, pad_width, value: float = 0.0) -> Tensor:
    """Pad with a constant: ``pad_width`` is an int, or one (before, after) pair per axis."""
    x = as_tensor(x)
    if isinstance(pad_width, int):
        pad_width = [(pad_width, pad_width)] * x.ndim
    pad_width = tuple((int(lo), int(hi)) for lo, hi in pad_width)
    if len(pad_width) != x.ndim:
        raise ValueError(
            f"pad expected {x.ndim} (before, after) pairs for shape {x.shape}; "
            f"got {len(pad_width)}."
        )
    return Pad.apply(x, pad_width=pad_width, value=_scalar(value))
