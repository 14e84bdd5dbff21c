"""Keras 3's metrics that average a loss function over samples: the crossentropies, KL
divergence, Poisson, the hinges, log-cosh, cosine similarity, MAPE and MSLE.

Each is a :class:`MeanMetricWrapper` around the per-sample loss function of
:mod:`xpnet.losses` (evaluated without recording gradients), with Keras's names and
arguments; like every mean metric it takes ``sample_weight`` and masks.
"""

from __future__ import annotations

from typing import Any

from xpnet import losses
from xpnet.metrics._base import MeanMetricWrapper, _registry
from xpnet.tensor import Tensor, no_grad

__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Hinge",
    "KLDivergence",
    "LogCoshError",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
]


def _per_sample(fn, sign: float = 1.0):
    def per_sample(y_true, y_pred, **kwargs):
        with no_grad():
            out = fn(y_true, Tensor._make(y_pred, None), **kwargs)
        return out.data if sign == 1.0 else out.data * sign

    per_sample.__name__ = fn.__name__
    return per_sample


_FN = {
    name: _per_sample(getattr(losses, name))
    for name in (
        "binary_crossentropy",
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "kl_divergence",
        "poisson",
        "hinge",
        "squared_hinge",
        "categorical_hinge",
        "log_cosh",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
    )
}
# Keras's metric is the cosine similarity itself (the loss is its negative)
_FN["cosine_similarity"] = _per_sample(losses.cosine_similarity, sign=-1.0)


class _LossMean(MeanMetricWrapper):
    _fn_name = ""

    def __init__(self, name: str | None = None, dtype=None, **kwargs: Any) -> None:
        super().__init__(_FN[self._fn_name], name=name or self._default, dtype=dtype, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("fn", None)
        return config


def _metric(cls_name: str, fn_name: str, default: str, direction: str, doc: str, *aliases):
    cls = type(
        cls_name,
        (_LossMean,),
        {"_fn_name": fn_name, "_default": default, "direction": direction, "__doc__": doc},
    )
    cls.__module__ = __name__
    _registry.register(default, cls_name, *aliases)(cls)
    return cls


class BinaryCrossentropy(_LossMean):
    """Mean binary crossentropy (``from_logits``, ``label_smoothing`` as the loss)."""

    _fn_name, _default, direction = "binary_crossentropy", "binary_crossentropy", "down"

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):  # fmt: skip
        super().__init__(name, dtype, from_logits=bool(from_logits),
                         label_smoothing=float(label_smoothing))  # fmt: skip


class CategoricalCrossentropy(_LossMean):
    """Mean categorical crossentropy of one-hot targets."""

    _fn_name, _default, direction = "categorical_crossentropy", "categorical_crossentropy", "down"

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):  # fmt: skip
        super().__init__(name, dtype, from_logits=bool(from_logits),
                         label_smoothing=float(label_smoothing), axis=int(axis))  # fmt: skip


class SparseCategoricalCrossentropy(_LossMean):
    """Mean categorical crossentropy of integer class ids."""

    _fn_name = "sparse_categorical_crossentropy"
    _default, direction = "sparse_categorical_crossentropy", "down"

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):  # fmt: skip
        super().__init__(name, dtype, from_logits=bool(from_logits), axis=int(axis))


class CosineSimilarity(_LossMean):
    """Mean cosine similarity of targets and predictions along ``axis`` (higher is better)."""

    _fn_name, _default, direction = "cosine_similarity", "cosine_similarity", "up"

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(name, dtype, axis=int(axis))


for _cls in (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
             CosineSimilarity):  # fmt: skip
    _registry.register(_cls._default, _cls.__name__)(_cls)

KLDivergence = _metric(
    "KLDivergence", "kl_divergence", "kl_divergence", "down", "Mean KL divergence.", "kld"
)
Poisson = _metric("Poisson", "poisson", "poisson", "down", "Mean Poisson loss.")
Hinge = _metric("Hinge", "hinge", "hinge", "down", "Mean hinge loss.")
SquaredHinge = _metric(
    "SquaredHinge", "squared_hinge", "squared_hinge", "down", "Mean squared hinge loss."
)
CategoricalHinge = _metric(
    "CategoricalHinge", "categorical_hinge", "categorical_hinge", "down",
    "Mean categorical hinge loss.",
)  # fmt: skip
LogCoshError = _metric(
    "LogCoshError", "log_cosh", "logcosh", "down", "Mean log(cosh(error)).", "log_cosh"
)
MeanAbsolutePercentageError = _metric(
    "MeanAbsolutePercentageError", "mean_absolute_percentage_error",
    "mean_absolute_percentage_error", "down", "Mean absolute percentage error.", "mape",
)  # fmt: skip
MeanSquaredLogarithmicError = _metric(
    "MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
    "mean_squared_logarithmic_error", "down", "Mean squared logarithmic error.", "msle",
)  # fmt: skip
