"""Weight constraints, applied by the optimizer after each update (Keras's names).

A constraint maps a weight array to its projected value: ``c(w) -> w'``. Layers
take them as ``kernel_constraint=...``; the optimizer applies a Parameter's
``constraint`` right after updating it.

>>> import xpnet as xn
>>> c = xn.constraints.NonNeg()
>>> xn.to_numpy(c(xn.backend.asarray([-1.0, 2.0]))).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

import math
from typing import Any

from xpnet import backend as B
from xpnet._registry import Configurable, Registry

__all__ = [
    "Constraint",
    "MaxNorm",
    "MinMaxNorm",
    "NonNeg",
    "UnitNorm",
    "deserialize",
    "get",
    "max_norm",
    "min_max_norm",
    "names",
    "non_neg",
    "serialize",
    "unit_norm",
]

_registry = Registry("constraint")
_EPS = 1e-7  # Keras's epsilon, keeps the norm away from zero


class Constraint(Configurable):
    """Base class: ``__call__(array) -> array`` (raw backend arrays, no gradient)."""

    def __call__(self, w):  # pragma: no cover - abstract
        raise NotImplementedError


def _norms(w, axis):
    xp = B.namespace(w)
    return xp.sqrt(xp.sum(w * w, axis=axis, keepdims=True))


def _axis(owner: str, axis):
    """An int or a tuple of ints (a JSON list, from a saved config, becomes a tuple)."""
    if isinstance(axis, (list, tuple)):
        axis = tuple(axis)
        ok = all(isinstance(a, int) and not isinstance(a, bool) for a in axis)
    else:
        ok = isinstance(axis, int) and not isinstance(axis, bool)
    if not ok:
        raise ValueError(f"{owner}: expected an int or a list of ints for axis. Received: {axis=}")
    return axis


def _axis_config(axis):
    return list(axis) if isinstance(axis, tuple) else axis


def _norm_bound(owner: str, name: str, value) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{owner}: expected a finite number >= 0 for {name}. Received: {name}={value!r}"
        )
    return float(value)


@_registry.register("max_norm")
class MaxNorm(Constraint):
    """Rescale slices along ``axis`` whose L2 norm exceeds ``max_value``.

    ``w * clip(norm, 0, max_value) / (norm + 1e-7)``, norms over ``axis``: for
    a Dense kernel ``(in, out)`` axis 0 bounds each unit's incoming weights; for
    a Conv2D kernel use ``axis=[0, 1, 2]``.
    """

    def __init__(self, max_value: float = 2.0, axis: int | tuple = 0) -> None:
        self.max_value = _norm_bound("MaxNorm", "max_value", max_value)
        self.axis = _axis("MaxNorm", axis)

    def __call__(self, w):
        xp = B.namespace(w)
        norms = _norms(w, self.axis)
        desired = xp.clip(norms, 0.0, self.max_value)
        return w * (desired / (norms + _EPS))

    def get_config(self):
        return {"max_value": self.max_value, "axis": _axis_config(self.axis)}


@_registry.register("non_neg")
class NonNeg(Constraint):
    """Negative entries become zero."""

    def __call__(self, w):
        xp = B.namespace(w)
        return xp.where(w >= 0, w, 0.0)


@_registry.register("unit_norm")
class UnitNorm(Constraint):
    """Slices along ``axis`` scaled to unit L2 norm."""

    def __init__(self, axis: int | tuple = 0) -> None:
        self.axis = _axis("UnitNorm", axis)

    def __call__(self, w):
        return w / (_norms(w, self.axis) + _EPS)

    def get_config(self):
        return {"axis": _axis_config(self.axis)}


@_registry.register("min_max_norm")
class MinMaxNorm(Constraint):
    """Norms along ``axis`` pulled into [min_value, max_value] at ``rate`` (1 = fully).

    The new norm is ``rate * clip(norm, min_value, max_value) + (1 - rate) * norm``.
    """

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0
    ) -> None:
        min_value = _norm_bound("MinMaxNorm", "min_value", min_value)
        max_value = _norm_bound("MinMaxNorm", "max_value", max_value)
        if min_value > max_value:
            raise ValueError(
                "MinMaxNorm: expected min_value <= max_value. Received: "
                f"min_value={min_value}, max_value={max_value}"
            )
        ok = isinstance(rate, (int, float)) and not isinstance(rate, bool) and 0 <= rate <= 1
        if not ok:
            raise ValueError(f"MinMaxNorm: expected a number in [0, 1] for rate. Received: {rate=}")
        self.min_value, self.max_value = min_value, max_value
        self.rate, self.axis = float(rate), _axis("MinMaxNorm", axis)

    def __call__(self, w):
        xp = B.namespace(w)
        norms = _norms(w, self.axis)
        desired = (
            self.rate * xp.clip(norms, self.min_value, self.max_value) + (1.0 - self.rate) * norms
        )
        return w * (desired / (norms + _EPS))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": _axis_config(self.axis),
        }


def get(identifier: Any) -> Constraint | Any:
    """A constraint from a name, config dict, instance or callable (None stays None)."""
    return _registry.get(identifier)


# the family's JSON forms, straight from its registry
serialize = _registry.serialize
deserialize = _registry.deserialize
names = _registry.names

# Keras's lowercase names for the classes: constraints.max_norm(2.0) is MaxNorm(2.0)
max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
