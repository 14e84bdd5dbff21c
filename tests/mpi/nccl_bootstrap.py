"""NCCL's unique id made on rank 0 and broadcast over MPI, as NCCLCommunicator does
before it joins the NCCL group (which needs a GPU). Run by tests/test_distribution.py as
``mpiexec -n 2 python -m mpi4py nccl_bootstrap.py``; prints one line per rank."""

from __future__ import annotations

import hashlib

from xpnet.backend import collective
from xpnet.distribution import MPICommunicator
from xpnet.distribution.nccl import bootstrap_unique_id

mpi = MPICommunicator()
_, nccl = collective.nccl_api()
uid = bootstrap_unique_id(mpi, nccl)
ids = mpi.allgather_object(uid)
assert all(i == ids[0] for i in ids), "the ranks hold different ids"
assert len(uid) == 128, f"NCCL's unique id has 128 bytes; got {len(uid)}"
print(f"rank {mpi.rank}: id {hashlib.sha256(bytes(uid)).hexdigest()[:16]}", flush=True)
