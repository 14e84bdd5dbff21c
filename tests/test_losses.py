"""Losses: one table row per configuration (per-sample values vs NumPy float64, gradients
w.r.t. y_pred by gradcheck, every reduction with and without sample weights), lookup and
serialization, stability at extreme logits, and errors for bad input."""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable

import numpy as np
import pytest

import xpnet as xn
from xpnet import losses as L

from helpers import OpCase, assert_close, assert_on_active_backend

N, C = 6, 4


# =========================================================================== NumPy references


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _bce_terms(t, p, from_logits):
    if from_logits:
        return np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def ref_bce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    return _bce_terms(t, p, from_logits).mean(axis)


def ref_binary_focal(
    t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0
):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    bce = _bce_terms(t, p, from_logits)
    q = _sigmoid(p) if from_logits else p
    p_t = t * q + (1 - t) * (1 - q)
    out = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        out = out * (t * alpha + (1 - t) * (1 - alpha))
    return out.mean(-1)


def _log_probs(p, from_logits, axis):
    return _log_softmax(p, axis) if from_logits else np.log(p / p.sum(axis, keepdims=True))


def ref_cce(t, p, from_logits=False, label_smoothing=0.0, axis=-1):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[axis]
    return -(t * _log_probs(p, from_logits, axis)).sum(axis)


