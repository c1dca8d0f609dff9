"""Others' commits, pushed by ``LISTEN``/``NOTIFY`` on a connection of the watcher's own.

PostgreSQL queues a notification inside the committing transaction and delivers it only when
that transaction commits, so a callback never announces a version that could still vanish.
Notifications sent while the watcher was disconnected are lost: after every (re)connection
it announces the current version once, and the document layer compares it with its own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from . import _sql
from ._url import hide_passwords_in

__all__ = ["Watcher"]

log = logging.getLogger("stateview")

_POLL = 0.2  # how often the thread looks up from the socket (to see stop())
_RETRY_MAX = 2.0  # longest wait between reconnection attempts


class Watcher:
    """One listening thread per store; callbacks run on it, one after the other.

    Args:
        conninfo: the libpq URI.
        document: the document whose commits to announce.
        origin: the store's token; its own commits are not announced.
        connect_timeout: seconds per connection attempt.
        current: reads the document's version on the watcher's connection.
    """

    def __init__(self, conninfo: str, document: str, origin: str, connect_timeout: float,
                 current: Callable[[psycopg.Connection[Any]], Any]) -> None:
        self._conninfo = conninfo
        self._document = document
        self._origin = origin
        self._timeout = connect_timeout
        self._current = current
        self._callbacks: list[Callable[[Any], None]] = []
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._listening = threading.Event()
        #: The listening connection, while there is one (a forked child points its socket
        #: elsewhere rather than speak on the parent's).
        self.connection: psycopg.Connection[Any] | None = None
        self._thread = threading.Thread(target=self._run, name="stateview-listen", daemon=True)
        self._thread.start()

    def add(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Announce commits to ``callback`` too; returns the unsubscribe function."""
        with self._guard:
            self._callbacks.append(callback)

        def unsubscribe() -> None:
            with self._guard, contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unsubscribe

    def wait_listening(self, timeout: float) -> bool:
        """Wait until ``LISTEN`` is in place (commits from then on are announced)."""
        return self._listening.wait(timeout)

    def stop(self) -> None:
        """Stop the thread (within ``_POLL`` seconds) and close its connection."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=self._timeout + 2 * _POLL)

    # -- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        delay = 0.05
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True,
                                     connect_timeout=max(1, round(self._timeout)),
                                     application_name="stateview listener") as conn:
                    self.connection = conn
                    conn.execute(f"LISTEN {_sql.CHANNEL}")
                    self._listening.set()
                    delay = 0.05
                    self._announce(self._current(conn))  # what passed while we were away
                    self._listen(conn)
            except psycopg.Error as e:
                self._listening.clear()
                if self._stop.is_set():
                    return
                # Once per outage: a warning every retry would repeat the same line every
                # _RETRY_MAX seconds for as long as the server is away (a notice each in the UI).
                log.log(logging.WARNING if delay == 0.05 else logging.DEBUG,
                        "stateview listener: %s; reconnecting in %.1fs",
                        _first_line(hide_passwords_in(str(e), self._conninfo)) or e, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, _RETRY_MAX)

    def _listen(self, conn: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            for notify in conn.notifies(timeout=_POLL):
                try:
                    message = json.loads(notify.payload)
                except ValueError:
                    continue
                if (message.get("document") == self._document
                        and message.get("origin") != self._origin):
                    self._announce(message.get("version"))
                if self._stop.is_set():
                    return

    def _announce(self, version: Any) -> None:
        with self._guard:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(version)
            except Exception:
                log.exception("stateview listener: callback %r failed", callback)


def _first_line(message: str) -> str:
    """The driver's message, first line only (a log line, not a report)."""
    message = message.strip()
    return message.splitlines()[0] if message else ""
