"""Conversion and mixing checks: namespaces, devices, moving data to and from the host.

``namespace`` and ``device_of`` answer for any backend's array (NumPy's in a fast
path: every op asks); ``asarray`` moves user data to the active backend (the
edges of xpnet: data batches, ``Tensor(...)``); ``to_numpy`` copies back to the
host and is the one conversion point of xpnet's own code, so it counts the
reads that cost a device synchronization (:func:`device_reads`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

import array_api_compat
import numpy as np

from xpnet.backend.select import (
    Backend,
    MixedBackendError,
    backend_name_of_type,
    capabilities,
    dtype_for,
    floatx,
    get_backend,
)


def is_floating(x) -> bool:
    """Whether array ``x`` has a real floating dtype."""
    if type(x) is np.ndarray:  # the hot case (every layer call): NumPy's isdtype costs ~3 us
        return x.dtype.kind == "f"
    return namespace(x).isdtype(x.dtype, "real floating")


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
                multi = _multi_by_type[t0] = backend_name_of_type(t0) in _MULTI_DEVICE
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
    multi = backend_name_of_type(t0) in _MULTI_DEVICE
    d0 = device_of(a0) if multi else None
    for a in arrays[1:]:
        if type(a) is not t0 and type(a).__module__.split(".")[0] != lib:
            raise MixedBackendError(_mix_message(a0, a, where, "backends"))
        if multi and not same_device(device_of(a), d0):
            raise MixedBackendError(_mix_message(a0, a, where, "devices"))


def _mix_message(a, b, where: str, what: str) -> str:
    place = f" in {where}" if where else ""
    return (
        f"Cannot combine arrays from different {what}{place}: {_describe(a)} and "
        f"{_describe(b)}. Keep one backend per model: move data with xn.Tensor(x) or "
        f"xn.backend.asarray(x) (which copy to the active backend), or select the backend "
        f"with xn.set_backend(...)."
    )


# libraries whose arrays answer ``.device`` themselves: read it without
# array-api-compat's dispatch (~1 us a call, several calls an op on these backends)
_OWN_DEVICE = ("torch", "cupy")
_own_device_by_type: dict[type, bool] = {}


def device_of(x):
    """The device an array lives on; None for a value traced inside a compiled step
    (a JAX tracer: the compiler places it)."""
    t = type(x)
    if t is np.ndarray:  # the hot case: skip array-api-compat's dispatch
        return "cpu"
    own = _own_device_by_type.get(t)
    if own is None:
        own = _own_device_by_type[t] = backend_name_of_type(t) in _OWN_DEVICE
    return x.device if own else array_api_compat.device(x)


def same_device(a, b) -> bool:
    """Whether devices ``a`` and ``b`` (from :func:`device_of`) are one; a traced value's
    device (None) matches any, as the compiler places it with the values it meets."""
    return a is None or b is None or a == b


# --------------------------------------------------------------------------- conversion


class _Reads(threading.local):
    count = 0  # reads from device memory (to_numpy of an array not in host memory)
    every = 0  # to_numpy of any non-NumPy array, host-memory ones included


_reads = _Reads()


def device_reads() -> int:
    """How many arrays xpnet's own code has copied from a device to the host in this
    thread (through :func:`to_numpy`; host-memory backends' arrays are not counted).

    Each such read waits for the device's queued work (a stream synchronization on
    a GPU), so a training step should make none; tests compare this counter before
    and after ``fit`` (see also :func:`count_reads` and ``tests/test_device_reads.py``).
    """
    return _reads.count


class ReadCount:
    """The reads counted since a :func:`count_reads` block began (frozen when it ends)."""

    def __init__(self, host_too: bool) -> None:
        self._attr = "every" if host_too else "count"
        self._start = getattr(_reads, self._attr)
        self._end: int | None = None

    @property
    def count(self) -> int:
        now = getattr(_reads, self._attr) if self._end is None else self._end
        return now - self._start


@contextlib.contextmanager
def count_reads(host_too: bool = False):
    """Count :func:`to_numpy`'s reads inside a ``with`` block (for tests).

    ``with count_reads(host_too=True) as reads: model.fit(...)``, then
    ``reads.count``. Without ``host_too`` it counts what :func:`device_reads`
    does; with it every read of a non-NumPy array counts, also where the array
    lives in host memory (CPU torch and JAX, array-api-strict), so a test on a
    CPU sees the reads a GPU would pay for.
    """
    counter = ReadCount(host_too)
    try:
        yield counter
    finally:
        counter._end = getattr(_reads, counter._attr)


def is_host_data(x) -> bool:
    """Whether ``x`` is the user's host data: a NumPy array or scalar, a Python number or
    a (nested) list or tuple. Reading its values costs no device read.

    Every backend's array counts as device data, also where its memory is the
    host's (CPU torch or JAX, array-api-strict): checks of values then take the
    same path on every backend, the one a GPU needs.
    """
    return isinstance(x, (np.ndarray, np.generic, list, tuple, bool, int, float, complex))


def to_numpy(x) -> np.ndarray:
    """Copy (or view) any backend's array as a NumPy array on the host.

    The one way xpnet's own code reads array values on the host: a read from a
    device (an array whose backend does not keep it in host memory) is counted by
    :func:`device_reads`.
    """
    if isinstance(x, np.ndarray):
        return x
    name = backend_name_of_type(type(x))
    if name is not None:
        _reads.every += 1
        if not _on_host(x, name):
            _reads.count += 1
    if name == "cupy":
        return x.get()
    if name == "torch":
        return x.detach().cpu().numpy()
    if name == "jax":
        return np.asarray(x)
    if name == "array_api_strict":
        return np.from_dlpack(x)
    return np.asarray(x)


def _on_host(x, name: str) -> bool:
    if capabilities(name).host_memory:
        return True
    if name == "torch":
        return x.device.type == "cpu"
    if name == "jax":
        return all(d.platform == "cpu" for d in x.devices())
    return False


def _namespace_or_none(x):
    try:
        return array_api_compat.array_namespace(x)
    except TypeError:
        return None


def _is_array(x) -> bool:
    return array_api_compat.is_array_api_obj(x) and not isinstance(x, (bool, int, float, complex))


def is_array(x) -> bool:
    """Whether ``x`` is an array of some backend (not a list, a Python or NumPy scalar)."""
    return _is_array(x) and not isinstance(x, np.generic)


def namespace_or_none(x):
    """The namespace of ``x``, or None for lists, scalars and other non-arrays."""
    if type(x) in _SCALAR_TYPES:
        return None
    ns = _ns_by_type.get(type(x))
    return ns if ns is not None else _namespace_or_none(x)


def on_backend_of(data, like, *, floats_like: bool = False):
    """``data`` (an array of any backend, a NumPy array, a list, a scalar) on ``like``'s
    backend and device. Arrays already there pass as they are; others are copied
    over keeping their dtype (a list gets NumPy's), except that with
    ``floats_like`` a float64 host value takes ``like``'s float dtype (or float32),
    so it never promotes float32 arithmetic."""
    t = type(like)
    if type(data) is t and (t is np.ndarray or same_device(device_of(data), device_of(like))):
        return data
    xp = namespace(like)
    if namespace_or_none(data) is xp and same_device(device_of(data), device_of(like)):
        return data
    host = to_numpy(data) if is_array(data) else np.asarray(data)
    if floats_like and host.dtype == np.float64:
        floating = xp.isdtype(like.dtype, "real floating")
        host = host.astype(numpy_dtype(like.dtype) if floating else np.float32)
    if t is np.ndarray:
        return host
    if not host.flags.writeable:
        host = host.copy()  # torch cannot wrap read-only memory
    return xp.asarray(host, device=device_of(like))


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
        if xp_in is b.xp and (b.name == "numpy" or same_device(device_of(data), b.device)):
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
        return host if target is None else host.astype(numpy_dtype(target), copy=False)
    if b.name == "torch" and not host.flags.writeable:
        host = host.copy()  # torch cannot wrap read-only memory (e.g. a view of a JAX array)
    if target is None and host.dtype.kind in "iu" and host.dtype.itemsize < 4:
        host = host.astype(np.int64)  # torch has no uint16/uint32 arithmetic on every device
    if b.name == "jax":
        # one transfer: jax.numpy.asarray(..., device=) costs ~3x more per batch
        # (a sharding constraint and a conversion dispatched after the copy)
        import jax

        if target is not None:
            host = host.astype(numpy_dtype(target), copy=False)
        return jax.device_put(host, b.device)
    return b.xp.asarray(host, dtype=target, device=b.device)


def step_input(data):
    """A batch array for a compiled step (:func:`xpnet.backend.compile_step`): a NumPy
    array stays on the host, in the dtype :func:`asarray` would give it, and the step's
    call moves it with its other arguments (one transfer, without ``asarray``'s
    per-array dispatch: ~0.1 ms less per step on JAX); anything else goes through
    :func:`asarray`."""
    if type(data) is not np.ndarray:
        return asarray(data)
    kind = data.dtype.kind
    if kind == "f":
        want = np.dtype(floatx())
    elif kind in "iu" and data.dtype.itemsize < 4:
        want = np.dtype(np.int64)  # as asarray
    else:
        return data
    return data if data.dtype == want else data.astype(want)


def _resolve_dtype(dtype, xp):
    if dtype is None:
        return None
    if isinstance(dtype, str):
        return getattr(xp, dtype)
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        return getattr(xp, np.dtype(dtype).name)
    return dtype


def numpy_dtype(dtype):
    """The NumPy dtype with the same name as a dtype of any backend."""
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        name = str(dtype).rsplit(".", 1)[-1].strip("'>")
        return np.dtype(name)


def backend_of(x) -> Backend:
    """The :class:`Backend` (name, namespace, device) that array ``x`` belongs to."""
    xp_ = namespace(x)
    cur = get_backend()
    if xp_ is cur.xp:
        if cur.name == "numpy" or same_device(device_of(x), cur.device):
            return cur
        return Backend(cur.name, xp_, device_of(x))
    name = backend_name_of_type(type(x))
    if name is None and array_api_compat.is_jax_array(x):  # a tracer inside jax.jit
        name = "jax"
    return Backend(name or "numpy", xp_, device_of(x) if name else "cpu")
