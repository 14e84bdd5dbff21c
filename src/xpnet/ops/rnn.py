"""Fused recurrences: a whole SimpleRNN / LSTM / GRU sequence as one autograd node.

Each Function takes the input projections of every step at once
(``xw = x @ kernel + bias``, computed by one GEMM outside), the recurrent
kernel and the initial state, runs the time loop on raw arrays and keeps the
gate values; backward runs backpropagation through time in one reversed loop
and forms the recurrent kernel's gradient with ONE GEMM over all steps.
Compared with a loop of elementwise ops (a dozen graph nodes per step, each
with its own allocations), this is several times faster; see
``tests/test_layers_recurrent.py`` for the equivalence with the unfused path.

Gate layouts follow Keras: LSTM ``[i, f, c, o]``, GRU ``[z, r, h]``.
Optional arguments: ``mask`` (bool, (N, T); a masked step carries the state
over unchanged) and ``rmask`` ((N, units), a recurrent-dropout mask already
scaled by 1 / (1 - rate), applied to the previous state before the
recurrent matmul).
"""

from __future__ import annotations

from xpnet.tensor import Function, Tensor

__all__ = ["GRUSequence", "LSTMSequence", "SimpleRNNSequence", "flip", "sigmoid"]


class Flip(Function):
    """Reverse the order along ``axis`` (``x[:, ::-1]`` is not portable: PyTorch has no
    negative slice steps; ``xp.flip`` is standard)."""

    def forward(self, x, axis=0):
        self.axis = axis
        return self.xp.flip(x, axis=axis)

    def backward(self, g):
        return self.xp.flip(g, axis=self.axis)


def flip(x, axis: int = 1) -> Tensor:
    """``x`` reversed along ``axis`` (a Tensor; its gradient is reversed back)."""
    return Flip.apply(x, axis=axis)


def sigmoid(xp, x):
    """1 / (1 + e^-x), with x clipped where the sigmoid has saturated anyway.

    The clip keeps exp finite (no overflow warnings): |x| <= 80 in float32/64, where
    1 / (1 + e^80) is 1.8e-35, and 11 in float16. exp is 2-3x cheaper than tanh in
    NumPy, so this beats 0.5 + 0.5 * tanh(x / 2).
    """
    lim = 11.0 if xp.finfo(x.dtype).max < 1e5 else 80.0  # float16 (not in every namespace)
    return 1.0 / (1.0 + xp.exp(-xp.clip(x, -lim, lim)))


def _carry(xp, mask, t, new, old):
    """The new state where step ``t`` is unmasked, the old one where it is masked."""
    if mask is None:
        return new
    return xp.where(mask[:, t : t + 1], new, old)


def _split_masked(xp, mask, t, dh):
    """(gradient that reaches the step's computation, gradient carried past it)."""
    if mask is None:
        return dh, None
    m = mask[:, t : t + 1]
    return xp.where(m, dh, 0.0), xp.where(m, 0.0, dh)


def _recurrent_kernel_grad(xp, hprev, dz):
    """sum_t hprev_t.T @ dz_t as one GEMM over (N*T) rows."""
    u, k = hprev[0].shape[1], dz[0].shape[1]
    h2 = xp.reshape(xp.stack(hprev, axis=1), (-1, u))
    d2 = xp.reshape(xp.stack(dz, axis=1), (-1, k))
    return h2.T @ d2, d2


class SimpleRNNSequence(Function):
    """``h_t = act(xw_t + h_{t-1} @ w)`` for every step; returns all h_t, (N, T, units)."""

    # Fused for speed: one node for the whole sequence, one GEMM for the kernel gradient.
    _ACTS = ("tanh", "relu", "linear")

    def forward(self, xw, w, h0, activation="tanh", mask=None, rmask=None):
        xp = self.xp
        h, hs, hprev = h0, [], []
        for t in range(xw.shape[1]):
            hp = h if rmask is None else h * rmask
            a = xw[:, t, :] + hp @ w
            if activation == "tanh":
                new = xp.tanh(a)
            elif activation == "relu":
                new = xp.maximum(a, 0.0)
            else:
                new = a
            h = _carry(xp, mask, t, new, h)
            hs.append(h)
            hprev.append(hp)
        self.hs, self.hprev, self.w = hs, hprev, w
        self.activation, self.mask, self.rmask = activation, mask, rmask
        return xp.stack(hs, axis=1)

    def backward(self, g):
        xp = self.xp
        dh = None
        dz = []
        for t in reversed(range(g.shape[1])):
            dh = g[:, t, :] if dh is None else dh + g[:, t, :]
            dh, kept = _split_masked(xp, self.mask, t, dh)
            h = self.hs[t]
            if self.activation == "tanh":
                da = dh * (1.0 - h * h)
            elif self.activation == "relu":
                da = dh * xp.astype(h > 0, h.dtype)
            else:
                da = dh
            dz.append(da)
            dh = da @ self.w.T
            if self.rmask is not None:
                dh = dh * self.rmask
            if kept is not None:
                dh = dh + kept
        dz.reverse()
        gw, d2 = _recurrent_kernel_grad(xp, self.hprev, dz)
        return xp.reshape(d2, g.shape), gw, dh


