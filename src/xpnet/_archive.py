"""Bounded reading of the zip, ``.npz``/``.npy`` and JSON parts of saved files.

Every read is checked against what the file declares BEFORE anything large is
allocated or decompressed, and every problem raises :class:`LoadError` naming the
file, the member and what is wrong:

- the zip index: no duplicate, encrypted or unknown-compression members; each
  member's declared sizes inside the file; a deflated member may not claim to
  unpack to more than ``MAX_RATIO`` times its stored size (past ``SMALL_BYTES``);
- JSON members: at most ``MAX_JSON_BYTES`` and ``MAX_JSON_DEPTH`` levels of nesting;
- arrays: each ``.npy`` header is parsed first (numeric dtypes only, no pickles), the
  caller compares its shape and dtype with what it expects, and only then is the
  data read (exactly the declared number of bytes).

(zipfile itself stops decompressing a member at its declared size, so checking the
declared sizes bounds the memory a member can cost.)
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xpnet.backend import host_numpy as np

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_MEMBERS",
    "Archive",
    "LoadError",
    "NpzReader",
    "parse_json",
]

MAX_JSON_BYTES = 16 << 20  # a config of 16 MiB describes tens of thousands of layers
MAX_JSON_DEPTH = 100  # nesting levels of a JSON member (a layer config uses about 6)
MAX_MEMBERS = 100_000  # members of one zip (a model's weights.npz has one per weight)
SMALL_BYTES = 16 << 20  # a member this small may have any compression ratio
MAX_RATIO = 20  # past SMALL_BYTES, declared size / stored size of a deflated member
MAX_HEADER = 10_000  # bytes of one .npy header (NumPy's own default limit)
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}


class LoadError(ValueError):
    """A file cannot be loaded: not an xpnet file, corrupted, truncated, or not matching."""


def _fail(path, member: str | None, what: str) -> LoadError:
    where = f"{path}" if member is None else f"{path} [{member}]"
    return LoadError(f"{where}: {what}")


class Archive:
    """A zip whose index has been checked; members are read with their declared bounds.

    ``source`` is a path or bytes (a member of another archive); ``label`` names it
    in errors (``model.xpnet [weights.npz]``).
    """

    def __init__(self, source, label, size: int | None = None) -> None:
        self.label = label
        try:
            if isinstance(source, (bytes, bytearray, memoryview)):
                size = len(source)
                _check_entry_count(io.BytesIO(source), size, label)
                self.zf = zipfile.ZipFile(io.BytesIO(source))
            else:
                size = os.stat(source).st_size
                with open(source, "rb") as f:
                    _check_entry_count(f, size, label)
                self.zf = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, EOFError, ValueError, OSError, NotImplementedError) as err:
            if isinstance(err, (FileNotFoundError, IsADirectoryError, PermissionError, LoadError)):
                raise
            raise _fail(
                label,
                None,
                f"not a complete zip archive ({err}); it may be truncated, corrupted, or "
                "written by another program.",
            ) from err
        self.size = size
        try:
            self.infos = self._check_index()
        except BaseException:
            self.zf.close()
            raise

    def _check_index(self) -> dict[str, zipfile.ZipInfo]:
        infos = self.zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise _fail(self.label, None, f"{len(infos)} members, more than {MAX_MEMBERS}.")
        out: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if name in out:
                raise _fail(self.label, name, "the member appears twice in the zip index.")
            if info.flag_bits & 0x1:
                raise _fail(self.label, name, "the member is encrypted; xpnet never encrypts.")
            if info.compress_type not in _METHODS:
                raise _fail(
                    self.label,
                    name,
                    f"unknown compression method {info.compress_type} (expected stored or "
                    "deflated).",
                )
            if info.header_offset + info.compress_size > self.size:
                raise _fail(
                    self.label,
                    name,
                    f"declares {info.compress_size} stored bytes at offset "
                    f"{info.header_offset}, past the end of the file ({self.size} bytes): "
                    "truncated or corrupted.",
                )
            if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
                raise _fail(
                    self.label,
                    name,
                    f"a stored member declares {info.file_size} bytes but holds "
                    f"{info.compress_size}.",
                )
            if info.file_size > max(SMALL_BYTES, MAX_RATIO * info.compress_size):
                raise _fail(
                    self.label,
                    name,
                    f"declares {info.file_size} bytes unpacked from {info.compress_size} "
                    f"(more than {MAX_RATIO}x past {SMALL_BYTES} bytes): a zip bomb or a "
                    "corrupted index.",
                )
            out[name] = info
        return out

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.zf.close()

    def __contains__(self, name: str) -> bool:
        return name in self.infos

    def names(self) -> list[str]:
        return list(self.infos)

    def info(self, name: str) -> zipfile.ZipInfo:
        info = self.infos.get(name)
        if info is None:
            raise _fail(
                self.label, name, f"missing: the file has no {name}; not a complete xpnet file."
            )
        return info

    def read(self, name: str, limit: int | None = None) -> bytes:
        """The member's bytes (at most ``limit``, when given, or LoadError)."""
        info = self.info(name)
        if limit is not None and info.file_size > limit:
            raise _fail(
                self.label, name, f"declares {info.file_size} bytes, more than the {limit} allowed."
            )
        try:
            with self.zf.open(info) as f:
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as err:
            raise _fail(self.label, name, f"corrupted ({err}).") from err
        except NotImplementedError as err:
            raise _fail(self.label, name, f"cannot be read ({err}).") from err
        if len(data) != info.file_size:
            raise _fail(
                self.label,
                name,
                f"holds {len(data)} bytes but declares {info.file_size}: corrupted.",
            )
        return data

    def json(self, name: str) -> Any:
        return parse_json(self.read(name, MAX_JSON_BYTES), self.label, name)


