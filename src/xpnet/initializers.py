"""Weight initializers, with Keras's names and defaults.

An initializer is called as ``init(shape, dtype=None)`` and returns an array of
the active backend. Random ones draw on the host and move the result, so a
seed gives the same weights on every backend (see :func:`xn.set_seed`); pass
``seed=`` to an initializer to make it draw the same values at every call.
(Keras 3 differs for ``seed=None``: there an unseeded initializer fixes a seed
when constructed and repeats its values; here it draws afresh from the
``xn.set_seed`` generator, so layers sharing one initializer instance differ.)

Fans follow Keras: for a kernel of shape ``(..., in, out)`` (channels last),
``fan_in = in * receptive_field`` and ``fan_out = out * receptive_field``
where ``receptive_field`` is the product of the leading dimensions.

Which formula each name gives (n = fan_in, the notes' ``n^[l-1]``). Keras's names keep
Keras's definitions; "truncated" means redrawn beyond two standard deviations, with the
stddev divided by 0.8796 so the variance stays on target. Columns: xpnet name (aliases)
| formula | Keras 3 | PyTorch ``torch.nn.init``.

- ``lecun_normal_untruncated`` (``course_xavier_normal``) | normal, std sqrt(1/n): the
  course notes' "Xavier" | - | ``kaiming_normal_(nonlinearity="linear")``
- ``he_normal_untruncated`` (``course_he_normal``, ``kaiming_normal``) | normal, std
  sqrt(2/n): the course notes' "He" | - | ``kaiming_normal_``
- ``glorot_normal_untruncated`` (``xavier_normal``) | normal, std
  sqrt(2/(fan_in+fan_out)) | - | ``xavier_normal_``
- ``glorot_uniform`` (``xavier_uniform``) | uniform, limit sqrt(6/(fan_in+fan_out)) |
  ``glorot_uniform`` | ``xavier_uniform_``
- ``glorot_normal`` | truncated, std sqrt(2/(fan_in+fan_out)) | ``glorot_normal`` | -
- ``he_normal`` | truncated, std sqrt(2/n) | ``he_normal`` | -
- ``he_uniform`` (``kaiming_uniform``) | uniform, limit sqrt(6/n) | ``he_uniform`` |
  ``kaiming_uniform_``
- ``lecun_normal`` | truncated, std sqrt(1/n) | ``lecun_normal`` | -
- ``lecun_uniform`` | uniform, limit sqrt(3/n) | ``lecun_uniform`` |
  ``kaiming_uniform_(nonlinearity="linear")``
- ``small_random`` | normal, std 0.01 (the notes' ``randn * 0.01``) | - | ``normal_(std=0.01)``

>>> import xpnet as xn
>>> xn.initializers.get("course_he_normal")
HeNormalUntruncated(seed=None)
>>> init = xn.initializers.get("glorot_uniform")
>>> w = init((784, 128))
>>> w.shape, str(w.dtype)
((784, 128), 'float32')
"""

from __future__ import annotations

import math
from typing import Any

from xpnet import backend as B
from xpnet._registry import Configurable, Registry

__all__ = [
    "Constant",
    "GlorotNormal",
    "GlorotNormalUntruncated",
    "GlorotUniform",
    "HeNormal",
    "HeNormalUntruncated",
    "HeUniform",
    "Identity",
    "IdentityInitializer",
    "Initializer",
    "LecunNormal",
    "LecunNormalUntruncated",
    "LecunUniform",
    "Ones",
    "Orthogonal",
    "OrthogonalInitializer",
    "RandomNormal",
    "RandomUniform",
    "SmallRandom",
    "TruncatedNormal",
    "VarianceScaling",
    "Zeros",
    "compute_fans",
    "constant",
    "deserialize",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "names",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "serialize",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]

_registry = Registry("initializer")


def compute_fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shape, as Keras computes them."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer(Configurable):
    """Base class: ``__call__(shape, dtype=None)`` and ``get_config()``."""

    def __call__(self, shape, dtype=None):  # pragma: no cover - abstract
        raise NotImplementedError


def _full(shape, value: float, dtype):
    xp = B.xp()
    return xp.full(tuple(shape), value, dtype=B.dtype(dtype, xp), device=B.device())


@_registry.register("zeros")
class Zeros(Initializer):
    """All zeros (Keras's default for biases)."""

    def __call__(self, shape, dtype=None):
        return _full(shape, 0.0, dtype)


@_registry.register("ones")
class Ones(Initializer):
    """All ones (Keras's default for normalization scales)."""

    def __call__(self, shape, dtype=None):
        return _full(shape, 1.0, dtype)


