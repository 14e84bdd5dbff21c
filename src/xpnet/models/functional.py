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

from xpnet.layers.base import Layer
from xpnet.layers.symbolic import (
    Input,
    InputLayer,
    Node,
    OpLayer,
    SymbolicTensor,
    _map,
    flatten,
    map_symbolic,
    symbolic_leaves,
)
from xpnet.models.model import Model
from xpnet.tensor import topological_order

__all__ = ["Functional", "Input", "InputLayer", "Node", "OpLayer", "SymbolicTensor"]


# --------------------------------------------------------------------------- Functional


class _Step:
    """One recorded call, ready to replay: slots of its inputs and outputs."""

    __slots__ = ("args", "in_slots", "kwargs", "layer", "out_slots", "slotted")

    def __init__(self, layer, in_slots, args, kwargs, out_slots) -> None:
        self.layer, self.in_slots, self.args = layer, in_slots, args
        self.kwargs, self.out_slots = kwargs, out_slots
        self.slotted = _has_slot((args, kwargs))


class _Slot:
    """A tensor argument other than the first (``mha(q, v)``'s ``v``), by its slot."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def _has_slot(struct) -> bool:
    if isinstance(struct, _Slot):
        return True
    if isinstance(struct, (list, tuple)):
        return any(_has_slot(s) for s in struct)
    if isinstance(struct, dict):
        return any(_has_slot(s) for s in struct.values())
    return False


def _fill_slots(struct, values):
    if isinstance(struct, _Slot):
        return values[struct.index]
    if isinstance(struct, (list, tuple)):
        return type(struct)(_fill_slots(s, values) for s in struct)
    if isinstance(struct, dict):
        return {k: _fill_slots(v, values) for k, v in struct.items()}
    return struct


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
            args, kwargs = node.args, node.kwargs
            if symbolic_leaves((args, kwargs)):  # mha(q, v, key), attention_mask=tensor
                args = map_symbolic(args, lambda t: _Slot(slots[id(t)]))
                kwargs = map_symbolic(kwargs, lambda t: _Slot(slots[id(t)]))
            for t in node.outputs:
                slots[id(t)] = len(slots)
            outs = tuple(slots[id(t)] for t in node.outputs)
            self.steps.append(_Step(node.layer, in_slots, args, kwargs, outs))
        self.n_slots = len(slots)
        self.out_slots = [slots[id(t)] for t in outputs]
        self.slots = slots

    def run(self, values: list) -> list:
        for st in self.steps:
            spec = st.in_slots
            x = values[spec] if type(spec) is int else _map(spec, values.__getitem__)
            args, kwargs = st.args, st.kwargs
            if st.slotted:
                args, kwargs = _fill_slots(args, values), _fill_slots(kwargs, values)
            y = st.layer(x, *args, **kwargs)
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
            "inputs by the Input names; outputs may be a dict)."
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
        self._output_keys = None
        if isinstance(outputs, dict):  # Keras 3: outputs named by the dict's keys (sorted)
            if not outputs or not all(isinstance(k, str) for k in outputs):
                raise TypeError(
                    "Model outputs as a dict need string keys (the outputs' names) and at least "
                    f"one entry; got keys {list(outputs)}."
                )
            self._output_keys = sorted(outputs)
            outputs = [outputs[k] for k in self._output_keys]
        self.outputs, self._single_output = _as_symbolic_list(outputs, "outputs")
        if self._output_keys is not None:
            self._single_output = False
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
        if self._output_keys is not None:
            return list(self._output_keys)
        return [t.node.layer.name for t in self.outputs]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if self._single_input else shapes

    @property
    def output_shape(self):
        shapes = [t.shape for t in self.outputs]
        if self._output_keys is not None:
            return dict(zip(self._output_keys, shapes))
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
        if self._output_keys is not None:
            return dict(zip(self._output_keys, outs))
        return outs[0] if self._single_output else outs

    def build(self, input_shape) -> None:
        self.built = True

    def check_input_values(self, inputs) -> None:
        """Each input to the layers called on it alone (None: skip that input)."""
        if isinstance(inputs, dict):
            inputs = self._from_dict(inputs)
        if self._single_input or not isinstance(inputs, (list, tuple)):
            inputs = [inputs]
        for slot, data in enumerate(inputs):
            if data is None:
                continue
            for step in self._graph_holder.graph.steps:
                if step.in_slots == slot:
                    step.layer.check_input_values(data)

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
                    "args": _json_args(
                        map_symbolic(node.args, lambda t: {"ref": refs[id(t)]}), node.layer
                    ),
                    "kwargs": _json_args(
                        map_symbolic(node.kwargs, lambda t: {"ref": refs[id(t)]}), node.layer
                    ),
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
            **({"output_keys": self._output_keys} if self._output_keys is not None else {}),
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
            args = _refs_in(spec.get("args", []), resolve)
            kwargs = _refs_in(spec.get("kwargs", {}), resolve)
            out = layer(inputs, *args, **kwargs)
            index = calls.get(layer.name, 0)
            calls[layer.name] = index + 1
            produced[(layer.name, index)] = flatten(out)
        ins = [resolve({"ref": r}) for r in config["input_layers"]]
        outs = [resolve({"ref": r}) for r in config["output_layers"]]
        keys = config.get("output_keys")
        if keys is not None:
            if not isinstance(keys, list) or len(keys) != len(outs):
                raise ValueError(f"Model config has invalid output_keys {keys!r}.")
            outs = dict(zip(keys, outs))
            config = {**config, "single_output": False}
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


def _refs_in(struct, resolve):
    """Saved call arguments with ``{"ref": [...]}`` entries turned back into tensors."""
    if isinstance(struct, dict):
        if set(struct) == {"ref"}:
            return resolve(struct)
        return {k: _refs_in(v, resolve) for k, v in struct.items()}
    if isinstance(struct, list):
        return [_refs_in(s, resolve) for s in struct]
    return struct


def _map_json(struct, resolve):
    if isinstance(struct, dict) and "ref" in struct:
        return resolve(struct)
    if isinstance(struct, list):
        return [_map_json(s, resolve) for s in struct]
    raise ValueError(f"Model config has an invalid node input: {struct!r}.")
