"""Applying :class:`~stateview.tui._patch.Op` s to the live document: the compare-and-set.

Called inside ``state.transaction()``, with the lock held and the document freshly reloaded,
so that nothing can change between the comparison and the write. Every op is checked before
any is applied; an op whose change is already there (another writer made the same change) is
fine and writes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .._document import plain
from ._merge import merge_lists, same
from ._model import Key
from ._patch import ABSENT, Clash, Conflict, Conflicted, Guard, Op, Path, guards_for, value_at

__all__ = ["apply", "rebase"]


def _holds(root: Any, guard: Guard) -> bool:
    """Whether the array at the guard's path still begins with the items the person saw."""
    items = value_at(root, guard.path)
    return isinstance(items, list) and len(items) >= len(guard.prefix) and all(
        same(a, b) for a, b in zip(items, guard.prefix, strict=False))


def _shifted(parent: Any, op: Op) -> bool:
    """Whether ``op`` is on an item of an array whose length changed since it was seen."""
    guard = op.guards[-1] if op.guards else None
    return (isinstance(parent, list) and guard is not None and guard.path == op.path[:-1]
            and guard.length not in (-1, len(parent)))


def _check(root: Any, op: Op, strict: bool = False) -> Clash | None:
    """Why ``op`` cannot be applied to ``root`` as it is now, or ``None``.

    ``strict``: only what ``op`` expects will do; its change found made already is a clash
    too (see :func:`apply`).
    """
    if not all(_holds(root, guard) for guard in op.guards):
        return Clash(op.pointer, "moved", value_at(root, op.path))
    now = value_at(root, op.path)
    parent = value_at(root, op.path[:-1]) if op.path else ABSENT
    if strict:
        clash = _check_strictly(op, now, parent)
        if clash is not None:
            return clash
    if op.kind == "add":
        if isinstance(parent, list):
            index = op.path[-1]
            return None if isinstance(index, int) and index <= len(parent) else Clash(
                op.pointer, "moved", now)
        if parent is ABSENT:
            return Clash(op.pointer, "deleted", ABSENT)
        return None if now is ABSENT or same(now, op.new) else Clash(op.pointer, "taken", now)
    if _shifted(parent, op) and not (now is not ABSENT and (
            same(now, op.old) or (op.kind == "replace" and same(now, op.new)))):
        return Clash(op.pointer, "moved", now)
    if now is ABSENT:
        return None if op.kind == "remove" else Clash(op.pointer, "deleted", ABSENT)
    if op.kind == "merge":
        if isinstance(now, list) and merge_lists(op.old, now, op.new) is not None:
            return None
        return Clash(op.pointer, "changed", now)
    if op.kind == "rename":
        taken = value_at(parent, (op.key,))
        if taken is not ABSENT and not same(taken, op.old):
            return Clash(op.pointer[: op.pointer.rfind("/") + 1] + op.key, "taken", taken)
    if same(now, op.old) or (op.kind == "replace" and same(now, op.new)):
        return None
    return Clash(op.pointer, "changed", now)


def _check_strictly(op: Op, now: Any, parent: Any) -> Clash | None:
    """The clashes only a strict op has: the place is gone, or holds something else than
    what the op expects (even the op's own result, written by another writer)."""
    if op.kind == "add":
        if parent is ABSENT:
            return Clash(op.pointer, "deleted", ABSENT)
        if now is not ABSENT and not isinstance(parent, list):
            return Clash(op.pointer, "taken", now)
        return None
    if now is ABSENT:
        return Clash(op.pointer, "deleted", ABSENT)
    if op.kind in ("replace", "remove", "rename", "merge") and not same(now, op.old):
        return Clash(op.pointer, "changed", now)
    return None


def _write(root: Any, op: Op) -> tuple[str, Path, Any, Any, str]:
    """Apply a checked op; returns its inverse as (kind, path, old, new, key)."""
    now = value_at(root, op.path)
    parent = value_at(root, op.path[:-1]) if op.path else root
    last = op.path[-1] if op.path else None
    if op.kind == "add":
        if isinstance(parent, list):
            assert isinstance(last, int)
            parent.insert(last, op.new)
        elif now is ABSENT:
            parent[last] = op.new
        return "remove", op.path, op.new, ABSENT, ""
    if op.kind == "remove":
        if now is not ABSENT:
            del parent[last]
            return "add", op.path, ABSENT, op.old, ""
        return "add", op.path, ABSENT, ABSENT, ""  # nothing to undo
    if op.kind == "merge":
        theirs = plain(now)
        merged = merge_lists(op.old, theirs, op.new)
        _set(root, parent, last, merged)
        return "merge", op.path, merged, theirs, ""
    if op.kind == "rename":
        assert isinstance(last, str)
        _rename(parent, last, op.key)
        return "rename", (*op.path[:-1], op.key), op.old, ABSENT, last
    if not same(now, op.new):
        _set(root, parent, last, op.new)
    return "replace", op.path, op.new, op.old, ""


