"""Backend glue: the one module of xpnet's numerics that imports array libraries.

Everything else calls plain ``xp.*`` functions of the Array API standard, with
``xp`` taken from the arrays at hand (:func:`namespace`). The *active* backend
chosen here decides only where NEW arrays go: parameters, data batches and
random draws.

Backends
--------
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
or for a block of code :func:`use_backend`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import numbers
import operator
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "MixedBackendError",
    "SeedGenerator",
    "asarray",
    "available_backends",
    "bernoulli",
    "check_compatible",
    "device",
    "device_of",
    "dtype",
    "floatx",
    "get_backend",
    "has_float64",
    "host_numpy",
    "host_rng",
    "is_floating",
    "namespace",
    "namespace_of",
    "permutation",
    "prefer_gpu",
    "random_normal",
    "random_orthogonal",
    "random_uniform",
    "require_gpu",
    "scatter_add",
    "set_backend",
    "set_floatx",
    "set_seed",
    "standard_normal",
    "to_numpy",
    "truncated_normal",
    "update_inplace",
    "use_backend",
    "xp",
]

#: NumPy itself, for host-side bookkeeping outside the numerics (gradcheck's
#: finite differences, the data pipeline's shuffling, saving to .npz).
host_numpy = np

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


def is_floating(x) -> bool:
    """Whether array ``x`` has a real floating dtype."""
    if type(x) is np.ndarray:  # the hot case (every layer call): NumPy's isdtype costs ~3 us
        return x.dtype.kind == "f"
    return namespace(x).isdtype(x.dtype, "real floating")


def has_float64(xp: Any) -> bool:
    """Whether namespace ``xp`` can hold float64 (JAX only with ``jax_enable_x64``)."""
    if array_api_compat.is_jax_namespace(xp):
        import jax

        return bool(jax.config.jax_enable_x64)
    return True


# --------------------------------------------------------------------------- namespaces


_ns_by_type: dict[type, Any] = {}


def namespace(*arrays):
    """Array API namespace of ``arrays`` (Python scalars and None are ignored).

    Raises :class:`MixedBackendError` naming both sides when the arrays come from
    different libraries or sit on different devices.
    """
    return namespace_of(arrays)


_SCALAR_TYPES = (bool, int, float, complex)
_multi_by_type: dict[type, bool] = {}


def namespace_of(arrays, where: str = ""):
    """:func:`namespace` for a sequence; ``where`` names the operation in errors."""
    first = None
    multi = False
    for a in arrays:
        if a is None or type(a) in _SCALAR_TYPES:
            continue
        if first is None:
            first = a
            t0 = type(a)
            multi = _multi_by_type.get(t0)
            if multi is None:
                lib = t0.__module__.split(".")[0]
                multi = _multi_by_type[t0] = lib in _MULTI_DEVICE or lib == "jaxlib"
        elif multi or type(a) is not t0:
            check_compatible([first, a], where)
    if first is None:
        return get_backend().xp
    ns = _ns_by_type.get(t0)
    if ns is None:
        ns = _ns_by_type[t0] = array_api_compat.array_namespace(first)
    return ns


_MULTI_DEVICE = ("torch", "cupy", "jax", "array_api_strict")


def _describe(a) -> str:
    t = type(a)
    lib = t.__module__.split(".")[0]
    try:
        dev = device_of(a)
    except Exception:  # pragma: no cover - objects without a device
        dev = "?"
    return f"{lib} array ({t.__qualname__}) on device {dev}"


def check_compatible(arrays: Sequence[Any], where: str = "") -> None:
    """Raise :class:`MixedBackendError` if ``arrays`` mix libraries or devices."""
    if len(arrays) < 2:
        return
    a0 = arrays[0]
    t0 = type(a0)
    lib = t0.__module__.split(".")[0]
    multi = lib in _MULTI_DEVICE or lib == "jaxlib"
    d0 = device_of(a0) if multi else None
    for a in arrays[1:]:
        if type(a) is not t0 and type(a).__module__.split(".")[0] != lib:
            raise MixedBackendError(_mix_message(a0, a, where, "backends"))
        if multi and device_of(a) != d0:
            raise MixedBackendError(_mix_message(a0, a, where, "devices"))


def _mix_message(a, b, where: str, what: str) -> str:
    place = f" in {where}" if where else ""
    return (
        f"Cannot combine arrays from different {what}{place}: {_describe(a)} and "
        f"{_describe(b)}. Keep one backend per model: move data with xn.Tensor(x) or "
        f"xn.backend.asarray(x) (which copy to the active backend), or select the backend "
        f"with xn.set_backend(...)."
    )


def device_of(x):
    """The device an array lives on."""
    if type(x) is np.ndarray:  # the hot case: skip array-api-compat's dispatch
        return "cpu"
    return array_api_compat.device(x)


# --------------------------------------------------------------------------- in-place writes


def update_inplace(dst, value, op: str = "add") -> bool:
    """``dst += value`` (``op="add"``) or ``dst -= value`` (``"sub"``) in place where that
    pays; return whether it happened (if not, the caller rebinds to a new array).

    The standard leaves in-place updates to each library (no ``out=``; JAX
    arrays are immutable), so optimizers compute values with ordinary calls and
    store them through this one function. The caller must own ``dst`` (nobody
    else may hold it). Only NumPy writes in place: one weight-sized allocation
    fewer per update, and a heap that stays put, so glibc never hands freed
    blocks back to the OS only to fault them in again (measured on a 784x256
    Adam update: 1.0-1.2x faster than rebinding, benchmarks/optimizer_inplace.py).
    PyTorch on the CPU measured slower in place (its temporaries then get
    trimmed and faulted back every step), CuPy and CUDA tensors sit on caching
    allocators where a new array costs nothing, JAX cannot write in place, and
    array-api-strict keeps the standard path exercised: all of them rebind.
    Any other ``op`` ("set") returns False: a copy would cost a pass that
    rebinding does not.
    """
    if op not in ("add", "sub") or not writes_in_place(dst):
        return False
    if not _same_array_kind(dst, value, np.ndarray):
        return False
    (np.add if op == "add" else np.subtract)(dst, value, out=dst)
    return True


def writes_in_place(dst) -> bool:
    """Whether :func:`update_inplace` (and other owned-array updates) write into ``dst``:
    a writeable NumPy array; every other backend rebinds (see there why)."""
    return type(dst) is np.ndarray and dst.flags.writeable


def ones_like(x):
    """``xp.ones_like(x)`` (the seed of every backward); NumPy's own for NumPy arrays and
    scalars, without array-api-compat's device check."""
    if type(x) is np.ndarray or isinstance(x, np.generic):
        return np.ones_like(x)
    return namespace(x).ones_like(x)


