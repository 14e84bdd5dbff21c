"""Logistic regression written directly on the autograd: the notes' first model.

No layers, no optimizer objects: two Parameters, the sigmoid cross-entropy
written out, ``loss.backward()`` and a plain gradient-descent update. At the
end the autograd gradient is compared with the closed form X^T (p - y) / n.

    python examples/logistic_regression.py --epochs 200
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
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lr", type=float, default=0.5)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    xn.set_backend(args.backend)
    xn.set_seed(args.seed)
    x_np, y_np = xn.datasets.make_blobs(n_samples=300, centers=2, n_features=2, seed=args.seed)
    x_np = (x_np - x_np.mean(0)) / x_np.std(0)  # standardize the features

    x = xn.Tensor(x_np)
    y = xn.Tensor(y_np.astype(np.float32)[:, None])
    w = xn.Parameter(np.zeros((2, 1)), name="w")
    b = xn.Parameter(np.zeros(1), name="b")

    def loss_fn():
        z = x @ w + b  # logits
        # mean of -[y log s(z) + (1 - y) log(1 - s(z))] = softplus(z) - y z, written stably
        softplus = z.relu() + (-abs(z)).exp().log1p()
        return (softplus - y * z).mean()

    for epoch in range(args.epochs):
        loss = loss_fn()
        loss.backward()
        w.data = w.data - args.lr * w.grad  # gradient descent, rebinding (no in-place writes)
        b.data = b.data - args.lr * b.grad
        w.grad = b.grad = None
        if epoch % max(1, args.epochs // 5) == 0 or epoch == args.epochs - 1:
            print(f"epoch {epoch:4d}  loss {loss.item():.4f}")

    with xn.no_grad():
        p = xn.to_numpy((x @ w + b).sigmoid())[:, 0]
    accuracy = float(np.mean((p > 0.5) == (y_np == 1)))
    weights, bias = xn.to_numpy(w.data)[:, 0], xn.to_numpy(b.data)
    print(f"training accuracy {accuracy:.3f}; w = {weights}, b = {bias}")

    loss_fn().backward()  # autograd vs the textbook gradient
    closed_form = x_np.T @ (p - y_np) / len(y_np)
    print(f"autograd dL/dw {xn.to_numpy(w.grad)[:, 0]} vs closed form {closed_form}")
    return accuracy


if __name__ == "__main__":
    main()
