"""`stateview get`, `set` and `delete`, run for real on real files."""

import json
import os
import subprocess
import sys

import pytest


def run(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "stateview", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture
def state(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{\n  "clients": {\n    "alice": {\n      "score": 1\n    }\n  },\n'
                    '  "log": []\n}\n')
    return path


def test_get_prints_the_document_or_the_value_at_a_pointer(state):
    whole = run("get", "state.json", cwd=state.parent)
    assert whole.returncode == 0 and json.loads(whole.stdout)["clients"]["alice"]["score"] == 1
    leaf = run("get", "state.json", "/clients/alice", "--compact", cwd=state.parent)
    assert (leaf.returncode, leaf.stdout) == (0, '{"score": 1}\n')


def test_set_and_delete_make_one_commit_each_and_keep_a_backup(state):
    added = run("set", "state.json", "/clients/bob", '{"score": 5}', cwd=state.parent)
    assert added.returncode == 0
    assert run("set", "state.json", "/log/-", '"joined"', cwd=state.parent).returncode == 0
    assert run("delete", "state.json", "/clients/alice", cwd=state.parent).returncode == 0
    assert json.loads(state.read_text()) == {"clients": {"bob": {"score": 5}}, "log": ["joined"]}
    assert json.loads((state.parent / "state.json.bak").read_text())["log"] == ["joined"]


@pytest.mark.parametrize(("args", "message"), [
    (("get", "state.json", "/clients/carol"), "no key 'carol' in the object at /clients"),
    (("get", "state.json", "clients"), "starts with '/'"),
    (("set", "state.json", "/log/3", "1"), "index 3 is past the end of the array at /log"),
    (("set", "state.json", "/clients/alice/score", "high"), "a string needs JSON quotes"),
    (("set", "state.json", "/n", "NaN"), "NaN is not JSON"),
    (("delete", "state.json", ""), "the whole document cannot be deleted"),
    (("get", "missing.json"), "no such state file"),
])
def test_a_refused_read_or_edit_exits_1_names_the_problem_and_changes_nothing(state, args, message):
    before = state.read_bytes()
    result = run(*args, cwd=state.parent)
    assert result.returncode == 1
    assert message in result.stderr
    assert state.read_bytes() == before


def test_the_sibling_schema_guards_set(state):
    (state.parent / "state.schema.json").write_text(json.dumps({
        "type": "object",
        "properties": {"clients": {"additionalProperties": {
            "properties": {"score": {"type": "integer", "minimum": 0}}}}}}))
    before = state.read_bytes()
    result = run("set", "state.json", "/clients/alice/score", "-3", cwd=state.parent)
    assert result.returncode == 1
    assert "schema violation at /clients/alice/score" in result.stderr
    assert "minimum" in result.stderr
    assert state.read_bytes() == before


def test_a_pipe_or_a_missing_directory_is_an_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "fifo.json")
    pipe = run("get", "fifo.json", cwd=tmp_path)
    assert pipe.returncode == 1 and "not a regular file" in pipe.stderr
    nowhere = run("set", "nodir/state.json", "/a", "1", cwd=tmp_path)
    assert nowhere.returncode == 1 and "does not exist" in nowhere.stderr
    assert not (tmp_path / "nodir").exists()


def test_usage_errors_exit_2(tmp_path):
    assert run("set", "state.json", cwd=tmp_path).returncode == 2
    assert run("get", cwd=tmp_path).returncode == 2


def test_get_on_an_ascii_only_stdout_prints_escapes_not_a_traceback(tmp_path):
    (tmp_path / "state.json").write_text('{"name": "Zoë ☃"}\n', encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}
    result = subprocess.run([sys.executable, "-m", "stateview", "get", "state.json"],
                            cwd=tmp_path, capture_output=True, timeout=60, env=env)
    assert b"Traceback" not in result.stderr
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"name": "Zoë ☃"}


def test_set_and_delete_with_expect_write_only_over_the_value_the_script_read(state):
    stale = run("set", "state.json", "/clients/alice/score", "2", "--expect", "0",
                cwd=state.parent)
    assert stale.returncode == 1
    assert "/clients/alice/score is 1 now, not the value --expect gave" in stale.stderr
    gone = run("delete", "state.json", "/clients/carol", "--expect", "1", cwd=state.parent)
    assert gone.returncode == 1 and "no key 'carol'" in gone.stderr
    assert json.loads(state.read_text())["clients"]["alice"]["score"] == 1
    fresh = run("set", "state.json", "/clients/alice/score", "2", "--expect", "1",
                cwd=state.parent)
    assert fresh.returncode == 0
    assert run("delete", "state.json", "/clients/alice", "--expect", '{"score": 2}',
               cwd=state.parent).returncode == 0
    assert json.loads(state.read_text())["clients"] == {}


@pytest.mark.parametrize("args", [("set", "typo.json", "/a", "1"), ("delete", "typo.json", "/a")])
def test_an_edit_of_a_missing_file_leaves_the_directory_as_it_found_it(tmp_path, args):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 1 and "no such state file" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
