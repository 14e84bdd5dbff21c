"""Lamb, Adafactor and Ftrl against Keras 3.15's own numbers (JAX backend, 2026-12-04):
five apply_gradients steps on a (2, 3) kernel and a (3,) bias from fixed gradients. The
trajectories against the NumPy formulas (tests/optim_reference.py) are in test_optimizers.
PyTorch has no Lamb or Ftrl, and its Adafactor is another variant (no update clipping, its
own epsilon and decay rules), so Keras is the reference here."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn

W0 = np.array([[0.5, -1.0, 0.25], [1.5, 0.75, -0.5]], "float32")
B0 = np.array([0.1, -0.2, 0.3], "float32")


def _grads(t):
    gw = np.sin(np.arange(6).reshape(2, 3) * 0.7 + t).astype("float32")
    gb = np.cos(np.arange(3) * 1.3 + t).astype("float32")
    return gw, gb


# (class, kwargs, kernel after 5 steps, bias after 5 steps): Keras 3.15, rounded to 7 decimals
KERAS = [
    (
        "Lamb",
        {"learning_rate": 0.05},
        [[0.3141953, -1.186178, 0.1522984], [1.5098574, 0.8707435, -0.2818906]],
        [0.08225, -0.1593494, 0.3399302],
    ),
    (
        "Adafactor",
        {"learning_rate": 0.1},
        [[0.3747187, -1.0558056, 0.3234739], [1.5939684, 0.8714185, -0.4092213]],
        [0.1242386, -0.1686274, 0.298482],
    ),
    (
        "Adafactor",
        {"learning_rate": 0.05, "beta_2_decay": -0.5, "clip_threshold": 0.5, "epsilon_2": 0.01},
        [[0.4653444, -1.0144248, 0.2709557], [1.5234455, 0.7817278, -0.4741398]],
        [0.1067443, -0.1927358, 0.2999741],
    ),
    (
        "Ftrl",
        {"learning_rate": 0.1},
        [[-0.1249863, -0.6671657, 0.1481175], [1.023892, 0.3216856, -0.0209378]],
        [0.0619375, 0.042986, 0.2635682],
    ),
    (
        "Ftrl",
        {
            "learning_rate": 0.1,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.02,
            "beta": 0.1,
            "l2_shrinkage_regularization_strength": 0.01,
            "learning_rate_power": -0.7,
        },
        [[-0.115178, -0.687378, 0.1486203], [1.0548654, 0.2970274, -0.0179295]],
        [0.0552329, 0.0301828, 0.2757933],
    ),
]


@pytest.mark.parametrize("name, kwargs, want_w, want_b", KERAS, ids=lambda v: str(v)[:24])
def test_five_steps_match_keras(name, kwargs, want_w, want_b):
    w, b = xn.Parameter(W0.copy(), name="kernel"), xn.Parameter(B0.copy(), name="bias")
    opt = getattr(xn.optimizers, name)(**kwargs)
    for t in range(5):
        gw, gb = _grads(t)
        opt.apply([xn.backend.asarray(gw), xn.backend.asarray(gb)], [w, b])
    np.testing.assert_allclose(xn.to_numpy(w), np.array(want_w), rtol=2e-6, atol=2e-7)
    np.testing.assert_allclose(xn.to_numpy(b), np.array(want_b), rtol=2e-6, atol=2e-7)
    assert w.dtype == xn.backend.dtype("float32")
