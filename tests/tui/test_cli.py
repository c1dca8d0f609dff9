"""The real commands: ``stateview FILE``, ``stateview view``, ``stateview demo`` in a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stateview.cli import build_parser, main

from ._helpers import DOC


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stateview", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


def test_a_missing_file_is_an_error_without_a_traceback(tmp_path):
    result = cli("nope.json", cwd=tmp_path)
    assert result.returncode == 1
    assert "nope.json: no such state file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_directory_or_a_bad_schema_is_refused_before_the_ui_starts(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["view", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    (tmp_path / "state.json").write_text(json.dumps(DOC))
    (tmp_path / "state.schema.json").write_text("{not json")
    assert main(["state.json"]) == 1
    err = capsys.readouterr().err
    assert "state.schema.json" in err and "not valid JSON" in err


def test_help_lists_view_and_demo_with_their_options():
    parser = build_parser()
    text = parser.format_help()
    assert "view" in text and "demo" in text
    sub = next(a for a in parser._actions if a.dest == "command")
    assert "--schema" in sub.choices["view"].format_help()
    assert "--readonly" in sub.choices["view"].format_help()
    assert "--dir" in sub.choices["demo"].format_help()


class Terminal:
    """A command in a pseudo-terminal, as a person would run it (bounded reads)."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "35"}
        self.proc = subprocess.Popen(args, cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                                     env=env, start_new_session=True)
        os.close(slave)
        self.output = b""

    def read_until(self, needle: bytes, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while needle not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break
        return needle in self.output

    def send(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def close(self, timeout: float = 20.0) -> int:
        """Wait for the exit, reading all along (a full pty would block the program)."""
        deadline = time.monotonic() + timeout
        try:
            while self.proc.poll() is None and time.monotonic() < deadline:
                self.read_until(b"\0never\0", timeout=0.2)
            self.read_until(b"\0never\0", timeout=0.3)
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
                raise AssertionError("the program did not exit")
            return self.proc.returncode
        finally:
            os.close(self.master)


def writer_pids(directory: Path) -> list[int]:
    """Demo writer processes working on a file in ``directory`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"stateview.tui._demo_writer" in cmdline and any(
                str(directory).encode() in part for part in cmdline):
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="counts writer processes in /proc")
def test_stateview_demo_runs_live_in_a_terminal_and_q_stops_it_and_its_writer(tmp_path):
    demo_dir = tmp_path / "demo"
    term = Terminal([sys.executable, "-m", "stateview", "demo", "--dir", str(demo_dir)],
                    cwd=tmp_path)
    try:
        assert term.read_until(b"demo.json"), term.output[-2000:]
        assert term.read_until(b"/stats/ticks"), "no live change reached the screen"
        assert writer_pids(demo_dir)
    finally:
        term.send(b"q")
        code = term.close()
    assert code == 0
    assert b"Traceback" not in term.output
    assert b"demo files kept in" in term.output
    deadline = time.monotonic() + 10
    while writer_pids(demo_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert writer_pids(demo_dir) == []
    assert json.loads((demo_dir / "demo.json").read_text())["stats"]["ticks"] >= 1
