"""Keras 3 ``.keras`` archives: read them into xpnet models, write xpnet models as them.

A ``.keras`` file is a zip archive of ``metadata.json`` (the Keras version),
``config.json`` (the architecture as Keras serializes it) and
``model.weights.h5`` (HDF5: each layer's variables under
``layers/<class_name_in_snake_case>[_<n>]/vars/<i>``, trainable first, a
recurrent layer's under ``.../cell/vars``). This module maps Keras's config
to xpnet's layers and back, for Sequential and functional models of the layers
both libraries have.

The safety rules of xpnet's own format hold: nothing in the file names code to
run (classes are looked up by name among xpnet's layers and the
``custom_objects`` given, never imported from the ``module`` a config names),
every member's size is checked before it is read, every HDF5 dataset's shape
and dtype is checked against the weight the config implies before its data is
read, and every problem raises :class:`xpnet.saving.LoadError` naming the
file and what is wrong. Writes are atomic (a temporary file renamed over the
target). h5py is needed (``pip install xpnet[keras]``).

Not carried over: the compile settings and optimizer state (a loaded model is
not compiled; Keras's ``compile_config`` is ignored), subclassed models and
layers without an xpnet counterpart (refused with a LoadError naming them).
"""

from __future__ import annotations

import datetime
import io
import json
import math
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

from xpnet import backend as B
from xpnet._registry import snake_case
from xpnet.backend import host_numpy as np

__all__ = ["holds_keras_weights", "is_keras_archive", "load_keras_model", "save_keras_model"]

MAX_JSON_BYTES = 64 * 2**20  # config.json and metadata.json
MAX_WEIGHT_BYTES = 16 * 2**30  # the HDF5 member, further bounded by the config's shapes
H5_OVERHEAD = 4 * 2**20 + 64  # bytes of HDF5 structure allowed beyond the data
_KERAS_VERSION = "3.15.1"  # the version written into metadata.json (the format read back)

# keys of Keras's layer configs that xpnet's layers do not take (at their defaults)
_DROP = {
    "quantization_config": None,
    "lora_rank": None,
    "lora_alpha": None,
    "synchronized": False,
    "renorm": False,
    "renorm_clipping": None,
    "renorm_momentum": 0.99,
    "sparse": False,
    "ragged": False,
    "optional": False,
    # masked steps repeat the previous output, as xpnet's recurrent layers do
    "zero_output_for_mask": False,
}


def is_keras_archive(path) -> bool:
    """Whether ``path`` names a ``.keras`` file (by its extension, as Keras decides)."""
    return str(path).endswith(".keras")


