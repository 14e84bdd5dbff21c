"""MultiHeadAttention and TransformerEncoder against torch.nn.MultiheadAttention and
torch.nn.TransformerEncoderLayer (batch_first) with mapped projections.

Mapping (E = embed size, H heads of size E / H): PyTorch's ``in_proj_weight`` rows are
``[q; k; v]`` with ``q = query_kernel.reshape(E, E).T`` (heads h-major, as PyTorch splits
them), and ``out_proj.weight = output_kernel.reshape(E, E).T``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xpnet as xn
from xpnet import layers

from reference_utils import compare, torch_tensor

E, H = 6, 2


def _randomize(layer, rng):
    for p in layer.weights:  # nonzero biases and norm parameters: every mapping matters
        p.data = xn.backend.asarray(rng.standard_normal(p.shape).astype(np.float32) * 0.4)


def _mha_to_torch(mha, net):
    w = {p.name.split("/")[-1]: xn.to_numpy(p.data) for p in mha.weights}
    with torch.no_grad():
        net.in_proj_weight.copy_(torch.tensor(np.concatenate(
            [w[f"{k}_kernel"].reshape(E, E).T for k in ("query", "key", "value")])))  # fmt: skip
        net.in_proj_bias.copy_(torch.tensor(np.concatenate(
            [w[f"{k}_bias"].reshape(E) for k in ("query", "key", "value")])))  # fmt: skip
        net.out_proj.weight.copy_(torch.tensor(w["output_kernel"].reshape(E, E).T))
        net.out_proj.bias.copy_(torch.tensor(w["output_bias"]))


def _mha_grads(mha, net, name, family="attention"):
    gq, gk, gv = net.in_proj_weight.grad.numpy().reshape(3, E, E)
    bq, bk, bv = net.in_proj_bias.grad.numpy().reshape(3, E)
    theirs = {
        "query_kernel": gq.T.reshape(E, H, E // H),
        "query_bias": bq.reshape(H, E // H),
        "key_kernel": gk.T.reshape(E, H, E // H),
        "key_bias": bk.reshape(H, E // H),
        "value_kernel": gv.T.reshape(E, H, E // H),
        "value_bias": bv.reshape(H, E // H),
        "output_kernel": net.out_proj.weight.grad.numpy().T.reshape(H, E // H, E),
        "output_bias": net.out_proj.bias.grad.numpy(),
    }
    for p in mha.weights:
        short = p.name.split("/")[-1]
        if short == "key_bias":  # mathematically 0 (softmax ignores it); both are round-off
            assert np.abs(xn.to_numpy(p.grad)).max() < 1e-5
            continue
        compare(family, f"{name} d/d{short}", p.grad, theirs[short])


@pytest.mark.parametrize("case", ["self", "cross+mask", "causal"])
def test_multi_head_attention_matches_torch(case):
    rng = np.random.default_rng(0)
    q = rng.standard_normal((2, 4, E)).astype(np.float32)
    v = rng.standard_normal((2, 5 if case == "cross+mask" else 4, E)).astype(np.float32)
    k = rng.standard_normal(v.shape).astype(np.float32) if case == "cross+mask" else v
    if case == "self":
        v = k = q
    mha = layers.MultiHeadAttention(H, E // H)
    mha(q, v, k)
    _randomize(mha, rng)
    mask = None
    kwargs = {}
    if case == "cross+mask":
        mask = rng.random((2, 4, 5)) > 0.4
        mask[:, :, 0] = True  # every query sees something
        kwargs["attention_mask"] = mask
    if case == "causal":
        kwargs["use_causal_mask"] = True
        mask = np.broadcast_to(np.tril(np.ones((4, 4), dtype=bool)), (2, 4, 4))
    ts = [xn.Tensor(a, requires_grad=True) for a in (q, v, k)]
    out, scores = mha(ts[0], ts[1], ts[2], return_attention_scores=True, **kwargs)
    g = rng.standard_normal(out.shape).astype(np.float32)
    (out * xn.Tensor(g)).sum().backward()

    net = torch.nn.MultiheadAttention(E, H, batch_first=True)
    _mha_to_torch(mha, net)
    rs = [torch_tensor(a, requires_grad=True) for a in (q, k, v)]  # torch order: q, k, v
    attn_mask = None if mask is None else torch.tensor(~mask).repeat_interleave(H, dim=0)
    ref, ref_scores = net(*rs, attn_mask=attn_mask, average_attn_weights=False)
    (ref * torch.tensor(g)).sum().backward()
    name = f"MultiHeadAttention[{case}]"
    compare("attention", f"{name} forward", out, ref)
    compare("attention", f"{name} scores", scores, ref_scores)
    compare("attention", f"{name} d/dquery", ts[0].grad, rs[0].grad)
    compare("attention", f"{name} d/dvalue", ts[1].grad, rs[2].grad)
    compare("attention", f"{name} d/dkey", ts[2].grad, rs[1].grad)
    _mha_grads(mha, net, name)


@pytest.mark.parametrize("normalize_first", [False, True])
def test_transformer_encoder_matches_torch(normalize_first):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, E)).astype(np.float32)
    block = layers.TransformerEncoder(12, H, normalize_first=normalize_first)
    block(x)
    _randomize(block, rng)
    pad = np.array([[True] * 5, [True, True, True, False, False]])
    xt = xn.Tensor(x, requires_grad=True)
    y = block(xt, padding_mask=pad)
    g = rng.standard_normal(y.shape).astype(np.float32)
    g[~pad] = 0.0  # padded positions' outputs are not meaningful to compare gradients through
    (y * xn.Tensor(g)).sum().backward()

    net = torch.nn.TransformerEncoderLayer(
        E, H, 12, dropout=0.0, batch_first=True, norm_first=normalize_first
    )
    _mha_to_torch(block.attention, net.self_attn)
    pairs = [
        (net.linear1.weight, block.intermediate.kernel, True),
        (net.linear1.bias, block.intermediate.bias, False),
        (net.linear2.weight, block.output_dense.kernel, True),
        (net.linear2.bias, block.output_dense.bias, False),
        (net.norm1.weight, block.attention_norm.gamma, False),
        (net.norm1.bias, block.attention_norm.beta, False),
        (net.norm2.weight, block.feedforward_norm.gamma, False),
        (net.norm2.bias, block.feedforward_norm.beta, False),
    ]
    with torch.no_grad():
        for theirs, ours, transpose in pairs:
            value = xn.to_numpy(ours.data)
            theirs.copy_(torch.tensor(value.T if transpose else value))
    xr = torch_tensor(x, requires_grad=True)
    net.train(False)  # the eval fast path would skip our gradients: keep autograd on
    ref = net(xr, src_key_padding_mask=torch.tensor(~pad))
    (ref * torch.tensor(g)).sum().backward()
    name = f"TransformerEncoder[{'pre' if normalize_first else 'post'}-norm]"
    compare("attention", f"{name} forward (real tokens)", y.numpy()[pad], ref.detach().numpy()[pad])
    compare("attention", f"{name} d/dx", xt.grad, xr.grad)
    for theirs, ours, transpose in pairs:
        ref_g = theirs.grad.numpy()
        compare("attention", f"{name} d/d{ours.name}", ours.grad, ref_g.T if transpose else ref_g)
    _mha_grads(block.attention, net.self_attn, name)