def ref_categorical_focal(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    logp = _log_probs(p, from_logits, -1)
    return (np.asarray(alpha) * (1 - np.exp(logp)) ** gamma * -t * logp).sum(-1)


def ref_sparse_cce(y, p, from_logits=False, ignore_class=None, axis=-1):
    logp = np.moveaxis(_log_probs(p, from_logits, axis), axis, -1)
    y = np.asarray(y).reshape(logp.shape[:-1])
    valid = np.ones(y.shape, bool) if ignore_class is None else y != ignore_class
    picked = np.take_along_axis(logp, np.where(valid, y, 0)[..., None], -1)[..., 0]
    return np.where(valid, -picked, 0.0)


def ref_multiclass_svm(y, s, margin=1.0):
    correct = np.take_along_axis(s, y[:, None], -1)
    m = np.maximum(s - correct + margin, 0.0)
    m[np.arange(len(y)), y] = 0.0
    return m.sum(-1)


def _signed(t):
    return 2 * t - 1 if np.isin(t, (0, 1)).all() else t


def ref_huber(t, p, delta=1.0):
    a = np.abs(p - t)
    return np.where(a <= delta, 0.5 * a**2, delta * a - 0.5 * delta**2).mean(-1)


def ref_categorical_hinge(t, p):
    return np.maximum((p * (1 - t)).max(-1) - (t * p).sum(-1) + 1, 0)


def ref_cosine(t, p, axis=-1):
    return -(
        t
        / np.linalg.norm(t, axis=axis, keepdims=True)
        * p
        / np.linalg.norm(p, axis=axis, keepdims=True)
    ).sum(axis)


def ref_kld(t, p):
    t, p = np.clip(t, 1e-7, 1), np.clip(p, 1e-7, 1)
    return (t * np.log(t / p)).sum(-1)


# =========================================================================== inputs


def probs(r, shape=(N, C)):
    return r.uniform(0.05, 0.95, shape)


def logits(r, shape=(N, C)):
    return r.normal(0.0, 2.0, shape)


def bits(r, shape=(N, C)):
    return r.integers(0, 2, shape)  # int64 labels: they must not promote float32


def onehot(r, n=N, c=C):
    return np.eye(c)[r.integers(0, c, n)]


def soft(r, n=N, c=C):
    return r.dirichlet(np.ones(c), n)


def labels(r, n=N, c=C):
    return r.integers(0, c, n)


@dataclasses.dataclass
class LossCase:
    """A loss function with options, its NumPy float64 reference and an input maker."""

    name: str
    ref: Callable
    make: Callable
    kwargs: dict = dataclasses.field(default_factory=dict)
    label: str = ""

    @property
    def fn(self) -> Callable:
        return getattr(L, self.name)

    @property
    def id(self) -> str:
        return self.name + (f"[{self.label}]" if self.label else "")

    def inputs(self, seed: int = 0):
        y_true, y_pred = self.make(np.random.default_rng(seed))
        return np.asarray(y_true), np.asarray(y_pred, dtype=np.float64)


def _case(name, ref, make, label="", **kwargs):
    return LossCase(name, ref, make, kwargs, label)


def ref_dice(t, p, axis=None):
    axis = tuple(axis) if axis is not None else None
    return 1 - 2 * (t * p).sum(axis) / (t.sum(axis) + p.sum(axis) + 1e-7)


def ref_tversky(t, p, alpha=0.5, beta=0.5, axis=None):
    axis = tuple(axis) if axis is not None else None
    tp = (t * p).sum(axis)
    return 1 - tp / (tp + alpha * ((1 - p) * t).sum(axis) + beta * (p * (1 - t)).sum(axis) + 1e-7)


LOSS_CASES = [
    _case("binary_crossentropy", ref_bce, lambda r: (bits(r), probs(r))),
    _case("binary_crossentropy", ref_bce, lambda r: (bits(r), logits(r)), "from_logits",
          from_logits=True),
    _case("binary_crossentropy", lambda t, p, **kw: ref_bce(t, p[:, None], **kw),
          lambda r: (bits(r, (N, 1)), probs(r, (N,))),
          "rank matching, label_smoothing", label_smoothing=0.2),
    _case("binary_focal_crossentropy", ref_binary_focal, lambda r: (bits(r), probs(r))),
    _case("binary_focal_crossentropy", ref_binary_focal, lambda r: (bits(r), logits(r)),
          "from_logits, balancing, smoothing", from_logits=True, apply_class_balancing=True,
          alpha=0.4, gamma=3.0, label_smoothing=0.1),
    _case("categorical_crossentropy", ref_cce,
          lambda r: (onehot(r), r.uniform(0.1, 2.0, (N, C))), "unnormalized probabilities"),
    _case("categorical_crossentropy", ref_cce, lambda r: (soft(r), logits(r)),
          "from_logits, soft targets", from_logits=True),
    _case("categorical_crossentropy", ref_cce, lambda r: (onehot(r), logits(r)),
          "from_logits, label_smoothing", from_logits=True, label_smoothing=0.1),
    _case("categorical_crossentropy", ref_cce,
          lambda r: (np.moveaxis(onehot(r, 6, 3).reshape(2, 3, 3), 1, 2), probs(r, (2, 3, 3))),
          "axis 1, smoothing", axis=1, label_smoothing=0.3),
    _case("categorical_focal_crossentropy", ref_categorical_focal,
          lambda r: (onehot(r), soft(r))),
    _case("categorical_focal_crossentropy", ref_categorical_focal,
          lambda r: (onehot(r), logits(r)), "from_logits, per-class alpha, smoothing",
          from_logits=True, alpha=[0.1, 0.2, 0.3, 0.4], gamma=1.5, label_smoothing=0.1),
    _case("sparse_categorical_crossentropy", ref_sparse_cce, lambda r: (labels(r), soft(r))),
    _case("sparse_categorical_crossentropy", ref_sparse_cce, lambda r: (labels(r), logits(r)),
          "from_logits", from_logits=True),
    _case("sparse_categorical_crossentropy", ref_sparse_cce,
          lambda r: (labels(r)[:, None], logits(r)), "(batch, 1) labels", from_logits=True),
    _case("sparse_categorical_crossentropy", ref_sparse_cce,
          lambda r: (labels(r, 6, 3).reshape(2, 3), logits(r, (2, 3, 3))), "3-D, axis 1",
          from_logits=True, axis=1),
    _case("sparse_categorical_crossentropy", ref_sparse_cce,
          lambda r: (np.array([0, 1, 3, 3, 2, 1]), logits(r)), "ignore_class", from_logits=True,
          ignore_class=3),
    _case("mean_squared_error", lambda t, p: ((t - p) ** 2).mean(-1),
          lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)))),
    _case("mean_absolute_error", lambda t, p: np.abs(t - p).mean(-1),
          lambda r: (r.normal(size=(2, N, C)), r.normal(size=(2, N, C))), "3-D"),
    _case("mean_absolute_percentage_error", lambda t, p: 100 * np.abs((t - p) / t).mean(-1),
          lambda r: (r.uniform(0.5, 2.0, (N, C)) * r.choice([-1, 1], (N, C)),
                     r.normal(size=(N, C)))),
    _case("mean_squared_logarithmic_error",
          lambda t, p: ((np.log1p(p) - np.log1p(t)) ** 2).mean(-1),
          lambda r: (r.uniform(0.0, 3.0, (N, C)), r.uniform(0.1, 3.0, (N, C)))),
    _case("huber", ref_huber, lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)))),
    _case("huber", ref_huber, lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C))),
          "delta 0.5", delta=0.5),
    _case("log_cosh", lambda t, p: np.log(np.cosh(p - t)).mean(-1),
          lambda r: (r.normal(size=(N, C)), 3 * r.normal(size=(N, C)))),
    _case("hinge", lambda t, p: np.maximum(1 - _signed(t) * p, 0).mean(-1),
          lambda r: (bits(r), logits(r)), "0/1 labels"),
    _case("hinge", lambda t, p: np.maximum(1 - t * p, 0).mean(-1),
          lambda r: (2 * bits(r) - 1, logits(r)), "-1/1 labels"),
    _case("squared_hinge", lambda t, p: (np.maximum(1 - _signed(t) * p, 0) ** 2).mean(-1),
          lambda r: (bits(r), logits(r))),
    _case("categorical_hinge", ref_categorical_hinge, lambda r: (onehot(r), logits(r))),
    _case("multiclass_svm", ref_multiclass_svm, lambda r: (labels(r), logits(r))),
    _case("multiclass_svm", ref_multiclass_svm, lambda r: (labels(r), logits(r)), "margin 0.5",
          margin=0.5),
    _case("kl_divergence", ref_kld, lambda r: (soft(r), soft(r))),
    _case("poisson", lambda t, p: (p - t * np.log(p + 1e-7)).mean(-1),
          lambda r: (r.poisson(2.0, (N, C)), r.uniform(0.2, 4.0, (N, C)))),
    _case("cosine_similarity", ref_cosine,
          lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)))),
    _case("cosine_similarity", ref_cosine,
          lambda r: (r.normal(size=(2, 3, C)), r.normal(size=(2, 3, C))), "axis 1", axis=1),
    _case("dice", ref_dice, lambda r: (bits(r), probs(r)), "per sample", axis=(1,)),
    _case("tversky", ref_tversky, lambda r: (bits(r, (N, 2, C)), probs(r, (N, 2, C))),
          "per sample, alpha 0.3", alpha=0.3, beta=0.7, axis=(1, 2)),
]  # fmt: skip


