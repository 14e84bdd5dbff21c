"""Keras 3 ``.keras`` archives written and read by xpnet (h5py needed; Keras itself is
not: tests/reference/test_keras_files.py checks the files against Keras)."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

import xpnet as xn
from xpnet.saving import LoadError

h5py = pytest.importorskip("h5py", reason='.keras files need h5py: pip install "xpnet[keras]"')
L = xn.layers


def _convnet():
    model = xn.Sequential(
        [
            xn.Input((8, 8, 3)),
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.BatchNormalization(),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dropout(0.2),
            L.Dense(3, activation="softmax"),
        ]
    )
    x = np.random.default_rng(0).standard_normal((16, 8, 8, 3)).astype("float32")
    model(x, training=True)  # BatchNormalization's moving statistics move off 0/1
    return model, x[:4]


def _recurrent():
    inp = xn.Input((6,), dtype="int32")
    e = L.Embedding(10, 4)(inp)
    a = L.LSTM(3, return_sequences=True)(e)
    b = L.GRU(2)(a)
    c = L.Activation("tanh")(L.LayerNormalization()(b))
    out = L.Concatenate()([c, L.Dense(2)(b)])
    x = np.random.default_rng(1).integers(0, 10, (4, 6)).astype("int32")
    return xn.Model(inp, out), x


@pytest.mark.parametrize("make", [_convnet, _recurrent], ids=["sequential", "functional"])
def test_round_trip_through_a_keras_archive(make, tmp_path):
    model, x = make()
    path = tmp_path / "m.keras"
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(zf.read("config.json"))
    assert config["class_name"] in ("Sequential", "Functional")
    again = xn.models.load_model(path)
    assert again.count_params() == model.count_params()
    np.testing.assert_array_equal(
        xn.to_numpy(again.predict(x, verbose=0)), xn.to_numpy(model.predict(x, verbose=0))
    )


def _rewrite(src, dst, **members):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            if name in members:
                if members[name] is not None:
                    zout.writestr(name, members[name])
            else:
                zout.writestr(name, zin.read(name))


def _h5_bytes(fill):
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        fill(h5)
    return buf.getvalue()


def test_bad_archives_raise_load_errors_naming_the_file_and_the_fault(tmp_path):
    model, _ = _convnet()
    good = tmp_path / "good.keras"
    model.save(good)

    def bad(name, match, **members):
        path = tmp_path / name
        _rewrite(good, path, **members)
        with pytest.raises(LoadError, match=match) as info:
            xn.models.load_model(path)
        assert str(path) in str(info.value)

    bad("nojson.keras", "config.json is not valid JSON", **{"config.json": b"{oops"})
    config = json.loads(zipfile.ZipFile(good).read("config.json"))
    # a config naming code to import: classes are looked up among xpnet's layers only
    hostile = json.loads(json.dumps(config))
    hostile["config"]["layers"][1]["module"] = "os"
    hostile["config"]["layers"][1]["class_name"] = "system"
    bad(
        "hostile.keras", "'system' has no xpnet counterpart", **{"config.json": json.dumps(hostile)}
    )
    subclassed = dict(config, class_name="MyModel")
    bad("sub.keras", "'MyModel'", **{"config.json": json.dumps(subclassed)})
    old = tmp_path / "keras2.keras"
    _rewrite(good, old, **{"metadata.json": json.dumps({"keras_version": "2.15.0"})})
    with pytest.raises(LoadError, match="Keras 2.15.0"):
        xn.models.load_model(old)

    # a dataset whose shape differs from the config's: refused before its data is read
    def wrong_shape(h5):
        src = h5py.File(io.BytesIO(zipfile.ZipFile(good).read("model.weights.h5")), "r")
        for key in src:
            src.copy(src[key], h5, key)
        del h5["layers/dense/vars/0"]
        h5["layers/dense/vars/0"] = np.zeros((5, 3), "float32")

    bad(
        "shape.keras",
        r"layers/dense/vars/0.*\(5, 3\).*expected \(64, 3\)",
        **{"model.weights.h5": _h5_bytes(wrong_shape)},
    )

    def missing(h5):
        h5.create_group("vars")

    bad("missing.keras", "no group layers/conv2d/vars", **{"model.weights.h5": _h5_bytes(missing)})
    # a weights member far larger than the config's weights: refused before it is read
    bad("huge.keras", "more than the", **{"model.weights.h5": b"\0" * (8 * 2**20)})
    bad("noweights.keras", "no model.weights.h5", **{"model.weights.h5": None})
    bad("garbage.keras", "not a readable HDF5 file", **{"model.weights.h5": b"not hdf5" * 100})
    trunc = tmp_path / "trunc.keras"
    trunc.write_bytes(good.read_bytes()[:200])
    with pytest.raises(LoadError, match="not a complete zip archive"):
        xn.models.load_model(trunc)


def test_a_subclassed_model_is_refused_under_keras_extension(tmp_path):
    class Net(xn.Model):
        def __init__(self):
            super().__init__()
            self.dense = L.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="subclassed"):
        net.save(tmp_path / "n.keras")
    assert not (tmp_path / "n.keras").exists()
