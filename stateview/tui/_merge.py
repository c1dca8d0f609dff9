"""JSON equality and the three-way merge of two edits of one array.

No Textual here: pure functions on parsed values, used inside an edit's transaction.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import marshal
from typing import Any

__all__ = ["merge_lists", "same"]


def same(a: Any, b: Any) -> bool:
    """Whether two parsed JSON values are the same JSON.

    Python's ``==`` says ``1 == 1.0 == True``; a compare-and-set built on it would take a
    ``true`` another writer stored for the ``1`` the person saw, and write over it, and the
    live view (:mod:`stateview.tui._diff`) would never show such a change. Both use this rule.
    Key order does not count (JSON objects have none).
    """
    # A DictView/ListView from the document compares with a plain dict/list.
    kin = (isinstance(a, dict) and isinstance(b, dict)) or (
        isinstance(a, list) and isinstance(b, list))
    if type(a) is not type(b) and not kin:
        return False
    if a != b:
        return False  # looser than this rule, never stricter, and C-speed on big values
    if type(a) is type(b) and type(a) in (dict, list):
        # Equal marshal bytes mean equal types everywhere (it writes 1, 1.0 and true
        # apart), at a few times the cost of ==; a walk in Python over a 10 MB document
        # costs a second. Version 2 writes no back-references, so the bytes do not depend
        # on which objects happen to be shared. Unequal bytes (keys in another order, a
        # string interned on one side) are settled by the walk below.
        with contextlib.suppress(ValueError):
            if marshal.dumps(a, 2) == marshal.dumps(b, 2):
                return True
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


_Chunk = tuple[int, int, list[Any]]  # base[i1:i2] became the list


def _chunks(base: list[Any], other: list[Any]) -> list[_Chunk]:
    matcher = difflib.SequenceMatcher(None, [_key(v) for v in base], [_key(v) for v in other],
                                      autojunk=False)
    return [(i1, i2, list(other[j1:j2]))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _clash(a: _Chunk, b: _Chunk) -> bool:
    (i1, i2, _), (j1, j2, _) = a, b
    if i1 < j2 and j1 < i2:
        return True  # both changed some of the same items
    # An insertion at the edge of, or inside, the other's change: which goes first is a guess.
    return (i1 == i2 and j1 <= i1 <= j2) or (j1 == j2 and i1 <= j1 <= i2)


def merge_lists(base: list[Any], theirs: list[Any], mine: list[Any]) -> list[Any] | None:
    """Both edits of ``base`` applied together, or ``None`` where they touch the same items.

    Items are matched by their JSON text, so an item moved or changed by the other writer is
    never confused with the one the person edited.
    """
    if same(theirs, base):
        return list(mine)
    if same(mine, base) or same(mine, theirs):
        return list(theirs)
    ours, others = _chunks(base, mine), _chunks(base, theirs)
    if any(_clash(a, b) for a in ours for b in others):
        return None
    merged: list[Any] = []
    at = 0
    for i1, i2, items in sorted(ours + others, key=lambda c: (c[0], c[1])):
        merged.extend(base[at:i1])
        merged.extend(items)
        at = i2
    merged.extend(base[at:])
    return merged