def _float32(a):
    return a.astype(np.float32).astype(np.float64) if a.dtype.kind == "f" else a


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.id)
def test_per_sample_values_match_numpy(case: LossCase):
    y_true, y_pred = case.inputs()
    pred = xn.Tensor(y_pred, dtype="float32")
    out = case.fn(y_true, pred, **case.kwargs)  # y_true stays a NumPy array: moved to pred's
    assert_on_active_backend(out)
    assert out.dtype == xn.backend.dtype("float32", out.xp)  # int labels never promote
    expected = case.ref(_float32(y_true), _float32(y_pred), **case.kwargs)
    assert out.shape == expected.shape
    assert_close(out, expected, dtype="float32")


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.id)
def test_gradients_wrt_y_pred(case: LossCase):
    y_true, y_pred = case.inputs()
    assert xn.gradcheck(lambda p: case.fn(y_true, p, **case.kwargs), y_pred).passed


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.id)
def test_targets_on_the_device_give_the_same_values(case: LossCase):
    # device targets take the device path of the checks (and the cast of float labels)
    y_true, y_pred = case.inputs()
    pred = xn.Tensor(y_pred, dtype="float32")
    on_host = case.fn(y_true, pred, **case.kwargs)
    on_device = case.fn(xn.backend.asarray(y_true), pred, **case.kwargs)
    assert_on_active_backend(on_device)
    assert_close(on_device, xn.to_numpy(on_host), dtype="float32")


REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight"]


def _reduce(values, weights, reduction):
    if weights is not None:
        values = values * weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim))
    if reduction == "none":
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        return (
            values.sum()
            / np.broadcast_to(
                weights.reshape(weights.shape + (1,) * (values.ndim - weights.ndim)), values.shape
            ).sum()
        )
    return values.sum() / values.size


@pytest.mark.parametrize("case", LOSS_CASES, ids=lambda c: c.id)
def test_loss_class_reductions_and_sample_weights(case: LossCase):
    y_true, y_pred = case.inputs()
    cls = type(L.get_object(case.name))
    per_sample = case.ref(_float32(y_true), _float32(y_pred), **case.kwargs)
    mask = None
    if case.kwargs.get("ignore_class") is not None:
        mask = (y_true != case.kwargs["ignore_class"]).astype(np.float64)
    weights = np.random.default_rng(1).uniform(0.0, 2.0, per_sample.shape[:1])
    for reduction in REDUCTIONS:
        loss = cls(**case.kwargs, reduction=reduction)
        for w in (None, weights):
            out = loss(y_true, xn.Tensor(y_pred, dtype="float32"), sample_weight=w)
            ww = w if mask is None else (mask if w is None else w * mask)
            expected = _reduce(per_sample, ww, reduction)
            if mask is not None and reduction in ("sum_over_batch_size", "mean"):
                expected = expected * mask.size / mask.sum()  # ignored entries are not counted
            assert out.shape == np.shape(expected), (reduction, w is not None)
            assert_close(out, expected, dtype="float32")


def test_every_registered_loss_has_a_row():
    covered = {case.name for case in LOSS_CASES}
    missing = sorted(set(L.names()) - covered)
    assert not missing, f"losses without a LOSS_CASES row: {missing}"


# =========================================================================== fused primitives

_LABELS = np.array([2, 0, 3, 3, 1])

