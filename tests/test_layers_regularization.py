"""Dropout and noise layers: contract rows, the fused mask op, and statistics of training mode.

Statistical checks use tolerances of Z standard errors computed from the sample
size (Z = 5: a correct layer fails about once in 1.7 million runs; the seed is
fixed by conftest, so a run is repeatable anyway).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet import layers
from xpnet.ops.elementwise import MaskedAffine

from helpers import OpCase, assert_close, assert_on_active_backend
from layer_contract import LayerCase

Z = 5.0


def _noisy(make, shape, label, **kw):
    """A contract row gradchecked in training mode with one fixed mask (reseeded)."""
    return LayerCase(
        make,
        shape,
        shape,
        0,
        label=label,
        training=True,
        fixed_noise=True,
        train_step=False,
        deterministic=False,
        **kw,
    )


LAYER_CASES = [
    LayerCase(lambda: layers.Dropout(0.5), (4, 6), (4, 6), 0, label="inference", train_step=False),
    _noisy(lambda: layers.Dropout(0.3), (4, 6), "training"),
    _noisy(lambda: layers.Dropout(0.5, noise_shape=(None, 1, 4)), (2, 3, 4), "noise_shape"),
    LayerCase(
        lambda: layers.Dropout(0.2, seed=3), (3, 2), (3, 2), 0, label="seed", train_step=False
    ),
    _noisy(lambda: layers.SpatialDropout1D(0.5), (2, 3, 4), "training"),
    _noisy(lambda: layers.SpatialDropout2D(0.5), (2, 3, 3, 4), "channels_last"),
    _noisy(
        lambda: layers.SpatialDropout2D(0.5, data_format="channels_first"),
        (2, 4, 3, 3),
        "channels_first",
    ),
    _noisy(lambda: layers.SpatialDropout3D(0.4), (2, 2, 2, 2, 3), "training"),
    LayerCase(
        lambda: layers.GaussianNoise(0.5), (3, 4), (3, 4), 0, label="inference", train_step=False
    ),
    _noisy(lambda: layers.GaussianNoise(0.5), (3, 4), "training"),
    _noisy(lambda: layers.GaussianDropout(0.4), (3, 4), "training"),
    _noisy(lambda: layers.AlphaDropout(0.2), (3, 4), "training"),
    _noisy(lambda: layers.AlphaDropout(0.3, noise_shape=(3, 1)), (3, 4), "noise_shape"),
    LayerCase(
        lambda: layers.AlphaDropout(0.2), (3, 4), (3, 4), 0, label="inference", train_step=False
    ),
    LayerCase(
        lambda: layers.ActivityRegularization(l1=0.01, l2=0.02), (3, 4), (3, 4), 0, train_step=False
    ),
]


# --------------------------------------------------------------------------- the fused op

_KEEP = np.array([[True, False, True, True], [False, True, True, False], [True, True, False, True]])
_KEEP_CHANNELS = np.array([[True, False, True, False]])


def _masked(keep, **kw):
    def fn(x):
        return MaskedAffine.apply(x, xn.Tensor(keep).data, **kw)

    return fn


OP_CASES = [
    OpCase(
        "masked_affine",
        _masked(_KEEP, scale=2.0),
        lambda x: np.where(_KEEP, 2.0 * x, 0.0),
        [(3, 4)],
        label="dropout",
    ),
    OpCase(
        "masked_affine",
        _masked(_KEEP, scale=1.5, shift=0.25, fill=-0.75),
        lambda x: np.where(_KEEP, 1.5 * x + 0.25, -0.75),
        [(3, 4)],
        label="alpha dropout",
    ),
    OpCase(
        "masked_affine",
        _masked(_KEEP_CHANNELS, scale=2.0),
        lambda x: np.where(_KEEP_CHANNELS, 2.0 * x, 0.0),
        [(3, 4)],
        label="broadcast mask",
    ),
]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_fused_op_forward_and_gradient(case):
    raw = case.inputs()
    out = case.fn(*[xn.Tensor(a, dtype="float32") for a in raw])
    assert_on_active_backend(out)
    assert out.dtype == B.dtype("float32", out.xp)
    assert_close(out, case.ref(*[a.astype(np.float32).astype(np.float64) for a in raw]))
    assert xn.gradcheck(case.fn, *raw).passed


def test_masked_affine_keeps_only_the_boolean_mask():
    x = xn.Tensor(np.ones((3, 4)), requires_grad=True)
    y = MaskedAffine.apply(x, xn.Tensor(_KEEP).data, scale=2.0)
    saved = [v for v in vars(y._ctx).values() if hasattr(v, "shape")]
    assert len(saved) == 1 and saved[0].dtype == B.dtype("bool", x.xp)


# --------------------------------------------------------------------------- Dropout statistics


def _draw(layer, x, **kw):
    return xn.to_numpy(layer(xn.Tensor(x), training=True, **kw))


@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_dropout_keep_fraction_scaling_and_expectation(rate):
    x = np.random.default_rng(1).uniform(1.0, 2.0, (400, 500)).astype(np.float32)
    y = _draw(layers.Dropout(rate), x)
    n, q = x.size, 1.0 - rate
    kept = y != 0
    assert abs(kept.mean() - q) <= Z * math.sqrt(q * (1 - q) / n)
    # kept units are x / (1 - rate): float32 rounding of the scale and of the product
    # is at most about 2 units in the last place (eps 1.19e-7)
    np.testing.assert_allclose(y[kept], x[kept].astype(np.float64) / q, rtol=3e-7)
    assert np.all(y[~kept] == 0)
    # E[y] = x: the mean of y / x is 1 within the standard error of a scaled Bernoulli
    se = math.sqrt(rate / q / n)
    assert abs((y / x).mean() - 1.0) <= Z * se


def test_dropout_gradient_is_the_scaled_mask():
    x = xn.Tensor(np.ones((50, 40)), requires_grad=True)
    y = layers.Dropout(0.25)(x, training=True)
    y.sum().backward()
    np.testing.assert_allclose(xn.to_numpy(x.grad), xn.to_numpy(y))  # x = 1: y is the mask


def test_dropout_is_identity_at_inference_and_at_rate_zero():
    x = xn.Tensor(np.random.default_rng(0).normal(size=(6, 5)))
    for training in (None, False):
        assert layers.Dropout(0.9)(x, training=training) is x
    np.testing.assert_array_equal(xn.to_numpy(layers.Dropout(0.0)(x, training=True)), x.numpy())


def test_dropout_seed_gives_repeatable_masks_and_set_seed_too():
    x = np.ones((20, 30), dtype=np.float32)
    a, b = layers.Dropout(0.5, seed=4), layers.Dropout(0.5, seed=4)
    first = _draw(a, x)
    np.testing.assert_array_equal(first, _draw(b, x))
    assert not np.array_equal(first, _draw(a, x)), "a seeded layer must still vary per call"
    xn.set_seed(9)
    c = _draw(layers.Dropout(0.5), x)
    xn.set_seed(9)
    np.testing.assert_array_equal(c, _draw(layers.Dropout(0.5), x))


def test_dropout_noise_shape_broadcasts_the_mask():
    x = np.ones((50, 6, 8), dtype=np.float32)
    y = _draw(layers.Dropout(0.5, noise_shape=(None, 1, 8)), x)
    assert np.all(y == y[:, :1, :]), "the mask must be shared along the axis with size 1"
    assert 0 < (y == 0).mean() < 1
    with pytest.raises(ValueError, match=r"noise_shape=\(None, 2, 8\) does not broadcast"):
        layers.Dropout(0.5, noise_shape=(None, 2, 8))(x, training=True)
    with pytest.raises(ValueError, match=r"has 2 entries, but the inputs have rank 3"):
        layers.Dropout(0.5, noise_shape=(50, 1))(x, training=True)
    with pytest.raises(ValueError, match="noise_shape"):
        layers.Dropout(0.5, noise_shape="batch")


@pytest.mark.parametrize(
    ("make", "shape", "channel_axis"),
    [
        (lambda: layers.SpatialDropout1D(0.4), (100, 5, 64), -1),
        (lambda: layers.SpatialDropout2D(0.4), (100, 3, 3, 64), -1),
        (lambda: layers.SpatialDropout2D(0.4, data_format="channels_first"), (100, 64, 3, 3), 1),
        (lambda: layers.SpatialDropout3D(0.4), (50, 2, 2, 2, 64), -1),
    ],
)
def test_spatial_dropout_drops_whole_channels(make, shape, channel_axis):
    x = np.random.default_rng(2).uniform(1.0, 2.0, shape).astype(np.float32)
    y = _draw(make(), x)
    y_cl, x_cl = np.moveaxis(y, channel_axis, -1), np.moveaxis(x, channel_axis, -1)
    per_channel = y_cl.reshape(shape[0], -1, y_cl.shape[-1])
    dropped = np.all(per_channel == 0, axis=1)
    kept = np.all(per_channel != 0, axis=1)
    assert np.all(dropped | kept), "a channel must be dropped at every position or at none"
    n = dropped.size
    assert abs(dropped.mean() - 0.4) <= Z * math.sqrt(0.4 * 0.6 / n)
    np.testing.assert_allclose(y_cl[y_cl != 0], x_cl[y_cl != 0].astype(np.float64) / 0.6, rtol=3e-7)


def test_spatial_dropout_checks_rank_and_data_format():
    with pytest.raises(ValueError, match="expected inputs of rank 4"):
        layers.SpatialDropout2D(0.5)(np.ones((2, 3, 4)), training=True)
    with pytest.raises(ValueError, match="expected inputs of rank 3"):
        layers.SpatialDropout1D(0.5)(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"SpatialDropout2D: expected data_format"):
        layers.SpatialDropout2D(0.5, data_format="NHWC")
    assert "data_format" not in layers.SpatialDropout1D(0.5).get_config()
    assert layers.SpatialDropout2D(0.5).get_config()["data_format"] == "channels_last"


# --------------------------------------------------------------------------- Gaussian layers


def test_gaussian_noise_has_the_right_mean_and_std():
    n = 200_000
    noise = _draw(layers.GaussianNoise(0.3), np.zeros((400, 500), dtype=np.float32))
    assert noise.dtype == np.float32
    assert abs(noise.mean()) <= Z * 0.3 / math.sqrt(n)
    assert abs(noise.std() - 0.3) <= Z * 0.3 / math.sqrt(2 * n)  # se of a normal sample's std
    x = xn.Tensor(np.ones((3, 3)))
    assert layers.GaussianNoise(0.3)(x) is x


def test_gaussian_dropout_has_mean_one_and_dropout_variance():
    rate, n = 0.3, 200_000
    y = _draw(layers.GaussianDropout(rate), np.ones((400, 500), dtype=np.float32))
    std = math.sqrt(rate / (1 - rate))
    assert abs(y.mean() - 1.0) <= Z * std / math.sqrt(n)
    assert abs(y.std() - std) <= Z * std / math.sqrt(2 * n)


def test_alpha_dropout_preserves_mean_and_variance():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 500)).astype(np.float32)
    layer = layers.AlphaDropout(0.2)
    y = _draw(layer, x).astype(np.float64)
    n = y.size
    mean, var = y.mean(), y.var()
    m4 = ((y - mean) ** 4).mean()
    assert abs(mean) <= Z * math.sqrt(var / n)
    assert abs(var - 1.0) <= Z * math.sqrt((m4 - var**2) / n)
    a, b, fill = layer.affine()
    dropped = np.isclose(y, fill, rtol=0, atol=1e-6)
    np.testing.assert_allclose(y[~dropped], a * x[~dropped] + b, rtol=1e-6, atol=1e-6)
    assert abs(dropped.mean() - 0.2) <= Z * math.sqrt(0.2 * 0.8 / n)


def test_per_step_draws_stay_on_backend_and_dtype():
    like = xn.Tensor(np.zeros((3, 4))).data
    z = B.standard_normal((3, 4), like=like)
    m = B.bernoulli((3, 4), 0.5, dtype="bool", like=like)
    assert_on_active_backend(z)
    assert_on_active_backend(m)
    assert z.dtype == B.dtype("float32", B.namespace(z))
    assert m.dtype == B.dtype("bool", B.namespace(m))
    gen_a, gen_b = B.SeedGenerator(5), B.SeedGenerator(5)
    np.testing.assert_array_equal(
        xn.to_numpy(B.standard_normal((50,), generator=gen_a)),
        xn.to_numpy(B.standard_normal((50,), generator=gen_b)),
    )
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        B.SeedGenerator(-1)


# --------------------------------------------------------------------------- ActivityRegularization


def test_activity_regularization_adds_its_penalty():
    y = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])
    layer = layers.ActivityRegularization(l1=0.1, l2=0.01)
    out = layer(y)
    np.testing.assert_allclose(xn.to_numpy(out), y)
    expected = (0.1 * np.abs(y).sum() + 0.01 * (y**2).sum()) / 3
    np.testing.assert_allclose(layer.losses[0].item(), expected, rtol=1e-6)
    config = layer.get_config()
    assert "activity_regularizer" not in config and config["l1"] == 0.1
    with pytest.raises(ValueError, match=r"ActivityRegularization: expected a finite l2 >= 0"):
        layers.ActivityRegularization(l2=-1.0)


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "make",
    [
        layers.Dropout,
        layers.SpatialDropout1D,
        layers.SpatialDropout2D,
        layers.SpatialDropout3D,
        layers.GaussianDropout,
        layers.AlphaDropout,
    ],
    ids=lambda m: m.__name__,
)
@pytest.mark.parametrize("rate", [1.5, 1.0, -0.1, "0.5", True, None])
def test_rates_outside_0_1_are_rejected(make, rate):
    expected = f"{make.__name__}: expected rate in [0, 1). Received: rate={rate!r}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        make(rate)


def test_dropout_message_is_exactly_as_documented():
    with pytest.raises(ValueError) as err:
        layers.Dropout(1.5)
    assert str(err.value) == "Dropout: expected rate in [0, 1). Received: rate=1.5"


@pytest.mark.parametrize("stddev", [-0.1, float("inf"), "1"])
def test_gaussian_noise_rejects_bad_stddev(stddev):
    with pytest.raises(ValueError, match="GaussianNoise: expected a finite stddev >= 0"):
        layers.GaussianNoise(stddev)


@pytest.mark.parametrize("seed", [-1, 1.5, "3"])
def test_bad_seeds_are_rejected(seed):
    with pytest.raises(ValueError, match=r"Dropout: expected seed to be a non-negative integer"):
        layers.Dropout(0.5, seed=seed)
