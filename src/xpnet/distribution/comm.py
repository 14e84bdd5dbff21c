"""Communicators: the collectives data-parallel training needs, on existing engines.

One small interface (:class:`Communicator`): ``allreduce``, ``broadcast``,
``allgather``, ``barrier``, ``abort``, plus the same for small Python values
(``broadcast_object``, ``allgather_object``). Implementations:

- :class:`SingleProcess`: one process, every collective returns its input;
- :class:`MPICommunicator`: MPI through mpi4py, on NumPy buffers in place (zero
  copy); arrays of other libraries cross to the host at the collective only;
- :class:`~xpnet.distribution.nccl.NCCLCommunicator`: NCCL between GPUs for CuPy
  arrays (bootstrapped over MPI);
- :class:`TorchCommunicator`: torch.distributed (gloo) under ``torchrun``.

Array collectives return the result: the input array itself where the engine
wrote into it (NumPy arrays over MPI, CuPy arrays over NCCL), else a new array
of the input's library, device and dtype. Callers use the returned array.
"""

from __future__ import annotations

import atexit
import sys
from typing import Any

from xpnet.backend import collective as C

__all__ = ["Communicator", "MPICommunicator", "SingleProcess", "TorchCommunicator"]

_OPS = ("sum", "mean", "max", "min")


def _check_op(op: str) -> str:
    if op not in _OPS:
        raise ValueError(f"allreduce: op must be one of {_OPS}; got {op!r}.")
    return op


class Communicator:
    """The collectives over a group of ``size`` processes; this one is ``rank``.

    ``local_rank`` is the rank among the processes of this machine (the GPU to use).
    """

    name = "base"
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    def allreduce(self, a, op: str = "sum"):
        """``op`` ("sum", "mean", "max", "min") of ``a`` over every process, on every process."""
        raise NotImplementedError

    def broadcast(self, a, root: int = 0):
        """Process ``root``'s ``a`` on every process (same shape and dtype everywhere)."""
        raise NotImplementedError

    def allgather(self, a):
        """Every process's ``a`` (same shape everywhere), stacked along a new first axis."""
        raise NotImplementedError

    def barrier(self) -> None:
        """Wait until every process has reached this call."""
        raise NotImplementedError

    def abort(self, code: int = 1) -> None:
        """End every process of the job (after an error on this one), exit status ``code``."""
        raise NotImplementedError

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        """A small Python value (an int, a seed, a flag) of process ``root``, everywhere."""
        raise NotImplementedError

    def allgather_object(self, obj: Any) -> list:
        """Every process's small Python value, as a list in rank order."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class SingleProcess(Communicator):
    """One process: every collective is the identity (the default without a launcher)."""

    name = "single"

    def allreduce(self, a, op: str = "sum"):
        _check_op(op)
        return a

    def broadcast(self, a, root: int = 0):
        return a

    def allgather(self, a):
        return C.from_host(C.host_buffer(a)[0][None, ...], a)

    def barrier(self) -> None:
        return None

    def abort(self, code: int = 1) -> None:
        sys.stderr.flush()
        raise SystemExit(code)

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        return obj

    def allgather_object(self, obj: Any) -> list:
        return [obj]


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "xpnet.distribution over MPI needs mpi4py and an MPI library: "
            'pip install "xpnet[mpi]" (mpi4py + the MPICH wheel). '
            f"Import failed: {e}"
        ) from e
    return MPI


class MPICommunicator(Communicator):
    """MPI through mpi4py (``comm``: an mpi4py communicator, default COMM_WORLD).

    NumPy arrays are reduced and broadcast in place in their own memory; any
    other array goes to the host for the collective and comes back as a new array
    of its library (use the NCCL communicator for CuPy arrays on GPUs).
    """

    name = "mpi"

    def __init__(self, comm=None) -> None:
        MPI = _import_mpi()
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        local = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = local.Get_rank()
        self.local_size = local.Get_size()
        local.Free()
        self._ops = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}

    def allreduce(self, a, op: str = "sum"):
        mpi_op = self._ops[_check_op(op)]
        host, inplace = C.host_buffer(a)
        if self.size > 1:
            self.comm.Allreduce(self.MPI.IN_PLACE, host, op=mpi_op)
        if op == "mean":
            host *= 1.0 / self.size  # (an in-place NumPy multiply keeps the dtype)
        return a if inplace else C.from_host(host, a)

    def broadcast(self, a, root: int = 0):
        host, inplace = C.host_buffer(a)
        if self.size > 1:
            self.comm.Bcast(host, root=root)
        return a if inplace else C.from_host(host, a)

    def allgather(self, a):
        host, _ = C.host_buffer(a)
        out = C.host_buffer_like(host, self.size)
        self.comm.Allgather(host, out)
        return C.from_host(out, a)

    def barrier(self) -> None:
        self.comm.Barrier()

    def abort(self, code: int = 1) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        self.comm.Abort(code)

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        return self.comm.bcast(obj, root=root)

    def allgather_object(self, obj: Any) -> list:
        return self.comm.allgather(obj)


def _destroy_group(dist) -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


class TorchCommunicator(Communicator):
    """torch.distributed (gloo by default) for a job started by ``torchrun``.

    The process group is made from torchrun's environment (RANK, WORLD_SIZE,
    MASTER_ADDR, MASTER_PORT). Arrays cross as CPU tensors that share a NumPy
    buffer's memory, so NumPy arrays are reduced in place.
    """

    name = "torch"

    def __init__(self, backend: str = "gloo") -> None:
        torch, dist = C.torch_distributed()
        self.torch, self.dist = torch, dist
        if not dist.is_initialized():
            dist.init_process_group(backend=backend)
            # a group left alive at interpreter exit can kill the process in gloo's C++
            # threads ("terminate called without an active exception", seen under load)
            atexit.register(_destroy_group, dist)
        self.rank = dist.get_rank()
        self.size = dist.get_world_size()
        import os

        self.local_rank = int(os.environ.get("LOCAL_RANK", self.rank))
        R = dist.ReduceOp
        self._ops = {"sum": R.SUM, "mean": R.SUM, "max": R.MAX, "min": R.MIN}

    def allreduce(self, a, op: str = "sum"):
        red = self._ops[_check_op(op)]
        host, inplace = C.host_buffer(a)
        if self.size > 1:
            self.dist.all_reduce(C.torch_tensor(host), op=red)
        if op == "mean":
            host *= 1.0 / self.size
        return a if inplace else C.from_host(host, a)

    def broadcast(self, a, root: int = 0):
        host, inplace = C.host_buffer(a)
        if self.size > 1:
            self.dist.broadcast(C.torch_tensor(host), src=root)
        return a if inplace else C.from_host(host, a)

    def allgather(self, a):
        host, _ = C.host_buffer(a)
        out = C.host_buffer_like(host, self.size)
        parts = [C.torch_tensor(out[i]) for i in range(self.size)]
        self.dist.all_gather(parts, C.torch_tensor(host))
        return C.from_host(out, a)

    def barrier(self) -> None:
        self.dist.barrier()

    def abort(self, code: int = 1) -> None:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)  # torchrun's elastic agent then stops the other workers

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        box = [obj]
        self.dist.broadcast_object_list(box, src=root)
        return box[0]

    def allgather_object(self, obj: Any) -> list:
        out = [None] * self.size
        self.dist.all_gather_object(out, obj)
        return out
