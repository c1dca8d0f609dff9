"""A child process that forks committing grandchildren on request (run as a script).

Importing stateview costs about a second (jsonschema), too slow to start one interpreter per
crash point; this script imports it once and forks a fresh process for every job. Each job is
a real process: it commits through the real engine and dies by ``os._exit`` at its crash
point or by the parent's ``SIGKILL``, with nothing cleaned up.

Protocol (JSON lines): the parent writes ``{"job": NAME, "args": {...}}``; the zygote answers
``{"pid": PID}`` at once, then ``{"pid": PID, "code": EXIT}`` when that process has ended
(``EXIT`` negative for a signal, as in ``subprocess``). Jobs report through files named in
their arguments (``ack``: written only after the commit returned).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

# tests/ on the path, so that this script shares tests/crash/seams.py as crash.seams.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import stateview
from crash.seams import CountingFS, CrashFS
from stateview import _fs
from stateview._statefile import StateFile


def _append(path: str, text: str) -> None:
    # One write(2) per line: the parent sees each line whole even if we die right after.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def job_commit(path: str, how: str, value: Any, backups: int, crash_at: int | None,
               ack: str) -> None:
    """One commit (or open) through a seam that exits at step ``crash_at`` (None: counts)."""
    fs = CountingFS() if crash_at is None else CrashFS(crash_at)
    if how in ("first", "heal"):
        fs.arm()
        StateFile(path, default=value, backups=backups, fs=fs).close()
    elif how == "recover":
        _fs.set_default(fs)
        fs.arm()
        from stateview.cli import main

        if main(["recover", path, "--apply"]) not in (0, 1):
            raise SystemExit("stateview recover failed")
    elif how == "cli-set":
        _fs.set_default(fs)
        fs.arm()
        from stateview.cli import main

        if main(["set", path, "/version", json.dumps(value["version"])]) != 0:
            raise SystemExit("stateview set failed")
    else:
        state = StateFile(path, backups=backups, fs=fs)
        fs.arm()
        if how == "autocommit":
            state["version"] = value["version"]
        else:
            with state.transaction() as root:
                root.clear()
                root.update(value)
    _append(ack, json.dumps({"acknowledged": True, "steps": len(fs.calls)}) + "\n")


def job_counter(path: str, log: str, limit: int, seconds: float, transaction: bool) -> None:
    """Commit n+1, n+2 ... logging "try n" before and "ack n" after each commit."""
    state = stateview.open(path, default={"n": 0, "history": []})
    deadline = time.monotonic() + seconds
    n = state["n"]
    for _ in range(limit):
        if time.monotonic() > deadline:
            break
        n += 1
        _append(log, f"try {n}\n")
        if transaction:
            with state.transaction() as root:
                root["n"] = n
                root["history"] = [*root["history"][-20:], n]
        else:
            state["n"] = n
        _append(log, f"ack {n}\n")


JOBS: dict[str, Callable[..., None]] = {"commit": job_commit, "counter": job_counter}


def main() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            # Our stdout is the protocol pipe: the job's own output (the CLI's) goes nowhere.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - lives until _exit
            code = 0
            try:
                JOBS[request["job"]](**request["args"])
            except BaseException:  # report anything to the parent, then die without cleanup
                code = 1
                err = request["args"].get("ack") or request["args"].get("log")
                if err:
                    _append(err + ".error", traceback.format_exc())
            os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"pid": pid, "code": os.waitstatus_to_exitcode(status)}), flush=True)


if __name__ == "__main__":
    main()
