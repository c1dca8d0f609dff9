"""Building post-crash directories by hand, and a file system that stops at step k.

Shared by tests/test_recover.py and tests/test_recover_cli.py.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stateview._fs import FileSystem

GOOD = b'{\n  "clients": {\n    "alice": 1\n  }\n}\n'
OLDER = b'{\n  "clients": {}\n}\n'
NEWER = b'{\n  "clients": {\n    "alice": 2\n  }\n}\n'
CORRUPT = b'{\n  "clients": {\n    "alice": 1,\n  }\n}\n'  # trailing comma at line 4
TRUNCATED = b'{\n  "clients": {\n    "ali'
SCHEMA = {
    "type": "object",
    "required": ["clients"],
    "properties": {"clients": {"type": "object",
                               "additionalProperties": {"type": "integer"}}},
}
FAILS_SCHEMA = b'{\n  "clients": {\n    "alice": "one"\n  }\n}\n'

# Mutating calls of the seam, each one a step recovery can be stopped at.
MUTATING = ("open_new", "fchmod", "fchown", "write_all", "fsync", "close", "link", "replace",
            "unlink", "fsync_dir")


def put(path: Path, data: bytes, age: float | None = None) -> Path:
    """Write ``data`` to ``path``; ``age`` seconds in the past sets its mtime."""
    path.write_bytes(data)
    if age is not None:
        when = os.stat(path).st_mtime - age
        os.utime(path, (when, when))
    return path


def temp_name(state: Path, tag: str = "a1b2c3") -> Path:
    return state.with_name(f".{state.name}.{tag}.tmp")


def listing(directory: Path) -> dict[str, object]:
    """Every entry with its bytes (or symlink target): compare before/after a dry run."""
    out: dict[str, object] = {}
    for entry in sorted(os.listdir(directory)):
        full = directory / entry
        if full.is_symlink():
            out[entry] = ("link", os.readlink(full))
        elif full.is_dir():
            out[entry] = ("dir", listing(full))
        else:
            out[entry] = full.read_bytes()
    return out


def dead_pid() -> int:
    """The pid of a process that has exited (and was reaped)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def write_stale_lock(state: Path, pid: int) -> Path:
    lock = state.with_name(state.name + ".lock")
    record = {"pid": pid, "host": os.uname().nodename, "program": "server.py",
              "since": "2026-01-01T00:00:00Z", "exclusive": False, "held": True}
    lock.write_text(json.dumps(record) + "\n")
    os.chmod(lock, 0o600)  # as stateview leaves it beside a 0644 state file (a wider one is
    return lock  # replaced by the next holder: see _lock_file.renew)


class Stop(BaseException):
    """A simulated crash: not an OSError, so no cleanup code of the protocol runs."""


class StepFS(FileSystem):
    """The real file system, counting mutating calls and failing or stopping at step ``k``.

    Args:
        k: the 1-based step to break (0: never).
        mode: ``"fail"`` raises EIO (the error paths run), ``"stop"`` raises :class:`Stop`
            (nothing after it runs, like a killed process), ``"exit"`` calls ``os._exit``.
    """

    def __init__(self, k: int = 0, mode: str = "fail") -> None:
        self.k = k
        self.mode = mode
        self.calls: list[str] = []

    def _step(self, name: str) -> None:
        self.calls.append(name)
        if len(self.calls) != self.k:
            return
        if self.mode == "exit":
            os._exit(77)
        if self.mode == "stop":
            raise Stop(f"stopped at step {self.k} ({name})")
        raise OSError(errno.EIO, f"injected failure at step {self.k} ({name})")


def _wrap(name: str) -> Callable[..., Any]:
    base = getattr(FileSystem, name)

    def method(self: StepFS, *args: Any) -> Any:
        self._step(name)
        return base(self, *args)

    method.__name__ = name
    return method


for _name in MUTATING:
    setattr(StepFS, _name, _wrap(_name))


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "stateview", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
