"""``.keras`` files against Keras 3 itself: Keras writes, xpnet reads; xpnet writes, Keras
reads; the two models give the same outputs on the same inputs (float32 rounding).

Needs keras (with its JAX backend, on the CPU) and h5py: ``nox -s reference`` installs them.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
pytest.importorskip("h5py", reason='.keras files need h5py: pip install "xpnet[keras]"')
keras = pytest.importorskip("keras", reason="the .keras interop tests need Keras 3 (with jax)")

import xpnet as xn  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-5)
IDS = ["convnet", "recurrent", "two_inputs", "branches"]


def _keras_models():
    kl = keras.layers
    rng = np.random.default_rng(0)
    conv = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            kl.Conv2D(4, 3, padding="same", activation="relu"),
            kl.BatchNormalization(),
            kl.MaxPooling2D(),
            kl.Flatten(),
            kl.Dropout(0.3),
            kl.Dense(3, activation="softmax"),
        ]
    )
    x_img = rng.standard_normal((16, 8, 8, 3)).astype("float32")
    conv(x_img, training=True)  # moving statistics away from 0 and 1
    inp = keras.Input((7,), dtype="int32")
    e = kl.Embedding(12, 5)(inp)
    a = kl.LSTM(4, return_sequences=True)(e)
    b = kl.GRU(3)(a)
    c = kl.Activation("tanh")(kl.LayerNormalization()(b))
    d = kl.Dense(2, activation="relu")(b)
    rec = keras.Model(inp, kl.Concatenate()([c, d]))
    x_ids = rng.integers(0, 12, (5, 7)).astype("int32")
    two_in_a, two_in_b = keras.Input((4,)), keras.Input((3,))
    h = kl.concatenate([kl.Dense(6, activation="relu")(two_in_a), two_in_b])
    two = keras.Model([two_in_a, two_in_b], kl.Dense(1)(h))
    x_two = [
        rng.standard_normal((5, 4)).astype("float32"),
        rng.standard_normal((5, 3)).astype("float32"),
    ]
    # branches: Keras numbers the Dense layers ("dense", "dense_1", ...) in its own layer
    # order, which interleaves the branches differently from the order they were called
    p, q = keras.Input((3,), name="p"), keras.Input((4,), name="q")
    late = kl.Dense(2, name="late")(q)
    deep = kl.Dense(2, name="deep")(kl.Dense(5, name="mid")(kl.Dense(2, name="early")(p)))
    branches = keras.Model([p, q], kl.Add()([deep, late]))
    x_br = [
        rng.standard_normal((5, 3)).astype("float32"),
        rng.standard_normal((5, 4)).astype("float32"),
    ]
    return [
        ("convnet", conv, x_img[:4]),
        ("recurrent", rec, x_ids),
        ("two_inputs", two, x_two),
        ("branches", branches, x_br),
    ]


@pytest.mark.parametrize("index", range(4), ids=IDS)
def test_xpnet_reads_what_keras_writes(index, tmp_path):
    _, kmodel, x = _keras_models()[index]
    path = tmp_path / "k.keras"
    kmodel.save(path)
    model = xn.models.load_model(path)
    assert model.count_params() == kmodel.count_params()
    want = np.asarray(kmodel.predict(x, verbose=0))
    got = xn.to_numpy(model.predict(x, verbose=0))
    np.testing.assert_allclose(got, want, **TOL)


@pytest.mark.parametrize("index", range(4), ids=IDS)
def test_keras_reads_what_xpnet_writes(index, tmp_path):
    _, kmodel, x = _keras_models()[index]
    first = tmp_path / "k.keras"
    kmodel.save(first)
    model = xn.models.load_model(first)
    # new weights from xpnet (so nothing is left of Keras's values; positive, as moving
    # variances must be), then saved by xpnet
    rng = np.random.default_rng(5)
    model.set_weights(
        [
            np.abs(rng.standard_normal(w.shape)).astype("float32") * 0.3 + 0.05
            for w in model.get_weights()
        ]
    )
    path = tmp_path / "x.keras"
    model.save(path)
    back = keras.saving.load_model(path)
    assert back.count_params() == model.count_params()
    want = xn.to_numpy(model.predict(x, verbose=0))
    got = np.asarray(back.predict(x, verbose=0))
    np.testing.assert_allclose(got, want, **TOL)
