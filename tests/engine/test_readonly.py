"""``readonly=True``: no lock and no writes, follows the writers, refuses every change."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import stateview


@pytest.fixture
def readonly_mount(tmp_path: Any) -> Iterator[tuple[Any, Any]]:
    """(writable dir, the same dir bind-mounted read-only)."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    subprocess.run(["mount", "--bind", str(rw), str(ro)], check=True, timeout=30)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)], check=True, timeout=30)
        yield rw, ro
    finally:
        subprocess.run(["umount", str(ro)], check=True, timeout=30)


def _wait_for(predicate: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(predicate())


def test_readonly_open_follows_writers_on_a_read_only_mount(readonly_mount: Any) -> None:
    rw, ro = readonly_mount
    with stateview.open(rw / "state.json", default={"n": 0, "a": {"b": 1}}) as writer:
        writer["n"] = 1
    os.unlink(rw / "state.json.lock")  # a monitor must not need the lock file either
    with pytest.raises(stateview.StorageError):  # a writer cannot open it there
        stateview.open(ro / "state.json")
    reader = stateview.open(ro / "state.json", readonly=True)
    try:
        assert reader.snapshot() == {"n": 1, "a": {"b": 1}}
        assert not os.path.exists(rw / "state.json.lock")
        events: list[list[str]] = []
        changed = threading.Event()
        reader.on_change(lambda e: (events.append(e.pointers), changed.set()), poll=0.02)
        with stateview.open(rw / "state.json") as writer:
            writer["a"]["b"] = 2
        assert changed.wait(10), "on_change did not follow the writer"
        assert ["/a/b"] in events
        assert reader["a"]["b"] == 2
        with stateview.open(rw / "state.json") as writer:
            writer["n"] = 3
        assert _wait_for(lambda: reader["n"] == 3)
        assert reader.refresh() is False
    finally:
        reader.close()


def test_readonly_open_takes_no_lock_and_refuses_every_change(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    writer = stateview.open(path, default={"n": 0, "l": [1]}, exclusive=True)  # holds it
    try:
        reader = stateview.open(path, readonly=True, lock_timeout=0.1)
        for change in (lambda: reader.__setitem__("n", 1), lambda: reader["l"].append(2),
                       lambda: reader.__delitem__("n")):
            with pytest.raises(stateview.StateError, match="readonly=True"):
                change()
        with pytest.raises(stateview.StateError, match="readonly=True"), reader.transaction():
            pass
        assert reader.snapshot() == {"n": 0, "l": [1]}
        writer["n"] = 5
        assert reader.refresh() is True and reader["n"] == 5
        reader.close()
    finally:
        writer.close()


def test_readonly_open_never_creates_or_heals(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    with pytest.raises(stateview.StateFileMissing):
        stateview.open(path, default={}, readonly=True)
    assert os.listdir(tmp_path) == []
    path.write_text('{"a": ')
    with pytest.raises(stateview.CorruptFile):
        stateview.open(path, readonly=True)
    assert sorted(os.listdir(tmp_path)) == ["state.json"]
