"""compile / fit / evaluate / predict and the batch-level calls, as a mixin of Model.

The training step is kept lean (the MLP benchmark compares it with a
hand-written NumPy loop): per batch it slices and moves only that batch,
runs forward, loss, backward and one optimizer step, then adds the batch to
the metrics' running sums on the device. Nothing is copied back to the host
per step unless a callback reads the batch logs (the progress bar does, at
most ten times a second). Where the backend traces (JAX), the same step code is
compiled whole, once per input shape (``compile(jit_compile=...)``,
:mod:`xpnet.models.jit`).

Values are checked before the first step instead (labels in range, Embedding
ids in range): ``fit``, ``evaluate`` and ``predict`` check their whole inputs
with ``check_input_values`` and their whole targets with the losses'
``check_targets`` once the first batch has given the output shapes; host data
(NumPy) on the host, before they move, device data with one read each. The
single-batch calls check host data the same way and leave device data to the
layers' and losses' own first-call checks.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Mapping
from typing import Any

from xpnet import _checks
from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.backend.dtype_policy import overflow_expected
from xpnet.callbacks import CallbackList, History, ProgbarLogger
from xpnet.data import ArrayFeed
from xpnet.distribution.core import active as _data_parallel
from xpnet.layers.base import _cast_floats
from xpnet.models.compile import Compiled
from xpnet.models.jit import CompiledSteps, resolve_jit_compile
from xpnet.optimizers.loss_scale import LossScaleOptimizer
from xpnet.tensor import Tensor, no_grad

__all__ = ["Trainer"]


class _State:
    """Training caches, kept off the attribute walk that finds weights."""

    def __init__(self) -> None:
        self.compiled: Compiled | None = None
        self.params = None  # trainable parameters, fixed at the first step after compile
        self.extras = None  # (regularized parameters, layers with activity regularizers)
        self.backend = None
        self.unchecked = None  # whole target arrays to check once the output shapes are known
        self.jit_compile = "auto"  # as given to compile()
        self.run_eagerly = False
        self.jit = None  # (backend name, whether steps are compiled there)
        self.steps: CompiledSteps | None = None


class _LazyLogs(Mapping):
    """Batch logs computed only if a callback reads them (reading copies to the host)."""

    __slots__ = ("_cache", "_fn")

    def __init__(self, fn) -> None:
        self._fn = fn
        self._cache = None

    def _get(self) -> dict:
        if self._cache is None:
            self._cache = self._fn()
        return self._cache

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class _Local:
    """How ``fit`` and ``evaluate`` run in a single process: every callback, the
    batches of ``feed.epoch``, the model's own steps (the compiled ones where the
    backend compiles), the epoch's logs as they are.

    The plan of the one fit loop and the one evaluate loop, chosen once per call
    (:class:`xpnet.models.parallel.Plan` is the data-parallel one): ``check(feed)``
    and ``prepare(c, feed, layout)`` at the start, ``guard()`` around the loop,
    ``callbacks(cbs, verbose)`` (those that run here), ``agreement(cbs)`` (callbacks
    added last), ``resume(initial_epoch)`` after ``on_train_begin``, ``batches(feed)``
    and ``train_step(batch, layout)`` per epoch and step, ``epoch_results(c)``,
    ``test_epoch(feed)`` (the test step and its batches) and ``test_results(c)``.
    """

    __slots__ = ("model", "move", "train_step")

    def __init__(self, model) -> None:
        self.model = model
        compiled = model._compiled_steps()
        #: ``train_step(batch, layout)``: the model's bound method or the compiled step
        self.train_step = model._train_batch if compiled is None else compiled.train
        self.move = None if compiled is None else B.step_input

    @staticmethod
    def guard():
        return contextlib.nullcontext()

    @staticmethod
    def callbacks(cbs: list, verbose: int) -> tuple[list, int]:
        return cbs, verbose

    @staticmethod
    def check(feed) -> None:
        pass

    @staticmethod
    def prepare(c, feed, layout) -> None:
        pass

    @staticmethod
    def agreement(cbs: list) -> list:
        return []

    def resume(self, initial_epoch: int) -> int:
        return self.model.__dict__.pop("_resume_epoch", initial_epoch)

    def batches(self, feed):
        return feed.epoch(self.move)

    @staticmethod
    def epoch_results(c) -> dict[str, Any]:
        return c.results()

    def test_epoch(self, feed):
        """``(test_step(batch, layout), the batches)`` of one evaluation."""
        compiled = self.model._compiled_steps()
        if compiled is None:
            return self.model._test_batch, feed.epoch(None)
        return compiled.test, feed.epoch(B.step_input)

    test_results = epoch_results


def _is_data(v) -> bool:
    return isinstance(v, Tensor) or (hasattr(v, "shape") and hasattr(v, "dtype"))


def _verbose(verbose) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2; got {verbose!r}.")
    return int(verbose)


class Trainer:
    """Keras's training API; mixed into :class:`xpnet.models.Model`."""

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer="rmsprop",
        loss=None,
        loss_weights=None,
        metrics=None,
        weighted_metrics=None,
        run_eagerly: bool = False,
        steps_per_execution: int = 1,
        jit_compile="auto",
        auto_scale_loss: bool = True,
    ) -> None:
        """Configure training: optimizer, loss(es), loss weights and metrics.

        Args:
            optimizer: a name ("adam", "sgd", "rmsprop", ...) or an optimizer object.
            loss: a name ("sparse_categorical_crossentropy", "mse", ...), a Loss
                object or a function ``fn(y_true, y_pred)`` of per-sample losses;
                for several outputs a list or a dict by output name (one loss
                given alone is used for every output).
            loss_weights: a number, list or dict: the total loss is the
                weighted sum of the outputs' losses (+ regularization).
            metrics: names or Metric objects; "accuracy" picks the binary,
                categorical or sparse variant from the loss. For several
                outputs: a list (for every output), a list of lists or a dict.
            weighted_metrics: metrics that also receive sample/class weights.
            run_eagerly: run every step eagerly, op by op (for debugging; as Keras,
                it overrides ``jit_compile``).
            jit_compile: compile the whole train, test and predict steps (forward,
                loss, backward, optimizer update, metrics) into one program each,
                on backends that can (JAX, with ``jax.jit``): True, False, or
                "auto" (the default, as Keras): True on JAX, False elsewhere.
                True on another backend raises a ValueError. Each step compiles
                once per input shape (a ragged last batch compiles once more).
                Python values the step reads (hyperparameters, ``trainable``,
                loss weights) are fixed when it compiles: ``compile`` again after
                changing them (the learning rate, read every step, excepted).
                See :mod:`xpnet.models.jit`.
            auto_scale_loss: under the ``"mixed_float16"`` dtype policy, wrap the
                optimizer in a :class:`~xpnet.optimizers.LossScaleOptimizer` (as Keras).
            steps_per_execution: accepted for Keras compatibility (must be 1).

        Changing ``trainable`` flags takes effect at the next ``compile``.
        """
        if steps_per_execution != 1:
            raise ValueError("steps_per_execution other than 1 is not supported.")
        resolve_jit_compile(jit_compile, run_eagerly, self._backend_name())  # fail early
        if jit_compile is True and run_eagerly:
            warnings.warn(
                "compile(): run_eagerly=True overrides jit_compile=True; steps run eagerly.",
                stacklevel=2,
            )
        st = self._state
        st.compiled = Compiled(optimizer, loss, loss_weights, metrics, weighted_metrics)
        opt = st.compiled.optimizer
        if (
            auto_scale_loss
            and self.dtype_policy.name == "mixed_float16"
            and not isinstance(opt, LossScaleOptimizer)
        ):  # as Keras: float16 training scales its loss
            st.compiled.optimizer = LossScaleOptimizer(opt)
        st.params = None
        st.extras = None
        st.jit_compile = jit_compile
        st.run_eagerly = bool(run_eagerly)
        st.jit = None
        st.steps = None

    def _backend_name(self) -> str:
        """The backend of the model's weights (the active one before there are any)."""
        ws = self.weights
        return B.backend_of(ws[0].data).name if ws else B.get_backend().name

    @property
    def jit_compile(self) -> bool:
        """Whether the train, test and predict steps are compiled (see :meth:`compile`)."""
        st = self._state
        return resolve_jit_compile(st.jit_compile, st.run_eagerly, self._backend_name())

    @jit_compile.setter
    def jit_compile(self, value) -> None:
        st = self._state
        resolve_jit_compile(value, st.run_eagerly, self._backend_name())
        st.jit_compile, st.jit = value, None

    @property
    def run_eagerly(self) -> bool:
        """Whether every step runs eagerly, op by op (overrides ``jit_compile``)."""
        return self._state.run_eagerly

    @run_eagerly.setter
    def run_eagerly(self, value: bool) -> None:
        self._state.run_eagerly, self._state.jit = bool(value), None

    def _compiled_steps(self) -> CompiledSteps | None:
        """The compiled steps where they run on the active backend (the model's, inside
        :meth:`_scope`), else None: the eager steps run."""
        st = self._state
        name = B.get_backend().name
        if st.jit is None or st.jit[0] != name:
            st.jit = (name, resolve_jit_compile(st.jit_compile, st.run_eagerly, name))
        if not st.jit[1]:
            return None
        if st.steps is None:
            st.steps = CompiledSteps(self)
        return st.steps

    @property
    def optimizer(self):
        c = self._state.compiled
        return None if c is None else c.optimizer

    @property
    def compiled(self) -> bool:
        return self._state.compiled is not None

    @property
    def metrics(self) -> list:
        """The loss tracker(s) and compiled metrics (built at the first batch)."""
        c = self._state.compiled
        return [] if c is None else c.metric_objects()

    @property
    def metrics_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def reset_metrics(self) -> None:
        c = self._state.compiled
        if c is not None:
            c.reset()

    def get_metrics_result(self) -> dict[str, Any]:
        """The current value of every tracker and metric (Python floats)."""
        c = self._compiled_or_raise("get_metrics_result")
        return c.results()

    def _compiled_or_raise(self, what: str) -> Compiled:
        c = self._state.compiled
        if c is None:
            raise RuntimeError(
                f"You must compile the model before {what}(): "
                "model.compile(optimizer='adam', loss='...', metrics=['accuracy'])."
            )
        return c

    # ------------------------------------------------------------------ data plumbing
    def _scope(self):
        """Make the model's backend and device the active one while data is moved."""
        st = self._state
        if st.backend is None:
            ws = self.weights
            if not ws:
                return contextlib.nullcontext()
            st.backend = B.backend_of(ws[0].data)
        b, cur = st.backend, B.get_backend()
        if cur == b:
            return contextlib.nullcontext()
        return B.use_backend(b.name, b.device)

    def _flat(self, data, role: str) -> tuple[list, bool]:
        """Data as a list of arrays, and whether it was a single array."""
        if data is None:
            return [], True
        if isinstance(data, Mapping):
            names = self.input_names if role == "x" else self.output_names
            missing = [n for n in names if n not in data]
            if missing:
                raise ValueError(
                    f"{role} is a dict without the keys {missing}; expected keys {names}."
                )
            return [data[n] for n in names], False
        if isinstance(data, (list, tuple)) and data and all(_is_data(d) for d in data):
            if len(data) == 1:
                return [data[0]], True
            expected = len(_input_dtypes(self) or ()) if role == "x" else 0
            if expected and len(data) != expected:
                raise ValueError(
                    f"Model '{self.name}' expects {expected} input(s) ({self.input_names}); "
                    f"received a list of {len(data)} arrays for {role}. Pass one array per "
                    "input (for one input with several features, stack them along the last "
                    "axis)."
                )
            return list(data), False
        return [data], True

    def _floatx_inputs(self, xs: list) -> list:
        """Integer and bool inputs cast to the dtype of the model's float Inputs (as Keras),
        once per call on the whole array: int64 data gives float32 outputs."""
        dtypes = _input_dtypes(self)
        if not dtypes or len(dtypes) != len(xs):
            return xs
        out = []
        for a, dt in zip(xs, dtypes):
            name = str(dt) if dt is not None else B.floatx()
            if a is not None and name.startswith(("float", "bfloat")) and hasattr(a, "dtype"):
                if isinstance(a, Tensor):
                    a = a.data
                if B.is_host_data(a):
                    a = np.asarray(a)
                    if a.dtype.kind in "biu":
                        a = _exact_float(a, name, self.name)
                else:
                    xp = B.namespace(a)
                    if xp.isdtype(a.dtype, ("bool", "integral")):
                        a = xp.astype(a, B.dtype(name, xp))
            out.append(a)
        return out

    def _weights_for(self, ys, sample_weight, class_weight) -> list | None:
        """One sample-weight array (or None) per output, class weights folded in."""
        n = len(ys)
        if sample_weight is None:
            sws = [None] * n
        elif isinstance(sample_weight, Mapping):
            sws = [sample_weight.get(name) for name in self.output_names]
        elif isinstance(sample_weight, (list, tuple)) and n > 1:
            if len(sample_weight) != n:
                raise ValueError(f"sample_weight has {len(sample_weight)} arrays for {n} outputs.")
            sws = list(sample_weight)
        else:
            sws = [sample_weight] * n
        if class_weight is not None:
            if n != 1:
                raise ValueError(
                    "class_weight is only supported for models with one output; pass "
                    "sample_weight per output instead."
                )
            cw = _class_weights(ys[0], class_weight)
            sws[0] = cw if sws[0] is None else np.asarray(B.to_numpy(sws[0])) * cw
        if all(w is None for w in sws):
            return None
        sws = [
            np.ones(int(ys[i].shape[0]), dtype=np.float32) if w is None else w
            for i, w in enumerate(sws)
        ]
        return sws

    def _feed(self, x, y, sample_weight, class_weight, batch_size, shuffle, whole=True):
        """The feed of (x, y, sample weights) and its layout. The inputs' values are checked
        here (``whole``: device data too, with one read each; otherwise host data only)."""
        xs, single_x = self._flat(x, "x")
        ys, _ = self._flat(y, "y")
        if not xs:
            raise ValueError("No input data: pass x (an array, a list of arrays or a dict).")
        c = self._state.compiled
        if not ys and c is not None and c.loss_spec is not None:
            raise ValueError(
                f"Model '{self.name}' was compiled with a loss, which needs targets; received "
                "y=None. Pass y (or compile with loss=None and add_loss() in the model)."
            )
        xs = self._floatx_inputs(xs)
        sws = self._weights_for(ys, sample_weight, class_weight) if ys else None
        arrays = xs + ys + (sws or [])
        feed = ArrayFeed(arrays, batch_size=_batch_size(batch_size), shuffle=shuffle)
        nx, ny = len(xs), len(ys)
        layout = (nx, ny, single_x, sws is not None)
        self._check_inputs(feed.arrays[:nx], single_x, whole)
        return feed, layout

    def _check_inputs(self, xs: list, single_x: bool, whole: bool) -> None:
        """Whole input arrays checked by the layers that read them (Embedding: ids in range)."""
        xs = [a if whole or B.is_host_data(a) else None for a in xs]
        if any(a is not None for a in xs):
            self.check_input_values(xs[0] if single_x else xs)

    def _check_targets_at_first_step(self, *fed, whole: bool = True) -> None:
        """Queue the whole targets of the (feed, layout) pairs ``fed`` for the losses' checks
        at the next step, when the output shapes are known (``whole``: as _feed)."""
        groups = []
        for feed, (nx, ny, _, _) in fed:
            ys = feed.arrays[nx : nx + ny]
            groups.append([y if whole or B.is_host_data(y) else None for y in ys])
        self._state.unchecked = groups

    def _check_targets(self, outs) -> None:
        st = self._state
        groups, st.unchecked = st.unchecked, None
        # (the whole targets are concrete arrays even when this step is being traced)
        with B.concrete_inside_trace(B.get_backend().name):
            for ys in groups:
                st.compiled.check_targets(ys, outs)

    # ------------------------------------------------------------------ steps
    def _setup_step(self) -> None:
        st = self._state
        st.params = self.trainable_weights
        params, layers = self._walk(False)
        regularized = [p for p in params if p.regularizer is not None]
        active = [layer for layer in [self, *layers] if layer.activity_regularizer is not None]
        st.extras = (regularized, active)

    def _extras(self) -> list:
        regularized, active = self._state.extras
        out = [p.regularizer(p) for p in regularized]
        for layer in active:
            out.extend(layer._activity_losses)
        return out

    def _forward(self, batch, layout, training: bool):
        nx, ny, single_x, has_w = layout
        xs = batch[:nx]
        out = self(xs[0] if single_x else xs, training=training)
        outs = _output_list(out)
        if any(_is_half(o) for o in outs):  # losses and metrics in float32, as Keras
            outs = type(outs)(_cast_floats(o, "float32") if _is_half(o) else o for o in outs)
        ys = batch[nx : nx + ny]
        sws = batch[nx + ny :] if has_w else None
        return outs, ys, sws

    def _train_batch(self, batch, layout, rows=None, reduce=None, opt=None) -> None:
        """One training step on ``batch``. Data-parallel fit (:mod:`xpnet.models.parallel`)
        also passes the global batch's ``rows`` (the backward is seeded with this
        slice's share of them), ``reduce(params)`` (run between the backward and the
        update: the allreduce) and the optimizer that updates."""
        opt = self._state.compiled.optimizer if opt is None else opt
        if isinstance(opt, LossScaleOptimizer):
            with overflow_expected():  # float16 overflows by design; the step is skipped
                return self._train_batch_unchecked(batch, layout, rows, reduce, opt)
        return self._train_batch_unchecked(batch, layout, rows, reduce, opt)

    def _train_batch_unchecked(self, batch, layout, rows, reduce, opt) -> None:
        st = self._state
        c = st.compiled
        outs, ys, sws = self._forward(batch, layout, True)
        if st.params is None:  # after the first forward: every layer is built
            self._setup_step()
        if not c.built:
            c.build(self.output_names, ys, outs)
        if st.unchecked is not None:  # the first step of fit: the output shapes are known
            self._check_targets(outs)
        n = int(outs[0].shape[0])
        extras = self._extras() if (st.extras[0] or st.extras[1]) else ()
        loss = c.loss(ys, outs, sws, n, extras)
        if isinstance(opt, LossScaleOptimizer):
            loss = opt.scale_loss(loss)  # (a reduced sum of scaled gradients is unscaled once)
        params = st.params
        # the gradients go straight into the fused optimizer step's buffers (the
        # engine writes them there; nothing reads .grad between backward and step)
        loss.backward(None if rows is None else n / rows, sinks=opt.gradient_sinks(params))
        if reduce is not None:
            reduce(params)
        opt.step(params)
        for p in params:
            p.grad = None
        if ys:
            c.update_metrics(ys, outs, sws)

    def _test_batch(self, batch, layout) -> None:
        st = self._state
        c = st.compiled
        with no_grad():
            outs, ys, sws = self._forward(batch, layout, False)
            if st.extras is None:
                self._setup_step()
            if not c.built:
                c.build(self.output_names, ys, outs)
            if st.unchecked is not None:
                self._check_targets(outs)
            n = int(outs[0].shape[0])
            extras = self._extras() if (st.extras[0] or st.extras[1]) else ()
            if ys or extras:
                c.loss(ys, outs, sws, n, extras)
            if ys:
                c.update_metrics(ys, outs, sws)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        x=None,
        y=None,
        batch_size: int | None = None,
        epochs: int = 1,
        verbose="auto",
        callbacks=None,
        validation_split: float = 0.0,
        validation_data=None,
        shuffle: bool | str = True,
        class_weight: dict | None = None,
        sample_weight=None,
        initial_epoch: int = 0,
        steps_per_epoch: int | None = None,
        validation_steps: int | None = None,
        validation_batch_size: int | None = None,
        validation_freq: int = 1,
    ) -> History:
        """Train for ``epochs`` passes over the data; return a :class:`History`.

        Args:
            x: inputs: an array (NumPy or any backend), a list of arrays (several
                inputs) or a dict by input name. Moved to the model's backend one
                batch at a time.
            y: targets, shaped the same way (one per output).
            batch_size: samples per gradient step (default 32).
            epochs: the index of the last epoch (training runs from ``initial_epoch``).
            verbose: "auto" or 1 (a progress bar), 2 (one line per epoch), 0 (silent).
            callbacks: a list of :class:`xpnet.callbacks.Callback`.
            validation_split: the fraction of the data, taken from the END before
                shuffling (as Keras), held out for validation.
            validation_data: ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)``.
            shuffle: reshuffle the samples every epoch (True), or only the
                order of batches ("batch"), or not at all (False).
            class_weight: ``{class: weight}`` multiplying each sample's loss.
            sample_weight: per-sample loss weights (an array, or one per output).
            initial_epoch: the epoch to start from (to resume a run).
            steps_per_epoch: stop each epoch after this many batches.
            validation_steps: batches of validation data to use.
            validation_batch_size: batch size for validation (default ``batch_size``).
            validation_freq: validate every that many epochs.

        Returns:
            History: ``history.history["loss"]`` and the others, one value per epoch.
        """
        c = self._compiled_or_raise("fit")
        epochs = _checks.non_negative_int("fit", "epochs", epochs)
        initial_epoch = _checks.non_negative_int("fit", "initial_epoch", initial_epoch)
        steps_per_epoch = _optional_steps("fit", "steps_per_epoch", steps_per_epoch)
        validation_steps = _optional_steps("fit", "validation_steps", validation_steps)
        validation_freq = _validation_freq(validation_freq)
        if validation_split:
            _checks.in_range("fit", "validation_split", validation_split, 0, 1, high_closed=False)
        with self._scope():
            feed, layout = self._feed(x, y, sample_weight, class_weight, batch_size, shuffle)
            val_feed = None
            if validation_data is not None:
                val_feed = self._validation_feed(
                    validation_data, validation_batch_size or batch_size
                )
            elif validation_split:
                feed, held_out = feed.split(validation_split)
                if validation_batch_size:
                    held_out.batch_size = validation_batch_size
                val_feed = (held_out, layout)
            self._check_targets_at_first_step((feed, layout), *([val_feed] if val_feed else []))
            return self._fit_loop(
                self._plan(),
                c,
                feed,
                layout,
                val_feed,
                epochs,
                verbose,
                callbacks,
                initial_epoch,
                steps_per_epoch,
                validation_steps,
                validation_freq,
            )

    def _validation_feed(self, data, batch_size):
        if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
            raise ValueError(
                "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                f"sample_weight); got {type(data).__name__}."
            )
        sw = data[2] if len(data) == 3 else None
        return self._feed(data[0], data[1], sw, None, batch_size, False)

    def _plan(self):
        """How this fit or evaluate runs here: the single-process plan, or, under a
        distribution spanning several processes, :class:`xpnet.models.parallel.Plan`."""
        dp = _data_parallel()
        if dp is None:
            return _Local(self)
        from xpnet.models import parallel

        return parallel.Plan(self, dp.communicator)

    def _fit_loop(
        self,
        plan,
        c,
        feed,
        layout,
        val_feed,
        epochs,
        verbose,
        callbacks,
        initial_epoch,
        steps_per_epoch,
        validation_steps,
        validation_freq,
    ):
        verbose = _verbose(verbose)
        plan.check(feed)
        with plan.guard():
            plan.prepare(c, feed, layout)
            steps = (
                feed.num_batches
                if steps_per_epoch is None
                else min(steps_per_epoch, feed.num_batches)
            )
            history = History()
            cbs, verbose = plan.callbacks(list(callbacks or []), verbose)
            if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
                cbs.append(ProgbarLogger())
            cbs.append(history)
            cbs.extend(plan.agreement(cbs))
            cl = CallbackList(cbs, model=self, verbose=verbose, epochs=epochs, steps=steps)
            self.history = history
            self.stop_training = False
            self.zero_grad()
            want_begin = cl.wants("on_train_batch_begin")
            want_end = cl.wants("on_train_batch_end")
            results = c.results
            batches, step_fn = plan.batches, plan.train_step
            logs: dict[str, Any] = {}
            cl.on_train_begin(None)
            # a callback restoring a backup (BackupAndRestore) says where to resume
            initial_epoch = plan.resume(initial_epoch)
            for epoch in range(initial_epoch, epochs):
                c.reset()
                cl.on_epoch_begin(epoch, None)
                for step, batch in enumerate(batches(feed)):
                    if want_begin:
                        cl.on_train_batch_begin(step, None)
                    step_fn(batch, layout)
                    if want_end:
                        cl.on_train_batch_end(step, _LazyLogs(results))
                    if self.stop_training or step + 1 >= steps:
                        break
                logs = plan.epoch_results(c)
                if val_feed is not None and _validate_now(epoch, validation_freq):
                    val = self._evaluate_feed(plan, *val_feed, cl, validation_steps)
                    logs.update({f"val_{k}": v for k, v in val.items()})
                cl.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
            cl.on_train_end(logs)
            return history

    # ------------------------------------------------------------------ evaluate
    def evaluate(
        self,
        x=None,
        y=None,
        batch_size: int | None = None,
        verbose="auto",
        sample_weight=None,
        steps: int | None = None,
        callbacks=None,
        return_dict: bool = False,
    ):
        """Loss and metrics on the given data, in inference mode.

        Returns the loss (a float) when nothing else is tracked, else a list
        ``[loss, *metrics]`` in ``model.metrics_names`` order, or a dict with
        ``return_dict=True``.
        """
        self._compiled_or_raise("evaluate")
        verbose = _verbose(verbose)
        steps = _optional_steps("evaluate", "steps", steps)
        with self._scope():
            feed, layout = self._feed(x, y, sample_weight, None, batch_size, False)
            self._check_targets_at_first_step((feed, layout))
            plan = self._plan()
            cbs, verbose = plan.callbacks(list(callbacks or []), verbose)
            if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
                cbs.append(ProgbarLogger())
            n_steps = feed.num_batches if steps is None else min(steps, feed.num_batches)
            cl = CallbackList(cbs, model=self, verbose=verbose, epochs=1, steps=n_steps)
            with plan.guard():
                logs = self._evaluate_feed(plan, feed, layout, cl, steps)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _evaluate_feed(self, plan, feed, layout, cl, steps=None) -> dict[str, Any]:
        c = self._state.compiled
        c.reset()
        cl.on_test_begin(None)
        want = cl.wants("on_test_batch_end")
        test_fn, batches = plan.test_epoch(feed)
        for step, batch in enumerate(batches):
            test_fn(batch, layout)
            if want:
                cl.on_test_batch_end(step, _LazyLogs(c.results))
            if steps is not None and step + 1 >= steps:
                break
        logs = plan.test_results(c)
        cl.on_test_end(logs)
        return logs

    # ------------------------------------------------------------------ predict
    def predict(self, x, batch_size: int | None = None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x``, batch by batch, without recording a graph.

        Returns arrays of the model's backend (a list of them for several
        outputs); ``xn.to_numpy`` copies them to the host.
        """
        verbose = _verbose(verbose)
        steps = _optional_steps("predict", "steps", steps)
        with self._scope():
            xs, single_x = self._flat(x, "x")
            xs = self._floatx_inputs(xs)
            feed = ArrayFeed(xs, batch_size=_batch_size(batch_size), shuffle=False)
            self._check_inputs(feed.arrays, single_x, whole=True)
            n_steps = feed.num_batches if steps is None else min(steps, feed.num_batches)
            cbs = list(callbacks or [])
            if verbose and not any(isinstance(cb, ProgbarLogger) for cb in cbs):
                cbs.append(ProgbarLogger())
            cl = CallbackList(cbs, model=self, verbose=verbose, epochs=1, steps=n_steps)
            cl.on_predict_begin(None)
            chunks: list[list] = []
            want = cl.wants("on_predict_batch_end")
            compiled = self._compiled_steps()
            predict_fn = self._predict_batch if compiled is None else compiled.predict
            for step, batch in enumerate(feed.epoch(None if compiled is None else B.step_input)):
                outs = predict_fn(batch, single_x)
                chunks.append(outs)
                if want:
                    cl.on_predict_batch_end(
                        step, {"outputs": [Tensor._make(o, None) for o in outs]}
                    )
                if step + 1 >= n_steps:
                    break
            cl.on_predict_end(None)
        result = [_concat([ch[i] for ch in chunks]) for i in range(len(chunks[0]))]
        return self._named_outputs(result)

    # ------------------------------------------------------------------ single batches
    def train_on_batch(
        self, x, y=None, sample_weight=None, class_weight=None, return_dict: bool = False
    ):
        """One gradient step on one batch; returns that batch's loss and metrics.

        As in Keras 3 the metrics are reset at the start of every call, so the
        result describes this batch only.
        """
        return self._on_batch("train_on_batch", x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict: bool = False):
        """Loss and metrics of one batch in inference mode (reset each call, as Keras 3)."""
        return self._on_batch("test_on_batch", x, y, sample_weight, None, return_dict)

    def _on_batch(self, what: str, x, y, sample_weight, class_weight, return_dict: bool):
        """One batch through the train step (``what == "train_on_batch"``) or the test
        step, the metrics reset first; the batch's loss and metrics."""
        c = self._compiled_or_raise(what)
        c.reset()
        train = what == "train_on_batch"
        with self._scope():
            feed, layout = self._feed(x, y, sample_weight, class_weight, None, False, whole=False)
            self._check_targets_at_first_step((feed, layout), whole=False)
            compiled = self._compiled_steps()
            if compiled is None:
                step = self._train_batch if train else self._test_batch
                step(_whole(feed), layout)
            else:
                step = compiled.train if train else compiled.test
                step(_whole(feed, B.step_input), layout)
        return self._batch_result(c, return_dict)

    def predict_on_batch(self, x):
        """Outputs for one batch (arrays of the model's backend)."""
        with self._scope():
            xs, single_x = self._flat(x, "x")
            xs = self._floatx_inputs(xs)
            feed = ArrayFeed(xs, batch_size=_batch_of(xs), shuffle=False)
            self._check_inputs(feed.arrays, single_x, whole=False)
            compiled = self._compiled_steps()
            if compiled is None:
                outs = self._predict_batch(_whole(feed), single_x)
            else:
                outs = compiled.predict(_whole(feed, B.step_input), single_x)
        return self._named_outputs(outs)

    def _named_outputs(self, outs: list):
        """predict's result: one array, a list, or a dict for a model with dict outputs."""
        keys = getattr(self, "_output_keys", None)
        if keys is not None:
            return dict(zip(keys, outs))
        return outs[0] if len(outs) == 1 else outs

    def _predict_batch(self, inputs, single_x: bool) -> list:
        with no_grad():
            out = self(inputs[0] if single_x else inputs, training=False)
        return [o.data for o in _output_list(out)]

    @staticmethod
    def _batch_result(c: Compiled, return_dict: bool):
        logs = c.results()
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values


