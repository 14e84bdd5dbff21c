"""Recurrent layers: SimpleRNN, LSTM, GRU, with Keras's arguments and weight layouts.

Inputs are ``(batch, timesteps, features)``. The input projection of every step
is one GEMM (``x @ kernel + bias``); the recurrence runs as one fused node from
:mod:`xpnet.ops.rnn` when the activations are the standard ones (tanh / sigmoid;
SimpleRNN also relu and linear), and as a loop of ops otherwise.

Weights and gate layouts (``u`` = units, ``D`` = input features):

==========  ====================  ==================  ==========================
layer       kernel                recurrent_kernel    bias
==========  ====================  ==================  ==========================
SimpleRNN   (D, u)                (u, u)              (u,)
LSTM        (D, 4u), [i, f, c, o] (u, 4u)             (4u,)
GRU         (D, 3u), [z, r, h]    (u, 3u)             (2, 3u): input, recurrent
                                                      ((3u,) if reset_after=False)
==========  ====================  ==================  ==========================

PyTorch's ``nn.RNN/LSTM/GRU`` store ``weight_ih (G*u, D) = kernel.T`` and
``weight_hh (G*u, u) = recurrent_kernel.T`` with two biases; LSTM gates have
the same order ``[i, f, g, o]``, GRU's are ``[r, z, n]`` (Keras's blocks 1, 0, 2)
and PyTorch's GRU is Keras's ``reset_after=True``. :func:`to_torch_weights` and
:func:`from_torch_weights` do the conversion both ways.
"""

from __future__ import annotations

from typing import Any

from xpnet import _checks, activations, constraints, initializers, ops, regularizers
from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.layers import _mask
from xpnet.layers.base import InputSpec, Layer, weight_options_config
from xpnet.layers.core import positive_int
from xpnet.ops import rnn as rnn_ops
from xpnet.tensor import Tensor

__all__ = ["GRU", "LSTM", "SimpleRNN", "from_torch_weights", "to_torch_weights"]


def _rate(layer: str, name: str, value: Any) -> float:
    return _checks.in_range(layer, name, value, 0.0, 1.0, high_closed=False)


def _dropout_mask(shape, rate: float, like, generator=None) -> Any:
    """A 0 / (1 / (1 - rate)) mask, one per sample and feature, reused at every step."""
    keep = B.bernoulli(shape, 1.0 - rate, dtype=like.dtype, like=like, generator=generator)
    return keep * (1.0 / (1.0 - rate))


