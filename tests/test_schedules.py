"""Learning-rate schedules against values computed by hand from Keras 3's formulas.

tests/reference/test_reference_optimizers.py compares the ones with a
torch.optim.lr_scheduler twin.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import xpnet as xn
from xpnet.optimizers import schedules as S

# (schedule, {step: expected}); expected values worked out by hand (comments show how).
SCHEDULE_CASES = [
    (
        S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5),
        {0: 0.1, 5: 0.1 * 0.5**0.5, 10: 0.05, 25: 0.1 * 0.5**2.5},
    ),
    (
        S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True),
        {0: 0.1, 9: 0.1, 10: 0.05, 25: 0.025},
    ),
    (
        S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1]),
        {0: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.1, 1000: 0.1},
    ),
    (
        # (0.1 - 0.01) * (1 - step / 10)**2 + 0.01, step capped at 10
        S.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0),
        {0: 0.1, 5: 0.09 * 0.25 + 0.01, 10: 0.01, 15: 0.01},
    ),
    (
        # cycle: decay_steps grows to 10 * ceil(step / 10); step 15 -> 20, step 21 -> 30
        S.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0, cycle=True),
        {0: 0.1, 5: 0.05, 10: 0.0, 15: 0.025, 20: 0.0, 21: 0.03},
    ),
    (
        # 0.1 / (1 + 0.5 * step / 5)
        S.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5),
        {0: 0.1, 5: 0.1 / 1.5, 7: 0.1 / 1.7, 20: 0.1 / 3.0},
    ),
    (
        S.InverseTimeDecay(0.1, decay_steps=5, decay_rate=0.5, staircase=True),
        {4: 0.1, 7: 0.1 / 1.5, 10: 0.05},
    ),
    (
        # 0.1 * (0.8 * 0.5 * (1 + cos(pi * step / 10)) + 0.2); cos(pi/2) = 0
        S.CosineDecay(0.1, decay_steps=10, alpha=0.2),
        {0: 0.1, 5: 0.06, 10: 0.02, 20: 0.02},
    ),
    (
        # warmup 0 -> 0.1 over 5 steps, then cosine from 0.1 to 0 over 10
        S.CosineDecay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=5),
        {0: 0.0, 2: 0.04, 5: 0.1, 10: 0.05, 15: 0.0, 100: 0.0},
    ),
    (
        # periods of 10, 20, 40 steps start at 0, 10, 30, 70; peaks 0.1, 0.05, 0.025, 0.0125
        S.CosineDecayRestarts(0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.5),
        {0: 0.1, 5: 0.05, 10: 0.05, 20: 0.025, 30: 0.025, 50: 0.0125, 70: 0.0125},
    ),
    (
        # periods of 4; the floor is alpha = 0.5: 0.5 * 0.5 * (1 + cos(pi/2)) + 0.5 = 0.75
        S.CosineDecayRestarts(1.0, first_decay_steps=4, t_mul=1.0, alpha=0.5),
        {0: 1.0, 2: 0.75, 4: 1.0, 6: 0.75, 8: 1.0},
    ),
]


def _id(case):
    schedule, _ = case
    config = schedule.get_config()
    flags = [k for k in ("staircase", "cycle") if config.get(k)]
    flags += ["warmup"] if config.get("warmup_target") is not None else []
    return type(schedule).__name__ + "".join(f"-{f}" for f in flags)


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=[_id(c) for c in SCHEDULE_CASES])
def test_schedule_values(case):
    schedule, expected = case
    for step, value in expected.items():
        got = schedule(step)
        assert type(got) is float, f"{_id(case)}({step}) returned {type(got).__name__}"
        assert got == pytest.approx(value, rel=1e-12, abs=1e-15), f"{_id(case)} at step {step}"


@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=[_id(c) for c in SCHEDULE_CASES])
def test_schedule_config_round_trip(case):
    schedule, expected = case
    text = json.dumps(S.serialize(schedule))
    clone = S.deserialize(json.loads(text))
    assert type(clone) is type(schedule)
    assert clone.get_config() == schedule.get_config()
    for step in expected:
        assert clone(step) == schedule(step)


def test_schedules_take_numpy_and_array_steps():
    s = S.ExponentialDecay(1.0, 4, 0.5)
    assert s(np.int64(8)) == 0.25
    assert s(np.asarray(8)) == 0.25


def test_restart_boundaries_are_exact():
    """At every restart the rate is the new peak (the log in the formula can round either way)."""
    s = S.CosineDecayRestarts(1.0, first_decay_steps=3, t_mul=3.0, m_mul=0.5)
    start, length, peak = 0, 3, 1.0
    for _ in range(6):
        assert s(start) == pytest.approx(peak, rel=1e-12)
        start, length, peak = start + length, length * 3, peak * 0.5


def test_optimizer_uses_schedule_and_serializes_it():
    s = S.PolynomialDecay(0.1, 4, end_learning_rate=0.0)
    opt = xn.optimizers.SGD(learning_rate=s)
    config = json.loads(json.dumps(opt.get_config()))
    assert config["learning_rate"] == {"class_name": "PolynomialDecay", "config": s.get_config()}
    clone = xn.optimizers.SGD.from_config(config)
    assert isinstance(clone.learning_rate, S.PolynomialDecay)
    w = xn.Parameter([0.0])
    for step in range(5):
        assert opt.current_learning_rate == pytest.approx(0.1 * (1 - min(step, 4) / 4))
        opt.apply([xn.backend.asarray([1.0])], [w])


def test_custom_schedule_can_be_registered():
    @S.register
    class Halving(S.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return self.rate / 2 ** int(step)

        def get_config(self):
            return {"rate": self.rate}

    clone = S.deserialize(S.serialize(Halving(1.0)))
    assert clone(3) == 0.125


BAD_SCHEDULES = [
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), "ExponentialDecay", "decay_steps=0"),
    (lambda: S.ExponentialDecay(0.1, 10, -0.5), "ExponentialDecay", "decay_rate=-0.5"),
    (lambda: S.ExponentialDecay(-0.1, 10, 0.5), "ExponentialDecay", "initial_learning_rate=-0.1"),
    (lambda: S.PiecewiseConstantDecay([1, 2], [1.0]), "PiecewiseConstantDecay", "values=[1.0]"),
    (lambda: S.PiecewiseConstantDecay([2, 1], [1, 2, 3]), "PiecewiseConstantDecay", "[2, 1]"),
    (lambda: S.PolynomialDecay(0.1, -5), "PolynomialDecay", "decay_steps=-5"),
    (lambda: S.PolynomialDecay(0.1, 5, power=-1.0), "PolynomialDecay", "power=-1.0"),
    (lambda: S.InverseTimeDecay(0.1, 5, float("nan")), "InverseTimeDecay", "decay_rate=nan"),
    (lambda: S.CosineDecay(0.1, 0), "CosineDecay", "decay_steps=0"),
    (lambda: S.CosineDecay(0.1, 10, alpha=1.5), "CosineDecay", "alpha=1.5"),
    (lambda: S.CosineDecay(0.1, 10, warmup_steps=-1), "CosineDecay", "warmup_steps=-1"),
    (lambda: S.CosineDecayRestarts(0.1, 0), "CosineDecayRestarts", "first_decay_steps=0"),
    (lambda: S.CosineDecayRestarts(0.1, 5, t_mul=0.0), "CosineDecayRestarts", "t_mul=0.0"),
    (lambda: S.CosineDecayRestarts(0.1, 5, m_mul=-1.0), "CosineDecayRestarts", "m_mul=-1.0"),
]


@pytest.mark.parametrize("make,owner,received", BAD_SCHEDULES)
def test_bad_schedule_arguments(make, owner, received):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert message.startswith(owner + ":") and received in message and "expected" in message


def test_unknown_schedule_name():
    with pytest.raises(ValueError, match="Unknown learning rate schedule 'Step'.*CosineDecay"):
        S.deserialize({"class_name": "Step", "config": {}})
    with pytest.raises(ValueError, match="Cannot interpret learning rate schedule"):
        S.get("exponential")


def test_every_schedule_has_a_row():
    builtin = {
        "ExponentialDecay",
        "PiecewiseConstantDecay",
        "PolynomialDecay",
        "InverseTimeDecay",
        "CosineDecay",
        "CosineDecayRestarts",
    }
    assert set(S.names()) - {"Halving"} == builtin  # Halving: registered by a test above
    assert {type(s).__name__ for s, _ in SCHEDULE_CASES} == builtin
    assert {owner for _, owner, _ in BAD_SCHEDULES} == builtin