@_registry.register("constant")
class Constant(Initializer):
    """Every entry ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = _finite("Constant", "value", value)

    def __call__(self, shape, dtype=None):
        return _full(shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


def _finite(owner: str, name: str, value, positive: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if isinstance(value, bool) or not math.isfinite(v) or (positive and v <= 0):
        kind = "a positive finite number" if positive else "a finite number"
        raise ValueError(f"{owner}: expected {kind} for {name}. Received: {name}={value!r}")
    return v


class _Seeded(Initializer):
    """Random initializers: ``seed=None`` draws from the generator set by ``xn.set_seed``
    (a new draw per call); an int seed draws the same values at every call."""

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(
                f"{type(self).__name__}: expected None or a non-negative int for seed. "
                f"Received: seed={seed!r}"
            )
        self.seed = seed

    def get_config(self):
        return {"seed": self.seed}


@_registry.register("random_normal")
class RandomNormal(_Seeded):
    """Normal draws with ``mean`` and ``stddev`` (Keras default stddev 0.05)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        owner = type(self).__name__
        self.mean = _finite(owner, "mean", mean)
        self.stddev = _finite(owner, "stddev", stddev, positive=True)

    def __call__(self, shape, dtype=None):
        return B.random_normal(shape, self.mean, self.stddev, dtype, seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@_registry.register("random_uniform")
class RandomUniform(_Seeded):
    """Uniform draws in [minval, maxval) (Keras default ±0.05)."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        minval = _finite("RandomUniform", "minval", minval)
        maxval = _finite("RandomUniform", "maxval", maxval)
        if maxval <= minval:
            raise ValueError(
                "RandomUniform: expected minval < maxval. Received: "
                f"minval={minval}, maxval={maxval}"
            )
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return B.random_uniform(shape, self.minval, self.maxval, dtype, seed=self.seed)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


@_registry.register("truncated_normal")
class TruncatedNormal(_Seeded):
    """Normal draws, redrawn beyond two standard deviations (Keras default stddev 0.05)."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean = _finite("TruncatedNormal", "mean", mean)
        self.stddev = _finite("TruncatedNormal", "stddev", stddev, positive=True)

    def __call__(self, shape, dtype=None):
        return B.truncated_normal(shape, self.mean, self.stddev, dtype, seed=self.seed)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


@_registry.register("small_random")
class SmallRandom(_Seeded):
    """The course notes' first initializer: ``np.random.randn(*shape) * 0.01``.

    Fine for logistic regression and shallow nets; too small for deep ones
    (activations shrink layer after layer), which is why Xavier and He exist.
    """

    def __init__(self, scale: float = 0.01, seed: int | None = None):
        super().__init__(seed)
        self.scale = _finite("SmallRandom", "scale", scale, positive=True)

    def __call__(self, shape, dtype=None):
        return B.random_normal(shape, 0.0, self.scale, dtype, seed=self.seed)

    def get_config(self):
        return {"scale": self.scale, "seed": self.seed}


# Keras divides the truncated normal's stddev by this to keep the variance after truncation.
_TRUNC_STD = 0.87962566103423978


@_registry.register("variance_scaling")
class VarianceScaling(_Seeded):
    """Draws with variance ``scale / n``, n = fan_in, fan_out or their mean (``mode``).

    ``distribution``: ``"truncated_normal"`` (stddev corrected for the
    truncation), ``"untruncated_normal"`` or ``"uniform"`` (limit sqrt(3 scale / n)).
    """

    MODES = ("fan_in", "fan_out", "fan_avg")
    DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: int | None = None,
    ):
        super().__init__(seed)
        owner = type(self).__name__
        scale = _finite(owner, "scale", scale, positive=True)
        if mode not in self.MODES:
            raise ValueError(f"{owner}: expected one of {self.MODES} for mode. Received: {mode=}")
        if isinstance(distribution, str):
            distribution = distribution.lower()
        if distribution == "normal":  # Keras's alias
            distribution = "truncated_normal"
        if distribution not in self.DISTRIBUTIONS:
            raise ValueError(
                f"{owner}: expected one of {self.DISTRIBUTIONS} for distribution. "
                f"Received: {distribution=}"
            )
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        var = self.scale / max(1.0, n)
        if self.distribution == "truncated_normal":
            return B.truncated_normal(shape, 0.0, math.sqrt(var) / _TRUNC_STD, dtype, self.seed)
        if self.distribution == "untruncated_normal":
            return B.random_normal(shape, 0.0, math.sqrt(var), dtype, seed=self.seed)
        limit = math.sqrt(3.0 * var)
        return B.random_uniform(shape, -limit, limit, dtype, seed=self.seed)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


def _variant(name: str, scale: float, mode: str, distribution: str, doc: str):
    @_registry.register(name)
    class _V(VarianceScaling):
        __doc__ = doc

        def __init__(self, seed: int | None = None):
            super().__init__(scale, mode, distribution, seed)

        def get_config(self):
            return {"seed": self.seed}

    _V.__name__ = _V.__qualname__ = "".join(p.capitalize() for p in name.split("_"))
    return _V


