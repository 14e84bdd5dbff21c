"""``fit`` and ``evaluate`` under a data-parallel distribution (:mod:`xpnet.distribution`).

``fit`` and ``evaluate`` each run one loop (:mod:`xpnet.models.training`) with a
plan chosen once per call: the single-process one, or, with a distribution spanning
several processes, this module's :class:`Plan` (so the single-process step pays
nothing per step for this). Under a Plan:

- at the start: the model is built (one inference forward of one row), the weights
  and any optimizer state broadcast from rank 0, and the shuffling generator seeded
  from rank 0, so every process draws the same order;
- per step: this process's slice of the global batch (``batch_size`` is the global
  batch); the backward is seeded with the slice's share ``n_local / n_global`` of
  the batch, so that the SUM of the processes' gradients is the gradient of the
  global batch's mean loss (an uneven last batch included); ONE allreduce of the
  fused step's flat gradient buffer; then the optimizer step (clipping and weight
  decay run once, on the reduced gradient);
- per epoch: the metrics' running sums reduced (one collective), BatchNormalization's
  moving statistics averaged, the stop flag agreed on (also per step where a callback
  may stop inside an epoch); callbacks marked ``rank_zero_only`` (progress bar,
  checkpoints, CSV, BackupAndRestore) run on rank 0 only;
- a backup restored at ``on_train_begin`` (BackupAndRestore, on rank 0): its weights,
  optimizer state and a new shuffling seed broadcast from rank 0 again, and every
  process starts at its epoch;
- any exception aborts the whole job (``communicator.abort``).
"""

from __future__ import annotations

import sys
import traceback
from contextlib import nullcontext
from typing import Any

from xpnet import backend as B
from xpnet import distribution as D
from xpnet.backend import host_numpy as np
from xpnet.backend.dtype_policy import overflow_expected
from xpnet.callbacks import Callback, History, ProgbarLogger, _overrides
from xpnet.optimizers.loss_scale import LossScaleOptimizer
from xpnet.tensor import no_grad

__all__ = ["Plan", "guard"]

_MEAN_REDUCTIONS = ("sum_over_batch_size", "mean", None)


class guard:
    """A context that turns an exception on this process into the end of the job:
    the traceback is printed with the rank, then ``abort`` (the other processes
    would otherwise wait forever in their next collective)."""

    def __init__(self, comm) -> None:
        self.comm = comm

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None or kind is SystemExit:
            return False
        report(self.comm, "error in data-parallel training", kind, value, tb)
        self.comm.abort(1)
        return False


def report(comm, what: str, kind, value, tb) -> None:
    """The traceback, with the rank, in ONE write (the launcher may drop output cut
    short by the abort that follows), flushed."""
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(f"[xpnet rank {comm.rank}/{comm.size}] {what}; aborting the job:\n{text}")
    sys.stderr.flush()


def _inner(optimizer):
    """The optimizer that updates (a DistributedOptimizer's wrapped one: fit reduces)."""
    return optimizer.optimizer if isinstance(optimizer, D.DistributedOptimizer) else optimizer


def check(model, comm, feed) -> None:
    """Refuse what cannot run data-parallel (the same answer on every process, so it
    raises without ending the job)."""
    if model._compiled_steps() is not None:
        raise ValueError(
            "Data-parallel fit runs the eager training step; this model compiles its steps "
            "(JAX with jit_compile). Compile with jit_compile=False (or run_eagerly=True) "
            "to train it under xn.distribution.DataParallel."
        )
    if feed.batch_size < comm.size:
        raise ValueError(
            f"Data-parallel fit: batch_size={feed.batch_size} is the GLOBAL batch and must be "
            f"at least the number of processes ({comm.size})."
        )


def prepare(model, comm, c, feed, layout) -> None:
    """Build the model, check the losses, broadcast from rank 0, seed the order."""
    st = model._state
    if st.params is None:  # build every layer with one row, in inference (no state change)
        first = [None if a is None else B.asarray(a[0:1, ...]) for a in feed.arrays]
        with no_grad():
            outs, ys, _ = model._forward(first, layout, False)
        if not c.built:
            c.build(model.output_names, ys, outs)
        model._setup_step()
    for fn in getattr(c, "losses", ()):
        reduction = getattr(fn, "reduction", None)
        if reduction not in _MEAN_REDUCTIONS:
            raise ValueError(
                f"Data-parallel fit needs losses reduced by the batch mean "
                f"('sum_over_batch_size', the default); {getattr(fn, 'name', fn)!r} has "
                f"reduction={reduction!r}, whose global value is not the processes' "
                "share-weighted sum."
            )
    _broadcast_state(model, comm, _inner(c.optimizer), feed)


def _broadcast_state(model, comm, opt, feed) -> None:
    """Rank 0's weights and optimizer state everywhere; the shuffling seeded from rank 0."""
    D.broadcast_weights(model, 0, comm)
    D.broadcast_optimizer_state(opt, 0, comm)
    seed = comm.broadcast_object(int(B.host_rng().integers(2**62)) if comm.rank == 0 else None, 0)
    feed._gen = np.random.default_rng(seed)


