# mypy: allow-untyped-defs, allow-untyped-calls
"""`stateview get`, `check` and `copy` on postgresql:// URLs, run for real against the server."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from stateview._postgres import PostgresStore

from .helpers import ROOT

SCHEMA = {"type": "object", "properties": {"clients": {"type": "object", "additionalProperties": {
    "type": "object", "properties": {"score": {"type": "integer", "minimum": 0}}}}}}

DOC = {"clients": {"alice": {"score": 1}, "bob": {"score": 2}}, "log": ["é"]}


def cli(*args, cwd=ROOT, prelude=""):
    """``stateview ARGS`` in a process of its own; ``prelude`` runs first (hiding psycopg)."""
    code = f"{prelude}\nimport sys\nfrom stateview.cli import main\nsys.exit(main(sys.argv[1:]))"
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                            text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return result


def put(url, text):
    with PostgresStore(url) as store:
        return store.commit(text.encode("utf-8"), store.load().version)


def stored(url):
    with PostgresStore(url) as store:
        snap = store.load()
        return None if snap.data is None else snap.data.decode("utf-8")


# -- get ---------------------------------------------------------------------------------------

def test_get_prints_a_url_documents_value_at_a_pointer(pg_url):
    put(pg_url, json.dumps(DOC))
    whole = cli("get", pg_url)
    assert whole.returncode == 0 and json.loads(whole.stdout) == DOC
    leaf = cli("get", pg_url, "/clients/bob", "--compact")
    assert (leaf.returncode, leaf.stdout) == (0, '{"score": 2}\n')
    missing = cli("get", pg_url, "/clients/carol")
    assert missing.returncode == 1 and "no key 'carol' in the object at /clients" in missing.stderr


@pytest.mark.parametrize("command", ["get", "view"])
def test_a_document_that_does_not_exist_says_how_to_create_one(pg_url, command):
    result = cli(command, pg_url)
    assert result.returncode == 1
    assert "no document named" in result.stderr and "stateview copy FILE" in result.stderr


# -- check -------------------------------------------------------------------------------------

def test_check_a_url_reports_schema_violations_with_line_and_pointer(pg_url, tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA))
    put(pg_url, '{\n  "clients": {\n    "alice": {"score": -3}\n  }\n}\n')
    result = cli("check", pg_url, "--schema", str(schema))
    assert result.returncode == 1
    shown = pg_url  # no password in the test server's URL: it is shown as given
    assert f"{shown}:3:24: schema: -3 is less than the minimum of 0" in result.stdout
    assert "(at /clients/alice/score; rule 'minimum'" in result.stdout
    put(pg_url, '{"clients": {"alice": {"score": 3}}}')
    fixed = cli("check", pg_url, "--schema", str(schema), "-v")
    assert fixed.returncode == 0, fixed.stdout
    # It says what was checked, and what does not apply to a database.
    assert "checked its stored text (strict JSON) and the schema" in fixed.stdout
    assert "crash leftovers and lock records" in fixed.stdout


def test_check_a_url_json_report_follows_the_report_schema(pg_url, tmp_path):
    import jsonschema

    put(pg_url, '{"a": 1, "a": 2}')
    result = cli("check", pg_url, "-o", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    with open(ROOT / "schemas" / "check-report.schema.json") as f:
        jsonschema.validate(report, json.load(f))
    [entry] = report["files"]
    assert entry["path"] == pg_url
    assert [p["kind"] for p in entry["errors"]] == ["duplicate-key"]
    assert [p["kind"] for p in entry["notes"]] == ["database"]


def test_check_a_missing_document_and_a_file_in_one_run(pg_url, tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"a": 1}\n')
    result = cli("check", str(good), pg_url)
    assert result.returncode == 1
    assert f"{pg_url}: missing: no document named" in result.stdout
    assert "checked 2 targets: 1 failed, 1 ok" in result.stdout


def test_check_of_a_url_counts_documents_not_files(pg_url):
    put(pg_url, '{"a": 1}')
    result = cli("check", pg_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checked 1 document: all ok" in result.stdout


# -- errors on any command ---------------------------------------------------------------------

@pytest.mark.parametrize("command", [["get"], ["check"], ["set", "/a", "1"], ["delete", "/a"],
                                     ["view"]])
def test_a_url_without_a_document_is_a_usage_error(pg_server, command):
    url = pg_server.conninfo  # no #DOCUMENT
    result = cli(command[0], url, *command[1:])
    assert result.returncode == 2
    assert "name the document after '#'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["get"], ["view"], ["copy", "-", "out.json"]])
def test_a_server_that_is_down_is_one_line_and_exit_1(tmp_path, command):
    url = "postgresql://postgres@/postgres?host=/nonexistent-socket-dir#doc"
    args = [a if a != "-" else url for a in command[1:]] if len(command) > 1 else [url]
    result = cli(command[0], *args, cwd=tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("stateview: error: ") and "failed while connecting" in line
    assert "/nonexistent-socket-dir" in line


def test_a_role_the_server_refuses_is_named(pg_server):
    url = pg_server.url("doc").replace("postgres@", "nobody@", 1)
    result = cli("get", url)
    assert result.returncode == 1
    assert 'role "nobody" does not exist' in result.stderr


@pytest.mark.parametrize("url", [
    "postgresql://postgres:hunter2@/postgres?host=/nonexistent#doc",
    # not percent-encoded: libpq takes the password all the same
    "postgresql://postgres:x/hunter2@/postgres?host=/nonexistent#doc",
    "postgresql://postgres:x#hunter2@/postgres?host=/nonexistent#doc",
    "postgresql:///postgres?host=/nonexistent&pass%77ord=hunter2#doc",
])
def test_a_password_is_never_shown(url):
    for args in (["get", url], ["check", url], ["view", url], ["copy", url, "x.json"]):
        result = cli(*args)
        assert result.returncode == 1, args
        assert "failed while connecting" in result.stderr + result.stdout
        assert "hunter2" not in result.stderr + result.stdout


def test_without_psycopg_a_url_names_the_extra_to_install(pg_url, tmp_path):
    hide = "import sys; sys.modules['psycopg'] = None"
    for args in (["get", pg_url], ["check", pg_url], ["copy", pg_url, "x.json"]):
        result = cli(*args, cwd=tmp_path, prelude=hide)
        assert result.returncode == 1, args
        assert "pip install 'stateview[postgres]'" in result.stdout + result.stderr, args


# -- copy --------------------------------------------------------------------------------------

def test_copy_file_to_url_and_back_keeps_the_document(pg_url, tmp_path):
    src = tmp_path / "state.json"
    src.write_text(json.dumps(DOC, ensure_ascii=False))
    there = cli("copy", str(src), pg_url)
    assert there.returncode == 0, there.stderr
    assert "copied" in there.stdout and "version 1" in there.stdout
    # Stored as the engine writes a file: 2-space indent, UTF-8, a trailing newline.
    assert stored(pg_url) == json.dumps(DOC, indent=2, ensure_ascii=False) + "\n"
    back = tmp_path / "back.json"
    result = cli("copy", pg_url, str(back))
    assert result.returncode == 0, result.stderr
    assert json.loads(back.read_text()) == DOC
    assert back.read_text() == stored(pg_url)
    assert (tmp_path / "back.json.lock").exists()  # written through the file engine


def test_copy_refuses_an_existing_destination_and_writes_nothing(pg_url, tmp_path):
    src = tmp_path / "state.json"
    src.write_text('{"new": true}')
    put(pg_url, '{"old": true}')
    result = cli("copy", str(src), pg_url)
    assert result.returncode == 1
    assert result.stderr.startswith("stateview: error: destination: ")
    assert "holds a document already (last written by pid" in result.stderr
    assert "--force" in result.stderr
    assert json.loads(stored(pg_url)) == {"old": True}
    dst = tmp_path / "dst.json"
    dst.write_text('{"mine": 1}')
    result = cli("copy", pg_url, str(dst))
    assert result.returncode == 1 and "holds a document already" in result.stderr
    assert dst.read_text() == '{"mine": 1}'


def test_copy_force_replaces_and_keeps_the_previous_version_as_a_backup(pg_url, tmp_path):
    src = tmp_path / "state.json"
    src.write_text('{"new": true}')
    put(pg_url, '{"old": true}')
    assert cli("copy", str(src), pg_url, "--force").returncode == 0
    assert json.loads(stored(pg_url)) == {"new": True}
    with PostgresStore(pg_url, backups=1) as store:
        [previous] = store.history()
    assert json.loads(previous.data) == {"old": True}
    dst = tmp_path / "dst.json"
    dst.write_text('{"mine": 1}\n')
    assert cli("copy", pg_url, str(dst), "--force").returncode == 0
    assert json.loads(dst.read_text()) == {"new": True}
    assert (tmp_path / "dst.json.bak").read_text() == '{"mine": 1}\n'


def test_copy_checks_the_schema_beside_the_file_and_names_the_pointer(pg_url, tmp_path):
    src = tmp_path / "state.json"
    src.write_text('{"clients": {"alice": {"score": -1}}}')
    (tmp_path / "state.schema.json").write_text(json.dumps(SCHEMA))
    result = cli("copy", str(src), pg_url)
    assert result.returncode == 1
    assert result.stderr.startswith("stateview: error: source: ")
    assert "/clients/alice/score" in result.stderr and "minimum" in result.stderr
    assert stored(pg_url) is None


def test_copy_of_a_url_to_a_file_checks_the_destinations_schema_too(pg_url, tmp_path):
    put(pg_url, '{"clients": {"bob": {"score": "high"}}}')
    (tmp_path / "dst.schema.json").write_text(json.dumps(SCHEMA))
    result = cli("copy", pg_url, str(tmp_path / "dst.json"))
    assert result.returncode == 1 and "/clients/bob/score" in result.stderr
    assert not (tmp_path / "dst.json").exists()


def test_copy_of_a_broken_file_names_its_line_and_column(pg_url, tmp_path):
    src = tmp_path / "state.json"
    src.write_text('{\n  "a": 1,\n  "b": NaN\n}\n')
    result = cli("copy", str(src), pg_url)
    assert result.returncode == 1
    assert result.stderr.startswith(f"stateview: error: source: {src}:3:8: NaN")
    assert stored(pg_url) is None


def test_copy_between_two_urls(pg_server, pg_url):
    put(pg_url, json.dumps(DOC))
    other = pg_url + "-copy"
    assert cli("copy", pg_url, other).returncode == 0
    assert json.loads(stored(other)) == DOC
    same = cli("copy", pg_url, pg_url)
    assert same.returncode == 2 and "both the source and the destination" in same.stderr


def test_copy_of_a_scalar_document_is_refused(pg_url, tmp_path):
    src = tmp_path / "state.json"
    src.write_text("42\n")
    result = cli("copy", str(src), pg_url)
    assert result.returncode == 1 and "root is a number" in result.stderr


# -- set and delete ----------------------------------------------------------------------------

def test_set_and_delete_on_a_url_make_one_commit_each_and_keep_history(pg_url):
    put(pg_url, json.dumps(DOC))
    assert cli("set", pg_url, "/clients/carol", '{"score": 3}').returncode == 0
    assert cli("delete", pg_url, "/clients/alice").returncode == 0
    assert json.loads(stored(pg_url))["clients"] == {"bob": {"score": 2}, "carol": {"score": 3}}
    with PostgresStore(pg_url, backups=1) as store:
        [previous] = store.history()
        assert store.load().version == 3
    assert "carol" in json.loads(previous.data)["clients"]


def test_set_on_a_url_is_refused_by_the_schema_and_names_the_pointer(pg_url, tmp_path):
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps(SCHEMA))
    put(pg_url, json.dumps(DOC))
    result = cli("set", pg_url, "/clients/bob/score", "-1", "--schema", str(schema))
    assert result.returncode == 1
    assert "/clients/bob/score" in result.stderr and "minimum" in result.stderr
    assert json.loads(stored(pg_url)) == DOC


def test_set_on_a_url_whose_document_does_not_exist_is_refused(pg_url):
    result = cli("set", pg_url, "/a", "1")
    assert result.returncode == 1 and "no such document" in result.stderr
    assert stored(pg_url) is None


def test_recover_on_a_url_is_a_usage_error_that_points_to_check(pg_url):
    result = cli("recover", pg_url)
    assert result.returncode == 2
    assert "recover is for state files" in result.stderr and "stateview check URL" in result.stderr


def test_a_server_that_would_lose_commits_is_one_warning_line(pg_url):
    put(pg_url, json.dumps(DOC))
    # The session's own setting, through libpq's options: what the store checks at connect.
    url = pg_url.replace("?", "?options=-csynchronous_commit%3Doff&", 1)
    result = cli("get", url, "/log")
    assert result.returncode == 0 and json.loads(result.stdout) == ["é"]
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("stateview: warning: ") and "synchronous_commit=off" in line


_COUNTER = """
import os, sys, time, stateview
url, stop = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 60
with stateview.open(url) as state:
    for _ in range(20_000):
        if os.path.exists(stop) or time.monotonic() > deadline:
            break
        with state.transaction() as root:
            root["counter"] += 1
        time.sleep(0.005)
