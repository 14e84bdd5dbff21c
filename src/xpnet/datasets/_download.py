"""Download a file once into a cache folder, verified by SHA-256.

Downloads go to a temporary file in the cache folder and are renamed into
place only after the checksum matched, so an interrupted or corrupted
download never poisons the cache.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from xpnet.backend import host_numpy as np

__all__ = ["DownloadError", "cache_dir", "get_file", "read_idx_gz", "sha256_of"]


class DownloadError(RuntimeError):
    """A data file could not be fetched or failed its checksum."""


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The data cache: ``path``, else ``$XPNET_DATA``, else ``~/.xpnet/datasets``."""
    if path is None:
        path = os.environ.get("XPNET_DATA") or Path.home() / ".xpnet" / "datasets"
    return Path(path).expanduser()


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def get_file(
    fname: str,
    urls: Sequence[str],
    sha256: str,
    cache: str | os.PathLike | None = None,
    timeout: float = 60.0,
) -> Path:
    """Path of ``fname`` in the cache, downloaded from the first working URL if needed.

    A cached file whose checksum does not match is fetched again. Raises
    :class:`DownloadError` listing what each URL gave when none works.
    """
    folder = cache_dir(cache)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / fname
    if path.exists() and sha256_of(path) == sha256:
        return path
    problems = []
    for url in urls:
        try:
            _fetch(url, path, sha256, timeout)
            return path
        except (OSError, urllib.error.URLError, DownloadError) as err:
            problems.append(f"{url}: {err}")
    raise DownloadError(
        f"Could not download {fname} (SHA-256 {sha256}).\n  "
        + "\n  ".join(problems)
        + f"\nCheck the network, or download the file yourself and put it at {path}."
    )


def _fetch(url: str, path: Path, sha256: str, timeout: float) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        got = h.hexdigest()
        if got != sha256:
            raise DownloadError(f"checksum mismatch: expected SHA-256 {sha256}, got {got}")
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_idx_gz(path: str | os.PathLike, ndim: int):
    """A gzipped IDX file (the MNIST format) as a uint8 NumPy array of rank ``ndim``."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else -1
    if magic != 0x0800 + ndim:
        raise DownloadError(
            f"{path} is not an IDX file of unsigned bytes with {ndim} dimension(s) "
            f"(magic number {magic:#x}); delete it so it is downloaded again."
        )
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise DownloadError(f"{path} is truncated: header says {dims}, data is shorter.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()
