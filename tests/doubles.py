"""Test doubles for losses and optimizers, used until xpnet.losses/optimizers land.

They follow INTERFACES.md: a loss is called as ``loss(y_true, y_pred,
sample_weight=None)`` and returns a scalar Tensor; an optimizer has
``step(params)``, ``learning_rate``, ``iterations``, ``get_state``/``set_state``.
"""

from __future__ import annotations

import xpnet as xn
from xpnet import backend as B
from xpnet import ops


def _reduce(values, sample_weight):
    if sample_weight is not None:
        w = xn.Tensor(sample_weight, dtype=values.dtype)
        while w.ndim < values.ndim:
            w = ops.expand_dims(w, -1)
        values = values * w
    return values.sum() / float(values.size)


class MSEDouble:
    name = "mean_squared_error"

    def __call__(self, y_true, y_pred, sample_weight=None):
        d = y_pred - xn.Tensor(y_true, dtype=y_pred.dtype)
        return _reduce((d * d).mean(axis=-1), sample_weight)

    def get_config(self):
        return {}


class SparseCEDouble:
    """Sparse categorical cross-entropy on probabilities (softmax outputs)."""

    name = "sparse_categorical_crossentropy"

    def __call__(self, y_true, y_pred, sample_weight=None):
        xp = y_pred.xp
        labels = xn.Tensor(y_true).data
        classes = xp.arange(y_pred.shape[-1], device=B.device_of(y_pred.data))
        mask = xp.astype(xp.reshape(labels, (-1, 1)) == classes, y_pred.dtype)
        p = (y_pred * xn.Tensor._make(mask, None)).sum(axis=-1)
        return _reduce(-(p.clip(1e-7, 1.0).log()), sample_weight)

    def get_config(self):
        return {}


class SGDDouble:
    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.iterations = 0

    @property
    def current_learning_rate(self):
        return float(self.learning_rate)

    def step(self, params):
        lr = float(self.learning_rate)
        for p in params:
            if p.grad is not None:
                p.data = p.data - lr * p.grad
        self.iterations += 1

    def get_state(self):
        return {"iterations": self.iterations}

    def set_state(self, state, params):
        self.iterations = int(state["iterations"])

    def get_config(self):
        return {"learning_rate": self.learning_rate}
