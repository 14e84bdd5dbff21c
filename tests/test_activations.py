"""Activations: one table row per function (forward vs NumPy float64, gradients vs finite
differences away from kinks), erf's error bounds, stability at |x| up to 1e4, lookup."""

from __future__ import annotations

import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import activations as A

from helpers import OpCase, assert_close, assert_on_active_backend, away_from

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free form


def _softplus(x):
    return np.logaddexp(0.0, x)


def _elu(x, a=1.0):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0.0)))


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _relu_keras(x, slope, max_value, threshold):
    pos = np.where(x > threshold, x, 0.0)
    if max_value is not None:
        pos = np.clip(pos, 0.0, max_value)
    return pos - slope * np.maximum(threshold - x, 0.0)


def _row(name, fn, ref, kinks=(), low=-3.0, high=3.0, shape=(3, 5), label="", **kw):
    """An OpCase whose inputs keep away from the function's kinks."""
    return OpCase(
        name,
        fn,
        ref,
        make=lambda r: [away_from(kinks, r, shape, low, high)],
        label=label,
        **kw,
    )


REFERENCES = {
    "linear": lambda x: x,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "elu": _elu,
    "selu": lambda x: SELU_SCALE * _elu(x, SELU_ALPHA),
    "celu": _elu,
    "thresholded_relu": lambda x: np.where(x > 1.0, x, 0.0),
    "softplus": _softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "hard_sigmoid_legacy": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
    "hard_silu": lambda x: x * np.clip(x / 6.0 + 0.5, 0.0, 1.0),
    "hard_tanh": lambda x: np.clip(x, -1.0, 1.0),
    "silu": lambda x: x * _sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": np.exp,
    "log_sigmoid": lambda x: -_softplus(-x),
    "softmax": _softmax,
    "log_softmax": _log_softmax,
}

KINKS = {
    "relu": (0.0,),
    "leaky_relu": (0.0,),
    "relu6": (0.0, 6.0),
    "elu": (0.0,),
    "selu": (0.0,),
    "celu": (0.0,),
    "thresholded_relu": (1.0,),
    "hard_sigmoid": (-3.0, 3.0),
    "hard_sigmoid_legacy": (-2.5, 2.5),
    "hard_silu": (-3.0, 3.0),
    "hard_tanh": (-1.0, 1.0),
    "softsign": (0.0,),
}
RANGES = {"relu6": (-2.0, 8.0), "hard_sigmoid": (-4.5, 4.5), "hard_silu": (-4.5, 4.5)}

OP_CASES = [
    # every registered activation with its defaults, looked up by name
    *[
        _row(
            name,
            (lambda n: lambda x: A.get(n)(x))(name),
            REFERENCES[name],
            KINKS.get(name, ()),
            *RANGES.get(name, (-3.0, 3.0)),
        )
        for name in REFERENCES
    ],
    # ------------------------------------------------------------------ arguments
    _row(
        "relu",
        lambda x: A.relu(x, negative_slope=0.1, max_value=2.0, threshold=0.5),
        lambda x: _relu_keras(x, 0.1, 2.0, 0.5),
        (0.0, 0.5, 2.0),
        label="slope, max_value, threshold",
    ),
    _row(
        "relu",
        lambda x: A.relu(x, threshold=-1.0),
        lambda x: _relu_keras(x, 0.0, None, -1.0),
        (-1.0,),
        label="negative threshold",
    ),
    _row(
        "relu",
        lambda x: A.relu(x, max_value=1.5),
        lambda x: np.clip(x, 0.0, 1.5),
        (0.0, 1.5),
        label="max_value",
    ),
    _row(
        "leaky_relu",
        lambda x: A.leaky_relu(x, negative_slope=0.01),
        lambda x: np.where(x > 0, x, 0.01 * x),
        (0.0,),
        label="0.01",
    ),
    _row("elu", lambda x: A.elu(x, alpha=0.5), lambda x: _elu(x, 0.5), (0.0,), label="alpha"),
    _row(
        "celu",
        lambda x: A.celu(x, alpha=2.0),
        lambda x: np.where(x > 0, x, 2.0 * np.expm1(np.minimum(x, 0) / 2.0)),
        (0.0,),
        label="alpha",
    ),
    _row(
        "thresholded_relu",
        lambda x: A.thresholded_relu(x, theta=0.5),
        lambda x: np.where(x > 0.5, x, 0.0),
        (0.5,),
        label="theta",
    ),
    _row(
        "gelu",
        lambda x: A.gelu(x, approximate=True),
        lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))),
        label="approximate",
    ),
    _row("softplus", A.softplus, _softplus, low=-30.0, high=30.0, label="wide"),
    _row(
        "softmax",
        lambda x: A.softmax(x, axis=0),
        lambda x: _softmax(x, 0),
        shape=(4, 3),
        label="axis 0",
    ),
    _row(
        "softmax",
        lambda x: A.softmax(x, axis=(1, 2)),
        lambda x: _softmax(x, (1, 2)),
        shape=(2, 3, 2),
        label="tuple axis",
    ),
    _row(
        "log_softmax",
        lambda x: A.log_softmax(x, axis=(0, 1)),
        lambda x: _log_softmax(x, (0, 1)),
        shape=(2, 3),
        label="tuple axis",
    ),
    # ------------------------------------------------------------------ erf, the primitive
    _row("erf", A.erf, _erf, low=-4.5, high=4.5, shape=(4, 6), label="all three branches"),
]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case: OpCase):
    raw = case.inputs()
    x = xn.Tensor(raw[0], dtype="float32")
    expected = case.ref(raw[0].astype(np.float32).astype(np.float64))
    out = case.fn(x)
    assert_on_active_backend(out)
    assert out.shape == expected.shape
    assert out.dtype == xn.backend.dtype("float32", out.xp)
    assert_close(out, expected, dtype="float32")


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_backward_matches_finite_differences(case: OpCase):
    assert xn.gradcheck(case.fn, *case.inputs(), **case.gradcheck_kw).passed


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_gradients_stay_on_backend_and_dtype(case: OpCase):
    x = xn.Tensor(case.inputs()[0], dtype="float32", requires_grad=True)
    case.fn(x).sum().backward()
    assert_on_active_backend(x.grad)
    assert x.grad.shape == x.shape and x.grad.dtype == x.dtype


