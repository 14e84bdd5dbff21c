"""The autograd engine: graph walking, accumulation, grad modes, construction."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import ops

from helpers import assert_on_active_backend


def grad_of(t):
    return xn.to_numpy(t.grad)


def test_reused_node_accumulates():
    x = xn.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x + x  # x used three times
    y.sum().backward()
    np.testing.assert_allclose(grad_of(x), 2 * np.array([1.0, -2.0, 3.0]) + 1)


def test_diamond_graph():
    x = xn.Tensor([0.5, 1.5], requires_grad=True)
    a = x.exp()
    b = a * 2.0
    c = a * a
    (b + c).sum().backward()
    e = np.exp([0.5, 1.5])
    np.testing.assert_allclose(grad_of(x), (2 + 2 * e) * e, rtol=1e-6)


def test_backward_order_walks_chains_and_sorts_the_rest():
    from xpnet.tensor import _backward_order, _interior_parents, topological_order

    x = xn.Tensor([1.0, 2.0], requires_grad=True)
    chain = [x * 3.0]
    for _ in range(4):
        chain.append(xn.ops.tanh(chain[-1]))
    loss = chain[-1].sum()
    ids = [id(n) for n in _backward_order(loss)]  # (Tensors compare elementwise)
    assert ids == [id(n) for n in [loss, *reversed(chain)]]  # the walk itself
    a = x * 2.0
    b, c = xn.ops.exp(a), xn.ops.sigmoid(a)  # a diamond below a chain
    top = xn.ops.tanh(b + c).sum()
    ids = [id(n) for n in _backward_order(top)]
    assert ids == [id(n) for n in topological_order([top], _interior_parents)[::-1]]
    assert ids.index(id(b)) < ids.index(id(a)) and ids.index(id(c)) < ids.index(id(a))
    assert len(ids) == len(set(ids)) == 6


def test_leaf_grads_accumulate_across_backward_calls():
    w = xn.Parameter([1.0, 2.0])
    (w * 3.0).sum().backward()
    (w * 3.0).sum().backward()
    np.testing.assert_allclose(grad_of(w), [6.0, 6.0])
    w.zero_grad()
    assert w.grad is None


def test_second_backward_needs_retain_graph():
    x = xn.Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(grad_of(x), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_broadcast_gradients_are_summed_back():
    a = xn.Tensor(np.ones((3, 1)), requires_grad=True)
    b = xn.Tensor(np.ones((1, 4)), requires_grad=True)
    c = xn.Tensor(np.ones(()), requires_grad=True)
    (a * b * c).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4) and c.grad.shape == ()
    np.testing.assert_allclose(grad_of(a), np.full((3, 1), 4.0))
    np.testing.assert_allclose(grad_of(b), np.full((1, 4), 3.0))
    np.testing.assert_allclose(grad_of(c), 12.0)


def test_unbroadcast_helper():
    xp = xn.get_backend().xp
    g = xn.backend.asarray(np.ones((2, 3, 4)))
    out = xn.tensor.unbroadcast(xp, g, (3, 1))
    assert out.shape == (3, 1)
    np.testing.assert_allclose(xn.to_numpy(out), np.full((3, 1), 8.0))


def test_no_grad_and_enable_grad():
    w = xn.Parameter([1.0])
    with xn.no_grad():
        y = w * 2.0
        assert not xn.is_grad_enabled()
        with xn.enable_grad():
            z = w * 2.0
    assert xn.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad

    @xn.no_grad()
    def infer(v):
        return v * 3.0

    assert not infer(w).requires_grad


def test_detach_cuts_the_graph():
    x = xn.Tensor([2.0], requires_grad=True)
    y = x * x.detach()
    y.backward()
    np.testing.assert_allclose(grad_of(x), [2.0])


def test_backward_errors_are_clear():
    x = xn.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"one-element output; got shape \(2,\)"):
        (x * 2.0).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        xn.Tensor([1.0]).backward()
    y = x * 2.0
    y.backward(grad=xn.Tensor([1.0, 10.0]))
    np.testing.assert_allclose(grad_of(x), [2.0, 20.0])


def test_deep_graph_has_no_recursion_limit():
    x = xn.Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward()
    np.testing.assert_allclose(grad_of(x), [1.0])


def test_only_floating_tensors_require_grad():
    with pytest.raises(TypeError, match="Only floating tensors"):
        xn.Tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="Only floating tensors|must be floating"):
        xn.Parameter([1, 2], dtype="int64")
    assert xn.Parameter([1, 2]).dtype == xn.backend.dtype("float32")


def test_parameter_trainable_and_assign():
    p = xn.Parameter(np.zeros((2, 2)), name="kernel")
    assert p.requires_grad and p.trainable
    p.trainable = False
    assert not p.requires_grad
    p.assign(np.ones((2, 2)))
    np.testing.assert_array_equal(xn.to_numpy(p), np.ones((2, 2)))
    assert p.dtype == xn.backend.dtype("float32")
    with pytest.raises(ValueError, match=r"kernel expected shape \(2, 2\), got \(3,\)"):
        p.assign(np.ones(3))
    assert "Parameter(" in repr(p) and "kernel" in repr(p)


def test_construction_moves_data_and_keeps_dtypes():
    t = xn.Tensor([[1.0, 2.0]])
    assert_on_active_backend(t)
    assert t.dtype == xn.backend.dtype("float32")  # Python floats take floatx
    assert xn.Tensor(np.zeros(3)).dtype == xn.backend.dtype("float64")  # arrays keep theirs
    assert xn.Tensor(np.zeros(3), dtype="float32").dtype == xn.backend.dtype("float32")
    ints = xn.Tensor([1, 2, 3])
    assert ints.xp.isdtype(ints.dtype, "integral")
    assert xn.Tensor(t).data is t.data
    assert t.shape == (1, 2) and t.ndim == 2 and t.size == 2 and len(t) == 1


def test_numpy_operands_and_scalars_keep_float32():
    t = xn.Tensor([1.0, 2.0])
    for out in (t * np.float64(2.0), np.float64(2.0) * t, t + np.float32(1), t / np.int64(2)):
        assert isinstance(out, xn.Tensor)
        assert out.dtype == xn.backend.dtype("float32")
    if xn.get_backend().name == "numpy":
        out = np.ones(2, dtype=np.float32) * t  # NumPy defers to Tensor
        assert isinstance(out, xn.Tensor)


def test_item_float_bool_repr():
    t = xn.Tensor([3.5])
    assert t.item() == 3.5 and float(t) == 3.5 and bool(t)
    assert "Tensor(" in repr(t) and "float32" in repr(t)
    with pytest.raises(ValueError, match="one element"):
        xn.Tensor([1.0, 2.0]).item()


def test_astype_and_reshape_forms():
    t = xn.Tensor(np.arange(6.0), requires_grad=True)
    assert t.reshape(2, 3).shape == (2, 3)
    assert t.reshape((3, 2)).shape == (3, 2)
    assert t.reshape(2, 3).transpose().shape == (3, 2)
    d = t.astype("float32")
    assert d.dtype == xn.backend.dtype("float32")
    d.sum().backward()
    assert t.grad.dtype == t.dtype


def test_getitem_rows_with_tensor_index():
    x = xn.Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    idx = xn.Tensor([3, 3, 1])
    out = x[idx]
    assert out.shape == (3, 3)
    out.sum().backward()
    np.testing.assert_array_equal(grad_of(x)[:, 0], [0, 1, 0, 2])


def test_matmul_of_raw_arrays_and_tensors():
    a = xn.backend.asarray(np.eye(2), dtype="float32")
    w = xn.Parameter(np.array([[1.0, 2.0], [3.0, 4.0]]))
    out = ops.matmul(a, w)
    out.sum().backward()
    np.testing.assert_allclose(grad_of(w), np.ones((2, 2)))
