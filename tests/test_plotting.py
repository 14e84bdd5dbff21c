"""Plots: training curves, the activation gallery (derivatives by autograd), missing matplotlib."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import xpnet as xn
from xpnet import plotting

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")


def test_history_plot_draws_training_and_validation():
    h = xn.callbacks.History()
    for epoch, (loss, val) in enumerate([(1.0, 1.2), (0.5, 0.8), (0.3, 0.7)]):
        h.on_epoch_end(epoch, {"loss": loss, "accuracy": 1 - loss, "val_loss": val})
    fig = h.plot()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "accuracy"]
    loss_ax = fig.axes[0]
    assert [line.get_label() for line in loss_ax.lines] == ["training", "validation"]
    np.testing.assert_allclose(loss_ax.lines[1].get_ydata(), [1.2, 0.8, 0.7])
    with pytest.raises(ValueError, match="No 'auc'"):
        h.plot(metrics=["auc"])


@pytest.mark.parametrize(
    "name, derivative",
    [
        ("relu", lambda x: (x > 0).astype(float)),
        ("sigmoid", lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
        ("tanh", lambda x: 1 - np.tanh(x) ** 2),
        ("linear", lambda x: np.ones_like(x)),
    ],
)
def test_gallery_derivatives_come_from_autograd_and_are_right(name, derivative):
    x = np.linspace(-3, 3, 61) + 0.013  # keep off relu's kink at 0
    _, dy = plotting.activation_and_derivative(name, x)
    np.testing.assert_allclose(dy, derivative(x), rtol=1e-9, atol=1e-12)


def test_activation_gallery_has_one_panel_per_elementwise_activation():
    fig = plotting.activation_gallery()
    shown = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert "relu" in shown and "sigmoid" in shown and "softmax" not in shown
    assert all(len(ax.lines) >= 2 for ax in fig.axes if ax.get_visible())


def test_missing_matplotlib_is_explained(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "xpnet\[plot\]"'):
        plotting.activation_gallery()
