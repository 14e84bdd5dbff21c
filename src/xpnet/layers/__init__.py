"""Layers, with Keras's names and arguments: ``xn.layers.Dense(64, activation="relu")``."""

from xpnet.layers.activation import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from xpnet.layers.base import InputSpec, Layer, clear_session
from xpnet.layers.core import Dense, Identity

__all__ = [
    "ELU",
    "Activation",
    "Dense",
    "Identity",
    "InputSpec",
    "Layer",
    "LeakyReLU",
    "PReLU",
    "ReLU",
    "Softmax",
    "clear_session",
]
