"""Adam and its relatives: AdamW, Adamax, Nadam (Keras 3's formulas and defaults)."""

from __future__ import annotations

from xpnet import _checks
from xpnet import backend as B
from xpnet.optimizers.base import Optimizer, check_epsilon_placement, register

__all__ = ["Adam", "AdamW", "Adamax", "Nadam"]


_NO_PLACEMENT = object()  # an optimizer without an epsilon_placement argument (Lamb)


def _betas_epsilon(opt: Optimizer, beta_1, beta_2, epsilon, placement=_NO_PLACEMENT) -> None:
    """Validated ``beta_1``, ``beta_2``, ``epsilon`` (and ``epsilon_placement`` where
    the optimizer takes one) set on ``opt``."""
    owner = type(opt).__name__
    opt.beta_1 = _checks.fraction(owner, "beta_1", beta_1, closed=False)
    opt.beta_2 = _checks.fraction(owner, "beta_2", beta_2, closed=False)
    opt.epsilon = _checks.positive(owner, "epsilon", epsilon)
    if placement is not _NO_PLACEMENT:
        opt.epsilon_placement = check_epsilon_placement(owner, placement)


@register("adam")
class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014): momentum and RMS scaling, both bias-corrected.

    At step ``t`` (1, 2, ...), with moments ``m`` and ``v`` starting at 0, in
    the paper's efficient form (end of its Section 2)::

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g**2
        lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w <- w - lr_t * m / (sqrt(v) + epsilon)

    (The code writes the moments as ``m += (g - m) * (1 - beta_1)``, the same
    update stored in place.) ``epsilon`` is there the paper's "epsilon hat", as in
    Keras. With ``epsilon_placement="textbook"`` it is added to the bias-corrected
    root instead, as the paper's Algorithm 1, the course notes and ``torch.optim.Adam``
    write it::

        m_hat = m / (1 - beta_1**t);  v_hat = v / (1 - beta_2**t)
        w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)

    The two agree when epsilon is negligible next to ``sqrt(v)``; they differ for
    gradients around 1e-6 and below. With ``amsgrad``, ``v`` is replaced by its
    running maximum.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: decay of the first moment, in [0, 1) (default 0.9).
        beta_2: decay of the second moment, in [0, 1) (default 0.999).
        epsilon: positive (default 1e-7).
        amsgrad: use the AMSGrad variant (Reddi et al., 2018).
        epsilon_placement: ``"keras"`` (default) or ``"textbook"`` (see above).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0, 1.0])
    >>> opt = xn.optimizers.Adam(learning_rate=0.1)
    >>> opt.apply([xn.backend.asarray([0.5, -20.0])], [w])
    >>> [round(float(x), 5) for x in xn.to_numpy(w)]  # step 1: lr per weight
    [0.9, 1.1]
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon", "amsgrad", "epsilon_placement")
    elementwise = True

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adam",
        epsilon_placement="keras",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        _betas_epsilon(self, beta_1, beta_2, epsilon, epsilon_placement)
        self.amsgrad = _checks.boolean(type(self).__name__, "amsgrad", amsgrad)

    def init_state(self, var):
        state = {"momentum": self.zeros_like(var), "velocity": self.zeros_like(var)}
        if self.amsgrad:
            state["velocity_hat"] = self.zeros_like(var)
        return state

    def update_step(self, grad, var, learning_rate):
        s, b1, b2 = self.slots(var), self.beta_1, self.beta_2
        t = self.iterations + 1
        # ** 0.5, not math.sqrt: t is a traced scalar inside a compiled step (jit_compile)
        lr_t = learning_rate * (1.0 - b2**t) ** 0.5 / (1.0 - b1**t)
        # m and v scale in place where the optimizer writes in place, and every
        # temporary lives in one scratch array kept across steps: the textbook
        # expressions allocate nine weight-sized arrays per step, and the allocation
        # churn (page faults) cost more than the math. Elsewhere: four new arrays.
        work = self.scratch(var)
        m, v = self.scaled(s.momentum, b1), self.scaled(s.velocity, b2)
        m += B.multiply_into(work, grad, 1.0 - b1)
        sq = B.multiply_into(work, grad, grad)
        sq *= 1.0 - b2
        v += sq
        s.momentum.data, s.velocity.data = m, v
        if self.amsgrad:
            self.assign(s.velocity_hat, B.namespace(v).maximum(s.velocity_hat.data, v))
            v = s.velocity_hat.data
        denominator = B.sqrt_into(work, v)
        if self.epsilon_placement == "textbook":  # sqrt(v_hat) + eps; lr * m_hat / that
            denominator *= 1.0 / (1.0 - b2**t) ** 0.5
            lr_t = learning_rate / (1.0 - b1**t)
        denominator += self.epsilon
        update = B.divide_into(denominator, m, denominator)
        update *= lr_t
        self.assign_sub(var, update)


@register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Each step first shrinks the weights, ``w <- w - w * weight_decay * lr``, then
    takes the :class:`Adam` step; the decay never passes through the moments.
    The same as ``torch.optim.AdamW`` (up to Adam's epsilon placement).

    Args:
        learning_rate: float or schedule (default 0.001).
        weight_decay: required, >= 0 (default 0.004).
        beta_1, beta_2, epsilon, amsgrad, epsilon_placement: as :class:`Adam`.
        clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0])
    >>> opt = xn.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    >>> opt.apply([xn.backend.asarray([1.0])], [w])
    >>> round(float(w.item()), 5)  # 1 - 1 * 0.5 * 0.1 - 0.1
    0.85
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        name="adamw",
        epsilon_placement="keras",
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError(
                "AdamW: expected a finite number >= 0 for weight_decay. Received: "
                "weight_decay=None (use Adam for no weight decay)"
            )
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
            epsilon_placement=epsilon_placement,
            **kwargs,
        )


