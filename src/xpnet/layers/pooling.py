"""Pooling layers with Keras's names and arguments.

Windowed pooling runs through :mod:`xpnet.ops.nn` (elementwise maxima and sums
of strided views; the max-pool gradient goes to each window's first maximum,
as in PyTorch and TensorFlow). Global pooling is a mean or max over the
spatial axes; GlobalMaxPooling's gradient is shared equally among tied maxima
(as ``reduce_max`` in TensorFlow and ``amax`` in PyTorch).
"""

from __future__ import annotations

from typing import Any

from xpnet import _checks, ops
from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.layers import _mask
from xpnet.layers.base import InputSpec, Layer
from xpnet.layers.conv import normalize_data_format, normalize_padding, normalize_tuple
from xpnet.ops import nn as nn_ops

__all__ = [
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
]


class _Pooling(Layer):
    rank = 2
    _op = staticmethod(nn_ops.max_pool2d)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        who = type(self).__name__
        self.pool_size = normalize_tuple(who, "pool_size", pool_size, self.rank)
        self.strides = (
            self.pool_size
            if strides is None
            else normalize_tuple(who, "strides", strides, self.rank)
        )
        self.padding = normalize_padding(who, padding)
        self.data_format = normalize_data_format(who, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    def _two_d(self, values):
        return (1, *values) if self.rank == 1 else values

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = ops.permute(x, (0, *range(2, self.rank + 2), 1))
        if self.rank == 1:
            x = ops.expand_dims(x, 1)
        if self.rank == 3:
            y = self._pool3d(x)
        else:
            y = self._op(x, self._two_d(self.pool_size), self._two_d(self.strides), self.padding)
        if self.rank == 1:
            y = ops.squeeze(y, 1)
        if self.data_format == "channels_first":
            y = ops.permute(y, (0, self.rank + 1, *range(1, self.rank + 1)))
        return y

    def _pool3d(self, x):
        """(N, D, H, W, C): the 2-D pooling of every depth slice, then the depth windows
        (maxima of the slices' maxima; for means, the mean of the slices' means over the
        window's real slices, which is the mean over the window's real entries)."""
        n, d, h, w, c = x.shape
        (kd, *k2), (sd, *s2) = self.pool_size, self.strides
        y = self._op(ops.reshape(x, (n * d, h, w, c)), tuple(k2), tuple(s2), self.padding)
        y = ops.reshape(y, (n, d, *y.shape[1:]))
        out_d = -(-d // sd) if self.padding == "same" else (d - kd) // sd + 1
        before = max((out_d - 1) * sd + kd - d, 0) // 2
        after = max((out_d - 1) * sd + kd - d, 0) - before
        is_max = self._op is nn_ops.max_pool2d
        if before or after:
            fill = -float("inf") if is_max else 0.0
            y = ops.pad(y, ((0, 0), (before, after), (0, 0), (0, 0), (0, 0)), value=fill)
        taps = ops.stack([y[:, k : k + (out_d - 1) * sd + 1 : sd] for k in range(kd)], axis=2)
        if is_max:
            return ops.max(taps, axis=2)
        starts = np.arange(out_d) * sd - before
        counts = np.minimum(starts + kd, d) - np.maximum(starts, 0)
        inv = B.asarray((1.0 / counts).reshape(1, out_d, 1, 1, 1).astype(np.float32), y.dtype)
        return ops.sum(taps, axis=2) * inv

    def compute_output_shape(self, input_shape):
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        out = []
        for n, k, s in zip(spatial, self.pool_size, self.strides):
            if n is None:
                out.append(None)
            elif self.padding == "same":
                out.append(-(-n // s))
            else:
                out.append((n - k) // s + 1)
        if first:
            return (input_shape[0], input_shape[1], *out)
        return (input_shape[0], *out, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            pool_size=self.pool_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
        )
        return config


class MaxPooling1D(_Pooling):
    """Maximum over windows of ``pool_size`` steps, moved by ``strides`` (default pool_size).

    Args:
        pool_size: window length (default 2).
        strides: step between windows (None: pool_size).
        padding: "valid" or "same" (pads with -inf; output ceil(steps / strides)).
        data_format: "channels_last" (batch, steps, channels) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> x = np.arange(6, dtype="float32").reshape(1, 6, 1)
    >>> xn.to_numpy(xn.layers.MaxPooling1D()(x)).ravel().tolist()
    [1.0, 3.0, 5.0]
    """

    rank = 1

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Maximum over ``pool_size`` windows of (batch, height, width, channels) inputs.

    ``y[n, o, q, c] = max_{i, j} x_pad[n, o*sh + i, q*sw + j, c]``; the gradient goes
    to the first maximum of each window (row-major), as PyTorch and TensorFlow.

    Args:
        pool_size: an int or (ph, pw) (default (2, 2)).
        strides: an int, a pair or None (pool_size).
        padding: "valid" or "same" (pads with -inf).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> xn.to_numpy(xn.layers.MaxPooling2D()(x))[0, :, :, 0].tolist()
    [[5.0, 7.0], [13.0, 15.0]]
    """

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of ``pool_size`` steps; with "same" padding the pad is not counted.

    >>> import numpy as np, xpnet as xn
    >>> x = np.arange(6, dtype="float32").reshape(1, 6, 1)
    >>> xn.to_numpy(xn.layers.AveragePooling1D(3)(x)).ravel().tolist()
    [1.0, 4.0]
    """

    rank = 1
    _op = staticmethod(nn_ops.avg_pool2d)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over ``pool_size`` windows; with "same" padding only real inputs are averaged.

    >>> import numpy as np, xpnet as xn
    >>> x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    >>> xn.to_numpy(xn.layers.AveragePooling2D()(x))[0, :, :, 0].tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """

    _op = staticmethod(nn_ops.avg_pool2d)

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """Maximum over ``pool_size`` windows of (batch, depth, height, width, channels) inputs
    (each depth slice max-pooled in 2-D, then the maximum over the depth window; the
    gradient of a depth tie is shared between the tied slices).

    Args: pool_size (default (2, 2, 2)), strides, padding, data_format: as MaxPooling2D.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.MaxPooling3D()(np.ones((1, 4, 4, 4, 2), dtype="float32")).shape
    (1, 2, 2, 2, 2)
    """

    rank = 3

    def __init__(
        self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Mean over ``pool_size`` windows of 5-D inputs; with "same" padding the pad is not
    counted (as Keras).

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.AveragePooling3D(3, 2, "same")(np.ones((1, 5, 4, 4, 2), "float32")).shape
    (1, 3, 2, 2, 2)
    """

    rank = 3
    _op = staticmethod(nn_ops.avg_pool2d)

    def __init__(
        self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs
    ):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    rank = 2

    def __init__(self, data_format=None, keepdims: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(type(self).__name__, data_format)
        self.keepdims = _checks.boolean(type(self).__name__, "keepdims", keepdims)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _axes(self) -> tuple[int, ...]:
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def compute_output_shape(self, input_shape):
        axes = self._axes
        if self.keepdims:
            return tuple(1 if i in axes else s for i, s in enumerate(input_shape))
        return tuple(s for i, s in enumerate(input_shape) if i not in axes)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps axis; with a mask (e.g. from ``Embedding(mask_zero=True)``) over
    the unmasked steps only.

    >>> import numpy as np, xpnet as xn
    >>> x = np.arange(6, dtype="float32").reshape(1, 3, 2)
    >>> xn.to_numpy(xn.layers.GlobalAveragePooling1D()(x)).tolist()
    [[2.0, 3.0]]
    """

    rank = 1

    def call(self, inputs, mask=None):
        mask = _mask.resolve(inputs, mask)
        if mask is None:
            return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)
        xp = inputs.xp
        weights = xp.astype(mask, inputs.dtype)  # (batch, steps)
        if self.data_format == "channels_first":
            weights = weights[:, None, :]
        else:
            weights = weights[:, :, None]
        total = ops.sum(inputs * weights, axis=self._axes, keepdims=self.keepdims)
        count = xp.sum(weights, axis=self._axes, keepdims=self.keepdims)
        return total / count


class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over height and width.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.GlobalAveragePooling2D()(np.ones((2, 4, 4, 3), dtype="float32")).shape
    (2, 3)
    """

    def call(self, inputs):
        return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling):
    """Maximum over the steps axis.

    >>> import numpy as np, xpnet as xn
    >>> x = np.arange(6, dtype="float32").reshape(1, 3, 2)
    >>> xn.to_numpy(xn.layers.GlobalMaxPooling1D()(x)).tolist()
    [[4.0, 5.0]]
    """

    rank = 1

    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling):
    """Maximum over height and width.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.GlobalMaxPooling2D(keepdims=True)(np.ones((2, 4, 4, 3), dtype="float32")).shape
    (2, 1, 1, 3)
    """

    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over depth, height and width.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.GlobalAveragePooling3D()(np.ones((2, 3, 4, 4, 5), dtype="float32")).shape
    (2, 5)
    """

    rank = 3

    def call(self, inputs):
        return ops.mean(inputs, axis=self._axes, keepdims=self.keepdims)


class GlobalMaxPooling3D(_GlobalPooling):
    """Maximum over depth, height and width.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.GlobalMaxPooling3D()(np.ones((2, 3, 4, 4, 5), dtype="float32")).shape
    (2, 5)
    """

    rank = 3

    def call(self, inputs):
        return ops.max(inputs, axis=self._axes, keepdims=self.keepdims)
