"""The Loss classes by Keras name: ``CategoricalCrossentropy(from_logits=True)``, ..."""

from __future__ import annotations

from collections.abc import Callable

from xpnet import backend as B
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
from xpnet.losses.inputs import (
    _fraction,
    _labels,
    _on_backend_of,
)
from xpnet.losses.loss import LossFunctionWrapper, _registry
from xpnet.ops.losses import SparseSoftmaxCrossEntropy
from xpnet.tensor import Tensor


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

    def _compute(self, y_true, y_pred, sample_weight, given_mask=None):
        # The training loop's case in one node: 2-D logits, labels, the batch mean.
        if (
            sample_weight is None
            and given_mask is None
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
        return super()._compute(y_true, y_pred, sample_weight, given_mask)

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
