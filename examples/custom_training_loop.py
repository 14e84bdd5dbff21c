"""A custom training loop on the autograd: forward, loss.backward(), optimizer step, zero grads.

This is what ``model.fit`` does for you; writing it out is the way to add
anything fit does not (gradient surgery, several optimizers, odd schedules).

    python examples/custom_training_loop.py --epochs 20
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
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    xn.set_backend(args.backend)
    xn.set_seed(args.seed)
    x, y = xn.datasets.make_moons(n_samples=1000, noise=0.15, seed=args.seed)
    y = y.astype(np.float32)[:, None]

    model = xn.Sequential(
        [
            xn.Input(shape=(2,)),
            xn.layers.Dense(32, activation="relu"),
            xn.layers.Dense(32, activation="relu"),
            xn.layers.Dense(1),  # logits
        ]
    )
    loss_fn = xn.losses.BinaryCrossentropy(from_logits=True)
    optimizer = xn.optimizers.Adam(learning_rate=0.01)
    accuracy = xn.metrics.BinaryAccuracy(threshold=0.0)  # logits: decide at 0
    mean_loss = xn.metrics.Mean()
    params = model.trainable_weights

    for epoch in range(args.epochs):
        for xb, yb in xn.data.batches(x, y, batch_size=32):
            logits = model(xb, training=True)
            loss = loss_fn(yb, logits)
            loss.backward()  # fills p.grad for every trainable weight
            optimizer.step(params)  # one update from p.grad
            optimizer.zero_grad(params)  # forget the gradients before the next batch
            mean_loss.update_state(loss.data)
            accuracy.update_state(yb, logits.data)
        print(
            f"epoch {epoch + 1:3d}  loss {mean_loss.result():.4f}  accuracy {accuracy.result():.4f}"
        )
        mean_loss.reset_state()
        final = accuracy.result()
        accuracy.reset_state()
    return final


if __name__ == "__main__":
    main()
