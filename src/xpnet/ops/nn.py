"""Convolution and pooling primitives, written in standard Array API calls.

The Array API standard has no convolution and no pooling, so both are built
here from strided slices, ``stack``, ``matmul`` and elementwise maxima. Every
function takes and returns channels-last arrays (``(N, H, W, C)``), the
Keras default; layers with ``data_format="channels_first"`` transpose at their
edges.

Memory layout. Inside, the work happens in *channels-major, batch-last* order
``(C, H, W, N)``. A kernel window of that array, ``a[:, i:i+Ho, j:j+Wo, :]``,
is made of contiguous runs of ``Wo*N`` numbers (``N`` for strides > 1), so the
im2col copies, the col2im adds and the pooling maxima move long runs (with
``(C, N, H, W)`` the runs were ``Wo`` long, and with channels-last ``C``: a
handful; NumPy pays per run, and the switch made those copies 2.5-5x faster on
the benchmark CNN). The
GEMMs come out as ``(C_out, Ho*Wo*N)``, so a bias or a ReLU mask is one
contiguous pass, and grouped convolutions need no transposes. Results are
handed back as a ``permute_dims`` *view* with the logical shape
``(N, H, W, C)``: values and shapes are exactly those of channels-last, only the
strides differ, and elementwise ops of NumPy, CuPy and PyTorch keep the layout
of their inputs, so a CNN runs in this layout from end to end. An input in any
other layout (a user's channels-last batch) is copied once into it.

Two formulations of the convolution are kept side by side (``method=``):

``"im2col"`` (default)
    The kh*kw strided windows of the padded input are stacked into a column
    matrix ``(C*kh*kw, Ho*Wo*N)`` and multiplied by the kernel in ONE GEMM.
    The columns are kept for the kernel gradient (one GEMM). The input
    gradient is one small GEMM per kernel position, each added into its window
    (a col2im that never holds the whole column gradient).
``"shift"``
    Shift-and-matmul: the padded batch is flattened to ``(C, Hp*Wp*N)``, and
    kernel position (i, j) sees that row shifted by ``(i*dh*Wp + j*dw)*N``: a
    contiguous view. The kh*kw views are stacked and multiplied in one GEMM;
    positions that wrap around an image edge are computed and cropped
    (Hp*Wp / (Ho*Wo) more work; strides > 1 subsample a dense result).

benchmarks/bench_cnn.py measures both on the benchmark CNN: im2col is the
default because its whole training step is faster there (0.9-1.05x PyTorch's
with 1 thread, 1.2x with 2, against 1.4-2.0x for shift, whose dense grid costs
more GEMM work and larger buffers than its contiguous copies save). Multiplying per kernel
position with K = C in the forward pass (a first layer has C = 1) was slower
than either and is not kept.

>>> import numpy as np, xpnet as xn
>>> x = xn.Tensor(np.ones((1, 4, 4, 1), dtype="float32"))
>>> w = xn.Tensor(np.ones((3, 3, 1, 2), dtype="float32"))
>>> y = xn.ops.nn.conv2d(x, w)
>>> y.shape, xn.to_numpy(y)[0, 0, 0].tolist()
((1, 2, 2, 2), [9.0, 9.0])
"""

from __future__ import annotations

import dataclasses
import math

from xpnet import backend as B
from xpnet.ops._common import as_tensor, set_at
from xpnet.tensor import Function, Tensor

__all__ = [
    "CONV_METHODS",
    "avg_pool2d",
    "conv2d",
    "conv2d_transpose",
    "conv_output_length",
    "conv_padding",
    "conv_transpose_geometry",
    "default_conv_method",
    "max_pool2d",
    "set_default_conv_method",
]

CONV_METHODS = ("im2col", "shift")
_conv_method = ["im2col"]


def default_conv_method() -> str:
    """The formulation the convolution layers use ("im2col" unless changed)."""
    return _conv_method[0]


def set_default_conv_method(method: str) -> None:
    """Choose the formulation of the convolution layers: "im2col" or "shift"."""
    if method not in CONV_METHODS:
        raise ValueError(f"conv method must be one of {CONV_METHODS}; got {method!r}.")
    _conv_method[0] = method


_ALL = slice(None)


