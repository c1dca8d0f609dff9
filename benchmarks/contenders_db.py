"""Database-like contenders: SQLite holding the JSON, TinyDB, pickledb, shelve.

For fairness these store what a user of each tool would store: a row (or document, or key) per
client holding that client's record, so a commit rewrites one record, not the whole document.
``sqlite-wal-doc`` shows the other way to use SQLite: the whole document in one row.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

import workload
from contenders import ATOMIC_ONLY, Contender, Durability


class _SqliteRows(Contender):
    """A table ``kv(key TEXT PRIMARY KEY, value TEXT)``: one row per client, JSON values."""

    journal = "WAL"

    def setup(self, directory: str, doc: workload.Doc) -> None:
        self.dir = directory
        # One connection shared by every thread, under the adapter's lock (per-thread
        # connections collapse under SQLite's busy-wait backoff).
        self.conn = sqlite3.connect(os.path.join(directory, "state.db"),
                                    check_same_thread=False, isolation_level=None)
        self.conn.execute(f"PRAGMA journal_mode={self.journal}")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.records: dict[str, Any] = json.loads(json.dumps(doc["clients"]))
        rows = [(k, json.dumps(v)) for k, v in self.records.items()]
        rows.append(("server", json.dumps(doc["server"])))
        self.conn.execute("BEGIN")
        self.conn.executemany("INSERT INTO kv VALUES (?, ?)", rows)
        self.conn.execute("COMMIT")

    def commit(self, key: str, n: int) -> None:
        with self.lock:
            record = self.records[key]
            record["score"] = n
            # isolation_level=None: the UPDATE is a transaction of its own, durable on return.
            self.conn.execute("UPDATE kv SET value = ? WHERE key = ?", (json.dumps(record), key))

    def close(self) -> None:
        self.conn.close()
        del self.records


class SqliteWal(_SqliteRows):
    name = "sqlite-wal"
    label = "sqlite3 WAL, FULL (row per key)"
    note = "journal_mode=WAL, synchronous=FULL; one connection shared under a lock"


class SqliteRollback(_SqliteRows):
    name = "sqlite-journal"
    label = "sqlite3 rollback journal, FULL (row per key)"
    journal = "DELETE"
    note = "journal_mode=DELETE, synchronous=FULL; one connection shared under a lock"


class SqliteWalDoc(Contender):
    name = "sqlite-wal-doc"
    label = "sqlite3 WAL, FULL (whole document in one row)"
    note = "UPDATE doc SET body = json.dumps(doc): serializes and logs the whole document"

    def setup(self, directory: str, doc: workload.Doc) -> None:
        self.dir = directory
        self.conn = sqlite3.connect(os.path.join(directory, "state.db"),
                                    check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        self.doc = json.loads(json.dumps(doc))
        self.conn.execute("INSERT INTO doc VALUES (1, ?)", (json.dumps(self.doc),))

    def commit(self, key: str, n: int) -> None:
        with self.lock:
            self.doc["clients"][key]["score"] = n
            self.conn.execute("UPDATE doc SET body = ? WHERE id = 1", (json.dumps(self.doc),))

    def close(self) -> None:
        self.conn.close()
        del self.doc


class TinyDB(Contender):
    name = "tinydb"
    label = "TinyDB (default JSONStorage)"
    # TinyDB 4.x fsyncs its file, but overwrites it in place (seek 0, write, truncate): a
    # crash mid-write leaves a torn file, and the truncate after the fsync is not synced.
    durability = Durability(fsync_data=True, fsync_dir=False, atomic=False)
    note = ("a document per client; update(doc_ids=[id]) re-reads, re-parses and rewrites "
            "the whole file in place (fsync, but not atomic)")

    def setup(self, directory: str, doc: workload.Doc) -> None:
        from tinydb import TinyDB as _TinyDB
        from tinydb.table import Document

        self.dir = directory
        self.db = _TinyDB(os.path.join(directory, "db.json"))
        self.ids: dict[str, int] = {}
        docs = []
        for i, (k, v) in enumerate(doc["clients"].items(), start=1):
            self.ids[k] = i
            docs.append(Document({"key": k, **v}, doc_id=i))
        self.db.insert_multiple(docs)
        self.db.table("server").insert(doc["server"])

    def commit(self, key: str, n: int) -> None:
        with self.lock:
            self.db.update({"score": n}, doc_ids=[self.ids[key]])

    def close(self) -> None:
        self.db.close()


class PickleDB(Contender):
    name = "pickledb"
    label = "pickledb"
    durability = ATOMIC_ONLY
    note = "a key per client; set() then save(): orjson, temp file + os.replace, no fsync"

    def setup(self, directory: str, doc: workload.Doc) -> None:
        import pickledb  # type: ignore[import-untyped]

        self.dir = directory
        self.db = pickledb.PickleDB(os.path.join(directory, "db.json"))
        self.records: dict[str, Any] = json.loads(json.dumps(doc["clients"]))
        self.db.db.update(self.records)
        self.db.db["server"] = doc["server"]
        self.db.save()

    def commit(self, key: str, n: int) -> None:
        with self.lock:
            record = self.records[key]
            record["score"] = n
            self.db.set(key, record)
            self.db.save()

    def close(self) -> None:
        del self.db, self.records


class Shelve(Contender):
    name = "shelve"
    label = "shelve"
    durability = Durability(fsync_data=False, fsync_dir=False, atomic=False)
    note = "a key per client (pickled); shelf[k] = record; sync(); no fsync, writes in place"

    def setup(self, directory: str, doc: workload.Doc) -> None:
        import dbm.dumb
        import shelve

        self.dir = directory
        path = os.path.join(directory, "shelf")
        # shelve.open picks the first dbm module the Python has: gdbm or ndbm where built,
        # dbm.sqlite3 from 3.13, whose connection refuses the worker threads. dbm.dumb is in
        # every Python and takes any thread, so every Python measures the same shelf.
        self.shelf = shelve.Shelf(dbm.dumb.open(path, "c"))  # noqa: SIM115 - for its life
        self.records: dict[str, Any] = json.loads(json.dumps(doc["clients"]))
        for k, v in self.records.items():
            self.shelf[k] = v
        self.shelf["server"] = doc["server"]
        self.shelf.sync()

    def commit(self, key: str, n: int) -> None:
        with self.lock:
            record = self.records[key]
            record["score"] = n
            self.shelf[key] = record
            self.shelf.sync()

    def close(self) -> None:
        self.shelf.close()
        del self.records


def shelve_backend() -> str:
    """The dbm module under the shelve contender (the same in every Python)."""
    return "dbm.dumb"


DB_CONTENDERS: list[type[Contender]] = [SqliteWal, SqliteRollback, SqliteWalDoc]
OTHER_CONTENDERS: list[type[Contender]] = [TinyDB, PickleDB, Shelve]
