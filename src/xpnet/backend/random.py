"""Seeded random numbers: initial weights drawn on the host, per-step draws native.

Initial weights are drawn by one seeded NumPy generator on the host and moved, so
one seed gives the SAME weights on every backend. Per-step draws (dropout masks,
noise) use the backend's own generator where moving host draws would cost a
transfer every step (CuPy, PyTorch). The standard has no random numbers.

Inside a compiled step (``jax.jit``) a host draw would be made once, when the step
is traced, and the same mask baked in for ever. There, each stream draws from a JAX
key instead (:func:`traced_draws`): the step takes the keys as arguments, splits
one per draw and returns the next ones, which the caller keeps for the next step.
A stream's key comes from its seed, so :func:`set_seed` repeats compiled runs too.
"""

from __future__ import annotations

import contextlib
import numbers
import secrets
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from xpnet.backend.convert import _resolve_dtype, asarray, backend_of, numpy_dtype
from xpnet.backend.select import Backend, dtype_for, get_backend


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
        self.key = None  # the JAX key of draws inside compiled steps (see traced_draws)

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
    npdt = numpy_dtype(dt)
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


# --------------------------------------------------------------------------- compiled steps


class _Traced(threading.local):
    keys: dict[int, Any] | None = None  # id(stream) -> its key, while a step is traced


_traced = _Traced()


def step_streams(generators: Sequence[SeedGenerator] = ()) -> list[_Random]:
    """The random streams a compiled step carries keys for: the global one (as it is
    now: :func:`set_seed` replaces it) and those of ``generators``."""
    streams = [_random]
    for g in generators:
        if all(g._random is not s for s in streams):
            streams.append(g._random)
    return streams


def stream_keys(streams: Sequence[_Random]) -> list:
    """The current JAX key of each stream (made from its seed, or from fresh OS
    entropy for an unseeded stream, the first time; no host draw is spent)."""
    out = []
    for s in streams:
        if s.key is None:
            import jax

            if s.seed is None:
                seed = secrets.randbits(31)
            else:
                seed = (s.seed * 1_000_003 + 29) % (2**31)
            # the key's raw data (a typed key costs a Python conversion per step as an
            # argument and a result), placed on the device like every other argument of
            # the step, so that its second call (given what the first returned) finds
            # the arguments it was compiled for
            data = jax.random.key_data(jax.random.key(seed))
            s.key = jax.device_put(data, get_backend().device)
        out.append(s.key)
    return out


def set_stream_keys(streams: Sequence[_Random], keys: Sequence[Any]) -> None:
    """Keep ``keys`` (a compiled step's next keys) as the streams' keys."""
    for s, k in zip(streams, keys):
        s.key = k


@contextlib.contextmanager
def traced_draws(streams: Sequence[_Random], keys: Sequence[Any]) -> Iterator[list]:
    """While a step is traced: per-step draws of the JAX backend (:func:`bernoulli`,
    :func:`standard_normal`) from stream ``streams[i]`` split ``keys[i]`` (traced
    keys, the step's arguments) once per draw. Yields a list that holds the next
    keys, in the same order, when the block ends: the step returns them."""
    import jax

    saved = _traced.keys
    _traced.keys = {id(s): jax.random.wrap_key_data(k) for s, k in zip(streams, keys)}
    out: list = []
    try:
        yield out
        out.extend(jax.random.key_data(_traced.keys[id(s)]) for s in streams)
    finally:
        _traced.keys = saved


def _traced_key(stream: _Random, generator: SeedGenerator | None):
    """The next subkey of ``stream`` inside a traced step (its key advances)."""
    import jax

    keys = _traced.keys
    key = keys.get(id(stream))
    if key is None:
        raise RuntimeError(
            f"A random draw inside a compiled step came from {generator!r}, which the step "
            "does not carry a key for (it finds the SeedGenerators held as attributes of "
            "the model's layers). Keep the generator as an attribute of the layer that "
            "draws, or compile the model with jit_compile=False."
        )
    key, sub = jax.random.split(key)
    keys[id(stream)] = key
    return sub