class _RNN(Layer):
    """The loop, states, masks, dropout and options every recurrent layer shares."""

    _gates = 1
    _state_count = 1

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        stateful: bool = False,
        unroll: bool = False,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        who = type(self).__name__
        self.units = positive_int(who, "units", units)
        self.activation = activations.get(activation)
        self.use_bias = _checks.boolean(type(self).__name__, "use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _rate(who, "dropout", dropout)
        self.recurrent_dropout = _rate(who, "recurrent_dropout", recurrent_dropout)
        self.return_sequences = _checks.boolean(
            type(self).__name__, "return_sequences", return_sequences
        )
        self.return_state = _checks.boolean(type(self).__name__, "return_state", return_state)
        self.go_backwards = _checks.boolean(type(self).__name__, "go_backwards", go_backwards)
        self.stateful = _checks.boolean(type(self).__name__, "stateful", stateful)
        self.unroll = _checks.boolean(
            type(self).__name__, "unroll", unroll
        )  # accepted for Keras compatibility; the loop is the same
        self.seed = seed
        self._generator = None if seed is None else B.SeedGenerator(seed)
        self.input_spec = InputSpec(ndim=3)
        self._states: list | None = None

    # ------------------------------------------------------------------ weights
    def build(self, input_shape) -> None:
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expected inputs (batch, timesteps, "
                f"features) with known features; got shape {tuple(input_shape)}."
            )
        dim, width = int(input_shape[-1]), self._gates * self.units
        self.kernel = self.add_weight(
            "kernel", (dim, width), self.kernel_initializer, self.kernel_regularizer,
            self.kernel_constraint,
        )  # fmt: skip
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", (self.units, width), self.recurrent_initializer,
            self.recurrent_regularizer, self.recurrent_constraint,
        )  # fmt: skip
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", self._bias_shape(), self._bias_init(), self.bias_regularizer,
                self.bias_constraint,
            )  # fmt: skip
        self.input_spec = InputSpec(ndim=3, axes={-1: dim})

    def _bias_shape(self) -> tuple[int, ...]:
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _input_bias(self):
        return self.bias

    # ------------------------------------------------------------------ calling
    def call(self, inputs, initial_state=None, mask=None, training=None):
        return self._sequence(self, inputs, initial_state, mask, training)

    def _sequence(self, owner, inputs, initial_state, mask, training):
        """Run over a whole sequence: ``self`` holds the weights and the step's math,
        ``owner`` the sequence options (return_sequences, return_state, go_backwards,
        stateful and its kept states): the layer itself, or the :class:`~xpnet.layers.RNN`
        wrapping this layer's cell."""
        mask = _mask.resolve(inputs, mask)
        x = inputs
        if len(x.shape) != 3 or x.shape[1] == 0:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expected inputs of shape (batch, "
                f"timesteps >= 1, features); received shape {tuple(x.shape)}."
            )
        if owner.go_backwards:
            x = rnn_ops.flip(x, axis=1)
            mask = None if mask is None else x.xp.flip(mask, axis=1)
        n = x.shape[0]
        if training and self.dropout:
            x = x * _dropout_mask((n, 1, x.shape[2]), self.dropout, x.data, self._generator)
        rmask = None
        if training and self.recurrent_dropout:
            rmask = _dropout_mask((n, self.units), self.recurrent_dropout, x.data, self._generator)
        states = self._initial_states(n, x, initial_state, owner)
        xw = ops.linear(x, self.kernel, self._input_bias())
        seq, finals = self._run(xw, states, mask, rmask)
        if owner.stateful:
            owner._states = [s.data for s in finals]
        out = seq if owner.return_sequences else finals[0]
        if owner.return_sequences:
            if owner.go_backwards and mask is not None:
                mask = x.xp.flip(mask, axis=1)
            _mask.set_mask(out, mask)
        return [out, *finals] if owner.return_state else out

    def _initial_states(self, n: int, x: Tensor, initial_state, owner=None) -> list:
        owner = self if owner is None else owner
        if initial_state is not None:
            states = (
                list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            )
            if len(states) != self._state_count:
                raise ValueError(
                    f"{type(self).__name__} layer '{self.name}' expects {self._state_count} "
                    f"initial state(s), got {len(states)}."
                )
            return [s if isinstance(s, Tensor) else Tensor(s) for s in states]
        if owner.stateful and owner._states is not None:
            return [Tensor._make(s, None) for s in owner._states]
        xp = x.xp
        zeros = xp.zeros((n, self.units), dtype=x.dtype, device=B.device_of(x.data))
        return [Tensor._make(zeros, None) for _ in range(self._state_count)]

    def reset_states(self, states=None) -> None:
        """Forget the states kept by a ``stateful`` layer (or set them to ``states``)."""
        self._states = None if states is None else [B.asarray(s) for s in states]

    def _run(self, xw, states, mask, rmask):
        """(sequence of outputs (N, T, units), [final states])."""
        if self._fused():
            return self._run_fused(xw, states, mask, rmask)
        outs, steps = [], xw.shape[1]
        for t in range(steps):
            new = self._step(xw[:, t, :], states, rmask)
            if mask is not None:
                m = mask[:, t : t + 1]
                new = [ops.where(m, a, b) for a, b in zip(new, states)]
            states = new
            outs.append(states[0])
        return ops.stack(outs, axis=1), states

    def compute_output_shape(self, input_shape):
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * self._state_count
        return out

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            **weight_options_config(self, "kernel", "recurrent", "bias"),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
            unroll=self.unroll,
            seed=self.seed,
        )
        return config


def _recurrent_input(h, rmask):
    return h if rmask is None else h * rmask


