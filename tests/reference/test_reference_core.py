"""Dense against torch.nn.Linear (forward and every gradient)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xpnet as xn

from reference_utils import compare, torch_tensor


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_matches_linear(use_bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 7)).astype(np.float32)
    layer = xn.layers.Dense(5, use_bias=use_bias)
    xt = xn.Tensor(x, requires_grad=True)
    out = layer(xt)
    w = layer.get_weights()
    lin = torch.nn.Linear(7, 5, bias=use_bias)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(w[0].T))
        if use_bias:
            lin.bias.copy_(torch.tensor(w[1]))
    xr = torch_tensor(x, requires_grad=True)
    ref = lin(xr)
    g = rng.standard_normal(ref.shape).astype(np.float32)
    (out * xn.Tensor(g)).sum().backward()
    (ref * torch.tensor(g)).sum().backward()
    compare("layers", "Dense forward", out, ref)
    compare("layers", "Dense d/dx", xt.grad, xr.grad)
    compare("layers", "Dense d/dkernel", layer.kernel.grad, lin.weight.grad.T)
    if use_bias:
        compare("layers", "Dense d/dbias", layer.bias.grad, lin.bias.grad)
