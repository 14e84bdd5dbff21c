"""Differentiable primitives and the composites built from them.

Each primitive is a :class:`~xpnet.tensor.Function` whose ``forward`` keeps only
what ``backward`` needs and whose ``backward`` sits right under it. Everything
is written in Array API calls on ``self.xp`` (the inputs' namespace), so it
runs on every backend and device. Composites (``var``, ``std``, ``squeeze``,
...) are plain functions of primitives and have no backward of their own; the
few fused primitives say in a comment why they are fused.

The public functions accept Tensors, backend arrays and Python scalars.
"""

from __future__ import annotations

import builtins
import math
import numbers
import operator
from collections.abc import Sequence

from xpnet import backend as B
from xpnet.tensor import Function, Tensor, _scalar, grad_buffer

__all__ = [
    "abs",
    "add",
    "broadcast_to",
    "cast",
    "clip",
    "compare",
    "concat",
    "div",
    "exp",
    "expand_dims",
    "flatten",
    "getitem",
    "linear",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "pad",
    "permute",
    "pow",
    "relu",
    "reshape",
    "sigmoid",
    "softmax",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "take",
    "tanh",
    "var",
    "where",
]


def _arg(v):
    """Tensors and arrays pass; library scalars become Python scalars (no float64 leaks)."""
    if isinstance(v, numbers.Number):  # NumPy scalars too (they also have .shape)
        return _scalar(v)
    return v


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else a for a in axis)


def _kshape(shape, axes) -> tuple[int, ...]:
    """The shape a reduction over ``axes`` has with keepdims=True."""
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


# =========================================================================== elementwise binary


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


