"""Reshaping layers: Flatten, Reshape, Permute and RepeatVector.

Shapes here never include the batch axis in the arguments (``target_shape``,
``dims``), as in Keras: the batch axis is always kept as it is.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from xpnet import ops
from xpnet.layers.base import InputSpec, Layer
from xpnet.layers.core import positive_int

__all__ = ["Flatten", "Permute", "RepeatVector", "Reshape"]


def _int_tuple(layer: str, name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(
            f"{layer}: expected a tuple of integers for {name}. Received: {name}={value!r}"
        )
    return tuple(int(v) for v in value)


class Flatten(Layer):
    """Flatten each sample to a vector: ``(batch, d1, d2, ...) -> (batch, d1 * d2 * ...)``.

    Args:
        data_format: ``"channels_last"`` (default) or ``"channels_first"``. With
            channels_first, inputs are first moved to channels_last order, so a
            model keeps its Dense weights when its data format changes (as Keras).

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Flatten()(np.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError(
                "Flatten: expected data_format 'channels_last' or 'channels_first'. "
                f"Received: data_format={data_format!r}"
            )
        self.data_format = data_format or "channels_last"
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.ndim > 2:
            inputs = ops.permute(inputs, (0, *range(2, inputs.ndim), 1))
        return ops.reshape(inputs, (inputs.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape)[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (the batch axis is kept).

    One entry of ``target_shape`` may be -1: it takes whatever size is left.

    Args:
        target_shape: the new shape of one sample, without the batch axis.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Reshape((3, -1))(np.zeros((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        shape = _int_tuple("Reshape", "target_shape", target_shape)
        if sum(d == -1 for d in shape) > 1 or any(d == 0 or d < -1 for d in shape):
            raise ValueError(
                "Reshape: expected positive sizes with at most one -1 in target_shape. "
                f"Received: target_shape={target_shape!r}"
            )
        self.target_shape = shape

    def _resolve(self, input_shape) -> tuple[int, ...]:
        sample = tuple(input_shape)[1:]
        if any(d is None for d in sample):
            return self.target_shape
        size = math.prod(sample)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            fits = known > 0 and size % known == 0
            shape = tuple(size // known if d == -1 else d for d in self.target_shape)
        else:
            fits = known == size
            shape = self.target_shape
        if not fits:
            raise ValueError(
                f"Reshape layer '{self.name}': cannot reshape inputs of shape "
                f"{tuple(input_shape)} ({size} values per sample) to target_shape "
                f"{self.target_shape}. The target must hold the same number of values."
            )
        return shape

    def build(self, input_shape) -> None:
        self._resolve(input_shape)

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], *self._resolve(inputs.shape)))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._resolve(input_shape))

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = list(self.target_shape)
        return config


class Permute(Layer):
    """Reorder the non-batch axes; ``dims`` permutes 1..n (1: the first axis after the batch).

    Args:
        dims: e.g. ``(2, 1)`` swaps the two axes of each sample.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Permute((2, 1))(np.zeros((5, 3, 4))).shape
    (5, 4, 3)
    """

    def __init__(self, dims: Sequence[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = _int_tuple("Permute", "dims", dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Permute: expected dims to be a permutation of 1..n (axis 0, the batch, "
                f"stays in place). Received: dims={dims!r}"
            )
        self.dims = dims
        self.input_spec = InputSpec(
            ndim=len(dims) + 1, hint=f"(Permute dims={dims} reorders {len(dims)} axes per sample)"
        )

    def call(self, inputs):
        return ops.permute(inputs, (0, *self.dims))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self):
        config = super().get_config()
        config["dims"] = list(self.dims)
        return config


class RepeatVector(Layer):
    """Repeat each input vector ``n`` times: ``(batch, features) -> (batch, n, features)``.

    Args:
        n: the number of repetitions.

    >>> import numpy as np, xpnet as xn
    >>> xn.to_numpy(xn.layers.RepeatVector(2)(np.array([[1.0, 2.0]]))).tolist()
    [[[1.0, 2.0], [1.0, 2.0]]]
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = positive_int("RepeatVector", "n", n)
        self.input_spec = InputSpec(ndim=2, hint="(RepeatVector takes (batch, features))")

    def call(self, inputs):
        batch, features = inputs.shape
        return ops.broadcast_to(
            ops.reshape(inputs, (batch, 1, features)), (batch, self.n, features)
        )

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config
