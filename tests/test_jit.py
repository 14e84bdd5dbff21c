"""compile(jit_compile=...): whole steps compiled on JAX, agreeing with the eager steps.

Every test here runs on the jax backend (``xn.use_backend("jax")``) whatever the
session's backend, where JAX is installed; the error tests run on the other
backends that are installed. Each agreement test trains the same model twice from
the same seed, once eagerly (``jit_compile=False``) and once compiled, and compares.

Tolerances (TOL): XLA compiles a whole step into fused loops whose float32 sums
and products may be ordered and rounded differently from the op-by-op eager run
(an ulp or two per op), and the bias corrections of Adam, AdamW and Nadam are
computed from the traced step count: in float32 where jax_enable_x64 is off (the
eager step computes them in Python floats). Measured on these runs: weights within
~1e-7 with x64 on (the JAX test session) and within ~6e-7 with it off (the other
sessions), predictions after 21 Adam steps within ~6e-6; hence atol=1e-5 and
rtol=1e-5. Tests that need other bounds say why.
"""

from __future__ import annotations

import numpy as np
import pytest

import xpnet as xn
from xpnet.models.jit import resolve_jit_compile

pytestmark = pytest.mark.skipif(
    "jax" not in xn.available_backends(), reason="jit_compile compiles on the jax backend only"
)

TOL = {"rtol": 1e-5, "atol": 1e-5}


@pytest.fixture
def jax_backend():
    with xn.use_backend("jax") as b:
        yield b


def _data(n=96, features=12, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    y = rng.integers(0, classes, n)
    return x, y


def _scce():
    return xn.losses.SparseCategoricalCrossentropy(from_logits=True)


def _mlp(features=12, classes=3):
    return xn.Sequential(
        [
            xn.Input(shape=(features,)),
            xn.layers.Dense(16, activation="relu"),
            xn.layers.Dense(classes),
        ]
    )


def _twice(build, compile_kw, fit_kw, data, seed=0):
    """The same model trained eagerly and compiled: (eager model, its history,
    compiled model, its history)."""
    out = []
    for jit in (False, True):
        xn.set_seed(seed)
        model = build()
        model.compile(jit_compile=jit, **compile_kw())
        history = model.fit(*data, verbose=0, **fit_kw)
        out += [model, history.history]
    return out


def _assert_same_weights(a, b, **tol):
    tol = tol or TOL
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        assert x.dtype == y.dtype == np.float32
        np.testing.assert_allclose(y, x, **tol)


def _assert_same_history(ha, hb, **tol):
    tol = tol or TOL
    assert ha.keys() == hb.keys()
    for key in ha:
        np.testing.assert_allclose(hb[key], ha[key], err_msg=key, **tol)


def _train_traces(model) -> int:
    steps = model._state.steps
    return 0 if steps is None else sum(1 for k in steps.fns if k[0] == "train")


# --------------------------------------------------------------------------- choosing


def test_auto_compiles_on_jax_and_runs_eagerly_elsewhere():
    x, y = _data()
    for name in xn.available_backends():
        with xn.use_backend(name):
            xn.set_seed(0)
            model = _mlp()
            model.compile(optimizer="sgd", loss=_scce())
            assert model.jit_compile is (name == "jax"), name
            model.fit(x, y, batch_size=32, epochs=1, verbose=0)
            steps = model._state.steps
            if name == "jax":
                assert steps is not None and steps.traces == 1
            else:
                assert steps is None, name


@pytest.mark.parametrize(
    "name", [b for b in ("numpy", "array_api_strict", "torch") if b in xn.available_backends()]
)
def test_jit_compile_true_says_the_backend_cannot(name):
    with xn.use_backend(name):
        model = _mlp()
        with pytest.raises(ValueError) as err:
            model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    message = str(err.value)
    assert f"{name!r} backend cannot compile whole steps" in message
    assert "jit_compile='auto'" in message and "xn.set_backend('jax')" in message


def test_cupy_cannot_yet():
    with pytest.raises(ValueError, match="CuPy cannot yet"):
        resolve_jit_compile(True, False, "cupy")
    assert resolve_jit_compile("auto", False, "cupy") is False


def test_a_bad_value_and_run_eagerly(jax_backend):
    model = _mlp()
    with pytest.raises(ValueError, match="'auto', True or False. Received: jit_compile='yes'"):
        model.compile(optimizer="sgd", loss="mse", jit_compile="yes")
    with pytest.warns(UserWarning, match="run_eagerly=True overrides jit_compile=True"):
        model.compile(optimizer="sgd", loss="mse", jit_compile=True, run_eagerly=True)
    assert model.run_eagerly and not model.jit_compile


@pytest.mark.parametrize("kw", [{"jit_compile": False}, {"run_eagerly": True}])
def test_jit_compile_false_or_run_eagerly_runs_eagerly_on_jax(jax_backend, kw):
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="sgd", loss=_scce(), **kw)
    assert model.jit_compile is False
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert model._state.steps is None
    model.jit_compile = True  # Keras's setter: compiled from the next step on
    model.run_eagerly = False
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert _train_traces(model) == 1


