"""Preprocessing layers of Keras 3 that are plain array math: ``Rescaling`` and
``CategoryEncoding``."""

from __future__ import annotations

import numbers
from typing import Any

from xpnet import backend as B
from xpnet import ops
from xpnet.layers.base import Layer
from xpnet.tensor import Tensor

__all__ = ["CategoryEncoding", "Rescaling"]


class Rescaling(Layer):
    """``inputs * scale + offset`` (``Rescaling(1 / 255)`` maps pixels to [0, 1]).

    Args:
        scale: a number (or a list, broadcast against the last axes).
        offset: a number (or a list) added after scaling.
    """

    supports_masking = True

    def __init__(self, scale: Any, offset: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for name, value in (("scale", scale), ("offset", offset)):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not ok and not (
                isinstance(value, (list, tuple))
                and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
            ):
                raise ValueError(f"Rescaling: {name} must be a number or a list of numbers; "
                                 f"received {value!r}.")  # fmt: skip
        self.scale = float(scale) if isinstance(scale, numbers.Real) else [float(v) for v in scale]
        self.offset = (
            float(offset) if isinstance(offset, numbers.Real) else [float(v) for v in offset]
        )

    def _const(self, value, like: Tensor):
        if isinstance(value, float):
            return value
        return B.asarray(B.host_numpy.asarray(value, dtype=B.floatx()), like.data.dtype)

    def call(self, inputs):
        x = inputs if B.is_floating(inputs.data) else ops.cast(inputs, self.dtype)
        return x * self._const(self.scale, x) + self._const(self.offset, x)

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale, offset=self.offset)
        return config


class CategoryEncoding(Layer):
    """Integer ids to one-hot, multi-hot or count vectors of ``num_tokens`` entries.

    ``output_mode="one_hot"`` adds an axis of size ``num_tokens`` (a trailing axis
    of 1 is replaced); ``"multi_hot"`` (default) and ``"count"`` reduce the last
    axis (each sample's ids: 1 where present / how many times), as Keras 3 does;
    a rank-1 input is one sample there. Ids must lie in ``[0, num_tokens)``.
    """

    _MODES = ("one_hot", "multi_hot", "count")

    def __init__(
        self, num_tokens: int, output_mode: str = "multi_hot", sparse: bool = False, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        if (
            isinstance(num_tokens, bool)
            or not isinstance(num_tokens, numbers.Integral)
            or (num_tokens < 1)
        ):
            raise ValueError(
                f"CategoryEncoding: num_tokens must be a positive int; received {num_tokens!r}."
            )
        if output_mode not in self._MODES:
            raise ValueError(
                f"CategoryEncoding: output_mode must be one of {self._MODES}; received "
                f"{output_mode!r}."
            )
        if sparse:
            raise ValueError("CategoryEncoding: sparse outputs are not supported.")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode

    def check_input_values(self, inputs) -> None:
        data = B.host_numpy.asarray(B.to_numpy(getattr(inputs, "data", inputs)))
        if data.size and (data.min() < 0 or data.max() >= self.num_tokens):
            raise ValueError(
                f"CategoryEncoding layer '{self.name}': ids must be in [0, {self.num_tokens}); "
                f"received ids from {data.min()} to {data.max()}."
            )

    def call(self, inputs):
        xp = inputs.xp
        ids = inputs.data
        if self.output_mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
            ids = xp.reshape(ids, ids.shape[:-1])
        tokens = xp.arange(self.num_tokens, device=B.device_of(ids))
        hot = xp.astype(xp.astype(ids, tokens.dtype)[..., None] == tokens, B.dtype(self.dtype, xp))
        if self.output_mode == "one_hot":
            return Tensor._make(hot, None)
        counts = xp.sum(hot, axis=-2)
        if self.output_mode == "multi_hot":
            counts = xp.astype(counts > 0, hot.dtype)
        return Tensor._make(counts, None)

    def get_config(self):
        config = super().get_config()
        config.update(num_tokens=self.num_tokens, output_mode=self.output_mode)
        return config