def test_every_activation_has_a_row():
    covered = {case.op for case in OP_CASES}
    missing = sorted(set(A.names()) - covered)
    assert not missing, f"activations without an OP_CASES row: {missing}"
    assert set(A.names()) <= set(REFERENCES)


@pytest.mark.parametrize(
    "dtype, max_abs, max_rel",
    [("float64", 3e-16, 1e-15), ("float32", 2.5e-7, 5e-7)],
)
def test_erf_error_bound_on_a_dense_grid(dtype, max_abs, max_rel):
    # the bounds stated in erf's docstring, over all three branches and both tails
    grid = np.concatenate([np.linspace(-7.0, 7.0, 140000), np.geomspace(1e-12, 1e4, 2000)])
    grid = np.concatenate([grid, -grid])
    x = xn.Tensor(grid, dtype=dtype)
    exact = _erf(xn.to_numpy(x).astype(np.float64))
    got = xn.to_numpy(A.erf(x)).astype(np.float64)
    err = np.abs(got - exact)
    assert err.max() <= max_abs
    assert (err / np.abs(exact)).max() <= max_rel


def test_erf_derivative_is_exact():
    x = xn.Tensor([0.0, 0.3, -1.2, 5.0], dtype="float64", requires_grad=True)
    A.erf(x).sum().backward()
    expected = 2 / math.sqrt(math.pi) * np.exp(-(np.array([0.0, 0.3, -1.2, 5.0]) ** 2))
    assert_close(x.grad, expected, dtype="float64")


EXTREMES = [-1e4, -1e3, -88.0, -10.0, -1.0, 0.0, 1.0, 10.0, 88.0, 1e3, 1e4]


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_extreme_inputs_stay_finite(name):
    # pytest turns NumPy RuntimeWarnings (overflow, invalid) into errors: none may occur
    values = [v for v in EXTREMES if name != "exponential" or v <= 88.0]  # exp(89) > float32 max
    x = xn.Tensor(np.array([values]), dtype="float32", requires_grad=True)
    out = A.get(name)(x)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = REFERENCES[name](np.array([values], dtype=np.float64))
    assert np.isfinite(expected).all()
    got = xn.to_numpy(out)
    assert np.isfinite(got).all(), f"{name}: {got}"
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-6)
    out.sum().backward()
    assert np.isfinite(xn.to_numpy(x.grad)).all(), f"{name} gradient: {xn.to_numpy(x.grad)}"


def test_keras_relu_examples():
    x = xn.Tensor([-10.0, -5.0, 0.0, 5.0, 10.0])
    for kwargs, expected in [
        ({}, [0, 0, 0, 5, 10]),
        ({"negative_slope": 0.5}, [-5, -2.5, 0, 5, 10]),
        ({"max_value": 5.0}, [0, 0, 0, 5, 5]),
        ({"threshold": 5.0}, [0, 0, 0, 0, 10]),
    ]:
        np.testing.assert_array_equal(xn.to_numpy(A.relu(x, **kwargs)), expected)


def test_defaults_follow_keras():
    x = xn.Tensor([-1.0])
    assert A.leaky_relu(x).item() == pytest.approx(-0.2)  # Keras 3 default slope
    assert A.elu(x).item() == pytest.approx(math.expm1(-1.0))
    assert A.thresholded_relu(xn.Tensor([1.0, 1.5])).numpy().tolist() == [0.0, 1.5]  # theta=1
    exact = 0.5 * (1 + math.erf(1 / math.sqrt(2)))
    assert A.gelu(xn.Tensor([1.0])).item() == pytest.approx(exact, rel=1e-6)  # approximate=False
    # Keras 3's hard sigmoid saturates at |x| = 3, the course notes' (Keras 2) one at 2.5
    h = xn.Tensor([-2.5, 2.5])
    assert A.hard_sigmoid_legacy(h).numpy().tolist() == [0.0, 1.0]
    np.testing.assert_allclose(A.hard_sigmoid(h).numpy(), [1 / 12, 11 / 12], rtol=1e-6)


def test_get_serialize_and_errors():
    assert A.get(None) is A.linear
    assert A.get("swish") is A.silu and A.get("hard_swish") is A.hard_silu
    assert A.get("LeakyReLU") is A.leaky_relu
    fn = lambda x: x  # noqa: E731
    assert A.get(fn) is fn
    assert A.serialize(A.silu) == "silu" and A.deserialize("gelu") is A.gelu
    with pytest.raises(ValueError, match=r"Unknown activation 'gelou'.*gelu"):
        A.get("gelou")
