"""Convolution layers with Keras's names, arguments and weight layouts.

Kernels are channels-last as in Keras: Conv1D ``(k, C/groups, filters)``,
Conv2D ``(kh, kw, C/groups, filters)``, Conv2DTranspose ``(kh, kw, filters, C)``,
DepthwiseConv2D ``(kh, kw, C, depth_multiplier)``. Inputs are channels-last
unless ``data_format="channels_first"``. The numerics live in
:mod:`xpnet.ops.nn` (standard Array API calls only); a ReLU activation is
fused into the convolution node.

To move weights to or from PyTorch: ``torch_weight = kernel.transpose(3, 2, 0, 1)``
for Conv2D (``(F, C/groups, kh, kw)``), ``kernel.transpose(2, 1, 0)`` for Conv1D,
``kernel.transpose(3, 2, 0, 1)`` for Conv2DTranspose (PyTorch's
``(C_in, F, kh, kw)``), and for DepthwiseConv2D
``kernel.reshape(kh, kw, 1, C * m).transpose(3, 2, 0, 1)`` (``groups=C``).
"""

from __future__ import annotations

from typing import Any

from xpnet import _checks, activations, constraints, initializers, ops, regularizers
from xpnet.layers.base import InputSpec, Layer, weight_options_config
from xpnet.layers.core import positive_int
from xpnet.ops import nn as nn_ops

__all__ = [
    "Conv1D",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "Conv3D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
]


# --------------------------------------------------------------------------- argument checks


def normalize_tuple(
    layer: str, name: str, value: Any, rank: int, minimum: int = 1
) -> tuple[int, ...]:
    """An int or ``rank`` ints >= ``minimum``, as a tuple (Keras's standardize_tuple)."""
    values = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = ()
    if len(values) != rank or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in values
    ):
        kind = "positive integer" if minimum == 1 else f"integer >= {minimum}"
        raise ValueError(
            f"{layer}: expected a {kind} or a tuple of {rank} of them for {name}. "
            f"Received: {name}={value!r}"
        )
    return values


def normalize_padding(layer: str, value: Any, allow_causal: bool = False) -> str:
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(
            f"{layer}: expected padding to be one of {allowed}. Received: padding={value!r}"
        )
    return padding


def normalize_data_format(layer: str, value: Any) -> str:
    fmt = "channels_last" if value is None else value
    if fmt not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{layer}: expected data_format 'channels_last' or 'channels_first'. "
            f"Received: data_format={value!r}"
        )
    return fmt


def _check_stride_dilation(layer: str, strides, dilation_rate) -> None:
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(
            f"{layer}: strides > 1 cannot be combined with dilation_rate > 1 (as in Keras). "
            f"Received: strides={strides} and dilation_rate={dilation_rate}"
        )


