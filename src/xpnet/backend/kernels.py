"""Kernels picked once per backend by what its library can do.

The rest of xpnet calls these functions and never tests an array's type. Each
function finds the :class:`Kernels` of its array's backend (one dict lookup by
type) and calls it. Two families, chosen from the backend's
:class:`~xpnet.backend.select.Capabilities`:

* :class:`StandardKernels`, standard calls only: every result is a new array and
  nothing is written into an array someone else may hold. array-api-strict and
  JAX (also inside ``jax.jit``) take it.
* :class:`InplaceKernels`, for libraries whose ufuncs write into ``out=`` and
  whose arrays and views update in place: NumPy and CuPy share it. GEMMs write
  into the buffers the engine hands out, optimizers keep their temporaries in
  scratch arrays, ReLU runs in place on its own GEMM output, and the optimizer
  step runs on flat buffers (:mod:`xpnet.optimizers.fused`). NumPy's instance
  only swaps in the ufuncs' own ``reduce`` for two reductions (the same numbers
  without ``np.sum``'s Python wrapper). PyTorch takes the same family spelled
  in its own words (:class:`TorchKernels`: ``out=``, ``copy_``, ``add_``).

Both families give the same numbers; the standard one is kept, tested on every
backend (array-api-strict and JAX take it) and benchmarked beside the other.
"""

from __future__ import annotations

import importlib

import array_api_compat

from xpnet.backend.convert import namespace
from xpnet.backend.select import backend_name_of_type, capabilities

__all__ = [
    "InplaceKernels",
    "Kernels",
    "StandardKernels",
    "add_into",
    "can_update_in_place",
    "copy_into",
    "divide_into",
    "flat_buffer",
    "kernels_of",
    "matmul_into",
    "multiply_into",
    "ones_like",
    "reduce_max",
    "reduce_sum",
    "relu_backward",
    "relu_into",
    "reshape",
    "row_major",
    "scatter_add",
    "scatter_add_standard",
    "sqrt_into",
    "subtract_one_at",
    "update_inplace",
]


class StandardKernels:
    """Standard Array API calls only; results are new arrays (JAX rebinds, traces)."""

    #: Whether arrays of this backend can be written in place (``out=``, ``+=``, views).
    inplace = False

    def __init__(self, xp, name: str | None = None) -> None:
        self.xp = xp
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name or self.xp.__name__})"

    # -- ownership and in-place stores
    def writable(self, x) -> bool:
        """Whether ``x`` may be written in place by the array's owner."""
        return False

    def update(self, dst, value, op: str) -> bool:
        """``dst += value`` / ``dst -= value`` in place; False where it cannot be."""
        return False

    def copy_into(self, dst, src):
        """``src``'s values in ``dst`` (same shape); returns the array holding them."""
        return src

    def flat_buffer(self, like, n: int, zero: bool = False):
        """A 1-D array of ``n`` elements with ``like``'s dtype, library and device."""
        xp = self.xp
        return xp.zeros((n,), dtype=like.dtype, device=array_api_compat.device(like))

    # -- elementwise into scratch
    def multiply_into(self, out, a, b):
        return a * b

    def divide_into(self, out, a, b):
        return a / b

    def sqrt_into(self, out, a):
        return self.xp.sqrt(a)

    def add_into(self, y, b):
        """``y + b``; ``y`` is a fresh array its caller owns (the GEMM output)."""
        return y + b

    def relu_into(self, y):
        return self.xp.maximum(y, 0.0)

    def relu_backward(self, mask, g):
        # the standard has no float-times-bool promotion: cast the comparison first
        m = self.xp.astype(mask > 0, g.dtype)
        return g * m

    # -- linear algebra and reductions
    def matmul_into(self, out, a, b):
        return a @ b

    def sum(self, x, axis=None, keepdims: bool = False, out=None):
        return self.xp.sum(x, axis=axis, keepdims=keepdims)

    def max(self, x, axis=None, keepdims: bool = False):
        return self.xp.max(x, axis=axis, keepdims=keepdims)

    def ones_like(self, x):
        return self.xp.ones_like(x)

    def reshape(self, x, shape):
        return self.xp.reshape(x, shape)

    def row_major(self, x):
        return x

    # -- gaps in the standard
    def scatter_add(self, values2d, indices, num: int):
        return scatter_add_standard(self.xp, values2d, indices, num)

    def subtract_one_at(self, p, flat_index, labels):
        """``p - one_hot(labels)`` for (rows, classes) ``p``.

        The standard has no indexed update: the one-hot is a (rows, classes)
        comparison of each row's label with the class ids, O(rows * classes), where
        a scatter-add would build a (rows * classes, rows) one-hot.
        """
        xp = self.xp
        classes = xp.arange(p.shape[1], dtype=labels.dtype, device=array_api_compat.device(p))
        return p - xp.astype(classes[None, :] == labels[:, None], p.dtype)


