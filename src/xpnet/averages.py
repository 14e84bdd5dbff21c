"""Exponentially weighted averages, with the bias correction of the course notes and Adam.

The average of a sequence ``theta_1, theta_2, ...`` with decay ``beta``::

    V_0 = 0
    V_t = beta * V_{t-1} + (1 - beta) * theta_t
    corrected: V_t / (1 - beta**t)

``V_t`` averages roughly the last ``1 / (1 - beta)`` values (10 for beta = 0.9).
Starting from 0 makes the first values too small (``V_1 = (1 - beta) theta_1``);
dividing by ``1 - beta**t`` removes that bias, and matters less as ``t`` grows.
This is the update that momentum, RMSprop and Adam apply to gradients and squared
gradients. (Some course notes print the update as ``beta V + (1 - beta theta)``;
the right form is ``(1 - beta) * theta``, as above.)

:class:`ExponentialMovingAverage` is the running form: give it one value at a
time (a Python float, an array of any backend, or a Tensor) from a loop, a
callback or a metric. :func:`ewma` averages a whole series at once.

>>> import xpnet as xn
>>> avg = xn.averages.ExponentialMovingAverage(beta=0.9)
>>> round(avg.update(10.0), 6)  # corrected: 0.1 * 10 / (1 - 0.9)
10.0
>>> round(avg.raw, 6)           # V_1, biased towards 0
1.0
>>> [round(v, 4) for v in xn.averages.ewma([1.0, 1.0, 1.0], beta=0.5, bias_correction=False)]
[0.5, 0.75, 0.875]
"""

from __future__ import annotations

from typing import Any

from xpnet import _checks

__all__ = ["ExponentialMovingAverage", "ewma"]


def _beta(owner: str, beta: Any) -> float:
    return _checks.fraction(owner, "beta", beta, closed=False)


class ExponentialMovingAverage:
    """A running exponentially weighted average ``V_t``, optionally bias-corrected.

    Args:
        beta: the decay, in [0, 1) (default 0.9: about the last 10 values).
        bias_correction: whether :attr:`value` (and what :meth:`update` returns) is
            ``V_t / (1 - beta**t)`` (default True) or the raw ``V_t``.

    Values may be Python floats, arrays of any backend or Tensors (the average is
    then a Tensor in the autograd graph); the arithmetic uses Python-float weights,
    so float32 stays float32.
    """

    def __init__(self, beta: float = 0.9, bias_correction: bool = True) -> None:
        self.beta = _beta("ExponentialMovingAverage", beta)
        self.bias_correction = bool(bias_correction)
        self.reset()

    def reset(self) -> None:
        """Forget every value: ``V_0 = 0``, ``t = 0``."""
        self.raw: Any = None  # V_t (None before the first value)
        self.t = 0

    def update(self, value: Any) -> Any:
        """Take ``theta_t`` and return the new average (corrected if asked)."""
        if self.raw is None:  # V_1 = beta * 0 + (1 - beta) * theta_1, without a zero array
            self.raw = value * (1.0 - self.beta)
        else:
            self.raw = self.raw * self.beta + value * (1.0 - self.beta)
        self.t += 1
        return self.value

    @property
    def correction(self) -> float:
        """``1 - beta**t``, the divisor of the bias correction (1.0 when it is off)."""
        return 1.0 - self.beta**self.t if self.bias_correction else 1.0

    @property
    def value(self) -> Any:
        """The current average; raises before the first :meth:`update`."""
        if self.raw is None:
            raise ValueError("ExponentialMovingAverage: no value yet. Call update(value) first.")
        c = self.correction
        return self.raw if c == 1.0 else self.raw * (1.0 / c)

    def get_config(self) -> dict[str, Any]:
        return {"beta": self.beta, "bias_correction": self.bias_correction}

    def __repr__(self) -> str:
        return (
            f"ExponentialMovingAverage(beta={self.beta!r}, "
            f"bias_correction={self.bias_correction!r}, t={self.t})"
        )


def ewma(values: Any, beta: float = 0.9, bias_correction: bool = True) -> list:
    """The averages ``V_1 .. V_n`` of a series, as a list (one entry per value).

    ``values`` is anything iterable: a list of floats, a 1-D host array (each
    entry a number), or a list of arrays or Tensors (each entry averaged
    elementwise). Python floats in give Python floats out.

    >>> import xpnet as xn
    >>> [round(v, 3) for v in xn.averages.ewma([4.0, 4.0], beta=0.9)]  # corrected
    [4.0, 4.0]
    """
    avg = ExponentialMovingAverage(beta, bias_correction)
    out = []
    for v in values:
        if not isinstance(v, (int, float)) and getattr(v, "ndim", None) == 0:
            v = float(v)  # a NumPy scalar from a host array: keep Python floats
        elif isinstance(v, int):
            v = float(v)
        out.append(avg.update(v))
    return out
