"""Run the servers in examples/ for real, as their tests do: start on a free port, kill -9."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def start_example(script: str, state: Path) -> tuple[subprocess.Popen[str], int]:
    """Start ``examples/<script>`` on ``state`` and a free port; return it and the port once
    it says it is serving."""
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), "--state", str(state), "--port", "0"],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("serving"), line
    return proc, int(line.rsplit(":", 1)[1])


def kill_example(proc: subprocess.Popen[str]) -> None:
    """SIGKILL, as a power cut or the OOM killer would end it; reap it and close its pipe."""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
