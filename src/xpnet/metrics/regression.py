"""Regression metrics: mean squared and absolute error, RMSE, R2."""

from __future__ import annotations

import math

from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.metrics._base import (
    MeanMetricWrapper,
    Metric,
    _add,
    _float,
    _functions,
    _host,
    _pair,
    _registry,
    _weights,
)
from xpnet.metrics.confusion import _safe_div


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


def _squared_error(y_true, y_pred):
    y_true, y_pred, xp = _pair(y_true, y_pred)
    d = _float(xp, y_true, y_pred) - y_pred
    return d * d


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

    state_names = ("sum_y", "sum_y2", "sum_res", "count", "num_samples")

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
            m = int(_host(self.num_samples))  # (an array after a compiled step)
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
