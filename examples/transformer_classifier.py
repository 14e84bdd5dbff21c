"""A small Transformer classifier on a task that needs attention.

    python examples/transformer_classifier.py
    python examples/transformer_classifier.py --backend torch --epochs 20

The task: 16 tokens, among them one A and one B at random places, the rest
filler (14 letters c..p); does A come before B? Half the sequences say yes.
Answering means relating two positions that can lie anywhere, which is what
self-attention does: in the Transformer block A's position can look up where
B is (its query meets B's key), whatever lies between.

For contrast, the same model without the Transformer block (token and
position embeddings averaged, then a Dense layer) sees which tokens occur but
not in which order, so it cannot beat chance (50%).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import xpnet as xn

VOCAB, LENGTH = 16, 16
LETTERS = "ABcdefghijklmnop"  # id 0 is A, id 1 is B, the rest filler


class PositionEmbedding(xn.layers.Layer):
    """Adds a learned vector per position: (batch, steps, dim) + (steps, dim).

    Attention by itself is blind to order; this is how the model knows which
    token came first (as KerasHub's ``PositionEmbedding``, added here instead
    of returned).
    """

    def build(self, input_shape):
        self.positions = self.add_weight("positions", input_shape[1:], "glorot_uniform")

    def call(self, inputs):
        return inputs + self.positions


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend", default=os.environ.get("XPNET_BACKEND", "numpy"), choices=xn.backend.BACKENDS
    )
    p.add_argument("--device", default=None, help="device of the backend (e.g. cuda:0)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    p.add_argument(
        "--samples", type=int, default=6000, help="training sequences (a third as many to test)"
    )
    p.add_argument(
        "--min-accuracy",
        type=float,
        default=None,
        help="exit with an error if the Transformer's test accuracy ends lower",
    )
    return p.parse_args(argv)


def make_data(n: int, rng: np.random.Generator):
    """Token ids (n, LENGTH) with one A (id 0) and one B (id 1); label 1 when A comes first."""
    x = rng.integers(2, VOCAB, size=(n, LENGTH))  # filler
    a, b = np.argsort(rng.random((n, LENGTH)), axis=1)[:, :2].T  # two distinct positions
    rows = np.arange(n)
    x[rows, a], x[rows, b] = 0, 1
    return x, (a < b).astype(np.float32)[:, None]


def show(ids) -> str:
    return " ".join(LETTERS[i] for i in ids)


def build(with_attention: bool) -> xn.Sequential:
    layers = [
        xn.Input(shape=(LENGTH,), dtype="int64"),
        xn.layers.Embedding(VOCAB, 32),
        PositionEmbedding(),
    ]
    if with_attention:
        layers.append(xn.layers.TransformerEncoder(intermediate_dim=64, num_heads=4))
    layers += [
        xn.layers.GlobalAveragePooling1D(),
        xn.layers.Dense(1, activation="sigmoid"),
    ]
    model = xn.Sequential(layers)
    model.compile(
        optimizer=xn.optimizers.Adam(learning_rate=0.003),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(argv=None) -> float:
    args = parse_args(argv)
    xn.set_backend(args.backend, args.device)
    xn.set_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_data(args.samples, rng)
    x_test, y_test = make_data(max(args.samples // 3, 1), rng)
    for ids, label in zip(x_train[:3], y_train[:3, 0]):
        print(f"{show(ids)}  ->  A before B: {'yes' if label else 'no'}")

    results = {}
    for with_attention in (False, True):
        name = "Transformer" if with_attention else "no attention"
        model = build(with_attention)
        if with_attention:
            model.summary()
        start = time.perf_counter()
        model.fit(
            x_train,
            y_train,
            batch_size=64,
            epochs=args.epochs,
            verbose=args.verbose * with_attention,
        )
        seconds = time.perf_counter() - start
        _, results[name] = model.evaluate(x_test, y_test, verbose=0)
        print(f"{name:>12}: test accuracy {results[name]:.4f}  ({seconds:.1f}s)")

    backend = xn.get_backend()
    print(
        f"chance 0.50; no attention {results['no attention']:.4f}; Transformer "
        f"{results['Transformer']:.4f} on {backend.name} [{backend.device}] after "
        f"{args.epochs} epochs"
    )
    accuracy = results["Transformer"]
    if args.min_accuracy is not None and accuracy < args.min_accuracy:
        sys.exit(f"test accuracy {accuracy:.4f} is below --min-accuracy {args.min_accuracy}")
    return accuracy


if __name__ == "__main__":
    main()
