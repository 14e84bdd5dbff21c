"""The layer contract: one table row per layer, one function that checks it all.

A row (:class:`LayerCase`) says how to make the layer and its inputs and what
to expect; :func:`check_layer` then builds and calls the layer, checks the
output shape (against the row and ``compute_output_shape``), the parameter
count, that the output stays on the active backend, gradients of inputs and
weights by gradcheck (float64), a ``get_config``/``from_config`` round trip
that reproduces the output, and that one gradient step lowers a loss.

Random layers are gradchecked at inference (``training=False``) or, with
``fixed_noise=True``, in training mode with the generator reseeded before each
evaluation so every evaluation draws the same mask.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import xpnet as xn
from xpnet import backend as B

from helpers import assert_on_active_backend


@dataclasses.dataclass
class LayerCase:
    """One layer configuration and what it must do.

    ``make`` builds a fresh layer; ``input_shape`` includes the batch axis (a
    list of shapes for multi-input layers); ``inputs(rng)`` may replace the
    default standard-normal draws (e.g. integer ids).
    """

    make: Callable[[], xn.layers.Layer]
    input_shape: Any
    output_shape: Any
    params: int
    label: str = ""
    inputs: Callable[[np.random.Generator], Any] | None = None
    call_kwargs: dict = dataclasses.field(default_factory=dict)
    training: bool | None = None  # mode for gradcheck / the training step
    gradcheck: bool = True
    gradcheck_inputs: bool = True  # False for integer inputs
    gradcheck_kw: dict = dataclasses.field(default_factory=dict)
    train_step: bool = True
    config_roundtrip: bool = True
    deterministic: bool = True  # same input, same output (False for noise layers in training)
    fixed_noise: bool = False  # reseed before every call: one fixed mask/noise in training mode

    @property
    def layer_type(self) -> str:
        return type(self.make()).__name__

    @property
    def id(self) -> str:
        return self.layer_type + (f"[{self.label}]" if self.label else "")

    def make_inputs(self, seed: int = 0):
        rng = np.random.default_rng(seed)
        if self.inputs is not None:
            return self.inputs(rng)
        if isinstance(self.input_shape, list):
            return [rng.standard_normal(s) for s in self.input_shape]
        return rng.standard_normal(self.input_shape)


def _to_tensors(raw, dtype: str | None = "float32"):
    if isinstance(raw, list):
        return [_to_tensors(r, dtype) for r in raw]
    arr = np.asarray(raw)
    if arr.dtype.kind == "f" and dtype is not None:
        return xn.Tensor(arr, dtype=dtype)
    return xn.Tensor(arr)


def _shapes(out):
    if isinstance(out, (list, tuple)):
        return [_shapes(o) for o in out]
    return tuple(out.shape)


def _flat(out) -> list:
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _scalar_loss(out, seed: int = 1):
    """sum(out * r) for a fixed random r: every output element matters."""
    total = None
    for i, o in enumerate(_flat(out)):
        r = np.random.default_rng(seed + i).standard_normal(o.shape)
        term = (o * xn.Tensor(r, dtype=o.dtype)).sum()
        total = term if total is None else total + term
    return total


def check_build_call_shape(case: LayerCase) -> None:
    layer = case.make()
    assert not layer.built
    out = layer(_to_tensors(case.make_inputs()), **case.call_kwargs)
    assert layer.built
    assert _shapes(out) == _normalize(case.output_shape), f"{case.id}: output shape"
    for o in _flat(out):
        assert_on_active_backend(o)
        if B.is_floating(o.data):
            assert o.dtype == B.dtype("float32"), f"{case.id}: output dtype {o.dtype}"
    assert layer.count_params() == case.params, f"{case.id}: parameter count"
    assert sum(p.size for p in layer.weights) == case.params
    computed = layer.compute_output_shape(case.input_shape)
    assert _normalize(computed) == _normalize(case.output_shape), f"{case.id}: compute_output_shape"
    if layer.weights:
        got = layer.get_weights()
        layer.set_weights([w * 0.5 for w in got])
        for before, after in zip(got, layer.get_weights()):
            np.testing.assert_allclose(after, before * 0.5)


def _normalize(shape):
    if isinstance(shape, list):
        return [_normalize(s) for s in shape]
    return tuple(shape)


def check_gradients(case: LayerCase) -> None:
    layer = case.make()
    raw = case.make_inputs()
    layer(_to_tensors(raw), **case.call_kwargs)  # build
    with_inputs = case.gradcheck_inputs
    raw_list = raw if isinstance(raw, list) else [raw]

    def fn(*tensors):
        inp = list(tensors) if isinstance(raw, list) else tensors[0]
        if case.fixed_noise:
            xn.set_seed(7)  # the same mask or noise at every evaluation of the check
        return _scalar_loss(layer(inp, training=case.training, **case.call_kwargs))

    args = [_float64(r) for r in raw_list]
    params = layer.trainable_weights
    if not with_inputs and not params:
        return
    wrt = None if with_inputs else []
    res = xn.gradcheck(fn, *args, params=params, wrt=wrt, **case.gradcheck_kw)
    assert res.passed


def _float64(raw):
    arr = np.asarray(raw)
    return arr.astype(np.float64) if arr.dtype.kind == "f" else arr


def check_config_roundtrip(case: LayerCase) -> None:
    layer = case.make()
    x = _to_tensors(case.make_inputs())
    out = layer(x, **case.call_kwargs)
    config = layer.get_config()
    _assert_json_ready(config)
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(x, **case.call_kwargs)  # build
    clone.set_weights(layer.get_weights())
    again = clone(x, **case.call_kwargs)
    for a, b in zip(_flat(out), _flat(again)):
        np.testing.assert_allclose(xn.to_numpy(a), xn.to_numpy(b), rtol=1e-6, atol=1e-6)


def _assert_json_ready(obj, path="config"):
    if isinstance(obj, dict):
        for k, v in obj.items():
            assert isinstance(k, str), f"{path}: key {k!r} is not a string"
            _assert_json_ready(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _assert_json_ready(v, f"{path}[{i}]")
    else:
        assert obj is None or isinstance(obj, (str, int, float, bool)), f"{path}: {obj!r}"


def check_training_step(case: LayerCase, lr: float = 0.05) -> None:
    layer = case.make()
    x = _to_tensors(case.make_inputs())
    layer(x, **case.call_kwargs)
    params = layer.trainable_weights
    assert params, f"{case.id}: no trainable weights to step"

    def loss_value():
        xn.set_seed(5)  # same noise (if any) before and after the step
        out = layer(x, training=case.training, **case.call_kwargs)
        return _scalar_loss(out)

    before = loss_value()
    before.backward()
    for p in params:
        assert p.grad is not None, f"{case.id}: {p.name} got no gradient"
        assert p.grad.shape == p.data.shape
        p.data = p.data - lr * p.grad
        p.grad = None
    after = loss_value()
    assert after.item() < before.item(), f"{case.id}: a gradient step did not lower the loss"


def run_contract(case: LayerCase) -> None:
    """Every check of the contract, in order."""
    check_build_call_shape(case)
    if case.config_roundtrip:
        check_config_roundtrip(case)
    if case.gradcheck:
        check_gradients(case)
    if case.train_step:
        check_training_step(case)


def layer_cases_from(modules: Sequence) -> list[LayerCase]:
    return [c for m in modules for c in getattr(m, "LAYER_CASES", [])]
