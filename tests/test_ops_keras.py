"""Keras 3's ``keras.ops`` names (ops/keras_names.py) in the op table, plus their edges."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import ops

from helpers import OpCase, assert_close, distinct


def _f(t):
    return ops.cast(t, "float32")


OP_CASES = [
    OpCase("convert_to_tensor", lambda a: ops.convert_to_tensor(a) * 2.0, lambda a: a * 2.0),
    OpCase(
        "convert_to_numpy",
        lambda a: a + ops.convert_to_tensor(ops.convert_to_numpy(a) * 0 + 1, "float32"),
        lambda a: a + 1.0,
    ),
    OpCase("shape", lambda a: a * float(ops.shape(a)[1]), lambda a: a * a.shape[1], [(2, 5)]),
    OpCase("zeros", lambda a: a + ops.zeros(a.shape), lambda a: a),
    OpCase("ones", lambda a: a * ops.ones((1, 4)), lambda a: a),
    OpCase("full", lambda a: a * ops.full((3, 1), 2.5), lambda a: a * 2.5),
    OpCase("zeros_like", lambda a: a + ops.zeros_like(a), lambda a: a),
    OpCase("ones_like", lambda a: a * (ops.ones_like(a) + 1.0), lambda a: 2 * a),
    OpCase("full_like", lambda a: a * ops.full_like(a, 3.0), lambda a: 3 * a),
    OpCase("arange", lambda a: a * _f(ops.arange(4)), lambda a: a * np.arange(4)),
    OpCase("eye", lambda a: a * ops.sum(ops.eye(4, 5), axis=1), lambda a: a, [(3, 4)]),
    OpCase("stop_gradient", lambda a: a * ops.stop_gradient(a), lambda a: a * a, grad=False),
    OpCase("subtract", ops.subtract, lambda a, b: a - b, [(3, 4), (4,)]),
    OpCase("multiply", ops.multiply, lambda a, b: a * b, [(3, 4), (3, 1)]),
    OpCase(
        "divide",
        ops.divide,
        lambda a, b: a / b,
        make=lambda r: [r.uniform(-2, 2, (3, 4)), r.uniform(0.5, 2, (4,))],
    ),
    OpCase("negative", ops.negative, lambda a: -a),
    OpCase("absolute", ops.absolute, np.abs, make=lambda r: [distinct(r, (3, 4)) + 0.05]),
    OpCase("square", ops.square, np.square),
    OpCase(
        "transpose",
        lambda a: ops.transpose(a, (2, 0, 1)),
        lambda a: a.transpose(2, 0, 1),
        [(2, 3, 4)],
    ),
    OpCase("transpose", ops.transpose, lambda a: a.T, [(2, 3)], label="reverse"),
    OpCase(
        "concatenate",
        lambda a, b: ops.concatenate([a, b], axis=1),
        lambda a, b: np.concatenate([a, b], axis=1),
        [(2, 3), (2, 2)],
    ),
    OpCase(
        "greater",
        lambda a, b: ops.where(ops.greater(a, b), a, b),
        np.maximum,
        make=lambda r: [r.uniform(-2, 2, (3, 4)), r.uniform(-2, 2, (3, 4)) + 0.0],
        grad=False,
    ),
    OpCase(
        "greater_equal", lambda a: _f(ops.greater_equal(a, 0.5)), lambda a: a >= 0.5, grad=False
    ),
    OpCase("less", lambda a: _f(ops.less(a, 0.5)), lambda a: a < 0.5, grad=False),
    OpCase("less_equal", lambda a: _f(ops.less_equal(a, 0.5)), lambda a: a <= 0.5, grad=False),
    OpCase("equal", lambda a: _f(ops.equal(a, a)), lambda a: a == a, grad=False),
    OpCase("not_equal", lambda a: _f(ops.not_equal(a, a)), lambda a: a != a, grad=False),
    OpCase("argmax", lambda a: _f(ops.argmax(a, axis=1)), lambda a: np.argmax(a, 1), grad=False),
    OpCase("argmin", lambda a: _f(ops.argmin(a, axis=0)), lambda a: np.argmin(a, 0), grad=False),
    OpCase("dot", ops.dot, np.dot, [(3, 4), (4, 2)]),
    OpCase("dot", ops.dot, np.dot, [(2, 3, 4), (5, 4, 2)], label="n-d"),
    OpCase(
        "einsum",
        lambda a, b: ops.einsum("bij,bjk->bik", a, b),
        lambda a, b: np.einsum("bij,bjk->bik", a, b),
        [(2, 3, 4), (2, 4, 5)],
        label="batched matmul",
    ),
    OpCase(
        "einsum",
        lambda a, b: ops.einsum("abc,cde->abde", a, b),
        lambda a, b: np.einsum("abc,cde->abde", a, b),
        [(2, 3, 4), (4, 2, 3)],
        label="EinsumDense kernel",
    ),
    OpCase(
        "einsum",
        lambda a, b: ops.einsum("...ij,jk->...ki", a, b),
        lambda a, b: np.einsum("...ij,jk->...ki", a, b),
        [(2, 3, 4), (4, 5)],
        label="ellipsis, permuted output",
    ),
    OpCase(
        "einsum",
        lambda a, b: ops.einsum("ij,kj->", a, b),
        lambda a, b: np.einsum("ij,kj->", a, b),
        [(3, 4), (2, 4)],
        label="full contraction, summed free axes",
    ),
    OpCase(
        "einsum",
        lambda a: ops.einsum("ijk->kj", a),
        lambda a: np.einsum("ijk->kj", a),
        [(2, 3, 4)],
        label="one operand",
    ),
    OpCase(
        "einsum",
        lambda a, b, c: ops.einsum("ij,jk,kl->il", a, b, c),
        lambda a, b, c: np.einsum("ij,jk,kl->il", a, b, c),
        [(2, 3), (3, 4), (4, 2)],
        label="three operands",
    ),
]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_forward_matches_numpy(case: OpCase):
    raw = case.inputs()
    tensors = [xn.Tensor(a, dtype="float32") for a in raw]
    expected = case.ref(*[a.astype(np.float32).astype(np.float64) for a in raw])
    out = case.fn(*tensors)
    assert isinstance(out, xn.Tensor)
    assert out.shape == np.shape(expected)
    assert_close(out, np.asarray(expected, dtype=np.float64), dtype="float32")


@pytest.mark.parametrize("case", [c for c in OP_CASES if c.grad], ids=lambda c: c.id)
def test_backward_matches_finite_differences(case: OpCase):
    result = xn.gradcheck(case.fn, *case.inputs(), **case.gradcheck_kw)
    assert result.passed


def test_stop_gradient_cuts_the_graph():
    a = xn.Tensor(np.ones((2, 2)), dtype="float32", requires_grad=True)
    (a * ops.stop_gradient(a * 3.0)).sum().backward()
    np.testing.assert_allclose(xn.to_numpy(a.grad), np.full((2, 2), 3.0))


def test_creation_ops_follow_floatx_and_ints():
    assert ops.ones((2,)).dtype == xn.backend.dtype("float32")
    assert ops.arange(3).dtype == xn.backend.dtype("int32")
    assert ops.shape(ops.zeros((2, 3))) == (2, 3)


def test_einsum_errors_are_clear():
    a = xn.Tensor(np.ones((2, 2)), dtype="float32")
    with pytest.raises(ValueError, match="diagonal"):
        ops.einsum("ii->i", a)
    with pytest.raises(ValueError, match="names 2 operands"):
        ops.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="does not fit"):
        ops.einsum("ijk->i", a)
