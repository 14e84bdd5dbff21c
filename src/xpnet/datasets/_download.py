"""Download a file once into a cache folder, verified by SHA-256.

Downloads go to a temporary file in the cache folder and are renamed into
place only after the checksum matched, so an interrupted or corrupted
download never poisons the cache. A download stops at ``max_bytes`` (256 MiB
unless told), and the ``.part`` files of killed downloads are removed by the
next download into the same folder.
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

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["DownloadError", "cache_dir", "get_file", "read_idx_gz", "sha256_of"]


class DownloadError(RuntimeError):
    """A data file could not be fetched or failed its checksum."""


MAX_BYTES = 256 << 20  # the largest download (every bundled data set is far smaller)


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The data cache: ``path``, else ``$XPNET_DATA``, else ``~/.xpnet/datasets``."""
    if path is None:
        path = os.environ.get("XPNET_DATA") or Path.home() / ".xpnet" / "datasets"
    return Path(path).expanduser()


def _writable_cache(folder: Path) -> Path:
    """``folder`` created if needed, or DownloadError saying what is wrong with it."""
    hint = "Set $XPNET_DATA (or pass cache_dir=) to a writable folder."
    if "\x00" in str(folder):
        raise DownloadError(f"The data folder {str(folder)!r} contains a NUL character. {hint}")
    if folder.exists() and not folder.is_dir():
        raise DownloadError(f"The data folder {folder} exists but is not a folder. {hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DownloadError(f"Cannot create the data folder {folder} ({err}). {hint}") from err
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DownloadError(f"The data folder {folder} is not writable. {hint}")
    return folder


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
    max_bytes: int = MAX_BYTES,
) -> Path:
    """Path of ``fname`` in the cache, downloaded from the first working URL if needed.

    A cached file whose checksum does not match is fetched again; a download
    longer than ``max_bytes`` is abandoned. Raises :class:`DownloadError` listing
    what each URL gave when none works, or saying what is wrong with the cache folder.
    """
    from xpnet.saving import remove_stale

    folder = _writable_cache(cache_dir(cache))
    path = folder / fname
    if path.exists() and sha256_of(path) == sha256:
        return path
    remove_stale(folder, f".{path.name}.", ".part")
    problems = []
    for url in urls:
        try:
            _fetch(url, path, sha256, timeout, max_bytes)
            return path
        except (OSError, urllib.error.URLError, DownloadError) as err:
            problems.append(f"{url}: {err}")
    raise DownloadError(
        f"Could not download {fname} (SHA-256 {sha256}).\n  "
        + "\n  ".join(problems)
        + f"\nCheck the network, or download the file yourself and put it at {path}."
    )


def _fetch(url: str, path: Path, sha256: str, timeout: float, max_bytes: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        if fcntl is not None:  # held while downloading: remove_stale leaves it alone
            fcntl.flock(fd, fcntl.LOCK_EX)
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            declared = resp.headers.get("Content-Length") if resp.headers else None
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DownloadError(f"the server announces {declared} bytes, over {max_bytes}")
            got = 0
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                got += len(chunk)
                if got > max_bytes:
                    raise DownloadError(f"more than {max_bytes} bytes; download abandoned")
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
