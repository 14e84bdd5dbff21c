"""Gradient checking a whole model: autograd against finite differences, every weight.

The seeds' debugging habit: before trusting a training run, check that the
backward pass computes the derivative of the forward pass. The check runs in
float64; a relative error below about 1e-7 means the gradients are right.
Then a deliberately wrong backward shows what a bug looks like.

    python examples/gradcheck_model.py
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import xpnet as xn


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend", default=os.environ.get("XPNET_BACKEND", "numpy"), choices=xn.backend.BACKENDS
    )
    p.add_argument("--epochs", type=int, default=0, help="train this many epochs first")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


class WrongSquare(xn.Function):
    """x**2 with a backward that is off by 50%: the kind of bug gradcheck catches."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, grad):
        return 3.0 * self.x * grad  # should be 2 x


def main(argv=None):
    args = parse_args(argv)
    if args.backend == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)  # finite differences need float64
    xn.set_backend(args.backend)
    xn.set_seed(args.seed)
    x, y = xn.datasets.make_blobs(n_samples=64, centers=3, n_features=4, seed=args.seed)
    model = xn.Sequential(
        [
            xn.Input(shape=(4,)),
            xn.layers.Dense(6, activation="tanh"),
            xn.layers.Dense(5, activation="sigmoid", kernel_regularizer="l2"),
            xn.layers.Dense(3, activation="softmax"),
        ]
    )
    loss_fn = xn.losses.SparseCategoricalCrossentropy()
    if args.epochs:
        model.compile(optimizer="adam", loss=loss_fn)
        model.fit(x, y, epochs=args.epochs, verbose=0)

    x_small, y_small = x[:8] / 10.0, y[:8]  # a few samples keep the check quick

    def total_loss(inputs):
        return loss_fn(y_small, model(inputs)) + sum(model.losses)

    result = xn.gradcheck(total_loss, x_small, params=model.trainable_weights)
    print(
        f"whole model: {'passed' if result.passed else 'FAILED'}, "
        f"max relative error {result.max_error:.2e} (tolerance {result.tol:g})"
    )
    for report in result.reports:
        print("  " + report.describe())

    bad = xn.gradcheck(
        lambda t: WrongSquare.apply(t).sum(), np.linspace(-1, 1, 5), raise_on_failure=False
    )
    print(
        f"a wrong backward: relative error {bad.max_error:.2e} -> "
        f"{'caught' if not bad.passed else 'missed'}"
    )
    return result, bad


if __name__ == "__main__":
    main()
