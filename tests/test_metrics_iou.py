"""IoU, MeanIoU, BinaryIoU against Keras 3.15's values (JAX backend, 2026-12-04; weighted
cases with dtype="float32", since Keras's default integer dtype truncates float weights)
and against a NumPy confusion matrix."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import metrics

Y_TRUE = np.array([0, 1, 2, 2, 1, 0, 3, 2, 1, 1])
Y_PRED = np.array([0, 2, 2, 1, 1, 0, 2, 2, 0, 1])
WEIGHTS = np.array([1, 0.5, 2, 1, 1, 0.25, 1, 3, 1, 0.5], "float32")
SCORES = (np.eye(4)[Y_PRED] * 0.6 + 0.1).astype("float32")

# (class, kwargs, y_true, y_pred, sample_weight, Keras 3.15's result)
KERAS = [
    ("MeanIoU", dict(num_classes=4), Y_TRUE, Y_PRED, None, 0.36666667461395264),
    ("MeanIoU", dict(num_classes=4), Y_TRUE, Y_PRED, WEIGHTS, 0.3993055820465088),
    ("MeanIoU", dict(num_classes=4, ignore_class=3, sparse_y_pred=False), Y_TRUE, SCORES, None,
     0.5222222208976746),
    ("IoU", dict(num_classes=4, target_class_ids=[1, 2]), Y_TRUE, Y_PRED, None,
     0.4000000059604645),
    ("IoU", dict(num_classes=3, target_class_ids=[0, 2]), Y_TRUE, Y_PRED, WEIGHTS,
     0.6623932123184204),
    ("BinaryIoU", dict(), np.array([[0, 1], [1, 1], [0, 0]]),
     np.array([[0.2, 0.6], [0.5, 0.4], [0.9, 0.1]], "float32"), None, 0.5),
    ("BinaryIoU", dict(target_class_ids=[1], threshold=0.45), np.array([0, 1, 1, 0, 1]),
     np.array([0.2, 0.6, 0.5, 0.45, 0.3], "float32"), np.array([1, 2, 1, 0.5, 1], "float32"),
     0.6666666269302368),
]  # fmt: skip


def _arr(a):
    return None if a is None else xn.backend.asarray(a)


@pytest.mark.parametrize("cls, kwargs, y_true, y_pred, weights, want", KERAS)
def test_iou_matches_keras(cls, kwargs, y_true, y_pred, weights, want):
    m = getattr(metrics, cls)(**kwargs)
    m.update_state(_arr(y_true), _arr(y_pred), sample_weight=_arr(weights))
    assert m.result() == pytest.approx(want, rel=1e-6)


def test_iou_accumulates_over_batches_and_resets():
    whole = metrics.MeanIoU(4)
    whole.update_state(Y_TRUE, Y_PRED, sample_weight=WEIGHTS)
    parts = metrics.MeanIoU(4)
    for sl in (slice(0, 3), slice(3, 10)):
        parts.update_state(Y_TRUE[sl], Y_PRED[sl], sample_weight=WEIGHTS[sl])
    assert parts.result() == pytest.approx(whole.result(), rel=1e-6)
    cm = np.zeros((4, 4))
    np.add.at(cm, (Y_TRUE, Y_PRED), WEIGHTS)
    tp = np.diag(cm)
    per = tp / (cm.sum(0) + cm.sum(1) - tp)
    np.testing.assert_allclose(parts.per_class(), per, rtol=1e-5)
    parts.reset_state()
    assert parts.result() == 0.0


def test_iou_config_and_errors():
    m = metrics.MeanIoU(3, ignore_class=0, name="miou")
    again = metrics.MeanIoU.from_config(m.get_config())
    assert again.get_config() == m.get_config()
    b = metrics.BinaryIoU([1], threshold=0.3)
    assert metrics.BinaryIoU.from_config(b.get_config()).threshold == 0.3
    with pytest.raises(ValueError, match="target class ids"):
        metrics.IoU(num_classes=2, target_class_ids=[2])
    with pytest.raises(ValueError, match="num_classes"):
        metrics.MeanIoU(0)
    with pytest.raises(ValueError, match="must match"):
        metrics.MeanIoU(3).update_state([0, 1], [0, 1, 2])


def test_mean_iou_in_compile():
    model = xn.Sequential([xn.Input((3,)), xn.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy",
                  metrics=[metrics.MeanIoU(3, sparse_y_pred=False)])  # fmt: skip
    x = np.random.default_rng(0).standard_normal((16, 3)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, 16)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    pred = np.argmax(xn.to_numpy(model.predict(x, verbose=0)), -1)
    ref = metrics.MeanIoU(3)
    ref.update_state(y, pred)
    assert logs["mean_io_u"] == pytest.approx(ref.result(), rel=1e-6)