OP_CASES = [
    OpCase(
        "losses.categorical_crossentropy",
        lambda z, t: L.categorical_crossentropy(t, z, from_logits=True),
        lambda z, t: -(t * _log_softmax(z)).sum(-1),
        make=lambda r: [r.normal(0, 2, (5, 4)), r.uniform(0.0, 1.0, (5, 4))],
        label="SoftmaxCrossEntropy, unnormalized targets, both gradients",
    ),
    OpCase(
        "losses.sparse_categorical_crossentropy",
        lambda z: L.sparse_categorical_crossentropy(_LABELS, z, from_logits=True),
        lambda z: -np.take_along_axis(_log_softmax(z), _LABELS[:, None], -1)[:, 0],
        make=lambda r: [r.normal(0, 2, (5, 4))],
        label="SparseSoftmaxCrossEntropy",
    ),
    OpCase(
        "losses.binary_crossentropy",
        lambda x, t: L.binary_crossentropy(t, x, from_logits=True),
        lambda x, t: _bce_terms(t, x, True).mean(-1),
        make=lambda r: [r.normal(0, 3, (5, 3)), r.uniform(0.0, 1.0, (5, 3))],
        label="SigmoidCrossEntropy, both gradients",
    ),
]


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_fused_forward_matches_numpy(case: OpCase):
    raw = case.inputs()
    out = case.fn(*[xn.Tensor(a, dtype="float32") for a in raw])
    assert_on_active_backend(out)
    assert_close(out, case.ref(*[_float32(a) for a in raw]), dtype="float32")


@pytest.mark.parametrize("case", OP_CASES, ids=lambda c: c.id)
def test_fused_backward_matches_finite_differences(case: OpCase):
    result = xn.gradcheck(case.fn, *case.inputs())
    assert result.passed and all(rep.checked > 0 for rep in result.reports)


def test_sparse_backward_is_softmax_minus_onehot():
    z = xn.Tensor(np.random.default_rng(0).normal(size=(5, 4)), dtype="float32", requires_grad=True)
    L.sparse_categorical_crossentropy(_LABELS, z, from_logits=True).sum().backward()
    e = np.exp(_log_softmax(xn.to_numpy(z).astype(np.float64)))
    assert_close(z.grad, e - np.eye(4)[_LABELS], dtype="float32")


def test_sparse_backward_twice_with_retain_graph():
    # backward turns forward's exp buffer into the gradient; a second pass recomputes it
    z = xn.Tensor(np.random.default_rng(2).normal(size=(5, 4)), dtype="float32", requires_grad=True)
    loss = xn.losses.SparseCategoricalCrossentropy(from_logits=True)(_LABELS, z)
    loss.backward(retain_graph=True)
    first = xn.to_numpy(z.grad).copy()
    loss.backward()
    assert_close(z.grad, 2 * first, dtype="float32")
    e = np.exp(_log_softmax(xn.to_numpy(z).astype(np.float64)))
    assert_close(first, (e - np.eye(4)[_LABELS]) / len(_LABELS), dtype="float32")


def test_sparse_loss_class_mean_is_one_node_and_matches_the_general_path():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(6, 4))
    labels = rng.integers(0, 4, 6)
    loss = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    z1 = xn.Tensor(data, dtype="float32", requires_grad=True)
    fast = loss(labels, z1)
    assert isinstance(fast._ctx, xn.ops.losses.SparseSoftmaxCrossEntropy)
    fast.backward()
    z2 = xn.Tensor(data, dtype="float32", requires_grad=True)
    general = L.reduce_weighted(L.sparse_categorical_crossentropy(labels, z2, from_logits=True))
    general.backward()
    assert_close(fast, xn.to_numpy(general), dtype="float32")
    assert_close(z1.grad, xn.to_numpy(z2.grad), dtype="float32")
    e = np.exp(_log_softmax(data))
    assert_close(z1.grad, (e - np.eye(4)[labels]) / 6, dtype="float32")
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 4\)"):
        loss([0, 1, 2, 3, 4, 0], z1)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8"])
def test_sparse_labels_range_checked_for_every_integer_dtype(dtype):
    # the NumPy fast path checks the range with one unsigned max: a negative label
    # (huge when read unsigned) and a label == n_classes must both be refused
    loss = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    z = xn.Tensor(np.zeros((4, 3)), dtype="float32", requires_grad=True)
    ok = loss(np.array([0, 1, 2, 2], dtype=dtype), z)
    np.testing.assert_allclose(xn.to_numpy(ok), np.log(3.0), rtol=1e-6)
    bad = [[0, 1, 3, 2]] + ([[0, -1, 2, 2]] if dtype != "uint8" else [])
    for labels in bad:
        with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
            loss(np.array(labels, dtype=dtype), z)
    # a strided view of labels takes the same path
    strided = np.array([0, 9, 1, 9, 2, 9, 2, 9], dtype=dtype)[::2]
    np.testing.assert_allclose(xn.to_numpy(loss(strided, z)), np.log(3.0), rtol=1e-6)
    # narrow labels are widened: 100 rows of 3 classes index past int8's range
    many = np.random.default_rng(0).normal(size=(100, 3))
    labels = np.arange(100) % 3
    want = xn.to_numpy(loss(labels, xn.Tensor(many, dtype="float32")))
    got = loss(labels.astype(dtype), xn.Tensor(many, dtype="float32"))
    np.testing.assert_allclose(xn.to_numpy(got), want, rtol=1e-6)


