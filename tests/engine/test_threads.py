# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""Threads: concurrent autocommits (group commit) and transactions in one process."""

from __future__ import annotations

import threading

import stateview
from stateview import StateFile

from ._helpers import DEEP, CountingFS, assert_on_disk

THREADS = 8
PER_THREAD = 200 if DEEP else 40


def _run_threads(target, count=THREADS):
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def wrapped(i):
        try:
            barrier.wait(30)
            target(i)
        except BaseException as e:  # reported below: a thread's failure must fail the test
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_eight_threads_autocommit_own_keys_all_durable(target):
    state = stateview.open(target, default={"t": {}})
    for i in range(THREADS):
        state["t"][str(i)] = {}

    def work(i):
        mine = state["t"][str(i)]
        for j in range(PER_THREAD):
            mine[str(j)] = j

    _run_threads(work)
    expected = {"t": {str(i): {str(j): j for j in range(PER_THREAD)} for i in range(THREADS)}}
    assert_on_disk(state, expected)


def test_threads_incrementing_one_counter_in_transactions_get_the_exact_total(target):
    state = stateview.open(target, default={"counter": 0})

    def work(i):
        for _ in range(PER_THREAD // 2):
            with state.transaction() as root:
                root["counter"] = root["counter"] + 1

    _run_threads(work)
    assert_on_disk(state, {"counter": THREADS * (PER_THREAD // 2)})


def test_mixed_threads_appending_and_transacting_lose_nothing(target):
    state = stateview.open(target, default={"log": [], "counter": 0})

    def work(i):
        for j in range(PER_THREAD // 2):
            if i % 2:
                state["log"].append(f"{i}-{j}")
            else:
                with state.transaction() as root:
                    root["counter"] += 1
                    root["log"].append(f"{i}-{j}")

    _run_threads(work)
    snap = state.snapshot()
    assert snap["counter"] == (THREADS // 2) * (PER_THREAD // 2)
    assert sorted(snap["log"]) == sorted(f"{i}-{j}" for i in range(THREADS)
                                         for j in range(PER_THREAD // 2))
    assert_on_disk(state)


def test_two_state_files_on_one_path_in_threads_lose_nothing(target):
    first = stateview.open(target, default={"counter": 0})
    second = stateview.open(target)
    files = [first, second]

    def work(i):
        state = files[i % 2]
        for _ in range(PER_THREAD // 4):
            with state.transaction() as root:
                root["counter"] += 1

    _run_threads(work)
    first.refresh()
    assert_on_disk(first, {"counter": THREADS * (PER_THREAD // 4)})


def test_concurrent_autocommits_share_writes(path):
    """Group commit: while one write is being synced, the others' changes queue for the next.

    A slow fsync (a real disk's cost, made visible) lets every thread queue behind the write in
    flight, so eight threads make far fewer writes than mutations. Each caller still returned
    only after its own change was durable: the file holds everything.
    """
    fs = CountingFS(fsync_delay=0.01)
    state = StateFile(path, default={"t": {}}, fs=fs)
    per_thread = 10
    for i in range(THREADS):
        state["t"][str(i)] = {}
    writes_before = fs.replaces_onto(str(path))

    def work(i):
        mine = state["t"][str(i)]
        for j in range(per_thread):
            mine[str(j)] = j

    _run_threads(work)
    writes = fs.replaces_onto(str(path)) - writes_before
    mutations = THREADS * per_thread
    print(f"group commit: {mutations} mutations from {THREADS} threads in {writes} writes")
    assert 1 <= writes < mutations
    assert_on_disk(state)
