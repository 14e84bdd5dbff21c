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
import math
import os
import re
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from xpnet import backend as B
from xpnet._archive import MAX_JSON_DEPTH, Archive, LoadError, NpzReader, open_archive, parse_json
from xpnet.backend import host_numpy as np
from xpnet.layers.serialization import (  # keras.saving's registry names
    custom_object_scope,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)

try:  # POSIX: a writer holds a lock on its temporary file while it writes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

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
_MAX_SAVED_INT = 1 << 40  # no dimension or count in a config is that large


# --------------------------------------------------------------------------- atomic writes


def _read_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _destination(path: str | os.PathLike) -> Path:
    """The file a save writes for ``path``, after refusing what it must not replace.

    Symlink policy: a link is followed, and the file it points to is replaced
    atomically (the link itself stays, as with an editor's save). Directories,
    FIFOs, devices and sockets are refused, as are paths ending in a separator and
    names holding NUL.
    """
    raw = os.fspath(path)
    if isinstance(raw, bytes):
        raw = os.fsdecode(raw)
    if "\x00" in raw:
        raise ValueError(f"Cannot save to {raw!r}: the path contains a NUL character.")
    if raw.endswith(("/", os.sep)) or raw in ("", ".", ".."):
        raise IsADirectoryError(
            f"Cannot save to {raw!r}: it names a folder; give a file name, e.g. "
            f"{os.path.join(raw or '.', 'model.xpnet')!r}."
        )
    target = Path(os.path.realpath(raw)) if os.path.islink(raw) else Path(raw)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"Cannot save to {raw}: it is a directory.")
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(
                f"Cannot save to {raw}: it is not a regular file (a FIFO, device or socket); "
                "xpnet only replaces regular files."
            )
        if not os.access(target, os.W_OK) or not st.st_mode & stat.S_IWUSR:
            raise PermissionError(
                f"Cannot save to {raw}: the file is read-only; change its mode or save under "
                "another name."
            )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"Cannot save to {raw}: the folder {folder} does not exist.")
    return target


