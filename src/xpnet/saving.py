"""Saving models and weights safely: JSON and .npz only, atomic writes, validated loads.

``model.save(path)`` writes ONE zip file holding

- ``metadata.json``: format name and version, xpnet version, the backend it was saved on;
- ``config.json``: the architecture (every layer's ``get_config``) and the compile
  settings (optimizer, losses, metrics through their registries);
- ``weights.npz``: the weights as NumPy arrays keyed ``"layer_name/weight_name"``;
- ``optimizer.npz``: the optimizer's state (moments, step count), so training
  resumes where it stopped.

Nothing is ever pickled: arrays load with ``allow_pickle=False``, configs are
JSON, and classes are looked up by name among xpnet's own and the
``custom_objects`` you pass, so a hostile file cannot run code.

Writes go to a temporary file in the same folder, are flushed to disk, and
then renamed over the target (``os.replace``): a crash in the middle of a save
leaves the previous file intact. Loads read and check everything (layer
names, weight shapes) before touching a model, so a corrupted, truncated or
foreign file raises :class:`LoadError` and never leaves a half-loaded model.
Arrays are stored on the host, so a model saved on one backend loads on any
other.

>>> import os, tempfile
>>> import xpnet as xn
>>> model = xn.Sequential([xn.Input(shape=(3,)), xn.layers.Dense(2)])
>>> path = os.path.join(tempfile.mkdtemp(), "model.xpnet")
>>> model.save(path)
>>> clone = xn.models.load_model(path)
>>> [w.shape for w in clone.get_weights()]
[(3, 2), (2,)]
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import re
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from xpnet import backend as B
from xpnet.backend import host_numpy as np
from xpnet.layers.serialization import (  # keras.saving's registry names
    custom_object_scope,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

__all__ = [
    "LoadError",
    "atomic_write",
    "custom_object_scope",
    "get_registered_name",
    "get_registered_object",
    "load_model",
    "load_weights",
    "register_keras_serializable",
    "save_model",
    "save_weights",
]

MODEL_FORMAT = "xpnet.model"
WEIGHTS_FORMAT = "xpnet.weights"
FORMAT_VERSION = 1
_META_KEY = "__xpnet__"


class LoadError(ValueError):
    """A file cannot be loaded: not an xpnet file, corrupted, truncated, or not matching."""


# --------------------------------------------------------------------------- atomic writes


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, overwrite: bool = True) -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success fsync it and rename it over ``path``.

    On any error (or a crash) the temporary file is abandoned and ``path``
    keeps its previous content.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"Cannot save to {path}: the folder {folder} does not exist.")
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- arrays


def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _read_npz(raw: bytes, what: str, path) -> dict[str, Any]:
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, zlib.error, EOFError, KeyError) as err:
        raise LoadError(f"{path}: the {what} are unreadable or corrupted ({err}).") from err


def _host_weights(model) -> tuple[list[str], dict[str, Any]]:
    names, arrays = [], {}
    for p in model.weights:
        name = p.name or f"weight_{len(names)}"
        if name in arrays:
            raise ValueError(
                f"Cannot save: two weights are named {name!r}. Give the layers unique names."
            )
        names.append(name)
        arrays[name] = B.to_numpy(p.data)
    return names, arrays


# --------------------------------------------------------------------------- model files


def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` (architecture, weights, optimizer state) to one file, atomically.

    A path ending in ``.keras`` gets a Keras 3 archive instead (architecture and
    weights; see :mod:`xpnet.saving_keras`)."""
    from xpnet import __version__, saving_keras

    if saving_keras.is_keras_archive(filepath):
        saving_keras.save_keras_model(model, filepath, overwrite=overwrite)
        return

    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built, so it has no weights to save yet: call it on "
            "data, call model.build(input_shape), or start it with xn.Input(shape=...)."
        )
    try:
        layer_config = {"class_name": type(model).__name__, "config": model.get_config()}
        json.dumps(layer_config)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Cannot save the architecture of model '{model.name}' ({err}). A subclassed model "
            "needs get_config(); or save only the weights with model.save_weights(path)."
        ) from err
    config = {"model": layer_config, "build_input_shape": model._build_input_shape}
    names, weights = _host_weights(model)
    optimizer_state = None
    compiled = model._state.compiled
    if compiled is not None:
        try:
            compile_config = compiled.get_config()
            json.dumps(compile_config)
            config["compile"] = compile_config
        except (TypeError, ValueError) as err:
            warnings.warn(
                f"Saving model '{model.name}' without its compile settings ({err}); "
                "compile it again after loading.",
                stacklevel=3,
            )
        if include_optimizer and "compile" in config:
            optimizer_state = _optimizer_state(compiled.optimizer)
    meta = {
        "format": MODEL_FORMAT,
        "format_version": FORMAT_VERSION,
        "xpnet_version": __version__,
        "saved_on_backend": B.get_backend().name,
        "date_saved": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "weight_names": names,
    }
    with atomic_write(filepath, overwrite) as f, zipfile.ZipFile(f, "w") as zf:
        zf.writestr("metadata.json", json.dumps(meta, indent=1), zipfile.ZIP_DEFLATED)
        zf.writestr("config.json", json.dumps(config, indent=1), zipfile.ZIP_DEFLATED)
        zf.writestr("weights.npz", _npz_bytes(weights), zipfile.ZIP_STORED)
        if optimizer_state is not None:
            arrays, kinds = optimizer_state
            zf.writestr("optimizer.json", json.dumps(kinds), zipfile.ZIP_DEFLATED)
            zf.writestr("optimizer.npz", _npz_bytes(arrays), zipfile.ZIP_STORED)


