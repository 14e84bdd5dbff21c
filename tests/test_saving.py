"""Saving: one-file models, weights files, atomic writes, hostile and broken files, backends."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

import xpnet as xn
from xpnet import saving
from xpnet.layers import Dense

from helpers import assert_on_active_backend

X = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)


def mlp(seed=0, name=None):
    xn.set_seed(seed)
    return xn.Sequential(
        [xn.Input(shape=(4,)), Dense(5, activation="relu"), Dense(3, activation="softmax")],
        name=name,
    )


def functional(seed=0):
    xn.set_seed(seed)
    a, b = xn.Input(shape=(4,), name="a"), xn.Input(shape=(4,), name="b")
    shared = Dense(4, activation="tanh", name="shared")
    h = shared(a) + shared(b)
    inner = xn.Sequential([xn.Input(shape=(4,)), Dense(2, name="inner_dense")], name="inner")
    return xn.Model([a, b], [inner(h), Dense(1, name="head")(h * 0.5)])


def predict(model, x):
    out = model.predict(x, verbose=0)
    return [xn.to_numpy(o) for o in out] if isinstance(out, list) else xn.to_numpy(out)


def assert_same(a, b):
    for u, v in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "make, x", [(mlp, X), (functional, [X, X[::-1].copy()])], ids=["sequential", "functional"]
)
def test_save_and_load_model_without_compile(make, x, tmp_path):
    model = make()
    path = tmp_path / "m.xpnet"
    model.save(path)
    assert zipfile.is_zipfile(path)
    names = set(zipfile.ZipFile(path).namelist())
    assert {"metadata.json", "config.json", "weights.npz"} <= names
    clone = xn.models.load_model(path)
    assert type(clone) is type(model) and clone.name == model.name
    assert [w.name for w in clone.weights] == [w.name for w in model.weights]
    assert_same(predict(clone, x), predict(model, x))
    assert clone.get_config() == model.get_config()


def test_a_model_saved_on_one_backend_loads_on_another(tmp_path):
    path = tmp_path / "numpy.xpnet"
    with xn.use_backend("numpy"):
        model = mlp()
        expected = predict(model, X)
        model.save(path)
    clone = xn.models.load_model(path)  # the backend under test
    out = clone.predict(X, verbose=0)
    assert_on_active_backend(out)
    assert_same(xn.to_numpy(out), expected)
    there = tmp_path / "active.xpnet"
    clone.save(there)
    with xn.use_backend("numpy"):
        back = xn.models.load_model(there)
        assert isinstance(back.predict(X, verbose=0), np.ndarray)
        assert_same(predict(back, X), expected)


def test_save_weights_and_load_weights(tmp_path):
    model = mlp(seed=1)
    path = tmp_path / "w.weights.npz"
    model.save_weights(path)
    with np.load(path, allow_pickle=False) as npz:  # a plain .npz keyed by weight names
        assert set(npz.files) >= {w.name for w in model.weights}
    other = mlp(seed=2)  # same architecture, other names (dense_2 ... vs dense ...)
    assert [w.name for w in other.weights] != [w.name for w in model.weights]
    other.load_weights(path)
    assert_same(predict(other, X), predict(model, X))
    full = tmp_path / "full.xpnet"
    model.save(full)
    third = mlp(seed=3)
    third.load_weights(full)  # from a whole-model file too
    assert_same(predict(third, X), predict(model, X))


def test_load_weights_validates_before_touching_the_model(tmp_path):
    path = tmp_path / "w.npz"
    mlp().save_weights(path)
    wider = xn.Sequential([xn.Input(shape=(4,)), Dense(6, activation="relu"), Dense(3)])
    before = wider.get_weights()
    with pytest.raises(saving.LoadError, match=r"shape \(4, 5\) in the file but \(4, 6\)"):
        wider.load_weights(path)
    for a, b in zip(wider.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    deeper = xn.Sequential([xn.Input(shape=(4,)), Dense(5), Dense(5), Dense(3)])
    with pytest.raises(saving.LoadError, match="holds 4 weights but model"):
        deeper.load_weights(path)
    renamed = xn.Sequential([xn.Input(shape=(4,)), Dense(5, name="enc"), Dense(3, name="dec")])
    with pytest.raises(saving.LoadError, match="layer names differ"):
        renamed.load_weights(path)
    with pytest.raises(ValueError, match="not built yet"):
        xn.Sequential([Dense(2)]).load_weights(path)


def test_load_model_checks_names_and_shapes_exactly(tmp_path):
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    with np.load(io.BytesIO(parts["weights.npz"])) as npz:
        arrays = {k: npz[k] for k in npz.files}
    first = next(iter(arrays))
    arrays[first] = np.zeros((9, 9), np.float32)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    parts["weights.npz"] = buf.getvalue()
    bad = tmp_path / "bad.xpnet"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, raw in parts.items():
            zf.writestr(name, raw)
    with pytest.raises(saving.LoadError, match=r"shape \(9, 9\) in the file"):
        xn.models.load_model(bad)


def _corrupt_member(path: Path, member: str) -> None:
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    middle = start + info.compress_size // 2
    raw[middle : middle + 8] = bytes(b ^ 0xFF for b in raw[middle : middle + 8])
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), "not a complete zip"),
        (lambda p: p.write_bytes(b""), "not a complete zip"),
        (lambda p: p.write_text("just some text\n"), "not a complete zip"),
        (lambda p: _corrupt_member(p, "weights.npz"), "corrupted"),
        (lambda p: _corrupt_member(p, "config.json"), "corrupted|JSON"),
    ],
    ids=["truncated", "empty", "text", "flipped-weights", "flipped-config"],
)
def test_broken_files_give_a_clear_error(damage, match, tmp_path):
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    damage(path)
    with pytest.raises(saving.LoadError, match=match):
        xn.models.load_model(path)
    model = mlp()
    before = model.get_weights()
    with pytest.raises(saving.LoadError):
        model.load_weights(path)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_foreign_zip_files_are_refused(tmp_path):
    plain = tmp_path / "other.zip"
    with zipfile.ZipFile(plain, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(saving.LoadError, match="no metadata.json"):
        xn.models.load_model(plain)
    other = tmp_path / "other.xpnet"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("metadata.json", '{"format": "something-else"}')
    with pytest.raises(saving.LoadError, match="not an xpnet model file"):
        xn.models.load_model(other)
    npz = tmp_path / "plain.npz"
    np.savez(npz, a=np.zeros(3))
    with pytest.raises(saving.LoadError, match="not one written by xpnet"):
        mlp().load_weights(npz)


class _Boom:
    """Unpickling this would create a marker file: a stand-in for code in a hostile file."""

    marker = ""

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def test_pickled_arrays_are_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    _Boom.marker = str(marker)
    evil = np.empty(1, dtype=object)
    evil[0] = _Boom()
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    with zipfile.ZipFile(path) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    with np.load(io.BytesIO(parts["weights.npz"])) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays[next(iter(arrays))] = evil  # the first weight, under its own name
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    parts["weights.npz"] = buf.getvalue()
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw in parts.items():
            zf.writestr(name, raw)
    with pytest.raises(saving.LoadError, match="not numeric"):
        xn.models.load_model(path)
    assert not marker.exists()


def test_unknown_layer_classes_point_to_custom_objects(tmp_path):
    class Scale(xn.layers.Layer):
        def __init__(self, factor=2.0, **kw):
            super().__init__(**kw)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    model = xn.Sequential([xn.Input(shape=(4,)), Dense(2), Scale(3.0)])
    path = tmp_path / "custom.xpnet"
    model.save(path)
    with pytest.raises(ValueError, match=r"custom_objects=\{'Scale': Scale\}"):
        xn.models.load_model(path)
    clone = xn.models.load_model(path, custom_objects={"Scale": Scale})
    assert_same(predict(clone, X), predict(model, X))


class Residual(xn.Model):
    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = Dense(units, activation="tanh")

    def call(self, x):
        return x + self.inner(x)

    def get_config(self):
        return {"units": self.units, "name": self.name}


def test_subclassed_models_save_with_a_config_and_custom_objects(tmp_path):
    model = Residual()
    expected = predict(model, X)
    path = tmp_path / "sub.xpnet"
    model.save(path)
    clone = xn.models.load_model(path, custom_objects={"Residual": Residual})
    assert_same(predict(clone, X), expected)


def test_unbuilt_models_and_unserializable_architectures_are_explained(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        xn.Sequential([Dense(2)]).save(tmp_path / "x.xpnet")

    class NoConfig(xn.Model):
        def __init__(self):
            super().__init__()
            self.d = Dense(2)
            self.table = {"a": object()}

        def call(self, x):
            return self.d(x)

        def get_config(self):
            return {"table": self.table}

    m = NoConfig()
    m(X)
    with pytest.raises(ValueError, match="save_weights"):
        m.save(tmp_path / "x.xpnet")
    assert not (tmp_path / "x.xpnet").exists()
    m.save_weights(tmp_path / "x.npz")  # the weights alone always save


def test_overwrite_false_and_missing_folders(tmp_path):
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        mlp().save(path, overwrite=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mlp().save(tmp_path / "missing" / "m.xpnet")


def test_a_failing_save_keeps_the_previous_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.xpnet"
    model = mlp(seed=1)
    model.save(path)
    original = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(saving, "_npz_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        mlp(seed=2).save(path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.xpnet"]


KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time, zipfile
    import numpy as np
    import xpnet as xn
    path, expected = sys.argv[1], sys.argv[2]
    xn.set_seed(0)
    model = xn.Sequential([xn.Input(shape=(300,)), xn.layers.Dense(400), xn.layers.Dense(3)])
    model.save(path)
    np.save(expected, xn.to_numpy(model.predict(np.ones((2, 300), np.float32), verbose=0)))
    model.set_weights([w + 1.0 for w in model.get_weights()])
    original = zipfile.ZipFile.writestr
    def slow(self, name, data, *args, **kwargs):
        if name == "weights.npz":  # metadata and config are already in the temp file
            original(self, name, data[: len(data) // 2], *args, **kwargs)
            print("mid-save", flush=True)
            time.sleep(120)
        return original(self, name, data, *args, **kwargs)
    zipfile.ZipFile.writestr = slow
    model.save(path)
    """
)


