"""What ``bench_postgres.py`` runs inside each of its worker processes.

Every contender keeps the document in memory, as a server would, and on ``commit(key, n)``
sets ``clients[key]["score"] = n`` and returns once the change is durable:

* ``stateview``: ``state["clients"][k]["score"] = n`` on ``stateview.open("postgresql://...")``
  (autocommit: threads of one process share commits);
* ``stateview-txn``: the same inside ``with state.transaction()``;
* ``hand``: hand-written psycopg code, a connection per thread: ``SELECT version, data FOR
  UPDATE`` (the data only when the version is not the one in memory), change the value,
  ``json.dumps`` (compact: C-fast, not for human eyes), ``UPDATE``, ``COMMIT``;
* ``hand-indent``: the same with ``json.dumps(indent=2)``, the text stateview stores (Python's
  encoder runs in Python with ``indent``: for a 1 KB document about 150 us against 35 us);
* ``file``: ``stateview.open("state.json")`` autocommit on the local disk, for scale.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from typing import Any

import harness
import workload

CONTENDERS = ["stateview", "stateview-txn", "hand", "hand-indent", "file"]
HAND_DDL = """
CREATE TABLE IF NOT EXISTS bench_hand (
    name text PRIMARY KEY, version bigint NOT NULL, data json NOT NULL)
"""


def document(contender: str, size: str) -> str:
    """The document (row, or file name) a contender commits to at ``size``."""
    return f"{contender}-{size}"


class StateViewAuto:
    """``stateview.open(URL or path)``, autocommit."""

    def __init__(self, where: str, doc: workload.Doc) -> None:
        import stateview

        self.state = stateview.open(where, default=doc)

    def commit(self, key: str, n: int) -> None:
        self.state["clients"][key]["score"] = n

    def close(self) -> None:
        self.state.close()


class StateViewTxn(StateViewAuto):
    """One change per ``with state.transaction()``."""

    def commit(self, key: str, n: int) -> None:
        with self.state.transaction() as root:
            root["clients"][key]["score"] = n


class Hand:
    """What a user writes with psycopg: each thread its own connection and copy in memory.

    A thread of the benchmark changes one record (its key) all along, but each slice runs in
    new threads: the connection and the copy go with the key, as they would with a thread
    of a server that lives on.
    """

    def __init__(self, conninfo: str, name: str, indent: int | None = None) -> None:
        self.conninfo, self.name, self.indent = conninfo, name, indent
        self.by_key: dict[str, dict[str, Any]] = {}
        self.guard = threading.Lock()

    def _mine(self, key: str) -> dict[str, Any]:
        with self.guard:
            mine = self.by_key.get(key)
        if mine is None:
            import psycopg

            mine = {"conn": psycopg.connect(self.conninfo), "version": None, "doc": None}
            with self.guard:
                self.by_key[key] = mine
        return mine

    def commit(self, key: str, n: int) -> None:
        mine = self._mine(key)
        conn = mine["conn"]
        with conn.transaction():
            # The data only travels when another writer changed it since this copy.
            version, text = conn.execute(
                "SELECT version, CASE WHEN version = %s THEN NULL ELSE data::text END "
                "FROM bench_hand WHERE name = %s FOR UPDATE", (mine["version"], self.name),
            ).fetchone()
            doc = mine["doc"] if text is None else json.loads(text)
            doc["clients"][key]["score"] = n
            conn.execute("UPDATE bench_hand SET data = %s::json, version = %s WHERE name = %s",
                         (json.dumps(doc, indent=self.indent), version + 1, self.name))
        mine["version"], mine["doc"] = version + 1, doc

    def close(self) -> None:
        for mine in self.by_key.values():
            mine["conn"].close()


def prepare(url: str, directory: str, sizes: list[str]) -> None:
    """Create every contender's documents before anything is measured."""
    import psycopg

    import stateview

    conninfo = url.partition("#")[0]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(HAND_DDL)
        for size in sizes:
            text = json.dumps(workload.doc_for(size))
            for contender in ("hand", "hand-indent"):
                conn.execute("INSERT INTO bench_hand VALUES (%s, 1, %s::json) ON CONFLICT "
                             "(name) DO UPDATE SET data = excluded.data, version = 1",
                             (document(contender, size), text))
    for size in sizes:
        doc = workload.doc_for(size)
        for contender in ("stateview", "stateview-txn"):
            stateview.open(f"{url}-{document(contender, size)}", default=doc).close()
        stateview.open(os.path.join(directory, document("file", size) + ".json"),
                       default=doc).close()
    stateview.open(f"{url}-notify", default=workload.doc_for("1KB")).close()


