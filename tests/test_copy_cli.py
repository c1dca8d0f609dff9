"""`stateview copy` between two files, run for real (the URL cases are in tests/pg)."""

import json
import subprocess
import sys


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
