"""Convolution: the nn_ops primitives against a direct NumPy reference, both formulations
(im2col and shift) against each other, and the layer contract rows."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import layers
from xpnet.ops import nn as nn_ops

from helpers import OpCase, assert_close, assert_on_active_backend
from layer_contract import LayerCase

# --------------------------------------------------------------------------- NumPy reference


def np_conv2d(x, w, b=None, strides=(1, 1), dilation=(1, 1), pads=((0, 0), (0, 0)), groups=1):
    """Direct convolution: one strided window of x per kernel position, summed."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    n, h, wd, _ = x.shape
    kh, kw, cg, f = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    ho = (h - (kh - 1) * dh - 1) // sh + 1
    wo = (wd - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((n, ho, wo, f))
    fg = f // groups
    for g in range(groups):
        xs = x[..., g * cg : (g + 1) * cg]
        for i in range(kh):
            for j in range(kw):
                patch = xs[
                    :,
                    i * dh : i * dh + sh * (ho - 1) + 1 : sh,
                    j * dw : j * dw + sw * (wo - 1) + 1 : sw,
                ]
                out[..., g * fg : (g + 1) * fg] += patch @ w[i, j, :, g * fg : (g + 1) * fg]
    return out if b is None else out + b


def np_conv2d_transpose(x, w, strides, padding, output_padding=None, dilation=(1, 1)):
    """Scatter each input pixel times the kernel into the output, then crop (the definition)."""
    n, h, wd, _ = x.shape
    kh, kw, f, _ = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    op = (None, None) if output_padding is None else output_padding
    ho, (ph, _) = nn_ops.conv_transpose_geometry(h, kh, sh, dh, padding, op[0])
    wo, (pw, _) = nn_ops.conv_transpose_geometry(wd, kw, sw, dw, padding, op[1])
    full = np.zeros(
        (n, (h - 1) * sh + (kh - 1) * dh + 1 + ho, (wd - 1) * sw + (kw - 1) * dw + 1 + wo, f)
    )
    for y in range(h):
        for q in range(wd):
            for i in range(kh):
                for j in range(kw):
                    full[:, y * sh + i * dh, q * sw + j * dw, :] += x[:, y, q, :] @ w[i, j].T
    return full[:, ph : ph + ho, pw : pw + wo, :]


def _conv_case(label, xshape, wshape, method, **kw):
    pads = kw.pop("pads", ((0, 0), (0, 0)))
    relu = kw.pop("relu", False)

    def fn(x, w, b):
        return nn_ops.conv2d(x, w, b, padding=pads, relu=relu, method=method, **kw)

    def ref(x, w, b):
        strides = nn_ops._pair(kw.get("strides", 1), "")
        dil = nn_ops._pair(kw.get("dilation_rate", 1), "")
        out = np_conv2d(x, w, b, strides, dil, pads, kw.get("groups", 1))
        return np.maximum(out, 0.0) if relu else out

    f = wshape[-1]
    return OpCase(
        "nn_ops.conv2d",
        fn,
        ref,
        [xshape, wshape, (f,)],
        label=f"{method}, {label}",
        gradcheck_kw={"max_checks": 40},
    )


CONV_CONFIGS = [
    ("3x3", (2, 6, 5, 3), (3, 3, 3, 4), {}),
    ("stride 2, pads", (2, 7, 6, 2), (3, 2, 2, 3), {"strides": 2, "pads": ((1, 1), (0, 1))}),
    ("dilation", (1, 8, 7, 2), (2, 3, 2, 2), {"dilation_rate": (2, 1), "pads": ((1, 0), (2, 2))}),
    ("groups", (2, 5, 5, 4), (3, 3, 2, 6), {"groups": 2}),
    ("depthwise", (2, 5, 6, 3), (2, 2, 1, 6), {"groups": 3, "strides": (1, 2)}),
    ("1x1", (2, 3, 4, 5), (1, 1, 5, 2), {}),
]


def _away_from_relu_kink(rng):
    """Inputs whose pre-activations all keep 0.05 from 0 (finite differences stay on one side)."""
    while True:
        x, w = rng.standard_normal((2, 4, 4, 2)), rng.standard_normal((2, 2, 2, 3))
        if np.abs(np_conv2d(x, w)).min() > 0.05:
            return [x, w]


OP_CASES = [
    _conv_case(label, xs, ws, method, **dict(kw))
    for method in nn_ops.CONV_METHODS
    for label, xs, ws, kw in CONV_CONFIGS
] + [
    OpCase(
        "nn_ops.conv2d",
        lambda x, w: nn_ops.conv2d(x, w, relu=True),
        lambda x, w: np.maximum(np_conv2d(x, w), 0.0),
        make=_away_from_relu_kink,
        label="fused relu",
    ),
]

TRANSPOSE_CONFIGS = [
    ("valid s2", (2, 3, 4, 3), (3, 3, 2, 3), {"strides": 2, "padding": "valid"}),
    ("same s2", (1, 3, 3, 2), (3, 3, 2, 2), {"strides": 2, "padding": "same"}),
    ("same k4 s2", (1, 3, 3, 2), (4, 4, 3, 2), {"strides": 2, "padding": "same"}),
    (
        "output_padding",
        (1, 3, 2, 2),
        (3, 2, 2, 2),
        {"strides": (2, 3), "padding": "valid", "output_padding": (1, 2)},
    ),
    ("k<s", (1, 2, 3, 2), (2, 2, 2, 2), {"strides": 3, "padding": "valid"}),
    ("dilation", (1, 3, 3, 2), (2, 2, 3, 2), {"dilation_rate": 2, "padding": "same"}),
]


def _transpose_case(label, xs, ws, kw, method):
    def fn(x, w):
        return nn_ops.conv2d_transpose(x, w, method=method, **kw)

    def ref(x, w):
        s = nn_ops._pair(kw.get("strides", 1), "")
        d = nn_ops._pair(kw.get("dilation_rate", 1), "")
        op = kw.get("output_padding")
        return np_conv2d_transpose(x, w, s, kw["padding"], op and nn_ops._pair(op, ""), d)

    return OpCase(
        "nn_ops.conv2d_transpose",
        fn,
        ref,
        [xs, ws],
        label=f"{method}, {label}",
        gradcheck_kw={"max_checks": 40},
    )


OP_CASES += [
    _transpose_case(label, xs, ws, kw, method)
    for method in nn_ops.CONV_METHODS
    for label, xs, ws, kw in TRANSPOSE_CONFIGS
]


def _images(shape):
    return lambda rng: rng.standard_normal(shape)


LAYER_CASES = [
    LayerCase(lambda: layers.Conv2D(4, 3), (2, 6, 6, 3), (2, 4, 4, 4), 3 * 3 * 3 * 4 + 4),
    LayerCase(
        lambda: layers.Conv2D(4, (3, 2), strides=2, padding="same", activation="tanh"),
        (2, 7, 6, 2),
        (2, 4, 3, 4),
        3 * 2 * 2 * 4 + 4,
        label="same, stride 2, tanh",
    ),
    LayerCase(
        lambda: layers.Conv2D(6, 2, dilation_rate=2, groups=3, use_bias=False),
        (1, 6, 5, 3),
        (1, 4, 3, 6),
        2 * 2 * 1 * 6,
        label="dilation, groups",
    ),
    LayerCase(
        lambda: layers.Conv2D(3, 3, padding="same", data_format="channels_first"),
        (2, 2, 5, 4),
        (2, 3, 5, 4),
        3 * 3 * 2 * 3 + 3,
        label="channels_first",
    ),
    LayerCase(
        lambda: layers.Conv2D(2, 2, activation="relu"),
        (2, 4, 4, 2),
        (2, 3, 3, 2),
        2 * 2 * 2 * 2 + 2,
        label="fused relu",
        inputs=lambda rng: rng.choice([-1.0, 1.0], (2, 4, 4, 2)),
        # kernel values from glorot are irrational: no pre-activation lands near 0
    ),
    LayerCase(lambda: layers.Conv1D(4, 3), (2, 7, 3), (2, 5, 4), 3 * 3 * 4 + 4),
    LayerCase(
        lambda: layers.Conv1D(4, 3, padding="causal", dilation_rate=2, groups=2),
        (2, 7, 2),
        (2, 7, 4),
        3 * 1 * 4 + 4,
        label="causal, dilation, groups",
    ),
    LayerCase(
        lambda: layers.Conv1D(2, 2, strides=2, padding="same", data_format="channels_first"),
        (2, 3, 5),
        (2, 2, 3),
        2 * 3 * 2 + 2,
        label="channels_first",
    ),
    LayerCase(
        lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same"),
        (2, 3, 3, 2),
        (2, 6, 6, 3),
        3 * 3 * 3 * 2 + 3,
    ),
    LayerCase(
        lambda: layers.Conv2DTranspose(
            2, (3, 2), strides=(2, 1), output_padding=(1, 0), data_format="channels_first"
        ),
        (1, 2, 3, 3),
        (1, 2, 8, 4),
        3 * 2 * 2 * 2 + 2,
        label="output_padding, channels_first",
    ),
    LayerCase(
        lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
        (2, 4, 5, 3),
        (2, 4, 5, 6),
        3 * 3 * 3 * 2 + 6,
    ),
    LayerCase(
        lambda: layers.DepthwiseConv2D((2, 3), strides=2, use_bias=False),
        (1, 5, 7, 2),
        (1, 2, 3, 2),
        2 * 3 * 2,
        label="stride 2",
    ),
    LayerCase(
        lambda: layers.SeparableConv2D(4, 3, depth_multiplier=2, activation="relu"),
        (2, 5, 5, 2),
        (2, 3, 3, 4),
        3 * 3 * 2 * 2 + 4 * 4 + 4,
    ),
]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_op_forward_matches_numpy(case):
    raw = case.inputs()
    out = case.fn(*[xn.Tensor(a, dtype="float32") for a in raw])
    assert_on_active_backend(out)
    assert out.dtype == xn.backend.dtype("float32", out.xp)
    expected = case.ref(*[a.astype(np.float32).astype(np.float64) for a in raw])
    assert_close(out, expected, dtype="float32", atol=2e-5)


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_op_backward_matches_finite_differences(case):
    assert xn.gradcheck(case.fn, *case.inputs(), **case.gradcheck_kw).passed


@pytest.mark.parametrize(
    ("label", "xs", "ws", "kw"), CONV_CONFIGS, ids=[c[0] for c in CONV_CONFIGS]
)
def test_im2col_and_shift_agree(label, xs, ws, kw):
    rng = np.random.default_rng(1)
    x0, w0, g0 = rng.standard_normal(xs), rng.standard_normal(ws), None
    results = []
    for method in nn_ops.CONV_METHODS:
        x = xn.Tensor(x0, dtype="float64", requires_grad=True)
        w = xn.Tensor(w0, dtype="float64", requires_grad=True)
        kw2 = dict(kw)
        pads = kw2.pop("pads", ((0, 0), (0, 0)))
        y = nn_ops.conv2d(x, w, padding=pads, method=method, **kw2)
        g0 = rng.standard_normal(y.shape) if g0 is None else g0
        y.backward(xn.Tensor(g0, dtype="float64"))
        results.append([xn.to_numpy(t) for t in (y, x.grad, w.grad)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_default_method_switch_and_errors():
    assert nn_ops.default_conv_method() == "im2col"
    nn_ops.set_default_conv_method("shift")
    try:
        assert nn_ops.default_conv_method() == "shift"
        y = layers.Conv2D(2, 3)(np.ones((1, 4, 4, 1), dtype="float32"))
        assert y.shape == (1, 2, 2, 2)
    finally:
        nn_ops.set_default_conv_method("im2col")
    with pytest.raises(ValueError, match="conv method must be one of"):
        nn_ops.set_default_conv_method("fft")
    x = xn.Tensor(np.ones((1, 4, 4, 3), dtype="float32"))
    with pytest.raises(ValueError, match="method must be one of"):
        nn_ops.conv2d(x, np.ones((3, 3, 3, 2), dtype="float32"), method="winograd")
    with pytest.raises(ValueError, match="groups=2 need a kernel of shape"):
        nn_ops.conv2d(x, np.ones((3, 3, 3, 2), dtype="float32"), groups=2)
    with pytest.raises(ValueError, match="does not fit inputs"):
        nn_ops.conv2d(x, np.ones((5, 5, 3, 2), dtype="float32"))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: layers.Conv2D(0, 3), "expected a positive integer for filters"),
        (lambda: layers.Conv2D(4, (3, 0)), "kernel_size"),
        (lambda: layers.Conv2D(4, 3, padding="full"), "padding to be one of"),
        (lambda: layers.Conv2D(4, 3, padding="causal"), "padding to be one of"),
        (lambda: layers.Conv2D(4, 3, data_format="NHWC"), "data_format"),
        (lambda: layers.Conv2D(5, 3, groups=2), "filters must be divisible by groups"),
        (lambda: layers.Conv2D(4, 3, strides=2, dilation_rate=2), "strides > 1 cannot"),
        (lambda: layers.Conv1D(4, (3, 3)), "tuple of 1"),
        (lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2), "smaller than"),
        (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
    ],
)
def test_conv_arguments_are_validated(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_build_errors_are_actionable():
    with pytest.raises(ValueError, match="not divisible by groups=2"):
        layers.Conv2D(4, 1, groups=2)(np.ones((1, 3, 3, 3), dtype="float32"))
    conv = layers.Conv2D(2, 3)
    with pytest.raises(ValueError, match="expected inputs of rank 4"):
        conv(np.ones((3, 3, 1), dtype="float32"))
    conv(np.ones((1, 5, 5, 1), dtype="float32"))
    with pytest.raises(ValueError, match="last dimension 1, got 3"):
        conv(np.ones((1, 5, 5, 3), dtype="float32"))


def test_channels_first_equals_channels_last():
    x = np.random.default_rng(0).standard_normal((2, 6, 5, 3)).astype(np.float32)
    last = layers.Conv2D(4, 3, strides=(2, 1), padding="same")
    first = layers.Conv2D(4, 3, strides=(2, 1), padding="same", data_format="channels_first")
    y_last = last(x)
    first(x.transpose(0, 3, 1, 2))
    first.set_weights(last.get_weights())
    y_first = first(x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(
        xn.to_numpy(y_first).transpose(0, 2, 3, 1), xn.to_numpy(y_last), rtol=1e-5, atol=1e-6
    )


def test_keras_same_padding_puts_the_extra_row_after():
    assert nn_ops.conv_padding(6, 3, 2, 1, "same") == (0, 1)
    assert nn_ops.conv_padding(7, 4, 1, 1, "same") == (1, 2)
    assert nn_ops.conv_padding(5, 3, 1, 2, "causal") == (4, 0)
    assert nn_ops.conv_transpose_geometry(3, 3, 2, 1, "same") == (6, (0, 1))
    assert nn_ops.conv_transpose_geometry(3, 4, 2, 1, "same") == (6, (1, 1))
    assert nn_ops.conv_transpose_geometry(3, 2, 3, 1, "valid") == (9, (0, -1))


def test_default_names_follow_keras():
    layers.clear_session()
    names = [
        layers.Conv2D(1, 1).name,
        layers.Conv2DTranspose(1, 1).name,
        layers.DepthwiseConv2D(1).name,
        layers.Conv1D(1, 1).name,
        layers.Conv2D(1, 1).name,
    ]
    assert names == ["conv2d", "conv2d_transpose", "depthwise_conv2d", "conv1d", "conv2d_1"]


def test_relu_is_fused_into_the_convolution_node():
    conv = layers.Conv2D(2, 3, activation="relu")
    y = conv(np.ones((1, 4, 4, 1), dtype="float32"))
    assert isinstance(y._ctx, nn_ops.Conv2D)
    y = layers.Conv2D(2, 3, activation="tanh")(np.ones((1, 4, 4, 1), dtype="float32"))
    assert not isinstance(y._ctx, nn_ops.Conv2D)
