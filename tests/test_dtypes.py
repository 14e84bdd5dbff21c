"""float32 stays float32 through a whole forward and backward pass."""

from __future__ import annotations

import numpy as np

import xpnet as xn
from xpnet import backend as B
from xpnet import ops
from xpnet.tensor import Function


def _record_dtypes(monkeypatch):
    seen: list[tuple[str, str]] = []
    original = Function.apply.__func__

    def recording(cls, *args, **kwargs):
        out = original(cls, *args, **kwargs)
        seen.append((f"{cls.__name__} forward", str(out.dtype)))
        ctx = out._ctx
        if ctx is not None:
            backward = ctx.backward

            def checked_backward(g, _backward=backward, _name=cls.__name__):
                grads = _backward(g)
                for gr in grads if isinstance(grads, tuple) else (grads,):
                    if gr is not None:
                        seen.append((f"{_name} backward", str(gr.dtype)))
                return grads

            ctx.backward = checked_backward
        return out

    monkeypatch.setattr(Function, "apply", classmethod(recording))
    return seen


def test_float32_end_to_end(monkeypatch):
    seen = _record_dtypes(monkeypatch)
    xn.set_seed(3)
    x = xn.Tensor(np.random.default_rng(0).normal(size=(8, 5)), dtype="float32")
    labels = np.array([0, 2, 1, 1, 0, 2, 2, 1])
    picks = xn.Tensor(np.arange(8) * 3 + labels)  # int64 indices of the true-class entries
    w1 = xn.Parameter(B.random_normal((5, 16), 0.0, 0.3))
    b1 = xn.Parameter(np.zeros(16))
    w2 = xn.Parameter(B.random_normal((16, 3), 0.0, 0.3))
    h = ops.relu(x @ w1 + b1)
    h = ops.tanh(h) * 0.5 + ops.sigmoid(h) ** 2 - ops.sqrt(ops.abs(h) + 1e-3)
    logits = h @ w2
    logp = ops.log_softmax(logits)
    nll = -ops.take(logp.reshape(-1), picks)
    loss = nll.mean() + 1e-4 * (w1 * w1).sum() + ops.logsumexp(logits, axis=1).var()
    loss.backward()
    assert loss.dtype == B.dtype("float32")
    for p in (w1, b1, w2):
        assert p.grad.dtype == B.dtype("float32")
    wrong = [(where, dt) for where, dt in seen if "float32" not in dt and "bool" not in dt]
    assert not wrong, f"float64 (or other) leaked in: {wrong}"
    assert any("backward" in where for where, _ in seen)