class SimpleRNN(_RNN):
    """Fully connected recurrence: ``h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel
    + bias)``.

    Args:
        units: size of the state.
        activation: default "tanh" (fused for tanh, relu and linear).
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer
        ("orthogonal"), bias_initializer ("zeros"), regularizers and constraints of the
        three weights.
        dropout: fraction of input features dropped in training (one mask per sequence).
        recurrent_dropout: fraction of the state dropped before the recurrent matmul.
        seed: seeds this layer's own dropout stream (default: the global one).
        return_sequences: return every h_t (batch, timesteps, units) instead of the last.
        return_state: also return the final state: ``[output, h]``.
        go_backwards: process the sequence in reverse (outputs come in that order).
        stateful: start each call from the previous call's final state.
        unroll: accepted as in Keras (the loop is the same).

    Call arguments: ``inputs`` (batch, timesteps, features); ``initial_state``;
    ``mask`` (batch, timesteps) booleans (masked steps keep the previous state; by
    default the mask an ``Embedding(mask_zero=True)`` attached); ``training``.

    >>> import numpy as np, xpnet as xn
    >>> rnn = xn.layers.SimpleRNN(4, return_sequences=True)
    >>> rnn(np.ones((2, 5, 3), dtype="float32")).shape
    (2, 5, 4)
    """

    _FUSED = ("tanh", "relu", "linear")

    def _fused(self) -> bool:
        return activations.serialize(self.activation) in self._FUSED

    def _run_fused(self, xw, states, mask, rmask):
        seq = rnn_ops.SimpleRNNSequence.apply(
            xw,
            self.recurrent_kernel,
            states[0],
            activation=activations.serialize(self.activation),
            mask=mask,
            rmask=rmask,
        )
        return seq, [seq[:, -1, :]]

    def _step(self, xw_t, states, rmask):
        h = _recurrent_input(states[0], rmask)
        return [self.activation(xw_t + ops.matmul(h, self.recurrent_kernel))]


