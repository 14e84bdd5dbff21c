"""The Keras 3 names a porting user hits first: xn.utils, xn.config, xn.random, xn.Variable,
clear_session, aliases, lowercase factories, the serializable registry, clone_model.

Numbers marked "Keras 3.15" were printed by Keras 3.15 (JAX backend) on 2026-12-04.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers


def test_to_categorical_matches_keras():
    got = xn.utils.to_categorical([[1], [0], [2]])
    # Keras 3.15: [[0, 1, 0], [1, 0, 0], [0, 0, 1]] (a trailing axis of 1 is dropped)
    np.testing.assert_array_equal(got, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert got.dtype == np.float32
    assert xn.utils.to_categorical(np.array([[1, 2], [0, 3]]), 4).shape == (2, 2, 4)
    with pytest.raises(ValueError, match=r"does not fit num_classes=3"):
        xn.utils.to_categorical([0, 3], num_classes=3)
    with pytest.raises(ValueError, match="integer class labels"):
        xn.utils.to_categorical([0.5, 1.0])


def test_pad_sequences_matches_keras():
    s = [[1, 2, 3], [4], [5, 6, 7, 8, 9]]
    got = xn.utils.pad_sequences(s)
    assert got.tolist() == [[0, 0, 1, 2, 3], [0, 0, 0, 0, 4], [5, 6, 7, 8, 9]]  # Keras 3.15
    assert got.dtype == np.int32
    post = xn.utils.pad_sequences(s, maxlen=3, padding="post", truncating="post")
    assert post.tolist() == [[1, 2, 3], [4, 0, 0], [5, 6, 7]]  # Keras 3.15
    assert xn.utils.pad_sequences(s, maxlen=2, value=-1).tolist() == [[2, 3], [-1, 4], [8, 9]]
    with pytest.raises(ValueError, match="padding must be 'pre' or 'post'"):
        xn.utils.pad_sequences(s, padding="middle")


def test_split_dataset_sizes_and_structure():
    x, y = np.arange(10), np.arange(10) * 2
    (lx, ly), (rx, _) = xn.utils.split_dataset((x, y), left_size=0.8)
    assert len(lx) == 8 and len(rx) == 2
    np.testing.assert_array_equal(ly, lx * 2)
    left, right = xn.utils.split_dataset(x, right_size=3)
    assert len(left) == 7 and len(right) == 3
    a, b = xn.utils.split_dataset({"a": x}, left_size=4, shuffle=True, seed=1)
    assert sorted(np.concatenate([a["a"], b["a"]]).tolist()) == list(range(10))
    with pytest.raises(ValueError, match="exceeds"):
        xn.utils.split_dataset(x, left_size=8, right_size=5)


def test_set_random_seed_repeats_initial_weights():
    def weights():
        xn.utils.set_random_seed(7)
        d = layers.Dense(3)
        d(np.zeros((1, 4), "float32"))
        return xn.to_numpy(d.kernel)

    np.testing.assert_array_equal(weights(), weights())


@pytest.mark.skipif(importlib.util.find_spec("pydot") is not None, reason="pydot installed")
def test_plot_model_without_pydot_says_what_to_install(tmp_path):
    model = xn.Sequential([xn.Input(shape=(2,)), layers.Dense(1)])
    with pytest.raises(ImportError, match="pip install pydot"):
        xn.utils.plot_model(model, to_file=str(tmp_path / "m.png"))


def test_config_names():
    assert xn.config.floatx() == "float32"
    assert xn.config.epsilon() == 1e-7  # Keras 3.15
    assert xn.config.image_data_format() == "channels_last"
    assert xn.config.backend() == xn.get_backend().name
    with pytest.raises(ValueError, match="channels-last only"):
        xn.config.set_image_data_format("channels_first")
    saved = xn.config.epsilon()
    try:
        xn.config.set_epsilon(1e-5)
        assert xn.config.epsilon() == 1e-5
    finally:
        xn.config.set_epsilon(saved)


def test_random_functions(backend):
    a = xn.random.normal((200, 50), mean=1.0, stddev=2.0, seed=3)
    b = xn.random.normal((200, 50), mean=1.0, stddev=2.0, seed=3)
    np.testing.assert_array_equal(xn.to_numpy(a), xn.to_numpy(b))
    assert abs(float(xn.to_numpy(a).mean()) - 1.0) < 0.1
    assert abs(float(xn.to_numpy(a).std()) - 2.0) < 0.1
    u = xn.to_numpy(xn.random.uniform((1000,), minval=-1.0, maxval=3.0))
    assert u.min() >= -1.0 and u.max() < 3.0
    t = xn.to_numpy(xn.random.truncated_normal((1000,), stddev=1.0, seed=0))
    assert np.abs(t).max() <= 2.0
    r = xn.to_numpy(xn.random.randint((100,), 2, 5, seed=0))
    assert set(r.tolist()) <= {2, 3, 4}
    gen = xn.random.SeedGenerator(1)
    s1, s2 = xn.random.uniform((4,), seed=gen), xn.random.uniform((4,), seed=gen)
    assert not np.array_equal(xn.to_numpy(s1), xn.to_numpy(s2))  # the stream advances
    perm = xn.to_numpy(xn.random.shuffle(np.arange(6.0), seed=0))
    assert sorted(perm.tolist()) == list(range(6))
    d = xn.to_numpy(xn.random.dropout(np.ones((100, 100), "float32"), 0.25, seed=0))
    assert set(np.unique(d).tolist()) <= {0.0, float(np.float32(1 / 0.75))}


def test_variable_and_layer_at_top_level(backend):
    v = xn.Variable(np.ones((2,)), name="v")
    assert v.dtype == xn.backend.dtype("float32") and v.trainable  # Keras 3.15: float32, True
    v.assign_add(np.ones(2))
    np.testing.assert_array_equal(xn.to_numpy(v), [2.0, 2.0])
    w = xn.Variable("glorot_uniform", shape=(3, 4))
    assert w.shape == (3, 4)
    with pytest.raises(ValueError, match="needs shape="):
        xn.Variable("zeros")
    assert xn.Layer is xn.layers.Layer

    class Holder(xn.Layer):
        def __init__(self):
            super().__init__()
            self.v = xn.Variable(np.zeros((3,)))

        def call(self, x):
            return x + self.v

    assert len(Holder().weights) == 1


def test_clear_session_restarts_names():
    xn.backend.clear_session()
    assert layers.Dense(1).name == "dense"
    assert layers.Dense(1).name == "dense_1"
    xn.backend.clear_session()
    assert layers.Dense(1).name == "dense"


def test_aliases_and_lowercase_factories():
    assert layers.MaxPool2D is layers.MaxPooling2D
    assert layers.GlobalAvgPool2D is layers.GlobalAveragePooling2D
    assert layers.Convolution2D is layers.Conv2D
    for alias, name in layers.ALIASES.items():
        assert getattr(layers, alias) is getattr(layers, name)
    reg = xn.regularizers.l2(1e-4)
    assert reg.get_config() == {"l2": 1e-4}  # Keras 3.15: {'l2': 0.0001}
    assert xn.regularizers.l1_l2().get_config() == {"l1": 0.0, "l2": 0.0}  # Keras 3.15
    assert isinstance(xn.constraints.max_norm(2.0), xn.constraints.MaxNorm)
    d = layers.Dense(2, kernel_regularizer=xn.regularizers.l2(1e-4))
    d(np.ones((1, 3), "float32"))
    expected = 1e-4 * float((xn.to_numpy(d.kernel).astype(np.float64) ** 2).sum())
    assert float(xn.to_numpy(d.losses[0])) == pytest.approx(expected, rel=1e-5)


def test_merge_helpers_build_the_layers():
    a, b = xn.Input(shape=(3,)), xn.Input(shape=(3,))
    outs = [
        layers.add([a, b]),
        layers.subtract([a, b]),
        layers.multiply([a, b]),
        layers.average([a, b]),
        layers.maximum([a, b]),
        layers.minimum([a, b]),
        layers.concatenate([a, b]),
        layers.dot([a, b], axes=1),
    ]
    model = xn.Model([a, b], outs)
    x, y = np.array([[1.0, -2.0, 3.0]], "float32"), np.array([[2.0, 2.0, 2.0]], "float32")
    got = [xn.to_numpy(o) for o in model([x, y])]
    want = [x + y, x - y, x * y, (x + y) / 2, np.maximum(x, y), np.minimum(x, y)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w)
    np.testing.assert_allclose(got[6], np.concatenate([x, y], 1))
    np.testing.assert_allclose(got[7], [[4.0]])


@xn.saving.register_keras_serializable(package="tests")
class Doubler(layers.Layer):
    def call(self, x):
        return x * 2.0


def test_registered_layer_loads_without_custom_objects(tmp_path):
    model = xn.Sequential([xn.Input(shape=(2,)), Doubler(), layers.Dense(1)])
    model.save(tmp_path / "m.xpnet")
    clone = xn.models.load_model(tmp_path / "m.xpnet")
    assert isinstance(clone.layers[0], Doubler)
    assert xn.saving.get_registered_name(Doubler) == "tests>Doubler"
    assert xn.saving.get_registered_object("tests>Doubler") is Doubler


def test_dict_outputs_save_and_load(tmp_path):
    inp = xn.Input(shape=(3,), name="x")
    model = xn.Model(inp, {"b": layers.Dense(2, name="db")(inp), "a": layers.Dense(1)(inp)})
    assert model.output_names == ["a", "b"]
    assert model.output_shape == {"a": (None, 1), "b": (None, 2)}
    model.save(tmp_path / "m.xpnet")
    clone = xn.models.load_model(tmp_path / "m.xpnet")
    x = np.ones((2, 3), "float32")
    got, want = clone.predict(x, verbose=0), model.predict(x, verbose=0)
    assert sorted(got) == ["a", "b"]
    for k in want:
        np.testing.assert_allclose(xn.to_numpy(got[k]), xn.to_numpy(want[k]))


def test_clone_model_same_architecture_new_weights():
    seq = xn.Sequential([xn.Input(shape=(4,)), layers.Dense(3), layers.BatchNormalization()])
    c = xn.models.clone_model(seq)
    assert [type(la) for la in c.layers] == [type(la) for la in seq.layers]
    assert [w.shape for w in c.get_weights()] == [w.shape for w in seq.get_weights()]
    assert not np.array_equal(c.get_weights()[0], seq.get_weights()[0])  # re-initialized
    inp = xn.Input(shape=(4,))
    fun = xn.Model(inp, layers.Dense(2)(layers.Dense(3)(inp)))
    fc = xn.models.clone_model(fun)
    assert fc.count_params() == fun.count_params()
    fc.set_weights(fun.get_weights())
    x = np.ones((1, 4), "float32")
    np.testing.assert_allclose(xn.to_numpy(fc(x)), xn.to_numpy(fun(x)))
    shared = xn.models.clone_model(seq, clone_function=lambda layer: layer)
    assert shared.layers[0] is seq.layers[0]

    class Sub(xn.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="subclassed model"):
        xn.models.clone_model(Sub())
