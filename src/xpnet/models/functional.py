"""The functional API: ``xn.Input`` placeholders, graph nodes, and ``Model(inputs, outputs)``.

Calling a layer on a :class:`SymbolicTensor` (what ``xn.Input`` returns)
records a :class:`Node` instead of computing: the layer is built by one dry
run on zeros (batch 1) to learn its output shape, and the call's output is a
new SymbolicTensor. ``Model(inputs, outputs)`` walks the nodes back from the
outputs, orders them, and at call time runs that list of layer calls on real
tensors. Several inputs and outputs, shared layers (one layer, several nodes)
and residual connections (``x + y`` on SymbolicTensors) all fall out of this.

>>> import xpnet as xn
>>> inp = xn.Input(shape=(4,))
>>> h = xn.layers.Dense(8, activation="relu")(inp)
>>> out = xn.layers.Dense(4)(h) + inp          # a residual connection
>>> model = xn.Model(inp, out)
>>> model(xn.Tensor([[1.0, 2.0, 3.0, 4.0]])).shape
(1, 4)
"""

from __future__ import annotations

from typing import Any

from xpnet import backend as B
from xpnet import ops
from xpnet.layers.base import Layer
from xpnet.models.model import Model
from xpnet.tensor import Tensor, no_grad, topological_order

__all__ = ["Functional", "Input", "InputLayer", "Node", "OpLayer", "SymbolicTensor"]


class SymbolicTensor:
    """A placeholder with a shape (batch axis ``None``) and dtype, produced by a Node.

    Layers called on it record the call; ``+ - * / @`` and unary ``-`` record
    an :class:`OpLayer` node.
    """

    _xpnet_symbolic = True
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
        return flatten(self.inputs)


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
        with no_grad():
            out = layer(_map(inputs, lambda t: _placeholder(t, size)), *args, **kw)
        return [(tuple(o.shape), _dtype_name(o.dtype)) for o in flatten(out)], out

    first, out = run(fill)
    flat_in = flatten(inputs)
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
    for value in (*args, *kwargs.values()):
        if any(isinstance(t, SymbolicTensor) for t in flatten(value)):
            raise TypeError(
                f"Layer '{layer.name}': symbolic tensors must be passed as the first argument "
                "(a list of them for several inputs), not as extra arguments."
            )
    if training is not None:
        kwargs = {**kwargs, "training": training}
    specs, many, container = probe(layer, inputs, args, kwargs)
    node = Node(layer, inputs, args, kwargs)
    node.outputs = [SymbolicTensor(s, dt, node, i) for i, (s, dt) in enumerate(specs)]
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
        self.reverse = bool(reverse)

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


# --------------------------------------------------------------------------- Functional


class _Step:
    """One recorded call, ready to replay: slots of its inputs and outputs."""

    __slots__ = ("args", "in_slots", "kwargs", "layer", "out_slots")

    def __init__(self, layer, in_slots, args, kwargs, out_slots) -> None:
        self.layer, self.in_slots, self.args = layer, in_slots, args
        self.kwargs, self.out_slots = kwargs, out_slots


