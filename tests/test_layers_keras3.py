"""Keras 3 layers added for porting: Attention, EinsumDense, Rescaling, CategoryEncoding and
the 1-D padding/upsampling/cropping layers. Shapes and weight shapes were checked against
Keras 3.15 (JAX backend) on 2026-12-04; values against NumPy written here."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase


def _ids(rng):
    return rng.integers(0, 4, (3, 2))


LAYER_CASES = [
    LayerCase(lambda: layers.Attention(), [(2, 3, 4), (2, 5, 4)], (2, 3, 4), 0, train_step=False),
    LayerCase(
        lambda: layers.Attention(use_scale=True),
        [(2, 3, 4), (2, 5, 4), (2, 5, 4)],
        (2, 3, 4),
        1,
        label="scale, key",
    ),
    LayerCase(
        lambda: layers.Attention(use_scale=True, score_mode="concat"),
        [(2, 3, 4), (2, 5, 4)],
        (2, 3, 4),
        2,
        label="concat",
    ),
    # Keras 3.15: kernel (6, 4, 5), bias (4, 5); output (2, 3, 4, 5)
    LayerCase(
        lambda: layers.EinsumDense("abc,cde->abde", output_shape=(None, 4, 5), bias_axes="de"),
        (2, 3, 6),
        (2, 3, 4, 5),
        6 * 4 * 5 + 4 * 5,
        label="heads",
    ),
    # Keras 3.15: kernel (6, 7), bias (7,); output (2, 3, 7)
    LayerCase(
        lambda: layers.EinsumDense("...b,bc->...c", output_shape=7, bias_axes="c"),
        (2, 3, 6),
        (2, 3, 7),
        6 * 7 + 7,
        label="ellipsis",
    ),
    LayerCase(
        lambda: layers.EinsumDense("ab,bc->ac", output_shape=7, activation="tanh"),
        (2, 6),
        (2, 7),
        42,
        label="dense",
    ),
    LayerCase(lambda: layers.Rescaling(0.5, offset=-1.0), (2, 3), (2, 3), 0, train_step=False),
    LayerCase(
        lambda: layers.CategoryEncoding(4, output_mode="count"),
        (3, 2),
        (3, 4),
        0,
        inputs=_ids,
        gradcheck=False,
        gradcheck_inputs=False,
        train_step=False,
    ),
    LayerCase(lambda: layers.ZeroPadding1D((1, 2)), (2, 3, 2), (2, 6, 2), 0, train_step=False),
    LayerCase(lambda: layers.UpSampling1D(3), (2, 3, 2), (2, 9, 2), 0, train_step=False),
    LayerCase(lambda: layers.Cropping1D((1, 0)), (2, 4, 2), (2, 3, 2), 0, train_step=False),
    LayerCase(
        lambda: layers.Conv1DTranspose(4, 3, strides=2, padding="same"),
        (2, 5, 3),
        (2, 10, 4),
        3 * 4 * 3 + 4,
    ),
    LayerCase(
        lambda: layers.Conv1DTranspose(2, 3, strides=3, output_padding=1, activation="tanh"),
        (2, 3, 2),
        (2, 10, 2),
        3 * 2 * 2 + 2,
        label="output_padding",
    ),
    LayerCase(
        lambda: layers.SeparableConv1D(4, 3, depth_multiplier=2, padding="same"),
        (2, 5, 3),
        (2, 5, 4),
        3 * 3 * 2 + 6 * 4 + 4,
    ),
]


def _np(t):
    return np.asarray(xn.to_numpy(t), dtype=np.float64)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_attention_matches_numpy_with_masks():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 3, 4)).astype("float32")
    v = rng.standard_normal((2, 5, 4)).astype("float32")
    q_keep = np.array([[True, True, False], [True, True, True]])
    v_keep = np.array([[True, True, True, False, False], [True, True, True, True, True]])
    out = layers.Attention()([xn.Tensor(q), xn.Tensor(v)], mask=[q_keep, v_keep])
    scores = q.astype(np.float64) @ v.astype(np.float64).transpose(0, 2, 1)
    scores = np.where(v_keep[:, None, :], scores, -np.inf)
    want = (_softmax(scores) @ v) * q_keep[..., None]
    np.testing.assert_allclose(_np(out), want, rtol=1e-5, atol=1e-6)


def test_attention_reads_masks_from_embeddings_and_passes_the_query_mask():
    ids_q = np.array([[1, 2, 0]])
    ids_v = np.array([[3, 4, 5, 0]])
    emb = layers.Embedding(8, 4, mask_zero=True)
    q, v = emb(ids_q), emb(ids_v)
    out = layers.Attention()([q, v])
    eq, ev = _np(q)[0], _np(v)[0]
    w = _softmax(eq @ ev[:3].T)
    np.testing.assert_allclose(_np(out)[0, :2], (w @ ev[:3])[:2], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(_np(out)[0, 2], np.zeros(4))
    np.testing.assert_array_equal(xn.to_numpy(xn.layers._mask.get_mask(out)), ids_q != 0)


def test_einsum_dense_starts_with_keras_fans():
    xn.set_seed(0)
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 8, 16))
    layer(np.zeros((1, 2, 32), "float32"))
    k = _np(layer.kernel)
    limit = math.sqrt(6 / (32 + 8 * 16))  # glorot: fan_in = 32, fan_out = 8 * 16
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit


def test_einsum_dense_bad_equations_are_clear():
    with pytest.raises(ValueError, match="expected an equation like"):
        layers.EinsumDense("ab->b", output_shape=3)
    with pytest.raises(ValueError, match="in neither the input nor the output"):
        layers.EinsumDense("ab,bz->a", output_shape=())
    with pytest.raises(ValueError, match="bias_axes"):
        layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="z")


def test_category_encoding_modes_match_keras():
    ids = np.array([[1, 2], [0, 3]])
    # Keras 3.15: one_hot (2, 2, 4), multi_hot (2, 4), count (2, 4); count([[1,1,2]])
    assert layers.CategoryEncoding(4, output_mode="one_hot")(ids).shape == (2, 2, 4)
    np.testing.assert_array_equal(
        _np(layers.CategoryEncoding(4)(ids)), [[0, 1, 1, 0], [1, 0, 0, 1]]
    )
    np.testing.assert_array_equal(
        _np(layers.CategoryEncoding(4, output_mode="count")(np.array([[1, 1, 2]]))),
        [[0.0, 2.0, 1.0, 0.0]],
    )
    with pytest.raises(ValueError, match=r"ids must be in \[0, 4\)"):
        layers.CategoryEncoding(4).check_input_values(np.array([[5]]))


def test_rescaling_and_1d_layers_match_keras():
    assert _np(layers.Rescaling(1 / 255.0, offset=-1)(np.array([[255.0]]))).tolist() == [[0.0]]
    up = _np(layers.UpSampling1D(2)(np.arange(6.0).reshape(1, 3, 2)))
    # Keras 3.15
    assert up.tolist() == [[[0.0, 1.0], [0.0, 1.0], [2.0, 3.0], [2.0, 3.0], [4.0, 5.0], [4.0, 5.0]]]
    with pytest.raises(ValueError, match="leaves no steps"):
        layers.Cropping1D((2, 2))(np.ones((1, 4, 1), "float32"))


_X1 = np.arange(1, 7, dtype="float32").reshape(1, 3, 2)
_W1 = [np.linspace(-1, 1, 12).reshape(3, 2, 2).astype("float32"), np.array([0.5, -0.5], "float32")]
# Keras 3.15 (JAX), 2026-12-04: Conv1DTranspose(2, 3, ...) with _W1 on _X1
_KERAS_SAME = [[-2.136364, -2.045454], [0.045455, 0.136364], [-4.045454, -1.409091],
               [-0.681818, 0.863636], [-5.5, 0.045455], [-1.409091, 1.590909]]  # fmt: skip
_KERAS_PADDED = [[-2.136364, -2.045454], [0.045455, 0.136364], [2.227273, 2.318182],
                 [-5.772727, -4.227273], [-0.681818, 0.863636], [4.409091, 5.954546],
                 [-9.409091, -6.409091], [-1.409091, 1.590909], [6.590909, 9.590909],
                 [0.5, -0.5]]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs, want",
    [
        (dict(strides=2, padding="same"), _KERAS_SAME),
        (dict(strides=3, padding="valid", output_padding=1), _KERAS_PADDED),
    ],
)
def test_conv1d_transpose_matches_keras(kwargs, want):
    layer = layers.Conv1DTranspose(2, 3, **kwargs)
    layer(_X1)
    layer.set_weights(_W1)  # Keras's kernel layout (k, filters, channels)
    np.testing.assert_allclose(_np(layer(_X1))[0], want, rtol=1e-5, atol=1e-5)


_XS = np.arange(1, 13, dtype="float32").reshape(1, 4, 3) / 10
# Keras 3.15 (JAX), 2026-12-04: SeparableConv1D(2, 3, **kwargs), every weight set to
# linspace(-1, 1, size) in its Keras shape
_KERAS_SEPARABLE = [
    ({}, [[-0.7, 1.9], [-0.34, 2.26]]),
    (
        dict(strides=2, padding="same", depth_multiplier=2),
        [[-0.13369, 2.379679], [0.508021, 1.926203]],
    ),
    (
        dict(dilation_rate=2, padding="same"),
        [[-0.86, 1.9], [-0.755, 2.275], [-0.65, 1.21], [-0.275, 1.315]],
    ),
]


@pytest.mark.parametrize("kwargs, want", _KERAS_SEPARABLE)
def test_separable_conv1d_matches_keras(kwargs, want):
    layer = layers.SeparableConv1D(2, 3, **kwargs)
    layer(_XS)
    layer.set_weights(
        [np.linspace(-1, 1, w.size).reshape(w.shape).astype("float32") for w in layer.get_weights()]
    )
    np.testing.assert_allclose(_np(layer(_XS))[0], want, rtol=1e-5, atol=1e-5)
