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
>>> loss = xn.losses.get("SparseCategoricalCrossentropy")
>>> round(loss([1, 2], xn.Tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])).item(), 4)
1.1769
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xpnet._registry import snake_case
from xpnet.losses import functions
from xpnet.losses.classes import (
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    MulticlassSVM,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from xpnet.losses.functions import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    multiclass_svm,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from xpnet.losses.loss import REDUCTIONS, Loss, LossFunctionWrapper, _registry, reduce_weighted
from xpnet.losses.overlap import Dice, Tversky, dice, tversky

__all__ = [
    "REDUCTIONS",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalHinge",
    "CosineSimilarity",
    "Dice",
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
    "Tversky",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "cosine_similarity",
    "deserialize",
    "dice",
    "get",
    "get_object",
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
    "tversky",
]


def get(identifier: Any) -> Loss | Callable | None:
    """A loss from a Keras identifier, as ``keras.losses.get`` resolves it.

    A function's name or alias (``"mse"``, ``"mean_squared_error"``,
    ``"categorical_crossentropy"``, ``"kld"``) gives the per-sample function;
    a class name (``"MeanSquaredError"``) or a config dict gives a
    :class:`Loss` instance; instances and callables pass through; None -> None.

    >>> import xpnet as xn
    >>> xn.losses.get("mse").__name__
    'mean_squared_error'
    >>> xn.losses.get("MeanSquaredError")
    MeanSquaredError(name='mean_squared_error', reduction='sum_over_batch_size')
    """
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    obj = _registry.get(identifier)
    if isinstance(identifier, str) and isinstance(obj, Loss) and identifier != type(obj).__name__:
        fn = functions._FUNCTIONS.get(snake_case(type(obj).__name__))
        if fn is not None:
            return fn
    return obj


def get_object(identifier: Any) -> Loss | Callable | None:
    """Like :func:`get`, but names always give :class:`Loss` instances (``"mse"`` ->
    ``MeanSquaredError()``), and so do xpnet's own per-sample functions: what
    ``compile`` wants."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    name = functions.function_name(identifier)
    if name is not None:
        return _registry.get(name)
    return _registry.get(identifier)


def serialize(loss: Any) -> Any:
    """JSON-ready form: a config dict for a Loss, the name of a registered function."""
    name = functions.function_name(loss)
    return name if name is not None else _registry.serialize(loss)


def deserialize(config: Any) -> Loss | None:
    """Inverse of :func:`serialize` (a function's name gives its Loss class instance)."""
    return _registry.deserialize(config)


def names() -> list[str]:
    """Every registered loss name (aliases such as ``mse`` excluded)."""
    return _registry.names()
