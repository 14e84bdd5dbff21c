"""Differentiable primitives, by family, and the composites built from them.

Each primitive is a :class:`~xpnet.tensor.Function` whose ``forward`` keeps only
what ``backward`` needs and whose ``backward`` sits right under it. Everything
is written in Array API calls on ``self.xp`` (the inputs' namespace), so it
runs on every backend and device; where a backend can do better (writing into
its own buffers), the op calls a kernel of :mod:`xpnet.backend.kernels`, never
a library of its own choosing. Composites (``var``, ``std``, ``squeeze``, ...)
are plain functions of primitives and have no backward of their own; the few
fused primitives say in a comment why they are fused.

Families: :mod:`~xpnet.ops.elementwise`, :mod:`~xpnet.ops.reduce`,
:mod:`~xpnet.ops.shape`, :mod:`~xpnet.ops.linalg`, :mod:`~xpnet.ops.nn`
(convolution, pooling), :mod:`~xpnet.ops.rnn` (fused recurrences),
:mod:`~xpnet.ops.activation`, :mod:`~xpnet.ops.losses` (fused crossentropies),
:mod:`~xpnet.ops.norm`. This package also binds :class:`~xpnet.tensor.Tensor`'s
operators and array methods to these functions (the engine below imports no op).

The public functions accept Tensors, backend arrays and Python scalars.
"""

from __future__ import annotations

from xpnet.ops import activation, keras_names, losses, nn, norm, rnn
from xpnet.ops._common import as_tensor
from xpnet.ops.elementwise import (
    abs,
    add,
    cast,
    clip,
    compare,
    div,
    exp,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from xpnet.ops.keras_names import (
    absolute,
    arange,
    argmax,
    argmin,
    concatenate,
    convert_to_numpy,
    convert_to_tensor,
    divide,
    dot,
    einsum,
    equal,
    eye,
    full,
    full_like,
    greater,
    greater_equal,
    less,
    less_equal,
    multiply,
    negative,
    not_equal,
    ones,
    ones_like,
    shape,
    square,
    stop_gradient,
    subtract,
    transpose,
    zeros,
    zeros_like,
)
from xpnet.ops.linalg import linear, matmul
from xpnet.ops.reduce import log_softmax, logsumexp, max, mean, min, softmax, std, sum, var
from xpnet.ops.shape import (
    broadcast_to,
    concat,
    expand_dims,
    flatten,
    getitem,
    matrix_transpose,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    take,
)
from xpnet.tensor import Tensor

__all__ = [
    "abs",
    "absolute",
    "activation",
    "add",
    "arange",
    "argmax",
    "argmin",
    "as_tensor",
    "broadcast_to",
    "cast",
    "clip",
    "compare",
    "concat",
    "concatenate",
    "convert_to_numpy",
    "convert_to_tensor",
    "div",
    "divide",
    "dot",
    "einsum",
    "equal",
    "exp",
    "expand_dims",
    "eye",
    "flatten",
    "full",
    "full_like",
    "getitem",
    "greater",
    "greater_equal",
    "keras_names",
    "less",
    "less_equal",
    "linear",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "losses",
    "matmul",
    "matrix_transpose",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "multiply",
    "neg",
    "negative",
    "nn",
    "norm",
    "not_equal",
    "ones",
    "ones_like",
    "pad",
    "permute",
    "pow",
    "relu",
    "reshape",
    "rnn",
    "shape",
    "sigmoid",
    "softmax",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "stop_gradient",
    "sub",
    "subtract",
    "sum",
    "take",
    "tanh",
    "transpose",
    "var",
    "where",
    "zeros",
    "zeros_like",
]


def _bind_tensor_methods() -> None:
    """Tensor's operators and array methods, bound once to the functions above."""

    def reshape_method(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return reshape(self, shape)

    def transpose_method(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return permute(self, axes or None)

    def comparison(op):
        return lambda self, other: compare(op, self, other)

    methods = {
        "__add__": add,
        "__radd__": lambda self, other: add(other, self),
        "__sub__": sub,
        "__rsub__": lambda self, other: sub(other, self),
        "__mul__": mul,
        "__rmul__": lambda self, other: mul(other, self),
        "__truediv__": div,
        "__rtruediv__": lambda self, other: div(other, self),
        "__pow__": pow,
        "__rpow__": lambda self, other: pow(other, self),
        "__matmul__": matmul,
        "__rmatmul__": lambda self, other: matmul(other, self),
        "__neg__": neg,
        "__pos__": lambda self: self,
        "__abs__": abs,
        "__getitem__": getitem,
        # comparisons give boolean tensors and never carry gradients
        "__lt__": comparison("less"),
        "__le__": comparison("less_equal"),
        "__gt__": comparison("greater"),
        "__ge__": comparison("greater_equal"),
        "__eq__": comparison("equal"),
        "__ne__": comparison("not_equal"),
        "sum": sum,
        "mean": mean,
        "max": max,
        "min": min,
        "var": var,
        "std": std,
        "logsumexp": logsumexp,
        "exp": exp,
        "log": log,
        "log1p": log1p,
        "sqrt": sqrt,
        "tanh": tanh,
        "sigmoid": sigmoid,
        "relu": relu,
        "clip": clip,
        "astype": cast,
        "reshape": reshape_method,
        "flatten": flatten,
        "transpose": transpose_method,
        "permute": transpose_method,
        "T": property(lambda self: permute(self, None), doc="Reversed axes."),
        "mT": property(matrix_transpose, doc="Transpose of the last two axes."),
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.__hash__ = object.__hash__  # __eq__ is elementwise; identity stays the hash


_bind_tensor_methods()
