"""Merging a newly read version into the document tree, in place.

Another process's commit (or a rollback to the durable version) is merged into the same
objects rather than replacing them: views a program holds stay valid, caches of unchanged
parts survive, and the pointer of every value that changed is collected for the change
events (docs/design.md, "The engine's parts").
"""

from __future__ import annotations

from typing import Any

from . import _document
from ._document import adopt, detach
from ._jsontext import escape_token

__all__ = ["Graves", "merge"]

Graves = dict[tuple[int, str], Any]
_ABSENT: Any = object()


def merge(node: Any, new: Any, changed: list[str], base: str, graves: Graves | None = None) -> bool:
    """Make container ``node`` equal to plain ``new`` of the same kind, in place.

    Containers present in both are merged recursively, so views held elsewhere stay valid
    and keep their caches when unchanged. Pointers of changed values go to ``changed``.

    Args:
        graves: for a rollback, the containers removed since the version being restored,
            by ``(id(former parent), key)``. A program may still hold them; they are put
            back in place rather than rebuilt, so its views come back to life.

    Returns:
        Whether anything changed.
    """
    if type(node) is _document._DICT_TYPE:
        return _merge_dict(node, new, changed, base, graves or {})
    return _merge_list(node, new, changed, base, graves or {})


def _merge_value(parent: Any, key: Any, old: Any, new: Any, changed: list[str],
                 pointer: str, graves: Graves) -> tuple[bool, Any]:
    """Merge one entry (``old`` may be ``_ABSENT``); returns (changed, value to store)."""
    tnew = type(new)
    if graves and key is not None:
        original = graves.pop((id(parent), key), None)
        if original is not None and original is not old and (
                (type(original) is _document._DICT_TYPE and tnew is dict)
                or (type(original) is _document._LIST_TYPE and tnew is list)):
            if old is not _ABSENT:
                detach(old)
            original._parent, original._key = parent, key
            merge(original, new, changed, pointer, graves)
            changed.append(pointer)
            return True, original
    told = type(old)
    dict_view, list_view = _document._DICT_TYPE, _document._LIST_TYPE
    if (told is dict_view and tnew is dict) or (told is list_view and tnew is list):
        return merge(old, new, changed, pointer, graves), old
    if told is tnew and told is not dict_view and told is not list_view and old == new:
        return False, old
    if old is not _ABSENT:
        detach(old)
    changed.append(pointer)
    return True, adopt(new, parent, key if type(parent) is _document._DICT_TYPE else None, pointer)


def _merge_dict(node: Any, new: dict[str, Any], changed: list[str], base: str,
                graves: Graves) -> bool:
    any_change = False
    same_order = len(node) == len(new) and all(a == b for a, b in zip(node, new, strict=True))
    if same_order:
        for k, v in new.items():
            old = dict.__getitem__(node, k)
            did, value = _merge_value(node, k, old, v, changed, f"{base}/{escape_token(k)}", graves)
            if did:
                any_change = True
                if value is not old:
                    dict.__setitem__(node, k, value)
                if node._parts is not None and node._parts.get(k, 0) is not None:
                    node._parts[k] = None
                    node._stale.append(k)
    else:
        any_change = True
        items = []
        for k, v in new.items():
            old = dict.get(node, k, _ABSENT)
            _did, value = _merge_value(node, k, old, v, changed, f"{base}/{escape_token(k)}",
                                       graves)
            items.append((k, value))
        for k in node:
            if k not in new:
                changed.append(f"{base}/{escape_token(k)}")
                detach(dict.__getitem__(node, k))
        dict.clear(node)
        dict.update(node, items)
        node._parts = None
    if any_change:
        node._text = None
    return any_change


def _merge_list(node: Any, new: list[Any], changed: list[str], base: str,
                graves: Graves) -> bool:
    any_change = False
    for i, v in enumerate(new[: len(node)]):
        old = list.__getitem__(node, i)
        did, value = _merge_value(node, None, old, v, changed, f"{base}/{i}", graves)
        if did:
            any_change = True
            if value is not old:
                list.__setitem__(node, i, value)
    if len(new) != len(node):
        any_change = True
        for i in range(len(new), len(node)):
            changed.append(f"{base}/{i}")
            detach(list.__getitem__(node, i))
        if len(new) < len(node):
            list.__delitem__(node, slice(len(new), None))
        for i in range(len(node), len(new)):
            changed.append(f"{base}/{i}")
            list.append(node, adopt(new[i], node, None, f"{base}/{i}"))
    if any_change:
        node._parts = None
        node._text = None
    return any_change
