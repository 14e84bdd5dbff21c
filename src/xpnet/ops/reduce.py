"""Reductions over axes and the softmax family: sum, mean, max, min, var, std,
logsumexp, softmax, log_softmax."""

from __future__ import annotations

import builtins
import math

from xpnet.ops._common import _axes, _drop, _kshape, as_tensor
from xpnet.ops.elementwise import sqrt
from xpnet.tensor import Function, Tensor


class Sum(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.shape = x.shape
        self.axes = _axes(axis, x.ndim)
        self.keepdims = keepdims
        return self.xp.sum(x, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        xp = self.xp
        if not self.keepdims:
            g = xp.reshape(g, _kshape(self.shape, self.axes))
        return xp.broadcast_to(g, self.shape)


class Mean(Function):
    def forward(self, x, axis=None, keepdims=False):
        self.shape = x.shape
        self.axes = _axes(axis, x.ndim)
        self.keepdims = keepdims
        return self.xp.mean(x, axis=self.axes, keepdims=keepdims)

    def backward(self, g):
        xp = self.xp
        n = 1
        for a in self.axes:
            n *= self.shape[a]
        if not self.keepdims:
            g = xp.reshape(g, _kshape(self.shape, self.axes))
        return xp.broadcast_to(g / n, self.shape)


class Max(Function):
    """Maximum over axes; tied maxima share the gradient equally (as ``torch.amax``)."""

    def forward(self, x, axis=None, keepdims=False):
        return _extreme_forward(self, self.xp.max, x, axis, keepdims)

    def backward(self, g):
        return _extreme_backward(self, g)


class Min(Function):
    """Minimum over axes; tied minima share the gradient equally (as ``torch.amin``)."""

    def forward(self, x, axis=None, keepdims=False):
        return _extreme_forward(self, self.xp.min, x, axis, keepdims)

    def backward(self, g):
        return _extreme_backward(self, g)


def _extreme_forward(fn: Function, reduce, x, axis, keepdims):
    fn.axes = _axes(axis, x.ndim)
    fn.keepdims = keepdims
    out_k = reduce(x, axis=fn.axes, keepdims=True)
    fn.x, fn.out_k = x, out_k
    return out_k if keepdims else fn.xp.reshape(out_k, _drop(x.shape, fn.axes))


def _extreme_backward(fn: Function, g):
    xp = fn.xp
    mask = xp.astype(fn.x == fn.out_k, g.dtype)
    count = xp.sum(mask, axis=fn.axes, keepdims=True)
    if not fn.keepdims:
        g = xp.reshape(g, fn.out_k.shape)
    return mask * (g / count)


class LogSumExp(Function):
    # Fused for stability: the max is subtracted before exp, and backward is softmax * g.
    def forward(self, x, axis=None, keepdims=False):
        xp = self.xp
        self.axes = _axes(axis, x.ndim)
        self.keepdims = keepdims
        m = xp.max(x, axis=self.axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0.0)
        out_k = xp.log(xp.sum(xp.exp(x - m), axis=self.axes, keepdims=True)) + m
        self.x, self.out_k = x, out_k
        return out_k if keepdims else xp.reshape(out_k, _drop(x.shape, self.axes))

    def backward(self, g):
        xp = self.xp
        if not self.keepdims:
            g = xp.reshape(g, self.out_k.shape)
        return g * xp.exp(self.x - self.out_k)


class Softmax(Function):
    # Fused: max-shifted exp in forward; backward y * (g - sum(g * y)) needs only y.
    def forward(self, x, axis=-1):
        xp = self.xp
        self.axis = axis
        e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        self.out = e / xp.sum(e, axis=axis, keepdims=True)
        return self.out

    def backward(self, g):
        y = self.out
        return y * (g - self.xp.sum(g * y, axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    # Fused: x - logsumexp(x) computed once, stable; backward g - softmax * sum(g).
    def forward(self, x, axis=-1):
        xp = self.xp
        self.axis = axis
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        self.out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        return self.out

    def backward(self, g):
        xp = self.xp
        return g - xp.exp(self.out) * xp.sum(g, axis=self.axis, keepdims=True)


def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (None: all axes)."""
    return Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (None: all axes)."""
    return Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``."""
    return Max.apply(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``."""
    return Min.apply(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims: bool = False, correction: float = 0) -> Tensor:
    """Variance over ``axis``: mean((x - mean(x))**2) * n / (n - correction)."""
    x = as_tensor(x)
    axes = _axes(axis, x.ndim)
    centered = x - mean(x, axes, keepdims=True)
    out = mean(centered * centered, axes, keepdims=keepdims)
    if correction:
        n = math.prod(x.shape[a] for a in axes)
        out = out * (n / builtins.max(n - correction, 0))
    return out


def std(x, axis=None, keepdims: bool = False, correction: float = 0) -> Tensor:
    """Standard deviation: sqrt(var)."""
    return sqrt(var(x, axis, keepdims, correction))


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, stable for large |x| (the standard lacks it)."""
    return LogSumExp.apply(x, axis=axis, keepdims=keepdims)


def softmax(x, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, computed with the max subtracted."""
    return Softmax.apply(x, axis=axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``."""
    return LogSoftmax.apply(x, axis=axis)