def _reduced_shape(shape, axis, keepdims: bool) -> tuple:
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    if keepdims:
        return tuple(1 if i in axes else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in axes)


class JaxKernels(StandardKernels):
    """The standard family with JAX's functional scatter-add (traceable)."""

    def scatter_add(self, values2d, indices, num: int):
        out = self.xp.zeros((num, values2d.shape[1]), dtype=values2d.dtype)
        return out.at[indices].add(values2d)


class InplaceKernels(StandardKernels):
    """Libraries whose ufuncs take ``out=`` and whose arrays update in place: NumPy, CuPy.

    ``lib`` is the library module itself (``numpy``, ``cupy``), whose functions
    take ``out=``; both have the same signatures for everything used here.
    """

    inplace = True

    def __init__(self, xp, name: str, lib) -> None:
        super().__init__(xp, name)
        self.lib = lib
        self._scatter = None

    def writable(self, x) -> bool:
        # NumPy arrays may be read-only (views of loaded files); CuPy's always write
        return getattr(x.flags, "writeable", True)

    def _fits(self, out, *args) -> bool:
        """Whether ``out`` can take the result: writable, and every array argument of
        its library, shape and dtype (Python floats pass)."""
        if out is None or not self.writable(out):
            return False
        t = type(out)
        for a in args:
            if type(a) is t:
                if a.shape != out.shape or a.dtype != out.dtype:
                    return False
            elif type(a) is not float:
                return False
        return True

    def update(self, dst, value, op: str) -> bool:
        # Writing in place saves one weight-sized allocation per update and keeps
        # the heap put, so glibc never hands freed blocks back to the OS only to
        # fault them in again (a 784x256 Adam update: 1.0-1.2x faster than
        # rebinding, benchmarks/optimizer_inplace.py); on CuPy it saves the
        # allocator a block per update. "set" is refused: a copy costs a pass
        # that rebinding does not.
        if op not in ("add", "sub") or not self._fits(dst, value):
            return False
        (self.lib.add if op == "add" else self.lib.subtract)(dst, value, out=dst)
        return True

    def copy_into(self, dst, src):
        self.lib.copyto(dst, src)
        return dst

    def flat_buffer(self, like, n: int, zero: bool = False):
        # empty_like keeps the library, device and any array subclass of ``like``
        out = self.lib.empty_like(like, shape=(n,))
        if zero:
            out[...] = 0
        return out

    def multiply_into(self, out, a, b):
        if self._fits(out, a, b):
            return self.lib.multiply(a, b, out=out)
        return a * b

    def divide_into(self, out, a, b):
        if self._fits(out, a, b):
            return self.lib.divide(a, b, out=out)
        return a / b

    def sqrt_into(self, out, a):
        if self._fits(out, a):
            return self.lib.sqrt(a, out=out)
        return self.lib.sqrt(a)

    def add_into(self, y, b):
        if b.dtype != y.dtype:
            return y + b
        y += b
        return y

    def relu_into(self, y):
        # our own GEMM output: no second activation-sized array
        return self.lib.maximum(y, 0.0, out=y)

    def relu_backward(self, mask, g):
        # multiply by the boolean array directly: one call and one float array fewer
        # than the standard cast; a product, not ``where`` (NumPy's ``where`` on a
        # random mask measured ~6x slower)
        if g.shape == mask.shape:
            return self.lib.multiply(g, mask > 0)
        return super().relu_backward(mask, g)

    def matmul_into(self, out, a, b):
        if (
            type(out) is type(a)
            and self.writable(out)
            and a.dtype == out.dtype
            and b.dtype == out.dtype
            and out.shape == (a.shape[0], b.shape[-1])
        ):
            return self.lib.matmul(a, b, out=out)
        return a @ b

    def sum(self, x, axis=None, keepdims: bool = False, out=None):
        if type(out) is type(x) and self.writable(out) and out.dtype == x.dtype:
            try:
                return self.lib.sum(x, axis=axis, keepdims=keepdims, out=out)
            except ValueError:  # not the result's shape: a new array
                pass
        return self.lib.sum(x, axis=axis, keepdims=keepdims)

    def max(self, x, axis=None, keepdims: bool = False):
        return self.lib.max(x, axis=axis, keepdims=keepdims)

    def ones_like(self, x):
        return self.lib.ones_like(x)

    def reshape(self, x, shape):
        return x.reshape(shape)  # the array's own method: no wrapper call

    def row_major(self, x):
        return self.lib.ascontiguousarray(x)

    def scatter_add(self, values2d, indices, num: int):
        out = self.lib.zeros((num, values2d.shape[1]), dtype=values2d.dtype)
        add_at = getattr(self.lib.add, "at", None)  # NumPy; CuPy >= 13
        if add_at is not None:
            add_at(out, indices, values2d)
        else:  # older CuPy
            importlib.import_module("cupyx").scatter_add(out, indices, values2d)
        return out

    def subtract_one_at(self, p, flat_index, labels):
        # 1 off each row's label entry through the flat index, in place (a fancy-index
        # update on a view; no one-hot, ~3x faster at 10 classes); ``p`` is the
        # caller's own fresh array
        if not (self.writable(p) and p.flags.c_contiguous):
            return super().subtract_one_at(p, flat_index, labels)
        flat = p.reshape(-1)
        flat[flat_index] -= 1.0
        return p


