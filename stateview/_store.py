"""The storage seam: what the document layer (StateFile, the CLI, the UI) needs from a store.

A store keeps one document as a sequence of versions. The document layer owns everything about
the *content* (JSON rules, the schema, views, change events); a store owns only bytes, versions
and who may write next. Five operations carry that:

    load(known)            -> Snapshot       the current version (its bytes unless ``known``)
    lock(timeout, known)   -> Snapshot       exclusive until commit() or unlock(); sees every
                                             earlier commit
    commit(data, expected) -> version        compare-and-set: durable before it returns, or
                                             raises; VersionConflict if ``expected`` is stale
    unlock()                                 end a lock without committing
    watch(callback)        -> unsubscribe    ``callback(version)`` after another writer's commit

plus ``describe()`` (the status bar), ``history()`` (backups) and ``close()``.

Rules every store keeps:

* A version is an opaque hashable token, compared only with ``==``; ``None`` means "no document
  yet". Two loads that return equal versions returned equal bytes.
* ``commit`` returns only after the new version is durable (file: fsync of file and directory;
  PostgreSQL: ``COMMIT`` returned). When it raises :class:`CommitFailed` nothing changed;
  :class:`CommitUnknown` (a subclass) says the store cannot tell, and the caller must reload:
  whatever the store then holds is the truth.
* Whether a commit made while holding the lock ends the hold is the store's to say
  (``EngineStore.lock_survives_commit``): a file's flock outlives it (the engine keeps writing
  batches under it, and lingers with it); a database row lock ends with its transaction, so
  memory may change only between ``lock()`` and ``commit()``: threads that mutate while a
  batch is being committed wait for the next ``lock()`` and then apply their changes together
  (group commit survives). ``lock()`` while holding the lock returns the current version and
  keeps the hold.
* ``watch`` callbacks run on a thread of the store, never with a lock held, and may be called
  for a version already seen (a reconnect re-announces the current one); never for this
  store's own commits.

How the file engine maps onto it (``stateview._file_store.FileStore``; docs/design.md, "The
storage seam", also says what ``StateFile`` needs of a store beyond the protocol):

    load       stat ``NAME`` and read it unless ``known``; the version is
               ``(dev, ino, size, mtime_ns)`` of the file plus the commit token in ``NAME.lock``
    lock       ``ProcessLock.acquire`` (flock on ``NAME.lock``), then ``load(known)`` under it;
               ``LockTimeout`` names the holder as now
    commit     ``_commit.replace_file`` with ``before_publish`` noting the token; ``expected`` is
               checked under the flock (taken for the call when not held), so a CLI ``set`` is
               a compare-and-set without a separate lock step
    unlock     ``ProcessLock.release`` (the engine lingers 2 ms before it calls it)
    watch      a polling thread (stat + lock-file token); inotify could replace it without
               the document layer noticing
    history    ``NAME.bak`` ... ``NAME.bak.N``
    describe   the lock file's record (holder, last commit: pid, host, program, time)

The PostgreSQL store (``stateview._postgres``) maps the same operations onto one row per
document, ``SELECT ... FOR UPDATE``, a compare-and-set ``UPDATE``, a history table and
``LISTEN``/``NOTIFY``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._errors import CommitFailed, StateError
from ._postgres._url import hide_url_passwords
from ._schema import Schema

__all__ = [
    "CommitUnknown",
    "EngineStore",
    "Snapshot",
    "Store",
    "StoreStatus",
    "VersionConflict",
    "Writer",
]

Version = Hashable


@dataclass(frozen=True)
class Writer:
    """Who made a version (or holds a lock): for messages and the status bar.

    Attributes:
        pid: the writer's process id on its host.
        host: the writer's host name.
        program: its command line, shortened.
        time: when it committed (or took the lock), ISO 8601 UTC.
    """

    pid: int | None
    host: str | None
    program: str | None
    time: str | None


@dataclass(frozen=True)
class Snapshot:
    """One version of the document, as a store returned it.

    Attributes:
        version: the version's token; ``None`` when there is no document yet.
        data: the document's bytes; ``None`` when there is no document, or when the caller
            said it already has this version (``known``).
        writer: who committed this version, when the store knows.
    """

    version: Version | None
    data: bytes | None
    writer: Writer | None = None


@dataclass(frozen=True)
class StoreStatus:
    """What the UI's status bar and ``stateview check`` say about a store.

    Attributes:
        where: the store in words (a path, or server, database and document; no password).
        version: the current version in words (``"version 42"``), ``None`` for no document.
        last_writer: who committed the current version.
        details: store-specific facts (server version, durability settings ...).
    """

    where: str
    version: str | None
    last_writer: Writer | None
    details: dict[str, Any]


@runtime_checkable
class Store(Protocol):
    """The storage of one document. See the module docstring for the rules."""

    @property
    def name(self) -> str:
        """What messages call this store: the path, or the URL without its password."""
        ...

    def load(self, known: Version | None = None) -> Snapshot:
        """The current version; its ``data`` is ``None`` if it is ``known``.

        Raises:
            StorageError: the store could not be read.
        """
        ...

    def lock(self, timeout: float, known: Version | None = None) -> Snapshot:
        """Take the exclusive write lock and return the current version.

        Every commit acknowledged anywhere before this returns is in the snapshot.

        Raises:
            LockTimeout: another writer held it for ``timeout`` seconds; names the holder.
            StorageError: the store failed.
        """
        ...

    def unlock(self) -> None:
        """Let go of the lock without committing (a no-op when not held)."""
        ...

    def commit(self, data: bytes, expected: Version | None) -> Version:
        """Make ``data`` the next version if the current one is still ``expected``.

        Returns:
            The new version, durable.

        Raises:
            VersionConflict: the current version is not ``expected``; nothing changed.
            CommitUnknown: the store went away mid-commit; reload before anything else.
            CommitFailed: the commit failed; nothing changed.
        """
        ...

    def watch(self, callback: Callable[[Version], None]) -> Callable[[], None]:
        """Call ``callback(version)`` after other writers' commits; returns the unsubscribe."""
        ...

    def history(self) -> list[Snapshot]:
        """The kept previous versions (backups), newest first."""
        ...

    def describe(self) -> StoreStatus:
        """Where the document is, its version and last writer."""
        ...

    def close(self) -> None:
        """Release the lock, stop watchers, close connections. Idempotent."""
        ...


