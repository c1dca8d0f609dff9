# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""stateview._lock: the permanent flock'd lock file, its holder record, and probing it."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading

import pytest

import stateview
from stateview import LockTimeout
from stateview._fs import FileSystem
from stateview._lock import pid_alive, probe, process_lock, read_info

from ._helpers import child, wait_for_file


def test_the_lock_file_records_its_holder_and_is_never_unlinked(path):
    lock_path = str(path) + ".lock"
    lock = process_lock(lock_path)
    owner = object()
    lock.acquire(owner, timeout=1)
    info = read_info(lock_path)
    assert info["pid"] == os.getpid()
    assert info["host"] == socket.gethostname()
    assert info["held"] is True and info["exclusive"] is False
    assert info["program"] and info["since"].endswith("Z")
    inode = os.stat(lock_path).st_ino
    lock.release(owner)
    assert read_info(lock_path)["held"] is False
    assert os.stat(lock_path).st_ino == inode


def test_a_state_file_keeps_its_lock_file_after_close(path):
    with stateview.open(path, default={}) as state:
        state["a"] = 1
    assert os.path.exists(str(path) + ".lock")
    info = read_info(str(path) + ".lock")
    assert info["held"] is False
    assert info["last_commit"]["pid"] == os.getpid()
    assert isinstance(info["last_commit"]["token"], str)


def test_the_lock_is_reentrant_for_its_owner(path):
    lock = process_lock(str(path) + ".lock")
    owner = object()
    lock.acquire(owner, timeout=1)
    lock.acquire(owner, timeout=1)
    lock.release(owner)
    assert probe(lock.path).held
    lock.release(owner)
    assert not probe(lock.path).held


def test_one_process_lock_per_file(path):
    assert process_lock(str(path) + ".lock") is process_lock(str(path) + ".lock")


def test_another_owner_in_the_process_times_out_naming_the_holder(path):
    lock = process_lock(str(path) + ".lock")
    first, second = object(), object()
    lock.acquire(first, timeout=1, exclusive=True)
    try:
        with pytest.raises(LockTimeout) as info:
            lock.acquire(second, timeout=0.05)
        assert info.value.holder["pid"] == os.getpid()
        assert f"pid {os.getpid()}" in str(info.value)
        assert "exclusively" in str(info.value)
    finally:
        lock.release(first)


def test_a_waiting_thread_gets_the_lock_when_it_is_released(path):
    lock = process_lock(str(path) + ".lock")
    first, second = object(), object()
    lock.acquire(first, timeout=1)
    got = threading.Event()

    def take() -> None:
        lock.acquire(second, timeout=30)
        got.set()
        lock.release(second)

    thread = threading.Thread(target=take)
    thread.start()
    assert not got.wait(0.05)  # still held by the first owner
    lock.release(first)
    thread.join(30)
    assert got.is_set()


def test_release_by_a_stranger_is_refused(path):
    lock = process_lock(str(path) + ".lock")
    owner = object()
    lock.acquire(owner, timeout=1)
    try:
        with pytest.raises(RuntimeError):
            lock.release(object())
    finally:
        lock.release(owner)


def test_probe_of_a_lock_nobody_ever_took(path):
    state = probe(str(path) + ".lock")
    assert (state.held, state.stale, state.holder) == (False, False, {})


def test_pid_alive():
    assert pid_alive(os.getpid())
    proc = child("commit", "/nonexistent/x.json", "a", "1")
    proc.communicate(timeout=60)
    assert not pid_alive(proc.pid)


@pytest.mark.parametrize("exclusive", ["1", "0"], ids=["exclusive", "in-transaction"])
def test_another_process_holding_the_lock_is_named_and_sigkill_frees_it(path, tmp_path,
                                                                        exclusive):
    ready = tmp_path / "ready"
    proc = child("hold", str(path), str(ready), exclusive)
    try:
        wait_for_file(ready, proc)
        lock_path = str(path) + ".lock"
        seen = probe(lock_path)
        assert seen.held and not seen.stale
        assert seen.holder["pid"] == proc.pid
        assert seen.holder["exclusive"] is (exclusive == "1")
        with pytest.raises(LockTimeout) as info:
            stateview.open(path, lock_timeout=0.2)
        assert info.value.holder["pid"] == proc.pid
        assert f"pid {proc.pid}" in str(info.value)
        assert "_child.py hold" in str(info.value)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    # The kernel dropped the flock with the process: no waiting, no cleanup needed.
    after = probe(str(path) + ".lock")
    assert not after.held and after.stale and after.holder["pid"] == proc.pid
    with stateview.open(path, lock_timeout=0.5) as state:
        # The killed transaction never committed; the exclusive holder had nothing to commit.
        assert state.snapshot() == {"counter": 0}
        state["after"] = True
    assert not probe(str(path) + ".lock").stale


def test_the_lock_file_names_a_commit_before_the_file_shows_it(path):
    """Whoever sees a new version and then reads the lock file (the UI naming its writer,
    another writer's freshness check) finds that commit named, never the one before."""
    seen: list[tuple[bytes, object]] = []

    class Watching(FileSystem):
        def replace(self, src: str, dst: str) -> None:
            if dst == str(path):
                with open(src, "rb") as f:
                    seen.append((f.read(), read_info(str(path) + ".lock").get("last_commit", {})))
            super().replace(src, dst)

    with stateview.StateFile(path, default={}, fs=Watching()) as state:
        state["a"] = 1
        first_token = read_info(str(path) + ".lock")["last_commit"]["token"]
        state["a"] = 2
    # The first rename creates the file from the default; the two commits follow it.
    assert [json.loads(data) for data, _ in seen] == [{}, {"a": 1}, {"a": 2}]
    tokens = [last.get("token") for _, last in seen[1:]]
    assert tokens[0] == first_token and tokens[1] not in (None, first_token)
    assert all(last.get("pid") == os.getpid() for _, last in seen[1:])
