"""The course-companion notebooks: stored as build.py writes them (no outputs), and each one
runs top to bottom in a fresh kernel, drawing its plots (headless) without an error.

Marked slow (about a minute for all fourteen): ``nox -s tests-numpy`` runs them; ``quick``
and the other backends leave them out.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "examples" / "notebooks"
NOTEBOOKS = sorted(p.name for p in FOLDER.glob("*.ipynb"))

nbformat = pytest.importorskip("nbformat")


def _build():
    spec = importlib.util.spec_from_file_location("notebook_build", FOLDER / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stored_notebooks_are_what_build_py_writes():
    build = _build()
    assert sorted(build.NOTEBOOKS) == NOTEBOOKS, "a notebook without a source, or the reverse"
    for name in NOTEBOOKS:
        stored = (FOLDER / name).read_text()
        assert stored == build.render(name), f"{name} is stale: run examples/notebooks/build.py"
        nb = nbformat.reads(stored, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_one_notebook_per_topic_of_the_notes_in_order():
    topics = [n.split("_", 1)[1].removesuffix(".ipynb") for n in NOTEBOOKS]
    assert topics == [
        "activations", "logistic_regression", "two_layer_network", "vectorization",
        "gradient_checking", "regularization", "input_normalization", "batch_normalization",
        "initialization", "optimizers", "multiclass_multilabel", "cnn", "lstm", "attention",
    ]  # fmt: skip


# notebooks whose point is a picture: each must put at least one image in its outputs
PLOTS = set(NOTEBOOKS) - {"05_gradient_checking.ipynb"}


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("XPNET_DEVICE") not in (None, ""), reason="the notebooks use the default device"
)
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, monkeypatch, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    src = str(ROOT / "src")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    )
    # headless: the inline backend renders PNGs into the outputs (no display needed)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path))
    nb = nbformat.read(FOLDER / name, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on failure
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    if name in PLOTS:
        assert images, f"{name} drew no plot"