def reduce_sum(x, axis=None, keepdims: bool = False, out=None):
    """``xp.sum(x, axis=axis, keepdims=keepdims)``; on NumPy the ufunc's own reduce,
    which gives the same numbers without ``np.sum``'s Python wrapper (~3 us a call,
    several calls a training step). ``out``: an array to write the sum into where it
    is a writeable NumPy array of the result's shape and ``x``'s dtype (else unused)."""
    if type(x) is np.ndarray:
        if out is not None and writes_in_place(out) and out.dtype == x.dtype:
            try:
                return np.add.reduce(x, axis=axis, keepdims=keepdims, out=out)
            except ValueError:  # not the result's shape: a new array
                pass
        return np.add.reduce(x, axis=axis, keepdims=keepdims)
    return namespace(x).sum(x, axis=axis, keepdims=keepdims)


def matmul_into(out, a, b):
    """``a @ b`` for 2-D ``a`` and ``b``, written into ``out`` where it is a writeable
    NumPy array of the product's shape and dtype (the same GEMM, no new array), else
    a new array (``out`` may be None)."""
    if (
        out is not None
        and writes_in_place(out)
        and type(a) is np.ndarray
        and type(b) is np.ndarray
        and a.dtype == out.dtype
        and b.dtype == out.dtype
        and out.shape == (a.shape[0], b.shape[-1])
    ):
        return np.matmul(a, b, out=out)
    return a @ b


def reshape(x, shape):
    """``xp.reshape(x, shape)``; on NumPy the array's own method (array-api-compat's
    wrapper costs ~2 us a call, several calls a training step)."""
    if type(x) is np.ndarray:
        return x.reshape(shape)
    return namespace(x).reshape(x, shape)


def reduce_max(x, axis=None, keepdims: bool = False):
    """``xp.max(x, axis=axis, keepdims=keepdims)`` (see :func:`reduce_sum`)."""
    if type(x) is np.ndarray:
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)
    return namespace(x).max(x, axis=axis, keepdims=keepdims)


