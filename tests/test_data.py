"""Data helpers: one-hot, splits, shuffled batches, and moving data batch by batch."""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet.data import ArrayFeed

from helpers import assert_on_active_backend


def test_to_categorical_table():
    cases = [
        ([0, 2, 1], None, [[1, 0, 0], [0, 0, 1], [0, 1, 0]]),
        ([[1], [0]], 3, [[0, 1, 0], [1, 0, 0]]),
        (np.array([3.0, 0.0]), 4, [[0, 0, 0, 1], [1, 0, 0, 0]]),
    ]
    for y, k, expected in cases:
        out = xn.data.to_categorical(y, num_classes=k)
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, expected)
    assert xn.data.one_hot is xn.data.to_categorical


def test_to_categorical_takes_backend_arrays():
    y = B.asarray(np.array([1, 0, 2]))
    np.testing.assert_array_equal(xn.data.to_categorical(y).argmax(-1), [1, 0, 2])


@pytest.mark.parametrize(
    "y, k, match",
    [([0.5, 1.0], None, "whole numbers"), ([-1, 0], None, ">= 0"), ([0, 3], 3, "num_classes=3")],
)
def test_to_categorical_rejects_bad_labels(y, k, match):
    with pytest.raises(ValueError, match=match):
        xn.data.to_categorical(y, num_classes=k)


def test_to_numpy_accepts_lists_and_scalars():
    # backend.to_numpy used to crash with AttributeError on non-arrays
    np.testing.assert_array_equal(B.to_numpy([1, 2]), [1, 2])
    assert B.to_numpy(3.5) == 3.5


def test_train_test_split_sizes_and_alignment():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    x_tr, x_te, y_tr, y_te = xn.data.train_test_split(x, y, test_size=0.3, seed=1)
    assert (len(x_tr), len(x_te)) == (7, 3)
    np.testing.assert_array_equal(x_tr[:, 0] // 2, y_tr)  # rows stay aligned
    np.testing.assert_array_equal(x_te[:, 0] // 2, y_te)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(10))
    again = xn.data.train_test_split(x, y, test_size=0.3, seed=1)
    np.testing.assert_array_equal(again[3], y_te)
    _, _, _, y_te_int = xn.data.train_test_split(x, y, test_size=4, shuffle=False)
    np.testing.assert_array_equal(y_te_int, [6, 7, 8, 9])


def test_train_test_split_stratified_keeps_class_shares():
    y = np.array([0] * 80 + [1] * 20)
    _, y_te = xn.data.train_test_split(y, test_size=0.25, stratify=y, seed=0)
    assert len(y_te) == 25
    assert np.bincount(y_te).tolist() == [20, 5]


def test_train_test_split_keeps_the_arrays_library():
    x = B.asarray(np.arange(12.0).reshape(6, 2))
    x_tr, x_te = xn.data.train_test_split(x, test_size=2, seed=0)
    assert_on_active_backend(x_tr)
    assert tuple(x_te.shape) == (2, 2)


@pytest.mark.parametrize("size", [0.0, 1.0, 0, 10, -1, "half"])
def test_train_test_split_rejects_bad_sizes(size):
    with pytest.raises(ValueError, match="test_size"):
        xn.data.train_test_split(np.arange(10), test_size=size)


def test_train_test_split_rejects_unequal_lengths():
    with pytest.raises(ValueError, match=r"same number of samples.*\[3, 4\]"):
        xn.data.train_test_split(np.zeros(3), np.zeros(4))


def test_batches_cover_every_sample_once_on_the_active_backend():
    x = np.arange(10, dtype=np.float64).reshape(10, 1)
    y = np.arange(10)
    seen = []
    for xb, yb in xn.data.batches(x, y, batch_size=3, seed=0):
        assert_on_active_backend(xb)
        assert xb.dtype == B.dtype("float32")  # float64 data arrive as floatx
        np.testing.assert_array_equal(xn.to_numpy(xb)[:, 0], xn.to_numpy(yb))
        seen += xn.to_numpy(yb).tolist()
    assert sorted(seen) == list(range(10))
    assert seen != list(range(10))  # shuffled
    sizes = [b[0].shape[0] for b in xn.data.batches(x, y, batch_size=3, drop_remainder=True)]
    assert sizes == [3, 3, 3]


def test_feed_orders():
    x = np.arange(7)
    plain = [xn.to_numpy(b[0]).tolist() for b in ArrayFeed([x], 3, shuffle=False).epoch()]
    assert plain == [[0, 1, 2], [3, 4, 5], [6]]
    by_batch = [xn.to_numpy(b[0]).tolist() for b in ArrayFeed([x], 3, "batch", seed=3).epoch()]
    assert sorted(map(tuple, by_batch)) == sorted(map(tuple, plain))  # whole batches kept
    full = ArrayFeed([x], 3, True, seed=0)
    e1 = np.concatenate([xn.to_numpy(b[0]) for b in full.epoch()])
    e2 = np.concatenate([xn.to_numpy(b[0]) for b in full.epoch()])
    assert sorted(e1) == list(range(7)) and not np.array_equal(e1, e2)  # new order per epoch


def test_feed_split_takes_the_last_fraction_before_shuffling():
    x = np.arange(10)
    train, val = ArrayFeed([x], 4, shuffle=True, seed=0).split(0.3)
    assert (train.size, val.size) == (7, 3)
    got = [xn.to_numpy(b[0]).tolist() for b in val.epoch()]
    assert got == [[7, 8, 9]]
    assert sorted(np.concatenate([xn.to_numpy(b[0]) for b in train.epoch()])) == list(range(7))
    with pytest.raises(ValueError, match="empty part"):
        ArrayFeed([np.arange(1)], 1).split(0.5)


def test_feed_validates_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        ArrayFeed([np.zeros(3)], 0)
    with pytest.raises(ValueError, match="shuffle"):
        ArrayFeed([np.zeros(3)], 1, shuffle="yes")
    with pytest.raises(ValueError, match=r"same number of samples.*\[3, 2\]"):
        ArrayFeed([np.zeros(3), np.zeros(2)], 1)
    with pytest.raises(TypeError, match="ragged"):
        ArrayFeed([[[1, 2], [3]]], 1)


def test_data_already_on_the_backend_is_gathered_there():
    x = B.asarray(np.arange(12.0).reshape(6, 2))
    batches = list(ArrayFeed([x], 4, shuffle=True, seed=0).epoch())
    for (xb,) in batches:
        assert_on_active_backend(xb)
    rows = np.concatenate([xn.to_numpy(b[0]) for b in batches])
    assert sorted(rows[:, 0].tolist()) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]


def test_data_from_another_library_moves_batch_by_batch():
    torch = pytest.importorskip("torch")
    x = torch.arange(10, dtype=torch.float64).reshape(5, 2)
    for (xb,) in ArrayFeed([x], 2, shuffle=True, seed=0).epoch():
        assert_on_active_backend(xb)
        assert xb.dtype == B.dtype("float32")
