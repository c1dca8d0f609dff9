# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""Behaviour across processes, on a state file and on a PostgreSQL document alike."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

import stateview
from stateview import StateError, _group_commit

from ._helpers import CHILD, assert_on_disk

PROCESSES = 4
TRANSACTIONS = 200
LIMIT = 60.0  # seconds a wait may last before the test counts it as hung


def test_four_processes_of_200_transactions_each_lose_no_update(target):
    with stateview.open(target, default={"counter": 0}):
        pass
    children = [subprocess.Popen([sys.executable, CHILD, "incr", target, str(TRANSACTIONS)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(PROCESSES)]
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0 and out.strip() == "ok", err
    with stateview.open(target) as state:
        assert_on_disk(state, {"counter": PROCESSES * TRANSACTIONS})


def test_on_change_hears_a_commit_another_process_made(target):
    state = stateview.open(target, default={"other": {}})
    heard = threading.Event()
    events = []

    def callback(event):
        events.append(event)
        if event.source == "external":
            heard.set()

    state.on_change(callback, poll=0.02)
    done = subprocess.run([sys.executable, CHILD, "autocommit", target, "p", "1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert heard.wait(30), "no change event for the other process's commit"
    assert state["other"] == {"p0": 0}
    assert "/other/p0" in events[-1].pointers
    state.close()


def test_a_readonly_handle_follows_the_writers_and_refuses_every_change(target):
    writer = stateview.open(target, default={"n": 0})
    reader = stateview.open(target, readonly=True)
    writer["n"] = 1
    assert reader.refresh() and reader["n"] == 1
    with pytest.raises(StateError, match="readonly=True"):
        reader["n"] = 2
    writer.close()
    reader.close()


def test_a_missing_document_without_a_default_is_an_error_that_creates_nothing(target):
    with pytest.raises(stateview.StateFileMissing):
        stateview.open(target)
    with pytest.raises(stateview.StateFileMissing):
        stateview.open(target, readonly=True)


APPENDS = 100


def test_four_processes_appending_by_autocommit_lose_no_update(target):
    """On PostgreSQL an autocommit is made against the version memory holds, without the
    lock: one that another process beat is replayed under the lock, never lost or doubled."""
    with stateview.open(target, default={"log": []}):
        pass
    children = [subprocess.Popen([sys.executable, CHILD, "append", target, f"p{n}-",
                                  str(APPENDS)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for n in range(PROCESSES)]
    replays = 0
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err
        replays += json.loads(out)["replays"]
    with stateview.open(target) as state:
        log = list(state["log"])
    assert sorted(log) == sorted(f"p{n}-{i}" for n in range(PROCESSES) for i in range(APPENDS))
    for n in range(PROCESSES):  # each process's appends in the order it made them
        mine = [item for item in log if item.startswith(f"p{n}-")]
        assert mine == [f"p{n}-{i}" for i in range(APPENDS)]
    if target.startswith("postgresql:"):
        assert replays > 0, "four processes never met: the replay was not exercised"
    else:
        assert replays == 0  # a file's commit is always made under the lock


def _other_process_sets(target, key, value):
    done = subprocess.run([sys.executable, CHILD, "commit", target, key, json.dumps(value)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_mutation_acts_on_what_another_process_committed_since_it_last_looked(
        target, monkeypatch):
    """Each mutation below is made while memory still holds an older version than the one
    another process just committed: it lands on the newer one, as if it had waited for it
    (a list method reads the list only once the lock is held; on PostgreSQL, the attempt
    made without the lock is replayed under it, every time here)."""
    monkeypatch.setattr(_group_commit, "_MAX_LOCKED_RUN", 0)
    state = stateview.open(target, default={"log": ["x"], "k": {}})
    log = state["log"]
    locks = _count_locks(state, monkeypatch)

    _other_process_sets(target, "log", ["x", "b"])
    log.append("a")
    assert log == ["x", "b", "a"] and state["log"] is log  # the view held stays valid

    _other_process_sets(target, "k", {"s": "theirs"})
    assert state["k"].setdefault("s", "mine") == "theirs"

    _other_process_sets(target, "z", 1)
    del state["z"]  # memory had no "z": the store's version decides

    _other_process_sets(target, "log", ["c", "a", "b"])
    log.sort()
    assert log == ["a", "b", "c"]

    expected = {"log": ["a", "b", "c"], "k": {"s": "theirs"}}
    assert_on_disk(state, expected)
    if target.startswith("postgresql:"):
        assert len(locks) == 4  # one replay each
        state["k"]["t"] = 1  # no one else wrote: no lock
        assert len(locks) == 4
    state.close()


def _count_locks(state, monkeypatch):
    """The store's lock() calls (it still runs: this only counts)."""
    calls = []
    lock = state._store.lock

    def counted(*args, **kwargs):
        calls.append(args)
        return lock(*args, **kwargs)

    monkeypatch.setattr(state._store, "lock", counted)
    return calls


def test_a_transaction_begins_while_other_threads_autocommit_without_pause(target):
    """On PostgreSQL the other threads' autocommits go without the lock, and a transaction
    waits for those queued to be written: new ones must not keep joining them meanwhile, or
    the transaction never begins (it waited for ever here)."""
    state = stateview.open(target, default={"t": 0})
    stop = threading.Event()

    def autocommit(n):
        while not stop.is_set():
            state[f"k{n}"] = state.get(f"k{n}", 0) + 1

    threads = [threading.Thread(target=autocommit, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    done = threading.Event()

    def transactions():
        for _ in range(5):
            with state.transaction() as root:
                root["t"] += 1
        done.set()

    try:
        while not any(key.startswith("k") for key in state.snapshot()):
            pass  # the autocommits are under way
        threading.Thread(target=transactions, daemon=True).start()
        assert done.wait(LIMIT), "the transaction never began"  # only bounds the wait
    finally:
        stop.set()
        for thread in threads:
            thread.join(LIMIT)
    assert state["t"] == 5
    state.close()


def _interrupted_before_it_waits(state, key, value):
    """Set ``key`` in a thread that KeyboardInterrupt stops right after the commit is queued,
    before the thread counts as waiting for it (a Ctrl-C landing there): a commit no thread
    waits for."""
    from stateview import _group_commit as group_commit

    def tracer(frame, event, arg):
        if event == "call" and frame.f_code is group_commit.GroupCommit._await.__code__:
            return interrupt
        return None

    def interrupt(frame, event, arg):
        raise KeyboardInterrupt

    outcome = []

    def run():
        sys.settrace(tracer)
        try:
            state[key] = value
        except KeyboardInterrupt:
            outcome.append("interrupted")
        finally:
            sys.settrace(None)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(LIMIT)
    assert outcome == ["interrupted"]


def test_a_commit_whose_thread_was_interrupted_does_not_keep_a_transaction_waiting(target):
    """On PostgreSQL a transaction waits for the commits queued without the lock to be
    written: one whose thread was interrupted has no one to write it, and the transaction
    writes it rather than wait for ever."""
    state = stateview.open(target, default={"t": 0})
    _interrupted_before_it_waits(state, "a", 1)
    done = threading.Event()

    def transaction():
        with state.transaction() as root:
            root["t"] += 1
        done.set()

    threading.Thread(target=transaction, daemon=True).start()
    assert done.wait(LIMIT), "the transaction waits for ever"  # only bounds the wait
    assert_on_disk(state, {"t": 1, "a": 1})
    state.close()


@pytest.mark.parametrize("call", ["refresh", "close"])
def test_refresh_and_close_return_while_other_threads_autocommit_without_pause(target, call):
    """``refresh()`` and ``close()`` wait for the commits under way: new ones wait for them
    meanwhile, or a stream of autocommits from other threads (on PostgreSQL, each joining the
    queue without the lock) would keep them waiting for ever."""
    state = stateview.open(target, default={})
    stop = threading.Event()

    def autocommit(n):
        try:
            while not stop.is_set():
                state[f"k{n}"] = state.get(f"k{n}", 0) + 1
        except stateview.Closed:
            pass  # close() returned

    threads = [threading.Thread(target=autocommit, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    done = threading.Event()

    def run():
        getattr(state, call)()
        done.set()

    try:
        while not state.snapshot():
            pass  # the autocommits are under way
        threading.Thread(target=run, daemon=True).start()
        assert done.wait(LIMIT), f"{call}() never returned"  # only bounds the wait
    finally:
        stop.set()
        for thread in threads:
            thread.join(LIMIT)
    state.close()

