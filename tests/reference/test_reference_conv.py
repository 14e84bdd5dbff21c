"""Convolution, pooling, embedding and 2-D reshaping layers against torch.nn.functional,
on the same inputs and weights: outputs and every gradient.

Keras layouts are channels-last, PyTorch's channels-first: inputs go to PyTorch as
``x.transpose(0, 3, 1, 2)`` and kernels as ``kernel.transpose(3, 2, 0, 1)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xpnet as xn
from xpnet import layers
from xpnet.ops import nn as nn_ops

from reference_utils import compare, torch_tensor


def _run_ours(layer, x, seed=0):
    """Output, input gradient and weight gradients of ``sum(layer(x) * g)``; returns g too."""
    xt = xn.Tensor(x, requires_grad=x.dtype.kind == "f")
    y = layer(xt)
    g = np.random.default_rng(seed).standard_normal(y.shape).astype(np.float32)
    (y * xn.Tensor(g)).sum().backward()
    return y, xt.grad, [p.grad for p in layer.weights], g


def _nchw(a):
    return a.transpose(0, 3, 1, 2) if a.ndim == 4 else a.transpose(0, 2, 1)


def _nhwc(t):
    return _nchw_back(t.detach().numpy())


def _nchw_back(a):
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a.transpose(0, 2, 1)


def _torch_pads(pads):
    """((top, bottom), (left, right)) -> F.pad's (left, right, top, bottom)."""
    (t, b), (left, r) = pads
    return (left, r, t, b)


CONV2D = [
    ("3x3 valid", dict(filters=4, kernel_size=3), (2, 7, 6, 3)),
    ("same stride 2", dict(filters=5, kernel_size=(3, 2), strides=2, padding="same"), (2, 7, 8, 3)),
    ("dilation same", dict(filters=3, kernel_size=3, dilation_rate=(2, 1), padding="same"),
     (2, 9, 7, 2)),
    ("groups", dict(filters=6, kernel_size=3, groups=3, padding="same"), (2, 6, 6, 6)),
    ("no bias 1x1", dict(filters=4, kernel_size=1, use_bias=False), (3, 4, 5, 6)),
    ("channels_first", dict(filters=4, kernel_size=2, strides=(1, 2),
                            data_format="channels_first"), (2, 3, 6, 7)),
]  # fmt: skip


@pytest.mark.parametrize("method", nn_ops.CONV_METHODS)
@pytest.mark.parametrize(("label", "kw", "shape"), CONV2D, ids=[c[0] for c in CONV2D])
def test_conv2d_matches_torch(label, kw, shape, method, monkeypatch):
    monkeypatch.setattr(nn_ops, "_conv_method", [method])
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    layer = layers.Conv2D(**kw)
    y, gx, gws, g = _run_ours(layer, x)
    first = kw.get("data_format") == "channels_first"
    xl = _nchw_back(x) if first else x  # channels-last view for the padding sizes
    pads = layer._pads(xl.shape[1:3])
    w = layer.get_weights()
    xr = torch_tensor(x if first else _nchw(x), requires_grad=True)
    wr = torch_tensor(w[0].transpose(3, 2, 0, 1), requires_grad=True)
    br = torch_tensor(w[1], requires_grad=True) if layer.use_bias else None
    ref = F.conv2d(
        F.pad(xr, _torch_pads(pads)), wr, br, layer.strides, 0, layer.dilation_rate, layer.groups
    )
    ref.backward(torch.tensor(g if first else _nchw(g)))
    name = f"Conv2D[{label}, {method}]"
    compare("conv", f"{name} forward", y, ref if first else _nhwc(ref))
    compare("conv", f"{name} d/dx", gx, xr.grad if first else _nhwc(xr.grad))
    compare("conv", f"{name} d/dkernel", gws[0], wr.grad.numpy().transpose(2, 3, 1, 0))
    if layer.use_bias:
        compare("conv", f"{name} d/dbias", gws[1], br.grad)


CONV1D = [
    ("valid", dict(filters=4, kernel_size=3), (2, 9, 3)),
    ("causal dilation", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2),
     (2, 8, 2)),
    ("same stride groups", dict(filters=4, kernel_size=2, strides=2, padding="same", groups=2),
     (2, 7, 4)),
]  # fmt: skip


