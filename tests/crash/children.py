"""The parent's side of ``zygote.py``: start jobs in real child processes, kill, reap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import IO, Any

ZYGOTE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zygote.py")


class Zygote:
    """One ``zygote.py`` process; each :meth:`spawn` forks a fresh child from it."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, bufsize=1)

    def _read(self) -> dict[str, Any]:
        out: IO[str] | None = self.proc.stdout
        assert out is not None
        line = out.readline()
        if not line:
            raise RuntimeError(f"zygote died (exit {self.proc.poll()})")
        result: dict[str, Any] = json.loads(line)
        return result

    def spawn(self, job: str, **args: Any) -> int:
        """Start ``job`` in a new child; returns its pid (call :meth:`wait` next)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"job": job, "args": args}) + "\n")
        self.proc.stdin.flush()
        pid: int = self._read()["pid"]
        return pid

    def wait(self) -> int:
        """The exit code of the last spawned child (negative: killed by that signal)."""
        code: int = self._read()["code"]
        return code

    def run(self, job: str, **args: Any) -> int:
        self.spawn(job, **args)
        return self.wait()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