def bernoulli(shape, p: float, dtype=None, *, like=None, generator: SeedGenerator | None = None):
    """A 0/1 mask with P(1) = ``p`` in ``dtype``, for per-step draws such as dropout.

    Drawn by the backend's own generator on CuPy and PyTorch (no host-to-device
    copy per step), from the stream's JAX key inside a compiled step
    (:func:`traced_draws`), by the seeded host generator elsewhere. ``like`` (an array)
    puts the mask on that array's backend and device instead of the active one.
    ``dtype="bool"`` gives a boolean mask (1 byte per element). ``generator`` (a
    :class:`SeedGenerator`) draws from that stream instead of the global one.
    """
    b = get_backend() if like is None else backend_of(like)
    dt = _resolve_dtype(dtype, b.xp) or dtype_for(b.xp)
    shape = tuple(int(s) for s in shape)
    stream = _stream(generator)
    if _traced.keys is not None and b.name == "jax":
        import jax

        u = jax.random.uniform(_traced_key(stream, generator), shape, dtype=b.xp.float32)
        return b.xp.astype(u < p, dt)
    gen = stream.native_for(b)
    if b.name == "cupy":
        with b.device:
            u = gen.random(shape, dtype=numpy_dtype(np.float32))
        return b.xp.astype(u < p, dt)
    if b.name == "torch":
        import torch

        u = torch.rand(shape, generator=gen, device=b.device, dtype=torch.float32)
        return b.xp.astype(u < p, dt)
    u = stream.host.random(shape, dtype=np.float32) < np.float32(p)
    if b.name == "numpy":
        return u.astype(numpy_dtype(dt), copy=False)
    return b.xp.asarray(u.astype(numpy_dtype(dt), copy=False), device=b.device)


def standard_normal(shape, dtype=None, *, like=None, generator: SeedGenerator | None = None):
    """Standard normal draws for per-step noise (GaussianNoise, GaussianDropout).

    Like :func:`bernoulli`: the backend's own generator on CuPy and PyTorch, a JAX
    key inside a compiled step, the seeded host generator elsewhere; ``like`` and
    ``generator`` as there. (Initial
    weights use :func:`random_normal`, identical on every backend, instead.)
    """
    b = get_backend() if like is None else backend_of(like)
    dt = _resolve_dtype(dtype, b.xp) or dtype_for(b.xp)
    npdt = numpy_dtype(dt)
    gen_dt = npdt if npdt in (np.float32, np.float64) else np.dtype(np.float32)
    shape = tuple(int(s) for s in shape)
    stream = _stream(generator)
    if _traced.keys is not None and b.name == "jax":
        import jax

        key = _traced_key(stream, generator)
        z = jax.random.normal(key, shape, dtype=getattr(b.xp, gen_dt.name))
        return b.xp.astype(z, dt, copy=False)
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


def permutation(n: int, *, host: bool = True):
    """A seeded permutation of ``range(n)``: a NumPy array, or on the backend if not host."""
    perm = _random.host.permutation(int(n))
    return perm if host else asarray(perm)


# --------------------------------------------------------------------------- saved state


def _stream_state(stream: _Random) -> dict[str, Any]:
    """A stream's position as JSON-ready values: its seed, the host generator's state,
    the JAX key of compiled steps and PyTorch's generators (CuPy's are not saved)."""
    out: dict[str, Any] = {"seed": stream.seed, "host": stream.host.bit_generator.state}
    if stream.key is not None:
        out["key"] = [int(v) for v in np.asarray(stream.key).ravel()]
    torch_states = {}
    for (name, device), gen in stream.native.items():
        if name == "torch" and gen is not None:
            torch_states[device] = gen.get_state().numpy().tobytes().hex()
    if torch_states:
        out["torch"] = torch_states
    return out


def _set_stream_state(stream: _Random, state: dict[str, Any]) -> None:
    host = np.random.default_rng()
    host.bit_generator.state = state["host"]  # raises on a foreign or malformed state
    stream.host = host
    stream.seed = state.get("seed")
    stream.native = {}
    stream.key = None
    key = state.get("key")
    backend = get_backend().name  # a key or torch state matters on its own backend only
    if key is not None and backend == "jax":
        import jax

        stream.key = jax.device_put(np.asarray(key, dtype=np.uint32), get_backend().device)
    for device, hexed in (state.get("torch") or {}).items() if backend == "torch" else ():
        import torch

        gen = torch.Generator(device=device)
        gen.set_state(torch.from_numpy(np.frombuffer(bytes.fromhex(hexed), np.uint8).copy()))
        stream.native[("torch", device)] = gen


def random_state(generators: dict[str, SeedGenerator]) -> dict[str, Any]:
    """The state of the global stream and of ``generators`` (name -> SeedGenerator),
    JSON-ready, for saving with a model so that a resumed run draws what the
    uninterrupted one would have."""
    return {
        "global": _stream_state(_random),
        "generators": {k: _stream_state(g._random) for k, g in generators.items()},
    }


def set_random_state(state: dict[str, Any], generators: dict[str, SeedGenerator]) -> None:
    """Restore :func:`random_state`; ``generators`` receive the saved states of the same
    names. Raises ValueError (KeyError, TypeError) on a malformed state before changing
    anything of the global stream."""
    fresh = _Random(None)
    _set_stream_state(fresh, state["global"])
    saved = state.get("generators") or {}
    streams = []
    for name, g in generators.items():
        if name in saved:
            s = _Random(None)
            _set_stream_state(s, saved[name])
            streams.append((g, s))
    global _random
    _random = fresh
    for g, s in streams:
        g._random = s
