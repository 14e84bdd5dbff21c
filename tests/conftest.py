"""The backend matrix is one fixture: pick the backend with --backend or XPNET_BACKEND.

pytest                                   # numpy
pytest --backend torch                   # or XPNET_BACKEND=torch pytest
pytest --backend array_api_strict --device device1   # strict's non-default device
"""

from __future__ import annotations

import importlib
import os

import pytest

import xpnet as xn


def pytest_addoption(parser):
    group = parser.getgroup("xpnet")
    group.addoption("--backend", default=None, help="xpnet backend to test (default: numpy)")
    group.addoption("--device", default=None, help="device for the backend (e.g. cuda:0, device1)")


def _choice(config) -> tuple[str, str | None]:
    name = config.getoption("--backend") or os.environ.get("XPNET_BACKEND") or "numpy"
    device = config.getoption("--device") or os.environ.get("XPNET_DEVICE") or None
    return name, device


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "example: runs a script of examples/ end to end (nox: numpy and torch sessions only)",
    )
    name, device = _choice(config)
    if name == "jax":
        try:
            import jax

            # gradient checks run in float64; JAX keeps it off unless asked
            jax.config.update("jax_enable_x64", True)
        except ImportError:
            pass
        # JAX's eager dispatch makes each finite-difference evaluation ~50x slower than
        # NumPy's; check a seeded sample of 16 elements per input there (every element is
        # still checked on numpy, array_api_strict and torch, which run the same code).
        # (the module, not the function that xpnet re-exports under the same name)
        importlib.import_module("xpnet.gradcheck").DEFAULT_MAX_CHECKS = 16
    sample = os.environ.get("XPNET_GRADCHECK_MAX_CHECKS")
    if sample:  # e.g. nox -s quick on array_api_strict: a seeded sample per input
        importlib.import_module("xpnet.gradcheck").DEFAULT_MAX_CHECKS = int(sample)
    try:
        xn.set_backend(name, device)
    except (xn.BackendError, ValueError) as err:
        raise pytest.UsageError(f"cannot test the {name!r} backend here: {err}") from err
    os.environ["XPNET_BACKEND"] = name  # subprocesses started by tests see the same choice
    if device:
        os.environ["XPNET_DEVICE"] = device


def pytest_report_header(config):
    b = xn.get_backend()
    return f"xpnet backend: {b.name} on {b.device} (namespace {b.xp.__name__})"


@pytest.fixture(scope="session")
def backend():
    """The backend under test (name, xp, device)."""
    return xn.get_backend()


@pytest.fixture(autouse=True)
def _isolate(backend):
    """Each test starts on the session's backend, floatx float32, fixed seed."""
    saved = (xn.backend.select._state.backend, xn.backend.select._state.requested)
    xn.set_seed(0)
    yield
    xn.backend.select._state.backend, xn.backend.select._state.requested = saved
    xn.set_floatx("float32")
