"""Compiled steps (``compile(jit_compile=True)``): the eager step code, traced whole.

The training step of :mod:`xpnet.models.training` (forward, loss, backward, the
optimizer's step, the metrics) is written once against the standard, on objects
that hold their arrays: weights in ``Parameter.data``, the optimizer's slots in
``StateVariable.data``, the metrics' running sums in their :attr:`state_names
<xpnet.metrics.Metric.state_names>`. On a backend that traces (JAX) this module
compiles that same code. A step function takes the arrays of every piece of
state as arguments, puts them (placeholders, while it is traced) into the
attributes that hold them, runs the eager step, reads the new arrays back out
and puts the old ones back; the backend compiles it once per input shape
(:func:`xpnet.backend.compile_step`), and each step calls it and stores what it
returns. The carried state:

- every weight of the model (trainable and not: BatchNormalization's moving
  statistics are weights),
- the optimizer's slot arrays and its :attr:`~xpnet.optimizers.Optimizer.scalar_state`
  (Nadam's ``u_product``),
- the metrics' running state (loss trackers included),
- one random key per stream the layers draw from (:mod:`xpnet.backend.random`).

The optimizer's step count (an int the host keeps) and the learning rate of the
step (its schedule evaluated on the host) go in as Python numbers, a new value
each step without tracing again. Anything else a step changed would be fixed
when it was traced; the step checks that no placeholder was left anywhere else
and says so if one was. Python values the step reads (hyperparameters,
``trainable`` flags, loss weights) are fixed when it is traced: ``compile()``
again after changing them (the learning rate excepted).

Before a step is first traced, the optimizer's slots are made
(``Optimizer.build``) and the step runs once on placeholders, computing and
compiling nothing (:func:`xpnet.backend.trace_shapes`): that builds what the
first batch builds (the compiled losses and metrics) and shows the shapes of the
metrics' state, so the compiled step starts from zeros of those shapes and is
traced once. A model whose layers are not built yet (they make their weights at
their first call) runs its first batch eagerly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from xpnet import backend as B
from xpnet.tensor import Tensor

__all__ = ["CompiledSteps", "resolve_jit_compile"]

_NUMBERS = (bool, int, float)


def resolve_jit_compile(jit_compile, run_eagerly: bool, backend_name: str) -> bool:
    """Whether steps are compiled: ``jit_compile`` ("auto", True or False, as Keras)
    on backend ``backend_name``; ``run_eagerly`` forces eager steps."""
    if jit_compile != "auto" and not isinstance(jit_compile, bool):
        raise ValueError(
            f"compile(): expected jit_compile to be 'auto', True or False. Received: "
            f"jit_compile={jit_compile!r}"
        )
    if run_eagerly:
        return False
    reason = B.not_traceable_reason(backend_name)
    if jit_compile == "auto":
        return reason is None
    if jit_compile and reason is not None:
        raise ValueError(
            f"compile(jit_compile=True): the {backend_name!r} backend cannot compile whole "
            f"steps. {reason} Pass jit_compile='auto' (the default) or False to run eagerly, "
            "or select the jax backend (xn.set_backend('jax'), or XPNET_BACKEND=jax) before "
            "building the model."
        )
    return jit_compile


class _Carried:
    """Arrays a step reads and writes, each held as attribute ``name`` of ``obj``.

    A holder may hold None (a metric's "nothing added yet") or a Python number (a
    count); the step gets an array in its place, zeros of the array's shape and
    dtype the last time it held one (:attr:`templates`), so the compiled step sees
    the same shapes every time and is not traced again.
    """

    def __init__(self, pairs: list[tuple[Any, str]]) -> None:
        self.pairs = pairs
        self.templates: list[tuple | None] = [
            None if v is None or type(v) in _NUMBERS else (tuple(v.shape), v.dtype)
            for v in (getattr(o, n) for o, n in pairs)
        ]

    def missing(self) -> bool:
        """Whether some holder holds None or a number and has never held an array."""
        return any(
            t is None and (v is None or type(v) in _NUMBERS)
            for t, v in zip(self.templates, (getattr(o, n) for o, n in self.pairs))
        )

    def learn(self, shapes: dict) -> None:
        """Take the shapes and dtypes by ``(id(holder), name)`` where none is known."""
        for i, (o, n) in enumerate(self.pairs):
            if self.templates[i] is None:
                self.templates[i] = shapes.get((id(o), n))

    def values(self) -> list:
        """The holders' arrays, None and numbers made arrays."""
        out = [getattr(o, n) for o, n in self.pairs]
        for i, v in enumerate(out):
            if v is None or type(v) in _NUMBERS:
                out[i] = self._array(v, self.templates[i])
        return out

    @staticmethod
    def _array(v, template):
        xp, device = B.xp(), B.device()
        if template is None:
            if v is None:
                return None  # never held an array: the step makes one (and traces again)
            return _scalar_array(v)
        shape, dtype = template
        if v is None:
            return xp.zeros(shape, dtype=dtype, device=device)
        return xp.full(shape, v, dtype=dtype, device=device)

    def store(self, values) -> None:
        for (o, n), v in zip(self.pairs, values):
            setattr(o, n, v)

    def read(self) -> list:
        """The values as they are (inside a traced step: the new placeholders)."""
        return [getattr(o, n) for o, n in self.pairs]