# --------------------------------------------------------------------------- agreement


def test_mlp_with_adam_agrees_with_eager(jax_backend):
    x, y = _data(n=200)
    xv, yv = _data(n=40, seed=1)
    ea, ha, jb, hb = _twice(
        _mlp,
        lambda: {
            "optimizer": xn.optimizers.Adam(0.01),
            "loss": _scce(),
            "metrics": ["accuracy"],
        },
        {"batch_size": 32, "epochs": 3, "validation_data": (xv, yv)},
        (x, y),
    )
    assert set(ha) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    _assert_same_history(ha, hb)
    _assert_same_weights(ea, jb)
    np.testing.assert_allclose(
        jb.evaluate(xv, yv, verbose=0), ea.evaluate(xv, yv, verbose=0), **TOL
    )
    pa, pb = ea.predict(x, verbose=0), jb.predict(x, verbose=0)
    assert type(pb) is type(pa) and pb.dtype == pa.dtype
    np.testing.assert_allclose(xn.to_numpy(pb), xn.to_numpy(pa), **TOL)
    assert ea.optimizer.iterations == jb.optimizer.iterations == 21
    # 200 = 6 * 32 + 8 and 40 = 32 + 8: one trace per kind of step and batch shape
    traced = sorted((kind, shapes[0]) for kind, shapes in jb._state.steps.traced)
    rows = [(32, 12), (8, 12)]
    assert traced == sorted((kind, r) for kind in ("predict", "test", "train") for r in rows)


def test_the_step_compiles_once_per_input_shape(jax_backend):
    x, y = _data(n=100)
    model = _mlp()
    model.compile(optimizer="adam", loss=_scce(), metrics=["accuracy"])
    model.fit(x, y, batch_size=25, epochs=3, verbose=0)
    steps = model._state.steps
    assert steps.traces == 1  # 4 full batches an epoch, one shape
    model.fit(x, y, batch_size=25, epochs=2, verbose=0)
    model.train_on_batch(x[:25], y[:25])
    assert steps.traces == 1
    model.fit(x, y, batch_size=30, epochs=2, verbose=0)  # 30, 30, 30 and a ragged 10
    assert steps.traces == 3
    for _ in range(2):
        model.evaluate(x, y, batch_size=25, verbose=0)
        model.predict(x, batch_size=25, verbose=0)
    assert steps.traces == 5


def test_cnn_agrees_with_eager(jax_backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 8, 8, 2)).astype(np.float32)
    y = rng.integers(0, 4, 40)

    def build():
        return xn.Sequential(
            [
                xn.Input(shape=(8, 8, 2)),
                xn.layers.Conv2D(4, 3, padding="same", activation="relu"),
                xn.layers.MaxPooling2D(2),
                xn.layers.Conv2D(6, 3, activation="relu"),
                xn.layers.Flatten(),
                xn.layers.Dense(4),
            ]
        )

    ea, ha, jb, hb = _twice(
        build,
        lambda: {
            "optimizer": xn.optimizers.SGD(0.05, momentum=0.9),
            "loss": xn.losses.SparseCategoricalCrossentropy(from_logits=True),
            "metrics": ["accuracy"],
        },
        {"batch_size": 16, "epochs": 2},
        (x, y),
    )
    _assert_same_history(ha, hb)
    _assert_same_weights(ea, jb)


