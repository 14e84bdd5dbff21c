"""The tables are complete: every Function in xpnet runs in some op-table row."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import xpnet
import xpnet.ops
from xpnet.tensor import Function


def all_functions() -> set[type]:
    for info in pkgutil.walk_packages(xpnet.__path__, "xpnet."):
        importlib.import_module(info.name)
    found, todo = set(), [Function]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("xpnet."):
                found.add(sub)
    return found


def _tables(name: str) -> list:
    rows = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        module = importlib.import_module(path.stem)
        rows += getattr(module, name, [])
    return rows


def all_op_cases() -> list:
    return _tables("OP_CASES")


def test_every_function_is_exercised_by_an_op_table(monkeypatch):
    seen: set[type] = set()
    original = Function.apply.__func__

    def recording(cls, *args, **kwargs):
        seen.add(cls)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(Function, "apply", classmethod(recording))
    # Which Functions the rows reach does not depend on the backend (the rows themselves
    # run on every backend in their own modules), so this census runs on NumPy.
    with xpnet.use_backend("numpy"):
        for case in all_op_cases():
            tensors = [
                xpnet.Tensor(a, dtype="float32", requires_grad=case.grad) for a in case.inputs()
            ]
            out = case.fn(*tensors)
            if case.grad:
                out.sum().backward()
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in all_functions() - seen)
    assert not missing, f"Functions that no OP_CASES row exercises (add rows): {missing}"


def test_every_public_op_has_a_row():
    named = {case.op for case in all_op_cases()}
    missing = sorted(set(xpnet.ops.__all__) - named)
    assert not missing, f"public ops without an OP_CASES row: {missing}"


def test_every_layer_has_a_contract_row():
    exported = {
        name
        for name in xpnet.layers.__all__
        if isinstance(getattr(xpnet.layers, name), type)
        and issubclass(getattr(xpnet.layers, name), xpnet.layers.Layer)
        and name not in ("Layer",)
    }
    covered = {case.layer_type for case in _tables("LAYER_CASES")}
    missing = sorted(exported - covered)
    assert not missing, f"layers without a LAYER_CASES contract row: {missing}"
