"""Reading the file, its lock record and its schema verdict: the slow half of a reload.

Everything here runs on the watcher thread. :class:`Reader` remembers the last good document
so that it can diff the next one against it and so that a broken file leaves the last good
tree on screen.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._errors import CorruptFile, describe_holder
from .._jsontext import a_json_type, loads
from .._lock import probe
from .._paths import StatePaths
from .._schema import Schema, SchemaIssue
from ._diff import Change, diff

__all__ = ["Broken", "FileStatus", "LatestOnly", "Loaded", "Reader", "VersionReader",
           "read_status", "schema_issues"]

log = logging.getLogger("stateview")

DIFF_LIMIT = 1000
"""The most changes listed for one version; past it the tree compares what it has built."""


@dataclass(frozen=True)
class FileStatus:
    """What the status bar shows about the file and its lock.

    Attributes:
        size: bytes on disk, or ``None`` when the file is missing.
        last_commit: the lock record's ``last_commit`` (time, pid, program), or ``{}``.
        lock_held: a live process holds the lock now.
        holder: the lock record of the current or last holder.
        exclusive_other: another process holds the lock exclusively: editing is refused.
        where: for a database document, the server, database and document in words
            (``None`` for a file).
        version: for a database document, its version in words.
        error: for a database document, why the server cannot be read now (it is down,
            it refuses us), or ``None``.
        lock_hidden: the lock file is there but this user may not read it (it is open only
            to the state file's writers): who holds the lock, and who committed last, are
            unknown, not "free" and "none".
    """

    size: int | None
    last_commit: dict[str, Any] = field(default_factory=dict)
    lock_held: bool = False
    holder: dict[str, Any] = field(default_factory=dict)
    exclusive_other: bool = False
    where: str | None = None
    version: str | None = None
    error: str | None = None
    lock_hidden: bool = False

    @property
    def lock_text(self) -> str:
        if self.lock_hidden:
            return "lock unknown (its file is open only to the file's writers)"
        if not self.lock_held:
            return "lock free"
        return describe_holder({k: v for k, v in self.holder.items() if k != "since"})


def read_status(paths: StatePaths) -> FileStatus:
    """The file's size and its lock record, read without taking the lock."""
    try:
        size: int | None = os.stat(paths.target).st_size
    except OSError:
        size = None
    state = probe(paths.lock)
    last = state.holder.get("last_commit")
    exclusive_other = bool(state.held and state.holder.get("exclusive")
                           and state.holder.get("pid") != os.getpid())
    return FileStatus(size, last if isinstance(last, dict) else {}, state.held,
                      dict(state.holder), exclusive_other,
                      lock_hidden=not state.holder and _unreadable(paths.lock))


def _unreadable(path: str) -> bool:
    """Whether the file at ``path`` is there but this user may not read it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except PermissionError:
        return True
    except OSError:
        return False
    os.close(fd)
    return False


@dataclass(frozen=True)
class Loaded:
    """A new good version of the document.

    Attributes:
        document: the parsed document (plain dicts and lists; never mutated afterwards).
        changes: what changed since the previous good version (empty for the first).
        first: this is the first good version the reader has seen.
        seconds: how long reading and parsing took.
        complete: ``changes`` lists every change (the diff did not stop at its limit).
        writer: who committed this version (time, pid, host, program), when the store
            says so with the version itself (a database row does; a file's lock record is
            read apart from the file, and may already name a later commit).
    """

    document: Any
    changes: list[Change]
    first: bool
    seconds: float
    complete: bool = True
    writer: dict[str, Any] | None = None


@dataclass(frozen=True)
class Broken:
    """The file cannot be read as a document now.

    Attributes:
        reason: what is wrong, for the banner.
        line, column: where, when known.
        missing: the file does not exist.
        error: the :class:`CorruptFile`, when it is a parse error.
    """

    reason: str
    line: int | None = None
    column: int | None = None
    missing: bool = False
    error: CorruptFile | None = None


class VersionReader:
    """Reads new versions of one document and diffs them against the last good one.

    Where the bytes come from is the subclass's: :class:`Reader` reads a state file,
    :class:`~stateview.tui._store_source.StoreReader` a database row.
    """

    def __init__(self, schema: Schema | None = None) -> None:
        self.schema = schema
        self.document: Any = None
        self._bytes: bytes | None = None
        self._broken: tuple[Any, ...] | None = None

    @property
    def label(self) -> str:
        """What parse errors name."""
        raise NotImplementedError

    def fetch(self) -> bytes | Broken:
        """The current bytes, or why there are none."""
        raise NotImplementedError

    def writer(self) -> dict[str, Any] | None:
        """Who committed the version :meth:`fetch` read, when the store tells."""
        return None

    def read(self) -> Loaded | Broken | None:
        """The file's new state, or ``None`` when its bytes did not change."""
        started = time.perf_counter()
        data = self.fetch()
        if isinstance(data, Broken):
            return self._broke(data)
        if data == self._bytes and self._broken is None:
            return None
        try:
            document = loads(data, self.label)
        except CorruptFile as e:
            self._bytes = data
            return self._broke(Broken(e.reason, e.line, e.column, error=e))
        if not isinstance(document, (dict, list)):
            self._bytes = data
            return self._broke(Broken(f"the root is {a_json_type(document)}; a state file "
                                      "holds an object or an array"))
        first = self.document is None
        changes = [] if first else diff(self.document, document, DIFF_LIMIT)
        self.document, self._bytes, self._broken = document, data, None
        return Loaded(document, changes, first, time.perf_counter() - started,
                      len(changes) < DIFF_LIMIT, self.writer())

    def issues(self, document: Any) -> dict[str, list[SchemaIssue]] | None:
        """Schema violations by pointer, or ``None`` without a schema."""
        return schema_issues(self.schema, document)

    def _broke(self, broken: Broken) -> Broken | None:
        # Report each broken state once; the watcher may see the same bad bytes again.
        key = (broken.reason, broken.line, broken.column, broken.missing)
        if self._broken == key:
            return None
        self._broken = key
        return broken


class Reader(VersionReader):
    """Reads new versions of one state file."""

    def __init__(self, paths: StatePaths, schema: Schema | None = None) -> None:
        super().__init__(schema)
        self.paths = paths

    @property
    def label(self) -> str:
        return self.paths.target

    def fetch(self) -> bytes | Broken:
        try:
            with open(self.paths.target, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return Broken("the file is missing (deleted or renamed)", missing=True)
        except OSError as e:
            return Broken(f"cannot read the file: {e.strerror or e}")


def schema_issues(schema: Schema | None, document: Any) -> dict[str, list[SchemaIssue]] | None:
    """Schema violations of ``document`` by pointer, or ``None`` without a schema."""
    if schema is None:
        return None
    found: dict[str, list[SchemaIssue]] = defaultdict(list)
    for issue in schema.issues(document):
        found[issue.pointer].append(issue)
    return dict(found)


class LatestOnly:
    """Runs ``work(item)`` on its own thread, for the newest submitted item only.

    Checking a 10 MB document against its schema takes seconds; a writer commits twice a
    second. Versions that arrive while a check runs replace each other, so the check never
    falls behind and the watcher thread never waits for it.
    """

    def __init__(self, work: Callable[[Any], None], name: str) -> None:
        self._work = work
        self._cond = threading.Condition()
        self._item: Any = _NOTHING
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Any) -> None:
        with self._cond:
            self._item = item
            self._cond.notify()

    def stop(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._item is _NOTHING and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                item, self._item = self._item, _NOTHING
            try:
                self._work(item)
            except Exception:  # one bad version must not end the checks of the next ones
                log.exception("%s failed", self._thread.name)


_NOTHING: Any = object()
