"""Keras 3 weight order and initial weights, against numbers recorded from Keras 3.15.

The facts below were taken by running Keras 3.15 (JAX backend) on 2026-12-04: the
script built the same model, set the weights listed here with ``set_weights`` and
printed ``predict``'s output. Matching it proves that xpnet reads the list in Keras
3's order (each layer's weights together: BatchNormalization's gamma, beta,
moving_mean, moving_variance between the two Dense layers).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers

# Keras 3.15: [tuple(w.shape) for w in model.get_weights()]
KERAS_SHAPES = [(4, 3), (3,), (3,), (3,), (3,), (3,), (3, 2), (2,)]
# Keras 3.15: model.predict(x) after model.set_weights(_weights())
KERAS_OUT = [[1.7338707447052002, 5.022924423217773], [1.5796315670013428, 5.177163124084473]]


def _weights():
    ws = [
        np.linspace(-1, 1, math.prod(s)).reshape(s).astype("float32") * (i + 1) / 4
        for i, s in enumerate(KERAS_SHAPES)
    ]
    ws[5] = np.abs(ws[5]) + 0.5  # a positive moving variance
    return ws


def test_set_weights_takes_a_keras_3_list_with_batchnorm(backend):
    model = xn.Sequential(
        [xn.Input(shape=(4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(2)]
    )
    assert [tuple(w.shape) for w in model.get_weights()] == KERAS_SHAPES
    assert [w.name.split("/")[-1] for w in model.weights] == [
        "kernel",
        "bias",
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
        "kernel",
        "bias",
    ]
    model.set_weights(_weights())
    x = np.linspace(-2, 2, 8).reshape(2, 4).astype("float32")
    np.testing.assert_allclose(xn.to_numpy(model.predict(x, verbose=0)), KERAS_OUT, rtol=1e-5)
    for got, want in zip(model.get_weights(), _weights()):
        np.testing.assert_array_equal(got, want)


def test_test_on_batch_matches_keras_and_resets_each_call(backend):
    model = xn.Sequential(
        [xn.Input(shape=(4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(2)]
    )
    model.set_weights(_weights())
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.linspace(-2, 2, 8).reshape(2, 4).astype("float32")
    y = np.ones((2, 2), "float32")
    # Keras 3.15: the three calls give [8.6268, 2.3784], [8.3612, 2.3784], [8.6268, 2.3784]
    first = model.test_on_batch(x, y)
    one = model.test_on_batch(x[:1], y[:1])
    again = model.test_on_batch(x, y)
    np.testing.assert_allclose(first, [8.626788139343262, 2.3783974647521973], rtol=1e-5)
    np.testing.assert_allclose(one, [8.361244201660156, 2.3783974647521973], rtol=1e-5)
    np.testing.assert_allclose(again, first, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_multi_head_attention_kernels_start_at_keras_scale(seed):
    # Keras 3.15 (EinsumDense tells glorot_uniform its input and output axes): for
    # num_heads=4, key_dim=8 on 16 features every kernel has fans (16, 32), limit
    # sqrt(6 / 48) = 0.3536; its largest entries were 0.3526, 0.3534, 0.3529, 0.3535.
    xn.set_seed(seed)
    mha = layers.MultiHeadAttention(num_heads=4, key_dim=8)
    q = np.zeros((1, 3, 16), "float32")
    mha(q, q)
    limit = math.sqrt(6 / 48)
    names = [w.name.split("/")[-1] for w in mha.weights]
    assert names == [
        "query_kernel",
        "query_bias",
        "key_kernel",
        "key_bias",
        "value_kernel",
        "value_bias",
        "output_kernel",
        "output_bias",
    ]
    for w in mha.weights:
        a = xn.to_numpy(w)
        if w.name.endswith("kernel"):
            assert np.abs(a).max() <= limit
            assert np.abs(a).max() > 0.95 * limit  # 512 draws reach the edge
            assert a.std() == pytest.approx(limit / math.sqrt(3), rel=0.1)


def test_add_weight_defaults_follow_keras_3():
    class Probe(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(40, 60))
            self.s = self.add_weight()
            self.named = self.add_weight((2,), "ones", name="named")

        def call(self, inputs):
            return inputs

    p = Probe()
    p(np.zeros((1, 2), "float32"))
    w = xn.to_numpy(p.w)
    limit = math.sqrt(6 / 100)  # glorot_uniform, as Keras 3's add_weight defaults to
    assert np.abs(w).max() <= limit and w.std() == pytest.approx(limit / math.sqrt(3), rel=0.1)
    assert p.s.shape == ()
    assert p.named.name.endswith("/named")
    np.testing.assert_array_equal(xn.to_numpy(p.named), np.ones(2))
    with pytest.raises(ValueError, match="fully defined shape"):
        Probe().add_weight(shape=(None, 3))
    with pytest.raises(ValueError, match="both positionally and as a keyword"):
        Probe().add_weight((2,), shape=(3,))


def test_losses_get_gives_keras_3_functions():
    per = xn.losses.get("mse")(np.ones((2, 3), "float32"), xn.Tensor(np.zeros((2, 3))))
    np.testing.assert_allclose(xn.to_numpy(per), [1.0, 1.0])  # Keras 3.15: [1. 1.]


def test_files_in_the_old_weight_order_still_load(tmp_path, monkeypatch):
    # files written before Keras 3's order listed all trainable weights first: write one
    # the way that code did, then load it with today's order
    def build():
        return xn.Sequential(
            [xn.Input(shape=(4,)), layers.Dense(3), layers.BatchNormalization(), layers.Dense(2)]
        )

    model = build()
    model.set_weights(_weights())
    with monkeypatch.context() as m:
        m.setattr(
            xn.layers.Layer,
            "weights",
            property(lambda self: self.trainable_weights + self.non_trainable_weights),
        )
        model.save_weights(tmp_path / "old.weights.npz")
        model.save(tmp_path / "old.xpnet")
    for load in (
        lambda: (lambda f: (f.load_weights(tmp_path / "old.weights.npz"), f)[1])(build()),
        lambda: xn.models.load_model(tmp_path / "old.xpnet"),
    ):
        fresh = load()
        for got, want in zip(fresh.get_weights(), _weights()):
            np.testing.assert_array_equal(got, want)