def test_sparse_fused_gradient_from_column_major_logits():
    # NumPy subtracts 1 at each row's label through a flat view of the softmax; logits
    # in column-major order give a column-major softmax, which takes the one-hot path
    rng = np.random.default_rng(3)
    data = rng.normal(size=(5, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2])
    expected = (np.exp(_log_softmax(data.astype(np.float64))) - np.eye(4)[labels]) / 5
    loss = xn.losses.SparseCategoricalCrossentropy(from_logits=True)
    for arr in (data, np.asfortranarray(data)):
        z = xn.Tensor(xn.backend.asarray(arr), requires_grad=True)
        loss(labels, z).backward()
        assert_close(z.grad, expected, dtype="float32")


def test_sparse_backward_needs_no_scatter_add(monkeypatch):
    # one label per row: the gradient is a (rows, classes) comparison. The standard-calls
    # scatter-add (array_api_strict's path) builds a (rows * classes, rows) one-hot,
    # which made a character model's loss (3072 rows, 45 classes) take ~1 s per step.
    def no_scatter(*args, **kwargs):
        raise AssertionError("sparse crossentropy's backward called backend.scatter_add")

    monkeypatch.setattr(xn.backend, "scatter_add", no_scatter)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 5, size=(3, 7))  # a sequence model's (batch, steps) labels
    z = xn.Tensor(rng.normal(size=(3, 7, 5)), dtype="float32", requires_grad=True)
    L.sparse_categorical_crossentropy(labels, z, from_logits=True).sum().backward()
    e = np.exp(_log_softmax(xn.to_numpy(z).astype(np.float64)))
    assert_close(z.grad, e - np.eye(5)[labels], dtype="float32")


# =========================================================================== stability


def test_crossentropies_from_extreme_logits_are_finite_and_exact():
    # pytest turns NumPy RuntimeWarnings (overflow, invalid) into errors: none may occur
    z = xn.Tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype="float32", requires_grad=True)
    values = [
        L.categorical_crossentropy([[0, 1, 0], [0, 0, 1]], z, from_logits=True),
        L.sparse_categorical_crossentropy([1, 2], z, from_logits=True),
        L.categorical_focal_crossentropy([[0, 1, 0], [0, 0, 1]], z, from_logits=True),
        L.binary_crossentropy([[0, 1, 1], [1, 1, 0]], z, from_logits=True),
        L.binary_focal_crossentropy([[0, 1, 1], [1, 1, 0]], z, from_logits=True),
    ]
    np.testing.assert_allclose(xn.to_numpy(values[0]), [2e4, 0.0])
    np.testing.assert_allclose(xn.to_numpy(values[1]), [2e4, 0.0])
    np.testing.assert_allclose(xn.to_numpy(values[3]), [(2e4 + np.log(2)) / 3, 1e4], rtol=1e-6)
    for v in values:
        z.grad = None
        v.sum().backward()
        assert np.isfinite(xn.to_numpy(v)).all()
        assert np.isfinite(xn.to_numpy(z.grad)).all()


def test_probability_losses_clip_like_keras():
    # from_logits=False: p is clipped to [1e-7, 1 - 1e-7], so p = 0 costs -log(1e-7)
    out = L.binary_crossentropy([[1.0]], xn.Tensor([[0.0]]))
    assert out.item() == pytest.approx(-np.log(1e-7), rel=1e-5)
    out = L.categorical_crossentropy([[0.0, 1.0]], xn.Tensor([[1.0, 0.0]]))
    assert out.item() == pytest.approx(-np.log(1e-7), rel=1e-5)
    # and probabilities are normalized first (Keras 3): [2, 2] is [0.5, 0.5]
    out = L.categorical_crossentropy([[0.0, 1.0]], xn.Tensor([[2.0, 2.0]]))
    assert out.item() == pytest.approx(np.log(2.0), rel=1e-6)


# =========================================================================== Keras's examples


