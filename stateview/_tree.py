"""The document tree: containers that are real dicts and lists, kept serialized piece by piece.

A server reads its state far more often than it writes it, so the containers are subclasses of
``dict`` and ``list`` that inherit every read (``state["a"]["b"]`` runs at plain-dict speed)
and override only the mutating methods (in :mod:`stateview._views`).

Every container remembers its parent and its key there, and caches its serialized text: the
whole (``_text``) and per entry (``_parts``). A mutation clears the caches on the path from the
changed entry to the root and nowhere else, so serializing a 10 MB document after changing one
value re-encodes one path and joins cached strings: the cost of a commit is the cost of the I/O.
Reloading another process's version merges it into the same objects, so views a program holds
stay valid and caches of unchanged parts survive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from ._errors import InvalidValue
from ._jsontext import MAX_DEPTH, join_pointer

__all__ = ["Node", "adopt", "detach", "merge", "plain", "pointer_of", "serialize", "touch"]


class Node:
    """Attributes shared by :class:`~stateview._views.DictView` and ``ListView``.

    The real classes declare the same ``__slots__``; this class only documents them.

    Attributes:
        _parent: the container holding this one, ``None`` for the root or a removed view.
        _key: this container's key in a dict parent (``None`` in a list).
        _parts: cached serialized entries (dict: key -> text, list: list of texts).
        _text: cached serialized text of the whole container at its depth.
        _doc: the owning document, set on the root only.
    """


# Typed as Any so that `type(x) is _DICT_TYPE` does not narrow x to a plain dict for mypy.
_DICT_TYPE: Any = dict
_LIST_TYPE: Any = list


def bind_types(dict_view: type[dict[str, Any]], list_view: type[list[Any]]) -> None:
    """Tell this module which classes are the views (it is imported by them)."""
    global _DICT_TYPE, _LIST_TYPE
    _DICT_TYPE, _LIST_TYPE = dict_view, list_view


class _Bad(Exception):
    """A refused value deep in an adopted tree; carries the path back up as it unwinds."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.path: list[str | int] = []


def adopt(value: Any, parent: Any, key: str | None, base: str, depth: int = 1) -> Any:
    """Copy ``value`` into the document as views under ``parent``, checking JSON-value rules.

    Args:
        value: what the program assigned.
        parent: the container it goes into (``None`` for a new root).
        key: its key in a dict parent.
        base: JSON Pointer where the value will sit (for error messages only).
        depth: nesting depth of the value in the document.

    Raises:
        InvalidValue: naming the pointer of the first refused value; nothing was changed.
    """
    try:
        return _adopt(value, parent, key, depth, set())
    except _Bad as bad:
        raise InvalidValue(base + join_pointer(bad.path[::-1]), bad.reason) from None


def _adopt(value: Any, parent: Any, key: str | None, depth: int, seen: set[int]) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        if math.isfinite(value):
            return value
        raise _Bad(f"{value!r} is not a JSON number (NaN and infinity are refused)")
    if isinstance(value, (Mapping, list, tuple)):
        if depth > MAX_DEPTH:
            raise _Bad(f"nested deeper than {MAX_DEPTH} levels")
        ident = id(value)
        if ident in seen:
            raise _Bad("this container appears twice in the value (or inside itself); "
                       "JSON has no references, copy it explicitly")
        seen.add(ident)
        if isinstance(value, Mapping):
            node: Any = _DICT_TYPE()
            node._parent, node._key, node._parts, node._text, node._doc = (
                parent, key, None, None, None)
            for k, v in value.items():
                if type(k) is not str:
                    if not isinstance(k, str):
                        bad = _Bad(f"key {k!r} is a {type(k).__name__}; JSON keys are strings")
                        raise bad
                    k = str.__str__(k)
                try:
                    dict.__setitem__(node, k, _adopt(v, node, k, depth + 1, seen))
                except _Bad as bad:
                    bad.path.append(k)
                    raise
        else:
            node = _LIST_TYPE()
            node._parent, node._key, node._parts, node._text, node._doc = (
                parent, key, None, None, None)
            for i, v in enumerate(value):
                try:
                    list.append(node, _adopt(v, node, None, depth + 1, seen))
                except _Bad as bad:
                    bad.path.append(i)
                    raise
        return node
    # Subclasses of the JSON scalars (IntEnum, str enums, numpy-free int subclasses) are
    # stored as their plain value, as json.dumps would write them.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return _adopt(float(value), parent, key, depth, seen)
    raise _Bad(f"a {t.__name__} is not a JSON value (use dict, list, str, int, float, "
               "bool or None)")


def detach(value: Any) -> None:
    """Mark a container removed from the document; its view refuses further mutations."""
    if type(value) is _DICT_TYPE or type(value) is _LIST_TYPE:
        value._parent = None


def touch(node: Any, key: Any = None, whole: bool = False) -> None:
    """Clear the caches a mutation of ``node`` (at ``key``, or as a whole) made stale."""
    parts = node._parts
    if parts is not None:
        if whole or type(node) is _LIST_TYPE:
            node._parts = None
        else:
            parts.pop(key, None)
    node._text = None
    child, parent = node, node._parent
    while parent is not None:
        if parent._text is None and parent._parts is None:
            break  # already stale from here up
        parent._text = None
        if parent._parts is not None:
            if type(parent) is _LIST_TYPE:
                parent._parts = None
            else:
                parent._parts.pop(child._key, None)
        child, parent = parent, parent._parent


