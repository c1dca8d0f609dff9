"""A real writer process that keeps committing while a test edits through the UI."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COUNTER_SCRIPT = """
import os, sys, time, stateview
path, stop, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + seconds
with stateview.open(path) as state:
    for _ in range(20_000):
        if os.path.exists(stop) or time.monotonic() > deadline:
            break
        with state.transaction() as root:
            root["counter"] += 1
        time.sleep(0.01)
"""


@contextlib.contextmanager
def counting_writer(path: Path, seconds: float = 60.0) -> Iterator[subprocess.Popen[bytes]]:
    """Another process adds 1 to ``/counter`` every 10 ms (one commit each) until the block
    ends (or ``seconds`` pass)."""
    stop = path.with_name("stop-writer")
    proc = subprocess.Popen([sys.executable, "-c", COUNTER_SCRIPT, str(path), str(stop),
                             str(seconds)], stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        stop.touch()
        _, err = proc.communicate(timeout=60)
        stop.unlink()
    assert proc.returncode == 0, err.decode()


def on_disk(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
