"""Embedding: contract row, scatter-add gradients with repeated ids, masks, errors."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers
from xpnet.layers import _mask

from helpers import assert_on_active_backend
from layer_contract import LayerCase


def _ids(shape, high=10):
    return lambda rng: rng.integers(0, high, shape)


LAYER_CASES = [
    LayerCase(lambda: layers.Embedding(10, 4), (3, 5), (3, 5, 4), 40, inputs=_ids((3, 5)),
              gradcheck_inputs=False),
    LayerCase(lambda: layers.Embedding(6, 3, mask_zero=True, embeddings_regularizer="l2"),
              (4,), (4, 3), 18, inputs=lambda rng: np.array([0, 5, 5, 1]),
              gradcheck_inputs=False, label="mask_zero, l2, repeated ids"),
]  # fmt: skip


def test_repeated_ids_accumulate_their_gradients():
    emb = layers.Embedding(5, 2)
    ids = np.array([[1, 3, 1], [1, 0, 3]])
    out = emb(ids)
    g = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
    (out * xn.Tensor(g)).sum().backward()
    expected = np.zeros((5, 2), dtype=np.float32)
    np.add.at(expected, ids.ravel(), g.reshape(-1, 2))
    grad = emb.embeddings.grad
    assert_on_active_backend(grad)
    np.testing.assert_array_equal(xn.to_numpy(grad), expected)


def test_lookup_values_float_ids_and_mask():
    emb = layers.Embedding(4, 3, mask_zero=True)
    out = emb(np.array([[2.0, 0.0, 3.0]], dtype=np.float32))
    table = xn.to_numpy(emb.embeddings)
    np.testing.assert_array_equal(xn.to_numpy(out)[0], table[[2, 0, 3]])
    assert xn.to_numpy(_mask.get_mask(out)).tolist() == [[True, False, True]]
    assert layers.Embedding(4, 3)(np.array([[1]])) is not None
    assert _mask.get_mask(layers.Embedding(4, 3)(np.array([[0, 1]]))) is None


def test_initial_weights_and_keras_default_initializer():
    table = np.arange(6, dtype=np.float32).reshape(3, 2)
    emb = layers.Embedding(3, 2, weights=[table])
    np.testing.assert_array_equal(xn.to_numpy(emb(np.array([2, 0]))), table[[2, 0]])
    w = xn.to_numpy(_built(layers.Embedding(50, 8)))
    assert np.abs(w).max() <= 0.05 and w.std() > 0.01
    assert (
        layers.Embedding(3, 2).get_config()["embeddings_initializer"]["class_name"]
        == "RandomUniform"
    )


def _built(emb):
    emb(np.array([0]))
    return emb.embeddings


def test_out_of_range_ids_are_a_clear_error():
    emb = layers.Embedding(3, 2)
    with pytest.raises(ValueError, match=r"ids in \[0, 3\], but input_dim=3"):
        emb(np.array([[0, 3]]))
    with pytest.raises(ValueError, match="positive integer for input_dim"):
        layers.Embedding(0, 2)


def test_device_ids_are_checked_until_a_check_passes():
    # host ids are checked at every call; device ids (a read each) until one check passed,
    # and fit checks its whole input with check_input_values before the first step
    emb = layers.Embedding(3, 2)
    with pytest.raises(ValueError, match=r"ids in \[0, 3\], but input_dim=3"):
        emb(xn.backend.asarray(np.array([[0, 3]])))
    emb(xn.backend.asarray(np.array([[0, 2]])))
    assert emb._ids_checked
    with pytest.raises(ValueError, match=r"ids in \[-1, 0\]"):
        emb.check_input_values(np.array([-1, 0]))
    with pytest.raises(ValueError, match=r"ids in \[0, 5\]"):
        emb.check_input_values(xn.backend.asarray(np.array([[5.0, 0.0]])))  # float ids, device
    emb.check_input_values([[0, 1], [2, 2]])


def test_a_dry_run_on_zeros_is_not_a_check_of_ids():
    # building by a dry run on placeholder zeros (xn.Input, the functional API) leaves the
    # first call with device ids to check them
    model = xn.Sequential([xn.Input(shape=(2,), dtype="int64"), layers.Embedding(3, 2)])
    with pytest.raises(ValueError, match=r"ids in \[0, 3\], but input_dim=3"):
        model(xn.backend.asarray(np.array([[0, 3]])))
    inp = xn.Input(shape=(2,), dtype="int64")
    functional = xn.Model(inp, layers.Embedding(3, 2)(inp))
    with pytest.raises(ValueError, match=r"ids in \[-1, 0\], but input_dim=3"):
        functional(xn.backend.asarray(np.array([[0, -1]])))
