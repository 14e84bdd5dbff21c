"""Normalization layers: BatchNormalization, LayerNormalization, GroupNormalization,
RMSNormalization, UnitNormalization and the Normalization preprocessing layer.

BatchNormalization (in training), LayerNormalization and GroupNormalization all
standardize over some axes and apply a learned affine map. They share one fused
primitive, :class:`~xpnet.ops.norm.Standardize`, whose backward is the closed form of the
normalization gradient and which keeps no full-size intermediate for it; the
composite of elementary ops (:func:`standardize_composite`) is kept beside it
as the reference the tests compare it with.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from xpnet import _checks, constraints, initializers, ops, regularizers
from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.layers.base import InputSpec, Layer, weight_options_config
from xpnet.ops.norm import Standardize, moments, standardize
from xpnet.tensor import Tensor

__all__ = [
    "BatchNormalization",
    "GroupNormalization",
    "LayerNormalization",
    "Normalization",
    "RMSNormalization",
    "UnitNormalization",
]


# --------------------------------------------------------------------------- argument checks


def _check_axis(layer: str, axis: Any, allow_list: bool = True) -> int | list[int]:
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if allow_list and isinstance(axis, (list, tuple)) and axis:
        if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            return [int(a) for a in axis]
    what = "an integer or a non-empty list of integers" if allow_list else "an integer"
    raise ValueError(f"{layer}: expected {what} for axis. Received: axis={axis!r}")


def _resolve_axes(layer: Layer, axis: int | list[int], shape) -> tuple[int, ...]:
    """``axis`` as sorted non-negative axes of ``shape``; an error names both if out of range."""
    nd = len(shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    for a in axes:
        if not -nd <= a < nd:
            raise ValueError(
                f"{type(layer).__name__} layer '{layer.name}': axis {a} is out of range for "
                f"inputs of rank {nd} (shape {tuple(shape)}). Received: axis={axis!r}"
            )
    out = sorted({a % nd for a in axes})
    if len(out) != len(axes):
        raise ValueError(f"{type(layer).__name__}: repeated entries in axis={axis!r}.")
    return tuple(out)


def _check_float(layer: str, name: str, value: Any, low: float, high: float, closed=True):
    return _checks.in_range(layer, name, value, low, high, low_closed=closed)


def _check_epsilon(layer: str, epsilon: Any) -> float:
    return _check_float(layer, "epsilon", epsilon, 0.0, math.inf)


def _bshape(shape, axes: tuple[int, ...]) -> tuple[int, ...]:
    """Broadcast shape of a weight spanning ``axes`` of ``shape``."""
    return tuple(int(shape[i]) if i in axes else 1 for i in range(len(shape)))


class _Affine(Layer):
    """gamma/beta bookkeeping shared by Batch-, Layer- and GroupNormalization."""

    def __init__(
        self,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.center = _checks.boolean(type(self).__name__, "center", center)
        self.scale = _checks.boolean(type(self).__name__, "scale", scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _add_affine(self, shape, gamma: bool, beta: bool) -> None:
        self.gamma = self.beta = None
        if gamma:
            self.gamma = self.add_weight(
                "gamma",
                shape,
                self.gamma_initializer,
                self.gamma_regularizer,
                self.gamma_constraint,
            )
        if beta:
            self.beta = self.add_weight(
                "beta", shape, self.beta_initializer, self.beta_regularizer, self.beta_constraint
            )

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            center=self.center,
            scale=self.scale,
            **weight_options_config(self, "beta", "gamma"),
        )
        return config


def _reshaped(w, shape):
    """Weight ``w`` (or None) reshaped to ``shape`` when its own shape differs."""
    if w is None or tuple(w.shape) == tuple(shape):
        return w
    return ops.reshape(w, shape)


# --------------------------------------------------------------------------- BatchNormalization


class BatchNormalization(_Affine):
    """Normalize each feature over the batch (Ioffe and Szegedy, 2015).

    In training (``training=True``) each channel along ``axis`` is standardized
    with the mean and biased variance of the current batch, then scaled and
    shifted: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``; the moving
    statistics follow ``moving = moving * momentum + batch * (1 - momentum)``.
    At inference the moving statistics replace the batch's.

    As in Keras 3, a layer with ``trainable = False`` runs in inference mode
    even when called with ``training=True``, and its statistics stay frozen.

    PyTorch's ``BatchNorm`` uses ``momentum_torch = 1 - momentum`` and updates
    its running variance with the unbiased batch variance; Keras and xpnet use
    the biased one.

    Args:
        axis: the channel axis (an integer; -1 for channels_last).
        momentum: weight of the old moving statistics (Keras default 0.99).
        epsilon: added to the variance (Keras default 1e-3).
        center, scale: learn ``beta`` / ``gamma``.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer: ``"zeros"``, ``"ones"``, ``"zeros"``, ``"ones"``.
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint.

    >>> import numpy as np, xpnet as xn
    >>> bn = xn.layers.BatchNormalization(momentum=0.5, epsilon=0.0)
    >>> y = bn(np.array([[1.0], [3.0]]), training=True)
    >>> xn.to_numpy(y).ravel().tolist(), xn.to_numpy(bn.moving_mean).tolist()
    ([-1.0, 1.0], [1.0])
    """

    autocast = False  # computes in float32 under a mixed policy (as Keras)

    supports_masking = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        synchronized: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        self.axis = _check_axis("BatchNormalization", axis, allow_list=False)
        self.momentum = _check_float("BatchNormalization", "momentum", momentum, 0.0, 1.0)
        self.epsilon = _check_epsilon("BatchNormalization", epsilon)
        if synchronized:
            raise ValueError(
                "BatchNormalization: synchronized=True needs distributed training, which "
                "xpnet does not have (Keras supports it only on TensorFlow). "
                "Received: synchronized=True"
            )
        self.synchronized = False
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)

    def build(self, input_shape) -> None:
        axis = _resolve_axes(self, self.axis, input_shape)[0]
        channels = int(input_shape[axis])
        self._add_affine((channels,), self.scale, self.center)
        self.moving_mean = self.add_weight(
            "moving_mean", (channels,), self.moving_mean_initializer, trainable=False
        )
        self.moving_variance = self.add_weight(
            "moving_variance", (channels,), self.moving_variance_initializer, trainable=False
        )
        self._reduce = tuple(i for i in range(len(input_shape)) if i != axis)
        self._bshape = _bshape(input_shape, (axis,))
        self.input_spec = InputSpec(ndim=len(input_shape), axes={self.axis: channels})
        self.built = True  # also when build() is called directly (e.g. before set_weights)

    def call(self, inputs, training=None):
        if training and self.trainable:
            return self._train(inputs)
        return self._infer(inputs)

    def _train(self, x):
        xp = x.xp
        mean, var = moments(xp, x.data, self._reduce)
        self._update_moving(xp, self.moving_mean, mean)
        self._update_moving(xp, self.moving_variance, var)
        gamma, beta = _reshaped(self.gamma, self._bshape), _reshaped(self.beta, self._bshape)
        return Standardize.apply(
            x, gamma, beta, mean=mean, var=var, axes=self._reduce, epsilon=self.epsilon
        )

    def _update_moving(self, xp, moving, batch_stat) -> None:
        m = self.momentum
        new = moving.data * m + xp.reshape(batch_stat, (-1,)) * (1.0 - m)
        moving.data = xp.astype(new, moving.data.dtype)  # float32 stays float32

    def _infer(self, x):
        # y = x * scale + shift with per-channel scale = gamma / sqrt(moving_var + eps)
        # and shift = beta - moving_mean * scale: two passes over x.
        # (Tensors on the left: a raw array on the left of a Tensor is an error on some backends)
        xp = x.xp
        mm = xp.astype(self.moving_mean.data, x.dtype)
        inv = 1.0 / xp.sqrt(xp.astype(self.moving_variance.data, x.dtype) + self.epsilon)
        scale = Tensor._make(inv, None) if self.gamma is None else self.gamma * inv
        shift = -(scale * mm) if self.beta is None else self.beta - scale * mm
        return x * _reshaped(scale, self._bshape) + _reshaped(shift, self._bshape)

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis,
            momentum=self.momentum,
            epsilon=self.epsilon,
            **weight_options_config(self, "moving_mean", "moving_variance", kinds=("initializer",)),
            synchronized=self.synchronized,
        )
        return config


# --------------------------------------------------------------------------- LayerNormalization


class LayerNormalization(_Affine):
    """Normalize each sample over ``axis`` (Ba et al., 2016), the same in training and inference.

    ``y = (x - mean) / sqrt(var + epsilon) * gamma + beta`` with the mean and
    biased variance of each sample over ``axis``; ``gamma`` and ``beta`` span
    the normalized axes.

    With ``rms_scaling=True``, ``center`` and ``scale`` are ignored and
    ``y = x / sqrt(var + epsilon) * gamma`` (no beta). This is what Keras 3
    computes for that flag: note it divides by the *variance* (of the centred
    inputs) without subtracting the mean; for the RMS of the paper use
    :class:`RMSNormalization`.

    Args:
        axis: an axis or a list of axes to normalize over (default -1).
        epsilon: added to the variance (Keras default 1e-3).
        center, scale: learn ``beta`` / ``gamma``.
        rms_scaling: see above.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: as Keras.

    >>> import numpy as np, xpnet as xn
    >>> ln = xn.layers.LayerNormalization(epsilon=0.0)
    >>> xn.to_numpy(ln(np.array([[1.0, 3.0], [2.0, 6.0]]))).tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    """

    autocast = False  # computes in float32 under a mixed policy (as Keras)

    supports_masking = True

    def __init__(
        self,
        axis: int | Sequence[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        rms_scaling: bool = False,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        self.axis = _check_axis("LayerNormalization", axis)
        self.epsilon = _check_epsilon("LayerNormalization", epsilon)
        self.rms_scaling = _checks.boolean(type(self).__name__, "rms_scaling", rms_scaling)

    def build(self, input_shape) -> None:
        self._axes = _resolve_axes(self, self.axis, input_shape)
        shape = tuple(int(input_shape[a]) for a in self._axes)
        use_gamma = self.scale or self.rms_scaling
        self._add_affine(shape, use_gamma, self.center and not self.rms_scaling)
        self._bshape = _bshape(input_shape, self._axes)
        self.input_spec = InputSpec(ndim=len(input_shape), axes=dict(zip(self._axes, shape)))
        self.built = True

    def call(self, inputs):
        gamma, beta = _reshaped(self.gamma, self._bshape), _reshaped(self.beta, self._bshape)
        if self.rms_scaling:
            y = inputs / ops.sqrt(ops.var(inputs, self._axes, keepdims=True) + self.epsilon)
            return y if gamma is None else y * gamma
        return standardize(inputs, gamma, beta, self._axes, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon, rms_scaling=self.rms_scaling)
        return config


# --------------------------------------------------------------------------- GroupNormalization


class GroupNormalization(_Affine):
    """Normalize groups of channels of each sample (Wu and He, 2018).

    The channels along ``axis`` are split into ``groups`` groups of equal size;
    each sample's group is standardized over its channels and every other
    non-batch axis, then ``gamma`` and ``beta`` (one per channel) apply.
    ``groups=1`` is close to LayerNormalization over all non-batch axes;
    ``groups=-1`` (one group per channel) is Instance Normalization.

    Args:
        groups: number of groups (Keras default 32); the channel count must be
            a multiple of it. -1 means one group per channel.
        axis: the channel axis (default -1, channels_last).
        epsilon: added to the variance (Keras default 1e-3).
        center, scale, beta_initializer, gamma_initializer, beta_regularizer,
        gamma_regularizer, beta_constraint, gamma_constraint: as Keras.

    >>> import numpy as np, xpnet as xn
    >>> gn = xn.layers.GroupNormalization(groups=2)
    >>> gn(np.random.default_rng(0).normal(size=(2, 5, 4))).shape
    (2, 5, 4)
    """

    autocast = False  # computes in float32 under a mixed policy (as Keras)

    supports_masking = True

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            center,
            scale,
            beta_initializer,
            gamma_initializer,
            beta_regularizer,
            gamma_regularizer,
            beta_constraint,
            gamma_constraint,
            **kwargs,
        )
        if (
            isinstance(groups, bool)
            or not isinstance(groups, numbers.Integral)
            or not (groups > 0 or groups == -1)
        ):
            raise ValueError(
                "GroupNormalization: expected a positive integer (or -1) for groups. "
                f"Received: groups={groups!r}"
            )
        self.groups = int(groups)
        self.axis = _check_axis("GroupNormalization", axis, allow_list=False)
        self.epsilon = _check_epsilon("GroupNormalization", epsilon)

    def build(self, input_shape) -> None:
        axis = _resolve_axes(self, self.axis, input_shape)[0]
        if axis == 0:
            raise ValueError(
                f"GroupNormalization layer '{self.name}': axis={self.axis} is the batch axis "
                f"of inputs of shape {tuple(input_shape)}; give the channel axis."
            )
        channels = int(input_shape[axis])
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            raise ValueError(
                f"GroupNormalization layer '{self.name}': {channels} channels (axis "
                f"{self.axis} of input shape {tuple(input_shape)}) cannot be split into "
                f"groups={self.groups} groups of equal size; choose groups dividing {channels}."
            )
        self._add_affine((channels,), self.scale, self.center)
        nd = len(input_shape)
        # x of shape (..., C, ...) is viewed as (..., G, C // G, ...): statistics over every
        # axis but the batch and the group axis
        self._split = (axis, groups, channels // groups)
        self._reduce = tuple(i for i in range(1, nd + 1) if i != axis)
        self._bshape = tuple([1] * axis + [groups, channels // groups] + [1] * (nd - axis - 1))
        self.input_spec = InputSpec(ndim=nd, axes={self.axis: channels})
        self.built = True

    def call(self, inputs):
        axis, groups, size = self._split
        shape = inputs.shape
        x = ops.reshape(inputs, (*shape[:axis], groups, size, *shape[axis + 1 :]))
        gamma, beta = _reshaped(self.gamma, self._bshape), _reshaped(self.beta, self._bshape)
        return ops.reshape(standardize(x, gamma, beta, self._reduce, self.epsilon), shape)

    def get_config(self):
        config = super().get_config()
        config.update(groups=self.groups, axis=self.axis, epsilon=self.epsilon)
        return config


# --------------------------------------------------------------------------- RMS and unit norms


class RMSNormalization(Layer):
    """Divide by the root mean square over ``axis`` and learn a scale (Zhang and Sennrich, 2019).

    ``y = x / sqrt(mean(x**2) + epsilon) * scale`` (the mean over ``axis``); no
    centring, so it is cheaper than LayerNormalization. Matches
    ``torch.nn.RMSNorm`` with the same epsilon.

    Args:
        axis: an axis or a list of axes (default -1).
        epsilon: added to the mean square (Keras default 1e-6).

    >>> import numpy as np, xpnet as xn
    >>> rms = xn.layers.RMSNormalization(epsilon=0.0)
    >>> xn.to_numpy(rms(np.array([[3.0, 4.0, 0.0, 0.0]]))).astype(float).round(4).tolist()
    [[1.2, 1.6, 0.0, 0.0]]
    """

    autocast = False  # computes in float32 under a mixed policy (as Keras)

    def __init__(self, axis: int | Sequence[int] = -1, epsilon: float = 1e-6, **kwargs) -> None:
        super().__init__(**kwargs)
        self.axis = _check_axis("RMSNormalization", axis)
        self.epsilon = _check_float("RMSNormalization", "epsilon", epsilon, 0.0, math.inf)

    def build(self, input_shape) -> None:
        self._axes = _resolve_axes(self, self.axis, input_shape)
        shape = tuple(int(input_shape[a]) for a in self._axes)
        self.scale = self.add_weight("scale", shape, "ones")
        self._bshape = _bshape(input_shape, self._axes)
        self.input_spec = InputSpec(ndim=len(input_shape), axes=dict(zip(self._axes, shape)))
        self.built = True

    def call(self, inputs):
        mean_square = ops.mean(inputs * inputs, self._axes, keepdims=True)
        return inputs * (mean_square + self.epsilon) ** -0.5 * _reshaped(self.scale, self._bshape)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon)
        return config


class UnitNormalization(Layer):
    """Scale each sample to unit L2 norm over ``axis``: ``y = x / max(||x||, 1e-6)``.

    Written as ``x * rsqrt(max(sum(x**2), 1e-12))``, as Keras 3.

    Args:
        axis: an axis or a list of axes (default -1).

    >>> import numpy as np, xpnet as xn
    >>> y = xn.layers.UnitNormalization()(np.array([[3.0, 4.0]]))
    >>> xn.to_numpy(y).astype(float).round(4).tolist()
    [[0.6, 0.8]]
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _check_axis("UnitNormalization", axis)

    def build(self, input_shape) -> None:
        self._axes = _resolve_axes(self, self.axis, input_shape)

    def call(self, inputs):
        square_sum = ops.sum(inputs * inputs, self._axes, keepdims=True)
        return inputs * ops.clip(square_sum, min=1e-12) ** -0.5

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


