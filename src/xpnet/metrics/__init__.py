"""Metrics, with Keras's names: stateful objects that accumulate over an epoch.

``update_state(y_true, y_pred, sample_weight=None)`` adds a batch,
``result()`` gives the value so far (a Python float; a NumPy array for
per-class results), ``reset_state()`` starts again. The running sums stay on
the backend and device of the predictions, so updating a metric during
training never copies anything to the host; only ``result()`` does.

Multi-class (one label per sample: softmax outputs, ``categorical_accuracy``,
``sparse_categorical_accuracy``, ``top_k``, ``F1Score``) and multi-label
(any subset of labels per sample: sigmoid outputs, one threshold per label,
``MultiLabelAccuracy``/``MultiLabelPrecision``/``MultiLabelRecall``) are kept
apart, as in the course notes.

>>> import xpnet as xn
>>> m = xn.metrics.get("sparse_categorical_accuracy")
>>> m.update_state([1, 0], [[0.2, 0.8], [0.4, 0.6]])
>>> m.result()
0.5
"""

from __future__ import annotations

from typing import Any

from xpnet.metrics._base import Mean, MeanMetricWrapper, Metric, _registry
from xpnet.metrics.accuracy import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from xpnet.metrics.confusion import AUC, F1Score, Precision, Recall
from xpnet.metrics.counts import (
    FalseNegatives,
    FalsePositives,
    FBetaScore,
    TrueNegatives,
    TruePositives,
)
from xpnet.metrics.iou import BinaryIoU, IoU, MeanIoU
from xpnet.metrics.multilabel import MultiLabelAccuracy, MultiLabelPrecision, MultiLabelRecall
from xpnet.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from xpnet.metrics.regression import (
    MeanAbsoluteError,
    MeanSquaredError,
    R2Score,
    RootMeanSquaredError,
    mean_absolute_error,
    mean_squared_error,
)

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "BinaryCrossentropy",
    "BinaryIoU",
    "CategoricalAccuracy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "F1Score",
    "FBetaScore",
    "FalseNegatives",
    "FalsePositives",
    "Hinge",
    "IoU",
    "KLDivergence",
    "LogCoshError",
    "Mean",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanIoU",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Metric",
    "MultiLabelAccuracy",
    "MultiLabelPrecision",
    "MultiLabelRecall",
    "Poisson",
    "Precision",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy",
    "SquaredHinge",
    "TopKCategoricalAccuracy",
    "TrueNegatives",
    "TruePositives",
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "deserialize",
    "get",
    "mean_absolute_error",
    "mean_squared_error",
    "serialize",
    "sparse_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]

for _name in ("Mean", "MeanMetricWrapper"):
    _registry.add(_name, globals()[_name])

_FUNCTION_CLASSES = {
    accuracy: Accuracy,
    binary_accuracy: BinaryAccuracy,
    categorical_accuracy: CategoricalAccuracy,
    sparse_categorical_accuracy: SparseCategoricalAccuracy,
    top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
}


# --------------------------------------------------------------------------- lookup


def get(identifier: Any) -> Metric:
    """A :class:`Metric` instance from a name, a config dict, a class, a function or an instance.

    Names of functions ("mse", "binary_accuracy", ...) give the matching
    metric object named by the string, as ``compile`` logs it; a plain
    callable ``fn(y_true, y_pred)`` is wrapped in :class:`MeanMetricWrapper`.
    """
    if isinstance(identifier, Metric):
        return identifier
    if identifier is None:
        raise ValueError("metrics.get(None): expected a metric name, object or callable.")
    if (
        callable(identifier)
        and not isinstance(identifier, type)
        and identifier in _FUNCTION_CLASSES
    ):
        metric = _FUNCTION_CLASSES[identifier]()
    elif callable(identifier) and not isinstance(identifier, type):
        metric = MeanMetricWrapper(identifier)
    else:
        metric = _registry.get(identifier)
    if isinstance(identifier, str):
        metric.name = identifier
    return metric


def serialize(metric: Metric) -> Any:
    """A JSON-ready form of ``metric``: ``{"class_name": ..., "config": ...}``."""
    return _registry.serialize(metric)


def deserialize(config: Any) -> Metric:
    return get(config)


def names() -> list[str]:
    return _registry.names()