class _Graph:
    """The ordered nodes of a functional model and how to replay them (not walked for weights)."""

    def __init__(self, inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> None:
        self.nodes = _topological(outputs)
        known = {id(t) for t in inputs}
        for node in self.nodes:
            if isinstance(node.layer, InputLayer) and id(node.outputs[0]) not in known:
                raise ValueError(
                    f"Graph disconnected: the outputs depend on input '{node.layer.name}' "
                    f"(shape {node.outputs[0].shape}), which is not among the model's inputs "
                    f"({[t.name for t in inputs]}). Pass it in inputs=[...]."
                )
        slots: dict[int, int] = {}
        for t in inputs:
            if id(t) in slots:
                raise ValueError(f"Input '{t.name}' is passed twice in inputs.")
            slots[id(t)] = len(slots)
        self.steps: list[_Step] = []
        for node in self.nodes:
            if isinstance(node.layer, InputLayer):
                continue
            in_slots = _map(node.inputs, lambda t: slots[id(t)])
            for t in node.outputs:
                slots[id(t)] = len(slots)
            outs = tuple(slots[id(t)] for t in node.outputs)
            self.steps.append(_Step(node.layer, in_slots, node.args, node.kwargs, outs))
        self.n_slots = len(slots)
        self.out_slots = [slots[id(t)] for t in outputs]
        self.slots = slots

    def run(self, values: list) -> list:
        for st in self.steps:
            spec = st.in_slots
            x = values[spec] if type(spec) is int else _map(spec, values.__getitem__)
            y = st.layer(x, *st.args, **st.kwargs)
            outs = st.out_slots
            if len(outs) == 1 and not isinstance(y, (list, tuple)):
                values[outs[0]] = y
            else:
                for s, v in zip(outs, y):
                    values[s] = v
        return [values[s] for s in self.out_slots]


def _topological(outputs: list[SymbolicTensor]) -> list[Node]:
    """Nodes that the outputs depend on, each after the nodes it takes inputs from."""
    return topological_order([t.node for t in outputs], lambda n: [t.node for t in n.parents()])


def _as_symbolic_list(value, what: str) -> tuple[list[SymbolicTensor], bool]:
    if isinstance(value, SymbolicTensor):
        return [value], True
    if isinstance(value, dict):
        raise TypeError(
            f"Model {what} as a dict are not supported; pass a list (dict data is matched to "
            "inputs by the Input names)."
        )
    if isinstance(value, (list, tuple)) and value:
        items = list(value)
        for t in items:
            if not isinstance(t, SymbolicTensor):
                raise TypeError(
                    f"Model {what} must be symbolic tensors (from xn.Input and layer calls); "
                    f"got {type(t).__name__}."
                )
        return items, False
    raise TypeError(
        f"Model {what} must be a symbolic tensor or a non-empty list of them (from xn.Input and "
        f"layer calls); got {value!r}."
    )


class Functional(Model):
    """A model defined by connecting layers: ``Model(inputs, outputs)``.

    ``xn.Model(inputs, outputs)`` returns an instance of this class.
    """

    def __init__(
        self, inputs, outputs, name: str | None = None, trainable: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.inputs, self._single_input = _as_symbolic_list(inputs, "inputs")
        self.outputs, self._single_output = _as_symbolic_list(outputs, "outputs")
        for t in self.inputs:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come straight from xn.Input(...); '{t.name}' is the "
                    f"output of layer '{t.node.layer.name}'."
                )
        self._graph_holder = _GraphHolder(_Graph(self.inputs, self.outputs))
        layers: list[Layer] = []
        seen: set[int] = set()
        for node in self._graph_holder.graph.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        names = [layer.name for layer in layers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"All layers of a model need unique names; these appear more than once: {dup}. "
                "Give the layers distinct name= arguments."
            )
        self._graph_layers = layers
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        return list(self._graph_layers)

    @property
    def input_names(self) -> list[str]:
        return [t.node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [t.node.layer.name for t in self.outputs]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if self._single_input else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        return shapes[0] if self._single_output else shapes

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, dict):
            inputs = self._from_dict(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def _from_dict(self, data: dict) -> list:
        missing = [n for n in self.input_names if n not in data]
        if missing:
            raise ValueError(
                f"Model '{self.name}' got a dict without the inputs {missing}; its inputs are "
                f"{self.input_names}."
            )
        return [data[n] for n in self.input_names]

    def call(self, inputs, training=None):
        graph = self._graph_holder.graph
        values = [None] * graph.n_slots
        if self._single_input:
            if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
                inputs = inputs[0]
            values[0] = inputs
        else:
            if not isinstance(inputs, (list, tuple)) or len(inputs) != len(self.inputs):
                raise ValueError(
                    f"Model '{self.name}' expects {len(self.inputs)} inputs "
                    f"({self.input_names}) as a list; got "
                    f"{len(inputs) if isinstance(inputs, (list, tuple)) else 1}."
                )
            values[: len(inputs)] = list(inputs)
        outs = graph.run(values)
        return outs[0] if self._single_output else outs

    def build(self, input_shape) -> None:
        self.built = True

    def compute_output_shape(self, input_shape):
        return self.output_shape

    def get_config(self) -> dict[str, Any]:
        from xpnet.layers.serialization import serialize_layer

        graph = self._graph_holder.graph
        refs: dict[int, list] = {}
        calls: dict[int, int] = {}
        nodes = []
        for node in graph.nodes:
            index = calls.get(id(node.layer), 0)
            calls[id(node.layer)] = index + 1
            for t in node.outputs:
                refs[id(t)] = [node.layer.name, index, t.index]
            if isinstance(node.layer, InputLayer):
                continue
            nodes.append(
                {
                    "layer": node.layer.name,
                    "inputs": _map(node.inputs, lambda t: {"ref": refs[id(t)]}),
                    "args": _json_args(node.args, node.layer),
                    "kwargs": _json_args(node.kwargs, node.layer),
                }
            )
        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": [serialize_layer(layer) for layer in self._graph_layers],
            "nodes": nodes,
            "input_layers": [refs[id(t)] for t in self.inputs],
            "output_layers": [refs[id(t)] for t in self.outputs],
            "single_input": self._single_input,
            "single_output": self._single_output,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Functional:
        from xpnet.layers.serialization import deserialize_layer

        layers = {}
        for spec in config["layers"]:
            layer = deserialize_layer(spec)
            layers[layer.name] = layer
        produced: dict[tuple[str, int], list] = {}
        for layer in layers.values():
            if isinstance(layer, InputLayer):
                produced[(layer.name, 0)] = [layer.output]
        calls: dict[str, int] = {}

        def resolve(ref):
            name, index, tensor_index = ref["ref"]
            try:
                return produced[(name, index)][tensor_index]
            except (KeyError, IndexError):
                raise ValueError(
                    f"Model config refers to an unknown tensor {ref['ref']}."
                ) from None

        for spec in config["nodes"]:
            layer = layers[spec["layer"]]
            inputs = _map_json(spec["inputs"], resolve)
            out = layer(inputs, *spec.get("args", []), **spec.get("kwargs", {}))
            index = calls.get(layer.name, 0)
            calls[layer.name] = index + 1
            produced[(layer.name, index)] = flatten(out)
        ins = [resolve({"ref": r}) for r in config["input_layers"]]
        outs = [resolve({"ref": r}) for r in config["output_layers"]]
        return cls(
            ins[0] if config.get("single_input", len(ins) == 1) else ins,
            outs[0] if config.get("single_output", len(outs) == 1) else outs,
            name=config.get("name"),
            trainable=config.get("trainable", True),
        )


class _GraphHolder:
    """Keeps the graph out of the attribute walk that finds weights and layers."""

    def __init__(self, graph: _Graph) -> None:
        self.graph = graph


def _json_args(value, layer):
    import json

    try:
        json.dumps(value)
    except TypeError:
        raise ValueError(
            f"Layer '{layer.name}' was called with arguments that cannot be saved as JSON "
            f"({value!r}); only numbers, strings, booleans, None and lists of them can."
        ) from None
    return list(value) if isinstance(value, tuple) else value


def _map_json(struct, resolve):
    if isinstance(struct, dict) and "ref" in struct:
        return resolve(struct)
    if isinstance(struct, list):
        return [_map_json(s, resolve) for s in struct]
    raise ValueError(f"Model config has an invalid node input: {struct!r}.")
