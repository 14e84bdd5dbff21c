"""Data helpers: one-hot labels, train/test splits, shuffled batches.

User data stays where it is (NumPy on the host, or arrays of any backend).
:class:`ArrayFeed` slices it batch by batch and moves only each batch to the
model's backend and device, so an epoch never copies the whole data set. It
is what ``Model.fit``, ``evaluate`` and ``predict`` use; :func:`batches` is
the same machinery for custom training loops.

>>> import numpy as np
>>> import xpnet as xn
>>> xn.data.to_categorical([0, 2, 1]).tolist()
[[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
>>> x_tr, x_te, y_tr, y_te = xn.data.train_test_split(
...     np.arange(10), np.arange(10), test_size=0.3, seed=0)
>>> len(x_tr), len(x_te)
(7, 3)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from xpnet import _checks
from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.tensor import Tensor

__all__ = [
    "ArrayFeed",
    "batches",
    "one_hot",
    "to_categorical",
    "train_test_split",
]


def to_categorical(y: Any, num_classes: int | None = None, dtype: str = "float32"):
    """Integer class labels as one-hot rows (a NumPy array), as Keras's ``to_categorical``.

    ``y`` of shape ``(n,)`` (or ``(n, 1)``) with values in ``0..num_classes-1``
    gives shape ``(n, num_classes)``; ``num_classes`` defaults to ``max(y) + 1``.

    >>> import xpnet as xn
    >>> xn.data.to_categorical([1, 0], num_classes=3).tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    y = np.asarray(B.to_numpy(y))
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y.reshape(y.shape[:-1])
    if y.size and (y.dtype.kind not in "iub" and not np.all(np.mod(y, 1) == 0)):
        raise ValueError(
            f"to_categorical expects integer class labels; got values of dtype {y.dtype} "
            "that are not whole numbers."
        )
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical: class labels must be >= 0; got {int(y.min())}.")
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    else:
        num_classes = _checks.positive_int("to_categorical", "num_classes", num_classes)
    if y.size and y.max() >= num_classes:
        raise ValueError(
            f"to_categorical: label {int(y.max())} does not fit num_classes={num_classes}."
        )
    out = np.zeros((*y.shape, num_classes), dtype=dtype)
    np.put_along_axis(out, y[..., None], 1, axis=-1)
    return out


one_hot = to_categorical


def train_test_split(
    *arrays: Any,
    test_size: float | int = 0.25,
    shuffle: bool = True,
    stratify: Any = None,
    seed: int | None = None,
) -> list:
    """Split arrays into train and test parts: ``x_tr, x_te, y_tr, y_te = split(x, y)``.

    Args:
        arrays: arrays with the same first dimension (NumPy or any backend;
            each part keeps the array's library).
        test_size: a fraction in (0, 1) or a number of samples.
        shuffle: shuffle before splitting (seeded by ``seed`` or ``xn.set_seed``).
        stratify: labels whose class proportions both parts keep.
        seed: an int for a split that ignores the global seed.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array.")
    n = _check_lengths(arrays, "train_test_split")
    n_test = _count(test_size, n)
    gen = B.host_rng() if seed is None else np.random.default_rng(seed)
    if stratify is not None:
        test_idx = _stratified_test_indices(np.asarray(B.to_numpy(stratify)), n_test, gen)
        mask = np.zeros(n, dtype=bool)
        mask[test_idx] = True
        train_idx = np.flatnonzero(~mask)
        if shuffle:
            train_idx, test_idx = gen.permutation(train_idx), gen.permutation(test_idx)
    else:
        order = gen.permutation(n) if shuffle else np.arange(n)
        train_idx, test_idx = order[: n - n_test], order[n - n_test :]
    out = []
    for a in arrays:
        out += [_take(a, train_idx), _take(a, test_idx)]
    return out


def _count(size: float | int, n: int) -> int:
    if isinstance(size, float) and 0.0 < size < 1.0:
        k = math.ceil(size * n)
    elif isinstance(size, int) and not isinstance(size, bool) and 0 < size < n:
        k = size
    else:
        raise ValueError(
            f"test_size must be a fraction in (0, 1) or a number of samples in (0, {n}); "
            f"got {size!r}."
        )
    if k <= 0 or k >= n:
        raise ValueError(f"test_size={size!r} leaves an empty part of {n} samples.")
    return k


def _stratified_test_indices(labels, n_test: int, gen) -> Any:
    if labels.ndim > 1:  # one-hot rows: stratify by class index
        labels = labels.argmax(axis=-1)
    _, inverse = np.unique(labels, return_inverse=True)
    counts = np.bincount(inverse)
    share = counts * (n_test / labels.shape[0])
    take = np.floor(share).astype(np.int64)
    left = n_test - int(take.sum())  # hand the remainder to the largest fractional parts
    if left > 0:
        take[np.argsort(share - take)[::-1][:left]] += 1
    picked = [gen.permutation(np.flatnonzero(inverse == c))[:k] for c, k in enumerate(take)]
    return np.sort(np.concatenate(picked)) if picked else np.arange(0)


def _check_lengths(arrays: Sequence[Any], where: str) -> int:
    lengths = [int(a.shape[0]) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(
            f"{where}: all arrays need the same number of samples (first dimension); got {lengths}."
        )
    return lengths[0]


def _is_numpy(a) -> bool:
    return isinstance(a, np.ndarray)


def _take(a, idx):
    """Rows ``idx`` (a host index array) of ``a``, in ``a``'s own library."""
    if _is_numpy(a):
        return a[idx]
    xp = B.namespace(a)
    return xp.take(a, xp.asarray(idx, device=B.device_of(a)), axis=0)


