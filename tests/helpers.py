"""Shared test helpers: tolerances from dtypes, backend assertions, the op-table row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

import xpnet as xn
from xpnet import backend as B


def tolerances(dtype) -> dict[str, float]:
    """rtol/atol for comparing results computed in ``dtype`` against float64 references."""
    name = str(dtype).rsplit(".", 1)[-1].strip("'>")
    return {
        "float16": {"rtol": 2e-2, "atol": 2e-3},
        "float32": {"rtol": 2e-5, "atol": 2e-6},
        "float64": {"rtol": 1e-10, "atol": 1e-12},
    }.get(name, {"rtol": 0.0, "atol": 0.0})


def assert_on_active_backend(t) -> None:
    """The tensor (or array) lives on the active backend's namespace and device."""
    data = t.data if isinstance(t, xn.Tensor) else t
    b = xn.get_backend()
    assert B.namespace(data) is b.xp, f"output on {B.namespace(data).__name__}, not {b.name}"
    if b.name != "numpy":
        assert B.device_of(data) == b.device, f"output on {B.device_of(data)}, not {b.device}"


def assert_close(actual, expected, dtype=None, **kw) -> None:
    a = xn.to_numpy(actual)
    tol = tolerances(dtype if dtype is not None else a.dtype)
    tol.update(kw)
    np.testing.assert_allclose(a, np.asarray(expected), **tol)


@dataclasses.dataclass
class OpCase:
    """One row of an op table: an xpnet function, its NumPy reference and its inputs.

    ``fn`` takes Tensors and returns a Tensor; ``ref`` takes float64 NumPy arrays.
    ``make(rng)`` returns the inputs as float64 NumPy arrays; it defaults to
    uniform draws in ``low..high`` with the given ``shapes``.
    """

    op: str
    fn: Callable
    ref: Callable
    shapes: Sequence[tuple[int, ...]] = ((3, 4),)
    low: float = -2.0
    high: float = 2.0
    make: Callable | None = None
    grad: bool = True
    label: str = ""
    gradcheck_kw: dict = dataclasses.field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.op + (f"[{self.label}]" if self.label else "")

    def inputs(self, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        if self.make is not None:
            return [np.asarray(a) for a in self.make(rng)]
        return [rng.uniform(self.low, self.high, size=s) for s in self.shapes]


def away_from(values, rng, size, low=-2.0, high=2.0, gap=0.1):
    """Uniform draws that keep ``gap`` away from each of ``values`` (kinks of the op)."""
    x = rng.uniform(low, high, size=size)
    for v in values:
        near = np.abs(x - v) < gap
        x = np.where(near, v + np.sign(x - v + 1e-12) * gap * 2, x)
    return x


def distinct(rng, size, low=-2.0, high=2.0):
    """Values spread so that no two are closer than a finite-difference step."""
    n = int(np.prod(size))
    return (rng.permutation(n) / max(n - 1, 1) * (high - low) + low).reshape(size)
