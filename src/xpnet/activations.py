"""Activation functions, with Keras's names and defaults: ``xn.activations.get("relu")``.

Each takes a Tensor (or an array) and returns a Tensor; ``get(None)`` is
``linear``. Most are composites of :mod:`xpnet.ops`; three are fused
primitives (in :mod:`xpnet.ops.activation`) because the composite would be unstable or
wrong at a point:
:class:`Softplus` (finite for any input, derivative exact at 0), :class:`Elu`
(``exp`` never sees a large positive input, so no ``inf * 0`` in the backward)
and :class:`Erf` (the standard has no ``erf``; see :func:`erf`).

Every function is finite for float32 inputs up to ``|x| = 1e4`` wherever its
value is (``exponential`` overflows above ``x ~ 88``, as ``exp`` must).

>>> import xpnet as xn
>>> xn.to_numpy(xn.activations.relu(xn.Tensor([-1.0, 2.0]))).tolist()
[0.0, 2.0]
>>> xn.activations.get("swish") is xn.activations.silu
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from xpnet import ops
from xpnet._registry import Registry
from xpnet.ops._common import as_tensor
from xpnet.ops.activation import Elu, Softplus, erf
from xpnet.tensor import Tensor

__all__ = [
    "celu",
    "deserialize",
    "elu",
    "erf",
    "exponential",
    "gelu",
    "get",
    "hard_sigmoid",
    "hard_sigmoid_legacy",
    "hard_silu",
    "hard_tanh",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mish",
    "names",
    "relu",
    "relu6",
    "selu",
    "serialize",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "softsign",
    "tanh",
    "thresholded_relu",
]

_registry = Registry("activation")

# SELU's constants (Klambauer et al., 2017), as Keras and PyTorch use them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


# =========================================================================== activations


@_registry.register("linear")
def linear(x):
    """Identity: ``f(x) = x``."""
    return x


@_registry.register("sigmoid")
def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, finite for every float input.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.activations.sigmoid(xn.Tensor([0.0]))).tolist()
    [0.5]
    """
    return ops.sigmoid(as_tensor(x))


@_registry.register("tanh")
def tanh(x):
    """Hyperbolic tangent ``(e**x - e**-x) / (e**x + e**-x)``."""
    return ops.tanh(as_tensor(x))


@_registry.register("relu")
def relu(x, negative_slope: float = 0.0, max_value: float | None = None, threshold: float = 0.0):
    """Rectified linear unit, with Keras's optional slope, cap and threshold.

    ``f(x) = min(x, max_value)`` for ``x > threshold``, else
    ``negative_slope * (x - threshold)``. With the defaults, ``max(x, 0)``.

    Args:
        x: input Tensor.
        negative_slope: slope below the threshold (default 0).
        max_value: the largest output (default None: no cap).
        threshold: where the function switches from the slope to ``x`` (default 0).

    >>> import xpnet as xn
    >>> x = xn.Tensor([-10.0, -5.0, 0.0, 5.0, 10.0])
    >>> xn.to_numpy(xn.activations.relu(x, negative_slope=0.5, max_value=6.0)).tolist()
    [-5.0, -2.5, 0.0, 5.0, 6.0]
    """
    x = as_tensor(x)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return ops.relu(x)
    out = ops.where(x > threshold, x, 0.0) if threshold != 0.0 else ops.relu(x)
    if max_value is not None:
        out = ops.clip(out, 0.0, max_value)
    if negative_slope != 0.0:
        out = out - negative_slope * ops.relu(threshold - x)
    return out