@register("adamax")
class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2014, Section 7.1): Adam with an infinity-norm second moment.

    With ``m`` and ``u`` starting at 0, at step ``t``::

        m <- beta_1 * m + (1 - beta_1) * g
        u <- max(beta_2 * u, |g|)
        w <- w - lr / (1 - beta_1**t) * m / (u + epsilon)

    The paper's Adamax has no epsilon. Keras adds it to ``u`` as above; with
    ``epsilon_placement="textbook"`` it goes where ``torch.optim.Adamax`` puts it,
    inside the maximum: ``u <- max(beta_2 * u, |g| + epsilon)``, ``w <- w - lr / (1 -
    beta_1**t) * m / u``.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: in [0, 1) (default 0.9).
        beta_2: in [0, 1) (default 0.999).
        epsilon: positive (default 1e-7).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.
        epsilon_placement: ``"keras"`` (default) or ``"textbook"`` (torch's; see above).

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0])
    >>> opt = xn.optimizers.Adamax(learning_rate=0.1)
    >>> opt.apply([xn.backend.asarray([-4.0])], [w])
    >>> round(float(w.item()), 5)
    1.1
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon", "epsilon_placement")
    elementwise = True

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
        name="adamax",
        epsilon_placement="keras",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        _betas_epsilon(self, beta_1, beta_2, epsilon, epsilon_placement)

    def init_state(self, var):
        return {"momentum": self.zeros_like(var), "norm": self.zeros_like(var)}

    def update_step(self, grad, var, learning_rate):
        s, b1 = self.slots(var), self.beta_1
        xp = B.namespace(grad)
        lr_t = learning_rate / (1.0 - b1 ** (self.iterations + 1))
        m, u = s.momentum, s.norm
        self.assign_add(m, (grad - m.data) * (1.0 - b1))
        if self.epsilon_placement == "textbook":  # torch: epsilon inside the maximum
            self.assign(u, xp.maximum(u.data * self.beta_2, xp.abs(grad) + self.epsilon))
            self.assign_sub(var, m.data * lr_t / u.data)
        else:
            self.assign(u, xp.maximum(u.data * self.beta_2, xp.abs(grad)))
            self.assign_sub(var, m.data * lr_t / (u.data + self.epsilon))


@register("nadam")
class Nadam(Optimizer):
    """Nadam (Dozat, 2016): Adam with Nesterov momentum and a momentum schedule.

    At step ``t``, with ``mu_t = beta_1 * (1 - 0.5 * 0.96**t)`` and
    ``P_t = mu_1 * ... * mu_t``::

        m <- beta_1 * m + (1 - beta_1) * g
        v <- beta_2 * v + (1 - beta_2) * g**2
        m_hat = mu_{t+1} * m / (1 - P_{t+1}) + (1 - mu_t) * g / (1 - P_t)
        v_hat = v / (1 - beta_2**t)
        w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)

    This is ``torch.optim.NAdam`` with ``momentum_decay=1.0`` (torch's default
    4e-3 stretches the schedule: ``0.96**(t * 0.004)``). Keras's Nadam already adds
    epsilon to the bias-corrected root, the textbook place, so both values of
    ``epsilon_placement`` (accepted for symmetry with :class:`Adam`) give this step.

    Args:
        learning_rate: float or schedule (default 0.001).
        beta_1: in [0, 1) (default 0.9).
        beta_2: in [0, 1) (default 0.999).
        epsilon: positive (default 1e-7).
        weight_decay, clipnorm, clipvalue, global_clipnorm, name: see
            :class:`~xpnet.optimizers.Optimizer`.
        epsilon_placement: ``"keras"`` (default) or ``"textbook"``: the same step here.

    >>> import xpnet as xn
    >>> w = xn.Parameter([1.0])
    >>> opt = xn.optimizers.Nadam(learning_rate=0.1)
    >>> opt.apply([xn.backend.asarray([2.0])], [w])
    >>> round(float(w.item()), 4)
    0.8937
    """

    hyperparameters = ("beta_1", "beta_2", "epsilon", "epsilon_placement")
    elementwise = True
    scalar_state = ("u_product",)

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
        name="nadam",
        epsilon_placement="keras",
        **kwargs,
    ):
        super().__init__(
            learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name, **kwargs
        )
        _betas_epsilon(self, beta_1, beta_2, epsilon, epsilon_placement)
        self.u_product = 1.0  # P_t, the product of the momentum schedule so far

    def _mu(self, t: int) -> float:
        return self.beta_1 * (1.0 - 0.5 * 0.96**t)

    def begin_step(self):
        self.u_product *= self._mu(self.iterations + 1)

    def init_state(self, var):
        return {"momentum": self.zeros_like(var), "velocity": self.zeros_like(var)}

    def update_step(self, grad, var, learning_rate):
        s, b1, b2 = self.slots(var), self.beta_1, self.beta_2
        t = self.iterations + 1
        mu_t, mu_next = self._mu(t), self._mu(t + 1)
        product, product_next = self.u_product, self.u_product * mu_next
        m, v = s.momentum, s.velocity
        self.assign_add(m, (grad - m.data) * (1.0 - b1))
        self.assign_add(v, (grad * grad - v.data) * (1.0 - b2))
        m_hat = m.data * (mu_next / (1.0 - product_next)) + grad * ((1.0 - mu_t) / (1.0 - product))
        v_hat = v.data * (1.0 / (1.0 - b2**t))
        denominator = B.namespace(grad).sqrt(v_hat) + self.epsilon
        self.assign_sub(var, m_hat * learning_rate / denominator)
