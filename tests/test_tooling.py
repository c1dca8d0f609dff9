"""The tree stays clean under the project's own strict linters (pyproject.toml's settings)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed; `pip install -e '.[test]'` installs it")
        return found
    return str(path)


def test_ruff_finds_nothing():
    result = subprocess.run([_tool("ruff"), "check", "stateview", "tests", "benchmarks"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing():
    result = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_public_types_let_mypy_catch_a_misspelt_source_and_a_value_json_cannot_hold(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(
        "import stateview\n"
        "\n"
        "def on_change(event: stateview.ChangeEvent) -> None:\n"
        "    source: stateview.ChangeSource = event.source\n"
        "    wrong: stateview.ChangeSource = 'extrenal'\n"
        "\n"
        "good: stateview.JSON = {'a': [1, 2.5, 'x', None, True, {'b': {}}]}\n"
        "bad: stateview.JSON = {'a': {1, 2}}\n"
    )
    result = subprocess.run(
        [_tool("mypy"), "--strict", "--no-incremental", "--config-file", "/dev/null",
         str(script)],
        cwd=ROOT, capture_output=True, text=True)
    flagged = sorted(int(line.split(":")[1]) for line in result.stdout.splitlines()
                     if line.startswith(str(script)) and ": error:" in line)
    assert flagged == [5, 8], result.stdout + result.stderr


def test_the_readmes_examples_pass_mypy_strict_and_a_value_json_cannot_hold_is_caught(tmp_path):
    script = tmp_path / "readme_script.py"
    script.write_text(
        "import stateview\n"
        "\n"
        "state = stateview.open('state.json', default={'clients': {}})\n"
        "state['clients']['alice'] = {'score': 1}\n"
        "with state.transaction() as root:\n"
        "    root['clients']['alice']['score'] += 1\n"
        "scores: dict[str, int] = {'bob': 2}\n"
        "state['scores'] = scores\n"
        "state['pair'] = (1, 2)\n"
        "fs: stateview.FileSystem = stateview.FileSystem()\n"
        "other = stateview.StateFile('other.json', default=[], fs=fs)\n"
        "state['tags'] = {'a', 'b'}\n"
        "state['ids'] = {1: 'x'}\n"
        "stateview.open('third.json', default={'when': object()})\n"
    )
    result = subprocess.run(
        [_tool("mypy"), "--strict", "--no-incremental", "--config-file", "/dev/null",
         str(script)],
        cwd=ROOT, capture_output=True, text=True)
    flagged = sorted({int(line.split(":")[1]) for line in result.stdout.splitlines()
                      if line.startswith(str(script)) and ": error:" in line})
    assert flagged == [12, 13, 14], result.stdout + result.stderr


_TYPED_READS = '''\
import asyncio
import socketserver

import stateview

state = stateview.open("state.json", default={"clients": {}})
state["clients"]["alice"] = {"score": 1}
with state.transaction() as root:
    root["clients"]["alice"]["score"] += 1

visits = stateview.open("visits.json", default={"visits": {}})


class Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        name = self.rfile.readline().decode().strip()
        with visits.transaction() as root:
            count = root["visits"][name] = root["visits"].get(name, 0) + 1
        self.wfile.write(f"{name}: {count}\\n".encode())


async def main() -> None:
    state = await stateview.aopen("state.json", default={"clients": {}})
    async with state.atransaction() as root:
        root["clients"]["alice"] = {"score": 1}
    async for event in state.changes():
        print(event.source, event.pointers)

with state.transaction() as root:
    root["n"] += 1
clients = state["clients"]
state["log"].append({"at": 1})
state["log"] += [2]
state["copy"] = {"of": clients, "first": state["log"][0]}
if state["n"] > 3 and "alice" in clients and not state.get("paused", False):
    score = int(clients["alice"]["score"]) + 1
    print(score * 2, len(clients), [key for key in clients], f"{state['n']:>4}")
n = state["n"]
if isinstance(n, int):
    total: int = n + 1
plain = state.snapshot()
state.close()
asyncio.run(main())
reveal_type(state["clients"]["alice"]["score"])
'''


def test_the_readmes_examples_read_typed_nodes_with_no_any_under_mypy_strict(tmp_path):
    # --disallow-any-expr flags every expression whose type is Any: none may come from
    # state[...], state.data, a transaction's root or a snapshot. The last three lines
    # check that the type stays honest: a read is not taken for a concrete type, a
    # misspelt method is caught, and nested reads are Nodes.
    script = tmp_path / "typed_reads.py"
    script.write_text(_TYPED_READS + 'wrong: int = state["n"]\nstate["log"].apend(3)\n')
    result = subprocess.run(
        [_tool("mypy"), "--strict", "--disallow-any-expr", "--no-incremental",
         "--config-file", "/dev/null", str(script)],
        cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith(str(script))]
    last = _TYPED_READS.count("\n")
    flagged = sorted({int(line.split(":")[1]) for line in lines if ": error:" in line})
    assert flagged == [last + 1, last + 2], result.stdout + result.stderr
    assert any(f":{last}: note: Revealed type is \"stateview.types.Node\"" in line
               for line in lines), result.stdout
