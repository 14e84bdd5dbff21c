"""``LossScaleOptimizer``: dynamic loss scaling around any optimizer (Keras 3's).

float16 has a narrow range: small gradients of a float16 computation underflow to
zero. The loss is multiplied by a large scale before the backward pass
(:meth:`LossScaleOptimizer.scale_loss`) and the gradients divided by it before the
inner optimizer's step. When a gradient holds an inf or a NaN the step is
skipped and the scale halved; after ``dynamic_growth_steps`` finite steps in a
row the scale doubles. Keras's defaults: ``initial_scale=2**15``,
``dynamic_growth_steps=2000``.

The decision never reads a device value: the inner optimizer's step is taken
and then undone with ``where(finite, new, old)`` over every weight and state
array, and the scale and counter are updated with ``where`` too, so a training
step stays free of host synchronization (and traces whole on JAX). Host-side
counters move on a skipped step as well: the inner optimizer's ``iterations``
(and so Adam's bias correction and a learning-rate schedule) and scalar state
held as Python numbers (Nadam's ``u_product``); Keras does not count a skipped
step. The inner optimizer rebinds its arrays (``inplace`` and ``fuse`` off) so
the old ones stay intact for the undo.
"""

from __future__ import annotations

from typing import Any

from xpnet import backend as B
from xpnet.backend.dtype_policy import overflow_expected
from xpnet.optimizers.base import Optimizer, _parameters
from xpnet.tensor import Tensor

__all__ = ["LossScaleOptimizer"]

_OWN = ("dynamic_scale", "step_counter")
# the inner optimizer's bookkeeping, read through the wrapper (compiled steps,
# data-parallel broadcast)
_INNER = ("_owned", "_params", "_index", "_scratch")