class Matmul(Function):
    """``a @ b`` for arrays of rank >= 2 (leading axes broadcast as batch axes)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        xp = self.xp
        ga = g @ _mT(xp, self.b) if self.needs[0] else None
        gb = _mT(xp, self.a) @ g if self.needs[1] else None
        return ga, gb


class Linear(Function):
    # Fused for speed: x @ W + b (and an optional ReLU) in one node, and any leading
    # axes are folded into one batch axis so forward and backward are plain 2-D GEMMs
    # (no batched matmul). The bias is added into the GEMM's own fresh output.
    def forward(self, x, w, b=None, relu=False):
        xp = self.xp
        self.shape = x.shape
        x2 = x if x.ndim == 2 else xp.reshape(x, (-1, x.shape[-1]))
        self.x2, self.w, self.has_b = x2, w, b is not None
        y = x2 @ w
        if b is not None:
            y = _add_into(y, b)
        self.relu_out = None
        if relu:
            self.relu_out = y = B.relu_into(y)  # our own GEMM output; backward's mask: y > 0
        return y if x.ndim == 2 else xp.reshape(y, (*x.shape[:-1], w.shape[-1]))

    def backward(self, g):
        xp = self.xp
        g2 = g if g.ndim == 2 else xp.reshape(g, (-1, g.shape[-1]))
        if self.relu_out is not None:  # 2-D, as g2
            g2 = B.relu_backward(self.relu_out, g2)
        gx = None
        if self.needs[0]:
            gx = g2 @ self.w.T
            if len(self.shape) != 2:
                gx = xp.reshape(gx, self.shape)
        # weight and bias gradients go straight into a buffer their parameters lend
        # (fit's fused optimizer step) where one is lent
        gw = B.matmul_into(grad_buffer(self.parents[1]), self.x2.T, g2) if self.needs[1] else None
        gb = None
        if self.has_b and self.needs[2]:
            gb = B.reduce_sum(g2, axis=0, out=grad_buffer(self.parents[2]))
        return gx, gw, gb


def _mT(xp, x):
    return x.T if x.ndim == 2 else xp.matrix_transpose(x)


# =========================================================================== elementwise unary


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


def _add_into(y, b):
    """``y + b`` written into ``y``, a fresh array the caller owns (JAX rebinds)."""
    if b.dtype != y.dtype:
        return y + b
    y += b
    return y


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


# =========================================================================== reductions


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


def _drop(shape, axes) -> tuple[int, ...]:
    return tuple(s for i, s in enumerate(shape) if i not in axes)


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


# =========================================================================== shape and indexing


class Reshape(Function):
    def forward(self, x, shape=()):
        self.shape = x.shape
        return self.xp.reshape(x, shape)

    def backward(self, g):
        return self.xp.reshape(g, self.shape)


class Permute(Function):
    def forward(self, x, axes=None):
        axes = tuple(reversed(range(x.ndim))) if axes is None else tuple(a % x.ndim for a in axes)
        self.inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))
        return self.xp.permute_dims(x, axes)

    def backward(self, g):
        return self.xp.permute_dims(g, self.inverse)


class BroadcastTo(Function):
    """Explicit broadcast; its backward returns ``g`` and the engine sums it back."""

    def forward(self, x, shape=()):
        return self.xp.broadcast_to(x, tuple(shape))

    def backward(self, g):
        return g


class GetItem(Function):
    """Basic indexing (ints, slices, ``...``, ``None``) and boolean masks.

    Integer-array indices go through :class:`Take` (repeats need a scatter-add).
    """

    def forward(self, x, index=None):
        self.x_shape, self.x_dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, g):
        xp = self.xp
        z = xp.zeros(self.x_shape, dtype=g.dtype, device=B.device_of(g))
        return _set_at(z, self.index, g)


def _set_at(z, index, values):
    import array_api_extra as xpx  # standard has no functional update: JAX arrays are immutable

    return xpx.at(z, index).set(values)


class Take(Function):
    """``xp.take`` along ``axis`` with an integer index array of any shape.

    The backward is a scatter-add, so repeated indices accumulate (see
    :func:`xpnet.backend.scatter_add`).
    """

    def forward(self, x, indices, axis=0):
        xp = self.xp
        self.axis = axis % x.ndim
        self.n = x.shape[self.axis]
        self.idx_shape = indices.shape
        self.flat = xp.reshape(indices, (-1,))
        out = xp.take(x, self.flat, axis=self.axis)
        if indices.ndim != 1:
            s = x.shape
            out = xp.reshape(out, (*s[: self.axis], *indices.shape, *s[self.axis + 1 :]))
        return out

    def backward(self, g):
        xp = self.xp
        ax, k = self.axis, len(self.idx_shape)
        if k != 1:
            g = xp.reshape(g, (*g.shape[:ax], -1, *g.shape[ax + k :]))
        return B.scatter_add(xp, g, self.flat, self.n, axis=ax), None


class Concat(Function):
    def forward(self, *xs, axis=0):
        self.axis = axis
        self.sizes = [x.shape[axis] for x in xs]
        return self.xp.concat(xs, axis=axis)

    def backward(self, g):
        ax = self.axis % g.ndim
        out, start = [], 0
        for n, need in zip(self.sizes, self.needs):
            if need:
                sl = (slice(None),) * ax + (slice(start, start + n), ...)  # strict: index all axes
                out.append(g[sl])
            else:
                out.append(None)
            start += n
        return tuple(out)


class Stack(Function):
    def forward(self, *xs, axis=0):
        self.axis = axis
        return self.xp.stack(xs, axis=axis)

    def backward(self, g):
        ax = self.axis % g.ndim
        return tuple(
            g[(slice(None),) * ax + (i, ...)] if need else None for i, need in enumerate(self.needs)
        )


class Pad(Function):
    """Constant padding; ``pad_width`` is one (before, after) pair per axis."""

    def forward(self, x, pad_width=(), value=0.0):
        import array_api_extra as xpx  # the standard has no pad

        self.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return xpx.pad(x, pad_width, constant_values=value, xp=self.xp)

    def backward(self, g):
        return g[self.slices]


# =========================================================================== public functions


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


def matmul(a, b) -> Tensor:
    """Matrix product ``a @ b``; 1-D operands are promoted as in the standard."""
    a, b = _tensor(a), _tensor(b)
    if a.ndim == 1 and b.ndim == 1:
        return (a * b).sum()
    if a.ndim == 1:
        return reshape(Matmul.apply(reshape(a, (1, -1)), b), b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:
        return reshape(Matmul.apply(a, reshape(b, (-1, 1))), a.shape[:-1])
    return Matmul.apply(a, b)


def _tensor(x) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return Tensor._make(x, None) if hasattr(x, "shape") else Tensor(x)


def linear(x, w, b=None, relu: bool = False) -> Tensor:
    """``x @ w + b`` for ``x`` of shape (..., in), ``w`` (in, out), ``b`` (out,) or None;
    ``relu=True`` applies ``max(., 0)`` in the same node (Dense's fused ReLU)."""
    x = _tensor(x)
    if x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"linear: inputs with last dimension {w.shape[0]} expected, got shape {x.shape}."
        )
    if x.ndim == 1:
        return reshape(Linear.apply(reshape(x, (1, -1)), w, b, relu=relu), (w.shape[-1],))
    return Linear.apply(x, w, b, relu=bool(relu))


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
    x = _tensor(x)
    return Cast.apply(x, dtype=B.dtype(dtype, x.xp))


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
    x = _tensor(x)
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


