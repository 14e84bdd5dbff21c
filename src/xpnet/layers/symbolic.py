"""Symbolic placeholders: ``xn.Input``, the graph nodes that layer calls on them record,
and the layers that stand for tensor operators (``x + y`` on placeholders).

Calling a layer on a :class:`SymbolicTensor` (what ``xn.Input`` returns)
records a :class:`Node` instead of computing: the layer is built by one dry
run on zeros (batch 1) to learn its output shape, and the call's output is a
new SymbolicTensor. :class:`xpnet.models.Functional` (``Model(inputs,
outputs)``) walks these nodes back from the outputs and runs them on real
tensors. This module sits with the layers (``Layer.__call__`` records here), so
the layers never import the models.
"""

from __future__ import annotations

from xpnet import _checks, ops
from xpnet import backend as B
from xpnet.layers.base import Layer, check_placeholder, dry_run
from xpnet.layers.serialization import register_builtin
from xpnet.tensor import Tensor, no_grad

__all__ = ["Input", "InputLayer", "Node", "OpLayer", "SymbolicTensor", "symbolic_call"]


class SymbolicTensor:
    """A placeholder with a shape (batch axis ``None``) and dtype, produced by a Node.

    Layers called on it record the call; ``+ - * / @`` and unary ``-`` record
    an :class:`OpLayer` node.
    """

    _xpnet_symbolic = True

    @staticmethod
    def record_call(layer, inputs, args, kwargs, training):
        """``layer(inputs, ...)`` on placeholders: a new Node (``Layer.__call__`` asks)."""
        return symbolic_call(layer, inputs, args, kwargs, training)

    __slots__ = ("dtype", "index", "node", "shape")

    def __init__(self, shape, dtype: str, node: Node | None = None, index: int = 0) -> None:
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.node = node
        self.index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def name(self) -> str:
        layer = self.node.layer.name if self.node is not None else "?"
        return layer if self.index == 0 else f"{layer}:{self.index}"

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype} from {self.name!r}>"

    def __len__(self) -> int:
        raise TypeError(
            "A symbolic tensor from xn.Input has no length: it only describes the shape "
            f"{self.shape}. Build the model, then call it on data."
        )

    def __bool__(self) -> bool:
        raise TypeError(
            "A symbolic tensor from xn.Input has no value; Python control flow on it is not "
            "possible. Subclass xn.Model and write call() for data-dependent logic."
        )

    def _binary(self, op: str, other, reverse: bool = False):
        if isinstance(other, SymbolicTensor):
            pair = [other, self] if reverse else [self, other]
            return OpLayer(op)(pair)
        if isinstance(other, bool) or not isinstance(other, (int, float)):
            raise TypeError(
                f"Symbolic tensors combine with symbolic tensors or Python numbers; got "
                f"{type(other).__name__}. Wrap constants in a layer."
            )
        return OpLayer(op, constant=other, reverse=reverse)(self)

    def __add__(self, other):
        return self._binary("add", other)

    def __radd__(self, other):
        return self._binary("add", other, reverse=True)

    def __sub__(self, other):
        return self._binary("subtract", other)

    def __rsub__(self, other):
        return self._binary("subtract", other, reverse=True)

    def __mul__(self, other):
        return self._binary("multiply", other)

    def __rmul__(self, other):
        return self._binary("multiply", other, reverse=True)

    def __truediv__(self, other):
        return self._binary("divide", other)

    def __rtruediv__(self, other):
        return self._binary("divide", other, reverse=True)

    def __matmul__(self, other):
        return self._binary("matmul", other)

    def __pow__(self, other):
        return self._binary("power", other)

    def __neg__(self):
        return OpLayer("negative")(self)


class Node:
    """One call of ``layer`` on symbolic ``inputs`` (a tensor or a list), with its outputs."""

    __slots__ = ("args", "inputs", "kwargs", "layer", "outputs")

    def __init__(self, layer: Layer, inputs, args=(), kwargs=None) -> None:
        self.layer = layer
        self.inputs = inputs
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        self.outputs: list[SymbolicTensor] = []

    def parents(self) -> list[SymbolicTensor]:
        extra = symbolic_leaves((self.args, self.kwargs))
        return flatten(self.inputs) + extra if extra else flatten(self.inputs)


