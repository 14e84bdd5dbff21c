"""Losses against PyTorch: values and gradients w.r.t. y_pred, for the three reductions,
with and without sample weights.

PyTorch computes the per-sample losses (its ``reduction="none"`` functions, or
hand-written torch ops where it has no function); the Keras reduction is then
applied in torch: ``"sum_over_batch_size"`` = sum(w * loss) / number of
per-sample losses (valid ones, for ``ignore_class``), ``"sum"`` = sum(w * loss).

Mappings worth knowing:

* categorical ``label_smoothing`` s: Keras ``y (1 - s) + s / C`` is exactly
  ``F.cross_entropy(..., label_smoothing=s)``; binary smoothing
  (``y (1 - s) + s / 2``) has no torch argument, so the smoothed targets are
  passed to ``binary_cross_entropy``.
* ``huber(delta)`` is ``F.huber_loss(delta)`` and ``delta * F.smooth_l1_loss(beta=delta)``.
* ``multiclass_svm`` is ``C * F.multi_margin_loss(p=1, margin=1)`` (torch divides by C).
* Keras's regression losses average over the last axis: torch's elementwise
  ``reduction="none"`` values are averaged with ``.mean(-1)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import xpnet as xn
from xpnet import losses as L

from reference_utils import compare, torch_tensor

N, C = 8, 5


def _rng(seed=0):
    return np.random.default_rng(seed)


def _labels(r):
    return r.integers(0, C, N)


def _onehot(r):
    return np.eye(C)[_labels(r)]


def _soft(r):
    return r.dirichlet(np.ones(C), N)


def _logits(r, shape=(N, C)):
    return r.normal(0.0, 2.0, shape)


def _probs(r, shape=(N, C)):
    return r.uniform(0.05, 0.95, shape)


def _bits(r, shape=(N, C)):
    return r.integers(0, 2, shape).astype(np.float64)


@dataclasses.dataclass
class RefCase:
    """Our Loss (built from a registered name and options) and torch's per-sample twin."""

    name: str
    kwargs: dict
    make: Callable  # rng -> (y_true, y_pred) NumPy arrays
    torch_fn: Callable  # (y_true torch, y_pred torch) -> per-sample losses
    label: str = ""
    ignore_class: int | None = None

    @property
    def id(self) -> str:
        return self.name + (f"[{self.label}]" if self.label else "")


def _long(t):
    return t.long()


def _focal_binary(t, x, gamma=2.0, alpha=0.25, balance=False):
    p = torch.sigmoid(x)
    bce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = t * p + (1 - t) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if balance:
        out = out * (t * alpha + (1 - t) * (1 - alpha))
    return out.mean(-1)


def _focal_categorical(t, z, gamma=2.0, alpha=0.25):
    logp = F.log_softmax(z, -1)
    return (alpha * (1 - logp.exp()) ** gamma * -t * logp).sum(-1)


