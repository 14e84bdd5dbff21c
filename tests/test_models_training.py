"""compile / fit / evaluate / predict / train_on_batch, and a custom loop on the autograd."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import xpnet as xn
from xpnet import backend as B
from xpnet.layers import Dense

from helpers import assert_on_active_backend


def blobs(n=120, seed=0):
    x, y = xn.datasets.make_blobs(n_samples=n, centers=3, n_features=4, cluster_std=1.5, seed=seed)
    return x / 10.0, y


def classifier(seed=0, name=None, **dense_kw):
    xn.set_seed(seed)
    return xn.Sequential(
        [
            xn.Input(shape=(4,)),
            Dense(8, activation="relu", **dense_kw),
            Dense(3, activation="softmax"),
        ],
        name=name,
    )


def compiled(seed=0, lr=0.5, metrics=("accuracy",), **kw):
    model = classifier(seed, **kw)
    model.compile(
        optimizer=xn.optimizers.SGD(lr),
        loss=xn.losses.SparseCategoricalCrossentropy(),
        metrics=list(metrics),
    )
    return model


def test_fit_returns_history_and_learns():
    x, y = blobs()
    model = compiled()
    history = model.fit(x, y, batch_size=16, epochs=8, verbose=0)
    assert isinstance(history, xn.callbacks.History) and model.history is history
    assert set(history.history) == {"loss", "accuracy"}
    assert len(history.history["loss"]) == 8 and history.epoch == list(range(8))
    assert all(isinstance(v, float) for v in history.history["loss"])
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


def test_fit_matches_a_loop_of_train_on_batch_without_shuffling():
    x, y = blobs(50)
    a, b = compiled(seed=3), compiled(seed=3)
    a.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for _ in range(2):
        for start in range(0, 50, 16):
            b.train_on_batch(x[start : start + 16], y[start : start + 16])
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


def test_same_seed_same_run():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = compiled(seed=7)
        xn.set_seed(11)
        runs.append(model.fit(x, y, batch_size=10, epochs=2, verbose=0).history["loss"])
    assert runs[0] == runs[1]


def test_validation_split_holds_out_the_last_samples_before_shuffling():
    x, y = blobs(100)
    model = compiled()
    h = model.fit(x, y, batch_size=8, epochs=3, validation_split=0.2, verbose=0)
    assert {"val_loss", "val_accuracy"} <= set(h.history)
    val_loss, val_acc = model.evaluate(x[80:], y[80:], batch_size=8, verbose=0)
    assert h.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)
    assert h.history["val_accuracy"][-1] == pytest.approx(val_acc)


def test_validation_data_and_validation_freq():
    x, y = blobs(100)
    xv, yv = blobs(40, seed=5)
    model = compiled()
    h = model.fit(x, y, epochs=4, validation_data=(xv, yv), validation_freq=2, verbose=0)
    assert len(h.history["loss"]) == 4 and len(h.history["val_loss"]) == 2
    assert h.history["val_loss"][-1] == pytest.approx(
        model.evaluate(xv, yv, verbose=0)[0], rel=1e-5
    )
    with pytest.raises(ValueError, match="validation_data must be a tuple"):
        model.fit(x, y, validation_data=xv, verbose=0)


def test_class_weight_is_a_per_sample_weight():
    x, y = blobs(60)
    cw = {0: 1.0, 1: 3.0, 2: 0.5}
    a, b, c = compiled(seed=1), compiled(seed=1), compiled(seed=1)
    a.fit(x, y, batch_size=20, epochs=2, shuffle=False, class_weight=cw, verbose=0)
    sw = np.array([cw[int(k)] for k in y], dtype=np.float32)
    b.fit(x, y, batch_size=20, epochs=2, shuffle=False, sample_weight=sw, verbose=0)
    c.fit(x, y, batch_size=20, epochs=2, shuffle=False, verbose=0)
    for wa, wb, _wc in zip(a.get_weights(), b.get_weights(), c.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)
    assert not all(np.allclose(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))


def test_initial_epoch_and_steps_per_epoch():
    x, y = blobs(64)
    model = compiled()
    h = model.fit(x, y, batch_size=8, epochs=5, initial_epoch=3, verbose=0)
    assert h.epoch == [3, 4]
    opt = model.optimizer
    before = opt.iterations
    model.fit(x, y, batch_size=8, epochs=1, steps_per_epoch=3, verbose=0)
    assert opt.iterations - before == 3


def test_evaluate_return_forms():
    x, y = blobs(40)
    plain = classifier()
    plain.compile(optimizer=xn.optimizers.SGD(), loss=xn.losses.SparseCategoricalCrossentropy())
    loss = plain.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    model = compiled()
    values = model.evaluate(x, y, verbose=0)
    assert isinstance(values, list) and len(values) == 2
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "accuracy"] and logs["loss"] == pytest.approx(values[0])
    assert model.metrics_names == ["loss", "accuracy"]
    probs = xn.to_numpy(model.predict(x, verbose=0))
    assert logs["accuracy"] == pytest.approx(np.mean(probs.argmax(1) == y))


def test_train_and_test_on_batch_reset_metrics_each_call():
    # Keras 3.15 resets the metrics at the start of every train_on_batch / test_on_batch
    # call: test_on_batch(x, y) gives the same numbers before and after another batch
    x, y = blobs(32)
    model = compiled()
    first = model.train_on_batch(x[:16], y[:16], return_dict=True)
    assert set(first) == {"loss", "accuracy"}
    t1 = model.test_on_batch(x[:16], y[:16])
    t2 = model.test_on_batch(x[16:], y[16:])
    again = model.test_on_batch(x[:16], y[:16])
    assert again[0] == pytest.approx(t1[0], rel=1e-6)
    assert again[1] == pytest.approx(t1[1], rel=1e-6)
    second = model.evaluate(x[16:], y[16:], verbose=0)
    assert t2[0] == pytest.approx(second[0], rel=1e-5)  # that batch alone


def test_regularization_losses_join_the_training_loss():
    x, y = blobs(30)
    model = compiled(kernel_regularizer=xn.regularizers.L2(0.1))
    plain = compiled()
    plain.set_weights(model.get_weights())
    reg = model.test_on_batch(x, y)[0]
    base = plain.test_on_batch(x, y)[0]
    kernel = model.layers[0].kernel
    penalty = 0.1 * float(np.sum(xn.to_numpy(kernel.data) ** 2))
    assert reg == pytest.approx(base + penalty, rel=1e-5)
    assert len(model.losses) == 1


def two_output_model(seed=0):
    xn.set_seed(seed)
    inp = xn.Input(shape=(4,))
    h = Dense(6, activation="tanh", name="trunk")(inp)
    cls = Dense(3, activation="softmax", name="cls")(h)
    reg = Dense(1, name="reg")(h)
    return xn.Model(inp, [cls, reg])


def test_multi_output_losses_weights_and_metric_names():
    x, y = blobs(40)
    target = x.sum(axis=1, keepdims=True)
    model = two_output_model()
    model.compile(
        optimizer=xn.optimizers.SGD(0.1),
        loss=[xn.losses.SparseCategoricalCrossentropy(), xn.losses.MeanSquaredError()],
        loss_weights={"cls": 1.0, "reg": 0.5},
        metrics={"cls": ["accuracy"], "reg": ["mae"]},
    )
    logs = model.evaluate(x, [y, target], verbose=0, return_dict=True)
    assert list(logs) == ["loss", "cls_loss", "reg_loss", "cls_accuracy", "reg_mae"]
    assert logs["loss"] == pytest.approx(logs["cls_loss"] + 0.5 * logs["reg_loss"], rel=1e-5)
    h = model.fit(x, {"cls": y, "reg": target}, epochs=2, verbose=0)
    assert "reg_mae" in h.history
    with pytest.raises(ValueError, match="2 outputs"):
        model.compile(
            optimizer=xn.optimizers.SGD(), loss=[xn.losses.SparseCategoricalCrossentropy()]
        )
        model.fit(x, y, verbose=0)


def test_accuracy_is_resolved_from_the_loss_and_shapes():
    x, y = blobs(20)
    model = compiled()
    model.evaluate(x, y, verbose=0)
    acc = next(m for m in model.metrics if m.name == "accuracy")
    assert isinstance(acc, xn.metrics.SparseCategoricalAccuracy)
    onehot = compiled()
    onehot.compile(
        optimizer=xn.optimizers.SGD(), loss=xn.losses.MeanSquaredError(), metrics=["acc"]
    )
    onehot.evaluate(x, xn.data.to_categorical(y, 3), verbose=0)
    assert isinstance(onehot.metrics[1], xn.metrics.CategoricalAccuracy)
    assert onehot.metrics[1].name == "acc"
    binary = xn.Sequential([xn.Input(shape=(4,)), Dense(1, activation="sigmoid")])
    binary.compile(
        optimizer=xn.optimizers.SGD(), loss=xn.losses.MeanSquaredError(), metrics=["accuracy"]
    )
    binary.evaluate(x, (y > 0).astype(np.float32)[:, None], verbose=0)
    assert isinstance(binary.metrics[1], xn.metrics.BinaryAccuracy)


def test_stop_training_from_a_callback():
    x, y = blobs(32)
    model = compiled()
    stopper = xn.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: setattr(model, "stop_training", batch == 1)
    )
    h = model.fit(x, y, batch_size=4, epochs=3, callbacks=[stopper], verbose=0)
    assert len(h.epoch) == 1 and model.optimizer.iterations == 2


def test_errors_are_actionable():
    x, y = blobs(10)
    model = classifier()
    with pytest.raises(RuntimeError, match="must compile the model before fit"):
        model.fit(x, y)
    model.compile(optimizer=xn.optimizers.SGD(), loss=xn.losses.SparseCategoricalCrossentropy())
    with pytest.raises(ValueError, match=r"same number of samples.*\[10, 9\]"):
        model.fit(x, y[:9], verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        model.fit(x, y, verbose=3)
    no_loss = classifier()
    no_loss.compile(optimizer=xn.optimizers.SGD())
    with pytest.raises(ValueError, match="No loss to optimize"):
        no_loss.fit(x, y, verbose=0)


def test_inputs_from_numpy_lists_and_other_libraries():
    x, y = blobs(24)
    model = compiled()
    model.fit(x.tolist(), y.tolist(), batch_size=8, verbose=0)  # nested lists
    model.fit(B.asarray(x), B.asarray(y), batch_size=8, verbose=0)  # already on the backend
    torch = pytest.importorskip("torch")
    model.fit(torch.from_numpy(x), torch.from_numpy(y), batch_size=8, verbose=0)
    out = model.predict(torch.from_numpy(x), verbose=0)
    assert_on_active_backend(out)


@pytest.mark.parametrize("shuffle", [False, True, "batch"])
def test_data_resident_on_the_backend_works_in_fit_evaluate_and_predict(shuffle):
    # x and y already on the active backend (strict included: it refuses a[start:stop]
    # on a 2-D array, so the feed must index rows with a[start:stop, ...])
    x, y = blobs(30)
    xd, yd = B.asarray(x), B.asarray(y)
    model = compiled()
    history = model.fit(
        xd, yd, batch_size=8, epochs=2, shuffle=shuffle, validation_split=0.2, verbose=0
    )
    assert len(history.history["val_loss"]) == 2
    model.fit(xd, yd, batch_size=8, validation_data=(xd, yd), shuffle=shuffle, verbose=0)
    resident = model.evaluate(xd, yd, batch_size=7, verbose=0)
    assert resident == pytest.approx(model.evaluate(x, y, batch_size=7, verbose=0), rel=1e-5)
    out = model.predict(xd, batch_size=7, verbose=0)
    assert_on_active_backend(out)
    np.testing.assert_allclose(
        xn.to_numpy(out), xn.to_numpy(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-6
    )
    model.train_on_batch(xd, yd)
    model.test_on_batch(xd, yd)
    assert model.predict_on_batch(xd).shape == (30, 3)


@pytest.mark.parametrize("resident", [False, True])
def test_fit_checks_every_label_before_the_first_step(resident):
    # the steps read no device memory: all labels are checked up front (host labels on
    # the host, labels already on the backend with one read), so a bad label in the last
    # batch stops fit before any weight moves, and so do bad validation labels
    x, y = blobs(40)
    bad = y.copy()
    bad[-1] = 3
    put = B.asarray if resident else np.asarray
    model = compiled()
    model.build((None, 4))
    before = model.get_weights()
    message = r"class indices must lie in \[0, 3\) .*Received labels in \[0, 3\]"
    with pytest.raises(ValueError, match=message):
        model.fit(put(x), put(bad), batch_size=8, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.fit(put(x), put(y), batch_size=8, validation_data=(put(x), put(bad)), verbose=0)
    with pytest.raises(ValueError, match=message):  # the bad label is in the held-out tail
        model.fit(put(x), put(bad), batch_size=8, validation_split=0.25, verbose=0)
    with pytest.raises(ValueError, match="non-integer"):
        model.fit(put(x), put(y + 0.5), batch_size=8, verbose=0)
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(put(x), put(bad), batch_size=8, verbose=0)
    with pytest.raises(ValueError, match=message):
        model.train_on_batch(x, bad)  # host labels of the single-batch calls too
    model.fit(put(x), put(y), batch_size=8, validation_data=(put(x), put(y)), verbose=0)


@pytest.mark.parametrize("resident", [False, True])
@pytest.mark.parametrize("functional", [False, True])
def test_fit_evaluate_predict_check_embedding_ids_before_the_first_step(resident, functional):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 10, (40, 5))
    y = rng.integers(0, 3, 40)
    bad = x.copy()
    bad[-1, -1] = 10
    put = B.asarray if resident else np.asarray
    xn.set_seed(0)
    if functional:
        inp = xn.Input(shape=(5,), dtype="int64")
        h = xn.layers.Flatten()(xn.layers.Embedding(10, 4)(inp))
        model = xn.Model(inp, Dense(3)(h))
    else:
        model = xn.Sequential([xn.layers.Embedding(10, 4), xn.layers.Flatten(), Dense(3)])
    model.compile(
        optimizer=xn.optimizers.SGD(0.1),
        loss=xn.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(put(x), put(y), batch_size=8, verbose=0)
    before = model.get_weights()
    message = r"got ids in \[0, 10\], but input_dim=10"
    with pytest.raises(ValueError, match=message):
        model.fit(put(bad), put(y), batch_size=8, shuffle=False, verbose=0)
    for w, w0 in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    with pytest.raises(ValueError, match=message):
        model.evaluate(put(bad), put(y), verbose=0)
    with pytest.raises(ValueError, match=message):
        model.predict(put(bad), verbose=0)


def test_the_model_keeps_its_backend_when_the_active_one_changes():
    x, y = blobs(24)
    with xn.use_backend("numpy"):
        model = compiled()
    model.fit(x, y, verbose=0)  # data are moved to the model's backend, not the active one
    out = model.predict(x, verbose=0)
    assert isinstance(out, np.ndarray)


@pytest.mark.skipif(
    xn.get_backend().name not in ("numpy", "array_api_strict"),
    reason="tracemalloc sees NumPy's allocations only",
)
def test_an_epoch_moves_batches_not_the_data_set():
    n, d = 20_000, 64
    x = np.random.default_rng(0).standard_normal((n, d)).astype(np.float64)  # 10 MB
    y = np.zeros(n, dtype=np.int64)
    xn.set_seed(0)
    model = xn.Sequential([xn.Input(shape=(d,)), Dense(3, activation="softmax")])
    model.compile(
        optimizer=xn.optimizers.SGD(0.01),
        loss=xn.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    model.fit(x[:64], y[:64], verbose=0)  # warm up caches outside the measurement
    tracemalloc.start()
    model.fit(x, y, batch_size=128, epochs=1, validation_split=0.1, verbose=0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # a copy of the data set (10 MB, or 5 MB as float32) would dominate; batches take ~100 KB
    assert peak < 0.1 * x.nbytes, f"peak {peak / 1e6:.1f} MB while fitting {x.nbytes / 1e6} MB"


def test_custom_training_loop_on_the_autograd():
    x, y = blobs(60)
    model = classifier(seed=2)
    loss_fn, opt = xn.losses.SparseCategoricalCrossentropy(), xn.optimizers.SGD(0.5)
    first = last = None
    for epoch in range(10):
        for xb, yb in xn.data.batches(x, y, batch_size=20, seed=epoch):
            loss = loss_fn(yb, model(xb, training=True))
            loss.backward()
            opt.step(model.trainable_weights)
            model.zero_grad()
            first = loss.item() if first is None else first
            last = loss.item()
    assert last < 0.5 * first
    assert all(p.grad is None for p in model.trainable_weights)


def test_compile_takes_keras_names():
    x, y = blobs(48)
    model = classifier()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    assert isinstance(model.optimizer, xn.optimizers.Adam)
    h = model.fit(x, y, epochs=3, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropi")
    with pytest.raises(ValueError, match="Unknown optimizer"):
        model.compile(optimizer="adamm", loss="mse")


def test_a_plain_loss_function_is_wrapped():
    x, y = blobs(30)
    target = xn.data.to_categorical(y, 3)

    def squared(y_true, y_pred):
        d = y_pred - xn.Tensor(y_true, dtype="float32")
        return (d * d).mean(axis=-1)

    a, b = classifier(seed=1), classifier(seed=1)
    a.compile(optimizer=xn.optimizers.SGD(0.5), loss=squared)
    b.compile(optimizer=xn.optimizers.SGD(0.5), loss="mse")
    assert a.evaluate(x, target, verbose=0) == pytest.approx(b.evaluate(x, target, verbose=0))
    a.fit(x, target, shuffle=False, verbose=0)
    b.fit(x, target, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-7)


def test_constraints_hold_after_every_step():
    x, y = blobs(40)
    model = classifier(kernel_constraint="non_neg")
    model.compile(optimizer=xn.optimizers.SGD(1.0), loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert xn.to_numpy(model.layers[0].kernel.data).min() >= 0.0
