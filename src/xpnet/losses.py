"""Losses, with Keras 3's names, arguments and defaults: ``xn.losses.get("mse")``.

Two forms, as in Keras:

* functions ``f(y_true, y_pred, **kw)`` return per-sample losses: regression
  losses average over the last axis (shape ``y_pred.shape[:-1]``), class-axis
  losses reduce the class axis;
* :class:`Loss` classes (``CategoricalCrossentropy(from_logits=True)``) are
  called as ``loss(y_true, y_pred, sample_weight=None)`` and reduce the
  weighted per-sample values with :func:`reduce_weighted` (the one place where
  reductions live): ``"sum_over_batch_size"`` (default: sum / number of
  elements), ``"sum"``, ``"none"`` (also ``"mean"`` and
  ``"mean_with_sample_weight"``, as Keras 3).

``y_pred`` is a Tensor; ``y_true`` may be a Tensor, an array of any backend, a
NumPy array or a list: it is moved to ``y_pred``'s backend and device. Float
targets take ``y_pred``'s dtype (integer labels never promote float32); class
indices of the sparse losses stay integer.

Crossentropies from logits use stable fused primitives (log-sum-exp and
softplus forms). With ``from_logits=False`` they follow Keras: probabilities
are clipped to ``[1e-7, 1 - 1e-7]``, and categorical ones are first divided by
their sum along the class axis.

>>> import xpnet as xn
>>> loss = xn.losses.get("sparse_categorical_crossentropy")
>>> round(loss([1, 2], xn.Tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])).item(), 4)
1.1769
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from xpnet import backend as B
from xpnet import ops
from xpnet._registry import Configurable, Registry
from xpnet.activations import softplus
from xpnet.backend import host_numpy
from xpnet.tensor import Function, Tensor

__all__ = [
    "REDUCTIONS",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "MulticlassSVM",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "multiclass_svm",
    "names",
    "poisson",
    "reduce_weighted",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
]

EPSILON = 1e-7  # keras.backend.epsilon(): the clip of probabilities and denominators

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight")

_registry = Registry("loss")


# =========================================================================== inputs


def _prediction(y_pred) -> Tensor:
    """y_pred as a floating Tensor (arrays are moved to the active backend)."""
    t = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
    if not B.is_floating(t.data):
        t = ops.cast(t, B.floatx())
    return t


def _on_backend_of(data, like: Tensor):
    """``data`` (an array of any backend, a NumPy array, a list) on ``like``'s backend
    and device, keeping its dtype (a Python list gets NumPy's)."""
    if type(data) is host_numpy.ndarray and type(like.data) is host_numpy.ndarray:
        return data  # the hot case: NumPy labels for NumPy predictions
    xp, device = like.xp, like.device
    try:
        same = B.namespace(data) is xp
    except TypeError:  # lists and scalars have no namespace
        same = False
    if same and B.device_of(data) == device:
        return data
    host = B.to_numpy(data) if same or hasattr(data, "shape") else host_numpy.asarray(data)
    if not host.flags.writeable:
        host = host.copy()  # torch cannot wrap read-only memory
    return xp.asarray(host, device=device)


def _targets(y_true, y_pred: Tensor) -> Tensor:
    """Float targets: a Tensor with y_pred's backend, device and dtype."""
    if isinstance(y_true, Tensor):
        if y_true.xp is not y_pred.xp or y_true.device != y_pred.device:
            y_true = Tensor._make(_on_backend_of(y_true.data, y_pred), None)
        return y_true if y_true.dtype == y_pred.dtype else ops.cast(y_true, y_pred.dtype)
    data = _on_backend_of(y_true, y_pred)
    if data.dtype != y_pred.dtype:
        data = y_pred.xp.astype(data, y_pred.dtype)
    return Tensor._make(data, None)


def _match_rank(y_true: Tensor, y_pred: Tensor) -> tuple[Tensor, Tensor]:
    """Keras's squeeze-or-expand: ranks that differ by one trailing axis of size 1 agree."""
    rt, rp = y_true.ndim, y_pred.ndim
    if rt == rp + 1 and y_true.shape[-1] == 1:
        if rp == 1:
            y_pred = ops.expand_dims(y_pred, -1)
        else:
            y_true = ops.squeeze(y_true, -1)
    elif rp == rt + 1 and y_pred.shape[-1] == 1:
        if rt == 1:
            y_true = ops.expand_dims(y_true, -1)
        else:
            y_pred = ops.squeeze(y_pred, -1)
    return y_true, y_pred


def _pair(y_true, y_pred, loss: str) -> tuple[Tensor, Tensor]:
    """(targets, predictions) of one shape for the losses with float targets."""
    y_pred = _prediction(y_pred)
    y_true, y_pred = _match_rank(_targets(y_true, y_pred), y_pred)
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_true.ndim == y_pred.ndim - 1 and y_true.shape == y_pred.shape[:-1]:
            hint = (
                " y_true looks like integer class labels: use sparse_categorical_crossentropy,"
                " or one-hot encode the labels."
            )
        raise ValueError(
            f"{loss}: expected y_true and y_pred of the same shape. Received: "
            f"y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}.{hint}"
        )
    return y_true, y_pred


def _check_probabilities(y_pred: Tensor, loss: str, upper: bool) -> None:
    """from_logits=False with values that cannot be probabilities: say so.

    One reduction and one host read; it catches logits passed by mistake.
    """
    xp, d = y_pred.xp, y_pred.data
    bad = d < 0.0
    if upper:
        bad = xp.logical_or(bad, d > 1.0)
    if bool(xp.any(bad)):
        lo, hi = float(xp.min(d)), float(xp.max(d))
        expected = "[0, 1]" if upper else "non-negative values"
        raise ValueError(
            f"{loss}: with from_logits=False, y_pred must hold probabilities ({expected}). "
            f"Received values in [{lo:.4g}, {hi:.4g}]. If y_pred are raw scores (logits), "
            f"pass from_logits=True; otherwise apply sigmoid/softmax first."
        )


def _axis(axis: int, ndim: int, loss: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int) or not -ndim <= axis < ndim:
        raise ValueError(
            f"{loss}: expected an integer axis in [{-ndim}, {ndim}) for inputs of rank {ndim}. "
            f"Received: axis={axis!r}"
        )
    return axis % ndim


def _class_axis_last(y_pred: Tensor, axis: int) -> Tensor:
    if axis == y_pred.ndim - 1:
        return y_pred
    order = [i for i in range(y_pred.ndim) if i != axis] + [axis]
    return ops.permute(y_pred, order)


def _int_dtype(xp):
    return xp.int64 if B.has_float64(xp) else xp.int32


def _labels(y_true, y_pred: Tensor, loss: str, axis: int, ignore_class=None):
    """Integer class indices of shape ``y_pred.shape`` without ``axis``, checked."""
    xp = y_pred.xp
    data = _on_backend_of(y_true.data if isinstance(y_true, Tensor) else y_true, y_pred)
    expected = tuple(s for i, s in enumerate(y_pred.shape) if i != axis)
    shape = tuple(data.shape)
    n_classes = y_pred.shape[axis]
    if len(shape) == y_pred.ndim and shape[-1] == 1 and shape[:-1] == expected:
        data = xp.reshape(data, expected)  # (batch, 1) labels, as Keras squeezes them
    elif shape == y_pred.shape and n_classes > 1:
        raise ValueError(
            f"{loss}: expected integer class indices of shape {expected}, but y_true has "
            f"y_pred's shape {shape} (one-hot or probabilities?). Use "
            f"categorical_crossentropy for one-hot targets, or pass argmax(y_true, axis=-1)."
        )
    elif shape != expected:
        raise ValueError(
            f"{loss}: expected one integer class index per prediction, y_true of shape "
            f"{expected} for y_pred of shape {y_pred.shape}. Received: y_true.shape={shape}. "
            f"Check that labels and predictions come from the same batch."
        )
    if (
        type(data) is host_numpy.ndarray
        and (data.dtype == host_numpy.int64 or data.dtype == host_numpy.int32)
        and ignore_class is None
    ):
        # NumPy's usual labels: one reduction, as negative labels read as unsigned
        # are huge, so the largest unsigned label below n_classes is the range check
        unsigned = data.view(_UNSIGNED[data.dtype.itemsize])
        if data.size and int(host_numpy.maximum.reduce(unsigned, axis=None)) >= n_classes:
            _label_range_error(xp, data, loss, n_classes)
        return data
    if data.dtype == xp.int64 or data.dtype == xp.int32:
        pass  # the usual labels: no dtype inspection (NumPy's isdtype costs ~10 us)
    elif xp.isdtype(data.dtype, "real floating"):
        if bool(xp.any(data != xp.floor(data))):
            raise ValueError(
                f"{loss}: expected integer class indices; y_true has non-integer values. "
                "Use categorical_crossentropy for soft or one-hot targets."
            )
        data = xp.astype(data, _int_dtype(xp))
    else:  # bool, unsigned, int8 / int16: the index dtype every library takes, and
        # room for the flat index (row * n_classes + label)
        data = xp.astype(data, _int_dtype(xp))
    checked = data if ignore_class is None else xp.where(data == ignore_class, 0, data)
    # one pass and one host sync: label // n_classes is 0 exactly for labels in range
    if bool(xp.any(checked // n_classes)):
        _label_range_error(xp, checked, loss, n_classes)
    return data


_UNSIGNED = {1: host_numpy.uint8, 2: host_numpy.uint16, 4: host_numpy.uint32, 8: host_numpy.uint64}


def _label_range_error(xp, labels, loss: str, n_classes: int):
    raise ValueError(
        f"{loss}: class indices must lie in [0, {n_classes}) for y_pred with "
        f"{n_classes} classes. Received labels in [{int(xp.min(labels))}, "
        f"{int(xp.max(labels))}]. Check the number of output units or the label encoding."
    )


_ARANGES: dict[tuple, Any] = {}


def _arange(xp, n: int, dtype, device, step: int = 1):
    """``arange(0, n * step, step)``, cached: the training loop asks for the same few
    (batch row offsets, class ids) every step. Callers never write into it."""
    key = (xp, n, step, dtype, device)
    try:
        out = _ARANGES.get(key)
    except TypeError:  # an unhashable device: no cache
        return xp.arange(0, n * step, step, dtype=dtype, device=device)
    if out is None:
        if len(_ARANGES) > 64:  # many batch sizes (a ragged last batch each): start over
            _ARANGES.clear()
        out = _ARANGES[key] = xp.arange(0, n * step, step, dtype=dtype, device=device)
    return out


def _flat_index(xp, labels, n_classes: int, device):
    """Position of each row's label in the flattened (rows, classes) array."""
    return _arange(xp, labels.shape[0], labels.dtype, device, n_classes) + labels


def _fraction(loss: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{loss}: expected {name} in [0, 1]. Received: {name}={value!r}")
    return float(value)


# =========================================================================== fused primitives


class SoftmaxCrossEntropy(Function):
    # Fused for speed and stability: -sum(t * log_softmax(z)) in one node with the max
    # subtracted; backward is softmax(z) * sum(t) - t (softmax - t for distributions).
    def forward(self, logits, target, axis=-1):
        xp = self.xp
        shifted = logits - xp.max(logits, axis=axis, keepdims=True)
        self.log_p = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
        self.target, self.axis = target, axis
        return -xp.sum(target * self.log_p, axis=axis)

    def backward(self, g):
        xp = self.xp
        g = xp.expand_dims(g, axis=self.axis)
        gz = gt = None
        if self.needs[0]:
            total = xp.sum(self.target, axis=self.axis, keepdims=True)
            gz = g * (xp.exp(self.log_p) * total - self.target)
        if self.needs[1]:
            gt = -g * self.log_p
        return gz, gt


class SparseSoftmaxCrossEntropy(Function):
    # Fused for speed and memory: one node from (rows, classes) logits and (rows,) labels
    # to per-row losses; each row's label logit is gathered (no one-hot is built), and
    # forward's exp(z - max) becomes backward's softmax in place.
    # ``mean=True`` returns the rows' mean in the same node (the Loss class's
    # sum_over_batch_size reduction without its own node).
    def forward(self, logits, labels, mean=False):
        xp = self.xp
        rows, c = logits.shape
        self.mean = mean
        m = B.reduce_max(logits, axis=-1, keepdims=True)
        e = xp.exp(logits - m)
        total = B.reduce_sum(e, axis=-1, keepdims=True)
        self.logits, self.m, self.e, self.total, self.labels = logits, m, e, total, labels
        self.index = _flat_index(xp, labels, c, B.device_of(labels))
        picked = xp.take(B.reshape(logits, (-1,)), self.index)
        per = B.reshape(xp.log(total) + m, (-1,)) - picked
        return B.reduce_sum(per) / rows if mean else per  # (sum is cheaper than mean on NumPy)

    def backward(self, g):
        xp = self.xp
        # softmax in forward's buffer (JAX rebinds); a second backward (retain_graph)
        # finds it spent and recomputes
        p = self.e if self.e is not None else xp.exp(self.logits - self.m)
        p /= self.total
        # (softmax - onehot) * g
        if B.writes_in_place(p) and p.flags.c_contiguous:
            # NumPy: 1 off each row's label entry, through forward's flat index (a
            # fancy-index update on a view; no one-hot, ~3x faster at 10 classes)
            flat = p.reshape(-1)
            flat[self.index] -= 1.0
        else:
            # the standard has no indexed update: the onehot is a (rows, classes)
            # comparison of each row's label with the class ids, O(rows * classes),
            # where a scatter-add would build a (rows * classes, rows) one-hot
            labels = self.labels
            classes = _arange(xp, p.shape[1], labels.dtype, B.device_of(labels))
            p -= xp.astype(classes[None, :] == labels[:, None], p.dtype)
        p *= g / p.shape[0] if self.mean else xp.reshape(g, (-1, 1))
        self.e = None  # the buffer is the gradient now
        return p, None


class SigmoidCrossEntropy(Function):
    # Fused for stability: max(x, 0) - x*y + log1p(exp(-|x|)) is finite for every logit
    # x, and the backward sigmoid(x) - y needs no division by p * (1 - p).
    def forward(self, logits, target):
        xp = self.xp
        self.x, self.y = logits, target
        relu = xp.where(logits > 0, logits, 0.0)
        return relu - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))

    def backward(self, g):
        xp = self.xp
        gx = gy = None
        if self.needs[0]:
            e = xp.exp(-xp.abs(self.x))
            p = xp.where(self.x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
            gx = g * (p - self.y)
        if self.needs[1]:
            gy = -g * self.x
        return gx, gy


# =========================================================================== probabilistic


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy, averaged over ``axis``.

    ``-(y log p + (1 - y) log(1 - p))`` with ``p`` clipped to ``[1e-7, 1 - 1e-7]``;
    from logits ``x``: ``max(x, 0) - x y + log(1 + exp(-|x|))`` (stable).
    ``label_smoothing`` moves targets towards 0.5: ``y (1 - s) + 0.5 s``.

    Args:
        y_true: targets in [0, 1] (0/1 labels or soft), y_pred's shape.
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` are logits.
        label_smoothing: s in [0, 1].
        axis: the axis averaged over.

    Returns:
        Per-sample losses, shape ``y_pred.shape`` without ``axis``.

    >>> import xpnet as xn
    >>> out = xn.losses.binary_crossentropy([[0, 1], [0, 0]], xn.Tensor([[0.6, 0.4], [0.4, 0.6]]))
    >>> [round(v, 3) for v in xn.to_numpy(out).tolist()]
    [0.916, 0.714]
    """
    name = "binary_crossentropy"
    y_true, y_pred = _pair(y_true, y_pred, name)
    s = _fraction(name, "label_smoothing", label_smoothing)
    if s:
        y_true = y_true * (1.0 - s) + 0.5 * s
    if from_logits:
        per = SigmoidCrossEntropy.apply(y_pred, y_true)
    else:
        _check_probabilities(y_pred, name, upper=True)
        p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        per = -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))
    return ops.mean(per, axis=axis)


def _smooth_categorical(y_true: Tensor, s: float, axis: int) -> Tensor:
    return y_true * (1.0 - s) + s / y_true.shape[axis] if s else y_true


def _categorical_pair(y_true, y_pred, loss: str, axis: int):
    y_true, y_pred = _pair(y_true, y_pred, loss)
    axis = _axis(axis, y_pred.ndim, loss)
    if y_pred.shape[axis] < 2:
        raise ValueError(
            f"{loss}: expected at least 2 classes along axis {axis}. Received: "
            f"y_pred.shape={y_pred.shape}. With one output unit use binary_crossentropy."
        )
    return y_true, y_pred, axis


def _normalized_probabilities(y_pred: Tensor, axis: int) -> Tensor:
    """Keras's from_logits=False path: divide by the class sum, then clip."""
    p = y_pred / ops.sum(y_pred, axis=axis, keepdims=True)
    return ops.clip(p, EPSILON, 1.0 - EPSILON)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Categorical crossentropy ``-sum(y * log p)`` over the class ``axis``.

    ``y_true`` is one-hot (or any distribution). From logits, ``log p`` is
    ``log_softmax`` (stable). Otherwise ``p`` is divided by its sum along
    ``axis`` and clipped to ``[1e-7, 1 - 1e-7]``, as Keras 3 does.
    ``label_smoothing`` s: ``y (1 - s) + s / num_classes`` (PyTorch's
    ``label_smoothing`` is the same definition).

    Args:
        y_true: one-hot (or soft) targets, y_pred's shape.
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` are logits.
        label_smoothing: s in [0, 1].
        axis: the class axis.

    Returns:
        Per-sample losses, shape ``y_pred.shape`` without ``axis``.

    >>> import xpnet as xn
    >>> y_pred = xn.Tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> out = xn.losses.categorical_crossentropy([[0, 1, 0], [0, 0, 1]], y_pred)
    >>> [round(v, 4) for v in xn.to_numpy(out).tolist()]
    [0.0513, 2.3026]
    """
    name = "categorical_crossentropy"
    y_true, y_pred, axis = _categorical_pair(y_true, y_pred, name, axis)
    y_true = _smooth_categorical(y_true, _fraction(name, "label_smoothing", label_smoothing), axis)
    if from_logits:
        return SoftmaxCrossEntropy.apply(y_pred, y_true, axis=axis)
    _check_probabilities(y_pred, name, upper=False)
    return -ops.sum(y_true * ops.log(_normalized_probabilities(y_pred, axis)), axis=axis)


def _gathered(y_pred: Tensor, labels, loss: str):
    """(class-last 2-D predictions, flat label positions, per-sample output shape)."""
    c = y_pred.shape[-1]
    flat_labels = y_pred.xp.reshape(labels, (-1,))
    index = _flat_index(y_pred.xp, flat_labels, c, y_pred.device)
    return ops.reshape(y_pred, (-1, c)), index, tuple(labels.shape)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Categorical crossentropy with integer class indices ``y_true``.

    The same loss as :func:`categorical_crossentropy` with one-hot targets, but
    the label's log-probability is gathered directly (no one-hot is built).
    ``ignore_class``: labels equal to it contribute 0 (and the Loss class leaves
    them out of the average, as Keras masks them). Keras 3 gives this loss no
    ``label_smoothing``.

    Args:
        y_true: integer class indices, y_pred's shape without ``axis`` (a
            trailing axis of size 1 is accepted; whole-number floats are cast).
        y_pred: probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` are logits.
        ignore_class: a label value to ignore (None: none).
        axis: the class axis.

    Returns:
        Per-sample losses, the shape of the labels.

    >>> import xpnet as xn
    >>> out = xn.losses.sparse_categorical_crossentropy([1, 2], xn.Tensor([[2.0, 1.0, 0.1]] * 2),
    ...                                                 from_logits=True)
    >>> [round(v, 4) for v in xn.to_numpy(out).tolist()]
    [1.417, 2.317]
    """
    name = "sparse_categorical_crossentropy"
    y_pred = _prediction(y_pred)
    axis = _axis(axis, y_pred.ndim, name)
    labels = _labels(y_true, y_pred, name, axis, ignore_class)
    xp = y_pred.xp
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = xp.where(valid, labels, 0)
    if from_logits:
        rows = math.prod(labels.shape)
        per = SparseSoftmaxCrossEntropy.apply(
            ops.reshape(_class_axis_last(y_pred, axis), (rows, y_pred.shape[axis])),
            xp.reshape(labels, (rows,)),
        )
        per = ops.reshape(per, tuple(labels.shape))
    else:
        _check_probabilities(y_pred, name, upper=False)
        probs, index, out_shape = _gathered(_class_axis_last(y_pred, axis), labels, name)
        total = ops.sum(probs, axis=-1)
        picked = ops.take(ops.reshape(probs, (-1,)), index)
        per = ops.reshape(-ops.log(ops.clip(picked / total, EPSILON, 1.0 - EPSILON)), out_shape)
    return per if valid is None else ops.where(valid, per, 0.0)


def _focal_factor(base: Tensor, gamma: float):
    """base ** gamma (None when gamma is 0: no focal effect)."""
    return None if gamma == 0 else base**gamma


def binary_focal_crossentropy(
    y_true,
    y_pred,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    """Binary focal crossentropy (Lin et al., 2018), averaged over ``axis``.

    ``(1 - p_t)**gamma * bce`` with ``p_t = y p + (1 - y)(1 - p)``; with
    ``apply_class_balancing`` also times ``alpha`` for class 1 and
    ``1 - alpha`` for class 0. From logits, the crossentropy uses the stable
    logits form (Keras clips the sigmoid instead; the two differ only for
    ``|logit| > 16``).
    """
    name = "binary_focal_crossentropy"
    y_true, y_pred = _pair(y_true, y_pred, name)
    s = _fraction(name, "label_smoothing", label_smoothing)
    if s:
        y_true = y_true * (1.0 - s) + 0.5 * s
    if from_logits:
        bce = SigmoidCrossEntropy.apply(y_pred, y_true)
        p = ops.sigmoid(y_pred)
    else:
        _check_probabilities(y_pred, name, upper=True)
        p = y_pred
        pc = ops.clip(p, EPSILON, 1.0 - EPSILON)
        bce = -(y_true * ops.log(pc) + (1.0 - y_true) * ops.log(1.0 - pc))
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    factor = _focal_factor(1.0 - p_t, float(gamma))
    focal = bce if factor is None else factor * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return ops.mean(focal, axis=axis)


def _class_alpha(alpha, y_pred: Tensor, axis: int):
    """alpha as a number, or a per-class list as an array along ``axis``."""
    if isinstance(alpha, (int, float)):
        return float(alpha)
    xp = y_pred.xp
    values = xp.asarray([float(a) for a in alpha], dtype=y_pred.dtype, device=y_pred.device)
    if values.shape[0] != y_pred.shape[axis]:
        raise ValueError(
            f"categorical_focal_crossentropy: expected one alpha per class "
            f"({y_pred.shape[axis]}). Received {values.shape[0]} values."
        )
    shape = [1] * y_pred.ndim
    shape[axis] = values.shape[0]
    return xp.reshape(values, tuple(shape))


def categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    """Categorical focal crossentropy: ``sum(alpha * (1 - p)**gamma * -y log p)`` over ``axis``.

    ``alpha`` is a number or one value per class. Probabilities are normalized
    and clipped as in :func:`categorical_crossentropy`; from logits ``log p`` is
    ``log_softmax`` (stable) and ``p`` its exponential.
    """
    name = "categorical_focal_crossentropy"
    y_true, y_pred, axis = _categorical_pair(y_true, y_pred, name, axis)
    y_true = _smooth_categorical(y_true, _fraction(name, "label_smoothing", label_smoothing), axis)
    if from_logits:
        log_p = ops.log_softmax(y_pred, axis=axis)
        p = ops.exp(log_p)
    else:
        _check_probabilities(y_pred, name, upper=False)
        p = _normalized_probabilities(y_pred, axis)
        log_p = ops.log(p)
    cce = -(y_true * log_p)
    factor = _focal_factor(1.0 - p, float(gamma))
    focal = cce if factor is None else factor * cce
    return ops.sum(focal * _class_alpha(alpha, y_pred, axis), axis=axis)


def kl_divergence(y_true, y_pred):
    """Kullback-Leibler divergence ``sum(y * log(y / p))`` over the last axis.

    Both are clipped to ``[1e-7, 1]`` first, as in Keras.
    """
    y_true, y_pred = _pair(y_true, y_pred, "kl_divergence")
    t = ops.clip(y_true, EPSILON, 1.0)
    p = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(t * ops.log(t / p), axis=-1)


def poisson(y_true, y_pred):
    """Poisson loss ``mean(p - y * log(p + 1e-7))`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "poisson")
    return ops.mean(y_pred - y_true * ops.log(y_pred + EPSILON), axis=-1)


# =========================================================================== regression


def mean_squared_error(y_true, y_pred):
    """``mean((y - p)**2)`` over the last axis.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.losses.mean_squared_error([[1.0, 2.0]], xn.Tensor([[2.0, 4.0]]))).tolist()
    [2.5]
    """
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_error")
    d = y_pred - y_true
    return ops.mean(d * d, axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(|y - p|)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 * mean(|(y - p) / max(|y|, 1e-7)|)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_absolute_percentage_error")
    return ops.mean(ops.abs((y_true - y_pred) / ops.clip(ops.abs(y_true), EPSILON)), -1) * 100.0


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean((log(1 + max(p, 1e-7)) - log(1 + max(y, 1e-7)))**2)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred, "mean_squared_logarithmic_error")
    d = ops.log1p(ops.clip(y_pred, EPSILON)) - ops.log1p(ops.clip(y_true, EPSILON))
    return ops.mean(d * d, axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss: ``0.5 e**2`` for ``|e| <= delta``, else ``delta * |e| - 0.5 delta**2``.

    ``e = p - y``, averaged over the last axis (PyTorch's ``huber_loss``;
    ``smooth_l1_loss(beta)`` is ``huber(delta=beta) / beta``).
    """
    y_true, y_pred = _pair(y_true, y_pred, "huber")
    e = y_pred - y_true
    a = ops.abs(e)
    return ops.mean(ops.where(a <= delta, e * e * 0.5, a * delta - 0.5 * delta * delta), -1)


_LOG2 = math.log(2.0)


def log_cosh(y_true, y_pred):
    """``mean(log(cosh(p - y)))`` over the last axis, as ``e + softplus(-2e) - log 2`` (stable)."""
    y_true, y_pred = _pair(y_true, y_pred, "log_cosh")
    e = y_pred - y_true
    return ops.mean(e + softplus(e * -2.0) - _LOG2, axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity ``-sum(normalize(y) * normalize(p))`` along ``axis``.

    ``normalize(x) = x / max(||x||, 1e-7)``. -1 means the same direction, 0
    orthogonal (or a zero vector).
    """
    y_true, y_pred = _pair(y_true, y_pred, "cosine_similarity")
    return -ops.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def _l2_normalize(x: Tensor, axis: int) -> Tensor:
    return x / ops.sqrt(ops.clip(ops.sum(x * x, axis=axis, keepdims=True), EPSILON * EPSILON))


# =========================================================================== margins


def _signed_labels(y_true: Tensor) -> Tensor:
    """Keras: labels that are all 0 or 1 become -1 or 1 (one host read)."""
    xp, d = y_true.xp, y_true.data
    if bool(xp.all(xp.logical_or(d == 0.0, d == 1.0))):
        return y_true * 2.0 - 1.0
    return y_true


def hinge(y_true, y_pred):
    """``mean(max(1 - y * p, 0))`` over the last axis; y in {-1, 1} (0/1 labels are mapped)."""
    y_true, y_pred = _pair(y_true, y_pred, "hinge")
    return ops.mean(ops.relu(1.0 - _signed_labels(y_true) * y_pred), axis=-1)


def squared_hinge(y_true, y_pred):
    """``mean(max(1 - y * p, 0)**2)`` over the last axis; y in {-1, 1} (0/1 mapped)."""
    y_true, y_pred = _pair(y_true, y_pred, "squared_hinge")
    m = ops.relu(1.0 - _signed_labels(y_true) * y_pred)
    return ops.mean(m * m, axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(neg - pos + 1, 0)`` with ``pos = sum(y p)``, ``neg = max((1 - y) p)``; y one-hot."""
    y_true, y_pred = _pair(y_true, y_pred, "categorical_hinge")
    pos = ops.sum(y_true * y_pred, axis=-1)
    neg = ops.max((1.0 - y_true) * y_pred, axis=-1)
    return ops.relu(neg - pos + 1.0)


def multiclass_svm(y_true, y_pred, margin=1.0):
    """The multiclass SVM (hinge) loss of the course notes, with integer labels.

    ``L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin)`` for scores ``s``
    (last axis). PyTorch's ``multi_margin_loss`` (p=1) is this divided by the
    number of classes.

    Args:
        y_true: integer class indices, shape ``y_pred.shape[:-1]``.
        y_pred: class scores.
        margin: the required margin (default 1.0, the notes' delta).

    Returns:
        Per-sample losses, shape ``y_pred.shape[:-1]``.

    >>> import xpnet as xn
    >>> scores = xn.Tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> [round(v, 1) for v in xn.to_numpy(xn.losses.multiclass_svm([0, 1, 2], scores)).tolist()]
    [2.9, 0.0, 12.9]
    """
    name = "multiclass_svm"
    y_pred = _prediction(y_pred)
    labels = _labels(y_true, y_pred, name, y_pred.ndim - 1)
    scores, index, out_shape = _gathered(y_pred, labels, name)
    correct = ops.take(ops.reshape(scores, (-1,)), index)
    margins = ops.relu(scores - ops.reshape(correct, (-1, 1)) + margin)
    # the j = y_i term is max(0, margin): subtract it instead of masking it out
    per = ops.sum(margins, axis=-1) - max(float(margin), 0.0)
    return ops.reshape(per, out_shape)


# =========================================================================== reduction


def _standardize_reduction(reduction) -> str:
    if reduction is None:
        return "none"
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid reduction: expected one of {', '.join(map(repr, REDUCTIONS))} or None. "
            f"Received: reduction={reduction!r}. Use 'sum_over_batch_size' (the default) for "
            f"the mean over samples."
        )
    return reduction


def _weights(sample_weight, values: Tensor) -> Tensor:
    """sample_weight on values' backend and dtype, shaped to broadcast against values."""
    w = _targets(sample_weight, values)
    if w.ndim == values.ndim + 1 and w.shape[-1] == 1:
        w = ops.squeeze(w, -1)
    if 0 < w.ndim < values.ndim and tuple(values.shape[: w.ndim]) == w.shape:
        w = ops.reshape(w, (*w.shape, *([1] * (values.ndim - w.ndim))))  # per sample
    try:
        fits = host_numpy.broadcast_shapes(w.shape, values.shape) == tuple(values.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"sample_weight of shape {w.shape} does not fit per-sample losses of shape "
            f"{values.shape}. Pass one weight per sample (shape {values.shape[:1]}) or per "
            f"loss value (shape {values.shape})."
        )
    return w


def reduce_weighted(
    values, sample_weight=None, reduction: str | None = "sum_over_batch_size", mask=None
) -> Tensor:
    """Weight per-sample losses and reduce them: the one reduction helper.

    ``values * sample_weight`` (and a boolean ``mask`` of valid entries), then
    ``"none"``: as is; ``"sum"``: the sum; ``"sum_over_batch_size"``/``"mean"``:
    sum / number of elements (masked-out entries are not counted);
    ``"mean_with_sample_weight"``: sum / sum of the weights.

    >>> import xpnet as xn
    >>> v = xn.Tensor([1.0, 2.0, 3.0, 4.0])
    >>> reduce_weighted(v, [1.0, 1.0, 0.0, 0.0]).item()
    0.75
    """
    reduction = _standardize_reduction(reduction)
    values = _prediction(values)
    weights = None if sample_weight is None else _weights(sample_weight, values)
    if mask is not None:
        xp = values.xp
        m = xp.astype(_on_backend_of(mask, values), values.dtype)
        if reduction in ("sum_over_batch_size", "mean"):
            m = m * (math.prod(values.shape) / xp.clip(xp.sum(m), min=1.0))
        weights = Tensor._make(m, None) if weights is None else weights * m
    if weights is not None:
        values = values * weights
    if reduction == "none" or values.ndim == 0 or values.size == 0:
        return values
    if reduction in ("sum_over_batch_size", "mean"):
        return ops.mean(values)  # one node: the sum / number of elements
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weights is not None:
        xp = values.xp
        w = xp.sum(xp.broadcast_to(weights.data, values.shape))
        return total / xp.where(w == 0.0, 1.0, w)
    return total * (1.0 / values.size)


# =========================================================================== Loss classes


def _snake(name: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


class Loss(Configurable):
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` returns the reduced loss.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.

    Args:
        name: the loss's name (default: from the class name).
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"none"``,
            ``"mean"`` or ``"mean_with_sample_weight"``.
    """

    def __init__(self, name: str | None = None, reduction="sum_over_batch_size"):
        self.name = name or _snake(type(self).__name__)
        self.reduction = _standardize_reduction(reduction)

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        y_pred = _prediction(y_pred)
        values = self.call(y_true, y_pred)
        mask = self._mask(y_true, y_pred)
        return reduce_weighted(values, sample_weight, self.reduction, mask=mask)

    def call(self, y_true, y_pred) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def _mask(self, y_true, y_pred):
        """Valid entries of the per-sample losses (None: all)."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A Loss around a loss function ``fn(y_true, y_pred, **kwargs)``.

    >>> import xpnet as xn
    >>> loss = xn.losses.LossFunctionWrapper(xn.losses.huber, delta=2.0)
    >>> loss([[0.0]], xn.Tensor([[3.0]])).item()
    4.0
    """

    def __init__(self, fn: Callable, reduction="sum_over_batch_size", name=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction)
        self.fn = fn
        self._fn_kwargs = kwargs
        self.__dict__.update(kwargs)  # loss.from_logits etc., as Keras exposes them

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {k: list(v) if isinstance(v, tuple) else v for k, v in self._fn_kwargs.items()}
        )
        if type(self) is LossFunctionWrapper:
            config["fn"] = serialize(self.fn)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is LossFunctionWrapper:
            config["fn"] = _function(config["fn"])
        return cls(**config)


def _register(*names: str):
    return _registry.register(*names)


@_register("binary_crossentropy")
class BinaryCrossentropy(LossFunctionWrapper):
    """Binary crossentropy (see :func:`binary_crossentropy`)."""

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
    ):
        s = _fraction("BinaryCrossentropy", "label_smoothing", label_smoothing)
        super().__init__(
            binary_crossentropy,
            reduction,
            name,
            from_logits=bool(from_logits),
            label_smoothing=s,
            axis=axis,
        )


def _gamma(loss: str, gamma) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or gamma < 0:
        raise ValueError(f"{loss}: expected gamma >= 0. Received: gamma={gamma!r}")
    return float(gamma)


@_register("binary_focal_crossentropy")
class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary focal crossentropy (see :func:`binary_focal_crossentropy`)."""

    def __init__(
        self,
        apply_class_balancing=False,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_focal_crossentropy",
    ):
        loss = "BinaryFocalCrossentropy"
        super().__init__(
            binary_focal_crossentropy,
            reduction,
            name,
            apply_class_balancing=bool(apply_class_balancing),
            alpha=_fraction(loss, "alpha", alpha),
            gamma=_gamma(loss, gamma),
            from_logits=bool(from_logits),
            label_smoothing=_fraction(loss, "label_smoothing", label_smoothing),
            axis=axis,
        )


@_register("categorical_crossentropy")
class CategoricalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy with one-hot targets (see :func:`categorical_crossentropy`).

    >>> import xpnet as xn
    >>> cce = xn.losses.CategoricalCrossentropy()
    >>> y_pred = xn.Tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> round(cce([[0, 1, 0], [0, 0, 1]], y_pred, sample_weight=[0.3, 0.7]).item(), 3)
    0.814
    """

    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
    ):
        s = _fraction("CategoricalCrossentropy", "label_smoothing", label_smoothing)
        super().__init__(
            categorical_crossentropy,
            reduction,
            name,
            from_logits=bool(from_logits),
            label_smoothing=s,
            axis=axis,
        )


@_register("categorical_focal_crossentropy")
class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical focal crossentropy (see :func:`categorical_focal_crossentropy`)."""

    def __init__(
        self,
        alpha=0.25,
        gamma=2.0,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_focal_crossentropy",
    ):
        loss = "CategoricalFocalCrossentropy"
        if not isinstance(alpha, (int, float)):
            alpha = [float(a) for a in alpha]
        super().__init__(
            categorical_focal_crossentropy,
            reduction,
            name,
            alpha=alpha,
            gamma=_gamma(loss, gamma),
            from_logits=bool(from_logits),
            label_smoothing=_fraction(loss, "label_smoothing", label_smoothing),
            axis=axis,
        )


@_register("sparse_categorical_crossentropy")
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy with integer labels (see :func:`sparse_categorical_crossentropy`).

    With ``ignore_class``, ignored entries are left out of the
    ``"sum_over_batch_size"`` average (as Keras masks them).
    """

    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        axis=-1,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
    ):
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, int)
        ):
            raise ValueError(
                "SparseCategoricalCrossentropy: expected an integer or None for ignore_class. "
                f"Received: ignore_class={ignore_class!r}"
            )
        super().__init__(
            sparse_categorical_crossentropy,
            reduction,
            name,
            from_logits=bool(from_logits),
            ignore_class=ignore_class,
            axis=axis,
        )

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The training loop's case in one node: 2-D logits, labels, the batch mean.
        if (
            sample_weight is None
            and self.from_logits
            and self.ignore_class is None
            and self.reduction in ("sum_over_batch_size", "mean")
            and isinstance(y_pred, Tensor)
            and y_pred.ndim == 2
            and self.axis in (-1, 1)
            and y_pred.shape[0] > 0
            and B.is_floating(y_pred.data)
        ):
            labels = _labels(y_true, y_pred, "sparse_categorical_crossentropy", 1)
            return SparseSoftmaxCrossEntropy.apply(y_pred, labels, mean=True)
        return super().__call__(y_true, y_pred, sample_weight)

    def _mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        # call() has validated the labels; only their validity mask is needed here
        axis = self.axis % y_pred.ndim
        data = _on_backend_of(y_true.data if isinstance(y_true, Tensor) else y_true, y_pred)
        shape = tuple(s for i, s in enumerate(y_pred.shape) if i != axis)
        return y_pred.xp.reshape(data != self.ignore_class, shape)


def _plain(fn: Callable, class_name: str, *names: str, doc: str):
    """A Loss class for a function without options (MeanSquaredError, Hinge, ...)."""

    def __init__(self, reduction="sum_over_batch_size", name=names[0]):
        LossFunctionWrapper.__init__(self, fn, reduction, name)

    cls = type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "__doc__": doc})
    cls.__module__ = __name__
    return _register(*names)(cls)


MeanSquaredError = _plain(
    mean_squared_error,
    "MeanSquaredError",
    "mean_squared_error",
    "mse",
    doc="Mean squared error (see :func:`mean_squared_error`).",
)
MeanAbsoluteError = _plain(
    mean_absolute_error,
    "MeanAbsoluteError",
    "mean_absolute_error",
    "mae",
    doc="Mean absolute error (see :func:`mean_absolute_error`).",
)
MeanAbsolutePercentageError = _plain(
    mean_absolute_percentage_error,
    "MeanAbsolutePercentageError",
    "mean_absolute_percentage_error",
    "mape",
    doc="Mean absolute percentage error (see :func:`mean_absolute_percentage_error`).",
)
MeanSquaredLogarithmicError = _plain(
    mean_squared_logarithmic_error,
    "MeanSquaredLogarithmicError",
    "mean_squared_logarithmic_error",
    "msle",
    doc="Mean squared logarithmic error (see :func:`mean_squared_logarithmic_error`).",
)
LogCosh = _plain(log_cosh, "LogCosh", "log_cosh", doc="log(cosh(error)) (see :func:`log_cosh`).")
Hinge = _plain(hinge, "Hinge", "hinge", doc="Hinge loss (see :func:`hinge`).")
SquaredHinge = _plain(
    squared_hinge,
    "SquaredHinge",
    "squared_hinge",
    doc="Squared hinge loss (see :func:`squared_hinge`).",
)
CategoricalHinge = _plain(
    categorical_hinge,
    "CategoricalHinge",
    "categorical_hinge",
    doc="Categorical hinge loss (see :func:`categorical_hinge`).",
)
KLDivergence = _plain(
    kl_divergence,
    "KLDivergence",
    "kl_divergence",
    "kld",
    "kullback_leibler_divergence",
    doc="Kullback-Leibler divergence (see :func:`kl_divergence`).",
)
Poisson = _plain(poisson, "Poisson", "poisson", doc="Poisson loss (see :func:`poisson`).")


@_register("huber", "huber_loss")
class Huber(LossFunctionWrapper):
    """Huber loss with threshold ``delta`` (see :func:`huber`)."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss"):
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or delta <= 0:
            raise ValueError(f"Huber: expected delta > 0. Received: delta={delta!r}")
        super().__init__(huber, reduction, name, delta=float(delta))


@_register("cosine_similarity")
class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity along ``axis`` (see :func:`cosine_similarity`)."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity"):
        super().__init__(cosine_similarity, reduction, name, axis=axis)


@_register("multiclass_svm")
class MulticlassSVM(LossFunctionWrapper):
    """The course notes' multiclass SVM loss with integer labels (see :func:`multiclass_svm`).

    >>> import xpnet as xn
    >>> scores = xn.Tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    >>> round(xn.losses.MulticlassSVM()([0, 1, 2], scores).item(), 2)
    5.27
    """

    def __init__(self, margin=1.0, reduction="sum_over_batch_size", name="multiclass_svm"):
        if isinstance(margin, bool) or not isinstance(margin, (int, float)):
            raise ValueError(f"MulticlassSVM: expected a number for margin. Received: {margin!r}")
        super().__init__(multiclass_svm, reduction, name, margin=float(margin))


# =========================================================================== lookup

_FUNCTIONS: dict[str, Callable] = {
    f.__name__: f
    for f in (
        binary_crossentropy,
        binary_focal_crossentropy,
        categorical_crossentropy,
        categorical_focal_crossentropy,
        sparse_categorical_crossentropy,
        mean_squared_error,
        mean_absolute_error,
        mean_absolute_percentage_error,
        mean_squared_logarithmic_error,
        huber,
        log_cosh,
        hinge,
        squared_hinge,
        categorical_hinge,
        multiclass_svm,
        kl_divergence,
        poisson,
        cosine_similarity,
    )
}
_FUNCTION_NAMES = {id(f): name for name, f in _FUNCTIONS.items()}


def _function(name: str) -> Callable:
    if name not in _FUNCTIONS:
        raise ValueError(f"Unknown loss function {name!r}. Valid names: {', '.join(_FUNCTIONS)}.")
    return _FUNCTIONS[name]


def get(identifier: Any) -> Loss | Callable | None:
    """A Loss from a Keras name or alias (``"categorical_crossentropy"``,
    ``"CategoricalCrossentropy"``, ``"mse"``, ``"kld"``, ...), a config dict, an
    instance (passes through) or a plain callable (passes through). None -> None.

    >>> import xpnet as xn
    >>> xn.losses.get("mse")
    MeanSquaredError(name='mean_squared_error', reduction='sum_over_batch_size')
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    return _registry.get(identifier)


def serialize(loss: Any) -> Any:
    """JSON-ready form: a config dict for a Loss, the name of a registered function."""
    if id(loss) in _FUNCTION_NAMES:
        return _FUNCTION_NAMES[id(loss)]
    return _registry.serialize(loss)


def deserialize(config: Any) -> Loss | None:
    """Inverse of :func:`serialize` (a function's name gives its Loss class instance)."""
    return _registry.deserialize(config)


def names() -> list[str]:
    """Every registered loss name (aliases such as ``mse`` excluded)."""
    return _registry.names()