class NumPyKernels(InplaceKernels):
    """The in-place family on NumPy; two reductions through the ufuncs' own ``reduce``
    (the same numbers without ``np.sum``/``np.max``'s Python wrappers, ~3 us a call,
    several calls a training step)."""

    def sum(self, x, axis=None, keepdims: bool = False, out=None):
        add = self.lib.add
        if type(out) is type(x) and self.writable(out) and out.dtype == x.dtype:
            try:
                return add.reduce(x, axis=axis, keepdims=keepdims, out=out)
            except ValueError:
                pass
        return add.reduce(x, axis=axis, keepdims=keepdims)

    def max(self, x, axis=None, keepdims: bool = False):
        return self.lib.maximum.reduce(x, axis=axis, keepdims=keepdims)


class TorchKernels(InplaceKernels):
    """The in-place family in PyTorch's words where they differ from NumPy's and CuPy's
    (``copy_``, ``add_``, ``dim=``, ``amax``, no ``copyto``); PyTorch tensors update in
    place and take ``out=`` like the others. On the CPU this made the MLP epoch of
    benchmarks/bench_mlp.py faster than rebinding: the fused optimizer step makes a
    fixed number of calls instead of a dozen per parameter."""

    def writable(self, x) -> bool:
        return not x.requires_grad  # (xpnet's own arrays never require torch's autograd)

    def _fits(self, out, *args) -> bool:
        return super()._fits(out, *args) and all(
            a.device == out.device for a in args if type(a) is type(out)
        )

    def update(self, dst, value, op: str) -> bool:
        if op not in ("add", "sub") or not self._fits(dst, value):
            return False
        if op == "add":
            dst.add_(value)
        else:
            dst.sub_(value)
        return True

    def copy_into(self, dst, src):
        dst.copy_(src)
        return dst

    def flat_buffer(self, like, n: int, zero: bool = False):
        make = self.lib.zeros if zero else self.lib.empty
        return make((n,), dtype=like.dtype, device=like.device)

    def relu_into(self, y):
        return y.clamp_min_(0.0)

    def matmul_into(self, out, a, b):
        if type(out) is type(a) and out.is_contiguous():
            return super().matmul_into(out, a, b)
        return a @ b

    def sum(self, x, axis=None, keepdims: bool = False, out=None):
        if axis is None:
            return self.lib.sum(x)
        if (
            type(out) is type(x)
            and self.writable(out)
            and out.dtype == x.dtype
            and out.is_contiguous()
            and tuple(out.shape) == _reduced_shape(x.shape, axis, keepdims)
        ):
            return self.lib.sum(x, dim=axis, keepdim=keepdims, out=out)
        return self.lib.sum(x, dim=axis, keepdim=keepdims)

    def max(self, x, axis=None, keepdims: bool = False):
        if axis is None:
            return self.lib.amax(x)
        return self.lib.amax(x, dim=axis, keepdim=keepdims)

    def row_major(self, x):
        return x.contiguous()

    def scatter_add(self, values2d, indices, num: int):
        out = self.xp.zeros((num, values2d.shape[1]), dtype=values2d.dtype, device=values2d.device)
        return out.index_add_(0, indices, values2d)

    def subtract_one_at(self, p, flat_index, labels):
        if not (self.writable(p) and p.is_contiguous()):
            return StandardKernels.subtract_one_at(self, p, flat_index, labels)
        p.view(-1)[flat_index] -= 1.0
        return p