def _scalar_array(v):
    """A Python number as a 0-d array of the active backend: floats in floatx, ints in
    the default integer dtype (named: an unnamed dtype may be "weak" and change)."""
    xp = B.xp()
    if type(v) is float:
        dtype = B.dtype(None, xp)
    else:
        dtype = xp.__array_namespace_info__().default_dtypes()["integral"]
    return xp.asarray(v, dtype=dtype, device=B.device())


@contextlib.contextmanager
def _holding(pairs: list[tuple[Any, str]], values) -> Iterator[None]:
    """``obj.name = value`` for each pair while the block runs, then the old values."""
    saved = [getattr(o, n) for o, n in pairs]
    for (o, n), v in zip(pairs, values):
        setattr(o, n, v)
    try:
        yield
    finally:
        for (o, n), v in zip(pairs, saved):
            setattr(o, n, v)


def _distinct(values: list) -> list:
    """``values`` with no array twice (a step is given its state's memory: each array
    can be given once), copying a repeated one."""
    seen: set[int] = set()
    out = values
    for i, v in enumerate(values):
        if v is None:
            continue
        if id(v) in seen:
            if out is values:
                out = list(values)
            out[i] = B.namespace(v).asarray(v, copy=True)
        seen.add(id(v))
    return out


def _moved(batch: list) -> list:
    """A batch of :func:`xpnet.backend.step_input` arrays on the backend, for an eager step."""
    return [None if a is None else B.asarray(a) for a in batch]


def _traced_in(value) -> bool:
    if isinstance(value, Tensor):
        value = value.data
    if B.is_traced(value):
        return True
    if isinstance(value, (list, tuple)):
        return any(_traced_in(v) for v in value)
    if isinstance(value, dict):
        return any(_traced_in(v) for v in value.values())
    return False