_HALF: dict = {}  # dtype -> whether it is float16/bfloat16 (str(dtype) costs ~4 us a step)


def _is_half(t) -> bool:
    if not isinstance(t, Tensor):
        return False
    dtype = t.data.dtype
    try:
        return _HALF[dtype]
    except KeyError:
        half = str(dtype).rsplit(".", 1)[-1] in ("float16", "bfloat16")
        _HALF[dtype] = half
        return half
    except TypeError:  # an unhashable dtype
        return str(dtype).rsplit(".", 1)[-1] in ("float16", "bfloat16")


def _output_list(out) -> list | tuple:
    """A model's outputs as a sequence (a dict's values in its key order)."""
    if isinstance(out, dict):
        return list(out.values())
    return out if isinstance(out, (list, tuple)) else (out,)


def _input_dtypes(model) -> list | None:
    """The dtypes of a Sequential's or functional model's Inputs (None: a subclassed model)."""
    from xpnet.layers import Embedding
    from xpnet.models.functional import Functional
    from xpnet.models.sequential import Sequential

    if isinstance(model, Sequential):
        if model._shapes.dtype is not None:
            return [model._shapes.dtype]
        # without an Input: floatx, except for ids going straight into an Embedding
        first = model.layers[0] if model.layers else None
        return None if isinstance(first, Embedding) else [B.floatx()]
    if isinstance(model, Functional):
        return [t.dtype for t in model.inputs]
    return None


