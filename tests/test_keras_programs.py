"""Keras 3 programs written the way keras.io teaches, run with only the imports changed.

Each program below is plain Keras 3 code whose two import lines read ``import
xpnet as keras`` / ``from xpnet import layers[, ops]`` instead of ``import
keras`` / ``from keras import ...``. The numbers it is checked against (parameter
counts, output shapes, history keys) were taken by running the same programs
with real Keras 3.15 (JAX backend) on 2026-12-04; they are written here as facts,
so this file needs no Keras at test time. Sizes are small: the torch backend runs
these too.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as keras
from xpnet import layers, ops


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()  # layer names as in a fresh Keras session
    yield


def test_convnet_with_to_categorical(backend):
    # keras.io "Simple MNIST convnet", shrunk to 12x12 inputs
    num_classes = 10
    input_shape = (12, 12, 1)
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(0)
    x_train = rng.random((64, 12, 12)).astype("float32")
    y_train = rng.integers(0, 10, 64)
    x_train = np.expand_dims(x_train, -1)
    y_train = keras.utils.to_categorical(y_train, num_classes)
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
            layers.MaxPool2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=16, epochs=2, validation_split=0.25, verbose=0)
    score = model.evaluate(x_train, y_train, verbose=0)
    pred = model.predict(x_train[:5], verbose=0)

    # Keras 3.15: model.summary() / count_params() / layer.output.shape
    assert model.count_params() == 1418
    assert [layer.count_params() for layer in model.layers] == [80, 0, 1168, 0, 0, 0, 170]
    assert [tuple(layer.output.shape) for layer in model.layers] == [
        (None, 10, 10, 8),
        (None, 5, 5, 8),
        (None, 3, 3, 16),
        (None, 1, 1, 16),
        (None, 16),
        (None, 16),
        (None, 10),
    ]
    assert [layer.name for layer in model.layers] == [
        "conv2d",
        "max_pooling2d",
        "conv2d_1",
        "max_pooling2d_1",
        "flatten",
        "dropout",
        "dense",
    ]
    assert y_train.shape == (64, 10)
    assert y_train.dtype == np.float32  # Keras gives float64 here; xpnet keeps float32
    np.testing.assert_array_equal(y_train.sum(axis=1), np.ones(64))
    assert tuple(pred.shape) == (5, 10)
    assert len(score) == 2
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(np.isfinite(v) for v in history.history["loss"])


def test_two_input_functional_model_with_concatenate_and_dict_outputs(backend):
    # keras.io "The Functional API": the ticket-ranking model, small
    num_tags = 6
    num_words = 100
    num_departments = 4

    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")

    title_features = layers.Embedding(num_words, 8)(title_input)
    body_features = layers.Embedding(num_words, 8)(body_input)
    title_features = layers.LSTM(16)(title_features)
    body_features = layers.LSTM(4)(body_features)

    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)

    model = keras.Model(
        inputs=[title_input, body_input, tags_input],
        outputs={"priority": priority_pred, "department": department_pred},
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={
            "priority": keras.losses.BinaryCrossentropy(from_logits=True),
            "department": keras.losses.CategoricalCrossentropy(from_logits=True),
        },
        loss_weights={"priority": 1.0, "department": 0.2},
    )
    rng = np.random.default_rng(0)
    title_data = rng.integers(num_words, size=(32, 5))
    body_data = rng.integers(num_words, size=(32, 7))
    tags_data = rng.integers(2, size=(32, num_tags)).astype("float32")
    priority_targets = rng.random(size=(32, 1))
    dept_targets = rng.integers(2, size=(32, num_departments))
    history = model.fit(
        {"title": title_data, "body": body_data, "tags": tags_data},
        {"priority": priority_targets, "department": dept_targets},
        epochs=2,
        batch_size=8,
        verbose=0,
    )
    out = model.predict({"title": title_data, "body": body_data, "tags": tags_data}, verbose=0)

    # Keras 3.15's numbers for this program
    assert model.count_params() == 3543
    assert {layer.name: layer.count_params() for layer in model.layers} == {
        "title": 0,
        "body": 0,
        "embedding": 800,
        "embedding_1": 800,
        "lstm": 1600,
        "lstm_1": 208,
        "tags": 0,
        "concatenate": 0,
        "department": 108,
        "priority": 27,
    }
    assert x.shape == (None, 26)
    assert isinstance(out, dict) and sorted(out) == ["department", "priority"]
    assert tuple(out["priority"].shape) == (32, 1)
    assert tuple(out["department"].shape) == (32, 4)
    assert sorted(history.history) == ["department_loss", "loss", "priority_loss"]
    # the total is the weighted sum of the two parts, as compile's loss_weights say
    h = history.history
    np.testing.assert_allclose(
        h["loss"][-1], h["priority_loss"][-1] + 0.2 * h["department_loss"][-1], rtol=1e-4
    )


class Linear(layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units),
            initializer="random_normal",
            trainable=True,
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class Scale(layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],))  # Keras's default initializer

    def call(self, inputs):
        return inputs * self.scale


class MLP(keras.Model):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.scale = Scale()
        self.linear_2 = Linear(10)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = keras.activations.relu(x)
        x = self.scale(x)
        return self.linear_2(x)


def test_subclassed_model_with_custom_layer_and_add_weight(backend):
    # keras.io "Making new layers and models via subclassing"
    keras.utils.set_random_seed(3)
    mlp = MLP()
    y = mlp(ops.ones((3, 64)))
    mlp.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    x = rng.random((40, 64)).astype("float32")
    t = rng.integers(0, 10, 40)
    h = mlp.fit(x, t, epochs=2, batch_size=10, verbose=0)
    tob = mlp.train_on_batch(x[:10], t[:10])

    # Keras 3.15's numbers for this program
    assert [tuple(w.shape) for w in mlp.weights] == [(64, 32), (32,), (32,), (32, 10), (10,)]
    assert mlp.count_params() == 2442
    assert tuple(y.shape) == (3, 10)
    assert sorted(h.history) == ["accuracy", "loss"]
    assert len(tob) == 2
    # add_weight without an initializer: glorot_uniform (Keras 3's default), limit
    # sqrt(6 / (fan_in + fan_out)) = sqrt(6 / 64) for a (32,) vector, never all zeros
    scale = keras.ops.convert_to_numpy(mlp.scale.scale)
    assert scale.shape == (32,)
    assert np.abs(scale).max() <= np.sqrt(6 / 64) + 1e-6
    assert np.abs(scale).max() > 0
