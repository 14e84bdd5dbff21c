"""Activation functions, with Keras's names: ``xn.activations.get("relu")``.

Each takes a Tensor and returns a Tensor; ``get(None)`` is ``linear``.

>>> import xpnet as xn
>>> xn.to_numpy(xn.activations.relu(xn.Tensor([-1.0, 2.0]))).tolist()
[0.0, 2.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xpnet import ops
from xpnet._registry import Registry

__all__ = ["get", "linear", "log_softmax", "relu", "serialize", "sigmoid", "softmax", "tanh"]

_registry = Registry("activation")


@_registry.register("linear")
def linear(x):
    """Identity: ``f(x) = x``."""
    return x


@_registry.register("relu")
def relu(x):
    """max(x, 0)."""
    return ops.relu(x)


@_registry.register("sigmoid")
def sigmoid(x):
    """1 / (1 + exp(-x)), finite for every float input."""
    return ops.sigmoid(x)


@_registry.register("tanh")
def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


@_registry.register("softmax")
def softmax(x, axis: int = -1):
    """exp(x) / sum(exp(x)) along ``axis``."""
    return ops.softmax(x, axis=axis)


@_registry.register("log_softmax")
def log_softmax(x, axis: int = -1):
    """x - logsumexp(x) along ``axis``."""
    return ops.log_softmax(x, axis=axis)


def get(identifier: Any) -> Callable:
    """An activation function from a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    return _registry.get(identifier)


def serialize(activation: Callable) -> Any:
    """The registered name of ``activation`` (or its config, for a layer-like object)."""
    return _registry.serialize(activation)


def deserialize(config: Any) -> Callable:
    return get(config)


def names() -> list[str]:
    return _registry.names()
