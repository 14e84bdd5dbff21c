"""The >>> examples in xpnet's docstrings run (on NumPy, where their output is printed)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import xpnet as xn

MODULES = sorted(info.name for info in pkgutil.walk_packages(xn.__path__, "xpnet."))


@pytest.mark.parametrize("name", ["xpnet", *MODULES])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    with xn.use_backend("numpy"):
        result = doctest.testmod(
            module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
        )
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
