# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""transaction(): one commit at the end, rollback on exception, nesting, fresh reads."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

import stateview
from stateview import CommitFailed, StateFile
from stateview._fs import FileSystem

from ._helpers import (
    CountingFS,
    FaultFS,
    assert_on_disk,
    expected_bytes,
    file_bytes,
    fingerprint,
)
from .test_async_transactions import LIMIT, HeldFsync

START = {"n": 0, "clients": {"a": {"score": 1}}, "log": ["start"]}


class Boom(Exception):
    pass


class SlowDirFS(FileSystem):
    """A directory fsync that takes ``delay`` seconds: a write stays in flight that long."""

    delay = 0.0

    def fsync_dir(self, path: str) -> None:
        time.sleep(self.delay)
        super().fsync_dir(path)


def test_a_transaction_commits_once_at_the_end(path):
    fs = CountingFS()
    state = StateFile(path, default=START, fs=fs)
    before = fs.replaces_onto(str(path))
    with state.transaction() as root:
        assert root is state.data
        root["n"] += 1
        root["clients"]["b"] = {"score": 0}
        root["log"].append("two")
        del root["clients"]["a"]
        assert file_bytes(path) == expected_bytes(START)  # nothing written yet
    assert fs.replaces_onto(str(path)) == before + 1
    assert_on_disk(state, {"n": 1, "clients": {"b": {"score": 0}}, "log": ["start", "two"]})


def test_a_transaction_without_changes_writes_nothing(path):
    state = stateview.open(path, default=START)
    before = fingerprint(path)
    with state.transaction() as root:
        assert root["n"] == 0
    assert fingerprint(path) == before


def test_an_exception_rolls_memory_back_and_views_stay_valid(path):
    state = stateview.open(path, default=START)
    clients, a, log = state["clients"], state["clients"]["a"], state["log"]
    before = fingerprint(path)
    with pytest.raises(Boom), state.transaction() as root:
        root["n"] = 10
        a["score"] = 99
        clients["new"] = {"x": [1]}
        log.clear()
        log.extend(["a", "b"])
        raise Boom
    assert fingerprint(path) == before
    assert_on_disk(state, START)
    assert clients is state["clients"] and a is state["clients"]["a"] and log is state["log"]
    a["score"] = 2
    log.append("after")
    assert_on_disk(state, {"n": 0, "clients": {"a": {"score": 2}}, "log": ["start", "after"]})


def test_a_view_removed_inside_a_rolled_back_transaction_is_valid_again(target):
    state = stateview.open(target, default=START)
    clients, log = state["clients"], state["log"]
    with pytest.raises(Boom), state.transaction() as root:
        clients["a"]["score"] = 99
        root.pop("clients")
        root["log"] = []
        raise Boom
    assert_on_disk(state, START)
    # The program's views must not be left detached, silently showing uncommitted values.
    assert clients is state["clients"] and log is state["log"]
    assert clients == {"a": {"score": 1}}


@pytest.mark.parametrize(
    "shift",
    [lambda rows: rows.insert(0, {"id": "new"}), lambda rows: rows.pop(0),
     lambda rows: rows.reverse(), lambda rows: rows.__delitem__(slice(0, 1))],
    ids=["insert", "pop", "reverse", "slice-delete"],
)
def test_rollback_puts_list_element_views_back(path, shift):
    state = stateview.open(path, default={"rows": [{"id": 0}, {"id": 1}, {"id": 2}]})
    rows = state["rows"]
    held = list(rows)
    with pytest.raises(Boom), state.transaction() as root:
        shift(root["rows"])
        raise Boom
    assert_on_disk(state, {"rows": [{"id": 0}, {"id": 1}, {"id": 2}]})
    assert all(state["rows"][i] is view for i, view in enumerate(held))
    held[1]["x"] = 1  # still part of the document
    assert state["rows"][1] == {"id": 1, "x": 1}