@pytest.mark.parametrize(("label", "kw", "shape"), CONV1D, ids=[c[0] for c in CONV1D])
def test_conv1d_matches_torch(label, kw, shape):
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    layer = layers.Conv1D(**kw)
    y, gx, gws, g = _run_ours(layer, x)
    (_, (lo, hi)) = layer._pads((shape[1],))
    w = layer.get_weights()
    xr = torch_tensor(_nchw(x), requires_grad=True)
    wr = torch_tensor(w[0].transpose(2, 1, 0), requires_grad=True)
    br = torch_tensor(w[1], requires_grad=True)
    ref = F.conv1d(F.pad(xr, (lo, hi)), wr, br, layer.strides, 0, layer.dilation_rate, layer.groups)
    ref.backward(torch.tensor(_nchw(g)))
    compare("conv", f"Conv1D[{label}] forward", y, _nhwc(ref))
    compare("conv", f"Conv1D[{label}] d/dx", gx, _nhwc(xr.grad))
    compare("conv", f"Conv1D[{label}] d/dkernel", gws[0], wr.grad.numpy().transpose(2, 1, 0))
    compare("conv", f"Conv1D[{label}] d/dbias", gws[1], br.grad)


TRANSPOSE = [
    ("valid s2", dict(filters=3, kernel_size=3, strides=2), (2, 4, 5, 2)),
    ("same k4 s2", dict(filters=2, kernel_size=4, strides=2, padding="same"), (2, 3, 4, 3)),
    ("same k3 s2", dict(filters=2, kernel_size=3, strides=2, padding="same"), (1, 3, 3, 2)),
    ("output_padding", dict(filters=2, kernel_size=3, strides=(2, 3), padding="same",
                            output_padding=(1, 2)), (2, 3, 3, 2)),
    ("dilation", dict(filters=2, kernel_size=2, dilation_rate=2), (1, 4, 4, 3)),
]  # fmt: skip


@pytest.mark.parametrize("method", nn_ops.CONV_METHODS)
@pytest.mark.parametrize(("label", "kw", "shape"), TRANSPOSE, ids=[c[0] for c in TRANSPOSE])
def test_conv2d_transpose_matches_torch(label, kw, shape, method, monkeypatch):
    monkeypatch.setattr(nn_ops, "_conv_method", [method])
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    layer = layers.Conv2DTranspose(**kw)
    y, gx, gws, g = _run_ours(layer, x)
    w = layer.get_weights()
    xr = torch_tensor(_nchw(x), requires_grad=True)
    wr = torch_tensor(w[0].transpose(3, 2, 0, 1), requires_grad=True)
    br = torch_tensor(w[1], requires_grad=True)
    # PyTorch's full transposed convolution (no padding), then Keras's crop
    full = F.conv_transpose2d(xr, wr, None, layer.strides, dilation=layer.dilation_rate)
    rows, cols = [], []
    for axis, size in enumerate(shape[1:3]):
        op = None if layer.output_padding is None else layer.output_padding[axis]
        length, (start, _) = nn_ops.conv_transpose_geometry(
            size, layer.kernel_size[axis], layer.strides[axis], layer.dilation_rate[axis],
            layer.padding, op,
        )  # fmt: skip
        (rows if axis == 0 else cols).extend([start, length])
    extra_h = max(rows[0] + rows[1] - full.shape[2], 0)
    extra_w = max(cols[0] + cols[1] - full.shape[3], 0)
    full = F.pad(full, (0, extra_w, 0, extra_h))  # rows no kernel tap reaches
    ref = full[:, :, rows[0] : rows[0] + rows[1], cols[0] : cols[0] + cols[1]] + br[:, None, None]
    ref.backward(torch.tensor(_nchw(g)))
    name = f"Conv2DTranspose[{label}, {method}]"
    compare("conv", f"{name} forward", y, _nhwc(ref))
    compare("conv", f"{name} d/dx", gx, _nhwc(xr.grad))
    compare("conv", f"{name} d/dkernel", gws[0], wr.grad.numpy().transpose(2, 3, 1, 0))
    compare("conv", f"{name} d/dbias", gws[1], br.grad)