class _BaseConv(Layer):
    """What every convolution shares: geometry arguments, layout handling, bias, activation."""

    rank = 2

    def __init__(
        self,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation=None,
        use_bias=True,
        bias_initializer="zeros",
        bias_regularizer=None,
        bias_constraint=None,
        allow_causal=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        who, r = type(self).__name__, self.rank
        self.kernel_size = normalize_tuple(who, "kernel_size", kernel_size, r)
        self.strides = normalize_tuple(who, "strides", strides, r)
        self.dilation_rate = normalize_tuple(who, "dilation_rate", dilation_rate, r)
        _check_stride_dilation(who, self.strides, self.dilation_rate)
        self.padding = normalize_padding(who, padding, allow_causal)
        self.data_format = normalize_data_format(who, data_format)
        self.activation = activations.get(activation)
        self.use_bias = _checks.boolean(type(self).__name__, "use_bias", use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)

    # ------------------------------------------------------------------ layout helpers
    @property
    def _channel_axis(self) -> int:
        return 1 if self.data_format == "channels_first" else -1

    def _input_channels(self, input_shape) -> int:
        if len(input_shape) != self.rank + 2:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' expected inputs of rank "
                f"{self.rank + 2} (batch, {'spatial, ' * self.rank}channels), got shape "
                f"{tuple(input_shape)}."
            )
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}' needs a known channel dimension; "
                f"got input shape {tuple(input_shape)}."
            )
        return int(channels)

    def _set_input_spec(self, channels: int) -> None:
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})

    def _to_nhwc(self, x):
        """Inputs as (N, H, W, C); rank-1 inputs get a unit H axis."""
        if self.data_format == "channels_first":
            x = ops.permute(x, (0, *range(2, self.rank + 2), 1))
        return ops.expand_dims(x, 1) if self.rank == 1 else x

    def _from_nhwc(self, y):
        if self.rank == 1:
            y = ops.squeeze(y, 1)
        if self.data_format == "channels_first":
            y = ops.permute(y, (0, self.rank + 1, *range(1, self.rank + 1)))
        return y

    def _as2d(self, values: tuple[int, ...], fill: int = 1) -> tuple[int, int]:
        return (fill, *values) if self.rank == 1 else tuple(values)

    def _spatial(self, input_shape) -> tuple:
        if self.data_format == "channels_first":
            return tuple(input_shape[2:])
        return tuple(input_shape[1:-1])

    def _with_channels(self, batch, spatial, channels) -> tuple:
        if self.data_format == "channels_first":
            return (batch, channels, *spatial)
        return (batch, *spatial, channels)

    def _pads(self, spatial) -> tuple[tuple[int, int], tuple[int, int]]:
        pads = tuple(
            nn_ops.conv_padding(n, k, s, d, self.padding)
            for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate)
        )
        return ((0, 0), *pads) if self.rank == 1 else pads

    def _conv_output_shape(self, input_shape, channels_out) -> tuple:
        out = []
        for n, k, s, d in zip(
            self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate
        ):
            if n is None:
                out.append(None)
                continue
            pads = nn_ops.conv_padding(n, k, s, d, self.padding)
            out.append(nn_ops.conv_output_length(n, k, s, d, pads))
        return self._with_channels(input_shape[0], out, channels_out)

    def _bias_weight(self, size: int) -> None:
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                "bias", (size,), self.bias_initializer, self.bias_regularizer, self.bias_constraint
            )

    def _convolve(self, x, kernel, bias, groups: int = 1):
        """Channels-last conv of ``x`` (rank + 2) with a (kh, kw, C/groups, F) kernel."""
        fused = self.activation is activations.relu
        y = nn_ops.conv2d(
            x,
            kernel,
            bias,
            strides=self._as2d(self.strides),
            padding=self._pads(x.shape[1:-1][-self.rank :]),
            dilation_rate=self._as2d(self.dilation_rate),
            groups=groups,
            relu=fused,
        )
        return y if fused else self.activation(y)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            **weight_options_config(self, "bias"),
        )
        return config


class _Conv(_BaseConv):
    """Conv1D / Conv2D: filters, groups and a kernel of shape (*kernel_size, C/groups, filters)."""

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        groups: int = 1,
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            allow_causal=self.rank == 1,
            **kwargs,
        )
        who = type(self).__name__
        self.filters = positive_int(who, "filters", filters)
        self.groups = positive_int(who, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                f"{who}: filters must be divisible by groups. Received: filters={filters}, "
                f"groups={groups}"
            )
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"{type(self).__name__} layer '{self.name}': the {channels} input channels are "
                f"not divisible by groups={self.groups} (input shape {tuple(input_shape)})."
            )
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, channels // self.groups, self.filters),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self._bias_weight(self.filters)
        self._set_input_spec(channels)

    def call(self, inputs):
        kernel = self.kernel if self.rank == 2 else ops.expand_dims(self.kernel, 0)
        return self._from_nhwc(
            self._convolve(self._to_nhwc(inputs), kernel, self.bias, self.groups)
        )

    def compute_output_shape(self, input_shape):
        return self._conv_output_shape(input_shape, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            groups=self.groups,
            **weight_options_config(self, "kernel"),
        )
        return config


class Conv1D(_Conv):
    """1-D convolution over (batch, steps, channels): ``activation(x ⋆ kernel + bias)``.

    ``y[n, t, f] = b[f] + sum_{i, c} x_pad[n, t*s + i*d, c] * kernel[i, c, f]``.

    Args:
        filters: number of output channels.
        kernel_size: window length (int or 1-tuple).
        strides: step between windows.
        padding: "valid", "same" (output length ceil(steps / strides)) or "causal"
            (left padding only: output t sees inputs up to t).
        data_format: "channels_last" (default) or "channels_first" (batch, channels, steps).
        dilation_rate: spacing between kernel taps.
        groups: split the channels into this many independent convolutions.
        activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
        bias_regularizer, kernel_constraint, bias_constraint: as in Dense.

    >>> import numpy as np, xpnet as xn
    >>> conv = xn.layers.Conv1D(4, 3, padding="causal")
    >>> conv(np.ones((2, 10, 3), dtype="float32")).shape
    (2, 10, 4)
    >>> conv.kernel.shape
    (3, 3, 4)
    """

    rank = 1


