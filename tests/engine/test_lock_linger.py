"""The lock lingers a moment after a commit, for the next one, and is then let go.

A program that commits again within the linger skips the lock file round trip and the
freshness check (no one else can have committed). Other writers must still get in promptly,
a forked child must not inherit the hold, and a program that exits without ``close()`` must
not leave the lock file naming a dead holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time

import pytest

import stateview
from stateview._fs import FileSystem
from stateview._lock import probe


class CountingFlocks(FileSystem):
    """The real file system, counting the exclusive ``flock`` calls on lock files."""

    def __init__(self) -> None:
        self.taken = 0

    def flock(self, fd: int, operation: int) -> None:
        if operation & fcntl.LOCK_EX:
            self.taken += 1
        super().flock(fd, operation)


def wait_released(state: stateview.StateFile, limit: float = 30.0) -> None:
    """Wait until ``state`` lets go of the lock; ``limit`` only bounds the wait."""
    deadline = time.monotonic() + limit
    while state._st.lock_held:
        assert time.monotonic() < deadline, "the lock was never let go"
        time.sleep(0.001)


def test_commits_in_a_row_keep_the_lock_and_it_is_let_go_when_idle(tmp_path):
    path = tmp_path / "state.json"
    fs = CountingFlocks()
    state = stateview.StateFile(path, default={"n": 0}, fs=fs)
    before = fs.taken
    for n in range(20):
        state["n"] = n
    taken = fs.taken - before
    # Each commit would take the lock afresh without the linger; a busy machine may still
    # keep this thread away longer than the linger now and then.
    assert 1 <= taken <= 10, f"{taken} acquisitions for 20 back-to-back commits"
    assert probe(state._paths.lock).held
    wait_released(state)
    assert not probe(state._paths.lock).held
    info = json.loads((tmp_path / "state.json.lock").read_text())
    assert info["held"] is False and info["last_commit"]["pid"] == os.getpid()
    state.close()


def test_another_process_commits_while_this_one_is_idle(tmp_path):
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0})
    state["n"] = 1
    run = subprocess.run([sys.executable, "-m", "stateview", "set", str(path), "/n", "2"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    state["m"] = 3  # takes the lock again, so it reloads first: the other commit is kept
    assert state.snapshot() == {"n": 2, "m": 3}
    assert json.loads(path.read_text()) == {"n": 2, "m": 3}
    state.close()


def test_the_token_of_every_commit_is_in_the_lock_file_while_the_lock_is_held(tmp_path):
    # A process killed during the linger releases the lock through the kernel: the other
    # writers' freshness check then reads the token from the file, so it must be current.
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0})
    for n in range(3):
        state["n"] = n
        token = json.loads((tmp_path / "state.json.lock").read_text())["last_commit"]["token"]
        assert token == state._st.disk[1]
    state.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_takes_the_lock_itself(tmp_path):
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0})
    state["n"] = 1  # the lock lingers in the parent
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            if state._st.lock_held:  # the parent's hold, shared through the inherited descriptor
                os._exit(3)
            state["child"] = True
            code = 0 if json.loads(path.read_text())["child"] is True else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    wait_released(state)
    state["n"] = 2  # fresh acquisition: the child's commit is loaded, not overwritten
    assert json.loads(path.read_text()) == {"n": 2, "child": True}
    state.close()


@pytest.mark.parametrize("exclusive", [False, True])
def test_a_program_that_exits_without_close_leaves_no_holder_named(tmp_path, exclusive):
    path = tmp_path / "state.json"
    code = ("import stateview, sys\n"
            f"s = stateview.open(sys.argv[1], default={{}}, exclusive={exclusive})\n"
            "for i in range(5): s['n'] = i\n")
    run = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lock = probe(str(path) + ".lock")
    assert not lock.held and not lock.stale, lock
    check = subprocess.run([sys.executable, "-m", "stateview", "check", str(path)],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_unclosed_state_files_leak_neither_threads_nor_memory(tmp_path):
    import gc
    import threading
    import weakref

    path = tmp_path / "state.json"
    threads = threading.active_count()
    refs = []
    for n in range(50):
        state = stateview.open(path, default={"n": 0})
        state["n"] = n
        refs.append(weakref.ref(state))
        del state
    deadline = time.monotonic() + 10
    while any(r() is not None for r in refs) and time.monotonic() < deadline:
        time.sleep(0.01)  # each lock is let go after its linger
        gc.collect()
    assert sum(r() is not None for r in refs) == 0
    assert threading.active_count() <= threads + 1  # one keeper thread for the process


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_a_commit_is_in_flight_starts_clean(tmp_path):
    import threading

    class SlowDirFS(FileSystem):
        delay = 0.0

        def fsync_dir(self, path: str) -> None:
            time.sleep(self.delay)
            super().fsync_dir(path)

    path = tmp_path / "state.json"
    fs = SlowDirFS()
    state = stateview.StateFile(path, default={}, fs=fs)
    fs.delay = 0.5
    writer = threading.Thread(target=state.__setitem__, args=("parent", 1))
    writer.start()
    time.sleep(0.1)  # the parent's commit is in flight
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        code = 1
        try:
            import signal
            signal.alarm(20)  # a hang ends the child instead of the test run
            fs.delay = 0.0
            if "parent" in state.snapshot():  # not durable when forked: not the child's
                os._exit(3)
            state["child"] = 1
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    writer.join()
    assert os.waitstatus_to_exitcode(status) == 0
    state.close()


def test_a_slow_change_callback_does_not_hold_up_other_files_locks(tmp_path):
    import threading

    inside, leave = threading.Event(), threading.Event()

    def slow_callback(event: stateview.ChangeEvent) -> None:
        inside.set()
        leave.wait(60)  # bounded: the test lets it go once both locks were let go

    slow = stateview.open(tmp_path / "a.json", default={"n": 0})
    slow.on_change(slow_callback, poll=None)
    other = stateview.open(tmp_path / "b.json", default={"n": 0})
    writer = threading.Thread(target=slow.__setitem__, args=("n", 1))
    writer.start()
    try:
        assert inside.wait(30), "the change callback never ran"
        other["n"] = 1
        # Both are let go while a's callback still runs: the keeper is not stuck behind it,
        # and callbacks run without the StateFile's mutex.
        wait_released(other)
        wait_released(slow)
        assert writer.is_alive() and not leave.is_set()
    finally:
        leave.set()
        writer.join(30)
    assert not writer.is_alive()
    slow.close()
    other.close()


def test_a_killed_parent_frees_the_lock_although_its_child_lives_on(tmp_path):
    # A forked child must not keep the parent's lock descriptor: the lock would outlive the
    # parent as long as the child runs.
    path = tmp_path / "state.json"
    code = ("import os, sys, time, stateview\n"
            "s = stateview.open(sys.argv[1], default={}, exclusive=True)\n"
            "s['n'] = 1\n"
            "if os.fork() == 0:\n"
            "    time.sleep(30)\n"
            "    os._exit(0)\n"
            "print('ready', flush=True)\n"
            "time.sleep(30)\n")
    parent = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
        parent.kill()
        parent.wait(timeout=30)
        run = subprocess.run([sys.executable, "-m", "stateview", "set", str(path), "/n", "2"],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, 9)  # the child too
        parent.communicate(timeout=30)
