"""What the commands take where they take a file: a path, or a ``postgresql://...#DOC`` URL.

A URL's store is the engine's :class:`~stateview._postgres.PostgresStore`; psycopg is imported
only when a URL is given, so commands on files never pay for it. Errors come out as the
engine's :class:`~stateview.StateError` (exit 1: the server is down, refuses the password, the
document does not exist, psycopg is missing) or :class:`UsageError` (exit 2: a URL that names
no document).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import StateError
from .._postgres import is_store_url, parse_url
from .._postgres._url import hide_passwords_in

if TYPE_CHECKING:
    from .._postgres import PostgresStore
    from .._store import Snapshot

__all__ = ["UsageError", "check_url", "is_url", "load",
           "missing_document", "open_store", "read_url", "shown"]

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a server (libpq's ``connect_timeout``) before a command gives up."""


class UsageError(StateError):
    """The command line itself is wrong (exit code 2)."""


def is_url(target: str) -> bool:
    """Whether a FILE argument is a store URL rather than a path."""
    return is_store_url(target)


def check_url(url: str) -> None:
    """Refuse a URL that cannot name a document, before anything is read or written.

    Raises:
        UsageError: no ``#DOCUMENT``, a name that cannot be one, or a URI libpq cannot parse.
    """
    try:
        parsed = parse_url(url)
    except ValueError as e:
        raise UsageError(str(e)) from None
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
    except ImportError:
        return  # opening the store says which extra to install
    try:
        conninfo_to_dict(parsed.conninfo)  # libpq's own parser: what it would refuse later
    except psycopg.ProgrammingError as e:
        # libpq quotes the URI it refused, or the token it could not decode: a password.
        reason = hide_passwords_in(str(e).strip(), parsed.conninfo)
        raise UsageError(f"{parsed.shown}: not a connection URI libpq accepts: {reason}") from None


def shown(target: str) -> str:
    """``target`` as messages show it: a URL without its password."""
    return parse_url(target).shown if is_url(target) else target


def open_store(url: str, *, backups: int = 1,
               connect_timeout: float = CONNECT_TIMEOUT) -> PostgresStore:
    """The store of a URL (not connected yet: the first operation connects).

    Raises:
        UsageError: the URL names no document.
        StorageError: psycopg is not installed (the message names the extra).
    """
    check_url(url)
    from .._postgres import PostgresStore  # psycopg: a good part of a second, URLs only

    return PostgresStore(url, backups=backups, connect_timeout=connect_timeout)


def missing_document(store: PostgresStore) -> StateError:
    """The error for a URL whose document does not exist (yet)."""
    return StateError(
        f"{store.name}: no document named {store.url.document!r} in this database "
        f"(create it with `stateview copy FILE {store.name}`, or from a program with "
        "stateview.open(URL, default=...))")


def load(store: PostgresStore) -> Snapshot:
    """The document's current version, refused when there is none.

    Raises:
        StateError: the document does not exist; StorageError: the server failed.
    """
    snap = store.load()
    if snap.version is None or snap.data is None:
        raise missing_document(store)
    return snap


def read_url(url: str) -> tuple[bytes, Any]:
    """A URL's document: its stored text and its value, parsed as strictly as a file.

    Raises:
        UsageError, StorageError, CorruptFile (with line and column in the stored text),
        StateError (no such document).
    """
    from .._jsontext import loads

    with open_store(url) as store:
        data = load(store).data
        assert data is not None
        return data, loads(data, store.name)
