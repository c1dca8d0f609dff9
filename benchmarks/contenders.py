"""One small adapter per contender: set up a document, then commit one changed value.

Every adapter keeps the document in memory (as a server would) and, on ``commit(key, n)``,
sets ``clients[key]["score"] = n`` and makes that change reach the disk the way a user of
that tool would. ``commit`` may be called from several threads at once: tools that are not
thread-safe are serialized by a lock in the adapter, as a user would have to.

File-based contenders live here; the database-like ones in :mod:`contenders_db`.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from typing import ClassVar

import workload


@dataclass(frozen=True)
class Durability:
    """What a contender does for crash safety.

    Attributes:
        fsync_data: the new data is fsynced before the commit returns.
        fsync_dir: the directory entry (the rename) is fsynced before the commit returns.
        atomic: a crash at any moment leaves the old or the new version, never a mix.
    """

    fsync_data: bool
    fsync_dir: bool
    atomic: bool

    @property
    def durable(self) -> bool:
        return self.fsync_data and self.fsync_dir and self.atomic


DURABLE = Durability(True, True, True)
ATOMIC_ONLY = Durability(False, False, True)


class Contender:
    """Base class: subclasses set the class attributes and implement the three methods."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    durability: ClassVar[Durability] = DURABLE
    note: ClassVar[str] = ""
    changes_per_commit: ClassVar[int] = 1

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.dir = ""

    def setup(self, directory: str, doc: workload.Doc) -> None:
        """Create the store in ``directory`` (empty, private to this contender) from ``doc``."""
        raise NotImplementedError

    def commit(self, key: str, n: int) -> None:
        """Set ``clients[key]["score"] = n``; return once the tool says it is saved."""
        raise NotImplementedError

    def close(self) -> None:
        """Release files and memory."""


def write_file(path: str, data: bytes, fsync: bool) -> None:
    """The hand-written protocol: temp file in the same dir, write, fsync, replace, dir fsync."""
    directory = os.path.dirname(path)
    temp = f"{path}.{threading.get_ident()}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    if fsync:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


class _StateViewBase(Contender):
    durability = DURABLE

    def setup(self, directory: str, doc: workload.Doc) -> None:
        import stateview

        self.dir = directory
        self.state = stateview.open(os.path.join(directory, "state.json"), default=doc)

    def close(self) -> None:
        self.state.close()
        del self.state


class StateViewAuto(_StateViewBase):
    name = "stateview"
    label = "stateview autocommit"
    note = "state['clients'][k]['score'] = n; default options (backups=1)"

    def commit(self, key: str, n: int) -> None:
        self.state["clients"][key]["score"] = n


class StateViewTxn(_StateViewBase):
    name = "stateview-txn"
    label = "stateview transaction"
    note = "one change per `with state.transaction()`"

    def commit(self, key: str, n: int) -> None:
        with self.state.transaction() as root:
            root["clients"][key]["score"] = n


class StateViewTxn10(_StateViewBase):
    name = "stateview-txn10"
    label = "stateview transaction x10"
    note = "10 assignments to the thread's own record per transaction; a commit = a transaction"
    changes_per_commit = 10

    def commit(self, key: str, n: int) -> None:
        with self.state.transaction() as root:
            record = root["clients"][key]
            for i in range(10):
                record["score"] = n * 10 + i


class _PlainJson(Contender):
    """Shared setup for contenders that keep a plain dict and rewrite a JSON file."""

    indent: ClassVar[int | None] = 2

    def setup(self, directory: str, doc: workload.Doc) -> None:
        self.dir = directory
        self.path = os.path.join(directory, "state.json")
        self.doc = json.loads(json.dumps(doc))
        self.save()

    def save(self) -> None:
        raise NotImplementedError

    def commit(self, key: str, n: int) -> None:
        with self.lock:
            self.doc["clients"][key]["score"] = n
            self.save()

    def close(self) -> None:
        del self.doc


class HandDurable(_PlainJson):
    name = "hand-fsync"
    label = "hand-written, fsync, indent=2"
    note = "json.dumps(indent=2) + temp, fsync, os.replace, dir fsync; a lock for threads"

    def save(self) -> None:
        write_file(self.path, (json.dumps(self.doc, indent=2) + "\n").encode(), fsync=True)


class HandDurableCompact(_PlainJson):
    name = "hand-fsync-compact"
    label = "hand-written, fsync, compact"
    note = "json.dumps() (C encoder, one line) + the same durable protocol"

    def save(self) -> None:
        write_file(self.path, json.dumps(self.doc).encode(), fsync=True)


class HandNoFsync(_PlainJson):
    name = "hand-nofsync"
    label = "hand-written, no fsync, indent=2"
    durability = ATOMIC_ONLY
    note = "the same protocol without both fsyncs: atomic, lost on power failure"

    def save(self) -> None:
        write_file(self.path, (json.dumps(self.doc, indent=2) + "\n").encode(), fsync=False)


class BareIO(Contender):
    name = "bare-io"
    label = "bare I/O (no serializing)"
    note = ("reference: write+fsync+replace+dir fsync of pre-serialized bytes of the same "
            "size; the floor for any durable JSON file")

    def setup(self, directory: str, doc: workload.Doc) -> None:
        self.dir = directory
        self.path = os.path.join(directory, "state.json")
        self.data = workload.disk_text(doc).encode()
        write_file(self.path, self.data, fsync=True)

    def commit(self, key: str, n: int) -> None:
        with self.lock:
            write_file(self.path, self.data, fsync=True)

    def close(self) -> None:
        del self.data


class AtomicWrites(_PlainJson):
    name = "atomicwrites"
    label = "atomicwrites"
    note = "atomic_write(path, overwrite=True) + json.dumps(indent=2); fsyncs file and dir"

    def save(self) -> None:
        from atomicwrites import atomic_write  # type: ignore[import-untyped]

        with atomic_write(self.path, overwrite=True) as f:
            f.write(json.dumps(self.doc, indent=2) + "\n")


class Safer(_PlainJson):
    name = "safer"
    label = "safer (temp_file=True)"
    durability = ATOMIC_ONLY
    note = "safer.open(path, 'w', temp_file=True): temp file + os.replace, never fsyncs"

    def save(self) -> None:
        import safer

        with safer.open(self.path, "w", temp_file=True) as f:
            f.write(json.dumps(self.doc, indent=2) + "\n")


def all_contenders() -> list[type[Contender]]:
    """Every contender, in the order of the tables."""
    import contenders_db

    return [
        StateViewAuto, StateViewTxn, StateViewTxn10,
        HandDurable, HandDurableCompact, HandNoFsync, BareIO,
        *contenders_db.DB_CONTENDERS,
        AtomicWrites, Safer,
        *contenders_db.OTHER_CONTENDERS,
    ]


def by_name() -> dict[str, type[Contender]]:
    return {c.name: c for c in all_contenders()}


__all__ = ["Contender", "Durability", "all_contenders", "by_name", "write_file"]
