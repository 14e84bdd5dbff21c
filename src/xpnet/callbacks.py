"""Callbacks for ``fit``/``evaluate``/``predict``, with Keras's names and arguments.

A callback overrides any of the ``on_*`` hooks. ``fit`` always adds a
:class:`History` (returned by ``fit``) and, unless ``verbose=0``, a
:class:`ProgbarLogger` (a tqdm bar; ``verbose=2`` prints one line per epoch).

Per-batch ``logs`` are computed lazily: reading a value from them copies
the running metrics to the host, so callbacks that do not look at batch logs
cost nothing per step, and the progress bar reads them at most ten times a
second.

>>> import xpnet as xn
>>> stop = xn.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
>>> stop.patience
3
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]

_HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_test_begin",
    "on_test_end",
    "on_predict_begin",
    "on_predict_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)


class Callback:
    """Base class: every hook does nothing. ``self.model`` and ``self.params`` are set by fit.

    ``params`` holds ``verbose``, ``epochs`` and ``steps`` (batches per epoch).
    ``on_batch_begin``/``on_batch_end`` are the training-batch hooks under
    their older names.
    """

    #: Under data-parallel training (:mod:`xpnet.distribution`) ``fit`` runs a
    #: callback with this set (the progress bar, those that write files) on rank 0
    #: only; the others run on every process and see the same (reduced) epoch logs.
    rank_zero_only: bool = False

    def __init__(self) -> None:
        self.model = None
        self.params: dict[str, Any] = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_predict_begin(self, logs=None): ...
    def on_predict_end(self, logs=None): ...
    def on_batch_begin(self, batch, logs=None): ...
    def on_batch_end(self, batch, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...
    def on_predict_batch_begin(self, batch, logs=None): ...
    def on_predict_batch_end(self, batch, logs=None): ...

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)


def _overrides(cb: Callback, hook: str) -> bool:
    if hook in cb.__dict__:
        return True
    if getattr(type(cb), hook) is not getattr(Callback, hook):
        return True
    alias = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}
    other = alias.get(hook)
    return other is not None and _overrides(cb, other)


class CallbackList:
    """Calls each hook on every callback; batch hooks only on those that define them."""

    def __init__(self, callbacks: Iterable[Callback] | None = None, model=None, **params):
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(
                    f"callbacks must be xn.callbacks.Callback instances; got {cb!r}. "
                    "Wrap a function in xn.callbacks.LambdaCallback(on_epoch_end=fn)."
                )
        self.model = model
        self.params = params
        self._active = {h: [cb for cb in self.callbacks if _overrides(cb, h)] for h in _HOOKS}
        for cb in self.callbacks:
            cb.set_params(params)
            if model is not None:
                cb.set_model(model)

    def wants(self, hook: str) -> bool:
        """Whether any callback implements ``hook`` (lets loops skip building logs)."""
        return bool(self._active[hook])

    def _call(self, hook: str, *args) -> None:
        for cb in self._active[hook]:
            getattr(cb, hook)(*args)

    def __getattr__(self, hook: str):
        if hook in _HOOKS:
            return lambda *args: self._call(hook, *args)
        raise AttributeError(hook)


# --------------------------------------------------------------------------- History, progress


class History(Callback):
    """Records the epoch logs: ``history.history["loss"]`` is a list, one value per epoch.

    ``fit`` returns it (and keeps it as ``model.history``); ``plot()`` draws the curves.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def plot(self, metrics=None, ax=None):
        """Draw loss and metric curves, training against validation (needs matplotlib)."""
        from xpnet.plotting import plot_history

        return plot_history(self, metrics=metrics, ax=ax)


def format_logs(logs: Mapping[str, Any]) -> str:
    """``loss: 0.1234 - accuracy: 0.9500`` (Keras's style)."""
    parts = []
    for key, value in logs.items():
        parts.append(f"{key}: {_format_value(value)}")
    return " - ".join(parts)


def _format_value(value) -> str:
    if isinstance(value, (int, float)):
        v = float(value)
        if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
            return f"{v:.4e}"
        return f"{v:.4f}"
    try:
        return "[" + ", ".join(_format_value(float(v)) for v in value) + "]"
    except TypeError:
        return str(value)


