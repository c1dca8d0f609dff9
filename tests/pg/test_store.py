# mypy: allow-untyped-defs, allow-untyped-calls
"""PostgresStore against a real server, from one process: the Store contract."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
import traceback

import pytest

from stateview import CommitFailed, LockTimeout, StorageError
from stateview._postgres import DurabilityWarning, PostgresStore, parse_url
from stateview._store import CommitUnknown, Store, VersionConflict

from .helpers import ROOT, dumps, report, spawn


@pytest.fixture
def store(pg_url):
    with PostgresStore(pg_url, backups=2) as store:
        yield store


def test_a_postgres_store_is_a_store(store):
    assert isinstance(store, Store)


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_url_names_connection_and_document(scheme):
    url = parse_url(f"{scheme}://bob:secret@db.example:6543/app?sslmode=require#my%20state")
    assert url.conninfo == f"{scheme}://bob:secret@db.example:6543/app?sslmode=require"
    assert url.document == "my state"
    assert "secret" not in url.shown and url.shown.startswith(f"{scheme}://bob:***@")


def test_url_without_document_says_how_to_name_one():
    with pytest.raises(ValueError, match="name the document after '#'"):
        parse_url("postgresql://u:pw@h/db")
    with pytest.raises(ValueError) as info:
        parse_url("postgresql://u@h/db?password=hunter2#")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(("url", "document"), [
    # A password the user did not percent-encode: libpq reads it all the same.
    ("postgresql://bob:pa/hunter2@h/db#doc", "doc"),
    ("postgresql://bob:pa#hunter2@h/db#doc", "doc"),
    ("postgresql://bob:pa?hunter2@h/db#doc", "doc"),
    ("postgresql://bob:pa@hunter2@h/db#doc", "doc"),
    # libpq decodes a parameter's name as it decodes its value.
    ("postgresql://bob@h/db?pass%77ord=hunter2&sslmode=disable#doc", "doc"),
    ("postgresql://bob@h/db?sslmode=disable&password=pa#hunter2#doc", "doc"),
])
def test_a_password_with_any_character_is_hidden(url, document):
    parsed = parse_url(url)
    assert parsed.document == document
    assert "hunter2" not in parsed.shown and "***" in parsed.shown
    assert parsed.shown.endswith("#doc")


def test_a_document_named_with_a_hash_writes_it_percent_encoded():
    assert parse_url("postgresql://h/db#a%23b").document == "a#b"
    assert parse_url("postgresql://u:pw@h:5/db?sslmode=disable#d").shown == \
        "postgresql://u:***@h:5/db?sslmode=disable#d"


def test_a_password_libpq_cannot_decode_is_not_in_the_error_of_open(tmp_path):
    import stateview

    with pytest.raises(stateview.StateError) as info:
        stateview.open("postgresql://bob:p%zzhunter2@/db?host=/nonexistent#doc")
    # What a traceback would print: each exception of the chain (not the source lines).
    shown = "".join("".join(traceback.format_exception_only(e)) for e in _chain(info.value))
    assert "invalid percent-encoded token" in shown
    assert "hunter2" not in shown


@pytest.mark.parametrize("url", [
    "postgresql:///db?host=/tmp/\udcff#doc",  # a command line that is not UTF-8
    "postgresql:///db#\udcff",
    "postgresql:///db#%ff",  # would be U+FFFD, as %fe would
])
def test_a_url_that_is_not_utf8_is_refused(url):
    with pytest.raises(ValueError, match="not UTF-8"):
        parse_url(url)
    assert parse_url("postgresql:///db#%C3%A9").document == "é"


def _chain(e):
    while e is not None:
        yield e
        e = e.__cause__ if e.__cause__ is not None else (
            None if e.__suppress_context__ else e.__context__)


def test_a_missing_document_loads_as_no_version(store):
    snap = store.load()
    assert (snap.version, snap.data) == (None, None)


def test_commit_creates_then_advances_the_version(store):
    v1 = store.commit(dumps({"a": 1}), None)
    v2 = store.commit(dumps({"a": 2}), v1)
    assert v2 != v1
    snap = store.load()
    assert (snap.version, snap.data) == (v2, dumps({"a": 2}))
    assert snap.writer is not None and snap.writer.program


def test_the_stored_text_is_the_committed_bytes(store):
    data = '{\n  "z": "é \\u0000",\n  "a": [1.50, 2]\n}\n'.encode()
    store.commit(data, None)
    assert store.load().data == data


def test_load_of_a_known_version_skips_the_data(store):
    version = store.commit(dumps({"a": 1}), None)
    assert store.load(known=version).data is None
    assert store.load(known=version).version == version


def test_commit_against_a_stale_version_conflicts_and_changes_nothing(store, pg_url):
    v1 = store.commit(dumps({"a": 1}), None)
    with PostgresStore(pg_url) as other:
        v2 = other.commit(dumps({"a": 2}), v1)
    with pytest.raises(VersionConflict) as info:
        store.commit(dumps({"a": 3}), v1)
    assert info.value.current == v2 and info.value.expected == v1
    assert "nothing was written" in str(info.value)
    assert store.load().data == dumps({"a": 2})


def test_creating_an_existing_document_conflicts(store):
    store.commit(dumps({"a": 1}), None)
    with pytest.raises(VersionConflict):
        store.commit(dumps({"a": 9}), None)
    assert store.load().data == dumps({"a": 1})


def test_history_keeps_the_last_n_versions_newest_first(store):
    version = None
    for i in range(5):
        version = store.commit(dumps({"i": i}), version)
    assert [s.data for s in store.history()] == [dumps({"i": 3}), dumps({"i": 2})]


def test_no_backups_keeps_no_history(pg_url):
    with PostgresStore(pg_url, backups=0) as store:
        v = store.commit(dumps({"i": 0}), None)
        store.commit(dumps({"i": 1}), v)
        assert store.history() == []


def test_lock_sees_the_latest_commit_and_commit_ends_it(store, pg_url):
    v1 = store.commit(dumps({"n": 1}), None)
    with PostgresStore(pg_url) as other:
        v2 = other.commit(dumps({"n": 2}), v1)
    snap = store.lock(timeout=5, known=v1)
    assert (snap.version, snap.data) == (v2, dumps({"n": 2}))
    store.commit(dumps({"n": 3}), snap.version)
    with PostgresStore(pg_url) as other:
        other.lock(timeout=1)  # free again
        other.unlock()


def test_a_held_lock_times_out_others_naming_the_holder(store, pg_url):
    store.commit(dumps({}), None)
    store.lock(timeout=5)
    with PostgresStore(pg_url) as other:
        started = time.monotonic()
        with pytest.raises(LockTimeout) as info:
            other.lock(timeout=0.3)
        assert time.monotonic() - started < 5
    holder = info.value.holder
    assert holder["pid"] == __import__("os").getpid() and holder["host"]
    assert f"pid {holder['pid']}" in str(info.value)
    store.unlock()


def test_lockers_of_a_document_not_created_yet_take_turns(store, pg_url):
    assert store.lock(timeout=5).version is None
    with PostgresStore(pg_url) as other:
        with pytest.raises(LockTimeout):
            other.lock(timeout=0.3)
        version = store.commit(dumps({"first": True}), None)
        snap = other.lock(timeout=5)
        assert (snap.version, snap.data) == (version, dumps({"first": True}))
        other.unlock()


def test_unlock_frees_the_row_for_another_writer_and_changes_nothing(store, pg_url):
    version = store.commit(dumps({}), None)
    store.lock(timeout=5)
    store.unlock()
    with PostgresStore(pg_url) as other:
        assert other.lock(timeout=5).version == version  # LockTimeout if still held
        other.unlock()
    assert (store.load().version, store.load().data) == (version, dumps({}))


def test_watch_announces_another_process_commit_not_our_own(store, pg_url):
    v1 = store.commit(dumps({"n": 1}), None)
    seen: list[object] = []
    arrived = threading.Event()

    def on_commit(version):
        seen.append(version)
        if version != v1:
            arrived.set()

    unsubscribe = store.watch(on_commit)
    assert store._watcher is not None and store._watcher.wait_listening(10)
    v2 = store.commit(dumps({"n": 2}), store.load().version)
    out = report(spawn("commit", pg_url, '{"n": 3}\n'))
    assert arrived.wait(10), seen
    assert out[-1]["version"] in seen
    # Our own commit is not announced; only the first call, the version current when the
    # watcher connected, may name it. Versions are compared, never computed with.
    assert v2 not in seen[1:], seen
    unsubscribe()


def test_synchronous_commit_off_warns_at_connect(pg_server):
    url = pg_server.conninfo + "&options=-csynchronous_commit%3Doff#warned"
    with pytest.warns(DurabilityWarning, match="synchronous_commit=off"), \
            PostgresStore(url) as store:
        store.load()


def test_libpq_options_choose_the_schema_of_the_tables(pg_server):
    pg_server.psql("CREATE SCHEMA IF NOT EXISTS elsewhere")
    url = pg_server.conninfo + "&options=-csearch_path%3Delsewhere#placed"
    with PostgresStore(url) as store:
        store.commit(dumps({"where": "elsewhere"}), None)
    assert pg_server.psql("SELECT data FROM elsewhere.stateview_documents "
                          "WHERE name = 'placed'") == '{"where": "elsewhere"}'


def test_an_unreachable_server_is_a_storage_error_naming_the_url():
    with PostgresStore("postgresql://nobody:pw@/db?host=/nonexistent#doc",
                       connect_timeout=1) as store:
        with pytest.raises(StorageError) as info:
            store.load()
        assert "connecting" in str(info.value) and "pw" not in str(info.value)
        with pytest.raises(CommitFailed) as commit_info:
            store.commit(dumps({}), None)
        assert not isinstance(commit_info.value, CommitUnknown)
        # What an autocommit meets when the server is down: one message, the URL said once.
        message = str(commit_info.value)
        assert message.count("#doc") == 1 and message.count("while connecting") == 1, message
        assert "nothing was changed" in message


def test_a_terminated_idle_connection_is_replaced_before_the_next_commit(store, pg_server):
    v1 = store.commit(dumps({"n": 1}), None)
    pid = store._conn.info.backend_pid
    assert pg_server.psql(f"SELECT pg_terminate_backend({pid})") == "t"
    time.sleep(0.2)
    v2 = store.commit(dumps({"n": 2}), v1)  # no CommitUnknown: nothing was sent on it
    assert store.load().version == v2
    assert store._conn.info.backend_pid != pid


def test_without_psycopg_the_error_names_the_extra():
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from stateview._postgres import PostgresStore\n"
            "PostgresStore('postgresql://u@h/db#doc')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "pip install 'stateview[postgres]'" in result.stderr
    assert "StorageError" in result.stderr


def test_naming_a_url_does_not_import_the_driver():
    code = ("import sys\n"
            "from stateview._postgres import is_store_url, parse_url\n"
            "assert is_store_url('postgres://h/db#d') and not is_store_url('state.json')\n"
            "parse_url('postgresql://h/db#d')\n"
            "assert 'psycopg' not in sys.modules\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def _terminate(pg_server, store):
    pid = store._conn.info.backend_pid
    assert pg_server.psql(f"SELECT pg_terminate_backend({pid})") == "t"


def test_a_lock_lost_with_its_connection_fails_the_commit_changing_nothing(store, pg_server):
    v1 = store.commit(dumps({"n": 1}), None)
    snap = store.lock(timeout=5)
    _terminate(pg_server, store)
    time.sleep(0.2)
    with pytest.raises(CommitFailed) as info:
        store.commit(dumps({"n": 2}), snap.version)
    assert not isinstance(info.value, CommitUnknown)
    assert "nothing was changed" in str(info.value)
    assert store.load().version == v1  # and the next call connected again
    store.lock(timeout=1)
    store.unlock()


def test_a_connection_lost_while_committing_says_the_outcome_is_unknown(store, pg_url,
                                                                       pg_server):
    v1 = store.commit(dumps({"n": 1}), None)
    outcome: list[BaseException] = []
    with PostgresStore(pg_url) as holder:
        holder.lock(timeout=5)  # the commit below waits for this row lock, in flight
        store.load()

        def commit():
            try:
                store.commit(dumps({"n": 2}), v1)
            except BaseException as e:
                outcome.append(e)

        writer = threading.Thread(target=commit)
        writer.start()
        backend = store._conn.info.backend_pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and pg_server.psql(
                f"SELECT wait_event_type FROM pg_stat_activity WHERE pid = {backend}") != "Lock":
            time.sleep(0.05)
        assert pg_server.psql(f"SELECT pg_terminate_backend({backend})") == "t"
        writer.join(10)
        holder.unlock()
    assert len(outcome) == 1 and isinstance(outcome[0], CommitUnknown), outcome
    assert "may or may not have been made" in str(outcome[0])
    assert store.load().version == v1  # reconnected; here it was not made


def test_the_listener_warns_once_per_outage_not_at_every_retry(tmp_path):
    from stateview._postgres._watch import Watcher

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("stateview")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    # No server listens on a socket in an empty directory: every attempt fails at once.
    watcher = Watcher(f"postgresql://postgres@/postgres?host={tmp_path}", "doc", "me", 1,
                      lambda conn: None)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(
                "stateview listener" in r.getMessage() for r in records) < 4:
            time.sleep(0.05)
    finally:
        watcher.stop()
        logger.removeHandler(handler)
        logger.setLevel(level)
    tries = [r for r in records if "stateview listener" in r.getMessage()]
    assert len(tries) >= 4, "the listener did not retry"
    assert [r.levelno for r in tries].count(logging.WARNING) == 1
