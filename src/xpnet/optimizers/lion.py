"""Lion: sign momentum (Chen et al., 2023), as Keras 3 implements it."""

from __future__ import annotations

from xpnet import _checks
from xpnet import backend as B
from xpnet.optimizers.base import Optimizer, register

__all__ = ["Lion"]


@register("lion")
class Lion(Optimizer):
    """Lion (EvoLved Sign Momentum): every step moves each weight by exactly ``lr``.

    With momentum ``m`` (starting at 0)::

        w <- w - lr * sign(beta_1 * m + (1 - beta_1) * g)
        m <- beta_2 * m + (1 - beta_2) * g

    The update has a larger norm than Adam's, so Lion wants a 3-10x smaller
    learning rate (and a correspondingly larger weight decay).

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: in (0, 1], mixes momentum and gradient for the update (default 0.9).
        beta_2: in [0, 1), decay of the momentum (default 0.99).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0, 1.0])
    >>> opt = xn.optimizers.Lion(learning_rate=0.1)
    >>> opt.apply([xn.backend.asarray([3.0, -0.001])], [w])
    >>> [round(float(x), 5) for x in xn.to_numpy(w)]
    [0.9, 1.1]
    """

    hyperparameters = ("beta_1", "beta_2")
    elementwise = True

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.99,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="lion",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        # beta_1 = 0 would make Lion plain signSGD, which Keras refuses too
        self.beta_1 = _checks.number("Lion", "beta_1", beta_1, "a number in (0, 1]", _open_unit)
        self.beta_2 = _checks.fraction("Lion", "beta_2", beta_2, closed=False)

    def init_state(self, var):
        return {"momentum": self.zeros_like(var)}

    def update_step(self, grad, var, learning_rate):
        m = self.slots(var).momentum
        b1, b2 = self.beta_1, self.beta_2
        direction = B.namespace(grad).sign(m.data * b1 + grad * (1.0 - b1))
        self.assign_sub(var, direction * learning_rate)
        self.assign(m, m.data * b2 + grad * (1.0 - b2))


def _open_unit(v: float) -> bool:
    return 0 < v <= 1