def remove_stale(folder: Path, prefix: str, suffix: str) -> int:
    """Remove ``prefix*suffix`` files that no writer holds (left by killed writes);
    returns how many. Where files cannot be locked (no fcntl), only those older
    than an hour go."""
    removed = 0
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(suffix)]
    except OSError:
        return 0
    for name in names:
        p = folder / name
        try:
            if fcntl is None:
                if datetime.datetime.now().timestamp() - p.stat().st_mtime < 3600:
                    continue
                p.unlink()
                removed += 1
                continue
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a living writer holds it
            os.close(fd)
            continue
        try:
            os.unlink(p)
            removed += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def atomic_write(
    path: str | os.PathLike,
    overwrite: bool = True,
    verify: Callable[[Path], None] | None = None,
) -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success fsync it, check it with
    ``verify(temp_path)`` and rename it over ``path``.

    On any error (or a crash) the temporary file is abandoned and ``path`` keeps
    its previous content; temporary files of earlier killed writes are removed.
    The new file keeps the mode of the file it replaces (a new one gets
    ``0o666`` less the umask). See :func:`_destination` for what is refused.
    """
    target = _destination(path)
    if not overwrite and target.exists():
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    folder = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    remove_stale(folder, prefix, ".tmp")
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_UMASK
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=".tmp")
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "wb") as f:
            yield f
            f.flush()
            os.fchmod(f.fileno(), mode) if hasattr(os, "fchmod") else os.chmod(tmp, mode)
            os.fsync(f.fileno())
        if verify is not None:
            verify(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    finally:
        os.close(fd)  # releases the lock
    _fsync_dir(folder)


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

_NAME_OK = re.compile(r"[^\x00-\x1f\x7f]+")


def _check_name(name: Any, what: str) -> str:
    """A name that round-trips through a zip member name and JSON, or ValueError."""
    ok = isinstance(name, str) and _NAME_OK.fullmatch(name) is not None
    if ok:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            ok = False
    if not ok:
        raise ValueError(
            f"Cannot save: {what} {name!r} cannot be stored (names must be non-empty text "
            "without control characters such as NUL, and valid Unicode). Rename the layer."
        )
    return name


def _npz_bytes(arrays: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _host_weights(model) -> tuple[list[str], dict[str, Any]]:
    names, arrays = [], {}
    for p in model.weights:
        name = _check_name(p.name or f"weight_{len(names)}", "the weight name")
        if name in arrays:
            raise ValueError(
                f"Cannot save: two weights are named {name!r}. Give the layers unique names."
            )
        names.append(name)
        arrays[name] = B.to_numpy(p.data)
    return names, arrays


def _generators(model) -> dict[str, Any]:
    """The model's private random streams (a layer's ``seed=``), by layer and attribute."""
    out = {}
    for layer in [model, *model._walk(False)[1]]:
        for attr, v in vars(layer).items():
            if isinstance(v, B.SeedGenerator):
                out[f"{layer.name}/{attr}"] = v
    return out


# --------------------------------------------------------------------------- model files


def save_model(model, filepath, overwrite: bool = True, include_optimizer: bool = True) -> None:
    """Write ``model`` (architecture, weights, optimizer state, random state) to one file,
    atomically; the written file is read back and checked before it replaces ``filepath``."""
    from xpnet import __version__

    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built, so it has no weights to save yet: call it on "
            "data, call model.build(input_shape), or start it with xn.Input(shape=...)."
        )
    try:
        layer_config = {"class_name": type(model).__name__, "config": model.get_config()}
        json.dumps(layer_config, allow_nan=False)
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
            json.dumps(compile_config, allow_nan=False)
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
        "optimizer": optimizer_state is not None,
    }
    rng = B.random_state(_generators(model))
    config_text = json.dumps(config, indent=1)
    if _depth_of(config) > MAX_JSON_DEPTH:
        raise ValueError(
            f"Cannot save model '{model.name}': its config nests deeper than {MAX_JSON_DEPTH} "
            "levels, which load_model refuses."
        )
    members = {
        "metadata.json": json.dumps(meta, indent=1),
        "config.json": config_text,
        "random.json": json.dumps(rng),
    }
    with atomic_write(filepath, overwrite, verify=_verify_model_file) as f:
        with zipfile.ZipFile(f, "w") as zf:
            for name, text in members.items():
                zf.writestr(name, text, zipfile.ZIP_DEFLATED)
            zf.writestr("weights.npz", _npz_bytes(weights), zipfile.ZIP_STORED)
            if optimizer_state is not None:
                arrays, kinds = optimizer_state
                zf.writestr("optimizer.json", json.dumps(kinds), zipfile.ZIP_DEFLATED)
                zf.writestr("optimizer.npz", _npz_bytes(arrays), zipfile.ZIP_STORED)


def _verify_model_file(path: Path) -> None:
    """Read a just-written model file back: its index, JSON members and every array."""
    try:
        contents = _read_model_file(path)
        contents.weights.close()
    except LoadError as err:
        raise OSError(
            f"The file just written does not read back ({err}); nothing replaced."
        ) from err


def _depth_of(obj) -> int:
    best, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (dict, list)):
            best = max(best, d)
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return best


def _optimizer_state(optimizer) -> tuple[dict[str, Any], dict[str, str]] | None:
    get_state = getattr(optimizer, "get_state", None)
    if get_state is None:
        return None
    arrays, kinds = {}, {}
    for key, value in get_state().items():
        _check_name(key, "the optimizer state key")
        if isinstance(value, bool):
            arrays[key], kinds[key] = np.asarray(value), "bool"
        elif isinstance(value, int):
            arrays[key], kinds[key] = np.asarray(value, dtype=np.int64), "int"
        elif isinstance(value, float):
            arrays[key], kinds[key] = np.asarray(value, dtype=np.float64), "float"
        else:
            arrays[key], kinds[key] = B.to_numpy(getattr(value, "data", value)), "array"
    return arrays, kinds


class _ModelFile:
    """What :func:`_read_model_file` found: checked JSON members and the weights' reader."""

    def __init__(self, meta, config, weights, names, opt, rng) -> None:
        self.meta, self.config, self.weights, self.names = meta, config, weights, names
        self.opt, self.rng = opt, rng


def _need(cond: bool, path, member: str, what: str) -> None:
    if not cond:
        raise LoadError(f"{path} [{member}]: {what}")


