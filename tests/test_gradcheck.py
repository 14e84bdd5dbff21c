"""gradcheck itself: it passes right gradients and names the input and element of wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet.tensor import Function


class WrongSquare(Function):
    """x**2 with a backward that is off for the last element (a planted bug)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        xp = self.xp
        n = self.x.shape[-1]
        bump = xp.astype(xp.arange(n, device=xn.backend.device_of(self.x)) == n - 1, g.dtype)
        return g * 2.0 * self.x + g * bump


def test_passes_and_reports_each_input():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    res = xn.gradcheck(lambda x, y: (x @ y).tanh(), a, b)
    assert res.passed and bool(res)
    assert [r.name for r in res.reports] == ["input 0", "input 1"]
    assert res.max_error < 1e-8
    assert "passed" in str(res)


def test_catches_a_wrong_backward_and_names_input_and_element():
    x = np.array([[0.5, 1.0, -1.5], [2.0, 0.3, 0.7]])
    with pytest.raises(xn.GradcheckError, match=r"input 0 \(shape \(2, 3\)\).*element \[\d, 2\]"):
        xn.gradcheck(lambda t: WrongSquare.apply(t), x)
    res = xn.gradcheck(lambda t: WrongSquare.apply(t), x, raise_on_failure=False)
    assert not res.passed and res.max_error > 1e-3
    assert res.reports[0].worst_index[1] == 2


def test_checks_parameters_and_restores_them():
    w = xn.Parameter(np.array([[1.0, -2.0], [0.5, 3.0]]), name="kernel")
    before = xn.to_numpy(w).copy()
    x = np.random.default_rng(1).normal(size=(5, 2))
    res = xn.gradcheck(lambda t: (t @ w).sigmoid().sum(), x, params=[w])
    assert res.passed
    assert [r.name for r in res.reports] == ["input 0", "kernel"]
    assert w.dtype == xn.backend.dtype("float32") and w.grad is None
    np.testing.assert_array_equal(xn.to_numpy(w), before)


def test_wrt_non_float_inputs_and_sampling():
    x = np.random.default_rng(2).normal(size=(50,))
    labels = np.array([1, 0, 3])
    res = xn.gradcheck(lambda t, idx: t[idx].exp(), x, labels, max_checks=7)
    assert res.reports[0].checked == 7 and len(res.reports) == 1
    res = xn.gradcheck(lambda a, b: a * b, x[:3], x[3:6], wrt=[1])
    assert [r.name for r in res.reports] == ["input 1"]


def test_needs_something_to_check():
    with pytest.raises(ValueError, match="nothing to check"):
        xn.gradcheck(lambda i: i, np.array([1, 2]))
    with pytest.raises(TypeError, match="must return an xn.Tensor"):
        xn.gradcheck(lambda t: 1.0, np.ones(2))
