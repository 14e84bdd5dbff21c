"""Stochastic gradient descent, with momentum and Nesterov momentum (Keras 3's SGD)."""

from __future__ import annotations

from xpnet import _checks
from xpnet.optimizers.base import Optimizer, register

__all__ = ["SGD"]


@register("sgd")
class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum.

    Without momentum: ``w <- w - lr * g``. With momentum (velocity ``v``, starting at 0)::

        v <- momentum * v - lr * g
        w <- w + v                              (nesterov=False)
        w <- w + momentum * v - lr * g          (nesterov=True)

    Args:
        learning_rate: float or schedule (default 0.01).
        momentum: in [0, 1] (default 0: plain gradient descent).
        nesterov: use Nesterov momentum.
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0])
    >>> opt = xn.optimizers.SGD(learning_rate=0.5, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.apply([xn.backend.asarray([1.0])], [w])
    >>> round(float(w.item()), 4)  # 1 - 0.5 - (0.9 * 0.5 + 0.5)
    -0.45
    """

    hyperparameters = ("momentum", "nesterov")
    elementwise = True

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="SGD",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        self.momentum = _checks.fraction("SGD", "momentum", momentum)
        self.nesterov = _checks.boolean(type(self).__name__, "nesterov", nesterov)

    def init_state(self, var):
        return {"momentum": self.zeros_like(var)} if self.momentum != 0 else {}

    def update_step(self, grad, var, learning_rate):
        if self.momentum == 0:
            self.assign_sub(var, grad * learning_rate)
            return
        m = self.slots(var).momentum
        self.assign(m, m.data * self.momentum - grad * learning_rate)
        if self.nesterov:
            self.assign_add(var, m.data * self.momentum - grad * learning_rate)
        else:
            self.assign_add(var, m.data)