def _bn_dropout(rate):
    def build():
        return xn.Sequential(
            [
                xn.Input(shape=(12,)),
                # no bias before the normalization: its gradient is rounding noise,
                # which Adam scales up to full steps of either sign
                xn.layers.Dense(16, use_bias=False),
                xn.layers.BatchNormalization(),
                xn.layers.Activation("relu"),
                xn.layers.Dropout(rate),
                xn.layers.Dense(3),
            ]
        )

    return build


def test_batch_normalization_and_dropout_at_rate_zero_agree(jax_backend):
    # rate 0 draws no mask: the runs differ only by XLA's rounding
    x, y = _data(n=64)
    ea, ha, jb, hb = _twice(
        _bn_dropout(0.0),
        lambda: {"optimizer": "adam", "loss": _scce()},
        {"batch_size": 16, "epochs": 2},
        (x, y),
    )
    _assert_same_history(ha, hb)
    _assert_same_weights(ea, jb)  # the moving mean and variance are weights
    bn = jb.layers[1]
    assert not np.allclose(xn.to_numpy(bn.moving_mean), 0.0)
    np.testing.assert_allclose(jb.predict(x, verbose=0), ea.predict(x, verbose=0), **TOL)


def _dropout_losses(seed=None, steps=6, layer_seed=None):
    """Losses of train_on_batch on one batch of ones through Dropout(0.5) and a sum
    that never changes (learning rate 0): each step's loss is a function of that
    step's mask alone."""
    if seed is not None:
        xn.set_seed(seed)
    model = xn.Sequential(
        [
            xn.Input(shape=(400,)),
            xn.layers.Dropout(0.5, seed=layer_seed),
            xn.layers.Dense(1, use_bias=False, kernel_initializer="ones"),
        ]
    )
    model.compile(optimizer=xn.optimizers.SGD(0.0), loss="mse")
    x, y = np.ones((2, 400), np.float32), np.zeros((2, 1), np.float32)
    losses = []
    for _ in range(steps):
        model.reset_metrics()
        losses.append(model.train_on_batch(x, y))
    return model, np.array(losses)


def test_dropout_draws_a_new_mask_every_compiled_step(jax_backend):
    model, losses = _dropout_losses(seed=3)
    assert model._state.steps.traces == 1
    # each output is 2 * (kept units), kept ~ Binomial(400, 0.5): about 400
    outputs = np.sqrt(losses)
    assert np.all((outputs > 300) & (outputs < 500)), outputs
    assert len(np.unique(losses)) == len(losses)  # a mask baked in would repeat
    _, again = _dropout_losses(seed=3)
    np.testing.assert_array_equal(again, losses)  # xn.set_seed repeats a compiled run
    _, other = _dropout_losses(seed=4)
    assert not np.array_equal(other, losses)


def test_a_seeded_dropout_layer_repeats_its_masks_under_jit(jax_backend):
    _, first = _dropout_losses(seed=1, layer_seed=7)
    _, second = _dropout_losses(seed=2, layer_seed=7)  # another global seed, same layer seed
    np.testing.assert_array_equal(first, second)
    assert len(np.unique(first)) == len(first)


@pytest.mark.parametrize(
    "noise, expected",
    [
        # E[(m / 0.75 - 1)^2] with m ~ Bernoulli(0.75) (bernoulli draws)
        (lambda: xn.layers.Dropout(0.25), 1 / 3),
        # E[(0.5 z)^2] and E[(n - 1)^2] with n ~ N(1, 0.25 / 0.75) (standard_normal draws)
        (lambda: xn.layers.GaussianNoise(0.5), 0.25),
        (lambda: xn.layers.GaussianDropout(0.25), 1 / 3),
    ],
    ids=["Dropout", "GaussianNoise", "GaussianDropout"],
)
def test_noise_statistics_agree_with_eager(jax_backend, noise, expected):
    # different random streams (host draws eagerly, JAX keys compiled): compare the
    # mean training loss over many steps with its expectation, not the numbers
    means = []
    for jit in (False, True):
        xn.set_seed(0)
        model = xn.Sequential(
            [
                xn.Input(shape=(400,)),
                noise(),
                xn.layers.Dense(400, use_bias=False, kernel_initializer="identity"),
            ]
        )
        model.compile(optimizer=xn.optimizers.SGD(0.0), loss="mse", jit_compile=jit)
        x = np.ones((8, 400), np.float32)
        history = model.fit(x, x, batch_size=8, epochs=40, verbose=0)
        means.append(np.mean(history.history["loss"]))
        # new noise every step (noise baked in would give one value; dropout's loss
        # counts the dropped units, so two steps may tie)
        assert len(np.unique(history.history["loss"])) > 30
    # each squared deviation has a standard deviation of sqrt(2) times its mean at most:
    # over 40 * 3200 draws the mean's is under 0.4% of it; 3% is over 7 of them
    np.testing.assert_allclose(means, [expected, expected], rtol=0.03)


