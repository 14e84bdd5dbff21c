"""The Optimizer base: the step loop that every optimizer shares.

An optimizer subclass writes only its state set-up (:meth:`Optimizer.init_state`)
and its update (:meth:`Optimizer.update_step`). The base owns the rest, in
Keras 3's order: skip missing gradients, clip (``clipnorm`` per gradient,
``global_clipnorm`` over all, or ``clipvalue``), decay the weights
(decoupled: ``w <- w - w * weight_decay * lr``), run ``update_step`` for each
parameter with the learning rate of the current step, count the step, then
project each parameter through its ``constraint``.

Updates work on raw arrays (``p.data``, ``p.grad``) and never record a graph.
Values are computed with ordinary Array API calls and stored, as in Keras,
through :meth:`Optimizer.assign`, :meth:`~Optimizer.assign_add` and
:meth:`~Optimizer.assign_sub`, on parameters and on state variables alike.
Those three are the one place that decides how to store: in place where the
backend's arrays update in place and the optimizer owns the array (NumPy and
CuPy; see :func:`xpnet.backend.update_inplace`), by rebinding ``.data``
everywhere else (JAX, PyTorch, array-api-strict, or ``opt.inplace = False``).

Where ``update_step`` is elementwise, the step runs it once over all parameters
laid end to end (:mod:`xpnet.optimizers.fused`) on backends that update in place.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from xpnet import _checks
from xpnet import backend as B
from xpnet._registry import Registry
from xpnet.backend import host_numpy as np
from xpnet.optimizers import schedules
from xpnet.optimizers.fused import FlatStep, FlatVariable
from xpnet.optimizers.schedules import LearningRateSchedule
from xpnet.tensor import Tensor

__all__ = ["Optimizer", "Slots", "StateVariable", "register"]

_registry = Registry("optimizer")
#: Class decorator filing an optimizer under its Keras name(s) for ``optimizers.get``.
register = _registry.register

#: Where Adam, Adamax, Nadam and RMSprop add epsilon (their ``epsilon_placement``).
EPSILON_PLACEMENTS = ("keras", "textbook")


def check_epsilon_placement(owner: str, value: Any) -> str:
    """Validate ``epsilon_placement``: ``"keras"`` (Keras's place, the default) or
    ``"textbook"`` (added to the bias-corrected square root, as the papers, the course
    notes and PyTorch write it)."""
    if value not in EPSILON_PLACEMENTS:
        raise ValueError(
            f"{owner}: expected epsilon_placement to be one of {EPSILON_PLACEMENTS}. "
            f"Received: epsilon_placement={value!r} (use 'textbook' for PyTorch's form)"
        )
    return value


# Keras 3 arguments xpnet does not implement; accepted only at their no-op defaults so
# that Keras configs load, refused with a clear error otherwise.
_KERAS_ONLY = {
    "use_ema": False,
    "ema_momentum": 0.99,
    "ema_overwrite_frequency": None,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


class StateVariable:
    """One array of optimizer state (a momentum, a velocity), owned by the optimizer.

    Like a Parameter, it holds its array in ``.data``; update it through the
    optimizer's ``assign``/``assign_add``/``assign_sub``.
    """

    __slots__ = ("data", "name")

    def __init__(self, data, name: str) -> None:
        self.data = data
        self.name = name

    def __repr__(self) -> str:
        return f"StateVariable({self.name!r}, shape={tuple(self.data.shape)})"


_ELEMENTWISE: dict[type, bool] = {}  # optimizer class -> its update_step is elementwise


class Slots:
    """One parameter's state variables, by name: ``s.momentum``, ``s.velocity``."""

    def __init__(self, arrays: dict[str, Any]) -> None:
        self._vars = {name: StateVariable(a, name) for name, a in arrays.items()}
        self.__dict__.update(self._vars)  # plain attributes: the step reads them every time

    def __getattr__(self, name: str) -> StateVariable:  # only for names that are not there
        raise AttributeError(
            f"no optimizer state named {name!r} (there is {sorted(self._vars)}); "
            "create it in init_state()."
        )

    def items(self):
        """(name, array) pairs."""
        return [(name, v.data) for name, v in self._vars.items()]


class Optimizer:
    """Base class of every optimizer (Keras 3's arguments and step order).

    Args:
        learning_rate: a float >= 0 or a
            :class:`~xpnet.optimizers.schedules.LearningRateSchedule`, evaluated
            at the current step count.
        weight_decay: if set, each step first shrinks every parameter by
            ``w * weight_decay * lr`` (decoupled weight decay).
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to [-clipvalue, clipvalue].
        global_clipnorm: clip all gradients together to this global L2 norm.
            At most one of the three clipping arguments may be set.
        name: a label (default: the optimizer's Keras name).

    Attributes:
        iterations: the number of steps taken (an int).
        inplace: let ``assign_add``/``assign_sub`` write into arrays this optimizer
            owns where that pays (NumPy; see :func:`xpnet.backend.update_inplace`).
            Default True; False always rebinds ``.data`` to new arrays.
        fuse: where the optimizer's update is elementwise (:attr:`elementwise`) and
            the parameters are arrays of one dtype on a backend that updates in
            place (NumPy, CuPy), run one update on all of them at once
            (:class:`~xpnet.optimizers.fused.FlatStep`): parameters, gradients and
            state live as views of flat buffers, so a step makes a fixed number of
            array calls whatever the number of parameters. Default True; the
            results are the same numbers either way. ``Model.fit`` has the
            gradients written straight into the flat buffer
            (:meth:`gradient_sinks`), so the step copies none.

    Use it as ``opt.apply(grads, params)``, ``opt.apply_gradients(zip(grads, params))``
    or ``opt.step(params)`` (each Parameter's ``.grad``); ``opt.zero_grad(params)``
    clears the gradients.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0, -2.0])
    >>> opt = xn.optimizers.SGD(learning_rate=0.1)
    >>> ((w * w).sum()).backward()
    >>> opt.step([w])
    >>> xn.to_numpy(w).tolist(), opt.iterations
    ([0.800000011920929, -1.600000023841858], 1)
    """

    #: Hyperparameters (attribute names) that :meth:`get_config` adds to the base ones.
    hyperparameters: tuple[str, ...] = ()
    #: Python-float attributes that change while training and belong to the saved state.
    scalar_state: tuple[str, ...] = ()
    #: Whether :meth:`update_step` treats every element on its own (no norms, shapes or
    #: reductions over a parameter), so that it may run once on all parameters laid end
    #: to end (see ``fuse``). Read from the class that defines ``update_step``: a
    #: subclass that overrides ``update_step`` must declare it again.
    elementwise: bool = False

    def __init__(
        self,
        learning_rate: Any = 0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        self._refuse_unknown(owner, kwargs)
        self.name = name if name is not None else owner.lower()
        self._learning_rate = self._check_learning_rate(learning_rate)
        self.weight_decay = _checks.optional_number(
            owner, "weight_decay", weight_decay, "None or a finite number >= 0", lambda v: v >= 0
        )
        clip = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        for key, value in clip.items():
            clip[key] = _checks.optional_number(
                owner, key, value, "None or a positive finite number", lambda v: v > 0
            )
        if sum(v is not None for v in clip.values()) > 1:
            raise ValueError(
                f"{owner}: expected at most one of clipnorm, clipvalue and global_clipnorm. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self.clipnorm, self.clipvalue = clip["clipnorm"], clip["clipvalue"]
        self.global_clipnorm = clip["global_clipnorm"]
        self.iterations = 0
        self.inplace = True
        self.fuse = True
        self._exclude_ids: set[int] = set()
        self._exclude_pattern: re.Pattern | None = None
        self._reset_parameters()

    @staticmethod
    def _refuse_unknown(owner: str, kwargs: dict[str, Any]) -> None:
        if kwargs.pop("decay", None) is not None:
            warnings.warn(
                "Argument `decay` is no longer supported and will be ignored (as in Keras 3); "
                "use a learning rate schedule.",
                stacklevel=3,
            )
        for key, default in _KERAS_ONLY.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(
                    f"{owner}: xpnet does not implement {key} yet; leave it at its default "
                    f"({default!r})."
                )
        if kwargs:
            raise ValueError(
                f"{owner}: argument(s) not recognized: {sorted(kwargs)}. Besides its own "
                "hyperparameters an optimizer takes learning_rate, weight_decay, clipnorm, "
                "clipvalue, global_clipnorm and name."
            )

    def _reset_parameters(self) -> None:
        self._params: list[Any] = []  # registration order: the keys of get_state
        self._index: dict[int, int] = {}  # id(parameter) -> position in _params
        self._slots: list[Slots | None] = []
        self._owned: list[Any] = []  # the array this optimizer last stored in each parameter
        self._scratch: list[Any] = []  # per parameter: a work array (in-place backends only)
        self._flat: FlatStep | None = None  # the fused step's buffers (see ``fuse``)

    # ------------------------------------------------------------------ learning rate
    def _check_learning_rate(self, value):
        if isinstance(value, LearningRateSchedule):
            return value
        if callable(value):
            raise ValueError(
                f"{type(self).__name__}: expected a float or a LearningRateSchedule for "
                f"learning_rate. Received: learning_rate={value!r} (subclass "
                "xn.optimizers.schedules.LearningRateSchedule for a custom schedule)"
            )
        return _checks.rate(type(self).__name__, "learning_rate", value)

    @property
    def learning_rate(self) -> float | LearningRateSchedule:
        """The learning rate as given: a float or a schedule (assign a float to change it)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        value = self._check_learning_rate(value)
        if isinstance(self._learning_rate, LearningRateSchedule) and not isinstance(
            value, LearningRateSchedule
        ):
            raise TypeError(
                f"{type(self).__name__} was created with a LearningRateSchedule, so its "
                "learning rate cannot be set to a number; create the optimizer with a float "
                "learning_rate to change it during training."
            )
        self._learning_rate = value

    @property
    def current_learning_rate(self) -> float:
        """The learning rate of the next step (the schedule at ``iterations``), a float."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self.iterations))
        return lr

    # ------------------------------------------------------------------ parameters and state
    def _register(self, param) -> int:
        i = self._index.get(id(param))
        if i is None:
            i = self._index[id(param)] = len(self._params)
            self._params.append(param)  # keeps it alive, so its id stays unique
            self._slots.append(None)
            self._owned.append(None)
            self._scratch.append(None)
        return i

    def build(self, params) -> None:
        """Register ``params`` (fixing their order in :meth:`get_state`) and create their state."""
        for p in _parameters(params):
            self.slots(p)

    def init_state(self, var) -> dict[str, Any]:
        """The initial state arrays of one parameter (override; default: none)."""
        return {}

    def slots(self, var) -> Slots:
        """The state of parameter ``var``, created by :meth:`init_state` on first use."""
        if type(var) is FlatVariable:
            return var.slots
        i = self._register(var)
        s = self._slots[i]
        if s is None:
            s = self._slots[i] = Slots(self.init_state(var))
        return s

    def scratch(self, var):
        """A work array of ``var``'s shape and dtype for the update's temporaries, kept
        from step to step, for the ``B.*_into`` helpers; None where the backend does
        not write in place (the helpers then return new arrays). Not optimizer state:
        never saved, and its contents are garbage between calls."""
        if type(var) is FlatVariable:
            return var.work
        i = self._register(var)
        t = self._scratch[i]
        data = var.data
        if t is None or t.shape != data.shape or t.dtype != data.dtype:
            if not (self.inplace and B.can_update_in_place(data)):
                return None
            t = self._scratch[i] = B.namespace(data).empty_like(data)
        return t

    @staticmethod
    def zeros_like(var):
        """A zero array with ``var``'s shape, dtype, backend and device (for init_state)."""
        return B.namespace(var.data).zeros_like(var.data)

    @staticmethod
    def full_like(var, value: float):
        return B.namespace(var.data).full_like(var.data, float(value))

    def assign(self, ref, value) -> None:
        """``ref.data = value``: ``ref`` is a Parameter or a :class:`StateVariable`.

        ``value`` must be a fresh array (the result of a computation), never a
        gradient or another variable's ``.data``: the stored array may later be
        updated in place.
        """
        if value is not ref.data:
            self._store(ref, value, "set")

    def assign_add(self, ref, value) -> None:
        """``ref.data += value`` (in place where that pays, else rebinding)."""
        self._store(ref, value, "add")

    def assign_sub(self, ref, value) -> None:
        """``ref.data -= value`` (in place where that pays, else rebinding)."""
        self._store(ref, value, "sub")

    def _store(self, ref, value, op: str) -> None:
        old = ref.data
        if isinstance(ref, (StateVariable, FlatVariable)):
            owned = True
        else:  # a parameter: only the array this optimizer stored last is its own to write
            i = self._register(ref)
            owned = old is self._owned[i]
        if not (self.inplace and owned and B.update_inplace(old, value, op)):
            new = value if op == "set" else old + value if op == "add" else old - value
            # NumPy's arithmetic on 0-d arrays returns scalars; keep an array in .data
            ref.data = np.asarray(new) if isinstance(new, np.generic) else new
        if not isinstance(ref, (StateVariable, FlatVariable)):
            self._owned[i] = ref.data

    def scaled(self, state: StateVariable, factor: float):
        """``state.data * factor``, written into ``state.data`` where ``assign_add``
        would write in place; the caller stores the result back into ``state.data``.

        The result is always an array the caller may update further with in-place
        operators (``+=``; JAX rebinds), which is how Adam keeps its temporaries few.
        """
        arr = state.data
        if self.inplace and B.can_update_in_place(arr):
            arr *= factor
            return arr
        return arr * factor

    # ------------------------------------------------------------------ the step
    def update_step(self, grad, var, learning_rate: float) -> None:  # pragma: no cover
        """Update parameter ``var`` from its (clipped) gradient array ``grad``; override."""
        raise NotImplementedError

    def begin_step(self) -> None:
        """Hook run once per step before the updates (state shared by all parameters)."""

    def apply(self, grads, params) -> None:
        """One step: ``grads`` (arrays or Tensors; None entries skipped) for ``params``."""
        grads, params = list(grads), _parameters(params)
        if len(grads) != len(params):
            raise ValueError(
                f"{type(self).__name__}.apply: expected one gradient per parameter. Received "
                f"{len(grads)} gradients for {len(params)} parameters."
            )
        for p in params:
            self._register(p)
        pairs = [(self._raw(g, p), p) for g, p in zip(grads, params) if g is not None]
        if not pairs:
            return
        lr = self.current_learning_rate
        params = [p for _, p in pairs]
        flat = self._flat_step(params) if len(pairs) > 1 else None
        if flat is None or not flat.step(self, [g for g, _ in pairs], lr):
            self._flat = None  # (rebuilt from the parameters' arrays at the next step)
            self._step_each(pairs, lr)
        self.iterations += 1
        for p in params:
            if getattr(p, "constraint", None) is not None:
                self.assign(p, p.constraint(p.data))

    def _step_each(self, pairs, lr) -> None:
        """The step parameter by parameter: clip, decay, ``update_step`` for each."""
        clipped = self._clip_gradients([g for g, _ in pairs])
        if self.weight_decay:
            for _, p in pairs:
                if self._use_weight_decay(p):
                    self.assign_sub(p, p.data * (self.weight_decay * lr))
        self.begin_step()
        for g, (_, p) in zip(clipped, pairs):
            self.update_step(g, p, lr)

    # ------------------------------------------------------------------ the fused step
    def _fusable(self) -> bool:
        if not (self.fuse and self.inplace):
            return False
        cls = type(self)
        fusable = _ELEMENTWISE.get(cls)
        if fusable is None:  # read from the class that defines update_step
            fusable = False
            for klass in cls.__mro__:
                if "update_step" in klass.__dict__:
                    fusable = bool(klass.__dict__.get("elementwise", False))
                    break
            _ELEMENTWISE[cls] = fusable
        return fusable

    def _flat_step(self, params: list) -> FlatStep | None:
        """The fused step's buffers for exactly ``params`` (built on first use), or None
        where the update is not elementwise or the backend does not update in place."""
        if not self._fusable():
            return None
        flat = self._flat
        if flat is None or flat.key != tuple(map(id, params)):
            flat = self._flat = FlatStep.build(self, params)
        return flat

    def gradient_sinks(self, params) -> dict | None:
        """``{parameter: array}``: where a backward may write the gradients of
        ``params`` so that this optimizer's next step copies none (views of the fused
        step's flat gradient), for ``loss.backward(sinks=...)``; None where the step
        is not fused (see ``fuse``). The arrays are overwritten by every backward
        given them, so pass them only where nothing keeps ``.grad`` across steps
        (``Model.fit`` passes them for each training step)."""
        params = _parameters(params)
        if not params or any(p.grad is not None for p in params):
            return None
        for p in params:
            self._register(p)
        flat = self._flat_step(params) if len(params) > 1 else None
        return None if flat is None else flat.sinks()

    def gradient_buffer(self, grads) -> Any:
        """The fused step's flat gradient buffer when ``grads`` are exactly its views
        (the sinks :meth:`gradient_sinks` handed out, after a backward wrote them),
        else None. Data-parallel training reduces this one buffer in place."""
        flat = self._flat
        if flat is None:
            return None
        views = flat.grad_views
        if len(grads) != len(views) or any(g is not v for g, v in zip(grads, views)):
            return None
        return flat.grad

    def apply_gradients(self, grads_and_vars) -> int:
        """``apply`` for an iterable of ``(gradient, parameter)`` pairs; returns ``iterations``."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [p for _, p in pairs])
        return self.iterations

    def step(self, params) -> None:
        """One step from each parameter's ``.grad`` (a list of Parameters, or a layer/model)."""
        params = _parameters(params)
        self.apply([p.grad for p in params], params)

    @staticmethod
    def zero_grad(params) -> None:
        """Set every parameter's ``.grad`` to None."""
        for p in _parameters(params):
            p.grad = None

    def _raw(self, g, p):
        if isinstance(g, Tensor):
            g = g.data
        if tuple(g.shape) != tuple(p.data.shape):
            raise ValueError(
                f"{type(self).__name__}: the gradient of parameter {p.name or '?'} has shape "
                f"{tuple(g.shape)}, but the parameter has shape {tuple(p.data.shape)}."
            )
        if g.dtype != p.data.dtype:
            g = B.namespace(g).astype(g, p.data.dtype)
        return g

    # ------------------------------------------------------------------ clipping and decay
    def _clip_gradients(self, grads: list) -> list:
        if self.clipnorm is not None:
            return [_clip_by_norm(g, self.clipnorm) for g in grads]
        if self.global_clipnorm is not None:
            c = self.global_clipnorm
            xp = B.namespace(grads[0])
            total = None
            for g in grads:
                sq = xp.sum(g * g)
                total = sq if total is None else total + sq
            norm = xp.sqrt(total)
            # c / max(norm, c); the (norm - norm) term turns the scale into NaN when the
            # norm is not finite, as Keras does, instead of silently zeroing the step.
            scale = c / xp.clip(norm, min=c) + (norm - norm)
            return [g * scale for g in grads]
        if self.clipvalue is not None:
            v = self.clipvalue
            return [B.namespace(g).clip(g, min=-v, max=v) for g in grads]
        return grads

    def exclude_from_weight_decay(self, var_list=None, var_names=None) -> None:
        """Exempt parameters from weight decay: these objects, or names containing these strings."""
        self._exclude_ids = {id(p) for p in (var_list or ())}
        names = list(var_names or ())
        self._exclude_pattern = re.compile("|".join(map(re.escape, names))) if names else None

    def _use_weight_decay(self, p) -> bool:
        if id(p) in self._exclude_ids:
            return False
        pattern = self._exclude_pattern
        return not (pattern is not None and p.name and pattern.search(p.name))

    # ------------------------------------------------------------------ config and state
    def get_config(self) -> dict[str, Any]:
        """JSON-ready hyperparameters; ``from_config`` rebuilds the optimizer (without state)."""
        lr = self._learning_rate
        config = {
            "name": self.name,
            "learning_rate": schedules.serialize(lr)
            if isinstance(lr, LearningRateSchedule)
            else lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }
        config.update({k: getattr(self, k) for k in self.hyperparameters})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"])
        return cls(**config)

    def get_state(self) -> dict[str, Any]:
        """The training state as NumPy arrays and Python numbers.

        Keys: ``"iterations"``, ``"learning_rate"`` (when it is a float), the
        optimizer's :attr:`scalar_state`, and ``"<i>/<slot>"`` for the state of
        the i-th parameter in the order the optimizer first saw them (the order
        of ``params`` in the first ``apply``/``step``/``build``).
        """
        state: dict[str, Any] = {"iterations": int(self.iterations)}
        if not isinstance(self._learning_rate, LearningRateSchedule):
            state["learning_rate"] = float(self._learning_rate)
        for key in self.scalar_state:
            state[key] = float(getattr(self, key))
        for i, s in enumerate(self._slots):
            for name, arr in s.items() if s is not None else ():
                state[f"{i}/{name}"] = np.array(B.to_numpy(arr), copy=True)
        return state

    def set_state(self, state: dict[str, Any], params) -> None:
        """Restore :meth:`get_state` output for ``params`` (in the order they had when saved)."""
        owner = type(self).__name__
        params = _parameters(params)
        per_param: dict[int, dict[str, Any]] = {}
        scalars = {"iterations", "learning_rate", *self.scalar_state}
        for key, value in state.items():
            if key in scalars:
                continue
            index, _, slot = key.partition("/")
            if not (index.isdigit() and slot):
                raise ValueError(f"{owner}.set_state: unexpected key {key!r} in the state.")
            per_param.setdefault(int(index), {})[slot] = value
        if per_param and max(per_param) >= len(params):
            raise ValueError(
                f"{owner}.set_state: the state holds parameter #{max(per_param)}, but only "
                f"{len(params)} parameters were given; pass them in the order used when saving."
            )
        self._reset_parameters()
        for p in params:
            self._register(p)
        for i, saved in sorted(per_param.items()):
            self._slots[i] = Slots(self._restore_slots(params[i], i, saved))
        self.iterations = int(state.get("iterations", 0))
        if "learning_rate" in state and not isinstance(self._learning_rate, LearningRateSchedule):
            self.learning_rate = float(state["learning_rate"])
        for key in self.scalar_state:
            if key in state:
                setattr(self, key, float(state[key]))

    def _restore_slots(self, p, i: int, saved: dict[str, Any]) -> dict[str, Any]:
        owner = type(self).__name__
        expected = self.init_state(p)
        if set(saved) != set(expected):
            raise ValueError(
                f"{owner}.set_state: parameter #{i} has state {sorted(saved)}, but this "
                f"{owner} keeps {sorted(expected)}; was the state saved by another optimizer "
                "or configuration?"
            )
        out = {}
        for name, like in expected.items():
            host = np.array(B.to_numpy(saved[name]), copy=True)
            if tuple(host.shape) != tuple(like.shape):
                raise ValueError(
                    f"{owner}.set_state: state {i}/{name} has shape {tuple(host.shape)}, but "
                    f"parameter #{i} has shape {tuple(like.shape)}."
                )
            xp = B.namespace(like)
            arr = xp.asarray(host, device=B.device_of(like))
            out[name] = arr if arr.dtype == like.dtype else xp.astype(arr, like.dtype)
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if v is not None)
        return f"{type(self).__name__}({args})"


def _clip_by_norm(g, c: float):
    """``g * c / max(||g||, c)``: rescaled to L2 norm ``c`` if longer (Keras's clipnorm)."""
    xp = B.namespace(g)
    return g * (c / xp.clip(xp.sqrt(xp.sum(g * g)), min=c))


def _parameters(params) -> list:
    """A list of parameters from a list, or a layer/model's ``trainable_weights``."""
    weights = getattr(params, "trainable_weights", None)
    return list(weights if weights is not None else params)
