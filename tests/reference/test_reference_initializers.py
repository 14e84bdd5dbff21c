"""Initializers against torch.nn.init: fans, uniform bounds, normal spreads, orthogonality.

Random draws cannot match value for value (different generators), so each
comparison is of a quantity both sides estimate precisely from a large sample:

- fans: exact integers (torch lays a conv kernel out as (out, in, *k), Keras as (*k, in, out));
- uniform: the largest |w| of 10**6 draws, which sits within about limit / 10**5
  of the limit (the chance that no draw of either side lands in the outer 1e-5
  of the range is about e**-10);
- normal: the sample standard deviation of 10**6 draws, whose relative standard
  error is sqrt(1 / (2 n)) = 7e-4; compared with rtol 5e-3 (7 standard errors);
- orthogonal: the Gram matrix, which is the identity on both sides.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import xpnet as xn
from xpnet import initializers as I

from reference_utils import compare

SHAPE = (1000, 1000)  # Keras (in, out); torch (out, in): square, so the fans agree


def _torch_init(fn, shape=SHAPE, **kw):
    torch.manual_seed(0)
    t = torch.empty(shape)
    fn(t, **kw)
    return t.numpy().astype(np.float64)


def _ours(init, shape=SHAPE):
    return np.asarray(xn.to_numpy(init(shape)), np.float64)


@pytest.mark.parametrize(
    "keras_shape,torch_shape",
    [((7, 5), (5, 7)), ((5, 4, 8), (8, 4, 5)), ((3, 3, 16, 32), (32, 16, 3, 3))],
)
def test_fans(keras_shape, torch_shape):
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(torch_shape))
    compare("initializers", f"fans {keras_shape}", np.array(I.compute_fans(keras_shape)), theirs)


UNIFORM = [
    ("kaiming_uniform", I.get("kaiming_uniform"), torch.nn.init.kaiming_uniform_, {"a": 0.0}),
    ("glorot_uniform", I.GlorotUniform(seed=1), torch.nn.init.xavier_uniform_, {}),
    (
        "he_uniform",
        I.HeUniform(seed=1),
        torch.nn.init.kaiming_uniform_,
        {"mode": "fan_in", "nonlinearity": "relu"},
    ),
    (
        "lecun_uniform",
        I.LecunUniform(seed=1),
        torch.nn.init.kaiming_uniform_,
        {"mode": "fan_in", "nonlinearity": "linear"},
    ),
]


@pytest.mark.parametrize("name,ours,fn,kw", UNIFORM, ids=[u[0] for u in UNIFORM])
def test_uniform_limits(name, ours, fn, kw):
    compare(
        "initializers",
        f"{name} limit",
        np.max(np.abs(_ours(ours))),
        np.max(np.abs(_torch_init(fn, **kw))),
    )


def _trunc(std):
    """torch's truncated normal with Keras's bounds (two standard deviations)."""
    return lambda t: torch.nn.init.trunc_normal_(t, std=std, a=-2 * std, b=2 * std)


NORMAL = [
    # Keras divides by 0.8796 so the truncated draws keep the target variance
    ("glorot_normal", I.GlorotNormal(seed=1), _trunc(math.sqrt(2 / 2000) / 0.87962566103423978)),
    ("he_normal", I.HeNormal(seed=1), _trunc(math.sqrt(2 / 1000) / 0.87962566103423978)),
    (
        "variance_scaling untruncated",
        I.VarianceScaling(2.0, "fan_in", "untruncated_normal", seed=1),
        lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_in", nonlinearity="relu"),
    ),
    # torch's names and the course notes' formulas, untruncated on both sides
    (
        "xavier_normal",
        I.get("xavier_normal"),
        torch.nn.init.xavier_normal_,
    ),
    (
        "course_he_normal",
        I.get("course_he_normal"),
        torch.nn.init.kaiming_normal_,
    ),
    (
        "course_xavier_normal",
        I.get("course_xavier_normal"),
        lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="linear"),
    ),
    (
        "random_normal",
        I.RandomNormal(stddev=0.05, seed=1),
        lambda t: torch.nn.init.normal_(t, 0, 0.05),
    ),
]


@pytest.mark.parametrize("name,ours,fn", NORMAL, ids=[n[0] for n in NORMAL])
def test_normal_spread(name, ours, fn):
    # sample-size tolerance: see the module docstring
    theirs = np.std(_torch_init(fn))
    compare("initializers (sample std)", name, np.std(_ours(ours)), theirs, rtol=5e-3)


def test_orthogonal():
    shape = (64, 48)  # Keras (in, out): orthonormal columns; torch (out, in) = its transpose
    ours = _ours(I.Orthogonal(gain=1.5, seed=1), shape)
    theirs = _torch_init(torch.nn.init.orthogonal_, (48, 64), gain=1.5)
    compare("initializers", "orthogonal gram", ours.T @ ours, theirs @ theirs.T)
