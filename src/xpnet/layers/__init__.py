"""Layers, with Keras's names and arguments: ``xn.layers.Dense(64, activation="relu")``."""

from xpnet.layers.attention import MultiHeadAttention, TransformerEncoder
from xpnet.layers.base import InputSpec, Layer, clear_session
from xpnet.layers.conv import Conv1D, Conv2D, Conv2DTranspose, DepthwiseConv2D, SeparableConv2D
from xpnet.layers.core import Dense, Identity
from xpnet.layers.embedding import Embedding
from xpnet.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)
from xpnet.layers.recurrent import GRU, LSTM, SimpleRNN
from xpnet.layers.reshaping2d import Cropping2D, UpSampling2D, ZeroPadding2D
from xpnet.layers.wrappers import Bidirectional, TimeDistributed

__all__ = [
    "GRU",
    "LSTM",
    "AveragePooling1D",
    "AveragePooling2D",
    "Bidirectional",
    "Conv1D",
    "Conv2D",
    "Conv2DTranspose",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Embedding",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Identity",
    "InputSpec",
    "Layer",
    "MaxPooling1D",
    "MaxPooling2D",
    "MultiHeadAttention",
    "SeparableConv2D",
    "SimpleRNN",
    "TimeDistributed",
    "TransformerEncoder",
    "UpSampling2D",
    "ZeroPadding2D",
    "clear_session",
]
