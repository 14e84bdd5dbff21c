"""Plots: training curves and the activation gallery (optional: ``pip install "xpnet[plot]"``).

``History.plot()`` draws each loss and metric, training against validation.
``activation_gallery()`` draws every elementwise activation next to its
derivative, the derivative computed by xpnet's own autograd (so the figure
doubles as a check of the backward passes).

Both return the matplotlib Figure; nothing is shown or saved unless you ask
(``fig.savefig("curves.png")`` or ``plt.show()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from xpnet import activations as activations_mod
from xpnet.backend import host_numpy as np

__all__ = ["activation_and_derivative", "activation_gallery", "plot_history"]

# activations that mix a row's entries, so "derivative" has no per-element meaning
_NOT_ELEMENTWISE = {"softmax", "log_softmax"}


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError(
            "Plotting needs matplotlib, which is not installed. Install it with "
            'pip install "xpnet[plot]" (or pip install matplotlib).'
        ) from err
    return plt


def plot_history(history, metrics: Sequence[str] | None = None, ax=None):
    """Loss and metric curves per epoch, training (solid) against validation (dashed).

    Args:
        history: a :class:`xpnet.callbacks.History` (what ``fit`` returns) or its
            ``.history`` dict.
        metrics: the names to draw (default: every name without ``val_``).
        ax: draw into these axes (one per metric) instead of a new figure.
    """
    plt = _pyplot()
    logs = getattr(history, "history", history)
    epochs = getattr(history, "epoch", None)
    names = list(metrics) if metrics else [k for k in logs if not k.startswith("val_")]
    if not names:
        raise ValueError("The history is empty: train with fit() first.")
    if ax is None:
        fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
        fig = axes[0].figure
    for axis, name in zip(axes, names):
        if name not in logs:
            raise ValueError(f"No {name!r} in the history; it has {sorted(logs)}.")
        xs = [e + 1 for e in epochs] if epochs else list(range(1, len(logs[name]) + 1))
        axis.plot(xs, logs[name], "-o", markersize=3, label="training")
        if f"val_{name}" in logs:
            val = logs[f"val_{name}"]
            axis.plot(xs[-len(val) :], val, "--o", markersize=3, label="validation")
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    return fig


def activation_and_derivative(name: str, x) -> tuple[Any, Any]:
    """``f(x)`` and ``f'(x)`` (by autograd) as NumPy arrays, for an elementwise activation."""
    import xpnet as xn

    fn = activations_mod.get(name)
    with xn.use_backend("numpy"):  # float64 on the host, whatever the active backend
        t = xn.Tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
        y = fn(t)
        if y is t:  # the identity
            return np.asarray(x, dtype=np.float64), np.ones_like(np.asarray(x, dtype=np.float64))
        y.sum().backward()
    return xn.to_numpy(y), xn.to_numpy(t.grad)


def activation_gallery(
    names: Sequence[str] | None = None, x_range=(-4.0, 4.0), num: int = 401, columns: int = 4
):
    """A grid of every elementwise activation (solid) and its derivative (dashed).

    Args:
        names: the activations to draw (default: every registered elementwise one).
        x_range: the input interval; num: points drawn; columns: plots per row.
    """
    plt = _pyplot()
    if names is None:
        names = [n for n in activations_mod.names() if n not in _NOT_ELEMENTWISE]
    names = list(names)
    x = np.linspace(x_range[0], x_range[1], num)
    rows = -(-len(names) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.6 * rows), squeeze=False)
    for axis, name in zip(axes.flat, names):
        y, dy = activation_and_derivative(name, x)
        axis.plot(x, y, label=name)
        axis.plot(x, dy, "--", label="derivative")
        axis.axhline(0, color="0.7", lw=0.5)
        axis.axvline(0, color="0.7", lw=0.5)
        axis.set_title(name)
        axis.legend(fontsize="small")
    for axis in list(axes.flat)[len(names) :]:
        axis.set_visible(False)
    fig.tight_layout()
    return fig
