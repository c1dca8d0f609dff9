"""The document tree: containers that are real dicts and lists, kept serialized piece by piece.

A server reads its state far more often than it writes it, so the containers are subclasses of
``dict`` and ``list`` that inherit every read (``state["a"]["b"]`` runs at plain-dict speed)
and override only the mutating methods (in :mod:`stateview._views`).

Every container remembers its parent and its key there, and caches its serialized text: the
whole (``_text``) and per entry (``_parts``). A mutation clears the caches on the path from the
changed entry to the root and nowhere else, so serializing a 10 MB document after changing one
value re-encodes one path and joins cached strings: the cost of a commit is the cost of the I/O.
Reloading another process's version merges it into the same objects (:mod:`._document_merge`),
so views a program holds stay valid and caches of unchanged parts survive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from typing import Any

from ._errors import InvalidValue, a_type
from ._jsontext import MAX_DEPTH, join_pointer

__all__ = ["TreeNode", "adopt", "detach", "plain", "pointer_of", "serialize", "touch"]


class TreeNode:
    """Attributes shared by :class:`~stateview._views.DictView` and ``ListView``.

    The real classes declare the same ``__slots__``; this class only documents them.

    Attributes:
        _parent: the container holding this one, ``None`` for the root or a removed view.
        _key: this container's key in a dict parent (``None`` in a list).
        _parts: cached serialized entries, or ``None`` when none are cached. For a dict:
            key -> text or ``None`` (stale), with exactly the dict's keys in the dict's
            order, so the whole object is one ``join`` of its values. For a list: a list of
            texts, or ``None`` at stale indexes.
        _stale: the keys (or indexes) whose entry in ``_parts`` is ``None``.
        _text: cached serialized text of the whole container at its depth; ``None`` when
            stale (and then so is every ancestor's), or ``_IN_PARENT`` when it is valid but
            kept only inside the parent's entry.
        _doc: the owning document, set on the root only.
    """


# Typed as Any so that `type(x) is _DICT_TYPE` does not narrow x to a plain dict for mypy.
_DICT_TYPE: Any = dict
_LIST_TYPE: Any = list


def bind_types(dict_view: type[dict[str, Any]], list_view: type[list[Any]]) -> None:
    """Tell this module which classes are the views (it is imported by them)."""
    global _DICT_TYPE, _LIST_TYPE
    _DICT_TYPE, _LIST_TYPE = dict_view, list_view


# Containers with fewer entries re-encode them whenever they change rather than keep them:
# a parts cache per small object (most of a typical document) would cost more memory than
# the text itself, and re-encoding a handful of entries costs microseconds.
_CACHE_PARTS = 16


class _InParent(str):
    """Marks a container whose text is cached only inside its parent's entry."""


_IN_PARENT: Any = _InParent()


class _Bad(Exception):
    """A refused value deep in an adopted tree; carries the path back up as it unwinds."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.path: list[str | int] = []


def adopt(
    value: Any, parent: Any, key: str | None, base: str | Callable[[], str], depth: int = 1
) -> Any:
    """Copy ``value`` into the document as views under ``parent``, checking JSON-value rules.

    Args:
        value: what the program assigned.
        parent: the container it goes into (``None`` for a new root).
        key: its key in a dict parent.
        base: JSON Pointer where the value will sit (for error messages only; a function
            giving it spares the hot path building a pointer that is almost never shown).
        depth: nesting depth of the value in the document.

    Raises:
        InvalidValue: naming the pointer of the first refused value; nothing was changed.
    """
    try:
        return _adopt(value, parent, key, depth, set())
    except _Bad as bad:
        where = base if isinstance(base, str) else base()
        raise InvalidValue(where + join_pointer(bad.path[::-1]), bad.reason) from None


def _adopt(value: Any, parent: Any, key: str | None, depth: int, seen: set[int]) -> Any:
    t = type(value)
    if t is str:
        if value.isascii() or _is_text(value):
            return value
        raise _Bad("a string with a lone surrogate (such as \\ud800) is not Unicode text "
                   "and cannot be written as UTF-8")
    if t is int or t is bool or value is None:
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
            return _adopt_dict(value, parent, key, depth, seen)
        return _adopt_list(value, parent, key, depth, seen)
    # Subclasses of the JSON scalars (IntEnum, str enums, numpy-free int subclasses) are
    # stored as their plain value, as json.dumps would write them.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return _adopt(str.__str__(value), parent, key, depth, seen)
    if isinstance(value, float):
        return _adopt(float(value), parent, key, depth, seen)
    raise _Bad(f"{a_type(t)} is not a JSON value (use dict, list, str, int, float, "
               "bool or None)")


def _adopt_dict(value: Mapping[Any, Any], parent: Any, key: str | None, depth: int,
                seen: set[int]) -> Any:
    node: Any = _DICT_TYPE()
    node._parent, node._key, node._parts, node._stale, node._text, node._doc = (
        parent, key, None, None, None, None)
    for k, v in value.items():
        if type(k) is not str:
            if not isinstance(k, str):
                raise _Bad(f"key {k!r} is {a_type(k)}; JSON keys are strings")
            k = str.__str__(k)
        if not k.isascii() and not _is_text(k):
            raise _Bad(f"the key {k!r} has a lone surrogate; it is not Unicode text")
        try:
            dict.__setitem__(node, k, _adopt(v, node, k, depth + 1, seen))
        except _Bad as bad:
            bad.path.append(k)
            raise
    return node


def _adopt_list(value: list[Any] | tuple[Any, ...], parent: Any, key: str | None, depth: int,
                seen: set[int]) -> Any:
    node: Any = _LIST_TYPE()
    node._parent, node._key, node._parts, node._stale, node._text, node._doc = (
        parent, key, None, None, None, None)
    for i, v in enumerate(value):
        try:
            list.append(node, _adopt(v, node, None, depth + 1, seen))
        except _Bad as bad:
            bad.path.append(i)
            raise
    return node


def _is_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def detach(value: Any, parent: Any = None) -> None:
    """Mark a container removed from the document; its view refuses further mutations.

    With ``parent`` (the container it was removed from), the document notes it, so that a
    rollback can put the very same object back (see :func:`merge`).
    """
    if type(value) is _DICT_TYPE or type(value) is _LIST_TYPE:
        value._parent = None
        if parent is not None and value._key is not None:
            doc = root_of(parent)._doc
            if doc is not None:
                doc._st.graveyard.append((parent, value))


def touch(node: Any, key: Any = None, whole: bool = False, deleted: bool = False) -> None:
    """Clear the caches a mutation made stale, from ``node`` up to the root.

    Args:
        node: the container that changed.
        key: the dict key (or list index) that was set or, with ``deleted``, removed.
        whole: the container changed as a whole (cleared, reordered, sliced ...).
        deleted: ``key`` was removed from a dict.
    """
    parts = node._parts
    if parts is not None:
        if whole or key is None:
            node._parts = None
        elif deleted:
            parts.pop(key, None)
        elif parts.get(key, 0) is not None if type(node) is _DICT_TYPE else True:
            parts[key] = None
            node._stale.append(key)
    node._text = None
    child, parent = node, node._parent
    while parent is not None:
        pparts = parent._parts
        if pparts is not None:
            if type(parent) is _LIST_TYPE:
                parent._parts = None  # the child's index is unknown; rebuilt from child texts
            elif pparts.get(child._key, 0) is not None:
                pparts[child._key] = None
                parent._stale.append(child._key)
        if parent._text is None:
            break  # cleared before, and so was everything above it
        parent._text = None
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


def serialize(node: Any, level: int = 0, final: str = "") -> str:
    """The on-disk text of a container at nesting ``level``, reusing every cached piece.

    Byte for byte what ``json.dumps(value, indent=2, ensure_ascii=False)`` writes (plus
    ``final``, for the root's trailing newline). After a change to one value of a large
    object, this re-encodes that entry and joins the cached others in one C-level ``join``:
    the brackets ride on the first and last entries so the big text is copied only once.
    """
    text = node._text
    if text is not None and text is not _IN_PARENT:
        return text + final if final else text  # type: ignore[no-any-return]
    inner = "\n" + "  " * (level + 1)
    if not node:
        text = ("{}" if type(node) is _DICT_TYPE else "[]") + final
    elif type(node) is _DICT_TYPE:
        parts = node._parts
        if parts is None:
            entries = [_entry(k, v, level) for k, v in dict.items(node)]
            if len(entries) >= _CACHE_PARTS:
                node._parts = dict(zip(node, entries, strict=True))
                node._stale = []
        else:
            for k in node._stale:
                if parts.get(k, 0) is None:
                    parts[k] = _entry(k, dict.__getitem__(node, k), level)
            node._stale = []
            entries = list(parts.values())
        text = _wrap("{", entries, inner, "\n" + "  " * level + "}" + final)
    else:
        lparts = node._parts
        if lparts is None or len(lparts) != len(node):
            entries = [_item(v, level) for v in node]
            if len(entries) >= _CACHE_PARTS:
                node._parts = list(entries)
                node._stale = []
        else:
            for i in node._stale:
                if lparts[i] is None:
                    lparts[i] = _item(list.__getitem__(node, i), level)
            node._stale = []
            entries = list(lparts)
        text = _wrap("[", entries, inner, "\n" + "  " * level + "]" + final)
    if final:
        node._text = text[: -len(final)] if len(text) < 65536 else None
        return text
    node._text = text
    return text


def _wrap(opening: str, entries: list[str], inner: str, closing: str) -> str:
    entries[0] = opening + inner + entries[0]
    entries[-1] = entries[-1] + closing
    return ("," + inner).join(entries)


def _entry(key: str, value: Any, level: int) -> str:
    t = type(value)
    if t is _DICT_TYPE or t is _LIST_TYPE:
        entry: str = encode_basestring(key) + ": " + serialize(value, level + 1)
        # The entry holds a copy of the child's text; keeping the child's own copy too would
        # double the memory of every level. The child's parts stay cached, so rebuilding its
        # text, if the parent ever needs it again without the child changing, is one join.
        value._text = _IN_PARENT
        return entry
    return encode_basestring(key) + ": " + _scalar(value)  # type: ignore[no-any-return,unused-ignore]


def _item(value: Any, level: int) -> str:
    t = type(value)
    if t is _DICT_TYPE or t is _LIST_TYPE:
        return serialize(value, level + 1)
    return _scalar(value)
