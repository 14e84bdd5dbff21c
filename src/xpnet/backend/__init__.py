"""Backend glue: the one package of xpnet's numerics that knows which array library it
is talking to.

Everything else calls plain ``xp.*`` functions of the Array API standard, with
``xp`` taken from the arrays at hand (:func:`namespace`), and the kernels of
:mod:`~xpnet.backend.kernels` where a backend can do better than the standard.

- :mod:`~xpnet.backend.select`: the registry, ``set_backend`` / ``use_backend`` /
  ``prefer_gpu``, ``floatx``, each backend's :class:`Capabilities`.
- :mod:`~xpnet.backend.convert`: ``namespace``, ``device_of``, ``asarray`` (moving
  data to the active backend), ``to_numpy`` (the one host read, counted by
  ``device_reads``; ``count_reads`` for tests), ``is_host_data``, and the mixing checks.
- :mod:`~xpnet.backend.random`: seeded generators; initial weights drawn on the host;
  the keys that random draws inside a compiled step come from.
- :mod:`~xpnet.backend.kernels`: the in-place family (NumPy and CuPy) and the
  standard-only family (array-api-strict, JAX, PyTorch), picked once per backend.
- :mod:`~xpnet.backend.jit`: whole-step compilation where the backend traces (JAX's
  ``jax.jit``), and :func:`is_traced` for the placeholders of a step being compiled.
"""

from __future__ import annotations

import numpy as host_numpy  # host-side bookkeeping: gradcheck, shuffling, saving to .npz

from xpnet.backend.convert import (
    ReadCount,
    asarray,
    backend_of,
    check_compatible,
    count_reads,
    device_of,
    device_reads,
    is_array,
    is_floating,
    is_host_data,
    namespace,
    namespace_of,
    namespace_or_none,
    numpy_dtype,
    on_backend_of,
    same_device,
    step_input,
    to_numpy,
)
from xpnet.backend.jit import (
    compile_step,
    concrete_inside_trace,
    is_traced,
    not_traceable_reason,
    trace_shapes,
)
from xpnet.backend.kernels import (
    add_into,
    can_update_in_place,
    copy_into,
    divide_into,
    flat_buffer,
    kernels_of,
    matmul_into,
    multiply_into,
    ones_like,
    reduce_max,
    reduce_sum,
    relu_backward,
    relu_into,
    reshape,
    row_major,
    scatter_add,
    scatter_add_standard,
    sqrt_into,
    subtract_one_at,
    update_inplace,
)
from xpnet.backend.random import (
    SeedGenerator,
    bernoulli,
    host_rng,
    permutation,
    random_normal,
    random_orthogonal,
    random_state,
    random_uniform,
    set_random_state,
    set_seed,
    set_stream_keys,
    standard_normal,
    step_streams,
    stream_keys,
    traced_draws,
    truncated_normal,
)
from xpnet.backend.select import (
    BACKENDS,
    CAPABILITIES,
    FLOAT_TYPES,
    Backend,
    BackendError,
    Capabilities,
    MixedBackendError,
    available_backends,
    backend_name_of_type,
    capabilities,
    device,
    dtype,
    dtype_for,
    floatx,
    get_backend,
    has_float64,
    index_dtype,
    prefer_gpu,
    require_gpu,
    set_backend,
    set_floatx,
    use_backend,
    xp,
)

_session_hooks: list = []


def on_clear_session(hook) -> None:
    """Register ``hook()`` to run in :func:`clear_session` (layers restart their names)."""
    if hook not in _session_hooks:
        _session_hooks.append(hook)


def clear_session(free_memory: bool = True) -> None:
    """Reset xpnet's global state, as ``keras.backend.clear_session``: automatic layer
    names start again from ``dense``, ``dense_1``... (``free_memory`` is accepted for
    Keras compatibility: xpnet holds no graph or cache beyond the layers you keep)."""
    for hook in _session_hooks:
        hook()


__all__ = [
    "BACKENDS",
    "CAPABILITIES",
    "FLOAT_TYPES",
    "Backend",
    "BackendError",
    "Capabilities",
    "MixedBackendError",
    "ReadCount",
    "SeedGenerator",
    "add_into",
    "asarray",
    "available_backends",
    "backend_name_of_type",
    "backend_of",
    "bernoulli",
    "can_update_in_place",
    "capabilities",
    "check_compatible",
    "clear_session",
    "compile_step",
    "concrete_inside_trace",
    "copy_into",
    "count_reads",
    "device",
    "device_of",
    "device_reads",
    "divide_into",
    "dtype",
    "dtype_for",
    "flat_buffer",
    "floatx",
    "get_backend",
    "has_float64",
    "host_numpy",
    "host_rng",
    "index_dtype",
    "is_array",
    "is_floating",
    "is_host_data",
    "is_traced",
    "kernels_of",
    "matmul_into",
    "multiply_into",
    "namespace",
    "namespace_of",
    "namespace_or_none",
    "not_traceable_reason",
    "numpy_dtype",
    "on_backend_of",
    "on_clear_session",
    "ones_like",
    "permutation",
    "prefer_gpu",
    "random_normal",
    "random_orthogonal",
    "random_state",
    "random_uniform",
    "reduce_max",
    "reduce_sum",
    "relu_backward",
    "relu_into",
    "require_gpu",
    "reshape",
    "row_major",
    "same_device",
    "scatter_add",
    "scatter_add_standard",
    "set_backend",
    "set_floatx",
    "set_random_state",
    "set_seed",
    "set_stream_keys",
    "sqrt_into",
    "standard_normal",
    "step_input",
    "step_streams",
    "stream_keys",
    "subtract_one_at",
    "to_numpy",
    "trace_shapes",
    "traced_draws",
    "truncated_normal",
    "update_inplace",
    "use_backend",
    "xp",
]
