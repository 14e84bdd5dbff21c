"""Normalization, dropout, merging and reshaping layers against their PyTorch twins.

Same inputs and weights on both sides; outputs and the gradients of inputs and
weights (for a random upstream gradient) are compared through ``compare``,
which records the relative error of the "layers" family.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xpnet as xn
from xpnet import layers

from reference_utils import compare, torch_tensor

RNG = np.random.default_rng(0)


def _f32(*shape, loc=0.0, scale=1.0):
    return RNG.normal(loc, scale, shape).astype(np.float32)


def _run(layer_call, torch_call, inputs, **kw):
    """Run both sides on ``inputs`` with one upstream gradient; return outputs and input grads."""
    ours_in = [xn.Tensor(a, requires_grad=True) for a in inputs]
    theirs_in = [torch_tensor(a, requires_grad=True) for a in inputs]
    ours = layer_call(ours_in[0] if len(inputs) == 1 else ours_in, **kw)
    theirs = torch_call(*theirs_in)
    g = RNG.normal(size=tuple(theirs.shape)).astype(np.float32)
    (ours * xn.Tensor(g)).sum().backward()
    (theirs * torch.tensor(g)).sum().backward()
    return ours, theirs, [t.grad for t in ours_in], [t.grad for t in theirs_in]


def _compare_all(name, ours, theirs, ours_grads, theirs_grads):
    compare("layers", f"{name} forward", ours, theirs)
    for i, (a, b) in enumerate(zip(ours_grads, theirs_grads)):
        compare("layers", f"{name} d/dinput{i}", a, b)


def _set_affine(layer, torch_module, c, shape=None):
    """Random gamma and beta on both sides (xpnet weights first: gamma, beta, ...)."""
    gamma = RNG.uniform(0.5, 1.5, shape or (c,)).astype(np.float32)
    beta = RNG.normal(size=shape or (c,)).astype(np.float32)
    weights = layer.get_weights()
    weights[0], weights[1] = gamma, beta
    layer.set_weights(weights)
    with torch.no_grad():
        torch_module.weight.copy_(torch.tensor(gamma))
        torch_module.bias.copy_(torch.tensor(beta))


def _compare_affine_grads(name, layer, torch_module):
    compare("layers", f"{name} d/dgamma", layer.gamma.grad, torch_module.weight.grad)
    compare("layers", f"{name} d/dbeta", layer.beta.grad, torch_module.bias.grad)
    layer.zero_grad()
    torch_module.zero_grad()


# --------------------------------------------------------------------------- BatchNormalization


def _nchw(t):
    return t.permute(0, 3, 1, 2)


def _nhwc(t):
    return t.permute(0, 2, 3, 1)


BN_SETUPS = {
    # name: (input shape, xpnet axis, torch module, channels_last input?, values per channel)
    "1d": ((16, 5), -1, torch.nn.BatchNorm1d, False, 16),
    "2d channels_last": ((4, 3, 3, 5), -1, torch.nn.BatchNorm2d, True, 36),
    "2d axis=1": ((4, 5, 3, 3), 1, torch.nn.BatchNorm2d, False, 36),
}


@pytest.mark.parametrize("setup", list(BN_SETUPS), ids=str)
@pytest.mark.parametrize("momentum", [0.99, 0.8])
def test_batch_norm_matches_torch_in_both_modes(setup, momentum):
    shape, axis, factory, channels_last, n = BN_SETUPS[setup]
    name = f"BatchNorm {setup} momentum={momentum}"
    c = shape[axis]
    ours = layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=1e-3)
    # PyTorch's momentum weighs the new batch: momentum_torch = 1 - momentum_keras
    theirs = factory(c, eps=1e-3, momentum=1.0 - momentum)
    ours(np.zeros(shape, np.float32))  # build (inference: the statistics stay put)
    _set_affine(ours, theirs, c)

    def torch_bn(t):
        return _nhwc(theirs(_nchw(t))) if channels_last else theirs(t)

    steps = 3
    for step in range(steps):
        theirs.train()
        res = _run(lambda t: ours(t, training=True), torch_bn, [_f32(*shape, loc=1.5, scale=2.0)])
        _compare_all(f"{name} training step {step}", *res)
        _compare_affine_grads(f"{name} training step {step}", ours, theirs)
    compare("layers", f"{name} moving_mean", ours.moving_mean, theirs.running_mean)
    # torch's running variance accumulates the unbiased batch variance (x n / (n - 1));
    # Keras and xpnet the biased one. With both starting at 1:
    #   ours = m^k + (torch - m^k) * (n - 1) / n
    mk = momentum**steps
    expected = mk + (theirs.running_var.detach().double().numpy() - mk) * (n - 1) / n
    compare(
        "layers", f"{name} moving_variance (unbiased-corrected)", ours.moving_variance, expected
    )
    # inference: copy our moving statistics to torch (exactly comparable), eval mode
    with torch.no_grad():
        theirs.running_mean.copy_(torch.tensor(xn.to_numpy(ours.moving_mean)))
        theirs.running_var.copy_(torch.tensor(xn.to_numpy(ours.moving_variance)))
    theirs.eval()
    res = _run(lambda t: ours(t, training=False), torch_bn, [_f32(*shape, loc=1.0, scale=2.0)])
    _compare_all(f"{name} inference", *res)
    _compare_affine_grads(f"{name} inference", ours, theirs)


# --------------------------------------------------------------------------- Layer/Group/RMS norms


@pytest.mark.parametrize(
    ("shape", "axis"), [((6, 8), -1), ((2, 3, 4), [-2, -1])], ids=["last axis", "two axes"]
)
def test_layer_norm_matches_torch(shape, axis):
    normalized = tuple(shape[a] for a in ([axis] if isinstance(axis, int) else axis))
    ours = layers.LayerNormalization(axis=axis, epsilon=1e-3)
    theirs = torch.nn.LayerNorm(normalized, eps=1e-3)
    ours(np.zeros(shape, np.float32))
    _set_affine(ours, theirs, None, normalized)
    res = _run(ours, theirs, [_f32(*shape, loc=0.5, scale=2.0)])
    _compare_all(f"LayerNorm {axis}", *res)
    _compare_affine_grads(f"LayerNorm {axis}", ours, theirs)


@pytest.mark.parametrize(("groups", "c"), [(2, 6), (1, 4), (4, 4)], ids=["2 groups", "1", "inst"])
def test_group_norm_matches_torch(groups, c):
    shape = (3, 4, 5, c)  # channels_last for xpnet; torch takes channels_first
    ours = layers.GroupNormalization(groups=groups, epsilon=1e-3)
    theirs = torch.nn.GroupNorm(groups, c, eps=1e-3)
    ours(np.zeros(shape, np.float32))
    _set_affine(ours, theirs, c)
    res = _run(ours, lambda t: _nhwc(theirs(_nchw(t))), [_f32(*shape, loc=1.0, scale=3.0)])
    _compare_all(f"GroupNorm groups={groups}", *res)
    _compare_affine_grads(f"GroupNorm groups={groups}", ours, theirs)
    # channels_first directly with axis=1
    ours_cf = layers.GroupNormalization(groups=groups, axis=1, epsilon=1e-3)
    x = _f32(3, c, 4, 5)
    ours_cf(np.zeros(x.shape, np.float32))
    ours_cf.set_weights(ours.get_weights())
    res = _run(ours_cf, theirs, [x])
    _compare_all(f"GroupNorm groups={groups} axis=1", *res)


def test_rms_norm_matches_torch():
    ours = layers.RMSNormalization(epsilon=1e-6)
    theirs = torch.nn.RMSNorm(7, eps=1e-6)
    x = _f32(5, 3, 7, loc=0.3)
    ours(np.zeros(x.shape, np.float32))
    scale = RNG.uniform(0.5, 1.5, 7).astype(np.float32)
    ours.set_weights([scale])
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(scale))
    res = _run(ours, theirs, [x])
    _compare_all("RMSNorm", *res)
    compare("layers", "RMSNorm d/dscale", ours.scale.grad, theirs.weight.grad)


def test_unit_norm_matches_torch_normalize():
    # Keras: x * rsqrt(max(sum x^2, 1e-12)) = x / max(||x||, 1e-6): torch's eps=1e-6
    res = _run(layers.UnitNormalization(), lambda t: F.normalize(t, dim=-1, eps=1e-6), [_f32(4, 6)])
    _compare_all("UnitNormalization", *res)


def test_normalization_matches_torch_standardization_with_training_statistics():
    train, test = _f32(100, 4, loc=3.0, scale=2.0), _f32(20, 4, loc=3.0, scale=2.0)
    norm = layers.Normalization()
    norm.adapt(train)
    tt = torch.tensor(train, dtype=torch.float64)
    mean, std = tt.mean(0), tt.var(0, unbiased=False).sqrt()
    res = _run(norm, lambda t: (t - mean.float()) / std.float(), [test])
    _compare_all("Normalization (adapted)", *res)


# --------------------------------------------------------------------------- dropout scaling


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_scales_kept_units_like_torch(rate):
    x = np.ones((64, 32), np.float32)
    ours_in = xn.Tensor(x, requires_grad=True)
    ours = layers.Dropout(rate)(ours_in, training=True)
    ours.sum().backward()
    theirs_in = torch_tensor(x, requires_grad=True)
    theirs = torch.nn.Dropout(rate).train()(theirs_in)
    theirs.sum().backward()
    o, t = xn.to_numpy(ours), theirs.detach().numpy()
    # masks differ (different generators); every kept unit must carry the same scale
    kept_o, kept_t = o[o != 0], t[t != 0]
    compare("layers", f"Dropout({rate}) kept value", kept_o, np.full(kept_o.shape, kept_t[0]))
    g_o = xn.to_numpy(ours_in.grad)
    g_t = theirs_in.grad.numpy()
    compare(
        "layers",
        f"Dropout({rate}) kept gradient",
        g_o[o != 0],
        np.full(kept_o.shape, g_t[t != 0][0]),
    )


def test_spatial_dropout_scales_like_torch_dropout2d():
    x = np.ones((16, 8, 3, 3), np.float32)
    ours = xn.to_numpy(layers.SpatialDropout2D(0.5, data_format="channels_first")(x, training=True))
    theirs = torch.nn.Dropout2d(0.5).train()(torch.tensor(x)).numpy()
    kept = ours[ours != 0]
    compare(
        "layers", "SpatialDropout2D kept value", kept, np.full(kept.shape, theirs[theirs != 0][0])
    )


def _alpha_constants(run):
    """(a, b, dropped value) of an alpha dropout, read from its outputs on zeros and ones."""
    zeros, ones = run(np.zeros((64, 64), np.float32)), run(np.ones((64, 64), np.float32))
    fill = set(np.unique(zeros).tolist()) & set(np.unique(ones).tolist())
    assert len(fill) == 1
    fill = fill.pop()
    b = zeros[zeros != fill][0]
    a = ones[ones != fill][0] - b
    return np.array([a, b, fill])


def test_alpha_dropout_matches_torch_affine_map():
    ours = _alpha_constants(lambda x: xn.to_numpy(layers.AlphaDropout(0.2)(x, training=True)))
    module = torch.nn.AlphaDropout(0.2).train()
    theirs = _alpha_constants(lambda x: module(torch.tensor(x)).numpy())
    compare("layers", "AlphaDropout (a, b, dropped value)", ours, theirs)


# --------------------------------------------------------------------------- merging


MERGES = {
    "Add": (layers.Add, lambda a, b, c: a + b + c, 3),
    "Subtract": (layers.Subtract, lambda a, b: a - b, 2),
    "Multiply": (layers.Multiply, lambda a, b, c: a * b * c, 3),
    "Average": (layers.Average, lambda a, b, c: (a + b + c) / 3, 3),
    "Maximum": (layers.Maximum, lambda a, b, c: torch.maximum(torch.maximum(a, b), c), 3),
    "Minimum": (layers.Minimum, lambda a, b: torch.minimum(a, b), 2),
    "Concatenate": (lambda: layers.Concatenate(axis=1), lambda a, b: torch.cat([a, b], 1), 2),
}


@pytest.mark.parametrize("name", list(MERGES))
def test_merging_matches_torch(name):
    make, torch_fn, k = MERGES[name]
    inputs = [_f32(4, 5) for _ in range(k)]
    _compare_all(name, *_run(make(), torch_fn, inputs))


@pytest.mark.parametrize(
    ("axes", "shapes", "normalize", "equation"),
    [
        (1, [(4, 6), (4, 6)], False, None),
        ((1, 2), [(2, 3, 4), (2, 5, 3)], False, "bkn,bmk->bnm"),
        ((2, 1), [(2, 3, 4), (2, 4, 5)], False, "bmk,bkn->bmn"),
        (1, [(4, 6), (4, 6)], True, None),
    ],
    ids=["vectors", "axes (1, 2)", "axes (2, 1)", "cosine"],
)
def test_dot_matches_torch(axes, shapes, normalize, equation):
    def torch_dot(a, b):
        if normalize:
            a, b = F.normalize(a, dim=1, eps=1e-7), F.normalize(b, dim=1, eps=1e-7)
        if equation is None:
            return (a * b).sum(1, keepdim=True)
        return torch.einsum(equation, a, b)

    inputs = [_f32(*s) for s in shapes]
    res = _run(layers.Dot(axes=axes, normalize=normalize), torch_dot, inputs)
    _compare_all(f"Dot axes={axes} normalize={normalize}", *res)


# --------------------------------------------------------------------------- reshaping


RESHAPES = {
    "Flatten": (layers.Flatten(), lambda t: torch.flatten(t, 1), (2, 3, 4, 5)),
    "Flatten channels_first": (
        layers.Flatten("channels_first"),
        lambda t: torch.flatten(t.permute(0, 2, 3, 1), 1),
        (2, 3, 4, 5),
    ),
    "Reshape": (layers.Reshape((5, -1)), lambda t: t.reshape(2, 5, -1), (2, 3, 4, 5)),
    "Permute": (layers.Permute((3, 1, 2)), lambda t: t.permute(0, 3, 1, 2), (2, 3, 4, 5)),
    "RepeatVector": (layers.RepeatVector(3), lambda t: t.unsqueeze(1).expand(-1, 3, -1), (4, 5)),
}


@pytest.mark.parametrize("name", list(RESHAPES))
def test_reshaping_matches_torch(name):
    layer, torch_fn, shape = RESHAPES[name]
    _compare_all(name, *_run(layer, torch_fn, [_f32(*shape)]))