def holds_keras_weights(path) -> bool:
    """Whether ``path`` is a zip archive in Keras's layout: a ``config.json`` and no
    ``weights.npz`` (xpnet's own files have one, so those written under ``.keras``
    before still load as xpnet files)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
    return "config.json" in names and "weights.npz" not in names


def _h5py(path, action: str):
    try:
        import h5py
    except ImportError:
        from xpnet.saving import LoadError

        raise LoadError(
            f"{path}: {action} a Keras .keras file needs h5py, which is not installed "
            "(pip install 'xpnet[keras]' or pip install h5py)."
        ) from None
    return h5py


# --------------------------------------------------------------------------- reading


class _Reader:
    def __init__(self, path, custom_objects) -> None:
        self.path = path
        self.custom_objects = custom_objects

    def fail(self, what: str, cause: BaseException | None = None):
        from xpnet.saving import LoadError

        err = LoadError(f"{self.path}: {what}")
        if cause is not None:
            raise err from cause
        raise err

    # -------------------------------------------------------------- the archive
    def read(self):
        from xpnet.saving import LoadError

        h5py = _h5py(self.path, "reading")
        try:
            zf = zipfile.ZipFile(self.path)
        except FileNotFoundError:
            raise
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise LoadError(
                f"{self.path} is not a Keras .keras file (not a complete zip archive: {err})."
            ) from err
        with zf:
            names = set(zf.namelist())
            for need in ("config.json", "model.weights.h5"):
                if need not in names:
                    self.fail(
                        f"the archive has no {need}; a Keras 3 .keras file holds "
                        "metadata.json, config.json and model.weights.h5."
                    )
            meta = self.json(zf, "metadata.json") if "metadata.json" in names else {}
            version = str(meta.get("keras_version", "3")) if isinstance(meta, dict) else "3"
            if not version.startswith("3"):
                self.fail(f"it was written by Keras {version}; only Keras 3 files are read.")
            config = self.json(zf, "config.json")
            model = self.build(config)
            expected = self.expected_bytes(model)
            info = zf.getinfo("model.weights.h5")
            limit = min(MAX_WEIGHT_BYTES, expected + expected // 8 + H5_OVERHEAD)
            if info.file_size > limit:
                self.fail(
                    f"model.weights.h5 is {info.file_size} bytes, more than the "
                    f"{limit} bytes the model's {expected} bytes of weights can take; "
                    "the file does not match its config."
                )
            raw = self.member(zf, "model.weights.h5", info.file_size)
        try:
            with h5py.File(io.BytesIO(raw), "r") as h5:
                values = self.weights(model, h5)
        except LoadError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as err:
            self.fail(f"model.weights.h5 is not a readable HDF5 file ({err}).", err)
        for p, v in zip(model.weights, values):
            p.data = B.asarray(v, p.data.dtype)
        return model

    def member(self, zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
        info = zf.getinfo(name)
        if info.file_size > limit:
            self.fail(f"{name} is {info.file_size} bytes, more than the {limit} allowed.")
        try:
            with zf.open(info) as f:
                data = f.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
            self.fail(f"{name} is corrupted ({err}).", err)
        if len(data) > limit:
            self.fail(f"{name} holds more than the {limit} bytes its header declares.")
        return data

    def json(self, zf, name: str) -> Any:
        raw = self.member(zf, name, MAX_JSON_BYTES)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            self.fail(f"{name} is not valid JSON ({err}).", err)

    # -------------------------------------------------------------- the architecture
    def build(self, config):
        from xpnet.layers.serialization import custom_object_scope

        if not isinstance(config, dict) or not isinstance(config.get("config"), dict):
            self.fail("config.json does not hold a Keras model config.")
        kind = config.get("class_name")
        with custom_object_scope(self.custom_objects):
            try:
                if kind == "Sequential":
                    return self.sequential(config["config"])
                if kind in ("Functional", "Model"):
                    return self.functional(config["config"])
            except (KeyError, TypeError, ValueError, IndexError) as err:
                if isinstance(err, _Refused):
                    raise
                self.fail(f"the model config cannot be read ({err!r}).", err)
        self.fail(
            f"the model is a {kind!r}; xpnet reads Sequential and functional Keras models "
            "(a subclassed model's code is not in the file)."
        )

    def layer(self, spec: Mapping[str, Any]):
        from xpnet.layers.serialization import layer_class

        name = spec.get("class_name")
        if not isinstance(name, str):
            self.fail(f"a layer config has no class name: {spec!r:.200}.")
        try:
            cls = layer_class(name)
        except (KeyError, ValueError):
            raise _Refused(
                f"{self.path}: layer class {name!r} has no xpnet counterpart (pass it in "
                "custom_objects if you have one)."
            ) from None
        cfg = layer_config_from_keras(spec.get("config") or {})
        try:
            return cls.from_config(cfg)
        except (TypeError, ValueError) as err:
            raise _Refused(f"{self.path}: layer {name!r} ({cfg.get('name')}): {err}") from err

    def input_layer(self, cfg: Mapping[str, Any]):
        from xpnet.models import Input

        shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        if not isinstance(shape, list) or not shape:
            self.fail(f"input layer {cfg.get('name')!r} has no batch_shape.")
        dtype = cfg.get("dtype")
        dtype = dtype if isinstance(dtype, str) else None
        return Input(shape=tuple(shape[1:]), dtype=dtype, name=cfg.get("name"))

    def sequential(self, cfg):
        from xpnet.models import Sequential

        specs = list(cfg["layers"])
        stack = []
        if specs and specs[0].get("class_name") == "InputLayer":
            stack.append(self.input_layer(specs.pop(0)["config"]))
        stack += [self.layer(s) for s in specs]
        model = Sequential(stack, name=cfg.get("name"), trainable=cfg.get("trainable", True))
        if not model.built:
            shape = cfg.get("build_input_shape")
            if not isinstance(shape, list):
                self.fail("the Sequential model has no input shape (no InputLayer).")
            model.build(tuple(shape))
        return model

    def functional(self, cfg):
        from xpnet.models import Model

        produced: dict[tuple[str, int], list] = {}

        def resolve(x):
            if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
                name, node, index = x["config"]["keras_history"]
                return produced[(name, node)][index]
            if isinstance(x, list):
                return [resolve(v) for v in x]
            if isinstance(x, dict):
                return {k: resolve(v) for k, v in x.items()}
            return x

        self.order = [spec["config"]["name"] for spec in cfg["layers"]]
        for spec in cfg["layers"]:
            lcfg = spec["config"]
            if spec.get("class_name") == "InputLayer":
                produced[(lcfg["name"], 0)] = [self.input_layer(lcfg)]
                continue
            layer = self.layer(spec)
            for i, node in enumerate(spec.get("inbound_nodes", [])):
                args = resolve(node.get("args", []))
                kwargs = resolve(node.get("kwargs", {}))
                kwargs.pop("mask", None)  # masks travel with the tensors in xpnet
                out = layer(*args, **kwargs)
                produced[(layer.name, i)] = list(out) if isinstance(out, (list, tuple)) else [out]

        def ends(refs):
            if isinstance(refs, dict):
                return {k: ends(v) for k, v in refs.items()}
            if refs and not isinstance(refs[0], list):  # one [name, node, index]
                return produced[(refs[0], refs[1])][refs[2]]
            return [ends(r) for r in refs]

        ins, outs = ends(cfg["input_layers"]), ends(cfg["output_layers"])
        return Model(ins, outs, name=cfg.get("name"), trainable=cfg.get("trainable", True))

    # -------------------------------------------------------------- the weights
    @staticmethod
    def expected_bytes(model) -> int:
        return sum(math.prod(p.data.shape) * 8 for p in model.weights)

    def weights(self, model, h5) -> list:
        values = []
        for layer, path in keras_weight_paths(model, getattr(self, "order", None)):
            wanted = layer_weights(layer)
            groups = _var_groups(layer, path)
            if not wanted:
                continue
            arrays = []
            for group in groups:
                node = h5.get(group)
                if node is None:
                    self.fail(f"model.weights.h5 has no group {group} (layer {layer.name!r}).")
                keys = sorted(node.keys(), key=lambda k: int(k) if k.isdigit() else -1)
                arrays += [(f"{group}/{k}", node[k]) for k in keys]
            if len(arrays) != len(wanted):
                self.fail(
                    f"layer {layer.name!r} has {len(wanted)} weights, but model.weights.h5 "
                    f"holds {len(arrays)} under {', '.join(groups)}."
                )
            converted = _from_keras_order(layer, arrays, self)
            for (where, ds), p in zip(converted, wanted):
                shape = tuple(p.data.shape)
                if not hasattr(ds, "shape") or tuple(ds.shape) != shape:
                    self.fail(
                        f"{where} (weight {p.name}) has shape {getattr(ds, 'shape', None)}, "
                        f"expected {shape} from the config."
                    )
                if getattr(ds, "dtype", None) is None or ds.dtype.kind not in "fiu":
                    self.fail(f"{where} holds {getattr(ds, 'dtype', None)}, not numbers.")
                values.append((p, np.asarray(ds[()], dtype=ds.dtype)))
        order = {id(p): v for p, v in values}
        missing = [p.name for p in model.weights if id(p) not in order]
        if missing:
            self.fail(f"no values in model.weights.h5 for {missing}.")
        return [order[id(p)] for p in model.weights]


class _Refused(ValueError):
    pass


def layer_config_from_keras(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Keras's layer config as xpnet's constructor arguments."""
    out = {}
    for key, value in cfg.items():
        if key in _DROP and value == _DROP[key]:
            continue
        if key == "dtype" and isinstance(value, dict):
            value = (value.get("config") or {}).get("name", "float32")
        if isinstance(value, dict) and "class_name" in value:
            value = _object_from_keras(value)
        out[key] = value
    return out


