"""NCCL between GPUs, for CuPy arrays, through CuPy's binding (``cupy.cuda.nccl``).

One process per GPU: the process takes the GPU of its local rank (its rank among
the processes of its machine), rank 0 makes NCCL's unique id, MPI broadcasts it,
and every process joins the NCCL communicator with it. Collectives run on the
current CuPy stream, the one that computed the gradients, so nothing waits on
the host: the update that follows is queued behind the allreduce on the same
stream. Small Python values, ``barrier`` and ``abort`` go over MPI.

Arrays that are not CuPy arrays (host data) take the MPI path.
"""

from __future__ import annotations

from typing import Any

from xpnet import backend as B
from xpnet.backend import collective as C
from xpnet.distribution.comm import Communicator, MPICommunicator, _check_op

__all__ = ["NCCLCommunicator"]


class NCCLCommunicator(Communicator):
    """NCCL collectives on CuPy arrays; bootstrapped and backed by ``mpi``
    (an :class:`~xpnet.distribution.comm.MPICommunicator`, made when not given).

    Args:
        mpi: the MPI communicator that carries the unique id and host data (a
            :class:`~xpnet.distribution.comm.SingleProcess` for a one-GPU group).
        device: the GPU of this process (default: local rank modulo the GPUs seen);
            where the active backend is CuPy on another GPU, it is moved to this one.
    """

    name = "nccl"

    def __init__(self, mpi: Communicator | None = None, device: int | None = None) -> None:
        self.mpi = mpi = MPICommunicator() if mpi is None else mpi
        cupy, nccl = C.nccl_api()
        self.cupy, self.nccl = cupy, nccl
        self.rank, self.size, self.local_rank = mpi.rank, mpi.size, mpi.local_rank
        if device is None:
            try:
                count = cupy.cuda.runtime.getDeviceCount()
            except cupy.cuda.runtime.CUDARuntimeError:  # no driver: no device
                count = 0
            if count < 1:
                raise RuntimeError("NCCLCommunicator: CuPy sees no CUDA device on this machine.")
            device = self.local_rank % count
        self.device = int(device)
        cupy.cuda.Device(self.device).use()
        active = B.get_backend()
        if active.name == "cupy" and getattr(active.device, "id", self.device) != self.device:
            B.set_backend("cupy", self.device)  # one process per GPU: this one's
        uid = bootstrap_unique_id(mpi, nccl)
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self._ops = {
            "sum": nccl.NCCL_SUM,
            "mean": nccl.NCCL_SUM,
            "max": nccl.NCCL_MAX,
            "min": nccl.NCCL_MIN,
        }

    def _stream(self) -> int:
        return self.cupy.cuda.get_current_stream().ptr

    def allreduce(self, a, op: str = "sum"):
        red = self._ops[_check_op(op)]
        if not C.is_cupy(a):
            return self.mpi.allreduce(a, op)
        ptr, count, dtype = C.device_buffer(a, self.nccl)
        self.comm.allReduce(ptr, ptr, count, dtype, red, self._stream())
        if op == "mean":
            a *= 1.0 / self.size
        return a

    def broadcast(self, a, root: int = 0):
        if not C.is_cupy(a):
            return self.mpi.broadcast(a, root)
        ptr, count, dtype = C.device_buffer(a, self.nccl)
        self.comm.bcast(ptr, count, dtype, root, self._stream())
        return a

    def allgather(self, a):
        if not C.is_cupy(a):
            return self.mpi.allgather(a)
        out = self.cupy.empty((self.size, *a.shape), dtype=a.dtype)
        ptr, count, dtype = C.device_buffer(a, self.nccl)
        self.comm.allGather(ptr, int(out.data.ptr), count, dtype, self._stream())
        return out

    def barrier(self) -> None:
        self.cupy.cuda.get_current_stream().synchronize()
        self.mpi.barrier()

    def abort(self, code: int = 1) -> None:
        try:
            self.comm.abort()
        finally:
            self.mpi.abort(code)

    def broadcast_object(self, obj: Any, root: int = 0) -> Any:
        return self.mpi.broadcast_object(obj, root)

    def allgather_object(self, obj: Any) -> list:
        return self.mpi.allgather_object(obj)


def bootstrap_unique_id(mpi: Communicator, nccl) -> Any:
    """NCCL's unique id made on rank 0 and broadcast to every process over ``mpi``
    (128 bytes in CuPy's binding: it crosses as a small Python value)."""
    uid = nccl.get_unique_id() if mpi.rank == 0 else None
    return mpi.broadcast_object(uid, 0)
