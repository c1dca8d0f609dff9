"""FileStore: the file engine behind the Store protocol (load, lock, commit, watch)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

import stateview
from stateview._file_store import FileStore
from stateview._paths import StatePaths
from stateview._store import Store, VersionConflict

from ._helpers import stateview_cli


def _store(path: Path, doc: object = None) -> FileStore:
    if doc is not None:
        path.write_text(json.dumps(doc, indent=2) + "\n")
    return FileStore(StatePaths.of(path))


def test_a_file_store_is_a_store_and_loads_bytes_only_for_a_version_it_was_not_given(tmp_path):
    store = _store(tmp_path / "s.json", {"n": 1})
    assert isinstance(store, Store)
    first = store.load()
    assert first.version is not None and json.loads(first.data or b"") == {"n": 1}
    assert store.load(first.version).data is None  # known: no bytes read
    assert _store(tmp_path / "missing.json").load().version is None


def test_a_commit_against_the_version_read_lands_and_one_against_a_stale_version_conflicts(
        tmp_path):
    path = tmp_path / "s.json"
    store = _store(path, {"n": 1})
    read = store.load().version
    new = store.commit(b'{\n  "n": 2\n}\n', read)
    assert json.loads(path.read_text()) == {"n": 2} and new != read
    # Another process commits in between: a commit made against what was read must not land.
    done = stateview_cli("set", str(path), "/n", "3")
    assert done.returncode == 0, done.stderr
    with pytest.raises(VersionConflict) as info:
        store.commit(b'{\n  "n": 4\n}\n', new)
    assert info.value.writer is not None and info.value.writer.pid is not None
    assert json.loads(path.read_text()) == {"n": 3}
    assert not store.file_lock.held_by(store)  # the conflict let the lock go


def test_lock_returns_the_newest_version_and_holds_off_a_stateview_writer(tmp_path):
    path = tmp_path / "s.json"
    store = _store(path, {"n": 1})
    stale = store.load().version
    assert stateview_cli("set", str(path), "/n", "2").returncode == 0
    snap = store.lock(5.0, stale)
    try:
        assert json.loads(snap.data or b"") == {"n": 2}
        refused = stateview_cli("set", "--timeout", "0.2", str(path), "/n", "9")
        assert refused.returncode != 0
    finally:
        store.unlock()
    assert json.loads(path.read_text()) == {"n": 2}


def test_watch_reports_another_writers_commit_and_stops_when_unsubscribed(tmp_path):
    path = tmp_path / "s.json"
    store = _store(path, {"n": 1})
    seen: list[object] = []
    got = threading.Event()

    def callback(version: object) -> None:
        seen.append(version)
        got.set()

    stop = store.watch(callback, poll=0.02)
    with stateview.open(path) as state:
        state["n"] = 2
    assert got.wait(10), "no call for another writer's commit"
    assert seen[-1] == store.load().version
    stop()
    count = len(seen)
    with stateview.open(path) as state:
        state["n"] = 3
    time.sleep(0.1)
    assert len(seen) == count
    store.close()


def test_history_lists_the_kept_backups_newest_first(tmp_path):
    path = tmp_path / "s.json"
    with stateview.open(path, default={"n": 0}, backups=2) as state:
        state["n"] = 1
        state["n"] = 2
    store = FileStore(StatePaths.of(path), backups=2)
    assert [json.loads(s.data or b"")["n"] for s in store.history()] == [1, 0]


def test_describe_says_which_version_the_file_is_and_keeps_its_size_with_the_details(tmp_path):
    path = tmp_path / "s.json"
    missing = _store(path).describe()
    assert missing.version is None and "size" not in missing.details
    store = _store(path, {"n": 1})
    first = store.describe()
    st = path.stat()
    assert first.version is not None and f"(inode {st.st_ino})" in first.version
    assert "bytes" not in first.version and first.details["size"] == st.st_size
    # A commit of the same size is another version, and describe says so.
    assert stateview_cli("set", str(path), "/n", "2").returncode == 0
    second = store.describe()
    assert second.version != first.version
    assert second.details["size"] == path.stat().st_size == st.st_size
    token = json.loads((tmp_path / "s.json.lock").read_text())["last_commit"]["token"]
    assert second.details["last_commit"] == token
    assert second.last_writer is not None and second.last_writer.pid is not None
