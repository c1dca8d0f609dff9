# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""Behaviour across processes, on a state file and on a PostgreSQL document alike."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import stateview
from stateview import StateError

from ._helpers import CHILD, assert_on_disk

PROCESSES = 4
TRANSACTIONS = 200


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
