"""Data-parallel building blocks: gradient and metric reductions, broadcasts of
weights and optimizer state, data shards, and a Horovod-style distributed
optimizer for custom training loops. ``Model.fit`` uses the same pieces.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from xpnet import backend as B
from xpnet.backend import collective
from xpnet.distribution.comm import Communicator
from xpnet.distribution.core import communicator as _current

__all__ = [
    "DistributedOptimizer",
    "allreduce_arrays",
    "allreduce_gradients",
    "average_moving_statistics",
    "broadcast_optimizer_state",
    "broadcast_weights",
    "reduce_metric_states",
    "shard",
    "shard_bounds",
]


def _comm(comm: Communicator | None) -> Communicator:
    return _current() if comm is None else comm


def _weights_of(obj) -> list:
    weights = getattr(obj, "weights", None)
    return list(weights if weights is not None else obj)


# --------------------------------------------------------------------------- arrays


def allreduce_arrays(arrays: list, op: str = "sum", communicator: Communicator | None = None):
    """``arrays`` reduced across processes with ONE collective: laid end to end in one
    flat buffer per dtype (a copy), reduced, and returned as arrays of their shapes
    (views of the reduced buffer)."""
    comm = _comm(communicator)
    out: list = list(arrays)
    groups: dict[Any, list[int]] = {}
    for i, a in enumerate(arrays):
        groups.setdefault(str(a.dtype), []).append(i)
    for idx in groups.values():
        first = arrays[idx[0]]
        xp = B.namespace(first)
        flat = xp.concat([xp.reshape(arrays[i], (-1,)) for i in idx]) if len(idx) > 1 else None
        if flat is None:
            flat = xp.reshape(arrays[idx[0]], (-1,))
            flat = B.copy_into(B.flat_buffer(first, int(flat.shape[0])), flat)
        flat = comm.allreduce(flat, op)
        start = 0
        for i in idx:
            shape = tuple(arrays[i].shape)
            n = math.prod(shape)
            out[i] = xp.reshape(flat[start : start + n], shape)
            start += n
    return out


def allreduce_gradients(
    params: list, optimizer=None, op: str = "sum", communicator: Communicator | None = None
) -> None:
    """Reduce the parameters' ``.grad`` across processes with one collective per dtype.

    Where ``optimizer`` runs the fused step and the gradients are its flat buffer's
    views (``fit`` has the backward write them there), that buffer is reduced in
    place, no copy; otherwise the gradients are concatenated, reduced and split
    back into ``.grad``. Parameters without a gradient are left out (every process
    must then lack the same ones).
    """
    comm = _comm(communicator)
    grads = [p.grad for p in params]
    buf = None if optimizer is None else optimizer.gradient_buffer(grads)
    if buf is not None:
        out = comm.allreduce(buf, op)
        if out is not buf:  # a transport that could not write in place
            B.copy_into(buf, out)
        return
    have = [i for i, g in enumerate(grads) if g is not None]
    if not have:
        return
    raw = [_raw(grads[i]) for i in have]
    reduced = allreduce_arrays(raw, op, comm)
    for i, g in zip(have, reduced):
        params[i].grad = g


def _raw(g):
    data = getattr(g, "data", g)  # a Tensor's array
    return data if B.is_array(data) else g


# --------------------------------------------------------------------------- broadcasts


def broadcast_weights(model, root: int = 0, communicator: Communicator | None = None) -> None:
    """Give every process the weights of process ``root`` (a model, a layer or a list
    of Parameters; trainable and not). Call after the model is built."""
    comm = _comm(communicator)
    if comm.size == 1:
        return
    for w in _weights_of(model):
        out = comm.broadcast(w.data, root)
        if out is not w.data:
            w.data = out


def broadcast_optimizer_state(
    optimizer, root: int = 0, communicator: Communicator | None = None
) -> None:
    """Give every process the optimizer state of process ``root``: the step count,
    the learning rate (a float), the scalar state and every state array. Every
    process must have seen the same parameters (the same model, built)."""
    comm = _comm(communicator)
    if comm.size == 1:
        return
    opt = getattr(optimizer, "optimizer", optimizer)  # a DistributedOptimizer's inner one
    layout = [None if s is None else sorted(s._vars) for s in opt._slots]
    scalars = {"iterations": int(opt.iterations)}
    if isinstance(opt._learning_rate, (int, float)):
        scalars["learning_rate"] = float(opt._learning_rate)
    for key in opt.scalar_state:
        scalars[key] = _scalar(getattr(opt, key))
    root_layout, root_scalars = comm.broadcast_object((layout, scalars), root)
    if len(root_layout) > len(opt._params):
        raise RuntimeError(
            f"broadcast_optimizer_state: process {root} holds state for {len(root_layout)} "
            f"parameters but this process (rank {comm.rank}) has seen only "
            f"{len(opt._params)}; build the model and optimizer the same way on every process."
        )
    for i, names in enumerate(root_layout):
        if names is not None and layout[i] is None:
            opt.slots(opt._params[i])  # create it here, then overwrite with root's values
        elif names is not None and sorted(opt._slots[i]._vars) != names:
            raise RuntimeError(
                f"broadcast_optimizer_state: parameter #{i} has state {names} on process "
                f"{root} but {sorted(opt._slots[i]._vars)} here; use the same optimizer."
            )
    for i, names in enumerate(root_layout):
        if names is None:
            continue
        for name in names:
            var = opt._slots[i]._vars[name]
            out = comm.broadcast(var.data, root)
            if out is not var.data:
                var.data = out
    opt.iterations = root_scalars["iterations"]
    if "learning_rate" in root_scalars:
        opt._learning_rate = root_scalars["learning_rate"]
    for key in opt.scalar_state:
        setattr(opt, key, root_scalars[key])


def _scalar(value) -> int | float:
    """A scalar state value as a Python number of its kind (a LossScaleOptimizer's step
    counter stays an int, its scale a float)."""
    if type(value) in (int, float):
        return value
    a = B.to_numpy(value)  # a 0-d host array
    return int(a) if a.dtype.kind in "biu" else float(a)


# --------------------------------------------------------------------------- metrics, BN


def _host_state(value):
    if value is None or _is_number(value):
        return value
    return B.to_numpy(value)


def _is_number(value) -> bool:
    return type(value) in (int, float)


def reduce_metric_states(metrics: list, communicator: Communicator | None = None) -> None:
    """Sum every metric's running state (``state_holders``: totals, counts, confusion
    counts) over the processes, in rank order, so that ``result()`` gives the same
    value on every process: the value of the whole data. One collective."""
    comm = _comm(communicator)
    holders = [h for m in metrics for h in m.state_holders()]
    if comm.size == 1 or not holders:
        return
    local = [_host_state(getattr(obj, attr)) for obj, attr in holders]
    everyone = comm.allgather_object(local)
    for i, (obj, attr) in enumerate(holders):
        values = [r[i] for r in everyone if r[i] is not None]
        if not values:
            continue
        if all(_is_number(v) for v in values):  # Python counts stay Python numbers
            setattr(obj, attr, sum(values[1:], values[0]))
            continue
        total = collective.host_sum(values)
        mine = getattr(obj, attr)
        if mine is not None and not _is_number(mine):
            setattr(obj, attr, collective.from_host(total, mine))
        else:  # nothing here yet (or a number): an array of the active backend
            setattr(obj, attr, B.asarray(total, dtype=str(total.dtype)))


def average_moving_statistics(model, communicator: Communicator | None = None) -> None:
    """Average the moving statistics of every BatchNormalization layer of ``model``
    across processes (one collective), so that every process infers alike."""
    from xpnet.layers import BatchNormalization

    comm = _comm(communicator)
    if comm.size == 1:
        return
    _, layers = model._walk(False)
    stats = [
        w
        for layer in layers
        if isinstance(layer, BatchNormalization) and layer.built
        for w in (layer.moving_mean, layer.moving_variance)
    ]
    if not stats:
        return
    for w, out in zip(stats, allreduce_arrays([w.data for w in stats], "mean", comm)):
        w.data = B.copy_into(w.data, out) if B.can_update_in_place(w.data) else out


# --------------------------------------------------------------------------- data


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of process ``rank`` among ``size`` for ``n`` rows: contiguous
    blocks whose lengths differ by at most one (the first ``n % size`` one longer)."""
    return (rank * n) // size, ((rank + 1) * n) // size


