"""Backend selection: the registry of array libraries, the active backend, floatx.

The *active* backend decides only where NEW arrays go (parameters, data batches,
random draws); operations run on the namespace of their inputs
(:func:`xpnet.backend.namespace`).

==================  ===================  ===========================================
name                library              install
==================  ===================  ===========================================
``numpy``           NumPy (default)      ``pip install xpnet``
``cupy``            CuPy on a CUDA GPU   ``pip install "xpnet[cuda12]"`` / ``[cuda13]``
``torch``           PyTorch (CPU/CUDA)   ``pip install "xpnet[torch]"``
``jax``             JAX                  ``pip install "xpnet[jax]"``
``array_api_strict`` array-api-strict    ``pip install array-api-strict``
==================  ===================  ===========================================

Select one with the ``XPNET_BACKEND`` environment variable, :func:`set_backend`,
or for a block of code :func:`use_backend`. Each backend also declares what its
library can do beyond the standard (:class:`Capabilities`); the kernels in
:mod:`xpnet.backend.kernels` are picked from those, once per backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import numbers
import os
import threading
from collections.abc import Iterator
from typing import Any

import array_api_compat

BACKENDS = ("numpy", "cupy", "torch", "jax", "array_api_strict")
FLOAT_TYPES = ("float16", "float32", "float64")

_INSTALL = {
    "numpy": "pip install numpy",
    "cupy": 'pip install "xpnet[cuda12]" (CUDA 12) or pip install "xpnet[cuda13]" (CUDA 13)',
    "torch": 'pip install "xpnet[torch]"',
    "jax": 'pip install "xpnet[jax]"',
    "array_api_strict": "pip install array-api-strict",
}
_MODULE = {
    "numpy": "numpy",
    "cupy": "cupy",
    "torch": "torch",
    "jax": "jax",
    "array_api_strict": "array_api_strict",
}


class BackendError(RuntimeError):
    """A backend cannot be used here (not installed, no device, bad device name)."""


class MixedBackendError(TypeError):
    """Arrays from two backends or two devices met in one operation."""


@dataclasses.dataclass(frozen=True)
class Backend:
    """The active backend: its ``name``, Array API namespace ``xp`` and ``device``."""

    name: str
    xp: Any
    device: Any

    def __repr__(self) -> str:
        return f"Backend(name={self.name!r}, device={self.device!r})"


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a backend's library can do beyond the standard, read by the kernels.

    Attributes:
        inplace: its functions write into ``out=`` and its arrays update in place
            (``a += b``, copies into views): the in-place kernel family (NumPy and
            CuPy share it; PyTorch spells it in its own words).
        scatter_add: it has a native scatter-add (``out[i] += v`` with repeats).
        traceable: whole steps can be compiled (``jax.jit``).
        host_memory: its arrays live in host memory, so reading one costs no
            device synchronization (NumPy, array-api-strict, CPU torch/JAX).
    """

    inplace: bool = False
    scatter_add: bool = False
    traceable: bool = False
    host_memory: bool = False


CAPABILITIES = {
    "numpy": Capabilities(inplace=True, scatter_add=True, host_memory=True),
    "cupy": Capabilities(inplace=True, scatter_add=True),
    "torch": Capabilities(inplace=True, scatter_add=True),
    "jax": Capabilities(scatter_add=True, traceable=True),
    "array_api_strict": Capabilities(host_memory=True),
}

#: The top-level module of each library's array type, to name the backend of an array.
_LIBRARY_OF_MODULE = {
    "numpy": "numpy",
    "cupy": "cupy",
    "torch": "torch",
    "jax": "jax",
    "jaxlib": "jax",
    "array_api_strict": "array_api_strict",
}


def backend_name_of_type(t: type) -> str | None:
    """The backend whose arrays have type ``t`` (``"numpy"``, ``"cupy"``, ...), or None."""
    return _LIBRARY_OF_MODULE.get(t.__module__.split(".")[0])


def capabilities(name: str) -> Capabilities:
    """The :class:`Capabilities` of backend ``name`` (none for an unknown library)."""
    return CAPABILITIES.get(name, Capabilities())


