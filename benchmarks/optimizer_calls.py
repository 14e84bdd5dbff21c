"""Array calls per optimizer step: NumPy calls made by one ``opt.apply(grads, params)``.

For every optimizer (and the variants that change its update: SGD with momentum and
Nesterov, RMSprop with momentum and centering, Adam with AMSGrad) and for 2, 8 and 32
float32 parameters of mixed shapes (kernels, biases, convolution kernels), the script
counts the NumPy calls of one step, taken after two warm-up steps (so that the state and
the fused step's flat buffers exist), and prints a table: calls per step for each
parameter count, the calls each further parameter adds, and whether the count is
independent of the number of parameters. A call count is not a timing: it is exact and
repeatable, so it shows what a change to the step saves without the machine's noise.

    python benchmarks/optimizer_calls.py [--sizes 2,8,32] [--mode numpy|generic|both]
    python benchmarks/optimizer_calls.py --json calls.json --detail Adam

How the calls are counted. Every parameter's ``.data`` and every gradient is a
``Counting`` array, an ``np.ndarray`` subclass whose ``__array_ufunc__`` and
``__array_function__`` count the call and hand it on to NumPy on plain views (``out=``
too), returning results as ``Counting``. Counted: every ufunc call, operators included
(``a * b``, ``a += b``, ``-a``), ufunc methods (reductions such as ``.sum()`` and
``.max()`` are ``add.reduce`` and ``maximum.reduce``), and every NumPy function that
dispatches on its arguments (``np.copyto``, ``np.zeros_like``, ``np.clip``, ...).
Not counted: views and shape changes (indexing, ``reshape``, ``.view``), array methods
that do not go through a ufunc or a dispatching function (``.copy()``, ``.astype()``),
item assignment (``a[...] = b``), and anything done to arrays that are not ``Counting``.
Arrays derived from a ``Counting`` one (results, ``np.empty_like`` / ``zeros_like`` of a
parameter, views) stay ``Counting``; a buffer allocated from a shape alone
(``np.empty(n)``) would not be, and the calls on it would escape the count. The mode
``numpy`` below turns such allocations into ``Counting`` ones; a count that looks too low
(zero, or one that stays flat where the update visibly runs per parameter) is the sign
that something escaped, and ``--detail NAME`` lists the counted calls by name.

Why two modes. xpnet keeps the ``Counting`` arrays it is given (``Parameter.data`` is
not converted), but its NumPy fast paths test ``type(x) is np.ndarray``: in-place
updates (``backend.writes_in_place``), the ``*_into`` helpers and the fused step of the
elementwise optimizers (Adam, AdamW). A subclass fails that test, so on its own it
measures another path than NumPy runs. Hence:

- ``numpy`` (what NumPy runs): while counting, every ``xpnet`` module's global bound to
  the ``numpy`` module is swapped for a stand-in whose ``ndarray`` is ``Counting`` and
  whose ``empty`` / ``zeros`` / ``ones`` / ``full`` return ``Counting`` arrays, and
  restored after. xpnet's code is unchanged; its exact-type tests then see the counted
  arrays as NumPy's, and the flat buffers it allocates from a size are counted too. Each
  count is checked: the parameters after the three steps must equal, bit for bit, those
  of the same steps on plain NumPy arrays with nothing swapped.
- ``generic`` (no swap): xpnet takes the path of every backend that does not write in
  place (PyTorch, JAX, CuPy, array-api-strict): one update per parameter, new arrays
  instead of in-place writes. Its counts approximate the number of array-library calls
  a step makes there (each one an op dispatch on PyTorch or JAX).

Gradients given to ``apply`` are copied into the fused step's flat gradient buffer, one
``np.copyto`` per parameter; ``Model.fit`` lends that buffer's views to the backward
instead (``Optimizer.grad_buffers``), so the rows marked "(lent)" count a step whose
gradients are already there, as in ``fit``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import sys
import types
from typing import ClassVar

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
import xpnet as xn

SHAPES = [(16, 8), (8,), (3, 3, 4, 8), (8,)]  # Dense kernel and bias, Conv2D kernel and bias


class Counting(np.ndarray):
    """An ndarray that counts the ufunc and array-function calls made on it."""

    calls: ClassVar[collections.Counter] = collections.Counter()  # call name -> count
    active: ClassVar[bool] = False  # count only inside the measured step

    @classmethod
    def _record(cls, name: str) -> None:
        if cls.active:
            cls.calls[name] += 1

    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        Counting._record(ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}")
        inputs = tuple(_plain(a) for a in inputs)
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:  # the caller's own arrays, as NumPy returns them
            return out[0] if len(out) == 1 else out
        return _counting(result)

    def __array_function__(self, func, types, args, kwargs):
        Counting._record(func.__name__)
        return _counting(func(*_plain(args), **_plain(kwargs)))


def _plain(x):
    """``x`` with every Counting array (also inside lists, tuples, dicts) as a plain view."""
    if isinstance(x, Counting):
        return x.view(np.ndarray)
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(a) for a in x)
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


def _counting(x):
    if type(x) is np.ndarray:
        return x.view(Counting)
    if isinstance(x, tuple):
        return tuple(_counting(a) for a in x)
    return x


class _NumpyCounting(types.ModuleType):
    """NumPy, but for ``ndarray`` (``Counting``) and the allocations from a shape alone."""

    ndarray = Counting

    def __init__(self) -> None:
        super().__init__("numpy")
        for name in ("empty", "zeros", "ones", "full"):
            setattr(self, name, self._allocating(getattr(np, name)))

    @staticmethod
    def _allocating(fn):
        def make(*args, **kwargs):
            return fn(*args, **kwargs).view(Counting)

        return make

    def __getattr__(self, name):
        return getattr(np, name)


@contextlib.contextmanager
def numpy_counting():
    """Swap every ``xpnet`` module global that is the ``numpy`` module for the stand-in."""
    stand_in = _NumpyCounting()
    swapped = []
    for mod_name, mod in list(sys.modules.items()):
        if mod_name == "xpnet" or mod_name.startswith("xpnet."):
            for attr, value in list(vars(mod).items()):
                if value is np:
                    setattr(mod, attr, stand_in)
                    swapped.append((mod, attr))
    try:
        yield [f"{m.__name__}.{a}" for m, a in swapped]
    finally:
        for mod, attr in swapped:
            setattr(mod, attr, np)


OPTIMIZERS = {
    "SGD": lambda: xn.optimizers.SGD(learning_rate=0.01),
    "SGD momentum": lambda: xn.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    "SGD nesterov": lambda: xn.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
    "RMSprop": lambda: xn.optimizers.RMSprop(),
    "RMSprop mom+centered": lambda: xn.optimizers.RMSprop(momentum=0.9, centered=True),
    "Adam": lambda: xn.optimizers.Adam(),
    "Adam amsgrad": lambda: xn.optimizers.Adam(amsgrad=True),
    "AdamW": lambda: xn.optimizers.AdamW(),
    "Adagrad": lambda: xn.optimizers.Adagrad(),
    "Adadelta": lambda: xn.optimizers.Adadelta(),
    "Adamax": lambda: xn.optimizers.Adamax(),
    "Nadam": lambda: xn.optimizers.Nadam(),
    "Lion": lambda: xn.optimizers.Lion(),
}
LENT = "(lent)"  # suffix of the rows whose gradients sit in the lent buffers, as in fit


def make_arrays(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    shapes = [SHAPES[i % len(SHAPES)] for i in range(n)]
    weights = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return weights, grads


def run_steps(make_opt, n: int, counting: bool, lend: bool):
    """Three steps of a fresh optimizer on ``n`` fresh parameters; the third is counted
    where ``counting``. Returns (calls, the parameters after, whether the step fused,
    whether gradients could be lent)."""
    weights, grads = make_arrays(n)
    params = [xn.Parameter(w) for w in weights]
    if counting:
        for p in params:
            p.data = p.data.view(Counting)
        grads = [g.view(Counting) for g in grads]
    opt = make_opt()
    lent = False
    Counting.calls.clear()
    for step in range(3):
        given = grads
        if lend:
            buffers = opt.grad_buffers(params) if hasattr(opt, "grad_buffers") else None
            if buffers is not None:  # as fit does: the gradients are written into them
                for buf, g in zip(buffers, grads):
                    buf[...] = g  # item assignment: not counted
                given, lent = buffers, True
        Counting.active = counting and step == 2
        try:
            opt.apply(given, params)
        finally:
            Counting.active = False
    fused = getattr(opt, "_flat", None) is not None if hasattr(opt, "_flat") else None
    after = [np.array(p.data.view(np.ndarray) if counting else p.data) for p in params]
    return sum(Counting.calls.values()), after, fused, lent


def measure(mode: str, sizes: list[int], detail: str | None) -> dict:
    """{row name: {"calls": {n: count}, "fused": ..., "same": ...}} for one mode."""
    rows: dict[str, dict] = {}
    swap = numpy_counting() if mode == "numpy" else contextlib.nullcontext([])
    names = [(name, False) for name in OPTIMIZERS] + [
        (name, True) for name in OPTIMIZERS if name in ("Adam", "AdamW")
    ]
    with swap as swapped:
        if mode == "numpy":
            print(f"(swapped for the stand-in: {', '.join(swapped) or 'nothing'})")
        for name, lend in names:
            row = {"calls": {}, "fused": set(), "same": True}
            label = f"{name} {LENT}" if lend else name
            for n in sizes:
                calls, after, fused, lent = run_steps(OPTIMIZERS[name], n, True, lend)
                if lend and not lent:
                    row = None  # no buffers to lend on this path: no such row
                    break
                if detail == label:
                    print(
                        f"{mode}: {label}, {n} parameters: {dict(sorted(Counting.calls.items()))}"
                    )
                row["calls"][n] = calls
                row["fused"].add(fused)
                with contextlib.ExitStack() as plain:  # the reference: plain NumPy
                    if mode == "numpy":
                        plain.enter_context(_restored(swapped))
                    _, ref, _, _ = run_steps(OPTIMIZERS[name], n, False, lend)
                row["same"] &= all(np.array_equal(a, b) for a, b in zip(after, ref))
            if row is not None:
                rows[label] = row
    return rows


@contextlib.contextmanager
def _restored(swapped: list[str]):
    """Undo the swap for the plain reference run inside the counting one."""
    saved = []
    for dotted in swapped:
        mod_name, _, attr = dotted.rpartition(".")
        mod = sys.modules[mod_name]
        saved.append((mod, attr, getattr(mod, attr)))
        setattr(mod, attr, np)
    try:
        yield
    finally:
        for mod, attr, value in saved:
            setattr(mod, attr, value)


FUSED = {frozenset({True}): "yes", frozenset({False}): "no"}  # else "?" (unknown) or "mixed"


def print_table(mode: str, rows: dict, sizes: list[int]) -> None:
    title = {
        "numpy": "as NumPy runs it (in-place writes, the fused step where it applies)",
        "generic": "the path of the backends that do not write in place (no swap)",
    }[mode]
    print(f"\n== mode {mode}: {title}")
    cols = "".join(f"{f'{n} params':>11s}" for n in sizes)
    print(f"{'optimizer':28s}{cols}  {'per param':>9s}  independent  fused  same")
    for label, row in rows.items():
        counts = [row["calls"][n] for n in sizes]
        slope = (counts[-1] - counts[0]) / (sizes[-1] - sizes[0]) if len(sizes) > 1 else 0.0
        flat = "yes" if len(set(counts)) == 1 else "no"
        fused = "?" if None in row["fused"] else FUSED.get(frozenset(row["fused"]), "mixed")
        if 0 in counts:
            print(f"warning: {label}: a step of zero calls means calls escaped the count")
        same = "yes" if row["same"] else "NO"
        cells = "".join(f"{c:11d}" for c in counts)
        print(f"{label:28s}{cells}  {slope:9.2f}  {flat:>11s}  {fused:>5s}  {same:>4s}")
    print(
        "(calls: NumPy ufunc and array-function calls in the third apply(); per param: the "
        "calls each further parameter adds; fused: the step ran on the flat buffers; same: "
        "the parameters equal, bit for bit, those of the same steps on plain NumPy arrays)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,8,32", help="parameter counts (comma list)")
    parser.add_argument("--mode", choices=("numpy", "generic", "both"), default="both")
    parser.add_argument("--json", metavar="PATH", help="also write the tables to PATH")
    parser.add_argument("--detail", metavar="ROW", help="print the counted calls of one row")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s})
    xn.set_backend("numpy")
    print(
        f"NumPy calls per optimizer step (float32 parameters cycling through shapes {SHAPES}), "
        f"numpy {np.__version__}"
    )
    modes = ["numpy", "generic"] if args.mode == "both" else [args.mode]
    out = {"sizes": sizes, "shapes": SHAPES, "numpy": np.__version__, "modes": {}}
    for mode in modes:
        rows = measure(mode, sizes, args.detail)
        print_table(mode, rows, sizes)
        out["modes"][mode] = {
            label: {
                "calls": {str(n): c for n, c in row["calls"].items()},
                "independent": len(set(row["calls"].values())) == 1,
                "fused": sorted(str(f) for f in row["fused"]),
                "same_as_plain_numpy": row["same"],
            }
            for label, row in rows.items()
        }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
        print(f"\nwritten: {args.json}")


if __name__ == "__main__":
    main()
