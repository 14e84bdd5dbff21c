"""XOR: the classic case for non-linearity (course notes, chapter on hidden layers).

A linear model (logistic regression) cannot separate XOR: no line puts (0,1) and
(1,0) on one side and (0,0) and (1,1) on the other, so it gets at most 3 of the 4
points (trained, it ends near P = 0.5 everywhere). One hidden layer of a few tanh
units solves it.

    python examples/xor.py --epochs 500 --backend numpy
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
    p.add_argument("--epochs", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def train(hidden: int | None, x, y, epochs: int):
    layers = [xn.Input(shape=(2,))]
    if hidden:
        layers.append(xn.layers.Dense(hidden, activation="tanh"))
    layers.append(xn.layers.Dense(1, activation="sigmoid"))
    model = xn.Sequential(layers)
    model.compile(
        optimizer=xn.optimizers.Adam(learning_rate=0.05),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(x, y, batch_size=4, epochs=epochs, verbose=0)
    return model, history.history["accuracy"][-1]


def main(argv=None):
    args = parse_args(argv)
    xn.set_backend(args.backend)
    xn.set_seed(args.seed)
    x, y = xn.datasets.make_xor(n_samples=4, noise=0.0)
    y = y.astype(np.float32)[:, None]  # one sigmoid output per sample

    _, linear_acc = train(None, x, y, args.epochs)
    model, net_acc = train(8, x, y, args.epochs)
    probs = xn.to_numpy(model.predict(x, verbose=0))[:, 0]
    print(f"logistic regression (no hidden layer): accuracy {linear_acc:.2f}")
    print(f"2-layer net (8 tanh units):           accuracy {net_acc:.2f}")
    for (a, b), target, p in zip(x.astype(int), y[:, 0].astype(int), probs):
        print(f"  {a} xor {b} = {target}   predicted P(1) = {p:.3f}")
    return linear_acc, net_acc


if __name__ == "__main__":
    main()
