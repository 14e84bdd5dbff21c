"""What ``compile`` sets up: the optimizer, one loss and a list of metrics per output.

Strings go through the families' ``get()`` (``"adam"``, ``"mse"``,
``"sparse_categorical_crossentropy"``, ``"accuracy"``); objects pass through.
``"accuracy"``/``"acc"`` become binary, categorical or sparse categorical
accuracy, chosen from the loss (and failing that, from the shapes), as Keras
does. Metrics are resolved at the first batch, when the shapes are known.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from xpnet import _checks, losses
from xpnet import backend as B
from xpnet import metrics as metrics_mod
from xpnet.layers import _mask

__all__ = ["Compiled", "LossTracker", "resolve_loss", "resolve_optimizer"]


class LossTracker(metrics_mod.Mean):
    """The batch-size-weighted mean of batch losses (kept on the device until read)."""

    direction = "down"

    def add(self, value, n: int) -> None:
        v = value * n if n != 1 else value
        self.total = v if self.total is None else self.total + v
        self.count += n


def _is_plain_function(obj) -> bool:
    return (
        inspect.isfunction(obj)
        or inspect.isbuiltin(obj)
        or inspect.ismethod(obj)
        or isinstance(obj, functools.partial)
    )


def _mask_weights(mask, sample_weight, like):
    """A boolean ``(batch, steps)`` mask as float weights, times per-sample weights."""
    xp = like.xp
    w = xp.astype(mask, like.data.dtype)
    if sample_weight is not None:
        sw = B.asarray(getattr(sample_weight, "data", sample_weight), like.data.dtype)
        while sw.ndim < w.ndim:
            sw = sw[..., None]
        w = w * sw
    return w


def resolve_loss(identifier):
    """A callable ``loss(y_true, y_pred, sample_weight=None) -> scalar Tensor`` (or None)."""
    if identifier is None:
        return None
    from xpnet import losses

    if isinstance(identifier, (str, Mapping)):
        return losses.get_object(identifier)  # "mse" -> MeanSquaredError(), as Keras wraps it
    if isinstance(identifier, type):
        return identifier()
    if _is_plain_function(identifier):  # fn(y_true, y_pred) -> per-sample losses
        if losses.functions.function_name(identifier) is not None:  # xpnet's own: its class
            return losses.get_object(identifier)
        return losses.LossFunctionWrapper(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Cannot use {identifier!r} as a loss: expected a name such as "
        "'sparse_categorical_crossentropy', a Loss object or a function fn(y_true, y_pred)."
    )


def resolve_optimizer(identifier):
    if isinstance(identifier, (str, Mapping)):
        from xpnet import optimizers

        return optimizers.get(identifier)
    if isinstance(identifier, type):
        return identifier()
    if identifier is None:
        raise ValueError("compile() needs an optimizer, e.g. optimizer='adam'.")
    return identifier


def _loss_name(loss) -> str:
    parts = [type(loss).__name__, str(getattr(loss, "name", "") or "")]
    fn = getattr(loss, "fn", None)  # a LossFunctionWrapper's function
    if fn is not None:
        parts.append(getattr(fn, "__name__", ""))
    return " ".join(parts).lower().replace("_", "")


def _accuracy_for(loss, y_true, y_pred) -> metrics_mod.Metric:
    name = _loss_name(loss) if loss is not None else ""
    if "binary" in name:
        return metrics_mod.BinaryAccuracy()
    if "sparsecategorical" in name:
        return metrics_mod.SparseCategoricalAccuracy()
    if "categorical" in name:
        return metrics_mod.CategoricalAccuracy()
    ts, ps = tuple(y_true.shape), tuple(y_pred.shape)
    if ps and ps[-1] == 1:
        return metrics_mod.BinaryAccuracy()
    if len(ts) < len(ps) or (ts and ts[-1] == 1 and ps[-1] > 1):
        return metrics_mod.SparseCategoricalAccuracy()
    return metrics_mod.CategoricalAccuracy()


def _metric(identifier, loss, y_true, y_pred) -> metrics_mod.Metric:
    if isinstance(identifier, str) and identifier.lower() in ("accuracy", "acc"):
        metric = _accuracy_for(loss, y_true, y_pred)
        metric.name = identifier
        return metric
    if isinstance(identifier, metrics_mod.Metric):
        return identifier
    return metrics_mod.get(identifier)


def _per_output(spec, names: list[str], what: str, broadcast: bool) -> list:
    """``spec`` as one entry per output (a single value is repeated when ``broadcast``)."""
    n = len(names)
    if isinstance(spec, Mapping):
        unknown = sorted(set(spec) - set(names))
        if unknown:
            raise ValueError(
                f"compile(): {what} names unknown outputs {unknown}; the outputs are {names}."
            )
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)) and not broadcast:
        if len(spec) != n:
            raise ValueError(
                f"compile(): {what} has {len(spec)} entries but the model has {n} outputs {names}."
            )
        return list(spec)
    return [spec] * n


def _check_loss_weights(spec):
    """None, a number, or a list / dict of numbers (or None): checked at compile time,
    as finite numbers, rather than failing at the first batch."""
    if spec is None:
        return None
    values = spec.values() if isinstance(spec, Mapping) else spec
    if not isinstance(spec, (Mapping, list, tuple)):
        values = [spec]
    for v in values:
        if v is not None:
            _checks.number(
                "compile()",
                "loss_weights",
                v,
                "finite numbers (one, a list or a dict)",
                lambda v: True,
            )
    return spec


class Compiled:
    """The compiled state of a model: optimizer, per-output losses/metrics, trackers."""

    def __init__(self, optimizer, loss, loss_weights, metrics, weighted_metrics) -> None:
        self.optimizer = resolve_optimizer(optimizer)
        self.loss_spec = loss
        self.loss_weights_spec = _check_loss_weights(loss_weights)
        self.metrics_spec = metrics
        self.weighted_spec = weighted_metrics
        self.loss_tracker = LossTracker(name="loss")
        self.built = False
        self._prebuilt_losses = _prebuild_losses(loss)

    # ------------------------------------------------------------------ build at the first batch
    def build(self, output_names: list[str], ys: Sequence, outs: Sequence) -> None:
        n = len(outs)
        if len(output_names) != n:
            output_names = [f"output_{i}" for i in range(n)] if n > 1 else ["output"]
        self.output_names = output_names
        if ys and len(ys) != n:
            raise ValueError(
                f"The model has {n} outputs ({output_names}) but {len(ys)} target arrays were "
                "given. Pass y as a list (or a dict by output name) with one array per output."
            )
        loss = self.loss_spec
        if isinstance(loss, (list, tuple, Mapping)):
            specs = _per_output(loss, output_names, "loss", broadcast=False)
            self.losses = [resolve_loss(s) for s in specs]
        else:
            self.losses = [self._prebuilt_losses] + [resolve_loss(loss) for _ in range(n - 1)]
        weights = self.loss_weights_spec
        if weights is None:
            self.loss_weights = [1.0] * n
        elif isinstance(weights, (int, float)):
            self.loss_weights = [float(weights)] * n
        else:
            w = _per_output(weights, output_names, "loss_weights", broadcast=False)
            self.loss_weights = [1.0 if v is None else float(v) for v in w]
        self.metrics = self._build_metrics(self.metrics_spec, ys, outs)
        self.weighted = self._build_metrics(self.weighted_spec, ys, outs)
        self.out_trackers = (
            [LossTracker(name=f"{name}_loss") for name in output_names] if n > 1 else None
        )
        self.built = True

    def _build_metrics(self, spec, ys, outs) -> list[list[metrics_mod.Metric]]:
        n = len(outs)
        if spec is None:
            return [[] for _ in range(n)]
        if isinstance(spec, Mapping):
            per = _per_output(spec, self.output_names, "metrics", broadcast=False)
        elif (
            isinstance(spec, (list, tuple))
            and spec
            and all(isinstance(s, (list, tuple)) or s is None for s in spec)
        ):
            per = _per_output(list(spec), self.output_names, "metrics", broadcast=False)
        elif isinstance(spec, (list, tuple)):
            per = [list(spec)] * n
        else:
            raise TypeError(
                f"compile(metrics=...) expects a list, a list of lists or a dict; got {spec!r}."
            )
        out: list[list[metrics_mod.Metric]] = []
        for i, entry in enumerate(per):
            entry = [] if entry is None else entry
            entry = entry if isinstance(entry, (list, tuple)) else [entry]
            ms = []
            for ident in entry:
                y_true = ys[i] if ys else outs[i].data
                m = _metric(ident, self.losses[i], y_true, outs[i].data)
                if n > 1:
                    if isinstance(ident, metrics_mod.Metric):  # one object per output
                        m = type(m).from_config(m.get_config())
                    m.name = f"{self.output_names[i]}_{m.name}"
                ms.append(m)
            out.append(ms)
        return out

    # ------------------------------------------------------------------ per step
    def loss(self, ys, outs, sws, n: int, extras):
        """The total loss Tensor (weighted outputs + regularization); updates the trackers."""
        total = None
        trackers = self.out_trackers
        for i, fn in enumerate(self.losses):
            if fn is None:
                continue
            sw = sws[i] if sws else None
            mask = _mask.get_mask(outs[i]) if _mask.any_masks() else None
            if mask is None:
                value = fn(ys[i], outs[i], sample_weight=sw)
            elif isinstance(fn, losses.Loss):  # Keras: the output's mask marks valid entries
                value = fn(ys[i], outs[i], sample_weight=sw, mask=mask)
            else:  # a custom callable: the mask joins the sample weights
                value = fn(ys[i], outs[i], sample_weight=_mask_weights(mask, sw, outs[i]))
            if trackers is not None:
                trackers[i].add(value.data, n)
            w = self.loss_weights[i]
            term = value if w == 1.0 else value * w
            total = term if total is None else total + term
        for extra in extras:
            total = extra if total is None else total + extra
        if total is None:
            raise ValueError(
                "No loss to optimize: compile the model with loss=..., e.g. "
                "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')."
            )
        self.loss_tracker.add(total.data, n)
        return total

    def check_targets(self, ys, outs) -> None:
        """Check whole target arrays (one per output, None to skip) with the outputs' losses:
        once, before the first step (host data on the host, device data with one read)."""
        for fn, y, out in zip(self.losses, ys, outs):
            check = getattr(fn, "check_targets", None)
            if check is not None and y is not None:
                check(y, tuple(out.shape))

    def update_metrics(self, ys, outs, sws) -> None:
        masks = [_mask.get_mask(o) for o in outs] if _mask.any_masks() else None
        for i, ms in enumerate(self.metrics):
            if ms:
                y, p = ys[i], outs[i].data
                mask = masks[i] if masks else None
                for m in ms:
                    if mask is not None and isinstance(m, metrics_mod.Mean):
                        # as Keras's reduction metrics: masked-out entries weigh 0
                        m.update_state(y, p, sample_weight=_mask_weights(mask, None, outs[i]))
                    else:
                        m.update_state(y, p)
        for i, ms in enumerate(self.weighted):
            if ms:
                y, p, w = ys[i], outs[i].data, sws[i] if sws else None
                mask = masks[i] if masks else None
                for m in ms:
                    if mask is not None and isinstance(m, metrics_mod.Mean):
                        m.update_state(y, p, sample_weight=_mask_weights(mask, w, outs[i]))
                    else:
                        m.update_state(y, p, sample_weight=w)

    # ------------------------------------------------------------------ reading
    def metric_objects(self) -> list[metrics_mod.Metric]:
        objs: list[metrics_mod.Metric] = [self.loss_tracker]
        if self.built:
            objs += self.out_trackers or []
            for ms in (*self.metrics, *self.weighted):
                objs += ms
        return objs

    def reset(self) -> None:
        for m in self.metric_objects():
            m.reset_state()

    def results(self) -> dict[str, Any]:
        """Every tracker and metric by name (copies the sums to the host)."""
        return {m.name: m.result() for m in self.metric_objects()}

    # ------------------------------------------------------------------ saving
    def get_config(self) -> dict[str, Any]:
        from xpnet import optimizers

        return {
            "optimizer": optimizers.serialize(self.optimizer),
            "loss": _serialize_loss(self.loss_spec),
            "loss_weights": self.loss_weights_spec,
            "metrics": _serialize_metrics(self.metrics_spec),
            "weighted_metrics": _serialize_metrics(self.weighted_spec),
        }


def _prebuild_losses(loss):
    """Resolve a single loss at compile time, so a bad name fails early."""
    if isinstance(loss, (list, tuple, Mapping)):
        for spec in loss.values() if isinstance(loss, Mapping) else loss:
            resolve_loss(spec)
        return None
    return resolve_loss(loss)


def _serialize_loss(spec):
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, Mapping):
        return {k: _serialize_loss(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_serialize_loss(v) for v in spec]
    from xpnet import losses

    return losses.serialize(spec)


def _serialize_metrics(spec):
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, Mapping):
        return {k: _serialize_metrics(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return [_serialize_metrics(v) for v in spec]
    return metrics_mod.serialize(spec)
