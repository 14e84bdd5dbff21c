"""Regularization layers: dropout and noise, active only in training mode.

Every layer here is the identity at inference (``training`` False or None) and
draws fresh noise on each training call: masks through
:func:`xpnet.backend.bernoulli`, Gaussian noise through
:func:`xpnet.backend.standard_normal` (the backend's own generator on GPU
backends, so no host-to-device copy per step). A layer built with ``seed=``
draws from its own :class:`~xpnet.backend.SeedGenerator` and repeats its noise;
without it, :func:`xn.set_seed` makes the run repeatable.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from xpnet import _checks, ops, regularizers
from xpnet import backend as B
from xpnet.layers.base import InputSpec, Layer
from xpnet.ops.elementwise import MaskedAffine

__all__ = [
    "ActivityRegularization",
    "AlphaDropout",
    "Dropout",
    "GaussianDropout",
    "GaussianNoise",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
]


def check_rate(layer: str, rate: Any) -> float:
    """A dropout rate in [0, 1), as a Python float (ValueError naming layer and argument)."""
    return _checks.in_range(layer, "rate", rate, 0.0, 1.0, high_closed=False)


def _check_seed(layer: str, seed: Any) -> int | None:
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ValueError(
            f"{layer}: expected seed to be a non-negative integer or None. Received: seed={seed!r}"
        )
    return None if seed is None else int(seed)


def _check_noise_shape(layer: str, noise_shape: Any) -> tuple | None:
    if noise_shape is None:
        return None
    if not isinstance(noise_shape, (list, tuple)) or not all(
        n is None or (isinstance(n, numbers.Integral) and n > 0) for n in noise_shape
    ):
        raise ValueError(
            f"{layer}: expected noise_shape to be a tuple of positive integers or None "
            f"entries. Received: noise_shape={noise_shape!r}"
        )
    return tuple(None if n is None else int(n) for n in noise_shape)


def _concrete_noise_shape(layer: Layer, noise_shape: tuple | None, shape: tuple) -> tuple:
    """``noise_shape`` with None entries filled from ``shape``; each entry 1 or the input size."""
    if noise_shape is None:
        return shape
    who = type(layer).__name__
    if len(noise_shape) != len(shape):
        raise ValueError(
            f"{who}: noise_shape={noise_shape} has {len(noise_shape)} entries, but the inputs "
            f"have rank {len(shape)} (shape {shape})."
        )
    out = tuple(s if n is None else n for n, s in zip(noise_shape, shape))
    for n, s in zip(out, shape):
        if n not in (1, s):
            raise ValueError(
                f"{who}: noise_shape={noise_shape} does not broadcast to the input shape "
                f"{shape}: each entry must be 1, None or the input's size on that axis."
            )
    return out


class _Noise(Layer):
    """Shared plumbing: a rate/seed, an optional private stream, identity output shape."""

    def __init__(self, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seed = _check_seed(type(self).__name__, seed)
        self._generator = None if self.seed is None else B.SeedGenerator(self.seed)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config


class Dropout(_Noise):
    """Inverted dropout: in training, keep each unit with probability ``1 - rate``.

    Kept units are scaled by ``1 / (1 - rate)`` so the expected output equals
    the input; at inference the layer is the identity (nothing to rescale).
    This is the course notes' recipe ``d = rand(shape) < keep_prob;
    a = a * d / keep_prob`` with ``keep_prob = 1 - rate``::

        training:  y = x * m / (1 - rate),  m ~ Bernoulli(1 - rate)
        inference: y = x

    Args:
        rate: fraction of the units to drop, in [0, 1).
        noise_shape: shape of the mask, broadcast over the inputs (None entries
            take the input's size): ``(batch, 1, features)`` drops the same
            features at every time step.
        seed: an int gives the layer its own repeatable random stream.

    >>> import numpy as np, xpnet as xn
    >>> layer = xn.layers.Dropout(0.5, seed=0)
    >>> x = np.ones((4, 25), dtype="float32")
    >>> bool((xn.to_numpy(layer(x)) == x).all())                # inference: unchanged
    True
    >>> sorted(set(xn.to_numpy(layer(x, training=True)).ravel().tolist()))  # dropped or 1/0.5
    [0.0, 2.0]
    """

    supports_masking = True

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check_rate(type(self).__name__, rate)
        self.noise_shape = _check_noise_shape(type(self).__name__, noise_shape)

    def _mask_shape(self, shape: tuple) -> tuple:
        return _concrete_noise_shape(self, self.noise_shape, shape)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        keep_prob = 1.0 - self.rate
        keep = B.bernoulli(
            self._mask_shape(inputs.shape),
            keep_prob,
            dtype="bool",
            like=inputs.data,
            generator=self._generator,
        )
        return MaskedAffine.apply(inputs, keep, scale=1.0 / keep_prob)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=_listed(self.noise_shape))
        return config


def _listed(shape):
    return None if shape is None else list(shape)


def _data_format(layer: str, data_format: Any) -> str:
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{layer}: expected data_format 'channels_last' or 'channels_first'. "
            f"Received: data_format={data_format!r}"
        )
    return data_format


class _SpatialDropout(Dropout):
    """Dropout of whole channels: one mask entry per (sample, channel)."""

    _rank = 3

    def __init__(
        self, rate: float, data_format: str | None = None, seed: int | None = None, **kwargs
    ) -> None:
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _data_format(type(self).__name__, data_format)
        what = {3: "(batch, steps, channels)", 4: "4-D images", 5: "5-D volumes"}[self._rank]
        self.input_spec = InputSpec(ndim=self._rank, hint=f"({type(self).__name__} takes {what})")

    def _mask_shape(self, shape: tuple) -> tuple:
        spatial = (1,) * (len(shape) - 2)
        if self.data_format == "channels_first":
            return (shape[0], shape[1], *spatial)
        return (shape[0], *spatial, shape[-1])

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole feature maps of 1-D inputs ``(batch, steps, channels)``.

    Neighbouring time steps are strongly correlated, so dropping single
    entries barely regularizes; this drops a channel at every step at once,
    scaling the kept channels by ``1 / (1 - rate)``.

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        seed: an int gives the layer its own repeatable random stream.

    >>> import numpy as np, xpnet as xn
    >>> y = xn.layers.SpatialDropout1D(0.5, seed=1)(np.ones((1, 3, 4)), training=True)
    >>> bool((xn.to_numpy(y) == xn.to_numpy(y)[:, :1]).all())   # same mask at every step
    True
    """

    _rank = 3

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["data_format"]
        return config


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of images (``channels_last`` by default).

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: ``"channels_last"`` (batch, rows, cols, channels) or
            ``"channels_first"`` (batch, channels, rows, cols); None means
            channels_last.
        seed: an int gives the layer its own repeatable random stream.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.SpatialDropout2D(0.2)(np.ones((2, 4, 4, 3)), training=True).shape
    (2, 4, 4, 3)
    """

    _rank = 4


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole feature maps of volumes (``channels_last`` by default).

    Args:
        rate: fraction of the channels to drop, in [0, 1).
        data_format: ``"channels_last"`` or ``"channels_first"`` (None: channels_last).
        seed: an int gives the layer its own repeatable random stream.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.SpatialDropout3D(0.2)(np.ones((1, 2, 2, 2, 3)), training=True).shape
    (1, 2, 2, 2, 3)
    """

    _rank = 5


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise in training: ``y = x + stddev * z``, z ~ N(0, 1).

    A regularizer and a form of data augmentation for real-valued inputs;
    the identity at inference.

    Args:
        stddev: standard deviation of the noise (>= 0). Keras 3 also rejects
            values above 1; xpnet accepts any non-negative value.
        seed: an int gives the layer its own repeatable random stream.

    >>> import numpy as np, xpnet as xn
    >>> layer = xn.layers.GaussianNoise(0.1)
    >>> xn.to_numpy(layer(np.zeros((1, 3)))).tolist()
    [[0.0, 0.0, 0.0]]
    """

    supports_masking = True

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        ok = isinstance(stddev, numbers.Real) and not isinstance(stddev, bool)
        if not ok or not (0.0 <= float(stddev) < math.inf):
            raise ValueError(
                f"GaussianNoise: expected a finite stddev >= 0. Received: stddev={stddev!r}"
            )
        self.stddev = float(stddev)

    def call(self, inputs, training=None):
        if not training or self.stddev == 0.0:
            return inputs
        z = B.standard_normal(
            inputs.shape, dtype=inputs.dtype, like=inputs.data, generator=self._generator
        )
        return ops.add(inputs, z * self.stddev)

    def get_config(self):
        config = super().get_config()
        config["stddev"] = self.stddev
        return config


class GaussianDropout(_Noise):
    """Multiplicative Gaussian noise in training: ``y = x * n``, n ~ N(1, rate / (1 - rate)).

    The same mean and variance as inverted dropout's mask at ``rate``, but
    continuous; the identity at inference.

    Args:
        rate: the equivalent drop probability, in [0, 1).
        seed: an int gives the layer its own repeatable random stream.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.GaussianDropout(0.3)(np.ones((2, 5)), training=True).shape
    (2, 5)
    """

    supports_masking = True

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check_rate("GaussianDropout", rate)

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        z = B.standard_normal(
            inputs.shape, dtype=inputs.dtype, like=inputs.data, generator=self._generator
        )
        return ops.mul(inputs, z * stddev + 1.0)

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        return config


# SELU's constants (Klambauer et al., 2017): the value SELU tends to for x -> -inf is
# -alpha * scale, the saturation value AlphaDropout sets dropped units to.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class AlphaDropout(_Noise):
    """Dropout that keeps SELU's self-normalizing mean 0 and variance 1.

    Dropped units are set to SELU's negative saturation ``α' = -alpha * scale``
    instead of 0, then an affine map restores mean and variance:
    with ``q = 1 - rate``, ``a = (q * (1 + rate * α'**2)) ** -0.5`` and
    ``b = -a * α' * rate``::

        y = a * (x * m + α' * (1 - m)) + b,   m ~ Bernoulli(q)

    so inputs of mean 0 and variance 1 leave with mean 0 and variance 1.
    The identity at inference.

    Args:
        rate: fraction of the units to drop, in [0, 1).
        noise_shape: shape of the mask, broadcast over the inputs (as Dropout).
        seed: an int gives the layer its own repeatable random stream.

    >>> import numpy as np, xpnet as xn
    >>> xn.layers.AlphaDropout(0.1)(np.ones((2, 5)), training=True).shape
    (2, 5)
    """

    supports_masking = True

    def __init__(
        self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(seed=seed, **kwargs)
        self.rate = check_rate("AlphaDropout", rate)
        self.noise_shape = _check_noise_shape("AlphaDropout", noise_shape)

    def affine(self) -> tuple[float, float, float]:
        """(a, b, value of dropped units) for this rate."""
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1.0 - self.rate) * (1.0 + self.rate * alpha_p**2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a, b, a * alpha_p + b

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        shape = _concrete_noise_shape(self, self.noise_shape, inputs.shape)
        keep = B.bernoulli(
            shape, 1.0 - self.rate, dtype="bool", like=inputs.data, generator=self._generator
        )
        a, b, fill = self.affine()
        return MaskedAffine.apply(inputs, keep, scale=a, shift=b, fill=fill)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=_listed(self.noise_shape))
        return config


class ActivityRegularization(Layer):
    """Returns its input and adds ``l1 * sum(|y|) + l2 * sum(y**2)`` to the layer's losses.

    The penalty (divided by the batch size, as Keras does) is collected in
    :attr:`losses` and added to the training loss by the model.

    Args:
        l1: L1 factor (>= 0).
        l2: L2 factor (>= 0).

    >>> import numpy as np, xpnet as xn
    >>> layer = xn.layers.ActivityRegularization(l2=0.5)
    >>> _ = layer(np.array([[1.0, 2.0], [0.0, 2.0]]))
    >>> float(layer.losses[0].item())          # 0.5 * (1 + 4 + 0 + 4) / batch 2
    2.25
    """

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        for name, value in (("l1", l1), ("l2", l2)):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if not ok or not 0.0 <= float(value) < math.inf:
                raise ValueError(
                    f"ActivityRegularization: expected a finite {name} >= 0. "
                    f"Received: {name}={value!r}"
                )
        kwargs.pop("activity_regularizer", None)  # set from l1 and l2 below
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1, self.l2 = float(l1), float(l2)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.pop("activity_regularizer", None)
        config.update(l1=self.l1, l2=self.l2)
        return config