def test_rollback_restores_key_order(path):
    state = stateview.open(path, default={"a": 1, "b": 2, "c": 3})
    with pytest.raises(Boom), state.transaction() as root:
        del root["a"]
        root["a"] = 1
        root.popitem()
        raise Boom
    assert list(state) == ["a", "b", "c"]
    state["d"] = 4
    assert file_bytes(path) == expected_bytes({"a": 1, "b": 2, "c": 3, "d": 4})


def test_a_nested_transaction_that_raises_rolls_back_only_its_block(target):
    state = stateview.open(target, default=START)
    with state.transaction() as root:
        root["n"] = 1
        with pytest.raises(Boom), state.transaction() as inner:
            inner["n"] = 2
            inner["clients"]["a"]["score"] = 50
            inner["log"].append("inner")
            raise Boom
        assert root["n"] == 1 and root["log"] == ["start"]
        root["log"].append("outer")
    assert_on_disk(state, {"n": 1, "clients": {"a": {"score": 1}}, "log": ["start", "outer"]})


def test_an_outer_exception_rolls_back_a_finished_inner_block_too(target):
    state = stateview.open(target, default=START)
    with pytest.raises(Boom), state.transaction() as root:
        with state.transaction() as inner:
            inner["n"] = 5
        root["log"].append("x")
        raise Boom
    assert_on_disk(state, START)


def test_a_failed_commit_rolls_the_transaction_back(path):
    fs = FaultFS()
    state = StateFile(path, default=START, fs=fs)
    before = fingerprint(path)
    fs.armed = "fsync"
    with pytest.raises(CommitFailed), state.transaction() as root:
        root["n"] = 7
    assert fingerprint(path) == before
    assert_on_disk(state, START)
    with state.transaction() as root:
        root["n"] = 8
    assert_on_disk(state, {**START, "n": 8})


def test_a_failed_autocommit_puts_replaced_views_back(path):
    fs = FaultFS()
    state = StateFile(path, default=START, fs=fs)
    clients, log = state["clients"], state["log"]
    fs.armed = "replace"
    with pytest.raises(CommitFailed):
        state["clients"] = {}
    fs.armed = "write_all"
    with pytest.raises(CommitFailed):
        state["log"].pop(0)
    assert_on_disk(state, START)
    assert clients is state["clients"] and log is state["log"]
    clients["a"]["score"] = 3
    assert_on_disk(state, {**START, "clients": {"a": {"score": 3}}})


def test_a_transaction_sees_every_commit_made_before_it(target):
    mine = stateview.open(target, default=START)
    other = stateview.open(target)
    other["n"] = 41
    other["clients"]["z"] = {"score": 0}
    with mine.transaction() as root:
        root["n"] += 1
        assert "z" in root["clients"]
    assert_on_disk(mine, {"n": 42, "clients": {"a": {"score": 1}, "z": {"score": 0}},
                          "log": ["start"]})


def test_other_threads_wait_for_the_block_and_lose_nothing(target):
    state = stateview.open(target, default=START)
    entered, done = threading.Event(), threading.Event()

    def writer():
        entered.wait(30)
        state["log"].append("thread")
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    with state.transaction() as root:
        entered.set()
        assert not done.wait(0.1)  # the thread's mutation waits for the block
        root["n"] = 1
        assert root["log"] == ["start"]
    thread.join(30)
    assert done.is_set()
    assert_on_disk(state, {**START, "n": 1, "log": ["start", "thread"]})


def test_reads_from_other_threads_do_not_wait_for_a_transaction(path):
    state = stateview.open(path, default=START)
    seen = []
    with state.transaction() as root:
        root["n"] = 3
        thread = threading.Thread(target=lambda: seen.append(state["clients"]["a"]["score"]))
        thread.start()
        thread.join(30)
    assert seen == [1]


def test_the_exception_escapes_unchanged(path):
    state = stateview.open(path, default=START)
    error = Boom("mine")
    with pytest.raises(Boom) as info, state.transaction() as root:
        root["n"] = 1
        raise error
    assert info.value is error