class LossScaleOptimizer(Optimizer):
    """Dynamic loss scaling around ``inner_optimizer`` (an optimizer or its name).

    Args:
        inner_optimizer: the optimizer that takes the (unscaled) steps.
        initial_scale: the first loss scale (``2**15``).
        dynamic_growth_steps: finite steps in a row after which the scale doubles (2000).
        name: the optimizer's name.

    ``compile`` wraps the optimizer in one when the model's dtype policy is
    ``"mixed_float16"`` (``auto_scale_loss=True``, as Keras). A custom loop calls
    ``scaled = opt.scale_loss(loss)``, ``scaled.backward()``, ``opt.step(params)``.
    """

    def __init__(
        self,
        inner_optimizer: Any,
        initial_scale: float = 2.0**15,
        dynamic_growth_steps: int = 2000,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not kwargs.pop("dynamic", True):
            raise ValueError(
                "LossScaleOptimizer: only dynamic loss scaling is supported (as in Keras 3); "
                "received dynamic=False. For a fixed scale, multiply the loss yourself."
            )
        if isinstance(inner_optimizer, (str, dict)):
            from xpnet import optimizers

            inner_optimizer = optimizers.get(inner_optimizer)
        if not isinstance(inner_optimizer, Optimizer) or isinstance(
            inner_optimizer, LossScaleOptimizer
        ):
            raise TypeError(
                "LossScaleOptimizer expected an optimizer (not already a LossScaleOptimizer) "
                f"as inner_optimizer; received {inner_optimizer!r}."
            )
        if isinstance(initial_scale, bool) or not (
            isinstance(initial_scale, (int, float)) and initial_scale > 0
        ):
            raise ValueError(
                f"LossScaleOptimizer: initial_scale must be a positive number; received "
                f"{initial_scale!r}."
            )
        if (
            isinstance(dynamic_growth_steps, bool)
            or not isinstance(dynamic_growth_steps, int)
            or dynamic_growth_steps < 1
        ):
            raise ValueError(
                f"LossScaleOptimizer: dynamic_growth_steps must be an int >= 1; received "
                f"{dynamic_growth_steps!r}."
            )
        self._refuse_unknown("LossScaleOptimizer", kwargs)
        # not Optimizer.__init__: the step count, learning rate and slots are the inner's
        object.__setattr__(self, "inner_optimizer", inner_optimizer)
        self.name = name or "loss_scale_optimizer"
        self.weight_decay = self.clipnorm = self.clipvalue = self.global_clipnorm = None
        self.inplace = True
        inner_optimizer.inplace = False  # the old arrays stay intact for the undo
        inner_optimizer.fuse = False
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.dynamic_scale: Any = float(initial_scale)  # an array after the first step
        self.step_counter: Any = 0
        self.scalar_state = (*_OWN, *inner_optimizer.scalar_state)
        self.fuse = False

    # ------------------------------------------------------------------ delegation
    def __getattr__(self, name: str):  # only names this object does not hold
        if name == "inner_optimizer":
            raise AttributeError(name)
        inner = self.__dict__.get("inner_optimizer")
        if inner is not None and (name in inner.scalar_state or name in _INNER):
            return getattr(inner, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        inner = self.__dict__.get("inner_optimizer")
        if inner is not None and (name in inner.scalar_state):
            setattr(inner, name, value)
        else:
            object.__setattr__(self, name, value)

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value) -> None:
        self.inner_optimizer.iterations = value

    @property
    def _learning_rate(self):
        return self.inner_optimizer._learning_rate

    @_learning_rate.setter
    def _learning_rate(self, value) -> None:
        self.inner_optimizer._learning_rate = value

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        self.inner_optimizer.learning_rate = value

    @property
    def current_learning_rate(self) -> float:
        return self.inner_optimizer.current_learning_rate

    @property
    def _slots(self):
        return self.inner_optimizer._slots

    def build(self, params) -> None:
        self.inner_optimizer.build(params)

    def _register(self, param) -> int:
        return self.inner_optimizer._register(param)

    def slots(self, var):
        return self.inner_optimizer.slots(var)

    def gradient_sinks(self, params) -> None:
        return None  # the inner step is not fused

    def gradient_buffer(self, grads) -> None:
        return None  # no flat buffer: data-parallel training reduces the gradients as a list

    # ------------------------------------------------------------------ the scale
    def _scale_array(self):
        scale = self.dynamic_scale
        if type(scale) is float:
            xp = B.xp()
            scale = xp.asarray(scale, dtype=xp.float32, device=B.device())
            object.__setattr__(self, "dynamic_scale", scale)
        return scale

    def scale_loss(self, loss):
        """``loss * dynamic_scale`` (a Tensor in, a Tensor out; the gradient flows)."""
        scale = self._scale_array()
        if isinstance(loss, Tensor):
            return loss * Tensor._make(B.namespace(loss.data).astype(scale, loss.data.dtype), None)
        return loss * scale

    # ------------------------------------------------------------------ the step
    def apply(self, grads, params) -> None:
        grads, params = list(grads), _parameters(params)
        if len(grads) != len(params):
            raise ValueError(
                f"LossScaleOptimizer.apply: expected one gradient per parameter. Received "
                f"{len(grads)} gradients for {len(params)} parameters."
            )
        pairs = [
            (g.data if isinstance(g, Tensor) else g, p)
            for g, p in zip(grads, params)
            if g is not None
        ]
        if not pairs:
            return
        inner = self.inner_optimizer
        scale = self._scale_array()
        xp = B.namespace(scale)
        finite = None
        unscaled = []
        for g, _ in pairs:
            g = g / xp.astype(scale, g.dtype)
            ok = xp.all(xp.isfinite(g))
            finite = ok if finite is None else finite & ok
            unscaled.append(g)
        inner.build([p for _, p in pairs])  # the slots exist before the snapshot
        old_params = [p.data for _, p in pairs]
        old_slots = [[(v, v.data) for v in s._vars.values()] for s in inner._slots if s is not None]
        with overflow_expected():  # a non-finite step's arithmetic is discarded below
            inner.apply(unscaled, [p for _, p in pairs])
        for (_, p), old in zip(pairs, old_params):
            if p.data is not old:
                p.data = xp.where(finite, p.data, old)
        for slot in old_slots:
            for v, old in slot:
                if v.data is not old:
                    v.data = xp.where(finite, v.data, old)
        # the scale: x2 after dynamic_growth_steps finite steps, /2 on a non-finite one
        counter = self.step_counter
        if type(counter) is int:
            counter = xp.asarray(counter, dtype=xp.int32, device=B.device_of(scale))
        grow = finite & (counter >= self.dynamic_growth_steps - 1)
        new_scale = xp.where(finite, xp.where(grow, scale * 2.0, scale), scale * 0.5)
        new_counter = xp.where(finite & ~grow, counter + 1, xp.zeros_like(counter))
        object.__setattr__(self, "dynamic_scale", new_scale)
        object.__setattr__(self, "step_counter", new_counter)

    # ------------------------------------------------------------------ config and state
    def get_config(self) -> dict[str, Any]:
        from xpnet import optimizers

        return {
            "name": self.name,
            "inner_optimizer": optimizers.serialize(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        return cls(**config)

    def get_state(self) -> dict[str, Any]:
        state = self.inner_optimizer.get_state()
        state["dynamic_scale"] = float(B.to_numpy(self._scale_array()))
        counter = self.step_counter
        state["step_counter"] = counter if type(counter) is int else int(B.to_numpy(counter))
        return state

    def set_state(self, state: dict[str, Any], params) -> None:
        inner_state = {k: v for k, v in state.items() if k not in _OWN}
        self.inner_optimizer.set_state(inner_state, params)
        if "dynamic_scale" in state:
            object.__setattr__(self, "dynamic_scale", float(state["dynamic_scale"]))
        if "step_counter" in state:
            object.__setattr__(self, "step_counter", int(state["step_counter"]))

    def __repr__(self) -> str:
        return (
            f"LossScaleOptimizer({self.inner_optimizer!r}, initial_scale={self.initial_scale}, "
            f"dynamic_growth_steps={self.dynamic_growth_steps})"
        )
