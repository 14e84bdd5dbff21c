"""The README's Keras 3 namespace table stays true (see tests/keras_names.py)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

import keras_names
import xpnet as xn


def test_readme_table_is_the_generated_one():
    assert keras_names.readme_block() == keras_names.table(), (
        "README.md's Keras 3 namespace table is out of date: run "
        "`python tests/keras_names.py --write`."
    )


def test_every_reason_names_something_missing():
    names = json.loads(keras_names.RECORD.read_text())
    for ns in keras_names.NAMESPACES:
        try:
            mod = importlib.import_module("xpnet" + (f".{ns}" if ns else ""))
        except ImportError:
            mod = None
        for n in names[ns]:
            if mod is not None and hasattr(mod, n):
                continue
            assert keras_names.reason(ns, n)


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras not installed")
def test_record_is_the_installed_keras():
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    if not keras.__version__.startswith("3.15."):
        pytest.skip(f"the record is of Keras 3.15; installed {keras.__version__}")
    assert keras_names.record() == json.loads(keras_names.RECORD.read_text())


def test_model_to_json_and_back():
    model = xn.Sequential([xn.Input(shape=(3,)), xn.layers.Dense(2)])
    clone = xn.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(xn.to_numpy(clone(x)), xn.to_numpy(model(x)))
    with pytest.raises(ValueError, match="does not parse"):
        xn.models.model_from_json("{not json")
