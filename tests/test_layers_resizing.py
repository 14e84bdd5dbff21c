"""Resizing: contract rows, and values against Keras 3.15's (JAX backend, 2026-12-04) on a
fixed 5x7 image: bilinear up and down, nearest, crop_to_aspect_ratio, pad_to_aspect_ratio."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase

LAYER_CASES = [
    LayerCase(lambda: layers.Resizing(3, 5), (2, 6, 4, 3), (2, 3, 5, 3), 0, train_step=False),
    LayerCase(
        lambda: layers.Resizing(4, 4, interpolation="nearest", data_format="channels_first"),
        (2, 3, 3, 5), (2, 3, 4, 4), 0, train_step=False, label="nearest, channels_first",
    ),
    LayerCase(
        lambda: layers.Resizing(3, 3, crop_to_aspect_ratio=True), (2, 4, 6, 1), (2, 3, 3, 1), 0,
        train_step=False, label="crop",
    ),
    LayerCase(
        lambda: layers.Resizing(2, 2, pad_to_aspect_ratio=True), (5, 6, 1), (2, 2, 1), 0,
        train_step=False, label="pad, one image",
    ),
]  # fmt: skip

# Keras 3.15: keras.layers.Resizing(**kwargs)(x)[0, :, :, 0], rounded to 5 decimals
_KERAS = [
    (
        {"height": 3, "width": 4},
        [
            [4.33333, 4.66667, 5.54167, 4.25],
            [4.75, 7.25, 8.125, 7.375],
            [4.625, 3.875, 4.75, 5.625],
        ],
    ),
    (
        {"height": 7, "width": 9},
        [
            [0.0, 4.66667, 4.33333, 2.55556, 8.0, 3.33333, 5.88889, 7.0, 3.0],
            [5.71429, 5.42857, 5.92063, 6.61905, 6.28571, 7.39682, 7.47619, 5.28571, 1.28571],
            [9.14286, 5.14286, 6.25397, 8.80952, 4.14286, 9.5873, 7.80952, 4.38095, 2.85714],
            [7.0, 3.0, 4.11111, 6.66667, 2.0, 7.44444, 5.66667, 5.33333, 10.0],
            [4.85714, 7.04762, 7.12699, 6.5873, 9.14286, 7.36508, 3.52381, 3.19048, 7.85714],
            [2.71429, 7.38095, 7.04762, 5.26984, 10.71429, 6.04762, 4.47619, 4.76191, 5.71429],
            [1.0, 5.66667, 5.33333, 3.55556, 9.0, 4.33333, 6.88889, 8.0, 4.0],
        ],
    ),
    (
        {"height": 4, "width": 9, "interpolation": "nearest"},
        [
            [0.0, 7.0, 7.0, 1.0, 8.0, 2.0, 9.0, 9.0, 3.0],
            [10.0, 4.0, 4.0, 11.0, 5.0, 12.0, 6.0, 6.0, 0.0],
            [4.0, 11.0, 11.0, 5.0, 12.0, 6.0, 0.0, 0.0, 7.0],
            [1.0, 8.0, 8.0, 2.0, 9.0, 3.0, 10.0, 10.0, 4.0],
        ],
    ),
    (
        {"height": 3, "width": 3, "crop_to_aspect_ratio": True},
        [[5.44444, 7.0, 7.11111], [3.33333, 2.0, 5.0], [7.0, 10.0, 5.77778]],
    ),
    (
        {"height": 4, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 0.5},
        [
            [1.29688, 1.01562, 1.34375, 2.28125],
            [7.375, 9.875, 10.75, 2.89062],
            [6.39062, 6.04688, 6.92188, 4.75],
            [1.67188, 1.39062, 1.71875, 2.65625],
        ],
    ),
    (
        {"height": 6, "width": 3, "interpolation": "nearest", "crop_to_aspect_ratio": True},
        [
            [1.0, 8.0, 8.0],
            [11.0, 5.0, 5.0],
            [8.0, 2.0, 2.0],
            [8.0, 2.0, 2.0],
            [5.0, 12.0, 12.0],
            [2.0, 9.0, 9.0],
        ],
    ),
]


def _image():
    return ((np.arange(35) * 7) % 13).reshape(1, 5, 7, 1).astype("float32")


@pytest.mark.parametrize("kwargs, want", _KERAS, ids=lambda v: str(v)[:40])
def test_resizing_matches_keras(kwargs, want):
    got = xn.to_numpy(layers.Resizing(**kwargs)(_image()))[0, :, :, 0]
    np.testing.assert_allclose(got, np.array(want), rtol=0, atol=2e-5)


def test_resizing_channels_first_and_integers():
    x = _image()
    last = xn.to_numpy(layers.Resizing(4, 3)(x))
    first = xn.to_numpy(
        layers.Resizing(4, 3, data_format="channels_first")(x.transpose(0, 3, 1, 2))
    )
    np.testing.assert_allclose(first.transpose(0, 2, 3, 1), last, rtol=1e-6)
    ints = layers.Resizing(4, 3)(x.astype("int32"))
    assert ints.dtype == xn.backend.dtype("float32")
    np.testing.assert_allclose(xn.to_numpy(ints), last, rtol=1e-6)


def test_resizing_rejects_what_it_does_not_do():
    with pytest.raises(ValueError, match="interpolation"):
        layers.Resizing(2, 2, interpolation="bicubic")
    with pytest.raises(ValueError, match="only one"):
        layers.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="antialias"):
        layers.Resizing(2, 2, antialias=True)
    with pytest.raises(ValueError, match="rank 3 or 4"):
        layers.Resizing(2, 2)(np.ones((2, 3), dtype="float32"))