@runtime_checkable
class EngineStore(Store, Protocol):
    """What ``StateFile`` needs beyond the protocol: the few engine-facing extras every
    store it runs on implements (docs/design.md, "The storage seam")."""

    #: Whether a commit made under the lock leaves it held (a file's flock does; a database
    #: row lock ends with its transaction). When it does not, the engine changes memory only
    #: under a lock taken after the last write ended.
    lock_survives_commit: bool

    #: Whether ``commit(data, expected)`` without the lock costs less than ``lock()`` and a
    #: commit (a database's one-statement compare-and-set). When it does, an autocommit is
    #: applied to the version memory holds and committed against it; if another writer got
    #: in first, memory goes back and the mutation runs again under the lock.
    commits_unlocked: bool

    def open_document(self, schema: Schema | None, default: Any) -> tuple[bytes, Any, Any]:
        """At open: take the lock and return the document's bytes, value (root checked, and
        checked against ``schema``) and version, creating it from ``default`` (a plain value,
        or ``_opening.UNSET``) when there is none, healing it where the store can. The
        lock may be left held; the caller lets it go with :meth:`unlock`.

        Raises:
            StateFileMissing, CorruptFile, InvalidValue, SchemaViolation, LockTimeout,
            StorageError.
        """
        ...

    def open_readonly(self, schema: Schema | None) -> tuple[bytes, Any, Any]:
        """The same without the lock, creating and healing nothing."""
        ...

    def holds_lock(self) -> bool:
        """Whether the hold taken by :meth:`lock` is still there."""
        ...

    def watch(self, callback: Callable[[Version], None],
              poll: float = 0.1) -> Callable[[], None]:
        """:meth:`Store.watch`; ``poll`` is the interval of a store that must poll."""
        ...

    def drop_spare(self, held: bool, timeout: float) -> None:
        """At close: free what this process's commits kept for the next one (a file's spare)."""
        ...

    def after_fork(self) -> None:
        """In a forked child: forget the parent's locks and connections without touching them."""
        ...


class VersionConflict(StateError):
    """A compare-and-set commit found another version than the one it was made against.

    Attributes:
        where: the store's name.
        expected: the version the commit was made against.
        current: the version found instead (``None``: the document is gone).
        writer: who committed the current version, when known.
    """

    def __init__(self, where: str, expected: Any, current: Any,
                 writer: Writer | None = None) -> None:
        by = ""
        if writer is not None and writer.pid is not None:
            by = f" by pid {writer.pid} ({hide_url_passwords(writer.program or '?')})" + (
                f" on {writer.host}" if writer.host else "")
        super().__init__(
            f"{where}: changed by another writer (expected version {expected}, found "
            f"{current}{by}); nothing was written: reload and try again")
        self.where = where
        self.expected = expected
        self.current = current
        self.writer = writer


class CommitUnknown(CommitFailed):
    """The store went away while a commit was under way: it may or may not have landed.

    The caller must reload before anything else; the store reconnects by itself.
    """

    @staticmethod
    def _describe(path: str, step: str, error: OSError) -> str:
        return (f"{path}: connection lost while {step}: {error.strerror or error}; the "
                "commit may or may not have been made: reload to see what the store holds")