class Worker:
    """One benchmark process: its contenders (opened on first use) and its counter.

    Args:
        url: ``postgresql://...#PREFIX``; documents are ``PREFIX-CONTENDER-SIZE``.
        directory: where the ``file`` contender's state files are.
        index: this process's number, which keeps its values apart from the others'.
    """

    def __init__(self, url: str, directory: str, index: int) -> None:
        self.url, self.directory = url, directory
        self.contenders: dict[tuple[str, str], Any] = {}
        self.docs: dict[str, workload.Doc] = {}
        self.counter = itertools.count(index * 10**8)

    def _contender(self, name: str, size: str) -> Any:
        c = self.contenders.get((name, size))
        if c is None:
            doc = self.docs.setdefault(size, workload.doc_for(size))
            where = f"{self.url}-{document(name, size)}"
            if name == "stateview":
                c = StateViewAuto(where, doc)
            elif name == "stateview-txn":
                c = StateViewTxn(where, doc)
            elif name in ("hand", "hand-indent"):
                c = Hand(self.url.partition("#")[0], document(name, size),
                         2 if name == "hand-indent" else None)
            else:
                c = StateViewAuto(os.path.join(self.directory, document(name, size) + ".json"),
                                  doc)
            self.contenders[(name, size)] = c
        return c

    def run(self, name: str, size: str, keys: list[str],
            seconds: float) -> tuple[float, list[float]]:
        """Commit for ``seconds`` from one thread per key; wall time and every latency."""
        c = self._contender(name, size)
        if len(keys) == 1:
            return harness._slice_one(c, keys[0], self.counter, seconds, 10**6)
        return harness._slice_many(c, keys, self.counter, seconds, 10**6)

    def watch(self, pipe: Any, timeout: float) -> dict[int, float]:
        """Follow the ``notify`` document through ``on_change``: when each value arrived.

        Says "listening" on ``pipe`` once commits reach it, then reads from it the last value
        the committer wrote, and returns once that value arrived (or after ``timeout``).
        """
        import stateview

        state = stateview.open(f"{self.url}-notify")
        arrived: dict[int, float] = {}
        last: list[int] = []
        enough = threading.Event()
        key = workload.client_key(0)

        def seen(event: Any) -> None:
            if event.source != "external":
                return
            score = state["clients"][key]["score"]
            arrived.setdefault(score, time.time())
            if last and score >= last[0]:
                enough.set()

        state.on_change(seen)
        watcher = getattr(state._store, "_watcher", None)  # LISTEN issued: commits reach us
        assert watcher is not None and watcher.wait_listening(10)
        pipe.send("listening")
        last.append(pipe.recv())
        if state["clients"][key]["score"] >= last[0]:
            enough.set()
        enough.wait(timeout)
        state.close()
        return arrived

    def notify_commits(self, count: int, gap: float) -> list[tuple[int, float, float]]:
        """Commit ``count`` values, ``gap`` apart: (value, start, return) of each."""
        import stateview

        out = []
        state = stateview.open(f"{self.url}-notify")
        record = state["clients"][workload.client_key(0)]
        try:
            for _ in range(count):
                time.sleep(gap)
                n = next(self.counter)
                started = time.time()
                record["score"] = n
                out.append((n, started, time.time()))
        finally:
            state.close()
        return out

    def close(self) -> None:
        for c in self.contenders.values():
            c.close()


def serve(conn: Any, url: str, directory: str, index: int) -> None:
    """A worker process's loop: run what the parent asks, send back the result."""
    worker = Worker(url, directory, index)
    while True:
        request = conn.recv()
        if request is None:
            break
        method, args = request
        try:
            if method == "watch":
                args = (conn, *args)
            conn.send(("ok", getattr(worker, method)(*args)))
        except Exception as e:  # reported by the parent, which stops the run
            conn.send(("error", f"{type(e).__name__}: {e}"))
    worker.close()
