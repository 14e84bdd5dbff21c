"""Activations against their torch.nn.functional twins: values and gradients, on ordinary
inputs (away from kinks) and on extreme ones (|x| up to 1e4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xpnet as xn
from xpnet import activations as A

from reference_utils import compare, torch_tensor

# name -> (ours, torch twin, kinks to keep away from)
TWINS = {
    "linear": (A.linear, lambda x: x * 1.0, ()),
    "sigmoid": (A.sigmoid, torch.sigmoid, ()),
    "tanh": (A.tanh, torch.tanh, ()),
    "relu": (A.relu, F.relu, (0.0,)),
    "leaky_relu": (A.leaky_relu, lambda x: F.leaky_relu(x, 0.2), (0.0,)),  # Keras default 0.2
    "relu6": (A.relu6, F.relu6, (0.0, 6.0)),
    "elu": (A.elu, F.elu, (0.0,)),
    "selu": (A.selu, F.selu, (0.0,)),
    "celu": (A.celu, F.celu, (0.0,)),
    "thresholded_relu": (A.thresholded_relu, lambda x: F.threshold(x, 1.0, 0.0), (1.0,)),
    "softplus": (A.softplus, F.softplus, ()),
    "softsign": (A.softsign, F.softsign, ()),
    "hard_sigmoid": (A.hard_sigmoid, F.hardsigmoid, (-3.0, 3.0)),
    "hard_silu": (A.hard_silu, F.hardswish, (-3.0, 3.0)),
    "hard_tanh": (A.hard_tanh, F.hardtanh, (-1.0, 1.0)),
    "silu": (A.silu, F.silu, ()),
    "gelu": (A.gelu, F.gelu, ()),
    "mish": (A.mish, F.mish, ()),
    "exponential": (A.exponential, torch.exp, ()),
    "log_sigmoid": (A.log_sigmoid, F.logsigmoid, ()),
    "softmax": (A.softmax, lambda x: F.softmax(x, -1), ()),
    "log_softmax": (A.log_softmax, lambda x: F.log_softmax(x, -1), ()),
}
# registered activations PyTorch has no function for
NO_TWIN = {"hard_sigmoid_legacy": "Keras 2's clip(0.2 x + 0.5, 0, 1); tested against NumPy"}

VARIANTS = {
    "relu[max_value=6]": (lambda x: A.relu(x, max_value=6.0), F.relu6, (0.0, 6.0)),
    "relu[negative_slope=0.1]": (
        lambda x: A.relu(x, negative_slope=0.1),
        lambda x: F.leaky_relu(x, 0.1),
        (0.0,),
    ),
    "relu[threshold=0.5]": (
        lambda x: A.relu(x, threshold=0.5),
        lambda x: F.threshold(x, 0.5, 0.0),
        (0.5,),
    ),
    "leaky_relu[0.01]": (
        lambda x: A.leaky_relu(x, 0.01),
        lambda x: F.leaky_relu(x, 0.01),
        (0.0,),
    ),
    "elu[alpha=0.5]": (lambda x: A.elu(x, alpha=0.5), lambda x: F.elu(x, 0.5), (0.0,)),
    "celu[alpha=2]": (lambda x: A.celu(x, alpha=2.0), lambda x: F.celu(x, 2.0), (0.0,)),
    "thresholded_relu[theta=0.3]": (
        lambda x: A.thresholded_relu(x, theta=0.3),
        lambda x: F.threshold(x, 0.3, 0.0),
        (0.3,),
    ),
    "gelu[approximate]": (
        lambda x: A.gelu(x, approximate=True),
        lambda x: F.gelu(x, approximate="tanh"),
        (),
    ),
    "softmax[axis=0]": (lambda x: A.softmax(x, axis=0), lambda x: F.softmax(x, 0), ()),
    "erf": (A.erf, torch.erf, ()),
}
ROWS = {**TWINS, **VARIANTS}


def _inputs(kinks, shape=(6, 7), seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 3.0, shape)
    for k in kinks:
        near = np.abs(x - k) < 0.05
        x = np.where(near, k + 0.1 * np.sign(x - k + 1e-12), x)
    return x.astype(np.float32)


def _check(name, ours_fn, theirs_fn, x):
    g = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    xt = xn.Tensor(x, requires_grad=True)
    out = ours_fn(xt)
    (out * xn.Tensor(g)).sum().backward()
    xr = torch_tensor(x, requires_grad=True)
    ref = theirs_fn(xr)
    (ref * torch.tensor(g)).sum().backward()
    compare("activations", name, out, ref)
    compare("activations", f"{name} grad", xt.grad, xr.grad)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_activation_matches_torch(name):
    ours, theirs, kinks = ROWS[name]
    _check(name, ours, theirs, _inputs(kinks))


EXTREMES = np.array([[-1e4, -1e3, -88.0, -20.0, -1.5, 0.25, 1.5, 20.0, 88.0, 1e3, 1e4]], np.float32)


@pytest.mark.parametrize("name", sorted(set(ROWS) - {"exponential"}))
def test_activation_matches_torch_at_extremes(name):
    ours, theirs, _ = ROWS[name]
    _check(f"{name} at |x| <= 1e4", ours, theirs, EXTREMES)


def test_every_activation_has_a_twin_or_a_reason():
    missing = sorted(set(A.names()) - set(TWINS) - set(NO_TWIN))
    assert not missing, f"activations without a PyTorch reference row: {missing}"
