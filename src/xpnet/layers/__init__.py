"""Layers, with Keras's names and arguments: ``xn.layers.Dense(64, activation="relu")``."""

from xpnet.layers.activation import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from xpnet.layers.base import InputSpec, Layer, clear_session
from xpnet.layers.core import Dense, Identity
from xpnet.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from xpnet.layers.normalization import (
    BatchNormalization,
    GroupNormalization,
    LayerNormalization,
    Normalization,
    RMSNormalization,
    UnitNormalization,
)
from xpnet.layers.regularization import (
    ActivityRegularization,
    AlphaDropout,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
)
from xpnet.layers.reshaping import Flatten, Permute, RepeatVector, Reshape

__all__ = [
    "ELU",
    "Activation",
    "ActivityRegularization",
    "Add",
    "AlphaDropout",
    "Average",
    "BatchNormalization",
    "Concatenate",
    "Dense",
    "Dot",
    "Dropout",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "GroupNormalization",
    "Identity",
    "InputSpec",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Maximum",
    "Minimum",
    "Multiply",
    "Normalization",
    "PReLU",
    "Permute",
    "RMSNormalization",
    "ReLU",
    "RepeatVector",
    "Reshape",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Subtract",
    "UnitNormalization",
    "clear_session",
]
