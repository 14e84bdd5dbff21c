"""Normalization layers: contract rows, the fused Standardize op against its composite,
moving statistics, Keras defaults, and Normalization.adapt on training data."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet import layers
from xpnet.ops.norm import Standardize, standardize, standardize_composite

from helpers import OpCase, assert_close, assert_on_active_backend
from layer_contract import LayerCase

LAYER_CASES = [
    # BatchNormalization: inference (moving statistics) and training (batch statistics)
    LayerCase(lambda: layers.BatchNormalization(), (8, 4), (8, 4), 16, label="inference"),
    LayerCase(
        lambda: layers.BatchNormalization(momentum=0.9),
        (8, 4),
        (8, 4),
        16,
        label="training",
        training=True,
    ),
    LayerCase(
        lambda: layers.BatchNormalization(),
        (4, 3, 3, 2),
        (4, 3, 3, 2),
        8,
        label="4-D channels_last, training",
        training=True,
    ),
    LayerCase(
        lambda: layers.BatchNormalization(axis=1),
        (4, 3, 2, 2),
        (4, 3, 2, 2),
        12,
        label="axis=1, training",
        training=True,
    ),
    LayerCase(
        lambda: layers.BatchNormalization(center=False, scale=False),
        (6, 3),
        (6, 3),
        6,
        label="no affine, training",
        training=True,
        train_step=False,
    ),
    LayerCase(
        lambda: layers.BatchNormalization(scale=False, beta_regularizer="l2"),
        (6, 3),
        (6, 3),
        9,
        label="no gamma, inference",
    ),
    # LayerNormalization
    LayerCase(lambda: layers.LayerNormalization(), (3, 5), (3, 5), 10),
    LayerCase(
        lambda: layers.LayerNormalization(axis=[1, 2]), (2, 3, 4), (2, 3, 4), 24, label="axes 1,2"
    ),
    LayerCase(
        lambda: layers.LayerNormalization(axis=1, center=False),
        (2, 3, 4),
        (2, 3, 4),
        3,
        label="axis=1, no beta",
    ),
    LayerCase(
        lambda: layers.LayerNormalization(rms_scaling=True), (3, 5), (3, 5), 5, label="rms_scaling"
    ),
    # GroupNormalization
    LayerCase(lambda: layers.GroupNormalization(groups=2), (2, 3, 4), (2, 3, 4), 8),
    LayerCase(
        lambda: layers.GroupNormalization(groups=-1, axis=1),
        (2, 4, 3),
        (2, 4, 3),
        8,
        label="instance norm, channels_first",
    ),
    LayerCase(
        lambda: layers.GroupNormalization(groups=1, scale=False),
        (2, 2, 2, 4),
        (2, 2, 2, 4),
        4,
        label="one group, no gamma",
    ),
    # RMS and unit norms
    LayerCase(lambda: layers.RMSNormalization(), (3, 5), (3, 5), 5),
    LayerCase(lambda: layers.RMSNormalization(axis=[1, 2]), (2, 3, 4), (2, 3, 4), 12, label="axes"),
    LayerCase(lambda: layers.UnitNormalization(), (3, 4), (3, 4), 0, train_step=False),
    LayerCase(
        lambda: layers.UnitNormalization(axis=[1, 2]),
        (2, 3, 4),
        (2, 3, 4),
        0,
        label="axes",
        train_step=False,
    ),
    # Normalization with given statistics (adapt has its own tests below)
    LayerCase(
        lambda: layers.Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 1.0, 0.25]),
        (5, 3),
        (5, 3),
        0,
        train_step=False,
    ),
    LayerCase(
        lambda: layers.Normalization(axis=None, mean=2.0, variance=4.0, invert=True),
        (4, 2, 3),
        (4, 2, 3),
        0,
        label="scalar, invert",
        train_step=False,
    ),
]


# --------------------------------------------------------------------------- the fused op


def _np_standardize(x, gamma, beta, axes, eps):
    m = x.mean(axis=axes, keepdims=True)
    v = x.var(axis=axes, keepdims=True)
    y = (x - m) / np.sqrt(v + eps)
    if gamma is not None:
        y = y * gamma
    return y if beta is None else y + beta


OP_CASES = [
    OpCase(
        "standardize",
        lambda x, g, b: standardize(x, g, b, axes=(0,), epsilon=1e-3),
        lambda x, g, b: _np_standardize(x, g, b, (0,), 1e-3),
        [(6, 4), (4,), (4,)],
        label="per channel (batch norm)",
    ),
    OpCase(
        "standardize",
        lambda x, g, b: standardize(x, g, b, axes=(1,), epsilon=1e-3),
        lambda x, g, b: _np_standardize(x, g, b, (1,), 1e-3),
        [(3, 5), (5,), (5,)],
        label="per sample (layer norm)",
    ),
    OpCase(
        "standardize",
        lambda x: standardize(x, axes=(1, 2), epsilon=1e-5),
        lambda x: _np_standardize(x, None, None, (1, 2), 1e-5),
        [(2, 3, 4)],
        label="no affine",
    ),
    OpCase(
        "standardize",
        lambda x, g: standardize(x, g, axes=(0, 1, 2), epsilon=1e-3),
        lambda x, g: _np_standardize(x, g, None, (0, 1, 2), 1e-3),
        [(2, 3, 3, 2), (2,)],
        label="4-D, gamma only",
    ),
]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_fused_op_forward_and_gradient(case):
    raw = case.inputs()
    out = case.fn(*[xn.Tensor(a, dtype="float32") for a in raw])
    assert_on_active_backend(out)
    assert out.dtype == B.dtype("float32", out.xp)
    assert_close(out, case.ref(*[a.astype(np.float32).astype(np.float64) for a in raw]), rtol=1e-5)
    assert xn.gradcheck(case.fn, *raw).passed


@pytest.mark.parametrize(
    ("shape", "axes", "gshape"),
    [((16, 5), (0,), (5,)), ((4, 6), (1,), (6,)), ((3, 4, 2, 5), (0, 1, 2), (5,))],
)
def test_fused_standardize_matches_the_composite(shape, axes, gshape):
    """Values and every gradient of the fused op equal the composite of elementary ops."""
    rng = np.random.default_rng(0)
    raw = [rng.normal(2.0, 3.0, shape), rng.normal(1.0, 0.5, gshape), rng.normal(size=gshape)]
    g = rng.normal(size=shape)
    results = []
    for fn in (standardize, standardize_composite):
        x, gamma, beta = (xn.Tensor(a, dtype="float64", requires_grad=True) for a in raw)
        y = fn(x, gamma, beta, axes, 1e-3)
        (y * xn.Tensor(g, dtype="float64")).sum().backward()
        results.append([xn.to_numpy(t) for t in (y, x.grad, gamma.grad, beta.grad)])
    for fused, composite in zip(*results):
        np.testing.assert_allclose(fused, composite, rtol=1e-10, atol=1e-12)


def test_fused_standardize_saves_no_new_full_size_array():
    x = xn.Tensor(np.random.default_rng(0).normal(size=(64, 8)), requires_grad=True)
    gamma = xn.Tensor(np.ones(8), requires_grad=True)
    y = standardize(x, gamma, None, axes=(1,))
    assert isinstance(y._ctx, Standardize)
    saved = [v for v in vars(y._ctx).values() if hasattr(v, "shape") and v is not x.data]
    assert saved and all(math.prod(v.shape) < x.size for v in saved)


# --------------------------------------------------------------------------- BatchNormalization


def test_batch_norm_training_uses_batch_statistics_and_updates_moving_ones():
    rng = np.random.default_rng(1)
    bn = layers.BatchNormalization(momentum=0.8, epsilon=1e-3)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(4):
        x = rng.normal(2.0, 3.0, (32, 3)).astype(np.float32)
        y = bn(x, training=True)
        xd = x.astype(np.float64)
        bm, bv = xd.mean(0), xd.var(0)  # Keras: the biased batch variance
        assert_close(y, (xd - bm) / np.sqrt(bv + 1e-3), rtol=1e-5, atol=1e-5)
        mean, var = 0.8 * mean + 0.2 * bm, 0.8 * var + 0.2 * bv
    assert_close(bn.moving_mean, mean, rtol=1e-5)
    assert_close(bn.moving_variance, var, rtol=1e-5)
    assert bn.moving_mean.dtype == B.dtype("float32", bn.moving_mean.xp)
    # inference: the moving statistics replace the batch's, and nothing moves
    x = rng.normal(size=(5, 3)).astype(np.float32)
    assert_close(bn(x), (x - mean) / np.sqrt(var + 1e-3), rtol=1e-5, atol=1e-5)
    assert_close(bn.moving_mean, mean, rtol=1e-5)


def test_batch_norm_frozen_runs_in_inference_mode_as_keras3():
    bn = layers.BatchNormalization()
    x = np.random.default_rng(2).normal(5.0, 2.0, (16, 4)).astype(np.float32)
    bn(x, training=True)
    before = bn.get_weights()
    bn.trainable = False
    xt = xn.Tensor(x, requires_grad=True)
    y = bn(xt, training=True)
    after = bn.get_weights()
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    mm, mv = before[2], before[3]
    assert_close(y, (x - mm) / np.sqrt(mv + 1e-3), rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert bn.gamma.grad is None and bn.trainable_weights == []
    assert xt.grad is not None


def test_batch_norm_moving_statistics_stay_float32_after_a_float64_check():
    case = LAYER_CASES[1]
    layer = case.make()
    x = np.random.default_rng(0).normal(size=(8, 4))
    layer(xn.Tensor(x, dtype="float32"), training=True)
    xn.gradcheck(lambda t: layer(t, training=True), x, params=layer.trainable_weights)
    for p in layer.weights:
        assert p.dtype == B.dtype("float32", p.xp), p.name


def test_batch_norm_checks_its_arguments_and_inputs():
    with pytest.raises(ValueError, match=r"BatchNormalization: expected momentum in \[0, 1\]"):
        layers.BatchNormalization(momentum=1.5)
    with pytest.raises(ValueError, match=r"BatchNormalization: expected epsilon in \[0, inf\]"):
        layers.BatchNormalization(epsilon=-1e-3)
    with pytest.raises(ValueError, match="BatchNormalization: expected an integer for axis"):
        layers.BatchNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match="synchronized=True"):
        layers.BatchNormalization(synchronized=True)
    bn = layers.BatchNormalization()
    bn(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"last dimension 3, got 4"):
        bn(np.ones((2, 4)))
    with pytest.raises(ValueError, match="axis 3 is out of range for inputs of rank 2"):
        layers.BatchNormalization(axis=3)(np.ones((2, 3)))


# --------------------------------------------------------------------------- the other norms


def test_layer_norm_values_and_rms_scaling_as_keras():
    x = np.random.default_rng(3).normal(1.0, 2.0, (4, 6))
    assert_close(layers.LayerNormalization()(x), _np_standardize(x, None, None, (1,), 1e-3))
    # Keras 3's rms_scaling divides by sqrt(variance + eps) without centring the output
    y = layers.LayerNormalization(rms_scaling=True, epsilon=1e-3)(x)
    assert_close(y, x / np.sqrt(x.var(axis=1, keepdims=True) + 1e-3), rtol=1e-5)


def test_group_norm_special_cases():
    x = np.random.default_rng(4).normal(size=(2, 3, 3, 4))
    one = layers.GroupNormalization(groups=1, epsilon=1e-3)(x)
    assert_close(one, _np_standardize(x, None, None, (1, 2, 3), 1e-3), rtol=1e-5)
    inst = layers.GroupNormalization(groups=-1, epsilon=1e-3)(x)
    assert_close(inst, _np_standardize(x, None, None, (1, 2), 1e-3), rtol=1e-5)
    two = layers.GroupNormalization(groups=2, epsilon=1e-3)(x)
    g = x.reshape(2, 3, 3, 2, 2)
    assert_close(two, _np_standardize(g, None, None, (1, 2, 4), 1e-3).reshape(x.shape), rtol=1e-5)
    with pytest.raises(ValueError, match=r"4 channels .* cannot be split into groups=3"):
        layers.GroupNormalization(groups=3)(x)
    with pytest.raises(ValueError, match="expected a positive integer \\(or -1\\) for groups"):
        layers.GroupNormalization(groups=0)


def test_rms_and_unit_norm_values():
    x = np.random.default_rng(5).normal(size=(3, 5))
    rms = layers.RMSNormalization(epsilon=1e-6)(x)
    assert_close(rms, x / np.sqrt((x**2).mean(axis=1, keepdims=True) + 1e-6), rtol=1e-5)
    unit = xn.to_numpy(layers.UnitNormalization()(np.vstack([x, np.zeros((1, 5))])))
    np.testing.assert_allclose(np.linalg.norm(unit[:3], axis=1), 1.0, rtol=1e-6)
    assert np.all(unit[3] == 0)  # no NaN for a zero vector


@pytest.mark.parametrize(
    ("cls", "defaults"),
    [
        (layers.BatchNormalization, {"axis": -1, "momentum": 0.99, "epsilon": 1e-3}),
        (layers.LayerNormalization, {"axis": -1, "epsilon": 1e-3, "rms_scaling": False}),
        (layers.GroupNormalization, {"groups": 32, "axis": -1, "epsilon": 1e-3}),
        (layers.RMSNormalization, {"axis": -1, "epsilon": 1e-6}),
        (layers.UnitNormalization, {"axis": -1}),
        (layers.Normalization, {"axis": -1, "mean": None, "variance": None, "invert": False}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_keras_defaults(cls, defaults):
    params = inspect.signature(cls.__init__).parameters
    for name, value in defaults.items():
        assert params[name].default == value, f"{cls.__name__}.{name}"
    for name in ("center", "scale"):
        if name in params:
            assert params[name].default is True


# --------------------------------------------------------------------------- Normalization.adapt


def _train_test(seed=6):
    rng = np.random.default_rng(seed)
    return rng.normal(3.0, 2.0, (200, 3)), rng.normal(3.0, 2.0, (50, 3))


def test_test_data_reuses_the_training_statistics():
    train, test = _train_test()
    norm = layers.Normalization()
    norm.adapt(train)
    expected = (test - train.mean(0)) / train.std(0)
    assert_close(norm(test), expected, rtol=1e-5, atol=1e-6)
    again = xn.to_numpy(norm(train))
    np.testing.assert_allclose(again.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(again.std(0), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda a: a,
        lambda a: xn.Tensor(a),
        lambda a: xn.Tensor(a).data,
        lambda a: [a[i : i + 32] for i in range(0, len(a), 32)],
        lambda a: ((a[i : i + 50], np.zeros(50)) for i in range(0, len(a), 50)),
        lambda a: a.tolist(),
    ],
    ids=["numpy", "tensor", "backend array", "list of batches", "generator of (x, y)", "lists"],
)
def test_adapt_accepts_arrays_and_batches(wrap):
    train, _ = _train_test()
    norm = layers.Normalization()
    norm.adapt(wrap(train))
    assert_close(norm.adapt_mean, train.mean(0), rtol=1e-6)
    assert_close(norm.adapt_variance, train.var(0), rtol=1e-5)
    assert norm.count_params() == 6 and norm.trainable_weights == []


def test_adapt_axes_and_invert():
    x = np.random.default_rng(7).normal(1.0, 3.0, (40, 2, 3))
    scalar = layers.Normalization(axis=None)
    scalar.adapt(x)
    assert scalar.adapt_mean.shape == ()
    assert_close(scalar(x), (x - x.mean()) / x.std(), rtol=1e-5, atol=1e-5)
    both = layers.Normalization(axis=(1, 2))
    both.adapt(x)
    assert both.adapt_mean.shape == (2, 3)
    assert_close(both(x), (x - x.mean(0)) / x.std(0), rtol=1e-5, atol=1e-5)
    inv = layers.Normalization(axis=(1, 2), invert=True)
    inv.adapt(x)
    assert_close(inv(both(x)), x, rtol=1e-5, atol=1e-5)


def test_normalization_refuses_to_run_without_statistics():
    norm = layers.Normalization()
    with pytest.raises(ValueError, match=r"no mean and variance yet: call layer.adapt\(training"):
        norm(np.ones((2, 3)))
    with pytest.raises(ValueError, match="mean and variance must be given together"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    given = layers.Normalization(mean=1.0, variance=2.0)
    with pytest.raises(ValueError, match="adapt\\(\\) would ignore them"):
        given.adapt(np.ones((3, 2)))
    norm.adapt(np.ones((4, 3)))
    with pytest.raises(
        ValueError, match=r"built for inputs of shape \(2, 3\).*batch of shape \(4, 5\)"
    ):
        norm.adapt(np.ones((4, 5)))
    with pytest.raises(ValueError, match="no data"):
        layers.Normalization().adapt([])


def test_integer_features_are_standardized_in_floatx():
    pixels = np.array([[0, 255], [128, 64], [255, 0]], dtype=np.uint8)
    norm = layers.Normalization()
    norm.adapt(pixels)
    y = norm(pixels)
    assert y.dtype == B.dtype("float32", y.xp)
    p = pixels.astype(np.float64)
    assert_close(y, (p - p.mean(0)) / p.std(0), rtol=1e-5, atol=1e-6)


def test_restored_weights_count_as_adapted():
    train, test = _train_test()
    norm = layers.Normalization()
    norm.adapt(train)
    clone = layers.Normalization.from_config(norm.get_config())
    clone.build((None, 3))
    clone.set_weights(norm.get_weights())
    np.testing.assert_allclose(xn.to_numpy(clone(test)), xn.to_numpy(norm(test)))
