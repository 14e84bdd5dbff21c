"""The exponentially weighted average of the course notes (and of momentum, RMSprop, Adam)."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet.averages import ExponentialMovingAverage, ewma

from helpers import assert_close, assert_on_active_backend


def _reference(values, beta, corrected):
    """V_t = beta V_{t-1} + (1 - beta) theta_t in float64, optionally / (1 - beta**t)."""
    v, out = 0.0, []
    for t, theta in enumerate(values, start=1):
        v = beta * v + (1 - beta) * np.asarray(theta, np.float64)
        out.append(v / (1 - beta**t) if corrected else v)
    return out


@pytest.mark.parametrize("corrected", [True, False])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.98])
def test_floats_match_the_formula(beta, corrected):
    temps = [40.0, 49.0, 45.0, 44.0, 60.0, 52.0, 47.0]  # the notes' daily temperatures
    got = ewma(temps, beta=beta, bias_correction=corrected)
    assert all(isinstance(v, float) for v in got)
    np.testing.assert_allclose(got, _reference(temps, beta, corrected), rtol=1e-12)


def test_bias_correction_removes_the_start_at_zero():
    raw = ewma([10.0] * 3, beta=0.9, bias_correction=False)
    np.testing.assert_allclose(raw, [1.0, 1.9, 2.71])  # far below 10: the bias
    np.testing.assert_allclose(ewma([10.0] * 3, beta=0.9), [10.0] * 3)  # corrected


def test_not_the_misprinted_formula():
    # the notes print beta V + (1 - beta theta): for theta = 2, beta = 0.5 that gives 0
    # at t = 1; the right update gives (1 - beta) theta = 1
    assert ewma([2.0], beta=0.5, bias_correction=False) == [1.0]


def test_arrays_on_the_active_backend_stay_float32(backend):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal((3, 2)).astype(np.float32) for _ in range(5)]
    avg = ExponentialMovingAverage(beta=0.8)
    for i, v in enumerate(values):
        out = avg.update(xn.backend.asarray(v))
        assert_on_active_backend(out)
        assert out.dtype == xn.backend.dtype("float32")
        assert_close(out, _reference(values[: i + 1], 0.8, True)[-1])
    assert avg.t == 5
    assert_close(avg.raw, _reference(values, 0.8, False)[-1])


def test_tensors_keep_the_graph_and_gradients(backend):
    x = xn.Parameter(np.array([1.0, -2.0], np.float32))
    avg = ExponentialMovingAverage(beta=0.5)
    avg.update(x * 2.0)
    out = avg.update(x * x)
    assert isinstance(out, xn.Tensor)
    out.sum().backward()
    # corrected V_2 = (0.25 * 2x + 0.5 x**2) / 0.75: d/dx = (0.5 + x) / 0.75
    assert_close(x.grad, (0.5 + np.array([1.0, -2.0])) / 0.75)


def test_reset_value_and_errors():
    avg = ExponentialMovingAverage(0.9)
    with pytest.raises(ValueError, match="no value yet"):
        avg.value
    avg.update(3.0)
    avg.reset()
    assert avg.t == 0 and avg.raw is None
    with pytest.raises(ValueError, match=r"beta=1\.0"):
        ExponentialMovingAverage(beta=1.0)
    with pytest.raises(ValueError, match="beta"):
        ewma([1.0], beta=-0.1)
    assert ExponentialMovingAverage(0.5, False).get_config() == {
        "beta": 0.5,
        "bias_correction": False,
    }


def test_a_callback_smooths_the_loss():
    class Smooth(xn.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.avg, self.seen = ExponentialMovingAverage(0.9), []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(self.avg.update(float(logs["loss"])))

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = xn.Sequential([xn.layers.Dense(1)])
    model.compile("sgd", "mse")
    cb = Smooth()
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, callbacks=[cb])
    assert len(cb.seen) == 8 and cb.avg.t == 8
    assert np.isfinite(cb.seen).all()


def test_adam_first_moment_is_this_average(backend):
    # Adam's m_hat after t steps is the corrected average of the gradients with beta_1
    grads = [np.array([0.3, -1.0], np.float32), np.array([0.1, 0.4], np.float32)]
    avg = ExponentialMovingAverage(beta=0.9)
    opt = xn.optimizers.Adam(learning_rate=0.1)
    w = xn.Parameter([0.0, 0.0])
    for g in grads:
        avg.update(xn.backend.asarray(g))
        opt.apply([xn.backend.asarray(g)], [w])
    m = opt.slots(w).momentum.data
    assert_close(m, xn.to_numpy(avg.raw))