class Conv2D(_Conv):
    """2-D convolution over (batch, height, width, channels): ``activation(x ⋆ kernel + bias)``.

    ``y[n, o, q, f] = b[f] + sum_{i, j, c} x_pad[n, o*sh + i*dh, q*sw + j*dw, c]
    * kernel[i, j, c, f]`` (a cross-correlation, as in Keras and PyTorch).

    Args:
        filters: number of output channels.
        kernel_size: an int or (kh, kw).
        strides: an int or (sh, sw); strides > 1 cannot be combined with dilation.
        padding: "valid" (no padding) or "same" (output size ceil(size / stride); an odd
            total padding puts the extra row/column at the bottom/right, as Keras).
        data_format: "channels_last" (default) or "channels_first".
        dilation_rate: an int or (dh, dw).
        groups: split channels into groups convolved independently (C and filters must
            be divisible by it).
        activation: applied to the output ("relu" is fused into the convolution).
        use_bias, kernel_initializer ("glorot_uniform"), bias_initializer ("zeros"),
        kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint.

    >>> import numpy as np, xpnet as xn
    >>> conv = xn.layers.Conv2D(8, 3, activation="relu")
    >>> conv(np.ones((2, 28, 28, 1), dtype="float32")).shape
    (2, 26, 26, 8)
    >>> conv.kernel.shape, conv.bias.shape
    ((3, 3, 1, 8), (8,))
    """

    rank = 2


class Conv3D(_Conv):
    """3-D convolution over (batch, depth, height, width, channels), on the 2-D one.

    ``y[n, e, o, q, f] = b[f] + sum_{k, i, j, c} x_pad[n, e*sd + k*dd, o*sh + i*dh,
    q*sw + j*dw, c] * kernel[k, i, j, c, f]``. The depth taps are gathered into the
    channel axis (each output depth sees its ``kd`` input slices side by side) and one
    2-D convolution of a (kh, kw, kd * C/groups, filters) kernel does the rest, so the
    gradients are the 2-D convolution's.

    Args: as Conv2D, with 3-tuples for kernel_size, strides and dilation_rate.

    >>> import numpy as np, xpnet as xn
    >>> conv = xn.layers.Conv3D(4, 3, padding="same")
    >>> conv(np.ones((2, 5, 6, 7, 2), dtype="float32")).shape
    (2, 5, 6, 7, 4)
    >>> conv.kernel.shape
    (3, 3, 3, 2, 4)
    """

    rank = 3

    def call(self, inputs):
        x = self._to_nhwc(inputs)  # (N, D, H, W, C)
        n, d, h, w = x.shape[:4]
        kd, kh, kw, cg, f = self.kernel.shape
        (sd, *s2), (dd, *d2) = self.strides, self.dilation_rate
        pads = self._pads((d, h, w))
        if pads[0] != (0, 0):
            x = ops.pad(x, ((0, 0), pads[0], (0, 0), (0, 0), (0, 0)))
        out_d = nn_ops.conv_output_length(d, kd, sd, dd, pads[0])
        taps = [x[:, k * dd : k * dd + (out_d - 1) * sd + 1 : sd] for k in range(kd)]
        g = self.groups
        cols = ops.reshape(ops.stack(taps, axis=4), (n, out_d, h, w, kd, g, cg))
        cols = ops.permute(cols, (0, 1, 2, 3, 5, 4, 6))  # each group's taps together
        cols = ops.reshape(cols, (n * out_d, h, w, g * kd * cg))
        kernel = ops.reshape(ops.permute(self.kernel, (1, 2, 0, 3, 4)), (kh, kw, kd * cg, f))
        fused = self.activation is activations.relu
        y = nn_ops.conv2d(
            cols,
            kernel,
            self.bias,
            strides=tuple(s2),
            padding=pads[1:],
            dilation_rate=tuple(d2),
            groups=g,
            relu=fused,
        )
        y = ops.reshape(y, (n, out_d, *y.shape[1:]))
        return self._from_nhwc(y if fused else self.activation(y))