def test_keras_documented_values():
    y_true, y_pred = np.array([[0, 1], [0, 0]]), xn.Tensor([[-18.6, 0.51], [2.94, -12.8]])
    bce = L.BinaryCrossentropy(from_logits=True)
    assert bce(y_true, y_pred).item() == pytest.approx(0.8654, abs=1e-4)
    assert bce(y_true, y_pred, sample_weight=[0.8, 0.2]).item() == pytest.approx(0.243, abs=1e-3)
    bce_sum = L.BinaryCrossentropy(from_logits=True, reduction="sum")
    assert bce_sum(y_true, y_pred).item() == pytest.approx(1.730, abs=1e-3)
    none = L.BinaryCrossentropy(from_logits=True, reduction=None)(y_true, y_pred)
    np.testing.assert_allclose(xn.to_numpy(none), [0.235, 1.496], atol=1e-3)
    focal = L.BinaryFocalCrossentropy(gamma=2, from_logits=True)
    assert focal([0, 1, 0, 0], xn.Tensor([-18.6, 0.51, 2.94, -12.8])).item() == pytest.approx(
        0.691, abs=1e-3
    )
    balanced = L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3, from_logits=True)
    assert balanced(y_true, y_pred).item() == pytest.approx(0.482, abs=1e-3)
    cce = L.CategoricalCrossentropy(reduction="sum")
    probs_ = xn.Tensor([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    assert cce([[0, 1, 0], [0, 0, 1]], probs_).item() == pytest.approx(2.354, abs=1e-3)
    out = L.categorical_focal_crossentropy(
        [[0, 1, 0], [0, 0, 1]], xn.Tensor([[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]])
    )
    np.testing.assert_allclose(xn.to_numpy(out), [2.63401289e-04, 6.75912094e-01], rtol=1e-4)
    out = L.huber([[0, 1], [0, 0]], xn.Tensor([[0.6, 0.4], [0.4, 0.6]]))
    assert float(xn.to_numpy(out).mean()) == pytest.approx(0.155, abs=1e-3)
    out = L.log_cosh([[0.0, 1.0], [0.0, 0.0]], xn.Tensor([[1.0, 1.0], [0.0, 0.0]]))
    assert float(xn.to_numpy(out).mean()) == pytest.approx(0.108, abs=1e-3)
    out = L.cosine_similarity(
        [[0.0, 1.0], [1.0, 1.0], [1.0, 1.0]], xn.Tensor([[1.0, 0.0], [1.0, 1.0], [-1.0, -1.0]])
    )
    np.testing.assert_allclose(xn.to_numpy(out), [0.0, -1.0, 1.0], atol=1e-6)


def test_course_notes_svm_example():
    scores = xn.Tensor([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    per = L.multiclass_svm(np.array([0, 1, 2]), scores)
    np.testing.assert_allclose(xn.to_numpy(per), [2.9, 0.0, 12.9], rtol=1e-6)
    assert L.MulticlassSVM()([0, 1, 2], scores).item() == pytest.approx(15.8 / 3, rel=1e-6)


def test_ignore_class_is_left_out_of_the_average():
    z = xn.Tensor(np.random.default_rng(0).normal(size=(4, 3)))
    y = np.array([0, -1, 2, -1])
    loss = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(y, z).item()
    per = ref_sparse_cce(np.array([0, 2]), xn.to_numpy(z)[[0, 2]].astype(np.float64), True)
    assert loss == pytest.approx(per.mean(), rel=1e-5)


# =========================================================================== inputs and devices


def test_targets_of_every_kind_are_accepted():
    pred = xn.Tensor([[0.2, 0.8], [0.6, 0.4]], dtype="float32")
    expected = L.binary_crossentropy(xn.Tensor([[0.0, 1.0], [1.0, 0.0]]), pred).numpy()
    for y in ([[0, 1], [1, 0]], np.array([[0, 1], [1, 0]], np.uint8), np.array([[0.0, 1], [1, 0]])):
        out = L.binary_crossentropy(y, pred)
        assert out.dtype == pred.dtype
        np.testing.assert_allclose(out.numpy(), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in ([1, 0], np.array([1, 0], np.int32), np.array([[1.0], [0.0]], np.float32)):
            out = L.sparse_categorical_crossentropy(y, pred)
            np.testing.assert_allclose(out.numpy(), -np.log([0.8, 0.6]), rtol=1e-6)


def test_labels_from_another_backend_are_moved():
    pred = xn.Tensor([[0.2, 0.8]], dtype="float32")
    with xn.use_backend("numpy"):
        y = xn.Tensor([1]).data  # a NumPy array, whatever backend is under test
    out = L.sparse_categorical_crossentropy(y, pred)
    assert_on_active_backend(out)
    assert out.item() == pytest.approx(-np.log(0.8), rel=1e-6)


# =========================================================================== lookup


def test_get_names_aliases_and_passthrough():
    for name, cls in [
        ("categorical_crossentropy", L.CategoricalCrossentropy),
        ("CategoricalCrossentropy", L.CategoricalCrossentropy),
        ("mse", L.MeanSquaredError),
        ("MSE", L.MeanSquaredError),
        ("mae", L.MeanAbsoluteError),
        ("mape", L.MeanAbsolutePercentageError),
        ("msle", L.MeanSquaredLogarithmicError),
        ("kld", L.KLDivergence),
        ("kullback_leibler_divergence", L.KLDivergence),
        ("logcosh", L.LogCosh),
        ("huber_loss", L.Huber),
        ("sparse_categorical_crossentropy", L.SparseCategoricalCrossentropy),
        ("multiclass_svm", L.MulticlassSVM),
        ("MulticlassSVM", L.MulticlassSVM),
    ]:
        assert type(L.get_object(name)) is cls, name
        # keras.losses.get: a class name gives an instance, a function name or alias the
        # per-sample function (Keras 3.15: get("mse") is mean_squared_error)
        got = L.get(name)
        if name == cls.__name__:
            assert type(got) is cls, name
        else:
            assert got is L.functions._FUNCTIONS[xn._registry.snake_case(cls.__name__)], name
    assert L.get("mse") is L.mean_squared_error
    assert type(L.get("MeanSquaredError")) is L.MeanSquaredError
    loss = L.Huber(delta=2.0)
    assert L.get(loss) is loss and L.get(None) is None
    assert L.get(L.mean_squared_error) is L.mean_squared_error
    config = {"class_name": "MeanSquaredError", "config": {"reduction": "sum"}}
    assert L.get(config).reduction == "sum"
    with pytest.raises(ValueError, match=r"Unknown loss 'msee'.*mean_squared_error"):
        L.get("msee")


@pytest.mark.parametrize("name", sorted(L.names()))
def test_serialize_round_trip(name):
    loss = L.get_object(name)
    config = L.serialize(loss)
    json.dumps(config)
    clone = L.deserialize(json.loads(json.dumps(config)))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()


def test_serialize_options_and_functions():
    loss = L.CategoricalFocalCrossentropy(alpha=[0.2, 0.8], gamma=1.0, from_logits=True)
    clone = L.deserialize(L.serialize(loss))
    assert clone.alpha == [0.2, 0.8] and clone.gamma == 1.0 and clone.from_logits
    assert L.serialize(L.kl_divergence) == "kl_divergence"
    wrapped = L.LossFunctionWrapper(L.huber, delta=3.0, reduction="sum")
    again = L.LossFunctionWrapper.from_config(wrapped.get_config())
    assert again.fn is L.huber and again.delta == 3.0 and again.reduction == "sum"


def test_reduce_weighted_helper():
    v = xn.Tensor([1.0, 2.0, 3.0, 4.0])
    w = [0.0, 1.0, 1.0, 0.0]
    assert L.reduce_weighted(v, w, "mean_with_sample_weight").item() == pytest.approx(2.5)
    assert L.reduce_weighted(v, w, "mean").item() == pytest.approx(1.25)
    assert L.reduce_weighted(v, w, None).numpy().tolist() == [0.0, 2.0, 3.0, 0.0]
    assert L.reduce_weighted(v, [0.0] * 4, "mean_with_sample_weight").item() == 0.0
    masked = L.reduce_weighted(v, None, "sum_over_batch_size", mask=np.array([1, 1, 0, 0], bool))
    assert masked.item() == pytest.approx(1.5)
    per_step = xn.Tensor(np.ones((2, 3)))
    assert L.reduce_weighted(per_step, [1.0, 3.0], "sum").item() == pytest.approx(12.0)


# =========================================================================== bad input


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: L.sparse_categorical_crossentropy(np.eye(3)[[0, 1]], xn.Tensor(np.ones((2, 3)))),
         r"y_pred's shape \(2, 3\) \(one-hot.*Use categorical_crossentropy"),
        (lambda: L.sparse_categorical_crossentropy([0, 1, 2], xn.Tensor(np.ones((2, 3)))),
         r"expected one integer class index per prediction.*\(2,\).*Received: y_true.shape=\(3,\)"),
        (lambda: L.sparse_categorical_crossentropy([0, 3], xn.Tensor(np.ones((2, 3)))),
         r"class indices must lie in \[0, 3\).*Received labels in \[0, 3\]"),
        (lambda: L.sparse_categorical_crossentropy([0.5, 1], xn.Tensor(np.ones((2, 3)))),
         r"expected integer class indices; y_true has non-integer values"),
        (lambda: L.multiclass_svm([[0], [1], [2]], xn.Tensor(np.ones((2, 3)))),
         r"multiclass_svm: expected one integer class index per prediction"),
        (lambda: L.categorical_crossentropy([0, 2], xn.Tensor(np.ones((2, 3)))),
         r"same shape.*y_true.shape=\(2,\), y_pred.shape=\(2, 3\).*sparse_categorical"),
        (lambda: L.categorical_crossentropy([[1.0], [1.0]], xn.Tensor([[0.3, 0.5], [0.1, 0.2]])),
         r"same shape"),
        (lambda: L.categorical_crossentropy([[1.0], [1.0]], xn.Tensor([[0.3], [0.1]])),
         r"at least 2 classes.*binary_crossentropy"),
        (lambda: L.categorical_crossentropy([[1, 0]], xn.Tensor([[2.0, -1.0]])),
         r"from_logits=False.*Received values in \[-1, 2\].*from_logits=True"),
        (lambda: L.binary_crossentropy([[1, 0]], xn.Tensor([[2.0, 0.5]])),
         r"probabilities \(\[0, 1\]\).*from_logits=True"),
        (lambda: L.CategoricalCrossentropy(reduction="average"),
         r"Invalid reduction.*'sum_over_batch_size'.*Received: reduction='average'"),
        (lambda: L.reduce_weighted(xn.Tensor([1.0]), None, "mean_squared"), r"Invalid reduction"),
        (lambda: L.BinaryCrossentropy(label_smoothing=1.5),
         r"expected label_smoothing in \[0, 1\]. Received: label_smoothing=1.5"),
        (lambda: L.Huber(delta=0.0), r"Huber: expected delta > 0"),
        (lambda: L.BinaryFocalCrossentropy(gamma=-1.0), r"expected gamma >= 0"),
        (lambda: L.SparseCategoricalCrossentropy(ignore_class="void"), r"ignore_class"),
        (lambda: L.MeanSquaredError()([[1.0]], xn.Tensor([[1.0]]), sample_weight=[1, 2, 3]),
         r"sample_weight of shape \(3,\) does not fit per-sample losses of shape \(1,\)"),
        (lambda: L.categorical_focal_crossentropy([[0, 1]], xn.Tensor([[0.5, 0.5]]), alpha=[1.0]),
         r"one alpha per class \(2\). Received 1"),
        (lambda: L.categorical_crossentropy([[0, 1]], xn.Tensor([[0.5, 0.5]]), axis=2),
         r"expected an integer axis in \[-2, 2\).*Received: axis=2"),
    ],
)  # fmt: skip
def test_bad_input_raises_actionable_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_loss_object_checks_device_values_until_they_pass():
    # device data are checked at the Loss object's first call (for each kind of check,
    # until one passes); host data at every call; tests/test_device_reads.py counts
    # that later calls read nothing
    B = xn.backend
    loss = L.SparseCategoricalCrossentropy()  # from_logits=False: labels and probabilities
    p = xn.Tensor(np.full((2, 3), 1 / 3), dtype="float32")
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\)"):
        loss(B.asarray(np.array([0, 3])), p)
    with pytest.raises(ValueError, match=r"non-integer values"):
        loss(B.asarray(np.array([0.5, 1.0])), p)
    with pytest.raises(ValueError, match=r"from_logits=False.*probabilities"):
        loss(B.asarray(np.array([0, 2])), p - 1.0)
    assert loss(B.asarray(np.array([0, 2])), p).item() == pytest.approx(np.log(3.0), rel=1e-6)
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\).*\[-1, 2\]"):
        loss(np.array([-1, 2]), p)  # host labels: checked at every call, on the host
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\)"):
        L.sparse_categorical_crossentropy(B.asarray(np.array([0, 3])), p)  # a plain function


