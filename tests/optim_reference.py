"""Keras 3's optimizer formulas, written out in float64 NumPy: the independent reference.

Each function takes (param, grad, state dict, t, lr, hyperparameters) and returns the
new param, updating ``state`` (a dict of float64 arrays) in place. ``KerasReference``
adds the base loop (clipping, decoupled weight decay, constraints) in Keras's order.
"""

from __future__ import annotations

import math

import numpy as np


def _zeros(state, w, *names, value=0.0):
    for n in names:
        state.setdefault(n, np.full_like(w, value))


def sgd(w, g, s, t, lr, momentum=0.0, nesterov=False):
    if momentum == 0:
        return w - lr * g
    _zeros(s, w, "m")
    s["m"] = momentum * s["m"] - lr * g
    return w + (momentum * s["m"] - lr * g if nesterov else s["m"])


def rmsprop(
    w, g, s, t, lr, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, epsilon_placement="keras"
):
    _zeros(s, w, "v", "mg", "mom")
    s["v"] = rho * s["v"] + (1 - rho) * g**2
    if centered:
        s["mg"] = rho * s["mg"] + (1 - rho) * g
        var = s["v"] - s["mg"] ** 2
    else:
        var = s["v"]
    if epsilon_placement == "textbook":
        inc = lr * g / (np.sqrt(var) + epsilon)
    else:
        inc = lr * g / np.sqrt(var + epsilon)
    if momentum > 0:
        s["mom"] = momentum * s["mom"] + inc
        return w - s["mom"]
    return w - inc


def adam(
    w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, epsilon_placement="keras"
):
    _zeros(s, w, "m", "v", "vhat")
    s["m"] = s["m"] + (g - s["m"]) * (1 - beta_1)
    s["v"] = s["v"] + (g**2 - s["v"]) * (1 - beta_2)
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    v = s["v"]
    if amsgrad:
        s["vhat"] = np.maximum(s["vhat"], s["v"])
        v = s["vhat"]
    if epsilon_placement == "textbook":  # the course notes' m_hat / (sqrt(v_hat) + eps)
        m_hat, v_hat = s["m"] / (1 - beta_1**t), v / (1 - beta_2**t)
        return w - lr * m_hat / (np.sqrt(v_hat) + epsilon)
    return w - s["m"] * alpha / (np.sqrt(v) + epsilon)


def adagrad(w, g, s, t, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    _zeros(s, w, "acc", value=initial_accumulator_value)
    s["acc"] = s["acc"] + g**2
    return w - lr * g / np.sqrt(s["acc"] + epsilon)


def adadelta(w, g, s, t, lr, rho=0.95, epsilon=1e-7):
    _zeros(s, w, "ag", "ad")
    s["ag"] = rho * s["ag"] + (1 - rho) * g**2
    delta = -np.sqrt(s["ad"] + epsilon) * g / np.sqrt(s["ag"] + epsilon)
    s["ad"] = rho * s["ad"] + (1 - rho) * delta**2
    return w + lr * delta


def adamax(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, epsilon_placement="keras"):
    _zeros(s, w, "m", "u")
    s["m"] = s["m"] + (g - s["m"]) * (1 - beta_1)
    if epsilon_placement == "textbook":  # torch's: inside the maximum
        s["u"] = np.maximum(beta_2 * s["u"], np.abs(g) + epsilon)
        return w - lr * s["m"] / ((1 - beta_1**t) * s["u"])
    s["u"] = np.maximum(beta_2 * s["u"], np.abs(g))
    return w - lr * s["m"] / ((1 - beta_1**t) * (s["u"] + epsilon))


def nadam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, epsilon_placement="keras"):
    # Keras's Nadam adds epsilon to sqrt(v_hat) already: both placements are this step
    _zeros(s, w, "m", "v")
    u_t = beta_1 * (1 - 0.5 * 0.96**t)
    u_t1 = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    prod = math.prod(beta_1 * (1 - 0.5 * 0.96**i) for i in range(1, t + 1))
    prod_next = prod * u_t1
    s["m"] = s["m"] + (g - s["m"]) * (1 - beta_1)
    s["v"] = s["v"] + (g**2 - s["v"]) * (1 - beta_2)
    m_hat = u_t1 * s["m"] / (1 - prod_next) + (1 - u_t) * g / (1 - prod)
    v_hat = s["v"] / (1 - beta_2**t)
    return w - m_hat * lr / (np.sqrt(v_hat) + epsilon)