OPTIMIZERS = [
    ("sgd", lambda: xn.optimizers.SGD(0.1)),
    (
        "sgd-nesterov-clipnorm",
        lambda: xn.optimizers.SGD(0.1, momentum=0.9, nesterov=True, clipnorm=1.0),
    ),
    ("rmsprop-centered", lambda: xn.optimizers.RMSprop(0.01, momentum=0.5, centered=True)),
    ("adagrad-clipvalue", lambda: xn.optimizers.Adagrad(0.1, clipvalue=0.1)),
    ("adadelta", lambda: xn.optimizers.Adadelta(1.0)),
    ("adam-amsgrad", lambda: xn.optimizers.Adam(0.01, amsgrad=True)),
    ("adamw-global-clipnorm", lambda: xn.optimizers.AdamW(0.01, global_clipnorm=0.5)),
    ("adamax-weight-decay", lambda: xn.optimizers.Adamax(0.01, weight_decay=0.1)),
    ("nadam", lambda: xn.optimizers.Nadam(0.01)),
    ("lion", lambda: xn.optimizers.Lion(0.001)),
    ("lamb", lambda: xn.optimizers.Lamb(0.01)),
    ("adafactor", lambda: xn.optimizers.Adafactor(0.01)),
    ("ftrl-l1", lambda: xn.optimizers.Ftrl(0.1, l1_regularization_strength=0.001)),
]


def test_the_optimizer_table_holds_every_optimizer():
    registered = {type(xn.optimizers.get(name)) for name in xn.optimizers.names()}
    assert {type(make()) for _, make in OPTIMIZERS} == registered


@pytest.mark.parametrize("make", [m for _, m in OPTIMIZERS], ids=[n for n, _ in OPTIMIZERS])
def test_every_optimizer_agrees_with_eager(jax_backend, make):
    x, y = _data(n=64)
    ea, ha, jb, hb = _twice(
        _mlp,
        lambda: {"optimizer": make(), "loss": _scce()},
        {"batch_size": 16, "epochs": 2, "shuffle": False},
        (x, y),
    )
    _assert_same_history(ha, hb)
    _assert_same_weights(ea, jb)
    sa, sb = ea.optimizer.get_state(), jb.optimizer.get_state()
    assert sa.keys() == sb.keys() and sb["iterations"] == sa["iterations"] == 8
    for key in sa:
        np.testing.assert_allclose(sb[key], sa[key], err_msg=key, **TOL)


def test_a_schedule_and_a_learning_rate_set_between_epochs(jax_backend):
    x, y = _data(n=64)

    class Halve(xn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            opt = self.model.optimizer
            opt.learning_rate = opt.learning_rate * 0.5

    schedule = xn.optimizers.schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5)
    for make, callbacks in [
        (lambda: xn.optimizers.SGD(schedule), []),
        (lambda: xn.optimizers.SGD(0.1), [Halve()]),
    ]:
        runs = []
        for jit in (False, True):
            xn.set_seed(0)
            model = _mlp()
            model.compile(optimizer=make(), loss=_scce(), jit_compile=jit)
            runs.append(
                (model, model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=callbacks))
            )
        (ea, ha), (jb, hb) = runs
        _assert_same_history(ha.history, hb.history)
        _assert_same_weights(ea, jb)
        assert _train_traces(jb) == 1  # the rate is an argument of the step, not a constant


