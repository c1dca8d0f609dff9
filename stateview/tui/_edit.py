"""Edits from the UI, committed through the engine like any other writer's.

The StateFile is opened only for the edit and closed right after: the UI is a viewer that
writes now and then, and holding the file open would make it a second long-lived writer with
its own cache to keep fresh. A short lock timeout keeps the UI from hanging behind a busy
writer; the caller runs this on a worker thread anyway.
"""

from __future__ import annotations

from typing import Any

from .. import _statefile
from .._document import plain
from .._errors import SchemaViolation
from .._pointer import delete_at, set_at
from .._schema import Schema

__all__ = ["DELETE", "commit_edit"]

DELETE: Any = object()
"""Pass as ``value`` to delete the node instead of setting it."""


def commit_edit(
    path: str, parts: list[str], value: Any, schema: Schema | None, lock_timeout: float = 2.0
) -> None:
    """Set (or, with :data:`DELETE`, remove) the value at ``parts`` in one commit.

    The schema is checked here rather than by ``open``: ``open`` refuses a document that
    already breaks the schema, and an operator must be able to *fix* such a document. So an
    edit is refused when it adds a violation the document did not have before.

    Raises:
        StateError: PointerError, InvalidValue, SchemaViolation, LockTimeout, CommitFailed ...
            Nothing is written when it raises.
    """
    with _statefile.open(path, lock_timeout=lock_timeout) as state, \
            state.transaction() as root:
        before = set()
        if schema is not None:
            before = {(i.pointer, i.rule) for i in schema.issues(plain(root))}
        if value is DELETE:
            delete_at(root, parts)
        else:
            set_at(root, parts, value)
        if schema is not None:
            new = [i for i in schema.issues(plain(root)) if (i.pointer, i.rule) not in before]
            if new:
                raise SchemaViolation([(i.pointer, i.rule, i.schema_path, i.message)
                                       for i in new])
