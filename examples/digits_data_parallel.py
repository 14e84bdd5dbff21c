"""The digits MLP trained data-parallel: one process per core (or per GPU), same script.

    pip install "xpnet[mpi]"
    mpiexec -n 2 python examples/digits_data_parallel.py      # 2 processes
    srun --mpi=pmix python examples/digits_data_parallel.py   # on a Slurm allocation
    mpiexec -n 4 python examples/digits_data_parallel.py --backend cupy  # a GPU per process
    python examples/digits_data_parallel.py                   # one plain process

Every process loads the whole data set; ``fit`` gives each its slice of every
global batch (``--batch-size`` is the global batch), sums the gradients with one
allreduce per step and keeps the weights identical everywhere. Only rank 0 prints.
The global batch does not change with the number of processes, so neither does
the learning rate (see the README for scaling it when the global batch grows).
"""

from __future__ import annotations

import argparse
import os
import sys

import xpnet as xn
from xpnet import distribution as D


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default=os.environ.get("XPNET_BACKEND", "numpy"))
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=64, help="the GLOBAL batch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=2, choices=(0, 1, 2))
    p.add_argument("--min-accuracy", type=float, default=None)
    return p.parse_args(argv)


def main(argv=None) -> float:
    args = parse_args(argv)
    xn.set_backend(args.backend)  # before initialize(): CuPy makes it NCCL, one GPU per rank
    D.initialize()  # mpiexec / srun / torchrun detected; nothing at all in a plain process
    D.set_distribution(D.DataParallel())
    xn.set_seed(args.seed)  # (rank 0's initial weights are broadcast to the others)

    (x_train, y_train), (x_test, y_test) = xn.datasets.digits.load_data(flatten=True)
    mean, spread = x_train.mean(axis=0), x_train.std(axis=0) + 1.0
    x_train, x_test = (x_train - mean) / spread, (x_test - mean) / spread

    model = xn.Sequential(
        [
            xn.Input(shape=(64,)),
            xn.layers.Dense(128, activation="relu"),
            xn.layers.Dense(64, activation="relu"),
            xn.layers.Dense(10, activation="softmax"),
        ]
    )
    # jit_compile=False: data-parallel fit runs the eager step (JAX refuses jit there)
    model.compile(
        optimizer=xn.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_split=0.1,
        verbose=args.verbose,
    )
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)  # the same on every rank
    if D.rank() == 0:
        print(
            f"test accuracy {accuracy:.4f} (loss {loss:.4f}) with {D.size()} process(es) "
            f"on {xn.get_backend().name}, global batch {args.batch_size}"
        )
    if args.min_accuracy is not None and accuracy < args.min_accuracy:
        sys.exit(f"accuracy {accuracy:.4f} is below --min-accuracy {args.min_accuracy}")
    return accuracy


if __name__ == "__main__":
    main()