def _set(root: Any, parent: Any, last: Key | None, value: Any) -> None:
    if last is None:  # the whole document: same kind only (the engine's rule)
        if isinstance(root, dict):
            root.clear()
            root.update(value)
        else:
            root[:] = value
    else:
        parent[last] = value


def _rename(parent: Any, old: str, new: str) -> None:
    """Rename a key in place: the keys after it are moved back behind it, so order stays."""
    keys = list(parent)
    after = keys[keys.index(old) + 1:]
    tail = [(k, plain(parent[k])) for k in after if k != new]
    value = plain(parent[old])
    for k in [old, *after]:
        del parent[k]
    parent[new] = value
    for k, v in tail:
        parent[k] = v


def apply(root: Any, ops: list[Op] | tuple[Op, ...], *, strict: bool = False) -> tuple[Op, ...]:
    """Check every op against ``root``, then apply them all; returns the inverse ops.

    The inverse, applied later, is itself a compare-and-set that expects what these ops
    wrote: undo, and redo as the undo's inverse. Those are applied ``strict``: an edit may
    find its change made by another writer already and be content, but an undo that finds
    the place it would put back gone (or changed) has nothing of this session's to undo,
    and must say so rather than report a change it did not make.

    Raises:
        Conflicted: some expectation failed; nothing was changed.
    """
    checked = [(op, _check(root, op, strict)) for op in ops]
    clashes = tuple(c for _, c in checked if c is not None)
    if clashes:
        raise Conflicted(_conflict(root, checked, clashes))
    undone = [_write(root, op) for op in ops]
    inverse = []
    for kind, path, old, new, key in reversed(undone):
        if kind == "add" and new is ABSENT:
            continue  # a remove that found nothing: nothing to put back
        inverse.append(Op(kind, path, old=old, new=new, key=key,
                          guards=guards_for(root, path)))
    return tuple(inverse)


def _conflict(root: Any, checked: list[tuple[Op, Clash | None]],
              clashes: tuple[Clash, ...]) -> Conflict:
    """The conflict, with the change re-based on ``root`` where that is safe."""
    forced: list[Op] | None = []
    moves: dict[Path, Path] = {}
    for op, clash in checked:
        if clash is None or clash.why != "moved":
            if forced is not None:
                forced.append(rebase(root, op))
            continue
        found = _relocate(root, op)
        if found is None:
            forced = None  # overwriting by index would hit another item
        else:
            moves[op.path] = found.path
            if forced is not None:
                forced.append(found)
    return Conflict(clashes, None if forced is None else tuple(forced), moves=moves)


def _relocate(root: Any, op: Op) -> Op | None:
    """``op`` moved to where its array item is now, if that item can be found for sure.

    Only for an op on an item (or an insertion) of the array that shifted, found by the
    item's value (for an insertion: the item before it); unique, or not found at all.
    """
    if not op.path or not op.guards or op.guards[-1].path != op.path[:-1]:
        return None
    if not all(_holds(root, g) for g in op.guards[:-1]):
        return None
    items = value_at(root, op.path[:-1])
    if not isinstance(items, list):
        return None
    if op.kind == "add":
        prefix = op.guards[-1].prefix
        hits = [i + 1 for i, v in enumerate(items) if same(v, prefix[-1])] if prefix else [0]
    elif op.kind in ("remove", "replace"):
        hits = [i for i, v in enumerate(items) if same(v, op.old)]
    else:
        return None
    if len(hits) != 1:
        return None
    path = (*op.path[:-1], hits[0])
    return replace(op, path=path, guards=guards_for(root, path))


def rebase(root: Any, op: Op) -> Op:
    """``op`` made to expect what ``root`` holds now (to overwrite with the person's change)."""
    now = value_at(root, op.path)
    guards = guards_for(root, op.path)
    if op.kind == "add" and isinstance(value_at(root, op.path[:-1]), list):
        return replace(op, guards=guards)
    if now is ABSENT:
        if op.kind == "remove":
            return replace(op, guards=guards)  # already gone: applying it writes nothing
        if op.kind == "rename":
            return Op("add", (*op.path[:-1], op.key), new=op.old, guards=guards)
        return Op("add", op.path, new=op.new, guards=guards)
    now = plain(now)
    if op.kind == "remove":
        return Op("remove", op.path, old=now, guards=guards)
    if op.kind == "rename":
        return replace(op, old=now, guards=guards)
    return Op("replace", op.path, old=now, new=op.new, guards=guards)
