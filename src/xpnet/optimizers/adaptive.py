"""Per-weight adaptive step sizes from squared gradients: RMSprop, Adagrad, Adadelta (Keras 3)."""

from __future__ import annotations

from xpnet import _checks
from xpnet import backend as B
from xpnet.optimizers.base import Optimizer, check_epsilon_placement, register

__all__ = ["Adadelta", "Adagrad", "RMSprop"]


@register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): divide the gradient by a running RMS of recent gradients.

    With running averages ``v`` (of g²) and, if centered, ``a`` (of g)::

        v <- rho * v + (1 - rho) * g**2
        a <- rho * a + (1 - rho) * g                       (centered only)
        step = lr * g / sqrt(v - a**2 + epsilon)           (centered; else sqrt(v + epsilon))
        w <- w - step                                      (momentum = 0)
        u <- momentum * u + step;  w <- w - u              (momentum > 0)

    Keras (and xpnet by default) add ``epsilon`` inside the square root. With
    ``epsilon_placement="textbook"`` it is added outside, ``lr * g / (sqrt(v) +
    epsilon)`` (centered: ``sqrt(v - a**2) + epsilon``), as the course notes and
    ``torch.optim.RMSprop`` write it.

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: discount of the running averages, in [0, 1] (default 0.9).
        momentum: in [0, 1] (default 0).
        epsilon: positive, keeps the denominator away from zero (default 1e-7).
        centered: divide by the estimated variance instead of the second moment.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.
        epsilon_placement: ``"keras"`` (default) or ``"textbook"`` (see above).

    >>> import xpnet as xn
    >>> w = xn.Parameter([10.0])
    >>> opt = xn.optimizers.RMSprop(learning_rate=0.1)
    >>> opt.apply([w.data], [w])   # gradient of w**2 / 2
    >>> round(float(w.item()), 5)  # 10 - 0.1 * 10 / sqrt(0.1 * 100)
    9.68377
    """

    hyperparameters = ("rho", "momentum", "epsilon", "centered", "epsilon_placement")
    elementwise = True

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="rmsprop",
        epsilon_placement="keras",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.rho = _checks.fraction("RMSprop", "rho", rho)
        self.momentum = _checks.fraction("RMSprop", "momentum", momentum)
        self.epsilon = _checks.positive("RMSprop", "epsilon", epsilon)
        self.centered = _checks.boolean(type(self).__name__, "centered", centered)
        self.epsilon_placement = check_epsilon_placement("RMSprop", epsilon_placement)

    def init_state(self, var):
        state = {"velocity": self.zeros_like(var)}
        if self.momentum > 0:
            state["momentum"] = self.zeros_like(var)
        if self.centered:
            state["average_gradient"] = self.zeros_like(var)
        return state

    def update_step(self, grad, var, learning_rate):
        s, rho = self.slots(var), self.rho
        v = s.velocity
        self.assign(v, v.data * rho + (grad * grad) * (1.0 - rho))
        if self.centered:
            a = s.average_gradient
            self.assign(a, a.data * rho + grad * (1.0 - rho))
            denominator = v.data - a.data * a.data
        else:
            denominator = v.data
        xp = B.namespace(grad)
        if self.epsilon_placement == "textbook":  # torch: outside the square root
            root = xp.sqrt(denominator) + self.epsilon
        else:
            root = xp.sqrt(denominator + self.epsilon)
        increment = grad * learning_rate / root
        if self.momentum > 0:
            u = s.momentum
            self.assign(u, u.data * self.momentum + increment)
            self.assign_sub(var, u.data)
        else:
            self.assign_sub(var, increment)


@register("adagrad")
class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011): steps shrink with the sum of all past squared gradients.

    With accumulator ``acc`` (starting at ``initial_accumulator_value``)::

        acc <- acc + g**2
        w <- w - lr * g / sqrt(acc + epsilon)

    (``epsilon`` inside the square root, as Keras; torch adds it outside, and
    starts its accumulator at 0.)

    Args:
        learning_rate: float or schedule (default 0.001; the paper's form uses 1.0).
        initial_accumulator_value: the accumulator's start, >= 0 (default 0.1).
        epsilon: positive (default 1e-7).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0])
    >>> opt = xn.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.0)
    >>> opt.apply([xn.backend.asarray([2.0])], [w])
    >>> round(float(w.item()), 5)  # 1 - 0.1 * 2 / sqrt(4)
    0.9
    """

    hyperparameters = ("initial_accumulator_value", "epsilon")
    elementwise = True

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adagrad",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.initial_accumulator_value = _checks.non_negative(
            "Adagrad", "initial_accumulator_value", initial_accumulator_value
        )
        self.epsilon = _checks.positive("Adagrad", "epsilon", epsilon)

    def init_state(self, var):
        return {"accumulator": self.full_like(var, self.initial_accumulator_value)}

    def update_step(self, grad, var, learning_rate):
        acc = self.slots(var).accumulator
        self.assign_add(acc, grad * grad)
        root = B.namespace(grad).sqrt(acc.data + self.epsilon)
        self.assign_sub(var, grad * learning_rate / root)


@register("adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012): step sizes from running RMS of gradients and of past steps.

    With running averages ``Eg`` (of g²) and ``Ed`` (of squared steps)::

        Eg <- rho * Eg + (1 - rho) * g**2
        d = -sqrt(Ed + epsilon) / sqrt(Eg + epsilon) * g
        Ed <- rho * Ed + (1 - rho) * d**2
        w <- w + lr * d

    The paper has no learning rate (``learning_rate=1.0`` reproduces it);
    Keras's default is 0.001, torch's is 1.0.

    Args:
        learning_rate: float or schedule (default 0.001).
        rho: decay of the running averages, in [0, 1] (default 0.95).
        epsilon: positive (default 1e-7).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0])
    >>> opt = xn.optimizers.Adadelta(learning_rate=1.0, rho=0.0, epsilon=1e-6)
    >>> opt.apply([xn.backend.asarray([2.0])], [w])
    >>> round(float(w.item()), 6)  # 1 - sqrt(1e-6) / sqrt(4 + 1e-6) * 2
    0.999
    """

    hyperparameters = ("rho", "epsilon")
    elementwise = True

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.95,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adadelta",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.rho = _checks.fraction("Adadelta", "rho", rho)
        self.epsilon = _checks.positive("Adadelta", "epsilon", epsilon)

    def init_state(self, var):
        return {
            "accumulated_grad": self.zeros_like(var),
            "accumulated_delta_var": self.zeros_like(var),
        }

    def update_step(self, grad, var, learning_rate):
        s, rho, eps = self.slots(var), self.rho, self.epsilon
        xp = B.namespace(grad)
        eg, ed = s.accumulated_grad, s.accumulated_delta_var
        self.assign(eg, eg.data * rho + (grad * grad) * (1.0 - rho))
        delta = -(xp.sqrt(ed.data + eps) * grad) / xp.sqrt(eg.data + eps)
        self.assign(ed, ed.data * rho + (delta * delta) * (1.0 - rho))
        self.assign_add(var, delta * learning_rate)
