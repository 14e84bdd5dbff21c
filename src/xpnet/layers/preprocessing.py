"""Preprocessing layers of Keras 3 that are plain array math: ``Rescaling`` and
``CategoryEncoding``."""

from __future__ import annotations

import numbers
from typing import Any

from xpnet import _checks, ops
from xpnet import backend as B
from xpnet.layers.base import Layer
from xpnet.tensor import Tensor

__all__ = ["CategoryEncoding", "Rescaling", "Resizing"]


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


def _resize_matrix(size: int, out: int, interpolation: str) -> Any:
    """(out, size) weights resizing one axis with half-pixel centers (Keras's resize,
    PyTorch's ``align_corners=False``; nearest picks ``floor((i + 0.5) * size / out)``)."""
    np = B.host_numpy
    scale = size / out
    rows = np.arange(out)
    m = np.zeros((out, size))
    if interpolation == "nearest":
        m[rows, np.minimum(np.floor((rows + 0.5) * scale).astype(int), size - 1)] = 1.0
        return m
    src = (rows + 0.5) * scale - 0.5
    lo = np.floor(src).astype(int)
    frac = src - lo
    for idx, weight in ((lo, 1.0 - frac), (lo + 1, frac)):
        ok = (idx >= 0) & (idx < size)  # taps outside the image are dropped, the rest renormed
        np.add.at(m, (rows[ok], idx[ok]), weight[ok])
    return m / m.sum(axis=1, keepdims=True)


class Resizing(Layer):
    """Resize images to ``(height, width)``: (batch, h, w, c) or one (h, w, c) image
    (channels first with ``data_format="channels_first"``).

    Each axis is resized by a fixed interpolation matrix (half-pixel centers, as
    Keras's ``resize`` without antialiasing), so gradients flow through to the inputs.

    Args:
        height, width: the output size.
        interpolation: "bilinear" (default) or "nearest".
        crop_to_aspect_ratio: first crop the centre to the target aspect ratio (default
            False).
        pad_to_aspect_ratio: first pad both sides with ``fill_value`` to the target
            aspect ratio (default False; not with crop_to_aspect_ratio).
        fill_mode: "constant" (the only mode Keras's resize uses for padding).
        fill_value: the padding value (default 0.0).
        antialias: only False (antialiased downsampling is not implemented).
        data_format: "channels_last" (default) or "channels_first".

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.Resizing(4, 6)(np.ones((2, 8, 8, 3), dtype="float32")).shape
    (2, 4, 6, 3)
    """

    _INTERPOLATIONS = ("bilinear", "nearest")

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        antialias: bool = False,
        data_format: str | None = None,
        **kwargs: Any,
    ) -> None:
        from xpnet.layers.conv import normalize_data_format
        from xpnet.layers.core import positive_int

        super().__init__(**kwargs)
        self.height = positive_int("Resizing", "height", height)
        self.width = positive_int("Resizing", "width", width)
        if interpolation not in self._INTERPOLATIONS:
            raise ValueError(
                f"Resizing: expected interpolation in {self._INTERPOLATIONS} (bicubic, area, "
                f"lanczos are not implemented). Received: interpolation={interpolation!r}"
            )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(
                "Resizing: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True."
            )
        if fill_mode != "constant":
            raise ValueError(f"Resizing: fill_mode must be 'constant'; received {fill_mode!r}.")
        if antialias:
            raise ValueError(
                "Resizing: antialias=True is not implemented; pass antialias=False (the default)."
            )
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = _checks.boolean(
            "Resizing", "crop_to_aspect_ratio", crop_to_aspect_ratio
        )
        self.pad_to_aspect_ratio = _checks.boolean(
            "Resizing", "pad_to_aspect_ratio", pad_to_aspect_ratio
        )
        self.fill_mode = fill_mode
        self.fill_value = float(fill_value)
        self.antialias = False
        self.data_format = normalize_data_format("Resizing", data_format)

    def _axes(self, ndim: int) -> tuple[int, int]:
        if ndim not in (3, 4):
            raise ValueError(
                f"Resizing layer '{self.name}' expected images of rank 3 or 4 (an image or a "
                f"batch); got rank {ndim}."
            )
        first = ndim - 3
        return (first, first + 1) if self.data_format == "channels_last" else (first + 1, first + 2)

    def _crop_or_pad(self, x, ax_h: int, ax_w: int):
        h, w = x.shape[ax_h], x.shape[ax_w]
        th, tw = self.height, self.width
        if self.crop_to_aspect_ratio:
            ch = max(min(h, int(float(w * th) / tw)), 1)
            cw = max(min(w, int(float(h * tw) / th)), 1)
            hs, ws = int(float(h - ch) / 2), int(float(w - cw) / 2)
            index = [slice(None)] * x.ndim
            index[ax_h], index[ax_w] = slice(hs, hs + ch), slice(ws, ws + cw)
            return x[tuple(index)]
        if self.pad_to_aspect_ratio:
            ph, pw = max(h, int(float(w * th) / tw)), max(w, int(float(h * tw) / th))
            hs, ws = int(float(ph - h) / 2), int(float(pw - w) / 2)
            for axis, pad in ((ax_h, hs), (ax_w, ws)):
                if pad > 0:
                    shape = list(x.shape)
                    shape[axis] = pad
                    xp = x.xp
                    fill = xp.full(
                        tuple(shape), self.fill_value, dtype=x.dtype, device=B.device_of(x.data)
                    )
                    side = Tensor._make(fill, None)
                    x = ops.concat([side, x, side], axis=axis)
                    break  # Keras pads one axis: the one the aspect ratio needs
        return x

    def call(self, inputs):
        x = inputs if B.is_floating(inputs.data) else ops.cast(inputs, self.dtype)
        ax_h, ax_w = self._axes(x.ndim)
        x = self._crop_or_pad(x, ax_h, ax_w)
        for axis, out in ((ax_h, self.height), (ax_w, self.width)):
            size = x.shape[axis]
            m = _resize_matrix(size, out, self.interpolation)
            a_t = B.asarray(m.T.astype(B.host_numpy.float32), x.data.dtype)
            perm = [i for i in range(x.ndim) if i != axis] + [axis]
            back = [perm.index(i) for i in range(x.ndim)]
            x = ops.permute(ops.matmul(ops.permute(x, perm), a_t), back)
        return x

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        ax_h, ax_w = self._axes(len(shape))
        shape[ax_h], shape[ax_w] = self.height, self.width
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            height=self.height,
            width=self.width,
            interpolation=self.interpolation,
            crop_to_aspect_ratio=self.crop_to_aspect_ratio,
            pad_to_aspect_ratio=self.pad_to_aspect_ratio,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
            antialias=self.antialias,
            data_format=self.data_format,
        )
        return config
