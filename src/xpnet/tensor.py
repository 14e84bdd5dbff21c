"""The define-by-run autograd: :class:`Tensor`, :class:`Parameter`, :class:`Function`.

A :class:`Function` holds a primitive's ``forward`` and ``backward`` side by
side. ``Function.apply`` takes the array namespace ``xp`` from the inputs (so
an op runs wherever its inputs live), runs ``forward`` on raw arrays and, when
gradients are wanted, links the output :class:`Tensor` to the Function.
:meth:`Tensor.backward` walks that graph in reverse topological order.

Broadcasting is undone in exactly one place: when a backward hands a parent a
gradient of a broadcast shape, the engine sums it back to the parent's shape
(:func:`unbroadcast`). Binary ops therefore never reduce gradients themselves.

Gradient memory is owned here, in one place. A backward hands each leaf a fresh
array or one it was given: ``backward(sinks={leaf: array})`` names arrays the
caller owns (the fused optimizer step's flat gradient, in ``fit``), and on
backends that write in place the leaves' gradients end up there (ops that can
write their output in place, Dense's GEMMs, ask :meth:`Function.sink`; other
gradients are copied or added in). Apart from that, gradients are treated as
immutable: no backward writes into a gradient array it did not make, so aliasing
one array to two parents is safe.

Recording is switched per thread (:func:`no_grad`, :func:`enable_grad`). The
operators and array methods of :class:`Tensor` are bound by :mod:`xpnet.ops`, so
this module imports no op (the engine is below the ops).
"""

from __future__ import annotations

import contextlib
import numbers
import threading
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


class _GradMode(threading.local):
    """Per thread: a ``no_grad`` in one thread leaves recording on in the others."""

    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations record a graph for :meth:`Tensor.backward` (in this thread)."""
    return _grad_mode.enabled


class _GradSwitch(contextlib.ContextDecorator):
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(_grad_mode.enabled)
        _grad_mode.enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _grad_mode.enabled = self._saved.pop()
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

    def zero_grad(self) -> None:
        self.grad = None

    # ---------------------------------------------------------------- autograd
    def backward(self, grad: Any = None, *, retain_graph: bool = False, sinks=None) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Args:
            grad: the gradient flowing into this tensor; defaults to 1 for a
                one-element tensor (a loss).
            retain_graph: keep the graph so ``backward`` can run again; by default
                each node's saved arrays are released as soon as it is done.
            sinks: optional ``{leaf: array}``: where the gradients of those leaves
                (each with ``.grad`` None before the call) are to be written, an
                array of the leaf's shape and dtype that the caller owns, such as
                a view of the fused optimizer step's flat gradient
                (:meth:`xpnet.optimizers.Optimizer.gradient_sinks`). On backends
                that write in place, ops that can (Dense's GEMMs) write there
                directly and other gradients are copied or added in, so after the
                call such a leaf's ``.grad`` is its sink; elsewhere it is ignored.
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
        _run_backward(self, grad, retain_graph, sinks)

    # The operators (+, @, [], <, ...) and array methods (sum, reshape, T, ...) are
    # bound by xpnet.ops, which defines the primitives they call.


class Parameter(Tensor):
    """A trainable :class:`Tensor`: ``requires_grad`` follows ``trainable``.

    The data is cast to ``floatx`` (float32) unless ``dtype`` says otherwise.

    Layers create their weights as Parameters; models and optimizers find them
    by walking attributes.
    """

    __slots__ = ("_trainable", "constraint", "regularizer")

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
        if not (_grad_mode.enabled and True in needs):
            return Tensor._make(out, None)
        ctx.parents = args
        ctx.needs = needs
        return Tensor._make(out, ctx)

    def forward(self, *arrays, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    def sink(self, i: int):
        """Inside ``backward``: the array input ``i``'s gradient may be written into
        (a sink given to :meth:`Tensor.backward` for that leaf, while it has received
        no gradient yet), or None. A backward that writes there returns that array."""
        sinks = _engine.sinks
        if not sinks:
            return None
        p = self.parents[i]
        return sinks.get(p) if p.grad is None else None


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


class _Engine(threading.local):
    """The backward pass in progress in this thread: its gradient sinks."""

    sinks = None


_engine = _Engine()


def _accumulate(leaf: Tensor, g, sinks) -> None:
    if sinks:
        sink = sinks.get(leaf)
        if sink is not None:  # the gradient goes into (or already is) the caller's array
            if leaf.grad is None:
                leaf.grad = g if g is sink else B.copy_into(sink, g)
                return
            if leaf.grad is sink and B.update_inplace(sink, g, "add"):
                return
    leaf.grad = g if leaf.grad is None else leaf.grad + g


def _run_backward(root: Tensor, grad, retain_graph: bool, sinks=None) -> None:
    if sinks is not None and not sinks:
        sinks = None
    if root._ctx is None:  # backward() on a leaf
        _accumulate(root, grad, sinks)
        return
    saved = _engine.sinks
    _engine.sinks = sinks
    try:
        _walk(root, grad, retain_graph, sinks)
    finally:
        _engine.sinks = saved


def _walk(root: Tensor, grad, retain_graph: bool, sinks) -> None:
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
                _accumulate(p, pg, sinks)
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