def symbolic_leaves(struct) -> list:
    """The SymbolicTensors inside nested lists, tuples and dicts (extra call arguments)."""
    if isinstance(struct, SymbolicTensor):
        return [struct]
    if isinstance(struct, (list, tuple)):
        return [t for s in struct for t in symbolic_leaves(s)]
    if isinstance(struct, dict):
        return [t for s in struct.values() for t in symbolic_leaves(s)]
    return []


def map_symbolic(struct, fn):
    """``struct`` with each SymbolicTensor leaf replaced by ``fn(leaf)`` (lists, tuples, dicts)."""
    if isinstance(struct, SymbolicTensor):
        return fn(struct)
    if isinstance(struct, (list, tuple)):
        return type(struct)(map_symbolic(s, fn) for s in struct)
    if isinstance(struct, dict):
        return {k: map_symbolic(v, fn) for k, v in struct.items()}
    return struct


def flatten(struct) -> list:
    if struct is None:
        return []
    if isinstance(struct, (list, tuple)):
        return [t for s in struct for t in flatten(s)]
    return [struct]


# --------------------------------------------------------------------------- Input


class InputLayer(Layer):
    """The layer behind ``xn.Input``: it holds the input's shape and dtype.

    Args:
        shape: the shape of one sample (without the batch axis).
        batch_size: a fixed batch size (None: any).
        dtype: the input's dtype (default floatx; "int32"/"int64" for ids).
        batch_shape: the full shape, batch axis first (instead of shape/batch_size).
        name: the layer's name.
    """

    def __init__(
        self,
        shape=None,
        batch_size=None,
        dtype=None,
        sparse=None,
        batch_shape=None,
        name=None,
        **kwargs,
    ) -> None:
        if sparse:
            raise ValueError("InputLayer: sparse inputs are not supported.")
        if kwargs.pop("input_shape", None) is not None and shape is None:
            raise ValueError("InputLayer: pass shape=, not input_shape=.")
        super().__init__(name=name, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError(
                    "Input: expected shape= (the shape of one sample, e.g. shape=(784,)); "
                    "received neither shape nor batch_shape."
                )
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size, *tuple(shape))
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        for d in self.batch_shape[1:]:
            if d is not None and d <= 0:
                raise ValueError(
                    f"Input: dimensions must be positive; got shape {self.batch_shape}."
                )
        self.input_dtype = dtype or B.floatx()
        self.built = True
        node = Node(self, None)
        node.outputs = [SymbolicTensor(self.batch_shape, self.input_dtype, node, 0)]
        self._node = node

    @property
    def output(self) -> SymbolicTensor:
        return self._node.outputs[0]

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"name": self.name, "batch_shape": list(self.batch_shape), "dtype": self.input_dtype}


def Input(
    shape=None,
    batch_size=None,
    dtype=None,
    sparse=None,
    batch_shape=None,
    name=None,
    tensor=None,
    optional=False,
) -> SymbolicTensor:
    """A symbolic input for the functional API (and for ``Sequential``).

    Args:
        shape: the shape of one sample, without the batch axis, e.g. ``(784,)``.
        batch_size: a fixed batch size (default: any).
        dtype: default floatx (float32); integer types for embedding ids.
        batch_shape: the full shape including the batch axis, instead of ``shape``.
        name: the name of the input (used to feed dict inputs).

    >>> import xpnet as xn
    >>> xn.Input(shape=(28, 28)).shape
    (None, 28, 28)
    """
    if tensor is not None or optional:
        raise ValueError("Input: tensor= and optional= are not supported.")
    return InputLayer(
        shape=shape,
        batch_size=batch_size,
        dtype=dtype,
        sparse=sparse,
        batch_shape=batch_shape,
        name=name,
    ).output


# --------------------------------------------------------------------------- recording calls


_PROBE_SIZE = 16  # stands in for unknown non-batch dimensions during the dry run


