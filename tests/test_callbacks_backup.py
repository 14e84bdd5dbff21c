"""BackupAndRestore: a run interrupted mid-training and started again ends where an
uninterrupted run ends (weights, optimizer state, shuffling); weights-only fallback for a
model that cannot be saved whole; the previous backup when the latest is damaged."""

from __future__ import annotations

import json

import numpy as np
import pytest

import xpnet as xn
from xpnet import callbacks as C


class Interrupt(C.Callback):
    """Raises at the end of epoch ``at`` (0-based), after the backup was written."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt("simulated interruption")


def _model(seed=0):
    xn.set_seed(seed)
    model = xn.Sequential([
        xn.Input((4,)),
        xn.layers.Dense(8, activation="relu"),
        xn.layers.Dropout(0.2),
        xn.layers.Dense(3),
    ])  # fmt: skip
    model.compile(
        xn.optimizers.Adam(0.01),
        xn.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def _data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((40, 4)).astype("float32"), rng.integers(0, 3, 40)


def _fit(model, callbacks, epochs=5):
    x, y = _data()
    return model.fit(x, y, batch_size=8, epochs=epochs, callbacks=callbacks, verbose=0)


def test_interrupted_run_resumes_to_the_same_end(tmp_path):
    straight = _model()
    xn.set_seed(7)
    _fit(straight, [])

    backup = tmp_path / "backup"
    model = _model()
    xn.set_seed(7)
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [C.BackupAndRestore(backup), Interrupt(at=2)])
    meta = json.loads((backup / "latest_training_metadata.json").read_text())
    assert meta == {"epoch": 3, "whole": True}

    again = _model(seed=123)  # a fresh process: other initial weights, fresh optimizer
    xn.set_seed(99)  # and another random stream: the backup's is restored
    history = _fit(again, [C.BackupAndRestore(backup)])
    assert len(history.history["loss"]) == 2  # epochs 4 and 5 only
    assert again.optimizer.iterations == straight.optimizer.iterations == 25
    for a, b in zip(again.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not backup.exists()  # deleted when training ended


def test_batch_backups_restart_the_epoch_they_were_in(tmp_path):
    backup = tmp_path / "b"

    class StopAt(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.model.optimizer.iterations == 8:  # epoch 1 (0-based), batch 2
                raise KeyboardInterrupt

    model = _model()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [C.BackupAndRestore(backup, save_freq=3), StopAt()])
    meta = json.loads((backup / "latest_training_metadata.json").read_text())
    assert meta["epoch"] == 1  # backed up after 6 batches: inside epoch 1
    again = _model(seed=5)
    history = _fit(again, [C.BackupAndRestore(backup, delete_checkpoint=False)], epochs=3)
    assert len(history.history["loss"]) == 2
    assert backup.exists()


class NoConfig(xn.Model):
    def __init__(self):
        super().__init__()
        self.dense = xn.layers.Dense(3)

    def call(self, x):
        return self.dense(x)


def test_model_without_config_falls_back_to_weights(tmp_path):
    backup = tmp_path / "b"
    model = NoConfig()
    model(np.zeros((1, 4), "float32"))
    model.compile("sgd", xn.losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.warns(UserWarning, match="weights only"):
        with pytest.raises(KeyboardInterrupt):
            _fit(model, [C.BackupAndRestore(backup), Interrupt(at=1)])
    assert (backup / "latest.weights.npz").exists()
    saved = model.get_weights()
    other = NoConfig()
    other(np.zeros((1, 4), "float32"))
    other.compile("sgd", xn.losses.SparseCategoricalCrossentropy(from_logits=True))
    restore = C.BackupAndRestore(backup)
    restore.set_model(other)
    restore.on_train_begin()
    for a, b in zip(other.get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    assert other._resume_epoch == 2


def test_double_checkpoint_falls_back_on_the_previous_backup(tmp_path):
    backup = tmp_path / "b"
    model = _model()
    with pytest.raises(KeyboardInterrupt):
        _fit(model, [C.BackupAndRestore(backup, double_checkpoint=True), Interrupt(at=2)])
    (backup / "latest.xpnet").write_bytes(b"not a zip file")  # damaged
    again = _model(seed=3)
    restore = C.BackupAndRestore(backup, double_checkpoint=True)
    restore.set_model(again)
    restore.on_train_begin()
    assert again._resume_epoch == 2  # the previous backup: after epoch 2 of 3
    with pytest.raises(xn.saving.LoadError):
        single = C.BackupAndRestore(backup)
        single.set_model(_model())
        single.on_train_begin()


def test_backup_arguments_are_checked():
    with pytest.raises(ValueError, match="backup_dir"):
        C.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        C.BackupAndRestore("x", save_freq=0)
