"""A small convolutional network on the bundled 8x8 handwritten digits.

    python examples/cnn_digits.py                      # NumPy on the CPU
    python examples/cnn_digits.py --backend torch      # the same model on PyTorch
    python examples/cnn_digits.py --min-accuracy 0.98  # fail below 98% test accuracy

A convolution applies the same 3x3 weights at every position of the image,
so the network learns a stroke once rather than once per place it may appear;
pooling then makes it indifferent to small shifts. Batch normalization and a
cosine-decaying learning rate make the result steady across seeds: about 98.5
to 99% test accuracy in 15 epochs. The data (1797 images, UCI, CC BY 4.0)
ship inside xpnet.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import xpnet as xn


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backend",
        default=os.environ.get("XPNET_BACKEND", "numpy"),
        choices=xn.backend.BACKENDS,
        help="array library to train on",
    )
    p.add_argument("--device", default=None, help="device of the backend (e.g. cuda:0)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    p.add_argument(
        "--steps-per-epoch", type=int, default=None, help="batches per epoch (default: all)"
    )
    p.add_argument(
        "--min-accuracy",
        type=float,
        default=None,
        help="exit with an error if the test accuracy ends lower",
    )
    return p.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(argv)
    xn.set_backend(args.backend, args.device)
    xn.set_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = xn.datasets.digits.load_data()
    # standardize each pixel with the training set's statistics (+4 of 16 keeps the
    # nearly constant border pixels from being blown up), then add a channels axis:
    # (N, 8, 8) -> (N, 8, 8, 1), channels last as in Keras
    mean, spread = x_train.mean(axis=0), x_train.std(axis=0) + 4.0
    x_train = ((x_train - mean) / spread)[..., None].astype("float32")
    x_test = ((x_test - mean) / spread)[..., None].astype("float32")

    model = xn.Sequential(
        [
            xn.Input(shape=(8, 8, 1)),
            xn.layers.Conv2D(32, 3, padding="same", activation="relu"),  # 8x8x32
            xn.layers.BatchNormalization(),
            xn.layers.MaxPooling2D(2),  # 4x4x32
            xn.layers.Conv2D(64, 3, padding="same", activation="relu"),  # 4x4x64
            xn.layers.BatchNormalization(),
            xn.layers.MaxPooling2D(2),  # 2x2x64
            xn.layers.Flatten(),  # 256
            xn.layers.Dropout(0.3),
            xn.layers.Dense(10, activation="softmax"),
        ]
    )
    batch_size, validation_split = 32, 0.1
    per_epoch = math.ceil(len(x_train) * (1 - validation_split) / batch_size)
    steps = args.epochs * min(per_epoch, args.steps_per_epoch or per_epoch)
    learning_rate = xn.optimizers.schedules.CosineDecay(0.003, decay_steps=max(steps, 1))
    model.compile(
        optimizer=xn.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.summary()

    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=args.epochs,
        validation_split=validation_split,
        verbose=args.verbose,
        steps_per_epoch=args.steps_per_epoch,
    )
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    backend = xn.get_backend()
    print(
        f"test accuracy {accuracy:.4f} (loss {loss:.4f}) on {backend.name} "
        f"[{backend.device}] after {args.epochs} epochs in {seconds:.1f}s"
    )
    if args.min_accuracy is not None and accuracy < args.min_accuracy:
        sys.exit(f"test accuracy {accuracy:.4f} is below --min-accuracy {args.min_accuracy}")
    return accuracy


if __name__ == "__main__":
    main()