def relu_backward(mask, g):
    """ReLU's backward ``g * (mask > 0)`` (``mask``: the ReLU's output, or its input).

    The standard has no float-times-bool promotion, so the general path casts the
    comparison to ``g``'s dtype and multiplies into that fresh array (JAX rebinds).
    NumPy multiplies by the boolean array directly: one call and one float array
    fewer, on every fused ReLU of every backward step. A product, not ``where``:
    it is branch-free (NumPy's ``where`` on a random mask measured ~6x slower).
    """
    if type(g) is np.ndarray and type(mask) is np.ndarray and g.shape == mask.shape:
        return np.multiply(g, mask > 0)
    xp = namespace(mask)
    m = xp.astype(mask > 0, g.dtype)
    if g.shape != m.shape:
        return g * m
    m *= g
    return m


def relu_into(y):
    """``max(y, 0)``, written into ``y`` (a fresh array the caller owns) where the
    backend writes in place (NumPy: no second activation-sized array), else new."""
    if writes_in_place(y):
        np.maximum(y, 0.0, out=y)
        return y
    return namespace(y).maximum(y, 0.0)


def _into(ufunc, fallback, out, *args):
    """``ufunc(*args)`` into ``out`` when ``out`` is a writeable NumPy array and the
    arguments are NumPy arrays of its shape and dtype or Python floats; else new."""
    if out is not None and writes_in_place(out):
        for a in args:
            if type(a) is np.ndarray:
                if a.shape != out.shape or a.dtype != out.dtype:
                    break
            elif type(a) is not float:
                break
        else:
            ufunc(*args, out=out)
            return out
    return fallback(*args)


def multiply_into(out, a, b):
    """``a * b``, written into ``out`` where the backend writes in place (NumPy: no
    new array), else a new array. ``out`` must be a scratch array the caller owns,
    of the result's shape and dtype; ``a`` or ``b`` may be ``out`` itself.

    With :func:`sqrt_into` and :func:`divide_into` this lets an optimizer run a
    whole update in one scratch array: the temporaries of ``m * lr / (sqrt(v) + eps)``
    were fresh weight-sized arrays every step, and for a 784x256 layer such an
    array lands on pages the allocator has just handed back to the OS, so each one
    costs a page fault per 4 KiB (benchmarks/optimizer_inplace.py).
    """
    return _into(np.multiply, operator.mul, out, a, b)


def sqrt_into(out, a):
    """``sqrt(a)`` into ``out`` where the backend writes in place (see :func:`multiply_into`)."""
    return _into(np.sqrt, lambda x: namespace(x).sqrt(x), out, a)


def divide_into(out, a, b):
    """``a / b`` into ``out`` where the backend writes in place (see :func:`multiply_into`)."""
    return _into(np.divide, operator.truediv, out, a, b)


def row_major(x):
    """``x`` with C-contiguous (row-major) memory: a copy where it is a strided view.

    The standard leaves memory layout to each library; this copies only on those
    with strided views (NumPy, CuPy, PyTorch). Used where the next steps read many
    strided windows of the same array (im2col): one transposing copy first makes
    each window copy move long contiguous runs instead of single numbers.
    """
    if isinstance(x, np.ndarray):
        return np.ascontiguousarray(x)
    mod = type(x).__module__
    if mod.startswith("cupy"):
        import cupy

        return cupy.ascontiguousarray(x)
    if mod.startswith("torch"):
        return x.contiguous()
    return x


def _same_array_kind(dst, value, kind) -> bool:
    return type(value) is kind and value.shape == dst.shape and value.dtype == dst.dtype


# --------------------------------------------------------------------------- conversion