CASES = [
    RefCase("categorical_crossentropy", {"from_logits": True}, lambda r: (_soft(r), _logits(r)),
            lambda t, z: F.cross_entropy(z, t, reduction="none"), "from_logits, soft targets"),
    RefCase("categorical_crossentropy", {"from_logits": True, "label_smoothing": 0.1},
            lambda r: (_onehot(r), _logits(r)),
            lambda t, z: F.cross_entropy(z, t.argmax(-1), reduction="none", label_smoothing=0.1),
            "from_logits, label_smoothing = torch's"),
    RefCase("categorical_crossentropy", {}, lambda r: (_onehot(r), _probs(r)),
            lambda t, p: F.cross_entropy(torch.log(p), t, reduction="none"),
            "probabilities (normalized, as log_softmax(log p))"),
    RefCase("sparse_categorical_crossentropy", {"from_logits": True},
            lambda r: (_labels(r), _logits(r)),
            lambda y, z: F.cross_entropy(z, _long(y), reduction="none"), "from_logits"),
    RefCase("sparse_categorical_crossentropy", {}, lambda r: (_labels(r), _soft(r)),
            lambda y, p: F.cross_entropy(torch.log(p), _long(y), reduction="none"),
            "probabilities (normalized, as log_softmax(log p))"),
    RefCase("sparse_categorical_crossentropy", {"from_logits": True, "ignore_class": 0},
            lambda r: (_labels(r), _logits(r)),
            lambda y, z: F.cross_entropy(z, _long(y), reduction="none", ignore_index=0),
            "ignore_class = ignore_index", ignore_class=0),
    RefCase("binary_crossentropy", {}, lambda r: (_bits(r), _probs(r)),
            lambda t, p: F.binary_cross_entropy(p, t, reduction="none").mean(-1)),
    RefCase("binary_crossentropy", {"from_logits": True}, lambda r: (_bits(r), _logits(r)),
            lambda t, x: F.binary_cross_entropy_with_logits(x, t, reduction="none").mean(-1),
            "with_logits"),
    RefCase("binary_crossentropy", {"from_logits": True, "label_smoothing": 0.2},
            lambda r: (_bits(r), _logits(r)),
            lambda t, x: F.binary_cross_entropy_with_logits(x, t * 0.8 + 0.1, reduction="none")
            .mean(-1), "with_logits, smoothed targets"),
    RefCase("binary_focal_crossentropy", {"from_logits": True},
            lambda r: (_bits(r), _logits(r)), _focal_binary, "from_logits"),
    RefCase("binary_focal_crossentropy",
            {"from_logits": True, "apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0},
            lambda r: (_bits(r), _logits(r)),
            lambda t, x: _focal_binary(t, x, 3.0, 0.4, True), "balanced, gamma 3"),
    RefCase("categorical_focal_crossentropy", {"from_logits": True},
            lambda r: (_onehot(r), _logits(r)), _focal_categorical, "from_logits"),
    RefCase("mean_squared_error", {}, lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C))),
            lambda t, p: F.mse_loss(p, t, reduction="none").mean(-1)),
    RefCase("mean_absolute_error", {}, lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C))),
            lambda t, p: F.l1_loss(p, t, reduction="none").mean(-1), "l1_loss"),
    RefCase("mean_absolute_percentage_error", {},
            lambda r: (r.uniform(0.5, 2.0, (N, C)), r.normal(size=(N, C))),
            lambda t, p: 100 * ((t - p) / t).abs().mean(-1)),
    RefCase("mean_squared_logarithmic_error", {},
            lambda r: (r.uniform(0, 3, (N, C)), r.uniform(0.1, 3, (N, C))),
            lambda t, p: ((torch.log1p(p) - torch.log1p(t)) ** 2).mean(-1)),
    RefCase("huber", {"delta": 1.5}, lambda r: (r.normal(size=(N, C)), 2 * r.normal(size=(N, C))),
            lambda t, p: F.huber_loss(p, t, reduction="none", delta=1.5).mean(-1), "huber_loss"),
    RefCase("huber", {"delta": 2.0}, lambda r: (r.normal(size=(N, C)), 3 * r.normal(size=(N, C))),
            lambda t, p: 2.0 * F.smooth_l1_loss(p, t, reduction="none", beta=2.0).mean(-1),
            "delta * smooth_l1_loss(beta=delta)"),
    RefCase("log_cosh", {}, lambda r: (r.normal(size=(N, C)), 2 * r.normal(size=(N, C))),
            lambda t, p: torch.log(torch.cosh(p - t)).mean(-1)),
    RefCase("kl_divergence", {}, lambda r: (_soft(r), _soft(r)),
            lambda t, p: F.kl_div(torch.log(p), t, reduction="none").sum(-1), "kl_div"),
    RefCase("poisson", {}, lambda r: (r.poisson(2.0, (N, C)).astype(float), _probs(r) * 4),
            lambda t, p: F.poisson_nll_loss(p, t, log_input=False, eps=1e-7, reduction="none")
            .mean(-1), "poisson_nll_loss"),
    RefCase("cosine_similarity", {}, lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C))),
            lambda t, p: -F.cosine_similarity(t, p, dim=-1)),
    RefCase("hinge", {}, lambda r: (2 * _bits(r) - 1, _logits(r)),
            lambda t, p: torch.clamp(1 - t * p, min=0).mean(-1)),
    RefCase("squared_hinge", {}, lambda r: (_bits(r), _logits(r)),
            lambda t, p: (torch.clamp(1 - (2 * t - 1) * p, min=0) ** 2).mean(-1), "0/1 labels"),
    RefCase("categorical_hinge", {}, lambda r: (_onehot(r), _logits(r)),
            lambda t, p: torch.clamp(((1 - t) * p).amax(-1) - (t * p).sum(-1) + 1, min=0)),
    RefCase("multiclass_svm", {}, lambda r: (_labels(r), _logits(r)),
            lambda y, s: C * F.multi_margin_loss(s, _long(y), p=1, margin=1.0, reduction="none"),
            "C * multi_margin_loss"),
    # no torch builtin: the formulas in torch ops, per sample (axis=-1); eps as Keras's 1e-7
    RefCase("dice", {"axis": -1}, lambda r: (_bits(r), _probs(r)),
            lambda t, p: 1 - 2 * (t * p).sum(-1) / (t.sum(-1) + p.sum(-1) + 1e-7),
            "per sample, formula in torch"),
    RefCase("tversky", {"alpha": 0.3, "beta": 0.7, "axis": -1},
            lambda r: (_bits(r), _probs(r)),
            lambda t, p: 1 - (t * p).sum(-1) / ((t * p).sum(-1) + 0.3 * ((1 - p) * t).sum(-1)
                                                 + 0.7 * (p * (1 - t)).sum(-1) + 1e-7),
            "per sample, formula in torch"),
]  # fmt: skip

