"""Child processes for the concurrency tests: ``python _child.py COMMAND ARGS...``.

Every loop is bounded by a count and a time limit, so a broken engine cannot hang the suite.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable

import stateview


def incr(path: str, times: str) -> None:
    """Increment /counter ``times`` times, each in its own transaction."""
    with stateview.open(path, lock_timeout=60) as state:
        for _ in range(int(times)):
            with state.transaction() as root:
                root["counter"] = root["counter"] + 1
    print("ok")


def autocommit(path: str, prefix: str, times: str) -> None:
    """Set /other/PREFIXi = i for each i, each an autocommit."""
    with stateview.open(path, lock_timeout=60) as state:
        for i in range(int(times)):
            state["other"][f"{prefix}{i}"] = i
    print("ok")


def append(path: str, prefix: str, times: str) -> None:
    """Append PREFIXi to /log for each i, each an autocommit; report how many were replayed
    (made on an older version than another process's, and run again under the lock)."""
    import logging

    replays = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "replaying" in record.getMessage():
                replays.append(record)

    logger = logging.getLogger("stateview")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Count())
    with stateview.open(path, lock_timeout=60) as state:
        for i in range(int(times)):
            state["log"].append(f"{prefix}{i}")
    print(json.dumps({"ok": True, "replays": len(replays)}))


def hold(path: str, ready: str, exclusive: str) -> None:
    """Open (exclusive or inside a transaction), say so, and wait to be killed (60 s max)."""
    state = stateview.open(path, default={"counter": 0}, exclusive=exclusive == "1")
    if exclusive == "1":
        _wait(ready)
    else:
        with state.transaction() as root:
            root["held"] = True
            _wait(ready)


def _wait(ready: str) -> None:
    with open(ready, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
    sys.exit(3)


def reader(path: str, stop: str) -> None:
    """Parse the file in a tight loop until ``stop`` exists (60 s max); report what it saw.

    Bad reads are files that do not parse, or whose counter went backwards (an older version
    showing up after a newer one).
    """
    reads = bad = highest = 0
    problems: list[str] = []
    deadline = time.monotonic() + 60
    while not os.path.exists(stop) and time.monotonic() < deadline:
        try:
            with open(path, "rb") as f:
                raw = f.read()
            value = json.loads(raw)
            if not isinstance(value, dict) or "counter" not in value:
                raise ValueError(f"unexpected document {raw[:80]!r}")
            if value["counter"] < highest:
                raise ValueError(f"counter went back from {highest} to {value['counter']}")
            highest = value["counter"]
        except (OSError, ValueError) as e:
            bad += 1
            if len(problems) < 5:
                problems.append(repr(e))
        reads += 1
        # A moment off the CPU: on a busy 2-core machine a pure spin starves the writers.
        time.sleep(0.0002)
    print(json.dumps({"reads": reads, "bad": bad, "problems": problems}))


def commit(path: str, key: str, value: str, timeout: str = "30") -> None:
    """One autocommit of a JSON value at a top-level key."""
    with stateview.open(path, lock_timeout=float(timeout)) as state:
        state[key] = json.loads(value)
    print("ok")


COMMANDS: dict[str, Callable[..., None]] = {
    "incr": incr, "autocommit": autocommit, "append": append, "hold": hold, "reader": reader,
    "commit": commit}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