def to_numpy(x) -> np.ndarray:
    """Copy (or view) any backend's array as a NumPy array on the host."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    if array_api_compat.is_jax_array(x):
        return np.asarray(x)
    ns = _namespace_or_none(x)  # None for lists and scalars
    if ns is not None and array_api_compat.is_array_api_strict_namespace(ns):
        return np.from_dlpack(x)
    return np.asarray(x)


def _namespace_or_none(x):
    try:
        return array_api_compat.array_namespace(x)
    except TypeError:
        return None


def _is_array(x) -> bool:
    return array_api_compat.is_array_api_obj(x) and not isinstance(x, (bool, int, float, complex))


def asarray(data, dtype: Any = None, *, floatx_default: bool = True):
    """Put ``data`` on the active backend and device (the edges of xpnet: data, Tensor()).

    Arrays already there are returned as they are (cast when ``dtype`` differs).
    Arrays of another library or device are copied over. Python scalars and
    lists become arrays; their floats take ``floatx`` unless ``dtype`` is given.
    With ``floatx_default`` a floating input array is also cast to floatx.
    """
    b = get_backend()
    if type(data) is np.ndarray and dtype is None and b.name == "numpy":
        # the per-batch case, without the general path's dtype inspection (~10 us)
        if data.dtype.kind != "f" or (floatx_default and data.dtype == dtype_for(np)):
            return data
    target = _resolve_dtype(dtype, b.xp)
    if _is_array(data) and not isinstance(data, np.generic):
        xp_in = _ns_by_type.get(type(data)) or _namespace_or_none(data)
        if xp_in is b.xp and (b.name == "numpy" or device_of(data) == b.device):
            if target is None and floatx_default and b.xp.isdtype(data.dtype, "real floating"):
                target = dtype_for(b.xp)
            if target is not None and data.dtype != target:
                return b.xp.astype(data, target)
            return data
        host = to_numpy(data)
    else:
        host = np.asarray(data)
        if not _is_array(data) and host.dtype == np.float64 and target is None:
            target = dtype_for(b.xp)  # Python floats and lists: floatx, never float64
    if target is None and floatx_default and host.dtype.kind == "f":
        target = dtype_for(b.xp)
    if b.name == "numpy":
        return host if target is None else host.astype(_np_dtype(target), copy=False)
    if b.name == "torch" and not host.flags.writeable:
        host = host.copy()  # torch cannot wrap read-only memory (e.g. a view of a JAX array)
    if target is None and host.dtype.kind in "iu" and host.dtype.itemsize < 4:
        host = host.astype(np.int64)  # torch has no uint16/uint32 arithmetic on every device
    return b.xp.asarray(host, dtype=target, device=b.device)


def dtype_for(xp, name: str | None = None):
    """The floatx (or ``name``) dtype on namespace ``xp``."""
    return getattr(xp, name or _state.floatx)


def _resolve_dtype(dtype, xp):
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return getattr(xp, dtype)
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        return getattr(xp, np.dtype(dtype).name)
    return dtype


def _np_dtype(dtype):
    """The NumPy dtype with the same name as a dtype of any backend."""
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        name = str(dtype).rsplit(".", 1)[-1].strip("'>")
        return np.dtype(name)


# --------------------------------------------------------------------------- randomness


class _Random:
    """Seeded generators: one on the host (NumPy PCG64), one native per backend.

    Initial weights are drawn on the host and moved, so one seed gives the SAME
    weights on every backend. Per-step draws (dropout masks, noise) use the
    backend's own generator where moving host draws would cost a transfer.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed
        self.host = np.random.default_rng(seed)
        self.native: dict[tuple[str, str], Any] = {}

    def native_for(self, b: Backend):
        key = (b.name, str(b.device))
        gen = self.native.get(key)
        if gen is None:
            seed = None if self.seed is None else (self.seed * 1_000_003 + 17) % (2**63)
            if b.name == "cupy":
                import cupy

                with b.device:
                    gen = cupy.random.default_rng(seed)
            elif b.name == "torch":
                import torch

                gen = torch.Generator(device=b.device)
                if seed is None:
                    gen.seed()
                else:
                    gen.manual_seed(seed)
            else:
                gen = None
            self.native[key] = gen
        return gen


_random = _Random()


def set_seed(seed: int | None) -> None:
    """Seed every xpnet random draw; ``None`` returns to fresh OS entropy.

    The same seed gives identical initial weights on every backend.
    """
    if seed is not None:
        if not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"seed must be a non-negative int or None; got {seed!r}.")
        seed = int(seed)
    global _random
    _random = _Random(seed)


def host_rng() -> np.random.Generator:
    """The seeded host generator (NumPy); used for data shuffling and initial weights."""
    return _random.host


def _generator(seed: int | None) -> np.random.Generator:
    return _random.host if seed is None else np.random.default_rng(seed)


def _host_float(draw, shape, dtype, seed):
    b = get_backend()
    dt = _resolve_dtype(dtype, b.xp) or dtype_for(b.xp)
    npdt = _np_dtype(dt)
    gen_dt = npdt if npdt in (np.float32, np.float64) else np.dtype(np.float32)
    out = draw(_generator(seed), tuple(int(s) for s in shape), gen_dt)
    return asarray(out.astype(npdt, copy=False), dtype=dt)


