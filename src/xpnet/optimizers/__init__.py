"""Optimizers and learning-rate schedules, with Keras 3's names, arguments and defaults.

>>> import xpnet as xn
>>> opt = xn.optimizers.get("adam")
>>> opt.learning_rate, opt.beta_1
(0.001, 0.9)
>>> xn.optimizers.serialize(xn.optimizers.SGD(0.1))["class_name"]
'SGD'

Every optimizer is an :class:`Optimizer`: the base owns the step loop
(clipping, weight decay, learning-rate schedules, constraints, state), and each
algorithm adds only its state and its ``update_step``.
"""

from __future__ import annotations

from typing import Any

from xpnet.optimizers import schedules
from xpnet.optimizers.adam import Adam, Adamax, AdamW, Nadam
from xpnet.optimizers.adaptive import Adadelta, Adagrad, RMSprop
from xpnet.optimizers.base import Optimizer, _registry, register
from xpnet.optimizers.ftrl import Ftrl
from xpnet.optimizers.layerwise import Adafactor, Lamb
from xpnet.optimizers.lion import Lion
from xpnet.optimizers.loss_scale import LossScaleOptimizer
from xpnet.optimizers.schedules import LearningRateSchedule
from xpnet.optimizers.sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Ftrl",
    "Lamb",
    "LearningRateSchedule",
    "Lion",
    "LossScaleOptimizer",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "deserialize",
    "get",
    "names",
    "register",
    "schedules",
    "serialize",
]


def get(identifier: Any) -> Optimizer:
    """An optimizer from a name (Keras defaults), a config dict, a class or an instance.

    >>> import xpnet as xn
    >>> xn.optimizers.get("rmsprop").rho
    0.9
    >>> xn.optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.5}}).learning_rate
    0.5
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, dict) and identifier.get("class_name") == "LossScaleOptimizer":
        # a wrapper, not an optimizer of its own: never made from a name alone
        return LossScaleOptimizer.from_config(dict(identifier.get("config") or {}))
    if isinstance(identifier, (str, dict)):
        return _registry.get(identifier)
    raise ValueError(
        f"Cannot interpret optimizer identifier {identifier!r}: expected an Optimizer, a "
        f"name (one of {', '.join(names())}) or a config dict with 'class_name' and 'config'."
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name": ..., "config": ...}``, JSON-ready (schedules included)."""
    if isinstance(optimizer, LossScaleOptimizer):
        return {"class_name": "LossScaleOptimizer", "config": optimizer.get_config()}
    return _registry.serialize(optimizer)


def deserialize(config: Any) -> Optimizer:
    """Inverse of :func:`serialize` (also takes a name)."""
    if isinstance(config, dict) and config.get("class_name") == "LossScaleOptimizer":
        return get(config)
    return _registry.deserialize(config) if isinstance(config, dict) else get(config)


def names() -> list[str]:
    """Every registered optimizer name."""
    return _registry.names()