class Conv2DTranspose(_BaseConv):
    """Transposed 2-D convolution (the gradient of a Conv2D with respect to its input).

    The kernel has Keras's shape ``(kh, kw, filters, C)``. Output size per axis, with
    ``k = (kernel - 1) * dilation + 1``: "valid" gives ``size * stride + max(k - stride, 0)``,
    "same" gives ``size * stride``; with ``output_padding`` it is
    ``(size - 1) * stride + k - 2 * pad + output_padding`` (``pad = k // 2`` for "same").

    Args:
        filters: number of output channels.
        kernel_size, strides, padding, dilation_rate, data_format: as in Conv2D.
        output_padding: None or an int / pair, each smaller than the stride.
        activation, use_bias, initializers, regularizers, constraints: as in Conv2D.

    >>> import numpy as np, xpnet as xn
    >>> up = xn.layers.Conv2DTranspose(3, 3, strides=2, padding="same")
    >>> up(np.ones((1, 4, 4, 8), dtype="float32")).shape
    (1, 8, 8, 3)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            **kwargs,
        )
        who = type(self).__name__
        self.filters = positive_int(who, "filters", filters)
        self.output_padding = None
        if output_padding is not None:
            op = normalize_tuple(who, "output_padding", output_padding, self.rank, minimum=0)
            for o, s in zip(op, self.strides):
                if o >= s:
                    raise ValueError(
                        f"{who}: each output_padding must be smaller than its stride. "
                        f"Received: output_padding={output_padding}, strides={self.strides}"
                    )
            self.output_padding = op
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, self.filters, channels),
            self.kernel_initializer,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self._bias_weight(self.filters)
        self._set_input_spec(channels)

    def call(self, inputs):
        kernel = self.kernel if self.rank == 2 else ops.expand_dims(self.kernel, 0)
        op = self.output_padding
        y = nn_ops.conv2d_transpose(
            self._to_nhwc(inputs),
            kernel,
            self.bias,
            strides=self._as2d(self.strides),
            padding=self.padding,
            output_padding=None if op is None else self._as2d(op, fill=0),
            dilation_rate=self._as2d(self.dilation_rate),
        )
        return self._from_nhwc(self.activation(y))

    def compute_output_shape(self, input_shape):
        out = []
        for i, n in enumerate(self._spatial(input_shape)):
            if n is None:
                out.append(None)
                continue
            op = None if self.output_padding is None else self.output_padding[i]
            length, _ = nn_ops.conv_transpose_geometry(
                n, self.kernel_size[i], self.strides[i], self.dilation_rate[i], self.padding, op
            )
            out.append(length)
        return self._with_channels(input_shape[0], out, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            output_padding=self.output_padding,
            **weight_options_config(self, "kernel"),
        )
        return config


class Conv1DTranspose(Conv2DTranspose):
    """Transposed 1-D convolution over (batch, steps, channels); kernel ``(k, filters, C)``.

    Output length as Conv2DTranspose's per axis. Arguments as Conv2DTranspose, with
    ints for ``kernel_size``, ``strides``, ``dilation_rate`` and ``output_padding``.

    >>> import numpy as np, xpnet as xn
    >>> up = xn.layers.Conv1DTranspose(3, 3, strides=2, padding="same")
    >>> up(np.ones((1, 4, 2), "float32")).shape
    (1, 8, 3)
    """

    rank = 1

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        data_format=None,
        dilation_rate=1,
        **kwargs,
    ):
        super().__init__(
            filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
            **kwargs,
        )  # fmt: skip


class _Depthwise(_BaseConv):
    """A depthwise kernel (kh, kw, C, depth_multiplier), run as a conv with groups = C."""

    def _depthwise(self, x, kernel, bias):
        kh, kw, c, m = kernel.shape
        grouped = ops.reshape(kernel, (kh, kw, 1, c * m))  # output channel c*m + j, as Keras
        return self._convolve(x, grouped, bias, groups=c)


class DepthwiseConv2D(_Depthwise):
    """Depthwise 2-D convolution: each input channel convolved with its own filters.

    ``y[n, o, q, c*m + j] = b[c*m + j] + sum_{i, k} x_pad[n, o*sh + i*dh, q*sw + k*dw, c]
    * kernel[i, k, c, j]``; the kernel has shape (kh, kw, C, depth_multiplier).

    Args:
        kernel_size, strides, padding, data_format, dilation_rate: as in Conv2D.
        depth_multiplier: output channels per input channel.
        activation, use_bias, depthwise_initializer ("glorot_uniform"), bias_initializer,
        depthwise_regularizer, bias_regularizer, depthwise_constraint, bias_constraint.

    >>> import numpy as np, xpnet as xn
    >>> dw = xn.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same")
    >>> dw(np.ones((1, 5, 5, 3), dtype="float32")).shape
    (1, 5, 5, 6)
    """

    def __init__(
        self,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        depth_multiplier: int = 1,
        data_format=None,
        dilation_rate=(1, 1),
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        bias_regularizer=None,
        depthwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            **kwargs,
        )
        self.depth_multiplier = positive_int(
            type(self).__name__, "depth_multiplier", depth_multiplier
        )
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = self.add_weight(
            "kernel",
            (*self.kernel_size, channels, self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
            self.depthwise_constraint,
        )
        self._bias_weight(channels * self.depth_multiplier)
        self._set_input_spec(channels)

    def call(self, inputs):
        return self._from_nhwc(self._depthwise(self._to_nhwc(inputs), self.kernel, self.bias))

    def compute_output_shape(self, input_shape):
        channels = input_shape[self._channel_axis]
        return self._conv_output_shape(input_shape, channels * self.depth_multiplier)

    def get_config(self):
        config = super().get_config()
        config.update(
            depth_multiplier=self.depth_multiplier,
            **weight_options_config(self, "depthwise"),
        )
        return config


class SeparableConv2D(_Depthwise):
    """Depthwise separable 2-D convolution: a depthwise conv, then a 1x1 (pointwise) conv.

    ``y = activation(pointwise(depthwise(x)) + bias)`` with ``depthwise_kernel`` of shape
    (kh, kw, C, depth_multiplier) and ``pointwise_kernel`` (1, 1, C * depth_multiplier,
    filters); the bias follows the pointwise step.

    Args:
        filters: output channels.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier:
            of the depthwise step.
        activation, use_bias, depthwise_initializer, pointwise_initializer,
        bias_initializer, depthwise_regularizer, pointwise_regularizer, bias_regularizer,
        depthwise_constraint, pointwise_constraint, bias_constraint.

    >>> import numpy as np, xpnet as xn
    >>> sep = xn.layers.SeparableConv2D(4, 3)
    >>> sep(np.ones((1, 6, 6, 2), dtype="float32")).shape
    (1, 4, 4, 4)
    """

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=(1, 1),
        padding="valid",
        data_format=None,
        dilation_rate=(1, 1),
        depth_multiplier: int = 1,
        activation=None,
        use_bias=True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        bias_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            data_format,
            dilation_rate,
            activation,
            use_bias,
            bias_initializer,
            bias_regularizer,
            bias_constraint,
            **kwargs,
        )
        who = type(self).__name__
        self.filters = positive_int(who, "filters", filters)
        self.depth_multiplier = positive_int(who, "depth_multiplier", depth_multiplier)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape) -> None:
        channels = self._input_channels(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel",
            (*self.kernel_size, channels, self.depth_multiplier),
            self.depthwise_initializer,
            self.depthwise_regularizer,
            self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel",
            (*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            self.pointwise_initializer,
            self.pointwise_regularizer,
            self.pointwise_constraint,
        )
        self._bias_weight(self.filters)
        self._set_input_spec(channels)

    def call(self, inputs):
        x = self._to_nhwc(inputs)
        kernel = self.depthwise_kernel
        if self.rank == 1:
            kernel = ops.expand_dims(kernel, 0)
        kh, kw, c, m = kernel.shape
        grouped = ops.reshape(kernel, (kh, kw, 1, c * m))
        depth = nn_ops.conv2d(
            x,
            grouped,
            None,
            strides=self._as2d(self.strides),
            padding=self._pads(x.shape[1:-1][-self.rank :]),
            dilation_rate=self._as2d(self.dilation_rate),
            groups=c,
        )
        pointwise = ops.reshape(self.pointwise_kernel, (c * m, self.filters))
        y = self.activation(ops.linear(depth, pointwise, self.bias))
        return self._from_nhwc(y)

    def compute_output_shape(self, input_shape):
        return self._conv_output_shape(input_shape, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            depth_multiplier=self.depth_multiplier,
            **weight_options_config(self, "depthwise", "pointwise"),
        )
        return config


class SeparableConv1D(SeparableConv2D):
    """Depthwise separable 1-D convolution over (batch, steps, channels): kernels
    ``depthwise_kernel`` (k, C, depth_multiplier) and ``pointwise_kernel``
    (1, C * depth_multiplier, filters), as Keras's. Arguments as SeparableConv2D, with ints.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.SeparableConv1D(4, 3)(np.ones((1, 6, 2), dtype="float32")).shape
    (1, 4, 4)
    """

    rank = 1

    def __init__(self, filters: int, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, **kwargs):  # fmt: skip
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate,
                         **kwargs)  # fmt: skip
