"""Activation layers: contract rows (ReLU, LeakyReLU, PReLU, ELU, Softmax, Activation) and
their argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from helpers import away_from
from layer_contract import LayerCase


def _away(*kinks, shape=(3, 4)):
    return lambda r: away_from(kinks, r, shape, -3.0, 3.0)


LAYER_CASES = [
    LayerCase(lambda: layers.ReLU(), (3, 4), (3, 4), 0, inputs=_away(0.0), train_step=False),
    LayerCase(
        lambda: layers.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.5),
        (2, 3, 4),
        (2, 3, 4),
        0,
        inputs=_away(0.0, 0.5, 1.0, shape=(2, 3, 4)),
        train_step=False,
        label="max_value, negative_slope, threshold",
    ),
    LayerCase(lambda: layers.LeakyReLU(), (3, 4), (3, 4), 0, inputs=_away(0.0), train_step=False),
    LayerCase(
        lambda: layers.ThresholdedReLU(theta=0.5),
        (3, 4),
        (3, 4),
        0,
        inputs=_away(0.5),
        train_step=False,
    ),
    LayerCase(
        lambda: layers.Dense(3, activation=xn.activations.LeakyReLU(0.01)),
        (4, 5),
        (4, 3),
        18,
        label="parametrized activation",
    ),
    LayerCase(
        lambda: layers.PReLU(alpha_initializer=xn.initializers.Constant(0.25)),
        (2, 3, 4),
        (2, 3, 4),
        12,
        inputs=_away(0.0, shape=(2, 3, 4)),
    ),
    LayerCase(
        lambda: layers.PReLU(shared_axes=[1], alpha_regularizer="l2", alpha_constraint="non_neg"),
        (2, 3, 4),
        (2, 3, 4),
        4,
        inputs=_away(0.0, shape=(2, 3, 4)),
        label="shared_axes, regularizer, constraint",
    ),
    LayerCase(
        lambda: layers.ELU(alpha=0.5), (3, 4), (3, 4), 0, inputs=_away(0.0), train_step=False
    ),
    LayerCase(lambda: layers.Softmax(), (3, 5), (3, 5), 0, train_step=False),
    LayerCase(
        lambda: layers.Softmax(axis=(1, 2)),
        (2, 3, 4),
        (2, 3, 4),
        0,
        train_step=False,
        label="tuple axis",
    ),
    LayerCase(lambda: layers.Activation("gelu"), (3, 4), (3, 4), 0, train_step=False),
    LayerCase(
        lambda: layers.Activation("hard_sigmoid_legacy"),
        (3, 4),
        (3, 4),
        0,
        inputs=_away(-2.5, 2.5),
        train_step=False,
        label="course notes' hard sigmoid",
    ),
]


def test_layers_compute_their_functions():
    x = xn.Tensor([[-2.0, -0.5, 0.5, 2.0]])
    relu = layers.ReLU(max_value=1.0, negative_slope=0.5, threshold=0.25)(x)
    np.testing.assert_allclose(xn.to_numpy(relu), [[-1.125, -0.375, 0.5, 1.0]])
    np.testing.assert_allclose(xn.to_numpy(layers.LeakyReLU()(x)), [[-0.6, -0.15, 0.5, 2.0]])
    np.testing.assert_allclose(
        xn.to_numpy(layers.ELU(alpha=2.0)(x)), [[2 * np.expm1(-2), 2 * np.expm1(-0.5), 0.5, 2]]
    )
    prelu = layers.PReLU()
    np.testing.assert_allclose(xn.to_numpy(prelu(x)), [[0.0, 0.0, 0.5, 2.0]])  # alpha = 0
    assert prelu.alpha.shape == (4,)


def test_prelu_alpha_shape_follows_shared_axes():
    layer = layers.PReLU(shared_axes=[1, 2])
    layer(np.ones((2, 5, 6, 3)))
    assert layer.alpha.shape == (1, 1, 3)
    assert layers.PReLU(shared_axes=2).get_config()["shared_axes"] == [2]
    with pytest.raises(ValueError, match=r"shared axis 3 does not exist for inputs of rank 3"):
        layers.PReLU(shared_axes=[3])(np.ones((2, 3, 4)))


def test_activation_none_is_linear_and_serializes():
    layer = layers.Activation(None)
    assert layer.activation is xn.activations.linear
    assert layers.Activation.from_config(layer.get_config()).activation is xn.activations.linear


def test_softmax_mask_zeroes_masked_positions():
    x = xn.Tensor([[1.0, 2.0, 3.0]])
    mask = np.array([[True, False, True]])
    out = xn.to_numpy(layers.Softmax()(x, mask=mask))
    e = np.exp([1.0, 3.0])
    np.testing.assert_allclose(out, [[e[0] / e.sum(), 0.0, e[1] / e.sum()]], rtol=1e-6)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: layers.ReLU(max_value=-1.0),
            r"ReLU: expected a number >= 0 or None for max_value",
        ),
        (lambda: layers.ReLU(negative_slope=-0.1), r"ReLU: .*negative_slope=-0.1"),
        (lambda: layers.ReLU(threshold="1"), r"ReLU: .*threshold='1'"),
        (lambda: layers.LeakyReLU(negative_slope=-1), r"LeakyReLU: .*>= 0"),
        (lambda: layers.ThresholdedReLU(theta=-1.0), r"ThresholdedReLU: .*theta=-1.0"),
        (lambda: layers.ThresholdedReLU(theta=None), r"ThresholdedReLU: .*theta=None"),
        (lambda: layers.ELU(alpha=None), r"ELU: expected a number for alpha"),
        (lambda: layers.PReLU(shared_axes=[0]), r"PReLU: .*integers >= 1.*batch axis"),
        (lambda: layers.Softmax(axis="last"), r"Softmax: expected an integer"),
        (lambda: layers.Activation("rleu"), r"Unknown activation 'rleu'.*relu"),
        (lambda: layers.PReLU(alpha_initializer="zeroes"), r"Unknown initializer 'zeroes'"),
    ],
)
def test_bad_arguments_raise_actionable_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_leaky_relu_takes_keras_2s_alpha_with_a_warning():
    with pytest.warns(DeprecationWarning, match="alpha is deprecated.*negative_slope=0.1"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    assert layer.get_config()["negative_slope"] == 0.1 and "alpha" not in layer.get_config()
    x = xn.Tensor([[-2.0, 3.0]])
    np.testing.assert_allclose(xn.to_numpy(layer(x)), [[-0.2, 3.0]], rtol=1e-6)
    with pytest.warns(DeprecationWarning), pytest.raises(ValueError, match="LeakyReLU"):
        layers.LeakyReLU(alpha=-1.0)


def test_thresholded_relu_values_and_the_relu_it_equals():
    x = xn.Tensor([[-1.0, 0.5, 1.0, 1.5, 3.0]])
    out = xn.to_numpy(layers.ThresholdedReLU()(x))  # theta 1.0: x > 1 stays
    np.testing.assert_array_equal(out, [[0.0, 0.0, 0.0, 1.5, 3.0]])
    np.testing.assert_array_equal(out, xn.to_numpy(layers.ReLU(threshold=1.0)(x)))
