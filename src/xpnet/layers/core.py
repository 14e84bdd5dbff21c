"""Core layers: Dense and Identity."""

from __future__ import annotations

from typing import Any

from xpnet import _checks, activations, constraints, initializers, ops, regularizers
from xpnet._checks import positive_int
from xpnet.layers.base import InputSpec, Layer, weight_options_config

__all__ = ["Dense", "Identity"]


class Dense(Layer):
    """Fully connected layer: ``activation(inputs @ kernel + bias)``.

    The kernel has shape ``(input_dim, units)``; inputs of rank > 2 are
    multiplied along their last axis.

    Args:
        units: output size.
        activation: name or callable (None: linear).
        use_bias: add a bias vector.
        kernel_initializer, bias_initializer: Keras defaults ``"glorot_uniform"`` and ``"zeros"``.
        kernel_regularizer, bias_regularizer: penalties added to the model's loss.
        kernel_constraint, bias_constraint: projections applied after each update.

    >>> import xpnet as xn
    >>> layer = xn.layers.Dense(3, activation="relu")
    >>> layer(xn.Tensor([[1.0, 2.0]])).shape
    (1, 3)
    >>> layer.kernel.shape, layer.bias.shape
    ((2, 3), (3,))
    """

    supports_masking = True

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = positive_int("Dense", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = _checks.boolean(type(self).__name__, "use_bias", use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape) -> None:
        if len(input_shape) < 1 or input_shape[-1] is None:
            raise ValueError(
                f"Dense layer '{self.name}' needs a known last input dimension; "
                f"got input shape {input_shape}."
            )
        in_dim = int(input_shape[-1])
        self.kernel = self.add_weight(
            "kernel",
            (in_dim, self.units),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias",
                (self.units,),
                self.bias_initializer,
                self.bias_regularizer,
                self.bias_constraint,
            )
        self.input_spec = InputSpec(
            min_ndim=2,
            axes={-1: in_dim},
            hint="(Dense multiplies the last axis: did you forget Flatten?)",
        )

    def call(self, inputs):
        if self.activation is activations.relu:  # fused into the Linear node
            return ops.linear(inputs, self.kernel, self.bias, relu=True)
        return self.activation(ops.linear(inputs, self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            **weight_options_config(self, "kernel", "bias"),
        )
        return config


class Identity(Layer):
    """Returns its input unchanged (a placeholder in a model)."""

    supports_masking = True

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