def _read_model_file(path, *, optimizer: bool = True, rng: bool = True) -> _ModelFile:
    """The checked members of a model file; weights' headers checked, data not yet read.
    Only the members asked for are read (``load_weights`` reads neither the optimizer
    state nor the random state; ``compile=False`` skips the optimizer state)."""
    with open_archive(path) as ar:
        meta = ar.json("metadata.json")
        _need(isinstance(meta, dict), path, "metadata.json", "expected a JSON object.")
        _need(
            meta.get("format") == MODEL_FORMAT,
            path,
            "metadata.json",
            f"not an xpnet model file (format {meta.get('format')!r}).",
        )
        version = meta.get("format_version")
        _need(
            isinstance(version, int) and not isinstance(version, bool) and version >= 1,
            path,
            "metadata.json",
            f"format_version must be a positive integer; got {version!r}.",
        )
        if version > FORMAT_VERSION:
            raise LoadError(
                f"{path} uses model format version {version}, newer than this xpnet "
                f"understands ({FORMAT_VERSION}); upgrade xpnet."
            )
        for key in ("xpnet_version", "saved_on_backend", "date_saved"):
            _need(
                isinstance(meta.get(key, ""), str),
                path,
                "metadata.json",
                f"{key} must be a string; got {meta.get(key)!r}.",
            )
        config = ar.json("config.json")
        _need(
            isinstance(config, dict) and isinstance(config.get("model"), dict),
            path,
            "config.json",
            "expected a JSON object with the model architecture under 'model'.",
        )
        _check_config_numbers(config, path)
        if config.get("build_input_shape") is not None:
            try:
                _tupled(config["build_input_shape"])
            except TypeError as err:
                raise LoadError(f"{path} [config.json]: build_input_shape: {err}.") from err
        label = f"{path} [weights.npz]"
        weights = NpzReader(ar.read("weights.npz"), label)
        try:
            names = _weight_order(meta, weights, path)
            opt = _read_optimizer(ar, meta, path) if optimizer else None
            if rng and "random.json" in ar:
                rng = _check_random(ar.json("random.json"), path)
            else:
                rng = None
        except BaseException:
            weights.close()
            raise
    return _ModelFile(meta, config, weights, names, opt, rng)


def _is_uint(v, bits: int) -> bool:
    return type(v) is int and 0 <= v < (1 << bits)


def _check_stream(state, where: str) -> None:
    host = state.get("host") if isinstance(state, dict) else None
    inner = host.get("state") if isinstance(host, dict) else None
    ok = (
        isinstance(inner, dict)
        and host.get("bit_generator") == "PCG64"
        and _is_uint(inner.get("state"), 128)
        and _is_uint(inner.get("inc"), 128)
        and host.get("has_uint32") in (0, 1)
        and _is_uint(host.get("uinteger"), 32)
        and (state.get("seed") is None or _is_uint(state.get("seed"), 63))
    )
    key = state.get("key") if ok else None
    ok = ok and (key is None or (isinstance(key, list) and all(_is_uint(k, 32) for k in key)))
    torch_states = state.get("torch") if ok else None
    ok = ok and (
        torch_states is None
        or (
            isinstance(torch_states, dict)
            and all(
                isinstance(v, str) and re.fullmatch("[0-9a-f]*", v) for v in torch_states.values()
            )
        )
    )
    if not ok:
        raise ValueError(f"{where} is not a PCG64 stream state with a seed")


def _check_random(rng, path):
    """random.json: the global stream and the layers' generators, every field checked."""
    try:
        if not isinstance(rng, dict) or not isinstance(rng.get("generators", {}), dict):
            raise ValueError("expected an object with 'global' and 'generators'")
        _check_stream(rng.get("global"), "global")
        for name, state in rng.get("generators", {}).items():
            _check_stream(state, f"generator {name!r}")
    except ValueError as err:
        raise LoadError(f"{path} [random.json]: not a valid random state ({err}).") from err
    return rng


