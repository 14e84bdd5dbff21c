"""Matrix products: ``matmul`` and Dense's fused ``linear`` (x @ W + b, optional ReLU)."""

from __future__ import annotations

from xpnet import backend as B
from xpnet.ops._common import as_tensor
from xpnet.ops.shape import reshape
from xpnet.tensor import Function, Tensor


class Matmul(Function):
    """``a @ b`` for arrays of rank >= 2 (leading axes broadcast as batch axes)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        xp = self.xp
        ga = g @ _mT(xp, self.b) if self.needs[0] else None
        gb = _mT(xp, self.a) @ g if self.needs[1] else None
        return ga, gb


class Linear(Function):
    # Fused for speed: x @ W + b (and an optional ReLU) in one node, and any leading
    # axes are folded into one batch axis so forward and backward are plain 2-D GEMMs
    # (no batched matmul). The bias is added into the GEMM's own fresh output.
    def forward(self, x, w, b=None, relu=False):
        xp = self.xp
        self.shape = x.shape
        x2 = x if x.ndim == 2 else xp.reshape(x, (-1, x.shape[-1]))
        self.x2, self.w, self.has_b = x2, w, b is not None
        y = x2 @ w
        if b is not None:
            y = B.add_into(y, b)
        self.relu_out = None
        if relu:
            self.relu_out = y = B.relu_into(y)  # our own GEMM output; backward's mask: y > 0
        return y if x.ndim == 2 else xp.reshape(y, (*x.shape[:-1], w.shape[-1]))

    def backward(self, g):
        xp = self.xp
        g2 = g if g.ndim == 2 else xp.reshape(g, (-1, g.shape[-1]))
        if self.relu_out is not None:  # 2-D, as g2
            g2 = B.relu_backward(self.relu_out, g2)
        gx = None
        if self.needs[0]:
            gx = g2 @ self.w.T
            if len(self.shape) != 2:
                gx = xp.reshape(gx, self.shape)
        # weight and bias gradients go straight into the engine's sinks where it has
        # them (fit: the fused optimizer step's flat gradient) and the backend writes
        # in place: the same GEMM and reduction, no new arrays, nothing copied later
        gw = B.matmul_into(self.sink(1), self.x2.T, g2) if self.needs[1] else None
        gb = None
        if self.has_b and self.needs[2]:
            gb = B.reduce_sum(g2, axis=0, out=self.sink(2))
        return gx, gw, gb


def _mT(xp, x):
    return x.T if x.ndim == 2 else xp.matrix_transpose(x)


def matmul(a, b) -> Tensor:
    """Matrix product ``a @ b``; 1-D operands are promoted as in the standard."""
    a, b = as_tensor(a), as_tensor(b)
    if a.ndim == 1 and b.ndim == 1:
        return (a * b).sum()
    if a.ndim == 1:
        return reshape(Matmul.apply(reshape(a, (1, -1)), b), b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:
        return reshape(Matmul.apply(a, reshape(b, (-1, 1))), a.shape[:-1])
    return Matmul.apply(a, b)


def linear(x, w, b=None, relu: bool = False) -> Tensor:
    """``x @ w + b`` for ``x`` of shape (..., in), ``w`` (in, out), ``b`` (out,) or None;
    ``relu=True`` applies ``max(., 0)`` in the same node (Dense's fused ReLU)."""
    x = as_tensor(x)
    if x.ndim < 1 or x.shape[-1] != w.shape[0]:
        raise ValueError(
            f"linear: inputs with last dimension {w.shape[0]} expected, got shape {x.shape}."
        )
    if x.ndim == 1:
        return reshape(Linear.apply(reshape(x, (1, -1)), w, b, relu=relu), (w.shape[-1],))
    return Linear.apply(x, w, b, relu=bool(relu))