class ProgbarLogger(Callback):
    """Progress bar (tqdm) for fit/evaluate/predict, with loss and metrics.

    ``verbose=1``: one bar per epoch, updated at most every ``interval``
    seconds (so the bar costs nothing measurable per step); ``verbose=2``:
    one line per epoch. fit adds it by itself unless ``verbose=0``.
    """

    rank_zero_only = True

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__()
        self.interval = interval
        self._bar = None
        self._in_fit = False

    def _new_bar(self, total, desc):
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=total,
            desc=desc,
            unit="step",
            file=sys.stdout,
            mininterval=self.interval,
            dynamic_ncols=True,
            leave=True,
        )
        self._seen = 0
        self._last = time.monotonic()

    def _advance(self, batch, logs) -> None:
        now = time.monotonic()
        if self._bar is None or now - self._last < self.interval:
            return
        self._last = now
        if logs:
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
        self._bar.update(batch + 1 - self._bar.n)

    def _close(self, logs) -> None:
        bar, self._bar = self._bar, None
        if bar is None:
            return
        if logs:
            bar.set_postfix_str(format_logs(logs), refresh=False)
        if bar.total is not None:
            bar.update(bar.total - bar.n)
        bar.close()

    # fit
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.monotonic()
        verbose = self.params.get("verbose", 1)
        desc = f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}"
        if verbose == 1:
            self._new_bar(self.params.get("steps"), desc)
        self._desc = desc

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.params.get("verbose", 1) == 2:
            secs = time.monotonic() - self._epoch_start
            steps = self.params.get("steps") or 1
            print(
                f"{self._desc} - {secs:.1f}s - {1000 * secs / steps:.0f}ms/step - "
                f"{format_logs(logs or {})}",
                file=sys.stdout,
                flush=True,
            )
        else:
            self._close(logs)

    # evaluate / predict (outside fit)
    def on_test_begin(self, logs=None):
        if not self._in_fit and self.params.get("verbose", 1) == 1:
            self._new_bar(self.params.get("steps"), "Evaluate")

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._advance(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            if self.params.get("verbose", 1) == 2:
                print(format_logs(logs or {}), file=sys.stdout, flush=True)
            self._close(logs)

    def on_predict_begin(self, logs=None):
        if self.params.get("verbose", 1) == 1:
            self._new_bar(self.params.get("steps"), "Predict")

    def on_predict_batch_end(self, batch, logs=None):
        self._advance(batch, None)

    def on_predict_end(self, logs=None):
        self._close(None)


# --------------------------------------------------------------------------- monitoring helpers


_MAXIMIZE = ("acc", "auc", "precision", "recall", "f1", "r2", "fmeasure", "iou")


def monitor_op(monitor: str, mode: str, model=None, who: str = "callback") -> Callable:
    """``better(current, reference)`` for ``monitor`` in ``mode`` ('min', 'max' or 'auto').

    In 'auto' mode: a loss is minimized; a metric compiled into the model
    follows its ``direction``; otherwise names containing acc/auc/precision/
    recall/f1/r2 are maximized. Anything else needs an explicit mode.
    """
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who}: mode {mode!r} is unknown, falling back to 'auto'.", stacklevel=3)
        mode = "auto"
    if mode == "auto":
        mode = _auto_mode(monitor, model)
        if mode is None:
            raise ValueError(
                f"{who} received monitor={monitor!r} but cannot tell whether it should be "
                "maximized or minimized. Pass mode='max' or mode='min'."
            )
    return (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b)


def _auto_mode(monitor: str, model) -> str | None:
    name = monitor.removeprefix("val_")
    if name == "loss" or name.endswith("_loss"):
        return "min"
    for metric in getattr(model, "metrics", None) or []:
        if metric.name == name or name.endswith("_" + metric.name):
            return "max" if getattr(metric, "direction", "up") == "up" else "min"
    lowered = name.lower()
    if any(k in lowered for k in _MAXIMIZE):
        return "max"
    if any(k in lowered for k in ("error", "mse", "mae", "rmse", "loss", "crossentropy")):
        return "min"
    return None


def _monitor_value(logs, monitor: str, who: str):
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(
            f"{who} is conditioned on {monitor!r}, which is not in the logs. Available: "
            f"{', '.join(logs or {}) or 'none'}.",
            stacklevel=3,
        )
    return value


