"""Data-parallel training across processes and machines, in Keras 3's names.

::

    import xpnet as xn
    xn.distribution.initialize()                      # mpiexec / srun / torchrun, or nothing
    xn.distribution.set_distribution(xn.distribution.DataParallel())
    model.fit(x, y, batch_size=256)                   # 256 = the GLOBAL batch

Run with ``mpiexec -n 4 python train.py`` (or ``srun --mpi=pmix python train.py``).
Every process holds the whole model; ``fit`` broadcasts the weights (and any
optimizer state) from rank 0, gives every process the same shuffled order and
its slice of every global batch, sums the gradients with ONE allreduce of the
fused step's flat gradient buffer per step (weighted by each slice's share of
the batch, so the update is the single-process update of the global batch),
reduces the metrics so every process logs the same numbers, averages
BatchNormalization's moving statistics, and lets only rank 0 print and write
files. An uncaught exception on any process ends the whole job.

The transports are existing engines: MPI through mpi4py
(:class:`MPICommunicator`), NCCL through CuPy for GPUs (:class:`NCCLCommunicator`),
torch.distributed under torchrun (:class:`TorchCommunicator`). For custom
training loops: :class:`DistributedOptimizer`, :func:`broadcast_weights`,
:func:`broadcast_optimizer_state`, :func:`shard`.
"""

from xpnet.distribution.comm import (
    Communicator,
    MPICommunicator,
    SingleProcess,
    TorchCommunicator,
)
from xpnet.distribution.core import (
    DataParallel,
    communicator,
    distribution,
    initialize,
    launcher,
    local_rank,
    rank,
    set_distribution,
    size,
)
from xpnet.distribution.nccl import NCCLCommunicator
from xpnet.distribution.parallel import (
    DistributedOptimizer,
    allreduce_arrays,
    allreduce_gradients,
    average_moving_statistics,
    broadcast_optimizer_state,
    broadcast_weights,
    reduce_metric_states,
    shard,
    shard_bounds,
)

__all__ = [
    "Communicator",
    "DataParallel",
    "DistributedOptimizer",
    "MPICommunicator",
    "NCCLCommunicator",
    "SingleProcess",
    "TorchCommunicator",
    "allreduce_arrays",
    "allreduce_gradients",
    "average_moving_statistics",
    "broadcast_optimizer_state",
    "broadcast_weights",
    "communicator",
    "distribution",
    "initialize",
    "launcher",
    "local_rank",
    "rank",
    "reduce_metric_states",
    "set_distribution",
    "shard",
    "shard_bounds",
    "size",
]
