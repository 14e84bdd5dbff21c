"""Accuracy metrics: binary, categorical, sparse categorical, top-k, and exact equality."""

from __future__ import annotations

from xpnet import backend as B
from xpnet.metrics._base import (
    MeanMetricWrapper,
    _float,
    _floating,
    _functions,
    _labels,
    _pair,
    _registry,
    _zero,
)

# --------------------------------------------------------------------------- per-sample functions


@_functions.register("binary_accuracy")
def binary_accuracy(y_true, y_pred, threshold: float = 0.5):
    """Fraction of outputs on the right side of ``threshold``, per sample (mean of last axis)."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    pred = y_pred > threshold
    true = y_true > 0.5 if _floating(xp, y_true) else y_true != 0
    return xp.mean(_float(xp, pred == true, y_pred), axis=-1)


@_functions.register("categorical_accuracy")
def categorical_accuracy(y_true, y_pred):
    """1 where ``argmax(y_true) == argmax(y_pred)`` (one-hot targets), else 0."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    return _float(xp, xp.argmax(y_true, axis=-1) == xp.argmax(y_pred, axis=-1), y_pred)


@_functions.register("sparse_categorical_accuracy")
def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the integer label equals ``argmax(y_pred)``, else 0."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    y_true = _labels(xp, y_true, y_pred)
    pred = xp.argmax(y_pred, axis=-1)
    if _floating(xp, y_true):
        hit = xp.astype(pred, y_true.dtype) == y_true
    else:
        hit = pred == (y_true if y_true.dtype == pred.dtype else xp.astype(y_true, pred.dtype))
    return _float(xp, hit, y_pred)


def _in_top_k(xp, labels, y_pred, k: int):
    """Whether each label's score is among the ``k`` largest (ties count as inside)."""
    classes = xp.arange(y_pred.shape[-1], device=B.device_of(y_pred))
    mask = xp.astype(labels, classes.dtype)[..., None] == classes
    score = xp.sum(xp.where(mask, y_pred, _zero(xp, y_pred)), axis=-1)
    above = xp.sum(xp.astype(y_pred > score[..., None], xp.int32), axis=-1)
    return _float(xp, above < k, y_pred)


@_functions.register("top_k_categorical_accuracy")
def top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1 where the one-hot target's class is among the ``k`` highest scores."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    return _in_top_k(xp, xp.argmax(y_true, axis=-1), y_pred, k)


@_functions.register("sparse_top_k_categorical_accuracy")
def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5):
    """1 where the integer label is among the ``k`` highest scores."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    labels = _labels(xp, y_true, y_pred)
    if _floating(xp, labels):
        labels = xp.astype(labels, xp.int64)
    return _in_top_k(xp, labels, y_pred, k)


@_functions.register("accuracy")
def accuracy(y_true, y_pred):
    """1 where ``y_true == y_pred`` exactly (Keras's ``Accuracy``), else 0."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    hit = _float(xp, y_true, y_pred) == _float(xp, y_pred, y_pred)
    return _float(xp, hit, y_pred)


# ----------------------------------------------------------------- mean-of-function classes


@_registry.register("accuracy", "acc", "Accuracy")
class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly (for class ids, not probabilities).

    ``compile(metrics=["accuracy"])`` picks the right variant from the loss and
    shapes instead (binary, categorical or sparse categorical accuracy).
    """

    def __init__(self, name: str = "accuracy", dtype=None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


@_registry.register("binary_accuracy", "BinaryAccuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label (per output, averaged).

    >>> import xpnet as xn
    >>> xn.metrics.BinaryAccuracy()([[1], [0], [1]], [[0.9], [0.3], [0.2]])
    0.666...
    """

    def __init__(self, name: str = "binary_accuracy", dtype=None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


@_registry.register("categorical_accuracy", "CategoricalAccuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` hits the one-hot target's class."""

    def __init__(self, name: str = "categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


@_registry.register("sparse_categorical_accuracy", "SparseCategoricalAccuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often ``argmax(y_pred)`` equals the integer label."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


@_registry.register("top_k_categorical_accuracy", "TopKCategoricalAccuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target's class is among the ``k`` highest scores."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


@_registry.register("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest scores."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
