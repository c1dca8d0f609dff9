"""Acceptance tests: the real ``stateview check`` command on real files.

Most malformed inputs are checked in one run (each process pays the jsonschema import), and
every case then asserts its own findings from that run's JSON report, validated against
``schemas/check-report.schema.json``; the text report of the same corpus is checked too.
"""

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
from check_helpers import ROOT, by_path, json_report, kinds, run_check

# name -> (bytes, [(kind, line, column, pointer)] expected among the errors, in order)
MALFORMED: dict[str, tuple[bytes, list[tuple[str, int | None, int | None, str | None]]]] = {
    "truncated.json": (b'{\n  "a": [1, 2', [("syntax", 2, 13, "/a/1")]),
    "empty.json": (b"", [("empty", 1, 1, "")]),
    "blank.json": (b"  \n\n", [("empty", 1, 1, "")]),
    "binary.json": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", [("encoding", 1, 1, "")]),
    "nul.json": (b"\x00\x01\x02", [("syntax", 1, 1, "")]),
    "invalid-utf8.json": (b'{\n  "name": "caf\xe9"\n}\n', [("encoding", 2, 15, "")]),
    "bom.json": (b'\xef\xbb\xbf{"a": 1}\n', [("bom", 1, 1, "")]),
    "nan.json": (b'{\n  "a": NaN\n}\n', [("nan", 2, 8, "/a")]),
    "infinity.json": (b"[1, -Infinity, Infinity]\n", [("nan", 1, 5, "/1"), ("nan", 1, 16, "/2")]),
    "overflow.json": (b'{"big": 1e999}\n', [("overflow", 1, 9, "/big")]),
    "huge-int.json": (b"[" + b"9" * 5000 + b"]", [("overflow", 1, 2, "/0")]),
    "line-comment.json": (b'{\n  // the answer\n  "a": 42\n}\n', [("syntax", 2, 3, "")]),
    "block-comment.json": (b'/* state */ {"a": 1}\n', [("syntax", 1, 1, "")]),
    "trailing-comma-object.json": (b'{"a": 1,}\n', [("syntax", 1, 9, "")]),
    "trailing-comma-array.json": (b'{"a": [1, 2,]}\n', [("syntax", 1, 13, "/a/2")]),
    "single-quotes.json": (b"{'a': 1}\n", [("syntax", 1, 2, "")]),
    "duplicate-keys.json": (
        b'{\n  "a": 1,\n  "b": {"c": 1, "c": 2},\n  "a": 3\n}\n',
        [("duplicate-key", 3, 17, "/b/c"), ("duplicate-key", 4, 3, "/a")]),
    "deep.json": (b"[" * 100_000 + b"]" * 100_000, [("depth", 1, 401, None)]),
    "deep-truncated.json": (b"[" * 100_000, [("depth", 1, 401, None),
                                              ("syntax", 1, 100_001, None)]),
    "scalar-root.json": (b"42\n", [("root", 1, 1, "")]),
    "extra-data.json": (b'{"a": 1}\n{"b": 2}\n', [("syntax", 2, 1, "")]),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Every malformed file plus the not-files, checked in one JSON run and one text run."""
    d = tmp_path_factory.mktemp("corpus")
    for name, (data, _) in MALFORMED.items():
        (d / name).write_bytes(data)
    (d / "a-directory.json").mkdir()
    (d / "dangling.json").symlink_to(d / "nowhere.json")
    (d / "loop.json").symlink_to(d / "loop.json")
    os.mkfifo(d / "fifo.json")
    (d / "plain.txt").write_text("{}")
    names = [*MALFORMED, "a-directory.json", "dangling.json", "loop.json", "fifo.json",
             "missing.json", "plain.txt/inside.json"]
    code, report = json_report(*names, cwd=d)
    text = run_check(*names, cwd=d)
    return d, code, by_path(report), text, names


@pytest.mark.parametrize("name", list(MALFORMED))
def test_each_malformed_input_is_reported_with_line_column_and_pointer(corpus, name):
    _, code, files, _, _ = corpus
    entry = files[name]
    assert code == 1 and entry["ok"] is False
    expected = MALFORMED[name][1]
    found = [(e["kind"], e["line"], e["column"], e["pointer"]) for e in entry["errors"]]
    for kind, line, column, pointer in expected:
        match = [f for f in found if f[0] == kind and f[1] == line and f[2] == column]
        assert match, (kind, line, column, found)
        if pointer is not None:
            assert match[0][3] == pointer, (match, pointer)


def test_deep_nesting_pointer_is_the_path_to_the_401st_array(corpus):
    _, _, files, _, _ = corpus
    depth = next(e for e in files["deep.json"]["errors"] if e["kind"] == "depth")
    assert depth["pointer"] == "/0" * 400


@pytest.mark.parametrize(("name", "kind", "words"), [
    ("a-directory.json", "not-a-file", "directory"),
    ("fifo.json", "not-a-file", "not a regular file"),
    ("dangling.json", "unreadable", "does not exist"),
    ("loop.json", "unreadable", "symbolic links"),
    ("missing.json", "missing", "no such file"),
    ("plain.txt/inside.json", "unreadable", "Not a directory"),
])
def test_files_that_cannot_be_read_are_reported_not_crashed_on(corpus, name, kind, words):
    # Tests run as root, for whom chmod 000 changes nothing; a directory, a FIFO (which must
    # not be opened: reading it would block), a dangling link, a link loop and a path through
    # a regular file are unreadable for everyone.
    _, _, files, _, _ = corpus
    assert kinds(files[name]) == [kind]
    assert words in files[name]["errors"][0]["message"]


def test_text_report_has_one_locatable_line_per_problem_and_a_summary(corpus):
    _, _, files, text, names = corpus
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    for name, (_, expected) in MALFORMED.items():
        for kind, line, column, _ in expected:
            assert any(ln.startswith(f"{name}:{line}:{column}: {kind}: ") for ln in lines), \
                (name, kind)
    assert lines[-1] == f"checked {len(names)} files: {len(names)} failed, 0 ok; " \
        f"{sum(len(f['errors']) for f in files.values())} problems"
    assert "\x1b[" not in text.stdout  # not a terminal: no colour
    assert max(len(ln) for ln in lines) < 1000  # deep pointers are shortened for people


def test_valid_file_without_schema_passes(tmp_path):
    (tmp_path / "state.json").write_text('{"clients": {"alice": {"score": 1}}}\n')
    result = run_check("state.json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "checked 1 file: all ok\n")


def test_valid_file_with_sibling_schema_passes_and_verbose_names_the_schema(tmp_path):
    (tmp_path / "state.json").write_text('{"n": 1}\n')
    (tmp_path / "state.schema.json").write_text('{"type": "object", "required": ["n"]}')
    result = run_check("state.json", "-v", cwd=tmp_path)
    assert result.returncode == 0
    assert "state.json: ok (schema state.schema.json)" in result.stdout


def test_sibling_schema_is_applied_by_default(tmp_path):
    (tmp_path / "state.json").write_text('{"n": "one"}\n')
    (tmp_path / "state.schema.json").write_text(
        '{"properties": {"n": {"type": "integer"}}}')
    code, report = json_report("state.json", cwd=tmp_path)
    assert code == 1
    [error] = report["files"][0]["errors"]
    assert (error["kind"], error["pointer"], error["line"], error["column"], error["rule"]) == (
        "schema", "/n", 1, 7, "type")
    assert report["files"][0]["schema"] == "state.schema.json"


def test_explicit_schema_overrides_the_sibling(tmp_path):
    (tmp_path / "state.json").write_text('{"n": 1}\n')
    (tmp_path / "state.schema.json").write_text('{"required": ["missing"]}')
    (tmp_path / "other.json").write_text('{"required": ["n"]}')
    assert run_check("state.json", "--schema", "other.json", cwd=tmp_path).returncode == 0
    assert run_check("state.json", cwd=tmp_path).returncode == 1


MANY = """\
{
  "name": 42,
  "port": 70000,
  "tags": ["ok", 7, "fine", null],
  "owner": {"email": "not an email", "age": -1},
  "extra": true
}
"""
MANY_SCHEMA = {
    "type": "object",
    "required": ["name", "version"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "port": {"type": "integer", "maximum": 65535},
        "tags": {"type": "array", "items": {"type": "string"}},
        "owner": {"type": "object", "properties": {
            "email": {"type": "string", "format": "email"},
            "age": {"type": "integer", "minimum": 0}}},
    },
}


def _pos(text: str, needle: str) -> tuple[int, int]:
    offset = text.index(needle)
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def test_every_schema_violation_is_reported_in_file_order_with_its_position(tmp_path):
    (tmp_path / "many.json").write_text(MANY)
    (tmp_path / "s.json").write_text(json.dumps(MANY_SCHEMA))
    code, report = json_report("many.json", "--schema", "s.json", cwd=tmp_path)
    assert code == 1
    got = [(e["pointer"], e["rule"], e["line"], e["column"], e["schema_path"])
           for e in report["files"][0]["errors"]]
    assert got == [
        ("", "required", 1, 1, "/required"),
        ("", "additionalProperties", 1, 1, "/additionalProperties"),
        ("/name", "type", *_pos(MANY, "42"), "/properties/name/type"),
        ("/port", "maximum", *_pos(MANY, "70000"), "/properties/port/maximum"),
        ("/tags/1", "type", *_pos(MANY, "7,"), "/properties/tags/items/type"),
        ("/tags/3", "type", *_pos(MANY, "null"), "/properties/tags/items/type"),
        ("/owner/email", "format", *_pos(MANY, '"not an'),
         "/properties/owner/properties/email/format"),
        ("/owner/age", "minimum", *_pos(MANY, "-1"), "/properties/owner/properties/age/minimum"),
    ]
    text = run_check("many.json", "--schema", "s.json", cwd=tmp_path).stdout
    line, column = _pos(MANY, "70000")
    assert f"many.json:{line}:{column}: schema: 70000 is greater than the maximum of 65535 " \
        "(at /port; rule 'maximum' at /properties/port/maximum)" in text


def test_duplicate_keys_and_schema_violations_are_reported_in_one_run(tmp_path):
    # The later duplicate is the value a lenient reader sees, so that is the one validated.
    (tmp_path / "d.json").write_text('{\n  "n": 1,\n  "n": "x"\n}\n')
    (tmp_path / "d.schema.json").write_text('{"properties": {"n": {"type": "integer"}}}')
    _, report = json_report("d.json", cwd=tmp_path)
    got = [(e["kind"], e["line"], e["column"]) for e in report["files"][0]["errors"]]
    assert got == [("duplicate-key", 3, 3), ("schema", 3, 8)]


@pytest.mark.parametrize(("schema_text", "words"), [
    ('{"type": 12}', "not a valid JSON Schema"),
    ('{"type": "object",}', "not valid JSON"),
    (None, "cannot read it"),
])
def test_an_unusable_schema_is_a_problem_with_exit_1(tmp_path, schema_text, words):
    (tmp_path / "state.json").write_text('{"n": 1}\n')
    if schema_text is not None:
        (tmp_path / "s.json").write_text(schema_text)
    code, report = json_report("state.json", "--schema", "s.json", cwd=tmp_path)
    assert code == 1
    [error] = report["files"][0]["errors"]
    assert error["kind"] == "schema-invalid" and error["file"] == "s.json"
    assert words in error["message"]


def test_a_schema_that_fails_while_applied_is_a_problem_not_a_crash(tmp_path):
    (tmp_path / "state.json").write_text('{"n": 1}\n')
    (tmp_path / "s.json").write_text('{"properties": {"n": {"$ref": "#/$defs/nowhere"}}}')
    code, report = json_report("state.json", "--schema", "s.json", cwd=tmp_path)
    assert code == 1 and kinds(report["files"][0]) == ["schema-invalid"]


def test_stdin_is_read_for_dash(tmp_path):
    ok = run_check("-", cwd=tmp_path, stdin=b'{"a": [1, 2]}')
    assert ok.returncode == 0
    code, report = json_report("-", cwd=tmp_path, stdin=b'{"a": [1, 2,]}')
    assert code == 1
    assert report["files"][0]["path"] == "<stdin>"
    assert (report["files"][0]["errors"][0]["line"], report["files"][0]["errors"][0]["column"]) \
        == (1, 13)


def test_stdin_is_validated_against_an_explicit_schema(tmp_path):
    (tmp_path / "s.json").write_text('{"items": {"type": "string"}}')
    bad = run_check("-", "--schema", "s.json", cwd=tmp_path, stdin=b'["a",\n 2]')
    assert bad.returncode == 1
    assert "<stdin>:2:2: schema: 2 is not of type 'string' (at /1;" in bad.stdout


def test_multiple_files_fail_if_any_fails_and_all_are_reported(tmp_path):
    (tmp_path / "good.json").write_text("{}")
    (tmp_path / "bad.json").write_text("{")
    result = run_check("good.json", "bad.json", "-v", cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert "good.json: ok (no schema)" in out
    assert any(ln.startswith("bad.json:1:2: syntax: unexpected end of file") for ln in out)
    assert out[-1] == "checked 2 files: 1 failed, 1 ok; 1 problem"


def test_quiet_prints_nothing_when_fine_and_only_problems_otherwise(tmp_path):
    (tmp_path / "good.json").write_text("{}")
    (tmp_path / "bad.json").write_text("[1,]")
    assert run_check("good.json", "-q", cwd=tmp_path).stdout == ""
    result = run_check("good.json", "bad.json", "-q", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "bad.json:1:4: syntax: trailing comma before ']'; remove the comma " \
        "(at /1)\n"


@pytest.mark.parametrize("args", [[], ["x.json", "-o", "xml"], ["x.json", "--color", "pink"],
                                  ["x.json", "--bogus"]])
def test_usage_errors_exit_2_without_traceback(tmp_path, args):
    result = run_check(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_colour_follows_the_flag(tmp_path):
    (tmp_path / "bad.json").write_text("[1,]")
    assert "\x1b[31m" in run_check("bad.json", "--color", "always", cwd=tmp_path).stdout
    assert "\x1b[" not in run_check("bad.json", "--color", "never", cwd=tmp_path).stdout


def _run_on_terminal(args, cwd, env):
    """Run the command with its stdout on a pseudo-terminal; return what it printed."""
    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    full_env.update(env)
    proc = subprocess.Popen([sys.executable, "-m", "stateview", "check", *args], cwd=cwd,
                            stdout=slave, stderr=subprocess.PIPE, env=full_env)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    os.close(master)
    proc.wait(timeout=60)
    errors = proc.stderr.read()
    proc.stderr.close()
    assert b"Traceback" not in errors
    return b"".join(chunks).decode()


def test_colour_on_a_terminal_unless_no_color_is_set(tmp_path):
    (tmp_path / "bad.json").write_text("[1,]")
    assert "\x1b[31m" in _run_on_terminal(["bad.json"], tmp_path, {})
    assert "\x1b[" not in _run_on_terminal(["bad.json"], tmp_path, {"NO_COLOR": "1"})


def test_control_characters_from_the_file_do_not_reach_the_terminal(tmp_path):
    (tmp_path / "esc.json").write_text('{"\\u001b[2J": 1, "\\u001b[2J": 2}')
    result = run_check("esc.json", cwd=tmp_path)
    assert result.returncode == 1 and "\x1b" not in result.stdout
    assert "\\x1b[2J" in result.stdout


def test_moderately_large_file_with_a_violation_near_the_end(tmp_path):
    doc = {"items": [{"id": i, "name": f"item {i}"} for i in range(60_000)]}
    doc["items"][-1]["id"] = "last"
    text = json.dumps(doc, indent=2)
    (tmp_path / "big.json").write_text(text)
    (tmp_path / "big.schema.json").write_text(json.dumps({"properties": {"items": {
        "items": {"properties": {"id": {"type": "integer"}}}}}}))
    code, report = json_report("big.json", cwd=tmp_path)
    assert code == 1
    [error] = report["files"][0]["errors"]
    assert error["pointer"] == "/items/59999/id"
    assert (error["line"], error["column"]) == _pos(text, '"last"')


# -- crash leftovers -------------------------------------------------------------------------

_CRASH_MID_COMMIT = """
import os, sys, stateview
from stateview._fs import FileSystem, set_default

class DieBeforeRename(FileSystem):
    def replace(self, *args):
        os._exit(9)            # power cut after the temp file was written, before the rename

state = stateview.open(sys.argv[1], default={"n": 0}, exclusive=True)
state["n"] = 1
set_default(DieBeforeRename())
state._store._fs = DieBeforeRename()  # the seam its commits and its lock go through
state["n"] = 2
"""


def _crash_mid_commit(path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _CRASH_MID_COMMIT, str(path)],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 9, proc.stderr.decode()


def test_a_crash_mid_commit_leaves_orphans_and_a_stale_lock_each_with_the_recover_command(
        tmp_path):
    _crash_mid_commit(tmp_path / "state.json")
    # The new version's temp file, and (engine detail) a link to the version it replaces.
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
    assert leftovers
    code, report = json_report("state.json", cwd=tmp_path)
    assert code == 1
    entry = report["files"][0]
    assert "orphan-temp" in kinds(entry) and kinds(entry, "warnings") == ["stale-lock"]
    for error in entry["errors"]:
        assert error["fix"] == "stateview recover state.json --apply"
        assert "`stateview recover state.json --apply`" in error["message"]
    assert sorted(e["file"] for e in entry["errors"] if e["kind"].startswith("orphan-")) \
        == leftovers
    assert [e["file"] for e in entry["warnings"] if e["kind"] == "stale-lock"] \
        == ["state.json.lock"]
    assert entry["warnings"][0]["fix"] == "stateview recover state.json --apply"
    assert kinds(entry, "notes") == ["backup"]  # backups=1 kept the previous version


def test_check_is_clean_after_recover_apply_resolves_the_crash(tmp_path):
    _crash_mid_commit(tmp_path / "state.json")
    assert run_check("state.json", cwd=tmp_path).returncode == 1
    recover = subprocess.run([sys.executable, "-m", "stateview", "recover", "state.json",
                              "--apply"], cwd=tmp_path, capture_output=True, text=True,
                             timeout=120, check=False)
    assert recover.returncode == 0, recover.stdout + recover.stderr
    result = run_check("state.json", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "checked 1 file: all ok\n")


def test_a_live_writer_makes_temp_files_commits_in_flight_not_orphans(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, stateview\n"
         "s = stateview.open(sys.argv[1], default={}, exclusive=True)\n"
         "print('ready', flush=True)\ntime.sleep(120)", str(tmp_path / "state.json")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "ready\n"
        (tmp_path / ".state.json.abc123.tmp").write_text("{}")
        code, report = json_report("state.json", cwd=tmp_path)
        assert code == 0
        assert sorted(kinds(report["files"][0], "notes")) == ["locked", "temp"]
        verbose = run_check("state.json", "-v", cwd=tmp_path).stdout
        assert f"locked exclusively by pid {holder.pid}" in verbose
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
        code, report = json_report("state.json", cwd=tmp_path)
        assert code == 1 and kinds(report["files"][0]) == ["orphan-temp"]
        assert kinds(report["files"][0], "warnings") == ["stale-lock"]
        assert "temp" not in kinds(report["files"][0], "notes")
    finally:
        holder.kill()
        holder.wait(timeout=60)
        holder.stdout.close()


def _state_with_backups(path: Path, backups: int = 2) -> None:
    import stateview

    with stateview.open(path, default={"n": 0}, backups=backups) as state:
        for n in range(1, 4):
            state["n"] = n


def test_backups_are_normal_and_shown_only_with_verbose(tmp_path):
    _state_with_backups(tmp_path / "state.json")
    plain = run_check("state.json", cwd=tmp_path)
    assert (plain.returncode, plain.stdout) == (0, "checked 1 file: all ok\n")
    verbose = run_check("state.json", "-v", cwd=tmp_path).stdout
    assert "state.json.bak: backup (note): backup generation 1" in verbose
    assert "state.json.bak.2: backup (note): backup generation 2" in verbose


def test_a_corrupt_copy_set_aside_by_recovery_is_a_warning_that_does_not_fail(tmp_path):
    import stateview

    path = tmp_path / "state.json"
    _state_with_backups(path)
    path.write_text('{"n": 3')  # torn by hand; opening heals it from the backup
    with stateview.open(path) as state:
        assert state["n"] == 2
    code, report = json_report("state.json", cwd=tmp_path)
    assert code == 0
    [warning] = report["files"][0]["warnings"]
    assert warning["kind"] == "corrupt-copy"
    assert warning["file"].startswith("state.json.corrupt-")
    text = run_check("state.json", cwd=tmp_path).stdout
    assert "corrupt-copy (warning)" in text and text.endswith("all ok, 1 warning\n")


def test_a_damaged_file_with_backups_says_how_to_restore_it(tmp_path):
    path = tmp_path / "state.json"
    _state_with_backups(path)
    path.write_text('{"n": 3')
    code, report = json_report("state.json", cwd=tmp_path)
    assert code == 1
    entry = report["files"][0]
    assert kinds(entry) == ["syntax"]
    [hint] = entry["warnings"]
    assert hint["kind"] == "recoverable" and hint["fix"] == "stateview recover state.json --apply"
    path.unlink()
    code, report = json_report("state.json", cwd=tmp_path)
    assert kinds(report["files"][0]) == ["missing"]
    assert kinds(report["files"][0], "warnings") == ["recoverable"]


def test_leftovers_are_found_beside_a_symlinks_target(tmp_path):
    (tmp_path / "data").mkdir()
    _crash_mid_commit(tmp_path / "data" / "real.json")
    (tmp_path / "link.json").symlink_to(tmp_path / "data" / "real.json")
    code, report = json_report("link.json", cwd=tmp_path)
    assert code == 1
    entry = report["files"][0]
    assert "orphan-temp" in kinds(entry) and "stale-lock" in kinds(entry, "warnings")
    assert all(e["file"].startswith(str(tmp_path / "data")) for e in entry["errors"])
    assert all(e["fix"] == "stateview recover link.json --apply" for e in entry["errors"])


def _plant_symlink(lock: Path) -> None:
    (lock.parent / "elsewhere").write_text("{}")
    lock.symlink_to(lock.parent / "elsewhere")


def _plant_hard_link(lock: Path) -> None:
    (lock.parent / "precious.conf").write_text("keep me\n")
    os.link(lock.parent / "precious.conf", lock)


UNUSABLE_LOCKS = {
    "symlink": _plant_symlink,
    "dangling-symlink": lambda lock: lock.symlink_to(lock.parent / "nowhere"),
    "fifo": lambda lock: os.mkfifo(lock),
    "hard-link": _plant_hard_link,
    "directory": lambda lock: lock.mkdir(),
}


@pytest.mark.parametrize("plant", UNUSABLE_LOCKS.values(), ids=UNUSABLE_LOCKS.keys())
def test_a_lock_file_every_writer_refuses_fails_check_with_the_writers_reason(tmp_path, plant):
    (tmp_path / "state.json").write_text('{"n": 0}\n')
    plant(tmp_path / "state.json.lock")
    setting = subprocess.run([sys.executable, "-m", "stateview", "set", "state.json", "/n", "1"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert setting.returncode == 1 and "Traceback" not in setting.stderr
    reason = setting.stderr.rsplit("taking the lock: ", 1)[1].strip()  # what the writer says
    assert "remove it" in reason
    code, report = json_report("state.json", cwd=tmp_path)
    assert code == 1
    (problem,) = report["files"][0]["errors"]
    assert (problem["kind"], problem["file"]) == ("unusable-lock", "state.json.lock")
    assert problem["message"].endswith(reason)
    text = run_check("state.json", cwd=tmp_path)
    assert text.returncode == 1
    assert text.stdout.startswith("state.json.lock: unusable-lock: every writer refuses")


def test_a_lock_file_the_writers_take_passes_check(tmp_path):
    # Another user's, or writable by all: the writers take it (and narrow its mode when they
    # may), so check does not fail it.
    (tmp_path / "state.json").write_text('{"n": 0}\n')
    lock = tmp_path / "state.json.lock"
    lock.write_text("")
    os.chmod(lock, 0o666)
    assert run_check("state.json", cwd=tmp_path).returncode == 0


# -- packaging and speed hygiene -------------------------------------------------------------

def test_check_never_imports_textual_or_rich(tmp_path):
    (tmp_path / "state.json").write_text('{"a": 1}')
    (tmp_path / "state.schema.json").write_text('{"type": "object"}')
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "stateview", "check",
                           "state.json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    modules = {ln.rsplit("|", 1)[-1].strip() for ln in proc.stderr.splitlines()
               if ln.startswith("import time:")}
    assert "stateview._check" in modules and "jsonschema" in modules  # the probe works
    heavy = {m for m in modules if m.split(".")[0] in ("textual", "rich")}
    assert not heavy


def test_pre_commit_hook_runs_the_check_command_on_json_files():
    from ruamel.yaml import YAML

    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text("utf-8"))
    [hook] = hooks
    assert hook["id"] == "stateview-check"
    assert hook["entry"] == "stateview check"
    assert hook["language"] == "python" and hook["types"] == ["json"]
    assert {"name", "description"} <= hook.keys()
