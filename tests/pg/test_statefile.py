# mypy: allow-untyped-defs, allow-untyped-calls
"""StateFile on a PostgreSQL document: what only a database does (a lost connection, an outcome
the server could not report, a restart, fork). The behaviour shared with files runs on both
stores in tests/engine (the ``target`` fixture)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.parse

import psycopg
import pytest

import stateview
from stateview import StateError, _group_commit
from stateview._store import CommitUnknown

SLOW_COMMIT = """
CREATE FUNCTION stateview_test_slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.data::text LIKE '%"slow"%' THEN PERFORM pg_sleep(30); END IF;
    RETURN NEW;
END $$;
CREATE CONSTRAINT TRIGGER slow AFTER UPDATE ON stateview_documents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION stateview_test_slow();
"""


def _stored(server, name):
    raw = server.psql(f"SELECT data FROM stateview_documents WHERE name = '{name}'")
    return json.loads(raw)


def test_exclusive_on_a_url_is_refused_naming_why(pg_url):
    with pytest.raises(StateError, match="exclusive=True is for files"):
        stateview.open(pg_url, default={}, exclusive=True)


def test_a_commit_whose_outcome_is_unknown_reloads_what_the_database_holds(private_server):
    """The backend dies inside COMMIT (a deferred trigger keeps it there): CommitUnknown,
    memory goes back, and the next operation reconnects and loads whatever the database
    holds."""
    state = stateview.open(private_server.url("doc"), default={"n": 1})
    private_server.psql(SLOW_COMMIT)
    def kill_when_waiting():
        for _ in range(300):  # up to 30 s
            pid = private_server.psql("SELECT pid FROM pg_stat_activity WHERE "
                                      "wait_event = 'PgSleep' LIMIT 1")
            if pid:
                private_server.psql(f"SELECT pg_terminate_backend({pid})")
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_when_waiting)
    killer.start()
    with pytest.raises(CommitUnknown) as info:
        state["slow"] = True
    killer.join(60)
    assert "may or may not" in str(info.value)
    assert state.snapshot() == {"n": 1}  # memory went back to the last known version
    state["n"] = 2  # reconnects by itself, reloads, commits
    assert _stored(private_server, "doc") == {"n": 2}
    state.close()


def test_writers_get_clear_errors_while_the_server_is_down_and_resume_after(private_server):
    state = stateview.open(private_server.url("doc"), default={"n": 0}, lock_timeout=2)
    state["n"] = 1
    private_server.stop_immediate()
    with pytest.raises(stateview.StorageError) as info:
        state["n"] = 2
    assert "doc" in str(info.value)
    assert state["n"] == 1  # nothing acknowledged, nothing kept in memory
    private_server.start()
    state["n"] = 3
    assert _stored(private_server, "doc") == {"n": 3}
    state.close()


def test_a_forked_child_uses_a_connection_of_its_own_and_leaves_the_parents_alone(pg_url):
    state = stateview.open(pg_url, default={"n": 0})
    state["n"] = 1
    parent_backend = state._store._conn.info.backend_pid
    pid = os.fork()
    if pid == 0:  # the child: commit through a connection of its own
        code = 1
        try:
            state["child"] = True
            code = 0 if state._store._conn.info.backend_pid != parent_backend else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    state["n"] = 2  # the parent's session still works
    assert state._store._conn.info.backend_pid == parent_backend
    assert state.snapshot() == {"n": 2, "child": True}
    state.close()


def test_threads_held_off_by_a_write_share_the_next_one(pg_url):
    """Group commit on a row lock: a commit ends the lock, so threads that mutate while a batch
    is being written wait for it to end; the next leader waits for them, and one write carries
    their commits (eight threads make far fewer writes than mutations). Nothing is lost."""
    from stateview._postgres import PostgresStore

    threads, per_thread = 8, 10
    state = stateview.open(pg_url, default={"t": {str(i): -1 for i in range(threads)}})
    with PostgresStore(pg_url) as store:
        before = store.load().version
    start = threading.Barrier(threads)

    def work(i):
        start.wait()
        for j in range(per_thread):
            state["t"][str(i)] = j

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    state.close()
    with PostgresStore(pg_url) as store:
        snap = store.load()
    writes = snap.version - before
    print(f"group commit on PostgreSQL: {threads * per_thread} mutations in {writes} writes")
    assert 1 <= writes < threads * per_thread / 2
    assert json.loads(snap.data) == {"t": {str(i): per_thread - 1 for i in range(threads)}}


def test_a_child_forked_while_another_thread_waits_on_the_server_can_still_write(pg_url):
    """A thread of the parent inside a store call (here waiting for another writer's row
    lock) holds the store's statement mutex when the process forks. The child has no such
    thread: the mutex must not stay taken there, or the child's first write hangs."""
    from stateview._postgres import PostgresStore

    state = stateview.open(pg_url, default={"n": 0}, lock_timeout=30)
    other = PostgresStore(pg_url)
    other.lock(5)  # another writer holds the row
    waiting = threading.Thread(target=state.__setitem__, args=("n", 1))
    waiting.start()
    with psycopg.connect(other.url.conninfo, autocommit=True) as watch:
        while not watch.execute("SELECT count(*) FROM pg_locks WHERE NOT granted"
                                ).fetchone()[0]:  # until the thread waits on the server
            waiting.join(0.01)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
            signal.alarm(20)  # a hang (the bug) ends the child with exit code 3
            state["child"] = True
            code = 0
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    other.unlock()  # the child (and the parent's thread) may have the row now
    _, status = os.waitpid(pid, 0)
    waiting.join()
    assert os.waitstatus_to_exitcode(status) == 0
    assert json.loads(other.load().data) == {"n": 1, "child": True}  # both writes landed
    other.close()
    state.close()


