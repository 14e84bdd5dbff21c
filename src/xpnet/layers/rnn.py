"""Keras 3's cell API: ``RNN(cell)``, ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``,
``StackedRNNCells``.

A cell computes one step, ``cell(x_t, states) -> (output, new_states)``; ``RNN``
runs a cell over the time axis. The three built-in cells are the SimpleRNN, LSTM
and GRU layers' own weights and step (:mod:`xpnet.layers.recurrent`): the same
weight layouts, and ``RNN(LSTMCell(u))`` runs the LSTM layer's sequence code
(fused where the layer's is), so it equals ``LSTM(u)`` given the same weights.
Any other object with ``state_size`` and ``call(inputs, states)`` (a Layer of
your own, or :class:`StackedRNNCells`) runs as a loop of its calls.
"""

from __future__ import annotations

from typing import Any

from xpnet import _checks, ops
from xpnet import backend as B
from xpnet.layers import _mask
from xpnet.layers.base import InputSpec, Layer
from xpnet.layers.recurrent import _RNN, GRU, LSTM, SimpleRNN, _dropout_mask
from xpnet.layers.serialization import deserialize_layer, serialize_layer
from xpnet.ops import rnn as rnn_ops
from xpnet.tensor import Tensor

__all__ = ["RNN", "GRUCell", "LSTMCell", "SimpleRNNCell", "StackedRNNCells"]

_SEQUENCE_OPTIONS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")


class _Cell:
    """Turns a recurrent layer class into its one-step cell (mixed in before it)."""

    def __init__(self, units: int, *args: Any, **kwargs: Any) -> None:
        given = sorted(set(kwargs) & set(_SEQUENCE_OPTIONS))
        if given:
            raise TypeError(
                f"{type(self).__name__} is one step of a recurrence and takes no sequence "
                f"options; received {given}. Pass them to RNN(cell, ...) instead."
            )
        if len(args) > 13:  # Keras's cells take seed where the layers take return_sequences
            raise TypeError(
                f"{type(self).__name__} takes at most 14 positional arguments (units to "
                "recurrent_dropout); pass seed and the rest by name."
            )
        super().__init__(units, *args, **kwargs)
        self.input_spec = None

    @property
    def state_size(self):
        return self.units if self._state_count == 1 else [self.units] * self._state_count

    @property
    def output_size(self) -> int:
        return self.units

    def build(self, input_shape) -> None:
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expected inputs (batch, features) with "
                f"known features; got shape {tuple(input_shape)}."
            )
        super().build((input_shape[0], None, input_shape[-1]))
        self.input_spec = None

    def call(self, inputs, states=None, training=None):
        """One step: ``(output, new_states)``; ``states`` defaults to zeros."""
        states = self._initial_states(inputs.shape[0], inputs, states)
        x = inputs
        if training and self.dropout:
            x = x * _dropout_mask(x.shape, self.dropout, x.data, self._generator)
        rmask = None
        if training and self.recurrent_dropout:
            rmask = _dropout_mask(
                (x.shape[0], self.units), self.recurrent_dropout, x.data, self._generator
            )
        xw = ops.linear(x, self.kernel, self._input_bias())
        new = self._step(xw, states, rmask)
        return new[0], new

    def get_initial_state(self, batch_size: int) -> list:
        """Zero states, one (batch_size, units) array per state."""
        dtype = B.dtype(self.dtype)
        return [B.xp().zeros((batch_size, self.units), dtype=dtype)] * self._state_count

    def compute_output_shape(self, input_shape):
        out = (input_shape[0], self.units)
        return [out, [out] * self._state_count]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for name in _SEQUENCE_OPTIONS:
            config.pop(name, None)
        return config


class SimpleRNNCell(_Cell, SimpleRNN):
    """One step of :class:`~xpnet.layers.SimpleRNN` (same arguments but the sequence
    options, same weights). ``cell(x_t, [h]) -> (h_new, [h_new])``.

    >>> import numpy as np, xpnet as xn
    >>> cell = xn.layers.SimpleRNNCell(4)
    >>> out, (h,) = cell(np.ones((2, 3), dtype="float32"))
    >>> out.shape, cell.state_size
    ((2, 4), 4)
    """


