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
