"""Multi-label classification: any subset of labels per sample.

Multi-class (one label per sample) uses a softmax over the classes and
categorical cross-entropy; multi-label uses one sigmoid per label and binary
cross-entropy, each label an independent yes/no decision with its own
threshold. The metrics differ too: exact-match (subset) accuracy, Hamming
accuracy, and precision/recall over label decisions.

    python examples/multilabel.py --epochs 30
"""

from __future__ import annotations

import argparse
import os

import xpnet as xn


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend", default=os.environ.get("XPNET_BACKEND", "numpy"), choices=xn.backend.BACKENDS
    )
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    xn.set_backend(args.backend)
    xn.set_seed(args.seed)
    x, y = xn.datasets.make_multilabel(
        n_samples=2000, n_features=20, n_labels=5, noise=0.02, seed=args.seed
    )
    x_train, x_test, y_train, y_test = xn.data.train_test_split(
        x, y, test_size=0.25, seed=args.seed
    )
    model = xn.Sequential(
        [
            xn.Input(shape=(20,)),
            xn.layers.Dense(64, activation="relu"),
            xn.layers.Dense(5, activation="sigmoid"),  # one independent probability per label
        ]
    )
    model.compile(
        optimizer="adam",
        loss="binary_crossentropy",
        metrics=[
            xn.metrics.MultiLabelAccuracy(mode="exact", name="exact_match"),
            xn.metrics.MultiLabelAccuracy(mode="hamming", name="hamming"),
            xn.metrics.MultiLabelPrecision(threshold=0.5),
            xn.metrics.MultiLabelRecall(threshold=0.5),
            xn.metrics.AUC(multi_label=True),
        ],
    )
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, validation_split=0.1, verbose=0)
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    for name, value in results.items():
        print(f"test {name:22s} {value:.4f}")
    # a stricter threshold trades recall for precision, label by label
    strict = xn.metrics.MultiLabelPrecision(threshold=0.8)
    strict.update_state(y_test, model.predict(x_test, verbose=0))
    print(f"test precision at threshold 0.8: {strict.result():.4f}")
    return results


if __name__ == "__main__":
    main()
