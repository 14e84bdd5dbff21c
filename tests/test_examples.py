"""Every example runs (tiny epoch counts) on the backend under test, in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import xpnet as xn

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
QUICK = {
    "logistic_regression.py": ["--epochs", "30"],
    "xor.py": ["--epochs", "300"],
    "digits_mlp.py": ["--epochs", "3", "--verbose", "0"],
    "multilabel.py": ["--epochs", "2"],
    "custom_training_loop.py": ["--epochs", "2"],
    "gradcheck_model.py": ["--epochs", "0"],
}


def test_every_example_is_listed():
    assert sorted(QUICK) == sorted(p.name for p in EXAMPLES.glob("*.py"))


def _run(script: str, *args: str) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), env.get("PYTHONPATH")]))
    cmd = [sys.executable, str(EXAMPLES / script), "--backend", xn.get_backend().name, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.skipif(
    os.environ.get("XPNET_DEVICE") not in (None, ""),
    reason="the examples take --backend only; run them on the default device",
)
@pytest.mark.parametrize("script", sorted(QUICK))
def test_example_runs(script):
    out = _run(script, *QUICK[script])
    assert out.strip(), f"{script} printed nothing"


@pytest.mark.skipif(os.environ.get("XPNET_DEVICE") not in (None, ""), reason="default device only")
def test_examples_show_what_they_claim():
    xor = _run("xor.py", "--epochs", "300")
    assert "2-layer net (8 tanh units):           accuracy 1.00" in xor
    assert "logistic regression (no hidden layer): accuracy 1.00" not in xor
    check = _run("gradcheck_model.py")
    assert "whole model: passed" in check and "-> caught" in check
