"""Whole-step compilation, for the backends whose library can trace a Python function
into one compiled program (:attr:`Capabilities.traceable <xpnet.backend.Capabilities>`:
JAX, through ``jax.jit``).

The training loop (:mod:`xpnet.models.jit`) hands :func:`compile_step` a function of
arrays only, whose body is xpnet's ordinary eager step code; while it is traced the
arrays are placeholders (:func:`is_traced`), so the code must hold no host reads and
write nothing in place (which the standard kernel family JAX takes never does).
Random draws inside a traced step come from keys carried through the step
(:func:`xpnet.backend.random.traced_draws`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from xpnet.backend.select import backend_name_of_type, capabilities

__all__ = [
    "compile_step",
    "concrete_inside_trace",
    "is_traced",
    "not_traceable_reason",
    "trace_shapes",
]

_WHY_NOT = {
    "cupy": (
        "CuPy cannot yet: capturing whole steps as CUDA graphs is separate work, not done yet."
    ),
}


def not_traceable_reason(name: str) -> str | None:
    """None where backend ``name`` compiles whole steps; else a sentence saying why not."""
    if capabilities(name).traceable:
        return None
    return _WHY_NOT.get(
        name,
        f"{name} runs each operation as it comes (only the jax backend compiles whole "
        "steps, with jax.jit).",
    )


def is_traced(x) -> bool:
    """Whether ``x`` is a placeholder of a step being compiled (a JAX tracer), whose
    values do not exist yet: it can be computed with but never read on the host."""
    if backend_name_of_type(type(x)) != "jax":
        return False
    import jax

    return isinstance(x, jax.core.Tracer)


def concrete_inside_trace(name: str):
    """A context in which work on concrete arrays (not placeholders) of backend ``name``
    runs and can be read even while a step is being traced (``fit`` checks its whole
    data at its first step, which may be the one traced); elsewhere a no-op."""
    if not capabilities(name).traceable:
        return contextlib.nullcontext()
    import jax

    return jax.ensure_compile_time_eval()


def compile_step(name: str, fn: Callable, donate: Sequence[int] = ()) -> Callable:
    """``fn`` compiled whole for backend ``name``, once per shape, dtype and structure
    of its arguments (a new shape compiles again).

    ``fn`` takes and returns (nested lists, tuples and dicts of) arrays and None;
    its body runs only when it is traced, so Python values it reads are fixed then.
    The arrays of the positional arguments listed in ``donate`` are given to the
    step: their memory may hold the results, and they must not be used afterwards.
    """
    reason = not_traceable_reason(name)
    if reason is not None:
        raise ValueError(f"Cannot compile a step on the {name!r} backend: {reason}")
    import jax

    return jax.jit(fn, donate_argnums=tuple(donate))


def trace_shapes(name: str, fn: Callable, *args) -> Any:
    """Run ``fn(*args)`` once on placeholders, computing nothing and compiling nothing,
    and return what it returns with each array replaced by an object that has only
    its ``shape`` and ``dtype`` (None stays None). Its side effects on Python objects
    happen as in any trace; ``fn`` must be a new function object each time (the
    backend may skip a function it has seen with these shapes)."""
    reason = not_traceable_reason(name)
    if reason is not None:
        raise ValueError(f"Cannot trace a step on the {name!r} backend: {reason}")
    import jax

    return jax.eval_shape(fn, *args)
