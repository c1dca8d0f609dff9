"""The README's code runs as printed: the intro snippet and the ten-line server."""

import re
import signal
import socket
import subprocess
import sys
import time

from figures_helpers import README as README_PATH
from figures_helpers import assert_quoted, result

README = README_PATH.read_text()


def _block_after(heading: str) -> str:
    section = README.split(heading, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_intro_snippet_runs_and_leaves_the_documented_file(tmp_path):
    code = README.split("```python\n", 1)[1].split("```", 1)[0]
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True, timeout=60)
    assert (tmp_path / "state.json").read_text() == (
        '{\n  "clients": {\n    "alice": {\n      "score": 2\n    }\n  }\n}\n')


def _visit(port: int, name: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(name.encode() + b"\n")
                return s.makefile().readline().strip()
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ten_line_server_keeps_every_answered_visit_across_kill_9(tmp_path):
    code = _block_after("## A server in ten lines")
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    port = _free_port()
    script = tmp_path / "server.py"
    script.write_text(code.replace("7000", str(port)))
    for round_ in range(2):
        proc = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path)
        try:
            answers = [_visit(port, "alice") for _ in range(3)]
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        first = round_ * 3
        assert answers == [f"alice: {first + i}" for i in (1, 2, 3)]


def test_live_view_figures_are_those_of_the_last_bench_live_run():
    r = result("live")
    ratio = r["rss_after_mb"] / r["rss_before_mb"]
    assert_quoted(README_PATH, [
        f"{r['rows_open']:,} rows", f"load average of {r['load_average'][0]:.0f}",
        f"applied {r['versions_applied']} versions of {r['commits']} commits",
        f"median {r['lag_median_s']:.1f} s, max {r['lag_max_s']:.1f} s",
        f"key press p95 {r['key_p95_s']:.2f} s", f"{ratio:.2f}x of before",
    ], "results/live.json")
