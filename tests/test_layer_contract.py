"""The layer contract, run on every row of every family's ``LAYER_CASES`` table.

The tables live beside each family's own tests (tests/test_layers_*.py); this one
parametrized test runs them all through :func:`layer_contract.run_contract`, and
tests/test_meta.py checks that every exported layer has a row.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from layer_contract import run_contract


def _all_cases() -> list:
    params = []
    for path in sorted(Path(__file__).parent.glob("test_layers_*.py")):
        family = path.stem.removeprefix("test_layers_")
        for case in importlib.import_module(path.stem).LAYER_CASES:
            params.append(pytest.param(case, id=f"{family}/{case.id}"))
    return params


@pytest.mark.parametrize("case", _all_cases())
def test_layer_contract(case):
    run_contract(case)