def _writing_a_slowly(path):
    """A StateFile writing "a" (its directory fsync takes 0.3 s) in another thread."""
    fs = SlowDirFS()
    state = StateFile(path, default={}, fs=fs)
    fs.delay = 0.3
    first = threading.Thread(target=state.__setitem__, args=("a", 1))
    first.start()
    time.sleep(0.05)  # "a" is being written (slowly)
    return state, fs, first


def _queued_behind_a_slow_write(path):
    """A StateFile writing "a" slowly in one thread while "b" waits in another."""
    state, _, first = _writing_a_slowly(path)
    queued = threading.Thread(target=state.__setitem__, args=("b", 1))
    queued.start()
    time.sleep(0.05)  # "b" waits for that write to end
    return state, first, queued


def test_no_write_carries_an_open_block_of_another_thread(path):
    # A commit queued before the block began must not be written while the block is open:
    # memory then holds the block's unfinished changes, and the write would make them durable
    # even if the block then raises.
    state, first, queued = _queued_behind_a_slow_write(path)
    on_disk_in_block = None
    with pytest.raises(RuntimeError), state.transaction() as root:
        root["x"] = "half a transaction"
        time.sleep(0.6)  # "a" lands meanwhile; "b" must not be written with "x" in memory
        on_disk_in_block = json.loads(path.read_text())
        raise RuntimeError("the block fails")
    first.join()
    queued.join()
    assert "x" not in on_disk_in_block
    assert state.snapshot() == {"a": 1, "b": 1}
    assert json.loads(path.read_text()) == {"a": 1, "b": 1}
    state.close()


def test_refresh_inside_a_block_does_not_wait_for_commits_queued_before_it(path):
    fs = HeldFsync()
    state = StateFile(path, default={}, fs=fs)
    fs.armed = True
    first = threading.Thread(target=state.__setitem__, args=("a", 1))
    first.start()
    assert fs.entered.wait(LIMIT)  # "a" is being written, held in its fsync
    queued = threading.Thread(target=state.__setitem__, args=("b", 1))
    queued.start()
    for _ in range(int(LIMIT / 0.001)):  # bounded: until "b" waits behind that write
        if state._st.pending:
            break
        time.sleep(0.001)
    assert state._st.pending, "the second commit was never queued"
    refreshed, outcome = threading.Event(), []

    def block() -> None:
        with state.transaction() as root:  # "b" cannot be written while the block is open
            # The block holds the lock: nothing to load, and nothing to wait for ("a" is
            # still held in its fsync when refresh() returns).
            outcome.append((state.refresh(), first.is_alive() and not fs.go.is_set()))
            refreshed.set()
            root["c"] = 1

    in_block = threading.Thread(target=block, daemon=True)
    in_block.start()
    try:
        assert refreshed.wait(30), "refresh() inside the block waits"  # only bounds the wait
        assert outcome == [(False, True)]
    finally:
        fs.go.set()
    for thread in (first, queued, in_block):
        thread.join(LIMIT)
        assert not thread.is_alive()
    assert json.loads(path.read_text()) == {"a": 1, "b": 1, "c": 1}
    state.close()


def test_an_interrupted_leader_fails_its_batch_and_close_still_returns(path):
    class Interrupting(FileSystem):
        armed = False

        def fsync_dir(self, path: str) -> None:
            if self.armed:
                self.armed = False
                raise KeyboardInterrupt
            super().fsync_dir(path)

    fs = Interrupting()
    state = StateFile(path, default={"n": 0}, fs=fs)
    fs.armed = True
    with pytest.raises(KeyboardInterrupt):
        state["n"] = 1
    state["n"] = 2  # the StateFile still works
    state.close()  # and closes: nothing is left marked as in flight
    assert json.loads(path.read_text()) == {"n": 2}