def _two_in_two_out():
    a = xn.Input(shape=(6,), name="a")
    b = xn.Input(shape=(4,), name="b")
    h = xn.layers.Dense(8, activation="tanh", kernel_regularizer=xn.regularizers.L2(0.01))(
        xn.layers.Concatenate()([a, b])
    )
    h = xn.layers.Dense(8, activation="relu", activity_regularizer=xn.regularizers.L1(0.001))(h)
    out_c = xn.layers.Dense(3, activation="softmax", name="c")(h)
    out_r = xn.layers.Dense(1, name="r")(h)
    return xn.Model([a, b], [out_c, out_r])


def test_several_inputs_and_outputs_weights_and_penalties_agree(jax_backend):
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((50, 6)).astype(np.float32)
    xb = rng.standard_normal((50, 4)).astype(np.float32)
    yc = rng.integers(0, 3, 50)
    yr = rng.standard_normal((50, 1)).astype(np.float32)
    sw = rng.uniform(0.5, 1.5, 50).astype(np.float32)
    ea, ha, jb, hb = _twice(
        _two_in_two_out,
        lambda: {
            "optimizer": xn.optimizers.Adam(0.01),
            "loss": {"c": "sparse_categorical_crossentropy", "r": "mse"},
            "loss_weights": {"c": 1.0, "r": 0.5},
            "metrics": {"c": ["accuracy"], "r": ["mae"]},
            "weighted_metrics": {"r": ["mse"]},
        },
        {"batch_size": 16, "epochs": 2, "sample_weight": {"c": sw, "r": sw}},
        ([xa, xb], {"c": yc, "r": yr}),
    )
    assert "c_loss" in ha and "r_mse" in ha
    _assert_same_history(ha, hb)
    _assert_same_weights(ea, jb)
    ra = ea.evaluate([xa, xb], [yc, yr], return_dict=True, verbose=0)
    rb = jb.evaluate([xa, xb], [yc, yr], return_dict=True, verbose=0)
    assert ra.keys() == rb.keys()
    np.testing.assert_allclose(list(rb.values()), list(ra.values()), **TOL)
    pa, pb = ea.predict([xa, xb], verbose=0), jb.predict([xa, xb], verbose=0)
    for a, b in zip(pa, pb):
        np.testing.assert_allclose(xn.to_numpy(b), xn.to_numpy(a), **TOL)