def _check_entry_count(f, size: int, label) -> None:
    """Refuse, from the end-of-directory record alone, a zip that declares more than
    MAX_MEMBERS entries (zipfile would build an object for each before we could count)."""
    tail = min(size, 22 + 65535)
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(data):
        return  # zipfile reports the missing or damaged record
    count = struct.unpack_from("<H", data, at + 10)[0]
    if count == 0xFFFF:  # ZIP64: the count is in the ZIP64 end record, located just before
        loc = data.rfind(b"PK\x06\x07", 0, at)
        if loc >= 0 and loc + 20 <= len(data):
            offset = struct.unpack_from("<Q", data, loc + 8)[0]
            if offset + 40 <= size:
                f.seek(offset)
                rec = f.read(40)
                if rec[:4] == b"PK\x06\x06":
                    count = struct.unpack_from("<Q", rec, 32)[0]
    if count > MAX_MEMBERS:
        raise _fail(label, None, f"declares {count} members, more than {MAX_MEMBERS}.")


def parse_json(raw: bytes, label, name: str) -> Any:
    """JSON text (UTF-8), nested at most MAX_JSON_DEPTH deep, or LoadError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _fail(label, name, f"not UTF-8 text ({err}).") from err
    depth = _depth_of_text(text)
    if depth > MAX_JSON_DEPTH:
        raise _fail(label, name, f"JSON nested {depth} deep, more than {MAX_JSON_DEPTH}.")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (json.JSONDecodeError, RecursionError, ValueError) as err:
        raise _fail(label, name, f"not valid JSON ({err}).") from err


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _depth_of_text(text: str) -> int:
    """The deepest bracket nesting of a JSON text (strings skipped), without recursion."""
    depth = best = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > best:
                best = depth
                if best > MAX_JSON_DEPTH:
                    return best
        elif ch in "]}":
            depth -= 1
    return best


class NpzReader:
    """The arrays of a ``.npz`` (bytes), header first: :meth:`header` then :meth:`array`.

    Keys are the member names without ``.npy``. Only numeric and boolean dtypes
    are accepted; object arrays (pickles) never are.
    """

    def __init__(self, raw: bytes, label) -> None:
        self.archive = Archive(raw, label)
        self.label = label
        self.keys: dict[str, str] = {}
        for name in self.archive.names():
            if not name.endswith(".npy"):
                raise _fail(label, name, "not a .npy member.")
            self.keys[name[:-4]] = name

    def close(self) -> None:
        self.archive.zf.close()

    def header(self, key: str) -> tuple[tuple[int, ...], Any, bool]:
        """(shape, dtype, fortran order) from the member's header; checks it fits the member."""
        member = self.keys.get(key)
        if member is None:
            raise _fail(self.label, f"{key}.npy", "missing.")
        info = self.archive.info(member)
        try:
            with self.archive.zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                        f, max_header_size=MAX_HEADER
                    )
                elif version in ((2, 0), (3, 0)):
                    reader = np.lib.format.read_array_header_2_0
                    shape, fortran, dtype = reader(f, max_header_size=MAX_HEADER)
                else:
                    raise ValueError(f"unknown .npy version {version}")
                offset = f.tell()
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, TypeError) as err:
            raise _fail(self.label, member, f"unreadable .npy header ({err}).") from err
        if dtype.hasobject or dtype.kind not in "biuf" or dtype.fields is not None:
            raise _fail(
                self.label, member, f"dtype {dtype} is not numeric (expected a float or int array)."
            )
        if any((not isinstance(d, int)) or d < 0 for d in shape):
            raise _fail(self.label, member, f"invalid shape {shape!r}.")
        nbytes = math.prod(shape) * dtype.itemsize
        if offset + nbytes != info.file_size:
            raise _fail(
                self.label,
                member,
                f"the header declares shape {shape} of {dtype} ({nbytes} bytes) but the member "
                f"holds {info.file_size - offset} bytes of data.",
            )
        return tuple(shape), dtype, bool(fortran)

    def array(self, key: str, check: Callable[[tuple, Any], str | None] | None = None):
        """The array ``key``; ``check(shape, dtype)`` (an error text or None) runs on the
        header before any data is read."""
        shape, dtype, fortran = self.header(key)
        member = self.keys[key]
        if check is not None:
            problem = check(shape, dtype)
            if problem:
                raise _fail(self.label, member, problem)
        raw = self.archive.read(member)
        offset = len(raw) - math.prod(shape) * dtype.itemsize
        arr = np.frombuffer(raw, dtype=dtype, offset=offset)
        return arr.reshape(shape, order="F" if fortran else "C")


def open_archive(path) -> Archive:
    """:class:`Archive` of a file on disk (FileNotFoundError when it does not exist)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such file: {path}.")
    if not path.is_file():
        raise _fail(path, None, "not a regular file.")
    return Archive(path, path)
