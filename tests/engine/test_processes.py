# mypy: allow-untyped-defs, allow-untyped-calls, allow-any-generics
"""Real processes: transactions, autocommits, `stateview set`/`delete` and a reader, at once."""

from __future__ import annotations

import json
import signal
import time

import pytest

import stateview

from ._helpers import DEEP, assert_on_disk, child, finish, stateview_cli, wait_for_file

PROCESSES = 3
INCREMENTS = 200 if DEEP else 50
CLI_SETS = 10 if DEEP else 4


def test_processes_threads_and_the_cli_lose_no_update_and_readers_never_see_a_torn_file(
        path, tmp_path):
    state = stateview.open(path, default={"counter": 0, "other": {}})
    other = state["other"]
    stop = tmp_path / "stop"
    reader = child("reader", str(path), str(stop))
    writers = [child("incr", str(path), str(INCREMENTS)) for _ in range(PROCESSES)]
    writers.append(child("autocommit", str(path), "auto", str(INCREMENTS)))
    cli_failures = []
    rounds = 0
    deadline = time.monotonic() + 60
    # `stateview set` and `delete` from the shell, in a loop for as long as the writers run
    # (at least CLI_SETS rounds, at most 100 or a minute).
    while rounds < 100 and time.monotonic() < deadline and (
            rounds < CLI_SETS or any(w.poll() is None for w in writers)):
        n = rounds
        for args in (["set", str(path), f"/other/cli{n}", json.dumps({"n": n})],
                     ["set", str(path), f"/other/gone{n}", "true"],
                     ["delete", str(path), f"/other/gone{n}"]):
            result = stateview_cli(*args, "--timeout", "60")
            if result.returncode != 0:
                cli_failures.append((args, result.returncode, result.stderr))
        rounds += 1
    for writer in writers:
        finish(writer)
    stop.touch()
    seen = json.loads(finish(reader))

    assert cli_failures == []
    assert seen["bad"] == 0, seen["problems"]
    assert seen["reads"] > 0
    print(f"reader parsed the file {seen['reads']} times, never torn; {rounds} CLI rounds")
    state.refresh()
    assert other is state["other"]  # the parent's view took in every other process's commit
    expected_other: dict[str, object] = {f"auto{i}": i for i in range(INCREMENTS)}
    expected_other.update({f"cli{n}": {"n": n} for n in range(rounds)})
    assert state["counter"] == PROCESSES * INCREMENTS
    assert dict(other) == expected_other
    assert_on_disk(state)


def test_a_transaction_sees_a_commit_another_process_made_before_it(path):
    state = stateview.open(path, default={"counter": 1})
    counter_view = state.data
    finish(child("commit", str(path), "counter", "41"))
    with state.transaction() as root:  # no refresh(): the transaction reloads by itself
        root["counter"] += 1
    assert counter_view is state.data
    assert_on_disk(state, {"counter": 42})


def test_an_autocommit_after_another_process_commits_keeps_both(path):
    state = stateview.open(path, default={"mine": 0})
    finish(child("commit", str(path), "theirs", '{"x": [1]}'))
    state["mine"] = 1
    assert_on_disk(state, {"mine": 1, "theirs": {"x": [1]}})


@pytest.fixture
def exclusive_holder(path, tmp_path):
    ready = tmp_path / "ready"
    proc = child("hold", str(path), str(ready), "1")
    wait_for_file(ready, proc)
    yield proc
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)


@pytest.mark.parametrize("command", [["set", "/x", "1"], ["delete", "/counter"]])
def test_an_exclusive_holder_keeps_the_cli_out_naming_itself(path, exclusive_holder, command):
    before = path.read_bytes()
    result = stateview_cli(command[0], str(path), *command[1:], "--timeout", "0.3")
    assert result.returncode == 1
    assert f"pid {exclusive_holder.pid}" in result.stderr
    assert "_child.py hold" in result.stderr
    assert "exclusively" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


def test_an_exclusive_holder_keeps_other_programs_out(path, exclusive_holder):
    proc = child("commit", str(path), "x", "1", "0.3")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "LockTimeout" in err and f"pid {exclusive_holder.pid}" in err
    assert json.loads(path.read_text()) == {"counter": 0}


def test_a_killed_exclusive_holder_frees_the_lock_for_the_cli_at_once(path, exclusive_holder):
    exclusive_holder.send_signal(signal.SIGKILL)
    exclusive_holder.communicate(timeout=30)
    result = stateview_cli("set", str(path), "/x", "1", "--timeout", "0.5")
    assert result.returncode == 0, result.stderr
    assert json.loads(path.read_text()) == {"counter": 0, "x": 1}
