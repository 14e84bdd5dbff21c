"""Bit-identical resume: 8 epochs straight equal 3 epochs, save, load in a FRESH
process, 5 more epochs -- with shuffling, Dropout, GaussianNoise and
BatchNormalization, on NumPy, array-api-strict, JAX and PyTorch (each in subprocesses)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

SRC = str(Path(__file__).resolve().parents[1] / "src")

SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, xpnet as xn
    mode, path, out, variant = sys.argv[1:5]
    def build():
        layers = [xn.Input(shape=(8,)), xn.layers.Dense(16, activation="relu")]
        if variant in ("all", "checkpoint", "batchnorm"):
            layers.append(xn.layers.BatchNormalization())
        if variant in ("all", "checkpoint", "dropout"):
            layers.append(xn.layers.Dropout(0.3))
        if variant in ("all", "checkpoint", "noise"):
            layers.append(xn.layers.GaussianNoise(0.1))
        if variant == "seeded":
            layers += [xn.layers.Dropout(0.3, seed=5), xn.layers.GaussianNoise(0.1, seed=6)]
        layers.append(xn.layers.Dense(3, activation="softmax"))
        model = xn.Sequential(layers)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model
    rng = np.random.default_rng(1)
    x = rng.standard_normal((60, 8)).astype(np.float32)
    y = rng.integers(0, 3, 60)
    fit = dict(batch_size=16, shuffle=True, verbose=0)
    if mode == "straight":
        xn.set_seed(0)
        model = build()
        model.fit(x, y, epochs=8, **fit)
    elif mode == "first":
        xn.set_seed(0)
        model = build()
        if variant == "checkpoint":  # the file ModelCheckpoint writes after epoch 3
            cb = xn.callbacks.ModelCheckpoint(path)
            model.fit(x, y, epochs=3, callbacks=[cb], **fit)
        else:
            model.fit(x, y, epochs=3, **fit)
            model.save(path)
    else:  # "resume", in a fresh process: no set_seed, the file holds the state
        model = xn.models.load_model(path)
        model.fit(x, y, epochs=5, **fit)
    np.savez(out, *[xn.to_numpy(w) for w in model.get_weights()])
    """
)

BACKENDS = ["numpy", "array_api_strict", "jax", "torch"]
VARIANTS = ["all", "seeded", "checkpoint"]


def _run(backend, tmp_path, *args):
    env = dict(os.environ, XPNET_BACKEND=backend, PYTHONPATH=SRC, JAX_PLATFORMS="cpu")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, *map(str, args)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("backend", BACKENDS)
def test_resume_in_a_fresh_process_is_bit_identical(tmp_path, backend, variant):
    if (
        importlib.util.find_spec({"array_api_strict": "array_api_strict"}.get(backend, backend))
        is None
    ):
        pytest.skip(f"{backend} is not installed")
    model = tmp_path / "m.xpnet"
    a, b = tmp_path / "straight.npz", tmp_path / "resumed.npz"
    _run(backend, tmp_path, "straight", model, a, variant)
    _run(backend, tmp_path, "first", model, tmp_path / "first.npz", variant)
    _run(backend, tmp_path, "resume", model, b, variant)
    with np.load(a) as wa, np.load(b) as wb, np.load(tmp_path / "first.npz") as w3:
        assert len(wa.files) == len(wb.files) > 0
        for k in wa.files:
            np.testing.assert_array_equal(wa[k], wb[k], err_msg=f"{backend} {variant} {k}")
        # training went on after the save (the check is not trivially true)
        assert any(not np.array_equal(wa[k], w3[k]) for k in wa.files)
