"""Layer wrappers: Bidirectional (a recurrent layer both ways) and TimeDistributed."""

from __future__ import annotations

from typing import Any

from xpnet import ops
from xpnet.layers import _mask
from xpnet.layers.base import Layer
from xpnet.layers.serialization import deserialize_layer, serialize_layer
from xpnet.ops import rnn as rnn_ops

__all__ = ["Bidirectional", "TimeDistributed"]


def _renamed(layer: Layer, prefix: str, **changes: Any) -> Layer:
    config = serialize_layer(layer)
    name = config["config"]["name"]
    for p in ("forward_", "backward_"):
        name = name.removeprefix(p)
    config["config"].update(name=prefix + name, **changes)
    return deserialize_layer(config)


class Bidirectional(Layer):
    """Run a recurrent layer forwards and backwards over the sequence and merge the results.

    The wrapped layer is copied twice (as Keras does): ``forward_layer`` and
    ``backward_layer`` (``go_backwards`` flipped). With ``return_sequences`` the
    backward outputs are reversed back into time order before merging.

    Args:
        layer: a SimpleRNN, LSTM or GRU (its configuration is copied).
        merge_mode: "concat" (default), "sum", "mul", "ave" or None (a list of both).
        weights: optional initial weights (forward layer's, then backward layer's).
        backward_layer: optional layer to use for the backward direction.

    Call arguments: ``inputs``, ``initial_state`` (forward states then backward ones),
    ``mask``, ``training``. With the wrapped layer's ``return_state``, returns
    ``[output, *forward_states, *backward_states]``.

    >>> import numpy as np, xpnet as xn
    >>> bi = xn.layers.Bidirectional(xn.layers.LSTM(4, return_sequences=True))
    >>> bi(np.ones((2, 5, 3), dtype="float32")).shape
    (2, 5, 8)
    """

    _MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(
        self,
        layer: Any,
        merge_mode: str | None = "concat",
        weights: Any = None,
        backward_layer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        layer = deserialize_layer(layer)
        if not hasattr(layer, "go_backwards") or not hasattr(layer, "return_sequences"):
            raise ValueError(
                "Bidirectional: expected a recurrent layer (SimpleRNN, LSTM, GRU). "
                f"Received: layer={layer!r}"
            )
        if merge_mode not in self._MODES:
            raise ValueError(
                f"Bidirectional: expected merge_mode in {self._MODES}. "
                f"Received: merge_mode={merge_mode!r}"
            )
        self.forward_layer = _renamed(layer, "forward_")
        self._backward_given = backward_layer is not None
        if backward_layer is None:
            self.backward_layer = _renamed(layer, "backward_", go_backwards=not layer.go_backwards)
        else:
            self.backward_layer = deserialize_layer(backward_layer)
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    def build(self, input_shape) -> None:
        self.forward_layer._build_checked(input_shape)
        self.backward_layer._build_checked(input_shape)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs, initial_state=None, mask=None, training=None):
        mask = _mask.resolve(inputs, mask)
        fwd_state = bwd_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            fwd_state, bwd_state = initial_state[:half], initial_state[half:]
        kw = {"mask": mask, "training": training}
        y_f = self.forward_layer(inputs, initial_state=fwd_state, **kw)
        y_b = self.backward_layer(inputs, initial_state=bwd_state, **kw)
        states: list = []
        if self.return_state:
            states = list(y_f[1:]) + list(y_b[1:])
            y_f, y_b = y_f[0], y_b[0]
        if self.return_sequences:
            y_b = rnn_ops.flip(y_b, axis=1)
        out = self._merge(y_f, y_b)
        if self.return_sequences and not isinstance(out, list):
            _mask.set_mask(out, mask)
        return [out, *states] if self.return_state else out

    def _merge(self, a, b):
        if self.merge_mode == "concat":
            return ops.concat([a, b], axis=-1)
        if self.merge_mode == "sum":
            return a + b
        if self.merge_mode == "mul":
            return a * b
        if self.merge_mode == "ave":
            return (a + b) * 0.5
        return [a, b]

    def reset_states(self) -> None:
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], shape[1:]
        if self.merge_mode == "concat":
            shape = (*shape[:-1], shape[-1] * 2)
        out = [shape, shape] if self.merge_mode is None else shape
        return [out, *states, *states] if self.return_state else out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(layer=serialize_layer(self.forward_layer), merge_mode=self.merge_mode)
        if self._backward_given:
            config["backward_layer"] = serialize_layer(self.backward_layer)
        return config


class TimeDistributed(Layer):
    """Apply a layer to every time step: inputs (batch, time, ...) -> (batch, time, ...).

    The batch and time axes are merged, the layer runs once on the merged batch,
    and the result is split again, so every step shares the layer's weights.

    >>> import numpy as np, xpnet as xn
    >>> td = xn.layers.TimeDistributed(xn.layers.Dense(2))
    >>> td(np.ones((4, 3, 5), dtype="float32")).shape
    (4, 3, 2)
    """

    supports_masking = True

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = deserialize_layer(layer)
        if not isinstance(self.layer, Layer):
            raise ValueError(f"TimeDistributed: expected a Layer. Received: layer={layer!r}")

    def build(self, input_shape) -> None:
        if len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed layer '{self.name}' expected inputs of rank >= 3 "
                f"(batch, time, ...); got shape {tuple(input_shape)}."
            )

    def call(self, inputs, training=None):
        n, t = inputs.shape[:2]
        merged = ops.reshape(inputs, (n * t, *inputs.shape[2:]))
        out = self.layer(merged, training=training)
        return ops.reshape(out, (n, t, *out.shape[1:]))

    def compute_output_shape(self, input_shape):
        n, t = input_shape[:2]
        merged = (None if n is None or t is None else n * t, *input_shape[2:])
        inner = self.layer.compute_output_shape(merged)
        return (n, t, *inner[1:])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)
        return config
