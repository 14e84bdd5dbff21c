"""ZeroPadding2D, UpSampling2D and Cropping2D: contract rows and values against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase

LAYER_CASES = [
    LayerCase(lambda: layers.ZeroPadding2D(), (2, 3, 4, 2), (2, 5, 6, 2), 0, train_step=False),
    LayerCase(lambda: layers.ZeroPadding2D(((1, 0), (2, 3)), data_format="channels_first"),
              (1, 2, 3, 3), (1, 2, 4, 8), 0, train_step=False, label="pairs, channels_first"),
    LayerCase(lambda: layers.Cropping2D(((1, 0), (0, 2))), (2, 4, 5, 3), (2, 3, 3, 3), 0,
              train_step=False),
    LayerCase(lambda: layers.Cropping2D(1, data_format="channels_first"), (1, 2, 4, 4),
              (1, 2, 2, 2), 0, train_step=False, label="int, channels_first"),
    LayerCase(lambda: layers.UpSampling2D((2, 3)), (2, 2, 3, 2), (2, 4, 9, 2), 0,
              train_step=False),
    LayerCase(lambda: layers.UpSampling2D(2, interpolation="bilinear",
                                          data_format="channels_first"),
              (1, 2, 3, 4), (1, 2, 6, 8), 0, train_step=False, label="bilinear, channels_first"),
]  # fmt: skip


def test_values_against_numpy():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 2)).astype(np.float32)
    pad = layers.ZeroPadding2D(((1, 2), (0, 1)))(x)
    np.testing.assert_array_equal(xn.to_numpy(pad), np.pad(x, ((0, 0), (1, 2), (0, 1), (0, 0))))
    crop = layers.Cropping2D(((1, 1), (1, 2)))(x)
    np.testing.assert_array_equal(xn.to_numpy(crop), x[:, 1:2, 1:2, :])
    up = layers.UpSampling2D((2, 3))(x)
    np.testing.assert_array_equal(xn.to_numpy(up), x.repeat(2, axis=1).repeat(3, axis=2))


def test_bilinear_keeps_constants_and_interpolates_halfway():
    ones = np.ones((1, 3, 3, 1), dtype=np.float32)
    np.testing.assert_allclose(
        xn.to_numpy(layers.UpSampling2D(2, interpolation="bilinear")(ones)), 1.0, rtol=1e-6
    )
    ramp = np.array([0.0, 4.0], dtype=np.float32).reshape(1, 1, 2, 1)
    out = xn.to_numpy(layers.UpSampling2D((1, 2), interpolation="bilinear")(ramp))
    np.testing.assert_allclose(out.ravel(), [0.0, 1.0, 3.0, 4.0])


def test_arguments_are_validated():
    with pytest.raises(ValueError, match="padding as an int"):
        layers.ZeroPadding2D((1, 2, 3))
    with pytest.raises(ValueError, match="cropping as an int"):
        layers.Cropping2D(-1)
    with pytest.raises(ValueError, match="interpolation"):
        layers.UpSampling2D(interpolation="bicubic")
    with pytest.raises(ValueError, match="leaves nothing"):
        layers.Cropping2D(2)(np.ones((1, 4, 4, 1), dtype="float32"))
