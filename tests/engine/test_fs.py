# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._fs: the seam every commit goes through, and swapping the default."""

from __future__ import annotations

import os

import pytest

import stateview
from stateview import _fs

from ._helpers import CountingFS, file_bytes


def test_open_new_refuses_anything_already_there_even_a_dangling_link(tmp_path):
    fs = _fs.FileSystem()
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(FileExistsError):
        fs.open_new(str(link), 0o644)
    assert not (tmp_path / "nowhere").exists()


def test_write_all_and_read_bytes_round_trip(tmp_path):
    fs = _fs.FileSystem()
    path = str(tmp_path / "f")
    fd = fs.open_new(path, 0o600)
    data = os.urandom(3 * 1024 * 1024)
    fs.write_all(fd, data)
    fs.fsync(fd)
    fs.close(fd)
    fs.fsync_dir(str(tmp_path))
    assert fs.read_bytes(path) == data
    assert fs.stat(path).st_size == len(data)


def test_the_default_seam_is_used_by_open_and_can_be_swapped(path):
    counting = CountingFS()
    previous = _fs.set_default(counting)
    try:
        assert _fs.get_default() is counting
        with stateview.open(path, default={}) as state:
            state["a"] = 1
    finally:
        assert _fs.set_default(previous) is counting
    assert counting.replaces_onto(str(path)) == 2
    assert file_bytes(path) == b'{\n  "a": 1\n}\n'


class _LooksFail(_fs.FileSystem):
    def lstat(self, path: str) -> os.stat_result:
        raise OSError(5, "injected EIO", path)


def test_present_is_false_only_for_a_missing_name_and_a_failed_look_raises(tmp_path):
    fs = _fs.FileSystem()
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "nowhere")
    assert _fs.present(fs, str(link)) is True
    assert _fs.present(fs, str(tmp_path / "nowhere")) is False
    assert _fs.present(fs, str(tmp_path / "nowhere" / "deeper")) is False
    (tmp_path / "file").write_text("x")
    assert _fs.present(fs, str(tmp_path / "file" / "below")) is False  # ENOTDIR
    with pytest.raises(OSError) as info:  # never taken for "free"
        _fs.present(_LooksFail(), str(tmp_path / "file"))
    assert info.value.errno == 5


def test_flock_busy_sees_another_process_holding_the_lock_and_changes_nothing(tmp_path):
    import subprocess
    import sys

    fs = _fs.FileSystem()
    lock = tmp_path / "s.json.lock"
    lock.write_bytes(b"{}")
    assert fs.flock_busy(str(lock)) is False
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys; f = open(sys.argv[1]); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()",
         str(lock)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert fs.flock_busy(str(lock)) is True
    finally:
        holder.kill()
        holder.communicate(timeout=10)  # reaps it and closes both pipes
    assert fs.flock_busy(str(lock)) is False  # our own probe left no lock behind
    assert lock.read_bytes() == b"{}"
    with pytest.raises(FileNotFoundError):
        fs.flock_busy(str(tmp_path / "missing.lock"))


def test_close_lock_closes_the_descriptor_and_listdir_and_pread_read(tmp_path):
    fs = _fs.FileSystem()
    (tmp_path / "a").write_bytes(b"hello")
    assert fs.listdir(str(tmp_path)) == ["a"]
    fd = fs.open_lock(str(tmp_path / "a.lock"), 0o644)
    fs.pwrite(fd, b"record", 0)
    assert fs.pread(fd, 100, 0) == b"record"
    fs.close_lock(fd)
    with pytest.raises(OSError):
        os.fstat(fd)
