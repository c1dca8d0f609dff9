"""Hiding passwords: only a password of a postgresql:// URL is hidden, wherever it is shown.

The URL's own messages (``parse_url(...).shown``), and a writer's command line: the lock
record and the database row name the program that committed last, and the UI's change feed,
its status bar and the CLI's messages print it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from check_helpers import run_check

from stateview._postgres import parse_url
from stateview._postgres._url import hide_password, hide_url_passwords


@pytest.mark.parametrize("url", [
    # an '@' in a parameter is not the end of a userinfo, with or without one before it
    "postgresql://me@/db?host=/sock&user=me@srv#doc",
    "postgresql:///db?host=/sock&user=me@srv#doc",
    "postgresql://db.example:5432/app?options=-c%20x=a:b@c#doc",
    "postgresql://h:5/db?user=a@b#doc",
    "postgresql://me@h/db?options=-c%20a%3Db@c#doc",
])
def test_a_url_without_a_password_is_shown_whole(url):
    assert hide_password(url) == url
    assert parse_url(url).shown == url


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://me:hunter2@h/db?user=a@b#doc", "postgresql://me:***@h/db?user=a@b#doc"),
    ("postgresql://me:hunter2@h?user=a@b#doc", "postgresql://me:***@h?user=a@b#doc"),
    ("postgresql://me:hunter2@/db?host=/sock&user=me@srv#doc",
     "postgresql://me:***@/db?host=/sock&user=me@srv#doc"),
    ("postgresql:///db?password=hunter2&user=me@srv#doc",
     "postgresql:///db?password=***&user=me@srv#doc"),
    ("postgresql://h?password=hunter2&user=me@srv#doc",
     "postgresql://h?password=***&user=me@srv#doc"),
    ("postgresql://me:p/hunter2@h/db?user=a@b#doc", "postgresql://me:***@h/db?user=a@b#doc"),
    ("postgresql://me:p@hunter2@h/db#doc", "postgresql://me:***@h/db#doc"),
])
def test_only_the_password_is_hidden_when_a_parameter_holds_an_at_sign(url, shown):
    assert parse_url(url).shown == shown


def test_every_url_in_a_command_line_loses_its_password_and_nothing_else():
    line = ("stateview copy postgresql://me:hunter2@db/app#state state.json "
            "POSTGRES://u@h/d?password=hunter2&user=x@y#d --force")
    assert hide_url_passwords(line) == (
        "stateview copy postgresql://me:***@db/app#state state.json "
        "POSTGRES://u@h/d?password=***&user=x@y#d --force")
    assert hide_url_passwords("worker --port 5432 user@host") == "worker --port 5432 user@host"


WRITER = """
import sys, stateview
with stateview.open(sys.argv[1]) as state, state.transaction() as root:
    root["n"] = 1
"""


@pytest.mark.parametrize(("argument", "recorded"), [
    ("postgresql://me:hunter2@db/app#state", "postgresql://me:***@db/app#state"),
    # an option's value (--db=URL) is as much a URL as an argument of its own
    ("--db=postgresql://me:hunter2@db/app#state", "--db=postgresql://me:***@db/app#state"),
    # one argument: a password with a space in it is still the URL's
    ("postgresql://me:hunter2 x@db/app#state", "postgresql://me:***@db/app#state"),
])
def test_a_writer_with_a_url_in_its_command_line_records_it_without_the_password(
        tmp_path, argument, recorded):
    path = tmp_path / "state.json"
    path.write_text("{}")
    subprocess.run([sys.executable, "-c", WRITER, str(path), argument], check=True,
                   timeout=60)
    program = json.loads((tmp_path / "state.json.lock").read_text())["last_commit"]["program"]
    assert "hunter2" not in program and recorded in program, program


def test_a_url_given_as_an_options_value_loses_its_password_in_the_lock_record(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("{}")
    subprocess.run([sys.executable, "-c", WRITER, str(path),
                    "--db=postgresql://me:hunter2@db/app#state"], check=True, timeout=60)
    program = json.loads((tmp_path / "state.json.lock").read_text())["last_commit"]["program"]
    assert "hunter2" not in program and "--db=postgresql://me:***@db/app#state" in program


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait(timeout=60)
    return proc.pid


def test_check_names_a_lock_holder_without_the_password_its_command_line_held(tmp_path):
    (tmp_path / "state.json").write_text("{}")
    # As an older version recorded a holder that then died: its whole command line.
    (tmp_path / "state.json.lock").write_text(json.dumps({
        "pid": dead_pid(), "host": os.uname().nodename, "held": True,
        "program": "worker postgresql://me:hunter2@db/app#state", "since": "2026-01-02T03:04:05Z",
    }))
    result = run_check("-v", "state.json", cwd=tmp_path)
    assert "stale" in result.stdout or "stale" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "postgresql://me:***@db/app#state" in result.stdout + result.stderr


def test_recover_shows_a_lock_records_program_without_the_password(tmp_path):
    (tmp_path / "state.json").write_text("{}")
    (tmp_path / "state.json.lock").write_text(json.dumps({
        "pid": dead_pid(), "host": os.uname().nodename, "held": True,
        "program": "worker postgresql://me:hunter2@db/app#state", "since": "2026-01-02T03:04:05Z",
    }))
    result = subprocess.run([sys.executable, "-m", "stateview", "recover", "state.json",
                             "-o", "json"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    programs = [item["holder"]["program"] for item in json.loads(result.stdout)["plan"]["items"]
                if item.get("holder")]
    assert programs == ["worker postgresql://me:***@db/app#state"]
    text = subprocess.run([sys.executable, "-m", "stateview", "recover", "state.json"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert "hunter2" not in text.stdout + text.stderr
    assert "(worker postgresql://me:***@db/app#state)" in text.stdout
