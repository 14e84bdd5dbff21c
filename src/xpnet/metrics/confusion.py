"""Metrics from confusion counts: precision, recall, F1, AUC (ROC and precision-recall)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from xpnet import _checks
from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.metrics._base import (
    Metric,
    _add,
    _align,
    _float,
    _floating,
    _host,
    _pair,
    _registry,
    _weights,
    _zero,
)

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

    state_names = ("tp", "fp", "fn", "tn")

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

    state_names = ("tp", "fp", "fn", "support")

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
        b2 = getattr(self, "beta", 1.0) ** 2  # F-beta: (1 + b^2) P R / (b^2 P + R)
        den = b2 * p + r
        f1 = np.divide((1 + b2) * p * r, den, out=np.zeros_like(p), where=den > 0)
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
        self.multi_label = _checks.boolean(type(self).__name__, "multi_label", multi_label)
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else [float(w) for w in label_weights]
        self.from_logits = _checks.boolean(type(self).__name__, "from_logits", from_logits)
        super().__init__(name=name, dtype=dtype)

    state_names = ("tp", "fp", "fn", "tn")

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
