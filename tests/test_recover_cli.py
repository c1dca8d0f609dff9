"""``stateview recover`` as a user runs it: exit codes, output, files left behind.

The main flows run the real command in a subprocess. The matrix of odd directories and usage
errors calls the same entry point, ``stateview.cli.main``, in-process: each subprocess pays
about a second of imports, and the suite must stay quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from recover_helpers import (
    CORRUPT,
    FAILS_SCHEMA,
    GOOD,
    NEWER,
    OLDER,
    SCHEMA,
    TRUNCATED,
    dead_pid,
    listing,
    put,
    run_cli,
    temp_name,
    write_stale_lock,
)


def no_traceback(done) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """``stateview ARGS`` in this process: returns (returncode, stdout, stderr) like run_cli."""
    from stateview.cli import main

    def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()
        try:
            code = main(list(argv))
        except SystemExit as e:  # argparse's usage errors
            code = e.code if isinstance(e.code, int) else 2
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(argv), code, out, err)

    return run


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


def test_dry_run_prints_one_line_per_file_and_the_command_then_apply_fixes_it(state: Path, cli):
    put(state, CORRUPT)
    put(state.with_name("state.json.bak"), OLDER, age=100)
    put(temp_name(state), NEWER, age=10)
    write_stale_lock(state, dead_pid())
    before = listing(state.parent)

    dry = run_cli("recover", str(state))
    no_traceback(dry)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert listing(state.parent) == before
    lines = dry.stdout.splitlines()
    assert lines[0] == f"{state}: unreadable (not strict JSON)"
    by_name = {line.split()[1]: line for line in lines if line.startswith("  ")
               and len(line.split()) > 1}
    assert by_name["state.json"].split()[0] == "set-aside"
    assert "line 4, column 3" in by_name["state.json"]
    assert by_name[temp_name(state).name].split()[0] == "restore-from"
    assert by_name["state.json.bak"].split()[0] == "keep"
    assert by_name["state.json.lock"].split()[0] == "clear-stale-lock-record"
    assert f"stateview recover {state} --apply" in dry.stdout

    done = run_cli("recover", str(state), "--apply")
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"restored state.json from {temp_name(state).name}" in done.stdout
    assert "set aside state.json as state.json.corrupt-" in done.stdout
    assert "cleared the stale lock record" in done.stdout
    assert "nothing left to recover" in done.stdout
    assert state.read_bytes() == NEWER

    again = cli("recover", str(state))
    assert again.returncode == 0 and "Nothing to recover." in again.stdout
    assert cli("recover", str(state), "--apply").returncode == 0


def test_check_is_clean_after_recover_apply(state: Path, cli):
    put(state, CORRUPT)
    put(state.with_name("state.json.bak"), GOOD)
    put(temp_name(state, "trunc0"), TRUNCATED)
    write_stale_lock(state, dead_pid())
    state.with_name("state.schema.json").write_text(json.dumps(SCHEMA))
    assert cli("check", str(state)).returncode == 1
    assert cli("recover", str(state), "--apply").returncode == 0
    check = run_cli("check", str(state))
    no_traceback(check)
    assert check.returncode == 0, check.stdout + check.stderr


def test_json_output_for_scripts(state: Path, cli):
    put(state, GOOD)
    put(temp_name(state), TRUNCATED)
    dry = run_cli("recover", str(state), "-o", "json")
    assert dry.returncode == 1
    doc = json.loads(dry.stdout)
    assert doc["version"] == 1 and doc["applied"] is False and doc["exit_code"] == 1
    assert doc["steps"] == [] and doc["after"] is None and doc["blocked_by"] is None
    plan = doc["plan"]
    assert plan["state"] == "good" and plan["actionable"] is True and plan["clean"] is False
    assert [(i["kind"], i["action"]) for i in plan["items"]] == [("state", "keep"),
                                                                 ("temp", "remove")]
    temp = plan["items"][1]
    assert temp["json"] == "incomplete" and temp["size"] == len(TRUNCATED)
    assert temp["problem"]["line"] == 3 and isinstance(temp["age_seconds"], float)
    assert temp["mtime"].endswith("Z") and temp["reason"]

    done = cli("recover", str(state), "--apply", "-o", "json")
    assert done.returncode == 0
    doc = json.loads(done.stdout)
    assert doc["applied"] is True and doc["exit_code"] == 0
    assert [(s["action"], s["ok"]) for s in doc["steps"]] == [("remove", True)]
    assert doc["after"]["clean"] is True


def test_live_lock_holder_is_named_and_nothing_is_touched(state: Path, cli):
    put(state, GOOD)
    put(temp_name(state), NEWER)
    code = ("import sys, stateview\n"
            "s = stateview.open(sys.argv[1], exclusive=True)\n"
            "print('ready', flush=True)\n"
            "sys.stdin.readline()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(state)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        before = listing(state.parent)
        dry = run_cli("recover", str(state))
        assert dry.returncode == 1 and f"pid {holder.pid}" in dry.stdout
        assert "--apply" not in dry.stdout
        done = cli("recover", str(state), "--apply", "-o", "json")
        no_traceback(done)
        assert done.returncode == 1
        doc = json.loads(done.stdout)
        assert doc["blocked_by"]["pid"] == holder.pid and doc["steps"] == []
        text = cli("recover", str(state), "--apply")
        assert text.returncode == 1 and "nothing was touched" in text.stdout
        assert listing(state.parent) == before
    finally:
        holder.communicate("done\n", timeout=60)
    assert cli("recover", str(state), "--apply").returncode == 0
    assert not temp_name(state).exists()


def test_no_good_copy_changes_nothing_and_says_what_to_do(state: Path, cli):
    put(state, CORRUPT)
    put(state.with_name("state.json.bak"), FAILS_SCHEMA)
    state.with_name("state.schema.json").write_text(json.dumps(SCHEMA))  # found as sibling
    before = listing(state.parent)
    for run in (run_cli, cli):
        done = run(*(["recover", str(state)] + (["--apply"] if run is cli else [])))
        no_traceback(done)
        assert done.returncode == 1
        assert "line 4, column 3" in done.stdout
        assert f"stateview check {state}" in done.stdout
        assert "fails the schema" in done.stdout
        assert listing(state.parent) == before


@pytest.mark.parametrize("scene", ["only-temp", "only-bak3", "only-prev", "only-truncated-temp",
                                   "nothing"])
def test_odd_post_crash_directories(state: Path, scene: str, cli):
    if scene == "only-temp":
        put(temp_name(state), GOOD)
    elif scene == "only-bak3":
        put(state.with_name("state.json.bak.3"), GOOD)
    elif scene == "only-prev":
        put(state.with_name(".state.json.prev-0a1b2c.tmp"), GOOD)
    elif scene == "only-truncated-temp":
        put(temp_name(state), TRUNCATED)
    dry = cli("recover", str(state), "-o", "json")
    no_traceback(dry)
    assert dry.returncode == 1
    done = cli("recover", str(state), "--apply")
    no_traceback(done)
    if scene in ("only-temp", "only-bak3", "only-prev"):
        assert done.returncode == 0 and state.read_bytes() == GOOD
    else:
        # Nothing to restore from: the file stays missing, which a person should know.
        assert done.returncode == 1 and "no good copy" in done.stdout
        assert not state.exists() and not temp_name(state).exists()


def test_symlinked_state_file(tmp_path: Path, cli):
    real = tmp_path / "real"
    real.mkdir()
    put(real / "state.json", b"")
    put(real / "state.json.bak", GOOD)
    link = tmp_path / "link.json"
    link.symlink_to(real / "state.json")
    dry = cli("recover", str(link))
    assert dry.returncode == 1 and f"(a symlink to {real / 'state.json'})" in dry.stdout
    assert cli("recover", str(link), "--apply").returncode == 0
    assert link.is_symlink() and link.read_bytes() == GOOD


def test_relative_path_and_schema_option(tmp_path: Path, cli):
    put(tmp_path / "state.json", CORRUPT)
    put(tmp_path / "state.json.bak", FAILS_SCHEMA)
    (tmp_path / "strict.json").write_text(json.dumps(SCHEMA))
    # No sibling schema: the backup is complete JSON, so it is restored ...
    assert "restore-from" in cli("recover", "state.json", cwd=tmp_path).stdout
    # ... but not against a schema it fails.
    done = cli("recover", "state.json", "--schema", "strict.json", "-o", "json",
                   cwd=tmp_path)
    doc = json.loads(done.stdout)
    assert doc["plan"]["schema"] == "strict.json" and doc["plan"]["restore_from"] is None


@pytest.mark.parametrize("argv", [
    ["recover"],
    ["recover", "x.json", "-o", "yaml"],
    ["recover", "x.json", "--schema", "does-not-exist.json"],
    ["recover", "x.json", "--bogus"],
])
def test_usage_errors_exit_2_without_a_traceback(tmp_path: Path, argv: list[str], cli):
    done = cli(*argv, cwd=tmp_path)
    no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip()


def test_broken_sibling_schema_is_reported_not_ignored(state: Path, cli):
    put(state, GOOD)
    state.with_name("state.schema.json").write_text("{not json")
    done = cli("recover", str(state))
    no_traceback(done)
    assert done.returncode == 1 and "--schema" in done.stderr


def test_state_path_that_is_a_directory_is_explained(tmp_path: Path, cli):
    (tmp_path / "state.json").mkdir()
    done = cli("recover", str(tmp_path / "state.json"), "--apply")
    no_traceback(done)
    assert done.returncode == 1 and "cannot be read" in done.stdout
    assert os.path.isdir(tmp_path / "state.json")


def test_holder_that_is_no_stateview_writer_is_named_from_the_kernel_not_the_record(
        state: Path, cli):
    # The record names the last stateview writer (gone); another program holds flock now.
    put(state, GOOD)
    lock = write_stale_lock(state, dead_pid())
    record = json.loads(lock.read_text())
    lock.write_text(json.dumps({**record, "held": False}) + "\n")
    code = ("import fcntl, os, sys\n"
            "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('ready', flush=True)\n"
            "sys.stdin.readline()\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(lock)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        done = cli("recover", str(state))
        no_traceback(done)
        assert done.returncode == 1
        if sys.platform.startswith("linux"):
            assert f"pid {holder.pid}" in done.stdout and "kernel" in done.stdout
        assert f"pid {record['pid']}" not in done.stdout
        assert "server.py" not in done.stdout
    finally:
        holder.communicate("done\n", timeout=60)


def test_a_healthy_file_with_a_dead_holders_lock_record_passes_check_and_recover(
        state: Path, cli):
    put(state, GOOD)
    write_stale_lock(state, dead_pid())
    check = run_cli("check", str(state), "-o", "json")
    no_traceback(check)
    assert check.returncode == 0, check.stdout + check.stderr
    entry = json.loads(check.stdout)["files"][0]
    assert [w["kind"] for w in entry["warnings"]] == ["stale-lock"]
    assert entry["errors"] == []
    dry = run_cli("recover", str(state))
    no_traceback(dry)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "clear-stale-lock-record" in dry.stdout  # still offered, as a warning
    assert cli("recover", str(state), "--apply").returncode == 0
    assert state.read_bytes() == GOOD


@pytest.mark.parametrize("planted", ["symlink", "fifo", "hard link"])
def test_a_lock_file_every_writer_refuses_is_a_problem_not_free(state: Path, planted: str, cli):
    state.write_text('{"a": 1}\n')
    lock = state.with_name("state.json.lock")
    if planted == "symlink":
        lock.symlink_to(state.with_name("elsewhere"))
    elif planted == "fifo":
        os.mkfifo(lock)
    else:
        state.with_name("other").write_text("{}\n")
        os.link(state.with_name("other"), lock)
    before = sorted(os.listdir(state.parent))  # names only: reading a FIFO would block
    for argv in (["recover", str(state)], ["recover", "--apply", str(state)]):
        done = cli(*argv)
        no_traceback(done)
        assert done.returncode == 1, (argv, done.stdout)
        assert "every writer refuses" in done.stdout and "remove it" in done.stdout
    done = cli("recover", str(state), "-o", "json")
    plan = json.loads(done.stdout)["plan"]
    assert done.returncode == 1
    assert len([p for p in plan["problems"] if "remove it" in p]) == 1
    assert sorted(os.listdir(state.parent)) == before
    assert state.read_text() == '{"a": 1}\n'