def reshape(x, shape: Sequence[int]) -> Tensor:
    """The same values in a new shape (one entry may be -1); ``x`` itself if unchanged."""
    shape = tuple(int(s) for s in shape)
    if isinstance(x, Tensor) and shape == x.shape:
        return x
    return Reshape.apply(x, shape=shape)


def flatten(x, start_axis: int = 0) -> Tensor:
    """Merge the axes from ``start_axis`` on into one."""
    x = _tensor(x)
    start_axis %= builtins.max(x.ndim, 1)
    return reshape(x, (*x.shape[:start_axis], -1))


def squeeze(x, axis) -> Tensor:
    """Remove length-1 ``axis`` (an int or tuple)."""
    x = _tensor(x)
    axes = _axes(axis, x.ndim)
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: axis {a} has length {x.shape[a]}, expected 1.")
    return reshape(x, _drop(x.shape, axes))


def expand_dims(x, axis: int) -> Tensor:
    """Insert a length-1 axis at ``axis``."""
    x = _tensor(x)
    shape = list(x.shape)
    shape.insert(axis % (x.ndim + 1), 1)
    return reshape(x, shape)


def permute(x, axes=None) -> Tensor:
    """Reorder axes (None reverses them)."""
    return Permute.apply(x, axes=axes)


def matrix_transpose(x) -> Tensor:
    """Swap the last two axes."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"matrix_transpose needs at least 2 axes; got shape {x.shape}.")
    axes = (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2)
    return permute(x, axes)


def broadcast_to(x, shape: Sequence[int]) -> Tensor:
    """Broadcast to ``shape``; the gradient is summed back."""
    return BroadcastTo.apply(x, shape=tuple(shape))


def _is_int_array(v) -> bool:
    if isinstance(v, Tensor):
        v = v.data
    if isinstance(v, (list, tuple)) and v and builtins.all(isinstance(i, int) for i in v):
        return True
    return (
        hasattr(v, "dtype")
        and getattr(v, "ndim", 0) >= 1
        and B.namespace(v).isdtype(v.dtype, "integral")
    )


def getitem(x, index) -> Tensor:
    """``x[index]``: basic indices and boolean masks; an integer array selects rows (take)."""
    x = _tensor(x)
    if _is_int_array(index):
        return take(x, index, axis=0)
    if isinstance(index, Tensor):
        index = index.data
    if hasattr(index, "dtype"):  # a boolean mask must stand alone
        return GetItem.apply(x, index=index)
    index = tuple(i.data if isinstance(i, Tensor) else i for i in _as_tuple(index))
    if Ellipsis not in index and builtins.sum(i is not None for i in index) < x.ndim:
        # the standard needs every axis indexed; x[2] on a matrix means x[2, ...]
        index = (*index, Ellipsis)
    return GetItem.apply(x, index=index)


def _as_tuple(index) -> tuple:
    return index if isinstance(index, tuple) else (index,)


def take(x, indices, axis: int = 0) -> Tensor:
    """Select entries along ``axis`` by an integer array (of any shape); repeats allowed."""
    x = _tensor(x)
    if isinstance(indices, Tensor):
        indices = indices.data
    if not hasattr(indices, "dtype"):
        indices = x.xp.asarray(indices, device=x.device)
    return Take.apply(x, indices, axis=axis)


def concat(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return Concat.apply(*[_arg(t) for t in tensors], axis=axis)


def stack(tensors: Sequence, axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    return Stack.apply(*[_arg(t) for t in tensors], axis=axis)


def pad(x, pad_width, value: float = 0.0) -> Tensor:
    """Pad with a constant: ``pad_width`` is an int, or one (before, after) pair per axis."""
    x = _tensor(x)
    if isinstance(pad_width, int):
        pad_width = [(pad_width, pad_width)] * x.ndim
    pad_width = tuple((int(lo), int(hi)) for lo, hi in pad_width)
    if len(pad_width) != x.ndim:
        raise ValueError(
            f"pad expected {x.ndim} (before, after) pairs for shape {x.shape}; "
            f"got {len(pad_width)}."
        )
    return Pad.apply(x, pad_width=pad_width, value=_scalar(value))


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