Kernels = StandardKernels  # the interface


def _build(x) -> StandardKernels:
    xp = namespace(x)
    name = backend_name_of_type(type(x))
    if name is None and array_api_compat.is_numpy_array(x):  # an ndarray subclass
        name = "numpy"
    if name is None and array_api_compat.is_jax_array(x):  # a tracer inside jax.jit
        name = "jax"
    if name == "torch":  # the in-place family in PyTorch's own words
        return TorchKernels(xp, name, importlib.import_module("torch"))
    if capabilities(name or "").inplace:
        lib = importlib.import_module(name)
        cls = NumPyKernels if name == "numpy" else InplaceKernels
        return cls(xp, name, lib)
    if name == "jax":
        return JaxKernels(xp, name)
    return StandardKernels(xp, name)


_by_type: dict[type, StandardKernels] = {}


def kernels_of(x) -> StandardKernels:
    """The kernels of array ``x``'s backend (built once per array type)."""
    k = _by_type.get(type(x))
    if k is None:
        k = _by_type[type(x)] = _build(x)
    return k


# --------------------------------------------------------------------------- the calls


def can_update_in_place(dst) -> bool:
    """Whether arrays like ``dst`` are written in place by their owner (the in-place
    family, and ``dst`` writable); elsewhere updates rebind to new arrays."""
    k = kernels_of(dst)
    return k.inplace and k.writable(dst)


def update_inplace(dst, value, op: str = "add") -> bool:
    """``dst += value`` (``op="add"``) or ``dst -= value`` (``"sub"``) in place where the
    backend writes in place; return whether it happened (if not, the caller rebinds
    to a new array). The caller must own ``dst`` (nobody else may hold it)."""
    return kernels_of(dst).update(dst, value, op)


def copy_into(dst, src):
    """``src``'s values into ``dst`` where it writes in place; returns the array that
    holds them (``dst``, or ``src`` itself where nothing is written)."""
    return kernels_of(dst).copy_into(dst, src)


def flat_buffer(like, n: int, zero: bool = False):
    """A 1-D array of ``n`` elements like ``like`` (dtype, library, device)."""
    return kernels_of(like).flat_buffer(like, n, zero)


def ones_like(x):
    """``xp.ones_like(x)`` (the seed of every backward)."""
    return kernels_of(x).ones_like(x)


def reduce_sum(x, axis=None, keepdims: bool = False, out=None):
    """``xp.sum(x, axis=axis, keepdims=keepdims)``, written into ``out`` where the
    backend writes in place and ``out`` has the result's shape and ``x``'s dtype."""
    return kernels_of(x).sum(x, axis, keepdims, out)


def reduce_max(x, axis=None, keepdims: bool = False):
    """``xp.max(x, axis=axis, keepdims=keepdims)``."""
    return kernels_of(x).max(x, axis, keepdims)


def reshape(x, shape):
    """``xp.reshape(x, shape)`` (the array's own method where the backend has one)."""
    return kernels_of(x).reshape(x, shape)


