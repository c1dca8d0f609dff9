"""What changed between two versions of a document, as JSON Pointers.

Runs on the watcher thread, never on the UI thread. Subtrees that compare equal are skipped
with one C-speed ``==``, so a small change in a 10 MB document costs a walk down one branch,
not over 200,000 nodes. The price of that shortcut: Python counts ``1 == 1.0 == True``, so a
value that changes only between those inside an otherwise equal subtree is not reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._jsontext import join_pointer
from ._model import Key

__all__ = ["Change", "diff"]

_MISSING: Any = object()


@dataclass(frozen=True)
class Change:
    """One changed value.

    Attributes:
        path: typed steps from the root.
        pointer: the same as a JSON Pointer.
        kind: ``"added"``, ``"removed"`` or ``"changed"``.
        old, new: the values (``None`` for the side that does not exist).
    """

    path: tuple[Key, ...]
    pointer: str
    kind: str
    old: Any
    new: Any


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def diff(old: Any, new: Any, limit: int = 1000) -> list[Change]:
    """The changed leaves (or replaced containers) from ``old`` to ``new``, at most ``limit``.

    A container replaced by a scalar (or an object by an array) is one change at its pointer;
    keys added or removed are one change each.
    """
    changes: list[Change] = []
    stack: list[tuple[tuple[Key, ...], Any, Any]] = [((), old, new)]
    while stack and len(changes) < limit:
        path, a, b = stack.pop()
        if _same(a, b):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            # Equal entries are skipped here, before any path is built: in a wide object
            # with one change that is all but one of them. Pushed in reverse so they pop in
            # document order: new keys, then removed ones.
            pending = [(key, a[key], _MISSING) for key in a if key not in b]
            pending.reverse()
            differing = [(key, a.get(key, _MISSING), value) for key, value in b.items()
                         if not _same(a.get(key, _MISSING), value)]
            differing.reverse()
            stack.extend(((*path, k), x, y) for k, x, y in pending)
            stack.extend(((*path, k), x, y) for k, x, y in differing)
            continue
        if isinstance(a, list) and isinstance(b, list):
            for i in range(max(len(a), len(b)) - 1, -1, -1):
                x = a[i] if i < len(a) else _MISSING
                y = b[i] if i < len(b) else _MISSING
                if not _same(x, y):
                    stack.append(((*path, i), x, y))
            continue
        if a is _MISSING:
            changes.append(Change(path, join_pointer(path), "added", None, b))
        elif b is _MISSING:
            changes.append(Change(path, join_pointer(path), "removed", a, None))
        else:
            changes.append(Change(path, join_pointer(path), "changed", a, b))
    return changes
