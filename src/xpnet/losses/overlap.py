"""Overlap losses for segmentation, as Keras 3 defines them: ``dice`` and ``tversky``.

``axis=None`` (Keras's default) reduces over every axis, batch included, giving
one value for the whole batch; ``axis=(1, 2, 3)`` gives one value per sample.
The ``+ epsilon`` (1e-7, ``keras.config.epsilon()``) keeps an empty target and
prediction finite.
"""

from __future__ import annotations

from xpnet import ops
from xpnet.losses import functions
from xpnet.losses.inputs import _pair
from xpnet.losses.loss import LossFunctionWrapper, _registry
from xpnet.tensor import Tensor

__all__ = ["Dice", "Tversky", "dice", "tversky"]

_EPSILON = 1e-7


def _axis(axis):
    if axis is None:
        return None
    return tuple(axis) if isinstance(axis, (list, tuple)) else (int(axis),)


def dice(y_true, y_pred, axis=None) -> Tensor:
    """``1 - 2 sum(y p) / (sum(y) + sum(p) + eps)`` over ``axis`` (None: all axes)."""
    y_true, y_pred = _pair(y_true, y_pred, "dice")
    ax = _axis(axis)
    inter = ops.sum(y_true * y_pred, axis=ax)
    total = ops.sum(y_true, axis=ax) + ops.sum(y_pred, axis=ax) + _EPSILON
    return 1.0 - 2.0 * inter / total


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None) -> Tensor:
    """``1 - TP / (TP + alpha * sum(y (1 - p)) + beta * sum((1 - y) p) + eps)``, with
    Keras 3's assignment of ``alpha`` and ``beta`` (``alpha = beta = 0.5`` is Dice)."""
    y_true, y_pred = _pair(y_true, y_pred, "tversky")
    ax = _axis(axis)
    inter = ops.sum(y_true * y_pred, axis=ax)
    missed = ops.sum((1.0 - y_pred) * y_true, axis=ax)
    extra = ops.sum(y_pred * (1.0 - y_true), axis=ax)
    return 1.0 - inter / (inter + missed * float(alpha) + extra * float(beta) + _EPSILON)


functions._FUNCTIONS.update(dice=dice, tversky=tversky)  # known by name, as the others
functions._FUNCTION_NAMES.update({id(dice): "dice", id(tversky): "tversky"})


def _axis_config(axis):
    return None if axis is None else list(_axis(axis))


@_registry.register("dice")
class Dice(LossFunctionWrapper):
    """Dice loss (see :func:`dice`)."""

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, reduction, name, axis=_axis_config(axis))


@_registry.register("tversky")
class Tversky(LossFunctionWrapper):
    """Tversky loss (see :func:`tversky`)."""

    def __init__(
        self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky", axis=None,
        dtype=None,
    ):  # fmt: skip
        super().__init__(
            tversky, reduction, name, alpha=float(alpha), beta=float(beta),
            axis=_axis_config(axis),
        )  # fmt: skip