# --------------------------------------------------------------------------- loading


def _check_name(name: str) -> str:
    if not isinstance(name, str) or name.lower() not in BACKENDS:
        raise ValueError(
            f"Unknown backend {name!r}. Expected one of: {', '.join(BACKENDS)}. "
            f"Set it with xn.set_backend(name) or the XPNET_BACKEND environment variable."
        )
    return name.lower()


def _import(name: str):
    try:
        return importlib.import_module(_MODULE[name])
    except ImportError as err:
        raise BackendError(
            f"The {name!r} backend needs the {_MODULE[name]!r} package, which is not "
            f"installed ({err}). Install it with: {_INSTALL[name]}; or choose another "
            f"backend (xn.available_backends() lists the usable ones)."
        ) from err


def _cupy_device_count(cp) -> int:
    try:
        return int(cp.cuda.runtime.getDeviceCount())
    except Exception:  # CUDA driver missing or broken: no usable device
        return 0


def _load(name: str, device: Any) -> Backend:
    """Import ``name``, check it is usable here and resolve ``device``."""
    name = _check_name(name)
    lib = _import(name)
    if name == "numpy":
        if device not in (None, "cpu"):
            raise BackendError(f"The numpy backend runs on 'cpu' only; got device={device!r}.")
        return Backend(name, array_api_compat.array_namespace(lib.empty(0)), "cpu")
    if name == "cupy":
        count = _cupy_device_count(lib)
        if count == 0:
            raise BackendError(
                "The 'cupy' backend needs a CUDA GPU, but CuPy found no CUDA device here "
                "(no NVIDIA driver or GPU visible). Run on a machine with an NVIDIA GPU, or "
                "use a CPU backend: XPNET_BACKEND=numpy."
            )
        index = _device_index(device, "cupy")
        if index >= count:
            raise BackendError(f"CuPy sees {count} CUDA device(s); device {index} does not exist.")
        dev = lib.cuda.Device(index)
        with dev:
            xp = array_api_compat.array_namespace(lib.empty(0))
        return Backend(name, xp, dev)
    if name == "torch":
        dev = lib.device("cpu" if device is None else device)
        if dev.type == "cuda" and not lib.cuda.is_available():
            raise BackendError(
                f"device={device!r} asks for CUDA, but this PyTorch build sees no CUDA device. "
                "Use device='cpu' or install a CUDA build of PyTorch on a GPU machine."
            )
        return Backend(name, array_api_compat.array_namespace(lib.empty(0)), dev)
    if name == "jax":
        import jax.numpy as jnp

        if device is None:
            dev = lib.devices()[0]
        elif isinstance(device, str):
            platform, _, idx = device.partition(":")
            platform = {"cuda": "gpu"}.get(platform, platform)
            try:
                dev = lib.devices(platform)[int(idx or 0)]
            except (RuntimeError, IndexError) as err:
                raise BackendError(f"JAX has no device {device!r}: {err}") from err
        else:
            dev = device
        return Backend(name, array_api_compat.array_namespace(jnp.empty(0)), dev)
    # array_api_strict: a NumPy-backed namespace that allows nothing outside the standard
    if device is None:
        dev = lib.Device("CPU_DEVICE")
    elif isinstance(device, str):
        dev = lib.Device(device)
    else:
        dev = device
    return Backend(name, lib, dev)


def _device_index(device: Any, name: str) -> int:
    if device is None:
        return 0
    if isinstance(device, numbers.Integral):
        return int(device)
    if isinstance(device, str):
        platform, _, idx = device.partition(":")
        if platform in ("cuda", "gpu") and (idx == "" or idx.isdigit()):
            return int(idx or 0)
    if hasattr(device, "id"):
        return int(device.id)
    raise BackendError(
        f"Cannot read a CUDA device from device={device!r} for the {name} backend; "
        "expected an int, 'cuda:N' or a cupy.cuda.Device."
    )


# --------------------------------------------------------------------------- state


