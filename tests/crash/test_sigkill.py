"""A bounded SIGKILL loop against a committing child.

A child commits a counter in a loop, logging "try n" before each commit and "ack n" once it
returned. The parent kills it with SIGKILL at a random moment, again and again (30 kills, 500
with STATEVIEW_DEEP=1). After every kill the file must parse, and its counter must be at least
the last acknowledged value and at most the last attempted one. At the end, open and
`stateview recover --apply` leave no orphan.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

import stateview

from .harness import DEEP, count, forget_lock, load, temps

KILLS = 500 if DEEP else 30


def _last(log: str, word: str) -> int:
    try:
        with open(log) as f:
            values = [int(line.split()[1]) for line in f if line.startswith(word + " ")
                      and line.endswith("\n")]
    except FileNotFoundError:
        return 0
    return max(values, default=0)


@pytest.mark.parametrize("transaction", [False, True], ids=["autocommit", "transaction"])
def test_sigkill_at_random_moments_never_loses_an_acknowledged_commit(
    tmp_path: Any, zygote: Any, transaction: bool
) -> None:
    path = str(tmp_path / "counter.json")
    log = str(tmp_path / "acks.log")
    rng = random.Random(f"sigkill-{transaction}")
    kills = 0
    started = time.monotonic()
    while kills < KILLS and time.monotonic() - started < (600 if DEEP else 40):
        pid = zygote.spawn("counter", path=path, log=log, limit=100_000, seconds=20.0,
                           transaction=transaction)
        time.sleep(rng.uniform(0.005, 0.12))
        os.kill(pid, signal.SIGKILL)
        code = zygote.wait()
        if code != -signal.SIGKILL:  # it ended on its own: no kill happened
            assert code == 0, f"child failed: {_error(log)}"
            continue
        kills += 1
        count("processes_killed")
        acked, tried = _last(log, "ack"), _last(log, "try")
        if not os.path.exists(path):
            assert acked == 0, "the file is gone although commits were acknowledged"
            continue
        value = load(path)  # raises CorruptFile if torn
        n = value["n"]
        if n < acked:
            count("lost_commits")
        assert acked <= n <= max(tried, 0), (acked, n, tried)
        assert value["history"] == sorted(value["history"])
    count("commits_acknowledged", _last(log, "ack"))
    assert kills >= min(KILLS, 10), f"only {kills} kills landed"
    assert _last(log, "ack") > kills, "the child never got to commit between kills"
    # The survivor's view: open, then recovery, leave the counter and no orphan.
    acked = _last(log, "ack")
    with stateview.open(path) as state:
        assert state["n"] >= acked
    forget_lock(path)
    leftovers = len(temps(path))
    run = subprocess.run([sys.executable, "-m", "stateview", "recover", path, "--apply"],
                         capture_output=True, text=True, timeout=120)
    assert "Traceback" not in run.stderr, run.stderr
    assert not temps(path), f"{leftovers} orphans before recover:\n{run.stdout}"
    assert load(path)["n"] >= acked


def _error(log: str) -> str:
    try:
        with open(log + ".error") as f:
            return f.read()
    except FileNotFoundError:
        return ""