def test_an_autocommit_waits_no_longer_than_lock_timeout_for_a_row_another_session_holds(
        pg_url):
    """An autocommit made without the lock still waits for the row another writer's open
    transaction holds: ``lock_timeout`` seconds, then LockTimeout naming that session, with
    memory and the database as they were. Once it ends, the next autocommit lands on what
    it committed."""
    state = stateview.open(pg_url, default={"n": 1}, lock_timeout=0.5)
    conninfo, name = pg_url.split("#", 1)
    name = urllib.parse.unquote(name)
    with psycopg.connect(conninfo, application_name="a DBA's psql") as other:
        other.execute("SELECT version FROM stateview_documents WHERE name = %s FOR UPDATE",
                      (name,))
        with pytest.raises(stateview.LockTimeout) as info:
            state["n"] = 2
        assert "a DBA's psql" in str(info.value)
        assert state.snapshot() == {"n": 1}
        other.execute("UPDATE stateview_documents SET data = '{\"n\": 5}', "
                      "version = version + 1 WHERE name = %s", (name,))
    state["m"] = 1
    assert _stored_url(pg_url) == {"n": 5, "m": 1}
    state.close()


def _stored_url(url):
    conninfo, name = url.split("#", 1)
    with psycopg.connect(conninfo) as conn:
        return conn.execute("SELECT data FROM stateview_documents WHERE name = %s",
                            (urllib.parse.unquote(name),)).fetchone()[0]


def _stale_writer_of_a_document_created_again(pg_url, pg_server):
    """A writer at version 2 of a document a DBA then deleted and another writer created
    again (numbered after the history, so version 2 once more)."""
    name = urllib.parse.unquote(pg_url.split("#", 1)[1])
    stale = stateview.open(pg_url, default={"who": "first", "n": 0})
    stale["n"] = 1
    pg_server.psql(f"DELETE FROM stateview_documents WHERE name = '{name}'")
    stateview.open(pg_url, default={"who": "second", "kept": True}).close()
    return stale


def test_a_document_deleted_by_hand_and_created_again_is_not_overwritten_by_a_stale_writer(
        pg_url, pg_server):
    """A DBA deletes the row and another writer creates the document again: it is numbered
    after the history, which holds the versions before the deleted one's, so it takes the
    deleted one's number. A writer whose memory holds that number must not take the new
    document for the one it knew: its autocommit lands on the new document."""
    stale = _stale_writer_of_a_document_created_again(pg_url, pg_server)
    stale["n"] = 2
    assert _stored_url(pg_url) == {"who": "second", "kept": True, "n": 2}
    stale.close()


def test_a_transaction_on_a_document_deleted_by_hand_and_created_again_sees_the_new_one(
        pg_url, pg_server):
    """The same under the lock: the freshness check of a transaction takes the document
    created again under the deleted one's number for what it is, another writer's."""
    stale = _stale_writer_of_a_document_created_again(pg_url, pg_server)
    with stale.transaction() as root:
        assert dict(root) == {"who": "second", "kept": True}
        root["n"] = 2
    assert _stored_url(pg_url) == {"who": "second", "kept": True, "n": 2}
    stale.close()


def test_a_change_callback_of_a_replayed_mutation_commits_as_any_autocommit(pg_url,
                                                                           monkeypatch):
    """The replay of a mutation takes the lock; a change callback it runs afterwards is not
    part of the replay, and its own autocommit goes without the lock like any other."""
    monkeypatch.setattr(_group_commit, "_MAX_LOCKED_RUN", 0)
    state = stateview.open(pg_url, default={"n": 0, "seen": 0})

    def callback(event):
        if event.source == "local" and "/n" in event.pointers:
            state["seen"] = state["n"]

    state.on_change(callback)
    locks = []
    lock = state._store.lock
    monkeypatch.setattr(state._store, "lock", lambda *a, **k: locks.append(a) or lock(*a, **k))
    conninfo, name = pg_url.split("#", 1)
    with psycopg.connect(conninfo) as dba:  # a change by hand, with no NOTIFY: memory is stale
        dba.execute("UPDATE stateview_documents SET data = '{\"n\": 0, \"seen\": 0, "
                    "\"other\": 1}', version = version + 1 WHERE name = %s",
                    (urllib.parse.unquote(name),))
    state["n"] = 1
    assert _stored_url(pg_url) == {"n": 1, "seen": 1, "other": 1}
    assert len(locks) == 1  # the replay's; the callback's commit took none
    state.close()
