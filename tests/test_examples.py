"""Every example runs (tiny epoch counts) on the backend under test, in its own process."""

from __future__ import annotations

import os
import re
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
    "digits_data_parallel.py": ["--epochs", "3", "--verbose", "0"],  # one process, no launcher
    "multilabel.py": ["--epochs", "2"],
    "custom_training_loop.py": ["--epochs", "2"],
    "gradcheck_model.py": ["--epochs", "0"],
    # the scripts' own --min-accuracy makes a quick run fail below a (chance-beating) bar
    "cnn_digits.py": ["--epochs", "1", "--steps-per-epoch", "20", "--verbose", "0",
                      "--min-accuracy", "0.5"],
    "char_rnn.py": ["--epochs", "1", "--steps-per-epoch", "10", "--length", "40",
                    "--verbose", "0"],
    "transformer_classifier.py": ["--epochs", "5", "--samples", "2000", "--verbose", "0",
                                  "--min-accuracy", "0.75"],
}  # fmt: skip


def _char_rnn_claims(out: str) -> None:
    # better than uniform guessing after 10 steps, and a sample of prompt + 40 characters
    perplexity, uniform = re.search(
        r"perplexity ([\d.]+) \(uniform guessing: (\d+)\)", out
    ).groups()
    assert float(perplexity) < int(uniform)
    sample = out.split("--- sample", 1)[1].split("---\n", 1)[1].removesuffix("\n")
    assert sample.startswith("The keeper ") and len(sample) == len("The keeper ") + 40


def _transformer_claims(out: str) -> None:
    # order-blind without attention (chance, by construction); --min-accuracy bounds the other
    plain = float(re.search(r"no attention ([\d.]+); Transformer", out).group(1))
    assert 0.4 < plain < 0.6, out


CLAIMS = {"char_rnn.py": _char_rnn_claims, "transformer_classifier.py": _transformer_claims}
# Every test here starts Python and trains: marked `example`, run by the numpy and torch
# sessions (JAX's and strict's op-by-op dispatch make them minutes there; every op they use
# is tested on every backend by the op and layer tables; `XPNET_BACKEND=jax nox -s
# examples` runs them on one). The long runs are also `slow`: tests-numpy only.
pytestmark = pytest.mark.example
SLOW = {"cnn_digits.py", "char_rnn.py", "transformer_classifier.py", "digits_mlp.py"}


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
@pytest.mark.parametrize(
    "script",
    [pytest.param(s, marks=[pytest.mark.slow] if s in SLOW else []) for s in sorted(QUICK)],
)
def test_example_runs(script):
    out = _run(script, *QUICK[script])
    assert out.strip(), f"{script} printed nothing"
    if script in CLAIMS:
        CLAIMS[script](out)


@pytest.mark.skipif(os.environ.get("XPNET_DEVICE") not in (None, ""), reason="default device only")
def test_examples_show_what_they_claim():
    xor = _run("xor.py", "--epochs", "300")
    assert "2-layer net (8 tanh units):           accuracy 1.00" in xor
    assert "logistic regression (no hidden layer): accuracy 1.00" not in xor
    check = _run("gradcheck_model.py")
    assert "whole model: passed" in check and "-> caught" in check
