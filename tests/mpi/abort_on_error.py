"""One rank raises; the job must end (non-zero) instead of hanging. Run by
tests/test_distribution.py as ``mpiexec -n 2 python abort_on_error.py MODE``.

MODE "fit": rank 1 raises from a callback inside ``fit`` while rank 0 goes on to
its next collective. MODE "script": rank 1 raises in the script after
``initialize()`` while rank 0 waits in a barrier (plain ``python``, no
``-m mpi4py``: xpnet's own exception hook must abort).
"""

from __future__ import annotations

import sys

import numpy as np

import xpnet as xn
from xpnet import distribution as D

mode = sys.argv[1]
comm = D.initialize()
if mode == "script":
    if D.rank() == 1:
        raise RuntimeError("rank 1 fails on purpose")
    comm.barrier()  # never completes: rank 1 is gone
    sys.exit(0)


class Boom(xn.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if D.rank() == 1:
            raise RuntimeError("rank 1 fails on purpose inside fit")


xn.set_seed(0)
x = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
y = (x[:, 0] > 0).astype(np.float32)
model = xn.Sequential([xn.Input((4,)), xn.layers.Dense(1)])
model.compile(optimizer="sgd", loss="mse", jit_compile=False)
with D.set_distribution(D.DataParallel()):
    model.fit(x, y, batch_size=16, epochs=50, verbose=0, callbacks=[Boom()])
sys.exit(0)