# --------------------------------------------------------------------------- early stopping


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving.

    Args:
        monitor: the log to watch (default ``"val_loss"``).
        min_delta: smaller changes than this do not count as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints when stopping and restoring.
        mode: "min", "max" or "auto" (from the name and the compiled metrics).
        baseline: the value to beat; the patience counter only restarts once
            the monitored value beats both its best so far and ``baseline``.
        restore_best_weights: at the end of training, put back the weights of
            the best epoch.
        start_from_epoch: epochs to wait before watching at all.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        min_delta: float = 0,
        patience: int = 0,
        verbose: int = 0,
        mode: str = "auto",
        baseline: float | None = None,
        restore_best_weights: bool = False,
        start_from_epoch: int = 0,
    ) -> None:
        super().__init__()
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.mode = mode
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._better = None
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def _improved(self, value, reference) -> bool:
        delta = self.min_delta if self._sign > 0 else -self.min_delta
        return self._better(value - delta, reference)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0
        self._better = None

    def on_epoch_end(self, epoch, logs=None):
        if self._better is None:
            self._better = monitor_op(self.monitor, self.mode, self.model, "EarlyStopping")
            self._sign = 1 if self._better(1, 0) else -1
            self.best = -math.inf if self._sign > 0 else math.inf
        current = _monitor_value(logs, self.monitor, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._improved(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(
                    f"Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)


# --------------------------------------------------------------------------- checkpoints


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) during training, atomically.

    Args:
        filepath: where to save; may hold ``{epoch}`` (1-based) and log
            names, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.xpnet"``.
        monitor: the log that decides "best" (with ``save_best_only``).
        verbose: 1 prints a line per save.
        save_best_only: only save when ``monitor`` improved.
        save_weights_only: ``model.save_weights`` instead of ``model.save``.
        mode: "min", "max" or "auto".
        save_freq: "epoch", or an int: save every that many batches.
        initial_value_threshold: the value ``monitor`` must beat first.
    """

    rank_zero_only = True

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
    ) -> None:
        super().__init__()
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(
                f"ModelCheckpoint: save_freq must be 'epoch' or a positive int; got {save_freq!r}."
            )
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = mode
        self.save_freq = save_freq
        self.best = initial_value_threshold
        self._better = None
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, dict(logs or {}))

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs or {})

    def _save(self, epoch, logs) -> None:
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise KeyError(
                f"ModelCheckpoint: filepath {self.filepath!r} names {{{err.args[0]}}}, which is "
                f"not in the logs at this point (available: epoch, {', '.join(logs) or 'none'}). "
                "val_* values exist only with validation data, and only at the end of an epoch "
                "(save_freq='epoch')."
            ) from None
        if self.save_best_only:
            if self._better is None:
                self._better = monitor_op(self.monitor, self.mode, self.model, "ModelCheckpoint")
            current = _monitor_value(logs, self.monitor, "ModelCheckpoint")
            if current is None:
                return
            if self.best is not None and not self._better(current, self.best):
                if self.verbose > 0:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                prev = "inf" if self.best is None else f"{self.best:.5f}"
                print(
                    f"Epoch {epoch + 1}: {self.monitor} improved from {prev} to "
                    f"{current:.5f}, saving model to {path}"
                )
            self.best = current
        elif self.verbose > 0:
            print(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)


# --------------------------------------------------------------------------- learning rate


def _get_lr(model) -> float:
    opt = getattr(model, "optimizer", None)
    if opt is None:
        raise ValueError("This callback needs a compiled model (model.compile(optimizer=...)).")
    lr = opt.learning_rate
    return float(lr) if isinstance(lr, (int, float)) else float(opt.current_learning_rate)


def _set_lr(model, value: float) -> None:
    model.optimizer.learning_rate = float(value)


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

    ``schedule`` may also take only ``epoch``. The rate used is logged as
    ``learning_rate``.
    """

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = _get_lr(self.model)
        try:
            new = self.schedule(epoch, lr)
        except TypeError:  # a schedule of the epoch only
            new = self.schedule(epoch)
        if not isinstance(new, (int, float)) or isinstance(new, bool) or math.isnan(new):
            raise ValueError(
                f"LearningRateScheduler: the schedule must return a float; got {new!r}."
            )
        _set_lr(self.model, new)
        if self.verbose > 0:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {new}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_lr(self.model)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving.

    Args:
        monitor: the log to watch; factor: in (0, 1); patience: epochs without
        improvement before reducing; min_delta: the smallest change that counts;
        cooldown: epochs to wait after a reduction; min_lr: the floor; mode:
        "min", "max" or "auto"; verbose: 1 prints each reduction.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
        **kwargs,
    ) -> None:
        super().__init__()
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0; got factor={factor}."
            )
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected arguments: {sorted(kwargs)}.")
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.mode = mode
        self.min_delta = min_delta
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._better = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs=None):
        self._better = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _get_lr(self.model)
        if self._better is None:
            better = monitor_op(self.monitor, self.mode, self.model, "ReduceLROnPlateau")
            self._max = better(1, 0)
            d = self.min_delta
            self._better = (lambda a, b: a > b + d) if self._max else (lambda a, b: a < b - d)
            self.best = -math.inf if self._max else math.inf
        current = _monitor_value(logs, self.monitor, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current, self.best):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = _get_lr(self.model)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    _set_lr(self.model, new)
                    if self.verbose > 0:
                        print(
                            f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}."
                        )
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