def _placeholder(t: SymbolicTensor, fill: int) -> Tensor:
    shape = tuple((1 if i == 0 else fill) if d is None else d for i, d in enumerate(t.shape))
    check_placeholder(shape)
    xp = B.xp()
    return Tensor._make(xp.zeros(shape, dtype=B.dtype(t.dtype, xp), device=B.device()), None)


def _map(struct, fn):
    if isinstance(struct, (list, tuple)):
        return type(struct)(_map(s, fn) for s in struct)
    return fn(struct)


def probe(layer: Layer, inputs, args=(), kwargs=None, fill: int = _PROBE_SIZE):
    """Run ``layer`` once on zeros shaped like the symbolic ``inputs``; list of (shape, dtype).

    The first axis is the batch (size 1 in the run, None in the result);
    other unknown axes are probed twice (sizes ``fill`` and ``fill + 1``) and
    come back None where the output follows them.
    """
    kw = dict(kwargs or {})
    kw.setdefault("training", False)

    def run(size):
        def fill(t):
            return _placeholder(t, size)

        a, k = map_symbolic(args, fill), map_symbolic(kw, fill)
        with no_grad(), dry_run():
            out = layer(_map(inputs, fill), *a, **k)
        return [(tuple(o.shape), _dtype_name(o.dtype)) for o in flatten(out)], out

    first, out = run(fill)
    flat_in = flatten(inputs) + symbolic_leaves((args, kw))
    batch_free = any(t.shape[0] is None for t in flat_in)
    unknown = any(d is None for t in flat_in for d in t.shape[1:])
    second = run(fill + 1)[0] if unknown else first
    specs = []
    for (s1, dt), (s2, _) in zip(first, second):
        dims = [None if a != b else a for a, b in zip(s1, s2)]
        if batch_free and dims:
            dims[0] = None
        specs.append((tuple(dims), dt))
    return (
        specs,
        isinstance(out, (list, tuple)),
        type(out) if isinstance(out, (list, tuple)) else None,
    )


def _dtype_name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1].strip("'>")


def symbolic_call(layer: Layer, inputs, args, kwargs, training):
    """``layer(inputs)`` on SymbolicTensors: dry-run to build, record a Node, return outputs."""
    if training is not None:
        kwargs = {**kwargs, "training": training}
    specs, many, container = probe(layer, inputs, args, kwargs)
    node = Node(layer, inputs, args, kwargs)
    node.outputs = [SymbolicTensor(s, dt, node, i) for i, (s, dt) in enumerate(specs)]
    layer.__dict__.setdefault("_inbound_nodes", []).append(node)
    if many:
        return container(node.outputs) if container in (list, tuple) else list(node.outputs)
    return node.outputs[0]


# --------------------------------------------------------------------------- OpLayer


_OPS = {
    "add": ops.add,
    "subtract": ops.sub,
    "multiply": ops.mul,
    "divide": ops.div,
    "matmul": ops.matmul,
    "power": ops.pow,
}


class OpLayer(Layer):
    """An arithmetic operation on symbolic tensors (``x + y``, ``2 * x``, ``-x``) as a layer.

    Args:
        op: one of add, subtract, multiply, divide, matmul, power, negative.
        constant: a Python number for the other operand (None: two inputs).
        reverse: the constant is the left operand.
    """

    def __init__(self, op: str, constant: float | None = None, reverse: bool = False, **kwargs):
        if op != "negative" and op not in _OPS:
            raise ValueError(
                f"OpLayer: unknown op {op!r}; expected one of {', '.join([*_OPS, 'negative'])}."
            )
        kwargs.setdefault("name", None)
        super().__init__(**kwargs)
        self.op = op
        self.constant = constant
        self.reverse = _checks.boolean(type(self).__name__, "reverse", reverse)

    def call(self, inputs):
        if self.op == "negative":
            return ops.neg(inputs)
        fn = _OPS[self.op]
        if self.constant is None:
            a, b = inputs
            return fn(a, b)
        return fn(self.constant, inputs) if self.reverse else fn(inputs, self.constant)

    def get_config(self):
        config = super().get_config()
        config.update(op=self.op, constant=self.constant, reverse=self.reverse)
        return config


register_builtin(InputLayer, OpLayer)  # known by name to the layer deserializer
