"""``Sequential``: a plain stack of layers, each feeding the next.

>>> import xpnet as xn
>>> model = xn.Sequential([
...     xn.Input(shape=(64,)),
...     xn.layers.Dense(32, activation="relu"),
...     xn.layers.Dense(10, activation="softmax"),
... ])
>>> model.output_shape
(None, 10)
>>> model.count_params()
2410
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from xpnet.layers.base import Layer
from xpnet.layers.symbolic import InputLayer, SymbolicTensor, probe
from xpnet.models.model import Model

__all__ = ["Sequential"]


class _Shapes:
    """Output shapes of the stack's layers (kept off the weight walk)."""

    def __init__(self) -> None:
        self.input = None  # batch shape, or None until known
        self.dtype = None
        self.outputs: list[tuple] = []


class Sequential(Model):
    """Layers applied one after the other.

    Args:
        layers: a list of layers (optionally starting with ``xn.Input(shape)``);
            more can be appended with :meth:`add`.
        trainable, name: as for every layer.

    The input shape comes from ``xn.Input``, from ``input_shape=`` on the
    first layer, from :meth:`build`, or from the first batch it sees.
    """

    def __init__(
        self, layers: Iterable[Any] | None = None, trainable: bool = True, name: str | None = None
    ) -> None:
        super().__init__(trainable=trainable, name=name)
        self._shapes = _Shapes()
        self._stack: list[Layer] = []
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ the stack
    def add(self, layer) -> None:
        """Append a layer (or set the input with ``xn.Input(shape)`` first)."""
        if isinstance(layer, SymbolicTensor):
            if not isinstance(layer.node.layer, InputLayer):
                raise TypeError(
                    "Sequential.add() takes layers (or xn.Input); to wire tensors use the "
                    "functional API: xn.Model(inputs, outputs)."
                )
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._shapes.input is not None:
                raise ValueError("Sequential: xn.Input(...) must come first and only once.")
            self._shapes.input = layer.batch_shape
            self._shapes.dtype = layer.input_dtype
            return
        if not isinstance(layer, Layer):
            raise TypeError(
                f"Sequential.add() expects a Layer; got {type(layer).__name__} ({layer!r})."
            )
        if any(existing.name == layer.name for existing in self._stack):
            raise ValueError(
                f"Sequential: a layer named {layer.name!r} is already in the model; layer names "
                "must be unique."
            )
        if not self._stack and self._shapes.input is None and layer._input_shape_arg is not None:
            self._shapes.input = (layer._batch_size_arg, *layer._input_shape_arg)
        self._stack.append(layer)
        if self._shapes.input is not None:
            self._probe_from(len(self._stack) - 1)

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise IndexError("Sequential.pop(): there are no layers to remove.")
        layer = self._stack.pop()
        del self._shapes.outputs[len(self._stack) :]
        return layer

    def _probe_from(self, start: int) -> None:
        """Build layers ``start..`` by dry runs, recording their output shapes."""
        sh = self._shapes
        del sh.outputs[start:]
        shape = sh.input if start == 0 else sh.outputs[start - 1][0]
        dtype = (sh.dtype or self.dtype) if start == 0 else sh.outputs[start - 1][1]
        for layer in self._stack[start:]:
            specs, many, _ = probe(layer, SymbolicTensor(shape, dtype))
            if many:
                raise ValueError(
                    f"Sequential: layer '{layer.name}' returns several tensors; use the "
                    "functional API for layers with several outputs."
                )
            shape, dtype = specs[0]
            sh.outputs.append((shape, dtype))
            layer._sequential_output = SymbolicTensor(shape, dtype)  # what layer.output gives
        self.built = True
        self._build_input_shape = None if sh.input is None else [None, *sh.input[1:]]

    @property
    def layers(self) -> list[Layer]:
        return list(self._stack)

    def build(self, input_shape=None) -> None:
        """Build every layer for inputs of ``input_shape`` (batch axis first)."""
        if input_shape is None:
            if self._shapes.input is None:
                raise ValueError(
                    "Sequential.build() needs an input shape: build((None, 784)), or start the "
                    "model with xn.Input(shape=(784,))."
                )
            input_shape = self._shapes.input
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], tuple):
            raise ValueError("Sequential models take one input; use the functional API for more.")
        self._shapes.input = (None, *tuple(input_shape)[1:])
        if self._stack:
            self._probe_from(0)
        self.built = True

    def check_input_values(self, inputs) -> None:
        if self._stack:
            self._stack[0].check_input_values(inputs)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._stack:
            x = layer(x)
        return x

    # ------------------------------------------------------------------ shapes and names
    @property
    def input_shape(self):
        return self._shapes.input

    @property
    def output_shape(self):
        if not self._shapes.outputs:
            raise ValueError(f"Sequential model '{self.name}' is not built yet: no output shape.")
        return self._shapes.outputs[-1][0]

    def layer_output_shapes(self) -> list[tuple | None]:
        out = [s for s, _ in self._shapes.outputs]
        return out + [None] * (len(self._stack) - len(out))

    @property
    def output_names(self) -> list[str]:
        return [self._stack[-1].name] if self._stack else [self.name]

    def compute_output_shape(self, input_shape):
        if not self.built or self._shapes.input is None:
            self.build(input_shape)
        return (input_shape[0], *self.output_shape[1:])

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        from xpnet.layers.serialization import serialize_layer

        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        config["layers"] = [serialize_layer(layer) for layer in self._stack]
        sh = self._shapes
        config["input_shape"] = None if sh.input is None else list(sh.input)
        config["input_dtype"] = sh.dtype
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Sequential:
        from xpnet.layers.serialization import deserialize_layer

        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        shape = config.get("input_shape")
        if shape is not None:
            model.add(InputLayer(batch_shape=shape, dtype=config.get("input_dtype")))
        for spec in config.get("layers", []):
            model.add(deserialize_layer(spec))
        return model
