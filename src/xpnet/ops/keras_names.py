"""Keras 3's ``keras.ops`` names that xpnet's primitives cover: creation, conversion and
composites of the differentiable primitives (so the math ones differentiate).

Creation functions (``ones``, ``zeros``, ``arange``, ...) put arrays on the active
backend and device; ``convert_to_tensor`` wraps arrays and converts data;
``einsum`` reduces to permutes, reshapes and one batched matmul.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence

from xpnet import backend as B
from xpnet.ops._common import as_tensor
from xpnet.ops.elementwise import abs as _abs
from xpnet.ops.elementwise import add, compare, div, mul, neg
from xpnet.ops.linalg import matmul
from xpnet.ops.reduce import sum as _sum
from xpnet.ops.shape import concat, permute, reshape
from xpnet.tensor import Tensor

__all__ = [
    "absolute",
    "arange",
    "argmax",
    "argmin",
    "concatenate",
    "convert_to_numpy",
    "convert_to_tensor",
    "divide",
    "dot",
    "einsum",
    "equal",
    "eye",
    "full",
    "full_like",
    "greater",
    "greater_equal",
    "less",
    "less_equal",
    "multiply",
    "negative",
    "not_equal",
    "ones",
    "ones_like",
    "shape",
    "square",
    "stop_gradient",
    "subtract",
    "transpose",
    "zeros",
    "zeros_like",
]


def _dtype(dtype):
    return B.dtype(dtype or B.floatx())


def _new(array) -> Tensor:
    return Tensor._make(array, None)


def convert_to_tensor(x, dtype: str | None = None, sparse=None) -> Tensor:
    """``x`` (Tensor, array of any backend, list, number) as a Tensor; ``dtype`` casts."""
    if sparse:
        raise ValueError("convert_to_tensor: sparse tensors are not supported.")
    if isinstance(x, Tensor):
        t = x
    elif B.is_array(x):  # another backend's array (or NumPy data) moves to the active one
        t = Tensor._make(B.asarray(x), None)
    else:
        t = Tensor(x)
    if dtype is not None and str(t.dtype).rsplit(".", 1)[-1] != dtype:
        from xpnet.ops.elementwise import cast

        t = cast(t, dtype)
    return t


def convert_to_numpy(x):
    """A host NumPy copy of ``x`` (a Tensor or any backend's array)."""
    return B.to_numpy(x.data if isinstance(x, Tensor) else B.asarray(x))


def shape(x) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple of ints."""
    return tuple(x.shape)


def zeros(shape, dtype: str | None = None) -> Tensor:
    xp = B.xp()
    return _new(xp.zeros(tuple(shape), dtype=_dtype(dtype), device=B.device()))


def ones(shape, dtype: str | None = None) -> Tensor:
    xp = B.xp()
    return _new(xp.ones(tuple(shape), dtype=_dtype(dtype), device=B.device()))


def full(shape, fill_value, dtype: str | None = None) -> Tensor:
    xp = B.xp()
    return _new(xp.full(tuple(shape), fill_value, dtype=_dtype(dtype), device=B.device()))


def _like(x, fill, dtype):
    t = as_tensor(x)
    return _new(t.xp.full(t.shape, fill, dtype=B.dtype(dtype, t.xp) if dtype else t.data.dtype,
                          device=B.device_of(t.data)))  # fmt: skip


def zeros_like(x, dtype: str | None = None) -> Tensor:
    return _like(x, 0, dtype)


def ones_like(x, dtype: str | None = None) -> Tensor:
    return _like(x, 1, dtype)


def full_like(x, fill_value, dtype: str | None = None) -> Tensor:
    return _like(x, fill_value, dtype)


def arange(start, stop=None, step=1, dtype: str | None = None) -> Tensor:
    """Evenly spaced values in [start, stop); ints give int32, as in Keras."""
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, stop, step) if v is not None)
        dtype = "int32" if ints else B.floatx()
    xp = B.xp()
    return _new(xp.arange(start, stop, step, dtype=B.dtype(dtype), device=B.device()))


def eye(N: int, M: int | None = None, k: int = 0, dtype: str | None = None) -> Tensor:
    xp = B.xp()
    return _new(xp.eye(N, M, k=k, dtype=_dtype(dtype), device=B.device()))


def stop_gradient(x) -> Tensor:
    """The same values, cut from the graph: no gradient flows back through it."""
    return _new(as_tensor(x).data)


# ---------------------------------------------------------------- Keras's names for primitives


def subtract(x1, x2) -> Tensor:
    return add(x1, neg(x2))


def multiply(x1, x2) -> Tensor:
    return mul(x1, x2)


def divide(x1, x2) -> Tensor:
    return div(x1, x2)


def negative(x) -> Tensor:
    return neg(x)


def absolute(x) -> Tensor:
    return _abs(x)


def square(x) -> Tensor:
    return mul(x, x)


def transpose(x, axes: Sequence[int] | None = None) -> Tensor:
    return permute(x, None if axes is None else tuple(axes))


def concatenate(xs: Sequence, axis: int = 0) -> Tensor:
    return concat(list(xs), axis=axis)


def equal(x1, x2) -> Tensor:
    return compare("equal", x1, x2)


def not_equal(x1, x2) -> Tensor:
    return compare("not_equal", x1, x2)


def greater(x1, x2) -> Tensor:
    return compare("greater", x1, x2)


def greater_equal(x1, x2) -> Tensor:
    return compare("greater_equal", x1, x2)


def less(x1, x2) -> Tensor:
    return compare("less", x1, x2)


def less_equal(x1, x2) -> Tensor:
    return compare("less_equal", x1, x2)


def argmax(x, axis: int | None = None, keepdims: bool = False) -> Tensor:
    t = as_tensor(x)
    return _new(t.xp.argmax(t.data, axis=axis, keepdims=keepdims))


def argmin(x, axis: int | None = None, keepdims: bool = False) -> Tensor:
    t = as_tensor(x)
    return _new(t.xp.argmin(t.data, axis=axis, keepdims=keepdims))


def dot(x1, x2) -> Tensor:
    """NumPy's ``dot``: a product for scalars, ``matmul`` otherwise (last axis of ``x1``
    with the second-to-last of ``x2``)."""
    a, b = as_tensor(x1), as_tensor(x2)
    if a.ndim == 0 or b.ndim == 0:
        return mul(a, b)
    if b.ndim <= 2:
        return matmul(a, b)
    # N-d dot: contract a's last axis with b's second-to-last, keeping all other axes
    la = "abcdefgh"[: a.ndim - 1]
    lb = "ijklmnop"[: b.ndim - 2]
    return einsum(f"{la}z,{lb}zq->{la}{lb}q", a, b)


# ---------------------------------------------------------------------------------- einsum


def _parse(subscripts: str, operands) -> tuple[list[str], str]:
    eq = subscripts.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
    else:
        lhs, out = eq, None
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(
            f"einsum: {subscripts!r} names {len(terms)} operands; received {len(operands)}."
        )
    if "." in eq:  # an ellipsis stands for the leading axes it covers: give them letters
        free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq]
        width = 0
        for term, op in zip(terms, operands):
            if "..." in term:
                width = builtins.max(width, op.ndim - (len(term) - 3))
        fill = "".join(free[:width])
        new_terms = []
        for term, op in zip(terms, operands):
            if "..." in term:
                n = op.ndim - (len(term) - 3)
                term = term.replace("...", fill[width - n :])
            new_terms.append(term)
        terms = new_terms
        if out is not None:
            out = out.replace("...", fill)
    for term, op in zip(terms, operands):
        if not term.isalpha() or len(term) != op.ndim:
            raise ValueError(
                f"einsum: term {term!r} of {subscripts!r} does not fit an operand of shape "
                f"{tuple(op.shape)}."
            )
        if len(set(term)) != len(term):
            raise ValueError(
                f"einsum: repeated index in {term!r} (a diagonal) is not supported; "
                "take the diagonal explicitly first."
            )
    if out is None:
        counts = {c: "".join(terms).count(c) for c in set("".join(terms))}
        out = "".join(sorted(c for c, n in counts.items() if n == 1))
    return terms, out


def _reduce_to(t: Tensor, term: str, keep: set[str]) -> tuple[Tensor, str]:
    """Sum ``t`` over the indices of ``term`` not in ``keep``."""
    gone = tuple(i for i, c in enumerate(term) if c not in keep)
    if gone:
        t = _sum(t, axis=gone)
        term = "".join(c for c in term if c in keep)
    return t, term


def einsum(subscripts: str, *operands) -> Tensor:
    """Einstein summation over one or two operands (more: pairwise, left to right).

    Differentiable: it reduces to sums, permutes, reshapes and one batched
    matmul per pair. Ellipses are supported; repeated indices within one
    operand (diagonals) are not.
    """
    ops_ = [as_tensor(o) for o in operands]
    terms, out = _parse(subscripts, ops_)
    if len(ops_) == 1:
        t, term = _reduce_to(ops_[0], terms[0], set(out))
        return permute(t, tuple(term.index(c) for c in out)) if term != out else t
    left, lterm = ops_[0], terms[0]
    for i in range(1, len(ops_)):
        right, rterm = ops_[i], terms[i]
        later = set(out).union(*terms[i + 1 :])
        res = "".join(dict.fromkeys(c for c in lterm + rterm if c in later))
        left, lterm = _pair(left, lterm, right, rterm, res)
    if lterm != out:
        left = permute(left, tuple(lterm.index(c) for c in out))
    return left


def _pair(a: Tensor, ta: str, b: Tensor, tb: str, out: str) -> tuple[Tensor, str]:
    keep = set(out)
    a, ta = _reduce_to(a, ta, keep | set(tb))
    b, tb = _reduce_to(b, tb, keep | set(ta))
    batch = [c for c in ta if c in tb and c in keep]
    contract = [c for c in ta if c in tb and c not in keep]
    only_a = [c for c in ta if c not in tb]
    only_b = [c for c in tb if c not in ta]
    size = {**dict(zip(ta, a.shape)), **dict(zip(tb, b.shape))}
    for c in batch + contract:
        if a.shape[ta.index(c)] != b.shape[tb.index(c)]:
            raise ValueError(
                f"einsum: index {c!r} has size {a.shape[ta.index(c)]} in one operand and "
                f"{b.shape[tb.index(c)]} in the other."
            )

    def prod(cs):
        return math.prod(size[c] for c in cs)

    a2 = permute(a, tuple(ta.index(c) for c in batch + only_a + contract))
    a2 = reshape(a2, (prod(batch), prod(only_a), prod(contract)))
    b2 = permute(b, tuple(tb.index(c) for c in batch + contract + only_b))
    b2 = reshape(b2, (prod(batch), prod(contract), prod(only_b)))
    r = matmul(a2, b2)
    term = "".join(batch + only_a + only_b)
    r = reshape(r, tuple(size[c] for c in term))
    return r, term
