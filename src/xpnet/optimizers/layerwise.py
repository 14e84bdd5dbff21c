"""Optimizers whose step reads a whole parameter (its norm or its row and column means):
Lamb and Adafactor, as Keras 3 defines them. Neither is elementwise, so neither runs
in the fused flat step: each parameter gets its own ``update_step``."""

from __future__ import annotations

from xpnet import _checks
from xpnet import backend as B
from xpnet.optimizers.adam import _betas_epsilon
from xpnet.optimizers.base import Optimizer, register

__all__ = ["Adafactor", "Lamb"]


def _array(xp, value, like):
    """A Python number as a 0-d array of ``like``'s dtype and device (arrays pass)."""
    if isinstance(value, (int, float)):
        return xp.asarray(value, dtype=like.dtype, device=B.device_of(like))
    return value


def _norm(xp, a):
    return xp.sqrt(xp.sum(a * a))


@register("lamb")
class Lamb(Optimizer):
    """LAMB (You et al., 2019): Adam's bias-corrected step rescaled per parameter by the
    trust ratio ``||w|| / ||step||``.

    At step ``t``, with moments ``m`` and ``v`` starting at 0::

        m <- m + (g - m) * (1 - beta_1);   v <- v + (g**2 - v) * (1 - beta_2)
        step = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
        ratio = ||w|| / ||step||  (1 where either norm is 0)
        w <- w - lr * ratio * step

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1, beta_2: moment decays in [0, 1) (defaults 0.9, 0.999).
        epsilon: positive (default 1e-7).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([3.0, 4.0])
    >>> xn.optimizers.Lamb(learning_rate=0.1).apply([xn.backend.asarray([1.0, -1.0])], [w])
    >>> [round(float(x), 4) for x in xn.to_numpy(w)]  # the step has w's norm, 5: lr * 5 / sqrt(2)
    [2.6464, 4.3536]
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon")
    elementwise = False  # the trust ratio reads the whole parameter

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="lamb",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        _betas_epsilon(self, beta_1, beta_2, epsilon)

    def init_state(self, var):
        return {"momentum": self.zeros_like(var), "velocity": self.zeros_like(var)}

    def update_step(self, grad, var, learning_rate):
        s, b1, b2 = self.slots(var), self.beta_1, self.beta_2
        xp = B.namespace(grad)
        t = self.iterations + 1
        m = s.momentum.data + (grad - s.momentum.data) * (1.0 - b1)
        v = s.velocity.data + (grad * grad - s.velocity.data) * (1.0 - b2)
        self.assign(s.momentum, m)
        self.assign(s.velocity, v)
        step = (m / (1.0 - b1**t)) / (xp.sqrt(v / (1.0 - b2**t)) + self.epsilon)
        w_norm, s_norm = _norm(xp, var.data), _norm(xp, step)
        one = xp.ones_like(w_norm)
        both = (w_norm > 0) & (s_norm > 0)
        ratio = xp.where(both, w_norm / xp.where(s_norm > 0, s_norm, one), one)
        self.assign_sub(var, step * (ratio * learning_rate))


@register("adafactor")
class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018), as Keras 3 writes it: second moments kept
    factored (row and column means) for parameters of rank >= 2, a relative step size,
    and update clipping.

    At step ``t``, with ``g2 = g**2 + epsilon_1`` and ``beta = 1 - t**beta_2_decay``::

        rho = min(lr, 1 / sqrt(t));   alpha = max(epsilon_2, rms(w)) * rho
        rank >= 2:  r <- beta r + (1 - beta) mean(g2, -1);  c <- beta c + (1 - beta) mean(g2, -2)
                    v = (r / mean(r, -1))[..., None] * c[..., None, :]
        rank < 2:   v <- beta v + (1 - beta) g2
        u = g / sqrt(v);   w <- w - alpha * u / max(1, rms(u) / clip_threshold)

    Args:
        learning_rate: float or schedule (default 0.001; the step uses at most
            1 / sqrt(t)).
        beta_2_decay: the exponent of the second-moment decay (default -0.8).
        epsilon_1: added to squared gradients (default 1e-30).
        epsilon_2: the smallest parameter scale (default 1e-3).
        clip_threshold: the largest RMS of an update before scaling (default 1.0).
        relative_step: accepted as in Keras (its step is min(lr, 1 / sqrt(t)) either way).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import numpy as np, xpnet as xn
    >>> w = xn.Parameter(np.ones((2, 3), dtype="float32"))
    >>> xn.optimizers.Adafactor(learning_rate=0.1).apply([np.ones((2, 3), "float32")], [w])
    >>> round(float(xn.to_numpy(w)[0, 0]), 4)  # 1 - 0.1 * rms(w) * g / sqrt(v)
    0.9
    """

    hyperparameters = ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold", "relative_step")
    elementwise = False  # factored moments and RMS clipping read the whole parameter

    def __init__(
        self,
        learning_rate=0.001,
        beta_2_decay=-0.8,
        epsilon_1=1e-30,
        epsilon_2=1e-3,
        clip_threshold=1.0,
        relative_step=True,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adafactor",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        owner = "Adafactor"
        self.beta_2_decay = _checks.number(
            owner, "beta_2_decay", beta_2_decay, "a negative number", lambda v: v < 0
        )
        self.epsilon_1 = _checks.non_negative(owner, "epsilon_1", epsilon_1)
        self.epsilon_2 = _checks.non_negative(owner, "epsilon_2", epsilon_2)
        self.clip_threshold = _checks.positive(owner, "clip_threshold", clip_threshold)
        self.relative_step = _checks.boolean(owner, "relative_step", relative_step)

    def init_state(self, var):
        shape = tuple(var.data.shape)
        if len(shape) < 2:
            return {"velocity": self.zeros_like(var)}
        xp, dev = B.namespace(var.data), B.device_of(var.data)
        row = xp.zeros(shape[:-1], dtype=var.data.dtype, device=dev)
        col = xp.zeros((*shape[:-2], shape[-1]), dtype=var.data.dtype, device=dev)
        return {"row": row, "col": col}

    def update_step(self, grad, var, learning_rate):
        s = self.slots(var)
        xp, w = B.namespace(grad), var.data
        t = self.iterations + 1
        inv_sqrt_t = t**-0.5
        if isinstance(learning_rate, (int, float)) and isinstance(inv_sqrt_t, (int, float)):
            rho = min(learning_rate, inv_sqrt_t)
        else:
            rho = xp.minimum(_array(xp, learning_rate, w), _array(xp, inv_sqrt_t, w))
        alpha = xp.clip(xp.sqrt(xp.mean(w * w)), min=self.epsilon_2) * rho
        g2 = grad * grad + self.epsilon_1
        beta = 1.0 - t**self.beta_2_decay
        if w.ndim >= 2:
            r = s.row.data * beta + xp.mean(g2, axis=-1) * (1.0 - beta)
            c = s.col.data * beta + xp.mean(g2, axis=-2) * (1.0 - beta)
            self.assign(s.row, r)
            self.assign(s.col, c)
            v = xp.expand_dims(r / xp.mean(r, axis=-1, keepdims=True), axis=-1)
            v = v * xp.expand_dims(c, axis=-2)
        else:
            v = s.velocity.data * beta + g2 * (1.0 - beta)
            self.assign(s.velocity, v)
        u = grad / xp.sqrt(v)
        scale = xp.clip(xp.sqrt(xp.mean(u * u)) / self.clip_threshold, min=1.0)
        self.assign_sub(var, u * (alpha / scale))
