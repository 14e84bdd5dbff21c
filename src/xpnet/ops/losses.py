"""Fused crossentropy primitives: softmax (dense and sparse labels) and sigmoid.

Fused for stability and speed (see each class's comment); the loss functions
built on them, by Keras name, are in :mod:`xpnet.losses`.
"""

from __future__ import annotations

from typing import Any

from xpnet import backend as B
from xpnet.tensor import Function

__all__ = ["SigmoidCrossEntropy", "SoftmaxCrossEntropy", "SparseSoftmaxCrossEntropy", "flat_index"]


_ARANGES: dict[tuple, Any] = {}


def _arange(xp, n: int, dtype, device, step: int = 1):
    """``arange(0, n * step, step)``, cached: the training loop asks for the same few
    (batch row offsets, class ids) every step. Callers never write into it. A step
    being compiled (``jit_compile``; its arrays have no device yet) keeps none: the
    array would be a placeholder of that one trace."""
    if device is None:  # inside a compiled step: a traced constant, nothing to keep
        return xp.arange(0, n * step, step, dtype=dtype)
    key = (xp, n, step, dtype, device)
    try:
        out = _ARANGES.get(key)
    except TypeError:  # an unhashable device: no cache
        return xp.arange(0, n * step, step, dtype=dtype, device=device)
    if out is None:
        if len(_ARANGES) > 64:  # many batch sizes (a ragged last batch each): start over
            _ARANGES.clear()
        out = _ARANGES[key] = xp.arange(0, n * step, step, dtype=dtype, device=device)
    return out


def flat_index(xp, labels, n_classes: int, device):
    """Position of each row's label in the flattened (rows, classes) array."""
    return _arange(xp, labels.shape[0], labels.dtype, device, n_classes) + labels


class SoftmaxCrossEntropy(Function):
    # Fused for speed and stability: -sum(t * log_softmax(z)) in one node with the max
    # subtracted; backward is softmax(z) * sum(t) - t (softmax - t for distributions).
    def forward(self, logits, target, axis=-1):
        xp = self.xp
        shifted = logits - xp.max(logits, axis=axis, keepdims=True)
        self.log_p = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        self.target, self.axis = target, axis
        return -xp.sum(target * self.log_p, axis=axis)

    def backward(self, g):
        xp = self.xp
        g = xp.expand_dims(g, axis=self.axis)
        gz = gt = None
        if self.needs[0]:
            total = xp.sum(self.target, axis=self.axis, keepdims=True)
            gz = g * (xp.exp(self.log_p) * total - self.target)
        if self.needs[1]:
            gt = -g * self.log_p
        return gz, gt


class SparseSoftmaxCrossEntropy(Function):
    # Fused for speed and memory: one node from (rows, classes) logits and (rows,) labels
    # to per-row losses; each row's label logit is gathered (no one-hot is built), and
    # forward's exp(z - max) becomes backward's softmax in place.
    # ``mean=True`` returns the rows' mean in the same node (the Loss class's
    # sum_over_batch_size reduction without its own node).
    def forward(self, logits, labels, mean=False):
        xp = self.xp
        rows, c = logits.shape
        self.mean = mean
        m = B.reduce_max(logits, axis=-1, keepdims=True)
        e = xp.exp(logits - m)
        total = B.reduce_sum(e, axis=-1, keepdims=True)
        self.logits, self.m, self.e, self.total, self.labels = logits, m, e, total, labels
        self.index = flat_index(xp, labels, c, B.device_of(labels))
        picked = xp.take(B.reshape(logits, (-1,)), self.index)
        per = B.reshape(xp.log(total) + m, (-1,)) - picked
        return B.reduce_sum(per) / rows if mean else per  # (sum is cheaper than mean on NumPy)

    def backward(self, g):
        xp = self.xp
        # softmax in forward's buffer (JAX rebinds); a second backward (retain_graph)
        # finds it spent and recomputes
        p = self.e if self.e is not None else xp.exp(self.logits - self.m)
        p /= self.total
        # (softmax - onehot) * g
        p = B.subtract_one_at(p, self.index, self.labels)
        p *= g / p.shape[0] if self.mean else xp.reshape(g, (-1, 1))
        self.e = None  # the buffer is the gradient now
        return p, None


class SigmoidCrossEntropy(Function):
    # Fused for stability: max(x, 0) - x*y + log1p(exp(-|x|)) is finite for every logit
    # x, and the backward sigmoid(x) - y needs no division by p * (1 - p).
    def forward(self, logits, target):
        xp = self.xp
        self.x, self.y = logits, target
        relu = xp.where(logits > 0, logits, 0.0)
        return relu - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))

    def backward(self, g):
        xp = self.xp
        gx = gy = None
        if self.needs[0]:
            e = xp.exp(-xp.abs(self.x))
            p = xp.where(self.x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
            gx = g * (p - self.y)
        if self.needs[1]:
            gy = -g * self.x
        return gx, gy
