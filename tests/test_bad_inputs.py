# ruff: noqa: E501 (one row per line keeps the table readable)
"""Bad inputs, table-driven: every one gets a clear error (its type, and a message that
says what was expected and what was received) or a defined result.

Rows run against fit, evaluate, predict, train_on_batch, the layers and the losses.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet.layers import Dense

X = np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32)
Y = np.arange(10) % 3


def model():
    xn.set_seed(0)
    m = xn.Sequential([xn.Input(shape=(4,)), Dense(3, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy")
    return m


def fit(**kw):
    args = {"x": X, "y": Y, "verbose": 0} | kw
    return lambda: model().fit(**args)


def evaluate(**kw):
    args = {"x": X, "y": Y, "verbose": 0} | kw
    return lambda: model().evaluate(**args)


def predict(**kw):
    args = {"x": X, "verbose": 0} | kw
    return lambda: model().predict(**args)


def layer(layer_fn, x):
    return lambda: layer_fn()(xn.Tensor(x) if not isinstance(x, xn.Tensor) else x)


def checkpoint_without_validation(tmp="/tmp"):
    def run():
        cb = xn.callbacks.ModelCheckpoint(f"{tmp}/xpnet_bad_{{val_loss:.2f}}.xpnet")
        model().fit(X, Y, epochs=1, verbose=0, callbacks=[cb])

    return run


# (label, call, error type, words the message must contain: expected ... received)
ERRORS = [
    ("fit batch_size=0", fit(batch_size=0), ValueError, ["positive integer", "batch_size=0"]),
    ("fit batch_size=-3", fit(batch_size=-3), ValueError, ["positive integer", "-3"]),
    ("fit batch_size=2.5", fit(batch_size=2.5), ValueError, ["positive integer", "2.5"]),
    ("fit batch_size=True", fit(batch_size=True), ValueError, ["positive integer", "True"]),
    ("evaluate batch_size=0", evaluate(batch_size=0), ValueError, ["positive integer", "=0"]),
    ("predict batch_size=0", predict(batch_size=0), ValueError, ["positive integer", "=0"]),
    ("fit steps_per_epoch=0", fit(steps_per_epoch=0), ValueError, ["positive", "steps_per_epoch=0"]),
    ("fit steps_per_epoch=-1", fit(steps_per_epoch=-1), ValueError, ["positive", "=-1"]),
    ("fit validation_steps=0", fit(validation_steps=0), ValueError, ["positive", "=0"]),
    ("evaluate steps=0", evaluate(steps=0), ValueError, ["positive", "steps=0"]),
    ("predict steps=-2", predict(steps=-2), ValueError, ["positive", "steps=-2"]),
    ("fit epochs=2.5", fit(epochs=2.5), ValueError, ["integer >= 0", "epochs=2.5"]),
    ("fit epochs=-1", fit(epochs=-1), ValueError, ["integer >= 0", "epochs=-1"]),
    ("fit epochs='3'", fit(epochs="3"), ValueError, ["integer >= 0", "epochs='3'"]),
    ("fit initial_epoch=-1", fit(initial_epoch=-1), ValueError, ["integer >= 0", "=-1"]),
    ("fit validation_freq=0", fit(validation_freq=0, validation_split=0.2), ValueError, ["positive integer", "validation_freq=0"]),
    ("fit validation_freq=[0]", fit(validation_freq=[0], validation_split=0.2), ValueError, ["positive integer", "=0"]),
    ("fit validation_split=1.5", fit(validation_split=1.5), ValueError, ["[0, 1)", "1.5"]),
    ("fit validation_split=-0.1", fit(validation_split=-0.1), ValueError, ["[0, 1)", "-0.1"]),
    ("fit empty x", fit(x=X[:0], y=Y[:0]), ValueError, ["at least one sample", "0 samples"]),
    ("evaluate empty", evaluate(x=X[:0], y=Y[:0]), ValueError, ["at least one sample", "0 samples"]),
    ("predict empty", predict(x=X[:0]), ValueError, ["at least one sample", "0 samples"]),
    ("train_on_batch empty", lambda: model().train_on_batch(X[:0], Y[:0]), ValueError, ["at least one sample", "0 samples"]),
    ("fit y=None with a loss", fit(y=None), ValueError, ["needs targets", "y=None"]),
    ("evaluate y=None with a loss", evaluate(y=None), ValueError, ["needs targets", "y=None"]),
    ("train_on_batch y=None", lambda: model().train_on_batch(X), ValueError, ["needs targets", "y=None"]),
    ("fit object x", fit(x=X.astype(object)), TypeError, ["real numbers", "object"]),
    ("fit string x", fit(x=X.astype(str)), TypeError, ["real numbers", "dtype <U"]),
    ("fit complex x", fit(x=X.astype(np.complex64)), TypeError, ["real numbers", "complex64"]),
    ("predict complex x", predict(x=X.astype(np.complex128)), TypeError, ["real numbers", "complex128"]),
    ("fit string y", fit(y=Y.astype(str)), TypeError, ["real numbers", "dtype <U"]),
    ("fit 0-d x", fit(x=np.float32(1.0), y=np.int64(0)), ValueError, ["sample", "0-d"]),
    ("predict 0-d x", predict(x=np.float32(1.0)), ValueError, ["sample", "0-d"]),
    ("predict_on_batch 0-d x", lambda: model().predict_on_batch(np.float32(1.0)), ValueError, ["sample", "0-d"]),
    ("predict two arrays, one input", predict(x=[X, X]), ValueError, ["expects 1 input", "list of 2 arrays"]),
    ("fit two arrays, one input", fit(x=[X, X]), ValueError, ["expects 1 input", "list of 2 arrays"]),
    ("class_weight key -1", fit(class_weight={-1: 2.0}), ValueError, ["integer >= 0", "-1"]),
    ("class_weight key 'a'", fit(class_weight={"a": 2.0}), ValueError, ["integer >= 0", "'a'"]),
    ("class_weight key 1.5", fit(class_weight={1.5: 2.0}), ValueError, ["integer >= 0", "1.5"]),
    ("class_weight weight -1", fit(class_weight={0: -1.0}), ValueError, [">= 0", "-1.0"]),
    ("class_weight weight nan", fit(class_weight={0: float("nan")}), ValueError, [">= 0", "nan"]),
    ("class_weight a list", fit(class_weight=[1.0, 2.0]), TypeError, ["dict", "list"]),
    ("class_weight key beyond one-hot", lambda: _onehot_model().fit(X, np.eye(3)[Y], class_weight={5: 1.0}, verbose=0), ValueError, ["3 classes", "[5]"]),
    ("verbose=5", fit(verbose=5), ValueError, ["'auto', 0, 1 or 2", "5"]),
    ("shuffle='yes'", fit(shuffle="yes"), ValueError, ["True, False or 'batch'", "'yes'"]),
    ("ModelCheckpoint {val_loss} without validation", checkpoint_without_validation(), KeyError, ["val_loss", "available"]),
    ("Softmax axis=5", layer(lambda: xn.layers.Softmax(axis=5), X), ValueError, ["[-2, 1]", "axis 5"]),
    ("Softmax axis=-3", layer(lambda: xn.layers.Softmax(axis=-3), X), ValueError, ["[-2, 1]", "axis -3"]),
    ("LSTM over 0 timesteps", layer(lambda: xn.layers.LSTM(2), np.zeros((2, 0, 3), np.float32)), ValueError, ["timesteps >= 1", "(2, 0, 3)"]),
    ("GRU over 0 timesteps", layer(lambda: xn.layers.GRU(2), np.zeros((2, 0, 3), np.float32)), ValueError, ["timesteps >= 1", "(2, 0, 3)"]),
    ("SimpleRNN on 2-D", layer(lambda: xn.layers.SimpleRNN(2), np.zeros((2, 3), np.float32)), ValueError, ["(batch, timesteps", "(2, 3)"]),
    ("Embedding fractional ids", layer(lambda: xn.layers.Embedding(10, 2), np.array([[1.5, 2.0]], np.float32)), ValueError, ["whole-number ids", "fractional"]),
    ("Embedding ids out of range", layer(lambda: xn.layers.Embedding(10, 2), np.array([[1, 12]])), ValueError, ["0 .. 9", "[1, 12]"]),
    ("Embedding complex ids", lambda: xn.layers.Embedding(10, 2).check_input_values(np.array([1 + 1j])), TypeError, ["integer ids", "complex"]),
    ("Dense units=0", lambda: Dense(0), ValueError, ["positive integer", "units=0"]),
    ("Dense units=4e8 float", lambda: Dense(4e8), ValueError, ["positive integer", "400000000.0"]),
    ("Dropout rate=1", lambda: xn.layers.Dropout(1.0), ValueError, ["[0, 1)", "rate=1.0"]),
    ("Dense use_bias='no'", lambda: Dense(2, use_bias="no"), ValueError, ["True or False", "use_bias='no'"]),
    ("LSTM return_sequences=1", lambda: xn.layers.LSTM(2, return_sequences=1), ValueError, ["True or False", "return_sequences=1"]),
    ("Adam amsgrad='yes'", lambda: xn.optimizers.Adam(amsgrad="yes"), ValueError, ["True or False", "amsgrad='yes'"]),
    ("compile loss_weights='x'", lambda: model().compile("sgd", "mse", loss_weights="x"), ValueError, ["finite numbers", "loss_weights='x'"]),
    ("compile loss_weights=[nan]", lambda: model().compile("sgd", "mse", loss_weights=[float("nan")]), ValueError, ["finite numbers", "nan"]),
    ("int ids beyond float32 for a float Input", lambda: model().predict(np.full((2, 4), 2**25, np.int64), verbose=0), ValueError, ["do not fit float32 exactly", "33554432"]),
    ("Layer trainable='no'", lambda: Dense(2, trainable="no"), ValueError, ["True or False", "trainable='no'"]),
    ("loss labels out of range", lambda: model().fit(X, Y + 5, verbose=0), ValueError, ["3", "7"]),
    ("loss negative labels", lambda: model().fit(X, Y - 1, verbose=0), ValueError, ["-1", "0"]),
    ("loss shape mismatch", lambda: xn.losses.MeanSquaredError()(np.zeros((4, 3), np.float32), np.zeros((4, 2), np.float32)), ValueError, ["(4, 3)", "(4, 2)"]),
    ("loss string y_true", lambda: xn.losses.MeanSquaredError()(np.array(["a", "b"]), np.zeros(2, np.float32)), TypeError, ["real numbers", "<U1"]),
    ("loss complex y_pred", lambda: xn.losses.MeanSquaredError()(np.zeros(2, np.float32), np.zeros(2, np.complex64)), TypeError, ["real numbers", "complex64"]),
    ("loss 0-d y_pred", lambda: xn.losses.MeanSquaredError()(np.float32(1), np.float32(2)), ValueError, ["batch dimension", "0-d"]),
    ("to_categorical num_classes=2.5", lambda: xn.data.to_categorical([0, 1], num_classes=2.5), ValueError, ["positive integer", "num_classes=2.5"]),
    ("loss fractional sparse labels", lambda: model().fit(X, Y + 0.5, verbose=0), ValueError, ["integer", "0.5"]),
    ("to_categorical fractional", lambda: xn.data.to_categorical([0.5, 1]), ValueError, ["integer class labels", "not whole numbers"]),
    ("ArrayFeed batch_size=0", lambda: xn.data.ArrayFeed([X], batch_size=0), ValueError, ["positive integer", "batch_size=0"]),
    ("ragged list x", fit(x=[[1.0, 2.0], [3.0]], y=Y[:2]), TypeError, ["numeric", "ragged"]),
    ("different lengths x, y", fit(y=Y[:7]), ValueError, ["same number of samples", "[10, 7]"]),
]  # fmt: skip


def _onehot_model():
    m = model()
    m.compile("sgd", "categorical_crossentropy")
    return m


@pytest.mark.parametrize(("label", "call", "error", "words"), ERRORS, ids=[e[0] for e in ERRORS])
def test_bad_input_gets_a_clear_error(label, call, error, words):
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    for word in words:
        assert word in message, f"{label}: {word!r} not in {message!r}"


# (label, call, check of the result): defined results rather than errors
def _int64_inputs():
    out = model().predict(np.arange(40, dtype=np.int64).reshape(10, 4), verbose=0)
    assert xn.to_numpy(out).dtype == np.float32


def _numpy_int_batch_size():
    h = model().fit(X, Y, batch_size=np.int64(4), epochs=np.int64(2), verbose=0)
    assert len(h.history["loss"]) == 2


def _epochs_zero():
    m = model()
    before = [w.copy() for w in m.get_weights()]
    h = m.fit(X, Y, epochs=0, verbose=0)
    assert h.history == {} and all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def _huge_class_weight_key():
    # a key beyond the labels weighs nothing that exists: no table is sized by it
    h = model().fit(X, Y, class_weight={10**9: 2.0}, epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])


def _class_weight_numpy_keys():
    h = model().fit(X, Y, class_weight={np.int64(0): np.float32(2.0)}, epochs=1, verbose=0)
    assert np.isfinite(h.history["loss"][0])


def _whole_float_embedding_ids():
    e = xn.layers.Embedding(10, 2)
    a = xn.to_numpy(e(xn.Tensor(np.array([[1.0, 2.0]], np.float32))).data)
    b = xn.to_numpy(e(xn.Tensor(np.array([[1, 2]]))).data)
    np.testing.assert_array_equal(a, b)


def _int64_inputs_without_input_layer():
    xn.set_seed(0)
    m = xn.Sequential([Dense(3)])
    out = m.predict(np.arange(40, dtype=np.int64).reshape(10, 4), verbose=0)
    assert xn.to_numpy(out).dtype == np.float32


def _bool_inputs():
    out = model().predict(X > 0, verbose=0)
    assert xn.to_numpy(out).dtype == np.float32


def _steps_beyond_data():
    m = model()
    assert xn.to_numpy(m.predict(X, batch_size=4, steps=100, verbose=0)).shape == (10, 3)


DEFINED = [
    ("int64 inputs give float32 outputs", _int64_inputs),
    ("int64 inputs, no Input layer: float32 outputs", _int64_inputs_without_input_layer),
    ("bool inputs give float32 outputs", _bool_inputs),
    ("np.int64 batch_size and epochs accepted", _numpy_int_batch_size),
    ("epochs=0 trains nothing", _epochs_zero),
    ("class_weight key 10**9 allocates nothing", _huge_class_weight_key),
    ("class_weight NumPy keys and weights", _class_weight_numpy_keys),
    ("whole-number float Embedding ids", _whole_float_embedding_ids),
    ("steps beyond the data stop at the data", _steps_beyond_data),
]


@pytest.mark.parametrize(("label", "check"), DEFINED, ids=[d[0] for d in DEFINED])
def test_odd_input_gets_a_defined_result(label, check):
    check()