def _exact_float(a, dtype: str, model: str):
    """Host integer data as ``dtype``, refusing values the float cannot hold exactly."""
    out = a.astype(dtype)
    if a.size and a.dtype.kind != "b":
        limit = 2 ** (np.finfo(out.dtype).nmant + 1)
        if int(np.abs(a).max()) > limit:
            raise ValueError(
                f"Model '{model}' has a {dtype} Input, and integer inputs up to "
                f"{int(np.abs(a).max())} do not fit {dtype} exactly (max {limit}). Give the "
                "Input dtype='int32' or 'int64' (for ids), or scale the data."
            )
    return out


def _batch_size(value) -> int:
    return 32 if value is None else _checks.positive_int("Model", "batch_size", value)


def _batch_of(xs) -> int:
    shape = getattr(xs[0], "shape", None)
    if not shape:
        raise ValueError(
            "Data must have a first (sample) dimension; received a 0-d array (a scalar)."
        )
    return max(1, int(shape[0]))


def _optional_steps(owner: str, name: str, value):
    return None if value is None else _checks.positive_int(owner, name, value)


def _validation_freq(value):
    if isinstance(value, (list, tuple, set, range)):
        return [_checks.positive_int("fit", "validation_freq", v) for v in value]
    return _checks.positive_int("fit", "validation_freq", value)


