"""Optimizer trajectories and learning-rate schedules against torch.optim.

Each optimizer takes 20 steps on the same least-squares problem, from the same
weights, in float32 on both sides (each library computes its own gradients);
every step's weights are compared. Hyperparameters are mapped where the two
libraries name or place them differently:

- SGD momentum: Keras keeps ``v = momentum * v - lr * g``, torch ``b = momentum * b + g``
  and steps ``-lr * b``: the same trajectory for a constant learning rate.
- RMSprop, Adagrad, Adam, AdamW, Adamax: Keras adds epsilon inside the square
  root (RMSprop, Adagrad), to ``sqrt(v)`` before the bias correction (Adam, the
  paper's "epsilon hat") or after the max (Adamax); torch elsewhere. Those rows
  use ``epsilon=1e-12`` on both sides, far below every ``sqrt(v)`` here, so the
  placement cannot matter; tests/test_optimizers.py checks the placement itself
  against the Keras formulas (NumPy, float64) with a large epsilon.
- Adagrad: torch's accumulator starts at 0 unless told; mapped to Keras's 0.1.
- Adadelta: the same formula; Keras's default learning rate is 0.001, torch's 1.0.
- Nadam: torch's ``momentum_decay=1.0`` is Keras's momentum schedule
  ``beta_1 * (1 - 0.5 * 0.96**t)`` (torch's default 4e-3 stretches it).
- AdamW: both decay first, ``w -= lr * weight_decay * w``, then take Adam's step.

Lion has no torch twin: it is compared with the Keras formula in float64 NumPy
(family "optimizers (no torch twin)"), and so is SGD's decoupled weight decay
(torch's SGD weight_decay is an L2 term in the gradient instead).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import xpnet as xn
from xpnet.optimizers import schedules as S

from optim_reference import KerasReference, LeastSquares  # tests/: the Keras formulas in NumPy
from reference_utils import compare

STEPS = 20
TINY = 1e-12  # see the module docstring: epsilon too small for its placement to matter


@dataclasses.dataclass
class Twin:
    label: str
    ours: dict  # {"class_name": ..., "config": ...}
    theirs: object  # params -> torch optimizer, or None: compare with the NumPy Keras formula
    clip: str | None = None  # "norm" (per gradient), "global" or "value", applied on both sides
    clip_value: float = 0.0


def _opt(name, **config):
    return {"class_name": name, "config": config}


TWINS = [
    Twin("SGD", _opt("sgd", learning_rate=0.05), lambda p: torch.optim.SGD(p, lr=0.05)),
    Twin(
        "SGD momentum",
        _opt("sgd", learning_rate=0.02, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9),
    ),
    Twin(
        "SGD nesterov",
        _opt("sgd", learning_rate=0.02, momentum=0.9, nesterov=True),
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9, nesterov=True),
    ),
    Twin(
        "RMSprop",
        _opt("rmsprop", learning_rate=0.01, epsilon=TINY),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINY),
    ),
    Twin(
        "RMSprop momentum",
        _opt("rmsprop", learning_rate=0.01, momentum=0.5, epsilon=TINY),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, eps=TINY),
    ),
    Twin(
        "RMSprop centered",
        _opt("rmsprop", learning_rate=0.01, rho=0.8, centered=True, epsilon=TINY),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, centered=True, eps=TINY),
    ),
    Twin(
        "Adam",
        _opt("adam", learning_rate=0.05, epsilon=TINY),
        lambda p: torch.optim.Adam(p, lr=0.05, eps=TINY),
    ),
    Twin(
        "Adam amsgrad",
        _opt("adam", learning_rate=0.05, beta_2=0.9, amsgrad=True, epsilon=TINY),
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.9), amsgrad=True, eps=TINY),
    ),
    Twin(
        "AdamW",
        _opt("adamw", learning_rate=0.05, weight_decay=0.1, epsilon=TINY),
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=TINY),
    ),
    Twin(
        "Adagrad",
        _opt("adagrad", learning_rate=0.1, epsilon=TINY),
        lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1, eps=TINY),
    ),
    Twin(
        "Adadelta",
        _opt("adadelta", learning_rate=1.0, rho=0.9, epsilon=1e-4),
        lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-4),
    ),
    Twin(
        "Adamax",
        _opt("adamax", learning_rate=0.05, epsilon=TINY),
        lambda p: torch.optim.Adamax(p, lr=0.05, eps=TINY),
    ),
    Twin(
        "Nadam",
        _opt("nadam", learning_rate=0.05),
        lambda p: torch.optim.NAdam(p, lr=0.05, eps=1e-7, momentum_decay=1.0),
    ),
    # epsilon_placement="textbook" is torch's placement: a large epsilon makes it visible
    Twin(
        "RMSprop textbook",
        _opt("rmsprop", learning_rate=0.01, epsilon=0.05, epsilon_placement="textbook"),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.05),
    ),
    Twin(
        "RMSprop textbook centered momentum",
        _opt(
            "rmsprop",
            learning_rate=0.01,
            rho=0.8,
            momentum=0.5,
            centered=True,
            epsilon=0.05,
            epsilon_placement="textbook",
        ),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, momentum=0.5, centered=True, eps=0.05),
    ),
    Twin(
        "Adam textbook",
        _opt("adam", learning_rate=0.05, epsilon=0.05, epsilon_placement="textbook"),
        lambda p: torch.optim.Adam(p, lr=0.05, eps=0.05),
    ),
    Twin(
        "Adam textbook amsgrad",
        _opt(
            "adam",
            learning_rate=0.05,
            beta_2=0.9,
            amsgrad=True,
            epsilon=0.05,
            epsilon_placement="textbook",
        ),
        lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.9, 0.9), amsgrad=True, eps=0.05),
    ),
    Twin(
        "AdamW textbook",
        _opt(
            "adamw",
            learning_rate=0.05,
            weight_decay=0.1,
            epsilon=0.05,
            epsilon_placement="textbook",
        ),
        lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=0.05),
    ),
    Twin(
        "Adamax textbook",
        _opt("adamax", learning_rate=0.05, epsilon=0.05, epsilon_placement="textbook"),
        lambda p: torch.optim.Adamax(p, lr=0.05, eps=0.05),
    ),
    Twin(
        "Nadam textbook",
        _opt("nadam", learning_rate=0.05, epsilon=0.05, epsilon_placement="textbook"),
        lambda p: torch.optim.NAdam(p, lr=0.05, eps=0.05, momentum_decay=1.0),
    ),
    Twin("Lion", _opt("lion", learning_rate=0.01), None),
    # no torch twins: torch has no Lamb or Ftrl, and torch.optim.Adafactor is another
    # variant (no update clipping, its own epsilon and decay); Keras 3.15's own numbers
    # for these three are in tests/test_optimizers_keras3.py
    Twin("Lamb", _opt("lamb", learning_rate=0.05), None),
    Twin("Adafactor", _opt("adafactor", learning_rate=0.05), None),
    Twin("Ftrl", _opt("ftrl", learning_rate=0.1, l1_regularization_strength=0.001), None),
    Twin("SGD weight_decay", _opt("sgd", learning_rate=0.05, weight_decay=0.2), None),
    # the base loop's clipping against torch.nn.utils
    Twin(
        "SGD clipnorm",
        _opt("sgd", learning_rate=0.05, clipnorm=0.3),
        lambda p: torch.optim.SGD(p, lr=0.05),
        "norm",
        0.3,
    ),
    Twin(
        "Adam global_clipnorm",
        _opt("adam", learning_rate=0.05, global_clipnorm=0.4, epsilon=TINY),
        lambda p: torch.optim.Adam(p, lr=0.05, eps=TINY),
        "global",
        0.4,
    ),
    Twin(
        "RMSprop clipvalue",
        _opt("rmsprop", learning_rate=0.01, clipvalue=0.1, epsilon=TINY),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINY),
        "value",
        0.1,
    ),
]


def _ours(twin: Twin, problem) -> list[list[np.ndarray]]:
    problem.bind(xn)
    params = [xn.Parameter(a) for a in problem.init]
    opt = xn.optimizers.deserialize(twin.ours)
    out = []
    for _ in range(STEPS):
        opt.zero_grad(params)
        problem.loss(*params).backward()
        opt.step(params)
        out.append([xn.to_numpy(p).copy() for p in params])
    return out


def _torch(twin: Twin, problem) -> list[list[np.ndarray]]:
    X = torch.tensor(problem.X, dtype=torch.float32)
    Y = torch.tensor(problem.Y, dtype=torch.float32)
    params = [torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in problem.init]
    opt = twin.theirs(params)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        r = X @ params[0] + params[1] - Y
        (r * r).mean().backward()
        if twin.clip == "norm":
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], twin.clip_value)
        elif twin.clip == "global":
            torch.nn.utils.clip_grad_norm_(params, twin.clip_value)
        elif twin.clip == "value":
            torch.nn.utils.clip_grad_value_(params, twin.clip_value)
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


def _keras_numpy(twin: Twin, problem) -> list[list[np.ndarray]]:
    ref = KerasReference(twin.ours["class_name"], **twin.ours["config"])
    ws, out = [a.copy() for a in problem.init], []
    for _ in range(STEPS):
        ws = ref.step(ws, problem.grads(*ws))
        out.append(ws)
    return out


@pytest.mark.parametrize("twin", TWINS, ids=[t.label for t in TWINS])
def test_trajectory(twin):
    problem = LeastSquares()
    ours = _ours(twin, problem)
    if twin.theirs is None:
        family, theirs = "optimizers (no torch twin)", _keras_numpy(twin, problem)
    else:
        family, theirs = "optimizers", _torch(twin, problem)
    # the whole trajectory, every parameter, as one array per side
    flat_ours = np.concatenate([np.concatenate([w.ravel() for w in step]) for step in ours])
    flat_theirs = np.concatenate([np.concatenate([w.ravel() for w in step]) for step in theirs])
    compare(family, twin.label, flat_ours, flat_theirs)


def test_every_optimizer_has_a_reference_row():
    assert {t.ours["class_name"] for t in TWINS} == set(xn.optimizers.names())


# --------------------------------------------------------------------------- schedules


def _torch_rates(make_scheduler, steps: int, lr: float) -> list[float]:
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(steps):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


LR = torch.optim.lr_scheduler
SCHEDULE_TWINS = [
    (
        "ExponentialDecay",
        S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5),
        lambda o: LR.ExponentialLR(o, gamma=0.5 ** (1 / 10)),
        0.1,
    ),
    (
        "ExponentialDecay staircase",
        S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True),
        lambda o: LR.StepLR(o, step_size=10, gamma=0.5),
        0.1,
    ),
    (
        # Keras keeps values[i] while step <= boundaries[i]: torch's milestones are one later
        "PiecewiseConstantDecay",
        S.PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.025]),
        lambda o: LR.MultiStepLR(o, milestones=[11, 21], gamma=0.5),
        0.1,
    ),
    (
        "PolynomialDecay",
        S.PolynomialDecay(0.1, decay_steps=15, end_learning_rate=0.0, power=2.0),
        lambda o: LR.PolynomialLR(o, total_iters=15, power=2.0),
        0.1,
    ),
    (
        "CosineDecay",
        S.CosineDecay(0.1, decay_steps=20, alpha=0.1),
        lambda o: LR.CosineAnnealingLR(o, T_max=20, eta_min=0.01),
        0.1,
    ),
    (
        "CosineDecay warmup",
        S.CosineDecay(0.01, decay_steps=10, alpha=0.1, warmup_target=0.1, warmup_steps=5),
        lambda o: LR.SequentialLR(
            o,
            [
                LR.LinearLR(o, start_factor=0.1, end_factor=1.0, total_iters=5),
                LR.CosineAnnealingLR(o, T_max=10, eta_min=0.01),
            ],
            milestones=[5],
        ),
        0.1,
    ),
    (
        "CosineDecayRestarts",
        S.CosineDecayRestarts(0.1, first_decay_steps=5, t_mul=2.0, alpha=0.1),
        lambda o: LR.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01),
        0.1,
    ),
]


@pytest.mark.parametrize(
    "label,schedule,make,lr", SCHEDULE_TWINS, ids=[t[0] for t in SCHEDULE_TWINS]
)
def test_schedule(label, schedule, make, lr):
    steps = 16 if "warmup" in label else 21 if label == "CosineDecay" else 40
    theirs = _torch_rates(make, steps, lr)
    ours = [schedule(k) for k in range(steps)]
    compare("schedules", label, np.array(ours), np.array(theirs))


def test_every_schedule_with_a_torch_twin_has_a_row():
    no_twin = {"InverseTimeDecay"}  # torch has only LambdaLR, i.e. the formula itself
    assert {type(s).__name__ for _, s, _, _ in SCHEDULE_TWINS} | no_twin == set(S.names()) - {
        "Halving"  # registered by tests/test_schedules.py when it runs in the same session
    }
    assert math.isclose(S.InverseTimeDecay(1.0, 1, 1.0)(1), 0.5)
