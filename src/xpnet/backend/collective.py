"""What the communicators of :mod:`xpnet.distribution` need to know about arrays.

The communicators move buffers between processes; only this module knows which
library an array belongs to. MPI (mpi4py) reads and writes NumPy buffers in
place: :func:`host_buffer` hands it a NumPy array's own memory (zero copy) and
any other array as a NumPy copy, which :func:`from_host` turns back into the
original's library, device and dtype. NCCL (through CuPy's ``cupy.cuda.nccl``)
works on device pointers: :func:`nccl_api` loads it, :func:`device_buffer`
gives a CuPy array's pointer, element count and NCCL data type.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xpnet.backend.convert import backend_name_of_type, device_of, namespace, to_numpy

__all__ = [
    "device_buffer",
    "from_host",
    "host_buffer",
    "host_buffer_like",
    "host_sum",
    "is_cupy",
    "nccl_api",
    "torch_distributed",
    "torch_tensor",
]


def host_buffer(a) -> tuple[np.ndarray, bool]:
    """A C-contiguous NumPy array holding ``a``'s values, and whether it IS ``a``'s
    memory (a C-contiguous NumPy array: the collective then writes into ``a``)."""
    if isinstance(a, np.ndarray):
        if a.flags.c_contiguous and a.flags.writeable:
            return a, True
        # a copy: ascontiguousarray would hand back a read-only array unchanged, and the
        # collective writes into its buffer
        return np.array(a, copy=True, order="C"), False
    if isinstance(a, (int, float)):
        return np.asarray([a], dtype=np.float64), False
    # a copy, never a view of the array's memory (torch CPU tensors share it)
    return np.array(to_numpy(a), copy=True, order="C"), False


def host_sum(values: list) -> np.ndarray:
    """The sum of host arrays or numbers, in list order, as a NumPy array (0-d for
    scalars) of their own dtype."""
    total = np.array(values[0], copy=True)
    for v in values[1:]:
        total = np.asarray(total + np.asarray(v))
    return np.asarray(total)


def from_host(host: np.ndarray, like):
    """``host`` as an array of ``like``'s library, device and dtype (``like`` a NumPy
    array or an array of a backend)."""
    if isinstance(like, np.ndarray):
        return host.astype(like.dtype, copy=False)
    xp = namespace(like)
    out = xp.asarray(host, device=device_of(like))
    return out if out.dtype == like.dtype else xp.astype(out, like.dtype)


def is_cupy(a) -> bool:
    """Whether ``a`` is a CuPy array (NCCL's buffers)."""
    return backend_name_of_type(type(a)) == "cupy"


def nccl_api():
    """``(cupy, cupy.cuda.nccl)``; an ImportError naming what to install where missing."""
    try:
        import cupy
        from cupy.cuda import nccl
    except ImportError as e:
        raise ImportError(
            "The NCCL communicator needs CuPy with its NCCL binding: install "
            '"xpnet[cuda12]" (or cuda13) and NCCL (pip install nvidia-nccl-cu12). '
            f"Import failed: {e}"
        ) from e
    if not getattr(nccl, "available", True):
        raise ImportError(
            "CuPy is installed but cannot load NCCL (cupy.cuda.nccl.available is False): "
            "pip install nvidia-nccl-cu12 (or the cu13 wheel), or put libnccl on the library path."
        )
    return cupy, nccl


_NCCL_TYPES = {
    "float16": "NCCL_FLOAT16",
    "float32": "NCCL_FLOAT32",
    "float64": "NCCL_FLOAT64",
    "int32": "NCCL_INT32",
    "int64": "NCCL_INT64",
    "uint8": "NCCL_UINT8",
    "int8": "NCCL_INT8",
}


def device_buffer(a, nccl) -> tuple[int, int, int]:
    """``(pointer, element count, NCCL data type)`` of a C-contiguous CuPy array."""
    if not a.flags.c_contiguous:
        raise ValueError(
            "NCCL collectives need a C-contiguous CuPy array; got a strided view "
            f"of shape {tuple(a.shape)}. Make it contiguous first (cupy.ascontiguousarray)."
        )
    name = _NCCL_TYPES.get(str(a.dtype))
    if name is None:
        raise TypeError(f"NCCL collectives take {sorted(_NCCL_TYPES)} arrays; got dtype {a.dtype}.")
    return int(a.data.ptr), int(a.size), int(getattr(nccl, name))


def torch_distributed():
    """``(torch, torch.distributed)`` for the torch.distributed transport."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError as e:
        raise ImportError(
            'The torch.distributed transport needs PyTorch: pip install "xpnet[torch]".'
        ) from e
    return torch, dist


def torch_tensor(host: np.ndarray) -> Any:
    """A torch CPU tensor sharing ``host``'s memory (gloo reduces it in place)."""
    torch, _ = torch_distributed()
    return torch.from_numpy(host)


def host_buffer_like(host: np.ndarray, n: int) -> np.ndarray:
    """An empty NumPy array of ``n`` stacked copies of ``host``'s shape and dtype."""
    return np.empty((n, *host.shape), dtype=host.dtype)