def _whole(feed: ArrayFeed, move=None) -> list:
    feed.batch_size = max(feed.size, 1)
    return next(iter(feed.epoch(move)))


def _validate_now(epoch: int, freq) -> bool:
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq


def _concat(arrays: list):
    if len(arrays) == 1:
        return arrays[0]
    return B.namespace(arrays[0]).concat(arrays, axis=0)


def _class_weights(y, class_weight: dict):
    """Per-sample weights from ``{class: weight}`` (labels or one-hot rows).

    Keys are class indices (integers >= 0; classes absent from the dict weigh 1,
    keys of classes absent from the labels are ignored), weights finite numbers >= 0.
    """
    if not isinstance(class_weight, Mapping):
        raise TypeError(
            f"class_weight must be a dict {{class index: weight}}; received "
            f"{type(class_weight).__name__}."
        )
    weights = {}
    for k, w in class_weight.items():
        k = _checks.non_negative_int("fit", "class_weight key", k)
        weights[k] = _checks.non_negative("fit", f"class_weight[{k}]", w)
    y = np.asarray(B.to_numpy(y.data if isinstance(y, Tensor) else y))
    if y.ndim > 1 and y.shape[-1] > 1:
        labels, n_classes = y.argmax(axis=-1), int(y.shape[-1])
        beyond = [k for k in weights if k >= n_classes]
        if beyond:
            raise ValueError(
                f"fit: class_weight has keys {beyond[:5]} but the one-hot targets have "
                f"{n_classes} classes (0 .. {n_classes - 1})."
            )
    else:
        labels = np.rint(y.reshape(len(y), -1)[:, 0]).astype(np.int64)
        n_classes = int(labels.max()) + 1 if labels.size else 0
    table = np.ones(max(n_classes, 1), dtype=np.float32)
    for k, w in weights.items():
        if k < n_classes:
            table[k] = w
    return table[labels]
