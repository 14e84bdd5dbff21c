"""Every op in one table: forward against NumPy, backward against finite differences."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import xpnet as xn
from xpnet import ops

from helpers import OpCase, assert_close, assert_on_active_backend, away_from, distinct


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(x, axis=None, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _positive(rng, shape, low=0.5, high=2.0):
    return rng.uniform(low, high, size=shape)


OP_CASES = [
    # ------------------------------------------------------------------ binary, broadcasting
    OpCase("add", lambda a, b: a + b, lambda a, b: a + b, [(3, 4), (4,)], label="broadcast"),
    OpCase("add", lambda a: 1.5 + a, lambda a: 1.5 + a, [(2, 3)], label="scalar"),
    OpCase("sub", lambda a, b: a - b, lambda a, b: a - b, [(3, 1), (1, 4)], label="broadcast"),
    OpCase("sub", lambda a: 2.0 - a, lambda a: 2.0 - a, [(2, 3)], label="rsub"),
    OpCase("mul", lambda a, b: a * b, lambda a, b: a * b, [(2, 3, 4), (3, 1)]),
    OpCase("mul", lambda a: a * 3.0, lambda a: a * 3.0, [(4,)], label="scalar"),
    OpCase(
        "div",
        lambda a, b: a / b,
        lambda a, b: a / b,
        make=lambda r: [r.uniform(-2, 2, (3, 4)), _positive(r, (4,))],
    ),
    OpCase("div", lambda a: 2.0 / a, lambda a: 2.0 / a, [(3,)], 0.5, 2.0, label="rdiv"),
    OpCase("pow", lambda a: a**3, lambda a: a**3, [(3, 4)], label="int exponent"),
    OpCase("pow", lambda a: a**0.5, lambda a: a**0.5, [(3, 4)], 0.5, 2.0, label="sqrt"),
    OpCase(
        "pow",
        lambda a, b: a**b,
        lambda a, b: a**b,
        make=lambda r: [_positive(r, (3, 4)), r.uniform(-1, 2, (3, 4))],
        label="tensor exponent",
    ),
    OpCase("pow", lambda a: 2.0**a, lambda a: 2.0**a, [(5,)], label="rpow"),
    OpCase(
        "maximum",
        lambda a, b: ops.maximum(a, b),
        np.maximum,
        make=lambda r: list(distinct(r, (2, 3, 4)).reshape(2, 3, 4)),
    ),
    OpCase(
        "minimum",
        lambda a, b: ops.minimum(a, b),
        np.minimum,
        make=lambda r: [distinct(r, (3, 4)), distinct(r, (4,)) + 0.01],
        label="broadcast",
    ),
    OpCase("matmul", lambda a, b: a @ b, np.matmul, [(3, 4), (4, 5)]),
    OpCase("matmul", lambda a, b: a @ b, np.matmul, [(2, 3, 4), (4, 5)], label="batch x matrix"),
    OpCase("matmul", lambda a, b: a @ b, np.matmul, [(2, 3, 4), (1, 4, 2)], label="batch bcast"),
    OpCase("matmul", lambda a, b: a @ b, np.matmul, [(3, 4), (4,)], label="matrix x vector"),
    OpCase("matmul", lambda a, b: a @ b, np.matmul, [(4,), (4, 3)], label="vector x matrix"),
    OpCase("matmul", lambda a, b: ops.matmul(a, b), np.matmul, [(4,), (4,)], label="dot"),
    OpCase(
        "linear",
        lambda x, w, b: ops.linear(x, w, b),
        lambda x, w, b: x @ w + b,
        [(5, 3), (3, 4), (4,)],
    ),
    OpCase(
        "linear",
        lambda x, w: ops.linear(x, w),
        lambda x, w: x @ w,
        [(2, 5, 3), (3, 4)],
        label="3-D input, no bias",
    ),
    OpCase(
        "linear",
        lambda x, w, b: ops.linear(x, w, b),
        lambda x, w, b: x @ w + b,
        [(3,), (3, 2), (2,)],
        label="vector",
    ),
    OpCase(
        "linear",
        lambda x, w, b: ops.linear(x, w, b, relu=True),
        lambda x, w, b: np.maximum(x @ w + b, 0),
        [(6, 3), (3, 4), (4,)],
        label="fused relu",
    ),
    OpCase(
        "linear",
        lambda x, w: ops.linear(x, w, relu=True),
        lambda x, w: np.maximum(x @ w, 0),
        [(2, 5, 3), (3, 4)],
        label="3-D input, fused relu, no bias",
    ),
    # ------------------------------------------------------------------ unary
    OpCase("neg", lambda a: -a, np.negative, [(3, 4)]),
    OpCase("exp", ops.exp, np.exp, [(3, 4)]),
    OpCase("log", ops.log, np.log, [(3, 4)], 0.2, 3.0),
    OpCase("log1p", ops.log1p, np.log1p, [(3, 4)], -0.8, 3.0),
    OpCase("sqrt", ops.sqrt, np.sqrt, [(3, 4)], 0.2, 3.0),
    OpCase("abs", ops.abs, np.abs, make=lambda r: [away_from([0.0], r, (3, 4))]),
    OpCase("tanh", ops.tanh, np.tanh, [(3, 4)], -3.0, 3.0),
    OpCase("sigmoid", ops.sigmoid, lambda a: 1 / (1 + np.exp(-a)), [(3, 4)], -6.0, 6.0),
    OpCase(
        "relu", ops.relu, lambda a: np.maximum(a, 0), make=lambda r: [away_from([0], r, (3, 4))]
    ),
    OpCase(
        "clip",
        lambda a: ops.clip(a, -1.0, 1.0),
        lambda a: np.clip(a, -1, 1),
        make=lambda r: [away_from([-1.0, 1.0], r, (4, 5))],
    ),
    OpCase(
        "clip",
        lambda a: ops.clip(a, min=0.5),
        lambda a: np.maximum(a, 0.5),
        make=lambda r: [away_from([0.5], r, (6,))],
        label="lower only",
    ),
    OpCase(
        "where",
        lambda a, b: ops.where(a > 0, a * 2.0, b),
        lambda a, b: np.where(a > 0, a * 2.0, b),
        make=lambda r: [away_from([0.0], r, (3, 4)), r.uniform(-1, 1, (4,))],
    ),
    OpCase(
        "cast",
        lambda a: ops.cast(a, "float32") * 2.0,
        lambda a: a * 2.0,
        [(3,)],
        gradcheck_kw={"eps": 1e-2, "tol": 1e-5},
        label="to float32 (a step float32 resolves exactly)",
    ),
    OpCase(
        "compare",
        lambda a: ops.where(a >= 0.0, 1.0, 0.0) * 1.0,
        lambda a: np.where(a >= 0, 1.0, 0.0),
        [(3, 4)],
        grad=False,
    ),
    # ------------------------------------------------------------------ reductions
    OpCase("sum", lambda a: a.sum(), np.sum, [(3, 4)], label="all"),
    OpCase(
        "sum", lambda a: a.sum(axis=1, keepdims=True), lambda a: a.sum(1, keepdims=True), [(3, 4)]
    ),
    OpCase(
        "sum", lambda a: a.sum(axis=(0, 2)), lambda a: a.sum((0, 2)), [(2, 3, 4)], label="tuple"
    ),
    OpCase("mean", lambda a: a.mean(axis=0), lambda a: a.mean(0), [(3, 4)]),
    OpCase("mean", lambda a: a.mean(), np.mean, [(2, 3, 4)], label="all"),
    OpCase(
        "max", lambda a: a.max(axis=-1), lambda a: a.max(-1), make=lambda r: [distinct(r, (3, 5))]
    ),
    OpCase("max", lambda a: a.max(), np.max, make=lambda r: [distinct(r, (3, 5))], label="all"),
    OpCase(
        "min",
        lambda a: a.min(axis=0, keepdims=True),
        lambda a: a.min(0, keepdims=True),
        make=lambda r: [distinct(r, (3, 5))],
    ),
    OpCase("var", lambda a: a.var(axis=0), lambda a: a.var(0), [(5, 3)]),
    OpCase(
        "var",
        lambda a: ops.var(a, axis=1, correction=1),
        lambda a: a.var(1, ddof=1),
        [(3, 5)],
        label="unbiased",
    ),
    OpCase(
        "std", lambda a: a.std(axis=1, keepdims=True), lambda a: a.std(1, keepdims=True), [(3, 5)]
    ),
    OpCase("logsumexp", lambda a: a.logsumexp(axis=1), lambda a: _logsumexp(a, 1), [(3, 5)]),
    OpCase(
        "logsumexp",
        lambda a: ops.logsumexp(a * 300.0),
        lambda a: _logsumexp(a * 300.0),
        [(2, 3)],
        label="large",
    ),
    OpCase("softmax", ops.softmax, _softmax, [(3, 5)], -3.0, 3.0),
    OpCase(
        "softmax",
        lambda a: ops.softmax(a, axis=0),
        lambda a: _softmax(a, 0),
        [(4, 3)],
        label="axis0",
    ),
    OpCase(
        "log_softmax",
        ops.log_softmax,
        lambda a: a - _logsumexp(a, -1, keepdims=True),
        [(3, 5)],
        -3.0,
        3.0,
    ),
    # ------------------------------------------------------------------ shape and indexing
    OpCase("reshape", lambda a: a.reshape(4, -1) * 1.0, lambda a: a.reshape(4, -1), [(2, 3, 2)]),
    OpCase("flatten", lambda a: a.flatten(1), lambda a: a.reshape(2, -1), [(2, 3, 2)]),
    OpCase("squeeze", lambda a: ops.squeeze(a, 1), lambda a: a.squeeze(1), [(3, 1, 2)]),
    OpCase("expand_dims", lambda a: ops.expand_dims(a, -1), lambda a: a[..., None], [(3, 2)]),
    OpCase(
        "permute",
        lambda a: a.transpose(2, 0, 1),
        lambda a: a.transpose(2, 0, 1),
        [(2, 3, 4)],
    ),
    OpCase("permute", lambda a: a.T, lambda a: a.T, [(3, 4)], label="T"),
    OpCase("matrix_transpose", lambda a: a.mT, lambda a: np.swapaxes(a, -1, -2), [(2, 3, 4)]),
    OpCase(
        "broadcast_to",
        lambda a: ops.broadcast_to(a, (2, 3, 4)),
        lambda a: np.broadcast_to(a, (2, 3, 4)),
        [(3, 1)],
    ),
    OpCase("getitem", lambda a: a[1:, ::2], lambda a: a[1:, ::2], [(4, 5)], label="slices"),
    OpCase("getitem", lambda a: a[..., -1], lambda a: a[..., -1], [(2, 3, 4)], label="ellipsis"),
    OpCase("getitem", lambda a: a[2], lambda a: a[2], [(4, 3)], label="int"),
    OpCase(
        "getitem",
        lambda a: a[a > 0.0],
        lambda a: a[a > 0],
        make=lambda r: [away_from([0.0], r, (3, 4))],
        label="bool mask",
    ),
    OpCase(
        "getitem",
        lambda a: a[[2, 0, 2, 2]],
        lambda a: a[[2, 0, 2, 2]],
        [(3, 4)],
        label="int array repeats",
    ),
    OpCase(
        "take",
        lambda a: ops.take(a, [[1, 1], [0, 3]], axis=1),
        lambda a: np.take(a, [[1, 1], [0, 3]], axis=1),
        [(2, 4, 3)],
        label="2-D indices, axis 1",
    ),
    OpCase(
        "concat",
        lambda a, b: ops.concat([a, b], axis=1),
        lambda a, b: np.concatenate([a, b], 1),
        [(2, 3), (2, 2)],
    ),
    OpCase(
        "concat",
        lambda a, b: ops.concat([a, b], axis=0),
        lambda a, b: np.concatenate([a, b], 0),
        [(2, 3), (1, 3)],
        label="leading axis",
    ),
    OpCase(
        "stack",
        lambda a, b, c: ops.stack([a, b, c], axis=-1),
        lambda a, b, c: np.stack([a, b, c], -1),
        [(2, 3), (2, 3), (2, 3)],
    ),
    OpCase(
        "stack",
        lambda a, b: ops.stack([a, b], axis=1),
        lambda a, b: np.stack([a, b], 1),
        [(2, 3), (2, 3)],
        label="middle axis",
    ),
    OpCase(
        "pad",
        lambda a: ops.pad(a, [(1, 0), (2, 1)], value=0.5),
        lambda a: np.pad(a, [(1, 0), (2, 1)], constant_values=0.5),
        [(2, 3)],
    ),
]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case: OpCase):
    raw = case.inputs()
    tensors = [xn.Tensor(a, dtype="float32") for a in raw]
    expected = case.ref(*[a.astype(np.float32).astype(np.float64) for a in raw])
    out = case.fn(*tensors)
    assert isinstance(out, xn.Tensor)
    assert_on_active_backend(out)
    assert out.shape == np.shape(expected)
    if np.ndim(expected) and np.asarray(expected).dtype.kind == "f":
        assert out.dtype == xn.backend.dtype("float32", out.xp)
    assert_close(out, expected, dtype="float32")


@pytest.mark.parametrize("case", [c for c in OP_CASES if c.grad], ids=lambda c: c.id)
def test_backward_matches_finite_differences(case: OpCase):
    result = xn.gradcheck(case.fn, *case.inputs(), **case.gradcheck_kw)
    assert result.passed
    for rep in result.reports:
        assert rep.checked > 0


@pytest.mark.parametrize("case", [c for c in OP_CASES if c.grad], ids=lambda c: c.id)
def test_gradients_stay_on_backend_and_dtype(case: OpCase):
    tensors = [xn.Tensor(a, dtype="float32", requires_grad=True) for a in case.inputs()]
    case.fn(*tensors).sum().backward()
    for t in tensors:
        if t.grad is not None:
            assert_on_active_backend(t.grad)
            assert t.grad.shape == t.data.shape
            assert t.grad.dtype == t.data.dtype


def test_compare_ops_give_bool_without_grad():
    a = xn.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for name, expected in [
        ("less", [True, False, False]),
        ("less_equal", [True, True, False]),
        ("greater", [False, False, True]),
        ("greater_equal", [False, True, True]),
        ("equal", [False, True, False]),
        ("not_equal", [True, False, True]),
    ]:
        out = ops.compare(name, a, 2.0)
        assert not out.requires_grad
        assert xn.to_numpy(out).tolist() == expected
    assert xn.to_numpy(a < 2.0).tolist() == [True, False, False]
    with pytest.raises(ValueError, match="unknown op"):
        ops.compare("bigger", a, 1.0)


def test_logsumexp_extremes_are_finite():
    # pytest turns RuntimeWarnings (overflow, invalid) into errors: none may occur here
    x = xn.Tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype="float32")
    out = xn.to_numpy(ops.logsumexp(x, axis=1))
    np.testing.assert_allclose(out, [1e4, -1e4 + np.log(3.0)], rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy warns on log(0) = -inf
        empty = xn.to_numpy(ops.logsumexp(xn.Tensor([[-np.inf, -np.inf]], dtype="float32"), 1))
    assert empty.tolist() == [-np.inf]
    sm = xn.to_numpy(ops.softmax(xn.Tensor([[1e4, -1e4, 0.0]], dtype="float32")))
    assert np.all(np.isfinite(sm)) and np.isclose(sm.sum(), 1.0)
    s = xn.to_numpy(ops.sigmoid(xn.Tensor([1e4, -1e4], dtype="float32")))
    assert s.tolist() == [1.0, 0.0]


def test_take_with_repeated_indices_accumulates():
    x = xn.Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    ops.take(x, [0, 0, 2, 0]).sum().backward()
    np.testing.assert_array_equal(xn.to_numpy(x.grad), [[3, 3], [0, 0], [1, 1]])


def test_scatter_add_standard_matches_native():
    xp = xn.get_backend().xp
    values = xn.backend.asarray(np.arange(12.0).reshape(4, 3), dtype="float64")
    idx = xn.backend.asarray(np.array([1, 0, 1, 1]))
    std = xn.backend.scatter_add_standard(xp, values, idx, 3)
    native = xn.backend.scatter_add(xp, values, idx, 3)
    expected = np.zeros((3, 3))
    np.add.at(expected, [1, 0, 1, 1], np.arange(12.0).reshape(4, 3))
    np.testing.assert_array_equal(xn.to_numpy(std), expected)
    np.testing.assert_array_equal(xn.to_numpy(native), expected)


def test_pad_checks_pairs():
    with pytest.raises(ValueError, match="expected 2 .before, after. pairs"):
        ops.pad(xn.Tensor(np.ones((2, 2))), [(1, 1)])


def test_squeeze_checks_length():
    with pytest.raises(ValueError, match="axis 0 has length 2"):
        ops.squeeze(xn.Tensor(np.ones((2, 2))), 0)