"""


def test_set_expect_is_a_compare_and_set_against_a_writer_committing_meanwhile(pg_url, tmp_path):
    put(pg_url, json.dumps({"counter": 0}))
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", _COUNTER, pg_url, str(stop)], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True)
    try:
        seen = json.loads(cli("get", pg_url, "/counter").stdout)
        deadline = time.monotonic() + 30
        while json.loads(stored(pg_url))["counter"] == seen and time.monotonic() < deadline:
            time.sleep(0.01)
        stale = cli("set", pg_url, "/counter", "-1", "--expect", json.dumps(seen))
        assert stale.returncode == 1, stale.stderr
        assert "/counter is " in stale.stderr and "nothing was written" in stale.stderr
        assert json.loads(stored(pg_url))["counter"] > seen  # the writer's commits stand
    finally:
        stop.touch()
        _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    now = json.loads(cli("get", pg_url, "/counter").stdout)
    assert cli("set", pg_url, "/counter", "-1", "--expect", json.dumps(now)).returncode == 0
    assert json.loads(stored(pg_url))["counter"] == -1
    # The same rule as the UI's: 1, 1.0 and true are different values.
    wrong = cli("delete", pg_url, "/counter", "--expect", "-1.0")
    assert wrong.returncode == 1 and json.loads(stored(pg_url))["counter"] == -1


def test_a_password_in_the_url_is_not_stored_with_the_writers_command_line(pg_url, pg_server):
    put(pg_url, json.dumps(DOC))
    # The test server trusts its socket: the password is accepted and never checked.
    url = pg_url.replace("postgres@", "postgres:hunter2@", 1)
    assert cli("set", url, "/open", "true").returncode == 0
    document = pg_url.rsplit("#", 1)[1]
    program = pg_server.psql(f"SELECT writer_program FROM stateview_documents "
                             f"WHERE name = '{document}'")
    assert "set" in program and "/open" in program
    assert "hunter2" not in program and "postgres:***@" in program


def test_a_wrong_password_is_one_line_without_the_password(private_server):
    private_server.psql("ALTER ROLE postgres PASSWORD 'right-one'")
    (private_server.data / "pg_hba.conf").write_text("local all all scram-sha-256\n")
    private_server.psql("SELECT pg_reload_conf()")
    url = private_server.url("doc").replace("postgres@", "postgres:wrong-one@", 1)
    for args in (["get", url], ["view", url], ["set", url, "/a", "1"]):
        result = cli(*args)
        assert result.returncode == 1, args
        [line] = result.stderr.strip().splitlines()
        assert 'password authentication failed for user "postgres"' in line, args
        assert "wrong-one" not in line and "postgres:***@" in line
    right = cli("check", url.replace("wrong-one", "right-one"))
    assert right.returncode == 1 and "missing: no document named 'doc'" in right.stdout


@pytest.mark.parametrize(("url", "reason"), [
    ("postgresql://u:secret@[::1/db#doc", 'matching "]" in IPv6 host address'),
    ("postgresql://u:secret@h/db?nosuchparam=1#doc", 'invalid URI query parameter: "nosuchparam"'),
    ("postgresql://u:secret@h/db%zz#doc", 'invalid percent-encoded token'),
    # libpq quotes the token it cannot decode: here, the password itself
    ("postgresql://u:%zzsecret@h/db#doc", 'invalid percent-encoded token'),
])
def test_a_url_libpq_cannot_parse_is_a_usage_error_without_its_password(url, reason):
    for args in (["get", url], ["check", url], ["copy", url, "x.json"], ["view", url]):
        result = cli(*args)
        assert result.returncode == 2, args
        [line] = result.stderr.strip().splitlines()
        assert "not a connection URI libpq accepts" in line and reason in line
        assert "secret" not in line


def test_a_url_that_is_not_utf8_is_a_usage_error(tmp_path):
    src = tmp_path / "s.json"
    src.write_text("{}")
    for url in ("postgresql:///db?host=/nonexist\udcffent#doc", "postgresql:///db#\udcff"):
        for args in (["get", url], ["copy", str(src), url], ["check", url]):
            result = cli(*args)  # the argument reaches the process as the byte 0xff
            assert result.returncode == 2, (args, result.stderr)
            assert "not UTF-8" in result.stderr


def test_a_tools_commit_keeps_what_it_replaced_in_slot_0_and_deletes_nothing(pg_url, tmp_path):
    import stateview

    with stateview.open(pg_url, default={"n": 0}, backups=5) as state:
        for n in range(1, 7):  # versions 2 to 7; the history holds 2 to 6 in slots 2,3,4,0,1
            state["n"] = n
    assert numbers(pg_url) == [5, 4, 3, 2, 1]
    assert cli("set", pg_url, "/n", "100").returncode == 0
    # Version 7 (n=6) takes slot 0 from version 5 (n=4); the other four stay.
    assert numbers(pg_url) == [6, 5, 3, 2, 1]
    src = tmp_path / "s.json"
    src.write_text('{"n": 200}')
    assert cli("copy", str(src), pg_url, "--force").returncode == 0
    assert numbers(pg_url) == [100, 5, 3, 2, 1]
    with stateview.open(pg_url, backups=5) as state:
        state["n"] = 300  # version 9 (n=200) goes to slot 4, pushing out version 4 (n=3)
    assert numbers(pg_url) == [200, 100, 5, 2, 1]


def test_backups_0_writes_no_history_and_leaves_what_is_there(pg_url):
    import stateview

    with stateview.open(pg_url, default={"n": 0}, backups=3) as state:
        for n in range(1, 4):
            state["n"] = n
    assert numbers(pg_url) == [2, 1, 0]
    with stateview.open(pg_url, backups=0) as state:
        state["n"] = 4
        state["n"] = 5
    assert numbers(pg_url) == [2, 1, 0]
    assert cli("get", pg_url, "/n").stdout.strip() == "5"


def numbers(url):
    """The history's versions of ``{"n": N}``, newest first, as the N they held."""
    return [json.loads(data)["n"] for data in history(url)]