def lion(w, g, s, t, lr, beta_1=0.9, beta_2=0.99):
    _zeros(s, w, "m")
    w = w - lr * np.sign(s["m"] * beta_1 + g * (1 - beta_1))
    s["m"] = s["m"] * beta_2 + g * (1 - beta_2)
    return w


def lamb(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    _zeros(s, w, "m", "v")
    s["m"] = s["m"] + (g - s["m"]) * (1 - beta_1)
    s["v"] = s["v"] + (g**2 - s["v"]) * (1 - beta_2)
    step = (s["m"] / (1 - beta_1**t)) / (np.sqrt(s["v"] / (1 - beta_2**t)) + epsilon)
    w_norm, s_norm = np.linalg.norm(w), np.linalg.norm(step)
    ratio = w_norm / s_norm if w_norm > 0 and s_norm > 0 else 1.0
    return w - lr * ratio * step


def adafactor(w, g, s, t, lr, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
              clip_threshold=1.0, relative_step=True):  # fmt: skip
    rho = min(lr, 1 / math.sqrt(t))
    alpha = max(epsilon_2, np.sqrt(np.mean(w**2))) * rho
    g2 = g**2 + epsilon_1
    beta = 1 - t**beta_2_decay
    if w.ndim >= 2:
        s.setdefault("r", np.zeros(w.shape[:-1]))
        s.setdefault("c", np.zeros(w.shape[:-2] + w.shape[-1:]))
        s["r"] = beta * s["r"] + (1 - beta) * g2.mean(axis=-1)
        s["c"] = beta * s["c"] + (1 - beta) * g2.mean(axis=-2)
        v = (s["r"] / s["r"].mean(axis=-1, keepdims=True))[..., None] * s["c"][..., None, :]
    else:
        _zeros(s, w, "v")
        s["v"] = beta * s["v"] + (1 - beta) * g2
        v = s["v"]
    u = g / np.sqrt(v)
    return w - alpha * u / max(1.0, np.sqrt(np.mean(u**2)) / clip_threshold)


def ftrl(w, g, s, t, lr, learning_rate_power=-0.5, initial_accumulator_value=0.1,
         l1_regularization_strength=0.0, l2_regularization_strength=0.0,
         l2_shrinkage_regularization_strength=0.0, beta=0.0):  # fmt: skip
    _zeros(s, w, "n", value=initial_accumulator_value)
    _zeros(s, w, "z")
    p = -learning_rate_power
    l1 = l1_regularization_strength
    l2 = l2_regularization_strength + beta / (2 * lr)
    n_new = s["n"] + g**2
    s["z"] = s["z"] + g + 2 * l2_shrinkage_regularization_strength * w
    s["z"] = s["z"] - (n_new**p - s["n"] ** p) / lr * w
    s["n"] = n_new
    return (np.clip(s["z"], -l1, l1) - s["z"]) / (n_new**p / lr + 2 * l2)


UPDATES = {
    "lamb": lamb,
    "adafactor": adafactor,
    "ftrl": ftrl,
    "sgd": sgd,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adam,
    "adagrad": adagrad,
    "adadelta": adadelta,
    "adamax": adamax,
    "nadam": nadam,
    "lion": lion,
}


class KerasReference:
    """Keras 3's step loop on float64 NumPy arrays."""

    def __init__(self, name: str, **config):
        self.update = UPDATES[name]
        self.lr = config.pop("learning_rate")
        self.wd = config.pop("weight_decay", 0.004 if name == "adamw" else None)
        self.clipnorm = config.pop("clipnorm", None)
        self.clipvalue = config.pop("clipvalue", None)
        self.global_clipnorm = config.pop("global_clipnorm", None)
        self.hyper = config
        self.states: list[dict] = []
        self.t = 0

    def lr_at(self, step):
        return self.lr(step) if callable(self.lr) else self.lr

    def step(self, params, grads, constraints=None):
        grads = [np.asarray(g, np.float64) for g in grads]
        if self.clipnorm:
            grads = [g * self.clipnorm / max(np.sqrt(np.sum(g**2)), self.clipnorm) for g in grads]
        elif self.global_clipnorm:
            norm = np.sqrt(sum(np.sum(g**2) for g in grads))
            grads = [g * self.global_clipnorm / max(norm, self.global_clipnorm) for g in grads]
        elif self.clipvalue:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        lr = self.lr_at(self.t)
        while len(self.states) < len(params):
            self.states.append({})
        out = []
        for w, g, s in zip(params, grads, self.states):
            w = np.asarray(w, np.float64)
            if self.wd:
                w = w - w * self.wd * lr
            out.append(self.update(w, g, s, self.t + 1, lr, **self.hyper))
        self.t += 1
        if constraints:
            out = [c(w) if c is not None else w for w, c in zip(out, constraints)]
        return out


def max_norm(w, max_value, axis=0):
    """Keras's MaxNorm in NumPy."""
    norms = np.sqrt(np.sum(w**2, axis=axis, keepdims=True))
    return w * (np.clip(norms, 0, max_value) / (1e-7 + norms))


def non_neg(w):
    return np.maximum(w, 0.0)


def relative_error(ours, ref) -> float:
    """max |ours - ref| / max |ref| (as the reference suite measures)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape, f"shapes differ: {ours.shape} vs {ref.shape}"
    return float(np.max(np.abs(ours - ref)) / max(np.max(np.abs(ref)), 1e-30))


class LeastSquares:
    """mean((X W + b - Y)**2) on fixed data; grads in float64 by hand."""

    def __init__(self, seed=0, n=32, d=5, k=2):
        rng = np.random.default_rng(seed)
        self.X = rng.standard_normal((n, d))
        true_w = rng.standard_normal((d, k))
        self.Y = self.X @ true_w + 0.1 * rng.standard_normal((n, k))
        self.init = [0.5 * rng.standard_normal((d, k)), 0.1 * rng.standard_normal(k)]

    def loss(self, w, b):
        """xpnet Tensors in, scalar Tensor out (same formula as grads)."""
        r = self.X_t @ w + b - self.Y_t
        return (r * r).mean()

    def bind(self, xn):
        self.X_t = xn.Tensor(self.X, dtype="float32")
        self.Y_t = xn.Tensor(self.Y, dtype="float32")
        return self

    def grads(self, w, b):
        r = self.X @ w + b - self.Y
        scale = 2.0 / r.size
        return [scale * self.X.T @ r, scale * r.sum(axis=0)]


class Logistic:
    """mean(log(1 + exp(-y z))), z = X w + b, labels y in {-1, +1}."""

    def __init__(self, seed=1, n=64, d=4):
        rng = np.random.default_rng(seed)
        self.X = rng.standard_normal((n, d))
        w = rng.standard_normal((d, 1))
        self.y = np.where(self.X @ w + 0.3 * rng.standard_normal((n, 1)) > 0, 1.0, -1.0)
        self.init = [0.1 * rng.standard_normal((d, 1)), np.zeros(1)]

    def bind(self, xn):
        self.X_t = xn.Tensor(self.X, dtype="float32")
        self.y_t = xn.Tensor(self.y, dtype="float32")
        return self

    def loss(self, w, b):
        z = (self.X_t @ w + b) * self.y_t
        return (1.0 + (-z).exp()).log().mean()
