"""Multi-label metrics: each label an independent yes/no decision with its own threshold."""

from __future__ import annotations

from collections.abc import Sequence

from xpnet import _checks
from xpnet import backend as B
from xpnet.metrics._base import (
    Mean,
    Metric,
    _add,
    _float,
    _floating,
    _host,
    _pair,
    _registry,
    _weights,
    _zero,
)
from xpnet.metrics.confusion import _safe_div

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
        self.from_logits = _checks.boolean(type(self).__name__, "from_logits", from_logits)
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

    state_names = ("tp", "fp", "fn")

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
