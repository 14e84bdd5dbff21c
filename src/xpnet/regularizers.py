"""Weight regularizers: penalties added to the loss, with Keras's names and defaults.

A regularizer is called on a weight Tensor and returns a scalar Tensor; layers
take them as ``kernel_regularizer=...`` and models add every layer's penalty
(``model.losses``) to the training loss.

Keras's ``L2(l2)`` penalty is ``l2 * sum(W**2)``, gradient ``2 * l2 * W``. The
course notes write the same Frobenius penalty as ``(λ / 2m) * ||W||_F**2`` with
gradient ``(λ / m) * W`` (m = training examples): that is ``L2(l2=λ / (2 * m))``,
which :meth:`L2.from_course` builds.

>>> import xpnet as xn
>>> reg = xn.regularizers.L2(0.01)
>>> round(reg(xn.Tensor([[1.0, 2.0]])).item(), 6)
0.05
"""

from __future__ import annotations

import math
from typing import Any

from xpnet import ops
from xpnet._registry import Configurable, Registry

__all__ = [
    "L1",
    "L1L2",
    "L2",
    "OrthogonalRegularizer",
    "Regularizer",
    "deserialize",
    "get",
    "l1",
    "l1_l2",
    "l2",
    "names",
    "orthogonal_regularizer",
    "serialize",
]

_registry = Registry("regularizer")


def _factor(owner: str, name: str, value) -> float:
    """A penalty factor: a finite number >= 0 (Keras's check), as a Python float."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or value < 0:
        raise ValueError(
            f"{owner}: expected a finite number >= 0 for {name}. Received: {name}={value!r}"
        )
    return float(value)


class Regularizer(Configurable):
    """Base class: ``__call__(weight) -> scalar Tensor`` and ``get_config()``."""

    def __call__(self, x):  # pragma: no cover - abstract
        raise NotImplementedError


@_registry.register("l1")
class L1(Regularizer):
    """``l1 * sum(|W|)``."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor("L1", "l1", 0.01 if l1 is None else l1)

    def __call__(self, x):
        return ops.abs(x).sum() * self.l1

    def get_config(self):
        return {"l1": self.l1}


@_registry.register("l2")
class L2(Regularizer):
    """``l2 * sum(W**2)`` (the squared Frobenius norm of a matrix); gradient ``2 l2 W``."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor("L2", "l2", 0.01 if l2 is None else l2)

    def __call__(self, x):
        return (x * x).sum() * self.l2

    @classmethod
    def from_course(cls, lambd: float, m: int) -> L2:
        """The notes' ``(λ / 2m) ||W||²`` (gradient ``(λ/m) W``) as ``L2(λ / 2m)``."""
        if isinstance(m, bool) or not isinstance(m, int) or m <= 0:
            raise ValueError(
                "L2.from_course: expected a positive int for m (the number of training "
                f"examples). Received: m={m!r}"
            )
        return cls(_factor("L2.from_course", "lambd", lambd) / (2.0 * m))

    def get_config(self):
        return {"l2": self.l2}


@_registry.register("l1_l2")
class L1L2(Regularizer):
    """``l1 * sum(|W|) + l2 * sum(W**2)``.

    Both default to 0, as in Keras 3, so the name ``"l1_l2"`` alone adds no
    penalty (Keras 2's ``l1_l2()`` function defaulted to 0.01 each).
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor("L1L2", "l1", 0.0 if l1 is None else l1)
        self.l2 = _factor("L1L2", "l2", 0.0 if l2 is None else l2)

    def __call__(self, x):
        out = None
        if self.l1:
            out = ops.abs(x).sum() * self.l1
        if self.l2:
            sq = (x * x).sum() * self.l2
            out = sq if out is None else out + sq
        return out if out is not None else (x * 0.0).sum()

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@_registry.register("orthogonal_regularizer")
class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight toward being mutually orthogonal.

    The penalty is ``factor`` times the mean absolute dot product between
    distinct L2-normalized rows (``mode="rows"``) or columns; as Keras, a
    vector's norm is floored at 1e-7 before dividing.
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _factor("OrthogonalRegularizer", "factor", factor)
        if mode not in ("rows", "columns"):
            raise ValueError(
                "OrthogonalRegularizer: expected 'rows' or 'columns' for mode. "
                f"Received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, x):
        if x.ndim != 2:
            raise ValueError(
                f"OrthogonalRegularizer: expected a 2-D weight. Received: shape={tuple(x.shape)}"
            )
        if self.mode == "columns":
            x = x.T
        # Keras: x * min(1 / ||x||, 1 / 1e-7), i.e. x / sqrt(max(||x||**2, 1e-14))
        unit = x / ops.sqrt(ops.clip((x * x).sum(axis=1, keepdims=True), min=1e-14))
        product = unit @ unit.T
        size = product.shape[0]
        xp = x.xp
        off = 1.0 - xp.eye(size, dtype=product.dtype, device=product.device)
        pairs = max(size * (size - 1), 1)
        return ops.abs(product * off).sum() * (self.factor / pairs)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def get(identifier: Any) -> Regularizer | Any:
    """A regularizer from a name (``"l2"`` uses Keras's 0.01), config, instance or callable."""
    return _registry.get(identifier)


# the family's JSON forms, straight from its registry
serialize = _registry.serialize
deserialize = _registry.deserialize
names = _registry.names

# Keras's lowercase names for the classes: regularizers.l2(1e-4) is L2(1e-4)
l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer
