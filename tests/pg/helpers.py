"""Helpers of the PostgreSQL tests: child writer processes and what they reported."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m tests.pg._child ARGS`` with pipes for its report."""
    return subprocess.Popen([sys.executable, "-m", "tests.pg._child", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def report(proc: subprocess.Popen[str], timeout: float = 60) -> list[dict[str, Any]]:
    """Every line a child printed (it may have been killed halfway through one)."""
    out, err = proc.communicate(timeout=timeout)
    lines = []
    for line in out.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:  # the last line of a killed child may be cut
            continue
    if proc.returncode not in (0, -9):
        raise AssertionError(f"child failed ({proc.returncode}):\n{err}")
    return lines


def dumps(doc: Any) -> bytes:
    return (json.dumps(doc) + "\n").encode("utf-8")


def read_until(proc: subprocess.Popen[str], done: Any, seconds: float) -> list[dict[str, Any]]:
    """Read a child's report lines until ``done(line)`` is true.

    A child still short of it after ``seconds`` is killed and the test fails: ``readline``
    blocks, so a child that stalls without a word would otherwise hold the test until pytest's
    own timeout, whatever the deadline said.
    """
    assert proc.stdout is not None
    lines: list[dict[str, Any]] = []
    timer = threading.Timer(seconds, proc.kill)
    timer.start()
    try:
        while raw := proc.stdout.readline():
            lines.append(json.loads(raw))
            if done(lines[-1]):
                return lines
    finally:
        timer.cancel()
    raise AssertionError(f"the child did not get there in {seconds}s: {lines[-3:]}")
