"""The PostgreSQL store as ``StateFile`` runs on it: the engine-facing extras of the seam.

``stateview.open("postgresql://...#DOC")`` makes one of these. Beyond the Store protocol the
engine needs to open the document (creating it from the default), to read it for a read-only
handle, to know whether its hold is still there, and to let go of the parent's connections in
a forked child (docs/design.md, "The storage seam").

A row lock ends with its transaction: ``lock_survives_commit`` is False, and the engine takes
the lock again (``SELECT ... FOR UPDATE``, merging any other replica's commit) before changing
memory after each write. A compare-and-set commit without the lock is one statement
(``commits_unlocked``): an autocommit is applied to the version memory holds and committed
against it, and replayed under the lock when another replica got in first.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from typing import Any

from .. import _jsontext
from .._errors import InvalidValue, StateError, StateFileMissing
from .._opening import UNSET
from .._schema import Schema
from ._pgstore import PostgresStore

__all__ = ["PostgresEngineStore"]


class PostgresEngineStore(PostgresStore):
    """One document of a database, with what ``StateFile`` needs of its store.

    Args:
        url: ``postgresql://USER@HOST:PORT/DB?PARAMS#DOCUMENT``.
        backups: previous versions the history table keeps.
        lock_timeout: seconds to wait for another writer's row lock.
        exclusive: refused: see :func:`refuse_exclusive`.
    """

    lock_survives_commit = False
    commits_unlocked = True

    def __init__(self, url: str, *, backups: int = 1, lock_timeout: float = 10.0,
                 exclusive: bool = False) -> None:
        super().__init__(url, backups=backups)
        if exclusive:
            raise refuse_exclusive(self.name)
        self.lock_timeout = lock_timeout

    def __del__(self) -> None:
        # A StateFile the program forgot without close(), as files allow: its connection
        # goes quietly (the server rolls back a transaction left open). Not in a forked
        # child: the sockets there are the parent's (``after_fork``).
        if getattr(self, "_pid", None) == os.getpid():
            with contextlib.suppress(Exception):
                self.close()

    def open_document(self, schema: Schema | None, default: Any) -> tuple[bytes, Any, Any]:
        """Lock the row and read it; a missing document is created from ``default``."""
        snap = self.lock(self.lock_timeout)
        try:
            if snap.version is None:
                if default is UNSET:
                    raise StateFileMissing(self.name, document=True)
                if schema is not None:
                    schema.validate(default)
                data = _jsontext.dumps(default).encode("utf-8")
                return data, default, self.commit(data, None)  # the commit ends the lock
            assert snap.data is not None
            return snap.data, self._checked(snap.data, schema), snap.version
        except BaseException:
            self.unlock()
            raise

    def open_readonly(self, schema: Schema | None) -> tuple[bytes, Any, Any]:
        """Read the document without locking it; a missing one is an error."""
        snap = self.load()
        if snap.version is None or snap.data is None:
            raise StateFileMissing(self.name, document=True)
        return snap.data, self._checked(snap.data, schema), snap.version

    def _checked(self, data: bytes, schema: Schema | None) -> Any:
        # The column is ``json``, so the server checked the syntax; a document written by
        # hand may still break stateview's stricter rules, its root type or the schema.
        value = _jsontext.loads(data, self.name)
        if not isinstance(value, (dict, list)):
            raise InvalidValue("", f"{self.name}: the document's root is "
                               f"{_jsontext.a_json_type(value)}; a state document holds an "
                               "object or an array")
        if schema is not None:
            schema.validate(value)
        return value

    def holds_lock(self) -> bool:
        return self._locked

    def watch(self, callback: Callable[[Any], None],
              poll: float | None = None) -> Callable[[], None]:
        """:meth:`PostgresStore.watch`: ``LISTEN``/``NOTIFY``, so ``poll`` is not used."""
        return super().watch(callback)

    def drop_spare(self, held: bool, timeout: float) -> None:
        """Nothing to free: a database keeps no spare file."""

    def after_fork(self) -> None:
        """In a forked child: the parent's sockets are not the child's to speak on.

        Closing them here would send the server a goodbye on the parent's sessions, and so
        would freeing the connection objects later: each descriptor is pointed at
        ``/dev/null`` instead, so that whatever the child's copies say goes nowhere. The next
        operation connects anew.
        """
        sockets = [self._conn]
        if self._watcher is not None:
            sockets.append(self._watcher.connection)
        for conn in sockets:
            if conn is None:
                continue
            with contextlib.suppress(Exception):
                fd = conn.fileno()
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, fd)
                os.close(null)
            _inherited.append(conn)  # never freed in the child while it runs
        self._conn, self._watcher, self._locked = None, None, False
        self._pid = os.getpid()
        # A thread of the parent inside a store call held this: it is gone here.
        self._mutex = threading.RLock()


_inherited: list[Any] = []


def refuse_exclusive(where: str) -> StateError:
    """``exclusive=True`` on a URL: refused, with why.

    A session advisory lock would hold other replicas off only while one connection lives:
    a network blip would end it without a word, and a writer that forgot the flag would not
    respect it. Row locks already make each transaction serializable across replicas.
    """
    return StateError(
        f"{where}: exclusive=True is for files; on PostgreSQL every transaction already "
        "locks the document's row, and a lock held for a StateFile's life would end "
        "unnoticed with its connection. Open it without exclusive=True")
