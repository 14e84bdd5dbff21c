"""FTRL-Proximal (McMahan et al., 2013), as Keras 3 defines it."""

from __future__ import annotations

from xpnet import _checks
from xpnet import backend as B
from xpnet.optimizers.base import Optimizer, register

__all__ = ["Ftrl"]


@register("ftrl")
class Ftrl(Optimizer):
    """Follow The Regularized Leader, with L1, L2 and L2-shrinkage terms.

    With accumulator ``n`` (starting at ``initial_accumulator_value``), linear term
    ``z`` (starting at 0), ``p = -learning_rate_power`` and
    ``l2 = l2_regularization_strength + beta / (2 lr)``::

        n_new = n + g**2
        z <- z + (g + 2 * l2_shrinkage * w) - (n_new**p - n**p) / lr * w
        w <- (clip(z, -l1, l1) - z) / (n_new**p / lr + 2 * l2)
        n <- n_new

    Every element is updated on its own (``elementwise``: the fused flat step applies).

    Args:
        learning_rate: float or schedule (default 0.001).
        learning_rate_power: <= 0 (default -0.5).
        initial_accumulator_value: >= 0 (default 0.1).
        l1_regularization_strength, l2_regularization_strength,
        l2_shrinkage_regularization_strength: >= 0 (default 0).
        beta: added to the L2 term as ``beta / (2 lr)`` (default 0).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([0.0])
    >>> xn.optimizers.Ftrl(learning_rate=0.1, initial_accumulator_value=0.0).apply(
    ...     [xn.backend.asarray([2.0])], [w])
    >>> round(float(w.item()), 5)  # z = 2, n = 4: w = -z / (sqrt(n) / lr)
    -0.1
    """

    hyperparameters = (
        "learning_rate_power",
        "initial_accumulator_value",
        "l1_regularization_strength",
        "l2_regularization_strength",
        "l2_shrinkage_regularization_strength",
        "beta",
    )
    elementwise = True

    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="ftrl",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        owner = "Ftrl"
        self.learning_rate_power = _checks.number(
            owner, "learning_rate_power", learning_rate_power, "a number <= 0", lambda v: v <= 0
        )
        self.initial_accumulator_value = _checks.non_negative(
            owner, "initial_accumulator_value", initial_accumulator_value
        )
        self.l1_regularization_strength = _checks.non_negative(
            owner, "l1_regularization_strength", l1_regularization_strength
        )
        self.l2_regularization_strength = _checks.non_negative(
            owner, "l2_regularization_strength", l2_regularization_strength
        )
        self.l2_shrinkage_regularization_strength = _checks.non_negative(
            owner, "l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength
        )
        self.beta = _checks.non_negative(owner, "beta", beta)

    def init_state(self, var):
        return {
            "accumulator": self.full_like(var, self.initial_accumulator_value),
            "linear": self.zeros_like(var),
        }

    def update_step(self, grad, var, learning_rate):
        s = self.slots(var)
        xp, w = B.namespace(grad), var.data
        p = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        n_old = s.accumulator.data
        n_new = n_old + grad * grad
        shrunk = grad + w * (2.0 * self.l2_shrinkage_regularization_strength)
        z = s.linear.data + shrunk - (n_new**p - n_old**p) / learning_rate * w
        self.assign(s.linear, z)
        quadratic = n_new**p / learning_rate + 2.0 * l2
        self.assign(var, (xp.clip(z, min=-l1, max=l1) - z) / quadratic)
        self.assign(s.accumulator, n_new)