def _pad_or_crop(xp, x, pads):
    """Pad (or, for negative amounts, crop) the spatial axes 1 and 2 of a (C, H, W, N)
    array with zeros.

    The standard has no pad; zeros plus one slice assignment is it (and was faster
    here than array-api-extra's general ``pad``).
    """
    (pt, pb), (pl, pr) = pads
    if min(pt, pb, pl, pr) < 0:
        h, w = x.shape[1], x.shape[2]
        x = x[:, max(-pt, 0) : h - max(-pb, 0), max(-pl, 0) : w - max(-pr, 0), :]
        pt, pb, pl, pr = (max(v, 0) for v in (pt, pb, pl, pr))
    if pt or pb or pl or pr:
        c, h, w, n = x.shape
        out = xp.zeros((c, h + pt + pb, w + pl + pr, n), dtype=x.dtype, device=B.device_of(x))
        x = set_at(out, (_ALL, slice(pt, pt + h), slice(pl, pl + w), _ALL), x)
    return x


def _window(a, rows: slice, cols: slice):
    """The (rows, cols) spatial slice of a (C, H, W, N) array."""
    return a[:, rows, cols, :]


def _add_at(x, index, values):
    """``x[index] += values`` on a buffer we own (as :func:`set_at`)."""
    import array_api_extra as xpx

    return xpx.at(x, index).add(values)


# =========================================================================== geometry


