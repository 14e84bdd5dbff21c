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

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from xpnet import backend as B
from xpnet._registry import Registry
from xpnet.backend import host_numpy as np
from xpnet.tensor import Tensor

__all__ = [
    "AUC",
    "Accuracy",
    "BinaryAccuracy",
    "CategoricalAccuracy",
    "F1Score",
    "Mean",
    "MeanAbsoluteError",
    "MeanMetricWrapper",
    "MeanSquaredError",
    "Metric",
    "MultiLabelAccuracy",
    "MultiLabelPrecision",
    "MultiLabelRecall",
    "Precision",
    "R2Score",
    "Recall",
    "RootMeanSquaredError",
    "SparseCategoricalAccuracy",
    "SparseTopKCategoricalAccuracy",
    "TopKCategoricalAccuracy",
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

_registry = Registry("metric")
_functions = Registry("metric function")  # per-sample functions (for MeanMetricWrapper configs)


# --------------------------------------------------------------------------- array helpers


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _pair(y_true, y_pred):
    """Raw arrays on y_pred's backend and device, and their namespace."""
    t = type(y_pred)
    if t is type(y_true):  # the fit loop's case: both already on the model's backend
        xp = B._ns_by_type.get(t)
        if xp is not None:
            return y_true, y_pred, xp
    y_pred = _raw(y_pred)
    if not B._is_array(y_pred) or isinstance(y_pred, np.generic):
        y_pred = B.asarray(y_pred)
    y_true = _raw(y_true)
    if type(y_true) is not type(y_pred):
        y_true = _like(y_true, y_pred)
    return y_true, y_pred, B.namespace(y_pred)


def _like(value, ref):
    """``value`` (any array, list or scalar) on ``ref``'s backend and device."""
    xp = B.namespace(ref)
    host = np.asarray(B.to_numpy(value) if B._is_array(value) else value)
    if host.dtype == np.float64:  # never let float64 promote float32 predictions
        host = host.astype(B._np_dtype(ref.dtype) if _floating(xp, ref) else np.float32)
    if isinstance(ref, np.ndarray):
        return host
    if not host.flags.writeable:
        host = host.copy()
    return xp.asarray(host, device=B.device_of(ref))


_FLOATING: dict[Any, bool] = {}


def _floating(xp, a) -> bool:
    dt = a.dtype
    key = (type(dt), dt)  # never compare dtypes of two libraries (strict warns)
    known = _FLOATING.get(key)
    if known is None:
        known = _FLOATING[key] = bool(xp.isdtype(dt, "real floating"))
    return known


def _float(xp, a, ref=None):
    """``a`` cast to a float dtype (``ref``'s if floating, else float32)."""
    dt = ref.dtype if ref is not None and _floating(xp, ref) else B.dtype_for(xp, "float32")
    return a if a.dtype == dt else xp.astype(a, dt)


def _labels(xp, y_true, y_pred):
    """Sparse labels as a 1-D-per-sample array matching ``argmax(y_pred, -1)``'s shape."""
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = xp.reshape(y_true, y_true.shape[:-1])
    return y_true


def _weights(xp, sample_weight, values):
    """``sample_weight`` on ``values``' backend, broadcastable to ``values``."""
    w = _raw(sample_weight)
    if type(w) is not type(values):
        w = _like(w, values)
    w = _float(xp, w, values)
    while w.ndim > values.ndim and w.shape[-1] == 1:
        w = xp.reshape(w, w.shape[:-1])
    while w.ndim < values.ndim:
        w = xp.expand_dims(w, axis=-1)
    return w


def _align(xp, y_true, y_pred):
    """Targets shaped like the predictions ((n,) vs (n, 1) either way)."""
    if y_true.shape == y_pred.shape:
        return y_true
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        return xp.reshape(y_true, y_true.shape[:-1])
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        return xp.expand_dims(y_true, axis=-1)
    return y_true


def _zero(xp, ref):
    return xp.zeros((), dtype=ref.dtype, device=B.device_of(ref))


def _add(total, value):
    return value if total is None else total + value


def _host(a) -> Any:
    return B.to_numpy(a).astype(np.float64)


# --------------------------------------------------------------------------- base classes


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


class Metric:
    """Base of every metric: ``update_state``, ``result``, ``reset_state``.

    Args:
        name: the name shown in logs (default: the snake-case class name).
        dtype: kept for Keras compatibility; sums take the predictions' dtype.

    ``direction`` ("up" or "down") tells callbacks in ``mode="auto"`` whether
    larger is better.
    """

    direction = "up"

    def __init__(self, name: str | None = None, dtype: str | None = None) -> None:
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def reset_state(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:  # pragma: no cover
        raise NotImplementedError

    def result(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Update with one batch and return the result so far."""
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state(values, sample_weight)``.

    >>> import xpnet as xn
    >>> m = xn.metrics.Mean()
    >>> m.update_state([1.0, 3.0]); m.update_state([5.0])
    >>> m.result()
    3.0
    """

    def reset_state(self) -> None:
        self.total = None
        self.count = 0

    def update_state(self, values, sample_weight=None) -> None:
        values = _raw(values)
        if not B._is_array(values) or isinstance(values, np.generic):
            values = B.asarray(values)
        self._accumulate(B.namespace(values), values, sample_weight)

    def _accumulate(self, xp, values, sample_weight) -> None:
        if sample_weight is None:
            self.total = _add(self.total, xp.sum(values))
            self.count = self.count + math.prod(values.shape)
            return
        w = _weights(xp, sample_weight, values)
        w = xp.broadcast_to(w, values.shape)
        self.total = _add(self.total, xp.sum(values * w))
        self.count = self.count + xp.sum(w)

    def result(self) -> float:
        if self.total is None:
            return 0.0
        count = float(_host(self.count)) if not isinstance(self.count, int) else self.count
        return float(_host(self.total)) / count if count else 0.0


class MeanMetricWrapper(Mean):
    """The mean of a per-sample function ``fn(y_true, y_pred, **kwargs)`` over batches.

    ``fn`` takes raw arrays of one backend and returns one value per sample
    (or per element); ``kwargs`` are stored in the config.
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype=None, **kwargs) -> None:
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"), dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, xp = _pair(y_true, y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        self._accumulate(xp, values, sample_weight)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(self._fn_kwargs)
        if type(self) is MeanMetricWrapper:
            config["fn"] = _functions.serialize(self._fn)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is MeanMetricWrapper:
            return cls(_functions.get(config.pop("fn")), **config)
        return cls(**config)


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


@_functions.register("mean_squared_error", "mse")
def mean_squared_error(y_true, y_pred):
    """mean((y_true - y_pred)**2) over the last axis."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    d = _float(xp, y_true, y_pred) - y_pred
    return xp.mean(d * d, axis=-1)


@_functions.register("mean_absolute_error", "mae")
def mean_absolute_error(y_true, y_pred):
    """mean(|y_true - y_pred|) over the last axis."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    return xp.mean(xp.abs(_float(xp, y_true, y_pred) - y_pred), axis=-1)


@_functions.register("accuracy")
def accuracy(y_true, y_pred):
    """1 where ``y_true == y_pred`` exactly (Keras's ``Accuracy``), else 0."""
    y_true, y_pred, xp = _pair(y_true, y_pred)
    hit = _float(xp, y_true, y_pred) == _float(xp, y_pred, y_pred)
    return _float(xp, hit, y_pred)


def _squared_error(y_true, y_pred):
    y_true, y_pred, xp = _pair(y_true, y_pred)
    d = _float(xp, y_true, y_pred) - y_pred
    return d * d


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


@_registry.register("mean_squared_error", "mse", "MeanSquaredError")
class MeanSquaredError(MeanMetricWrapper):
    """Mean of ``(y_true - y_pred)**2``."""

    direction = "down"

    def __init__(self, name: str = "mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


@_registry.register("mean_absolute_error", "mae", "MeanAbsoluteError")
class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of ``|y_true - y_pred|``."""

    direction = "down"

    def __init__(self, name: str = "mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


@_registry.register("root_mean_squared_error", "rmse", "RootMeanSquaredError")
class RootMeanSquaredError(MeanMetricWrapper):
    """sqrt of the mean squared error over all elements seen.

    >>> import xpnet as xn
    >>> round(xn.metrics.RootMeanSquaredError()([[0.0], [0.0]], [[3.0], [4.0]]), 4)
    3.5355
    """

    direction = "down"

    def __init__(self, name: str = "root_mean_squared_error", dtype=None):
        super().__init__(_squared_error, name=name, dtype=dtype)

    def result(self) -> float:
        return math.sqrt(super().result())


# --------------------------------------------------------------------------- confusion counts


def _thresholds(thresholds, default: float) -> tuple[list[float], bool]:
    if thresholds is None:
        return [default], True
    if isinstance(thresholds, (int, float)):
        return [float(thresholds)], True
    values = [float(t) for t in thresholds]
    if not values:
        raise ValueError("thresholds must not be empty.")
    return values, False


def _filter_top_k(xp, y_pred, k: int):
    """Keep the ``k`` largest scores of each row; the others become -inf."""
    kth = xp.sort(y_pred, axis=-1, descending=True)[..., k - 1 : k]
    low = xp.full((), -math.inf, dtype=y_pred.dtype, device=B.device_of(y_pred))
    return xp.where(y_pred >= kth, y_pred, low)


class _Confusion(Metric):
    """True/false positive and negative counts at one or more thresholds."""

    _default_threshold = 0.5

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        default = self._default_threshold if top_k is None else -math.inf
        self.thresholds, self._single = _thresholds(thresholds, default)
        self.top_k = top_k
        self.class_id = class_id
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.tp = self.fp = self.fn = self.tn = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, xp = _pair(y_true, y_pred)
        if self.top_k is not None:
            y_pred = _filter_top_k(xp, y_pred, self.top_k)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        y_true = _align(xp, y_true, y_pred)
        true = y_true > 0.5 if _floating(xp, y_true) else y_true != 0
        true = xp.reshape(xp.broadcast_to(true, y_pred.shape), (-1, 1))
        thr = xp.asarray(self.thresholds, dtype=y_pred.dtype, device=B.device_of(y_pred))
        pos = xp.reshape(y_pred, (-1, 1)) > thr
        w = xp.ones_like(xp.reshape(y_pred, (-1, 1)))
        if sample_weight is not None:
            sw = _weights(xp, sample_weight, y_pred)
            w = w * xp.reshape(xp.broadcast_to(sw, y_pred.shape), (-1, 1))
        zero = _zero(xp, y_pred)
        self.tp = _add(self.tp, xp.sum(xp.where(pos & true, w, zero), axis=0))
        self.fp = _add(self.fp, xp.sum(xp.where(pos & ~true, w, zero), axis=0))
        self.fn = _add(self.fn, xp.sum(xp.where(~pos & true, w, zero), axis=0))
        self.tn = _add(self.tn, xp.sum(xp.where(~pos & ~true, w, zero), axis=0))

    def _ratio(self, num, den):
        if num is None:
            return 0.0 if self._single else np.zeros(len(self.thresholds))
        num, den = _host(num), _host(den)
        out = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return float(out[0]) if self._single else out

    def get_config(self):
        config = super().get_config()
        config.update(thresholds=self.init_thresholds, top_k=self.top_k, class_id=self.class_id)
        return config


@_registry.register("precision", "Precision")
class Precision(_Confusion):
    """TP / (TP + FP) over every output element, at ``thresholds`` (default 0.5).

    With ``top_k`` only the k highest scores of a row count as predicted
    positive; ``class_id`` restricts to one column.

    >>> import xpnet as xn
    >>> xn.metrics.Precision()([0, 1, 1, 1], [1.0, 1.0, 0.0, 0.0])
    0.5
    """

    def result(self):
        return self._ratio(self.tp, None if self.tp is None else self.tp + self.fp)


@_registry.register("recall", "Recall")
class Recall(_Confusion):
    """TP / (TP + FN) over every output element, at ``thresholds`` (default 0.5).

    >>> import xpnet as xn
    >>> xn.metrics.Recall()([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0])
    0.666...
    """

    def result(self):
        return self._ratio(self.tp, None if self.tp is None else self.tp + self.fn)


@_registry.register("f1_score", "f1", "F1Score")
class F1Score(Metric):
    """F1 per class of one-hot (or multi-label) targets: 2PR / (P + R).

    Without ``threshold`` the highest score of each row is the prediction
    (multi-class); with it, every score above ``threshold`` is (multi-label).
    ``average``: None (a NumPy array, one score per class, as Keras),
    "micro" (counts pooled), "macro" (plain mean) or "weighted" (by support).

    >>> import xpnet as xn
    >>> f1 = xn.metrics.F1Score(average="macro")
    >>> f1([[1, 0], [0, 1], [0, 1]], [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]])
    0.666...
    """

    def __init__(
        self,
        average: str | None = None,
        threshold: float | None = None,
        name: str = "f1_score",
        dtype=None,
    ) -> None:
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError(
                f"F1Score: average must be None, 'micro', 'macro' or 'weighted'; got {average!r}."
            )
        if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"F1Score: threshold must be in [0, 1]; got {threshold!r}.")
        self.average = average
        self.threshold = threshold
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.tp = self.fp = self.fn = self.support = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, xp = _pair(y_true, y_pred)
        if self.threshold is None:
            pred = y_pred >= xp.max(y_pred, axis=-1, keepdims=True)
        else:
            pred = y_pred > self.threshold
        pred = _float(xp, pred, y_pred)
        true = _float(xp, y_true, y_pred)
        w = xp.ones_like(y_pred)
        if sample_weight is not None:
            w = w * _weights(xp, sample_weight, y_pred)
        axes = tuple(range(y_pred.ndim - 1))
        self.tp = _add(self.tp, xp.sum(pred * true * w, axis=axes))
        self.fp = _add(self.fp, xp.sum(pred * (1.0 - true) * w, axis=axes))
        self.fn = _add(self.fn, xp.sum((1.0 - pred) * true * w, axis=axes))
        self.support = _add(self.support, xp.sum(true * w, axis=axes))

    def result(self):
        if self.tp is None:
            return 0.0 if self.average else np.zeros(0)
        tp, fp, fn, support = (_host(a) for a in (self.tp, self.fp, self.fn, self.support))
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=(tp + fp) > 0)
        r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=(tp + fn) > 0)
        f1 = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
        if self.average is None:
            return f1
        if self.average == "micro":
            return float(f1)
        if self.average == "macro":
            return float(f1.mean())
        return float((f1 * support).sum() / support.sum()) if support.sum() else 0.0

    def get_config(self):
        config = super().get_config()
        config.update(average=self.average, threshold=self.threshold)
        return config


# --------------------------------------------------------------------------- AUC


@_registry.register("auc", "AUC")
class AUC(Metric):
    """Area under the ROC or precision-recall curve, from counts at fixed thresholds.

    ``num_thresholds`` thresholds are spread evenly over [0, 1] (plus one just
    below 0 and one just above 1); the counts at each are summed over batches
    and the curve is integrated by ``summation_method``: "interpolation"
    (trapezoids for ROC; for PR, precision interpolated as Davis & Goadrich
    2006 describe), "minoring" or "majoring" (left/right Riemann sums).
    ``multi_label`` computes one AUC per label and averages them (weighted by
    ``label_weights``); otherwise every output element is one prediction.

    >>> import xpnet as xn
    >>> round(xn.metrics.AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 2)
    0.75
    """

    def __init__(
        self,
        num_thresholds: int = 200,
        curve: str = "ROC",
        summation_method: str = "interpolation",
        name: str | None = None,
        dtype=None,
        thresholds: Sequence[float] | None = None,
        multi_label: bool = False,
        num_labels: int | None = None,
        label_weights: Sequence[float] | None = None,
        from_logits: bool = False,
    ) -> None:
        curve = str(curve).upper()
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR'; got {curve!r}.")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(
                "AUC: summation_method must be 'interpolation', 'minoring' or 'majoring'; "
                f"got {summation_method!r}."
            )
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            num_thresholds = len(inner) + 2
        else:
            if num_thresholds <= 1:
                raise ValueError(f"AUC: num_thresholds must be > 1; got {num_thresholds}.")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        eps = 1e-7
        self._thr = [0.0 - eps, *inner, 1.0 + eps]
        self.num_thresholds = num_thresholds
        self.init_thresholds = None if thresholds is None else list(thresholds)
        self.curve = curve
        self.summation_method = summation_method
        self.multi_label = bool(multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else [float(w) for w in label_weights]
        self.from_logits = bool(from_logits)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.tp = self.fp = self.fn = self.tn = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, xp = _pair(y_true, y_pred)
        if self.from_logits:
            y_pred = 1.0 / (1.0 + xp.exp(-y_pred))
        y_true = _align(xp, y_true, y_pred)
        true = y_true > 0.5 if _floating(xp, y_true) else y_true != 0
        true = xp.broadcast_to(true, y_pred.shape)
        w = xp.ones_like(y_pred)
        if sample_weight is not None:
            w = w * _weights(xp, sample_weight, y_pred)
        if self.label_weights is not None and not self.multi_label:
            w = w * xp.asarray(self.label_weights, dtype=y_pred.dtype, device=B.device_of(y_pred))
        if self.multi_label:  # (samples, labels) -> counts per (threshold, label)
            n_lab = y_pred.shape[-1]
            shape = (-1, 1, n_lab)
        else:
            shape = (-1, 1)
        thr = xp.asarray(self._thr, dtype=y_pred.dtype, device=B.device_of(y_pred))
        thr = thr[:, None] if self.multi_label else thr
        pos = xp.reshape(y_pred, shape) > thr
        t = xp.reshape(true, shape)
        w = xp.reshape(w, shape)
        zero = _zero(xp, y_pred)
        self.tp = _add(self.tp, xp.sum(xp.where(pos & t, w, zero), axis=0))
        self.fp = _add(self.fp, xp.sum(xp.where(pos & ~t, w, zero), axis=0))
        self.fn = _add(self.fn, xp.sum(xp.where(~pos & t, w, zero), axis=0))
        self.tn = _add(self.tn, xp.sum(xp.where(~pos & ~t, w, zero), axis=0))

    def result(self) -> float:
        if self.tp is None:
            return 0.0
        tp, fp, fn, tn = (_host(a) for a in (self.tp, self.fp, self.fn, self.tn))
        if not self.multi_label:
            return float(self._area(tp, fp, fn, tn))
        per_label = np.array(
            [self._area(*(a[:, j] for a in (tp, fp, fn, tn))) for j in range(tp.shape[1])]
        )
        if self.label_weights is None:
            return float(per_label.mean())
        w = np.asarray(self.label_weights)
        return float((per_label * w).sum() / w.sum())

    def _area(self, tp, fp, fn, tn) -> float:
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _pr_auc_interpolated(tp, fp, fn)
        if self.curve == "ROC":
            x = _safe_div(fp, fp + tn)  # false positive rate
            y = _safe_div(tp, tp + fn)  # true positive rate
        else:
            x = _safe_div(tp, tp + fn)  # recall
            y = _safe_div(tp, tp + fp)  # precision
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def get_config(self):
        config = super().get_config()
        config.update(
            num_thresholds=self.num_thresholds,
            curve=self.curve,
            summation_method=self.summation_method,
            thresholds=self.init_thresholds,
            multi_label=self.multi_label,
            num_labels=self.num_labels,
            label_weights=self.label_weights,
            from_logits=self.from_logits,
        )
        return config


def _safe_div(a, b):
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def _pr_auc_interpolated(tp, fp, fn) -> float:
    """PR area with precision interpolated between thresholds (Davis & Goadrich 2006).

    Between two successive thresholds TP and P = TP + FP are taken to vary
    linearly, so precision = TP/P is a ratio of lines; its integral over
    recall has the closed form summed below.
    """
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _safe_div(dtp, np.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _safe_div(p[:-1], np.maximum(p[1:], 0)), 1.0)
    pos = np.maximum(tp[1:] + fn[1:], 0)
    inc = _safe_div(slope * (dtp + intercept * np.log(ratio)), pos)
    return float(np.sum(inc))


# --------------------------------------------------------------------------- R2


@_registry.register("r2_score", "r2", "R2Score")
class R2Score(Metric):
    """Coefficient of determination 1 - SS_res / SS_tot, per output, then aggregated.

    ``class_aggregation``: "uniform_average" (mean over outputs),
    "variance_weighted_average" (weighted by each output's variance) or None
    (a NumPy array). ``num_regressors`` > 0 gives the adjusted R2.

    >>> import xpnet as xn
    >>> xn.metrics.R2Score()([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
    0.5
    """

    def __init__(
        self,
        class_aggregation: str | None = "uniform_average",
        num_regressors: int = 0,
        name: str = "r2_score",
        dtype=None,
    ) -> None:
        if class_aggregation not in (None, "uniform_average", "variance_weighted_average"):
            raise ValueError(
                "R2Score: class_aggregation must be None, 'uniform_average' or "
                f"'variance_weighted_average'; got {class_aggregation!r}."
            )
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0; got {num_regressors}.")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.sum_y = self.sum_y2 = self.sum_res = self.count = None
        self.num_samples = 0

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, xp = _pair(y_true, y_pred)
        dt = y_pred.dtype
        if B.has_float64(xp):  # SS_tot = sum(y^2) - sum(y)^2/n cancels badly in float32
            dt = B.dtype_for(xp, "float64")
        y_pred = xp.astype(y_pred, dt)
        y_true = xp.astype(y_true, dt)
        if y_true.ndim == 1:
            y_true, y_pred = y_true[:, None], y_pred[:, None]
        w = xp.ones_like(y_true[:, :1])
        if sample_weight is not None:
            w = w * xp.astype(_weights(xp, sample_weight, y_true), dt)
        self.sum_y = _add(self.sum_y, xp.sum(w * y_true, axis=0))
        self.sum_y2 = _add(self.sum_y2, xp.sum(w * y_true * y_true, axis=0))
        self.sum_res = _add(self.sum_res, xp.sum(w * (y_true - y_pred) ** 2, axis=0))
        self.count = _add(self.count, xp.sum(xp.broadcast_to(w, y_true.shape), axis=0))
        self.num_samples += int(y_true.shape[0])

    def result(self):
        if self.sum_y is None:
            return 0.0
        sy, sy2, res, n = (_host(a) for a in (self.sum_y, self.sum_y2, self.sum_res, self.count))
        mean = _safe_div(sy, n)
        tot = sy2 - sy * mean
        r2 = 1.0 - _safe_div(res, tot)
        r2 = np.where(tot > 0, r2, 0.0)
        if self.class_aggregation is None:
            score = r2
        elif self.class_aggregation == "uniform_average":
            score = float(r2.mean())
        else:
            score = float((r2 * tot).sum() / tot.sum()) if tot.sum() > 0 else 0.0
        k = self.num_regressors
        if k:
            m = self.num_samples
            if m - k - 1 <= 0:
                raise ValueError(
                    f"R2Score: adjusted R2 needs more samples ({m}) than num_regressors + 1 "
                    f"({k + 1})."
                )
            score = 1 - (1 - np.asarray(score)) * (m - 1) / (m - k - 1)
            score = float(score) if self.class_aggregation else score
        return score

    def get_config(self):
        config = super().get_config()
        config.update(class_aggregation=self.class_aggregation, num_regressors=self.num_regressors)
        return config


# --------------------------------------------------------------------------- multi-label


def _label_thresholds(xp, threshold, ref):
    t = threshold if isinstance(threshold, (int, float)) else list(threshold)
    return xp.asarray(t, dtype=ref.dtype, device=B.device_of(ref))


class _MultiLabel(Metric):
    """Shared parts: per-label thresholds (a number or one per label), logits."""

    def __init__(
        self,
        threshold: float | Sequence[float] = 0.5,
        from_logits: bool = False,
        name=None,
        dtype=None,
    ) -> None:
        self.threshold = threshold if isinstance(threshold, (int, float)) else list(threshold)
        self.from_logits = bool(from_logits)
        super().__init__(name=name, dtype=dtype)

    def _decide(self, y_true, y_pred):
        y_true, y_pred, xp = _pair(y_true, y_pred)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__}: multi-label targets must be 0/1 rows shaped like the "
                f"predictions; got y_true {tuple(y_true.shape)} and y_pred "
                f"{tuple(y_pred.shape)}. For one class per sample use the categorical metrics."
            )
        if self.from_logits:
            y_pred = 1.0 / (1.0 + xp.exp(-y_pred))
        pred = y_pred > _label_thresholds(xp, self.threshold, y_pred)
        true = y_true > 0.5 if _floating(xp, y_true) else y_true != 0
        return xp, pred, true, y_pred

    def get_config(self):
        config = super().get_config()
        config.update(threshold=self.threshold, from_logits=self.from_logits)
        return config


@_registry.register("multilabel_accuracy", "MultiLabelAccuracy")
class MultiLabelAccuracy(_MultiLabel):
    """Accuracy for multi-label outputs, each label decided by its own threshold.

    ``mode``: "exact" (subset accuracy: a sample counts only when all its
    labels are right), "hamming" (the fraction of label decisions that are
    right) or "jaccard" (per sample |true ∩ predicted| / |true ∪ predicted|,
    1 when both are empty).

    >>> import xpnet as xn
    >>> y, p = [[1, 0, 1], [0, 1, 0]], [[0.9, 0.2, 0.3], [0.1, 0.7, 0.2]]
    >>> [xn.metrics.MultiLabelAccuracy(mode=m)(y, p) for m in ("exact", "hamming")]
    [0.5, 0.833...]
    """

    def __init__(
        self,
        threshold=0.5,
        mode: str = "exact",
        from_logits: bool = False,
        name: str = "multilabel_accuracy",
        dtype=None,
    ) -> None:
        if mode not in ("exact", "hamming", "jaccard"):
            raise ValueError(
                f"MultiLabelAccuracy: mode must be 'exact', 'hamming' or 'jaccard'; got {mode!r}."
            )
        self.mode = mode
        self._mean = Mean()
        super().__init__(threshold=threshold, from_logits=from_logits, name=name, dtype=dtype)

    def reset_state(self) -> None:
        self._mean.reset_state()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        xp, pred, true, ref = self._decide(y_true, y_pred)
        if self.mode == "exact":
            values = xp.all(pred == true, axis=-1)
        elif self.mode == "hamming":
            values = xp.mean(_float(xp, pred == true, ref), axis=-1)
        else:
            inter = xp.sum(_float(xp, pred & true, ref), axis=-1)
            union = xp.sum(_float(xp, pred | true, ref), axis=-1)
            one = xp.ones_like(union)
            values = xp.where(union > 0, inter / xp.where(union > 0, union, one), one)
        self._mean._accumulate(xp, _float(xp, values, ref), sample_weight)

    def result(self) -> float:
        return self._mean.result()

    def get_config(self):
        config = super().get_config()
        config["mode"] = self.mode
        return config


class _MultiLabelCounts(_MultiLabel):
    """Per-label TP/FP/FN counts; ``average`` "micro" (pooled), "macro" or None (per label)."""

    def __init__(
        self,
        threshold=0.5,
        average: str | None = "micro",
        from_logits: bool = False,
        name=None,
        dtype=None,
    ) -> None:
        if average not in (None, "micro", "macro"):
            raise ValueError(
                f"{type(self).__name__}: average must be 'micro', 'macro' or None; got {average!r}."
            )
        self.average = average
        super().__init__(threshold=threshold, from_logits=from_logits, name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.tp = self.fp = self.fn = None

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        xp, pred, true, ref = self._decide(y_true, y_pred)
        w = xp.ones_like(ref)
        if sample_weight is not None:
            w = w * _weights(xp, sample_weight, ref)
        zero = _zero(xp, ref)
        axes = tuple(range(ref.ndim - 1))
        self.tp = _add(self.tp, xp.sum(xp.where(pred & true, w, zero), axis=axes))
        self.fp = _add(self.fp, xp.sum(xp.where(pred & ~true, w, zero), axis=axes))
        self.fn = _add(self.fn, xp.sum(xp.where(~pred & true, w, zero), axis=axes))

    def _score(self, num, other):
        if num is None:
            return 0.0
        num, other = _host(num), _host(other)
        if self.average == "micro":
            num, other = num.sum(), other.sum()
            return float(num / (num + other)) if num + other > 0 else 0.0
        per = _safe_div(num, num + other)
        return per if self.average is None else float(per.mean())

    def get_config(self):
        config = super().get_config()
        config["average"] = self.average
        return config


@_registry.register("multilabel_precision", "MultiLabelPrecision")
class MultiLabelPrecision(_MultiLabelCounts):
    """Precision of multi-label decisions (each label by its own threshold).

    >>> import xpnet as xn
    >>> y, p = [[1, 0, 1], [0, 1, 0]], [[0.9, 0.6, 0.3], [0.1, 0.7, 0.2]]
    >>> xn.metrics.MultiLabelPrecision()(y, p)
    0.666...
    """

    def __init__(
        self,
        threshold=0.5,
        average="micro",
        from_logits=False,
        name: str = "multilabel_precision",
        dtype=None,
    ) -> None:
        super().__init__(threshold, average, from_logits, name=name, dtype=dtype)

    def result(self):
        return self._score(self.tp, self.fp)


@_registry.register("multilabel_recall", "MultiLabelRecall")
class MultiLabelRecall(_MultiLabelCounts):
    """Recall of multi-label decisions (each label by its own threshold).

    >>> import xpnet as xn
    >>> y, p = [[1, 0, 1], [0, 1, 0]], [[0.9, 0.6, 0.3], [0.1, 0.7, 0.2]]
    >>> xn.metrics.MultiLabelRecall()(y, p)
    0.666...
    """

    def __init__(
        self,
        threshold=0.5,
        average="micro",
        from_logits=False,
        name: str = "multilabel_recall",
        dtype=None,
    ) -> None:
        super().__init__(threshold, average, from_logits, name=name, dtype=dtype)

    def result(self):
        return self._score(self.tp, self.fn)


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
