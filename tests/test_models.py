"""Building models: Sequential, functional graphs, subclassed models; summary, layers, weights."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet.layers import Dense

from helpers import assert_on_active_backend


def _x(n=5, d=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def _manual_mlp(x, weights):
    h = np.maximum(x @ weights[0] + weights[1], 0)
    return h @ weights[2] + weights[3]


def _sequential_variants():
    return {
        "list with Input": lambda: xn.Sequential(
            [xn.Input(shape=(4,)), Dense(3, activation="relu"), Dense(2)]
        ),
        "input_shape on first layer": lambda: xn.Sequential(
            [Dense(3, activation="relu", input_shape=(4,)), Dense(2)]
        ),
        "add()": lambda: _added(),
        "deferred (built by the first call)": lambda: xn.Sequential(
            [Dense(3, activation="relu"), Dense(2)]
        ),
    }


def _added():
    m = xn.Sequential()
    m.add(xn.Input(shape=(4,)))
    m.add(Dense(3, activation="relu"))
    m.add(Dense(2))
    return m


@pytest.mark.parametrize("variant", list(_sequential_variants()))
def test_sequential_variants_compute_the_same_function(variant):
    model = _sequential_variants()[variant]()
    x = _x()
    out = model(x)
    assert_on_active_backend(out)
    assert out.shape == (5, 2) and model.count_params() == 4 * 3 + 3 + 3 * 2 + 2
    np.testing.assert_allclose(
        xn.to_numpy(out), _manual_mlp(x, model.get_weights()), rtol=1e-5, atol=1e-6
    )
    assert model.output_shape == (None, 2)
    assert [layer.name for layer in model.layers] == [
        w.name.split("/")[0] for w in model.weights[::2]
    ]


def test_sequential_with_known_input_is_built_at_once():
    model = xn.Sequential([xn.Input(shape=(4,)), Dense(3)])
    assert model.built and len(model.weights) == 2
    deferred = xn.Sequential([Dense(3)])
    assert not deferred.built and deferred.weights == []
    deferred.build((None, 4))
    assert deferred.output_shape == (None, 3)


def test_sequential_errors_are_actionable():
    with pytest.raises(TypeError, match="expects a Layer"):
        xn.Sequential([Dense(2), "relu"])
    with pytest.raises(ValueError, match="already in the model"):
        d = Dense(2)
        xn.Sequential([d, d])
    with pytest.raises(ValueError, match="must come first"):
        xn.Sequential([Dense(2), xn.Input(shape=(3,))])
    with pytest.raises(ValueError, match="not built yet"):
        xn.Sequential([Dense(2)]).output_shape
    model = xn.Sequential([xn.Input(shape=(4,)), Dense(2)])
    with pytest.raises(ValueError, match="last dimension 4, got 3"):
        model(_x(d=3))


def test_sequential_pop_and_get_layer():
    model = xn.Sequential([xn.Input(shape=(4,)), Dense(3, name="a"), Dense(2, name="b")])
    assert model.get_layer("a") is model.layers[0]
    assert model.get_layer(index=-1).name == "b"
    with pytest.raises(ValueError, match=r"No such layer: 'c'.*\['a', 'b'\]"):
        model.get_layer("c")
    with pytest.raises(ValueError, match="only 2 layers"):
        model.get_layer(index=5)
    assert model.pop().name == "b"
    assert [layer.name for layer in model.layers] == ["a"]
    assert model.output_shape == (None, 3)


def test_functional_multi_input_multi_output_shared_and_residual():
    a = xn.Input(shape=(4,), name="a")
    b = xn.Input(shape=(4,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)  # one layer, two nodes
    merged = ha + hb  # a residual-style sum recorded as an OpLayer
    out1 = Dense(2, name="head1")(merged)
    out2 = Dense(1, name="head2")(merged + a)
    model = xn.Model([a, b], [out1, out2])
    assert isinstance(model, xn.models.Functional)
    xa, xb = _x(seed=1), _x(seed=2)
    y1, y2 = model([xa, xb])
    assert y1.shape == (5, 2) and y2.shape == (5, 1)
    ws = {p.name: xn.to_numpy(p.data) for p in model.weights}
    h = np.tanh(xa @ ws["shared/kernel"] + ws["shared/bias"])
    h = h + np.tanh(xb @ ws["shared/kernel"] + ws["shared/bias"])
    np.testing.assert_allclose(
        xn.to_numpy(y1), h @ ws["head1/kernel"] + ws["head1/bias"], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        xn.to_numpy(y2), (h + xa) @ ws["head2/kernel"] + ws["head2/bias"], rtol=1e-5, atol=1e-5
    )
    assert model.count_params() == (4 * 4 + 4) + (4 * 2 + 2) + (4 + 1)  # shared counted once
    assert model.input_names == ["a", "b"] and model.output_names == ["head1", "head2"]
    y1d, _ = model({"a": xa, "b": xb})
    np.testing.assert_allclose(xn.to_numpy(y1d), xn.to_numpy(y1))


def test_functional_gradients_flow_through_shared_layers():
    a = xn.Input(shape=(3,))
    d = Dense(3, name="twice")
    model = xn.Model(a, d(d(a)))
    x = xn.Tensor(_x(2, 3))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.trainable_weights)


def test_functional_model_as_a_layer_and_nested_sequential():
    inner = xn.Sequential([xn.Input(shape=(4,)), Dense(3, activation="relu")], name="inner")
    x_in = xn.Input(shape=(4,))
    out = Dense(2)(inner(x_in))
    model = xn.Model(x_in, out)
    assert inner in model.layers
    assert model(_x()).shape == (5, 2)
    assert len(model.weights) == 4


def test_symbolic_arithmetic_with_constants():
    x = xn.Input(shape=(3,))
    model = xn.Model(x, 2.0 * x - 1.0 + (-x) / 2.0)
    data = _x(2, 3)
    np.testing.assert_allclose(xn.to_numpy(model(data)), 2 * data - 1 - data / 2, rtol=1e-6)


def test_functional_errors_are_actionable():
    a, b = xn.Input(shape=(3,)), xn.Input(shape=(3,))
    out = Dense(2)(a + b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        xn.Model(a, out)
    with pytest.raises(TypeError, match="symbolic tensor"):
        xn.Model(a, np.zeros(3))
    with pytest.raises(ValueError, match="unique names"):
        xn.Model(a, Dense(2, name="same")(Dense(2, name="same")(a)))
    with pytest.raises(ValueError, match="expects 2 inputs"):
        xn.Model([a, b], out)([_x(d=3)])
    with pytest.raises(TypeError, match="has no value"):
        bool(a)
    with pytest.raises(ValueError, match="expected shape="):
        xn.Input()


def test_input_shapes_and_dtypes():
    assert xn.Input(shape=(28, 28)).shape == (None, 28, 28)
    assert xn.Input(shape=5, batch_size=8).shape == (8, 5)
    ids = xn.Input(shape=(7,), dtype="int32")
    assert ids.dtype == "int32"
    seq = xn.Input(shape=(None, 6))
    out = Dense(2)(seq)
    assert out.shape == (None, None, 2)  # unknown lengths stay unknown


class _TwoHeads(xn.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = Dense(4, activation="relu")
        self.heads = [Dense(2), Dense(1)]

    def call(self, x, training=None):
        h = self.body(x)
        return [head(h) for head in self.heads]


def test_subclassed_model():
    model = _TwoHeads()
    assert not model.built and model.weights == []
    y1, y2 = model(_x())
    assert y1.shape == (5, 2) and y2.shape == (5, 1)
    assert [layer.name for layer in model.layers] == [model.body.name] + [
        h.name for h in model.heads
    ]
    built = _TwoHeads()
    built.build((None, 4))
    assert len(built.weights) == 6
    with pytest.raises(NotImplementedError, match="define call"):
        xn.Model()(_x())


def test_get_and_set_weights_round_trip_and_validate():
    model = xn.Sequential([xn.Input(shape=(4,)), Dense(3), Dense(2)])
    weights = model.get_weights()
    assert all(isinstance(w, np.ndarray) for w in weights)
    model.set_weights([w + 1 for w in weights])
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_allclose(a, b + 1)
    with pytest.raises(ValueError, match="expected 4 weight arrays"):
        model.set_weights(weights[:2])
    before = model.get_weights()
    with pytest.raises(ValueError, match="has shape"):
        model.set_weights([weights[0], weights[1], weights[2], np.zeros(5)])
    for a, b in zip(model.get_weights(), before):  # nothing half-assigned
        np.testing.assert_array_equal(a, b)


def test_trainable_flags_split_the_weights():
    model = xn.Sequential([xn.Input(shape=(4,)), Dense(3, name="frozen"), Dense(2)])
    model.get_layer("frozen").trainable = False
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 2
    # Keras 3's order: each layer's weights together, whatever is frozen
    assert [w.name for w in model.weights] == [
        "frozen/kernel",
        "frozen/bias",
        f"{model.layers[1].name}/kernel",
        f"{model.layers[1].name}/bias",
    ]
    assert all(w.name.startswith("frozen/") for w in model.non_trainable_weights)


def test_summary_lists_layers_shapes_and_totals():
    model = xn.Sequential(
        [xn.Input(shape=(64,)), Dense(32, activation="relu", name="hidden"), Dense(10, name="out")],
        name="mlp",
    )
    model.get_layer("out").trainable = False
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert 'Model: "mlp"' in text
    assert "hidden (Dense)" in text and "(None, 32)" in text and "2,080" in text
    assert "Total params: 2,410" in text
    assert "Trainable params: 2,080" in text and "Non-trainable params: 330" in text


def test_summary_of_functional_model_shows_connections():
    a, b = xn.Input(shape=(2,), name="left"), xn.Input(shape=(2,), name="right")
    out = Dense(1, name="join")(a + b)
    lines = []
    xn.Model([a, b], out).summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text and "left, right" in text and "join (Dense)" in text


def test_predict_is_batched_graph_free_and_on_the_backend():
    model = xn.Sequential([xn.Input(shape=(4,)), Dense(3)])
    x = _x(70)
    out = model.predict(x, batch_size=16, verbose=0)
    assert B.namespace(out) is xn.get_backend().xp
    assert tuple(out.shape) == (70, 3)
    np.testing.assert_allclose(xn.to_numpy(out), xn.to_numpy(model(x)), rtol=1e-5, atol=1e-6)
    single = model.predict_on_batch(x[:3])
    assert tuple(single.shape) == (3, 3)


def test_training_flag_reaches_nested_layers():
    seen = []

    class Probe(xn.layers.Layer):
        def call(self, x, training=None):
            seen.append(training)
            return x

    inner = xn.Sequential([xn.Input(shape=(2,)), Probe()])
    model = xn.Sequential([xn.Input(shape=(2,)), inner])
    seen.clear()
    model(_x(1, 2), training=True)
    model(_x(1, 2), training=False)
    assert seen == [True, False]


def test_training_argument_is_looked_up_per_class():
    # base.Layer cached "call takes training" on the class; a subclass inherited its parent's
    # answer once the parent had been called, and got an unexpected training= argument
    with pytest.raises(NotImplementedError):
        xn.Model()(_x())  # caches for Model, whose call takes training

    class NoTraining(xn.Model):
        def __init__(self):
            super().__init__()
            self.d = Dense(2)

        def call(self, x):
            return self.d(x)

    assert NoTraining()(_x()).shape == (5, 2)
