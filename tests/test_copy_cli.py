"""`stateview copy` between two files, run for real (the URL cases are in tests/pg)."""

import errno
import json
import subprocess
import sys

import pytest

from stateview._fs import FileSystem, set_default
from stateview.cli import main


def run(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "stateview", "copy", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stdout + result.stderr
    return result


def test_copy_writes_the_destination_through_the_engine(tmp_path):
    (tmp_path / "a.json").write_text('{"b": [1, 2], "é": null}')
    result = run("a.json", "b.json", cwd=tmp_path)
    written = (tmp_path / "b.json").read_bytes()
    assert written == '{\n  "b": [\n    1,\n    2\n  ],\n  "é": null\n}\n'.encode()
    assert (result.returncode, result.stdout) == (
        0, f"copied a.json to b.json ({len(written)} bytes)\n")
    assert json.loads((tmp_path / "b.json.lock").read_text())["last_commit"]["token"]
    assert not (tmp_path / ".b.json.spare").exists()


def test_copy_refuses_to_replace_without_force_and_keeps_a_backup_with_it(tmp_path):
    (tmp_path / "a.json").write_text('{"new": 1}')
    (tmp_path / "b.json").write_text('{"old": 1}\n')
    refused = run("a.json", "b.json", cwd=tmp_path)
    assert refused.returncode == 1
    assert "destination: " in refused.stderr and "holds a document already" in refused.stderr
    assert (tmp_path / "b.json").read_text() == '{"old": 1}\n'
    assert run("a.json", "b.json", "--force", cwd=tmp_path).returncode == 0
    assert json.loads((tmp_path / "b.json").read_text()) == {"new": 1}
    assert (tmp_path / "b.json.bak").read_text() == '{"old": 1}\n'


def test_copy_errors_name_the_side_and_write_nothing(tmp_path):
    (tmp_path / "a.json").write_text('{"a": 1}')
    (tmp_path / "dir").mkdir()
    cases = [
        (("missing.json", "b.json"), 1, "stateview: error: source: missing.json: no such file"),
        (("a.json", "dir"), 1, "stateview: error: destination: "),
        (("a.json", "no/such/dir/b.json"), 1, "does not exist"),
        (("a.json", "a.json"), 2, "a.json is both the source and the destination"),
    ]
    for args, code, message in cases:
        result = run(*args, cwd=tmp_path)
        assert (result.returncode, len(result.stderr.splitlines())) == (code, 1), args
        assert message in result.stderr, (args, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "dir"]


def test_a_refused_copy_leaves_the_destination_directory_as_it_found_it(tmp_path):
    (tmp_path / "a.json").write_text('{"a": 1}')
    for existing in ("not json\n", '{"old": 1}\n'):
        (tmp_path / "b.json").write_text(existing)
        refused = run("a.json", "b.json", cwd=tmp_path)
        assert refused.returncode == 1 and "holds a document already" in refused.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]
        assert (tmp_path / "b.json").read_text() == existing


class FailingPublish(FileSystem):
    """Every rename onto the destination fails, as a failing disk would fail it."""

    def __init__(self, target: str) -> None:
        self.target = target

    def replace(self, src: str, dst: str) -> None:
        if dst == self.target:
            raise OSError(errno.EIO, "Input/output error", dst)
        super().replace(src, dst)


@pytest.mark.parametrize("existing", [None, "not json\n"])
def test_a_failed_copy_leaves_the_destination_directory_as_it_found_it(
        tmp_path, monkeypatch, capsys, existing):
    (tmp_path / "a.json").write_text('{"a": 1}')
    if existing is not None:
        (tmp_path / "b.json").write_text(existing)
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    previous = set_default(FailingPublish(str(tmp_path / "b.json")))
    try:
        code = main(["copy", "--force", "a.json", "b.json"])
    finally:
        set_default(previous)
    assert code == 1
    assert "destination: " in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    if existing is not None:
        assert (tmp_path / "b.json").read_text() == existing


def test_a_refused_copy_keeps_a_lock_file_that_was_there_before(tmp_path):
    (tmp_path / "a.json").write_text('{"a": 1}')
    (tmp_path / "b.json").write_text('{"b": 1}')
    assert run("--force", "a.json", "b.json", cwd=tmp_path).returncode == 0
    record = json.loads((tmp_path / "b.json.lock").read_text())["last_commit"]
    assert run("a.json", "b.json", cwd=tmp_path).returncode == 1
    assert json.loads((tmp_path / "b.json.lock").read_text())["last_commit"] == record