def conv_padding(size: int, kernel: int, stride: int, dilation: int, padding) -> tuple[int, int]:
    """(before, after) padding of one spatial axis, as Keras computes it.

    ``"valid"``: none. ``"same"``: the output has ceil(size / stride) positions and
    the padding is split with the extra one after. ``"causal"``: (k - 1) * d before.
    A (before, after) pair passes through.
    """
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (0, 0)
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + k - size, 0)
        return (total // 2, total - total // 2)
    if padding == "causal":
        return (k - 1, 0)
    lo, hi = padding
    return (int(lo), int(hi))


def conv_output_length(size: int, kernel: int, stride: int, dilation: int, pads) -> int:
    """Number of output positions along an axis of ``size`` padded by ``pads``."""
    k = (kernel - 1) * dilation + 1
    return (size + pads[0] + pads[1] - k) // stride + 1


def conv_transpose_geometry(
    size: int, kernel: int, stride: int, dilation: int, padding: str, output_padding=None
) -> tuple[int, tuple[int, int]]:
    """Output length of a transposed convolution and the padding of its forward twin.

    Follows Keras 3: with ``output_padding=None``, "valid" gives
    ``size * stride + max(k - stride, 0)`` and "same" gives ``size * stride``
    (the crop at the start is that of the forward convolution's "same" padding);
    with ``output_padding``, ``(size - 1) * stride + k - 2 * pad + output_padding``
    with ``pad = k // 2`` for "same" and 0 for "valid". ``k`` is the dilated kernel.
    The returned pads make the forward convolution map the output back onto
    ``size`` positions (the end pad may be negative: rows the kernel never reaches).
    """
    k = (kernel - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            length = size * stride + max(k - stride, 0)
            start = 0
        else:
            length = size * stride
            start = max((size - 1) * stride + k - length, 0) // 2
    else:
        pad = k // 2 if padding == "same" else 0
        length = (size - 1) * stride + k - 2 * pad + output_padding
        start = pad
    end = (size - 1) * stride + k - length - start
    return length, (start, end)


@dataclasses.dataclass(frozen=True)
class _Geom:
    """Shapes of one 2-D convolution (inputs N, H, W, C; kernel kh, kw, C/groups, cout)."""

    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    cout: int
    sh: int
    sw: int
    dh: int
    dw: int
    pads: tuple[tuple[int, int], tuple[int, int]]
    groups: int

    @property
    def hp(self) -> int:
        return self.h + self.pads[0][0] + self.pads[0][1]

    @property
    def wp(self) -> int:
        return self.w + self.pads[1][0] + self.pads[1][1]

    @property
    def ho(self) -> int:
        return (self.hp - (self.kh - 1) * self.dh - 1) // self.sh + 1

    @property
    def wo(self) -> int:
        return (self.wp - (self.kw - 1) * self.dw - 1) // self.sw + 1

    @property
    def m(self) -> int:
        return self.n * self.ho * self.wo

    @property
    def p(self) -> int:
        return self.kh * self.kw

    def windows(self) -> list[tuple[slice, slice]]:
        """One (rows, cols) strided slice of the padded input per kernel position."""
        hs = self.sh * (self.ho - 1) + 1
        ws = self.sw * (self.wo - 1) + 1
        return [
            (
                slice(i * self.dh, i * self.dh + hs, self.sh),
                slice(j * self.dw, j * self.dw + ws, self.sw),
            )
            for i in range(self.kh)
            for j in range(self.kw)
        ]


def _geom(x_shape, w_shape, strides, dilation, pads, groups) -> _Geom:
    n, h, w, c = x_shape
    kh, kw, _, cout = w_shape
    g = _Geom(n, h, w, c, kh, kw, cout, *strides, *dilation, tuple(map(tuple, pads)), groups)
    if g.ho < 1 or g.wo < 1:
        raise ValueError(
            f"conv2d: a {kh}x{kw} kernel (dilation {dilation}) does not fit inputs of spatial "
            f"size {h}x{w} with padding {pads}; use padding='same' or a smaller kernel."
        )
    return g


# =========================================================================== convolution kernels
#
# All helpers below work on channels-major, batch-last arrays: x as (C, H, W, N), outputs
# and output gradients as (C_out, M) with M = Ho * Wo * N, kernels as wk (C_out, C/g * kh * kw).


def _kernel_matrix(xp, w, g: _Geom):
    """(kh, kw, C/g, cout) -> (cout, C/g * kh * kw), rows ordered (channel, i, j)."""
    return xp.reshape(xp.permute_dims(w, (3, 2, 0, 1)), (g.cout, -1))


def _kernel_from_matrix(xp, wk, g: _Geom):
    return xp.permute_dims(xp.reshape(wk, (g.cout, -1, g.kh, g.kw)), (2, 3, 1, 0))


def _grouped(xp, a, g: _Geom):
    """Split the leading (channel) axis of a 2-D array into (groups, rows, cols)."""
    return xp.reshape(a, (g.groups, a.shape[0] // g.groups, a.shape[1]))


def _im2col(xp, xt, g: _Geom):
    """(C, Hp, Wp, N) -> columns (C * kh * kw, M): one strided slice per kernel position."""
    cols = xp.stack([_window(xt, r, s) for r, s in g.windows()], axis=1)
    return xp.reshape(cols, (g.c * g.p, g.m))


def _gemm_forward(xp, wk, cols, g: _Geom):
    """(cout, K) x (K, M) per group -> (cout, M)."""
    if g.groups == 1:
        return wk @ cols
    out = xp.matmul(_grouped(xp, wk, g), _grouped(xp, cols, g))
    return xp.reshape(out, (g.cout, cols.shape[1]))


def _gemm_kernel_grad(xp, gt, cols, g: _Geom):
    """d(wk) = G (cout, M) x cols.T (M, K), per group."""
    if g.groups == 1:
        return gt @ cols.T
    out = xp.matmul(_grouped(xp, gt, g), xp.matrix_transpose(_grouped(xp, cols, g)))
    return xp.reshape(out, (g.cout, -1))


def _gemm_input_grad(xp, wk, gt, g: _Geom):
    """d(cols) = wk.T (K, cout) x G (cout, M), per group."""
    if g.groups == 1:
        return wk.T @ gt
    out = xp.matmul(xp.matrix_transpose(_grouped(xp, wk, g)), _grouped(xp, gt, g))
    return xp.reshape(out, (-1, gt.shape[1]))


class _Im2col:
    """The im2col formulation: columns once, one GEMM each way."""

    @staticmethod
    def prepare(xp, gt, g: _Geom):
        """The output gradient in the layout the two gradient GEMMs want: (cout, M)."""
        return gt

    @staticmethod
    def forward(xp, xt, wk, g: _Geom):
        cols = _im2col(xp, xt, g)
        out = _gemm_forward(xp, wk, cols, g)
        return xp.reshape(out, (g.cout, g.ho, g.wo, g.n)), cols

    @staticmethod
    def kernel_grad(xp, saved, gt, g: _Geom):
        return _gemm_kernel_grad(xp, gt, saved, g)

    @staticmethod
    def input_grad(xp, wk, gt, g: _Geom, device):
        """d(cols) = wk.T @ G scattered back (col2im) into (C, H, W, N), one kernel
        position at a time: kh*kw GEMMs with (C, M) outputs, never the whole
        (C*kh*kw, M) column gradient. That matrix was the largest transient of a
        CNN step (2.2 MB on the benchmark), and a block that size finds no hole in a
        heap full of activations: glibc grew the heap for it and trimmed it back
        after every step, about 1,000 page faults a step."""
        (pt, pb), (pl, pr) = g.pads
        # rows the kernel never reaches (a negative end pad) still get a zero gradient
        shape = (g.c, pt + g.h + max(pb, 0), pl + g.w + max(pr, 0), g.n)
        dxt = xp.zeros(shape, dtype=gt.dtype, device=device)
        for p, (r, s) in enumerate(g.windows()):
            dcol = _gemm_input_grad(xp, wk[:, p :: g.p], gt, g)
            dxt = _add_at(dxt, (_ALL, r, s, _ALL), xp.reshape(dcol, (g.c, g.ho, g.wo, g.n)))
        return _window(dxt, slice(pt, pt + g.h), slice(pl, pl + g.w))


class _Shift:
    """Shift-and-matmul on the whole padded batch flattened to one row per channel.

    Output position (y, x, n) of a stride-1 convolution reads the flat input at
    ``(y*Wp + x)*N + n + offset(i, j)`` with ``offset = (i*dh*Wp + j*dw)*N``, so
    what kernel position (i, j) sees is one *contiguous* shifted view of the
    flat input: every copy moves runs of Hp*Wp*N numbers (strided windows move
    runs of Wo*N). The shifted views are stacked and multiplied in one GEMM.
    Positions that wrap around an image edge are computed and thrown away by
    the final crop (Hp*Wp / (Ho*Wo) more work: 16% and 40% on the benchmark
    CNN), and strides > 1 subsample a dense result (stride**2 more work). The
    input gradient is one GEMM and kh*kw shifted contiguous adds (no col2im).
    """

    @staticmethod
    def _offsets(g: _Geom) -> list[int]:
        return [(i * g.dh * g.wp + j * g.dw) * g.n for i in range(g.kh) for j in range(g.kw)]

    @staticmethod
    def _strided(g: _Geom) -> tuple[slice, slice]:
        return slice(0, g.sh * (g.ho - 1) + 1, g.sh), slice(0, g.sw * (g.wo - 1) + 1, g.sw)

    @staticmethod
    def forward(xp, xt, wk, g: _Geom):
        length = g.hp * g.wp * g.n
        offsets = _Shift._offsets(g)
        flat = xp.reshape(xt, (g.c, length))
        if offsets[-1]:  # the last shifted view reaches this far past the batch
            zeros = xp.zeros((g.c, offsets[-1]), dtype=flat.dtype, device=B.device_of(xt))
            flat = xp.concat([flat, zeros], axis=1)
        cols = xp.stack([flat[:, o : o + length] for o in offsets], axis=1)
        cols = xp.reshape(cols, (g.c * g.p, length))
        dense = xp.reshape(_gemm_forward(xp, wk, cols, g), (g.cout, g.hp, g.wp, g.n))
        r, s = _Shift._strided(g)
        return _window(dense, r, s), cols

    @staticmethod
    def prepare(xp, gt, g: _Geom):
        """(cout, M) at the strided outputs -> (cout, Hp*Wp*N) on the dense grid, 0 elsewhere."""
        full = xp.zeros((g.cout, g.hp, g.wp, g.n), dtype=gt.dtype, device=B.device_of(gt))
        r, s = _Shift._strided(g)
        full = set_at(full, (_ALL, r, s, _ALL), xp.reshape(gt, (g.cout, g.ho, g.wo, g.n)))
        return xp.reshape(full, (g.cout, -1))

    @staticmethod
    def kernel_grad(xp, cols, dense, g: _Geom):
        return _gemm_kernel_grad(xp, dense, cols, g)

    @staticmethod
    def input_grad(xp, wk, dense, g: _Geom, device):
        length = dense.shape[1]
        offsets = _Shift._offsets(g)
        dcols = xp.reshape(_gemm_input_grad(xp, wk, dense, g), (g.c, g.p, length))
        dflat = xp.zeros((g.c, length + offsets[-1]), dtype=dense.dtype, device=device)
        for p, off in enumerate(offsets):
            dflat = _add_at(dflat, (_ALL, slice(off, off + length)), dcols[:, p, :])
        dxt = xp.reshape(dflat[:, :length], (g.c, g.hp, g.wp, g.n))
        (pt, pb), (pl, pr) = g.pads
        if pb < 0 or pr < 0:  # rows beyond the kernel's reach (transposed convolutions)
            dxt = _pad_or_crop(xp, dxt, ((0, max(-pb, 0)), (0, max(-pr, 0))))
        return _window(dxt, slice(pt, pt + g.h), slice(pl, pl + g.w))


_METHODS = {"im2col": _Im2col, "shift": _Shift}


# (N, H, W, C) <-> (C, H, W, N): axes 0 and 3 swap, so the permutation is its own inverse
_SWAP_NC = (3, 1, 2, 0)
_NO_PADS = ((0, 0), (0, 0))


def _to_channels_major(xp, x, pads):
    """(N, H, W, C) -> padded (C, Hp, Wp, N), row-major; free (a view) when the memory
    already is laid out so (the output of another conv or pool of this module)."""
    xt = xp.permute_dims(x, _SWAP_NC)
    if not any(sum(pads, ())):
        return B.row_major(xt)  # padding copies anyway
    return _pad_or_crop(xp, xt, pads)


class Conv2D(Function):
    """2-D convolution (cross-correlation, as Keras and PyTorch) of channels-last inputs.

    ``y[n, o, q, f] = b[f] + sum_{i, j, c} x_pad[n, o*sh + i*dh, q*sw + j*dw, g(f)*C/G + c]
    * w[i, j, c, f]``, with an optional fused ReLU.
    """

    # Fused for speed: the columns built for the forward GEMM are reused for the kernel
    # gradient, the input gradient is one GEMM plus a col2im, and bias and ReLU ride in
    # the same node (one pass over the output instead of three nodes and their copies).
    def forward(self, x, w, b=None, geom=None, relu=False, method="im2col"):
        xp = self.xp
        g: _Geom = geom
        impl = _METHODS[method]
        xt = _to_channels_major(xp, x, g.pads)
        wk = _kernel_matrix(xp, w, g)
        out, saved = impl.forward(xp, xt, wk, g)  # (cout, N, Ho, Wo), maybe a view
        if b is not None:
            out = out + xp.reshape(b, (g.cout, 1, 1, 1))
        self.relu_out = None
        if relu:
            # with a bias, out is our own fresh buffer (no second output array); without,
            # it may be a view of the columns
            out = B.relu_into(out) if b is not None else xp.maximum(out, 0.0)
            self.relu_out = out  # backward's mask is out > 0; no mask kept alive
        self.g, self.impl, self.wk, self.has_b = g, impl, wk, b is not None
        self.saved = saved  # (needs is not known yet; no_grad calls drop the node anyway)
        return xp.permute_dims(out, _SWAP_NC)

    def backward(self, grad):
        xp, g = self.xp, self.g
        gt = xp.permute_dims(grad, _SWAP_NC)
        if self.relu_out is not None:
            gt = B.relu_backward(self.relu_out, gt)
        gt = xp.reshape(gt, (g.cout, g.m))
        gx = gw = gb = None
        if self.has_b and self.needs[2]:
            gb = xp.sum(gt, axis=1)
        prepared = self.impl.prepare(xp, gt, g) if self.needs[0] or self.needs[1] else None
        if self.needs[0]:
            dxt = self.impl.input_grad(xp, self.wk, prepared, g, B.device_of(gt))
            gx = xp.permute_dims(dxt, _SWAP_NC)
        if self.needs[1]:
            gw = _kernel_from_matrix(xp, self.impl.kernel_grad(xp, self.saved, prepared, g), g)
        return gx, gw, gb


class Conv2DTranspose(Function):
    """Transposed convolution: the adjoint (input gradient) of :class:`Conv2D`.

    ``geom`` describes the *forward twin*: a convolution from this op's output
    (``cout`` = the kernel's third axis) back to its input (``C_in`` channels).
    """

    # Fused for speed: forward is the twin's input gradient (GEMM + col2im, no zero-
    # stuffed input); backward is the twin's forward (input gradient) and the twin's
    # kernel gradient with the roles of input and output gradient swapped.
    def forward(self, x, w, b=None, geom=None, method="im2col"):
        xp = self.xp
        g: _Geom = geom
        impl = _METHODS[method]
        xt = xp.reshape(xp.permute_dims(x, _SWAP_NC), (g.cout, g.m))
        wk = _kernel_matrix(xp, w, g)
        xt = impl.prepare(xp, xt, g)
        yt = impl.input_grad(xp, wk, xt, g, B.device_of(x))
        if b is not None:
            yt = yt + xp.reshape(b, (g.c, 1, 1, 1))
        self.g, self.impl, self.wk, self.xt, self.has_b = g, impl, wk, xt, b is not None
        return xp.permute_dims(yt, _SWAP_NC)

    def backward(self, grad):
        xp, g = self.xp, self.g
        gt = _to_channels_major(xp, grad, g.pads)
        gx = gw = gb = None
        if self.needs[0] or self.needs[1]:
            out, saved = self.impl.forward(xp, gt, self.wk, g)
            if self.needs[0]:
                gx = xp.permute_dims(out, _SWAP_NC)
            if self.needs[1]:
                gw = _kernel_from_matrix(xp, self.impl.kernel_grad(xp, saved, self.xt, g), g)
        if self.has_b and self.needs[2]:
            gb = xp.sum(grad, axis=(0, 1, 2))
        return gx, gw, gb


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"{name}: expected an int or a pair of ints, got {v!r}.")
    return v


def _resolve_pads(padding, h, w, kernel, strides, dilation):
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"padding must be 'valid', 'same' or explicit pairs; got {padding!r}.")
        return (
            conv_padding(h, kernel[0], strides[0], dilation[0], padding),
            conv_padding(w, kernel[1], strides[1], dilation[1], padding),
        )
    (pt, pb), (pl, pr) = padding
    return ((int(pt), int(pb)), (int(pl), int(pr)))


def conv2d(
    x,
    kernel,
    bias=None,
    strides=1,
    padding="valid",
    dilation_rate=1,
    groups: int = 1,
    relu: bool = False,
    method: str | None = None,
) -> Tensor:
    """2-D convolution of channels-last ``x`` (N, H, W, C) with ``kernel`` (kh, kw, C/groups, F).

    ``y = x ⋆ kernel + bias`` (cross-correlation), then ``max(y, 0)`` if ``relu``.

    Args:
        x: inputs (N, H, W, C).
        kernel: (kh, kw, C // groups, F); F must be divisible by ``groups``.
        bias: (F,) or None.
        strides, dilation_rate: ints or pairs.
        padding: "valid", "same" (Keras's split: the extra row goes after) or
            explicit ((top, bottom), (left, right)).
        groups: split channels into this many independent convolutions.
        relu: apply a ReLU in the same node.
        method: "im2col" or "shift" (see the module docstring); None: the default
            (:func:`default_conv_method`).

    Returns:
        (N, Ho, Wo, F), on the inputs' backend and device.
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    method = method or default_conv_method()
    if method not in _METHODS:
        raise ValueError(f"conv2d: method must be one of {CONV_METHODS}; got {method!r}.")
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(
            f"conv2d expects inputs (N, H, W, C) and a kernel (kh, kw, C/groups, F); got "
            f"shapes {x.shape} and {kernel.shape}."
        )
    strides, dilation = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
    c, (cg, f) = x.shape[-1], kernel.shape[2:]
    if c != cg * groups or f % groups:
        raise ValueError(
            f"conv2d: inputs with {c} channels and groups={groups} need a kernel of shape "
            f"(kh, kw, {c // max(groups, 1)}, F) with F divisible by {groups}; got kernel "
            f"shape {kernel.shape}."
        )
    pads = _resolve_pads(padding, x.shape[1], x.shape[2], kernel.shape[:2], strides, dilation)
    geom = _geom(x.shape, kernel.shape, strides, dilation, pads, groups)
    return Conv2D.apply(x, kernel, bias, geom=geom, relu=bool(relu), method=method)


def conv2d_transpose(
    x,
    kernel,
    bias=None,
    strides=1,
    padding="valid",
    output_padding=None,
    dilation_rate=1,
    method: str | None = None,
) -> Tensor:
    """Transposed 2-D convolution of channels-last ``x`` with ``kernel`` (kh, kw, F, C).

    The kernel layout is Keras's Conv2DTranspose layout: F output channels, C input
    channels. Output sizes follow :func:`conv_transpose_geometry`.

    Returns:
        (N, Ho, Wo, F).
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    method = method or default_conv_method()
    if method not in _METHODS:
        raise ValueError(f"conv2d_transpose: method must be one of {CONV_METHODS}; got {method!r}.")
    if x.ndim != 4 or kernel.ndim != 4 or kernel.shape[3] != x.shape[3]:
        raise ValueError(
            f"conv2d_transpose expects inputs (N, H, W, C) and a kernel (kh, kw, F, C); got "
            f"shapes {x.shape} and {kernel.shape}."
        )
    strides, dilation = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
    ops_ = (None, None) if output_padding is None else _pair(output_padding, "output_padding")
    n, h, w, _ = x.shape
    kh, kw, f, _ = kernel.shape
    ho, pads_h = conv_transpose_geometry(h, kh, strides[0], dilation[0], padding, ops_[0])
    wo, pads_w = conv_transpose_geometry(w, kw, strides[1], dilation[1], padding, ops_[1])
    # the forward twin maps (n, ho, wo, f) to (n, h, w, C) with this very kernel
    twin_w_shape = (kh, kw, f, kernel.shape[3])
    geom = _geom((n, ho, wo, f), twin_w_shape, strides, dilation, (pads_h, pads_w), 1)
    assert (geom.ho, geom.wo) == (h, w), (geom, h, w)
    return Conv2DTranspose.apply(x, kernel, bias, geom=geom, method=method)


# =========================================================================== pooling


@dataclasses.dataclass(frozen=True)
class _PoolGeom:
    n: int
    h: int
    w: int
    c: int
    kh: int
    kw: int
    sh: int
    sw: int
    pads: tuple[tuple[int, int], tuple[int, int]]

    @property
    def ho(self) -> int:
        return (self.h + sum(self.pads[0]) - self.kh) // self.sh + 1

    @property
    def wo(self) -> int:
        return (self.w + sum(self.pads[1]) - self.kw) // self.sw + 1

    @property
    def tiled(self) -> bool:
        """Windows tile the input without overlap or padding (the reshape fast path)."""
        return (self.kh, self.kw) == (self.sh, self.sw) and not any(sum(self.pads, ()))

    def windows(self) -> list[tuple[slice, slice]]:
        hs = self.sh * (self.ho - 1) + 1
        ws = self.sw * (self.wo - 1) + 1
        return [
            (slice(i, i + hs, self.sh), slice(j, j + ws, self.sw))
            for i in range(self.kh)
            for j in range(self.kw)
        ]


def _first_max_split(xp, g, views, best):
    """Route ``g`` to the first of ``views`` equal to ``best`` (row-major window order).

    ``remaining - part`` is exactly 0 once a view has taken the gradient, so later
    ties get nothing: the first maximum wins, as in PyTorch and TensorFlow.
    """
    parts, remaining = [], g
    for v in views[:-1]:
        part = remaining * xp.astype(v == best, g.dtype)
        parts.append(part)
        remaining = remaining - part
    parts.append(remaining)
    return parts


class _Tiled:
    """Non-overlapping windows through a reshape: (C*Ho, kh, Wo, kw, N), no window copies."""

    @staticmethod
    def split(xp, xt, g: _PoolGeom):
        xt = _window(xt, slice(0, g.ho * g.kh), slice(0, g.wo * g.kw))
        return xp.reshape(xt, (g.c * g.ho, g.kh, g.wo, g.kw, g.n))

    @staticmethod
    def merge(xp, parts5, g: _PoolGeom):
        """(C*Ho, kh, Wo, kw, N) -> (C, H, W, N), zero rows for what the windows skip."""
        dx = xp.reshape(parts5, (g.c, g.ho * g.kh, g.wo * g.kw, g.n))
        return _pad_or_crop(xp, dx, ((0, g.h - g.ho * g.kh), (0, g.w - g.wo * g.kw)))


class MaxPool2D(Function):
    """Max pooling of channels-last inputs; the gradient goes to each window's first maximum."""

    # Fused for speed: the max is kh*kw - 1 elementwise maxima of strided views (rows of
    # the window first, then columns: no window copy, no argmax pass), and backward
    # splits the gradient with two multiplies per window position instead of a scatter.
    def forward(self, x, geom=None):
        xp = self.xp
        g: _PoolGeom = geom
        xt = _to_channels_major(xp, x, _NO_PADS)  # pooling pads with its own value below
        if g.tiled:
            x5 = _Tiled.split(xp, xt, g)
            cols = [x5[:, :, :, j, :] for j in range(g.kw)]  # (R, kh, Wo, N) each
            rowmax = _maximum_all(xp, cols)
            rows = [rowmax[:, i, ...] for i in range(g.kh)]  # (R, Wo, N) each
            out = _maximum_all(xp, rows)
            self.saved = (cols, rowmax, rows)
        else:
            pad = _pad_value(xp, xt, g, -math.inf)
            views = [_window(pad, r, s) for r, s in g.windows()]
            out = _maximum_all(xp, views)
            self.saved = views
        self.g, self.out = g, out
        out = xp.reshape(out, (g.c, g.ho, g.wo, g.n))
        return xp.permute_dims(out, _SWAP_NC)

    def backward(self, grad):
        xp, g = self.xp, self.g
        gt = xp.permute_dims(grad, _SWAP_NC)
        if g.tiled:
            cols, rowmax, rows = self.saved
            gt = xp.reshape(gt, (g.c * g.ho, g.wo, g.n))
            by_row = xp.stack(_first_max_split(xp, gt, rows, self.out), axis=1)
            parts = _first_max_split(xp, by_row, cols, rowmax)
            dxt = _Tiled.merge(xp, xp.stack(parts, axis=3), g)
        else:
            gt = xp.reshape(gt, self.out.shape)
            parts = _first_max_split(xp, gt, self.saved, self.out)
            dxt = _scatter_windows(xp, parts, g, B.device_of(gt))
        return xp.permute_dims(dxt, _SWAP_NC)


class AvgPool2D(Function):
    """Average pooling of channels-last inputs; with padding the count excludes the pad."""

    def forward(self, x, geom=None):
        xp = self.xp
        g: _PoolGeom = geom
        xt = _to_channels_major(xp, x, _NO_PADS)
        pad = _pad_value(xp, xt, g, 0.0)
        views = [_window(pad, r, s) for r, s in g.windows()]
        total = views[0]
        for v in views[1:]:
            total = total + v
        self.g = g
        self.count = _window_counts(xp, g, x.dtype, B.device_of(x))
        out = total / self.count
        return xp.permute_dims(out, _SWAP_NC)

    def backward(self, grad):
        xp, g = self.xp, self.g
        share = xp.permute_dims(grad, _SWAP_NC) / self.count
        if g.tiled:
            share = xp.reshape(share, (g.c * g.ho, 1, g.wo, 1, g.n))
            parts = xp.broadcast_to(share, (share.shape[0], g.kh, g.wo, g.kw, g.n))
            dxt = _Tiled.merge(xp, parts, g)
        else:
            dxt = _scatter_windows(xp, [share] * (g.kh * g.kw), g, B.device_of(grad))
        return xp.permute_dims(dxt, _SWAP_NC)


def _maximum_all(xp, arrays):
    out = arrays[0]
    for a in arrays[1:]:
        out = xp.maximum(out, a)
    return out


def _pad_value(xp, xt, g: _PoolGeom, value: float):
    import array_api_extra as xpx

    if not any(sum(g.pads, ())):
        return xt
    return xpx.pad(xt, ((0, 0), *g.pads, (0, 0)), constant_values=value, xp=xp)


def _scatter_windows(xp, parts, g: _PoolGeom, device):
    """Sum per-window-position gradients (C, Ho, Wo, N) back into (C, H, W, N)."""
    (pt, pb), (pl, pr) = g.pads
    dxt = xp.zeros((g.c, g.h + pt + pb, g.w + pl + pr, g.n), dtype=parts[0].dtype, device=device)
    for part, (r, s) in zip(parts, g.windows()):
        dxt = _add_at(dxt, (_ALL, r, s, _ALL), part)
    return _window(dxt, slice(pt, pt + g.h), slice(pl, pl + g.w))


def _window_counts(xp, g: _PoolGeom, dtype, device):
    """How many real (unpadded) inputs each window covers: a Python float when all are full."""
    if not any(sum(g.pads, ())):
        return float(g.kh * g.kw)
    np = B.host_numpy
    ones = np.pad(np.ones((g.h, g.w)), g.pads)
    count = sum(ones[r, s] for r, s in g.windows())
    return xp.asarray(count[:, :, None], dtype=dtype, device=device)  # (Ho, Wo, 1): N is last


def _pool_geom(x_shape, pool_size, strides, padding) -> _PoolGeom:
    n, h, w, c = x_shape
    kh, kw = _pair(pool_size, "pool_size")
    sh, sw = _pair(strides if strides is not None else (kh, kw), "strides")
    if padding == "valid":
        pads = ((0, 0), (0, 0))
    elif padding == "same":
        pads = (conv_padding(h, kh, sh, 1, "same"), conv_padding(w, kw, sw, 1, "same"))
    else:
        raise ValueError(f"pooling padding must be 'valid' or 'same'; got {padding!r}.")
    g = _PoolGeom(n, h, w, c, kh, kw, sh, sw, pads)
    if g.ho < 1 or g.wo < 1:
        raise ValueError(
            f"pooling: a {kh}x{kw} window does not fit inputs of spatial size {h}x{w}; "
            "use padding='same' or a smaller pool_size."
        )
    return g


def max_pool2d(x, pool_size=2, strides=None, padding: str = "valid") -> Tensor:
    """Max pooling of channels-last ``x`` (N, H, W, C) over ``pool_size`` windows.

    ``strides`` defaults to ``pool_size``; "same" padding pads with -inf. The
    gradient goes to the first maximum of each window (row-major), as PyTorch.
    """
    x = as_tensor(x)
    return MaxPool2D.apply(x, geom=_pool_geom(x.shape, pool_size, strides, padding))


def avg_pool2d(x, pool_size=2, strides=None, padding: str = "valid") -> Tensor:
    """Average pooling of channels-last ``x``; "same" padding averages real inputs only."""
    x = as_tensor(x)
    return AvgPool2D.apply(x, geom=_pool_geom(x.shape, pool_size, strides, padding))