@pytest.mark.parametrize("separable", [False, True])
def test_depthwise_and_separable_match_torch(separable):
    x = np.random.default_rng(4).standard_normal((2, 6, 7, 3)).astype(np.float32)
    kw = dict(kernel_size=3, depth_multiplier=2, strides=(1, 2), padding="same")
    layer = layers.SeparableConv2D(4, **kw) if separable else layers.DepthwiseConv2D(**kw)
    y, gx, gws, g = _run_ours(layer, x)
    w = layer.get_weights()
    pads = layer._pads((6, 7))
    xr = torch_tensor(_nchw(x), requires_grad=True)
    dw = torch_tensor(w[0].reshape(3, 3, 1, 6).transpose(3, 2, 0, 1), requires_grad=True)
    params = [dw]
    out = F.conv2d(F.pad(xr, _torch_pads(pads)), dw, None, (1, 2), groups=3)
    if separable:
        pw = torch_tensor(w[1].transpose(3, 2, 0, 1), requires_grad=True)
        out = F.conv2d(out, pw)
        params.append(pw)
    b = torch_tensor(w[-1], requires_grad=True)
    ref = out + b[:, None, None]
    ref.backward(torch.tensor(_nchw(g)))
    name = type(layer).__name__
    compare("conv", f"{name} forward", y, _nhwc(ref))
    compare("conv", f"{name} d/dx", gx, _nhwc(xr.grad))
    compare(
        "conv",
        f"{name} d/ddepthwise",
        gws[0],
        dw.grad.numpy().transpose(2, 3, 1, 0).reshape(3, 3, 3, 2),
    )
    if separable:
        compare(
            "conv", f"{name} d/dpointwise", gws[1], params[1].grad.numpy().transpose(2, 3, 1, 0)
        )
    compare("conv", f"{name} d/dbias", gws[-1], b.grad)


POOLS = [
    ("MaxPooling2D", dict(), (2, 6, 8, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2), (2, 7, 7, 2)),
    ("MaxPooling2D", dict(pool_size=2, padding="same"), (2, 5, 7, 2)),
    ("MaxPooling1D", dict(pool_size=3, strides=1, padding="same"), (2, 6, 3)),
    ("AveragePooling2D", dict(), (2, 7, 6, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=1, padding="same"), (2, 5, 5, 2)),
    ("AveragePooling2D", dict(pool_size=2, padding="same"), (2, 5, 7, 2)),
    ("AveragePooling1D", dict(pool_size=2), (2, 7, 3)),
]


def _torch_pool(kind, xr, pool, strides, pads):
    if kind.startswith("Max"):
        xr = F.pad(xr, pads, value=-float("inf"))
        return F.max_pool2d(xr, pool, strides) if xr.ndim == 4 else F.max_pool1d(xr, pool, strides)
    # Keras's "same" average excludes the pad: PyTorch's ceil_mode windows clipped at the end,
    # and symmetric padding with count_include_pad=False
    front = pads[2::-2] if xr.ndim == 4 else pads[:1]
    ceil = any(p > 0 for p in pads[1::2]) and all(p == 0 for p in pads[0::2])
    pool_fn = F.avg_pool2d if xr.ndim == 4 else F.avg_pool1d
    return pool_fn(xr, pool, strides, padding=front if any(front) and not ceil else 0,
                   ceil_mode=ceil, count_include_pad=False)  # fmt: skip


@pytest.mark.parametrize(("kind", "kw", "shape"), POOLS, ids=[f"{p[0]}{p[1]}" for p in POOLS])
def test_pooling_matches_torch(kind, kw, shape):
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    layer = getattr(layers, kind)(**kw)
    y, gx, _, g = _run_ours(layer, x)
    xr = torch_tensor(_nchw(x), requires_grad=True)
    rank = len(shape) - 2
    pool, strides = layer.pool_size, layer.strides
    spatial = shape[1:-1]
    pads = [
        nn_ops.conv_padding(n, k, s, 1, layer.padding) for n, k, s in zip(spatial, pool, strides)
    ]
    flat = tuple(v for pair in reversed(pads) for v in pair)
    ref = _torch_pool(
        kind, xr, pool if rank == 2 else pool[0], strides if rank == 2 else strides[0], flat
    )
    ref.backward(torch.tensor(_nchw(g)))
    compare("pooling", f"{kind}{kw} forward", y, _nhwc(ref))
    compare("pooling", f"{kind}{kw} d/dx", gx, _nhwc(xr.grad))


@pytest.mark.parametrize("kind", ["GlobalAveragePooling2D", "GlobalMaxPooling2D",
                                  "GlobalAveragePooling1D", "GlobalMaxPooling1D"])  # fmt: skip
def test_global_pooling_matches_torch(kind):
    shape = (2, 4, 5, 3) if kind.endswith("2D") else (2, 6, 3)
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    y, gx, _, g = _run_ours(getattr(layers, kind)(), x)
    xr = torch_tensor(x, requires_grad=True)
    axes = tuple(range(1, len(shape) - 1))
    ref = xr.mean(axes) if "Average" in kind else xr.amax(axes)
    ref.backward(torch.tensor(g))
    compare("pooling", f"{kind} forward", y, ref)
    compare("pooling", f"{kind} d/dx", gx, xr.grad)


