"""Dice and Tversky losses against Keras 3.15's values (recorded on 2026-12-04, JAX backend:
the example of keras.losses.dice's docstring, and Tversky(alpha=0.3, beta=0.7) on it)."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import losses as L

Y_TRUE = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]])
Y_PRED = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]])


def _pred():
    return xn.Tensor(Y_PRED, dtype="float32")


def test_dice_matches_keras(backend):
    per = xn.to_numpy(L.dice(Y_TRUE, _pred(), axis=(1, 2, 3)))
    np.testing.assert_allclose(per, [0.5, 0.75757575], rtol=1e-5)  # Keras 3.15
    assert float(xn.to_numpy(L.dice(Y_TRUE, _pred()))) == pytest.approx(0.6164384, rel=1e-5)
    assert float(xn.to_numpy(L.Dice()(Y_TRUE, _pred()))) == pytest.approx(0.6164384, rel=1e-5)
    got = float(xn.to_numpy(L.Dice(axis=(1, 2, 3))(Y_TRUE, _pred())))
    assert got == pytest.approx(0.6287878751754761, rel=1e-5)  # Keras 3.15


def test_tversky_matches_keras(backend):
    per = xn.to_numpy(L.tversky(Y_TRUE, _pred(), alpha=0.3, beta=0.7, axis=(1, 2, 3)))
    np.testing.assert_allclose(per, [0.5, 0.7350993156433105], rtol=1e-5)  # Keras 3.15
    got = float(xn.to_numpy(L.Tversky(alpha=0.3, beta=0.7)(Y_TRUE, _pred())))
    assert got == pytest.approx(0.6011396050453186, rel=1e-5)  # Keras 3.15
    # alpha = beta = 0.5 is Dice
    half = xn.to_numpy(L.tversky(Y_TRUE, _pred(), axis=(1, 2, 3)))
    np.testing.assert_allclose(half, xn.to_numpy(L.dice(Y_TRUE, _pred(), axis=(1, 2, 3))), 1e-6)


@pytest.mark.parametrize("fn", [L.dice, lambda t, p: L.tversky(t, p, alpha=0.3, beta=0.7)])
def test_overlap_losses_gradcheck(fn):
    rng = np.random.default_rng(0)
    t = (rng.uniform(size=(2, 3, 2)) < 0.5).astype(np.float64)
    p = rng.uniform(0.1, 0.9, size=(2, 3, 2))
    result = xn.gradcheck(lambda pred: fn(t, pred), p)
    assert result.passed


def test_get_and_round_trip():
    assert L.get("dice") is L.dice and isinstance(L.get("Dice"), L.Dice)
    loss = L.Tversky(alpha=0.2, beta=0.8, axis=(1, 2))
    clone = L.deserialize(L.serialize(loss))
    assert isinstance(clone, L.Tversky) and clone.get_config() == loss.get_config()