# --------------------------------------------------------------------------- Normalization


class Normalization(Layer):
    """Standardize features with a mean and variance fixed before training.

    ``y = (x - mean) / max(sqrt(variance), 1e-7)``, or with ``invert=True``
    ``y = x * max(sqrt(variance), 1e-7) + mean`` (back to the original scale).

    The mean and variance come either from the constructor or from
    :meth:`adapt` on the *training* data. Test data must go through the same
    layer, so it reuses the training mean and variance: never adapt on the
    test set. Unlike Keras (which silently leaves an un-adapted layer as the
    identity), calling the layer before either is an error.

    Args:
        axis: the axis or axes that keep a separate mean and variance per index
            (default -1: one per feature); None: one scalar mean and variance.
            The other axes are averaged over.
        mean, variance: given statistics (both or neither), broadcast to the
            kept axes.
        invert: apply the inverse transformation.

    >>> import numpy as np, xpnet as xn
    >>> norm = xn.layers.Normalization()
    >>> norm.adapt(np.array([[0.0, 7.0], [2.0, 9.0]]))     # training data
    >>> xn.to_numpy(norm(np.array([[1.0, 10.0]]))).tolist()  # test data, training statistics
    [[0.0, 2.0]]
    """

    supports_masking = True

    def __init__(
        self,
        axis: int | Sequence[int] | None = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.axis = None if axis is None else _check_axis("Normalization", axis)
        self._keep_arg = () if axis is None else tuple(np.atleast_1d(self.axis).tolist())
        if (mean is None) != (variance is None):
            raise ValueError(
                "Normalization: mean and variance must be given together (or neither, then "
                f"call adapt()). Received: mean={mean!r}, variance={variance!r}"
            )
        self.input_mean = self.input_variance = None
        if mean is not None:
            m, v = _host_stat(mean), _host_stat(variance)
            if m.shape != v.shape:
                raise ValueError(
                    f"Normalization: mean and variance must have the same shape. Received: "
                    f"mean of shape {m.shape}, variance of shape {v.shape}"
                )
            if m.ndim > len(self._keep_arg):
                raise ValueError(
                    f"Normalization: mean of rank {m.ndim} cannot broadcast to the "
                    f"{len(self._keep_arg)} kept axes of axis={self.axis!r}."
                )
            if (v < 0).any():
                raise ValueError(f"Normalization: variance must be >= 0. Received: {variance!r}")
            self.input_mean, self.input_variance = m.tolist(), v.tolist()
        self.invert = _checks.boolean(type(self).__name__, "invert", invert)
        self._adapted = False

    # ---------------------------------------------------------------- building
    def build(self, input_shape) -> None:
        nd = len(input_shape)
        self._keep = (
            () if not self._keep_arg else _resolve_axes(self, list(self._keep_arg), input_shape)
        )
        self._reduce = tuple(d for d in range(nd) if d not in self._keep)
        self._build_shape = tuple(input_shape)
        self._bshape = _bshape(input_shape, self._keep)
        stat_shape = tuple(int(input_shape[d]) for d in self._keep)
        self.input_spec = InputSpec(ndim=nd, axes={d: input_shape[d] for d in self._keep})
        self.built = True
        if self.input_mean is None:
            self.adapt_mean = self.add_weight("mean", stat_shape, "zeros", trainable=False)
            self.adapt_variance = self.add_weight("variance", stat_shape, "ones", trainable=False)
            return
        xp = B.xp()
        dt = B.dtype(self.dtype, xp)
        self._given = []
        for value in (self.input_mean, self.input_variance):
            host = _host_stat(value)
            # align the given values with the kept axes from the right (as Keras)
            expanded = [1] * nd
            for i in range(1, host.ndim + 1):
                expanded[self._keep[-i]] = host.shape[-i]
            try:
                host = np.broadcast_to(host.reshape(expanded), self._bshape)
            except ValueError:
                raise ValueError(
                    f"Normalization layer '{self.name}': the given statistics of shape "
                    f"{_host_stat(value).shape} do not broadcast to the kept axes "
                    f"{self._keep} of input shape {tuple(input_shape)}."
                ) from None
            self._given.append(xp.asarray(np.ascontiguousarray(host), dtype=dt, device=B.device()))

    # ---------------------------------------------------------------- statistics
    def adapt(self, data) -> None:
        """Learn the mean and variance of ``data``: the *training* data only.

        Args:
            data: a NumPy array, an array of any backend, a Tensor, or an
                iterable of batches (each an array, or an ``(x, y)`` tuple whose
                ``x`` is used). The statistics are accumulated batch by batch in
                float64 (where the backend has it) with Chan's pairwise update,
                so a large data set never needs to fit in memory at once.
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Normalization layer '{self.name}' was given mean and variance in its "
                "constructor; adapt() would ignore them. Create it without them to adapt."
            )
        total = None
        for batch in _batches(data):
            shape = tuple(batch.shape)
            if not self.built:
                self._build_checked(shape)
            self._check_batch(shape)
            stats = _batch_moments(batch, self._reduce)
            total = stats if total is None else _combine(total, stats)
        if total is None:
            raise ValueError("Normalization.adapt() received no data (an empty iterable).")
        mean, var, _ = total
        self.adapt_mean.assign(B.asarray(mean.reshape(self.adapt_mean.shape), self.dtype))
        self.adapt_variance.assign(B.asarray(var.reshape(self.adapt_variance.shape), self.dtype))
        self._adapted = True

    def _check_batch(self, shape) -> None:
        bad = len(shape) != len(self._build_shape) or any(
            shape[d] != self._build_shape[d] for d in self._keep
        )
        if bad:
            raise ValueError(
                f"Normalization layer '{self.name}' was built for inputs of shape "
                f"{self._build_shape} (kept axes {self._keep}), but adapt() got a batch of "
                f"shape {shape}."
            )

    def set_weights(self, weights) -> None:
        super().set_weights(weights)
        self._adapted = True  # restored statistics (e.g. from a saved model)

    def _stats(self, xp, dtype):
        if self.input_mean is not None:
            mean, var = self._given
        else:
            if not self._adapted:
                raise ValueError(
                    f"Normalization layer '{self.name}' has no mean and variance yet: call "
                    "layer.adapt(training_data) before using it, or pass mean= and variance= "
                    "to the constructor. (Adapt on the training data only; test data reuses "
                    "its statistics.)"
                )
            mean = xp.reshape(self.adapt_mean.data, self._bshape)
            var = xp.reshape(self.adapt_variance.data, self._bshape)
        return xp.astype(mean, dtype), xp.astype(var, dtype)

    def call(self, inputs):
        if not B.is_floating(inputs.data):  # raw integer features (pixels, counts)
            inputs = ops.cast(inputs, self.dtype)
        mean, var = self._stats(inputs.xp, inputs.dtype)
        std = inputs.xp.clip(inputs.xp.sqrt(var), min=1e-7)
        if self.invert:
            return inputs * std + mean
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis,
            mean=self.input_mean,
            variance=self.input_variance,
            invert=self.invert,
        )
        return config


def _host_stat(value):
    if isinstance(value, Tensor):
        value = value.data
    if hasattr(value, "shape"):
        value = B.to_numpy(value)  # (a NumPy array passes as it is)
    return np.asarray(value, dtype=np.float64)


def _batches(data):
    """Yield the arrays of ``data``: one array, or each batch of an iterable of batches."""
    if isinstance(data, Tensor):
        yield data.data
        return
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        yield data
        return
    if isinstance(data, (list, tuple)) and data and not _is_batch(data[0]):
        yield np.asarray(data)  # nested lists of numbers: one array
        return
    for batch in data:
        if not _is_batch(batch):
            raise TypeError(
                "Normalization.adapt() expects an array, a Tensor or an iterable of batches "
                f"(arrays or (x, y) tuples); got a batch of type {type(batch).__name__}."
            )
        if isinstance(batch, tuple):
            batch = batch[0]  # (x, y) or (x, y, sample_weight)
        yield batch.data if isinstance(batch, Tensor) else batch


def _is_batch(item) -> bool:
    if isinstance(item, tuple) and item:
        item = item[0]
    return isinstance(item, Tensor) or (hasattr(item, "shape") and hasattr(item, "dtype"))


def _batch_moments(batch, reduce_axes: tuple[int, ...]):
    """(mean, biased variance, count) of one batch over ``reduce_axes``, as float64 NumPy."""
    xp = B.namespace(batch)
    dt = B.dtype("float64" if B.has_float64(xp) else "float32", xp)
    b = xp.astype(batch, dt)
    count = math.prod(int(batch.shape[d]) for d in reduce_axes)
    if not reduce_axes:
        return B.to_numpy(b).astype(np.float64), np.zeros(tuple(b.shape)), 1
    mean = xp.mean(b, axis=reduce_axes)
    var = xp.var(b, axis=reduce_axes)
    return B.to_numpy(mean).astype(np.float64), B.to_numpy(var).astype(np.float64), count


def _combine(a, b):
    """Merge two (mean, variance, count) summaries (Chan, Golub and LeVeque's update)."""
    mean_a, var_a, n_a = a
    mean_b, var_b, n_b = b
    n = n_a + n_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (n_b / n)
    m2 = var_a * n_a + var_b * n_b + delta * delta * (n_a * n_b / n)
    return mean, m2 / n, n
