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

An activation with arguments (the notes' leaky ReLU with slope 0.01) is an object
that any layer's ``activation=`` takes and that saves and loads with the model:

>>> act = xn.activations.LeakyReLU(0.01)
>>> xn.to_numpy(act(xn.Tensor([-100.0, 3.0]))).tolist()
[-1.0, 3.0]
>>> xn.activations.serialize(act)
{'class_name': 'LeakyReLU', 'config': {'negative_slope': 0.01}}
>>> layer = xn.layers.Dense(4, activation=xn.activations.LeakyReLU(0.01))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, ClassVar

from xpnet import ops
from xpnet._registry import Configurable, Registry
from xpnet.ops._common import as_tensor
from xpnet.ops.activation import Elu, Softplus, erf
from xpnet.tensor import Tensor

__all__ = [
    "CELU",
    "ELU",
    "GELU",
    "LeakyReLU",
    "LogSoftmax",
    "Parametrized",
    "ReLU",
    "Softmax",
    "ThresholdedReLU",
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


# ================================================================ parametrized activations


class Parametrized(Configurable):
    """An activation function with its keyword arguments fixed, saved as a config.

    ``Parametrized`` subclasses are what a layer's ``activation=`` takes when the
    function needs arguments: calling one calls the function with them, and
    :func:`serialize` writes ``{"class_name": ..., "config": {...}}``, which
    :func:`get` turns back into the same object (a ``functools.partial`` of a
    registered function with keyword arguments is saved the same way).
    Subclasses set ``function`` and list the arguments with their defaults in
    ``defaults``.
    """

    function: Callable = staticmethod(linear)
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name = type(self).__name__
        if len(args) > len(self.defaults):
            raise TypeError(
                f"{name}: expected at most {len(self.defaults)} positional argument(s) "
                f"({', '.join(self.defaults)}). Received: {len(args)}"
            )
        config = dict(self.defaults)
        for key, value in zip(self.defaults, args):
            config[key] = value
        unknown = sorted(set(kwargs) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{name}: unexpected argument(s) {unknown}; it takes {list(self.defaults)}."
            )
        config.update(kwargs)
        self._config = {k: self._check(k, v) for k, v in config.items()}

    def _check(self, key: str, value: Any) -> Any:
        default = self.defaults[key]
        if isinstance(default, float) or (default is None and value is not None):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not ok or not math.isfinite(value):
                raise ValueError(
                    f"{type(self).__name__}: expected a finite number for {key}. "
                    f"Received: {key}={value!r}"
                )
            return float(value)
        return value

    def __call__(self, x):
        return type(self).function(x, **self._config)

    def get_config(self) -> dict[str, Any]:
        return dict(self._config)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self._config.items(), key=str))))


class LeakyReLU(Parametrized):
    """:func:`leaky_relu` with a fixed ``negative_slope`` (default 0.2, as the function).

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.activations.LeakyReLU(0.01)(xn.Tensor([-100.0, 3.0]))).tolist()
    [-1.0, 3.0]
    """

    function = staticmethod(leaky_relu)
    defaults: ClassVar[dict[str, Any]] = {"negative_slope": 0.2}


class ReLU(Parametrized):
    """:func:`relu` with a fixed ``negative_slope``, ``max_value`` and ``threshold``."""

    function = staticmethod(relu)
    defaults: ClassVar[dict[str, Any]] = {
        "negative_slope": 0.0,
        "max_value": None,
        "threshold": 0.0,
    }


class ELU(Parametrized):
    """:func:`elu` with a fixed ``alpha``."""

    function = staticmethod(elu)
    defaults: ClassVar[dict[str, Any]] = {"alpha": 1.0}


class CELU(Parametrized):
    """:func:`celu` with a fixed ``alpha``."""

    function = staticmethod(celu)
    defaults: ClassVar[dict[str, Any]] = {"alpha": 1.0}


class ThresholdedReLU(Parametrized):
    """:func:`thresholded_relu` with a fixed ``theta``."""

    function = staticmethod(thresholded_relu)
    defaults: ClassVar[dict[str, Any]] = {"theta": 1.0}


class GELU(Parametrized):
    """:func:`gelu` with a fixed ``approximate``."""

    function = staticmethod(gelu)
    defaults: ClassVar[dict[str, Any]] = {"approximate": False}

    def _check(self, key, value):
        if not isinstance(value, bool):
            raise ValueError(f"GELU: expected True or False for approximate. Received: {value!r}")
        return value


def _axis(owner: str, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(a, int) for a in value):
        return [int(a) for a in value]  # a list, as JSON gives it back
    raise ValueError(
        f"{owner}: expected an integer or a sequence of integers for axis. Received: {value!r}"
    )


class Softmax(Parametrized):
    """:func:`softmax` along a fixed ``axis``."""

    function = staticmethod(softmax)
    defaults: ClassVar[dict[str, Any]] = {"axis": -1}

    def _check(self, key, value):
        return _axis("Softmax", value)

    def __call__(self, x):
        axis = self._config["axis"]
        return softmax(x, axis=axis if isinstance(axis, int) else tuple(axis))


class LogSoftmax(Softmax):
    """:func:`log_softmax` along a fixed ``axis``."""

    function = staticmethod(log_softmax)

    def __call__(self, x):
        axis = self._config["axis"]
        return log_softmax(x, axis=axis if isinstance(axis, int) else tuple(axis))


# class name -> class, apart from the function registry: "LeakyReLU" there means the
# function leaky_relu (names match without case and underscores), as in Keras
_PARAMETRIZED = {
    c.__name__: c for c in (LeakyReLU, ReLU, ELU, CELU, ThresholdedReLU, GELU, Softmax, LogSoftmax)
}
_BY_FUNCTION = {id(c.function): c for c in _PARAMETRIZED.values()}


def _from_partial(fn: functools.partial) -> Parametrized | None:
    """The Parametrized equal to ``partial(registered_function, **keywords)``, if any."""
    cls = _BY_FUNCTION.get(id(fn.func))
    if cls is None or fn.args or not set(fn.keywords) <= set(cls.defaults):
        return None
    return cls(**fn.keywords)


def get(identifier: Any) -> Callable:
    """An activation function from a name, a callable, or None (linear).

    Names are Keras's (``"relu"``, ``"gelu"``, ``"swish"``, ...); an unknown
    name raises ValueError listing the valid ones.
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict) and identifier.get("class_name") in _PARAMETRIZED:
        return _PARAMETRIZED[identifier["class_name"]].from_config(identifier.get("config") or {})
    return _registry.get(identifier)


def serialize(activation: Callable) -> Any:
    """The registered name of ``activation``, or its config (a :class:`Parametrized`, a
    layer-like object, or a ``functools.partial`` of a registered function)."""
    if isinstance(activation, functools.partial):
        same = _from_partial(activation)
        if same is None:
            raise ValueError(
                f"Cannot serialize activation {activation!r}: a partial saves only as "
                "keyword arguments of a function with a Parametrized twin ("
                f"{', '.join(c.function.__name__ for c in _PARAMETRIZED.values())}). "
                "Use e.g. xn.activations.LeakyReLU(0.01) instead."
            )
        activation = same
    return _registry.serialize(activation)


def deserialize(config: Any) -> Callable:
    """Inverse of :func:`serialize`."""
    return get(config)


def names() -> list[str]:
    """Every registered activation name (aliases such as ``swish`` excluded)."""
    return _registry.names()
