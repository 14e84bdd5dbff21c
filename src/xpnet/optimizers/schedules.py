"""Learning-rate schedules, with Keras 3's names, arguments and formulas.

A schedule maps the optimizer's step count (its ``iterations`` before the
update, so the first update uses ``schedule(0)``) to a learning rate. It is
evaluated on the host in Python floats, once per step, so it costs nothing on
a GPU and never changes the dtype of the update.

>>> import xpnet as xn
>>> lr = xn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
>>> lr(0), lr(10), lr(20)
(0.1, 0.05, 0.025)
>>> opt = xn.optimizers.SGD(learning_rate=lr)
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any

from xpnet import _checks
from xpnet._registry import Configurable, Registry

__all__ = [
    "CosineDecay",
    "CosineDecayRestarts",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LearningRateSchedule",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "deserialize",
    "get",
    "names",
    "serialize",
]

_registry = Registry("learning rate schedule")


_number = _checks.number
_rate = _checks.rate
_fraction = _checks.fraction


def _count(value, as_float: float):
    """Step counts keep their int type (as Keras's configs do); others become floats."""
    return int(value) if isinstance(value, numbers.Integral) else as_float


def _steps(owner: str, name: str, value):
    v = _number(owner, name, value, "a positive number of steps", lambda v: v > 0)
    return _count(value, v)


def _step(step) -> float:
    """The step as a Python float (an int, a NumPy integer or a 0-d array)."""
    return float(step)


class LearningRateSchedule(Configurable):
    """Base class: ``__call__(step) -> float`` and ``get_config()``.

    Subclass it for a custom schedule; give it ``get_config`` (and register it
    with ``xn.optimizers.schedules`` if it must be saved by name).
    """

    def __call__(self, step) -> float:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(step).")

    def get_config(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement get_config().")


@_registry.register("ExponentialDecay")
class ExponentialDecay(LearningRateSchedule):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive; the rate is multiplied by ``decay_rate`` every
            ``decay_steps`` steps.
        decay_rate: positive factor.
        staircase: decay in discrete jumps.
        name: label kept in the config.

    >>> s = ExponentialDecay(1.0, decay_steps=2, decay_rate=0.5, staircase=True)
    >>> [s(k) for k in range(5)]
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="ExponentialDecay",
    ):
        owner = type(self).__name__
        self.initial_learning_rate = _rate(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps(owner, "decay_steps", decay_steps)
        self.decay_rate = _number(
            owner, "decay_rate", decay_rate, "a positive finite number", lambda v: v > 0
        )
        self.staircase = _checks.boolean(type(self).__name__, "staircase", staircase)
        self.name = name

    def __call__(self, step) -> float:
        p = _step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


@_registry.register("PiecewiseConstantDecay")
class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary.

    Args:
        boundaries: strictly increasing step counts.
        values: one more learning rate than boundaries.
        name: label kept in the config.

    >>> s = PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1])
    >>> [s(k) for k in range(6)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        owner = type(self).__name__
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"{owner}: expected one more value than boundaries. Received: "
                f"boundaries={boundaries} ({len(boundaries)}), values={values} ({len(values)})"
            )
        for i, b in enumerate(boundaries):
            _number(owner, f"boundaries[{i}]", b, "a finite step count", lambda v: True)
        if any(b1 >= b2 for b1, b2 in itertools.pairwise(boundaries)):
            raise ValueError(
                f"{owner}: expected strictly increasing boundaries. Received: "
                f"boundaries={boundaries}"
            )
        self.boundaries = boundaries
        self.values = [_rate(owner, f"values[{i}]", v) for i, v in enumerate(values)]
        self.name = name

    def __call__(self, step) -> float:
        step = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