GlorotUniform = _variant(
    "glorot_uniform",
    1.0,
    "fan_avg",
    "uniform",
    "Xavier/Glorot uniform: limit sqrt(6 / (fan_in + fan_out)). Keras's default kernel init.",
)
GlorotNormal = _variant(
    "glorot_normal",
    1.0,
    "fan_avg",
    "truncated_normal",
    "Xavier/Glorot normal: truncated, stddev sqrt(2 / (fan_in + fan_out)).",
)
HeNormal = _variant(
    "he_normal",
    2.0,
    "fan_in",
    "truncated_normal",
    "He normal: truncated, stddev sqrt(2 / fan_in); for ReLU networks.",
)
HeUniform = _variant("he_uniform", 2.0, "fan_in", "uniform", "He uniform: limit sqrt(6 / fan_in).")
LecunNormal = _variant(
    "lecun_normal",
    1.0,
    "fan_in",
    "truncated_normal",
    "LeCun normal: truncated, stddev sqrt(1 / fan_in); for SELU networks.",
)
LecunUniform = _variant(
    "lecun_uniform", 1.0, "fan_in", "uniform", "LeCun uniform: limit sqrt(3 / fan_in)."
)
# The course notes' (and PyTorch's) normals draw without truncation.
LecunNormalUntruncated = _variant(
    "lecun_normal_untruncated",
    1.0,
    "fan_in",
    "untruncated_normal",
    "Normal, stddev sqrt(1 / fan_in), untruncated: the course notes' Xavier initialization "
    "``randn(n_l, n_prev) * sqrt(1 / n_prev)`` (alias ``course_xavier_normal``); torch's "
    "``kaiming_normal_(nonlinearity='linear')``. For tanh networks.",
)
HeNormalUntruncated = _variant(
    "he_normal_untruncated",
    2.0,
    "fan_in",
    "untruncated_normal",
    "Normal, stddev sqrt(2 / fan_in), untruncated: the course notes' He initialization "
    "``randn(n_l, n_prev) * sqrt(2 / n_prev)`` (aliases ``course_he_normal``, "
    "``kaiming_normal``); torch's ``kaiming_normal_``. For ReLU networks.",
)
GlorotNormalUntruncated = _variant(
    "glorot_normal_untruncated",
    1.0,
    "fan_avg",
    "untruncated_normal",
    "Normal, stddev sqrt(2 / (fan_in + fan_out)), untruncated: torch's ``xavier_normal_`` "
    "(alias ``xavier_normal``). Keras's ``glorot_normal`` is the truncated one.",
)


@_registry.register("orthogonal")
class Orthogonal(_Seeded):
    """A (semi-)orthogonal matrix times ``gain``; higher ranks use (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = _finite("Orthogonal", "gain", gain)

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(
                f"Orthogonal: expected a shape of rank >= 2. Received: shape={tuple(shape)}"
            )
        return B.random_orthogonal(shape, self.gain, dtype, seed=self.seed)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


@_registry.register("identity")
class Identity(Initializer):
    """``gain`` times the identity matrix (2-D shapes; rectangular allowed)."""

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = _finite("Identity", "gain", gain)

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity: expected a 2-D shape. Received: shape={tuple(shape)}")
        xp = B.xp()
        eye = xp.eye(shape[0], shape[1], dtype=B.dtype(dtype, xp), device=B.device())
        return eye * self.gain if self.gain != 1.0 else eye

    def get_config(self):
        return {"gain": self.gain}


# Keras 3's aliases; torch's names (``xavier_*``, ``kaiming_*``) give what torch's
# functions give; the course notes' Xavier and He by their formulas
for _alias, _cls in {
    "uniform": RandomUniform,
    "normal": RandomNormal,
    "one": Ones,
    "zero": Zeros,
    "OrthogonalInitializer": Orthogonal,
    "IdentityInitializer": Identity,
    "xavier_uniform": GlorotUniform,
    "xavier_normal": GlorotNormalUntruncated,
    "kaiming_normal": HeNormalUntruncated,
    "kaiming_uniform": HeUniform,
    "course_xavier_normal": LecunNormalUntruncated,
    "course_he_normal": HeNormalUntruncated,
}.items():
    _registry.add(_alias, _cls)


# Keras 3's lowercase names are the classes themselves:
# ``kernel_initializer=initializers.he_normal(seed=1)`` as keras.io writes it
constant = Constant
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
identity = Identity
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
ones = Ones
orthogonal = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
zeros = Zeros
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal


def get(identifier: Any) -> Initializer | Any:
    """An initializer from a name, config dict, instance or callable (None stays None).

    >>> import xpnet as xn
    >>> xn.initializers.get("he_normal")
    HeNormal(seed=None)
    """
    return _registry.get(identifier)


# the family's JSON forms, straight from its registry
serialize = _registry.serialize
deserialize = _registry.deserialize
names = _registry.names
