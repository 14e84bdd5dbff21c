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

from typing import Any

from xpnet import backend as B
from xpnet._registry import Registry

__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "get"]

_registry = Registry("constraint")
_EPS = 1e-7  # Keras's epsilon, keeps the norm away from zero


class Constraint:
    """Base class: ``__call__(array) -> array`` (raw backend arrays, no gradient)."""

    def __call__(self, w):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _norms(w, axis):
    xp = B.namespace(w)
    return xp.sqrt(xp.sum(w * w, axis=axis, keepdims=True))


@_registry.register("max_norm")
class MaxNorm(Constraint):
    """Rescale slices along ``axis`` whose L2 norm exceeds ``max_value``."""

    def __init__(self, max_value: float = 2.0, axis: int | tuple = 0) -> None:
        self.max_value, self.axis = float(max_value), axis

    def __call__(self, w):
        xp = B.namespace(w)
        norms = _norms(w, self.axis)
        desired = xp.clip(norms, 0.0, self.max_value)
        return w * (desired / (norms + _EPS))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


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
        self.axis = axis

    def __call__(self, w):
        return w / (_norms(w, self.axis) + _EPS)

    def get_config(self):
        return {"axis": self.axis}


@_registry.register("min_max_norm")
class MinMaxNorm(Constraint):
    """Norms along ``axis`` pulled into [min_value, max_value] at ``rate`` (1 = fully)."""

    def __init__(
        self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0, axis=0
    ) -> None:
        if min_value > max_value:
            raise ValueError(
                f"MinMaxNorm needs min_value <= max_value; got {min_value} > {max_value}."
            )
        self.min_value, self.max_value = float(min_value), float(max_value)
        self.rate, self.axis = float(rate), axis

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
            "axis": self.axis,
        }


def get(identifier: Any) -> Constraint | Any:
    """A constraint from a name, config dict, instance or callable (None stays None)."""
    return _registry.get(identifier)


def serialize(constraint: Any) -> Any:
    return _registry.serialize(constraint)


def deserialize(config: Any) -> Any:
    return _registry.deserialize(config)


def names() -> list[str]:
    return _registry.names()
