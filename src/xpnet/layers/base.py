"""The Layer base: validate in ``__init__``, build weights lazily, keep ``call`` tiny.

A layer stores its configuration in ``__init__`` (raising ValueError on bad
arguments), creates its weights in ``build(input_shape)`` on the first call
(through :meth:`Layer.add_weight`), and computes its output in ``call``.
Weights and sublayers are found by walking attributes, never registered by
hand: assigning ``self.kernel = self.add_weight(...)`` or ``self.dense =
Dense(4)`` is enough.

The ``training`` flag flows down: a call with ``training=True`` runs every
nested layer in training mode unless that layer is called with its own flag.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from xpnet import _checks, ops
from xpnet import backend as B
from xpnet import constraints as constraints_mod
from xpnet import initializers as initializers_mod
from xpnet import regularizers as regularizers_mod
from xpnet._registry import snake_case
from xpnet.backend import dtype_policy as _policy
from xpnet.layers import _mask
from xpnet.tensor import Parameter, Tensor, no_grad

__all__ = ["InputSpec", "Layer", "clear_session", "dry_run", "in_dry_run", "to_tensor"]


class InputSpec:
    """What a layer accepts: rank bounds and fixed sizes of some axes.

    ``axes`` maps an axis (negative counts from the end) to the size it must
    have; ``hint`` is appended to the error message.
    """

    def __init__(
        self,
        ndim: int | None = None,
        min_ndim: int | None = None,
        max_ndim: int | None = None,
        axes: dict[int, int] | None = None,
        hint: str = "",
    ) -> None:
        self.ndim, self.min_ndim, self.max_ndim = ndim, min_ndim, max_ndim
        self.axes = dict(axes or {})
        self.hint = hint

    def check(self, layer: Layer, shape: tuple[int, ...]) -> None:
        nd = len(shape)
        problem = None
        if self.ndim is not None and nd != self.ndim:
            problem = f"inputs of rank {self.ndim}, got rank {nd}"
        elif self.min_ndim is not None and nd < self.min_ndim:
            problem = f"inputs of rank >= {self.min_ndim}, got rank {nd}"
        elif self.max_ndim is not None and nd > self.max_ndim:
            problem = f"inputs of rank <= {self.max_ndim}, got rank {nd}"
        else:
            for axis, size in self.axes.items():
                if -nd <= axis < nd and shape[axis] != size:
                    where = "last dimension" if axis == -1 else f"dimension {axis}"
                    problem = f"inputs with {where} {size}, got {shape[axis]}"
                    break
        if problem is not None:  # messages are built only here: check runs on every call
            hint = f" {self.hint}" if self.hint else ""
            raise ValueError(
                f"{type(layer).__name__} layer '{layer.name}' expected {problem} "
                f"(shape {shape}).{hint}"
            )


_names: Counter[str] = Counter()


def _unique_name(base: str) -> str:
    n = _names[base]
    _names[base] += 1
    return base if n == 0 else f"{base}_{n}"


def clear_session(free_memory: bool = True) -> None:
    """Restart automatic layer names (``dense``, ``dense_1``, ...) from the beginning
    (what ``xn.backend.clear_session()`` does, as in Keras)."""
    _names.clear()


B.on_clear_session(_names.clear)


class _CallContext(threading.local):
    training: bool | None = None
    dry_run = False
    budget: list[int] | None = None  # [elements left] while a saved model is rebuilt


_context = _CallContext()


class WeightBudgetError(ValueError):
    """A model rebuilt from a file asks for more than the file carries (see
    :func:`restoring_weights`)."""


@contextlib.contextmanager
def restoring_weights(elements: int) -> Iterator[None]:
    """Rebuild layers whose weights a file will overwrite: ``add_weight`` runs no
    initializer (no random draw, no costly Orthogonal) and refuses, before allocating,
    weights beyond ``elements`` values in all; dry-run placeholders are held to
    ``max(elements, 2**22)`` values. So a file cannot make a model larger than the
    weights it holds."""
    saved = _context.budget
    _context.budget = [int(elements)]
    try:
        yield
    finally:
        _context.budget = saved


def check_placeholder(shape) -> None:
    """While :func:`restoring_weights`: refuse placeholder inputs past the budget."""
    budget = _context.budget
    if budget is not None:
        n = math.prod(int(d) for d in shape)
        if n > max(budget[0], 1 << 22):
            raise WeightBudgetError(
                f"the model's inputs of shape {tuple(shape)} ({n} values per sample) are "
                "larger than the file's weights allow."
            )


@contextlib.contextmanager
def dry_run() -> Iterator[None]:
    """Calls on placeholder zeros that only learn shapes (building, probing symbolic calls):
    layers skip their value checks there (see :func:`in_dry_run`)."""
    saved = _context.dry_run
    _context.dry_run = True
    try:
        yield
    finally:
        _context.dry_run = saved


def in_dry_run() -> bool:
    """Whether the current call is a dry run (placeholder zeros, not data)."""
    return _context.dry_run


def to_tensor(x: Any, dtype: str | None = None) -> Any:
    """Inputs at a layer's edge: arrays and lists become Tensors (floats as ``dtype``)."""
    if isinstance(x, Tensor) or x is None:
        return x
    if (
        isinstance(x, (list, tuple))
        and x
        and all(isinstance(v, Tensor) or hasattr(v, "shape") for v in x)
    ):
        return type(x)(to_tensor(v, dtype) for v in x)
    data = B.asarray(x)
    if dtype is not None and B.is_floating(data):
        data = B.asarray(data, dtype)
    return Tensor._make(data, None)


