"""Metrics: each one against a plain NumPy reference, on the active backend, batch by batch."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet import metrics as M

RNG = np.random.default_rng(0)
N, C = 12, 4
PROBS = RNG.dirichlet(np.ones(C), size=N)
LABELS = RNG.integers(0, C, N)
ONEHOT = np.eye(C)[LABELS]
SCORES = RNG.uniform(size=(N, 1))
BIN = (RNG.uniform(size=(N, 1)) < 0.5).astype(np.float64)
MULTI_T = (RNG.uniform(size=(N, 3)) < 0.4).astype(np.float64)
MULTI_P = RNG.uniform(size=(N, 3))
REG_T = RNG.normal(size=(N, 2))
REG_P = REG_T + RNG.normal(scale=0.5, size=(N, 2))
W = RNG.uniform(0.2, 2.0, size=N)


def wmean(values, w=None):
    values = np.asarray(values, dtype=np.float64)
    if w is None:
        return values.mean()
    return (values * w).sum() / w.sum()


def counts(t, p):
    return (p & t).sum(0), (p & ~t).sum(0), (~p & t).sum(0)


def f1_ref(t, p, average):
    tp, fp, fn = (c.astype(float) for c in counts(t.astype(bool), p.astype(bool)))
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    prec = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
    rec = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=prec + rec > 0)
    return f1.mean() if average == "macro" else f1


def topk_hit(labels, probs, k):
    order = np.argsort(-probs, axis=-1)[:, :k]
    return (order == labels[:, None]).any(axis=1)


def r2_ref(t, p):
    ss_res = ((t - p) ** 2).sum(0)
    ss_tot = ((t - t.mean(0)) ** 2).sum(0)
    return (1 - ss_res / ss_tot).mean()


@dataclasses.dataclass
class MetricCase:
    name: str
    make: Callable[[], M.Metric]
    y_true: np.ndarray
    y_pred: np.ndarray
    expected: object
    weights: np.ndarray | None = None


CASES = [
    MetricCase(
        "binary_accuracy",
        lambda: M.BinaryAccuracy(),
        BIN,
        SCORES,
        wmean(((SCORES > 0.5) == (BIN > 0.5))[:, 0]),
    ),
    MetricCase(
        "binary_accuracy[w]",
        lambda: M.BinaryAccuracy(),
        BIN,
        SCORES,
        wmean(((SCORES > 0.5) == (BIN > 0.5))[:, 0], W),
        W,
    ),
    MetricCase(
        "binary_accuracy[t=0.3]",
        lambda: M.BinaryAccuracy(threshold=0.3),
        BIN,
        SCORES,
        wmean(((SCORES > 0.3) == (BIN > 0.5))[:, 0]),
    ),
    MetricCase(
        "categorical_accuracy",
        lambda: M.get("categorical_accuracy"),
        ONEHOT,
        PROBS,
        wmean(PROBS.argmax(1) == LABELS),
    ),
    MetricCase(
        "sparse_categorical_accuracy",
        lambda: M.get("sparse_categorical_accuracy"),
        LABELS,
        PROBS,
        wmean(PROBS.argmax(1) == LABELS),
    ),
    MetricCase(
        "sparse_categorical_accuracy[(n,1), w]",
        lambda: M.SparseCategoricalAccuracy(),
        LABELS[:, None],
        PROBS,
        wmean(PROBS.argmax(1) == LABELS, W),
        W,
    ),
    MetricCase(
        "top_k",
        lambda: M.TopKCategoricalAccuracy(k=2),
        ONEHOT,
        PROBS,
        wmean(topk_hit(LABELS, PROBS, 2)),
    ),
    MetricCase(
        "sparse_top_k",
        lambda: M.SparseTopKCategoricalAccuracy(k=3),
        LABELS,
        PROBS,
        wmean(topk_hit(LABELS, PROBS, 3)),
    ),
    MetricCase(
        "accuracy (exact)",
        lambda: M.Accuracy(),
        LABELS,
        PROBS.argmax(1),
        wmean(PROBS.argmax(1) == LABELS),
    ),
    MetricCase("mse", lambda: M.get("mse"), REG_T, REG_P, ((REG_T - REG_P) ** 2).mean()),
    MetricCase(
        "mse[w]",
        lambda: M.MeanSquaredError(),
        REG_T,
        REG_P,
        wmean(((REG_T - REG_P) ** 2).mean(1), W),
        W,
    ),
    MetricCase("mae", lambda: M.get("mae"), REG_T, REG_P, np.abs(REG_T - REG_P).mean()),
    MetricCase("rmse", lambda: M.get("rmse"), REG_T, REG_P, np.sqrt(((REG_T - REG_P) ** 2).mean())),
    MetricCase("r2", lambda: M.R2Score(), REG_T, REG_P, r2_ref(REG_T, REG_P)),
    MetricCase(
        "precision",
        lambda: M.Precision(),
        BIN,
        SCORES,
        (lambda tp, fp, fn: tp / (tp + fp))(*counts(BIN > 0.5, SCORES > 0.5))[0],
    ),
    MetricCase(
        "recall",
        lambda: M.Recall(),
        BIN,
        SCORES,
        (lambda tp, fp, fn: tp / (tp + fn))(*counts(BIN > 0.5, SCORES > 0.5))[0],
    ),
    MetricCase(
        "precision[top_k=1]",
        lambda: M.Precision(top_k=1),
        ONEHOT,
        PROBS,
        wmean(PROBS.argmax(1) == LABELS),
    ),
    MetricCase(
        "recall[class_id=2]",
        lambda: M.Recall(class_id=2),
        ONEHOT,
        PROBS,
        (lambda tp, fp, fn: tp / (tp + fn))(*counts(ONEHOT[:, 2] > 0.5, PROBS[:, 2] > 0.5)),
    ),
    MetricCase(
        "precision[thresholds]",
        lambda: M.Precision(thresholds=[0.2, 0.7]),
        BIN,
        SCORES,
        [
            (lambda tp, fp, fn: tp / (tp + fp))(*counts(BIN > 0.5, SCORES > t))[0]
            for t in (0.2, 0.7)
        ],
    ),
    MetricCase(
        "f1[none]",
        lambda: M.F1Score(),
        ONEHOT,
        PROBS,
        f1_ref(ONEHOT, np.eye(C)[PROBS.argmax(1)], None),
    ),
    MetricCase(
        "f1[macro]",
        lambda: M.F1Score(average="macro"),
        ONEHOT,
        PROBS,
        f1_ref(ONEHOT, np.eye(C)[PROBS.argmax(1)], "macro"),
    ),
    MetricCase(
        "f1[micro, threshold]",
        lambda: M.F1Score(average="micro", threshold=0.5),
        MULTI_T,
        MULTI_P,
        f1_ref(MULTI_T, MULTI_P > 0.5, "micro"),
    ),
    MetricCase(
        "multilabel exact",
        lambda: M.MultiLabelAccuracy(),
        MULTI_T,
        MULTI_P,
        wmean(((MULTI_P > 0.5) == (MULTI_T > 0.5)).all(1)),
    ),
    MetricCase(
        "multilabel hamming[w]",
        lambda: M.MultiLabelAccuracy(mode="hamming"),
        MULTI_T,
        MULTI_P,
        wmean(((MULTI_P > 0.5) == (MULTI_T > 0.5)).mean(1), W),
        W,
    ),
    MetricCase(
        "multilabel jaccard",
        lambda: M.MultiLabelAccuracy(mode="jaccard"),
        MULTI_T,
        MULTI_P,
        wmean(
            [
                1.0 if not (a | b).any() else (a & b).sum() / (a | b).sum()
                for a, b in zip(MULTI_T > 0.5, MULTI_P > 0.5)
            ]
        ),
    ),
    MetricCase(
        "multilabel precision micro",
        lambda: M.MultiLabelPrecision(),
        MULTI_T,
        MULTI_P,
        (lambda tp, fp, fn: tp.sum() / (tp.sum() + fp.sum()))(
            *counts(MULTI_T > 0.5, MULTI_P > 0.5)
        ),
    ),
    MetricCase(
        "multilabel recall macro, per-label thresholds",
        lambda: M.MultiLabelRecall(threshold=[0.3, 0.5, 0.7], average="macro"),
        MULTI_T,
        MULTI_P,
        np.mean(
            (lambda tp, fp, fn: tp / (tp + fn))(
                *counts(MULTI_T > 0.5, MULTI_P > np.array([0.3, 0.5, 0.7]))
            )
        ),
    ),
    MetricCase(
        "multilabel precision per label",
        lambda: M.MultiLabelPrecision(average=None),
        MULTI_T,
        MULTI_P,
        (lambda tp, fp, fn: tp / (tp + fp))(*counts(MULTI_T > 0.5, MULTI_P > 0.5)),
    ),
    # the loss-based metrics of Keras 3 (probabilistic and hinge families)
    MetricCase(
        "binary_crossentropy",
        lambda: M.BinaryCrossentropy(),
        BIN,
        SCORES,
        wmean(-(BIN * np.log(SCORES) + (1 - BIN) * np.log(1 - SCORES))[:, 0], W),
        W,
    ),
    MetricCase(
        "categorical_crossentropy",
        lambda: M.CategoricalCrossentropy(),
        ONEHOT,
        PROBS,
        wmean(-(ONEHOT * np.log(PROBS)).sum(1)),
    ),
    MetricCase(
        "sparse_categorical_crossentropy from logits",
        lambda: M.SparseCategoricalCrossentropy(from_logits=True),
        LABELS,
        np.log(PROBS) + 1.5,
        wmean(-np.log(PROBS[np.arange(N), LABELS]), W),
        W,
    ),
    MetricCase(
        "kl_divergence",
        lambda: M.KLDivergence(),
        PROBS[::-1].copy(),
        PROBS,
        wmean((PROBS[::-1] * np.log(PROBS[::-1] / PROBS)).sum(1)),
    ),
    MetricCase(
        "poisson",
        lambda: M.Poisson(),
        np.abs(REG_T),
        np.abs(REG_P) + 0.1,
        wmean((np.abs(REG_P) + 0.1 - np.abs(REG_T) * np.log(np.abs(REG_P) + 0.1 + 1e-7)).mean(1)),
    ),
    MetricCase(
        "hinge",
        lambda: M.Hinge(),
        BIN,
        SCORES * 2 - 1,
        wmean(np.maximum(1 - (2 * BIN - 1) * (SCORES * 2 - 1), 0).mean(1)),
    ),
    MetricCase(
        "squared_hinge",
        lambda: M.SquaredHinge(),
        BIN,
        SCORES * 2 - 1,
        wmean((np.maximum(1 - (2 * BIN - 1) * (SCORES * 2 - 1), 0) ** 2).mean(1)),
    ),
    MetricCase(
        "categorical_hinge",
        lambda: M.CategoricalHinge(),
        ONEHOT,
        PROBS,
        wmean(np.maximum(((1 - ONEHOT) * PROBS).max(1) - (ONEHOT * PROBS).sum(1) + 1, 0)),
    ),
    MetricCase(
        "logcosh",
        lambda: M.LogCoshError(),
        REG_T,
        REG_P,
        wmean(np.log(np.cosh(REG_P - REG_T)).mean(1)),
    ),
    MetricCase(
        "cosine_similarity",
        lambda: M.CosineSimilarity(),
        REG_T,
        REG_P,
        wmean(
            (REG_T * REG_P).sum(1) / (np.linalg.norm(REG_T, axis=1) * np.linalg.norm(REG_P, axis=1))
        ),
    ),
    MetricCase(
        "mean_absolute_percentage_error",
        lambda: M.MeanAbsolutePercentageError(),
        REG_T,
        REG_P,
        wmean(100 * np.abs((REG_T - REG_P) / np.abs(REG_T)).mean(1)),
    ),
    MetricCase(
        "fbeta_score beta 2 macro",
        lambda: M.FBetaScore(average="macro", beta=2.0),
        ONEHOT,
        PROBS,
        (lambda tp, fp, fn: np.mean(np.nan_to_num(5 * tp / (5 * tp + 4 * fn + fp))))(
            *(
                c.astype(float)
                for c in counts(ONEHOT.astype(bool), PROBS >= PROBS.max(1, keepdims=True))
            )
        ),
    ),
    MetricCase(
        "true_positives",
        lambda: M.TruePositives(),
        BIN,
        SCORES,
        float(((SCORES > 0.5) & (BIN > 0.5)).sum()),
    ),
    MetricCase(
        "false_positives weighted",
        lambda: M.FalsePositives(),
        BIN,
        SCORES,
        float((((SCORES > 0.5) & (BIN < 0.5))[:, 0] * W).sum()),
        W,
    ),
    MetricCase(
        "true_negatives",
        lambda: M.TrueNegatives(),
        BIN,
        SCORES,
        float(((SCORES <= 0.5) & (BIN < 0.5)).sum()),
    ),
    MetricCase(
        "false_negatives at two thresholds",
        lambda: M.FalseNegatives(thresholds=[0.3, 0.7]),
        BIN,
        SCORES,
        np.array([((SCORES <= t) & (BIN > 0.5)).sum() for t in (0.3, 0.7)], dtype=float),
    ),
    MetricCase(
        "mean_squared_logarithmic_error",
        lambda: M.MeanSquaredLogarithmicError(),
        np.abs(REG_T),
        np.abs(REG_P),
        wmean(((np.log1p(np.abs(REG_P)) - np.log1p(np.abs(REG_T))) ** 2).mean(1)),
    ),
]


def _on_backend(a):
    arr = np.asarray(a)
    return B.asarray(arr.astype(np.float32) if arr.dtype.kind == "f" else arr)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_metric_matches_reference_in_one_and_in_two_batches(case):
    one = case.make()
    w = None if case.weights is None else _on_backend(case.weights)
    one.update_state(_on_backend(case.y_true), _on_backend(case.y_pred), sample_weight=w)
    np.testing.assert_allclose(one.result(), case.expected, rtol=1e-5, atol=1e-6)
    two = case.make()
    for part in (slice(0, 5), slice(5, None)):
        wp = None if case.weights is None else _on_backend(case.weights[part])
        two.update_state(_on_backend(case.y_true[part]), _on_backend(case.y_pred[part]), wp)
    np.testing.assert_allclose(two.result(), case.expected, rtol=1e-5, atol=1e-6)
    two.reset_state()
    empty = two.result()
    assert np.all(np.asarray(empty) == 0)


@pytest.mark.parametrize("case", CASES[:6], ids=lambda c: c.name)
def test_metrics_take_numpy_lists_and_tensors(case):
    m = case.make()
    m.update_state(
        case.y_true.tolist(),
        xn.Tensor(case.y_pred, dtype="float32"),
        sample_weight=None if case.weights is None else case.weights.tolist(),
    )
    np.testing.assert_allclose(m.result(), case.expected, rtol=1e-5)


def _exact_auc(t, s):
    pos, neg = s[t > 0.5], s[t <= 0.5]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return greater / (len(pos) * len(neg))


def test_auc_roc_approaches_the_exact_area():
    rng = np.random.default_rng(1)
    t = (rng.uniform(size=400) < 0.4).astype(np.float32)
    s = np.clip(0.3 * t + rng.uniform(size=400) * 0.7, 0, 1).astype(np.float32)
    m = M.AUC(num_thresholds=1000)
    m.update_state(_on_backend(t), _on_backend(s))
    # 1000 evenly spaced thresholds: the trapezoids differ from the exact rank area by
    # at most the pairs that fall between two thresholds
    assert abs(m.result() - _exact_auc(t, s)) < 2e-3


def test_auc_small_known_values_and_summation_order():
    m = M.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0.0, 0.5, 0.3, 0.9])
    assert m.result() == pytest.approx(0.75)
    t = np.array([0, 1, 1, 0, 1, 0, 1, 1], np.float32)
    s = np.array([0.1, 0.8, 0.6, 0.4, 0.9, 0.7, 0.2, 0.65], np.float32)
    values = {}
    for method in ("minoring", "interpolation", "majoring"):
        a = M.AUC(summation_method=method, curve="PR")
        a.update_state(_on_backend(t), _on_backend(s))
        values[method] = a.result()
    assert values["minoring"] <= values["interpolation"] <= values["majoring"]
    perfect = M.AUC(curve="PR")
    perfect.update_state(_on_backend(t), _on_backend(t * 0.8 + 0.1))
    assert perfect.result() == pytest.approx(1.0, abs=1e-6)


def test_auc_multi_label_averages_labels_and_from_logits():
    t = MULTI_T.astype(np.float32)
    p = MULTI_P.astype(np.float32)
    per = []
    for j in range(3):
        a = M.AUC(num_thresholds=500)
        a.update_state(_on_backend(t[:, j]), _on_backend(p[:, j]))
        per.append(a.result())
    multi = M.AUC(num_thresholds=500, multi_label=True)
    multi.update_state(_on_backend(t), _on_backend(p))
    assert multi.result() == pytest.approx(np.mean(per), abs=1e-6)
    logits = M.AUC(num_thresholds=500, multi_label=True, from_logits=True)
    logits.update_state(_on_backend(t), _on_backend(np.log(p / (1 - p))))
    assert logits.result() == pytest.approx(multi.result(), abs=1e-2)


def test_metric_state_stays_on_the_device_until_result():
    m = M.SparseCategoricalAccuracy()
    m.update_state(_on_backend(LABELS), _on_backend(PROBS))
    assert B.namespace(m.total) is xn.get_backend().xp


@pytest.mark.parametrize(
    "name, cls",
    [
        ("accuracy", M.Accuracy),
        ("binary_accuracy", M.BinaryAccuracy),
        ("sparse_top_k_categorical_accuracy", M.SparseTopKCategoricalAccuracy),
        ("precision", M.Precision),
        ("Recall", M.Recall),
        ("auc", M.AUC),
        ("f1_score", M.F1Score),
        ("mean_absolute_error", M.MeanAbsoluteError),
        ("root_mean_squared_error", M.RootMeanSquaredError),
        ("r2_score", M.R2Score),
        ("multilabel_accuracy", M.MultiLabelAccuracy),
    ],
)
def test_get_by_name_gives_a_fresh_instance_named_as_asked(name, cls):
    a, b = M.get(name), M.get(name)
    assert isinstance(a, cls) and a is not b
    assert a.name == name


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown metric 'acuracy'.*binary_accuracy"):
        M.get("acuracy")


def test_plain_function_becomes_a_mean_metric():
    def max_error(y_true, y_pred):
        xp = B.namespace(y_pred)
        return xp.max(xp.abs(y_true - y_pred), axis=-1)

    m = M.get(max_error)
    assert isinstance(m, M.MeanMetricWrapper) and m.name == "max_error"
    m.update_state(_on_backend(REG_T), _on_backend(REG_P))
    assert m.result() == pytest.approx(np.abs(REG_T - REG_P).max(1).mean(), rel=1e-5)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_config_round_trip(case):
    m = case.make()
    config = M.serialize(m)
    clone = M.deserialize(config)
    assert type(clone) is type(m) and clone.get_config() == m.get_config()
    clone.update_state(
        _on_backend(case.y_true),
        _on_backend(case.y_pred),
        None if case.weights is None else _on_backend(case.weights),
    )
    np.testing.assert_allclose(clone.result(), case.expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: M.F1Score(average="mean"), "average must be"),
        (lambda: M.F1Score(threshold=2.0), "threshold must be"),
        (lambda: M.AUC(curve="XY"), "curve must be"),
        (lambda: M.AUC(summation_method="simpson"), "summation_method"),
        (lambda: M.R2Score(class_aggregation="median"), "class_aggregation"),
        (lambda: M.MultiLabelAccuracy(mode="subset"), "mode must be"),
        (lambda: M.MultiLabelPrecision(average="weighted"), "average must be"),
    ],
)
def test_bad_arguments_are_explained(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_confusion_metrics_reject_class_ids():
    for metric in (M.AUC(), M.Precision(), M.Recall()):
        with pytest.raises(ValueError, match="to_categorical"):
            metric.update_state(_on_backend(LABELS), _on_backend(PROBS))


def test_multilabel_metrics_reject_class_ids():
    with pytest.raises(ValueError, match="multi-label targets must be 0/1 rows"):
        M.MultiLabelAccuracy().update_state(_on_backend(LABELS), _on_backend(PROBS))


def test_direction_tells_callbacks_what_is_better():
    assert M.get("accuracy").direction == "up"
    assert M.get("mse").direction == "down"
    assert M.AUC().direction == "up"


def test_fbeta_and_counts_match_keras():
    # Keras 3.15 (JAX) on this data, 2026-12-04: FBetaScore(macro, beta=2) 0.2857142984867096;
    # FBetaScore(beta=0.5, threshold=0.3) [0.46875, 0.6666666, 0, 0.2173913];
    # FalseNegatives(thresholds=[0.3, 0.7]) [6, 12]
    r = np.random.default_rng(0)
    p = r.dirichlet(np.ones(4), size=12).astype("float32")
    t = np.eye(4)[r.integers(0, 4, 12)].astype("float32")
    m = M.FBetaScore(average="macro", beta=2.0)
    m.update_state(_on_backend(t), _on_backend(p))
    assert m.result() == pytest.approx(0.2857142984867096, rel=1e-5)
    m = M.FBetaScore(beta=0.5, threshold=0.3)
    m.update_state(_on_backend(t), _on_backend(p))
    np.testing.assert_allclose(m.result(), [0.46875, 0.6666666, 0.0, 0.2173913], rtol=1e-5)
    m = M.FalseNegatives(thresholds=[0.3, 0.7])
    m.update_state(_on_backend(t), _on_backend(p))
    np.testing.assert_allclose(m.result(), [6.0, 12.0])
