"""The asyncio example server, run for real: clients under load, SIGKILL, every acknowledged
count kept; the operator's `stateview set` reaches connected clients at once."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "counter_server.py"
LIMIT = 60.0


def _start(state: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--state", str(state), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("serving"), line
    return proc, int(line.rsplit(":", 1)[1])


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


class Client:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=LIMIT)
        self.lines = self.sock.makefile("r", encoding="utf-8")
        self.hello = self.lines.readline().strip()

    def ask(self, request: str) -> str:
        self.sock.sendall(request.encode() + b"\n")
        return self.lines.readline().strip()

    def close(self) -> None:
        self.lines.close()
        self.sock.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stateview", *args], capture_output=True,
                          text=True, timeout=LIMIT, check=False)


def test_every_acknowledged_increment_survives_sigkill_under_load(tmp_path):
    state = tmp_path / "counters.json"
    proc, port = _start(state)
    acked: list[list[tuple[str, int]]] = [[] for _ in range(8)]
    stop = threading.Event()

    def client(i: int) -> None:
        c = Client(port)
        try:
            for k in range(2000):  # bounded; the kill normally ends it much sooner
                if stop.is_set():
                    return
                name = f"c{(i + k) % 4}"
                answer = c.ask(f"INCR {name}")
                if not answer:  # the server is gone
                    return
                word, got, count = answer.split()
                assert (word, got) == ("OK", name)
                acked[i].append((name, int(count)))
        except OSError:
            return  # killed mid-request: that one was never acknowledged
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + LIMIT
    while sum(map(len, acked)) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    _kill(proc)  # while the eight clients are still sending
    stop.set()
    for t in threads:
        t.join(LIMIT)
    answers = [a for per in acked for a in per]
    assert len(answers) >= 300
    on_disk = json.loads(state.read_text())["counters"]
    for name in ("c0", "c1", "c2", "c3"):
        counts = sorted(n for got, n in answers if got == name)
        # Each count acknowledged once; a gap is a commit whose answer the kill cut off.
        assert len(set(counts)) == len(counts) and counts[0] >= 1
        assert on_disk.get(name, 0) >= counts[-1]

    proc, port = _start(state)  # and the server starts again from exactly that
    try:
        c = Client(port)
        assert c.ask("GET c0") == f"VALUE c0 {on_disk['c0']}"
        assert c.ask("INCR c0") == f"OK c0 {on_disk['c0'] + 1}"
        c.close()
    finally:
        _kill(proc)


def test_the_operator_banner_and_pause_reach_a_running_server(tmp_path):
    state = tmp_path / "counters.json"
    proc, port = _start(state)
    try:
        c = Client(port)
        assert c.hello == "HELLO welcome"
        assert c.ask("INCR a") == "OK a 1"
        result = _cli("set", str(state), "/settings/banner", '"back at 5"')
        assert result.returncode == 0, result.stderr
        assert c.lines.readline().strip() == "NOTICE banner back at 5"  # pushed, unasked
        result = _cli("set", str(state), "/settings/paused", "true")
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + LIMIT
        while (answer := c.ask("INCR a")) != "PAUSED" and time.monotonic() < deadline:
            assert answer.startswith("OK a ")  # before the server noticed the edit
            time.sleep(0.05)
        assert answer == "PAUSED"
        c.close()
    finally:
        _kill(proc)
    assert json.loads(state.read_text())["settings"] == {"banner": "back at 5", "paused": True}
