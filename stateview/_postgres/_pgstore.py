"""PostgresStore: one document in a PostgreSQL row (see ``stateview._store`` for the contract).

    lock     BEGIN; SELECT ... FOR UPDATE        (a missing document: an advisory lock)
    commit   UPDATE ... WHERE version = expected  (+ history, + NOTIFY) ; COMMIT
    unlock   ROLLBACK
    load     SELECT (autocommit)
    watch    LISTEN on a connection of its own (``_watch.Watcher``)

A commit is acknowledged only after ``COMMIT`` returned: PostgreSQL has then flushed it to its
WAL (with ``synchronous_commit`` on, which ``_connect.connect`` checks) and delivers
its notification. A statement the server refuses fails the commit with nothing changed
(:class:`CommitFailed`); a connection lost once the commit was sent leaves the outcome unknown,
and :class:`CommitUnknown` says so. A connection found dead before anything is sent is
replaced first; a lost one is dropped, and the next call connects again.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .._errors import CommitFailed, LockTimeout, StorageError
from .._store import CommitUnknown, Snapshot, StoreStatus, VersionConflict, Writer
from . import _sql
from ._connect import (
    HOST,
    DurabilityWarning,
    alive,
    connect,
    connection_lost,
    os_error,
    program,
    require_psycopg,
)
from ._url import StoreURL, parse_url

if TYPE_CHECKING:
    from ._watch import Watcher

try:
    import psycopg
    from psycopg import errors as pg_errors
except ImportError:  # pragma: no cover - exercised by a test that hides psycopg
    psycopg = None  # type: ignore[assignment]

__all__ = ["DurabilityWarning", "PostgresStore", "require_psycopg"]

log = logging.getLogger("stateview")

_APP = re.compile(r"^stateview (\d+)@(\S*) ?(.*)$")


def _writer(pid: Any, host: Any, prog: Any, time: Any) -> Writer | None:
    if pid is None and host is None and prog is None:
        return None
    return Writer(pid=pid, host=host, program=prog, time=time)


class PostgresStore:
    """One document of a PostgreSQL database, as a :class:`~stateview._store.Store`.

    Args:
        url: ``postgresql://USER@HOST:PORT/DB?PARAMS#DOCUMENT`` (or ``postgres://``).
        backups: how many previous versions the history table keeps.
        connect_timeout: seconds to wait for the server at each (re)connection.
    """

    def __init__(self, url: str, *, backups: int = 1, connect_timeout: float = 10.0) -> None:
        if backups < 0:
            raise ValueError("backups must be 0 or more")
        self.url: StoreURL = parse_url(url)
        require_psycopg(self.url.shown)
        self.backups = backups
        self.connect_timeout = connect_timeout
        self.lock_timeout = 10.0  # seconds a commit made without the lock waits for the row
        self.origin = secrets.token_hex(8)  # tells the watcher which commits are ours
        #: (version, commit id) of the row as last read or written: a commit against that
        #: version expects that commit id too (a version number repeats when a deleted row
        #: is created again).
        self._seen: tuple[Any, str] | None = None
        self._pid = os.getpid()
        self._program = program()
        self._conn: psycopg.Connection[Any] | None = None
        self._locked = False
        self._lock_timeout: int | None = None  # ms, as set on the current connection
        self._mutex = threading.RLock()  # one statement at a time on the connection
        self._watcher: Watcher | None = None
        self._closed = False

    # -- Store -------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.url.shown

    def load(self, known: Any = None) -> Snapshot:
        with self._mutex:
            if self._locked:
                with self._failing("reading the document", StorageError):
                    return self._select(_sql.SELECT, known)
            snap: Snapshot = self._retrying("reading the document", lambda: self._load(known))
            return snap

    def lock(self, timeout: float, known: Any = None) -> Snapshot:
        with self._mutex:
            if self._locked:  # the row is ours already: what it holds now
                with self._failing("reading the document", StorageError):
                    return self._select(_sql.SELECT, known)
            snap: Snapshot = self._retrying("locking the document",
                                            lambda: self._lock(timeout, known))
            return snap

    def unlock(self) -> None:
        with self._mutex:
            if self._locked:
                self._rollback()

    def commit(self, data: bytes, expected: Any) -> Any:
        with self._mutex:
            params = self._params(data, expected)
            conn = self._connection_for_commit()
            statement = _sql.CREATE if expected is None else _sql.COMMIT
            sent_commit = not self._locked  # in autocommit the statement commits itself
            try:
                row = conn.execute(statement, params).fetchone()
                if self._locked:
                    # If it matched no row, committing nothing is harmless (and ends the
                    # lock as a rollback would). Not pipelined with the statement: psycopg's
                    # pipeline mode stalled with a megabyte parameter.
                    sent_commit = True
                    conn.commit()
            except psycopg.Error as e:
                self._after_failed_commit(e, sent_commit)
            except BaseException:
                # Interrupted (KeyboardInterrupt ...): the driver cancelled the statement and
                # left its transaction aborted on the connection; end it, or the next lock
                # cannot begin one.
                self._rollback()
                raise
            finally:
                self._locked = False
            if row is None:
                raise self._conflict(expected)
            self._seen = (row[0], params["commit"])
            return row[0]

    def watch(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        with self._mutex:
            if self._watcher is None:
                from ._watch import Watcher

                # The first connection creates the tables the watcher reads.
                self._retrying("connecting", self._connection)

                self._watcher = Watcher(self.url.conninfo, self.url.document, self.origin,
                                        self.connect_timeout, self._current_version)
            return self._watcher.add(callback)

    def history(self) -> list[Snapshot]:
        def read() -> list[Any]:
            conn = self._connection()
            with conn.transaction():
                return conn.execute(_sql.HISTORY_ROWS, {"name": self.url.document,
                                                        "limit": self.backups}).fetchall()

        with self._mutex:
            rows = self._retrying("reading the history", read)
        return [Snapshot(r[0], r[1].encode("utf-8"), _writer(*r[2:])) for r in rows]

    def describe(self) -> StoreStatus:
        with self._mutex:
            snap = self.load(known=None)
            assert self._conn is not None
            info = self._conn.info
            server = f"{info.server_version // 10000}.{info.server_version % 10000}"
            host = info.host if info.host.startswith("/") else f"{info.host}:{info.port}"
        return StoreStatus(
            where=f"PostgreSQL {server} at {host}, database {info.dbname}, "
                  f"document {self.url.document!r}",
            version=None if snap.version is None else f"version {snap.version}",
            last_writer=snap.writer,
            details={"server_version": server, "host": info.host, "port": info.port,
                     "database": info.dbname, "document": self.url.document},
        )

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            watcher, self._watcher = self._watcher, None
            conn, self._conn = self._conn, None
            self._locked = False
        if watcher is not None:
            watcher.stop()
        if conn is not None:
            conn.close()  # a transaction still open is rolled back by the server

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PostgresStore {self.name}>"

    # -- the connection ----------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        """The live connection, connecting (again) if there is none."""
        if self._closed:
            from .._errors import Closed
            raise Closed(f"{self.name}: the store is closed")
        if self._pid != os.getpid():
            # A forked child must not speak on its parent's socket: it gets its own.
            self._conn, self._watcher, self._locked, self._pid = None, None, False, os.getpid()
        if self._conn is not None and alive(self._conn):
            return self._conn
        if self._conn is not None:
            self._conn.close()
        self._conn, self._locked = None, False
        self._conn = connect(self.url.conninfo, self.connect_timeout, self.name)
        self._lock_timeout = None
        return self._conn

    def _connection_for_commit(self) -> psycopg.Connection[Any]:
        if self._locked:
            assert self._conn is not None
            if not alive(self._conn):  # its transaction, and the lock, died with it
                conn, self._conn, self._locked = self._conn, None, False
                conn.close()
                raise CommitFailed(self.name, "committing", ConnectionError(
                    errno.ECONNRESET, "the connection was lost while the lock was held, "
                    "and its transaction with it"))
            return self._conn
        try:
            conn = self._connection()
            conn.autocommit = True
            # A row locked by another writer's transaction holds the UPDATE up: for as
            # long as a lock() would wait, then LockTimeout.
            self._set_lock_timeout(conn, self.lock_timeout)
        except StorageError as e:  # nothing was sent: nothing changed
            # The driver's words, not the StorageError's (which names the URL again).
            raise CommitFailed(self.name, "connecting", ConnectionError(
                e.errno, e.strerror) if e.strerror else os_error(e)) from e
        except psycopg.Error as e:
            self._drop_if_broken()
            raise CommitFailed(self.name, "connecting", os_error(e)) from e
        return conn

    def _set_lock_timeout(self, conn: psycopg.Connection[Any], timeout: float) -> None:
        """Set the session's ``lock_timeout`` (once per connection and value: for the
        session, not a transaction, so that no lock pays a round trip for it)."""
        ms = max(1, int(timeout * 1000))
        if self._lock_timeout != ms:
            conn.execute(f"SET lock_timeout = {ms}")
            if not conn.autocommit:
                conn.commit()
            self._lock_timeout = ms

    @contextmanager
    def _failing(self, step: str, error: type[StorageError]) -> Iterator[None]:
        """Turn a driver error into ``error``; a broken connection is dropped."""
        try:
            yield
        except psycopg.Error as e:
            self._drop_if_broken()
            raise error(self.name, step, os_error(e)) from e

    def _retrying(self, step: str, read: Callable[[], Any]) -> Any:
        """Run ``read`` (which changes nothing); once more on a new connection when the one
        it used had died since its last use (a server restart, an idle timeout)."""
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                with self._failing(step, StorageError):
                    return read()
            except StorageError:
                if attempt == 2 or not reused or self._conn is not None:
                    raise  # a fresh connection failed, or the server refused the query
                log.info("%s: connection lost; connecting again", self.name)
        raise AssertionError("unreachable")

    def _drop_if_broken(self) -> None:
        conn = self._conn
        if conn is not None and (conn.closed or conn.broken):
            self._conn, self._locked = None, False
            conn.close()

    def _rollback(self) -> None:
        self._locked = False
        conn = self._conn
        if conn is None:
            return
        try:
            conn.rollback()
        except psycopg.Error:
            self._drop_if_broken()

    # -- steps -------------------------------------------------------------------------------

    def _load(self, known: Any) -> Snapshot:
        conn = self._connection()
        with conn.transaction():
            return self._select(_sql.SELECT, known)

    def _lock(self, timeout: float, known: Any) -> Snapshot:
        conn = self._connection()
        conn.autocommit = False
        try:
            self._set_lock_timeout(conn, timeout)
            try:
                snap = self._select(_sql.SELECT_FOR_UPDATE, known)
                if snap.version is None:
                    # No row to lock yet: whoever creates the document holds this
                    # meanwhile, and then the row may exist.
                    conn.execute(_sql.ADVISORY_LOCK, {"name": self.url.document})
                    snap = self._select(_sql.SELECT_FOR_UPDATE, known)
            except pg_errors.LockNotAvailable as e:
                conn.rollback()
                raise LockTimeout(self.name, self._holder(conn), timeout) from e
        except BaseException:
            self._rollback()
            raise
        self._locked = True
        return snap

    def _select(self, statement: str, known: Any) -> Snapshot:
        assert self._conn is not None
        row = self._conn.execute(statement, {"name": self.url.document, "known": known,
                                             "known_commit": self._commit_of(known)}).fetchone()
        if row is None:
            return Snapshot(None, None)
        self._seen = (row[0], row[6])
        data = None if row[1] is None else row[1].encode("utf-8")
        return Snapshot(row[0], data, _writer(*row[2:6]))

    def _holder(self, conn: psycopg.Connection[Any]) -> dict[str, Any]:
        """Who holds the lock, best effort (it may be gone by now)."""
        try:
            row = conn.execute(_sql.HOLDER, {"name": self.url.document}).fetchone()
            conn.rollback()
        except psycopg.Error:
            self._drop_if_broken()
            return {}
        if row is None:
            return {}
        match = _APP.match(row[0] or "")
        if match is None:
            return {"program": f"PostgreSQL backend {row[2]} ({row[0] or 'no name'})",
                    "since": row[1]}
        return {"pid": int(match[1]), "host": match[2] or None, "program": match[3] or None,
                "since": row[1]}

    def _params(self, data: bytes, expected: Any) -> dict[str, Any]:
        return {"name": self.url.document, "expected": expected, "backups": self.backups,
                "data": data.decode("utf-8"), "commit": secrets.token_hex(8),
                "pid": os.getpid(), "host": HOST, "program": self._program,
                "origin": self.origin,
                "expected_commit": self._commit_of(expected)}

    def _commit_of(self, version: Any) -> str | None:
        """The commit id of ``version`` as last read or written, if that is the one seen."""
        return self._seen[1] if self._seen is not None and self._seen[0] == version else None

    def _after_failed_commit(self, e: Exception, sent_commit: bool) -> None:
        if isinstance(e, pg_errors.LockNotAvailable) and self._conn is not None:
            # Only a commit made without the lock waits for the row: nothing changed.
            self._rollback()
            holder = {} if self._conn is None else self._holder(self._conn)
            raise LockTimeout(self.name, holder, self.lock_timeout) from e
        lost = connection_lost(self._conn, e)
        if lost:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
        if not lost:  # the server refused the statement: its transaction rolled back
            self._rollback()
            raise CommitFailed(self.name, "committing", os_error(e)) from e
        if not sent_commit:  # a transaction without its COMMIT dies with its connection
            raise CommitFailed(self.name, "committing (the connection was lost before "
                               "COMMIT)", os_error(e)) from e
        # The COMMIT (or the statement that commits itself) was sent: the server may have
        # made it durable before the connection went.
        raise CommitUnknown(self.name, "committing", os_error(e)) from e

    def _conflict(self, expected: Any) -> VersionConflict:
        try:
            current = self.load(known=expected)
        except StorageError:
            return VersionConflict(self.name, expected, "an unknown version")
        return VersionConflict(self.name, expected, current.version, current.writer)

    def _current_version(self, conn: psycopg.Connection[Any]) -> Any:
        row = conn.execute(f"SELECT version FROM {_sql.DOCUMENTS} WHERE name = %s",
                           (self.url.document,)).fetchone()
        return None if row is None else row[0]
