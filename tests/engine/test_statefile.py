# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""StateFile: opening, creating, loading strictly, symlinks, modes, backups, refresh, close."""

from __future__ import annotations

import json
import os
import stat
import threading

import pytest

import stateview
from stateview import CorruptFile, InvalidValue, StateFile, StateFileMissing
from stateview._fs import FileSystem
from stateview._lock import probe

from ._helpers import CountingFS, assert_on_disk, expected_bytes, file_bytes, fingerprint


def test_a_missing_file_is_created_durably_from_the_default(path):
    fs = CountingFS()
    state = StateFile(path, default={"clients": {}}, fs=fs)
    assert file_bytes(path) == expected_bytes({"clients": {}})
    assert fs.names()[-3:] == ["close", "replace", "fsync_dir"]
    assert "fsync" in fs.names()
    assert_on_disk(state, {"clients": {}})


def test_a_list_default_makes_a_list_document(path):
    state = stateview.open(path, default=[1, {"a": 2}])
    state.data.append(3)
    assert_on_disk(state, [1, {"a": 2}, 3])


def test_the_default_is_copied(path):
    default = {"a": [1]}
    state = stateview.open(path, default=default)
    state["a"].append(2)
    assert default == {"a": [1]}


@pytest.mark.parametrize("default", [{"x": float("nan")}, {1: 2}, {"s": {1, 2}}, 5, "text"])
def test_a_bad_default_creates_nothing(path, default):
    with pytest.raises(InvalidValue):
        stateview.open(path, default=default)
    assert os.listdir(path.parent) == []


def test_a_missing_file_without_default_is_an_error(path):
    with pytest.raises(StateFileMissing) as info:
        stateview.open(path)
    assert str(path) in str(info.value) and "default" in str(info.value)
    assert not path.exists()


def test_a_missing_file_without_default_leaves_no_lock_file_it_made(path):
    with pytest.raises(StateFileMissing):
        stateview.open(path)
    assert os.listdir(path.parent) == []


def test_a_missing_file_keeps_a_lock_file_that_was_there_before(path):
    with stateview.open(path, default={"a": 1}):
        pass
    record = (path.parent / (path.name + ".lock")).read_bytes()
    path.unlink()
    with pytest.raises(StateFileMissing):
        stateview.open(path)
    assert (path.parent / (path.name + ".lock")).read_bytes() == record


def test_existing_data_is_never_replaced_by_the_default(path):
    path.write_text('{"mine": [1, 2]}')
    state = stateview.open(path, default={"other": True})
    assert state.snapshot() == {"mine": [1, 2]}
    assert path.read_text() == '{"mine": [1, 2]}'  # opening alone does not rewrite it
    state["x"] = 1
    assert_on_disk(state, {"mine": [1, 2], "x": 1})


@pytest.mark.parametrize(
    ("raw", "line", "column"),
    [(b'{\n  "a": 1,\n  "a": 2\n}\n', 3, 3), (b'{"a": NaN}', 1, 7), (b'{"a": [1,', 1, 10),
     (b"", 1, 1), (b'{"a": "\xff"}', 1, 8)],
)
def test_a_corrupt_file_is_refused_with_position_and_left_untouched(path, raw, line, column):
    path.write_bytes(raw)
    before = fingerprint(path)
    with pytest.raises(CorruptFile) as info:
        stateview.open(path, default={"fresh": True})
    assert (info.value.line, info.value.column) == (line, column)
    assert fingerprint(path) == before
    assert sorted(os.listdir(path.parent)) == ["state.json", "state.json.lock"]


@pytest.mark.parametrize("raw", [b"5", b'"text"', b"null"])
def test_a_scalar_document_is_refused(path, raw):
    path.write_bytes(raw)
    with pytest.raises(stateview.StateError):
        stateview.open(path)
    assert path.read_bytes() == raw


def test_a_symlinked_state_file_stays_a_link_and_its_target_gets_the_data(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "data.json"
    link = tmp_path / "state.json"
    link.symlink_to(os.path.join("real", "data.json"))
    state = stateview.open(link, default={"n": 0}, backups=2)
    for n in range(1, 4):
        state["n"] = n
    assert link.is_symlink() and os.readlink(link) == os.path.join("real", "data.json")
    assert json.loads(target.read_text()) == {"n": 3}
    spare = [".data.json.spare"] if FileSystem.recycles else []
    assert sorted(os.listdir(tmp_path / "real")) == [
        *spare, "data.json", "data.json.bak", "data.json.bak.2", "data.json.lock"]
    assert sorted(os.listdir(tmp_path)) == ["real", "state.json"]
    state.close()  # the last writer to close frees the spare
    assert sorted(os.listdir(tmp_path / "real")) == [
        "data.json", "data.json.bak", "data.json.bak.2", "data.json.lock"]


def test_the_file_mode_is_kept_across_commits(path):
    path.write_text("{}")
    os.chmod(path, 0o600)
    state = stateview.open(path)
    for n in range(3):
        state[str(n)] = n
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path) + ".bak").st_mode) == 0o600


@pytest.mark.parametrize("backups", [0, 1, 3])
def test_backups_hold_the_previous_versions_newest_first(path, backups):
    state = stateview.open(path, default={"v": 0}, backups=backups)
    for v in range(1, 6):
        state["v"] = v
    names = sorted(os.listdir(path.parent))
    expected = ["state.json", "state.json.lock"]
    if FileSystem.recycles:  # the version that fell out, to be overwritten by the next commit
        expected.append(".state.json.spare")
    if backups >= 1:
        expected.append("state.json.bak")
    expected += [f"state.json.bak.{g}" for g in range(2, backups + 1)]
    assert names == sorted(expected)
    for generation in range(1, backups + 1):
        backup = state._paths.backup(generation)
        assert json.loads(file_bytes(backup)) == {"v": 5 - generation}