@_registry.register("leaky_relu")
def leaky_relu(x, negative_slope: float = 0.2):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise (Keras default slope 0.2)."""
    x = as_tensor(x)
    return ops.where(x > 0.0, x, x * negative_slope)


@_registry.register("relu6")
def relu6(x):
    """``min(max(x, 0), 6)``."""
    return ops.clip(ops.relu(as_tensor(x)), max=6.0)


@_registry.register("elu")
def elu(x, alpha: float = 1.0):
    """Exponential linear unit: ``x`` for ``x > 0``, ``alpha * (exp(x) - 1)`` otherwise."""
    return Elu.apply(as_tensor(x), alpha=float(alpha))


@_registry.register("selu")
def selu(x):
    """Scaled ELU: ``scale * elu(x, alpha)`` with alpha ≈ 1.6733 and scale ≈ 1.0507.

    Use it with ``lecun_normal`` weights and AlphaDropout, as the paper says.
    """
    return elu(x, SELU_ALPHA) * SELU_SCALE


@_registry.register("celu")
def celu(x, alpha: float = 1.0):
    """Continuously differentiable ELU: ``x`` for ``x >= 0``, ``alpha * (exp(x/alpha) - 1)``."""
    if alpha == 1.0:
        return elu(x)
    return elu(as_tensor(x) * (1.0 / alpha)) * alpha


@_registry.register("thresholded_relu")
def thresholded_relu(x, theta: float = 1.0):
    """``x`` for ``x > theta``, else 0 (Keras 2's ThresholdedReLU, default theta 1.0)."""
    x = as_tensor(x)
    return ops.where(x > theta, x, 0.0)


@_registry.register("softplus")
def softplus(x):
    """``log(1 + exp(x))``, computed as ``max(x, 0) + log1p(exp(-|x|))``.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.activations.softplus(xn.Tensor([-1e4, 1e4]))).tolist()
    [0.0, 10000.0]
    """
    return Softplus.apply(as_tensor(x))


@_registry.register("softsign")
def softsign(x):
    """``x / (1 + |x|)``."""
    x = as_tensor(x)
    return x / (ops.abs(x) + 1.0)


@_registry.register("hard_sigmoid")
def hard_sigmoid(x):
    """Keras 3's hard sigmoid: ``relu6(x + 3) / 6``, i.e. ``clip(x/6 + 0.5, 0, 1)``.

    Keras 2 and the course notes use a different line, ``clip(0.2 x + 0.5, 0, 1)``
    (saturating at ``|x| = 2.5`` instead of 3); that one is
    :func:`hard_sigmoid_legacy`. PyTorch's ``hardsigmoid`` is this (Keras 3) one.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.activations.hard_sigmoid(xn.Tensor([-3.0, 0.0, 1.5, 3.0]))).tolist()
    [0.0, 0.5, 0.75, 1.0]
    """
    return ops.clip(as_tensor(x) * (1.0 / 6.0) + 0.5, 0.0, 1.0)


@_registry.register("hard_sigmoid_legacy")
def hard_sigmoid_legacy(x):
    """The course notes' (and Keras 2's) hard sigmoid: ``clip(0.2 x + 0.5, 0, 1)``.

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.activations.hard_sigmoid_legacy(xn.Tensor([-2.5, 0.0, 1.25]))).tolist()
    [0.0, 0.5, 0.75]
    """
    return ops.clip(as_tensor(x) * 0.2 + 0.5, 0.0, 1.0)


@_registry.register("hard_silu")
def hard_silu(x):
    """Hard SiLU (hard swish): ``x * hard_sigmoid(x)`` = ``x * relu6(x + 3) / 6``."""
    x = as_tensor(x)
    return x * hard_sigmoid(x)


@_registry.register("hard_tanh")
def hard_tanh(x):
    """``clip(x, -1, 1)``."""
    return ops.clip(as_tensor(x), -1.0, 1.0)


@_registry.register("silu")
def silu(x):
    """SiLU (swish): ``x * sigmoid(x)``."""
    x = as_tensor(x)
    return x * ops.sigmoid(x)


@_registry.register("gelu")
def gelu(x, approximate: bool = False):
    """Gaussian error linear unit ``x * P(X <= x)``, X standard normal.

    Exact (the Keras 3 default): ``0.5 * x * (1 + erf(x / sqrt(2)))`` with
    :func:`erf`. With ``approximate=True``:
    ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x**3)))``.

    >>> import xpnet as xn
    >>> round(xn.activations.gelu(xn.Tensor([1.0])).item(), 5)
    0.84134
    """
    x = as_tensor(x)
    if approximate:
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (ops.tanh(inner) + 1.0)
    return x * 0.5 * (erf(x * (1.0 / math.sqrt(2.0))) + 1.0)


@_registry.register("mish")
def mish(x):
    """``x * tanh(softplus(x))``."""
    x = as_tensor(x)
    return x * ops.tanh(softplus(x))


@_registry.register("exponential")
def exponential(x):
    """``exp(x)`` (overflows to inf above about 88 in float32, as exp must)."""
    return ops.exp(as_tensor(x))


@_registry.register("log_sigmoid")
def log_sigmoid(x):
    """``log(sigmoid(x)) = -softplus(-x)``, finite for every input."""
    return -softplus(-as_tensor(x))


def _softmax_axes(x: Tensor, axis) -> Tensor:
    return x - ops.logsumexp(x, axis=tuple(axis), keepdims=True)


@_registry.register("softmax")
def softmax(x, axis: int = -1):
    """``exp(x) / sum(exp(x))`` along ``axis`` (an int or a tuple of ints).

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.activations.softmax(xn.Tensor([[0.0, 0.0]]))).tolist()
    [[0.5, 0.5]]
    """
    x = as_tensor(x)
    if isinstance(axis, int):
        return ops.softmax(x, axis=axis)
    return ops.exp(_softmax_axes(x, axis))


@_registry.register("log_softmax")
def log_softmax(x, axis: int = -1):
    """``x - logsumexp(x)`` along ``axis`` (an int or a tuple of ints)."""
    x = as_tensor(x)
    if isinstance(axis, int):
        return ops.log_softmax(x, axis=axis)
    return _softmax_axes(x, axis)


_registry.add("swish", silu)
_registry.add("hard_swish", hard_silu)


def get(identifier: Any) -> Callable:
    """An activation function from a name, a callable, or None (linear).

    Names are Keras's (``"relu"``, ``"gelu"``, ``"swish"``, ...); an unknown
    name raises ValueError listing the valid ones.
    """
    if identifier is None:
        return linear
    return _registry.get(identifier)


def serialize(activation: Callable) -> Any:
    """The registered name of ``activation`` (or its config, for a layer-like object)."""
    return _registry.serialize(activation)


def deserialize(config: Any) -> Callable:
    """Inverse of :func:`serialize`."""
    return get(config)


def names() -> list[str]:
    """Every registered activation name (aliases such as ``swish`` excluded)."""
    return _registry.names()
