"""The define-by-run autograd: :class:`Tensor`, :class:`Parameter`, :class:`Function`.

A :class:`Function` holds a primitive's ``forward`` and ``backward`` side by
side. ``Function.apply`` takes the array namespace ``xp`` from the inputs (so
an op runs wherever its inputs live), runs ``forward`` on raw arrays and, when
gradients are wanted, links the output :class:`Tensor` to the Function.
:meth:`Tensor.backward` walks that graph in reverse topological order.

Broadcasting is undone in exactly one place: when a backward hands a parent a
gradient of a broadcast shape, the engine sums it back to the parent's shape
(:func:`unbroadcast`). Binary ops therefore never reduce gradients themselves.

Gradients are treated as immutable: no backward and no optimizer writes into a
gradient array in place, so aliasing one array to two parents is safe.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Any

from xpnet import backend as B

__all__ = [
    "Function",
    "Parameter",
    "Tensor",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "to_numpy",
    "unbroadcast",
]

_SCALARS = (bool, int, float)


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    """Whether operations currently record a graph for :meth:`Tensor.backward`."""
    return _GradMode.enabled


class _GradSwitch(contextlib.ContextDecorator):
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(_GradMode.enabled)
        _GradMode.enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._saved.pop()
        return False


def no_grad() -> _GradSwitch:
    """Context manager (or decorator) that stops recording the graph.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0, 2.0])
    >>> with xn.no_grad():
    ...     y = (w * 3.0).sum()
    >>> y.requires_grad
    False
    """
    return _GradSwitch(False)


def enable_grad() -> _GradSwitch:
    """Context manager (or decorator) that records the graph again inside ``no_grad``."""
    return _GradSwitch(True)


def _scalar(v):
    """Python scalars pass; NumPy and other library scalars become Python scalars.

    A NumPy float64 scalar (a subclass of ``float``!) would promote float32 arrays
    to float64, so it is turned into a plain Python float first.
    """
    t = type(v)
    if t is float or t is int or t is bool:
        return v
    if isinstance(v, numbers.Integral):
        return int(v)
    return float(v)


class Tensor:
    """An array of any backend plus what autograd needs (``grad``, ``requires_grad``).

    Args:
        data: an array of any backend, a NumPy array, a Python scalar or nested list.
            It is moved to the active backend and device (see :func:`xn.set_backend`).
            Python floats become ``floatx`` (float32); arrays keep their dtype.
        requires_grad: record operations on this tensor for :meth:`backward`.
        dtype: cast to this dtype (a name such as ``"float32"`` or a dtype object).
        name: optional label, shown in error messages and summaries.

    >>> import xpnet as xn
    >>> x = xn.Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> xn.to_numpy(x.grad).tolist()
    [[2.0, 4.0], [6.0, 8.0]]
    """

    __slots__ = ("__weakref__", "_ctx", "data", "grad", "name", "requires_grad")
    __array_ufunc__ = None  # NumPy defers to Tensor's reflected operators
    __array_priority__ = 1000

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = B.asarray(data, dtype, floatx_default=False)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self.name = name
        if self.requires_grad and not B.is_floating(self.data):
            raise TypeError(
                f"Only floating tensors can require gradients; got dtype {self.data.dtype}. "
                "Cast first, e.g. xn.Tensor(x, dtype='float32', requires_grad=True)."
            )

    @classmethod
    def _make(cls, data, ctx: Function | None) -> Tensor:
        """Wrap an op's output array without conversion (the engine's fast path)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = ctx is not None
        t._ctx = ctx
        t.name = None
        return t

    # ---------------------------------------------------------------- array facts
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        n = 1
        for s in self.data.shape:
            n *= s
        return n

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return B.device_of(self.data)

    @property
    def xp(self):
        """The Array API namespace of the underlying array."""
        return B.namespace(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        label = f", name={self.name!r}" if self.name else ""
        try:
            body = repr(B.to_numpy(self.data)) if self.size <= 64 else f"shape={self.shape}"
        except Exception:  # pragma: no cover - arrays that cannot be viewed on the host
            body = f"shape={self.shape}"
        return f"Tensor({body}, dtype={self.dtype}{grad}{label})"

    # ---------------------------------------------------------------- conversion
    def numpy(self):
        """The values as a NumPy array on the host."""
        return B.to_numpy(self.data)

    def item(self) -> float | int | bool:
        """The value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element; got shape {self.shape}.")
        return B.to_numpy(self.data).reshape(()).item()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        return bool(self.item())

    def detach(self) -> Tensor:
        """The same array, cut from the graph (no gradient flows through it)."""
        return Tensor._make(self.data, None)

    def astype(self, dtype) -> Tensor:
        return _ops.cast(self, dtype)

    def zero_grad(self) -> None:
        self.grad = None

    # ---------------------------------------------------------------- autograd
    def backward(self, grad: Any = None, *, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Args:
            grad: the gradient flowing into this tensor; defaults to 1 for a
                one-element tensor (a loss).
            retain_graph: keep the graph so ``backward`` can run again; by default
                each node's saved arrays are released as soon as it is done.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True, or it ran under xn.no_grad()."
            )
        if grad is None:
            if self.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a one-element output; got shape "
                    f"{self.shape}. Reduce first (.sum() or .mean()) or pass grad=."
                )
            grad = B.ones_like(self.data)
        elif isinstance(grad, Tensor):
            grad = grad.data
        else:
            xp = B.namespace(self.data)
            grad = xp.asarray(grad, dtype=self.dtype, device=B.device_of(self.data))
        _run_backward(self, grad, retain_graph)

    # ---------------------------------------------------------------- operators
    def __add__(self, other):
        return _ops.add(self, other)

    def __radd__(self, other):
        return _ops.add(other, self)

    def __sub__(self, other):
        return _ops.sub(self, other)

    def __rsub__(self, other):
        return _ops.sub(other, self)

    def __mul__(self, other):
        return _ops.mul(self, other)

    def __rmul__(self, other):
        return _ops.mul(other, self)

    def __truediv__(self, other):
        return _ops.div(self, other)

    def __rtruediv__(self, other):
        return _ops.div(other, self)

    def __pow__(self, other):
        return _ops.pow(self, other)

    def __rpow__(self, other):
        return _ops.pow(other, self)

    def __matmul__(self, other):
        return _ops.matmul(self, other)

    def __rmatmul__(self, other):
        return _ops.matmul(other, self)

    def __neg__(self):
        return _ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ops.abs(self)

    def __getitem__(self, index):
        return _ops.getitem(self, index)

    # comparisons give boolean tensors and never carry gradients
    def __lt__(self, other):
        return _ops.compare("less", self, other)

    def __le__(self, other):
        return _ops.compare("less_equal", self, other)

    def __gt__(self, other):
        return _ops.compare("greater", self, other)

    def __ge__(self, other):
        return _ops.compare("greater_equal", self, other)

    def __eq__(self, other):  # type: ignore[override]
        return _ops.compare("equal", self, other)

    def __ne__(self, other):  # type: ignore[override]
        return _ops.compare("not_equal", self, other)

    __hash__ = object.__hash__

    # ---------------------------------------------------------------- methods
    def sum(self, axis=None, keepdims=False):
        return _ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.max(self, axis, keepdims)

    def min(self, axis=None, keepdims=False):
        return _ops.min(self, axis, keepdims)

    def var(self, axis=None, keepdims=False, correction=0):
        return _ops.var(self, axis, keepdims, correction)

    def std(self, axis=None, keepdims=False, correction=0):
        return _ops.std(self, axis, keepdims, correction)

    def logsumexp(self, axis=None, keepdims=False):
        return _ops.logsumexp(self, axis, keepdims)

    def exp(self):
        return _ops.exp(self)

    def log(self):
        return _ops.log(self)

    def log1p(self):
        return _ops.log1p(self)

    def sqrt(self):
        return _ops.sqrt(self)

    def tanh(self):
        return _ops.tanh(self)

    def sigmoid(self):
        return _ops.sigmoid(self)

    def relu(self):
        return _ops.relu(self)

    def clip(self, min=None, max=None):
        return _ops.clip(self, min, max)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops.reshape(self, shape)

    def flatten(self, start_axis: int = 0):
        return _ops.flatten(self, start_axis)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops.permute(self, axes or None)

    permute = transpose

    @property
    def T(self):
        """Reversed axes (the matrix transpose for a 2-D tensor)."""
        return _ops.permute(self, None)

    @property
    def mT(self):
        """Transpose of the last two axes."""
        return _ops.matrix_transpose(self)


class Parameter(Tensor):
    """A trainable :class:`Tensor`: ``requires_grad`` follows ``trainable``.

    The data is cast to ``floatx`` (float32) unless ``dtype`` says otherwise.

    Layers create their weights as Parameters; models and optimizers find them
    by walking attributes. ``grad_buffer`` (default None) is an array of the
    parameter's shape and dtype that backward may write the gradient into while
    ``.grad`` is None; ``Model.fit`` sets it for the length of each step only.
    """

    __slots__ = ("_trainable", "constraint", "grad_buffer", "regularizer")

    def __init__(self, data: Any, trainable: bool = True, dtype: Any = None, name=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is None:  # weights take floatx unless told otherwise
            dtype = B.floatx()
        super().__init__(data, requires_grad=False, dtype=dtype, name=name)
        if not B.is_floating(self.data):
            raise TypeError(f"Parameters must be floating; got dtype {self.data.dtype}.")
        self.trainable = trainable
        self.regularizer = None  # callable(Parameter) -> scalar Tensor, added to the loss
        self.constraint = None  # callable(array) -> array, applied after each update
        # where backward may write this parameter's gradient while .grad is None (an
        # array of its shape and dtype, e.g. lent by fit's fused optimizer step); ops
        # that can write their output in place use it through grad_buffer()
        self.grad_buffer = None

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        self.requires_grad = self._trainable

    def assign(self, value) -> None:
        """Replace the values (same shape and dtype); no gradient is recorded."""
        value = value.data if isinstance(value, Tensor) else value
        value = B.asarray(value, self.data.dtype)
        if tuple(value.shape) != tuple(self.data.shape):
            raise ValueError(
                f"assign() to {self.name or 'parameter'} expected shape {self.shape}, "
                f"got {tuple(value.shape)}."
            )
        self.data = value

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("Tensor") :]


class Function:
    """A differentiable primitive: ``forward`` on arrays, ``backward`` right below it.

    Subclasses implement ``forward(self, *arrays, **kwargs) -> array`` (keeping
    on ``self`` only what backward needs) and ``backward(self, grad) -> tuple``
    with one gradient (or None) per positional input. ``self.xp`` is the inputs'
    namespace; ``self.needs[i]`` says whether input ``i`` wants a gradient.
    Gradients may have the broadcast shape; the engine reduces them.
    """

    __slots__ = ("__dict__", "needs", "parents", "xp")

    @classmethod
    def apply(cls, *args, **kwargs) -> Tensor:
        # the arrays for forward, and which inputs want a gradient
        datas = [a.data if isinstance(a, Tensor) else a for a in args]
        needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
        ctx = cls()
        ctx.xp = B.namespace_of(datas, cls.__name__)
        out = ctx.forward(*datas, **kwargs)
        if not (_GradMode.enabled and True in needs):
            return Tensor._make(out, None)
        ctx.parents = args
        ctx.needs = needs
        return Tensor._make(out, ctx)

    def forward(self, *arrays, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError


class _Freed:
    """Marks a node whose saved arrays were released by a previous backward."""

    parents = ()
    needs = ()


_FREED = _Freed()


def unbroadcast(xp, grad, shape: tuple[int, ...]):
    """Sum ``grad`` over the axes that broadcasting added or stretched, to ``shape``."""
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        i + extra for i, s in enumerate(shape) if s == 1 and grad.shape[i + extra] != 1
    )
    if axes:
        grad = xp.sum(grad, axis=axes, keepdims=True)
    if extra or grad.shape != shape:
        grad = xp.reshape(grad, shape)
    return grad


def topological_order(roots, parents) -> list:
    """Every node reachable from ``roots``, each after all of ``parents(node)``.

    Iterative (deep RNN graphs would overflow recursion); nodes are compared by
    identity. Parents are visited in the order ``parents`` gives them, and roots in
    theirs. The autograd's backward and the functional model's layer order use it.
    """
    order: list = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(r, False) for r in reversed(roots)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for p in reversed(parents(node)):
            if id(p) not in seen:
                stack.append((p, False))
    return order


def _interior_parents(node: Tensor) -> list:
    """The parents backward must order: those that want a gradient and have a node
    of their own. Leaves are left out; they take their gradients as they come."""
    ctx = node._ctx
    if ctx is None:
        return []
    return [
        p
        for p, need in zip(ctx.parents, ctx.needs)
        if need and p._ctx is not None  # needs[i] is True only for Tensors
    ]


def grad_buffer(t):
    """The array ``t``'s gradient may be written into, or None: a Parameter's lent
    ``grad_buffer`` while its ``.grad`` is None (the first contribution of a backward;
    later ones are added to it as new arrays)."""
    buf = getattr(t, "grad_buffer", None)
    return buf if buf is not None and t.grad is None else None


def _backward_order(root: Tensor) -> list:
    """The nodes below ``root``, each before every parent it has (reversed
    topological order). A chain, where each node has one interior parent at most
    (a Sequential model's graph), is its own walk; anything else is sorted."""
    order = [root]
    node = root
    while True:
        parents = _interior_parents(node)
        if not parents:
            return order
        if len(parents) > 1:
            break
        node = parents[0]
        order.append(node)
    order = topological_order([root], _interior_parents)
    order.reverse()
    return order


def _accumulate(leaf: Tensor, g) -> None:
    leaf.grad = g if leaf.grad is None else leaf.grad + g


def _run_backward(root: Tensor, grad, retain_graph: bool) -> None:
    if root._ctx is None:  # backward() on a leaf
        _accumulate(root, grad)
        return
    grads: dict[int, Any] = {id(root): grad}
    for node in _backward_order(root):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        ctx = node._ctx
        if ctx is _FREED:
            raise RuntimeError(
                "backward() through a graph whose saved arrays were already released by an "
                "earlier backward(); pass retain_graph=True to the first call to go twice."
            )
        pgrads = ctx.backward(g)
        if not isinstance(pgrads, tuple):
            pgrads = (pgrads,)
        for p, need, pg in zip(ctx.parents, ctx.needs, pgrads):
            if not need or pg is None:
                continue
            pshape = p.data.shape
            if pg.shape != pshape:
                pg = unbroadcast(ctx.xp, pg, tuple(pshape))
            if p._ctx is None:  # a leaf: every node that feeds it comes before it anyway
                _accumulate(p, pg)
                continue
            key = id(p)
            prev = grads.get(key)
            grads[key] = pg if prev is None else prev + pg
        if not retain_graph:
            node._ctx = _FREED


def to_numpy(x):
    """Any backend's array, or a :class:`Tensor`, as a NumPy array on the host.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.Tensor([1.0, 2.0])).dtype
    dtype('float32')
    """
    if isinstance(x, Tensor):
        x = x.data
    return B.to_numpy(x)


from xpnet import ops as _ops  # noqa: E402  (ops needs Tensor and Function defined above)