def _check_config_numbers(config, path) -> None:
    """Refuse integers no model needs (a dimension of 2**40) and NaN/inf anywhere."""
    stack = [config]
    while stack:
        o = stack.pop()
        if isinstance(o, dict):
            stack.extend(o.values())
        elif isinstance(o, list):
            stack.extend(o)
        elif isinstance(o, bool):
            continue
        elif isinstance(o, int) and abs(o) > _MAX_SAVED_INT:
            raise LoadError(f"{path} [config.json]: the number {o} is out of range.")
        elif isinstance(o, float) and not math.isfinite(o):
            raise LoadError(f"{path} [config.json]: the number {o} is not finite.")


def _weight_order(meta, weights: NpzReader, path) -> list[str]:
    names = meta.get("weight_names")
    if names is None:
        return list(weights.keys)
    _need(
        isinstance(names, list) and all(isinstance(n, str) for n in names),
        path,
        "metadata.json",
        "weight_names must be a list of strings.",
    )
    _need(len(set(names)) == len(names), path, "metadata.json", "weight_names repeats a name.")
    missing = [n for n in names if n not in weights.keys]
    _need(not missing, path, "weights.npz", f"lacks weights the metadata lists: {missing[:5]}.")
    extra = [k for k in weights.keys if k not in set(names)]
    _need(not extra, path, "weights.npz", f"holds weights the metadata does not list: {extra[:5]}.")
    return names


_KINDS = {"int": "iu", "float": "f", "bool": "b", "array": "f"}
_NONNEGATIVE_SLOTS = {
    "velocity",
    "velocity_hat",
    "accumulator",
    "norm",
    "accumulated_grad",
    "accumulated_delta_var",
}


def _read_optimizer(ar: Archive, meta, path):
    """The optimizer state (values checked) or None; LoadError when the metadata says
    there is one and it is missing, or when one member is there without the other."""
    declared = meta.get("optimizer")
    _need(
        declared is None or isinstance(declared, bool),
        path,
        "metadata.json",
        f"'optimizer' must be true or false; got {declared!r}.",
    )
    have = ["optimizer.json" in ar, "optimizer.npz" in ar]
    if declared is True and not all(have):
        raise LoadError(
            f"{path}: the metadata says the file holds an optimizer state, but "
            f"{'optimizer.json' if not have[0] else 'optimizer.npz'} is missing (a damaged "
            "file). Load an earlier checkpoint, or load with compile=False to start the "
            "optimizer afresh."
        )
    if any(have) and not all(have):
        missing = "optimizer.json" if not have[0] else "optimizer.npz"
        raise LoadError(f"{path} [{missing}]: missing while its companion is present.")
    if not any(have):
        return None
    _need(declared is not False, path, "metadata.json", "says there is no optimizer state.")
    kinds = ar.json("optimizer.json")
    _need(
        isinstance(kinds, dict) and all(isinstance(v, str) and v in _KINDS for v in kinds.values()),
        path,
        "optimizer.json",
        f"expected an object of kinds {sorted(_KINDS)}.",
    )
    label = f"{path} [optimizer.npz]"
    npz = NpzReader(ar.read("optimizer.npz"), label)
    try:
        _need(
            set(npz.keys) == set(kinds),
            path,
            "optimizer.npz",
            f"holds {sorted(npz.keys)[:6]} but optimizer.json lists {sorted(kinds)[:6]}.",
        )
        state = {}
        for key, kind in kinds.items():

            def check(shape, dtype, kind=kind):
                if dtype.kind not in _KINDS[kind]:
                    return f"a {kind} value stored as dtype {dtype}."
                if kind != "array" and shape != ():
                    return f"a {kind} value stored with shape {shape}."
                return None

            arr = npz.array(key, check)
            if arr.dtype.kind == "f" and not bool(np.isfinite(arr).all()):
                raise LoadError(f"{label} [{key}.npy]: holds NaN or infinite values.")
            slot = key.partition("/")[2]
            if slot in _NONNEGATIVE_SLOTS and bool((arr < 0).any()):
                raise LoadError(f"{label} [{key}.npy]: {slot} must be >= 0; it has negatives.")
            if kind == "array":
                state[key] = arr
            else:
                state[key] = {"int": int, "float": float, "bool": bool}[kind](arr.item())
        its = state.get("iterations", 0)
        _need(
            isinstance(its, int) and its >= 0,
            path,
            "optimizer.npz",
            f"iterations must be >= 0; got {its!r}.",
        )
    finally:
        npz.close()
    return state