def _is_symbolic(x: Any) -> bool:
    """Whether ``x`` is (a list of) symbolic tensors from ``xn.Input`` (functional API)."""
    t = type(x)
    if t is list or t is tuple:
        return bool(x) and getattr(type(x[0]), "_xpnet_symbolic", False)
    return getattr(t, "_xpnet_symbolic", False)


def _shape_of(x: Any):
    if isinstance(x, (list, tuple)):
        return [_shape_of(v) for v in x]
    return tuple(x.shape)


class Layer:
    """Base class of every layer (and of models).

    Args:
        trainable: whether the layer's weights are updated by training.
        name: a unique name; by default the snake-case class name plus a counter.
        dtype: the dtype of the weights (default ``floatx``, float32).
        activity_regularizer: a regularizer applied to the layer's output; its
            penalty is added to :attr:`losses`.
        input_shape: (for the first layer of a Sequential model) the shape of one
            sample, without the batch axis.
    """

    _call_has_training: bool | None = None
    supports_masking = False  # whether compute_mask passes the inputs' mask on (Keras's flag)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_sets_built", False):
            # a layer is built once its build() returns, however build() was reached
            @functools.wraps(build)
            def wrapped(self, input_shape, _build=build):
                _build(self, input_shape)
                self.built = True

            wrapped._sets_built = True
            cls.build = wrapped

    def __init__(
        self,
        *,
        trainable: bool = True,
        name: str | None = None,
        dtype: str | None = None,
        activity_regularizer: Any = None,
        input_shape: Sequence[int] | None = None,
        input_dim: int | None = None,
        batch_size: int | None = None,
    ) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string; received name={name!r}.")
        self.name = name or _unique_name(snake_case(type(self).__name__))
        self._trainable = _checks.boolean(type(self).__name__, "trainable", trainable)
        self._dtype_policy = _policy.get(dtype)
        self.built = False
        self.activity_regularizer = regularizers_mod.get(activity_regularizer)
        self._activity_losses: list[Tensor] = []
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._batch_size_arg = batch_size
        self.input_spec: InputSpec | None = None

    # ------------------------------------------------------------------ dtypes
    #: Whether a mixed-precision policy casts this layer's weights to its compute
    #: dtype inside ``call`` (False: the layer computes in its variable dtype,
    #: float32, and casts its output to the compute dtype, as Keras's normalizations).
    autocast = True

    @property
    def dtype_policy(self) -> _policy.DTypePolicy:
        """The layer's :class:`~xpnet.mixed_precision.DTypePolicy`."""
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value) -> None:
        self._dtype_policy = _policy.get(value)

    @property
    def dtype(self) -> str:
        """The dtype of the layer's weights (the policy's ``variable_dtype``)."""
        return self._dtype_policy.variable_dtype

    @dtype.setter
    def dtype(self, value) -> None:
        self._dtype_policy = _policy.get(value)

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computations (the policy's ``compute_dtype``)."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._dtype_policy.variable_dtype

    def _mixed_call(self, inputs, args, kwargs):
        """``call`` under a mixed policy: floating inputs cast to the compute dtype and,
        where ``autocast``, the layer's own weights read as compute-dtype copies (the
        casts are differentiable: gradients reach the float32 weights as float32)."""
        compute = self.compute_dtype
        _policy.check_backend_has(compute, B.get_backend().name)
        if not self.autocast:
            out = self.call(_cast_floats(inputs, self.variable_dtype), *args, **kwargs)
            return _cast_floats(out, compute)
        inputs = _cast_floats(inputs, compute)
        own = [
            (k, v)
            for k, v in self.__dict__.items()
            if isinstance(v, Parameter) and B.is_floating(v.data)
        ]
        for k, v in own:
            self.__dict__[k] = ops.cast(v, compute)
        try:
            return self.call(inputs, *args, **kwargs)
        finally:
            for k, v in own:
                self.__dict__[k] = v

    # ------------------------------------------------------------------ building
    def build(self, input_shape) -> None:
        """Create the weights for inputs of ``input_shape`` (batch axis included)."""
        self.built = True

    def add_weight(
        self,
        *args: Any,
        shape: Sequence[int] | None = None,
        initializer: Any = None,
        dtype: str | None = None,
        trainable: bool = True,
        autocast: bool = True,
        regularizer: Any = None,
        constraint: Any = None,
        aggregation: str = "none",
        overwrite_with_gradient: bool = False,
        name: str | None = None,
    ) -> Parameter:
        """Create a :class:`Parameter` (assign it to an attribute to track it).

        Keras 3's signature: ``add_weight(shape=(4, 8), initializer="zeros",
        name="kernel")``; ``shape`` defaults to ``()`` (a scalar) and
        ``initializer`` to ``"glorot_uniform"`` for float weights, ``"zeros"``
        for the others, as in Keras. The positional form ``add_weight(shape,
        initializer, dtype)`` works too, and so does xpnet's older
        ``add_weight(name, shape, initializer, regularizer, constraint)``
        (recognized by a string first). ``autocast``, ``aggregation`` and
        ``overwrite_with_gradient`` are accepted for Keras compatibility; they
        change nothing here (xpnet has one device per model and no float8).
        """
        if args and isinstance(args[0], str):  # xpnet's (name, shape, initializer, reg, cons)
            if len(args) > 5:
                raise TypeError(
                    f"add_weight() takes at most 5 positional arguments after self "
                    f"(name, shape, initializer, regularizer, constraint); got {len(args)}."
                )
            legacy = dict(zip(("name", "shape", "initializer", "regularizer", "constraint"), args))
            name = legacy["name"]
            shape = legacy.get("shape", shape)
            initializer = legacy.get("initializer", initializer)
            regularizer = legacy.get("regularizer", regularizer)
            constraint = legacy.get("constraint", constraint)
        elif args:  # Keras 3's positional order
            if len(args) > 3:
                raise TypeError(
                    "add_weight() takes at most 3 positional arguments (shape, initializer, "
                    f"dtype); got {len(args)}. Pass the others by keyword."
                )
            given = dict(zip(("shape", "initializer", "dtype"), args))
            for key, value in (("shape", shape), ("initializer", initializer), ("dtype", dtype)):
                if key in given and value is not None:
                    raise ValueError(
                        f"add_weight(): `{key}` was passed both positionally and as a keyword."
                    )
            shape = given.get("shape", shape)
            initializer = given.get("initializer", initializer)
            dtype = given.get("dtype", dtype)
        dtype = dtype or self.dtype
        if initializer is None:
            initializer = "glorot_uniform" if _is_float_name(dtype) else "zeros"
        init = initializers_mod.get(initializer)
        if shape is None:
            shape = ()
        elif isinstance(shape, int):
            shape = (shape,)
        if any(s is None for s in shape):
            raise ValueError(
                f"Layer '{self.name}': add_weight() needs a fully defined shape; got "
                f"{tuple(shape)} (None entries). Build the weight in build(input_shape) from "
                "the known sizes."
            )
        shape = tuple(int(s) for s in shape)
        if name is None:
            self._weight_count = getattr(self, "_weight_count", 0) + 1
            name = "variable" if self._weight_count == 1 else f"variable_{self._weight_count - 1}"
        budget = _context.budget
        if budget is not None:  # rebuilt from a file: its weights replace these values
            n = math.prod(shape)
            if n > budget[0] or min(shape, default=1) < 0:
                raise WeightBudgetError(
                    f"layer '{self.name}' asks for weight {name!r} of shape {shape}, more "
                    "values than the file holds."
                )
            budget[0] -= n
            init = initializers_mod.get("zeros")
        p = Parameter(
            init(shape, dtype),
            trainable=trainable and self._trainable,
            dtype=dtype,
            name=f"{self.name}/{name}",
        )
        if not trainable:
            p._trainable = False
        p.regularizer = regularizers_mod.get(regularizer)
        p.constraint = constraints_mod.get(constraint)
        return p

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; by default a dry run on zeros (batch 1)."""
        xp = B.xp()

        def zeros(shape):
            if isinstance(shape, list):
                return [zeros(s) for s in shape]
            dims = tuple(1 if d is None else int(d) for d in shape)
            check_placeholder(dims)
            return Tensor._make(
                xp.zeros(dims, dtype=B.dtype(self.dtype, xp), device=B.device()), None
            )

        with no_grad(), dry_run():
            out = self(zeros(input_shape), training=False)
        shape = _shape_of(out)
        if isinstance(input_shape, tuple) and input_shape and input_shape[0] is None:
            return _with_batch(shape, None)
        return shape

    def compute_mask(self, inputs, mask=None):
        """The mask of this layer's output, given its inputs' ``mask`` (Keras's rule).

        By default the mask passes through unchanged where the layer sets
        ``supports_masking = True`` (elementwise and per-step layers: Dense,
        Activation, Dropout, the normalizations, ...) and is dropped
        elsewhere. Override it in a layer that changes the steps (see
        :class:`~xpnet.layers.Masking`). Masks are boolean backend arrays,
        usually ``(batch, steps)``.
        """
        if not self.supports_masking:
            return None
        return mask

    def check_input_values(self, inputs) -> None:
        """Check the values of whole input arrays once, before training or predicting on them.

        ``fit``, ``evaluate`` and ``predict`` call it on the model with all their
        inputs before the first step (host data on the host, before they move),
        so that ``call`` need not read device memory per batch. Most layers check
        nothing; :class:`~xpnet.layers.Embedding` checks its ids; Sequential and
        functional models pass each input to the layers that read it directly (a
        subclassed model cannot tell which those are: its layers check at their
        first call instead).
        """

    # ------------------------------------------------------------------ calling
    def call(self, inputs, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def __call__(self, inputs, *args, training: bool | None = None, **kwargs):
        if type(inputs) is not Tensor:  # (a Tensor, the usual case, needs neither)
            if _is_symbolic(inputs):  # xn.Input(...) placeholders: record a functional node
                first = inputs[0] if type(inputs) in (list, tuple) else inputs
                return type(first).record_call(self, inputs, args, kwargs, training)
            inputs = to_tensor(inputs, self.dtype)
        mixed = self._dtype_policy.is_mixed
        if not self.built:
            shape = _shape_of(inputs)
            self._build_checked(shape)
        if self.input_spec is not None and isinstance(inputs, Tensor):
            self.input_spec.check(self, tuple(inputs.data.shape))
        if training is None:
            training = _context.training
        cls = type(self)
        has_training = cls.__dict__.get("_call_has_training")  # per class, never inherited
        if has_training is None:
            has_training = "training" in inspect.signature(cls.call).parameters
            cls._call_has_training = has_training
        if has_training:
            kwargs["training"] = training
        in_mask = _mask.of(inputs) if _mask.any_masks() else None
        if in_mask is not None and "mask" not in kwargs and _call_takes_mask(cls):
            kwargs["mask"] = in_mask  # Keras passes the inputs' mask to call(..., mask=)
        saved = _context.training
        _context.training = training
        try:
            if mixed:
                out = self._mixed_call(inputs, args, kwargs)
            else:
                out = self.call(inputs, *args, **kwargs)
        finally:
            _context.training = saved
        if in_mask is not None and isinstance(out, Tensor) and _mask.get_mask(out) is None:
            if out is inputs:  # an identity call: the output keeps the inputs' mask
                pass
            else:
                _mask.set_mask(out, self.compute_mask(inputs, in_mask))
        if self.activity_regularizer is not None:
            self._activity_losses = [self.activity_regularizer(out) / max(out.shape[0], 1)]
        return out

    def _build_checked(self, shape) -> None:
        self.build(shape)
        self.built = True

    # ------------------------------------------------------------------ graph
    def _node_tensor(self, what: str):
        nodes = self.__dict__.get("_inbound_nodes") or []
        if not nodes and "_sequential_output" in self.__dict__:
            return self.__dict__["_sequential_output"]
        if not nodes:
            raise AttributeError(
                f"Layer '{self.name}' has no {what} yet: it has not been called on a symbolic "
                "tensor (xn.Input or a functional model's layers)."
            )
        if len(nodes) > 1:
            raise AttributeError(
                f"Layer '{self.name}' was called {len(nodes)} times (a shared layer); its {what} "
                "is ambiguous. Keep the tensors its calls return instead."
            )
        return nodes[0]

    @property
    def output(self):
        """The symbolic output of this layer's one call in a functional model (as Keras)."""
        node = self._node_tensor("output")
        if not hasattr(node, "outputs"):  # a layer of a Sequential model: its output's shape
            return node
        outs = node.outputs
        return outs[0] if len(outs) == 1 else list(outs)

    # ------------------------------------------------------------------ weights
    def _children(self) -> Iterator[Any]:
        for key, value in self.__dict__.items():
            if key not in ("_activity_losses", "_inbound_nodes"):
                yield value

    def _walk(self, trainable_only: bool) -> tuple[list[Parameter], list[Layer]]:
        params: list[Parameter] = []
        layers: list[Layer] = []
        seen: set[int] = {id(self)}

        def visit(obj: Any) -> None:
            if isinstance(obj, Parameter):
                if id(obj) not in seen:
                    seen.add(id(obj))
                    params.append(obj)
            elif isinstance(obj, Layer):
                if id(obj) in seen:
                    return
                seen.add(id(obj))
                layers.append(obj)
                if trainable_only and not obj.trainable:
                    return
                for v in obj._children():
                    visit(v)
            elif isinstance(obj, (list, tuple)):
                for v in obj:
                    visit(v)
            elif isinstance(obj, dict):
                for v in obj.values():
                    visit(v)

        for v in self._children():
            visit(v)
        return params, layers

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for layer in [self, *self._walk(False)[1]]:
            layer._trainable = bool(value)
        for p in self._walk(False)[0]:
            p.requires_grad = bool(value) and p._trainable

    @property
    def trainable_weights(self) -> list[Parameter]:
        """Weights updated by training (empty when ``trainable`` is False)."""
        if not self._trainable:
            return []
        return [p for p in self._walk(True)[0] if p._trainable]

    @property
    def non_trainable_weights(self) -> list[Parameter]:
        trainable = {id(p) for p in self.trainable_weights}
        return [p for p in self._walk(False)[0] if id(p) not in trainable]

    @property
    def weights(self) -> list[Parameter]:
        """Every weight in Keras 3's order: each layer's own weights together (those created
        trainable first, then the others, e.g. BatchNormalization's gamma, beta,
        moving_mean, moving_variance), then its sublayers' in turn, depth first.

        So ``set_weights(keras_model.get_weights())`` copies a Keras 3 model's
        weights into the same architecture.
        """
        out: list[Parameter] = []
        seen: set[int] = set()

        def visit(layer: Layer) -> None:
            own: list[Parameter] = []
            subs: list[Layer] = []

            def collect(obj: Any) -> None:
                if isinstance(obj, Parameter):
                    own.append(obj)
                elif isinstance(obj, Layer):
                    subs.append(obj)
                elif isinstance(obj, (list, tuple)):
                    for v in obj:
                        collect(v)
                elif isinstance(obj, dict):
                    for v in obj.values():
                        collect(v)

            for v in layer._children():
                collect(v)
            for group in ([p for p in own if p._trainable], [p for p in own if not p._trainable]):
                for p in group:
                    if id(p) not in seen:
                        seen.add(id(p))
                        out.append(p)
            for sub in subs:
                if id(sub) not in seen:
                    seen.add(id(sub))
                    visit(sub)

        seen.add(id(self))
        visit(self)
        return out

    @property
    def layers(self) -> list[Layer]:
        """Every nested layer, depth first in attribute order."""
        return self._walk(False)[1]

    def count_params(self) -> int:
        total = 0
        for p in self.weights:
            total += p.size
        return total

    def zero_grad(self) -> None:
        """Forget the gradients of every weight (set them to None)."""
        for p in self._walk(False)[0]:
            p.grad = None

    def get_weights(self) -> list:
        """Copies of the weights as NumPy arrays, in :attr:`weights` order.

        Copies, as Keras returns: optimizers may update weights in place.
        """
        return [B.host_numpy.array(B.to_numpy(p.data), copy=True) for p in self.weights]

    def set_weights(self, weights: Sequence) -> None:
        """Set every weight from arrays (of any backend), in :attr:`weights` order."""
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}' expected {len(params)} weight arrays "
                f"({[p.name for p in params]}), got {len(weights)}."
            )
        new = []
        for p, w in zip(params, weights):
            arr = B.asarray(w.data if isinstance(w, Tensor) else w, p.data.dtype)
            if tuple(arr.shape) != p.shape:
                raise ValueError(
                    f"Layer '{self.name}': weight {p.name} has shape {p.shape}, but the array "
                    f"given has shape {tuple(arr.shape)}."
                )
            new.append(arr)
        for p, arr in zip(params, new):
            p.data = arr

    @property
    def losses(self) -> list[Tensor]:
        """Regularization penalties: weight regularizers plus activity regularizers."""
        out: list[Tensor] = []
        params, layers = self._walk(False)
        for layer in [self, *layers]:
            out.extend(layer._activity_losses)
        for p in params:
            if p.regularizer is not None:
                out.append(p.regularizer(p))
        return out

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-ready values."""
        config: dict[str, Any] = {"name": self.name, "trainable": self._trainable}
        if self._dtype_policy.name != B.floatx():
            config["dtype"] = self._dtype_policy.name
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers_mod.serialize(self.activity_regularizer)
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


_takes_mask: dict[type, bool] = {}


_OPTION_MODULES = {
    "initializer": initializers_mod,
    "regularizer": regularizers_mod,
    "constraint": constraints_mod,
}


def weight_options_config(
    layer: Layer, *weights: str, kinds: Sequence[str] = tuple(_OPTION_MODULES)
) -> dict[str, Any]:
    """The serialized ``<weight>_<kind>`` attributes of ``weights`` for ``get_config``,
    kind by kind (``kernel_initializer``, ``bias_initializer``, ``kernel_regularizer``,
    ...), as the constructors take them."""
    return {
        f"{w}_{k}": _OPTION_MODULES[k].serialize(getattr(layer, f"{w}_{k}"))
        for k in kinds
        for w in weights
    }


def _call_takes_mask(cls: type) -> bool:
    found = _takes_mask.get(cls)
    if found is None:
        found = getattr(cls, "_mask_from_inputs", True) and (
            "mask" in inspect.signature(cls.call).parameters
        )
        _takes_mask[cls] = found
    return found


def _cast_floats(x: Any, dtype: str) -> Any:
    """``x`` (a Tensor, or a list/tuple of them) with floating tensors cast to ``dtype``;
    the output keeps the input's mask."""
    if isinstance(x, Tensor):
        if not B.is_floating(x.data) or x.data.dtype == B.dtype(dtype, x.xp):
            return x
        out = ops.cast(x, dtype)
        mask = _mask.get_mask(x) if _mask.any_masks() else None
        if mask is not None:
            _mask.set_mask(out, mask)
        return out
    if isinstance(x, (list, tuple)):
        return type(x)(_cast_floats(v, dtype) for v in x)
    return x


def _is_float_name(dtype: Any) -> bool:
    return "float" in str(dtype)


def _with_batch(shape, batch):
    if isinstance(shape, list):
        return [_with_batch(s, batch) for s in shape]
    return (batch, *shape[1:])