def test_refresh_picks_up_another_writers_commit_into_the_same_views(target):
    a = stateview.open(target, default={"clients": {"x": {"n": 1}}, "l": [1]})
    clients, x, items = a["clients"], a["clients"]["x"], a["l"]
    b = stateview.open(target)
    b["clients"]["y"] = {"n": 2}
    b["clients"]["x"]["n"] = 5
    b["l"].append(2)
    assert a.refresh() is True
    assert a.refresh() is False
    assert clients is a["clients"] and x is a["clients"]["x"] and items is a["l"]
    assert clients == {"x": {"n": 5}, "y": {"n": 2}} and items == [1, 2]
    clients["z"] = {}  # the views still commit
    assert_on_disk(a)
    b.refresh()
    assert b.snapshot() == a.snapshot()


def test_an_autocommit_first_loads_another_writers_commit(target):
    a = stateview.open(target, default={"a": 0, "b": 0})
    b = stateview.open(target)
    b["b"] = 1
    a["a"] = 1  # must not overwrite b's commit with a's stale copy
    assert_on_disk(a, {"a": 1, "b": 1})


def test_a_file_deleted_behind_the_programs_back_is_written_again(path):
    state = stateview.open(path, default={"a": 1})
    os.unlink(path)
    state["b"] = 2
    assert_on_disk(state, {"a": 1, "b": 2})


def test_close_releases_the_lock_and_is_idempotent(path):
    with stateview.open(path, default={}, exclusive=True) as state:
        assert probe(state._paths.lock).held
    assert not probe(state._paths.lock).held
    state.close()
    assert "closed" in repr(state)


def _in_a_thread(body) -> list[BaseException]:
    """Run ``body`` in a thread of its own; the errors it raised (a hang fails the test)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            body()
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(30)  # only bounds the wait: the call must raise, not wait for itself
    assert not thread.is_alive(), "close() inside the thread's own block waits for ever"
    return errors


@pytest.mark.parametrize("depth", [1, 2])
def test_close_inside_the_threads_own_transaction_raises_and_the_block_rolls_back(path, depth):
    state = stateview.open(path, default={"n": 0})

    def body() -> None:
        with state.transaction() as root:
            root["n"] = 1
            if depth == 2:
                with state.transaction() as inner:
                    inner["m"] = 1
                    state.close()
            else:
                state.close()

    errors = _in_a_thread(body)
    assert len(errors) == 1 and type(errors[0]) is stateview.StateError, errors
    message = str(errors[0])
    assert str(path) in message and "end the `with state.transaction()` block" in message
    assert not state._st.closed and state.snapshot() == {"n": 0}
    state["n"] = 2  # still usable, from any thread
    state.close()
    assert state._st.closed and not probe(state._paths.lock).held
    assert json.loads(path.read_text()) == {"n": 2}


def test_a_block_that_catches_its_refused_close_still_commits(path):
    state = stateview.open(path, default={"n": 0})

    def body() -> None:
        with state.transaction() as root:
            root["n"] = 1
            with pytest.raises(stateview.StateError, match="own transaction"):
                state.close()
            root["n"] += 1
        state.close()  # after the block: closes

    assert _in_a_thread(body) == []
    assert state._st.closed
    assert json.loads(path.read_text()) == {"n": 2}


def test_change_callbacks_hear_local_commits_and_can_unsubscribe(target):
    state = stateview.open(target, default={"a": {"b": 1}})
    events: list[stateview.ChangeEvent] = []
    unsubscribe = state.on_change(events.append, poll=None)
    state["a"]["b"] = 2
    with state.transaction() as root:
        root["c"] = 1
    unsubscribe()
    state["d"] = 1
    assert [e.source for e in events] == ["local", "local"]
    assert events[0].pointers == ["/a/b"]


def test_change_events_name_exactly_what_a_local_commit_or_transaction_changed(target):
    state = stateview.open(target, default={"a": {"b": 1, "k": 0}, "l": [1, 2, 3]})
    events: list[stateview.ChangeEvent] = []
    state.on_change(events.append, poll=None)
    state["a"]["b"] = 2  # a leaf: its own pointer, not its parent's
    state["c"] = 1  # a root key: /c, not the root
    with state.transaction() as root:  # every path the block changed
        root["a"]["k"] = 5
        del root["c"]
        root["l"].pop()
        root["x/y"] = {"z": 1}
    state["a"]["b"] = 2  # no change: no event
    assert [e.pointers for e in events] == [
        ["/a/b"], ["/c"], ["/a/k", "/c", "/l/2", "/x~1y"]]
    state.close()


def test_change_callbacks_hear_other_writers_through_the_watcher(target):
    state = stateview.open(target, default={"a": 1})
    heard = threading.Event()
    seen = []

    def callback(event):
        seen.append(event)
        if event.source == "external":
            heard.set()

    state.on_change(callback, poll=0.02)
    other = stateview.open(target)
    other["a"] = 2
    assert heard.wait(30)
    assert state["a"] == 2
    assert "/a" in seen[-1].pointers
    state.close()


def test_a_failing_callback_does_not_break_the_commit(target, caplog):
    state = stateview.open(target, default={})

    def broken(event):
        raise RuntimeError("boom")

    state.on_change(broken, poll=None)
    state["a"] = 1
    assert_on_disk(state, {"a": 1})
    assert "boom" in caplog.text
