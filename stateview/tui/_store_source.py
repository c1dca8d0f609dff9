"""The live view's source for a ``postgresql://...#DOC`` URL: the same reads, pushed by NOTIFY.

A file is watched by polling ``stat``; a database document is watched by the store itself
(:meth:`PostgresStore.watch`: ``LISTEN`` on a connection of its own, a call for every other
writer's commit, and one after every reconnection for what passed meanwhile). Nothing here
polls the server for new versions. Each announced version is read, parsed and diffed by the
same child process as a file's (:class:`StoreReader` is its reader), so the tree is patched
in the same way.

The status bar's facts (server, version, last writer) come from the store's own rows; a
status read that fails is how the view learns that the server went away while nobody
committed, and the banner says so until a read works again.

No Textual here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import StateError
from .._postgres._sql import DOCUMENTS
from ._load import Broken, FileStatus, VersionReader
from ._watch import FileWatcher, Signature

if TYPE_CHECKING:
    from .._postgres import PostgresStore
    from .._store import Writer

__all__ = ["CONNECT_TIMEOUT", "StoreReader", "StoreStatusReader", "StoreWatcher", "open_store"]

log = logging.getLogger("stateview")

CONNECT_TIMEOUT = 3.0
"""Seconds a read waits for the server: a dead server must not hold the view for long."""

_RESUBSCRIBE_SECONDS = 1.0
"""How long the watcher waits before trying to subscribe again when the server was down."""


def open_store(url: str) -> PostgresStore:
    from .._postgres import PostgresStore  # psycopg: only for a URL

    return PostgresStore(url, connect_timeout=CONNECT_TIMEOUT)


def writer_record(writer: Writer | None) -> dict[str, Any]:
    """A store's :class:`Writer` as the lock record's ``last_commit`` dict the UI shows."""
    if writer is None:
        return {}
    return {"time": writer.time, "pid": writer.pid, "host": writer.host,
            "program": writer.program}


def unreachable(error: StateError, name: str) -> str:
    """A store error in words for the banner, without the URL repeated."""
    return str(error).removeprefix(name + ": ")


class StoreReader(VersionReader):
    """Reads new versions of a database document: each read fetches only a newer version."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.store = open_store(url)
        self._version: Any = None
        self._writer: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return self.store.name

    def fetch(self) -> bytes | Broken:
        try:
            snap = self.store.load(known=self._version)
        except StateError as e:
            return Broken(f"cannot read the document: {unreachable(e, self.store.name)}")
        if snap.version is None:
            self._version = None
            return Broken(f"the document {self.store.url.document!r} does not exist in this "
                          "database (deleted?)", missing=True)
        self._writer = writer_record(snap.writer) or None
        if snap.data is None:  # the version we have: the bytes we have
            assert self._bytes is not None
            return self._bytes
        self._version = snap.version
        return snap.data

    def writer(self) -> dict[str, Any] | None:
        return self._writer


_WRITABLE = f"""
SELECT pg_is_in_recovery(), current_setting('transaction_read_only'), current_user,
       has_table_privilege('{DOCUMENTS}', 'UPDATE')
"""


def write_problem(store: PostgresStore) -> str | None:
    """Why a commit to the document would be refused by the server, asked up front.

    A standby, a read-only session (``default_transaction_read_only``) and a role without
    ``UPDATE`` on the table all refuse a commit only once it is sent; the person should know
    before typing. ``None`` also when the server cannot be asked (the status read says so).
    """
    import psycopg

    try:
        with psycopg.connect(store.url.conninfo, autocommit=True,
                             connect_timeout=round(CONNECT_TIMEOUT),
                             application_name="stateview ui check") as conn:
            row = conn.execute(_WRITABLE).fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    standby, read_only, user, may_update = row
    if standby:
        return "the server is a standby (read-only); edit through the primary"
    if read_only == "on":
        return "the server makes this session read-only (default_transaction_read_only)"
    if not may_update:
        return f"role {user} may not UPDATE {DOCUMENTS}"
    return None


class StoreStatusReader:
    """The status bar's facts about a database document; failures are the server's state."""

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.write_problem: str | None = None
        """Why the server would refuse an edit (asked at the first read and after an outage)."""
        self._asked = False
        self._where: str | None = None
        self._known: Any = None
        self._last: dict[str, Any] = {}
        self._version: str | None = None
        self._lock = threading.Lock()  # the watcher thread and the timer's worker both ask

    def read(self) -> FileStatus:
        """Server, version and last writer now; or, when it cannot be read, why."""
        with self._lock:
            try:
                if self._where is None:
                    self._where = _server(self.store.describe().details)  # once
                snap = self.store.load(known=self._known)
            except StateError as e:
                self._asked = False  # the server may come back as another one (a failover)
                return FileStatus(None, self._last, where=self._where or self.store.name,
                                  version=self._version,
                                  error=unreachable(e, self.store.name))
            if not self._asked:
                self.write_problem, self._asked = write_problem(self.store), True
            self._known = snap.version
            self._version = None if snap.version is None else f"version {snap.version}"
            self._last = writer_record(snap.writer)
            return FileStatus(None, self._last, where=self._where, version=self._version)


def _server(details: dict[str, Any]) -> str:
    """``PostgreSQL 18.1 at HOST:PORT, database DB`` (a socket directory for a host)."""
    host = str(details.get("host") or "?")
    where = host if host.startswith("/") else f"{host}:{details.get('port')}"
    return (f"PostgreSQL {details.get('server_version', '?')} at {where}, database "
            f"{details.get('database', '?')}")


class StoreWatcher(FileWatcher):
    """A :class:`FileWatcher` whose wake-ups are the store's notifications, not ``stat`` polls.

    It keeps the file watcher's contract: the first call comes at once, ``poke`` reads again,
    ``pause`` counts the commits announced meanwhile, ``hold`` keeps one version in flight.
    """

    def __init__(self, store: PostgresStore, on_change: Callable[[Signature], None],
                 on_waiting: Callable[[int], None] | None = None) -> None:
        # The interval is only how often the thread looks at stop(): the server is not polled.
        super().__init__(store.name, "", on_change, 0.5, on_waiting)
        self._store = store
        self._announced = 0
        self._unsubscribe: Callable[[], None] | None = None

    def stop(self, timeout: float = 2.0) -> None:
        super().stop(timeout)
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _on_commit(self, _version: Any) -> None:
        """On the store's listening thread: another writer committed (or we reconnected)."""
        self._announced += 1
        self._wake.set()

    def _subscribe(self) -> None:
        """Listen for commits; while the server is down, try again every second."""
        if self._unsubscribe is not None:
            return
        try:
            self._unsubscribe = self._store.watch(self._on_commit)
        except StateError as e:
            log.debug("%s: not listening yet: %s", self._store.name, e)

    def _run(self) -> None:
        seen = 0
        first = True
        while not self._stop.is_set():
            self._subscribe()
            forced = self._wake.is_set() or first
            self._wake.clear()
            announced = self._announced
            if self._paused:  # even a poke (after our own edit) waits for resume()
                if announced != seen:
                    self._waiting += announced - seen
                    if self._on_waiting is not None:
                        self._on_waiting(self._waiting)
                seen = announced
            elif announced != seen or forced:
                seen, first = announced, False
                try:
                    self._on_change((None, None))  # a store has no file signature
                except Exception:  # the next version may be fine: keep watching
                    log.exception("%s: handling a change failed", self.path)
            wait = self.interval if self._unsubscribe is not None else _RESUBSCRIBE_SECONDS
            self._wake.wait(wait)
