"""Edits from the UI, committed through the engine like any other writer's, as compare-and-set.

The StateFile is opened only for the edit and closed right after: the UI is a viewer that
writes now and then, and holding the file open would make it a second long-lived writer with
its own cache to keep fresh. A short lock timeout keeps the UI from hanging behind a busy
writer; the caller runs this on a worker thread anyway.

No Textual here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from .. import _statefile
from .._document import plain
from .._errors import SchemaViolation
from .._jsontext import join_pointer
from .._schema import Schema
from ._cas import apply
from ._merge import same
from ._patch import ABSENT, Conflict, Conflicted, Op, Path, guards_for, value_at

__all__ = ["OwnWrites", "Saved", "commit_ops"]


@dataclass(frozen=True)
class Saved:
    """The edit is durable.

    Attributes:
        ops: what was applied.
        inverse: the ops that undo it (a compare-and-set expecting what was written).
    """

    ops: tuple[Op, ...]
    inverse: tuple[Op, ...]


def commit_ops(
    path: str,
    ops: list[Op] | tuple[Op, ...],
    schema: Schema | None,
    *,
    at: tuple[Any, ...] = (),
    lock_timeout: float = 2.0,
    strict: bool = False,
) -> Saved | Conflict:
    """Apply ``ops`` in one commit if everything they expect is still there.

    The schema is checked here rather than by ``open``: ``open`` refuses a document that
    already breaks the schema, and an operator must be able to *fix* such a document. So an
    edit is refused when it adds a violation the document did not have before.

    Args:
        path: the state file, or a database document's URL.
        ops: the person's change, from :func:`~stateview.tui._patch.diff_ops`.
        schema: refuse new violations of it.
        at: the edited place, whose current value a conflict reports as *theirs*.
        lock_timeout: seconds to wait for another writer.
        strict: an undo or redo: every op must find exactly what it expects
            (:func:`~stateview.tui._cas.apply`).

    Returns:
        :class:`Saved` once the commit is durable, or the :class:`Conflict` (nothing written).

    Raises:
        StateError: InvalidValue, SchemaViolation, LockTimeout, CommitFailed ... Nothing is
            written when it raises.
    """
    with _statefile.open(path, lock_timeout=lock_timeout) as state:
        try:
            with state.transaction() as root:
                before: set[tuple[str, str]] = set()
                if schema is not None:
                    before = {(i.pointer, i.rule) for i in schema.issues(plain(root))}
                try:
                    inverse = apply(root, ops, strict=strict)
                except Conflicted as e:
                    # If the edited item moved, "theirs" is that item where it is now.
                    now = e.conflict.moves.get(at, at)
                    moved_away = at not in e.conflict.moves and any(
                        c.why == "moved" and c.pointer == join_pointer(at)
                        for c in e.conflict.clashes)
                    theirs = ABSENT if moved_away else plain(value_at(root, now))
                    e.conflict = replace(e.conflict, theirs=theirs, guards=guards_for(root, now))
                    raise
                if schema is not None:
                    new = [i for i in schema.issues(plain(root))
                           if (i.pointer, i.rule) not in before]
                    if new:
                        raise SchemaViolation([(i.pointer, i.rule, i.schema_path, i.message)
                                               for i in new])
        except Conflicted as e:
            return e.conflict
    return Saved(tuple(ops), inverse)


class OwnWrites:
    """This session's recent commits, so that the change feed can mark them as the person's.

    A reload reports what changed, not who changed it; a change is taken as the person's own
    when it lies on a path they wrote and the document holds what they wrote there. Writes are
    recorded *before* the commit (and forgotten if it fails): the watcher may read the new
    version before the committing thread gets to say it is done.
    """

    def __init__(self, keep_seconds: float = 30.0) -> None:
        self.keep_seconds = keep_seconds
        self._writes: list[tuple[float, Path, Any]] = []
        self._lock = threading.Lock()  # the committing worker and the UI thread share it

    def record(self, ops: tuple[Op, ...] | list[Op],
               now: float | None = None) -> list[tuple[float, Path, Any]]:
        """Remember what ``ops`` write; returns the entries, for :meth:`forget`."""
        expires = (time.monotonic() if now is None else now) + self.keep_seconds
        entries = []
        for op in ops:
            if op.kind == "rename":
                entries.append((expires, op.path, ABSENT))
                entries.append((expires, (*op.path[:-1], op.key), op.old))
            elif op.kind == "merge":
                entries.append((expires, op.path, _ANY))
            else:
                entries.append((expires, op.path, op.new))
        with self._lock:
            self._writes.extend(entries)
        return entries

    def forget(self, entries: list[tuple[float, Path, Any]]) -> None:
        """Drop what :meth:`record` noted for a commit that did not happen."""
        with self._lock:
            for entry in entries:
                if entry in self._writes:
                    self._writes.remove(entry)

    def claim(self, paths: list[Path], document: Any, now: float | None = None) -> set[Path]:
        """Which of a reload's changed ``paths`` were this session's own writes."""
        now = time.monotonic() if now is None else now
        own: set[Path] = set()
        with self._lock:
            writes = [w for w in self._writes if w[0] > now]
            used = set()
            for path in paths:
                for i, (_, written, value) in enumerate(writes):
                    n = min(len(path), len(written))
                    if path[:n] != written[:n]:
                        continue
                    if value is _ANY or same(value_at(document, written), value):
                        own.add(path)
                        used.add(i)
            self._writes = [w for i, w in enumerate(writes) if i not in used]
        return own


_ANY: Any = object()
