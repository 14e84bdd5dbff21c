"""Argument checks shared by optimizers and schedules: one error format everywhere."""

from __future__ import annotations

import math


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
