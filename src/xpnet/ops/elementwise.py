"""Elementwise primitives: arithmetic, unary functions, ReLU, clip, where, cast,
and comparisons (which carry no gradient)."""

from __future__ import annotations

import math
import operator

from xpnet import backend as B
from xpnet.ops._common import _arg, as_tensor
from xpnet.tensor import Function, Tensor, _scalar


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, (-g if self.needs[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        return (g * self.b if self.needs[0] else None), (g * self.a if self.needs[1] else None)


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        ga = g / self.b if self.needs[0] else None
        gb = -g * self.a / (self.b * self.b) if self.needs[1] else None
        return ga, gb


class Pow(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, g):
        a, b = self.a, self.b
        ga = g * b * a ** (b - 1) if self.needs[0] else None
        gb = None
        if self.needs[1]:
            log_a = math.log(a) if isinstance(a, (int, float)) else self.xp.log(a)
            gb = g * self.out * log_a
        return ga, gb


class Maximum(Function):
    """Elementwise maximum; at ties the gradient is split equally (as PyTorch)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return self.xp.maximum(a, b)

    def backward(self, g):
        return _minmax_grads(self, g, self.a > self.b)


class Minimum(Function):
    """Elementwise minimum; at ties the gradient is split equally (as PyTorch)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return self.xp.minimum(a, b)

    def backward(self, g):
        return _minmax_grads(self, g, self.a < self.b)


def _minmax_grads(fn: Function, g, a_wins):
    xp = fn.xp
    tie = fn.a == fn.b
    half = g * 0.5
    ga = xp.where(a_wins, g, xp.where(tie, half, 0.0)) if fn.needs[0] else None
    gb = xp.where(a_wins, 0.0, xp.where(tie, half, g)) if fn.needs[1] else None
    return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Exp(Function):
    def forward(self, x):
        self.out = self.xp.exp(x)
        return self.out

    def backward(self, g):
        return g * self.out


class Log(Function):
    def forward(self, x):
        self.x = x
        return self.xp.log(x)

    def backward(self, g):
        return g / self.x


class Log1p(Function):
    def forward(self, x):
        self.x = x
        return self.xp.log1p(x)

    def backward(self, g):
        return g / (self.x + 1.0)


class Sqrt(Function):
    def forward(self, x):
        self.out = self.xp.sqrt(x)
        return self.out

    def backward(self, g):
        return g * 0.5 / self.out


class Abs(Function):
    def forward(self, x):
        self.x = x
        return self.xp.abs(x)

    def backward(self, g):
        return g * self.xp.sign(self.x)


class Tanh(Function):
    def forward(self, x):
        self.out = self.xp.tanh(x)
        return self.out

    def backward(self, g):
        return g * (1.0 - self.out * self.out)


class Sigmoid(Function):
    # Fused: one exp of -|x| keeps both tails finite, and backward reuses the output.
    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))
        self.out = xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self.out

    def backward(self, g):
        return g * self.out * (1.0 - self.out)


class Relu(Function):
    # maximum's output is the result, and backward's mask is out > 0: nothing else kept.
    def forward(self, x):
        self.out = self.xp.maximum(x, 0.0)
        return self.out

    def backward(self, g):
        return B.relu_backward(self.out, g)


class Clip(Function):
    """Clip to [lo, hi]; the gradient passes where the input is inside (bounds included)."""

    def forward(self, x, lo=None, hi=None):
        xp = self.xp
        self.inside = None
        if lo is not None:
            self.inside = x >= lo
        if hi is not None:
            below = x <= hi
            self.inside = below if self.inside is None else xp.logical_and(self.inside, below)
        return xp.clip(x, lo, hi)

    def backward(self, g):
        return g if self.inside is None else self.xp.where(self.inside, g, 0.0)


class Where(Function):
    """``where(cond, a, b)``; ``cond`` is boolean and gets no gradient."""

    def forward(self, cond, a, b):
        self.cond = cond
        return self.xp.where(cond, a, b)

    def backward(self, g):
        xp = self.xp
        ga = xp.where(self.cond, g, 0.0) if self.needs[1] else None
        gb = xp.where(self.cond, 0.0, g) if self.needs[2] else None
        return None, ga, gb


class Cast(Function):
    def forward(self, x, dtype=None):
        self.dtype_in = x.dtype
        return self.xp.astype(x, dtype)

    def backward(self, g):
        return self.xp.astype(g, self.dtype_in)


def add(a, b) -> Tensor:
    """Elementwise ``a + b`` with broadcasting."""
    return Add.apply(_arg(a), _arg(b))


