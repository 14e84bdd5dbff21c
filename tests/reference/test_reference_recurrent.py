"""SimpleRNN, LSTM, GRU and Bidirectional against torch.nn.RNN/LSTM/GRU with the weights
mapped by xpnet.layers.recurrent.to_torch_weights: outputs, states and every gradient."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xpnet as xn
from xpnet import layers
from xpnet.layers.recurrent import from_torch_weights, to_torch_weights

from reference_utils import compare, torch_tensor

TORCH = {"SimpleRNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}


def _torch_layer(kind, layer, units, dim, bidirectional=False, backward=None):
    net = TORCH[kind](dim, units, batch_first=True, bidirectional=bidirectional)
    state = to_torch_weights(layer)
    if backward is not None:
        state.update(to_torch_weights(backward, suffix="_l0_reverse"))
    with torch.no_grad():
        for name, value in state.items():
            getattr(net, name).copy_(torch.tensor(value))
    return net


def _grads_by_gate(kind, layer, net, suffix="_l0"):
    """PyTorch's weight gradients mapped into Keras's layout (as the weights are)."""
    grads = {f"{n}{suffix}": getattr(net, f"{n}{suffix}").grad for n in
             ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}  # fmt: skip
    if kind != "GRU":
        # Keras's one bias stands for both of PyTorch's: its gradient is either one's
        grads[f"bias_hh{suffix}"] = torch.zeros_like(grads[f"bias_hh{suffix}"])
    probe = type(layer)(layer.units)
    from_torch_weights(probe, grads, suffix=suffix)
    return probe.get_weights()


@pytest.mark.parametrize("kind", sorted(TORCH))
@pytest.mark.parametrize("backwards", [False, True])
def test_recurrent_layer_matches_torch(kind, backwards):
    rng = np.random.default_rng(0)
    n, steps, dim, units = 3, 6, 4, 5
    x = rng.standard_normal((n, steps, dim)).astype(np.float32)
    layer = getattr(layers, kind)(
        units, return_sequences=True, return_state=True, go_backwards=backwards
    )
    xt = xn.Tensor(x, requires_grad=True)
    outs = layer(xt)
    for p in layer.weights:  # nonzero biases, so that the bias mapping is checked too
        p.data = xn.backend.asarray(rng.standard_normal(p.shape).astype(np.float32) * 0.3)
    outs = layer(xt)
    gs = [rng.standard_normal(o.shape).astype(np.float32) for o in outs]
    sum((o * xn.Tensor(g)).sum() for o, g in zip(outs, gs)).backward()

    net = _torch_layer(kind, layer, units, dim)
    xr = torch_tensor(x[:, ::-1].copy() if backwards else x, requires_grad=True)
    seq, state = net(xr)
    states = list(state) if kind == "LSTM" else [state]
    loss = (seq * torch.tensor(gs[0])).sum()
    for s, g in zip(states, gs[1:]):
        loss = loss + (s[0] * torch.tensor(g)).sum()
    loss.backward()
    dx = xr.grad.numpy()[:, ::-1] if backwards else xr.grad
    name = f"{kind}{'[go_backwards]' if backwards else ''}"
    compare("recurrent", f"{name} sequence", outs[0], seq)
    for k, s in enumerate(states):
        compare("recurrent", f"{name} state {k}", outs[k + 1], s[0])
    compare("recurrent", f"{name} d/dx", xt.grad, dx)
    theirs = _grads_by_gate(kind, layer, net)
    for p, ref in zip(layer.weights, theirs):
        compare("recurrent", f"{name} d/d{p.name.split('/')[-1]}", p.grad, ref)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bidirectional_matches_torch(kind):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3)).astype(np.float32)
    bi = layers.Bidirectional(getattr(layers, kind)(4, return_sequences=True))
    xt = xn.Tensor(x, requires_grad=True)
    bi(xt)
    for p in bi.weights:
        p.data = xn.backend.asarray(rng.standard_normal(p.shape).astype(np.float32) * 0.3)
    y = bi(xt)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * xn.Tensor(g)).sum().backward()
    net = _torch_layer(kind, bi.forward_layer, 4, 3, True, bi.backward_layer)
    xr = torch_tensor(x, requires_grad=True)
    ref, _ = net(xr)
    (ref * torch.tensor(g)).sum().backward()
    compare("recurrent", f"Bidirectional({kind}) forward", y, ref)
    compare("recurrent", f"Bidirectional({kind}) d/dx", xt.grad, xr.grad)
    for half, suffix in ((bi.forward_layer, "_l0"), (bi.backward_layer, "_l0_reverse")):
        theirs = _grads_by_gate(kind, half, net, suffix)
        for p, ref_g in zip(half.weights, theirs):
            compare("recurrent", f"Bidirectional({kind}) d/d{p.name}", p.grad, ref_g)


def test_time_distributed_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 4, 2, 5, 5)).astype(np.float32)  # (batch, time, C, H, W) for torch
    inner = layers.Conv2D(3, 3, activation="relu", data_format="channels_first")
    td = layers.TimeDistributed(inner)
    xt = xn.Tensor(x, requires_grad=True)
    y = td(xt)
    g = rng.standard_normal(y.shape).astype(np.float32)
    (y * xn.Tensor(g)).sum().backward()
    k, b = inner.get_weights()
    wr = torch_tensor(k.transpose(3, 2, 0, 1), requires_grad=True)
    br = torch_tensor(b, requires_grad=True)
    xr = torch_tensor(x, requires_grad=True)
    ref = torch.relu(torch.nn.functional.conv2d(xr.reshape(12, 2, 5, 5), wr, br))
    ref = ref.reshape(3, 4, 3, 3, 3)
    ref.backward(torch.tensor(g))
    compare("recurrent", "TimeDistributed(Conv2D) forward", y, ref)
    compare("recurrent", "TimeDistributed(Conv2D) d/dx", xt.grad, xr.grad)
    compare("recurrent", "TimeDistributed(Conv2D) d/dkernel", inner.kernel.grad,
            wr.grad.numpy().transpose(2, 3, 1, 0))  # fmt: skip
    compare("recurrent", "TimeDistributed(Conv2D) d/dbias", inner.bias.grad, br.grad)