@pytest.fixture
def ctrl_c_raises():
    """SIGINT raises KeyboardInterrupt here even when the suite was started in a shell's
    background, which ignores it (then ``_thread.interrupt_main`` does nothing)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_a_commit_whose_thread_was_interrupted_while_waiting_is_still_written(
        path, ctrl_c_raises):
    # Ctrl-C lands in the main thread while its commit waits behind another thread's write:
    # the change is in memory, so it is written anyway (by the keeper, or close()).
    import _thread

    state, fs, writer = _writing_a_slowly(path)
    threading.Timer(0.05, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        state["b"] = 1  # queued behind the slow write of "a"
    writer.join()
    fs.delay = 0.0
    deadline = time.monotonic() + 10
    while json.loads(path.read_text()) != {"a": 1, "b": 1}:
        assert time.monotonic() < deadline, json.loads(path.read_text())
        time.sleep(0.01)
    closing = threading.Thread(target=state.close, daemon=True)
    closing.start()
    closing.join(10)
    assert not closing.is_alive(), "close() hangs"
    assert not stateview._lock.probe(str(path) + ".lock").held


def test_an_interrupted_write_leaves_memory_and_file_alike_and_no_temp_file(path):
    class Interrupting(FileSystem):
        step = ""

        def _maybe(self, step: str) -> None:
            if self.step == step:
                self.step = ""
                raise KeyboardInterrupt

        def write_all(self, fd: int, data: bytes) -> None:
            self._maybe("write")
            super().write_all(fd, data)

        def fsync_dir(self, path: str) -> None:
            self._maybe("fsync_dir")
            super().fsync_dir(path)

    fs = Interrupting()
    state = StateFile(path, default={"n": 0}, backups=0, fs=fs)  # no spare: new temp files
    for step in ("write", "fsync_dir"):
        fs.step = step
        with pytest.raises(KeyboardInterrupt):
            state["n"] = 1
        assert state.snapshot() == json.loads(path.read_text()) == {"n": 0}, step
        assert [n for n in os.listdir(path.parent) if n.endswith(".tmp")] == [], step
        state["m"] = 1  # works at once, and what is on disk stays what memory says
        assert state.snapshot() == json.loads(path.read_text()) == {"n": 0, "m": 1}
        del state["m"]
    state.close()


def test_a_change_callback_may_change_the_document(path):
    state = StateFile(path, default={"n": 0, "seen": 0})

    def count(event: stateview.ChangeEvent) -> None:
        if state["seen"] < state["n"]:
            state["seen"] = state["n"]  # would deadlock if callbacks ran under the mutex

    state.on_change(count, poll=None)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (state.__setitem__("n", 1), done.set()))
    worker.start()
    assert done.wait(10), "a callback that commits deadlocked"
    worker.join()
    assert json.loads(path.read_text()) == {"n": 1, "seen": 1}
    state.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_inside_a_block_does_not_commit_it(path):
    state = StateFile(path, default={"a": 0})
    pid = -1
    try:
        with state.transaction() as root:
            root["a"] = 1
            pid = os.fork()
            if pid == 0:
                root["c"] = 1  # the block goes on in the child, and ends below
            else:
                _, status = os.waitpid(pid, 0)
                raise Boom  # the parent's block rolls back
    except stateview.StateError as e:
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            os._exit(0 if "forked inside the transaction" in str(e) else 2)
        raise
    except Boom:
        pass
    if pid == 0:  # pragma: no cover - the block ended without an error: a defect
        os._exit(3)
    assert os.waitstatus_to_exitcode(status) == 0
    assert json.loads(path.read_text()) == {"a": 0}
    state.close()


def test_a_commit_an_interrupted_thread_left_is_written_by_the_leader_never_the_keeper(
        path, ctrl_c_raises):
    import _thread

    state, _, writer = _writing_a_slowly(path)
    ran_in: list[str] = []
    state.on_change(lambda event: ran_in.append(threading.current_thread().name), poll=None)
    threading.Timer(0.05, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        state["b"] = 1  # queued behind the slow write of "a"; its thread gives up waiting
    writer.join()  # the leader of "a" writes "b" too, before it returns
    assert json.loads(path.read_text()) == {"a": 1, "b": 1}
    assert ran_in and "stateview-lock-keeper" not in ran_in
    state.close()
