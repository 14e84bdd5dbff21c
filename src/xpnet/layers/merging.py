"""Merging layers: combine a list of inputs into one output.

Add, Subtract, Multiply, Average, Maximum and Minimum work elementwise on
inputs of one rank whose sizes agree on every axis (or are 1 there, which
broadcasts); Concatenate joins along an axis; Dot takes batched dot products.

>>> import numpy as np, xpnet as xn
>>> a, b = np.ones((2, 3)), np.full((2, 3), 2.0)
>>> xn.to_numpy(xn.layers.Add()([a, b]))[0].tolist()
[3.0, 3.0, 3.0]
"""

from __future__ import annotations

import numbers
from typing import Any

from xpnet import _checks, ops
from xpnet import backend as B
from xpnet.layers.base import Layer

__all__ = [
    "Add",
    "Average",
    "Concatenate",
    "Dot",
    "Maximum",
    "Minimum",
    "Multiply",
    "Subtract",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
]


class _Merge(Layer):
    """Shared checks: a list of inputs, how many, and whether their shapes fit together."""

    supports_masking = True

    _arity: int | None = None  # exactly this many inputs (None: one or more)

    def _check_list(self, shapes) -> list[tuple]:
        who = f"{type(self).__name__} layer '{self.name}'"
        if not isinstance(shapes, (list, tuple)) or not all(
            isinstance(s, (list, tuple)) for s in shapes
        ):
            raise ValueError(
                f"{who} expects a list of inputs, e.g. layer([x1, x2]). "
                f"Received input shape {shapes}."
            )
        shapes = [tuple(s) for s in shapes]
        if self._arity is not None and len(shapes) != self._arity:
            raise ValueError(
                f"{who} expects exactly {self._arity} inputs; received {len(shapes)} "
                f"(shapes {shapes})."
            )
        if not shapes:
            raise ValueError(f"{who} expects at least one input; received an empty list.")
        return shapes

    def build(self, input_shape) -> None:
        shapes = self._check_list(input_shape)
        self._check_shapes(shapes)

    def _check_shapes(self, shapes: list[tuple]) -> None:
        _broadcast_shapes(self, shapes)

    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (list, tuple)):
            self._check_list(getattr(inputs, "shape", inputs))
        return super().__call__(list(inputs), *args, **kwargs)

    def call(self, inputs):
        shapes = self._check_list([t.shape for t in inputs])
        self._check_shapes(shapes)
        return self._merge(inputs)

    def _merge(self, inputs):  # pragma: no cover - abstract
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """A step is kept where every masked input keeps it (unmasked inputs keep all)."""
        if mask is None:
            return None
        masks = [m for m in (mask if isinstance(mask, (list, tuple)) else [mask]) if m is not None]
        if not masks:
            return None
        out = masks[0]
        for m in masks[1:]:
            out = out & m
        return out

    def compute_output_shape(self, input_shape):
        return _broadcast_shapes(self, self._check_list(input_shape))


def _broadcast_shapes(layer: Layer, shapes: list[tuple]) -> tuple:
    """The common shape of elementwise inputs: same rank, sizes equal or 1 (None is unknown)."""
    if len({len(s) for s in shapes}) != 1:
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': inputs must have the same rank; "
            f"received shapes {shapes}."
        )
    out = []
    for dims in zip(*shapes):
        sizes = {d for d in dims if d is not None and d != 1}
        if len(sizes) > 1:
            raise ValueError(
                f"{type(layer).__name__} layer '{layer.name}': inputs have incompatible "
                f"shapes {shapes}; sizes must agree on every axis (or be 1)."
            )
        if sizes:
            out.append(sizes.pop())
        else:
            out.append(None if None in dims else 1)
    return tuple(out)