def test_killing_a_process_mid_save_leaves_the_previous_file_loadable(tmp_path):
    path = tmp_path / "model.xpnet"
    expected = tmp_path / "expected.npy"
    script = tmp_path / "saver.py"
    script.write_text(KILL_SCRIPT)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(xn.__file__).parents[1]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    proc = subprocess.Popen(
        [sys.executable, str(script), str(path), str(expected)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip() == "mid-save", f"the saver did not reach the middle of save: {line!r}"
        proc.kill()
    finally:
        proc.wait(timeout=60)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".model.xpnet.")]
    assert leftovers, "the interrupted save should have been writing a temporary file"
    loaded = xn.models.load_model(path)
    out = xn.to_numpy(loaded.predict(np.ones((2, 300), np.float32), verbose=0))
    np.testing.assert_allclose(out, np.load(expected), rtol=1e-5, atol=1e-5)


def test_models_with_merging_normalization_dropout_and_reshaping_round_trip(tmp_path):
    L = xn.layers
    xn.set_seed(4)
    img = xn.Input(shape=(2, 4), name="img")
    vec = xn.Input(shape=(3,), name="vec")
    flat = L.Flatten()(img)
    h = L.Concatenate()([flat, vec])
    h = L.BatchNormalization()(L.Dense(6, activation="relu")(h))
    h = L.Dropout(0.5)(h)
    out = L.Add()([L.Dense(2)(h), L.Dense(2)(h)])
    model = xn.Model([img, vec], out)
    x = [
        np.random.default_rng(1).standard_normal((5, 2, 4)).astype(np.float32),
        np.random.default_rng(2).standard_normal((5, 3)).astype(np.float32),
    ]
    model(x, training=True)  # moves the batch-norm statistics away from their start
    assert model.non_trainable_weights
    path = tmp_path / "mixed.xpnet"
    model.save(path)
    clone = xn.models.load_model(path)
    assert_same(predict(clone, x), predict(model, x))  # inference: dropout off, moving stats