class LSTMCell(_Cell, LSTM):
    """One step of :class:`~xpnet.layers.LSTM`: ``cell(x_t, [h, c]) -> (h_new, [h_new, c_new])``.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.RNN(xn.layers.LSTMCell(4))(np.ones((2, 5, 3), dtype="float32")).shape
    (2, 4)
    """


class GRUCell(_Cell, GRU):
    """One step of :class:`~xpnet.layers.GRU` (``reset_after`` as there):
    ``cell(x_t, [h]) -> (h_new, [h_new])``."""


def _sizes(state_size) -> list[int]:
    if isinstance(state_size, (list, tuple)):
        return [int(s) for s in state_size]
    return [int(state_size)]


def _output_size(cell) -> int:
    size = getattr(cell, "output_size", None)
    return int(size) if size is not None else _sizes(cell.state_size)[0]


class StackedRNNCells(Layer):
    """Several cells as one: each step runs them in order, each cell's output the next
    one's input. ``state_size`` lists every cell's states in order (flat), and so do the
    states it takes and returns.

    >>> import numpy as np, xpnet as xn
    >>> cells = [xn.layers.LSTMCell(4), xn.layers.GRUCell(2)]
    >>> xn.layers.RNN(cells)(np.ones((2, 5, 3), dtype="float32")).shape
    (2, 2)
    """

    def __init__(self, cells: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cells = [deserialize_layer(c) for c in cells]
        for cell in self.cells:
            if not hasattr(cell, "state_size") or not hasattr(cell, "call"):
                raise ValueError(
                    "StackedRNNCells: every cell needs a state_size and a call(inputs, states); "
                    f"received {cell!r}."
                )

    @property
    def state_size(self) -> list[int]:
        return [s for cell in self.cells for s in _sizes(cell.state_size)]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def build(self, input_shape) -> None:
        shape = (input_shape[0], input_shape[-1])
        for cell in self.cells:
            if isinstance(cell, Layer) and not cell.built:
                cell._build_checked(shape)
            shape = (shape[0], _output_size(cell))

    def call(self, inputs, states=None, training=None):
        if states is None:
            states = _zero_states(self, inputs)
        states, new, out = list(states), [], inputs
        for cell in self.cells:
            k = len(_sizes(cell.state_size))
            out, got = cell(out, states[:k], training=training)
            states = states[k:]
            new.extend(got if isinstance(got, (list, tuple)) else [got])
        return out, new

    def compute_output_shape(self, input_shape):
        out = (input_shape[0], self.output_size)
        return [out, [(input_shape[0], s) for s in self.state_size]]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["cells"] = [serialize_layer(c) for c in self.cells]
        return config


def _zero_states(cell, x) -> list:
    device = B.device_of(x.data)
    return [
        Tensor._make(x.xp.zeros((x.shape[0], s), dtype=x.dtype, device=device), None)
        for s in _sizes(cell.state_size)
    ]


class RNN(Layer):
    """Run a cell over the time axis of ``(batch, timesteps, features)`` inputs.

    Args:
        cell: a cell (SimpleRNNCell, LSTMCell, GRUCell, a Layer of yours with
            ``state_size`` and ``call(inputs, states)``), or a list of cells (stacked).
        return_sequences, return_state, go_backwards, stateful, unroll: as in
            :class:`~xpnet.layers.SimpleRNN`.
        zero_output_for_mask: masked steps output zeros instead of the last output
            (with ``return_sequences``).

    Call arguments: ``inputs``, ``initial_state`` (a list of the cell's states),
    ``mask`` (batch, timesteps), ``training``. Masked steps keep the previous states.

    With one of the built-in cells this runs the matching layer's sequence code,
    so ``RNN(GRUCell(u))`` and ``GRU(u)`` give the same outputs from the same weights.

    >>> import numpy as np, xpnet as xn
    >>> rnn = xn.layers.RNN(xn.layers.GRUCell(3), return_sequences=True)
    >>> rnn(np.ones((2, 5, 4), dtype="float32")).shape
    (2, 5, 3)
    """

    def __init__(
        self,
        cell: Any,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        zero_output_for_mask: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        cell = deserialize_layer(cell) if isinstance(cell, dict) else cell
        if not hasattr(cell, "state_size") or not callable(getattr(cell, "call", None)):
            raise ValueError(
                "RNN: expected a cell with a state_size attribute and a call(inputs, states) "
                f"method (e.g. xn.layers.LSTMCell(units)); received {cell!r}."
            )
        self.cell = cell
        for name, value in (
            ("return_sequences", return_sequences),
            ("return_state", return_state),
            ("go_backwards", go_backwards),
            ("stateful", stateful),
            ("unroll", unroll),  # accepted for Keras compatibility; the loop is the same
            ("zero_output_for_mask", zero_output_for_mask),
        ):
            setattr(self, name, _checks.boolean("RNN", name, value))
        self.input_spec = InputSpec(ndim=3)
        self._states: list | None = None

    @property
    def state_size(self):
        return self.cell.state_size

    def build(self, input_shape) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"RNN layer '{self.name}' expected inputs (batch, timesteps, features) with "
                f"known features; got shape {tuple(input_shape)}."
            )
        if isinstance(self.cell, Layer) and not self.cell.built:
            self.cell._build_checked((input_shape[0], input_shape[-1]))

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if isinstance(self.cell, _RNN) and not self.zero_output_for_mask:
            return self.cell._sequence(self, inputs, initial_state, mask, training)
        return self._loop(inputs, initial_state, mask, training)

    def _loop(self, inputs, initial_state, mask, training):
        mask = _mask.resolve(inputs, mask)
        x = inputs
        if self.go_backwards:
            x = rnn_ops.flip(x, axis=1)
            mask = None if mask is None else x.xp.flip(mask, axis=1)
        if initial_state is not None:
            given = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
            states = [s if isinstance(s, Tensor) else Tensor(s) for s in given]
            if len(states) != len(_sizes(self.cell.state_size)):
                raise ValueError(
                    f"RNN layer '{self.name}' expects {len(_sizes(self.cell.state_size))} "
                    f"initial state(s), got {len(states)}."
                )
        elif self.stateful and self._states is not None:
            states = [Tensor._make(s, None) for s in self._states]
        else:
            states = _zero_states(self.cell, x)
        outs, prev = [], None
        for t in range(x.shape[1]):
            out, new = self.cell(x[:, t, :], list(states), training=training)
            new = list(new) if isinstance(new, (list, tuple)) else [new]
            if mask is not None:
                m = mask[:, t : t + 1]
                new = [ops.where(m, a, b) for a, b in zip(new, states)]
                if prev is None:
                    prev = out * 0.0
                out = ops.where(m, out, out * 0.0 if self.zero_output_for_mask else prev)
            states, prev = new, out
            outs.append(out)
        if self.stateful:
            self._states = [s.data for s in states]
        out = ops.stack(outs, axis=1) if self.return_sequences else outs[-1]
        if self.return_sequences:
            if self.go_backwards and mask is not None:
                mask = x.xp.flip(mask, axis=1)
            _mask.set_mask(out, mask)
        return [out, *states] if self.return_state else out

    def reset_states(self, states=None) -> None:
        """Forget the states kept by a ``stateful`` RNN (or set them to ``states``)."""
        self._states = None if states is None else [B.asarray(s) for s in states]

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        size = _output_size(self.cell)
        out = (batch, steps, size) if self.return_sequences else (batch, size)
        if self.return_state:
            return [out] + [(batch, s) for s in _sizes(self.cell.state_size)]
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            cell=serialize_layer(self.cell),
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        return config
