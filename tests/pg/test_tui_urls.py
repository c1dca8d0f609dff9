# mypy: allow-untyped-defs, allow-untyped-calls
"""The live UI on a postgresql:// URL, driven by the pilot against the real server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
from textual.widgets import Input

from stateview._postgres import PostgresStore
from stateview.tui.screens.conflict import ConflictScreen
from stateview.tui.screens.editor import EditorScreen
from stateview.tui.widgets.banner import Banner
from stateview.tui.widgets.feed import ChangeFeed
from stateview.tui.widgets.status import StatusBar
from tests.tui._helpers import drive, labels, loaded_once_more, make_app, wait_until

from .helpers import ROOT

DOC = {"clients": {"alice": {"score": 1}, "bob": {"score": 2}}, "open": True}

# Another replica: a locked read-modify-write through the store, in a process of its own.
_COMMIT = """
import json, sys
from stateview._postgres import PostgresStore
with PostgresStore(sys.argv[1]) as store:
    snap = store.lock(timeout=30)
    doc = json.loads(snap.data)
    for pointer, value in json.loads(sys.argv[2]).items():
        *parents, last = pointer.strip("/").split("/")
        node = doc
        for p in parents:
            node = node[p]
        node[last] = value
    store.commit((json.dumps(doc, indent=2) + "\\n").encode(), snap.version)
print(__import__("os").getpid())
"""


async def commit_elsewhere(url, changes) -> int:
    """Commit ``changes`` ({pointer: value}) from another process; its pid."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _COMMIT, url, json.dumps(changes), cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return int(out)


def create(url, doc=DOC):
    with PostgresStore(url) as store:
        store.commit((json.dumps(doc, indent=2) + "\n").encode(), None)


def stored(url):
    with PostgresStore(url) as store:
        return json.loads(store.load().data)


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
        time.sleep(0.01)