def batches(
    *arrays: Any,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    drop_remainder: bool = False,
) -> Iterator[tuple]:
    """Yield tuples of batches, moved to the active backend and device, one at a time.

    Floating arrays become ``floatx`` (float32); integer labels stay integer.
    Only the current batch is copied: the data set stays where it is.

    >>> import numpy as np
    >>> import xpnet as xn
    >>> x, y = np.ones((5, 2)), np.arange(5)
    >>> [xb.shape for xb, yb in xn.data.batches(x, y, batch_size=2, shuffle=False)]
    [(2, 2), (2, 2), (1, 2)]
    """
    feed = ArrayFeed(list(arrays), batch_size=batch_size, shuffle=shuffle, seed=seed)
    for batch in feed.epoch():
        if drop_remainder and batch[0].shape[0] < batch_size:
            return
        yield tuple(batch)


class ArrayFeed:
    """Serve equal-length arrays batch by batch on the active backend.

    Each epoch draws one permutation on the host (when shuffling); every batch
    gathers only its own rows and moves them to the active backend (a view when
    the data is already there and the rows are contiguous). Arrays already on
    the active backend are gathered there, with the permutation moved once per
    epoch, so no host round trip happens per step.

    Args:
        arrays: NumPy arrays or arrays of any backend, or None (passed through).
        batch_size: samples per batch; the last batch may be smaller.
        shuffle: True (a new order each epoch), False, or "batch" (shuffle the
            order of contiguous batches only).
        seed: an int for an order independent of ``xn.set_seed``.
    """

    def __init__(
        self,
        arrays: Sequence[Any],
        batch_size: int = 32,
        shuffle: bool | str = False,
        seed: int | None = None,
    ) -> None:
        batch_size = _checks.positive_int("ArrayFeed", "batch_size", batch_size)
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch'; got {shuffle!r}.")
        self.arrays = [_as_array(a) for a in arrays]
        for a in self.arrays:
            _check_array(a)
        present = [a for a in self.arrays if a is not None]
        if not present:
            raise ValueError("No data: every array given is None.")
        self.size = _check_lengths(present, "fit/evaluate/predict")
        if self.size == 0:
            raise ValueError(
                "fit/evaluate/predict: expected at least one sample. Received arrays of shapes "
                f"{[tuple(a.shape) for a in present]} (0 samples)."
            )
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._gen = None if seed is None else np.random.default_rng(seed)

    @property
    def num_batches(self) -> int:
        return math.ceil(self.size / self.batch_size)

    def split(self, fraction: float) -> tuple[ArrayFeed, ArrayFeed]:
        """The first ``1 - fraction`` and the last ``fraction`` of the samples (no copy).

        As Keras's ``validation_split``: the last samples, taken before any shuffling.
        """
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"validation_split must be in (0, 1); got {fraction!r}.")
        cut = math.floor(self.size * (1.0 - fraction))
        if cut == 0 or cut == self.size:
            raise ValueError(
                f"validation_split={fraction} of {self.size} samples leaves an empty part; "
                "use more data or another fraction."
            )
        head = [None if a is None else _rows(a, 0, cut) for a in self.arrays]
        tail = [None if a is None else _rows(a, cut, self.size) for a in self.arrays]
        return self._like(head), self._like(tail, shuffle=False)

    def _like(self, arrays, shuffle=None) -> ArrayFeed:
        out = ArrayFeed.__new__(ArrayFeed)
        out.arrays = arrays
        out.size = int(next(a for a in arrays if a is not None).shape[0])
        out.batch_size = self.batch_size
        out.shuffle = self.shuffle if shuffle is None else shuffle
        out._gen = self._gen
        return out

    def _order(self):
        gen = self._gen if self._gen is not None else B.host_rng()
        if self.shuffle is True:
            return gen.permutation(self.size)
        if self.shuffle == "batch":
            return gen.permutation(self.num_batches)
        return None

    def epoch(self, move=None) -> Iterator[list]:
        """One pass over the data: lists of batches (None where an array is None).

        ``move`` takes each batch array to the backend: :func:`xpnet.backend.asarray`
        (the default), or :func:`xpnet.backend.step_input` for a compiled step, whose
        call moves its host arguments itself."""
        move = move or B.asarray
        order = self._order()
        bs, n = self.batch_size, self.size
        if self.shuffle is True:
            movers = [_Gather(a, order, move) for a in self.arrays]
            for start in range(0, n, bs):
                stop = min(start + bs, n)
                yield [m.rows(start, stop) for m in movers]
        else:
            movers = [_Slicer(a, move) for a in self.arrays]
            starts = range(0, n, bs) if order is None else (int(i) * bs for i in order)
            for start in starts:
                stop = min(start + bs, n)
                yield [m.rows(start, stop) for m in movers]

    def epoch_shard(self, rank: int, size: int, move=None) -> Iterator[tuple[list | None, int]]:
        """One pass for process ``rank`` of ``size`` (data-parallel training): the same
        global batches as :meth:`epoch` (the same order where every process's feed has
        the same seed), each cut into ``size`` contiguous slices whose lengths differ by
        at most one; yields ``(this process's slice, or None where it is empty, the
        global batch's length)``. Only the slice is gathered and moved."""
        move = move or B.asarray
        order = self._order()
        bs, n = self.batch_size, self.size
        if self.shuffle is True:
            movers = [_Gather(a, order, move) for a in self.arrays]
            starts = range(0, n, bs)
        else:
            movers = [_Slicer(a, move) for a in self.arrays]
            starts = range(0, n, bs) if order is None else (int(i) * bs for i in order)
        for start in starts:
            m = min(start + bs, n) - start
            lo, hi = start + (rank * m) // size, start + ((rank + 1) * m) // size
            yield (None if lo == hi else [g.rows(lo, hi) for g in movers]), m