def _object_from_keras(spec: Mapping[str, Any]) -> dict[str, Any]:
    """An initializer/regularizer/constraint config without Keras's module fields."""
    cfg = dict(spec.get("config") or {})
    for key in ("input_axes", "output_axes"):  # Keras's EinsumDense fan hints, None here
        if cfg.get(key) is None:
            cfg.pop(key, None)
    return {"class_name": spec["class_name"], "config": cfg}


def keras_weight_paths(model, order=None):
    """``(layer, "layers/<snake>[_n]")`` for the model's layers in Keras's order: the
    order of the config's layer list (``order``: names) when given (Keras numbers the
    layers of one class in that order), else the model's."""
    from xpnet.layers.symbolic import InputLayer
    from xpnet.models import Sequential

    used: dict[str, int] = {}
    out = []
    layers = list(model.layers)
    if order is not None:
        by_name = {layer.name: layer for layer in layers}
        layers = [by_name[n] for n in order if n in by_name]
    for layer in layers:
        if isinstance(layer, InputLayer) and isinstance(model, Sequential):
            continue
        base = snake_case(_keras_class_name(layer))
        if base in used:
            used[base] += 1
            name = f"{base}_{used[base]}"
        else:
            used[base] = 0
            name = base
        out.append((layer, f"layers/{name}"))
    return out