def test_class_weights_steps_per_epoch_and_batch_logs_agree(jax_backend):
    x, y = _data(n=80)

    class Batches(xn.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_train_batch_end(self, batch, logs=None):
            self.seen.append(logs["loss"])  # read between compiled steps

    logs = []
    for jit in (False, True):
        xn.set_seed(0)
        model = _mlp()
        model.compile(optimizer="adam", loss=_scce(), jit_compile=jit)
        cb = Batches()
        model.fit(
            x,
            y,
            batch_size=16,
            epochs=2,
            steps_per_epoch=3,
            class_weight={0: 1.0, 1: 2.0, 2: 0.5},
            callbacks=[cb],
            verbose=0,
        )
        logs.append(cb.seen)
        assert model.optimizer.iterations == 6
    assert len(logs[1]) == 6
    np.testing.assert_allclose(logs[1], logs[0], **TOL)


def test_train_and_test_on_batch_accumulate_until_reset(jax_backend):
    x, y = _data(n=32)
    results = []
    for jit in (False, True):
        xn.set_seed(0)
        model = _mlp()
        model.compile(
            optimizer="sgd",
            loss=_scce(),
            metrics=["accuracy", xn.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")],
            jit_compile=jit,
        )
        r = [model.train_on_batch(x, y, return_dict=True) for _ in range(3)]
        r.append(model.test_on_batch(x, y, return_dict=True))
        model.reset_metrics()
        r.append(model.test_on_batch(x, y, return_dict=True))
        results.append(r)
    for a, b in zip(*results):
        assert a.keys() == b.keys()
        np.testing.assert_allclose(list(b.values()), list(a.values()), **TOL)


def test_metrics_of_every_kind_agree(jax_backend):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 12)).astype(np.float32)
    y = (rng.uniform(size=(60, 3)) > 0.5).astype(np.float32)
    metrics = lambda: [  # noqa: E731
        "binary_accuracy",
        xn.metrics.AUC(name="auc"),
        xn.metrics.Precision(thresholds=[0.3, 0.7], name="p"),
        xn.metrics.Recall(name="r"),
        xn.metrics.F1Score(average="macro", threshold=0.5, name="f1"),
        xn.metrics.MultiLabelAccuracy(mode="hamming", name="hamming"),
        xn.metrics.R2Score(name="r2"),
        xn.metrics.MeanSquaredError(name="mse"),
    ]

    def build():
        return xn.Sequential(
            [
                xn.Input(shape=(12,)),
                xn.layers.Dense(8, activation="relu"),
                xn.layers.Dense(3, activation="sigmoid"),
            ]
        )

    ea, ha, jb, hb = _twice(
        build,
        lambda: {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": metrics()},
        {"batch_size": 16, "epochs": 2},
        (x, y),
    )
    _assert_same_history(ha, hb)
    ra = ea.evaluate(x, y, return_dict=True, verbose=0)
    rb = jb.evaluate(x, y, return_dict=True, verbose=0)
    assert ra.keys() == rb.keys()
    for key in ra:  # (p holds one precision per threshold)
        np.testing.assert_allclose(rb[key], ra[key], err_msg=key, **TOL)


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("signed", [False, True], ids=["0/1 labels", "-1/1 labels"])
def test_hinge_losses_map_their_labels_inside_the_step(jax_backend, loss, signed):
    # 0/1 labels become -1/1, decided on the device (a host read could not be traced)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 12)).astype(np.float32)
    y = (rng.uniform(size=(48, 1)) > 0.5).astype(np.float32)
    y = y * 2 - 1 if signed else y

    def build():
        return xn.Sequential([xn.Input(shape=(12,)), xn.layers.Dense(1)])

    ea, ha, jb, hb = _twice(
        build, lambda: {"optimizer": "sgd", "loss": loss}, {"batch_size": 16, "epochs": 2}, (x, y)
    )
    _assert_same_history(ha, hb)
    _assert_same_weights(ea, jb)


def test_a_subclassed_model_builds_at_its_first_batch_then_compiles(jax_backend):
    class Net(xn.Model):
        def __init__(self):
            super().__init__()
            self.hidden = xn.layers.Dense(16, activation="relu")
            self.out = xn.layers.Dense(3)

        def call(self, x):
            return self.out(self.hidden(x))

    x, y = _data(n=64)
    ea, ha, jb, hb = _twice(
        Net,
        lambda: {"optimizer": "adam", "loss": _scce(), "metrics": ["accuracy"]},
        {"batch_size": 16, "epochs": 2},
        (x, y),
    )
    _assert_same_history(ha, hb)
    _assert_same_weights(ea, jb)
    # the first batch ran eagerly (it made the weights), the other seven compiled
    assert [kind for kind, _ in jb._state.steps.traced] == ["train"]
    xn.set_seed(0)
    fresh = Net()  # never called: predict's first batch builds it eagerly
    out = fresh.predict(x, batch_size=16, verbose=0)
    assert out.shape == (64, 3) and [k for k, _ in fresh._state.steps.traced] == ["predict"]


# --------------------------------------------------------------------------- what cannot be traced


def test_python_state_changed_inside_a_step_is_refused(jax_backend):
    class Remembers(xn.layers.Layer):
        def call(self, x):
            self.last = x  # state kept in a Python attribute: fixed at tracing
            return x

    model = xn.Sequential([xn.Input(shape=(12,)), Remembers(), xn.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=_scce())
    x, y = _data(n=32)
    with pytest.raises(RuntimeError, match="attribute 'last' of layer .*jit_compile=False"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    model.compile(optimizer="sgd", loss=_scce(), jit_compile=False)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # eager: fine


def test_a_metric_must_name_its_state(jax_backend):
    class Largest(xn.metrics.Metric):
        def reset_state(self):
            self.largest = None

        def update_state(self, y_true, y_pred, sample_weight=None):
            xp = xn.backend.namespace(y_pred)
            m = xp.max(y_pred)
            self.largest = m if self.largest is None else xp.maximum(self.largest, m)

        def result(self):
            return 0.0 if self.largest is None else float(xn.to_numpy(self.largest))

    x, y = _data(n=32)
    model = _mlp()
    model.compile(optimizer="sgd", loss=_scce(), metrics=[Largest()])
    with pytest.raises(RuntimeError, match="attribute 'largest' of metric 'largest'.*state_names"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