@_registry.register("PolynomialDecay")
class PolynomialDecay(LearningRateSchedule):
    """``(initial - end) * (1 - step / decay_steps) ** power + end``, step capped at decay_steps.

    With ``cycle=True`` the step is not capped: ``decay_steps`` is stretched to
    the first multiple of itself at or beyond the step (Keras's cycling), so the
    rate jumps back up and decays again.

    >>> s = PolynomialDecay(1.0, decay_steps=4, end_learning_rate=0.0, power=1.0)
    >>> [s(k) for k in range(6)]
    [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        end_learning_rate=0.0001,
        power=1.0,
        cycle=False,
        name="PolynomialDecay",
    ):
        owner = type(self).__name__
        self.initial_learning_rate = _rate(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps(owner, "decay_steps", decay_steps)
        self.end_learning_rate = _rate(owner, "end_learning_rate", end_learning_rate)
        self.power = _number(owner, "power", power, "a finite number >= 0", lambda v: v >= 0)
        self.cycle = _checks.boolean(type(self).__name__, "cycle", cycle)
        self.name = name

    def __call__(self, step) -> float:
        step = _step(step)
        decay_steps = self.decay_steps
        if self.cycle:
            multiplier = 1.0 if step == 0 else math.ceil(step / self.decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        span = self.initial_learning_rate - self.end_learning_rate
        return span * (1.0 - p) ** self.power + self.end_learning_rate

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


@_registry.register("InverseTimeDecay")
class InverseTimeDecay(LearningRateSchedule):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    With ``staircase=True``, ``step / decay_steps`` is floored.

    >>> s = InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)
    >>> [s(k) for k in range(3)]
    [1.0, 0.6666666666666666, 0.5]
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="InverseTimeDecay",
    ):
        owner = type(self).__name__
        self.initial_learning_rate = _rate(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps(owner, "decay_steps", decay_steps)
        self.decay_rate = _number(
            owner, "decay_rate", decay_rate, "a finite number >= 0", lambda v: v >= 0
        )
        self.staircase = _checks.boolean(type(self).__name__, "staircase", staircase)
        self.name = name

    def __call__(self, step) -> float:
        p = _step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


def _cosine(fraction: float, alpha: float) -> float:
    """``(1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha``."""
    return (1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * fraction)) + alpha


@_registry.register("CosineDecay")
class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay (SGDR without restarts).

    Without ``warmup_target``: ``initial * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps))
    + alpha)`` with ``s = min(step, decay_steps)``. With ``warmup_target``, the
    rate first rises linearly from ``initial_learning_rate`` to ``warmup_target``
    over ``warmup_steps`` steps, then decays from ``warmup_target`` the same way
    over the next ``decay_steps`` steps.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive length of the cosine decay.
        alpha: the final rate as a fraction of the decay's starting rate, in [0, 1].
        name: label kept in the config.
        warmup_target: the rate reached at the end of the warmup (None: no warmup).
        warmup_steps: length of the warmup (>= 0).

    >>> s = CosineDecay(1.0, decay_steps=2)
    >>> [round(s(k), 6) for k in range(4)]
    [1.0, 0.5, 0.0, 0.0]
    >>> w = CosineDecay(0.0, decay_steps=2, warmup_target=1.0, warmup_steps=2)
    >>> [round(w(k), 6) for k in range(5)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        alpha=0.0,
        name="CosineDecay",
        warmup_target=None,
        warmup_steps=0,
    ):
        owner = type(self).__name__
        self.initial_learning_rate = _rate(owner, "initial_learning_rate", initial_learning_rate)
        self.decay_steps = _steps(owner, "decay_steps", decay_steps)
        self.alpha = _fraction(owner, "alpha", alpha)
        self.name = name
        self.warmup_target = (
            None if warmup_target is None else _rate(owner, "warmup_target", warmup_target)
        )
        steps = _number(
            owner, "warmup_steps", warmup_steps, "a number of steps >= 0", lambda v: v >= 0
        )
        self.warmup_steps = _count(warmup_steps, steps)

    def __call__(self, step) -> float:
        step = _step(step)
        if self.warmup_target is None:
            fraction = min(step, self.decay_steps) / self.decay_steps
            return self.initial_learning_rate * _cosine(fraction, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return delta * (step / self.warmup_steps) + self.initial_learning_rate
        fraction = (step - self.warmup_steps) / self.decay_steps
        return self.warmup_target * _cosine(fraction, self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


def _restart_start(i: int, t_mul: float) -> float:
    """Where period ``i`` begins, in units of the first period: 1 + t + ... + t**(i-1)."""
    return (1.0 - t_mul**i) / (1.0 - t_mul)


@_registry.register("CosineDecayRestarts")
class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter).

    The multiplier decays from 1 to ``alpha`` over ``first_decay_steps``; then
    the schedule restarts, each period ``t_mul`` times longer than the last and
    starting from ``m_mul`` times the previous peak.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: positive length of the first period.
        t_mul: positive factor on the length of each next period.
        m_mul: factor (>= 0) on the peak of each next period.
        alpha: the floor as a fraction of ``initial_learning_rate``, in [0, 1].
        name: label kept in the config.

    >>> s = CosineDecayRestarts(1.0, first_decay_steps=2, t_mul=1.0)
    >>> [round(s(k), 6) for k in range(5)]
    [1.0, 0.5, 1.0, 0.5, 1.0]
    """

    def __init__(
        self,
        initial_learning_rate,
        first_decay_steps,
        t_mul=2.0,
        m_mul=1.0,
        alpha=0.0,
        name="SGDRDecay",
    ):
        owner = type(self).__name__
        self.initial_learning_rate = _rate(owner, "initial_learning_rate", initial_learning_rate)
        self.first_decay_steps = _steps(owner, "first_decay_steps", first_decay_steps)
        self.t_mul = _number(owner, "t_mul", t_mul, "a positive finite number", lambda v: v > 0)
        self.m_mul = _number(owner, "m_mul", m_mul, "a finite number >= 0", lambda v: v >= 0)
        self.alpha = _fraction(owner, "alpha", alpha)
        self.name = name

    def __call__(self, step) -> float:
        fraction = _step(step) / self.first_decay_steps
        t_mul = self.t_mul
        if t_mul == 1.0:
            restarts = math.floor(fraction)
            fraction -= restarts
        else:
            # Periods have lengths 1, t, t**2, ... (in units of first_decay_steps): the
            # i-th restart begins at (1 - t**i) / (1 - t).
            restarts = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            # Exactly at a restart the log ratio can round to the wrong side of an integer.
            if fraction >= _restart_start(restarts + 1, t_mul):
                restarts += 1
            elif fraction < _restart_start(restarts, t_mul):
                restarts -= 1
            start = _restart_start(restarts, t_mul)
            fraction = (fraction - start) / t_mul**restarts
        peak = self.m_mul**restarts
        cosine = 0.5 * peak * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self.t_mul,
            "m_mul": self.m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


def get(identifier: Any) -> LearningRateSchedule:
    """A schedule from a config dict (``{"class_name": ..., "config": ...}``) or an instance."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(
        f"Cannot interpret learning rate schedule {identifier!r}: expected a "
        "LearningRateSchedule or a config dict with 'class_name' (one of "
        f"{', '.join(names())}) and 'config'."
    )


# the family's JSON forms, straight from its registry
serialize = _registry.serialize
deserialize = _registry.deserialize
names = _registry.names


def register(cls):
    """Class decorator: make a custom schedule loadable by :func:`deserialize`."""
    return _registry.register(cls.__name__)(cls)
