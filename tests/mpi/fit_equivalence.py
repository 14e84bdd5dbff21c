"""Run under ``mpiexec -n N python -m mpi4py fit_equivalence.py OUT`` by tests/test_distribution.py.

Every rank trains data-parallel; rank 0 also trains the same models in one
process (the distribution unset) for reference. Each rank writes OUT/rank<r>.npz
(weights, histories, evaluations, BN statistics) for the test to compare.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import xpnet as xn
from xpnet import distribution as D

out_dir = sys.argv[1]
comm = D.initialize()
rank, size = D.rank(), D.size()
assert size == comm.size > 1, f"expected a job of several processes; got size {size}"
dp = D.DataParallel()

rng = np.random.default_rng(0)
N = 50  # batches of 16: 16, 16, 16, 2 (3 ranks: slices of 0, 1, 1 rows in the last one)
x = rng.normal(size=(N, 6)).astype(np.float32)
y = rng.integers(0, 3, size=N)
sw = rng.uniform(0.5, 2.0, size=N).astype(np.float32)
xv = rng.normal(size=(21, 6)).astype(np.float32)
yv = rng.integers(0, 3, size=21)

OPTIMIZERS = {
    "sgd": lambda: xn.optimizers.SGD(0.1),
    "momentum": lambda: xn.optimizers.SGD(0.1, momentum=0.9),
    "adam": lambda: xn.optimizers.Adam(0.01),
}


def make(seed: int, opt: str, bn: bool = False):
    xn.set_seed(seed)
    layers = [
        xn.Input((6,)),
        xn.layers.Dense(8, activation="relu", kernel_regularizer=xn.regularizers.L2(0.01)),
    ]
    if bn:
        layers.append(xn.layers.BatchNormalization())
    layers.append(xn.layers.Dense(3))
    model = xn.Sequential(layers)
    model.compile(
        optimizer=OPTIMIZERS[opt](),
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,  # data-parallel fit runs eager steps (JAX refuses jit)
    )
    return model


def weights(model):
    return [xn.to_numpy(w).copy() for w in model.weights]


def train(model, **kw):
    h = model.fit(
        x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, validation_data=(xv, yv), **kw
    )
    ev = model.evaluate(xv, yv, batch_size=8, verbose=0, return_dict=True)
    return h.history, ev


CASES = {
    "sgd": {},
    "momentum": {},
    "adam": {},
    "sgd_sample_weight": {"sample_weight": sw},
    "adam_class_weight": {"class_weight": {0: 1.0, 1: 2.0, 2: 0.5}},
}

result: dict = {}
logs: dict = {}
for case, kw in CASES.items():
    opt = case.split("_")[0]
    with D.set_distribution(dp):
        m = make(1, opt)
        hist, ev = train(m, **kw)
    for i, w in enumerate(weights(m)):
        result[f"{case}/w{i}"] = w
    logs[case] = {"history": hist, "evaluate": ev}
    if rank == 0:  # the single-process reference: the same model on the global batches
        ref = make(1, opt)
        hist, ev = train(ref, **kw)
        for i, w in enumerate(weights(ref)):
            result[f"{case}/ref_w{i}"] = w
        logs[case + "/ref"] = {"history": hist, "evaluate": ev}

# different seeds on every rank: the first broadcast makes them agree
with D.set_distribution(dp):
    m = make(100 + rank, "adam")
    m(x[:1])  # built, not yet broadcast: different weights on every rank
    result["seeds/before"] = np.concatenate([w.ravel() for w in weights(m)])
    D.broadcast_weights(m)
    result["seeds/after_broadcast"] = np.concatenate([w.ravel() for w in weights(m)])
    m.fit(x, y, batch_size=16, epochs=2, verbose=0)  # shuffled: the same order everywhere
    result["seeds/after_fit"] = np.concatenate([w.ravel() for w in weights(m)])

    # BatchNormalization: the moving statistics averaged across ranks
    m = make(100 + rank, "sgd", bn=True)
    m.fit(x, y, batch_size=16, epochs=2, verbose=0)
    bn = next(layer for layer in m.layers if isinstance(layer, xn.layers.BatchNormalization))
    result["bn/mean"] = xn.to_numpy(bn.moving_mean).copy()
    result["bn/var"] = xn.to_numpy(bn.moving_variance).copy()

    # only rank 0 writes: every rank names its own files, rank 1's must not appear
    ck = os.path.join(out_dir, f"ckpt_rank{rank}.weights.npz")
    csv = os.path.join(out_dir, f"log_rank{rank}.csv")
    cbs = [
        xn.callbacks.ModelCheckpoint(ck, save_weights_only=True),
        xn.callbacks.CSVLogger(csv),
        xn.callbacks.EarlyStopping(monitor="loss", patience=100),
    ]
    m.fit(x, y, batch_size=16, epochs=1, verbose=1, callbacks=cbs)

    # save on rank 0, load everywhere, resume: weights and Adam state from rank 0
    m = make(7, "adam")
    m.fit(x, y, batch_size=16, epochs=1, verbose=0)
    path = os.path.join(out_dir, "model.xpnet.npz")
    if rank == 0:
        m.save(path)
    comm.barrier()
    loaded = xn.models.load_model(path)
    loaded.jit_compile = False  # (compiled again from the file: "auto", jit on JAX)
    if rank != 0:  # disturb the copies: the broadcast at fit must repair them
        for w in loaded.weights:
            w.data = w.data + float(rank)
    loaded.fit(x, y, batch_size=16, epochs=1, verbose=0)
    result["resume/w"] = np.concatenate([w.ravel() for w in weights(loaded)])
    result["resume/iterations"] = np.asarray(loaded.optimizer.iterations)

# a custom loop: DistributedOptimizer on equal shards == one process on the whole batch
xs, ys = D.shard(x[:48]), D.shard(y[:48])
model = make(3, "sgd")
model(x[:1])
D.broadcast_weights(model)
dopt = D.DistributedOptimizer(xn.optimizers.SGD(0.1))
loss_fn = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
for _ in range(3):
    loss = loss_fn(ys, model(xs, training=True))
    loss.backward()
    dopt.step(model.trainable_weights)
    dopt.zero_grad(model.trainable_weights)
result["custom/w"] = np.concatenate([w.ravel() for w in weights(model)])
if rank == 0:
    with D.set_distribution(None):
        ref = make(3, "sgd")
        ref(x[:1])
        opt = xn.optimizers.SGD(0.1)
        for _ in range(3):
            loss = loss_fn(y[:48], ref(x[:48], training=True))
            loss.backward()
            opt.step(ref.trainable_weights)
            opt.zero_grad(ref.trainable_weights)
        result["custom/ref_w"] = np.concatenate([w.ravel() for w in weights(ref)])

np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **result)
with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
    json.dump(logs, f)
