"""The 1-D padding, upsampling and cropping layers of Keras 3, for (batch, steps, features)."""

from __future__ import annotations

import numbers
from typing import Any

from xpnet import ops
from xpnet.layers.base import InputSpec, Layer

__all__ = ["Cropping1D", "UpSampling1D", "ZeroPadding1D"]


def _pair(who: str, name: str, value) -> tuple[int, int]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0
                   for v in value)
    ):  # fmt: skip
        raise ValueError(
            f"{who}: {name} must be a non-negative int or a pair of them; received {value!r}."
        )
    return int(value[0]), int(value[1])


class ZeroPadding1D(Layer):
    """Zeros added before and after the steps: ``padding`` is an int or (before, after)."""

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding = _pair("ZeroPadding1D", "padding", padding)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        return ops.pad(inputs, [(0, 0), self.padding, (0, 0)])

    def get_config(self):
        config = super().get_config()
        config["padding"] = list(self.padding)
        return config


class UpSampling1D(Layer):
    """Each step repeated ``size`` times."""

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"UpSampling1D: size must be a positive int; received {size!r}.")
        self.size = int(size)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        b, t, f = inputs.shape
        x = ops.broadcast_to(ops.expand_dims(inputs, 2), (b, t, self.size, f))
        return ops.reshape(x, (b, t * self.size, f))

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


class Cropping1D(Layer):
    """Steps removed from the start and end: ``cropping`` is an int or (start, end)."""

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping = _pair("Cropping1D", "cropping", cropping)
        self.input_spec = InputSpec(ndim=3)

    def call(self, inputs):
        start, end = self.cropping
        steps = inputs.shape[1]
        if start + end >= steps:
            raise ValueError(
                f"Cropping1D layer '{self.name}': cropping {self.cropping} leaves no steps of "
                f"{steps}."
            )
        return inputs[:, start : steps - end, :]

    def get_config(self):
        config = super().get_config()
        config["cropping"] = list(self.cropping)
        return config