def _compiled_mlp(seed=0):
    model = mlp(seed)
    model.compile(
        optimizer=xn.optimizers.Adam(learning_rate=0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def test_training_resumes_where_it_stopped(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((48, 4)).astype(np.float32)
    y = rng.integers(0, 3, 48)
    straight = _compiled_mlp()
    straight.fit(x, y, batch_size=16, epochs=4, shuffle=False, verbose=0)
    first = _compiled_mlp()
    first.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "half.xpnet"
    first.save(path)
    resumed = xn.models.load_model(path)
    assert isinstance(resumed.optimizer, xn.optimizers.Adam)
    assert resumed.optimizer.iterations == first.optimizer.iterations == 6
    h = resumed.fit(x, y, batch_size=16, epochs=4, initial_epoch=2, shuffle=False, verbose=0)
    assert set(h.history) == {"loss", "accuracy"}
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_compile_false_and_include_optimizer_false(tmp_path):
    model = _compiled_mlp()
    model.fit(X, np.arange(6) % 3, verbose=0)
    path = tmp_path / "m.xpnet"
    model.save(path, include_optimizer=False)
    assert "optimizer.npz" not in zipfile.ZipFile(path).namelist()
    fresh = xn.models.load_model(path)
    assert fresh.optimizer.iterations == 0  # compiled again, optimizer state not restored
    bare = xn.models.load_model(path, compile=False)
    assert bare.optimizer is None
    with pytest.raises(RuntimeError, match="must compile"):
        bare.fit(X, np.zeros(6), verbose=0)