def _keras_class_name(layer) -> str:
    return type(layer).__name__


def _is_recurrent(layer) -> bool:
    return type(layer).__name__ in ("LSTM", "GRU", "SimpleRNN")


def _var_groups(layer, path: str) -> list[str]:
    if _is_recurrent(layer):
        return [f"{path}/cell/vars"]
    return [f"{path}/vars"]


def layer_weights(layer) -> list:
    """A layer's weights in Keras's storage order: trainable first, then the others."""
    ws = list(layer.weights)
    return [p for p in ws if p.trainable] + [p for p in ws if not p.trainable]


def _from_keras_order(layer, arrays, reader):
    return arrays


# --------------------------------------------------------------------------- writing


def layer_config_to_keras(layer) -> dict[str, Any]:
    cfg = dict(layer.get_config())
    policy = cfg.pop("dtype", None) or layer.dtype_policy.name
    cfg["dtype"] = {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": policy},
        "registered_name": None,
    }
    for key, value in list(cfg.items()):
        if isinstance(value, tuple):
            cfg[key] = list(value)
        elif isinstance(value, dict) and "class_name" in value:
            cfg[key] = _object_to_keras(key, value)
    cfg.pop("input_shape", None)
    return cfg


def _object_to_keras(key: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    module = "keras.initializers"
    if key.endswith("regularizer"):
        module = "keras.regularizers"
    elif key.endswith("constraint"):
        module = "keras.constraints"
    return {
        "module": module,
        "class_name": spec["class_name"],
        "config": dict(spec.get("config") or {}),
        "registered_name": None,
    }


def _input_spec(t, name: str) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {
            "batch_shape": [None, *[None if d is None else int(d) for d in t.shape[1:]]],
            "dtype": str(t.dtype).rsplit(".", 1)[-1],
            "sparse": False,
            "ragged": False,
            "name": name,
        },
        "registered_name": None,
        "name": name,
        "inbound_nodes": [],
    }


def _wrap(layer, cfg, extra=None) -> dict[str, Any]:
    out = {
        "module": "keras.layers",
        "class_name": _keras_class_name(layer),
        "config": cfg,
        "registered_name": None,
    }
    out.update(extra or {})
    return out


def model_config_to_keras(model) -> dict[str, Any]:
    from xpnet.models import Sequential

    policy = {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": model.dtype_policy.name},
        "registered_name": None,
    }
    if isinstance(model, Sequential):
        shape = list(model._build_input_shape)
        layers = [_input_spec(_Shape(shape, model), f"{model.name}_input")]
        for layer in model.layers:
            layers.append(_wrap(layer, layer_config_to_keras(layer)))
        config = {
            "name": model.name,
            "trainable": model.trainable,
            "dtype": policy,
            "layers": layers,
            "build_input_shape": [None, *shape[1:]],
        }
        return {
            "module": "keras",
            "class_name": "Sequential",
            "config": config,
            "registered_name": None,
            "build_config": {"input_shape": [None, *shape[1:]]},
        }
    return _functional_to_keras(model, policy)


class _Shape:
    def __init__(self, shape, model) -> None:
        self.shape = shape
        ws = model.weights
        self.dtype = "float32" if not ws else ws[0].data.dtype


