"""Volumetric reshaping layers: ZeroPadding3D, Cropping3D, UpSampling3D — the 2-D layers'
code on three spatial axes (depth, height, width)."""

from __future__ import annotations

from xpnet import ops
from xpnet.layers.conv import normalize_tuple
from xpnet.layers.reshaping2d import Cropping2D, ZeroPadding2D, _Spatial2D

__all__ = ["Cropping3D", "UpSampling3D", "ZeroPadding3D"]


class ZeroPadding3D(ZeroPadding2D):
    """Pad depth, height and width with zeros.

    Args:
        padding: an int (all sides), (d, h, w) (symmetric) or three (before, after) pairs
            (default (1, 1, 1)).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.ZeroPadding3D()(np.ones((1, 2, 3, 3, 2), dtype="float32")).shape
    (1, 4, 5, 5, 2)
    """

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping3D(Cropping2D):
    """Remove slices from the edges of depth, height and width.

    Args:
        cropping: an int, (d, h, w) or three (before, after) pairs (default 1 on all sides).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Cropping3D()(np.ones((1, 4, 5, 6, 2), dtype="float32")).shape
    (1, 2, 3, 4, 2)
    """

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class UpSampling3D(_Spatial2D):
    """Repeat each depth slice, row and column ``size`` times (nearest neighbour).

    Args:
        size: an int or (sd, sh, sw) (default (2, 2, 2)).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.UpSampling3D((1, 2, 3))(np.ones((1, 2, 2, 2, 1), dtype="float32")).shape
    (1, 2, 4, 6, 1)
    """

    rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(type(self).__name__, "size", size, 3)

    def call(self, inputs):
        y = inputs
        for axis, k in zip(self._hw, self.size):
            if k > 1:
                shape = y.shape
                grown = ops.expand_dims(y, axis + 1)
                target = (*shape[: axis + 1], k, *shape[axis + 1 :])
                y = ops.reshape(
                    ops.broadcast_to(grown, target),
                    (*shape[:axis], shape[axis] * k, *shape[axis + 1 :]),
                )
        return y

    def compute_output_shape(self, input_shape):
        return self._map_shape(input_shape, lambda k, n: n * self.size[k])

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config
