"""The asyncio example server, run for real: clients under load, SIGKILL, every acknowledged
count kept; the operator's `stateview set` reaches connected clients at once."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

from example_helpers import kill_example, start_example

LIMIT = 60.0






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
    proc, port = start_example("counter_server.py", state)
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
    kill_example(proc)  # while the eight clients are still sending
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

    # and the server starts again from exactly that
    proc, port = start_example("counter_server.py", state)
    try:
        c = Client(port)
        assert c.ask("GET c0") == f"VALUE c0 {on_disk['c0']}"
        assert c.ask("INCR c0") == f"OK c0 {on_disk['c0'] + 1}"
        c.close()
    finally:
        kill_example(proc)


def test_the_operator_banner_and_pause_reach_a_running_server(tmp_path):
    state = tmp_path / "counters.json"
    proc, port = start_example("counter_server.py", state)
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
        kill_example(proc)
    assert json.loads(state.read_text())["settings"] == {"banner": "back at 5", "paused": True}