class Plan:
    """How ``fit`` and ``evaluate`` run on this process of a data-parallel job: the
    single loops of :mod:`xpnet.models.training` with this plan instead of the
    single-process one (the methods are the same; see ``training._Local``)."""

    def __init__(self, model, comm) -> None:
        self.model = model
        self.comm = comm
        self.opt = None  # the optimizer that updates, known at prepare
        self.feed = None  # the training feed, known at prepare

    def guard(self):
        return guard(self.comm)

    def callbacks(self, cbs: list, verbose: int) -> tuple[list, int]:
        """The callbacks that run here: ``rank_zero_only`` ones (and the progress bar)
        on rank 0 only."""
        if self.comm.rank == 0:
            return cbs, verbose
        return [cb for cb in cbs if not cb.rank_zero_only], 0

    def check(self, feed) -> None:
        check(self.model, self.comm, feed)

    def prepare(self, c, feed, layout) -> None:
        prepare(self.model, self.comm, c, feed, layout)
        self.opt, self.feed = _inner(c.optimizer), feed

    def agreement(self, cbs: list) -> list:
        """The callback that agrees on the stop flag (last in the list): at every
        epoch's end, and at every step's end where a callback on some process may
        stop inside an epoch."""
        local = any(
            not isinstance(cb, (ProgbarLogger, History))
            and (_overrides(cb, "on_train_batch_end") or _overrides(cb, "on_train_batch_begin"))
            for cb in cbs
        )
        per_step = any(self.comm.allgather_object(local))
        return [(_AgreeEachStep if per_step else _AgreeEachEpoch)(self.comm)]

    def resume(self, initial_epoch: int) -> int:
        """The first epoch, the same on every process: where rank 0's callbacks restored
        a backup (BackupAndRestore) at ``on_train_begin``, the restored weights,
        optimizer state and a new shuffling seed are broadcast from rank 0 and every
        process starts at rank 0's epoch."""
        model, comm = self.model, self.comm
        mine = model.__dict__.pop("_resume_epoch", None)
        epochs = comm.allgather_object(mine)
        if all(e is None for e in epochs):
            return initial_epoch
        if comm.rank != 0 and not self.opt._params:  # a fresh optimizer: give it the slots
            self.opt.build(model._state.params)
        _broadcast_state(model, comm, self.opt, self.feed)
        return initial_epoch if epochs[0] is None else epochs[0]

    def batches(self, feed):
        """One epoch of ``(this process's slice or None, the global batch's length)``."""
        return feed.epoch_shard(self.comm.rank, self.comm.size)

    def train_step(self, item, layout) -> None:
        batch, m = item
        train_step(self.model, batch, layout, m, self.comm, self.opt)

    def epoch_results(self, c) -> dict[str, Any]:
        """The epoch's logs (the metric states reduced), then BatchNormalization's
        moving statistics averaged."""
        logs = self.test_results(c)
        D.average_moving_statistics(self.model, self.comm)
        return logs

    def test_epoch(self, feed):
        """``(test_step, the batches)``: this process's slice of every batch, eager."""
        return self._test_step, feed.epoch_shard(self.comm.rank, self.comm.size)

    def _test_step(self, item, layout) -> None:
        batch, _ = item
        if batch is not None:  # a short last batch may leave this process no rows
            self.model._test_batch(batch, layout)

    def test_results(self, c) -> dict[str, Any]:
        D.reduce_metric_states(c.metric_objects(), self.comm)
        return c.results()


class _AgreeEachEpoch(Callback):
    """Every process stops when one does: the flag agreed on at each epoch's end."""

    def __init__(self, comm) -> None:
        super().__init__()
        self.comm = comm

    def _agree(self) -> None:
        model = self.model
        model.stop_training = any(self.comm.allgather_object(bool(model.stop_training)))

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._agree()


class _AgreeEachStep(_AgreeEachEpoch):
    """... and at each step's end (a callback may stop inside an epoch)."""

    def on_train_batch_end(self, batch, logs=None) -> None:
        self._agree()


def train_step(model, batch, layout, m: int, comm, opt) -> None:
    """One data-parallel step on this process's slice ``batch`` (None: empty) of a
    global batch of ``m`` rows: the model's own step, seeded with the slice's share and
    the gradients allreduced before the update."""

    def reduce(params) -> None:
        D.allreduce_gradients(params, opt, "sum", comm)

    if batch is not None:
        model._train_batch(batch, layout, m, reduce, opt)
        return
    # a short last batch left this process no rows: zero gradients into the reduce
    params = model._state.params
    sinks = opt.gradient_sinks(params)
    if sinks is not None:
        for p, view in sinks.items():
            view[...] = 0
            p.grad = view
    else:
        for p in params:
            p.grad = B.namespace(p.data).zeros_like(p.data)
    reduce(params)
    with overflow_expected() if isinstance(opt, LossScaleOptimizer) else nullcontext():
        opt.step(params)
    for p in params:
        p.grad = None
