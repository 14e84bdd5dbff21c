"""Run under ``mpiexec -n 2 python -m mpi4py backup_resume.py OUT`` by tests/test_distribution.py.

BackupAndRestore under data-parallel fit: a run of 2 epochs leaves its backup (rank 0
writes it); a new model (other weights on every rank, a fresh optimizer) fitted for 4
epochs with the same backup folder must resume at epoch 2 on every rank, with rank 0's
restored weights and optimizer state, and end where an uninterrupted 4-epoch run ends.
Each rank writes OUT/rank<r>.npz and OUT/rank<r>.json.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import xpnet as xn
from xpnet import distribution as D

out_dir = sys.argv[1]
D.initialize()
rank = D.rank()
assert D.size() > 1, "expected a job of several processes"

rng = np.random.default_rng(0)
x = rng.normal(size=(48, 6)).astype(np.float32)
y = rng.integers(0, 3, size=48)


def make(seed: int):
    xn.set_seed(seed)
    model = xn.Sequential(
        [xn.Input((6,)), xn.layers.Dense(8, activation="relu"), xn.layers.Dense(3)]
    )
    model.compile(
        optimizer=xn.optimizers.Adam(0.01),
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,
    )
    return model


def weights(model):
    return np.concatenate([xn.to_numpy(w).ravel() for w in model.weights])


backup = os.path.join(out_dir, "backup")  # one folder, only rank 0 writes it
fit = {"batch_size": 16, "shuffle": False, "verbose": 0}
with D.set_distribution(D.DataParallel()):
    straight = make(1)
    straight.fit(x, y, epochs=4, **fit)

    first = make(1)
    first.fit(
        x,
        y,
        epochs=2,
        callbacks=[xn.callbacks.BackupAndRestore(backup, delete_checkpoint=False)],
        **fit,
    )

    again = make(50 + rank)  # other weights on every rank, a fresh optimizer
    begun: list[int] = []
    seen = xn.callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: begun.append(epoch))
    history = again.fit(
        x, y, epochs=4, callbacks=[xn.callbacks.BackupAndRestore(backup), seen], **fit
    )

# rank 0 deletes the backup at the end of ITS fit: wait for it before looking
D.communicator().barrier()
np.savez(
    os.path.join(out_dir, f"rank{rank}.npz"),
    straight=weights(straight),
    resumed=weights(again),
)
with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
    json.dump(
        {
            "begun": begun,
            "losses": len(history.history["loss"]),
            "iterations": int(again.optimizer.iterations),
            "straight_iterations": int(straight.optimizer.iterations),
            "backup_left": os.path.exists(backup),
        },
        f,
    )