class LSTMSequence(Function):
    """The LSTM recurrence over every step; returns ``[h_t | c_t]``, shape (N, T, 2*units).

    ``z = xw_t + h_{t-1} @ w``; ``i, f, o = sigmoid(z_i, z_f, z_o)``, ``g = tanh(z_c)``;
    ``c_t = f * c_{t-1} + i * g``; ``h_t = o * tanh(c_t)``.
    """

    # Fused for speed: one node for the whole sequence, gates kept for backprop through
    # time, one GEMM over all steps for the recurrent kernel's gradient.
    def forward(self, xw, w, h0, c0, mask=None, rmask=None):
        xp = self.xp
        u = w.shape[0]
        h, c = h0, c0
        hs, cs, saved, hprev = [], [], [], []
        for t in range(xw.shape[1]):
            hp = h if rmask is None else h * rmask
            z = xw[:, t, :] + hp @ w
            s = sigmoid(xp, z)
            i, f, o = s[:, :u], s[:, u : 2 * u], s[:, 3 * u :]
            gc = xp.tanh(z[:, 2 * u : 3 * u])
            c_new = f * c + i * gc
            tc = xp.tanh(c_new)
            saved.append((i, f, o, gc, tc, c))
            hprev.append(hp)
            h = _carry(xp, mask, t, o * tc, h)
            c = _carry(xp, mask, t, c_new, c)
            hs.append(h)
            cs.append(c)
        self.saved, self.hprev, self.w, self.mask, self.rmask = saved, hprev, w, mask, rmask
        return xp.concat([xp.stack(hs, axis=1), xp.stack(cs, axis=1)], axis=2)

    def backward(self, g):
        xp = self.xp
        u = self.w.shape[0]
        dh = dc = None
        dz = []
        for t in reversed(range(g.shape[1])):
            gh, gc_ = g[:, t, :u], g[:, t, u:]
            dh = gh if dh is None else dh + gh
            dc = gc_ if dc is None else dc + gc_
            dh, kept_h = _split_masked(xp, self.mask, t, dh)
            dc, kept_c = _split_masked(xp, self.mask, t, dc)
            i, f, o, gcell, tc, c_prev = self.saved[t]
            do = dh * tc
            dc = dc + dh * o * (1.0 - tc * tc)
            di, dg, df = dc * gcell, dc * i, dc * c_prev
            dz.append(
                xp.concat(
                    [
                        di * i * (1.0 - i),
                        df * f * (1.0 - f),
                        dg * (1.0 - gcell * gcell),
                        do * o * (1.0 - o),
                    ],
                    axis=1,
                )
            )
            dc = dc * f
            dh = dz[-1] @ self.w.T
            if self.rmask is not None:
                dh = dh * self.rmask
            if kept_h is not None:
                dh, dc = dh + kept_h, dc + kept_c
        dz.reverse()
        gw, d2 = _recurrent_kernel_grad(xp, self.hprev, dz)
        return xp.reshape(d2, (g.shape[0], g.shape[1], 4 * u)), gw, dh, dc


class GRUSequence(Function):
    """The GRU recurrence (reset gate after the recurrent matmul, Keras's and PyTorch's
    default) over every step; returns all h_t, (N, T, units).

    ``hu = h_{t-1} @ w + b``; ``z = sigmoid(xw_z + hu_z)``, ``r = sigmoid(xw_r + hu_r)``;
    ``n = tanh(xw_h + r * hu_h)``; ``h_t = z * h_{t-1} + (1 - z) * n``.
    """

    # Fused for speed: one node for the whole sequence, one GEMM for the kernel gradient.
    def forward(self, xw, w, b, h0, mask=None, rmask=None):
        xp = self.xp
        u = w.shape[0]
        h, hs, saved, hprev = h0, [], [], []
        for t in range(xw.shape[1]):
            hp = h if rmask is None else h * rmask
            hu = hp @ w
            if b is not None:
                hu = hu + b
            x_t = xw[:, t, :]
            zr = sigmoid(xp, x_t[:, : 2 * u] + hu[:, : 2 * u])
            z, r = zr[:, :u], zr[:, u:]
            hu_h = hu[:, 2 * u :]
            n = xp.tanh(x_t[:, 2 * u :] + r * hu_h)
            saved.append((z, r, n, hu_h, h))
            hprev.append(hp)
            h = _carry(xp, mask, t, n + z * (h - n), h)
            hs.append(h)
        self.saved, self.hprev, self.w, self.has_b = saved, hprev, w, b is not None
        self.mask, self.rmask = mask, rmask
        return xp.stack(hs, axis=1)

    def backward(self, g):
        xp = self.xp
        u = self.w.shape[0]
        dh = None
        dxs, dhus = [], []
        for t in reversed(range(g.shape[1])):
            dh = g[:, t, :] if dh is None else dh + g[:, t, :]
            dh, kept = _split_masked(xp, self.mask, t, dh)
            z, r, n, hu_h, h_prev = self.saved[t]
            dn = dh * (1.0 - z)
            dan = dn * (1.0 - n * n)
            daz = dh * (h_prev - n) * z * (1.0 - z)
            dar = dan * hu_h * r * (1.0 - r)
            dxs.append(xp.concat([daz, dar, dan], axis=1))
            dhus.append(xp.concat([daz, dar, dan * r], axis=1))
            dh_rec = dhus[-1] @ self.w.T
            if self.rmask is not None:
                dh_rec = dh_rec * self.rmask
            dh = dh * z + dh_rec
            if kept is not None:
                dh = dh + kept
        dxs.reverse()
        dhus.reverse()
        gw, dhu2 = _recurrent_kernel_grad(xp, self.hprev, dhus)
        gb = xp.sum(dhu2, axis=0) if self.has_b else None
        gxw = xp.reshape(xp.stack(dxs, axis=1), (g.shape[0], g.shape[1], 3 * u))
        return gxw, gw, gb, dh
