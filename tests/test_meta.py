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
    public = {n for n in xpnet.ops.__all__ if callable(getattr(xpnet.ops, n))} - {"as_tensor"}
    missing = sorted(public - named)
    assert not missing, f"public ops without an OP_CASES row: {missing}"


def test_every_layer_has_a_contract_row():
    # by class: Keras's aliases (MaxPool2D is MaxPooling2D) are covered by their class's rows;
    # InputLayer only holds a shape (tested with the functional API)
    exported = {
        getattr(xpnet.layers, name).__name__
        for name in xpnet.layers.__all__
        if isinstance(getattr(xpnet.layers, name), type)
        and issubclass(getattr(xpnet.layers, name), xpnet.layers.Layer)
        and name not in ("Layer", "InputLayer")
    }
    covered = {case.layer_type for case in _tables("LAYER_CASES")}
    missing = sorted(exported - covered)
    assert not missing, f"layers without a LAYER_CASES contract row: {missing}"


def _xpnet_imports(path: Path) -> set[str]:
    """Every ``xpnet...`` module a source file imports, at top level or inside functions."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("xpnet"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("xpnet"))
    return found


# The core's layers, lowest first: a module may import its own layer and those below.
_CORE_LAYERS = [
    ("xpnet.backend",),
    ("xpnet.tensor",),
    ("xpnet.ops",),
    ("xpnet.activations", "xpnet.initializers", "xpnet.regularizers", "xpnet.constraints"),
    ("xpnet.layers",),
]


def _layer_of(module: str) -> int | None:
    for rank, prefixes in enumerate(_CORE_LAYERS):
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return rank
    return None


def test_the_core_imports_flow_one_way():
    # backend < tensor < ops < activations < layers: nothing imports upwards (no
    # tensor <-> ops cycle, no layers -> models), lazily inside a function neither
    root = Path(xpnet.__file__).parent
    upward = []
    for path in sorted(root.rglob("*.py")):
        module = "xpnet." + ".".join(path.relative_to(root).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        rank = _layer_of(module)
        if rank is None:
            continue
        for target in _xpnet_imports(path):
            if target == "xpnet" or target.split(".")[1] in ("_registry", "_checks"):
                continue  # the package itself, and the two helper modules every layer uses
            t = _layer_of(target)
            if t is None or t > rank:
                upward.append(f"{module} imports {target}")
    assert not upward, "imports against the core's order:\n" + "\n".join(upward)
