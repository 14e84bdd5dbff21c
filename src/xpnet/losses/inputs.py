"""The losses' inputs: predictions as Tensors, targets moved to their backend, values checked.

Checks of values (class labels that are whole numbers in ``[0, n_classes)``,
probabilities in ``[0, 1]`` when ``from_logits=False``) cost nothing on host
data: NumPy arrays and lists, the user's input, are checked on the host copy
at every call, before they move. On device data (any backend's array, CPU ones
included) a check reads a value back to the host, which on a GPU waits for all
queued work, so it runs once, not every step:

* a plain loss function (``sparse_categorical_crossentropy(y, p)``) checks at
  every call: it has nowhere to remember that it did;
* a :class:`~xpnet.losses.Loss` object checks device targets and device
  predictions at its first call each (:func:`device_checks`), then no more;
* ``fit`` and ``evaluate`` check the whole targets array before the first step
  (:meth:`Loss.check_targets`: host data on the host, device data with one
  read), so the steps that follow read nothing.
"""

from __future__ import annotations

import threading

from xpnet import backend as B
from xpnet import ops
from xpnet.backend import host_numpy
from xpnet.tensor import Tensor

EPSILON = 1e-7  # keras.backend.epsilon(): the clip of probabilities and denominators


def _check_real(data, loss: str, name: str) -> None:
    """Refuse strings, objects and complex numbers by dtype (metadata: no device read)."""
    data = data.data if isinstance(data, Tensor) else data
    if not hasattr(data, "dtype"):
        data = host_numpy.asarray(data)
    if B.is_host_data(data):
        ok = host_numpy.asarray(data).dtype.kind in "biuf"
    else:
        ok = B.namespace(data).isdtype(data.dtype, ("bool", "integral", "real floating"))
    if not ok:
        raise TypeError(f"{loss}: expected {name} of real numbers; received dtype {data.dtype}.")


def _prediction(y_pred, loss: str = "loss") -> Tensor:
    """y_pred as a floating Tensor (arrays are moved to the active backend)."""
    if not (isinstance(y_pred, Tensor) and B.is_floating(y_pred.data)):  # (a model's output)
        _check_real(y_pred, loss, "y_pred")
    t = y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)
    if not B.is_floating(t.data):
        t = ops.cast(t, B.floatx())
    return t


def _on_backend_of(data, like: Tensor):
    """``data`` (an array of any backend, a NumPy array, a list) on ``like``'s backend
    and device, keeping its dtype (a Python list gets NumPy's)."""
    return B.on_backend_of(data, like.data)


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
    y_pred = _prediction(y_pred, loss)
    if y_pred.ndim == 0:
        raise ValueError(
            f"{loss}: expected y_pred with a batch dimension; received a 0-d value (a scalar)."
        )
    if not (isinstance(y_true, Tensor) and B.is_floating(y_true.data)):
        _check_real(y_true, loss, "y_true")
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


# --------------------------------------------------------------------------- value checks

TARGETS, PREDICTIONS = "targets", "predictions"  # the kinds of checks a Loss object remembers


class _DeviceChecks(threading.local):
    # done: the kinds of device checks the current Loss object has passed (None outside a
    # Loss call: a plain function checks every time)
    done: set | None = None


_device = _DeviceChecks()


def device_checks(done: set | None) -> set | None:
    """Make ``done`` the current call's record of passed device checks; return the previous.

    A Loss object sets its own set around a call (and restores the previous one
    after): checks of a kind in ``done`` are skipped on device data, and a check
    that passes adds its kind. None checks everything (plain function calls).
    """
    previous = _device.done
    _device.done = done
    return previous


def _due(kind: str) -> bool:
    """Whether a device check of ``kind`` runs in the current call."""
    done = _device.done
    return done is None or kind not in done


def _passed(kind: str) -> None:
    done = _device.done
    if done is not None:
        done.add(kind)


def _check_probabilities(y_pred: Tensor, loss: str, upper: bool) -> None:
    """from_logits=False with values that cannot be probabilities: say so.

    One reduction and one read (free on host data; on device data once per
    Loss object); it catches logits passed by mistake.
    """
    xp, d = y_pred.xp, y_pred.data
    host = B.is_host_data(d)
    # (inside a compiled step the values do not exist yet: fit checked its data first)
    if not host and (not _due(PREDICTIONS) or B.is_traced(d)):
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
    if not host:
        _passed(PREDICTIONS)


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


def _label_shape(data, y_pred: Tensor, loss: str, axis: int):
    """``data`` shaped as ``y_pred.shape`` without ``axis`` (a trailing 1 is squeezed), or a
    clear error. Shapes only: no value is read."""
    expected = tuple(s for i, s in enumerate(y_pred.shape) if i != axis)
    shape = tuple(data.shape)
    if len(shape) == y_pred.ndim and shape[-1] == 1 and shape[:-1] == expected:
        return B.namespace(data).reshape(data, expected)  # (batch, 1) labels, as Keras
    if shape == y_pred.shape and y_pred.shape[axis] > 1:
        raise ValueError(
            f"{loss}: expected integer class indices of shape {expected}, but y_true has "
            f"y_pred's shape {shape} (one-hot or probabilities?). Use "
            f"categorical_crossentropy for one-hot targets, or pass argmax(y_true, axis=-1)."
        )
    if shape != expected:
        raise ValueError(
            f"{loss}: expected one integer class index per prediction, y_true of shape "
            f"{expected} for y_pred of shape {y_pred.shape}. Received: y_true.shape={shape}. "
            f"Check that labels and predictions come from the same batch."
        )
    return data