@pytest.mark.parametrize("on_device", [False, True])
def test_check_targets_validates_whole_label_arrays(on_device):
    put = xn.backend.asarray if on_device else np.asarray
    loss = L.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    loss.check_targets(put(np.array([[0], [2], [-1]])), (None, 3))
    loss.check_targets(put(np.array([0.0, 2.0])), (7, 3))  # whole-number floats
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\) .*Received labels in \[0, 3\]"):
        loss.check_targets(put(np.array([0, 3, -1])), (2, 3))
    with pytest.raises(ValueError, match=r"sparse_categorical_crossentropy: .*non-integer"):
        loss.check_targets(put(np.array([0.5, 1.0])), (2, 3))
    svm = L.MulticlassSVM()
    with pytest.raises(ValueError, match=r"multiclass_svm: class indices must lie in \[0, 4\)"):
        svm.check_targets(put(np.array([-1, 0])), (2, 4))
    L.MeanSquaredError().check_targets(put(np.array([7.5])), (1, 1))  # no label checks


@pytest.mark.parametrize(
    "labels, message",
    [
        (np.array([0.0, np.inf]), "non-integer"),
        (np.array([0.0, np.nan]), "non-integer"),
        (np.array([0, 2**63], dtype=np.uint64), r"must lie in \[0, 3\)"),
        (np.array([0, 3], dtype=np.uint8), r"Received labels in \[0, 3\]"),
        (np.array([True, False]).reshape(2, 1)[:, 0], None),
    ],
)
def test_check_labels_on_host(labels, message):
    from xpnet.losses.inputs import check_labels_on_host

    if message is None:
        out = check_labels_on_host(labels, 3, "loss")
        assert out.dtype == np.int64 and out.tolist() == [1, 0]
        return
    with pytest.raises(ValueError, match=message):
        check_labels_on_host(labels, 3, "loss")