REDUCTIONS = ["none", "sum", "sum_over_batch_size"]


def _torch_reduce(per, weights, reduction, count):
    if weights is not None:
        per = per * weights
    if reduction == "none":
        return per
    total = per.sum()
    return total if reduction == "sum" else total / count


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_loss_matches_torch(case, reduction, weighted):
    y_true, y_pred = case.make(_rng())
    y_pred = y_pred.astype(np.float32)
    weights = _rng(1).uniform(0.1, 2.0, N).astype(np.float32) if weighted else None
    cotangent = _rng(2).normal(size=N).astype(np.float32)

    loss = type(L.get_object(case.name))(**case.kwargs, reduction=reduction)
    pred = xn.Tensor(y_pred, requires_grad=True)
    ours = loss(y_true, pred, sample_weight=weights)
    (ours * xn.Tensor(cotangent) if reduction == "none" else ours).sum().backward()

    t_true = torch_tensor(y_true.astype(np.float32))
    t_pred = torch_tensor(y_pred, requires_grad=True)
    count = N if case.ignore_class is None else int((y_true != case.ignore_class).sum())
    w = None if weights is None else torch_tensor(weights)
    theirs = _torch_reduce(case.torch_fn(t_true, t_pred), w, reduction, count)
    (theirs * torch.tensor(cotangent) if reduction == "none" else theirs).sum().backward()

    label = f"{case.id} {reduction}{' weighted' if weighted else ''}"
    compare("losses", label, ours, theirs)
    compare("losses", f"{label} d/dy_pred", pred.grad, t_pred.grad)


def test_torch_native_reductions_agree():
    # torch's own 'mean'/'sum' equal Keras's reductions where both are per-sample means
    r = _rng(3)
    z, y = _logits(r).astype(np.float32), _labels(r)
    ours = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)(y, xn.Tensor(z))
    theirs = F.cross_entropy(torch_tensor(z), torch_tensor(y), ignore_index=2)
    compare("losses", "sparse ignore_class vs cross_entropy(ignore_index) mean", ours, theirs)
    t, p = r.normal(size=(N, C)).astype(np.float32), r.normal(size=(N, C)).astype(np.float32)
    ours = L.MeanSquaredError()(t, xn.Tensor(p))
    compare("losses", "mse vs mse_loss mean", ours, F.mse_loss(torch_tensor(p), torch_tensor(t)))
    ours = L.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(
        np.eye(C)[y], xn.Tensor(z)
    )
    theirs = F.cross_entropy(torch_tensor(z), torch_tensor(y), label_smoothing=0.2)
    compare("losses", "cce label_smoothing vs cross_entropy mean", ours, theirs)


def test_every_registered_loss_is_in_the_table():
    missing = sorted(set(L.names()) - {case.name for case in CASES})
    assert not missing, f"losses without a PyTorch reference row: {missing}"
