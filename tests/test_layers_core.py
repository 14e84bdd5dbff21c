"""Core layers: the contract rows for Dense and Identity, and the Layer base."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

from layer_contract import LayerCase

LAYER_CASES = [
    LayerCase(lambda: layers.Dense(4), (3, 5), (3, 4), 5 * 4 + 4),
    LayerCase(
        lambda: layers.Dense(2, activation="tanh", use_bias=False),
        (2, 3, 5),
        (2, 3, 2),
        10,
        label="3-D, tanh, no bias",
    ),
    LayerCase(
        lambda: layers.Dense(3, activation="sigmoid", kernel_regularizer="l2"),
        (4, 2),
        (4, 3),
        9,
        label="l2",
    ),
    LayerCase(lambda: layers.Dense(6, activation="relu"), (5, 4), (5, 6), 30, label="fused relu"),
    LayerCase(lambda: layers.Identity(), (2, 3), (2, 3), 0, train_step=False),
]


def test_dense_validates_units():
    for bad in (0, -3, 2.5, "4", True):
        with pytest.raises(ValueError, match=r"Dense: expected a positive integer for units"):
            layers.Dense(bad)


def test_dense_wrong_input_size_is_actionable():
    d = layers.Dense(2)
    d(np.ones((1, 784)))
    with pytest.raises(ValueError, match=r"last dimension 784, got 28.*Flatten"):
        d(np.ones((1, 28)))
    with pytest.raises(ValueError, match="rank >= 2"):
        layers.Dense(2)(np.ones(3))


def test_unknown_identifiers_list_valid_names():
    with pytest.raises(ValueError, match=r"Unknown activation 'rleu'.*relu"):
        layers.Dense(2, activation="rleu")
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot'.*glorot_uniform"):
        layers.Dense(2, kernel_initializer="glorot")
    with pytest.raises(TypeError, match="Cannot interpret regularizer identifier 3"):
        layers.Dense(2, kernel_regularizer=3)


def test_names_are_unique_and_weights_named():
    layers.clear_session()
    a, b = layers.Dense(1), layers.Dense(1)
    assert (a.name, b.name) == ("dense", "dense_1")
    a(np.ones((1, 2)))
    assert [p.name for p in a.weights] == ["dense/kernel", "dense/bias"]
    with pytest.raises(ValueError, match="non-empty string"):
        layers.Dense(1, name="")


def test_trainable_flag_and_weight_lists():
    d = layers.Dense(2)
    d(np.ones((1, 3)))
    assert len(d.trainable_weights) == 2 and d.non_trainable_weights == []
    d.trainable = False
    assert d.trainable_weights == [] and len(d.non_trainable_weights) == 2
    assert not any(p.requires_grad for p in d.weights)
    d.trainable = True
    assert all(p.requires_grad for p in d.weights)


def test_nested_layers_are_found_and_training_flows_down():
    seen = []

    class Probe(layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.inner = [layers.Dense(3), {"probe": Probe()}]
            self.out = layers.Dense(1)

        def call(self, x):
            return self.out(self.inner[1]["probe"](self.inner[0](x)))

    block = Block()
    block(np.ones((2, 4)), training=True)
    block(np.ones((2, 4)))
    assert seen == [True, None]
    assert len(block.weights) == 4
    assert {type(layer).__name__ for layer in block.layers} == {"Dense", "Probe"}
    block.zero_grad()


def test_set_weights_validates():
    d = layers.Dense(2)
    d(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"expected 2 weight arrays"):
        d.set_weights([np.ones((3, 2))])
    with pytest.raises(ValueError, match=r"dense.*/kernel has shape \(3, 2\).*\(2, 2\)"):
        d.set_weights([np.ones((2, 2)), np.ones(2)])


def test_losses_collect_regularizers():
    d = layers.Dense(
        2,
        kernel_initializer="ones",
        kernel_regularizer=xn.regularizers.L1(0.5),
        activity_regularizer="l2",
    )
    out = d(np.ones((4, 3)))
    losses = d.losses
    assert len(losses) == 2
    expected_activity = 0.01 * float((xn.to_numpy(out) ** 2).sum()) / 4
    np.testing.assert_allclose(losses[0].item(), expected_activity, rtol=1e-5)
    np.testing.assert_allclose(losses[1].item(), 0.5 * 6, rtol=1e-6)


def test_calling_build_directly_marks_the_layer_built():
    d = layers.Dense(2)
    d.build((None, 3))
    assert d.built and d.kernel.shape == (3, 2)


def test_relu_is_fused_into_the_linear_node():
    x = np.ones((2, 3), dtype="float32")
    assert isinstance(layers.Dense(2, activation="relu")(x)._ctx, xn.ops.linalg.Linear)
    assert not isinstance(layers.Dense(2, activation="tanh")(x)._ctx, xn.ops.linalg.Linear)
    assert not isinstance(
        layers.Dense(2, activation=xn.activations.relu6)(x)._ctx, xn.ops.linalg.Linear
    )