def random_normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None):
    """Normal draws on the host, moved to the active backend (identical on every backend).

    ``seed`` (an int) draws from a fresh generator with that seed instead of the
    global one set by :func:`set_seed`.
    """

    def draw(g, s, d):
        out = g.standard_normal(s, dtype=d)
        if stddev != 1.0:
            out *= d.type(stddev)
        if mean != 0.0:
            out += d.type(mean)
        return out

    return _host_float(draw, shape, dtype, seed)


def random_uniform(shape, minval: float = 0.0, maxval: float = 1.0, dtype=None, seed=None):
    """Uniform draws in [minval, maxval) on the host, moved to the active backend."""

    def draw(g, s, d):
        out = g.random(s, dtype=d)
        out *= d.type(maxval - minval)
        out += d.type(minval)
        return out

    return _host_float(draw, shape, dtype, seed)


def truncated_normal(shape, mean: float = 0.0, stddev: float = 1.0, dtype=None, seed=None):
    """Normal draws beyond two standard deviations redrawn (as Keras), host then moved."""

    def draw(g, s, d):
        out = g.standard_normal(s, dtype=d)
        bad = np.abs(out) > 2
        while bad.any():
            out[bad] = g.standard_normal(int(bad.sum()), dtype=d)
            bad = np.abs(out) > 2
        out *= d.type(stddev)
        out += d.type(mean)
        return out

    return _host_float(draw, shape, dtype, seed)


def random_orthogonal(shape, gain: float = 1.0, dtype=None, seed=None):
    """A (semi-)orthogonal matrix from the QR of a normal draw, reshaped to ``shape``.

    Rows and columns are taken as (prod(shape[:-1]), shape[-1]); drawn on the host.
    """

    def draw(g, s, d):
        rows = int(np.prod(s[:-1])) if len(s) > 1 else 1
        cols = s[-1]
        a = g.standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # make the decomposition unique
        if rows < cols:
            q = q.T
        return (gain * q[:rows, :cols]).reshape(s).astype(d)

    return _host_float(draw, shape, dtype, seed)


class SeedGenerator:
    """A private random stream with its own seed, for a layer's ``seed=`` argument.

    Draws through :func:`bernoulli` and :func:`standard_normal` with
    ``generator=`` come from this stream (host and native generators of their
    own) instead of the global one, so a seeded layer repeats its noise whatever
    else draws random numbers. ``seed=None`` takes fresh OS entropy.
    """

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None; got {seed!r}.")
        self.seed = None if seed is None else int(seed)
        self._random = _Random(self.seed)

    def __repr__(self) -> str:
        return f"SeedGenerator(seed={self.seed!r})"


def _stream(generator: SeedGenerator | None) -> _Random:
    return _random if generator is None else generator._random


def bernoulli(shape, p: float, dtype=None, *, like=None, generator: SeedGenerator | None = None):
    """A 0/1 mask with P(1) = ``p`` in ``dtype``, for per-step draws such as dropout.

    Drawn by the backend's own generator on CuPy and PyTorch (no host-to-device
    copy per step), by the seeded host generator elsewhere. ``like`` (an array)
    puts the mask on that array's backend and device instead of the active one.
    ``dtype="bool"`` gives a boolean mask (1 byte per element). ``generator`` (a
    :class:`SeedGenerator`) draws from that stream instead of the global one.
    """
    b = get_backend() if like is None else _backend_of(like)
    dt = _resolve_dtype(dtype, b.xp) or dtype_for(b.xp)
    shape = tuple(int(s) for s in shape)
    stream = _stream(generator)
    gen = stream.native_for(b)
    if b.name == "cupy":
        with b.device:
            u = gen.random(shape, dtype=_np_dtype(np.float32))
        return b.xp.astype(u < p, dt)
    if b.name == "torch":
        import torch

        u = torch.rand(shape, generator=gen, device=b.device, dtype=torch.float32)
        return b.xp.astype(u < p, dt)
    u = stream.host.random(shape, dtype=np.float32) < np.float32(p)
    if b.name == "numpy":
        return u.astype(_np_dtype(dt), copy=False)
    return b.xp.asarray(u.astype(_np_dtype(dt), copy=False), device=b.device)


