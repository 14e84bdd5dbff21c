"""Spatial reshaping layers for images: ZeroPadding2D, UpSampling2D, Cropping2D.

Composites of existing ops (pad, slicing, broadcast, matmul), so their
gradients come from those ops.
"""

from __future__ import annotations

from typing import Any

from xpnet import backend as B
from xpnet import ops
from xpnet.backend import host_numpy as np
from xpnet.layers.base import InputSpec, Layer
from xpnet.layers.conv import normalize_data_format, normalize_tuple

__all__ = ["Cropping2D", "UpSampling2D", "ZeroPadding2D"]


def _pairs(layer: str, name: str, value: Any, rank: int = 2) -> tuple[tuple[int, int], ...]:
    """int -> same on all sides; (h, w) -> symmetric; ((top, bottom), (left, right))
    (``rank`` spatial axes: three of each for the 3-D layers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) == rank and all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        items = tuple((v, v) for v in items)
    try:
        pairs = tuple(normalize_tuple(layer, name, v, 2, minimum=0) for v in items)
    except ValueError:
        pairs = ()
    if len(pairs) != rank:
        what = "a pair" if rank == 2 else f"{rank}"
        raise ValueError(
            f"{layer}: expected {name} as an int, {what} of ints or {what} of "
            f"(before, after) pairs of non-negative ints. Received: {name}={value!r}"
        )
    return pairs


class _Spatial2D(Layer):
    rank = 2

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(type(self).__name__, data_format)
        self.input_spec = InputSpec(ndim=self.rank + 2)

    @property
    def _hw(self) -> tuple[int, ...]:
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    def _map_shape(self, input_shape, fn):
        shape = list(input_shape)
        for k, axis in enumerate(self._hw):
            shape[axis] = None if shape[axis] is None else fn(k, shape[axis])
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class ZeroPadding2D(_Spatial2D):
    """Pad height and width with zeros.

    Args:
        padding: an int (all sides), (h, w) (symmetric) or ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.ZeroPadding2D(((1, 0), (2, 1)))(np.ones((1, 3, 3, 2), dtype="float32")).shape
    (1, 4, 6, 2)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(type(self).__name__, "padding", padding, self.rank)

    def call(self, inputs):
        width = [(0, 0)] * inputs.ndim
        for axis, pair in zip(self._hw, self.padding):
            width[axis] = pair
        return ops.pad(inputs, width)

    def compute_output_shape(self, input_shape):
        return self._map_shape(input_shape, lambda k, n: n + sum(self.padding[k]))

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding
        return config


class Cropping2D(_Spatial2D):
    """Remove rows and columns from the edges.

    Args:
        cropping: an int, (h, w) or ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Cropping2D(((1, 0), (2, 1)))(np.ones((1, 5, 6, 2), dtype="float32")).shape
    (1, 4, 3, 2)
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(type(self).__name__, "cropping", cropping, self.rank)

    def build(self, input_shape) -> None:
        for axis, (lo, hi) in zip(self._hw, self.cropping):
            size = input_shape[axis]
            if size is not None and lo + hi >= size:
                raise ValueError(
                    f"{type(self).__name__} layer '{self.name}': cropping {self.cropping} "
                    f"leaves nothing of inputs of shape {tuple(input_shape)}."
                )

    def call(self, inputs):
        index = [slice(None)] * inputs.ndim
        for axis, (lo, hi) in zip(self._hw, self.cropping):
            index[axis] = slice(lo, inputs.shape[axis] - hi)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        return self._map_shape(input_shape, lambda k, n: n - sum(self.cropping[k]))

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config


def _bilinear_matrix(size: int, scale: int) -> Any:
    """(size * scale, size) weights of half-pixel bilinear upsampling (PyTorch's
    ``align_corners=False``, TensorFlow's ``half_pixel_centers=True``)."""
    out = np.arange(size * scale)
    src = np.maximum((out + 0.5) / scale - 0.5, 0.0)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, size - 1)
    frac = src - lo
    m = np.zeros((size * scale, size))
    np.add.at(m, (out, lo), 1.0 - frac)
    np.add.at(m, (out, hi), frac)
    return m


class UpSampling2D(_Spatial2D):
    """Repeat rows and columns ``size`` times ("nearest") or interpolate ("bilinear").

    Bilinear uses half-pixel centers: ``y = A_h x A_w^T`` per channel with fixed
    interpolation matrices, so it matches PyTorch's ``interpolate(mode="bilinear",
    align_corners=False)`` and Keras's resize.

    Args:
        size: an int or (sh, sw).
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (default) or "bilinear".

    >>> import numpy as np, xpnet as xn
    >>> x = np.array([[1.0, 2.0]], dtype="float32").reshape(1, 1, 2, 1)
    >>> xn.to_numpy(xn.layers.UpSampling2D(2)(x))[0, :, :, 0].tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]
    """

    _INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(type(self).__name__, "size", size, 2)
        if interpolation not in self._INTERPOLATIONS:
            raise ValueError(
                f"UpSampling2D: expected interpolation in {self._INTERPOLATIONS} (bicubic and "
                f"lanczos are not implemented). Received: interpolation={interpolation!r}"
            )
        self.interpolation = interpolation

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = ops.permute(x, (0, 2, 3, 1))
        y = self._nearest(x) if self.interpolation == "nearest" else self._bilinear(x)
        return ops.permute(y, (0, 3, 1, 2)) if self.data_format == "channels_first" else y

    def _nearest(self, x):
        n, h, w, c = x.shape
        sh, sw = self.size
        y = ops.broadcast_to(ops.reshape(x, (n, h, 1, w, 1, c)), (n, h, sh, w, sw, c))
        return ops.reshape(y, (n, h * sh, w * sw, c))

    def _bilinear(self, x):
        h, w = x.shape[1:3]
        xp, dtype = x.xp, x.dtype

        def matrix(size, scale):
            return xp.asarray(
                _bilinear_matrix(size, scale), dtype=dtype, device=B.device_of(x.data)
            )

        a_h, a_w = matrix(h, self.size[0]), matrix(w, self.size[1])
        chw = ops.permute(x, (0, 3, 1, 2))  # (n, c, h, w)
        y = ops.matmul(ops.matmul(a_h, chw), a_w.T)  # (n, c, h*sh, w*sw)
        return ops.permute(y, (0, 2, 3, 1))

    def compute_output_shape(self, input_shape):
        return self._map_shape(input_shape, lambda k, n: n * self.size[k])

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, interpolation=self.interpolation)
        return config
