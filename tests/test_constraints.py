"""Constraints: values against NumPy (Keras 3's formulas), axes, names, configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet import constraints as C

from helpers import assert_on_active_backend

EPS = 1e-7  # Keras's backend.epsilon()


def _norms(w, axis):
    return np.sqrt(np.sum(w**2, axis=axis, keepdims=True))


def max_norm_np(w, max_value, axis):
    n = _norms(w, axis)
    return w * (np.clip(n, 0, max_value) / (EPS + n))


def min_max_norm_np(w, lo, hi, rate, axis):
    n = _norms(w, axis)
    return w * ((rate * np.clip(n, lo, hi) + (1 - rate) * n) / (EPS + n))


RNG = np.random.default_rng(0)
W2 = RNG.standard_normal((5, 4)) * np.array([0.1, 1.0, 3.0, 0.5])  # columns of varied norm
W4 = RNG.standard_normal((3, 3, 2, 4))  # a Conv2D kernel

# (registered name, constraint, input, NumPy formula)
CONSTRAINT_CASES = [
    ("max_norm", C.MaxNorm(1.5), W2, lambda w: max_norm_np(w, 1.5, 0)),
    ("max_norm", C.MaxNorm(0.5, axis=1), W2, lambda w: max_norm_np(w, 0.5, 1)),
    ("max_norm", C.MaxNorm(2.0, axis=[0, 1, 2]), W4, lambda w: max_norm_np(w, 2.0, (0, 1, 2))),
    ("non_neg", C.NonNeg(), W2, lambda w: np.maximum(w, 0.0)),
    ("unit_norm", C.UnitNorm(), W2, lambda w: w / (EPS + _norms(w, 0))),
    ("unit_norm", C.UnitNorm(axis=(0, 1, 2)), W4, lambda w: w / (EPS + _norms(w, (0, 1, 2)))),
    ("min_max_norm", C.MinMaxNorm(0.5, 1.0), W2, lambda w: min_max_norm_np(w, 0.5, 1.0, 1.0, 0)),
    (
        "min_max_norm",
        C.MinMaxNorm(0.8, 1.2, rate=0.25, axis=1),
        W2,
        lambda w: min_max_norm_np(w, 0.8, 1.2, 0.25, 1),
    ),
]
IDS = [f"{name}-{c.get_config()}" for name, c, _, _ in CONSTRAINT_CASES]


@pytest.mark.parametrize("name,constraint,w,ref", CONSTRAINT_CASES, ids=IDS)
def test_values(name, constraint, w, ref):
    out = constraint(xn.backend.asarray(w, dtype="float32"))
    assert out.dtype == B.dtype("float32")
    assert_on_active_backend(out)
    np.testing.assert_allclose(xn.to_numpy(out), ref(w.astype(np.float32)), rtol=2e-6, atol=1e-7)


def test_the_constraints_do_what_they_say():
    w = xn.backend.asarray(W2, dtype="float32")
    assert np.all(_norms(xn.to_numpy(C.MaxNorm(1.5)(w)), 0) <= 1.5 + 1e-5)
    np.testing.assert_allclose(_norms(xn.to_numpy(C.UnitNorm()(w)), 0), 1.0, rtol=1e-5)
    norms = _norms(xn.to_numpy(C.MinMaxNorm(0.5, 1.0)(w)), 0)
    assert np.all((norms >= 0.5 - 1e-5) & (norms <= 1.0 + 1e-5))
    assert np.all(xn.to_numpy(C.NonNeg()(w)) >= 0)


@pytest.mark.parametrize("name,constraint,w,ref", CONSTRAINT_CASES, ids=IDS)
def test_serialization(name, constraint, w, ref):
    config = json.loads(json.dumps(C.serialize(constraint)))
    clone = C.deserialize(config)
    assert type(clone) is type(constraint) and clone.get_config() == constraint.get_config()
    arr = xn.backend.asarray(w, dtype="float32")
    np.testing.assert_array_equal(xn.to_numpy(clone(arr)), xn.to_numpy(constraint(arr)))
    assert type(C.get(name)) is type(constraint)


def test_keras_defaults():
    assert C.get("max_norm").get_config() == {"max_value": 2.0, "axis": 0}
    assert C.get("MinMaxNorm").get_config() == {
        "min_value": 0.0,
        "max_value": 1.0,
        "rate": 1.0,
        "axis": 0,
    }
    assert C.get("UnitNorm").get_config() == {"axis": 0}


BAD = [
    (lambda: C.MaxNorm(-1.0), "MaxNorm", "max_value=-1.0"),
    (lambda: C.MaxNorm(axis="rows"), "MaxNorm", "axis='rows'"),
    (lambda: C.UnitNorm(axis=1.5), "UnitNorm", "axis=1.5"),
    (lambda: C.MinMaxNorm(2.0, 1.0), "MinMaxNorm", "min_value=2.0, max_value=1.0"),
    (lambda: C.MinMaxNorm(rate=1.5), "MinMaxNorm", "rate=1.5"),
]


@pytest.mark.parametrize("make,owner,received", BAD, ids=[b[2] for b in BAD])
def test_bad_arguments(make, owner, received):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert message.startswith(owner + ":") and received in message and "expected" in message


def test_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown constraint 'positive'.*non_neg"):
        C.get("positive")


def test_every_constraint_has_a_row():
    assert set(C.names()) == {name for name, *_ in CONSTRAINT_CASES}
