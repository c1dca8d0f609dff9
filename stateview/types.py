"""Names for the values stateview hands out, for type checkers and for readers.

    from stateview.types import JSON, ChangeSource

    def on_change(event: stateview.ChangeEvent) -> None:
        source: ChangeSource = event.source      # "local" or "external"

Each string enum is a ``Literal`` alias, so a checker catches a misspelt ``"extrenal"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, TypeAlias

__all__ = [
    "JSON", "ChangeSource", "JSONInput", "LeftoverKind", "RecoveryAction", "RecoveryVerdict",
]

JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
"""A JSON value as Python holds it: objects are dicts with string keys, arrays are lists."""

JSONInput: TypeAlias = (
    Mapping[str, "JSONInput"] | Sequence["JSONInput"] | str | int | float | bool | None
)
"""What stateview takes as a value (it copies it in as :data:`JSON`): any mapping with string
keys and any sequence, so that a ``dict[str, int]`` or a tuple is accepted as it is. A set, an
object or a non-string key is caught by a type checker. (Reads stay ``Any``, as ``json.loads``
does: a checker cannot know the document's shape, and ``JSON`` would make every read of a
nested value need an ``isinstance`` first.)"""

ChangeSource: TypeAlias = Literal["local", "external"]
"""Where a change came from: a commit of this StateFile, or another writer's commit."""

RecoveryVerdict: TypeAlias = Literal["good", "missing", "unreadable", "invalid", "inaccessible"]
"""Recovery's verdict on a state file. Only ``missing`` and ``unreadable`` are restored from a
copy; ``invalid`` (strict JSON that fails the schema or is not an object or an array) and
``inaccessible`` (an I/O or permission error) need a person."""

RecoveryAction: TypeAlias = Literal[
    "keep", "remove", "restore", "restore-from", "set-aside", "move-to-backup",
    "clear-stale-lock-record",
]
"""What a recovery plan does with one file beside the state file."""

LeftoverKind: TypeAlias = Literal["temp", "previous", "backup", "corrupt"]
"""A file a crash or a recovery left beside the state file (docs/design.md, "On-disk names")."""
