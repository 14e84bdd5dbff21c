"""3-D layers: Conv3D, MaxPooling3D, AveragePooling3D, GlobalAveragePooling3D,
GlobalMaxPooling3D, ZeroPadding3D, Cropping3D, UpSampling3D. Contract rows, a NumPy loop
for Conv3D (PyTorch's conv3d in tests/reference), and pooling with "same" padding against
Keras 3.15's values (JAX backend, 2026-12-04)."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase

LAYER_CASES = [
    LayerCase(lambda: layers.Conv3D(3, 2), (2, 3, 4, 4, 2), (2, 2, 3, 3, 3), 8 * 2 * 3 + 3),
    LayerCase(
        lambda: layers.Conv3D(4, (2, 3, 1), strides=(2, 1, 1), padding="same", groups=2,
                              activation="tanh"),
        (1, 5, 3, 4, 4), (1, 3, 3, 4, 4), 6 * 2 * 4 + 4, label="same, strides, groups",
    ),
    LayerCase(
        lambda: layers.Conv3D(2, 2, dilation_rate=(2, 1, 1), data_format="channels_first",
                              activation="relu"),
        (2, 2, 5, 3, 3), (2, 2, 3, 2, 2), 8 * 2 * 2 + 2, label="dilation, channels_first",
    ),
    LayerCase(lambda: layers.MaxPooling3D(), (2, 4, 4, 4, 3), (2, 2, 2, 2, 3), 0,
              train_step=False),
    LayerCase(
        lambda: layers.MaxPooling3D(3, 2, padding="same", data_format="channels_first"),
        (1, 2, 5, 4, 3), (1, 2, 3, 2, 2), 0, train_step=False, label="same, channels_first",
    ),
    LayerCase(lambda: layers.AveragePooling3D((2, 1, 2)), (2, 4, 3, 4, 2), (2, 2, 3, 2, 2), 0,
              train_step=False),
    LayerCase(
        lambda: layers.AveragePooling3D(3, 2, padding="same"), (1, 5, 4, 3, 2), (1, 3, 2, 2, 2),
        0, train_step=False, label="same",
    ),
    LayerCase(lambda: layers.GlobalAveragePooling3D(), (2, 3, 4, 2, 5), (2, 5), 0,
              train_step=False),
    LayerCase(lambda: layers.GlobalMaxPooling3D(keepdims=True), (2, 3, 4, 2, 5),
              (2, 1, 1, 1, 5), 0, train_step=False),
    LayerCase(lambda: layers.ZeroPadding3D(((1, 0), (2, 2), (0, 3))), (1, 2, 3, 4, 2),
              (1, 3, 7, 7, 2), 0, train_step=False),
    LayerCase(lambda: layers.Cropping3D(((1, 0), (0, 1), (1, 1)), data_format="channels_first"),
              (1, 2, 3, 4, 5), (1, 2, 2, 3, 3), 0, train_step=False),
    LayerCase(lambda: layers.UpSampling3D((2, 1, 2)), (1, 2, 3, 2, 2), (1, 4, 3, 4, 2), 0,
              train_step=False),
]  # fmt: skip


def _np_conv3d(x, w, b, strides, pads, dilation):
    x = np.pad(x.astype(np.float64), ((0, 0), *pads, (0, 0)))
    kd, kh, kw, _, f = w.shape
    n, d, h, wd, _ = x.shape
    (sd, sh, sw), (dd, dh, dw) = strides, dilation
    od = (d - (kd - 1) * dd - 1) // sd + 1
    oh = (h - (kh - 1) * dh - 1) // sh + 1
    ow = (wd - (kw - 1) * dw - 1) // sw + 1
    y = np.zeros((n, od, oh, ow, f)) + b
    for a in range(kd):
        for i in range(kh):
            for j in range(kw):
                patch = x[:, a * dd : a * dd + (od - 1) * sd + 1 : sd,
                          i * dh : i * dh + (oh - 1) * sh + 1 : sh,
                          j * dw : j * dw + (ow - 1) * sw + 1 : sw]  # fmt: skip
                y += patch @ w[a, i, j]
    return y


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        (dict(filters=3, kernel_size=3), (2, 5, 6, 4, 2)),
        (
            dict(filters=2, kernel_size=(2, 3, 2), strides=(2, 1, 2), padding="same"),
            (1, 5, 4, 5, 3),
        ),
        (dict(filters=2, kernel_size=2, dilation_rate=(1, 2, 1), padding="same"), (1, 3, 5, 3, 2)),
    ],
)
def test_conv3d_matches_a_numpy_loop(kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer = layers.Conv3D(**kwargs)
    y = xn.to_numpy(layer(x))
    w, b = layer.get_weights()
    pads = layer._pads(shape[1:4])
    want = _np_conv3d(x, w, b, layer.strides, pads, layer.dilation_rate)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


# Keras 3.15: keras.layers.<cls>(**kwargs)(x)[0, ..., 0], rounded to 5 decimals
_KERAS_POOL = [
    (
        "MaxPooling3D",
        {"pool_size": 3, "strides": 2, "padding": "same"},
        [[[8.0, 7.0], [7.0, 7.0]], [[8.0, 8.0], [8.0, 8.0]], [[6.0, 7.0], [8.0, 8.0]]],
    ),
    (
        "MaxPooling3D",
        {"pool_size": (2, 3, 2), "strides": (3, 1, 2), "padding": "same"},
        [
            [[8.0, 6.0], [8.0, 6.0], [7.0, 1.0], [7.0, 1.0]],
            [[6.0, 7.0], [6.0, 7.0], [8.0, 7.0], [8.0, -2.0]],
        ],
    ),
    (
        "AveragePooling3D",
        {"pool_size": 3, "strides": 2, "padding": "same"},
        [
            [[0.41667, 0.33333], [0.75, -0.75]],
            [[0.33333, 0.72222], [0.66667, -0.83333]],
            [[-1.16667, 0.16667], [2.0, 0.5]],
        ],
    ),
    (
        "AveragePooling3D",
        {"pool_size": (2, 3, 2), "strides": (3, 1, 2), "padding": "same"},
        [
            [[-0.875, -1.0], [0.41667, -1.83333], [0.16667, -3.5], [0.75, -1.5]],
            [[-1.75, 4.5], [-1.16667, 0.83333], [0.0, -0.83333], [2.0, -4.5]],
        ],
    ),
]


@pytest.mark.parametrize("cls, kwargs, want", _KERAS_POOL, ids=lambda v: str(v)[:30])
def test_pooling3d_same_padding_matches_keras(cls, kwargs, want):
    x = (((np.arange(60) * 7) % 17) - 8.0).reshape(1, 5, 4, 3, 1).astype("float32")
    got = xn.to_numpy(getattr(layers, cls)(**kwargs)(x))[0, ..., 0]
    np.testing.assert_allclose(got, np.array(want), rtol=0, atol=1e-5)


def test_valid_pooling3d_is_the_window_max_and_mean():
    x = np.random.default_rng(2).standard_normal((2, 4, 6, 4, 3)).astype("float32")
    windows = x.reshape(2, 2, 2, 3, 2, 2, 2, 3)
    np.testing.assert_allclose(
        xn.to_numpy(layers.MaxPooling3D((2, 2, 2))(x)), windows.max(axis=(2, 4, 6)), rtol=1e-6
    )
    np.testing.assert_allclose(
        xn.to_numpy(layers.AveragePooling3D((2, 2, 2))(x)),
        windows.mean(axis=(2, 4, 6)),
        rtol=1e-5,
        atol=1e-6,
    )


def test_reshaping3d_values():
    x = np.arange(24, dtype="float32").reshape(1, 2, 3, 4, 1)
    up = xn.to_numpy(layers.UpSampling3D((2, 1, 2))(x))
    np.testing.assert_array_equal(up, x.repeat(2, axis=1).repeat(2, axis=3))
    padded = xn.to_numpy(layers.ZeroPadding3D(((1, 0), (2, 2), (0, 3)))(x))
    np.testing.assert_array_equal(padded, np.pad(x, ((0, 0), (1, 0), (2, 2), (0, 3), (0, 0))))
    cropped = xn.to_numpy(layers.Cropping3D(((1, 0), (0, 1), (1, 2)))(x))
    np.testing.assert_array_equal(cropped, x[:, 1:, :2, 1:2])
    with pytest.raises(ValueError, match="leaves nothing"):
        layers.Cropping3D(((1, 1), 0, 0))(x)
    with pytest.raises(ValueError, match="3 of ints"):
        layers.ZeroPadding3D((1, 2))