# --------------------------------------------------------------------------- misc


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    It reads the loss after every batch, which costs one device-to-host copy
    per step.
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (``epoch`` first, then the logs)."""

    rank_zero_only = True

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys: list[str] | None = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        has_rows = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._header_written = bool(has_rows)
        self.keys = None
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(
                self._file, fieldnames=["epoch", *self.keys], delimiter=self.sep
            )
            if not self._header_written:
                self._writer.writeheader()
        row = {"epoch": epoch}
        for key in self.keys:
            value = logs.get(key, "NA")
            row[key] = value if isinstance(value, (int, float, str)) else _format_value(value)
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


class LambdaCallback(Callback):
    """A callback made of plain functions, e.g. ``LambdaCallback(on_epoch_end=fn)``.

    ``on_epoch_begin/on_epoch_end(epoch, logs)``, ``on_train_begin/on_train_end(logs)``,
    ``on_train_batch_begin/on_train_batch_end(batch, logs)`` (also under the
    names ``on_batch_begin``/``on_batch_end``), and any other hook by keyword.
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ) -> None:
        super().__init__()
        hooks = dict(kwargs)
        hooks.update(
            on_epoch_begin=on_epoch_begin,
            on_epoch_end=on_epoch_end,
            on_train_begin=on_train_begin,
            on_train_end=on_train_end,
        )
        hooks["on_train_batch_begin"] = on_train_batch_begin or kwargs.pop("on_batch_begin", None)
        hooks["on_train_batch_end"] = on_train_batch_end or kwargs.pop("on_batch_end", None)
        hooks.pop("on_batch_begin", None)
        hooks.pop("on_batch_end", None)
        for name, fn in hooks.items():
            if name not in _HOOKS:
                raise TypeError(
                    f"LambdaCallback: unknown hook {name!r}; valid: {', '.join(_HOOKS)}."
                )
            if fn is not None:
                setattr(self, name, fn)


# --------------------------------------------------------------------------- fault tolerance


