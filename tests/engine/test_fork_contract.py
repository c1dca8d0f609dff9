"""What a forked child may do with the StateFile it inherited (the fork contract).

A child keeps a working handle: it takes the lock itself (test_lock_linger), never commits a
block the parent had open (test_transactions), and its change subscriptions keep following
other writers, through a watcher thread of its own.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

import stateview


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_childs_on_change_keeps_following_other_writers(tmp_path: Any) -> None:
    path = tmp_path / "state.json"
    state = stateview.open(path, default={"n": 0})
    seen: list[list[str]] = []
    state.on_change(lambda event: seen.append(event.pointers), poll=0.02)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            os.close(read_end)
            deadline = time.monotonic() + 20
            while not seen and time.monotonic() < deadline:
                time.sleep(0.01)
            os.write(write_end, json.dumps(seen).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        time.sleep(0.1)  # the child is watching
        with stateview.open(path) as other:  # another writer commits
            other["n"] = 7
        with os.fdopen(read_end, "rb") as pipe:
            report = json.loads(pipe.read() or b"[]")
    finally:
        _, status = os.waitpid(pid, 0)
        state.close()
    assert os.waitstatus_to_exitcode(status) == 0
    assert report and ["/n"] in report, report
