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
