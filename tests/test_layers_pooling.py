"""Pooling: the nn_ops primitives against NumPy, first-maximum gradients, and the contract rows."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers
from xpnet.ops import nn as nn_ops

from helpers import OpCase, distinct
from layer_contract import LayerCase


def np_pool(x, pool, strides, padding, kind):
    """Windowed max / mean with Keras's "same" padding (pad excluded from the mean)."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = pool, strides
    if padding == "same":
        ph = nn_ops.conv_padding(h, kh, sh, 1, "same")
        pw = nn_ops.conv_padding(w, kw, sw, 1, "same")
    else:
        ph = pw = (0, 0)
    fill = -np.inf if kind == "max" else np.nan
    xp_ = np.pad(x, ((0, 0), ph, pw, (0, 0)), constant_values=fill)
    ho = (h + sum(ph) - kh) // sh + 1
    wo = (w + sum(pw) - kw) // sw + 1
    out = np.zeros((n, ho, wo, c))
    for i in range(ho):
        for j in range(wo):
            win = xp_[:, i * sh : i * sh + kh, j * sw : j * sw + kw, :]
            out[:, i, j, :] = (
                win.max(axis=(1, 2)) if kind == "max" else np.nanmean(win, axis=(1, 2))
            )
    return out


POOL_CONFIGS = [
    ("2x2 tiled", (2, 6, 4, 3), (2, 2), (2, 2), "valid"),
    ("2x2 tiled, odd size", (1, 7, 5, 2), (2, 2), (2, 2), "valid"),
    ("3x3 s2 overlap", (2, 7, 7, 2), (3, 3), (2, 2), "valid"),
    ("3x2 s(2,1) same", (1, 5, 6, 2), (3, 2), (2, 1), "same"),
    ("2x2 s1 same", (1, 4, 4, 3), (2, 2), (1, 1), "same"),
]


def _pool_case(kind, label, shape, pool, strides, padding):
    op = nn_ops.max_pool2d if kind == "max" else nn_ops.avg_pool2d
    return OpCase(
        f"nn_ops.{kind}_pool2d",
        lambda x: op(x, pool, strides, padding),
        lambda x: np_pool(x, pool, strides, padding, kind),
        make=lambda r: [distinct(r, shape)],  # no ties: the max gradient is well defined
        label=label,
    )


OP_CASES = [_pool_case(kind, *c) for kind in ("max", "avg") for c in POOL_CONFIGS]


def _distinct_inputs(shape):
    return lambda rng: distinct(rng, shape)


LAYER_CASES = [
    LayerCase(lambda: layers.MaxPooling2D(), (2, 4, 6, 3), (2, 2, 3, 3), 0, train_step=False,
              inputs=_distinct_inputs((2, 4, 6, 3))),
    LayerCase(lambda: layers.MaxPooling2D(3, strides=2, padding="same",
                                          data_format="channels_first"),
              (1, 2, 5, 5), (1, 2, 3, 3), 0, train_step=False, label="same, channels_first",
              inputs=_distinct_inputs((1, 2, 5, 5))),
    LayerCase(lambda: layers.MaxPooling1D(), (2, 7, 3), (2, 3, 3), 0, train_step=False,
              inputs=_distinct_inputs((2, 7, 3))),
    LayerCase(lambda: layers.MaxPooling1D(3, strides=1, padding="same"), (2, 5, 2), (2, 5, 2), 0,
              train_step=False, label="same", inputs=_distinct_inputs((2, 5, 2))),
    LayerCase(lambda: layers.AveragePooling2D(), (2, 4, 5, 2), (2, 2, 2, 2), 0, train_step=False),
    LayerCase(lambda: layers.AveragePooling2D((2, 3), strides=1, padding="same"),
              (1, 4, 4, 2), (1, 4, 4, 2), 0, train_step=False, label="same"),
    LayerCase(lambda: layers.AveragePooling1D(2, data_format="channels_first"), (2, 3, 6),
              (2, 3, 3), 0, train_step=False),
    LayerCase(lambda: layers.GlobalMaxPooling2D(), (2, 3, 4, 5), (2, 5), 0, train_step=False,
              inputs=_distinct_inputs((2, 3, 4, 5))),
    LayerCase(lambda: layers.GlobalMaxPooling1D(keepdims=True), (2, 4, 3), (2, 1, 3), 0,
              train_step=False, inputs=_distinct_inputs((2, 4, 3))),
    LayerCase(lambda: layers.GlobalAveragePooling2D(data_format="channels_first"),
              (2, 3, 4, 5), (2, 3), 0, train_step=False),
    LayerCase(lambda: layers.GlobalAveragePooling1D(), (2, 4, 3), (2, 3), 0, train_step=False),
]  # fmt: skip


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_op_forward_matches_numpy(case):
    raw = case.inputs()
    out = case.fn(xn.Tensor(raw[0], dtype="float32"))
    np.testing.assert_allclose(xn.to_numpy(out), case.ref(raw[0].astype(np.float32)), rtol=1e-6)
    assert out.dtype == xn.backend.dtype("float32", out.xp)


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_op_backward_matches_finite_differences(case):
    assert xn.gradcheck(case.fn, *case.inputs()).passed


@pytest.mark.parametrize("pool, strides", [((2, 2), None), ((3, 3), (1, 1)), ((2, 3), (2, 1))])
def test_max_pool_gradient_goes_to_the_first_maximum(pool, strides):
    x = np.zeros((1, 6, 6, 1))
    x[0, 1, 1, 0] = x[0, 0, 3, 0] = x[0, 1, 2, 0] = 1.0  # ties inside windows
    t = xn.Tensor(x, requires_grad=True)
    nn_ops.max_pool2d(t, pool, strides).sum().backward()
    expected = np.zeros_like(x)
    kh, kw = pool
    sh, sw = strides or pool
    for i in range(0, 6 - kh + 1, sh):
        for j in range(0, 6 - kw + 1, sw):
            win = x[0, i : i + kh, j : j + kw, 0]
            r, c = np.unravel_index(np.argmax(win), win.shape)  # argmax: the first maximum
            expected[0, i + r, j + c, 0] += 1.0
    np.testing.assert_array_equal(xn.to_numpy(t.grad), expected)


def test_global_average_pooling_1d_respects_masks():
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    mask = np.array([[True, True, False], [True, False, False]])
    out = layers.GlobalAveragePooling1D()(x, mask=mask)
    np.testing.assert_allclose(xn.to_numpy(out), [[1.0, 2.0], [6.0, 7.0]])
    emb = layers.Embedding(5, 2, mask_zero=True)
    y = layers.GlobalAveragePooling1D()(emb(np.array([[1, 2, 0]])))
    table = xn.to_numpy(emb.embeddings)
    np.testing.assert_allclose(xn.to_numpy(y)[0], table[[1, 2]].mean(0), rtol=1e-6)


def test_pooling_arguments_are_validated():
    with pytest.raises(ValueError, match="pool_size"):
        layers.MaxPooling2D(0)
    with pytest.raises(ValueError, match="padding to be one of"):
        layers.AveragePooling1D(padding="causal")
    with pytest.raises(ValueError, match="does not fit"):
        layers.MaxPooling2D(5)(np.ones((1, 3, 3, 1), dtype="float32"))