def load_model(filepath, custom_objects=None, compile: bool = True):
    """Rebuild the model saved in ``filepath`` (see :func:`save_model`).

    The architecture is rebuilt without running the initializers (the file's
    weights replace them) and never larger than the weights the file holds; the
    random state saved with the model becomes the current one, so that training
    continues with the draws (shuffling, dropout, noise) it would have made.
    Anything wrong with the file raises :class:`LoadError`.
    """
    contents = _read_model_file(filepath, optimizer=compile)
    try:
        model = _rebuild(contents, filepath, custom_objects)
        names = _in_model_order(model, contents.names)
        values = _read_weights(model, names, contents.weights, filepath, exact=True)
    finally:
        contents.weights.close()
    _assign(model, values)
    config = contents.config
    if compile and "compile" in config:
        _compile_from_config(model, config["compile"], contents.opt, filepath)
    if contents.rng is not None:
        try:
            B.set_random_state(contents.rng, _generators(model))
        except Exception as err:
            raise LoadError(f"{filepath} [random.json]: not a valid random state ({err}).") from err
    return model


def _rebuild(contents: _ModelFile, path, custom_objects):
    """The model from config.json, its weights created without initializers and within
    the values the file holds; any failure a LoadError."""
    from xpnet.layers.base import restoring_weights
    from xpnet.layers.serialization import custom_object_scope, deserialize_layer

    budget = 0
    for name in contents.names:
        shape, _, _ = contents.weights.header(name)
        budget += math.prod(shape)
    config = contents.config
    try:
        with custom_object_scope(custom_objects), restoring_weights(budget):
            model = deserialize_layer(config["model"])
            if not model.built:
                shape = config.get("build_input_shape")
                if shape is None:
                    raise LoadError(f"{path} [config.json]: the file does not say the input shape.")
                model.build(_tupled(shape))
    except LoadError:
        raise
    except (Exception, RecursionError) as err:
        raise LoadError(
            f"{path} [config.json]: cannot rebuild the model ({type(err).__name__}: {err})."
        ) from err
    return model


def _configured(model) -> bool:
    from xpnet.models import Functional, Sequential

    return isinstance(model, (Functional, Sequential))


def _tupled(shape):
    if not isinstance(shape, list) or not shape:
        raise TypeError(f"an input shape must be a non-empty list; got {shape!r}")
    if isinstance(shape[0], list):
        return [_tupled(s) for s in shape]
    if not all(
        d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in shape
    ):
        raise TypeError(f"an input shape holds non-negative integers or null; got {shape!r}")
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
        if not isinstance(cfg, dict):
            raise TypeError(f"expected a JSON object; got {type(cfg).__name__}")
        optimizer = optimizers.get(cfg["optimizer"])
        model.compile(
            optimizer=optimizer,
            loss=loss_of(cfg.get("loss")),
            loss_weights=cfg.get("loss_weights"),
            metrics=metric_of(cfg.get("metrics")),
            weighted_metrics=metric_of(cfg.get("weighted_metrics")),
        )
    except (Exception, RecursionError) as err:
        raise LoadError(
            f"{path} [config.json]: cannot restore the compile settings ({type(err).__name__}: "
            f"{err}); load with compile=False and compile again."
        ) from err
    if opt is not None:
        try:
            optimizer.set_state(opt, model.trainable_weights)
        except (Exception, RecursionError) as err:
            raise LoadError(
                f"{path} [optimizer.npz]: the optimizer state does not fit the model ({err})."
            ) from err