"""


async def saved(pilot, app, before):
    try:
        await wait_until(pilot, lambda: app.saves > before, "the save to be committed")
    except AssertionError:
        errors = [str(w.render()) for w in app.screen.query("#error")]
        raise AssertionError(f"not saved; on {app.screen}: {errors}") from None


def status_text(app) -> str:
    return app.query_one(StatusBar).render().plain


def test_another_replicas_commit_shows_up_with_new_keys_in_an_open_object(pg_url):
    create(pg_url)
    app = make_app(pg_url, highlight_seconds=60)

    async def scenario(pilot):
        app.go_to("/clients/alice/score")  # opens /clients and /clients/alice
        await pilot.pause()
        before = app.loads
        pid = await commit_elsewhere(pg_url, {"/clients/alice/score": 5,
                                              "/clients/carol": {"score": 9}})
        await loaded_once_more(pilot, app, before)
        rows = labels(app)
        assert "▼ clients {3}" in rows and "score: 5" in rows
        assert any(row.startswith("▶ carol") for row in rows), rows  # added to an open object
        assert app.json_tree._changed >= {("clients", "alice", "score"), ("clients", "carol")}
        [entry] = app.query_one(ChangeFeed).entries
        assert {c.pointer for c in entry.changes} == {"/clients/alice/score", "/clients/carol"}
        assert entry.pid == pid  # the writer recorded in the row of that very version
        # The status bar names the server, the version and the last writer.
        await wait_until(pilot, lambda: "version 2" in status_text(app), "version 2 shown")
        text = status_text(app)
        assert "PostgreSQL" in text and "database postgres" in text
        assert f"by pid {pid}" in text

    drive(app, scenario)


def test_versions_arrive_by_notify_not_by_polling_the_server(pg_url, pg_server):
    # A row changed by hand in SQL, without a notification, is not seen however long the
    # view runs; the notification alone brings it. (How a DBA's hand edit is made visible
    # is in the README: pg_notify on the stateview_commits channel.)
    create(pg_url)
    app = make_app(pg_url)
    document = pg_url.rsplit("#", 1)[1]

    async def scenario(pilot):
        listeners = pg_server.psql("SELECT count(*) FROM pg_stat_activity WHERE "
                                   "application_name = 'stateview listener'")
        assert int(listeners) >= 1
        before = app.loads
        pg_server.psql(f"UPDATE stateview_documents SET version = version + 1, "
                       f"data = '{{\"open\": false}}' WHERE name = '{document}'")
        await pilot.pause(1.5)
        assert app.loads == before and app.json_tree.document == DOC
        pg_server.psql(f"SELECT pg_notify('stateview_commits', json_build_object("
                       f"'document', '{document}', 'version', 3)::text)")
        await loaded_once_more(pilot, app, before)
        assert app.json_tree.document == {"open": False}

    drive(app, scenario)


def test_a_server_that_goes_down_shows_a_banner_and_the_view_recovers(private_server):
    url = private_server.url("doc")
    create(url)
    app = make_app(url)

    async def scenario(pilot):
        banner = app.query_one(Banner)
        private_server.stop_immediate()
        await wait_until(pilot, lambda: banner.has_class("-shown"), "the banner", timeout=30)
        assert "the server cannot be reached" in str(banner.render())
        assert app.readonly_reason is not None and "server" in app.readonly_reason
        assert app.json_tree.document == DOC  # the last version read stays on screen
        private_server.start()
        await wait_until(pilot, lambda: not banner.has_class("-shown"), "the banner to go",
                         timeout=30)
        assert app.readonly_reason is None
        before = app.loads
        await commit_elsewhere(url, {"/open": False})
        await loaded_once_more(pilot, app, before)
        assert app.json_tree.document["open"] is False

    drive(app, scenario)


def test_an_edit_saves_while_another_replica_keeps_committing(pg_url, tmp_path):
    create(pg_url, {**DOC, "counter": 0})
    app = make_app(pg_url)
    stop = tmp_path / "stop"

    async def scenario(pilot):
        writer = subprocess.Popen([sys.executable, "-c", _COUNTER, pg_url, str(stop)],
                                  cwd=ROOT, stderr=subprocess.PIPE)
        try:
            await wait_until(pilot, lambda: stored(pg_url)["counter"] > 0, "the writer")
            app.go_to("/clients/bob/score")
            await pilot.press("e")
            assert isinstance(app.screen, EditorScreen)
            await pilot.press("ctrl+u", *"42", "enter")
            await saved(pilot, app, 0)
            assert stored(pg_url)["clients"]["bob"]["score"] == 42  # committed when "saved"
            counted = stored(pg_url)["counter"]
            await wait_until(pilot, lambda: stored(pg_url)["counter"] > counted,
                             "the writer to go on")
        finally:
            stop.touch()
            _, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err.decode()
        assert stored(pg_url)["clients"]["bob"]["score"] == 42  # no writer overwrote it

    drive(app, scenario)


def test_an_edit_that_conflicts_with_another_writer_gets_the_conflict_dialog(pg_url):
    create(pg_url)
    app = make_app(pg_url)

    async def scenario(pilot):
        app.go_to("/clients/bob/score")
        await pilot.press("e")
        assert isinstance(app.screen, EditorScreen)
        assert app.screen.query_one("#field", Input).value == "2"
        await commit_elsewhere(pg_url, {"/clients/bob/score": 40})
        await pilot.press("ctrl+u", *"8", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        why = str(app.screen.query_one("#why").render())
        assert "/clients/bob/score changed since you saw it" in why
        assert "40" in str(app.screen.query_one("#theirs").query_one("Static").render())
        assert app.screen.query_one("#theirs").border_title == "theirs (in the document now)"
        await pilot.press("t")  # keep theirs: nothing written
        await pilot.pause()
        assert stored(pg_url)["clients"]["bob"]["score"] == 40
        with PostgresStore(pg_url) as store:
            assert store.load().version == 2
        # Once more, and this time overwrite with mine.
        await pilot.press("e")
        await commit_elsewhere(pg_url, {"/clients/bob/score": 41, "/open": False})
        await pilot.press("ctrl+u", *"8", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        await pilot.press("o")
        await saved(pilot, app, 0)
        doc = stored(pg_url)
        assert doc["clients"]["bob"]["score"] == 8 and doc["open"] is False

    drive(app, scenario)


def test_a_read_only_server_session_turns_editing_off_before_typing(pg_url):
    create(pg_url)
    url = pg_url.replace("?", "?options=-cdefault_transaction_read_only%3Don&", 1)
    app = make_app(url)

    async def scenario(pilot):
        await wait_until(pilot, lambda: app.readonly_reason is not None, "read-only said")
        assert "default_transaction_read_only" in app.readonly_reason
        assert "read-only: the server makes this session read-only" in status_text(app)
        app.go_to("/open")
        await pilot.press("e")
        await pilot.pause()
        assert not isinstance(app.screen, EditorScreen)

    drive(app, scenario)


def test_readonly_flag_on_a_url_is_said_in_the_status_bar(pg_url):
    create(pg_url)
    app = make_app(pg_url, readonly=True)

    async def scenario(pilot):
        assert app.readonly_reason == "opened with --readonly"
        await wait_until(pilot, lambda: "read-only: opened with --readonly" in status_text(app),
                         "the status bar")

    drive(app, scenario)


def test_the_reader_process_is_not_given_the_url_on_its_command_line(pg_url):
    import os

    from stateview.tui._childreader import ChildReader
    from stateview.tui._load import Loaded

    if not os.path.exists("/proc/self/cmdline"):
        pytest.skip("reads the child's command line from /proc (Linux)")
    create(pg_url)
    url = pg_url.replace("postgres@", "postgres:hunter2@", 1)  # any user may read argv (ps)
    reader = ChildReader(url)
    try:
        assert isinstance(reader.read(), Loaded)
        assert reader._proc is not None
        with open(f"/proc/{reader._proc.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        assert b"hunter2" not in cmdline and b"postgresql" not in cmdline
    finally:
        reader.close()


def test_p_pauses_a_urls_view_counting_notified_commits_and_resumes_on_the_newest(pg_url):
    from stateview.tui.widgets.banner import PauseBanner

    create(pg_url)
    app = make_app(pg_url)

    async def scenario(pilot):
        await pilot.press("p")
        banner = app.query_one(PauseBanner)
        loads = app.loads
        for n in (1, 2, 3):
            await commit_elsewhere(pg_url, {"/clients/bob/score": 10 + n})
            await wait_until(pilot, lambda: f"{n} commit" in str(banner.render()),  # noqa: B023
                             f"the banner to count {n}")
        assert app.loads == loads and app.json_tree.document == DOC
        await pilot.press("p")
        await loaded_once_more(pilot, app, loads)
        assert not banner.has_class("-shown")
        assert app.json_tree.document["clients"]["bob"]["score"] == 13
        [entry] = app.query_one(ChangeFeed).entries  # one version: the one shown -> the newest
        assert [(c.pointer, c.old, c.new) for c in entry.changes] == [
            ("/clients/bob/score", 2, 13)]

    drive(app, scenario)
