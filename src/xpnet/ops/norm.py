"""The fused normalization primitive that BatchNormalization (training),
LayerNormalization and GroupNormalization share: :class:`Standardize`, whose
backward is the closed form of the normalization gradient and which keeps no
full-size intermediate for it; :func:`standardize_composite`, the same from
elementary ops, is the reference the tests compare it with.
"""

from __future__ import annotations

from collections.abc import Sequence

from xpnet.ops import elementwise, reduce
from xpnet.ops._common import as_tensor
from xpnet.tensor import Function

__all__ = ["Standardize", "moments", "standardize", "standardize_composite"]


def moments(xp, x, axes: tuple[int, ...]):
    """Mean and (biased) variance of array ``x`` over ``axes``, with kept dimensions."""
    return xp.mean(x, axis=axes, keepdims=True), xp.var(x, axis=axes, keepdims=True)


def _fits(v, shape) -> bool:
    """Whether ``v`` (None or an array) broadcasts into ``shape`` without growing it."""
    if v is None:
        return True
    vs = tuple(v.shape)
    if len(vs) > len(shape):
        return False
    return all(a in (1, b) for a, b in zip(vs[::-1], shape[::-1]))


class Standardize(Function):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` over ``axes``.

    ``mean`` and ``var`` must be the moments of ``x`` over ``axes`` (keepdims,
    from :func:`moments`); the backward accounts for their dependence on ``x``.
    ``gamma`` and ``beta`` (None to skip) broadcast against ``x``.

    Fused for memory and speed: the composite of elementary ops keeps about
    five arrays the size of ``x`` for its backward; this keeps none beyond ``x``
    itself (which the graph holds anyway) and the per-group statistics, and
    its backward is the closed form
    ``dx = inv * (g' - mean(g') - xhat * mean(g' * xhat))`` with ``g' = g * gamma``.
    """

    def forward(self, x, gamma=None, beta=None, mean=None, var=None, axes=(), epsilon=1e-3):
        xp = self.xp
        inv = 1.0 / xp.sqrt(var + epsilon)
        self.x, self.gamma, self.mean, self.inv, self.axes = x, gamma, mean, inv, axes
        stat = tuple(inv.shape)
        if _fits(gamma, stat) and _fits(beta, stat):
            # per-channel statistics (BatchNormalization): fold everything into one
            # scale and one shift, two passes over x
            scale = inv if gamma is None else inv * gamma
            shift = -mean * scale if beta is None else beta - mean * scale
            return x * scale + shift
        y = (x - mean) * inv
        if gamma is not None:
            y = y * gamma
        return y if beta is None else y + beta

    def backward(self, g):
        xp = self.xp
        xhat = (self.x - self.mean) * self.inv
        gx = None
        if self.needs[0]:
            gg = g if self.gamma is None else g * self.gamma
            m_g = xp.mean(gg, axis=self.axes, keepdims=True)
            m_gx = xp.mean(gg * xhat, axis=self.axes, keepdims=True)
            gx = (gg - m_g - xhat * m_gx) * self.inv
        ggamma = g * xhat if self.needs[1] else None
        gbeta = g if self.needs[2] else None
        return gx, ggamma, gbeta


def standardize(x, gamma=None, beta=None, axes: Sequence[int] = (-1,), epsilon: float = 1e-3):
    """Standardize Tensor ``x`` over ``axes`` and apply ``gamma``, ``beta`` (fused).

    >>> import xpnet as xn
    >>> from xpnet.ops.norm import standardize
    >>> y = standardize(xn.Tensor([[1.0, 3.0], [2.0, 6.0]]), axes=(1,), epsilon=0.0)
    >>> xn.to_numpy(y).tolist()
    [[-1.0, 1.0], [-1.0, 1.0]]
    """
    x = as_tensor(x)
    axes = tuple(a % x.ndim for a in axes)
    mean, var = moments(x.xp, x.data, axes)
    return Standardize.apply(x, gamma, beta, mean=mean, var=var, axes=axes, epsilon=epsilon)


def standardize_composite(x, gamma=None, beta=None, axes=(-1,), epsilon: float = 1e-3):
    """The same as :func:`standardize` built from elementary ops (the tests' reference)."""
    x = as_tensor(x)
    axes = tuple(a % x.ndim for a in axes)
    centered = x - reduce.mean(x, axes, keepdims=True)
    y = centered / elementwise.sqrt(reduce.mean(centered * centered, axes, keepdims=True) + epsilon)
    if gamma is not None:
        y = y * gamma
    return y if beta is None else y + beta