class BackupAndRestore(Callback):
    """Back training up to ``backup_dir`` and, when ``fit`` starts again after an
    interruption, restore it and continue from the epoch after the last backup.

    Each backup is ``model.save`` (weights, optimizer state and the random state, written
    atomically) to ``backup_dir/latest.xpnet``, then the next epoch to
    ``backup_dir/latest_training_metadata.json``. At the start of ``fit`` an existing backup is
    loaded with ``load_model`` and copied into the model (weights, then the optimizer
    state), and training starts at the saved epoch. A model that cannot be saved whole
    (a subclassed model without ``get_config``) is backed up with ``save_weights``: its
    optimizer state then starts afresh (a warning says so). When ``fit`` ends normally
    the backup is deleted (``delete_checkpoint``).

    Args:
        backup_dir: a folder for this run's backups (created when needed).
        save_freq: "epoch" (default), or an int: also back up every that many batches
            (a restore still restarts the epoch it was in, as Keras does).
        double_checkpoint: keep the previous backup too, and fall back on it when the
            latest cannot be read.
        delete_checkpoint: delete ``backup_dir`` when training ends (default True).

    Restoring needs a built, compiled model (as Keras). The layers' own ``seed=``
    dropout streams are restored only through the loaded copy (the global stream that
    shuffles and drops is restored). Under data-parallel ``fit`` it runs on rank 0 only
    (only rank 0 writes, restores and deletes); ``fit`` then broadcasts the restored
    weights and optimizer state to the other processes, and every process resumes at
    the restored epoch (the data order after it is drawn anew from rank 0).
    """

    rank_zero_only = True

    def __init__(
        self,
        backup_dir: str | os.PathLike,
        save_freq: str | int = "epoch",
        double_checkpoint: bool = False,
        delete_checkpoint: bool = True,
    ) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError(
                "BackupAndRestore: backup_dir must be a folder path; got an empty one."
            )
        if save_freq != "epoch" and not (
            isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0
        ):
            raise ValueError(
                f"BackupAndRestore: save_freq must be 'epoch' or a positive int; got {save_freq!r}."
            )
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)

        self._epoch = 0
        self._batches = 0
        self._whole = True
        self._checked = False  # whether the first whole backup was read back

    # ------------------------------------------------------------------ restore
    def on_train_begin(self, logs=None):
        from xpnet import saving

        if not any(os.path.exists(self._paths(k)[2]) for k in ("latest", "previous")):
            return
        if not self.model.built:
            raise ValueError(
                "BackupAndRestore: the model must be built before fit() to restore a backup "
                "(call it on a batch of data or start it with xn.Input)."
            )
        try:
            epoch = self._restore("latest")
        except (saving.LoadError, OSError, ValueError):
            if not (self.double_checkpoint and os.path.exists(self._paths("previous")[2])):
                raise
            epoch = self._restore("previous")
        self._epoch = epoch
        self.model._resume_epoch = epoch  # fit starts its epoch loop here

    def _own_class(self) -> dict:
        """The model's class by name, so that a subclassed model with a get_config
        rebuilds without custom_objects."""
        cls = type(self.model)
        return {cls.__name__: cls}

    def _paths(self, kind: str) -> tuple[str, str, str]:
        """(model file, weights file, metadata file) of the "latest" or "previous" backup."""
        folder = self.backup_dir
        return (
            os.path.join(folder, f"{kind}.xpnet"),
            os.path.join(folder, f"{kind}.weights.npz"),
            os.path.join(folder, f"{kind}_training_metadata.json"),
        )

    def _restore(self, kind: str) -> int:
        import json

        from xpnet import saving

        model_path, weights_path, meta_path = self._paths(kind)
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        epoch = meta.get("epoch") if isinstance(meta, dict) else None
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise saving.LoadError(f"{meta_path}: expected {{'epoch': int >= 0}}; got {meta!r}.")
        if meta.get("whole", True):
            loaded = saving.load_model(model_path, custom_objects=self._own_class())
            self.model.set_weights(loaded.get_weights())
            mine, theirs = getattr(self.model, "optimizer", None), loaded.optimizer
            if mine is not None and theirs is not None:
                mine.set_state(theirs.get_state(), self.model.trainable_weights)
        else:
            self.model.load_weights(weights_path)
        return epoch

    # ------------------------------------------------------------------ backup
    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._backup(self._epoch)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._backup(epoch + 1)

    def _backup(self, next_epoch: int) -> None:
        import json

        from xpnet import saving

        os.makedirs(self.backup_dir, exist_ok=True)
        latest, previous = self._paths("latest"), self._paths("previous")
        if self.double_checkpoint and os.path.exists(latest[2]):
            for path, copy in zip(latest, previous):
                if os.path.exists(path):
                    with open(path, "rb") as src, saving.atomic_write(copy) as dst:
                        dst.write(src.read())
        if self._whole:
            try:
                self.model.save(latest[0])
                if not self._checked:  # a model file that cannot be rebuilt is no backup
                    saving.load_model(latest[0], custom_objects=self._own_class())
                    self._checked = True
            except (ValueError, TypeError) as err:  # LoadError is a ValueError
                self._whole = False
                warnings.warn(
                    f"BackupAndRestore: backing up weights only, as the model cannot be "
                    f"saved and rebuilt whole ({str(err)[:200]}); the optimizer state will "
                    "start afresh after a restore.",
                    stacklevel=2,
                )
        if not self._whole:
            self.model.save_weights(latest[1])
        meta = {"epoch": int(next_epoch), "whole": self._whole}
        with saving.atomic_write(latest[2]) as f:  # last: it names a complete backup
            f.write(json.dumps(meta).encode("utf-8"))

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            import shutil

            shutil.rmtree(self.backup_dir)


