"""Saves that respect their destination: modes, non-regular targets, symlinks, names
that cannot round-trip, verification before replacing, stale temp files; downloads."""

from __future__ import annotations

import fcntl
import os
import stat

import numpy as np
import pytest

import xpnet as xn
from xpnet import saving
from xpnet.datasets import _download
from xpnet.datasets._download import DownloadError, get_file, sha256_of
from xpnet.layers import Dense


def mlp(seed=0):
    xn.set_seed(seed)
    return xn.Sequential([xn.Input(shape=(4,)), Dense(3)])


def test_existing_mode_is_kept_and_new_files_follow_the_umask(tmp_path):
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~saving._UMASK
    path.chmod(0o600)
    mlp(1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    w = tmp_path / "w.weights.npz"
    w.write_bytes(b"")
    w.chmod(0o640)
    mlp().save_weights(w)
    assert stat.S_IMODE(w.stat().st_mode) == 0o640


def test_save_never_changes_the_process_umask(tmp_path, monkeypatch):
    def forbidden(mask):
        raise AssertionError("os.umask called during a save")

    monkeypatch.setattr(os, "umask", forbidden)
    mlp().save(tmp_path / "m.xpnet")
    mlp().save_weights(tmp_path / "m.weights.npz")


def test_read_only_file_is_not_replaced(tmp_path):
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    before = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only"):
        mlp(1).save(path)
    assert path.read_bytes() == before


def test_directory_and_trailing_slash_are_refused(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError, match="directory"):
        mlp().save(tmp_path / "d")
    with pytest.raises(IsADirectoryError, match="names a folder"):
        mlp().save(str(tmp_path / "newname") + "/")
    assert not (tmp_path / "newname").exists()


def test_fifo_and_devices_are_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        mlp().save(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(ValueError, match="not a regular file"):
        mlp().save_weights(os.devnull)
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_symlink_is_followed_and_kept(tmp_path):
    target = tmp_path / "real.xpnet"
    mlp().save(target)
    link = tmp_path / "latest.xpnet"
    link.symlink_to(target)
    model = mlp(7)
    model.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    loaded = xn.models.load_model(target)
    np.testing.assert_array_equal(loaded.get_weights()[0], model.get_weights()[0])


def test_names_that_cannot_round_trip_are_refused_before_writing(tmp_path):
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    before = path.read_bytes()
    bad = xn.Sequential([xn.Input(shape=(4,)), Dense(3, name="a\x00b")])
    with pytest.raises(ValueError, match="control characters"):
        bad.save(path)
    with pytest.raises(ValueError, match="control characters"):
        bad.save_weights(path)
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="NUL"):
        mlp().save(str(tmp_path / "a\x00b"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.xpnet"]


def test_a_file_that_does_not_read_back_never_replaces_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "m.xpnet"
    mlp().save(path)
    before = path.read_bytes()
    monkeypatch.setattr(saving, "_npz_bytes", lambda arrays: b"not a zip")
    with pytest.raises(OSError, match="does not read back"):
        mlp(1).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.xpnet"]


def test_stale_temp_files_are_removed_but_not_those_being_written(tmp_path):
    path = tmp_path / "m.xpnet"
    stale = tmp_path / ".m.xpnet.abc123.tmp"
    stale.write_bytes(b"x" * 1000)
    live = tmp_path / ".m.xpnet.live.tmp"
    live.write_bytes(b"y")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a writer in another process would hold it
    try:
        mlp().save(path)
    finally:
        os.close(fd)
    assert not stale.exists()
    assert live.exists()
    other = tmp_path / ".other.xpnet.abc.tmp"  # another file's temp: not ours to remove
    other.write_bytes(b"z")
    mlp().save(path)
    assert other.exists()


# --------------------------------------------------------------------------- downloads


def _served(tmp_path, data: bytes):
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    return src.as_uri(), sha256_of(src)


def test_download_size_cap_and_stale_parts(tmp_path):
    url, digest = _served(tmp_path, b"a" * 5000)
    cache = tmp_path / "cache"
    cache.mkdir()
    part = cache / ".f.bin.dead.part"
    part.write_bytes(b"old")
    with pytest.raises(DownloadError, match="5000 bytes, over 1000|more than 1000 bytes"):
        get_file("f.bin", [url], digest, cache, max_bytes=1000)
    assert not part.exists()
    assert sorted(p.name for p in cache.iterdir()) == []
    assert get_file("f.bin", [url], digest, cache).read_bytes() == b"a" * 5000


def test_invalid_or_unwritable_data_folder_is_a_clear_error(tmp_path, monkeypatch):
    url, digest = _served(tmp_path, b"data")
    afile = tmp_path / "afile"
    afile.write_text("x")
    monkeypatch.setenv("XPNET_DATA", str(afile))
    with pytest.raises(DownloadError, match="not a folder.*XPNET_DATA"):
        get_file("f.bin", [url], digest)
    monkeypatch.setenv("XPNET_DATA", str(afile / "sub"))
    with pytest.raises(DownloadError, match="Cannot create the data folder"):
        get_file("f.bin", [url], digest)
    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(_download.os, "access", lambda p, mode: False)
    monkeypatch.setenv("XPNET_DATA", str(ro))
    with pytest.raises(DownloadError, match="not writable"):
        get_file("f.bin", [url], digest)
