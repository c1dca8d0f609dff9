"""``stateview copy SRC DST``: move a document between a file and a PostgreSQL URL, either way.

A pipeline: read the source (strict JSON, as ``check`` reads it) -> check it against the
schema -> one compare-and-set commit at the destination. Both sides are engine stores: a file
destination is written by the file engine's commit (temp file, fsync, rename, backup, under
the lock), a URL destination in one transaction holding the document's row lock. The commit
expects the version the destination had when its lock was taken, so a writer that got there
first is never overwritten by accident: without ``--force`` an existing destination is
refused, with it the destination's previous version is kept as its backup.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import InvalidValue, StateError, StateFileMissing
from .._jsontext import a_json_type, dumps
from .._paths import StatePaths
from .._postgres._url import hide_url_passwords
from ._get_set_delete_commands import read_document
from ._targets import UsageError, check_url, is_url, shown

if TYPE_CHECKING:
    from .._schema import Schema
    from .._store import Snapshot, Store

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "copy", help="copy a document between a file and a postgresql:// URL (either way)",
        description="Copy the document at SRC to DST, where each is a state file or a "
        "postgresql://USER@HOST/DB#DOCUMENT URL. The source is read as strictly as `stateview "
        "check` reads it and checked against the schema; the destination gets it in one "
        "atomic commit (a file through the engine's commit protocol, a URL in one "
        "transaction). An existing destination is refused unless --force.",
        epilog="Exit codes: 0 copied; 1 nothing was written (the source is unreadable or "
        "breaks the schema, the destination exists, a server or disk failed); 2 usage error.")
    parser.add_argument("source", metavar="SRC", help="a state file or a URL")
    parser.add_argument("destination", metavar="DST", help="a state file or a URL")
    parser.add_argument("--schema", metavar="S", help="JSON Schema the document must pass "
                        "(default: STEM.schema.json beside the file side, if any)")
    parser.add_argument("--force", action="store_true",
                        help="replace an existing destination (its previous version is kept "
                        "as a backup); the commit still expects the version found when the "
                        "destination was locked")
    parser.add_argument("--backups", type=int, default=1, metavar="N",
                        help="previous versions the destination keeps (default 1; a file's "
                        "NAME.bak.2 and up, and a URL's history beyond the newest, are left "
                        "alone)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="how long to wait for the destination's lock (default 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source, destination = args.source, args.destination
    for target in (source, destination):
        if is_url(target):
            check_url(target)
    if _same(source, destination):
        raise UsageError(f"{shown(source)} is both the source and the destination")
    schema = _schema(args.schema, source, destination)
    value = _step("source", lambda: _read(source))
    if schema is not None:
        _step("source", lambda: schema.validate(value))
    data = dumps(value).encode("utf-8")
    version = _step("destination",
                    lambda: _write(destination, data, args.force, args.backups, args.timeout))
    print(f"copied {shown(source)} to {shown(destination)} ({len(data):,} bytes"
          f"{', ' + version if version else ''})")
    return 0


def _step(side: str, do: Callable[[], Any]) -> Any:
    """Run ``do()``; an error says which side it is about (its message names the place)."""
    try:
        return do()
    except StateError as e:
        e.message = f"{side}: {e.message}"
        raise


def _same(source: str, destination: str) -> bool:
    if is_url(source) or is_url(destination):
        return source == destination
    return StatePaths.of(source).target == StatePaths.of(destination).target


def _schema(given: str | None, source: str, destination: str) -> Schema | None:
    from .._schema import load_schema  # jsonschema: only when it is needed

    if given is not None:
        return load_schema(given)
    for target in (source, destination):
        if not is_url(target):
            sibling = StatePaths.of(target).schema_beside()
            if sibling is not None:
                return load_schema(sibling)
    return None


def _read(source: str) -> Any:
    try:
        value = read_document(source)
    except StateFileMissing:
        raise StateError(f"{source}: no such file") from None
    if not isinstance(value, (dict, list)):
        raise InvalidValue("", f"{shown(source)}: the document's root is {a_json_type(value)}; "
                           "a state document holds an object or an array")
    return value


def _store(destination: str, backups: int) -> Store:
    if is_url(destination):
        from ._targets import open_store

        return open_store(destination, backups=backups)
    from .._file_store import FileStore
    from .._paths import check_openable

    paths = StatePaths.of(destination)
    check_openable(paths)  # a FIFO or a directory at DST: refused before a lock file is made
    return FileStore(paths, backups=backups)


def _write(destination: str, data: bytes, force: bool, backups: int,
           timeout: float) -> str:
    """One compare-and-set commit of ``data`` at ``destination``; the new version in words."""
    store = _store(destination, backups)
    discard = _lock_file_remover(store)
    try:
        found = store.lock(timeout)
        try:
            if found.version is not None and not force:
                raise StateError(f"{store.name}: holds a document already{_by(found)}; nothing "
                                 "was written (--force replaces it, keeping it as a backup)")
            version = store.commit(data, found.version)
        except BaseException:
            if discard is not None:
                discard()
            raise
        finally:
            store.unlock()
        return f"version {version}" if is_url(destination) else ""
    finally:
        _close(store)


def _lock_file_remover(store: Store) -> Callable[[], None] | None:
    """For a file destination without a lock file: what removes the one taking the lock
    makes, so that a copy that writes nothing leaves the directory as it found it."""
    from .._file_store import FileStore

    if not isinstance(store, FileStore) or store.fs.lexists(store.paths.lock):
        return None
    return store.discard_unused_lock


def _close(store: Store) -> None:
    drop_spare = getattr(store, "drop_spare", None)
    if drop_spare is not None:  # the file engine's spare is garbage once its writer leaves
        drop_spare(False, 1.0)
    store.close()


def _by(found: Snapshot) -> str:
    writer = found.writer
    if writer is None or writer.pid is None:
        return ""
    return (f" (last written by pid {writer.pid} {hide_url_passwords(writer.program or '?')}"
            f"{' on ' + writer.host if writer.host else ''}"
            f"{' at ' + writer.time if writer.time else ''})")