def _optimizer_state(optimizer) -> tuple[dict[str, Any], dict[str, str]] | None:
    get_state = getattr(optimizer, "get_state", None)
    if get_state is None:
        return None
    arrays, kinds = {}, {}
    for key, value in get_state().items():
        if isinstance(value, bool):
            arrays[key], kinds[key] = np.asarray(value), "bool"
        elif isinstance(value, int):
            arrays[key], kinds[key] = np.asarray(value, dtype=np.int64), "int"
        elif isinstance(value, float):
            arrays[key], kinds[key] = np.asarray(value, dtype=np.float64), "float"
        else:
            arrays[key], kinds[key] = B.to_numpy(getattr(value, "data", value)), "array"
    return arrays, kinds


def _open_zip(path) -> zipfile.ZipFile:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}.")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise LoadError(
            f"{path} is not an xpnet model file (it is not a complete zip archive: {err}). It "
            "may be truncated, corrupted, or written by another program."
        ) from err


def _read_member(zf: zipfile.ZipFile, name: str, path) -> bytes:
    try:
        return zf.read(name)
    except KeyError:
        raise LoadError(
            f"{path} has no {name}: it is not a complete file written by xpnet's model.save()."
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise LoadError(f"{path}: {name} is corrupted ({err}).") from err


def _read_json(zf, name, path) -> Any:
    try:
        return json.loads(_read_member(zf, name, path).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LoadError(f"{path}: {name} is not valid JSON ({err}).") from err


def _read_model_file(path) -> tuple[dict, dict, dict, tuple | None]:
    with _open_zip(path) as zf:
        meta = _read_json(zf, "metadata.json", path)
        if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
            raise LoadError(f"{path} is not an xpnet model file (format {meta.get('format')!r}).")
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise LoadError(
                f"{path} uses model format version {meta['format_version']}, newer than this "
                f"xpnet understands ({FORMAT_VERSION}); upgrade xpnet."
            )
        config = _read_json(zf, "config.json", path)
        weights = _read_npz(_read_member(zf, "weights.npz", path), "weights", path)
        opt = None
        if "optimizer.npz" in zf.namelist():
            kinds = _read_json(zf, "optimizer.json", path)
            arrays = _read_npz(_read_member(zf, "optimizer.npz", path), "optimizer state", path)
            opt = (arrays, kinds)
    if not isinstance(config, dict) or "model" not in config:
        raise LoadError(f"{path}: config.json has no model architecture.")
    return meta, config, weights, opt


def load_model(filepath, custom_objects=None, compile: bool = True):
    """Rebuild the model saved in ``filepath`` (see :func:`save_model`); a Keras 3
    ``.keras`` archive is read by :mod:`xpnet.saving_keras` (not compiled)."""
    from xpnet import saving_keras
    from xpnet.layers.serialization import custom_object_scope, deserialize_layer

    if saving_keras.holds_keras_weights(filepath):
        return saving_keras.load_keras_model(filepath, custom_objects)

    meta, config, weights, opt = _read_model_file(filepath)
    with custom_object_scope(custom_objects):
        try:
            model = deserialize_layer(config["model"])
        except (KeyError, TypeError) as err:
            raise LoadError(f"{filepath}: the model config is invalid ({err!r}).") from err
    if not model.built:
        shape = config.get("build_input_shape")
        if shape is None:
            raise LoadError(f"{filepath}: the file does not say the model's input shape.")
        model.build(_tupled(shape))
    order = meta.get("weight_names") or list(weights)
    # Sequential and functional configs name every layer, so names must match exactly; a
    # subclassed model creates its layers in __init__ with fresh automatic names
    order = _in_model_order(model, order)
    _check_names_and_shapes(model, order, weights, filepath, exact=_configured(model))
    _assign(model, [weights[n] for n in order])
    if compile and "compile" in config:
        _compile_from_config(model, config["compile"], opt, filepath)
    return model


def _configured(model) -> bool:
    from xpnet.models import Functional, Sequential

    return isinstance(model, (Functional, Sequential))


def _tupled(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _compile_from_config(model, cfg: dict, opt, path) -> None:
    from xpnet import losses, metrics, optimizers

    def loss_of(spec):
        if isinstance(spec, dict) and "class_name" not in spec:
            return {k: loss_of(v) for k, v in spec.items()}
        if isinstance(spec, list):
            return [loss_of(v) for v in spec]
        return None if spec is None else losses.get(spec)

    def metric_of(spec):
        if isinstance(spec, dict) and "class_name" not in spec:
            return {k: metric_of(v) for k, v in spec.items()}
        if isinstance(spec, list):
            return [metric_of(v) for v in spec]
        if spec is None or isinstance(spec, str):
            return spec
        return metrics.get(spec)

    try:
        optimizer = optimizers.get(cfg["optimizer"])
        model.compile(
            optimizer=optimizer,
            loss=loss_of(cfg.get("loss")),
            loss_weights=cfg.get("loss_weights"),
            metrics=metric_of(cfg.get("metrics")),
            weighted_metrics=metric_of(cfg.get("weighted_metrics")),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise LoadError(
            f"{path}: cannot restore the compile settings ({err}); load with compile=False and "
            "compile again."
        ) from err
    if opt is not None:
        arrays, kinds = opt
        state = {}
        for key, arr in arrays.items():
            kind = kinds.get(key, "array")
            state[key] = {"int": int, "float": float, "bool": bool}.get(kind, lambda a: a)(
                arr if kind == "array" else arr.item()
            )
        try:
            optimizer.set_state(state, model.trainable_weights)
        except (KeyError, TypeError, ValueError) as err:
            raise LoadError(f"{path}: the optimizer state does not fit the model ({err}).") from err


# --------------------------------------------------------------------------- weights only


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write the weights to a ``.npz`` file keyed by weight names, atomically.

    The file also holds a small ``__xpnet__`` entry (JSON bytes) with the
    format and the weights' order; NumPy reads it with ``np.load``.
    """
    names, arrays = _host_weights(model)
    meta = {"format": WEIGHTS_FORMAT, "format_version": FORMAT_VERSION, "weight_names": names}
    arrays[_META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with atomic_write(filepath, overwrite) as f:
        f.write(_npz_bytes(arrays))


def _read_weights_file(path) -> tuple[list[str], dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}.")
    with _open_zip(path) as zf:
        members = set(zf.namelist())
    if "metadata.json" in members:  # a whole-model file: use its weights
        meta, _, weights, _ = _read_model_file(path)
        return meta.get("weight_names") or list(weights), weights
    arrays = _read_npz(path.read_bytes(), "weights", path)
    if _META_KEY not in arrays:
        raise LoadError(
            f"{path} is a .npz file but not one written by xpnet's save_weights() (no "
            f"{_META_KEY} entry)."
        )
    try:
        meta = json.loads(arrays.pop(_META_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LoadError(f"{path}: its {_META_KEY} entry is corrupted ({err}).") from err
    if meta.get("format") != WEIGHTS_FORMAT:
        raise LoadError(f"{path} is not an xpnet weights file (format {meta.get('format')!r}).")
    return meta.get("weight_names") or list(arrays), arrays


_COUNTER = re.compile(r"_\d+$")


def _base(name: str) -> str:
    """``dense_3/kernel`` -> ``dense/kernel``: names without automatic counters."""
    return "/".join(_COUNTER.sub("", part) for part in name.split("/"))


def load_weights(model, filepath) -> None:
    """Load weights into ``model`` (by position), checking names and shapes first.

    Names must match, or differ only by the counters of automatic names
    (``dense_3`` for ``dense``), as when the same architecture is built twice
    in one session. Nothing is assigned unless every weight fits.
    """
    names, arrays = _read_weights_file(filepath)
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built yet: build it (call it on data or "
            "model.build(input_shape)) before load_weights()."
        )
    names = _in_model_order(model, names)
    _check_names_and_shapes(model, names, arrays, filepath, exact=False)
    _assign(model, [arrays[n] for n in names])


def _in_model_order(model, names: list[str]) -> list[str]:
    """The file's weight names in the model's order, for files written before weights took
    Keras 3's order (each layer's together), which listed all trainable weights first.

    Same names: the model's order. Otherwise (names that differ by automatic counters)
    the names regrouped by layer, layers in order of first appearance, which is what the
    older order becomes. The checks that follow still compare every name and shape.
    """
    own = [p.name or "" for p in model.weights]
    if names == own or len(names) != len(own):
        return names
    if sorted(names) == sorted(own):
        return own
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(n.rsplit("/", 1)[0], []).append(n)
    return [n for group in groups.values() for n in group]


def _check_names_and_shapes(model, names, arrays, path, exact: bool) -> None:
    params = model.weights
    missing = [n for n in names if n not in arrays]
    if missing:
        raise LoadError(f"{path} lists weights it does not contain: {missing[:5]}.")
    if len(names) != len(params):
        raise LoadError(
            f"{path} holds {len(names)} weights but model '{model.name}' has {len(params)}: "
            "not the same architecture."
        )
    for name, p in zip(names, params):
        ok = name == p.name or (not exact and _base(name) == _base(p.name or ""))
        if not ok:
            raise LoadError(
                f"{path}: weight {name!r} in the file does not match {p.name!r} in the model "
                "(layer names differ: not the same architecture, or layers in another order)."
            )
        shape = tuple(arrays[name].shape)
        if shape != p.shape:
            raise LoadError(
                f"{path}: weight {name!r} has shape {shape} in the file but {p.shape} in the model."
            )
        if arrays[name].dtype.kind not in "fiu":
            raise LoadError(
                f"{path}: weight {name!r} has a non-numeric dtype {arrays[name].dtype}."
            )


def _assign(model, values) -> None:
    with B.use_backend(*_backend_of_model(model)):
        model.set_weights(values)


def _backend_of_model(model):
    ws = model.weights
    if not ws:
        b = B.get_backend()
        return b.name, b.device
    b = B.backend_of(ws[0].data)
    return b.name, b.device
