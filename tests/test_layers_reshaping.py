"""Reshaping layers: contract rows, values against NumPy, and actionable shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from helpers import assert_close
from layer_contract import LayerCase


def _row(make, shape, out, label=""):
    return LayerCase(make, shape, out, 0, label=label, train_step=False)


LAYER_CASES = [
    _row(lambda: layers.Flatten(), (2, 3, 4), (2, 12)),
    _row(
        lambda: layers.Flatten(data_format="channels_first"),
        (2, 3, 2, 2),
        (2, 12),
        "channels_first",
    ),
    _row(lambda: layers.Flatten(), (5,), (5, 1), "rank 1"),
    _row(lambda: layers.Reshape((3, -1)), (2, 12), (2, 3, 4), "-1"),
    _row(lambda: layers.Reshape((6, 2)), (2, 3, 4), (2, 6, 2)),
    _row(lambda: layers.Permute((2, 1)), (2, 3, 4), (2, 4, 3)),
    _row(lambda: layers.Permute((3, 1, 2)), (2, 3, 4, 5), (2, 5, 3, 4), "rank 4"),
    _row(lambda: layers.RepeatVector(3), (2, 4), (2, 3, 4)),
]


def test_values_match_numpy():
    x = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5)
    assert_close(layers.Flatten()(x), x.reshape(2, -1))
    # channels_first flattens in channels_last order, so Dense weights carry over (as Keras)
    assert_close(layers.Flatten("channels_first")(x), x.transpose(0, 2, 3, 1).reshape(2, -1))
    assert_close(layers.Reshape((5, -1))(x), x.reshape(2, 5, 12))
    assert_close(layers.Permute((3, 1, 2))(x), x.transpose(0, 3, 1, 2))
    v = x[:, 0, 0, :]
    assert_close(layers.RepeatVector(3)(v), np.repeat(v[:, None, :], 3, axis=1))


def test_output_shapes_with_unknown_batch():
    assert layers.Flatten().compute_output_shape((None, 3, 4)) == (None, 12)
    assert layers.Reshape((2, -1)).compute_output_shape((None, 8)) == (None, 2, 4)
    assert layers.Permute((2, 1)).compute_output_shape((None, 3, 4)) == (None, 4, 3)
    assert layers.RepeatVector(5).compute_output_shape((None, 7)) == (None, 5, 7)


def test_reshape_errors_name_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"cannot reshape inputs of shape \(2, 3, 4\) \(12 values per sample\) to "
        r"target_shape \(5, 2\)",
    ):
        layers.Reshape((5, 2))(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"target_shape \(5, -1\)"):
        layers.Reshape((5, -1))(np.ones((2, 12)))
    for bad in ((-1, -1), (0, 3), (2, -2)):
        with pytest.raises(
            ValueError, match="Reshape: expected positive sizes with at most one -1"
        ):
            layers.Reshape(bad)
    with pytest.raises(ValueError, match="Reshape: expected a tuple of integers for target_shape"):
        layers.Reshape(12)


def test_permute_and_repeat_vector_check_arguments():
    for bad in ((0, 1), (1, 3), (1, 1), (2,)):
        with pytest.raises(ValueError, match="Permute: expected dims to be a permutation of 1..n"):
            layers.Permute(bad)
    with pytest.raises(ValueError, match=r"expected inputs of rank 3, got rank 4"):
        layers.Permute((2, 1))(np.ones((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="RepeatVector: expected a positive integer for n"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match=r"expected inputs of rank 2.*\(batch, features\)"):
        layers.RepeatVector(2)(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="Flatten: expected data_format"):
        layers.Flatten("NCHW")


def test_repeat_vector_gradient_sums_the_copies():
    x = xn.Tensor(np.ones((2, 3)), requires_grad=True)
    layers.RepeatVector(4)(x).sum().backward()
    np.testing.assert_allclose(xn.to_numpy(x.grad), 4.0)