def _as_array(a):
    if a is None:
        return None
    if isinstance(a, Tensor):
        return a.data
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return a
    try:
        arr = np.asarray(a)
    except ValueError:  # NumPy refuses ragged nested lists
        arr = np.asarray(None)
    if arr.dtype == object:
        raise TypeError(
            "Data must be numeric arrays (NumPy or any backend); got a ragged or object "
            "sequence. Pad the samples to one shape first."
        )
    return arr


def _check_array(a) -> None:
    """A data array: a sample dimension and a real numeric (or bool) dtype."""
    if a is None:
        return
    if len(a.shape) == 0:
        raise ValueError(
            "Data must have a first (sample) dimension; received a 0-d array (a scalar). "
            "Wrap one sample as x[None] or pass an array of samples."
        )
    if _is_numpy(a):
        ok = a.dtype.kind in "biuf"
    else:
        ok = B.namespace(a).isdtype(a.dtype, ("bool", "integral", "real floating"))
    if not ok:
        raise TypeError(
            f"Data must hold real numbers (float, int or bool); received dtype {a.dtype}. "
            "Convert strings to numbers (e.g. a vocabulary lookup) and take the real part "
            "or magnitude of complex data first."
        )


def _rows(a, start: int, stop: int):
    """Rows [start, stop) of ``a``: ``a[start:stop, ...]``, as the standard spells it for an
    array of any rank (array-api-strict refuses ``a[start:stop]`` on a 2-D array)."""
    return a[start:stop, ...]


class _Slicer:
    """Contiguous rows [start, stop) moved to the target backend."""

    def __init__(self, a, move) -> None:
        self.a = a
        self.move = move

    def rows(self, start: int, stop: int):
        a = self.a
        return None if a is None else self.move(a[start:stop, ...])


class _Gather:
    """Rows ``order[start:stop]`` gathered where the data lives, then moved.

    The gather runs in the array's own library (the permutation is moved there
    once per epoch), so data already on the model's backend never leaves it and
    data elsewhere sends only the batch across.
    """

    def __init__(self, a, order, move) -> None:
        self.a = a
        self.order = order
        self.move = move
        if a is None:
            self.fn = None
        elif _is_numpy(a):
            self.fn = self._numpy
        else:
            xp = B.namespace(a)
            self.idx = xp.asarray(order, device=B.device_of(a))
            self.xp = xp
            self.fn = self._native

    def _numpy(self, start, stop):
        return self.move(self.a[self.order[start:stop]])

    def _native(self, start, stop):
        return self.move(self.xp.take(self.a, self.idx[start:stop], axis=0))

    def rows(self, start: int, stop: int):
        return None if self.fn is None else self.fn(start, stop)
