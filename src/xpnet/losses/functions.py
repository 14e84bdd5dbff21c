"""Loss functions ``f(y_true, y_pred, **kw)`` returning per-sample losses (Keras 3's).

Regression losses average over the last axis (shape ``y_pred.shape[:-1]``);
class-axis losses reduce the class axis.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from xpnet import ops
from xpnet.activations import softplus
from xpnet.losses.inputs import (
    EPSILON,
    _axis,
    _check_probabilities,
    _class_axis_last,
    _fraction,
    _labels,
    _pair,
    _prediction,
)
from xpnet.ops.losses import SigmoidCrossEntropy, SoftmaxCrossEntropy, SparseSoftmaxCrossEntropy
from xpnet.ops.losses import flat_index as _flat_index
from xpnet.tensor import Tensor


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
    """Keras: labels that are all 0 or 1 become -1 or 1 (decided on the device, with no
    host read, so that a compiled step can trace it)."""
    xp, d = y_true.xp, y_true.data
    zero_one = xp.all(xp.logical_or(d == 0.0, d == 1.0))
    return ops.where(zero_one, y_true * 2.0 - 1.0, y_true)


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


def function(name: str) -> Callable:
    if name not in _FUNCTIONS:
        raise ValueError(f"Unknown loss function {name!r}. Valid names: {', '.join(_FUNCTIONS)}.")
    return _FUNCTIONS[name]


def function_name(fn) -> str | None:
    """The registered name of loss function ``fn``, or None."""
    return _FUNCTION_NAMES.get(id(fn))
