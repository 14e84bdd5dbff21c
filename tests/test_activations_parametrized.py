"""Activations with arguments: objects that any layer's ``activation=`` takes, that call
the function with their arguments, and that save and load with the model."""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import xpnet as xn
from xpnet import activations as A

from helpers import assert_close, away_from

CASES = [
    (A.LeakyReLU(0.01), A.leaky_relu, {"negative_slope": 0.01}, (0.0,)),
    (A.LeakyReLU(), A.leaky_relu, {"negative_slope": 0.2}, (0.0,)),
    (A.ReLU(negative_slope=0.1, max_value=2.0, threshold=0.5), A.relu,
     {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.5}, (0.5, 2.0)),
    (A.ELU(0.5), A.elu, {"alpha": 0.5}, (0.0,)),
    (A.CELU(alpha=2.0), A.celu, {"alpha": 2.0}, (0.0,)),
    (A.ThresholdedReLU(theta=0.7), A.thresholded_relu, {"theta": 0.7}, (0.7,)),
    (A.GELU(approximate=True), A.gelu, {"approximate": True}, ()),
    (A.Softmax(axis=0), A.softmax, {"axis": 0}, ()),
    (A.LogSoftmax(axis=(0, 1)), A.log_softmax, {"axis": (0, 1)}, ()),
]  # fmt: skip
IDS = [f"{type(c[0]).__name__}-{c[2]}" for c in CASES]


@pytest.mark.parametrize("act,fn,kwargs,kinks", CASES, ids=IDS)
def test_calls_the_function_with_its_arguments(act, fn, kwargs, kinks):
    x = xn.Tensor(away_from(kinks, np.random.default_rng(0), (3, 4), -3.0, 3.0), dtype="float32")
    assert_close(act(x), xn.to_numpy(fn(x, **kwargs)), rtol=0, atol=0)


@pytest.mark.parametrize("act,fn,kwargs,kinks", CASES, ids=IDS)
def test_gradients_match_finite_differences(act, fn, kwargs, kinks):
    x = away_from(kinks, np.random.default_rng(1), (3, 4), -3.0, 3.0)
    assert xn.gradcheck(act, x).passed


@pytest.mark.parametrize("act,fn,kwargs,kinks", CASES, ids=IDS)
def test_serializes_to_json_and_back(act, fn, kwargs, kinks):
    config = json.loads(json.dumps(A.serialize(act)))
    assert config["class_name"] == type(act).__name__
    back = A.get(config)
    assert type(back) is type(act) and back == act
    assert A.deserialize(config) == act


def test_a_partial_of_a_registered_function_saves_as_its_twin():
    partial = functools.partial(A.leaky_relu, negative_slope=0.01)
    assert A.serialize(partial) == {"class_name": "LeakyReLU", "config": {"negative_slope": 0.01}}
    with pytest.raises(ValueError, match=r"Cannot serialize activation.*LeakyReLU\(0.01\)"):
        A.serialize(functools.partial(A.sigmoid))
    with pytest.raises(ValueError, match="Cannot serialize"):
        A.serialize(functools.partial(A.leaky_relu, 0.01))  # positional: ambiguous


@pytest.mark.parametrize(
    "activation",
    [A.LeakyReLU(0.01), functools.partial(A.leaky_relu, negative_slope=0.01)],
    ids=["LeakyReLU(0.01)", "partial"],
)
def test_model_with_a_parametrized_activation_saves_and_loads(tmp_path, activation):
    xn.set_seed(0)
    model = xn.Sequential(
        [
            xn.Input((4,)),
            xn.layers.Dense(8, activation=activation),
            xn.layers.Dense(2, activation=A.ELU(0.5)),
            xn.layers.Activation(A.Softmax(axis=-1)),
        ]
    )
    model.compile("adam", "categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    path = tmp_path / "m.keras"
    model.save(path)
    clone = xn.models.load_model(path)
    assert clone.layers[0].activation == A.LeakyReLU(0.01)
    np.testing.assert_allclose(
        xn.to_numpy(clone.predict(x, verbose=0)), xn.to_numpy(model.predict(x, verbose=0))
    )


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"LeakyReLU: expected a finite number.*'steep'"):
        A.LeakyReLU("steep")
    with pytest.raises(TypeError, match=r"ELU: unexpected argument\(s\) \['beta'\]"):
        A.ELU(beta=1.0)
    with pytest.raises(TypeError, match="at most 1 positional"):
        A.LeakyReLU(0.1, 0.2)
    with pytest.raises(ValueError, match="Softmax: expected an integer"):
        A.Softmax(axis="last")
    with pytest.raises(ValueError, match="GELU: expected True or False"):
        A.GELU(approximate="yes")
    assert A.get("LeakyReLU") is A.leaky_relu  # a name is still the function, as in Keras
