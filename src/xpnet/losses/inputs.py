"""The losses' inputs: predictions as Tensors, targets moved to their backend, labels checked.

Checks that need the values (labels in range, probabilities in [0, 1]) read the
host copy where the data arrive from the host, so a training step makes no
device read for them.
"""

from __future__ import annotations

from xpnet import backend as B
from xpnet import ops
from xpnet.backend import host_numpy
from xpnet.tensor import Tensor

EPSILON = 1e-7  # keras.backend.epsilon(): the clip of probabilities and denominators


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


def _unreadable(x) -> bool:
    """TEMPORARY (branch jit, until the no-reads branch moves these checks out of the
    step): inside a compiled step (``jit_compile``) ``x`` holds no values yet, so the
    checks that read values are skipped there."""
    return B.is_traced(x)


def _check_probabilities(y_pred: Tensor, loss: str, upper: bool) -> None:
    """from_logits=False with values that cannot be probabilities: say so.

    One reduction and one host read; it catches logits passed by mistake.
    """
    xp, d = y_pred.xp, y_pred.data
    if _unreadable(d):
        return
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
        if not _unreadable(data) and bool(xp.any(data != xp.floor(data))):
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
    if not _unreadable(checked) and bool(xp.any(checked // n_classes)):
        _label_range_error(xp, checked, loss, n_classes)
    return data


_UNSIGNED = {1: host_numpy.uint8, 2: host_numpy.uint16, 4: host_numpy.uint32, 8: host_numpy.uint64}


def _label_range_error(xp, labels, loss: str, n_classes: int):
    raise ValueError(
        f"{loss}: class indices must lie in [0, {n_classes}) for y_pred with "
        f"{n_classes} classes. Received labels in [{int(xp.min(labels))}, "
        f"{int(xp.max(labels))}]. Check the number of output units or the label encoding."
    )


def _fraction(loss: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{loss}: expected {name} in [0, 1]. Received: {name}={value!r}")
    return float(value)