def _read_weights(model, names, reader: NpzReader, path, exact: bool) -> list:
    """The file's arrays for ``model.weights``, names and header shapes checked before any
    data is read, values checked against the parameters' dtypes."""
    params = model.weights
    if len(names) != len(params):
        raise LoadError(
            f"{path}: holds {len(names)} weights but model '{model.name}' has {len(params)}: "
            "not the same architecture."
        )
    exact = exact and _configured(model)
    for name, p in zip(names, params):
        if not (name == p.name or (not exact and _base(name) == _base(p.name or ""))):
            raise LoadError(
                f"{path}: weight {name!r} in the file does not match {p.name!r} in the model "
                "(layer names differ: not the same architecture, or layers in another order)."
            )
    values = []
    for name, p in zip(names, params):

        def check(shape, dtype, p=p):
            if shape != tuple(p.shape):
                return f"shape {shape} in the file but {tuple(p.shape)} in the model."
            if dtype.kind not in "fiu":
                return f"non-numeric dtype {dtype}."
            return None

        arr = reader.array(name, check)
        target = np.dtype(B.numpy_dtype(p.data.dtype))
        if arr.dtype != target and arr.size:
            with np.errstate(over="ignore", invalid="ignore"):
                cast = arr.astype(target)
            if not bool((np.isfinite(cast) | ~np.isfinite(arr)).all()):
                raise LoadError(
                    f"{path} [weights.npz] [{name}.npy]: values out of range of {target} "
                    "(they would become infinite)."
                )
            arr = cast
        values.append(arr)
    return values


# --------------------------------------------------------------------------- weights only


def save_weights(model, filepath, overwrite: bool = True) -> None:
    """Write the weights to a ``.npz`` file keyed by weight names, atomically.

    The file also holds a small ``__xpnet__`` entry (JSON bytes) with the
    format and the weights' order; NumPy reads it with ``np.load``.
    """
    names, arrays = _host_weights(model)
    meta = {"format": WEIGHTS_FORMAT, "format_version": FORMAT_VERSION, "weight_names": names}
    arrays[_META_KEY] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)

    def verify(tmp: Path) -> None:
        try:
            _, reader = _read_weights_file(tmp)
            for name in names:
                reader.array(name)
            reader.close()
        except LoadError as err:
            raise OSError(
                f"The file just written does not read back ({err}); nothing replaced."
            ) from err

    with atomic_write(filepath, overwrite, verify=verify) as f:
        f.write(_npz_bytes(arrays))


def _read_weights_file(path) -> tuple[list[str], NpzReader]:
    """The weights' order and a reader of a weights file or of a whole-model file."""
    with open_archive(path) as ar:
        is_model = "metadata.json" in ar
    if is_model:  # a whole-model file: use its weights
        contents = _read_model_file(path, optimizer=False, rng=False)
        return contents.names, contents.weights
    reader = NpzReader(Path(path).read_bytes(), path)
    try:
        if _META_KEY not in reader.keys:
            raise LoadError(
                f"{path} is a .npz file but not one written by xpnet's save_weights() (no "
                f"{_META_KEY} entry)."
            )
        raw = reader.array(
            _META_KEY,
            lambda shape, dtype: (
                None if dtype == np.uint8 and len(shape) == 1 else "expected a 1-d uint8 array"
            ),
        )
        meta = parse_json(raw.tobytes(), path, f"{_META_KEY}.npy")
        _need(isinstance(meta, dict), path, f"{_META_KEY}.npy", "expected a JSON object.")
        if meta.get("format") != WEIGHTS_FORMAT:
            raise LoadError(f"{path} is not an xpnet weights file (format {meta.get('format')!r}).")
        del reader.keys[_META_KEY]
        names = _weight_order(meta, reader, path)
    except BaseException:
        reader.close()
        raise
    return names, reader


_COUNTER = re.compile(r"_\d+$")


def _base(name: str) -> str:
    """``dense_3/kernel`` -> ``dense/kernel``: names without automatic counters."""
    return "/".join(_COUNTER.sub("", part) for part in name.split("/"))


def load_weights(model, filepath) -> None:
    """Load weights into ``model``, checking names and shapes first.

    When the file holds exactly the model's weight names, they are matched by
    name; otherwise by position, and names must differ only by the counters of
    automatic names (``dense_3`` for ``dense``), as when the same architecture is
    built twice in one session. Nothing is assigned unless every weight fits.
    """
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built yet: build it (call it on data or "
            "model.build(input_shape)) before load_weights()."
        )
    names, reader = _read_weights_file(filepath)
    own = [p.name for p in model.weights]
    if sorted(names) == sorted(own) and len(set(own)) == len(own):
        names = own  # every name matches exactly: by name, whatever the order
    names = _in_model_order(model, names)
    try:
        values = _read_weights(model, names, reader, filepath, exact=False)
    finally:
        reader.close()
    _assign(model, values)


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