class CompiledSteps:
    """A model's compiled train, test and predict steps (prepared on first use).

    :attr:`traced` lists the steps traced for compiling (each compiles once), as
    ``(kind, batch shapes)``: one per kind of step and input shape (a ragged last
    batch adds one).
    """

    def __init__(self, model) -> None:
        self.model = model
        self.fns: dict[tuple, Any] = {}
        self.traced: list[tuple[str, tuple]] = []
        self._weights: _Carried | None = None
        self._generators: list = []
        self._carried: dict[str, _Carried] = {}  # "train", "test": what the step carries
        self._slots = None  # the optimizer's slot list the train step was prepared for
        self._built = False  # every layer has its weights (a built model stays built)
        self._it_delta = 1  # what a training step adds to the step count (0: no gradient)

    # ------------------------------------------------------------------ what is carried
    def _is_built(self) -> bool:
        """Whether every layer of the model has its weights (a built model stays built)."""
        if not self._built:
            model = self.model
            self._built = model.built and all(layer.built for layer in model.layers)
        return self._built

    def _model_weights(self) -> _Carried:
        if self._weights is None:
            model = self.model
            self._weights = _Carried([(p, "data") for p in model.weights])
            for layer in [model, *model.layers]:
                self._generators += [
                    v for v in vars(layer).values() if isinstance(v, B.SeedGenerator)
                ]
        return self._weights

    def _pairs(self, kind: str, c) -> list:
        """What a step of ``kind`` carries in and out: for "train" the weights and the
        optimizer's state, for both "train" and "test" the metrics' state."""
        pairs: list = []
        if kind == "train":
            opt = c.optimizer
            pairs += self._model_weights().pairs
            pairs += [(v, "data") for s in opt._slots if s is not None for v in s._vars.values()]
            pairs += [(opt, name) for name in opt.scalar_state]
        if c.built:
            for m in c.metric_objects():
                pairs += m.state_holders()
        return pairs

    def _prepared(self, kind: str, batch, layout) -> _Carried | None:
        """The state a step of ``kind`` carries, found once; None where the model is not
        built yet (its layers build at their first call: the caller runs eagerly)."""
        model = self.model
        st = model._state
        c = st.compiled
        carried = self._carried.get(kind)
        if carried is not None and (kind != "train" or self._slots is c.optimizer._slots):
            return carried
        if not self._is_built():
            return None
        if st.params is None or st.extras is None:
            model._setup_step()
        if kind == "train":
            c.optimizer.build(st.params)  # the slots, as the first eager step makes them
            self._slots = c.optimizer._slots
        built = c.built
        carried = _Carried(self._pairs(kind, c))
        if not built or carried.missing():
            shapes = self._probe(kind, carried, batch, layout)
            if not built:
                c.reset()  # the metrics the probe built: nothing seen yet
                carried = _Carried(self._pairs(kind, c))
            carried.learn(shapes)
        self._carried[kind] = carried
        self.fns = {k: f for k, f in self.fns.items() if k[0] != kind}  # traced for others
        return carried

    def _probe(self, kind: str, carried: _Carried, batch, layout) -> dict:
        """Run one step on placeholders, computing and compiling nothing: it builds the
        compiled losses and metrics (at their first batch, as an eager step does) and
        shows the shape and dtype of every metric's state after a step; returns them by
        ``(id(holder), name)``. Nothing it does stays."""
        model = self.model
        c = model._state.compiled
        found: list = []

        def probe(weights, values, iterations, keys, learning_rate, batch):
            with self._tracing(kind, carried, weights, values, keys, iterations, learning_rate):
                (model._train_batch if kind == "train" else model._test_batch)(batch, layout)
                for m in c.metric_objects():
                    found.extend(m.state_holders())
                return [getattr(o, n) for o, n in found]

        args = self._arguments(kind, carried)
        shapes = B.trace_shapes(B.get_backend().name, probe, *args, batch)
        return {
            (id(o), n): (tuple(sd.shape), sd.dtype)
            for (o, n), sd in zip(found, shapes)
            if sd is not None
        }

    def _arguments(self, kind: str, carried: _Carried) -> tuple:
        """(weights, carried state, step count, keys, learning rate) for a step."""
        weights = None if kind == "train" else self._model_weights().values()
        state = _distinct(carried.values())
        keys = B.stream_keys(B.step_streams(self._generators))
        if kind != "train":
            return weights, state, None, keys, None
        # the step count and the learning rate (the schedule's value, computed here on
        # the host) go in as Python numbers: the step takes them as "weak" scalars, which
        # never widen float32 arrays (an int64 step count would make Adam's bias
        # corrections, and so the weights, float64 where jax_enable_x64 is on)
        opt = self.model._state.compiled.optimizer
        return weights, state, int(opt.iterations), keys, float(opt.current_learning_rate)

    @contextlib.contextmanager
    def _tracing(self, kind, carried, weights, values, keys, iterations, learning_rate):
        """While a step is traced: the placeholders in the objects that hold the state
        (the optimizer's step count and learning rate too), random draws from the
        traced keys; yields the list that holds the next keys when the block ends.
        Then every object is as it was."""
        model = self.model
        c = model._state.compiled
        opt = c.optimizer if kind == "train" else None
        pairs, vals = list(carried.pairs), list(values)
        if weights is not None:
            pairs += self._model_weights().pairs
            vals += weights
        if opt is not None:
            pairs += [(opt, "iterations"), (opt, "_learning_rate")]
            vals += [iterations, learning_rate]
            owned = list(opt._owned)
        streams = B.step_streams(self._generators)
        try:
            with _holding(pairs, vals), B.traced_draws(streams, keys) as next_keys:
                yield next_keys
        finally:
            if opt is not None:
                opt._owned[:] = owned  # (this step's placeholders: identity marks only)
            for layer in [model, *model.layers]:
                layer._activity_losses = []  # this step's penalties: placeholders
            for param, _ in self._model_weights().pairs:
                param.grad = None  # (the step sets them to None; a step that raised may not)

    def _function(self, kind: str, layout, make):
        key = (kind, layout)
        fn = self.fns.get(key)
        if fn is None:
            fn, donate = make(layout)
            fn = self.fns[key] = B.compile_step(B.get_backend().name, fn, donate)
        return fn

    # ------------------------------------------------------------------ train
    def train(self, batch, layout) -> None:
        """One compiled training step on ``batch`` (:func:`xpnet.backend.step_input` arrays)."""
        model = self.model
        carried = self._prepared("train", batch, layout)
        if carried is None:
            model._train_batch(_moved(batch), layout)
            return
        _, state, it, keys, lr = self._arguments("train", carried)
        fn = self._function("train", layout, self._make_train)
        state, keys = fn(state, it, keys, lr, batch)
        carried.store(state)
        B.set_stream_keys(B.step_streams(self._generators), keys)
        model._state.compiled.optimizer.iterations = it + self._it_delta

    def _make_train(self, layout):
        model = self.model
        carried = self._carried["train"]
        c = model._state.compiled
        opt = c.optimizer

        def step(state, iterations, keys, learning_rate, batch):
            self._note("train", batch)
            with self._tracing(
                "train", carried, None, state, keys, iterations, learning_rate
            ) as next_keys:
                model._train_batch(batch, layout)
                new_state = carried.read()
                counted = opt.iterations is not iterations  # (no gradient: no step)
            self._it_delta = 1 if counted else 0
            self._check_leaks(c)
            return new_state, next_keys

        return step, (0, 2)

    # ------------------------------------------------------------------ test
    def test(self, batch, layout) -> None:
        """One compiled test step: loss and metrics of ``batch`` in inference mode."""
        model = self.model
        carried = self._prepared("test", batch, layout)
        if carried is None:
            model._test_batch(_moved(batch), layout)
            return
        weights, state, _, keys, _ = self._arguments("test", carried)
        fn = self._function("test", layout, self._make_test)
        state, keys = fn(weights, state, keys, batch)
        carried.store(state)
        B.set_stream_keys(B.step_streams(self._generators), keys)

    def _make_test(self, layout):
        model = self.model
        carried = self._carried["test"]
        c = model._state.compiled

        def step(weights, state, keys, batch):
            self._note("test", batch)
            with self._tracing("test", carried, weights, state, keys, None, None) as next_keys:
                model._test_batch(batch, layout)
                new_state = carried.read()
            self._check_leaks(c)
            return new_state, next_keys

        return step, (1, 2)

    # ------------------------------------------------------------------ predict
    def predict(self, inputs, single_x: bool) -> list:
        """The model's outputs (arrays) for one batch of ``inputs``, in inference mode."""
        model = self.model
        if not self._is_built():
            return model._predict_batch(_moved(inputs), single_x)
        weights = self._model_weights().values()
        keys = B.stream_keys(B.step_streams(self._generators))
        fn = self._function("predict", single_x, self._make_predict)
        outs, keys = fn(weights, keys, inputs)
        B.set_stream_keys(B.step_streams(self._generators), keys)
        return outs

    def _make_predict(self, single_x):
        model = self.model
        nothing = _Carried([])

        def step(weights, keys, inputs):
            self._note("predict", inputs)
            with self._tracing("predict", nothing, weights, [], keys, None, None) as next_keys:
                outs = model._predict_batch(inputs, single_x)
            self._check_leaks(None)
            return outs, next_keys

        return step, (1,)

    # ------------------------------------------------------------------ checks
    @property
    def traces(self) -> int:
        """How many steps were traced (and compiled)."""
        return len(self.traced)

    def _note(self, kind: str, batch) -> None:
        self.traced.append((kind, tuple(None if a is None else tuple(a.shape) for a in batch)))

    def _check_leaks(self, c) -> None:
        """Raise if the traced step left a placeholder anywhere but in what it carries
        (a Python attribute set inside the step would keep it for ever)."""
        model = self.model
        places: list[tuple[str, Any]] = [
            (f"layer {layer.name!r}", layer) for layer in [model, *model.layers]
        ]
        if c is not None:
            places += [(f"metric {m.name!r}", m) for m in c.metric_objects()]
            places.append((f"optimizer {type(c.optimizer).__name__}", c.optimizer))
        for what, obj in places:
            for name, value in vars(obj).items():
                if _traced_in(value):
                    raise RuntimeError(
                        f"The compiled step left a value it computed in attribute {name!r} of "
                        f"{what}: Python state changed inside a step cannot be carried from "
                        "one compiled step to the next (only weights, the optimizer's state "
                        "and the metrics' state_names are). Keep such state in a weight "
                        "(add_weight(..., trainable=False)) or a metric's state_names, or "
                        "compile the model with jit_compile=False."
                    )