def root_of(node: Any) -> Any:
    while node._parent is not None:
        node = node._parent
    return node


def pointer_of(node: Any) -> str:
    """The JSON Pointer of a container (walks up; lists are searched by identity)."""
    parts: list[str | int] = []
    while node._parent is not None:
        parent = node._parent
        if type(parent) is _LIST_TYPE:
            parts.append(next(i for i, x in enumerate(parent) if x is node))
        else:
            parts.append(node._key)
        node = parent
    return join_pointer(parts[::-1])


def plain(value: Any) -> Any:
    """A deep copy of ``value`` made of plain dicts and lists."""
    t = type(value)
    if t is _DICT_TYPE or t is dict:
        return {k: plain(v) for k, v in dict.items(value)}
    if t is _LIST_TYPE or t is list:
        return [plain(v) for v in value]
    return value


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    t = type(value)
    if t is str:
        return encode_basestring(value)  # type: ignore[no-any-return,unused-ignore]
    if t is int:
        return int.__repr__(value)
    return float.__repr__(value)


def serialize(node: Any, level: int = 0) -> str:
    """The on-disk text of a container at nesting ``level``, reusing every cached piece.

    Byte for byte what ``json.dumps(value, indent=2, ensure_ascii=False)`` writes.
    """
    text: str | None = node._text
    if text is not None:
        return text
    DictView, ListView = _DICT_TYPE, _LIST_TYPE
    inner = "\n" + "  " * (level + 1)
    if type(node) is DictView:
        if not node:
            text = "{}"
        else:
            parts: dict[str, str] | None = node._parts
            if parts is None:
                parts = node._parts = {}
            out = []
            for k, v in dict.items(node):
                part = parts.get(k)
                if part is None:
                    tv = type(v)
                    if tv is DictView or tv is ListView:
                        part = encode_basestring(k) + ": " + serialize(v, level + 1)
                    else:
                        part = encode_basestring(k) + ": " + _scalar(v)
                    parts[k] = part
                out.append(part)
            text = "{" + inner + ("," + inner).join(out) + "\n" + "  " * level + "}"
    else:
        if not node:
            text = "[]"
        else:
            lparts: list[str] | None = node._parts
            if lparts is None:
                lparts = []
                for v in node:
                    tv = type(v)
                    if tv is DictView or tv is ListView:
                        lparts.append(serialize(v, level + 1))
                    else:
                        lparts.append(_scalar(v))
                node._parts = lparts
            text = "[" + inner + ("," + inner).join(lparts) + "\n" + "  " * level + "]"
    node._text = text
    return text


def merge(node: Any, new: Any, changed: list[str], base: str) -> bool:
    """Make container ``node`` equal to plain ``new`` of the same kind, in place.

    Containers present in both are merged recursively, so views held elsewhere stay valid
    and keep their caches when unchanged. Pointers of changed values go to ``changed``.
    Returns whether anything changed.
    """
    if type(node) is _DICT_TYPE:
        return _merge_dict(node, new, changed, base)
    return _merge_list(node, new, changed, base)


def _merge_value(parent: Any, key: Any, old: Any, new: Any, changed: list[str],
                 pointer: str) -> tuple[bool, Any]:
    """Merge one entry; returns (changed, value to store)."""
    told, tnew = type(old), type(new)
    if (told is _DICT_TYPE and tnew is dict) or (told is _LIST_TYPE and tnew is list):
        return merge(old, new, changed, pointer), old
    if told is tnew and told is not _DICT_TYPE and told is not _LIST_TYPE and old == new:
        return False, old
    detach(old)
    changed.append(pointer)
    return True, adopt(new, parent, key if type(parent) is _DICT_TYPE else None, pointer)


def _merge_dict(node: Any, new: dict[str, Any], changed: list[str], base: str) -> bool:
    any_change = False
    same_order = len(node) == len(new) and all(a == b for a, b in zip(node, new, strict=True))
    if same_order:
        for k, v in new.items():
            old = dict.__getitem__(node, k)
            did, value = _merge_value(node, k, old, v, changed, f"{base}/{_esc(k)}")
            if did:
                any_change = True
                if value is not old:
                    dict.__setitem__(node, k, value)
                if node._parts is not None:
                    node._parts.pop(k, None)
    else:
        any_change = True
        items = []
        for k, v in new.items():
            pointer = f"{base}/{_esc(k)}"
            if k in node:
                _did, value = _merge_value(node, k, dict.__getitem__(node, k), v, changed, pointer)
            else:
                changed.append(pointer)
                value = adopt(v, node, k, pointer)
            items.append((k, value))
        for k in node:
            if k not in new:
                changed.append(f"{base}/{_esc(k)}")
                detach(dict.__getitem__(node, k))
        dict.clear(node)
        dict.update(node, items)
        node._parts = None
    if any_change:
        node._text = None
    return any_change


def _merge_list(node: Any, new: list[Any], changed: list[str], base: str) -> bool:
    any_change = False
    for i, v in enumerate(new[: len(node)]):
        old = list.__getitem__(node, i)
        did, value = _merge_value(node, None, old, v, changed, f"{base}/{i}")
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


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
