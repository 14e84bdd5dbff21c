"""Callbacks: History, progress bar, early stopping, checkpoints, learning-rate control, logs."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

import xpnet as xn
from xpnet import callbacks as C
from xpnet.layers import Dense


class Scripted(C.Callback):
    """Writes a scripted value into the epoch logs (so monitors see a known sequence)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, list(values)

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def small_model(seed=0, metrics=("accuracy",)):
    xn.set_seed(seed)
    model = xn.Sequential([xn.Input(shape=(3,)), Dense(3, activation="softmax")])
    model.compile(
        optimizer=xn.optimizers.SGD(0.1),
        loss=xn.losses.SparseCategoricalCrossentropy(),
        metrics=list(metrics),
    )
    return model


def data(n=16):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)).astype(np.float32), rng.integers(0, 3, n)


def run(callbacks, epochs=6, **kw):
    x, y = data()
    model = small_model()
    history = model.fit(x, y, batch_size=8, epochs=epochs, callbacks=callbacks, verbose=0, **kw)
    return model, history


def test_hooks_are_called_in_keras_order():
    calls = []
    cb = C.LambdaCallback(
        on_train_begin=lambda logs: calls.append("train_begin"),
        on_epoch_begin=lambda e, logs: calls.append(f"epoch_begin {e}"),
        on_batch_end=lambda b, logs: calls.append(f"batch_end {b}"),
        on_epoch_end=lambda e, logs: calls.append(f"epoch_end {e} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("train_end"),
    )
    run([cb], epochs=2)
    assert calls == [
        "train_begin",
        "epoch_begin 0",
        "batch_end 0",
        "batch_end 1",
        "epoch_end 0 ['accuracy', 'loss']",
        "epoch_begin 1",
        "batch_end 0",
        "batch_end 1",
        "epoch_end 1 ['accuracy', 'loss']",
        "train_end",
    ]
    with pytest.raises(TypeError, match="unknown hook"):
        C.LambdaCallback(on_epoch_ending=print)
    with pytest.raises(TypeError, match="Callback instances"):
        run([print])


def test_batch_logs_are_lazy_and_hold_running_values():
    seen = []
    cb = C.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(dict(logs)))
    _, h = run([cb], epochs=1)
    assert set(seen[-1]) == {"loss", "accuracy"}
    assert seen[-1]["loss"] == pytest.approx(h.history["loss"][0])


def test_progress_bar_verbose_levels(capsys):
    x, y = data()
    model = small_model()
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, batch_size=8, epochs=2, verbose=2, validation_split=0.25)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Epoch 1/2 - ")
    assert "loss: " in lines[0] and "val_accuracy: " in lines[0]
    model.fit(x, y, batch_size=8, epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "Epoch 1/1" in out and "2/2" in out and "accuracy: " in out
    model.evaluate(x, y, verbose=1)
    assert "Evaluate" in capsys.readouterr().out
    model.predict(x, verbose=1)
    assert "Predict" in capsys.readouterr().out


def test_progress_bar_reads_the_metrics_at_most_every_interval(monkeypatch):
    x, y = data(64)
    model = small_model()
    reads = []
    compiled = model._state.compiled
    original = compiled.results
    monkeypatch.setattr(compiled, "results", lambda: reads.append(1) or original())
    bar = C.ProgbarLogger(interval=3600.0)  # an hour: no refresh inside this short epoch
    model.fit(x, y, batch_size=1, epochs=1, callbacks=[bar], verbose=1)
    assert len(reads) == 1  # the epoch end only, not 64 batch reads


def test_history_records_every_epoch():
    _, h = run([], epochs=3, validation_split=0.25)
    assert h.epoch == [0, 1, 2]
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 3 for v in h.history.values())