def standard_normal(shape, dtype=None, *, like=None, generator: SeedGenerator | None = None):
    """Standard normal draws for per-step noise (GaussianNoise, GaussianDropout).

    Like :func:`bernoulli`: the backend's own generator on CuPy and PyTorch, the
    seeded host generator elsewhere; ``like`` and ``generator`` as there. (Initial
    weights use :func:`random_normal`, identical on every backend, instead.)
    """
    b = get_backend() if like is None else _backend_of(like)
    dt = _resolve_dtype(dtype, b.xp) or dtype_for(b.xp)
    npdt = _np_dtype(dt)
    gen_dt = npdt if npdt in (np.float32, np.float64) else np.dtype(np.float32)
    shape = tuple(int(s) for s in shape)
    stream = _stream(generator)
    gen = stream.native_for(b)
    if b.name == "cupy":
        with b.device:
            z = gen.standard_normal(shape, dtype=gen_dt)
        return b.xp.astype(z, dt, copy=False)
    if b.name == "torch":
        import torch

        z = torch.randn(shape, generator=gen, device=b.device, dtype=getattr(torch, gen_dt.name))
        return b.xp.astype(z, dt, copy=False)
    z = stream.host.standard_normal(shape, dtype=gen_dt).astype(npdt, copy=False)
    if b.name == "numpy":
        return z
    return b.xp.asarray(z, device=b.device)


def _backend_of(x) -> Backend:
    xp_ = namespace(x)
    cur = get_backend()
    if xp_ is cur.xp:
        if cur.name == "numpy" or device_of(x) == cur.device:
            return cur
        return Backend(cur.name, xp_, device_of(x))
    for name in BACKENDS:
        if _MODULE[name].split(".")[0] == type(x).__module__.split(".")[0] or (
            name == "jax" and array_api_compat.is_jax_array(x)
        ):
            return Backend(name, xp_, device_of(x))
    return Backend("numpy", xp_, "cpu")


def permutation(n: int, *, host: bool = True):
    """A seeded permutation of ``range(n)``: a NumPy array, or on the backend if not host."""
    perm = _random.host.permutation(int(n))
    return perm if host else asarray(perm)


# --------------------------------------------------------------------------- gaps in the standard


def scatter_add(xp, values, indices, num: int, axis: int = 0):
    """Sum the slices of ``values`` into ``num`` rows along ``axis``, by ``indices``.

    ``out[indices[i]] += values[i]`` with repeated indices accumulated; the
    backward of integer-array indexing and of Embedding.

    The Array API standard has no scatter-add (see data-apis/array-api#396);
    ``xp.take`` is its forward twin. The standard-only version below builds a
    one-hot matrix and does one matmul; the backends that have a native
    scatter-add use it behind this same function.
    """
    indices = xp.reshape(indices, (-1,))
    if axis != 0:
        values = xp.moveaxis(values, axis, 0)
    rest = values.shape[1:]
    flat = xp.reshape(values, (values.shape[0], -1)) if values.ndim != 2 else values
    out = _scatter_add_native(xp, flat, indices, num)
    if out is None:
        out = scatter_add_standard(xp, flat, indices, num)
    out = xp.reshape(out, (num, *rest))
    return out if axis == 0 else xp.moveaxis(out, 0, axis)


def scatter_add_standard(xp, values2d, indices, num: int):
    """Standard-calls scatter-add for 2-D ``values``: ``one_hot(indices).T @ values``."""
    rows = xp.arange(num, dtype=indices.dtype, device=device_of(values2d))
    onehot = xp.astype(rows[:, None] == indices[None, :], values2d.dtype)
    return onehot @ values2d


def _scatter_add_native(xp, values2d, indices, num: int):
    if array_api_compat.is_numpy_namespace(xp):
        out = np.zeros((num, values2d.shape[1]), dtype=values2d.dtype)
        np.add.at(out, np.asarray(indices), values2d)
        return out
    if array_api_compat.is_cupy_namespace(xp):
        import cupyx

        out = xp.zeros((num, values2d.shape[1]), dtype=values2d.dtype)
        cupyx.scatter_add(out, indices, values2d)
        return out
    if array_api_compat.is_torch_namespace(xp):
        out = xp.zeros((num, values2d.shape[1]), dtype=values2d.dtype, device=values2d.device)
        return out.index_add_(0, indices, values2d)
    if array_api_compat.is_jax_namespace(xp):
        out = xp.zeros((num, values2d.shape[1]), dtype=values2d.dtype)
        return out.at[indices].add(values2d)
    return None
