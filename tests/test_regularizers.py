"""Regularizers: values against NumPy, gradients checked numerically, Keras names."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet import regularizers as R

W = np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.25], [3.0, 0.1, -2.0], [-0.7, 0.9, 0.4]])


def _orthogonal_np(w, factor, mode):
    x = w if mode == "rows" else w.T
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-7)
    product = unit @ unit.T
    n = len(product)
    off = np.abs(product * (1 - np.eye(n))).sum()
    return factor * 0.5 * off / (n * (n - 1) / 2)  # Keras's form: half the sum over pairs


# (registered name, regularizer, NumPy formula of its value)
REG_CASES = [
    ("l1", R.L1(0.3), lambda w: 0.3 * np.abs(w).sum()),
    ("l2", R.L2(0.2), lambda w: 0.2 * (w**2).sum()),
    ("l1_l2", R.L1L2(l1=0.1, l2=0.05), lambda w: 0.1 * np.abs(w).sum() + 0.05 * (w**2).sum()),
    (
        "orthogonal_regularizer",
        R.OrthogonalRegularizer(0.5),
        lambda w: _orthogonal_np(w, 0.5, "rows"),
    ),
    (
        "orthogonal_regularizer",
        R.OrthogonalRegularizer(0.5, mode="columns"),
        lambda w: _orthogonal_np(w, 0.5, "columns"),
    ),
]
IDS = [f"{name}-{reg.get_config()}" for name, reg, _ in REG_CASES]


@pytest.mark.parametrize("name,reg,ref", REG_CASES, ids=IDS)
def test_values(name, reg, ref):
    out = reg(xn.Tensor(W, dtype="float32"))
    assert out.shape == () and out.dtype == B.dtype("float32")
    np.testing.assert_allclose(out.item(), ref(W), rtol=2e-6)


@pytest.mark.parametrize("name,reg,ref", REG_CASES, ids=IDS)
def test_gradients(name, reg, ref):
    # shifted so that no entry sits on the kink of |w| at 0 (W[1, 0] is 0)
    xn.gradcheck(lambda t: reg(t), W + 0.05)


def test_l2_gradient_is_two_l2_w():
    w = xn.Parameter(W)
    R.L2(0.3)(w).backward()
    np.testing.assert_allclose(xn.to_numpy(w.grad), 2 * 0.3 * W, rtol=1e-6)


def test_l2_from_course_gives_lambda_over_m():
    lambd, m = 0.7, 50
    reg = R.L2.from_course(lambd, m)
    w = xn.Parameter(W)
    value = reg(w)
    np.testing.assert_allclose(value.item(), lambd / (2 * m) * (W**2).sum(), rtol=1e-6)
    value.backward()
    np.testing.assert_allclose(xn.to_numpy(w.grad), lambd / m * W, rtol=1e-6)


def test_orthogonal_regularizer_is_zero_on_orthogonal_rows_and_safe_on_zero_rows():
    q = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 3)))[0].T  # orthonormal rows
    assert R.OrthogonalRegularizer(1.0)(xn.Tensor(q, dtype="float32")).item() < 1e-6
    zero = np.zeros((3, 4))
    zero[0] = [1.0, 2.0, 0.0, 0.0]
    t = xn.Tensor(zero, requires_grad=True, dtype="float32")
    out = R.OrthogonalRegularizer(1.0)(t)
    out.backward()
    assert np.isfinite(out.item()) and np.all(np.isfinite(xn.to_numpy(t.grad)))


def test_l1_l2_with_zero_factors_is_zero():
    reg = R.get("l1_l2")  # Keras 3: L1L2() with both factors 0
    assert (reg.l1, reg.l2) == (0.0, 0.0)
    assert reg(xn.Tensor(W, dtype="float32")).item() == 0.0


@pytest.mark.parametrize("name,reg,ref", REG_CASES, ids=IDS)
def test_serialization(name, reg, ref):
    clone = R.deserialize(json.loads(json.dumps(R.serialize(reg))))
    assert type(clone) is type(reg) and clone.get_config() == reg.get_config()
    assert type(R.get(name)) is type(reg)


def test_keras_defaults_by_name():
    assert R.get("l1").l1 == 0.01 and R.get("L2").l2 == 0.01
    assert R.L1(None).l1 == 0.01 and R.L1L2(l2=None).l2 == 0.0
    orth = R.get("OrthogonalRegularizer")
    assert (orth.factor, orth.mode) == (0.01, "rows")


BAD = [
    (lambda: R.L1(-0.1), "L1", "l1=-0.1"),
    (lambda: R.L2(float("nan")), "L2", "l2=nan"),
    (lambda: R.L1L2(l1="big"), "L1L2", "l1='big'"),
    (lambda: R.OrthogonalRegularizer(factor=-1), "OrthogonalRegularizer", "factor=-1"),
    (lambda: R.OrthogonalRegularizer(mode="diagonal"), "OrthogonalRegularizer", "mode='diagonal'"),
    (lambda: R.OrthogonalRegularizer()(xn.Tensor(np.ones(3))), "OrthogonalRegularizer", "(3,)"),
    (lambda: R.L2.from_course(0.1, 0), "L2.from_course", "m=0"),
]


@pytest.mark.parametrize("make,owner,received", BAD, ids=[b[2] for b in BAD])
def test_bad_arguments(make, owner, received):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert message.startswith(owner + ":") and received in message and "expected" in message


def test_every_regularizer_has_a_row():
    assert set(R.names()) == {name for name, _, _ in REG_CASES}
