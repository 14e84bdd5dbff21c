"""Mixed precision: dtype policies, float16/bfloat16 compute with float32 weights,
float32 losses, and dynamic loss scaling (Keras 3's ``keras.mixed_precision``)."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet.mixed_precision import DTypePolicy, LossScaleOptimizer

HALF = {
    "float16": ("numpy", "cupy", "torch", "jax"),
    "bfloat16": ("torch", "jax"),
}


@pytest.fixture(autouse=True)
def _float32_policy_after():
    yield
    xn.mixed_precision.set_global_policy(None)


def _has(dtype: str) -> bool:
    return xn.get_backend().name in HALF[dtype]


def _dtype_name(a) -> str:
    return str(a.dtype).rsplit(".", 1)[-1]


def test_policy_dtypes_and_errors():
    p = DTypePolicy("mixed_float16")
    assert (p.name, p.compute_dtype, p.variable_dtype) == ("mixed_float16", "float16", "float32")
    p = xn.mixed_precision.Policy("mixed_bfloat16")
    assert (p.compute_dtype, p.variable_dtype) == ("bfloat16", "float32")
    assert DTypePolicy("float64").compute_dtype == "float64"
    assert xn.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="mixed_float16"):
        DTypePolicy("mixed_float8")
    with pytest.raises(ValueError, match="floating-point"):
        xn.mixed_precision.set_global_policy("int32")


def test_layers_take_the_global_policy_and_config_round_trips():
    xn.mixed_precision.set_global_policy("mixed_float16")
    assert xn.mixed_precision.global_policy().name == "mixed_float16"
    layer = xn.layers.Dense(3)
    assert (layer.dtype, layer.compute_dtype) == ("float32", "float16")
    xn.mixed_precision.set_global_policy("float32")
    assert xn.layers.Dense(3).compute_dtype == "float32"
    layer = xn.layers.Dense(3, dtype="mixed_bfloat16")
    config = layer.get_config()
    assert config["dtype"] == "mixed_bfloat16"
    again = xn.layers.Dense.from_config(config)
    assert again.dtype_policy == DTypePolicy("mixed_bfloat16")
    assert again.dtype == "float32" and again.compute_dtype == "bfloat16"
    # a Keras config's policy dict is understood too
    keras_style = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float16"}}
    assert xn.layers.Dense(2, dtype=keras_style).dtype == "float16"


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_a_mixed_layer_computes_in_half_and_its_gradients_are_float32(half):
    layer = xn.layers.Dense(4, dtype=f"mixed_{half}")
    x = xn.Tensor(np.random.default_rng(0).standard_normal((5, 3)).astype("float32"))
    if not _has(half):
        with pytest.raises(ValueError, match=f"no {half} dtype.*{HALF[half][-1]}"):
            layer(x)
        return
    y = layer(x)
    assert _dtype_name(y.data) == half
    assert _dtype_name(layer.kernel.data) == "float32"
    y.sum().backward()
    assert _dtype_name(layer.kernel.grad) == "float32"
    # the value: the float32 computation within half precision's rounding
    want = xn.to_numpy(x).astype("float64") @ xn.to_numpy(layer.kernel).astype("float64")
    want += xn.to_numpy(layer.bias)
    got = xn.to_numpy(xn.ops.cast(y, "float32"))
    tol = 1e-2 if half == "float16" else 6e-2
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_normalization_computes_in_float32_and_returns_the_compute_dtype():
    if not _has("float16"):
        pytest.skip(f"{xn.get_backend().name} has no float16")
    bn = xn.layers.BatchNormalization(dtype="mixed_float16")
    x = np.random.default_rng(1).standard_normal((8, 4)).astype("float32") * 3 + 1
    y = bn(x, training=True)
    assert _dtype_name(y.data) == "float16"
    assert _dtype_name(bn.moving_mean.data) == "float32"
    assert _dtype_name(bn.gamma.data) == "float32"


def test_a_mixed_float16_mlp_trains_with_float32_weights():
    if not _has("float16"):
        xn.mixed_precision.set_global_policy("mixed_float16")
        with pytest.raises(ValueError, match="no float16 dtype"):  # at the build's probe
            xn.Sequential([xn.Input((4,)), xn.layers.Dense(2)])
        return
    xn.mixed_precision.set_global_policy("mixed_float16")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 8)).astype("float32")
    y = (x[:, :1] - 0.5 * x[:, 1:2]).astype("float32")
    model = xn.Sequential(
        [xn.Input((8,)), xn.layers.Dense(32, activation="relu"), xn.layers.Dense(1)]
    )
    model.compile(optimizer=xn.optimizers.Adam(0.01), loss="mse")
    assert isinstance(model.optimizer, LossScaleOptimizer)
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.3 * losses[0]
    assert all(_dtype_name(w) == "float32" for w in model.get_weights())
    assert _dtype_name(model.predict(x[:4], verbose=0)) == "float16"
    assert model.optimizer.iterations == 8 * 8
    # the first steps overflow float16 at scale 2**15 (loss ~1 times 32768 in the
    # backward of a float16 matmul is fine, but not every step): the scale never grew
    scale = float(B.to_numpy(model.optimizer.dynamic_scale))
    assert scale <= 2.0**15 and np.log2(scale) == int(np.log2(scale))


def test_compile_does_not_wrap_under_bfloat16_or_when_asked_not_to():
    xn.mixed_precision.set_global_policy("mixed_bfloat16")
    model = xn.Sequential([xn.layers.Dense(1)])  # (not built: runs on every backend)
    model.compile("sgd", "mse")
    assert not isinstance(model.optimizer, LossScaleOptimizer)
    xn.mixed_precision.set_global_policy("mixed_float16")
    model = xn.Sequential([xn.layers.Dense(1)])
    model.compile("sgd", "mse", auto_scale_loss=False)
    assert not isinstance(model.optimizer, LossScaleOptimizer)


def _param(values):
    return xn.Parameter(B.asarray(np.asarray(values, "float32")))


def _grad(values):
    return B.asarray(np.asarray(values, "float32"))


def test_loss_scaling_skips_a_step_with_inf_and_halves_the_scale():
    w = _param([1.0, 2.0])
    opt = LossScaleOptimizer(xn.optimizers.Adam(0.1), initial_scale=8.0, dynamic_growth_steps=2)
    assert opt.initial_scale == 8.0
    # a finite step: the inner Adam on the unscaled gradient
    ref = _param([1.0, 2.0])
    xn.optimizers.Adam(0.1).apply([_grad([0.5, -1.0])], [ref])
    opt.apply([_grad([4.0, -8.0])], [w])  # = [0.5, -1.0] * 8
    np.testing.assert_allclose(xn.to_numpy(w), xn.to_numpy(ref), rtol=1e-6)
    assert float(B.to_numpy(opt.dynamic_scale)) == 8.0
    assert int(B.to_numpy(opt.step_counter)) == 1
    before = xn.to_numpy(w).copy()
    m_before = xn.to_numpy(opt.inner_optimizer.slots(w).momentum.data).copy()
    # an inf gradient: weights and Adam's moments unchanged, the scale halved, count reset
    opt.apply([_grad([np.inf, 1.0])], [w])
    np.testing.assert_array_equal(xn.to_numpy(w), before)
    np.testing.assert_array_equal(xn.to_numpy(opt.inner_optimizer.slots(w).momentum.data), m_before)
    assert float(B.to_numpy(opt.dynamic_scale)) == 4.0
    assert int(B.to_numpy(opt.step_counter)) == 0
    # a NaN likewise
    opt.apply([_grad([np.nan, 1.0])], [w])
    np.testing.assert_array_equal(xn.to_numpy(w), before)
    assert float(B.to_numpy(opt.dynamic_scale)) == 2.0
    # two finite steps in a row: the scale doubles and the counter restarts
    opt.apply([_grad([1.0, 1.0])], [w])
    assert float(B.to_numpy(opt.dynamic_scale)) == 2.0
    opt.apply([_grad([1.0, 1.0])], [w])
    assert float(B.to_numpy(opt.dynamic_scale)) == 4.0
    assert int(B.to_numpy(opt.step_counter)) == 0
    assert not np.array_equal(xn.to_numpy(w), before)


def test_loss_scale_optimizer_defaults_config_and_scale_loss():
    opt = LossScaleOptimizer("sgd")
    assert (opt.initial_scale, opt.dynamic_growth_steps) == (2.0**15, 2000)  # Keras's
    config = xn.optimizers.serialize(opt)
    again = xn.optimizers.deserialize(config)
    assert isinstance(again, LossScaleOptimizer)
    assert type(again.inner_optimizer).__name__ == "SGD"
    loss = xn.Tensor(B.asarray(np.asarray(0.5, "float32")), requires_grad=True)
    scaled = opt.scale_loss(loss)
    assert float(xn.to_numpy(scaled)) == 0.5 * 2.0**15
    with pytest.raises(ValueError, match="dynamic"):
        LossScaleOptimizer("sgd", dynamic=False)
    with pytest.raises(TypeError, match="inner_optimizer"):
        LossScaleOptimizer(opt)


def test_compiled_and_eager_mixed_steps_agree_on_jax():
    if xn.get_backend().name != "jax":
        pytest.skip("compiled steps (jit_compile) exist on the jax backend only")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 8)).astype("float32")
    y = x[:, :1].copy()
    runs = []
    for jit in (True, False):
        xn.set_seed(0)
        xn.mixed_precision.set_global_policy("mixed_float16")
        model = xn.Sequential(
            [xn.Input((8,)), xn.layers.Dense(16, activation="relu"), xn.layers.Dense(1)]
        )
        model.compile(xn.optimizers.Adam(0.01), "mse", jit_compile=jit)
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
        scale = float(B.to_numpy(model.optimizer.dynamic_scale))
        runs.append((history.history["loss"], model.get_weights(), scale))
    (loss_a, w_a, s_a), (loss_b, w_b, s_b) = runs
    # the same float16 arithmetic in another order (XLA fuses): float16-level differences
    np.testing.assert_allclose(loss_a, loss_b, rtol=1e-4)
    for a, b in zip(w_a, w_b):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert s_a == s_b
