"""``clone_model``: the same architecture with freshly initialized weights, as in Keras."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xpnet.layers.base import Layer
from xpnet.layers.serialization import custom_object_scope
from xpnet.layers.symbolic import InputLayer
from xpnet.models.functional import Functional
from xpnet.models.sequential import Sequential

__all__ = ["clone_model"]


def _fresh(layer: Layer) -> Layer:
    return type(layer).from_config(layer.get_config())


def _classes(model: Layer) -> dict[str, type]:
    found = {type(model).__name__: type(model)}
    for layer in model.layers:
        found.setdefault(type(layer).__name__, type(layer))
        if hasattr(layer, "layers") and layer is not model:
            found.update({k: v for k, v in _classes(layer).items() if k not in found})
    return found


def clone_model(
    model: Layer,
    input_tensors: Any = None,
    clone_function: Callable[[Layer], Layer] | None = None,
    **kwargs: Any,
) -> Layer:
    """A new model with ``model``'s architecture and new weights (initializers run again).

    Args:
        model: a Sequential or functional model.
        input_tensors: not supported (the clone makes its own inputs).
        clone_function: for a Sequential model, ``layer -> new layer`` (default: the
            layer rebuilt from its config); returning the layer itself shares it.

    Weights are not copied: call ``clone.set_weights(model.get_weights())`` for that.
    A subclassed model has no architecture to copy; construct a new instance instead.
    """
    if input_tensors is not None or kwargs:
        raise ValueError(
            "clone_model: input_tensors= and other options are not supported; the clone gets "
            "inputs of the same shapes as the original's."
        )
    if isinstance(model, Sequential):
        clone = Sequential(name=model.name)
        if model.input_shape is not None:
            clone.add(InputLayer(batch_shape=model.input_shape, dtype=model._shapes.dtype))
        for layer in model.layers:
            clone.add((clone_function or _fresh)(layer))
        return clone
    if isinstance(model, Functional):
        if clone_function is not None:
            raise ValueError(
                "clone_model: clone_function= is supported for Sequential models only; a "
                "functional model is cloned from its config."
            )
        with custom_object_scope(_classes(model)):
            return Functional.from_config(model.get_config())
    raise ValueError(
        f"clone_model expects a Sequential or functional model; received "
        f"{type(model).__name__}, a subclassed model (its architecture is Python code): "
        "construct a new instance instead."
    )