@pytest.mark.parametrize(
    "kw, values, stopped_after, best_epoch",
    [
        ({"patience": 2}, [5, 4, 4.5, 4.2, 3, 2], 4, 1),
        ({"patience": 2, "min_delta": 0.5}, [5, 4.8, 4.6, 4.4, 4, 3], 3, 0),
        ({"patience": 1, "mode": "max", "monitor": "score"}, [1, 2, 1.5, 3, 0, 0], 3, 1),
        ({"patience": 10, "baseline": 1.0}, [5, 4, 3, 2, 1.5, 1.2], 6, 5),
        ({"patience": 0, "start_from_epoch": 3}, [5, 6, 7, 8, 7, 9], 6, 4),
    ],
)
def test_early_stopping(kw, values, stopped_after, best_epoch):
    monitor = kw.get("monitor", "val_loss")
    stop = C.EarlyStopping(restore_best_weights=True, **{"monitor": monitor, **kw})
    snapshots = []
    snap = C.LambdaCallback(
        on_epoch_end=lambda e, logs: snapshots.append([w.copy() for w in model.get_weights()])
    )
    model, h = None, None
    x, y = data()
    model = small_model()
    h = model.fit(
        x, y, batch_size=8, epochs=6, verbose=0, callbacks=[Scripted(monitor, values), snap, stop]
    )
    assert len(h.epoch) == stopped_after
    for got, want in zip(model.get_weights(), snapshots[best_epoch]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_auto_mode_needs_a_known_direction():
    with pytest.warns(UserWarning, match="not in the logs"):
        run([C.EarlyStopping(monitor="val_loss")], epochs=2)  # no validation data
    with pytest.raises(ValueError, match="mode='max'"):
        run([Scripted("mystery", [1] * 6), C.EarlyStopping(monitor="mystery")], epochs=2)
    _, h = run(
        [
            Scripted("val_accuracy", [0.5, 0.6, 0.4, 0.3, 0.2, 0.1]),
            C.EarlyStopping(monitor="val_accuracy", patience=1),
        ]
    )
    assert len(h.epoch) == 3  # maximized: 0.6 improves, 0.4 stops it (minimizing stops at 0.6)


def test_model_checkpoint_best_only_and_formatting(tmp_path):
    path = str(tmp_path / "ckpt-{epoch:02d}-{val_loss:.1f}.weights.npz")
    cb = C.ModelCheckpoint(path, save_best_only=True, save_weights_only=True)
    run([Scripted("val_loss", [3, 2, 2.5, 1, 4, 5]), cb])
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "ckpt-01-3.0.weights.npz",
        "ckpt-02-2.0.weights.npz",
        "ckpt-04-1.0.weights.npz",
    ]
    assert cb.best == 1


def test_model_checkpoint_full_model_each_epoch_and_by_batches(tmp_path):
    path = tmp_path / "model.xpnet"
    model, _ = run([C.ModelCheckpoint(path, monitor="loss")], epochs=2)
    loaded = xn.models.load_model(path, compile=False)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    saves = []

    class Counting(C.ModelCheckpoint):
        def _save(self, epoch, logs):
            saves.append(epoch)

    run([Counting(tmp_path / "x", save_freq=3)], epochs=3)  # 2 batches per epoch
    assert saves == [1, 2]
    with pytest.raises(ValueError, match="save_freq"):
        C.ModelCheckpoint("x", save_freq=0)


def test_learning_rate_scheduler_sets_and_logs_the_rate():
    model, h = run([C.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))], epochs=3)
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.1 / 3])
    assert model.optimizer.learning_rate == pytest.approx(0.1 / 3)
    _, h = run([C.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], epochs=2)
    assert h.history["learning_rate"] == pytest.approx([0.01, 0.02])
    with pytest.raises(ValueError, match="must return a float"):
        run([C.LearningRateScheduler(lambda epoch, lr: "fast")], epochs=1)


def test_reduce_lr_on_plateau():
    cb = C.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, cooldown=2, min_lr=0.03)
    _, h = run([Scripted("val_loss", [1.0, 1.0, 1.0, 1.0, 1.0, 0.5]), cb])
    # epoch 1: no improvement -> halve; epochs 2-3 cool down (no counting in 2, the counter
    # expires in 3 and counts it); epoch 3: halve again, clipped at min_lr; epoch 5 improves
    assert h.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.03, 0.03])
    with pytest.raises(ValueError, match="factor >= 1.0"):
        C.ReduceLROnPlateau(factor=1.5)


def test_terminate_on_nan():
    x, _y = data()
    model = small_model()
    model.compile(optimizer=xn.optimizers.SGD(1e30), loss=xn.losses.MeanSquaredError())
    target = np.full((16, 3), 1e30, dtype=np.float32)
    with np.errstate(all="ignore"):
        h = model.fit(x, target, batch_size=2, epochs=3, verbose=0, callbacks=[C.TerminateOnNaN()])
    assert len(h.epoch) == 1
    assert model.optimizer.iterations < 8
    assert not math.isfinite(h.history["loss"][0])


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    run([C.CSVLogger(path)], epochs=2)
    run([C.CSVLogger(path, append=True)], epochs=1)
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "0"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy"}
    assert float(rows[1]["loss"]) > 0


def test_lambda_callback_accepts_any_hook():
    tests = []
    x, y = data()
    model = small_model()
    model.evaluate(
        x,
        y,
        verbose=0,
        callbacks=[C.LambdaCallback(on_test_end=lambda logs: tests.append(sorted(logs)))],
    )
    assert tests == [["accuracy", "loss"]]