def sub(a, b) -> Tensor:
    """Elementwise ``a - b`` with broadcasting."""
    return Sub.apply(_arg(a), _arg(b))


def mul(a, b) -> Tensor:
    """Elementwise ``a * b`` with broadcasting."""
    return Mul.apply(_arg(a), _arg(b))


def div(a, b) -> Tensor:
    """Elementwise ``a / b`` with broadcasting."""
    return Div.apply(_arg(a), _arg(b))


def pow(a, b) -> Tensor:
    """Elementwise ``a ** b``; d/db uses log(a), so ``a`` must be positive there."""
    return Pow.apply(_arg(a), _arg(b))


def maximum(a, b) -> Tensor:
    """Elementwise maximum."""
    return Maximum.apply(_arg(a), _arg(b))


def minimum(a, b) -> Tensor:
    """Elementwise minimum."""
    return Minimum.apply(_arg(a), _arg(b))


def neg(x) -> Tensor:
    """``-x``."""
    return Neg.apply(x)


def exp(x) -> Tensor:
    """Elementwise e**x."""
    return Exp.apply(x)


def log(x) -> Tensor:
    """Natural logarithm."""
    return Log.apply(x)


def log1p(x) -> Tensor:
    """log(1 + x), accurate for small x."""
    return Log1p.apply(x)


def sqrt(x) -> Tensor:
    """Square root."""
    return Sqrt.apply(x)


def abs(x) -> Tensor:
    """Absolute value (gradient sign(x), 0 at 0)."""
    return Abs.apply(x)


def tanh(x) -> Tensor:
    """Hyperbolic tangent; d/dx = 1 - tanh(x)**2."""
    return Tanh.apply(x)


def sigmoid(x) -> Tensor:
    """Logistic sigmoid 1 / (1 + e**-x), finite for any float input."""
    return Sigmoid.apply(x)


def relu(x) -> Tensor:
    """max(x, 0); the gradient at 0 is 0."""
    return Relu.apply(x)


def clip(x, min=None, max=None) -> Tensor:
    """Clip to [min, max] (either may be None); Python-number bounds."""
    lo = None if min is None else _scalar(min)
    hi = None if max is None else _scalar(max)
    return Clip.apply(x, lo=lo, hi=hi)


def where(cond, a, b) -> Tensor:
    """``a`` where ``cond`` is true, else ``b`` (``cond`` boolean, no gradient)."""
    cond = cond.data if isinstance(cond, Tensor) else cond
    a, b = _arg(a), _arg(b)
    if not hasattr(a, "shape") and not hasattr(b, "shape"):
        # two Python numbers carry no dtype: take floatx, never the float64 default
        xp = B.namespace(cond)
        a = xp.asarray(a, dtype=B.dtype_for(xp), device=B.device_of(cond))
    return Where.apply(cond, a, b)


def cast(x, dtype) -> Tensor:
    """``x`` as ``dtype`` (a name such as ``"float64"`` or a dtype object)."""
    x = as_tensor(x)
    return Cast.apply(x, dtype=B.dtype(dtype, x.xp))


_COMPARE = {
    "less": operator.lt,
    "less_equal": operator.le,
    "greater": operator.gt,
    "greater_equal": operator.ge,
    "equal": operator.eq,
    "not_equal": operator.ne,
}


def compare(op: str, a, b) -> Tensor:
    """Elementwise comparison ``op`` (e.g. ``"less"``); a boolean tensor without gradient."""
    if op not in _COMPARE:
        raise ValueError(f"compare: unknown op {op!r}; expected one of {tuple(_COMPARE)}.")
    da = a.data if isinstance(a, Tensor) else _arg(a)
    db = b.data if isinstance(b, Tensor) else _arg(b)
    B.namespace_of([da, db], op)  # a clear error when backends or devices mix
    return Tensor._make(_COMPARE[op](da, db), None)


class MaskedAffine(Function):
    """``where(keep, x * scale + shift, fill)`` for a boolean ``keep`` mask.

    Fused for memory: backward needs only the boolean mask (one byte per
    element, or per channel for spatial dropout) and a Python float, where
    ``x * float_mask`` would keep a float mask as large as ``x``.
    """

    def forward(self, x, keep, scale=1.0, shift=0.0, fill=0.0):
        self.keep, self.scale = keep, scale
        y = x * scale
        if shift != 0.0:
            y = y + shift
        return self.xp.where(keep, y, fill)

    def backward(self, g):
        return self.xp.where(self.keep, g * self.scale, 0.0), None
