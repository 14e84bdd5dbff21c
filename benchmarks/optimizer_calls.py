"""Array calls per optimizer step: NumPy calls made by one optimizer step.

For every optimizer (and the variants that change its update: SGD with momentum and
Nesterov, RMSprop with momentum and centering, Adam with AMSGrad) and for 2, 8 and 32
float32 parameters of mixed shapes (kernels, biases, convolution kernels), the script
counts the NumPy calls of one step, taken after two warm-up steps (so that the state and
the fused step's flat buffers exist), and prints a table: calls per step for each
parameter count, the calls each further parameter adds, and whether the count is
independent of the number of parameters. A call count is not a timing: it is exact and
repeatable, so it shows what a change to the step saves without the machine's noise.

    python benchmarks/optimizer_calls.py [--sizes 2,8,32] [--mode sinks|apply|each|all]
    python benchmarks/optimizer_calls.py --json calls.json --detail Adam

Three ways to feed a step (``--mode``):

- ``sinks`` (what ``Model.fit`` does): the gradients are written into the arrays
  ``opt.gradient_sinks(params)`` hands out (views of the fused step's flat gradient;
  the autograd writes there during backward), then ``opt.step(params)``.
- ``apply``: ``opt.apply(grads, params)`` with gradients of their own, as a custom loop
  passes them: the fused step first copies each into its flat buffer (one call each).
- ``each``: ``opt.fuse = False``, the step parameter by parameter (what NumPy ran for
  every optimizer but Adam before the fused strategy, and a dozen calls per parameter
  that a GPU pays as kernel launches).

How the calls are counted. Every parameter's ``.data`` and every gradient is a
``Counting`` array, an ``np.ndarray`` subclass whose ``__array_ufunc__`` and
``__array_function__`` count the call and hand it on to NumPy on plain views (``out=``
too), returning results as ``Counting``. Counted: every ufunc call, operators included
(``a * b``, ``a += b``, ``-a``), ufunc methods (reductions such as ``.sum()`` are
``add.reduce``), and every NumPy function that dispatches on its arguments
(``np.copyto``, ``np.clip``, ...). Not counted: views and shape changes (indexing,
``reshape``), array methods that do not go through a ufunc or a dispatching function
(``.copy()``, ``.astype()``), item assignment (``a[...] = b``). xpnet picks its kernels
by capability and treats an ndarray subclass as NumPy, and its flat buffers are
allocated ``empty_like`` a parameter, so everything the step touches is counted; a
count of zero would mean calls escaped, and the script warns. Each count is checked:
the parameters after the three steps must equal, bit for bit, those of the same steps
on plain NumPy arrays.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
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
MODES = ("sinks", "apply", "each")


def make_arrays(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    shapes = [SHAPES[i % len(SHAPES)] for i in range(n)]
    weights = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    return weights, grads


def run_steps(make_opt, n: int, counting: bool, mode: str):
    """Three steps of a fresh optimizer on ``n`` fresh parameters fed as ``mode`` says;
    the third is counted where ``counting``. Returns (calls, the parameters after,
    whether the step fused)."""
    weights, grads = make_arrays(n)
    params = [xn.Parameter(w) for w in weights]
    if counting:
        for p in params:
            p.data = p.data.view(Counting)
        grads = [g.view(Counting) for g in grads]
    opt = make_opt()
    opt.fuse = mode != "each"
    Counting.calls.clear()
    for step in range(3):
        if mode == "sinks":
            sinks = opt.gradient_sinks(params)
            for p, g in zip(params, grads):
                if sinks is None:
                    p.grad = g
                else:  # as the autograd writes them during fit's backward
                    sinks[p][...] = g  # item assignment: not counted
                    p.grad = sinks[p]
        Counting.active = counting and step == 2
        try:
            if mode == "sinks":
                opt.step(params)
            else:
                opt.apply(grads, params)
        finally:
            Counting.active = False
        opt.zero_grad(params)
    fused = opt._flat is not None
    after = [np.array(p.data.view(np.ndarray) if counting else p.data) for p in params]
    return sum(Counting.calls.values()), after, fused


def measure(mode: str, sizes: list[int], detail: str | None) -> dict:
    """{row name: {"calls": {n: count}, "fused": ..., "same": ...}} for one mode."""
    rows: dict[str, dict] = {}
    for name, make in OPTIMIZERS.items():
        row = {"calls": {}, "fused": set(), "same": True}
        for n in sizes:
            calls, after, fused = run_steps(make, n, True, mode)
            if detail == name:
                print(f"{mode}: {name}, {n} parameters: {dict(sorted(Counting.calls.items()))}")
            row["calls"][n] = calls
            row["fused"].add(fused)
            _, ref, _ = run_steps(make, n, False, mode)  # the reference: plain NumPy
            row["same"] &= all(np.array_equal(a, b) for a, b in zip(after, ref))
        rows[name] = row
    return rows


FUSED = {frozenset({True}): "yes", frozenset({False}): "no"}  # else "mixed"


def print_table(mode: str, rows: dict, sizes: list[int]) -> None:
    title = {
        "sinks": "gradients written into the step's buffers by the backward, as in fit",
        "apply": "opt.apply(grads, params) with gradients of their own (a custom loop)",
        "each": "parameter by parameter (opt.fuse = False)",
    }[mode]
    print(f"\n== mode {mode}: {title}")
    cols = "".join(f"{f'{n} params':>11s}" for n in sizes)
    print(f"{'optimizer':28s}{cols}  {'per param':>9s}  independent  fused  same")
    for label, row in rows.items():
        counts = [row["calls"][n] for n in sizes]
        slope = (counts[-1] - counts[0]) / (sizes[-1] - sizes[0]) if len(sizes) > 1 else 0.0
        flat = "yes" if len(set(counts)) == 1 else "no"
        fused = FUSED.get(frozenset(row["fused"]), "mixed")
        if 0 in counts:
            print(f"warning: {label}: a step of zero calls means calls escaped the count")
        same = "yes" if row["same"] else "NO"
        cells = "".join(f"{c:11d}" for c in counts)
        print(f"{label:28s}{cells}  {slope:9.2f}  {flat:>11s}  {fused:>5s}  {same:>4s}")
    print(
        "(calls: NumPy ufunc and array-function calls in the third step; per param: the "
        "calls each further parameter adds; fused: the step ran on the flat buffers; same: "
        "the parameters equal, bit for bit, those of the same steps on plain NumPy arrays)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2,8,32", help="parameter counts (comma list)")
    parser.add_argument("--mode", choices=(*MODES, "all"), default="all")
    parser.add_argument("--json", metavar="PATH", help="also write the tables to PATH")
    parser.add_argument("--detail", metavar="ROW", help="print the counted calls of one row")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s})
    xn.set_backend("numpy")
    print(
        f"NumPy calls per optimizer step (float32 parameters cycling through shapes {SHAPES}), "
        f"numpy {np.__version__}"
    )
    modes = list(MODES) if args.mode == "all" else [args.mode]
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
