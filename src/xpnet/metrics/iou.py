"""Intersection over union from a confusion matrix: ``IoU``, ``MeanIoU``, ``BinaryIoU``
(Keras 3's definitions).

Each batch adds a (num_classes, num_classes) matrix of (weighted) counts, rows the
true class and columns the predicted one, on the predictions' backend and device.
A class's IoU is ``cm[c, c] / (row_c + col_c - cm[c, c])``; the result is the mean
over the target classes that occurred (a denominator of 0 leaves the class out).
"""

from __future__ import annotations

from collections.abc import Sequence

from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.metrics._base import Metric, _add, _float, _floating, _host, _pair, _registry, _weights

__all__ = ["BinaryIoU", "IoU", "MeanIoU"]

_EPSILON = 1e-7  # Keras's backend.epsilon() in its result's denominators


def _class_ids(xp, a, sparse: bool, axis: int):
    if not sparse:
        a = xp.argmax(a, axis=axis)
    if _floating(xp, a):
        a = xp.astype(a, B.dtype_for(xp, "int64"))  # Keras casts to its int dtype (truncates)
    return xp.reshape(a, (-1,))


def _int_list(who: str, name: str, values) -> list[int]:
    try:
        out = [int(v) for v in values]
    except TypeError:
        raise ValueError(f"{who}: {name} must be a list of class ids; got {values!r}.") from None
    if not out:
        raise ValueError(f"{who}: {name} must not be empty.")
    return out


@_registry.register("iou", "IoU")
class IoU(Metric):
    """IoU of the classes ``target_class_ids`` (their mean), from integer labels.

    Args:
        num_classes: how many classes there are (the confusion matrix is this square).
        target_class_ids: the classes whose IoUs are averaged.
        ignore_class: a label to leave out (e.g. a "void" class, -1 or 255).
        sparse_y_true / sparse_y_pred: False when that side holds scores or one-hot rows
            (its argmax over ``axis`` is taken).
        axis: the class axis for the argmax (default -1).

    Labels outside ``[0, num_classes)`` on either side are left out. Unlike Keras, whose
    default ``dtype`` is an integer one that truncates float ``sample_weight``, weights
    are counted as given.

    >>> import xpnet as xn
    >>> m = xn.metrics.IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(m.result(), 4)
    0.3333
    """

    direction = "up"
    state_names = ("total_cm",)

    def __init__(
        self,
        num_classes: int,
        target_class_ids: Sequence[int],
        name: str | None = None,
        dtype=None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ) -> None:
        who = type(self).__name__
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{who}: num_classes must be a positive int; got {num_classes!r}.")
        self.num_classes = num_classes
        ids = _int_list(who, "target_class_ids", target_class_ids)
        if max(ids) >= num_classes or min(ids) < 0:
            raise ValueError(f"{who}: target class ids must be in [0, {num_classes}); got {ids}.")
        self.target_class_ids = ids
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.sparse_y_true = bool(sparse_y_true)
        self.sparse_y_pred = bool(sparse_y_pred)
        self.axis = int(axis)
        super().__init__(name=name, dtype=dtype)

    def reset_state(self) -> None:
        self.total_cm = None

    def _predicted(self, xp, y_pred):
        return _class_ids(xp, y_pred, self.sparse_y_pred, self.axis)

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        y_true, y_pred, xp = _pair(y_true, y_pred)
        ref = y_pred if _floating(xp, y_pred) else None
        weight_ref = _float(xp, xp.zeros((1,), dtype=y_pred.dtype), ref)
        t = _class_ids(xp, y_true, self.sparse_y_true, self.axis)
        p = self._predicted(xp, y_pred)
        if t.shape != p.shape:
            raise ValueError(
                f"{type(self).__name__}: y_true gives {t.shape[0]} labels and y_pred "
                f"{p.shape[0]}; they must match (sparse_y_true/sparse_y_pred say which side "
                "holds scores)."
            )
        p = xp.astype(p, t.dtype)
        k = self.num_classes
        keep = (t >= 0) & (t < k) & (p >= 0) & (p < k)
        if self.ignore_class is not None:
            keep = keep & (t != self.ignore_class)
        w = xp.astype(keep, weight_ref.dtype)
        if sample_weight is not None:
            sw = _weights(xp, sample_weight, weight_ref)
            w = w * xp.reshape(xp.broadcast_to(xp.reshape(sw, (-1,)), t.shape), (-1,))
        classes = xp.arange(k, dtype=t.dtype, device=B.device_of(t))
        true_hot = xp.astype(t[:, None] == classes[None, :], w.dtype) * w[:, None]
        pred_hot = xp.astype(p[:, None] == classes[None, :], w.dtype)
        self.total_cm = _add(self.total_cm, xp.matmul(xp.permute_dims(true_hot, (1, 0)), pred_hot))

    def per_class(self):
        """The IoU of every class (a NumPy array; 0 where a class never occurred)."""
        if self.total_cm is None:
            return np.zeros(self.num_classes)
        cm = _host(self.total_cm)
        tp = np.diag(cm)
        den = cm.sum(axis=0) + cm.sum(axis=1) - tp
        return np.where(den > 1e-9, tp / (den + _EPSILON), 0.0)

    def result(self) -> float:
        if self.total_cm is None:
            return 0.0
        cm = _host(self.total_cm)
        tp = np.diag(cm)[self.target_class_ids]
        den = (cm.sum(axis=0) + cm.sum(axis=1) - np.diag(cm))[self.target_class_ids]
        valid = den > 1e-9
        iou = np.where(valid, tp / (den + _EPSILON), 0.0)
        return float(iou.sum() / (valid.sum() + _EPSILON))

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes,
            target_class_ids=self.target_class_ids,
            ignore_class=self.ignore_class,
            sparse_y_true=self.sparse_y_true,
            sparse_y_pred=self.sparse_y_pred,
            axis=self.axis,
        )
        return config


@_registry.register("mean_iou", "MeanIoU")
class MeanIoU(IoU):
    """The mean IoU over all ``num_classes`` classes (those that occurred).

    >>> import xpnet as xn
    >>> m = xn.metrics.MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(m.result(), 4)
    0.3333
    """

    def __init__(self, num_classes: int, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):  # fmt: skip
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)  # fmt: skip

    def get_config(self):
        config = super().get_config()
        config.pop("target_class_ids")
        return config


@_registry.register("binary_iou", "BinaryIoU")
class BinaryIoU(IoU):
    """IoU of binary predictions: a score ``>= threshold`` is class 1, else class 0.

    Args:
        target_class_ids: (0,), (1,) or (0, 1) (default: the mean of both).
        threshold: default 0.5.

    >>> import xpnet as xn
    >>> m = xn.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    >>> round(m.result(), 4)
    0.3333
    """

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = float(threshold)

    def _predicted(self, xp, y_pred):
        return xp.reshape(xp.astype(y_pred >= self.threshold, B.dtype_for(xp, "int64")), (-1,))

    def get_config(self):
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self.dtype,
        }