def _labels(y_true, y_pred: Tensor, loss: str, axis: int, ignore_class=None):
    """Integer class indices of shape ``y_pred.shape`` without ``axis``, checked, on
    ``y_pred``'s backend and device.

    Host labels are checked on the host before they move (free); device labels
    on the device, where the current call allows it (see :func:`device_checks`).
    """
    raw = y_true.data if isinstance(y_true, Tensor) else y_true
    n_classes = y_pred.shape[axis]
    if B.is_host_data(raw):
        host = _label_shape(host_numpy.asarray(raw), y_pred, loss, axis)
        host = check_labels_on_host(host, n_classes, loss, ignore_class)
        return host if B.is_host_data(y_pred.data) else _on_backend_of(host, y_pred)
    data = _label_shape(_on_backend_of(raw, y_pred), y_pred, loss, axis)
    check = _due(TARGETS) and not B.is_traced(data)  # (traced: see _check_probabilities)
    data = _device_labels(y_pred.xp, data, check, n_classes, loss, ignore_class)
    if check:
        _passed(TARGETS)
    return data


def _device_labels(xp, data, check: bool, n_classes: int, loss: str, ignore_class=None):
    """Device labels as integers, checked with one read if ``check``."""
    bad = None
    if data.dtype == xp.int64 or data.dtype == xp.int32:
        pass  # the usual labels: no dtype inspection
    elif xp.isdtype(data.dtype, "real floating"):
        if check:
            bad = data != xp.floor(data)  # NaN too
        data = xp.astype(data, B.index_dtype(xp))
    else:  # bool, unsigned, int8 / int16: the index dtype every library takes, and
        # room for the flat index (row * n_classes + label)
        data = xp.astype(data, B.index_dtype(xp))
    if check:
        _check_labels_on_device(xp, data, bad, n_classes, loss, ignore_class)
    return data


def check_labels_on_host(labels, n_classes: int, loss: str, ignore_class=None):
    """Check class labels held on the host (a NumPy array: the user's data, before it
    moves to a device) and return them as integers.

    Labels must be whole numbers in ``[0, n_classes)`` (``ignore_class`` aside);
    whole-number floats and narrow integers become int64, int32 and int64 pass
    as they are. Raises ValueError saying what was received otherwise. One
    pass over the usual int64 labels (host bookkeeping: NumPy on purpose).
    """
    np = host_numpy
    labels = np.asarray(labels)
    kind = labels.dtype.kind
    if kind == "f":
        ok = np.isfinite(labels) & (labels == np.floor(labels))
        if labels.size and not np.all(ok):
            raise _non_integer_error(loss, labels[~ok].flat[0])
        labels = labels.astype(np.int64)
    elif kind != "i" or labels.dtype.itemsize < 4:
        # bool, unsigned, int8 / int16: the index dtype every library takes
        if kind == "u" and labels.size and labels.max() > np.iinfo(np.int64).max:
            _label_range_error(labels, loss, n_classes)
        labels = labels.astype(np.int64)
    if not labels.size:
        return labels
    if ignore_class is None:
        # one reduction: negative labels read as unsigned are huge, so the largest
        # unsigned label below n_classes is the whole range check
        unsigned = labels.view(_UNSIGNED[labels.dtype.itemsize])
        if int(np.maximum.reduce(unsigned, axis=None)) >= n_classes:
            _label_range_error(labels, loss, n_classes)
        return labels
    checked = np.where(labels == ignore_class, 0, labels)
    if checked.min() < 0 or checked.max() >= n_classes:
        _label_range_error(checked, loss, n_classes)
    return labels


_UNSIGNED = {4: host_numpy.uint32, 8: host_numpy.uint64}


def _check_labels_on_device(xp, labels, bad, n_classes: int, loss: str, ignore_class=None):
    """The same checks on the device, in one read (more only to word an error). ``labels``
    are integers; ``bad`` marks the non-integer values they were cast from (or None)."""
    checked = labels if ignore_class is None else xp.where(labels == ignore_class, 0, labels)
    outside = checked // n_classes != 0  # 0 exactly for labels in range
    if not bool(xp.any(outside if bad is None else xp.logical_or(bad, outside))):
        return
    if bad is not None and bool(xp.any(bad)):
        raise _non_integer_error(loss)
    _label_range_error(checked, loss, n_classes)


def check_label_values(y_true, n_classes: int, loss: str, ignore_class=None) -> None:
    """Check a whole array of class labels (fit's ``y``, any shape): on the host for host
    data, with one device read otherwise."""
    raw = y_true.data if isinstance(y_true, Tensor) else y_true
    if B.is_host_data(raw):
        check_labels_on_host(raw, n_classes, loss, ignore_class)
    else:
        _device_labels(B.namespace(raw), raw, True, n_classes, loss, ignore_class)


def _non_integer_error(loss: str, example=None) -> ValueError:
    got = "" if example is None else f" (e.g. {float(example)!r})"
    return ValueError(
        f"{loss}: expected integer class indices; y_true has non-integer values{got}. "
        "Use categorical_crossentropy for soft or one-hot targets."
    )


def _label_range_error(labels, loss: str, n_classes: int):
    xp = B.namespace(labels)
    raise ValueError(
        f"{loss}: class indices must lie in [0, {n_classes}) for y_pred with "
        f"{n_classes} classes. Received labels in [{int(xp.min(labels))}, "
        f"{int(xp.max(labels))}]. Check the number of output units or the label encoding."
    )


def _fraction(loss: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"{loss}: expected {name} in [0, 1]. Received: {name}={value!r}")
    return float(value)
