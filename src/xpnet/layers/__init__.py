"""Layers, with Keras's names and arguments: ``xn.layers.Dense(64, activation="relu")``."""

from xpnet.layers.base import InputSpec, Layer, clear_session
from xpnet.layers.core import Dense, Identity

__all__ = ["Dense", "Identity", "InputSpec", "Layer", "clear_session"]