def matmul_into(out, a, b):
    """``a @ b`` for 2-D ``a`` and ``b``, written into ``out`` where the backend writes
    in place and ``out`` is writable with the product's shape and dtype (the same
    GEMM, no new array), else a new array (``out`` may be None)."""
    return kernels_of(a).matmul_into(out, a, b)


def add_into(y, b):
    """``y + b``, written into ``y`` (a fresh array the caller owns) where it can be."""
    return kernels_of(y).add_into(y, b)


def relu_into(y):
    """``max(y, 0)``, written into ``y`` (a fresh array the caller owns) where it can be."""
    return kernels_of(y).relu_into(y)


def relu_backward(mask, g):
    """ReLU's backward ``g * (mask > 0)`` (``mask``: the ReLU's output, or its input)."""
    return kernels_of(g).relu_backward(mask, g)


def multiply_into(out, a, b):
    """``a * b``, written into ``out`` where the backend writes in place, else new.

    ``out`` must be a scratch array the caller owns, of the result's shape and
    dtype; ``a`` or ``b`` may be ``out`` itself. With :func:`sqrt_into` and
    :func:`divide_into` this lets an optimizer run a whole update in one scratch
    array: the temporaries of ``m * lr / (sqrt(v) + eps)`` were fresh weight-sized
    arrays every step, and for a 784x256 layer such an array lands on pages the
    allocator has just handed back to the OS (benchmarks/optimizer_inplace.py).
    """
    k = kernels_of(a if out is None else out)
    return k.multiply_into(out, a, b)


def sqrt_into(out, a):
    """``sqrt(a)`` into ``out`` where the backend writes in place (see :func:`multiply_into`)."""
    return kernels_of(a).sqrt_into(out, a)


def divide_into(out, a, b):
    """``a / b`` into ``out`` where the backend writes in place (see :func:`multiply_into`)."""
    k = kernels_of(a if out is None else out)
    return k.divide_into(out, a, b)


def row_major(x):
    """``x`` with C-contiguous (row-major) memory: a copy where it is a strided view.

    The standard leaves memory layout to each library; this copies only on those
    with strided views (NumPy, CuPy, PyTorch). Used where the next steps read many
    strided windows of the same array (im2col): one transposing copy first makes
    each window copy move long contiguous runs instead of single numbers.
    """
    return kernels_of(x).row_major(x)


def subtract_one_at(p, flat_index, labels):
    """``p - one_hot(labels)`` for (rows, classes) ``p`` (the sparse softmax gradient):
    in place through ``flat_index`` (each row's label in the flattened ``p``) where
    the backend writes in place, else through a (rows, classes) comparison."""
    return kernels_of(p).subtract_one_at(p, flat_index, labels)


def scatter_add(xp, values, indices, num: int, axis: int = 0):
    """Sum the slices of ``values`` into ``num`` rows along ``axis``, by ``indices``.

    ``out[indices[i]] += values[i]`` with repeated indices accumulated; the
    backward of integer-array indexing and of Embedding.

    The Array API standard has no scatter-add (see data-apis/array-api#396);
    ``xp.take`` is its forward twin. The standard-only version
    (:func:`scatter_add_standard`) builds a one-hot matrix and does one matmul;
    the backends that have a native scatter-add use it behind this same function.
    """
    indices = xp.reshape(indices, (-1,))
    if axis != 0:
        values = xp.moveaxis(values, axis, 0)
    rest = values.shape[1:]
    flat = xp.reshape(values, (values.shape[0], -1)) if values.ndim != 2 else values
    out = kernels_of(flat).scatter_add(flat, indices, num)
    out = xp.reshape(out, (num, *rest))
    return out if axis == 0 else xp.moveaxis(out, 0, axis)


def scatter_add_standard(xp, values2d, indices, num: int):
    """Standard-calls scatter-add for 2-D ``values``: ``one_hot(indices).T @ values``."""
    rows = xp.arange(num, dtype=indices.dtype, device=array_api_compat.device(values2d))
    onehot = xp.astype(rows[:, None] == indices[None, :], values2d.dtype)
    return onehot @ values2d
