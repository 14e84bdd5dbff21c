"""Initializers: every registered name against its formula (shape, dtype, moments, bounds).

Sample statistics are checked with tolerances derived from the sample size:
the sample mean of n draws has standard error sigma / sqrt(n), and the sample
standard deviation about sigma * sqrt(k / n) (k = 1/2 for a normal, 1/5 for a
uniform, whose fourth moment is 9/5 sigma**4). Each check allows 5 standard
errors, so a correct initializer fails with probability below 1e-6 (and the
seeds are fixed, so a run is repeatable).
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet import initializers as I

from helpers import assert_on_active_backend

TRUNC = 0.87962566103423978  # std of a standard normal truncated to [-2, 2]


@dataclasses.dataclass
class InitCase:
    name: str
    kwargs: dict
    shape: tuple
    kind: str  # constant | normal | truncated | uniform | orthogonal | identity
    params: dict  # the formula's values for this shape: mean/std/limit/value/gain
    label: str = ""

    @property
    def id(self):
        return self.name + (f"-{self.label}" if self.label else "")

    def make(self, **extra):
        return I.deserialize({"class_name": self.name, "config": {**self.kwargs, **extra}})


SHAPE = (400, 300)  # fan_in 400, fan_out 300, n = 120000
CONV = (3, 3, 16, 32)  # fan_in 3*3*16 = 144, fan_out 3*3*32 = 288
FAN_AVG = (400 + 300) / 2

INIT_CASES = [
    InitCase("zeros", {}, SHAPE, "constant", {"value": 0.0}),
    InitCase("ones", {}, SHAPE, "constant", {"value": 1.0}),
    InitCase("constant", {"value": -2.5}, SHAPE, "constant", {"value": -2.5}),
    InitCase("random_normal", {}, SHAPE, "normal", {"mean": 0.0, "std": 0.05}),
    InitCase(
        "random_normal",
        {"mean": 1.0, "stddev": 2.0},
        SHAPE,
        "normal",
        {"mean": 1.0, "std": 2.0},
        "args",
    ),
    InitCase("random_uniform", {}, SHAPE, "uniform", {"low": -0.05, "high": 0.05}),
    InitCase(
        "random_uniform",
        {"minval": 1.0, "maxval": 3.0},
        SHAPE,
        "uniform",
        {"low": 1.0, "high": 3.0},
        "args",
    ),
    InitCase("truncated_normal", {}, SHAPE, "truncated", {"mean": 0.0, "stddev": 0.05}),
    InitCase("small_random", {}, SHAPE, "normal", {"mean": 0.0, "std": 0.01}),
    InitCase(
        "variance_scaling",
        {},
        SHAPE,
        "truncated",
        {"mean": 0.0, "stddev": math.sqrt(1 / 400) / TRUNC},
    ),
    InitCase(
        "variance_scaling",
        {"scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"},
        SHAPE,
        "normal",
        {"mean": 0.0, "std": math.sqrt(3.0 / 300)},
        "fan_out-normal",
    ),
    InitCase(
        "variance_scaling",
        {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform"},
        CONV,
        "uniform",
        {"low": -math.sqrt(1.5 / 216), "high": math.sqrt(1.5 / 216)},
        "fan_avg-uniform-conv",
    ),
    InitCase(
        "glorot_uniform",
        {},
        SHAPE,
        "uniform",
        {"low": -math.sqrt(6 / 700), "high": math.sqrt(6 / 700)},
    ),
    InitCase(
        "glorot_normal",
        {},
        SHAPE,
        "truncated",
        {"mean": 0.0, "stddev": math.sqrt(1 / FAN_AVG) / TRUNC},
    ),
    InitCase(
        "he_normal",
        {},
        CONV,
        "truncated",
        {"mean": 0.0, "stddev": math.sqrt(2 / 144) / TRUNC},
        "conv",
    ),
    InitCase(
        "he_uniform", {}, SHAPE, "uniform", {"low": -math.sqrt(6 / 400), "high": math.sqrt(6 / 400)}
    ),
    InitCase(
        "lecun_normal", {}, SHAPE, "truncated", {"mean": 0.0, "stddev": math.sqrt(1 / 400) / TRUNC}
    ),
    InitCase(
        "lecun_uniform",
        {},
        CONV,
        "uniform",
        {"low": -math.sqrt(3 / 144), "high": math.sqrt(3 / 144)},
        "conv",
    ),
    # the course notes' Xavier and He: randn * sqrt(1 / n_prev), randn * sqrt(2 / n_prev)
    InitCase(
        "lecun_normal_untruncated", {}, SHAPE, "normal", {"mean": 0.0, "std": math.sqrt(1 / 400)}
    ),
    InitCase("he_normal_untruncated", {}, CONV, "normal", {"mean": 0.0, "std": math.sqrt(2 / 144)}),
    InitCase(
        "glorot_normal_untruncated",
        {},
        SHAPE,
        "normal",
        {"mean": 0.0, "std": math.sqrt(1 / FAN_AVG)},
    ),
    InitCase("orthogonal", {}, (60, 40), "orthogonal", {"gain": 1.0}),
    InitCase("orthogonal", {"gain": 2.0}, (20, 50), "orthogonal", {"gain": 2.0}, "wide"),
    InitCase("orthogonal", {}, (3, 3, 4, 10), "orthogonal", {"gain": 1.0}, "conv"),
    InitCase("identity", {}, (4, 6), "identity", {"gain": 1.0}),
    InitCase("identity", {"gain": 0.5}, (5, 5), "identity", {"gain": 0.5}, "gain"),
]
IDS = [c.id for c in INIT_CASES]


def _check_moments(x, mean, std, k):
    n = x.size
    assert abs(x.mean() - mean) <= 5 * std / math.sqrt(n), f"mean {x.mean()} vs {mean}"
    assert abs(x.std() - std) <= 5 * std * math.sqrt(k / n), f"std {x.std()} vs {std}"


@pytest.mark.parametrize("case", INIT_CASES, ids=IDS)
def test_values_follow_the_formula(case):
    out = (
        case.make(seed=7)(case.shape)
        if case.kind not in ("constant", "identity")
        else (case.make()(case.shape))
    )
    assert tuple(out.shape) == case.shape
    assert out.dtype == B.dtype("float32")
    assert_on_active_backend(out)
    x = np.asarray(xn.to_numpy(out), dtype=np.float64)
    p = case.params
    if case.kind == "constant":
        assert np.all(x == p["value"])
    elif case.kind == "normal":
        _check_moments(x, p["mean"], p["std"], 0.5)
    elif case.kind == "truncated":
        assert np.all(np.abs(x - p["mean"]) <= 2 * p["stddev"] * (1 + 1e-6))
        # the truncated normal's variance is below the normal's, so k = 1/2 is conservative
        _check_moments(x, p["mean"], p["stddev"] * TRUNC, 0.5)
    elif case.kind == "uniform":
        lo, hi = p["low"], p["high"]
        assert x.min() >= lo - 1e-7 and x.max() <= hi + 1e-7
        _check_moments(x, (lo + hi) / 2, (hi - lo) / math.sqrt(12), 0.2)
    elif case.kind == "orthogonal":
        flat = x.reshape(-1, case.shape[-1])
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, p["gain"] ** 2 * np.eye(len(gram)), atol=1e-5)
    elif case.kind == "identity":
        np.testing.assert_array_equal(x, p["gain"] * np.eye(*case.shape))


@pytest.mark.parametrize("case", INIT_CASES, ids=IDS)
def test_dtype_argument(case):
    if not B.has_float64(B.xp()):
        pytest.skip("this backend has no float64 (JAX without jax_enable_x64)")
    out = case.make()(case.shape, dtype="float64")
    assert out.dtype == B.dtype("float64")


RANDOM = [c for c in INIT_CASES if c.kind not in ("constant", "identity")]


def _small(shape):
    """A small shape of the same rank, for checks that need no statistics."""
    return tuple(min(s, 6) for s in shape)


@pytest.mark.parametrize("case", RANDOM, ids=[c.id for c in RANDOM])
def test_seeds_make_draws_repeatable(case):
    seeded = case.make(seed=3)
    a, b = xn.to_numpy(seeded(_small(case.shape))), xn.to_numpy(seeded(_small(case.shape)))
    np.testing.assert_array_equal(a, b)  # an int seed: the same values at every call
    assert not np.array_equal(a, xn.to_numpy(case.make(seed=4)(_small(case.shape))))
    unseeded = case.make()
    xn.set_seed(11)
    c = xn.to_numpy(unseeded(_small(case.shape)))
    d = xn.to_numpy(unseeded(_small(case.shape)))
    xn.set_seed(11)
    np.testing.assert_array_equal(c, xn.to_numpy(unseeded(_small(case.shape))))
    assert not np.array_equal(c, d)  # seed=None: a fresh draw from the global generator


@pytest.mark.parametrize("case", RANDOM, ids=[c.id for c in RANDOM])
def test_identical_values_on_every_backend(case):
    here = xn.to_numpy(case.make(seed=5)(_small(case.shape)))
    with xn.use_backend("numpy"):
        there = xn.to_numpy(case.make(seed=5)(_small(case.shape)))
    np.testing.assert_array_equal(here, there)


@pytest.mark.parametrize(
    "shape,fans",
    [
        ((), (1, 1)),
        ((7,), (7, 7)),
        ((4, 3), (4, 3)),
        ((5, 4, 8), (20, 40)),  # Conv1D kernel: (width, in, out)
        ((3, 3, 16, 32), (144, 288)),  # Conv2D kernel
        ((2, 3, 3, 8, 4), (144, 72)),  # Conv3D kernel
    ],
)
def test_fans_follow_keras(shape, fans):
    assert I.compute_fans(shape) == fans


@pytest.mark.parametrize("case", INIT_CASES, ids=IDS)
def test_serialization_round_trip(case):
    init = case.make(seed=1) if case in RANDOM else case.make()
    config = json.loads(json.dumps(I.serialize(init)))
    clone = I.deserialize(config)
    assert type(clone) is type(init) and clone.get_config() == init.get_config()
    np.testing.assert_array_equal(
        xn.to_numpy(clone(_small(case.shape))), xn.to_numpy(init(_small(case.shape)))
    )


@pytest.mark.parametrize(
    "alias,cls",
    [
        ("uniform", I.RandomUniform),
        ("normal", I.RandomNormal),
        ("one", I.Ones),
        ("zero", I.Zeros),
        ("Orthogonal", I.Orthogonal),
        ("OrthogonalInitializer", I.Orthogonal),
        ("IdentityInitializer", I.Identity),
        ("GlorotUniform", I.GlorotUniform),
        # torch's names give torch's formulas; the course notes' names, theirs
        ("xavier_normal", I.GlorotNormalUntruncated),
        ("xavier_uniform", I.GlorotUniform),
        ("kaiming_normal", I.HeNormalUntruncated),
        ("kaiming_uniform", I.HeUniform),
        ("course_xavier_normal", I.LecunNormalUntruncated),
        ("course_he_normal", I.HeNormalUntruncated),
    ],
)
def test_keras_aliases(alias, cls):
    assert type(I.get(alias)) is cls


BAD = [
    (lambda: I.VarianceScaling(scale=0.0), "VarianceScaling", "scale=0.0"),
    (lambda: I.VarianceScaling(mode="fan_middle"), "VarianceScaling", "mode='fan_middle'"),
    (lambda: I.VarianceScaling(distribution="cauchy"), "VarianceScaling", "distribution='cauchy'"),
    (lambda: I.RandomUniform(1.0, 1.0), "RandomUniform", "minval=1.0, maxval=1.0"),
    (lambda: I.RandomNormal(stddev=-1.0), "RandomNormal", "stddev=-1.0"),
    (lambda: I.TruncatedNormal(stddev=math.nan), "TruncatedNormal", "stddev=nan"),
    (lambda: I.HeNormal(seed=-1), "HeNormal", "seed=-1"),
    (lambda: I.Orthogonal()((5,)), "Orthogonal", "shape=(5,)"),
    (lambda: I.Identity()((2, 2, 2)), "Identity", "shape=(2, 2, 2)"),
    (lambda: I.Constant(math.inf), "Constant", "value=inf"),
]


@pytest.mark.parametrize("make,owner,received", BAD, ids=[b[1] + "-" + b[2] for b in BAD])
def test_bad_arguments(make, owner, received):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert message.startswith(owner + ":") and received in message and "expected" in message


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot'.*glorot_uniform"):
        I.get("glorot")


def test_every_initializer_has_a_row():
    assert set(I.names()) == {c.name for c in INIT_CASES}


def test_untruncated_normals_have_gaussian_tails():
    # a 400 -> 100 layer: the notes' Xavier std is sqrt(1/400) = 0.05, untruncated, so about
    # 4.6% of 10**5 draws lie beyond 2 std; Keras's truncated lecun_normal has none there
    shape = (400, 250)
    notes = xn.to_numpy(I.get("course_xavier_normal")(shape)).astype(np.float64)
    keras = xn.to_numpy(I.get("lecun_normal")(shape)).astype(np.float64)
    beyond = np.mean(np.abs(notes) > 2 * 0.05)
    assert 0.040 < beyond < 0.051  # 2 * (1 - Phi(2)) = 0.0455, 5 standard errors either side
    assert np.max(np.abs(keras)) <= 2 * 0.05 / 0.87962566103423978 + 1e-6


def test_keras_named_defaults_keep_keras_definitions():
    # glorot_uniform / he_normal etc. are Keras's (truncated where Keras truncates)
    assert I.get("he_normal").get_config() == {"seed": None}
    assert I.HeNormal().distribution == "truncated_normal"
    assert I.GlorotNormal().distribution == "truncated_normal"
    assert I.LecunNormal().distribution == "truncated_normal"
    assert I.HeNormalUntruncated().distribution == "untruncated_normal"


def test_keras_lowercase_names_are_the_classes():
    """keras.io writes ``kernel_initializer=initializers.he_normal(seed=1)``: Keras 3's
    lowercase names are its classes, so they take the classes' arguments."""
    from xpnet import initializers as I

    pairs = {
        "constant": I.Constant, "glorot_normal": I.GlorotNormal,
        "glorot_uniform": I.GlorotUniform, "he_normal": I.HeNormal, "he_uniform": I.HeUniform,
        "identity": I.Identity, "lecun_normal": I.LecunNormal,
        "lecun_uniform": I.LecunUniform, "ones": I.Ones, "orthogonal": I.Orthogonal,
        "random_normal": I.RandomNormal, "random_uniform": I.RandomUniform,
        "truncated_normal": I.TruncatedNormal, "variance_scaling": I.VarianceScaling,
        "zeros": I.Zeros,
    }  # fmt: skip
    for name, cls in pairs.items():
        assert getattr(I, name) is cls, name
    a = I.he_normal(seed=3)((40, 30))
    b = I.HeNormal(seed=3)((40, 30))
    np.testing.assert_array_equal(xn.backend.to_numpy(a), xn.backend.to_numpy(b))
    layer = xn.layers.Dense(4, kernel_initializer=I.glorot_uniform(seed=0))
    assert isinstance(layer.kernel_initializer, I.GlorotUniform)
