"""The Loss base class and the one reduction helper (:func:`reduce_weighted`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from xpnet import ops
from xpnet._registry import Configurable, Registry, snake_case
from xpnet.backend import host_numpy
from xpnet.losses import functions
from xpnet.losses.inputs import TARGETS, _device, _on_backend_of, _prediction, _targets
from xpnet.tensor import Tensor

REDUCTIONS = ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight")

_registry = Registry("loss")


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


class Loss(Configurable):
    """Base class: ``loss(y_true, y_pred, sample_weight=None)`` returns the reduced loss.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.

    Checks of values that would read device memory (labels in range,
    probabilities in [0, 1]) run at the object's first call with device data,
    then no more; host data (NumPy arrays, lists) are checked at every call, on
    the host (see :mod:`xpnet.losses.inputs`).

    Args:
        name: the loss's name (default: from the class name).
        reduction: ``"sum_over_batch_size"`` (default), ``"sum"``, ``"none"``,
            ``"mean"`` or ``"mean_with_sample_weight"``.
    """

    def __init__(self, name: str | None = None, reduction="sum_over_batch_size"):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = _standardize_reduction(reduction)
        self._device_checked: set[str] = set()  # kinds of device checks passed

    def __call__(self, y_true, y_pred, sample_weight=None, mask=None) -> Tensor:
        """The reduced loss. ``mask`` (boolean, shaped like the per-sample losses or their
        leading axes): the valid entries, as Keras takes from ``y_pred``'s mask; with
        ``"sum_over_batch_size"`` the sum is divided by the number of valid entries."""
        # the checks of this call record what they passed in this object's set (inputs.
        # device_checks, inlined: every step comes here); a subclass that skipped
        # Loss.__init__ has no set, and checks every call
        previous = _device.done
        _device.done = getattr(self, "_device_checked", None)
        try:
            return self._compute(y_true, y_pred, sample_weight, mask)
        finally:
            _device.done = previous

    def _compute(self, y_true, y_pred, sample_weight, given_mask=None) -> Tensor:
        """The reduced loss (``__call__`` without the bookkeeping of checks)."""
        y_pred = _prediction(y_pred)
        values = self.call(y_true, y_pred)
        mask = self._mask(y_true, y_pred)
        if given_mask is not None:
            given = _on_backend_of(
                given_mask.data if isinstance(given_mask, Tensor) else given_mask, values
            )
            xp = values.xp
            if given.ndim > values.ndim or tuple(given.shape) != tuple(values.shape[: given.ndim]):
                raise ValueError(
                    f"{type(self).__name__}: a mask of shape {tuple(given.shape)} does not fit "
                    f"per-sample losses of shape {tuple(values.shape)}."
                )
            while given.ndim < values.ndim:
                given = given[..., None]
            given = xp.broadcast_to(given, tuple(values.shape))
            mask = given if mask is None else mask & given
        return reduce_weighted(values, sample_weight, self.reduction, mask=mask)

    def check_targets(self, y_true, y_pred_shape) -> None:
        """Check the values of a whole targets array once (fit and evaluate do, before the
        first step), so calls on batches of it need not read device memory.

        Host data are checked on the host, device data with one read; raises the
        error a call would. ``y_pred_shape``: the shape of the predictions (any
        batch size). The base class has no such checks.
        """

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

    def check_targets(self, y_true, y_pred_shape) -> None:
        if functions.check_targets(self.fn, y_true, y_pred_shape, **self._fn_kwargs):
            self.__dict__.setdefault("_device_checked", set()).add(TARGETS)

    def get_config(self):
        config = super().get_config()
        config.update(
            {k: list(v) if isinstance(v, tuple) else v for k, v in self._fn_kwargs.items()}
        )
        if type(self) is LossFunctionWrapper:
            config["fn"] = functions.function_name(self.fn) or _registry.serialize(self.fn)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is LossFunctionWrapper:
            config["fn"] = functions.function(config["fn"])
        return cls(**config)
