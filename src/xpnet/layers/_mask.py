"""Keras-style masks that travel with a tensor (Embedding(mask_zero=True) -> RNN, pooling).

Keras attaches a boolean ``(batch, steps)`` mask to a layer's output; layers
that understand masks read it when they are not given ``mask=`` explicitly.
A :class:`~xpnet.tensor.Tensor` has fixed slots, so the masks live here, keyed
by the tensor's id and dropped when the tensor dies. Only the mask-aware layers
of this package (Embedding, the recurrent layers, Bidirectional, the 1-D global
poolings, MultiHeadAttention) read or pass masks on; other layers drop them.
"""

from __future__ import annotations

import weakref
from typing import Any

from xpnet import backend as B
from xpnet.tensor import Tensor

__all__ = ["any_masks", "get_mask", "of", "set_mask"]

_masks: dict[int, tuple[weakref.ref, Any]] = {}


def set_mask(tensor: Tensor, mask: Any) -> Tensor:
    """Attach ``mask`` (a boolean backend array, or None) to ``tensor``; returns the tensor."""
    key = id(tensor)
    if mask is None:
        _masks.pop(key, None)
        return tensor

    def _drop(_ref, key=key):
        _masks.pop(key, None)

    _masks[key] = (weakref.ref(tensor, _drop), mask)
    return tensor


def get_mask(tensor: Any) -> Any:
    """The mask attached to ``tensor`` (a boolean backend array), or None."""
    if not isinstance(tensor, Tensor):
        return None
    entry = _masks.get(id(tensor))
    if entry is None or entry[0]() is not tensor:
        return None
    return entry[1]


def resolve(inputs: Any, mask: Any) -> Any:
    """The explicit ``mask=`` (Tensor, array or None) or the one ``inputs`` carries, as an array."""
    if mask is None:
        return get_mask(inputs)
    return mask.data if isinstance(mask, Tensor) else B.asarray(mask)  # user data: move it


def any_masks() -> bool:
    """Whether any live tensor carries a mask (a cheap test before looking one up)."""
    return bool(_masks)


def of(inputs: Any) -> Any:
    """The mask of ``inputs``: an array, a list (one per input, None where unmasked) when
    any of a list of inputs has one, or None."""
    if isinstance(inputs, (list, tuple)):
        masks = [get_mask(t) for t in inputs]
        return masks if any(m is not None for m in masks) else None
    return get_mask(inputs)