def test_embedding_matches_torch():
    ids = np.array([[1, 4, 4, 0], [2, 1, 7, 4]])
    layer = layers.Embedding(8, 5)
    y, _, gws, g = _run_ours(layer, ids)
    table = torch_tensor(layer.get_weights()[0], requires_grad=True)
    ref = F.embedding(torch.tensor(ids), table)
    ref.backward(torch.tensor(g))
    compare("embedding", "Embedding forward", y, ref)
    compare("embedding", "Embedding d/dembeddings (repeated ids)", gws[0], table.grad)


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_upsampling_matches_torch(mode):
    x = np.random.default_rng(7).standard_normal((2, 3, 4, 2)).astype(np.float32)
    y, gx, _, g = _run_ours(layers.UpSampling2D((2, 3), interpolation=mode), x)
    xr = torch_tensor(_nchw(x), requires_grad=True)
    kw = {"align_corners": False} if mode == "bilinear" else {}
    ref = F.interpolate(xr, scale_factor=(2, 3), mode=mode, **kw)
    ref.backward(torch.tensor(_nchw(g)))
    compare("reshaping", f"UpSampling2D[{mode}] forward", y, _nhwc(ref))
    compare("reshaping", f"UpSampling2D[{mode}] d/dx", gx, _nhwc(xr.grad))


def test_zero_padding_and_cropping_match_torch():
    x = np.random.default_rng(8).standard_normal((2, 5, 6, 2)).astype(np.float32)
    y, gx, _, g = _run_ours(layers.ZeroPadding2D(((1, 2), (0, 3))), x)
    xr = torch_tensor(_nchw(x), requires_grad=True)
    ref = F.pad(xr, (0, 3, 1, 2))
    ref.backward(torch.tensor(_nchw(g)))
    compare("reshaping", "ZeroPadding2D forward", y, _nhwc(ref))
    compare("reshaping", "ZeroPadding2D d/dx", gx, _nhwc(xr.grad))
    y, gx, _, g = _run_ours(layers.Cropping2D(((1, 2), (2, 1))), x)
    xr = torch_tensor(_nchw(x), requires_grad=True)
    ref = xr[:, :, 1:-2, 2:-1]
    ref.backward(torch.tensor(_nchw(g)))
    compare("reshaping", "Cropping2D forward", y, _nhwc(ref))
    compare("reshaping", "Cropping2D d/dx", gx, _nhwc(xr.grad))


CONV3D = [
    ("3x3x3 valid", dict(filters=4, kernel_size=3), (2, 5, 6, 7, 3)),
    ("same strides groups", dict(filters=6, kernel_size=(2, 3, 2), strides=(2, 1, 2),
                                 padding="same", groups=3), (2, 7, 5, 6, 6)),
    ("dilation same", dict(filters=3, kernel_size=3, dilation_rate=(2, 1, 2), padding="same"),
     (1, 7, 6, 7, 2)),
    ("channels_first", dict(filters=2, kernel_size=2, data_format="channels_first"),
     (2, 3, 4, 5, 4)),
]  # fmt: skip


@pytest.mark.parametrize(("label", "kw", "shape"), CONV3D, ids=[c[0] for c in CONV3D])
def test_conv3d_matches_torch(label, kw, shape):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    layer = layers.Conv3D(**kw)
    y, gx, gws, g = _run_ours(layer, x)
    first = kw.get("data_format") == "channels_first"
    to_first, to_last = (0, 4, 1, 2, 3), (0, 2, 3, 4, 1)
    xf = x if first else x.transpose(to_first)
    pads = layer._pads(xf.transpose(to_last).shape[1:4])
    w, b = layer.get_weights()
    xr = torch_tensor(xf, requires_grad=True)
    wr = torch_tensor(w.transpose(4, 3, 0, 1, 2), requires_grad=True)
    br = torch_tensor(b, requires_grad=True)
    torch_pads = (*pads[2], *pads[1], *pads[0])
    ref = F.conv3d(F.pad(xr, torch_pads), wr, br, layer.strides, 0, layer.dilation_rate,
                   layer.groups)  # fmt: skip
    ref.backward(torch.tensor(g if first else g.transpose(to_first)))
    back = (lambda t: t) if first else (lambda t: t.detach().numpy().transpose(to_last))
    name = f"Conv3D[{label}]"
    compare("conv", f"{name} forward", y, back(ref))
    compare("conv", f"{name} d/dx", gx, back(xr.grad))
    compare("conv", f"{name} d/dkernel", gws[0], wr.grad.numpy().transpose(2, 3, 4, 1, 0))
    compare("conv", f"{name} d/dbias", gws[1], br.grad)