def _functional_to_keras(model, policy) -> dict[str, Any]:
    cfg = model.get_config()  # xpnet's graph: layers, nodes with refs
    specs = {s["config"]["name"]: s for s in cfg["layers"]}
    by_name = {layer.name: layer for layer in model.layers}
    nodes_of: dict[str, list] = {}
    for node in cfg["nodes"]:
        nodes_of.setdefault(node["layer"], []).append(node)

    def tensor(ref):
        name, node, index = ref["ref"]
        layer = by_name[name]
        nodes = layer.__dict__.get("_inbound_nodes") or []
        t = nodes[node].outputs[index] if nodes else layer.output
        shape = [None, *[None if d is None else int(d) for d in tuple(t.shape)[1:]]]
        return {
            "class_name": "__keras_tensor__",
            "config": {
                "shape": shape,
                "dtype": str(t.dtype).rsplit(".", 1)[-1],
                "keras_history": [name, node, index],
            },
        }

    def convert(struct):
        if isinstance(struct, dict) and set(struct) == {"ref"}:
            return tensor(struct)
        if isinstance(struct, list):
            return [convert(s) for s in struct]
        if isinstance(struct, dict):
            return {k: convert(v) for k, v in struct.items()}
        return struct

    layers = []
    for name, spec in specs.items():
        layer = by_name[name]
        if spec["class_name"] == "InputLayer":
            layers.append(_input_spec(layer.output, name))
            continue
        inbound = []
        for node in nodes_of.get(name, []):
            args = [convert(node["inputs"]), *convert(node.get("args", []))]
            inbound.append({"args": args, "kwargs": convert(node.get("kwargs", {}))})
        layers.append(
            _wrap(layer, layer_config_to_keras(layer), {"name": name, "inbound_nodes": inbound})
        )
    ins = cfg["input_layers"]
    outs = cfg["output_layers"]
    keys = cfg.get("output_keys")
    output_layers: Any = dict(zip(keys, outs)) if keys is not None else outs
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": model.name,
            "trainable": model.trainable,
            "layers": layers,
            "input_layers": ins[0] if len(ins) == 1 else ins,
            "output_layers": output_layers if keys is not None or len(outs) > 1 else outs[0],
        },
        "registered_name": "Functional",
    }


def save_keras_model(model, filepath, overwrite: bool = True) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` archive (architecture and weights)."""
    from xpnet.saving import atomic_write

    h5py = _h5py(filepath, "writing")
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built, so it has no weights to save yet: call it on "
            "data, call model.build(input_shape), or start it with xn.Input(shape=...)."
        )
    from xpnet.models import Functional, Sequential

    if not isinstance(model, (Sequential, Functional)):
        raise ValueError(
            f"Model '{model.name}' is subclassed; a .keras file written by xpnet holds "
            "Sequential and functional models only. Save it with an .xpnet extension, or "
            "save its weights."
        )
    config = model_config_to_keras(model)
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        h5.create_group("vars")
        for layer, path in keras_weight_paths(model):
            groups = _var_groups(layer, path)
            ws = layer_weights(layer)
            for g in groups:
                grp = h5.require_group(g)
            if _is_recurrent(layer):
                h5.require_group(f"{path}/vars")
            for i, p in enumerate(ws):
                grp.create_dataset(str(i), data=np.asarray(B.to_numpy(p.data)))
    meta = {
        "keras_version": _KERAS_VERSION,
        "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
    }
    count = len(model.weights)

    def verify(tmp) -> None:  # read back before it replaces the last good file
        with zipfile.ZipFile(tmp) as zf:
            if zf.testzip() is not None:
                raise OSError(f"{filepath}: the written archive does not read back intact.")
            with h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r") as h5:
                found = []
                h5.visititems(lambda _, obj: found.append(1) if hasattr(obj, "shape") else None)
            if len(found) != count:
                raise OSError(
                    f"{filepath}: the written weights hold {len(found)} arrays, not {count}."
                )

    with atomic_write(filepath, overwrite, verify=verify) as f, zipfile.ZipFile(f, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta), zipfile.ZIP_DEFLATED)
        zf.writestr("config.json", json.dumps(config), zipfile.ZIP_DEFLATED)
        zf.writestr("model.weights.h5", buf.getvalue(), zipfile.ZIP_STORED)


def load_keras_model(filepath, custom_objects=None):
    """Read a Keras 3 ``.keras`` archive into an xpnet model (not compiled)."""
    from xpnet.saving import LoadError

    try:
        return _Reader(filepath, custom_objects).read()
    except _Refused as err:
        raise LoadError(str(err)) from err
