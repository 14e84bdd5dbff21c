"""Argument checks shared by every family (layers, losses, optimizers, schedules, data
sets): each returns the value as a plain Python number or raises a ValueError that
names the owner, the argument, what was expected and what was received.

Numbers come back as Python floats and ints so that arithmetic with float32 arrays
stays float32 (a NumPy float64 scalar would promote).
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def number(owner: str, name: str, value, expected: str, ok) -> float:
    """``value`` as a Python float, or ValueError naming owner, argument, expectation, value.

    Hyperparameters stay Python floats so that arithmetic with float32 arrays
    stays float32 (a NumPy float64 scalar would promote).
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = None
    if isinstance(value, bool) or v is None or not math.isfinite(v) or not ok(v):
        raise ValueError(f"{owner}: expected {expected} for {name}. Received: {name}={value!r}")
    return v


def optional_number(owner: str, name: str, value, expected: str, ok) -> float | None:
    return None if value is None else number(owner, name, value, expected, ok)


def rate(owner: str, name: str, value) -> float:
    """A learning rate: finite and >= 0."""
    return number(owner, name, value, "a finite learning rate >= 0", lambda v: v >= 0)


def fraction(owner: str, name: str, value, *, closed: bool = True) -> float:
    """A number in [0, 1] (``closed``) or [0, 1)."""
    if closed:
        return number(owner, name, value, "a number in [0, 1]", lambda v: 0 <= v <= 1)
    return number(owner, name, value, "a number in [0, 1)", lambda v: 0 <= v < 1)


def positive(owner: str, name: str, value) -> float:
    return number(owner, name, value, "a positive finite number", lambda v: v > 0)


def non_negative(owner: str, name: str, value) -> float:
    return number(owner, name, value, "a finite number >= 0", lambda v: v >= 0)


def positive_int(owner: str, name: str, value: Any) -> int:
    """A positive integer (Python or NumPy int; not a bool), as a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"{owner}: expected a positive integer for {name}. Received: {name}={value!r}"
        )
    return int(value)


def in_range(
    owner: str,
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_closed: bool = True,
    high_closed: bool = True,
) -> float:
    """A real number in the interval from ``low`` to ``high`` (bounds included where
    ``*_closed``), as a Python float: "Dropout: expected rate in [0, 1)."."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = (low <= v if low_closed else low < v) and (v <= high if high_closed else v < high)
    if not ok:
        lo, hi = "[" if low_closed else "(", "]" if high_closed else ")"
        raise ValueError(
            f"{owner}: expected {name} in {lo}{low:g}, {high:g}{hi}. Received: {name}={value!r}"
        )
    return float(value)


def boolean(owner: str, name: str, value: Any) -> bool:
    """A bool (Python or NumPy), as a Python bool: ``"no"``, ``[]`` or ``0`` are refused."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise ValueError(f"{owner}: expected True or False for {name}. Received: {name}={value!r}")
    return bool(value)


def non_negative_int(owner: str, name: str, value: Any) -> int:
    """An integer >= 0 (Python or NumPy; not a bool), as a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(
            f"{owner}: expected an integer >= 0 for {name}. Received: {name}={value!r}"
        )
    return int(value)
