"""Activation layers, with Keras 3's names and arguments: ReLU, LeakyReLU, PReLU, ELU,
Softmax and Activation, and Keras 2's ThresholdedReLU.

Each wraps a function of :mod:`xpnet.activations`; PReLU alone has a weight
(its learnable negative slope ``alpha``).

>>> import xpnet as xn
>>> xn.to_numpy(xn.layers.ReLU(max_value=1.0)(xn.Tensor([[-3.0, 0.5, 2.0]]))).tolist()
[[0.0, 0.5, 1.0]]
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

from xpnet import activations, constraints, initializers, ops, regularizers
from xpnet.layers.base import Layer, to_tensor, weight_options_config

__all__ = ["ELU", "Activation", "LeakyReLU", "PReLU", "ReLU", "Softmax", "ThresholdedReLU"]


def _number(layer: str, name: str, value: Any, *, allow_none: bool = False, min_value=None):
    """Validate a float argument (optionally None, optionally bounded below)."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or (min_value is not None and value < min_value):
        bound = f" >= {min_value}" if min_value is not None else ""
        none = " or None" if allow_none else ""
        raise ValueError(
            f"{layer}: expected a number{bound}{none} for {name}. Received: {name}={value!r}"
        )
    return float(value)


class _Elementwise(Layer):
    """An activation layer: output shape = input shape."""

    def compute_output_shape(self, input_shape):
        return input_shape


class ReLU(_Elementwise):
    """Rectified linear unit layer (see :func:`xpnet.activations.relu`).

    ``f(x) = min(x, max_value)`` for ``x >= threshold``, else
    ``negative_slope * (x - threshold)``.

    Args:
        max_value: float >= 0, the largest output (None: no cap).
        negative_slope: float >= 0, the slope below the threshold.
        threshold: float >= 0.

    >>> import xpnet as xn
    >>> layer = xn.layers.ReLU(negative_slope=0.5)
    >>> xn.to_numpy(layer(xn.Tensor([[-2.0, 3.0]]))).tolist()
    [[-1.0, 3.0]]
    """

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number("ReLU", "max_value", max_value, allow_none=True, min_value=0)
        self.negative_slope = _number("ReLU", "negative_slope", negative_slope, min_value=0)
        self.threshold = _number("ReLU", "threshold", threshold, min_value=0)

    def call(self, inputs):
        return activations.relu(
            inputs,
            negative_slope=self.negative_slope,
            max_value=self.max_value,
            threshold=self.threshold,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            max_value=self.max_value, negative_slope=self.negative_slope, threshold=self.threshold
        )
        return config


