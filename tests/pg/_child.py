"""Writer processes for the PostgreSQL tests: ``python -m tests.pg._child COMMAND ARGS...``.

Each prints one JSON object per line, flushed, so that a parent that kills it knows exactly
what was acknowledged. Every loop is bounded by a count and a time limit.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from stateview._errors import StateError
from stateview._postgres import PostgresStore
from stateview._store import CommitUnknown


def say(**what: Any) -> None:
    sys.stdout.write(json.dumps(what) + "\n")
    sys.stdout.flush()


def dumps(doc: Any) -> bytes:
    return (json.dumps(doc) + "\n").encode("utf-8")


def incr(url: str, times: str) -> None:
    """Add 1 to /counter ``times`` times, each a locked read-modify-write."""
    with PostgresStore(url) as store:
        for _ in range(int(times)):
            snap = store.lock(timeout=60)
            assert snap.data is not None
            doc = json.loads(snap.data)
            doc["counter"] += 1
            store.commit(dumps(doc), snap.version)
    say(done=True)


def append(url: str, tag: str, seconds: str, limit: str, pause: str = "0",
           stop_file: str = "") -> None:
    """Append TAG-i to /log in locked transactions, reporting each outcome.

    Errors are reported and the loop goes on (the store reconnects by itself), until
    ``limit`` acknowledged commits, ``seconds`` have passed, or ``stop_file`` exists.
    """
    deadline = time.monotonic() + float(seconds)
    acked = 0
    seq = 0
    with PostgresStore(url, connect_timeout=2) as store:
        while (acked < int(limit) and time.monotonic() < deadline
               and not (stop_file and os.path.exists(stop_file))):
            seq += 1
            item = f"{tag}-{seq}"
            try:
                snap = store.lock(timeout=10)
            except StateError as e:
                say(error=str(e), kind=type(e).__name__)
                time.sleep(0.05)
                continue
            assert snap.data is not None
            doc = json.loads(snap.data)
            doc["log"].append(item)
            say(locked=item)
            time.sleep(float(pause))
            try:
                version = store.commit(dumps(doc), snap.version)
            except CommitUnknown as e:
                say(unknown=item, error=str(e))
                continue
            except StateError as e:
                say(failed=item, error=str(e), kind=type(e).__name__)
                time.sleep(0.05)
                continue
            acked += 1
            say(ack=item, version=version, t=time.time())
    say(done=True)


def commit(url: str, text: str) -> None:
    """Commit ``text`` over whatever version is there."""
    with PostgresStore(url) as store:
        snap = store.load()
        say(version=store.commit(text.encode("utf-8"), snap.version))


def interrupted(url: str) -> None:
    """Interrupt (SIGINT) a StateFile's commit while the server holds it up, then commit
    again: reports the first commit's outcome and the second's."""
    import signal
    import threading

    import psycopg

    import stateview
    from stateview._postgres import _sql

    # A process started in the background of a shell ignores SIGINT: raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    state = stateview.open(url, default={"n": 0})
    state["n"] = 1
    conninfo = state._store.url.conninfo
    blocker = psycopg.connect(conninfo)  # holds the commit's history insert up
    blocker.execute(f"LOCK TABLE {_sql.HISTORY} IN EXCLUSIVE MODE")

    def interrupt() -> None:
        with psycopg.connect(conninfo, autocommit=True) as look:
            while not look.execute("SELECT count(*) FROM pg_locks WHERE NOT granted"
                                   ).fetchone()[0]:  # until the commit waits on the server
                time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt).start()
    try:
        state["n"] = 2
        say(first="committed")
    except KeyboardInterrupt:
        say(first="interrupted")
    blocker.rollback()
    try:
        state["n"] = 3
        say(second="committed")
    except StateError as e:
        say(second=f"{type(e).__name__}: {e}")
    state.close()


if __name__ == "__main__":
    commands = {"incr": incr, "append": append, "commit": commit, "interrupted": interrupted}
    commands[sys.argv[1]](*sys.argv[2:])