class LSTM(_RNN):
    """Long short-term memory (Hochreiter & Schmidhuber 1997), gates ``[i, f, c, o]``.

    ``z = x_t @ kernel + h_{t-1} @ recurrent_kernel + bias``;
    ``i, f, o = recurrent_activation(z_i, z_f, z_o)``; ``g = activation(z_c)``;
    ``c_t = f * c_{t-1} + i * g``; ``h_t = o * activation(c_t)``.

    Args:
        units, activation ("tanh"), recurrent_activation ("sigmoid"), use_bias, the
        initializers / regularizers / constraints, dropout, recurrent_dropout,
        return_sequences, return_state (``[output, h, c]``), go_backwards, stateful,
        unroll, seed: as in SimpleRNN.
        unit_forget_bias: start the forget-gate bias at 1 (Jozefowicz et al. 2015).
        use_cudnn: accepted as in Keras (there is no cuDNN path).

    >>> import numpy as np, xpnet as xn
    >>> lstm = xn.layers.LSTM(8, return_state=True)
    >>> out, h, c = lstm(np.ones((2, 5, 3), dtype="float32"))
    >>> out.shape, c.shape, lstm.kernel.shape
    ((2, 8), (2, 8), (3, 32))
    """

    _gates = 4
    _state_count = 2

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        *args: Any,
        unit_forget_bias: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(units, activation, *args, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = _checks.boolean(
            type(self).__name__, "unit_forget_bias", unit_forget_bias
        )
        self.use_cudnn = use_cudnn

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def init(shape, dtype=None):
            xp = B.xp()
            ones = initializers.get("ones")((u,), dtype)
            return xp.concat([base((u,), dtype), ones, base((2 * u,), dtype)])

        return init

    def _fused(self) -> bool:
        return (
            self.activation is activations.tanh and self.recurrent_activation is activations.sigmoid
        )

    def _run_fused(self, xw, states, mask, rmask):
        hc = rnn_ops.LSTMSequence.apply(
            xw, self.recurrent_kernel, states[0], states[1], mask=mask, rmask=rmask
        )
        u = self.units
        return hc[:, :, :u], [hc[:, -1, :u], hc[:, -1, u:]]

    def _step(self, xw_t, states, rmask):
        h, c = states
        u = self.units
        z = xw_t + ops.matmul(_recurrent_input(h, rmask), self.recurrent_kernel)
        i = self.recurrent_activation(z[:, :u])
        f = self.recurrent_activation(z[:, u : 2 * u])
        g = self.activation(z[:, 2 * u : 3 * u])
        o = self.recurrent_activation(z[:, 3 * u :])
        c = f * c + i * g
        return [o * self.activation(c), c]

    def get_config(self):
        config = super().get_config()
        config.update(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            unit_forget_bias=self.unit_forget_bias,
            use_cudnn=self.use_cudnn,
        )
        return config


class GRU(_RNN):
    """Gated recurrent unit (Cho et al. 2014), gates ``[z, r, h]``.

    With ``reset_after=True`` (the Keras 3 default, and PyTorch's GRU):
    ``hu = h_{t-1} @ recurrent_kernel + bias[1]``, ``xw = x_t @ kernel + bias[0]``;
    ``z = recurrent_activation(xw_z + hu_z)``, ``r = recurrent_activation(xw_r + hu_r)``;
    ``n = activation(xw_h + r * hu_h)``; ``h_t = z * h_{t-1} + (1 - z) * n``.
    With ``reset_after=False`` the reset gate multiplies the state before its matmul:
    ``n = activation(xw_h + (r * h_{t-1}) @ recurrent_kernel_h)`` and the bias is (3u,).

    Args:
        units, activation ("tanh"), recurrent_activation ("sigmoid"), use_bias, the
        initializers / regularizers / constraints, dropout, recurrent_dropout,
        return_sequences, return_state (``[output, h]``), go_backwards, stateful,
        unroll, seed: as in SimpleRNN.
        reset_after: see above (default True).
        use_cudnn: accepted as in Keras.

    >>> import numpy as np, xpnet as xn
    >>> gru = xn.layers.GRU(4)
    >>> gru(np.ones((2, 5, 3), dtype="float32")).shape, None
    ((2, 4), None)
    >>> gru.bias.shape
    (2, 12)
    """

    _gates = 3

    def __init__(
        self,
        units: int,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        *args: Any,
        reset_after: bool = True,
        use_cudnn: Any = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(units, activation, *args, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = _checks.boolean(type(self).__name__, "reset_after", reset_after)
        self.use_cudnn = use_cudnn

    def _bias_shape(self):
        width = 3 * self.units
        return (2, width) if self.reset_after else (width,)

    def _input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def _recurrent_bias(self):
        if self.bias is None or not self.reset_after:
            return None
        return self.bias[1]

    def _fused(self) -> bool:
        return (
            self.reset_after
            and self.activation is activations.tanh
            and self.recurrent_activation is activations.sigmoid
        )

    def _run_fused(self, xw, states, mask, rmask):
        seq = rnn_ops.GRUSequence.apply(
            xw, self.recurrent_kernel, self._recurrent_bias(), states[0], mask=mask, rmask=rmask
        )
        return seq, [seq[:, -1, :]]

    def _step(self, xw_t, states, rmask):
        (h,) = states
        u = self.units
        hd = _recurrent_input(h, rmask)
        if self.reset_after:
            hu = ops.matmul(hd, self.recurrent_kernel)
            rb = self._recurrent_bias()
            if rb is not None:
                hu = hu + rb
            z = self.recurrent_activation(xw_t[:, :u] + hu[:, :u])
            r = self.recurrent_activation(xw_t[:, u : 2 * u] + hu[:, u : 2 * u])
            n = self.activation(xw_t[:, 2 * u :] + r * hu[:, 2 * u :])
        else:
            hu = ops.matmul(hd, self.recurrent_kernel[:, : 2 * u])
            z = self.recurrent_activation(xw_t[:, :u] + hu[:, :u])
            r = self.recurrent_activation(xw_t[:, u : 2 * u] + hu[:, u:])
            n = self.activation(
                xw_t[:, 2 * u :] + ops.matmul(r * hd, self.recurrent_kernel[:, 2 * u :])
            )
        return [z * h + (1.0 - z) * n]

    def get_config(self):
        config = super().get_config()
        config.update(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            reset_after=self.reset_after,
            use_cudnn=self.use_cudnn,
        )
        return config


# --------------------------------------------------------------------------- PyTorch mapping

_GRU_TO_TORCH = (1, 0, 2)  # PyTorch's [r, z, n] are Keras's blocks [1, 0, 2]


def _blocks(a, order, units: int):
    return np.concatenate([a[..., k * units : (k + 1) * units] for k in order], axis=-1)


def to_torch_weights(layer: _RNN, suffix: str = "_l0") -> dict[str, Any]:
    """The layer's weights as PyTorch ``nn.RNN/LSTM/GRU`` parameters (NumPy arrays).

    Keys: ``weight_ih{suffix}``, ``weight_hh{suffix}``, ``bias_ih{suffix}``,
    ``bias_hh{suffix}`` (suffix ``"_l0_reverse"`` for the backward half of a
    bidirectional PyTorch layer). Keras's single LSTM / SimpleRNN bias becomes
    ``bias_ih`` with ``bias_hh = 0``. A GRU must have ``reset_after=True``.

    >>> import numpy as np, xpnet as xn
    >>> lstm = xn.layers.LSTM(2)
    >>> _ = lstm(np.ones((1, 3, 5), dtype="float32"))
    >>> {k: v.shape for k, v in to_torch_weights(lstm).items()}["weight_ih_l0"]
    (8, 5)
    """
    _check_mappable(layer)
    kernel = B.to_numpy(layer.kernel.data)
    rec = B.to_numpy(layer.recurrent_kernel.data)
    u = layer.units
    width = kernel.shape[1]
    if layer.bias is None:
        b_ih = b_hh = np.zeros(width, kernel.dtype)
    elif isinstance(layer, GRU):
        b_ih, b_hh = B.to_numpy(layer.bias.data)
    else:
        b_ih, b_hh = B.to_numpy(layer.bias.data), np.zeros(width, kernel.dtype)
    if isinstance(layer, GRU):
        kernel, rec = _blocks(kernel, _GRU_TO_TORCH, u), _blocks(rec, _GRU_TO_TORCH, u)
        b_ih, b_hh = _blocks(b_ih, _GRU_TO_TORCH, u), _blocks(b_hh, _GRU_TO_TORCH, u)
    return {
        f"weight_ih{suffix}": np.ascontiguousarray(kernel.T),
        f"weight_hh{suffix}": np.ascontiguousarray(rec.T),
        f"bias_ih{suffix}": np.asarray(b_ih),
        f"bias_hh{suffix}": np.asarray(b_hh),
    }


def from_torch_weights(layer: _RNN, state: dict[str, Any], suffix: str = "_l0") -> None:
    """Set the layer's weights from PyTorch parameters (arrays or tensors), building it
    if needed. For SimpleRNN and LSTM the two PyTorch biases are summed."""
    _check_mappable(layer)

    def get(name):
        v = state[f"{name}{suffix}"]
        return v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)

    w_ih, w_hh = get("weight_ih"), get("weight_hh")
    if not layer.built:
        layer._build_checked((None, None, w_ih.shape[1]))
    kernel, rec = w_ih.T, w_hh.T
    names = [f"bias_ih{suffix}", f"bias_hh{suffix}"]
    has_bias = all(n in state for n in names)
    b_ih = get("bias_ih") if has_bias else np.zeros(kernel.shape[1], kernel.dtype)
    b_hh = get("bias_hh") if has_bias else np.zeros(kernel.shape[1], kernel.dtype)
    if isinstance(layer, GRU):
        back = tuple(np.argsort(_GRU_TO_TORCH))
        u = layer.units
        kernel, rec = _blocks(kernel, back, u), _blocks(rec, back, u)
        bias = np.stack([_blocks(b_ih, back, u), _blocks(b_hh, back, u)])
    else:
        bias = b_ih + b_hh
    weights = [kernel, rec] + ([bias] if layer.use_bias else [])
    layer.set_weights(weights)


def _check_mappable(layer) -> None:
    if not isinstance(layer, (SimpleRNN, LSTM, GRU)):
        raise TypeError(f"expected a SimpleRNN, LSTM or GRU layer; got {type(layer).__name__}.")
    if isinstance(layer, GRU) and not layer.reset_after:
        raise ValueError(
            "A GRU with reset_after=False has no PyTorch equivalent (PyTorch's GRU applies "
            "the reset gate after the recurrent matmul, as reset_after=True)."
        )
