"""Merging layers: contract rows (multi-input), values against NumPy, shape errors."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from helpers import assert_close
from layer_contract import LayerCase


def _row(make, shapes, out, label=""):
    return LayerCase(make, shapes, out, 0, label=label, train_step=False)


LAYER_CASES = [
    _row(lambda: layers.Add(), [(2, 3), (2, 3), (2, 3)], (2, 3), "3 inputs"),
    _row(lambda: layers.Add(), [(2, 3, 4), (2, 1, 4)], (2, 3, 4), "broadcast"),
    _row(lambda: layers.Subtract(), [(2, 3), (2, 3)], (2, 3)),
    _row(lambda: layers.Multiply(), [(2, 3), (2, 3), (2, 3)], (2, 3)),
    _row(lambda: layers.Average(), [(2, 3), (2, 3)], (2, 3)),
    _row(lambda: layers.Maximum(), [(2, 3), (2, 3), (2, 3)], (2, 3)),
    _row(lambda: layers.Minimum(), [(2, 3), (2, 3)], (2, 3)),
    _row(lambda: layers.Concatenate(), [(2, 3), (2, 4)], (2, 7)),
    _row(lambda: layers.Concatenate(axis=1), [(2, 1, 4), (2, 3, 4)], (2, 4, 4), "axis=1"),
    _row(lambda: layers.Dot(axes=1), [(3, 4), (3, 4)], (3, 1), "vectors"),
    _row(lambda: layers.Dot(axes=(1, 2)), [(2, 3, 4), (2, 5, 3)], (2, 4, 5), "axes (1, 2)"),
    _row(lambda: layers.Dot(axes=-1), [(2, 3, 4), (2, 4)], (2, 3), "matrix-vector"),
    _row(lambda: layers.Dot(axes=1, normalize=True), [(3, 4), (3, 4)], (3, 1), "cosine"),
]


def test_values_match_numpy():
    rng = np.random.default_rng(0)
    a, b, c = (rng.normal(size=(2, 3)) for _ in range(3))
    assert_close(layers.Add()([a, b, c]), a + b + c)
    assert_close(layers.Subtract()([a, b]), a - b)
    assert_close(layers.Multiply()([a, b, c]), a * b * c)
    assert_close(layers.Average()([a, b, c]), (a + b + c) / 3)
    assert_close(layers.Maximum()([a, b, c]), np.maximum(np.maximum(a, b), c))
    assert_close(layers.Minimum()([a, b]), np.minimum(a, b))
    assert_close(layers.Concatenate(axis=0)([a, b]), np.concatenate([a, b], axis=0))
    x, y = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 3))
    assert_close(layers.Dot(axes=(1, 2))([x, y]), np.einsum("bkn,bmk->bnm", x, y), rtol=1e-5)
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert_close(layers.Dot(axes=1, normalize=True)([a, b]), cos[:, None], rtol=1e-5)


def test_compute_output_shape_with_unknown_batch():
    assert layers.Add().compute_output_shape([(None, 3), (None, 3)]) == (None, 3)
    assert layers.Concatenate().compute_output_shape([(None, 3), (None, 4)]) == (None, 7)
    assert layers.Dot(axes=(1, 2)).compute_output_shape([(None, 3, 4), (None, 5, 3)]) == (
        None,
        4,
        5,
    )


def test_mismatched_shapes_name_them():
    with pytest.raises(ValueError, match=r"incompatible shapes \[\(2, 3\), \(2, 4\)\]"):
        layers.Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match=r"same rank; received shapes \[\(2, 3\), \(2, 3, 1\)\]"):
        layers.Multiply()([np.ones((2, 3)), np.ones((2, 3, 1))])
    with pytest.raises(ValueError, match=r"agree on every axis except axis=-1.*\(3, 4\)"):
        layers.Concatenate()([np.ones((2, 3)), np.ones((3, 4))])
    with pytest.raises(ValueError, match=r"sizes 3 \(axis 1 of \(2, 3\)\) and 4"):
        layers.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 4))])
    add = layers.Add()
    add([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match=r"incompatible shapes \[\(2, 3\), \(2, 5\)\]"):
        add([np.ones((2, 3)), np.ones((2, 5))])


def test_arity_and_list_checks():
    with pytest.raises(ValueError, match="Subtract layer .* expects exactly 2 inputs; received 3"):
        layers.Subtract()([np.ones((1, 2))] * 3)
    with pytest.raises(ValueError, match=r"expects a list of inputs, e.g. layer\(\[x1, x2\]\)"):
        layers.Add()(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Dot: expected an int or a pair of ints for axes"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="must name a non-batch axis"):
        layers.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))])
    with pytest.raises(ValueError, match="Concatenate: expected an integer axis"):
        layers.Concatenate(axis="last")


@pytest.mark.parametrize("axis", [0, 1])
def test_concat_and_stack_gradients_on_inner_axes(axis):
    """ops.concat/stack backward index every axis (array_api_strict rejects partial indices)."""
    a, b = np.ones((2, 3, 4)), np.ones((2, 3, 4))
    for fn in (xn.ops.concat, xn.ops.stack):
        ta, tb = xn.Tensor(a, requires_grad=True), xn.Tensor(b, requires_grad=True)
        fn([ta, tb * 2.0], axis=axis).sum().backward()
        np.testing.assert_allclose(xn.to_numpy(ta.grad), 1.0)
        np.testing.assert_allclose(xn.to_numpy(tb.grad), 2.0)
