"""Connections of the PostgreSQL store: made, checked before use, classified when they fail.

Each connection is named after its process (``application_name`` = ``stateview PID@HOST
PROGRAM``), which is how a lock's holder is found and shown. The first connection to a database
creates the tables; every connection warns when the server would not keep what it acknowledges.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import warnings
from typing import Any

from .._errors import StorageError
from .._holder import program  # the row names its writer as the lock record does
from . import _sql
from ._url import hide_passwords_in

try:
    import psycopg
except ImportError:  # pragma: no cover - exercised by a test that hides psycopg
    psycopg = None  # type: ignore[assignment]

__all__ = ["HOST", "DurabilityWarning", "alive", "connect", "connection_lost", "os_error",
           "program", "require_psycopg"]

HOST = socket.gethostname()


class DurabilityWarning(UserWarning):
    """The server may lose acknowledged commits (``synchronous_commit`` or ``fsync`` off)."""


def require_psycopg(url: str) -> None:
    """Raise a clear error when the PostgreSQL extra is not installed."""
    if psycopg is None:
        raise StorageError(url, "loading the PostgreSQL driver", OSError(
            errno.ENOENT, "psycopg 3 is not installed: pip install 'stateview[postgres]'"))


def os_error(e: BaseException, conninfo: str = "") -> OSError:
    """A ConnectionError (an OSError) carrying the server's or the driver's message.

    ``conninfo``: the URI the message may quote (libpq quotes a token it cannot decode, which
    may be a password): its passwords are hidden.
    """
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if conninfo:
        message = hide_passwords_in(message, conninfo)
    return ConnectionError(errno.ECONNRESET, message)


def connection_lost(conn: psycopg.Connection[Any] | None, e: Exception) -> bool:
    """Whether ``e`` ended the session, rather than refusing one statement.

    A backend terminated right after a COMMIT reports the COMMIT's success and then a FATAL
    error, on a socket the driver may not have seen close yet: the SQLSTATE tells.
    """
    if conn is None or conn.closed or conn.broken:
        return True
    sqlstate = getattr(e, "sqlstate", None)
    if not sqlstate:  # the driver's own error: the socket, the protocol
        return True
    diag = getattr(e, "diag", None)
    severity = getattr(diag, "severity_nonlocalized", None)
    # 08: connection exception; 57P0x: shutdown, crash, terminated backend
    return sqlstate.startswith(("08", "57P")) or severity in ("FATAL", "PANIC")


def alive(conn: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection still works, without a round trip.

    A server that restarted, or a backend terminated by an administrator, leaves a message
    and an end of file on the socket. Seen before a commit is sent, it means a new connection
    and a commit that can be acknowledged; seen after, the outcome would be unknown.
    """
    if conn.closed or conn.broken:
        return False
    # The server's last message (FATAL ...) and the end of file may take one read each.
    for _ in range(3):
        try:
            readable, _, _ = select.select([conn.fileno()], [], [], 0)
        except (OSError, ValueError):
            return False
        if not readable:
            break
        try:
            conn.pgconn.consume_input()
        except psycopg.Error:
            return False
    return conn.pgconn.status == psycopg.pq.ConnStatus.OK


def connect(conninfo: str, timeout: float, shown: str) -> psycopg.Connection[Any]:
    """A connection named after this process, with the tables there and durability checked.

    Raises:
        StorageError: the server cannot be reached, or refuses us.
    """
    app = f"stateview {os.getpid()}@{HOST} {program()}"[:63]
    try:
        conn = psycopg.connect(conninfo, autocommit=True, application_name=app,
                               connect_timeout=max(1, round(timeout)))
    except psycopg.Error as e:
        # Not chained to the driver's error: its message may quote the password.
        error = os_error(e, conninfo)
        raise StorageError(shown, "connecting", error) from error
    try:
        sync, fsync, tables = conn.execute(_sql.SETTINGS).fetchone() or ("on", "on", False)
        if not tables:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_sql.DDL_LOCK,))
                conn.execute(_sql.DDL)
                conn.execute(_sql.SLOTS)
    except psycopg.Error as e:
        conn.close()
        raise StorageError(shown, "preparing the tables", os_error(e)) from e
    if sync == "off" or fsync == "off":
        setting = "synchronous_commit" if sync == "off" else "fsync"
        warnings.warn(DurabilityWarning(
            f"{shown}: the server runs with {setting}=off: a crash of the server can lose "
            "commits stateview acknowledged"), stacklevel=4)
    return conn
