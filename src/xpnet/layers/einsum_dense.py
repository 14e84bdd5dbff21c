"""``EinsumDense``: a dense layer whose kernel contracts with the input by an einsum
equation, as Keras 3's (``"abc,cde->abde"``: features to heads x head size)."""

from __future__ import annotations

import math
import re
from typing import Any

from xpnet import activations, constraints, initializers, ops, regularizers
from xpnet import backend as B
from xpnet.layers.base import Layer, weight_options_config

__all__ = ["EinsumDense"]

_EQUATION = re.compile(r"^(\.\.\.)?([a-zA-Z]+),([a-zA-Z]+)->(\.\.\.)?([a-zA-Z]+)$")


class AsMatrix:
    """An initializer drawn as a (fan_in, fan_out) matrix, then reshaped to the kernel.

    Keras's EinsumDense tells its VarianceScaling initializer which kernel axes are
    inputs and which are outputs, so the fans are (product of input axes, product of
    output axes), not a convolution's; the entries are drawn independently, so drawing
    that matrix and reshaping it gives the same distribution.
    """

    def __init__(self, init: Any, fans: tuple[int, int]) -> None:
        self.init, self.fans = init, fans

    def __call__(self, shape, dtype=None):
        flat = self.init(self.fans, dtype)
        return B.namespace(flat).reshape(flat, tuple(shape))


class EinsumDense(Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``.

    Args:
        equation: ``"<input>,<kernel>-><output>"`` with one letter per axis, e.g.
            ``"ab,bc->ac"`` (Dense) or ``"abc,cde->abde"``; a leading ``...`` on the
            input and output stands for the leading axes.
        output_shape: the output's shape without the batch axis (an int for one
            axis); None for axes taken from the input.
        activation, kernel_*/bias_*: as for Dense.
        bias_axes: the output letters that get a bias (None: no bias).
    """

    def __init__(
        self,
        equation: str,
        output_shape: Any,
        activation: Any = None,
        bias_axes: str | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        match = _EQUATION.match(str(equation).replace(" ", ""))
        if match is None or bool(match.group(1)) != bool(match.group(4)):
            raise ValueError(
                f"EinsumDense: expected an equation like 'ab,bc->ac' or '...b,bc->...c' (an "
                f"ellipsis, if any, leading both input and output); received {equation!r}."
            )
        self.equation = str(equation)
        self._elided = bool(match.group(1))
        self._in, self._w, self._out = match.group(2), match.group(3), match.group(5)
        for c in self._w:
            if c not in self._in and c not in self._out:
                raise ValueError(
                    f"EinsumDense: kernel axis {c!r} of {equation!r} is in neither the input "
                    "nor the output."
                )
        for c in self._out:
            if c not in self._in and c not in self._w:
                raise ValueError(
                    f"EinsumDense: output axis {c!r} of {equation!r} comes from neither the "
                    "input nor the kernel."
                )
        if bias_axes is not None and any(c not in self._out for c in bias_axes):
            raise ValueError(
                f"EinsumDense: bias_axes={bias_axes!r} must be letters of the output {self._out!r}."
            )
        self.partial_output_shape = (
            [output_shape] if isinstance(output_shape, int) else list(output_shape)
        )
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def _shapes(self, input_shape):
        input_shape = tuple(input_shape)
        elided = len(input_shape) - len(self._in)
        if (elided != 0 and not self._elided) or elided < 0:
            raise ValueError(
                f"EinsumDense layer '{self.name}': the equation {self.equation!r} expects inputs "
                f"of rank {len(self._in)}{' or more' if self._elided else ''}; got shape "
                f"{input_shape}."
            )
        # the full output shape: the batch axis, the elided axes, then the given ones
        if self._elided:
            out = [input_shape[0], *input_shape[1:elided], *self.partial_output_shape]
        else:
            out = [input_shape[0], *self.partial_output_shape]
        if len(out) - len(self._out) != (elided if self._elided else 0):
            raise ValueError(
                f"EinsumDense layer '{self.name}': output_shape={self.partial_output_shape} "
                f"does not fit the output {self._out!r} of {self.equation!r} (give every "
                "output axis but the batch)."
            )
        in_dim = {c: input_shape[elided + i] for i, c in enumerate(self._in)}
        offset = len(out) - len(self._out)
        out_dim = {c: out[offset + i] for i, c in enumerate(self._out)}
        for c, size in out_dim.items():
            if c in in_dim and size is not None and size != in_dim[c]:
                raise ValueError(
                    f"EinsumDense layer '{self.name}': output axis {c!r} has size {size} but "
                    f"the input's has {in_dim[c]}."
                )
        kernel, in_axes, out_axes = [], [], []
        for i, c in enumerate(self._w):
            if c in out_dim:
                size = out_dim[c] if out_dim[c] is not None else in_dim.get(c)
                out_axes.append(i)
            else:
                size = in_dim[c]
                in_axes.append(i)
            if size is None:
                raise ValueError(
                    f"EinsumDense layer '{self.name}': the size of kernel axis {c!r} is "
                    "unknown; give it in output_shape."
                )
            kernel.append(int(size))
        bias = None
        if self.bias_axes:
            first = min(self._out.index(c) for c in self.bias_axes)
            bias = [
                int(out_dim[c] if out_dim[c] is not None else in_dim[c])
                if c in self.bias_axes
                else 1
                for c in self._out[first:]
            ]
        return kernel, bias, in_axes, out_axes

    def build(self, input_shape) -> None:
        kernel, bias, in_axes, out_axes = self._shapes(input_shape)
        fans = (
            math.prod(kernel[i] for i in in_axes),
            math.prod(kernel[i] for i in out_axes),
        )
        self.kernel = self.add_weight(
            "kernel", kernel, AsMatrix(self.kernel_initializer, fans),
            self.kernel_regularizer, self.kernel_constraint,
        )  # fmt: skip
        self.bias = None
        if bias is not None:
            self.bias = self.add_weight(
                "bias", bias, self.bias_initializer, self.bias_regularizer, self.bias_constraint
            )

    def call(self, inputs):
        dots = "..." if self._elided else ""
        y = ops.einsum(f"{dots}{self._in},{self._w}->{dots}{self._out}", inputs, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y

    def get_config(self):
        config = super().get_config()
        config.update(
            equation=self.equation,
            output_shape=list(self.partial_output_shape),
            activation=activations.serialize(self.activation),
            bias_axes=self.bias_axes,
            **weight_options_config(self, "kernel", "bias"),
        )
        return config