def shard(data, rank: int | None = None, size: int | None = None):
    """This process's share of ``data`` (an array of any backend, or a list, tuple or
    dict of them, sharded alike along the first axis): contiguous blocks whose
    lengths differ by at most one. For custom loops; ``fit`` shards every batch itself.
    """
    comm = _current()
    rank = comm.rank if rank is None else rank
    size = comm.size if size is None else size
    if not 0 <= rank < size:
        raise ValueError(f"shard: rank must be in [0, {size}); got {rank}.")
    if isinstance(data, Mapping):
        return {k: shard(v, rank, size) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(shard(v, rank, size) for v in data)
    if data is None:
        return None
    if not hasattr(data, "shape"):
        raise TypeError(
            f"shard: expected an array (or a list/tuple/dict of arrays); got {type(data).__name__}."
        )
    start, stop = shard_bounds(int(data.shape[0]), rank, size)
    return data[start:stop, ...]


# --------------------------------------------------------------------------- custom loops


class DistributedOptimizer:
    """An optimizer whose gradients are averaged (``op="mean"``, the default) or summed
    across processes before every update: ``apply``, ``apply_gradients`` and ``step``
    reduce first, with one collective (the fused step's flat buffer in place when
    the gradients are its views). Everything else is the wrapped optimizer's.

    Args:
        optimizer: an optimizer object or name.
        op: "mean" (each process's loss is the mean over its own, equal-sized shard)
            or "sum" (each process already scaled its loss by its share).
        communicator: default: the active distribution's.

    ``model.compile(optimizer=DistributedOptimizer(...))`` is accepted too: ``fit``
    under a distribution reduces the gradients itself and uses the wrapped optimizer.
    """

    _own = ("optimizer", "op", "_comm")

    def __init__(self, optimizer, op: str = "mean", communicator: Communicator | None = None):
        from xpnet import optimizers

        if op not in ("mean", "sum"):
            raise ValueError(f"DistributedOptimizer: op must be 'mean' or 'sum'; got {op!r}.")
        if isinstance(optimizer, (str, Mapping)):
            optimizer = optimizers.get(optimizer)
        object.__setattr__(self, "optimizer", optimizer)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "_comm", communicator)

    def __getattr__(self, name):
        if name in DistributedOptimizer._own:  # not set yet (a copy being made)
            raise AttributeError(name)
        return getattr(self.optimizer, name)

    def __setattr__(self, name, value) -> None:
        if name in self._own:
            object.__setattr__(self, name, value)
        else:
            setattr(self.optimizer, name, value)

    def _reduce(self, grads: list) -> list:
        comm = _comm(self._comm)
        if comm.size == 1:
            return grads
        buf = self.optimizer.gradient_buffer(grads)
        if buf is not None:
            out = comm.allreduce(buf, self.op)
            if out is not buf:
                B.copy_into(buf, out)
            return grads
        have = [i for i, g in enumerate(grads) if g is not None]
        reduced = allreduce_arrays([_raw(grads[i]) for i in have], self.op, comm)
        out = list(grads)
        for i, g in zip(have, reduced):
            out[i] = g
        return out

    def apply(self, grads, params) -> None:
        """Reduce ``grads`` across processes, then the wrapped optimizer's ``apply``."""
        grads = list(grads)
        self.optimizer.apply(self._reduce(grads), params)

    def apply_gradients(self, grads_and_vars) -> int:
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [p for _, p in pairs])
        return self.optimizer.iterations

    def step(self, params) -> None:
        from xpnet.optimizers.base import _parameters

        params = _parameters(params)
        self.apply([p.grad for p in params], params)

    def __repr__(self) -> str:
        return f"DistributedOptimizer({self.optimizer!r}, op={self.op!r})"
