"""TensorBoard: the scalars and histograms fit writes, read back from the event files
(TFRecord framing, tensorboardX's Event protobuf); a clear ImportError without a writer."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

import xpnet as xn
from xpnet import callbacks as C


def _events(folder: Path) -> list:
    from tensorboardX.proto import event_pb2

    out = []
    for path in sorted(folder.glob("events.out.tfevents.*")):
        raw = path.read_bytes()
        pos = 0
        while pos < len(raw):
            (length,) = struct.unpack("<Q", raw[pos : pos + 8])
            data = raw[pos + 12 : pos + 12 + length]  # after length and its crc
            pos += 12 + length + 4  # and the data's crc
            out.append(event_pb2.Event.FromString(data))
    return out


def _scalars(folder: Path) -> dict:
    found: dict = {}
    for ev in _events(folder):
        for v in ev.summary.value:
            if v.HasField("simple_value"):
                found.setdefault(v.tag, []).append((ev.step, v.simple_value))
    return found


def _fit(callback, epochs=3):
    xn.set_seed(0)
    model = xn.Sequential([xn.Input((4,)), xn.layers.Dense(3)])
    model.compile(
        xn.optimizers.SGD(0.1),
        xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 4)).astype("float32"), rng.integers(0, 3, 32)
    history = model.fit(
        x, y, batch_size=8, epochs=epochs, validation_split=0.25, callbacks=[callback],
        verbose=0,
    )  # fmt: skip
    return model, history


def test_epoch_and_batch_scalars_and_histograms(tmp_path):
    pytest.importorskip("tensorboardX")
    tb = C.TensorBoard(tmp_path, histogram_freq=2, update_freq=2, write_steps_per_second=True)
    model, history = _fit(tb)
    train, val = _scalars(tmp_path / "train"), _scalars(tmp_path / "validation")
    np.testing.assert_allclose([v for _, v in train["epoch_loss"]], history.history["loss"],
                               rtol=1e-6)  # fmt: skip
    assert [s for s, _ in train["epoch_loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in val["epoch_accuracy"]],
                               history.history["val_accuracy"], rtol=1e-6)  # fmt: skip
    assert [v for _, v in train["epoch_learning_rate"]] == pytest.approx([0.1] * 3)
    assert len(train["epoch_steps_per_second"]) == 3
    assert [s for s, _ in train["batch_loss"]] == [2, 4, 6, 8]  # 9 batches: 24 samples by 8
    tags = {
        v.tag for ev in _events(tmp_path / "train") for v in ev.summary.value
        if v.HasField("histo")
    }  # fmt: skip
    assert tags == {w.name for w in model.weights}


def test_missing_writer_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        C.TensorBoard("logs")


def test_unimplemented_options_are_refused():
    pytest.importorskip("tensorboardX")
    with pytest.raises(ValueError, match="profile_batch"):
        C.TensorBoard("logs", profile_batch=5)
    with pytest.raises(ValueError, match="update_freq"):
        C.TensorBoard("logs", update_freq=0)
