"""The process group and the active distribution: ``initialize``, ``DataParallel``,
``set_distribution``, ``rank`` / ``size`` / ``local_rank``."""

from __future__ import annotations

import os
import sys
import traceback

from xpnet.distribution.comm import (
    Communicator,
    MPICommunicator,
    SingleProcess,
    TorchCommunicator,
)

__all__ = [
    "DataParallel",
    "communicator",
    "distribution",
    "initialize",
    "launcher",
    "local_rank",
    "rank",
    "set_distribution",
    "size",
]

_comm: Communicator | None = None
_dist: DataParallel | None = None

# the variables each launcher sets: (name of the world size, of the rank)
_MPI_ENV = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),  # Open MPI's mpiexec
    ("PMI_SIZE", "PMI_RANK"),  # MPICH / Intel MPI (Hydra), srun --mpi=pmi2
    ("PMIX_SIZE", "PMIX_RANK"),  # PMIx (Open MPI 5, srun --mpi=pmix)
    ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID"),  # srun (a batch script's shell has no step)
)


def launcher() -> tuple[str, int] | None:
    """``(kind, world size)`` of the launcher that started this process ("mpi" for
    mpiexec/mpirun/srun, "torchrun"), or None in a plain process."""
    env = os.environ
    for size_var, rank_var in _MPI_ENV:
        if rank_var in env:
            n = env.get(size_var)
            if n is None and rank_var == "PMIX_RANK":
                return ("mpi", 0)  # PMIx gives no size variable: ask MPI
            if n is not None and n.isdigit():
                return ("mpi", int(n))
    if "RANK" in env and "WORLD_SIZE" in env and ("LOCAL_RANK" in env or "MASTER_ADDR" in env):
        return ("torchrun", int(env["WORLD_SIZE"]))
    return None


def initialize(communicator: Communicator | str | None = None) -> Communicator:
    """Join the job's process group and return its communicator (once; later calls
    return the same one).

    With no argument the launcher is detected: ``mpiexec``/``mpirun`` (Open MPI,
    MPICH) and Slurm's ``srun`` give MPI (through mpi4py; NCCL between GPUs when
    the active backend is CuPy), ``torchrun`` gives torch.distributed (gloo). In a
    plain process, or a job of one process, nothing is started: the communicator
    is the single-process one. Pass "mpi", "nccl", "torch", "single" or a
    :class:`Communicator` to choose.

    In a job of several processes an uncaught exception on any of them then ends
    the whole job (``abort``), instead of leaving the others waiting in a collective.
    """
    global _comm
    if _comm is not None and communicator is None:
        return _comm
    if isinstance(communicator, Communicator):
        comm = communicator
    else:
        comm = _make(communicator)
    _comm = comm
    if comm.size > 1:
        _install_abort_hook(comm)
    return comm


def _make(kind: str | None) -> Communicator:
    if kind is None:
        found = launcher()
        if found is None or found[1] == 1:
            return SingleProcess()
        kind = "torch" if found[0] == "torchrun" else "auto-mpi"
    if kind == "single":
        return SingleProcess()
    if kind in ("mpi", "auto-mpi"):
        mpi = MPICommunicator()
        if kind == "auto-mpi" and _backend_is_cupy():
            from xpnet.distribution.nccl import NCCLCommunicator

            return NCCLCommunicator(mpi)
        return mpi
    if kind == "nccl":
        from xpnet.distribution.nccl import NCCLCommunicator

        return NCCLCommunicator()
    if kind == "torch":
        return TorchCommunicator()
    raise ValueError(
        f"initialize(): unknown communicator {kind!r}; expected 'mpi', 'nccl', 'torch', "
        "'single' or a Communicator."
    )


def _backend_is_cupy() -> bool:
    from xpnet import backend as B

    return B.get_backend().name == "cupy"


def _install_abort_hook(comm: Communicator) -> None:
    previous = sys.excepthook

    def hook(kind, value, tb):
        try:
            text = "".join(traceback.format_exception(kind, value, tb))
            sys.stderr.write(
                f"[xpnet rank {comm.rank}/{comm.size}] uncaught exception; "
                f"aborting the job:\n{text}"
            )
            sys.stderr.flush()
        finally:
            try:
                comm.abort(1)
            finally:
                previous(kind, value, tb)

    sys.excepthook = hook


def communicator() -> Communicator:
    """The communicator of the active distribution, else of :func:`initialize`'s group
    (the single-process one before it is called)."""
    if _dist is not None:
        return _dist.communicator
    return _comm if _comm is not None else SingleProcess()


def rank() -> int:
    """This process's rank in the job (0 in a plain process)."""
    return communicator().rank


def size() -> int:
    """The number of processes in the job (1 in a plain process)."""
    return communicator().size


def local_rank() -> int:
    """This process's rank among the job's processes on this machine (its GPU)."""
    return communicator().local_rank


class DataParallel:
    """Synchronous data parallelism: every process holds the whole model, takes its
    share of every global batch, and the gradients are summed across processes
    (one allreduce per step) before every process applies the same update.

    Args:
        communicator: the process group (default: :func:`initialize`'s).

    Set it with :func:`set_distribution`; ``Model.fit`` then trains data-parallel
    with ``batch_size`` the global batch.
    """

    def __init__(self, communicator: Communicator | None = None) -> None:
        self.communicator = initialize() if communicator is None else communicator

    @property
    def rank(self) -> int:
        return self.communicator.rank

    @property
    def size(self) -> int:
        return self.communicator.size

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size})"


class _Restore:
    """What :func:`set_distribution` returns: usable as a context that restores the
    distribution active before it."""

    def __init__(self, previous: DataParallel | None) -> None:
        self.previous = previous

    def __enter__(self):
        return _dist

    def __exit__(self, *exc) -> None:
        global _dist
        _dist = self.previous


def set_distribution(value: DataParallel | None) -> _Restore:
    """Make ``value`` (a :class:`DataParallel`, or None for none) the active distribution.

    Also a context: ``with xn.distribution.set_distribution(DataParallel()): model.fit(...)``
    restores the previous one on leaving.
    """
    global _dist
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(
            f"set_distribution expects a DataParallel (or None); got {type(value).__name__}."
        )
    previous, _dist = _dist, value
    return _Restore(previous)


def distribution() -> DataParallel | None:
    """The active distribution (None when none is set)."""
    return _dist


def active() -> DataParallel | None:
    """The active distribution when it spans more than one process, else None
    (``fit`` then runs its single-process loop)."""
    d = _dist
    return d if d is not None and d.communicator.size > 1 else None
