"""What changed between two versions of a document, as JSON Pointers.

Runs in the reader's child process (see ``_childreader``), never on the UI thread. Subtrees
that are the same JSON (:func:`~stateview.tui._merge.same`, the rule the compare-and-set
uses too) are skipped at C speed, so a small change in a 10 MB document costs a walk down one
branch, not over 200,000 nodes. A value that changes between ``1``, ``1.0`` and ``true`` is a
change, though Python's ``==`` says they are equal.

A list whose items moved up or down by a few places (a log that drops its oldest entry, a queue
that gets one pushed in front) is one ``shifted`` change plus the items that are really new,
not a change at every index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._jsontext import join_pointer
from ._merge import same
from ._model import Key

__all__ = ["Change", "diff", "patched"]

_MISSING: Any = object()


@dataclass(frozen=True)
class Change:
    """One changed value.

    Attributes:
        path: typed steps from the root.
        pointer: the same as a JSON Pointer.
        kind: ``"added"``, ``"removed"``, ``"changed"`` or ``"shifted"`` (a list).
        old, new: the values (``None`` for the side that does not exist).
        shift: for ``"shifted"``, how many items left the front (negative: how many were
            pushed in front).
    """

    path: tuple[Key, ...]
    pointer: str
    kind: str
    old: Any
    new: Any
    shift: int = 0


def diff(old: Any, new: Any, limit: int = 1000) -> list[Change]:
    """The changed leaves (or replaced containers) from ``old`` to ``new``, at most ``limit``.

    A container replaced by a scalar (or an object by an array) is one change at its pointer;
    keys added or removed are one change each.
    """
    changes: list[Change] = []
    stack: list[tuple[tuple[Key, ...], Any, Any]] = [((), old, new)]
    while stack and len(changes) < limit:
        path, a, b = stack.pop()
        if same(a, b):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            if not _appended_only(a, b):
                # Keys added in the middle (or moved): one change of the whole object, so
                # that whoever applies the changes gets the new order too.
                changes.append(Change(path, join_pointer(path), "changed", a, b))
                continue
            # Equal entries are skipped here, before any path is built: in a wide object
            # with one change that is all but one of them. Pushed in reverse so they pop in
            # document order: new keys, then removed ones.
            pending = [(key, a[key], _MISSING) for key in a if key not in b]
            pending.reverse()
            common = [key for key in b if key in a]
            unlike = {common[i] for i in _unlike([a[k] for k in common], [b[k] for k in common])}
            differing = [(key, a.get(key, _MISSING), value) for key, value in b.items()
                         if key in unlike or key not in a]
            differing.reverse()
            stack.extend(((*path, k), x, y) for k, x, y in pending)
            stack.extend(((*path, k), x, y) for k, x, y in differing)
            continue
        if isinstance(a, list) and isinstance(b, list):
            shift = _shift(a, b)
            if shift:
                changes.append(Change(path, join_pointer(path), "shifted", a, b, shift))
                # Only the items that are really new remain to report, at their new index.
                fresh = range(len(a) - shift, len(b)) if shift > 0 else range(-shift)
                stack.extend(((*path, i), _MISSING, b[i]) for i in reversed(fresh))
                continue
            kept = min(len(a), len(b))
            tail = range(kept, max(len(a), len(b)))
            stack.extend(((*path, i), a[i] if i < len(a) else _MISSING,
                          b[i] if i < len(b) else _MISSING) for i in reversed(tail))
            stack.extend(((*path, i), a[i], b[i])
                         for i in reversed(_unlike(a[:kept], b[:kept])))
            continue
        if a is _MISSING:
            changes.append(Change(path, join_pointer(path), "added", None, b))
        elif b is _MISSING:
            changes.append(Change(path, join_pointer(path), "removed", a, None))
        else:
            changes.append(Change(path, join_pointer(path), "changed", a, b))
    return changes


def _unlike(xs: list[Any], ys: list[Any]) -> list[int]:
    """The indices where two lists of equal length hold values that are not the same JSON.

    Compared a slice of :data:`_CHUNK` items at a time: one call of :func:`same` settles a
    slice at C speed, and only a slice that differs is looked at item by item. A call per
    item would cost ten times as much on a list of 30,000 small objects.
    """
    unlike: list[int] = []
    for start in range(0, len(xs), _CHUNK):
        part_x, part_y = xs[start:start + _CHUNK], ys[start:start + _CHUNK]
        if not same(part_x, part_y):
            unlike.extend(start + i for i, (x, y) in enumerate(zip(part_x, part_y, strict=True))
                          if not same(x, y))
    return unlike


_CHUNK = 64


_MAX_SHIFT = 8
"""Shifts by more places than this are reported index by index."""


def _shift(a: list[Any], b: list[Any]) -> int:
    """How far ``b`` is ``a`` moved up (positive) or down (negative), or 0.

    Only shifts that keep at least two items in common count: a one-item list that changed
    is a change, not a shift.
    """
    for k in range(1, min(_MAX_SHIFT, len(a), len(b)) + 1):
        kept = len(a) - k
        if kept >= 2 and kept <= len(b) and same(a[k:], b[:kept]):
            return k
        kept = len(b) - k
        if kept >= 2 and kept <= len(a) and same(b[k:], a[:kept]):
            return -k
    return 0


def _appended_only(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """``b`` has ``a``'s keys in ``a``'s order, less removed ones, then the new ones."""
    if len(a) == len(b) and a.keys() == b.keys():
        return True  # same keys (a pure reorder is not reported at all, see above)
    kept = [k for k in b if k in a]
    if kept != [k for k in a if k in b]:
        return False
    new = len(b) - len(kept)
    return all(k not in a for k in list(b)[len(b) - new:]) if new else True


def patched(document: Any, changes: list[Change]) -> Any:
    """``document`` with ``changes`` (from :func:`diff`) applied, as a new document.

    Containers on the way to a change are copied; every other subtree is shared with
    ``document``, which is left as it was (the tree on screen still points into it).
    """
    if any(not c.path for c in changes):
        return next(c.new for c in changes if not c.path)
    root = _copy(document)
    fresh = {id(root)}
    removals: list[tuple[Any, Key]] = []
    for change in changes:
        parent = root
        for key in change.path[:-1]:
            child = parent[key]
            if id(child) not in fresh:
                child = _copy(child)
                fresh.add(id(child))
                parent[key] = child
            parent = child
        key = change.path[-1]
        if change.kind == "removed":
            removals.append((parent, key))
        elif isinstance(parent, list) and key == len(parent):
            parent.append(change.new)
        else:
            parent[key] = change.new
    # Array items go last to first, so that each index still names the item it named.
    for parent, key in sorted(removals, key=lambda r: -r[1] if isinstance(r[1], int) else 0):
        del parent[key]
    return root


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value)
