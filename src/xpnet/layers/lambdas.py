"""``Lambda`` (a function as a layer) and ``Masking`` (skip padded steps), as in Keras 3.

A Lambda's function is Python code, and xpnet's files never carry code: a
Lambda saves only the registered name of its function
(``@xn.saving.register_keras_serializable()``) and loads it back by that name;
an unregistered function (a ``lambda`` expression, a closure) refuses to be
saved with a message saying what to do instead.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

from xpnet import activations, ops
from xpnet.layers import _mask
from xpnet.layers.base import Layer
from xpnet.layers.serialization import _user_names, get_registered_object

__all__ = ["Lambda", "Masking"]


class Lambda(Layer):
    """Wrap ``function(inputs, **arguments)`` as a layer (no weights of its own).

    Args:
        function: a callable on Tensors (use ``xn.ops`` inside it so that it
            differentiates and runs on every backend).
        output_shape: accepted for Keras compatibility; shapes are found by
            running the function.
        mask: None (the inputs' mask passes through), a mask-giving callable
            ``mask(inputs, mask)``, or a fixed mask.
        arguments: extra keyword arguments for ``function``.

    Saving: only a function registered with
    ``xn.saving.register_keras_serializable`` (or an ``xn.activations``
    function) is saved, by name; others raise when saved.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Lambda(lambda x: x * 2.0)(np.ones((1, 2), "float32")).shape
    (1, 2)
    """

    supports_masking = True

    def __init__(
        self,
        function: Callable,
        output_shape: Any = None,
        mask: Any = None,
        arguments: dict | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(function, str):
            resolved = get_registered_object(function)
            if resolved is None:
                try:
                    resolved = activations.get(function)
                except (ValueError, TypeError):
                    resolved = None
            if resolved is None:
                raise ValueError(
                    f"Lambda: no registered function named {function!r}. Register it with "
                    "@xn.saving.register_keras_serializable() before loading, or pass "
                    "custom_objects={name: function}."
                )
            function = resolved
        if not callable(function):
            raise TypeError(f"Lambda expected a callable; received {type(function).__name__}.")
        super().__init__(**kwargs)
        self.function = function
        self.output_shape_arg = output_shape
        self.mask_arg = mask
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_mask(self, inputs, mask=None):
        if self.mask_arg is None:
            return mask
        if callable(self.mask_arg):
            return self.mask_arg(inputs, mask)
        return _mask.resolve(inputs, self.mask_arg)

    def _function_name(self) -> str:
        fn = self.function
        if id(fn) in _user_names:
            return _user_names[id(fn)]
        name = getattr(fn, "__name__", "")
        try:
            if name and activations.get(name) is fn:
                return name
        except (ValueError, TypeError):
            pass
        raise ValueError(
            f"Lambda layer '{self.name}' cannot be saved: its function "
            f"{getattr(fn, '__qualname__', fn)!r} is code, and xpnet files never store code. "
            "Decorate the function with @xn.saving.register_keras_serializable() (it is then "
            "saved by name and must be registered again before loading), or write a Layer "
            "subclass with get_config()."
        )

    def get_config(self):
        config = super().get_config()
        config["function"] = self._function_name()
        if self.arguments:
            for key, value in self.arguments.items():
                if not isinstance(value, (str, numbers.Number, bool, list, tuple, type(None))):
                    raise ValueError(
                        f"Lambda layer '{self.name}' cannot be saved: argument {key!r} is a "
                        f"{type(value).__name__}, not a JSON value."
                    )
            config["arguments"] = dict(self.arguments)
        if self.mask_arg is not None:
            raise ValueError(
                f"Lambda layer '{self.name}' cannot be saved with mask= (a callable or array); "
                "write a Layer subclass with compute_mask() instead."
            )
        return config


class Masking(Layer):
    """Mark steps whose features all equal ``mask_value`` as padding, and zero them.

    Input ``(batch, steps, features)``; the output carries a ``(batch,
    steps)`` mask (True: a real step) that mask-aware layers downstream
    (recurrent layers, attention, poolings, and every layer with
    ``supports_masking``) read, as in Keras.

    Args:
        mask_value: the padding value (default 0.0).
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        if isinstance(mask_value, bool) or not isinstance(mask_value, numbers.Real):
            raise ValueError(f"Masking: mask_value must be a number; received {mask_value!r}.")
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def _keep(self, inputs):
        return ops.compare("not_equal", inputs, self.mask_value).data

    def call(self, inputs):
        xp = inputs.xp
        keep = xp.any(self._keep(inputs), axis=-1)
        out = ops.mul(inputs, xp.astype(keep[..., None], inputs.data.dtype))
        return _mask.set_mask(out, keep)

    def compute_mask(self, inputs, mask=None):
        return inputs.xp.any(self._keep(inputs), axis=-1)

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