class LeakyReLU(_Elementwise):
    """``x`` for ``x >= 0``, ``negative_slope * x`` otherwise (Keras default slope 0.3).

    Note the layer's default (0.3) differs from :func:`activations.leaky_relu`'s (0.2),
    as in Keras. ``alpha=`` (Keras 2's name, still in most tutorials) is accepted as
    Keras 3 accepts it: it sets ``negative_slope``, with a deprecation warning.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.layers.LeakyReLU(negative_slope=0.5)(xn.Tensor([[-2.0, 3.0]]))).tolist()
    [[-1.0, 3.0]]
    """

    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "LeakyReLU: the argument alpha is deprecated (Keras 2's name); use "
                f"negative_slope={negative_slope!r} instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        super().__init__(**kwargs)
        self.negative_slope = _number("LeakyReLU", "negative_slope", negative_slope, min_value=0)

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class PReLU(_Elementwise):
    """Parametric ReLU: ``max(x, 0) + alpha * min(x, 0)`` with a learned ``alpha``.

    ``alpha`` has the input's shape without the batch axis; the axes listed in
    ``shared_axes`` (counted with the batch axis as 0) share one value, e.g.
    ``shared_axes=[1, 2]`` for one slope per channel of (batch, h, w, c) images.

    Args:
        alpha_initializer: initializer of alpha (Keras default ``"Zeros"``).
        alpha_regularizer: optional penalty on alpha.
        alpha_constraint: optional projection of alpha after each update.
        shared_axes: axes along which alpha is shared (None: none).

    >>> import xpnet as xn
    >>> layer = xn.layers.PReLU(alpha_initializer=xn.initializers.Constant(0.25))
    >>> xn.to_numpy(layer(xn.Tensor([[-4.0, 2.0]]))).tolist()
    [[-1.0, 2.0]]
    """

    supports_masking = True

    def __init__(
        self,
        alpha_initializer: Any = "Zeros",
        alpha_regularizer: Any = None,
        alpha_constraint: Any = None,
        shared_axes: Sequence[int] | int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
            if not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ValueError(
                    "PReLU: expected shared_axes to be None or integers >= 1 (axis 0 is the "
                    f"batch axis). Received: shared_axes={shared_axes!r}"
                )
            self.shared_axes = axes

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(
                    f"PReLU layer '{self.name}': shared axis {axis} does not exist for inputs "
                    f"of rank {len(input_shape)} (shape {tuple(input_shape)})."
                )
            shape[axis - 1] = 1
        self.alpha = self.add_weight(
            "alpha", shape, self.alpha_initializer, self.alpha_regularizer, self.alpha_constraint
        )

    def call(self, inputs):
        return ops.relu(inputs) - self.alpha * ops.relu(-inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            **weight_options_config(self, "alpha"),
            shared_axes=self.shared_axes,
        )
        return config


class ELU(_Elementwise):
    """Exponential linear unit layer: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""

    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number("ELU", "alpha", alpha)

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class ThresholdedReLU(_Elementwise):
    """``x`` for ``x > theta``, 0 otherwise (Keras 2's layer; default ``theta`` 1.0).

    Keras 3 dropped the layer for ``ReLU(threshold=theta)``, which gives the same
    values; this is :func:`xpnet.activations.thresholded_relu` as a layer, for code
    and course notes that use the old name.

    Args:
        theta: float >= 0, the threshold.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.layers.ThresholdedReLU(theta=1.0)(xn.Tensor([[0.5, 1.0, 2.0]]))).tolist()
    [[0.0, 0.0, 2.0]]
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = _number("ThresholdedReLU", "theta", theta, min_value=0)

    def call(self, inputs):
        return activations.thresholded_relu(inputs, theta=self.theta)

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config


# Keras's large negative stand-in for -inf at masked positions (float32 and wider).
_MASKED_LOGIT = -1e9


class Softmax(_Elementwise):
    """Softmax along ``axis`` (an int or a tuple of ints), with an optional boolean mask.

    Masked-out positions (``mask`` False) get a large negative logit before the
    softmax, so they receive (almost) zero probability, as in Keras.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.layers.Softmax()(xn.Tensor([[1.0, 1.0]]))).tolist()
    [[0.5, 0.5]]
    """

    supports_masking = True
    _mask_from_inputs = False  # its mask= masks scores, not steps: never filled from inputs

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = [axis] if isinstance(axis, int) else axis
        if (
            not isinstance(axes, (list, tuple))
            or not axes
            or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes)
        ):
            raise ValueError(
                f"Softmax: expected an integer or a tuple of integers for axis. Received: "
                f"axis={axis!r}"
            )
        self.axis = axis if isinstance(axis, int) else tuple(axis)

    def call(self, inputs, mask=None):
        nd = len(inputs.shape)
        bad = [
            a
            for a in ((self.axis,) if isinstance(self.axis, int) else self.axis)
            if not -nd <= a < nd
        ]
        if bad:  # (shapes are Python values: no device read)
            raise ValueError(
                f"Softmax layer '{self.name}': axis {bad[0]} is out of range for inputs of "
                f"rank {nd} (shape {tuple(inputs.shape)}); expected an axis in [{-nd}, {nd - 1}]."
            )
        if mask is not None:
            inputs = ops.where(to_tensor(mask), inputs, _MASKED_LOGIT)
        return activations.softmax(inputs, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis if isinstance(self.axis, int) else list(self.axis)
        return config


class Activation(_Elementwise):
    """Applies an activation function, given by name or as a callable (None: linear).

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.layers.Activation("relu")(xn.Tensor([[-1.0, 2.0]]))).tolist()
    [[0.0, 2.0]]
    """

    supports_masking = True

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)  # None: linear, as in Keras

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
