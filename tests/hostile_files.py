"""Hostile and broken model files, generated from a valid one (tests and benchmarks).

:func:`hostile_files` writes every file into a folder and returns ``{name: path}``.
Each is a valid xpnet model file with one thing changed: sizes declared in the zip
index, zip bombs, deep or huge JSON, a wrong type in each JSON field, forged .npy
headers, encrypted or unknown-compression flags, duplicate members, optimizer
states that lie, configs that ask for huge weights.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

import xpnet as xn

WRONG_VALUES = [None, True, -1, 0, 10**12, 1e300, "x", "", [], {}, [None], {"a": 1}]


def base_model():
    """A small trained model with an optimizer state, Dropout and BatchNormalization."""
    xn.set_seed(0)
    model = xn.Sequential(
        [
            xn.Input(shape=(4,)),
            xn.layers.Dense(5, activation="relu"),
            xn.layers.BatchNormalization(),
            xn.layers.Dropout(0.2),
            xn.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).standard_normal((8, 4)).astype(np.float32)
    model.fit(x, np.arange(8) % 3, epochs=1, verbose=0)
    return model


def members_of(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def zip_of(parts, methods=None) -> bytes:
    """A zip of ``parts`` (name -> bytes, or a list of pairs for duplicates)."""
    buf = io.BytesIO()
    items = parts.items() if isinstance(parts, dict) else parts
    with zipfile.ZipFile(buf, "w") as zf, _quiet():
        for name, raw in items:
            method = (methods or {}).get(name, zipfile.ZIP_DEFLATED)
            zf.writestr(name, raw, method)
    return buf.getvalue()


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def patch_central(raw: bytes, member: str, **fields) -> bytes:
    """Change fields of ``member``'s central-directory entry (and its local header):
    flags, method, comp_size, file_size, offset."""
    data = bytearray(raw)
    name = member.encode()
    pos = 0
    while True:
        pos = data.find(b"PK\x01\x02", pos)
        if pos < 0:
            raise KeyError(member)
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46 : pos + 46 + n]) == name:
            break
        pos += 4
    offs = {"flags": (8, "<H"), "method": (10, "<H"), "comp_size": (20, "<I")}
    offs |= {"file_size": (24, "<I"), "offset": (42, "<I")}
    local = struct.unpack_from("<I", data, pos + 42)[0]
    loffs = {"flags": 6, "method": 8, "comp_size": 18, "file_size": 22}
    for key, value in fields.items():
        off, fmt = offs[key]
        struct.pack_into(fmt, data, pos + off, value)
        if key in loffs and data[local : local + 4] == b"PK\x03\x04":
            struct.pack_into(fmt, data, local + loffs[key], value)
    return bytes(data)


def npy_bytes(header: dict | str, data: bytes = b"", version=(1, 0)) -> bytes:
    text = header if isinstance(header, str) else repr(header)
    text = text + " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    head = b"\x93NUMPY" + bytes(version)
    size = struct.pack("<H", len(text)) if version == (1, 0) else struct.pack("<I", len(text))
    return head + size + text.encode("latin1") + data


def npz_of(arrays: dict, raw: dict | None = None) -> bytes:
    parts = {f"{k}.npy": _npy(v) for k, v in arrays.items()}
    parts |= {f"{k}.npy": v for k, v in (raw or {}).items()}
    return zip_of(parts, dict.fromkeys(parts, zipfile.ZIP_STORED))


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def arrays_of(raw: bytes) -> dict:
    with np.load(io.BytesIO(raw)) as npz:
        return {k: npz[k] for k in npz.files}


def _leaf_paths(obj, prefix=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield (*prefix, k)
            yield from _leaf_paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield (*prefix, i)
            yield from _leaf_paths(v, (*prefix, i))


def _set(obj, path, value):
    obj = json.loads(json.dumps(obj))
    target = obj
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = value
    return obj


def field_mutations(parts: dict[str, bytes], member: str, limit: int | None = None):
    """(label, parts) with one field of JSON ``member`` replaced by each wrong value."""
    doc = json.loads(parts[member])
    out = []
    for path in _leaf_paths(doc):
        for value in WRONG_VALUES:
            label = f"{member}:{'/'.join(map(str, path))}={json.dumps(value)[:12]}"
            out.append((label, parts | {member: json.dumps(_set(doc, path, value)).encode()}))
    return out if limit is None else out[:limit]


def hostile_files(folder: Path, fields: bool = True) -> dict[str, Path]:
    """Write every hostile file into ``folder``; ``{name: path}``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "good.xpnet"
    base_model().save(good)
    raw = good.read_bytes()
    parts = members_of(good)
    w = arrays_of(parts["weights.npz"])
    opt = arrays_of(parts["optimizer.npz"])
    meta = json.loads(parts["metadata.json"])
    config = json.loads(parts["config.json"])
    first = meta["weight_names"][0]
    files: dict[str, bytes] = {}

    # whole-file damage
    files["empty"] = b""
    files["not_a_zip"] = b"hello world" * 100
    for cut in (10, 100, len(raw) // 2, len(raw) - 30, len(raw) - 1):
        files[f"truncated_{cut}"] = raw[:cut]
    files["bit_flip_middle"] = (
        raw[: len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 0xFF]) + raw[len(raw) // 2 + 1 :]
    )

    # the zip index lies
    files["config_declares_2GB"] = patch_central(zip_of(parts), "config.json", file_size=2**31)
    files["weights_declares_4GB"] = patch_central(
        zip_of(parts, {"weights.npz": zipfile.ZIP_STORED}), "weights.npz", file_size=2**32 - 1
    )
    files["comp_size_past_end"] = patch_central(zip_of(parts), "config.json", comp_size=2**31)
    files["offset_past_end"] = patch_central(zip_of(parts), "config.json", offset=2**31)
    files["encrypted_flag"] = patch_central(zip_of(parts), "config.json", flags=1)
    files["unknown_compression"] = patch_central(zip_of(parts), "config.json", method=99)
    files["bzip2_member"] = zip_of(parts, {"config.json": zipfile.ZIP_BZIP2})
    files["duplicate_weights"] = zip_of(
        [*list(parts.items()), ("weights.npz", parts["weights.npz"])]
    )
    files["duplicate_metadata"] = zip_of(
        [("metadata.json", parts["metadata.json"]), *list(parts.items())]
    )

    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as zf:  # ZIP64: the count lies past the 16-bit field
        for i in range(100_001):
            zf.writestr(f"{i}", b"")
    files["members_100001"] = many.getvalue()

    # zip bombs of small size
    bomb = zlib.compress(b" " * (64 << 20), 9)
    files["config_bomb_64MB"] = zip_of(parts | {"config.json": b" " * (64 << 20)})
    files["metadata_bomb_64MB"] = zip_of(parts | {"metadata.json": b"{" + b" " * (64 << 20) + b"}"})
    big = {first: np.zeros(16 << 20, np.float32)}
    files["weights_bomb_64MB"] = zip_of(parts | {"weights.npz": npz_of(big)})
    files["inner_npy_bomb"] = zip_of(
        parts
        | {
            "weights.npz": zip_of(
                {
                    f"{k}.npy": _npy(np.zeros(16 << 20, np.float32) if k == first else v)
                    for k, v in w.items()
                }
            )
        },
        {"weights.npz": zipfile.ZIP_STORED},
    )
    del bomb

    # JSON: deep, huge, invalid
    files["deep_json_config"] = zip_of(parts | {"config.json": b"[" * 100_000 + b"]" * 100_000})
    files["deep_json_metadata"] = zip_of(
        parts | {"metadata.json": b'{"a":' * 50_000 + b"1" + b"}" * 50_000}
    )
    files["json_depth_1000"] = zip_of(parts | {"config.json": b"[" * 1000 + b"]" * 1000})
    files["json_not_utf8"] = zip_of(parts | {"config.json": b"\xff\xfe{}"})
    files["json_invalid"] = zip_of(parts | {"config.json": b"{'model': 1}"})
    files["json_nan"] = zip_of(
        parts
        | {
            "metadata.json": parts["metadata.json"].replace(
                b'"format_version": 1', b'"format_version": NaN'
            )
        }
    )
    files["format_version_1e400"] = zip_of(
        parts
        | {
            "metadata.json": parts["metadata.json"].replace(
                b'"format_version": 1', b'"format_version": 1e400'
            )
        }
    )
    files["metadata_is_list"] = zip_of(parts | {"metadata.json": b"[1, 2]"})
    files["optimizer_json_is_list"] = zip_of(parts | {"optimizer.json": b"[1, 2]"})
    files["config_is_string"] = zip_of(parts | {"config.json": b'"model"'})
    files["class_name_null"] = zip_of(
        parts | {"config.json": json.dumps(_set(config, ("model", "class_name"), None)).encode()}
    )

    nested = {"class_name": "Dense", "config": {"units": 2}}
    for _ in range(200):
        nested = {"class_name": "Sequential", "config": {"layers": [nested]}}
    files["nested_200_sequentials"] = zip_of(
        parts
        | {"config.json": json.dumps({"model": nested, "build_input_shape": [None, 4]}).encode()}
    )
    files["functional_empty_inputs"] = zip_of(
        parts
        | {
            "config.json": json.dumps(
                {
                    "model": {
                        "class_name": "Functional",
                        "config": {
                            "name": "m",
                            "layers": [],
                            "input_layers": [],
                            "output_layers": [],
                        },
                    }
                }
            ).encode()
        }
    )

    # configs asking for more than the file holds
    layers = config["model"]["config"]["layers"]

    def with_layer(i, **changes):
        c = json.loads(json.dumps(config))
        c["model"]["config"]["layers"][i]["config"].update(changes)
        return json.dumps(c).encode()

    dense_i = next(i for i, spec in enumerate(layers) if spec["class_name"] == "Dense")
    files["dense_units_4e8"] = zip_of(
        parts | {"config.json": with_layer(dense_i, units=400_000_000)}
    )
    files["dense_units_float"] = zip_of(parts | {"config.json": with_layer(dense_i, units=4e8)})
    files["orthogonal_6000"] = zip_of(
        parts
        | {
            "config.json": with_layer(
                dense_i, units=6000, kernel_initializer={"class_name": "Orthogonal", "config": {}}
            )
        }
    )
    files["input_shape_1e9"] = zip_of(
        parts
        | {
            "config.json": json.dumps(
                {
                    "model": {
                        "class_name": "Sequential",
                        "config": {"layers": [{"class_name": "Flatten", "config": {}}]},
                    },
                    "build_input_shape": [None, 10**9],
                }
            ).encode()
        }
    )
    files["input_shape_1e5x1e5"] = zip_of(
        parts
        | {
            "config.json": json.dumps(
                {
                    "model": {
                        "class_name": "Sequential",
                        "config": {"layers": [{"class_name": "Flatten", "config": {}}]},
                    },
                    "build_input_shape": [None, 10**5, 10**5],
                }
            ).encode()
        }
    )

    # .npy headers that lie
    def wn(**raw):
        return zip_of(
            parts | {"weights.npz": npz_of({k: v for k, v in w.items() if k not in raw}, raw)},
            {"weights.npz": zipfile.ZIP_STORED},
        )

    files["npy_shape_1e10"] = wn(
        **{
            first: npy_bytes(
                {"descr": "<f4", "fortran_order": False, "shape": (10**10,)}, b"\0" * 64
            )
        }
    )
    files["npy_shape_negative"] = wn(
        **{first: npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (-1, 4)}, b"\0" * 64)}
    )
    files["npy_object_dtype"] = wn(
        **{first: npy_bytes({"descr": "|O", "fortran_order": False, "shape": (4, 5)}, b"\0" * 64)}
    )
    files["npy_complex"] = wn(**{first: _npy(w[first].astype(np.complex64))})
    files["npy_string"] = wn(**{first: _npy(np.full(w[first].shape, "a"))})
    files["npy_structured"] = wn(**{first: _npy(np.zeros(w[first].shape, dtype=[("a", "<f4")]))})
    files["npy_bad_magic"] = wn(**{first: b"NOTNUMPY" + b"\0" * 100})
    files["npy_header_garbage"] = wn(**{first: npy_bytes("{'descr': __import__('os')}")})
    files["npy_header_huge"] = wn(**{first: npy_bytes("{" + " " * 200_000 + "}", version=(2, 0))})
    files["npy_version_9"] = wn(
        **{
            first: npy_bytes(
                {"descr": "<f4", "fortran_order": False, "shape": (4, 5)}, version=(9, 0)
            )
        }
    )
    files["npy_short_data"] = wn(**{first: _npy(w[first])[:-8]})
    files["npy_wrong_shape"] = wn(**{first: _npy(np.zeros((5, 4), np.float32))})
    files["npy_float64_1e300"] = wn(**{first: _npy(np.full(w[first].shape, 1e300))})
    files["npy_fortran"] = wn(**{first: _npy(np.asfortranarray(w[first]))})  # valid: loads
    files["weights_missing_one"] = zip_of(
        parts | {"weights.npz": npz_of({k: v for k, v in w.items() if k != first})}
    )
    files["weights_extra_one"] = zip_of(
        parts | {"weights.npz": npz_of(w | {"extra/x": np.zeros(3, np.float32)})}
    )
    files["inner_duplicate_npy"] = zip_of(
        parts
        | {
            "weights.npz": zip_of(
                [(f"{k}.npy", _npy(v)) for k, v in w.items()] + [(f"{first}.npy", _npy(w[first]))]
            )
        }
    )
    files["weights_npz_not_zip"] = zip_of(parts | {"weights.npz": b"garbage" * 50})

    # optimizer state that lies
    missing = {k: v for k, v in parts.items() if k != "optimizer.npz"}
    files["optimizer_npz_missing"] = zip_of(missing)
    files["optimizer_both_missing"] = zip_of(
        {k: v for k, v in missing.items() if k != "optimizer.json"}
    )
    slot = next(k for k in opt if k.endswith("/velocity"))
    on = lambda **arrays: zip_of(parts | {"optimizer.npz": npz_of(opt | arrays)})  # noqa: E731
    files["optimizer_nan"] = on(**{slot: np.full(opt[slot].shape, np.nan, np.float32)})
    files["optimizer_negative_velocity"] = on(**{slot: -np.ones(opt[slot].shape, np.float32)})
    files["optimizer_complex"] = on(**{slot: opt[slot].astype(np.complex64)})
    files["optimizer_string"] = on(**{slot: np.full(opt[slot].shape, "a")})
    files["optimizer_wrong_shape"] = on(**{slot: np.zeros((7,), np.float32)})
    files["optimizer_iterations_negative"] = on(iterations=np.asarray(-5, np.int64))
    files["optimizer_iterations_float"] = on(iterations=np.asarray(2.5))
    files["optimizer_iterations_huge"] = on(iterations=np.asarray(2**62, np.int64))
    files["optimizer_extra_key"] = on(**{"999/velocity": np.zeros(3, np.float32)})
    files["random_json_garbage"] = zip_of(
        parts | {"random.json": b'{"global": {"host": {"bit_generator": "MT19937"}}}'}
    )
    files["random_json_list"] = zip_of(parts | {"random.json": b"[]"})

    if fields:
        for member in ("metadata.json", "config.json", "optimizer.json", "random.json"):
            for label, p in field_mutations(parts, member):
                files[f"field {label}"] = zip_of(p)

    out = {}
    for i, (name, data) in enumerate(files.items()):
        path = folder / f"h{i:05d}.xpnet"
        path.write_bytes(data)
        out[name] = path
    out["good"] = good
    return out
