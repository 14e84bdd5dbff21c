"""The metric base classes, the name registries and the array helpers they share.

Helpers take raw arrays of one backend: :func:`_pair` puts the targets on the
predictions' backend and device (a no-op in the fit loop, where both already
are), and running sums stay there until ``result()``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from xpnet import backend as B
from xpnet._registry import Registry, snake_case
from xpnet.backend import host_numpy as np
from xpnet.tensor import Tensor

_registry = Registry("metric")
_functions = Registry("metric function")  # per-sample functions (for MeanMetricWrapper configs)


# --------------------------------------------------------------------------- array helpers


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


def _pair(y_true, y_pred):
    """Raw arrays on y_pred's backend and device, and their namespace."""
    t = type(y_pred)
    if t is type(y_true):  # the fit loop's case: both already on the model's backend
        xp = B.namespace_or_none(y_pred)
        if xp is not None:
            return y_true, y_pred, xp
    y_pred = _raw(y_pred)
    if not B.is_array(y_pred):
        y_pred = B.asarray(y_pred)
    y_true = _raw(y_true)
    if type(y_true) is not type(y_pred):
        y_true = _like(y_true, y_pred)
    return y_true, y_pred, B.namespace(y_pred)


def _like(value, ref):
    """``value`` (any array, list or scalar) on ``ref``'s backend and device; float64
    host values take ``ref``'s float dtype (never promoting float32 predictions)."""
    return B.on_backend_of(value, ref, floats_like=True)


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
    raise ValueError(
        f"This metric needs 0/1 targets shaped like the predictions; got y_true "
        f"{tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)}. For class ids use "
        "xn.data.to_categorical(y) or a sparse_* metric."
    )


def _zero(xp, ref):
    return xp.zeros((), dtype=ref.dtype, device=B.device_of(ref))


def _add(total, value):
    return value if total is None else total + value


def _host(a) -> Any:
    return B.to_numpy(a).astype(np.float64)


# --------------------------------------------------------------------------- base classes


class Metric:
    """Base of every metric: ``update_state``, ``result``, ``reset_state``.

    Args:
        name: the name shown in logs (default: the snake-case class name).
        dtype: kept for Keras compatibility; sums take the predictions' dtype.

    ``direction`` ("up" or "down") tells callbacks in ``mode="auto"`` whether
    larger is better.
    """

    direction = "up"
    #: The attributes holding the running state, which ``update_state`` adds each batch
    #: into: each None (nothing added yet, read as zero), a number or an array. A
    #: compiled training step (``compile(jit_compile=True)``) carries exactly these
    #: (and those of metrics held as attributes) in and out, so a subclass lists here
    #: every attribute its ``update_state`` changes.
    state_names: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, dtype: str | None = None) -> None:
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self.reset_state()

    def state_holders(self) -> list[tuple[Any, str]]:
        """``(object, attribute)`` of every piece of running state: :attr:`state_names`
        of this metric, then of the metrics it holds as attributes."""
        out = [(self, name) for name in self.state_names]
        for value in vars(self).values():
            if isinstance(value, Metric):
                out += value.state_holders()
        return out

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

    state_names = ("total", "count")

    def reset_state(self) -> None:
        self.total = None
        self.count = 0

    def update_state(self, values, sample_weight=None) -> None:
        values = _raw(values)
        if not B.is_array(values):
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
        if isinstance(self.count, int):
            total, count = float(_host(self.total)), self.count
        else:  # both on the device (weighted, or carried by a compiled step): one read
            xp = B.namespace(self.total)
            dt = xp.float64 if B.has_float64(xp) else self.total.dtype
            both = xp.stack([xp.astype(self.total, dt), xp.astype(self.count, dt)])
            total, count = (float(v) for v in _host(both))
        return total / count if count else 0.0


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
