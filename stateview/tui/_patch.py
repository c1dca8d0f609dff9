"""Edits as compare-and-set patches: apply what the person changed, only where nobody else did.

A person edits what they *saw*: the version of the document on screen when a dialog opened.
By the time they save, a server may have committed a hundred times. So an edit is not "write
this value" but a list of :class:`Op` s, each carrying the value it expects to find. Inside
the commit's transaction every expectation is checked against the current document; if all
hold, only the person's changes are applied, and the other writers' commits to other values
survive. If one fails, nothing is written and a :class:`Conflict` says where and why.

Array items have no identity but their place. An op below an array item also remembers the
items before it (a :class:`Guard`): if another writer inserted or removed one there, the item
has moved, and the edit is refused instead of landing on its neighbour.

No Textual here: this runs on worker threads, inside the engine's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .._document import plain
from .._errors import show_pointer
from .._jsontext import join_pointer
from ._merge import same
from ._model import Key

__all__ = ["ABSENT", "Clash", "Conflict", "Conflicted", "Guard", "Op", "diff_ops", "guards_for",
           "value_at"]


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()
"""The value of a place that does not exist (a deleted key, an item past the end)."""

Path = tuple[Key, ...]


@dataclass(frozen=True)
class Guard:
    """The array at ``path`` must still begin with ``prefix`` (the items before the edit).

    ``length`` is how long the array was: an item that is not where it was, in an array
    that grew or shrank, has moved (or gone), rather than changed in place.
    """

    path: Path
    prefix: tuple[Any, ...]
    length: int = -1


@dataclass(frozen=True)
class Op:
    """One change, with what it expects to find.

    Attributes:
        kind: ``replace`` (``old`` → ``new``), ``add`` (``new`` where nothing is, or inserted
            into an array at the index), ``remove`` (``old``), ``rename`` (the key at ``path``
            holding ``old`` becomes ``key``, keeping its place), ``merge`` (the array at
            ``path`` went from ``old`` to ``new`` in the person's copy; merged three ways).
        path: where, as typed steps from the root.
        guards: the arrays on the way that must not have shifted.
    """

    kind: Literal["replace", "add", "remove", "rename", "merge"]
    path: Path
    old: Any = ABSENT
    new: Any = ABSENT
    key: str = ""
    guards: tuple[Guard, ...] = ()

    @property
    def pointer(self) -> str:
        return join_pointer(self.path)


@dataclass(frozen=True)
class Clash:
    """One op whose expectation failed.

    Attributes:
        pointer: where.
        why: ``changed``, ``deleted``, ``moved`` (an array before it shifted) or ``taken``
            (a key the person added was added by someone else with another value).
        theirs: what is there now (:data:`ABSENT` if nothing).
    """

    pointer: str
    why: Literal["changed", "deleted", "moved", "taken"]
    theirs: Any


@dataclass(frozen=True)
class Conflict:
    """Nothing was written: what the person saw is no longer what is there.

    Attributes:
        clashes: every place where the expectation failed.
        forced: the same change re-based on the current document, to overwrite with (still a
            compare-and-set: against what is there now, i.e. what the conflict dialog shows);
            ``None`` when an array item moved and cannot be found again for sure.
        theirs: the current value at the edited pointer.
        guards: the guards of the edited pointer in the current document (to edit again).
        moves: where array items the change was about are now (old path → new path).
    """

    clashes: tuple[Clash, ...]
    forced: tuple[Op, ...] | None
    theirs: Any = ABSENT
    guards: tuple[Guard, ...] = ()
    moves: dict[Path, Path] = field(default_factory=dict)

    @property
    def why(self) -> str:
        """One sentence for the dialog."""
        first = self.clashes[0]
        where = show_pointer(first.pointer)
        others = len(self.clashes) - 1
        more = f" (and {others} more place{'s' if others != 1 else ''})" if others else ""
        text = {
            "changed": f"{where} changed since you saw it",
            "deleted": f"{where} was deleted since you saw it",
            "moved": f"{where} moved since you saw it: items around it were added "
                     "or removed",
            "taken": f"{where} was added by another writer since you saw it",
        }[first.why]
        return text + more


class Conflicted(Exception):
    """Raised inside the transaction so that it rolls back; carries the :class:`Conflict`."""

    def __init__(self, conflict: Conflict) -> None:
        super().__init__(conflict.why)
        self.conflict = conflict


def value_at(document: Any, path: Path) -> Any:
    """The value at ``path``, or :data:`ABSENT`."""
    node = document
    for key in path:
        found = (isinstance(node, dict) and isinstance(key, str) and key in node) or (
            isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node))
        if not found:
            return ABSENT
        node = node[key]
    return node


def guards_for(document: Any, path: Path) -> tuple[Guard, ...]:
    """The guards for an op at ``path``: for each array step, the items before it."""
    guards = []
    node = document
    for i, key in enumerate(path):
        if isinstance(node, list) and isinstance(key, int):
            guards.append(Guard(path[:i], tuple(plain(v) for v in node[:key]), len(node)))
        node = value_at(node, (key,))
        if node is ABSENT:
            break
    return tuple(guards)


def diff_ops(path: Path, original: Any, mine: Any, guards: tuple[Guard, ...] = ()) -> list[Op]:
    """The ops that turn ``original`` (seen at ``path``) into ``mine``.

    Objects are compared key by key (a key that disappeared while another with the same
    value appeared is a rename); an array is one ``merge`` op, merged item by item.

    Args:
        path: where the person edited.
        original: the value there when the editor opened (:data:`ABSENT` for a new one).
        mine: the value they saved (:data:`ABSENT` to delete).
        guards: :func:`guards_for` the document they saw, at ``path``.
    """
    return [replace(op, guards=guards) for op in _ops(path, original, mine)]


def _ops(path: Path, old: Any, new: Any) -> list[Op]:
    if same(old, new):
        return []
    if old is ABSENT:
        return [Op("add", path, new=new)]
    if new is ABSENT:
        return [Op("remove", path, old=old)]
    if isinstance(old, list) and isinstance(new, list):
        return [Op("merge", path, old=old, new=new)]
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [Op("replace", path, old=old, new=new)]
    ops: list[Op] = []
    added = [k for k in new if k not in old]
    for key in old:
        if key in new:
            ops.extend(_ops((*path, key), old[key], new[key]))
            continue
        twin = next((k for k in added if same(new[k], old[key])), None)
        if twin is None:
            ops.append(Op("remove", (*path, key), old=old[key]))
        else:
            added.remove(twin)
            ops.append(Op("rename", (*path, key), old=old[key], key=twin))
    ops.extend(Op("add", (*path, k), new=new[k]) for k in added)
    return ops