def history(url):
    with PostgresStore(url, backups=1000) as store:
        return [snap.data for snap in store.history()]


def test_a_role_with_select_insert_and_update_only_is_enough(pg_server, pg_url):
    """The README's grant: stateview never deletes a row (the history reuses its slots)."""
    import os
    from urllib.parse import quote

    import stateview

    with stateview.open(pg_url, default={"n": 0}):
        pass  # the tables exist
    role = f"sv_writer_{os.getpid()}"
    pg_server.psql(f"CREATE ROLE {role} LOGIN; GRANT SELECT, INSERT, UPDATE ON "
                   "stateview_documents, stateview_history TO " + role)
    try:
        as_role = pg_url.replace("postgresql://postgres@", f"postgresql://{quote(role)}@", 1)
        assert as_role != pg_url
        with stateview.open(as_role, backups=2) as state:
            for n in range(1, 5):
                state["n"] = n
        assert cli("set", as_role, "/n", "9").returncode == 0
        # The tool's commit put version 5 (n=4) in slot 0, over version 4 (n=3).
        assert numbers(pg_url)[:2] == [4, 2]
        assert cli("get", as_role, "/n").stdout.strip() == "9"
    finally:
        pg_server.psql(f"REVOKE ALL ON stateview_documents, stateview_history FROM {role}; "
                       f"DROP ROLE {role}")
