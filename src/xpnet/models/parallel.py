"""``fit`` and ``evaluate`` under a data-parallel distribution (:mod:`xpnet.distribution`).

The single-process loop of :mod:`xpnet.models.training` is left as it is (no
per-step test of whether a distribution is set); with one spanning several
processes, ``fit`` and ``evaluate`` run these loops instead:

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
  moving statistics averaged, the stop flag agreed on; callbacks marked
  ``rank_zero_only`` (progress bar, checkpoints, CSV) run on rank 0 only;
- any exception aborts the whole job (``communicator.abort``).
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

from xpnet import backend as B
from xpnet import distribution as D
from xpnet.backend import host_numpy as np
from xpnet.callbacks import CallbackList, History, ProgbarLogger
from xpnet.tensor import no_grad

__all__ = ["evaluate_feed", "fit_loop", "guard"]

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
    D.broadcast_weights(model, 0, comm)
    D.broadcast_optimizer_state(_inner(c.optimizer), 0, comm)
    seed = comm.broadcast_object(int(B.host_rng().integers(2**62)) if comm.rank == 0 else None, 0)
    feed._gen = np.random.default_rng(seed)


def train_step(model, batch, layout, m: int, comm, opt) -> None:
    """One data-parallel step on this process's slice ``batch`` (None: empty) of a
    global batch of ``m`` rows."""
    st = model._state
    c = st.compiled
    params = st.params
    ys = None
    if batch is None:  # a short last batch left this process no rows: add zeros
        sinks = opt.gradient_sinks(params)
        if sinks is not None:
            for p, view in sinks.items():
                view[...] = 0
                p.grad = view
        else:
            for p in params:
                p.grad = B.namespace(p.data).zeros_like(p.data)
    else:
        outs, ys, sws = model._forward(batch, layout, True)
        if st.unchecked is not None:
            model._check_targets(outs)
        n = int(outs[0].shape[0])
        extras = model._extras() if (st.extras[0] or st.extras[1]) else ()
        loss = c.loss(ys, outs, sws, n, extras)
        loss.backward(n / m, sinks=opt.gradient_sinks(params))
    D.allreduce_gradients(params, opt, "sum", comm)
    opt.step(params)
    for p in params:
        p.grad = None
    if ys:
        c.update_metrics(ys, outs, sws)


def _results(model, comm, c) -> dict[str, Any]:
    D.reduce_metric_states(c.metric_objects(), comm)
    return c.results()


def fit_loop(
    model,
    comm,
    c,
    feed,
    layout,
    val_feed,
    epochs,
    verbose,
    callbacks,
    initial_epoch,
    steps_per_epoch,
    validation_steps,
    validation_freq,
):
    from xpnet.models.training import _LazyLogs, _validate_now, _verbose

    check(model, comm, feed)
    with guard(comm):
        prepare(model, comm, c, feed, layout)
        rank0 = comm.rank == 0
        verbose = _verbose(verbose) if rank0 else 0
        steps = (
            feed.num_batches if steps_per_epoch is None else min(steps_per_epoch, feed.num_batches)
        )
        history = History()
        cbs = [cb for cb in (callbacks or []) if rank0 or not cb.rank_zero_only]
        if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
            cbs.append(ProgbarLogger())
        cbs.append(history)
        cl = CallbackList(cbs, model=model, verbose=verbose, epochs=epochs, steps=steps)
        model.history = history
        model.stop_training = False
        model.zero_grad()
        want_begin = cl.wants("on_train_batch_begin")
        want_end = cl.wants("on_train_batch_end")
        # a callback that may stop training inside an epoch: agree on the flag every step
        local = any(
            not isinstance(cb, (ProgbarLogger, History))
            and (_hook(cb, "on_train_batch_end") or _hook(cb, "on_train_batch_begin"))
            for cb in cbs
        )
        sync_steps = any(comm.allgather_object(local))
        opt = _inner(c.optimizer)
        rank, size = comm.rank, comm.size
        logs: dict[str, Any] = {}
        cl.on_train_begin(None)
        for epoch in range(initial_epoch, epochs):
            c.reset()
            cl.on_epoch_begin(epoch, None)
            for step, (batch, m) in enumerate(feed.epoch_shard(rank, size)):
                if want_begin:
                    cl.on_train_batch_begin(step, None)
                train_step(model, batch, layout, m, comm, opt)
                if want_end:  # (batch logs: this process's own slices)
                    cl.on_train_batch_end(step, _LazyLogs(c.results))
                stop = model.stop_training
                if sync_steps:
                    stop = model.stop_training = any(comm.allgather_object(stop))
                if stop or step + 1 >= steps:
                    break
            logs = _results(model, comm, c)
            D.average_moving_statistics(model, comm)
            if val_feed is not None and _validate_now(epoch, validation_freq):
                val = evaluate_feed(model, comm, *val_feed, cl, validation_steps)
                logs.update({f"val_{k}": v for k, v in val.items()})
            cl.on_epoch_end(epoch, logs)
            model.stop_training = any(comm.allgather_object(bool(model.stop_training)))
            if model.stop_training:
                break
        cl.on_train_end(logs)
        return history


def _hook(cb, name: str) -> bool:
    from xpnet.callbacks import _overrides

    return _overrides(cb, name)


def evaluate_feed(model, comm, feed, layout, cl, steps=None) -> dict[str, Any]:
    """``evaluate`` on this process's slice of every batch; the metrics reduced."""
    with guard(comm):
        c = model._state.compiled
        c.reset()
        cl.on_test_begin(None)
        want = cl.wants("on_test_batch_end")
        for step, (batch, _) in enumerate(feed.epoch_shard(comm.rank, comm.size)):
            if batch is not None:
                model._test_batch(batch, layout)
            if want:
                cl.on_test_batch_end(step, _LazyLogs_for(c))
            if steps is not None and step + 1 >= steps:
                break
        logs = _results(model, comm, c)
        cl.on_test_end(logs)
        return logs


def _LazyLogs_for(c):
    from xpnet.models.training import _LazyLogs

    return _LazyLogs(c.results)