# --------------------------------------------------------------------------- TensorBoard


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as err:
        raise ImportError(
            "TensorBoard needs a TensorBoard event writer: pip install tensorboardX "
            '(or pip install "xpnet[tensorboard]").'
        ) from err
    return SummaryWriter


class TensorBoard(Callback):
    """Write logs for TensorBoard (through tensorboardX's event writer) under ``log_dir``:
    ``train/`` and ``validation/`` runs as Keras writes them.

    Per epoch: ``epoch_<metric>`` for every log (``val_`` ones in ``validation/``) and
    ``epoch_learning_rate``; with ``write_steps_per_second``, ``epoch_steps_per_second``.
    With ``update_freq`` an int: ``batch_<metric>`` every that many batches (reading the
    running metrics then). With ``histogram_freq`` N > 0: a histogram of every weight
    every N epochs.

    Args:
        log_dir: the folder (default "logs").
        histogram_freq: epochs between weight histograms (0: none).
        write_graph: accepted; no graph is written (xpnet's graph is define-by-run).
        write_images, profile_batch, embeddings_freq, embeddings_metadata: only their
            "off" values (not implemented).
        write_steps_per_second: also log training steps per second.
        update_freq: "epoch" (default), "batch" (every batch) or an int.

    Raises ImportError (naming the package to install) when tensorboardX is missing.
    """

    rank_zero_only = True

    def __init__(
        self,
        log_dir: str | os.PathLike = "logs",
        histogram_freq: int = 0,
        write_graph: bool = True,
        write_images: bool = False,
        write_steps_per_second: bool = False,
        update_freq: str | int = "epoch",
        profile_batch: int = 0,
        embeddings_freq: int = 0,
        embeddings_metadata=None,
    ) -> None:
        super().__init__()
        self._writer_class = _summary_writer_class()
        for name, value, off in (
            ("write_images", write_images, False),
            ("profile_batch", profile_batch, 0),
            ("embeddings_freq", embeddings_freq, 0),
            ("embeddings_metadata", embeddings_metadata, None),
        ):
            if value != off:
                raise ValueError(
                    f"TensorBoard: {name}={value!r} is not implemented in xpnet; leave it at "
                    f"{off!r}."
                )
        if (
            isinstance(histogram_freq, bool)
            or not isinstance(histogram_freq, int)
            or (histogram_freq < 0)
        ):
            raise ValueError(
                f"TensorBoard: histogram_freq must be an int >= 0; got {histogram_freq!r}."
            )
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (
            isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq > 0
        ):
            raise ValueError(
                "TensorBoard: update_freq must be 'epoch', 'batch' or a positive int; got "
                f"{update_freq!r}."
            )
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_graph = bool(write_graph)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = update_freq
        self._writers: dict[str, Any] = {}
        self._step = 0
        self._epoch_start = 0.0

    def _writer(self, run: str):
        if run not in self._writers:
            self._writers[run] = self._writer_class(os.path.join(self.log_dir, run))
        return self._writers[run]

    def on_train_begin(self, logs=None):
        self._step = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self._epoch_steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._epoch_steps += 1
        if self.update_freq == "epoch" or self._step % self.update_freq:
            return
        train = self._writer("train")
        for key, value in dict(logs or {}).items():
            train.add_scalar(f"batch_{key}", float(value), self._step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train, val = self._writer("train"), None
        for key, value in logs.items():
            if key.startswith("val_"):
                val = val or self._writer("validation")
                val.add_scalar(f"epoch_{key[4:]}", float(value), epoch)
            else:
                train.add_scalar(f"epoch_{key}", float(value), epoch)
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and "learning_rate" not in logs:
            train.add_scalar("epoch_learning_rate", _get_lr(self.model), epoch)
        if self.write_steps_per_second:
            seconds = max(time.perf_counter() - self._epoch_start, 1e-12)
            train.add_scalar("epoch_steps_per_second", self._epoch_steps / seconds, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            from xpnet import backend as B

            for w in self.model.weights:
                train.add_histogram(w.name, B.to_numpy(w.data), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