class _State(threading.local):
    def __init__(self) -> None:
        self.backend: Backend | None = None
        self.requested: tuple[str, Any] = (os.environ.get("XPNET_BACKEND", "numpy"), None)
        self.floatx = os.environ.get("XPNET_FLOATX", "float32")


_state = _State()


def get_backend() -> Backend:
    """Return the active :class:`Backend` (name, namespace, device).

    The backend named by ``XPNET_BACKEND`` (default ``numpy``) is loaded on first
    use, so a missing library or GPU raises :class:`BackendError` here.

    >>> import xpnet as xn
    >>> xn.get_backend().name
    'numpy'
    """
    b = _state.backend
    if b is None:
        name, dev = _state.requested
        b = _state.backend = _load(name, dev)
    return b


def xp():
    """The active backend's Array API namespace."""
    return get_backend().xp


def device():
    """The active backend's device (where new arrays are created)."""
    return get_backend().device


def set_backend(name: str, device: Any = None) -> Backend:
    """Make ``name`` the active backend (on ``device``) and return it.

    Raises :class:`BackendError` when the library is not installed or, for
    ``cupy``, when no CUDA device is present; the message says what to install.
    """
    b = _load(name, device)
    _state.backend = b
    _state.requested = (b.name, device)
    return b


@contextlib.contextmanager
def use_backend(name: str, device: Any = None) -> Iterator[Backend]:
    """Use backend ``name`` inside a ``with`` block, then restore the previous one."""
    saved = (_state.backend, _state.requested)
    try:
        yield set_backend(name, device)
    finally:
        _state.backend, _state.requested = saved


_available_cache: dict[str, bool] = {}


def _usable(name: str) -> bool:
    if name not in _available_cache:
        try:
            _load(name, None)
            ok = True
        except BackendError:
            ok = False
        _available_cache[name] = ok
    return _available_cache[name]


def available_backends() -> list[str]:
    """Names of the backends importable and usable here (cupy only with a CUDA device)."""
    return [n for n in BACKENDS if _usable(n)]


def prefer_gpu(gpu_id: int = 0) -> bool:
    """Switch to CuPy on GPU ``gpu_id`` if one is usable; return whether it happened."""
    try:
        set_backend("cupy", gpu_id)
    except BackendError:
        return False
    return True


def require_gpu(gpu_id: int = 0) -> Backend:
    """Switch to CuPy on GPU ``gpu_id``; raise :class:`BackendError` saying why if impossible."""
    return set_backend("cupy", gpu_id)


# --------------------------------------------------------------------------- dtypes


def set_floatx(name: str) -> None:
    """Set the default float dtype for new parameters and data: float16, float32 or float64."""
    if name not in FLOAT_TYPES:
        raise ValueError(f"floatx must be one of {FLOAT_TYPES}; got {name!r}.")
    _state.floatx = name


def floatx() -> str:
    """Name of the default float dtype (``"float32"`` unless changed)."""
    return _state.floatx


def dtype(name: str | Any | None = None, xp: Any = None):
    """The ``xp`` dtype object for ``name`` (default: floatx) on ``xp`` (default: active)."""
    xp = xp if xp is not None else get_backend().xp
    if name is None:
        name = _state.floatx
    if not isinstance(name, str):
        return name
    try:
        return getattr(xp, name)
    except AttributeError:
        raise ValueError(f"dtype {name!r} does not exist in {xp.__name__}.") from None


def has_float64(xp: Any) -> bool:
    """Whether namespace ``xp`` can hold float64 (JAX only with ``jax_enable_x64``)."""
    if array_api_compat.is_jax_namespace(xp):
        import jax

        return bool(jax.config.jax_enable_x64)
    return True


def index_dtype(xp):
    """The integer dtype for indices on namespace ``xp``: int64, or int32 where the
    backend holds no 64-bit types (JAX without ``jax_enable_x64``)."""
    return xp.int64 if has_float64(xp) else xp.int32


def dtype_for(xp, name: str | None = None):
    """The floatx (or ``name``) dtype on namespace ``xp``."""
    return getattr(xp, name or _state.floatx)