class Add(_Merge):
    """Elementwise sum of the inputs.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Add()([np.ones((2, 3)), np.ones((2, 3))]).shape
    (2, 3)
    """

    def _merge(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs).

    >>> import numpy as np, xpnet as xn
    >>> xn.to_numpy(xn.layers.Subtract()([np.full((1, 2), 5.0), np.ones((1, 2))])).tolist()
    [[4.0, 4.0]]
    """

    _arity = 2

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Elementwise product of the inputs.

    >>> import numpy as np, xpnet as xn
    >>> xn.to_numpy(xn.layers.Multiply()([np.full((1, 2), 3.0), np.full((1, 2), 2.0)])).tolist()
    [[6.0, 6.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = out * t
        return out


class Average(_Merge):
    """Elementwise mean of the inputs.

    >>> import numpy as np, xpnet as xn
    >>> xn.to_numpy(xn.layers.Average()([np.full((1, 2), 3.0), np.ones((1, 2))])).tolist()
    [[2.0, 2.0]]
    """

    def _merge(self, inputs):
        return Add._merge(self, inputs) * (1.0 / len(inputs))


class Maximum(_Merge):
    """Elementwise maximum of the inputs (tied entries share the gradient).

    >>> import numpy as np, xpnet as xn
    >>> xn.to_numpy(xn.layers.Maximum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])).tolist()
    [[3.0, 5.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.maximum(out, t)
        return out


class Minimum(_Merge):
    """Elementwise minimum of the inputs (tied entries share the gradient).

    >>> import numpy as np, xpnet as xn
    >>> xn.to_numpy(xn.layers.Minimum()([np.array([[1.0, 5.0]]), np.array([[3.0, 2.0]])])).tolist()
    [[1.0, 2.0]]
    """

    def _merge(self, inputs):
        out = inputs[0]
        for t in inputs[1:]:
            out = ops.minimum(out, t)
        return out


class Concatenate(_Merge):
    """Join the inputs along ``axis``; every other axis must agree.

    Args:
        axis: the axis to join along (default -1).

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Concatenate()([np.ones((2, 3)), np.ones((2, 4))]).shape
    (2, 7)
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise ValueError(f"Concatenate: expected an integer axis. Received: axis={axis!r}")
        self.axis = int(axis)

    def _check_shapes(self, shapes: list[tuple]) -> None:
        self.compute_output_shape(shapes)

    def _merge(self, inputs):
        return ops.concat(inputs, axis=self.axis % inputs[0].ndim)

    def compute_mask(self, inputs, mask=None):
        """Along a masked axis the masks join (unmasked inputs count as all kept); along
        a feature axis a step is kept where every input keeps it, as in Keras."""
        if mask is None or not isinstance(mask, (list, tuple)):
            return mask
        if all(m is None for m in mask):
            return None
        like = next(m for m in mask if m is not None)
        xp = B.namespace(like)
        filled = [
            xp.ones(tuple(t.shape[: like.ndim]), dtype=xp.bool, device=B.device_of(like))
            if m is None
            else m
            for m, t in zip(mask, inputs)
        ]
        axis = self.axis % inputs[0].ndim
        if axis < like.ndim:
            return xp.concat(filled, axis=axis)
        out = filled[0]
        for m in filled[1:]:
            out = out & m
        return out

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        nd = len(shapes[0])
        who = f"Concatenate layer '{self.name}'"
        if len({len(s) for s in shapes}) != 1 or not -nd <= self.axis < nd:
            raise ValueError(
                f"{who}: inputs must have one rank with axis={self.axis} inside it; "
                f"received shapes {shapes}."
            )
        axis = self.axis % nd
        for i in range(nd):
            sizes = {s[i] for s in shapes if s[i] is not None}
            if i != axis and len(sizes) > 1:
                raise ValueError(
                    f"{who}: inputs must agree on every axis except axis={self.axis}; "
                    f"received shapes {shapes}."
                )
        joined = [s[axis] for s in shapes]
        out = list(shapes[0])
        for i in range(nd):
            if i != axis:
                out[i] = next((s[i] for s in shapes if s[i] is not None), None)
        out[axis] = None if None in joined else sum(joined)
        return tuple(out)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(_Merge):
    """Batched dot product of two inputs along ``axes``.

    For samples ``x`` (shape ``(batch, ..., n, ...)``) and ``y``, sums
    ``x[..., k, ...] * y[..., k, ...]`` over the axis ``axes[0]`` of ``x`` and
    ``axes[1]`` of ``y``; the output keeps ``x``'s other axes, then ``y``'s
    (without the batch axis). Two vectors per sample give ``(batch, 1)``.

    Args:
        axes: an int (the same axis of both) or a pair of ints; never 0 (the batch).
        normalize: L2-normalize both inputs along the dot axes first, which
            makes the output the cosine similarity.

    >>> import numpy as np, xpnet as xn
    >>> x, y = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])
    >>> xn.to_numpy(xn.layers.Dot(axes=1)([x, y])).tolist()
    [[11.0]]
    """

    _arity = 2

    def __init__(self, axes: int | tuple[int, int], normalize: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        pair = (axes, axes) if isinstance(axes, numbers.Integral) else axes
        ok = (
            isinstance(pair, (list, tuple))
            and len(pair) == 2
            and all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in pair)
        )
        if not ok:
            raise ValueError(
                f"Dot: expected an int or a pair of ints for axes. Received: axes={axes!r}"
            )
        self.axes = int(axes) if isinstance(axes, numbers.Integral) else [int(a) for a in axes]
        self.normalize = _checks.boolean(type(self).__name__, "normalize", normalize)

    def _resolve(self, shapes: list[tuple]) -> tuple[int, int]:
        pair = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        who = f"Dot layer '{self.name}'"
        if any(len(s) < 2 for s in shapes):
            raise ValueError(f"{who}: inputs need rank >= 2 (batch first); received {shapes}.")
        a0, a1 = (a % len(s) if -len(s) <= a < len(s) else None for a, s in zip(pair, shapes))
        if a0 is None or a1 is None or 0 in (a0, a1):
            raise ValueError(
                f"{who}: axes={self.axes} must name a non-batch axis of each input; "
                f"received shapes {shapes}."
            )
        (s0, s1) = shapes
        if s0[0] is not None and s1[0] is not None and s0[0] != s1[0]:
            raise ValueError(f"{who}: the batch sizes differ; received shapes {shapes}.")
        if s0[a0] is not None and s1[a1] is not None and s0[a0] != s1[a1]:
            raise ValueError(
                f"{who}: cannot take dot products of sizes {s0[a0]} (axis {a0} of {s0}) "
                f"and {s1[a1]} (axis {a1} of {s1}); they must be equal."
            )
        return a0, a1

    def _check_shapes(self, shapes: list[tuple]) -> None:
        self._resolve(shapes)

    def _merge(self, inputs):
        x, y = inputs
        a0, a1 = self._resolve([x.shape, y.shape])
        if self.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        if x.ndim == 2 and y.ndim == 2:
            return ops.sum(x * y, axis=1, keepdims=True)
        # move the summed axes to the matmul positions: x (b, ..., n), y (b, n, ...)
        if a0 != x.ndim - 1:
            x = ops.permute(x, (*(i for i in range(x.ndim) if i != a0), a0))
        if a1 != 1:
            y = ops.permute(y, (0, a1, *(i for i in range(1, y.ndim) if i != a1)))
        b, n = x.shape[0], x.shape[-1]
        out_shape = (b, *x.shape[1:-1], *y.shape[2:])
        out = ops.matmul(ops.reshape(x, (b, -1, n)), ops.reshape(y, (b, n, -1)))
        return ops.reshape(out, out_shape if len(out_shape) > 1 else (b, 1))

    def compute_output_shape(self, input_shape):
        shapes = self._check_list(input_shape)
        a0, a1 = self._resolve(shapes)
        out = [d for i, d in enumerate(shapes[0]) if i != a0]
        out += [d for i, d in enumerate(shapes[1]) if i not in (0, a1)]
        return tuple(out) if len(out) > 1 else (out[0], 1)

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config


def _l2_normalize(x, axis: int):
    """``x / max(||x||, 1e-7)`` along ``axis`` (Keras's epsilon) = ``x * rsqrt(max(ss, 1e-14))``."""
    square_sum = ops.sum(x * x, axis=axis, keepdims=True)
    return x * ops.clip(square_sum, min=1e-14) ** -0.5


# --------------------------------------------------------------------------- functional helpers
# keras.layers.add(...) and friends: make the layer and call it on the inputs in one go.


def add(inputs, **kwargs: Any):
    """``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs: Any):
    """``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs: Any):
    """``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs: Any):
    """``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs: Any):
    """``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs: Any):
    """``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs: Any):
    """``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes: int | tuple[int, int] = -1, normalize: bool = False, **kwargs: Any):
    """``Dot(axes=axes, normalize=normalize, **kwargs)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
