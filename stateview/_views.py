"""DictView and ListView: the document's containers, as the program sees them.

Reads are inherited from ``dict`` and ``list`` untouched. Each mutating method checks the new
value first (nothing is locked or changed if it is refused), then applies the change inside
the document's write context, which makes it part of the current transaction or commits it on
its own (autocommit) before the method returns.

Values assigned are copied in, like JSON: ``state["a"] = x`` stores a copy of ``x``. Values
taken out by ``pop`` and friends are plain dicts and lists.

A mutating method reads the container only inside the write context (after the freshness
check), and may run twice: on a store that commits without its lock (PostgreSQL), an
autocommit is applied to the version memory holds and committed against it; when another
writer got in first, memory goes back and the method runs again, under the lock, on the newer
version (:class:`Replay`). Iterables it is given are read once, before.
"""

from __future__ import annotations

import functools
import operator
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol, SupportsIndex, TypeVar, cast

from ._document import adopt, bind_types, detach, plain, pointer_of, root_of, touch
from ._errors import Closed, InvalidValue, a_type
from ._jsontext import escape_token

__all__ = ["DictView", "ListView", "Replay"]

_MISSING: Any = object()
_Method = TypeVar("_Method", bound=Callable[..., Any])


class Replay(Exception):
    """Out of a mutation's write context when it ran without the lock, against the version
    memory held: its commit met another writer's newer version, or the mutation failed
    (a missing key, the schema), which that version may not be the last word on. Memory is
    back where it was, and the mutation runs once more, under the lock."""


_local = threading.local()


def take_replay() -> bool:
    """Whether the write context this thread enters now is a replay's (which takes the
    lock); asked once, at its start, so that the change callbacks it runs at its end, and
    their own mutations, are not taken for the replay."""
    replay = bool(getattr(_local, "replay", False))
    _local.replay = False
    return replay


def _replayed(method: _Method) -> _Method:
    """Run a mutating method once more, under the lock, when it asks for a replay."""
    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except Replay:
            pass
        _local.replay = True
        try:
            return method(self, *args, **kwargs)
        finally:
            _local.replay = False  # not taken when the method raised before its write

    return cast(_Method, run)


class _Document(Protocol):
    def _write(self, node: Any) -> AbstractContextManager[None]: ...


def _doc(node: Any) -> _Document:
    doc: _Document | None = root_of(node)._doc
    if doc is None:
        raise Closed("this view is no longer part of an open document "
                     "(it was removed, replaced, or its StateFile was closed)")
    return doc


def _key(node: Any, key: Any) -> str:
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    raise InvalidValue(pointer_of(node),
                       f"key {key!r} is {a_type(key)}; JSON keys are strings")


def _at(node: Any, key: str | int) -> str:
    return f"{pointer_of(node)}/{escape_token(str(key))}"


class DictView(dict[str, Any]):
    """A JSON object in the document; a real ``dict`` for every read."""

    __slots__ = ("_doc", "_key", "_parent", "_parts", "_stale", "_text")
    _doc: Any
    _key: str | None
    _parent: Any
    _parts: Any
    _stale: Any
    _text: str | None

    @_replayed
    def __setitem__(self, key: str, value: Any) -> None:
        key = _key(self, key)
        if value is dict.get(self, key, _MISSING) and type(value) in (DictView, ListView):
            return  # `d[k] += ...` ends by storing the same view again: nothing to do
        new = adopt(value, self, key, lambda: _at(self, key))
        with _doc(self)._write(self):
            old = dict.get(self, key, _MISSING)
            dict.__setitem__(self, key, new)
            detach(old, self)
            touch(self, key)

    @_replayed
    def __delitem__(self, key: str) -> None:
        with _doc(self)._write(self):
            old = dict.pop(self, key)
            detach(old, self)
            touch(self, key, deleted=True)

    @_replayed
    def pop(self, key: str, default: Any = _MISSING) -> Any:
        with _doc(self)._write(self):
            if key not in self:
                if default is _MISSING:
                    raise KeyError(key)
                return default
            old = dict.pop(self, key)
            detach(old, self)
            touch(self, key, deleted=True)
            return plain(old)

    @_replayed
    def popitem(self) -> tuple[str, Any]:
        with _doc(self)._write(self):
            key, old = dict.popitem(self)
            detach(old, self)
            touch(self, key, deleted=True)
            return key, plain(old)

    def setdefault(self, key: str, default: Any = None) -> Any:
        key = _key(self, key)
        if key in self:
            return dict.__getitem__(self, key)
        return self._set_if_missing(key, default)

    @_replayed
    def _set_if_missing(self, key: str, default: Any) -> Any:
        new = adopt(default, self, key, lambda: _at(self, key))
        with _doc(self)._write(self):
            # Looked at again under the write context: another writer may have set it.
            if key not in self:
                dict.__setitem__(self, key, new)
                touch(self, key)
            return dict.__getitem__(self, key)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._update(dict(*args, **kwargs))

    @_replayed
    def _update(self, items: dict[str, Any]) -> None:
        new = adopt(items, self, None, pointer_of(self))
        with _doc(self)._write(self):
            for key, value in dict.items(new):
                old = dict.get(self, key, _MISSING)
                attach_to_parent(value, self, key)
                dict.__setitem__(self, key, value)
                detach(old, self)
                touch(self, key)

    def __ior__(self, other: Any) -> DictView:  # type: ignore[override,misc]
        self.update(other)
        return self

    @_replayed
    def clear(self) -> None:
        with _doc(self)._write(self):
            for old in dict.values(self):
                detach(old, self)
            dict.clear(self)
            touch(self, whole=True)

    def copy(self) -> dict[str, Any]:
        """A plain deep copy (a view cannot exist outside its document)."""
        return plain(self)  # type: ignore[no-any-return]

    def __copy__(self) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]

    def __deepcopy__(self, memo: Any) -> dict[str, Any]:
        return plain(self)  # type: ignore[no-any-return]

    def __reduce__(self) -> Any:
        return (dict, (plain(self),))

    def __repr__(self) -> str:
        return dict.__repr__(self)


class ListView(list[Any]):
    """A JSON array in the document; a real ``list`` for every read."""

    __slots__ = ("_doc", "_key", "_parent", "_parts", "_stale", "_text")
    _doc: Any
    _key: str | None
    _parent: Any
    _parts: Any
    _stale: Any
    _text: str | None

    def _replace_all(self, new_items: list[Any]) -> None:
        """Make the list ``new_items`` (already adopted), detaching what left."""
        keep = {id(x) for x in new_items}
        for old in self:
            if id(old) not in keep:
                detach(old, self)
        list.__setitem__(self, slice(None), new_items)
        touch(self, whole=True)

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            self._set_slice(index, list(value))
        else:
            self._set_index(index, value)

    @_replayed
    def _set_slice(self, index: slice, values: list[Any]) -> None:
        new = adopt(values, self, None, pointer_of(self))
        for item in new:
            attach_to_parent(item, self, None)
        with _doc(self)._write(self):
            items = list(self)
            items[index] = list(new)
            self._replace_all(items)

    @_replayed
    def _set_index(self, index: Any, value: Any) -> None:
        if type(value) in (DictView, ListView) and value is list.__getitem__(self, index):
            return  # `l[i] += ...` ends by storing the same view again: nothing to do
        new = adopt(value, self, None, lambda: _at(self, int(index)))
        with _doc(self)._write(self):
            old = list.__getitem__(self, index)
            list.__setitem__(self, index, new)
            detach(old, self)
            position = operator.index(index)
            touch(self, position + len(self) if position < 0 else position)

    @_replayed
    def __delitem__(self, index: Any) -> None:
        with _doc(self)._write(self):
            items = list(self)
            del items[index]
            self._replace_all(items)

    @_replayed
    def append(self, value: Any) -> None:
        new = adopt(value, self, None, _at(self, len(self)))
        with _doc(self)._write(self):
            list.append(self, new)
            touch(self, whole=True)

    def extend(self, values: Iterable[Any]) -> None:
        self._extend(list(values))

    @_replayed
    def _extend(self, values: list[Any]) -> None:
        new = adopt(values, self, None, pointer_of(self))
        with _doc(self)._write(self):
            for value in new:
                attach_to_parent(value, self, None)
            list.extend(self, new)
            touch(self, whole=True)

    def __iadd__(self, values: Iterable[Any]) -> ListView:  # type: ignore[misc]
        self.extend(values)
        return self

    def __imul__(self, n: SupportsIndex) -> ListView:
        if operator.index(n) != 1:
            self._repeat(operator.index(n))
        return self

    @_replayed
    def _repeat(self, n: int) -> None:
        with _doc(self)._write(self):
            # The copies are made under the write context, of the list as it is now.
            copies = adopt([plain(x) for _ in range(n - 1) for x in self], self, None,
                           pointer_of(self)) if n > 1 else []
            for value in copies:
                attach_to_parent(value, self, None)
            self._replace_all(list(self) + copies if n > 0 else [])

    @_replayed
    def insert(self, index: SupportsIndex, value: Any) -> None:
        new = adopt(value, self, None, lambda: _at(self, int(index)))
        with _doc(self)._write(self):
            list.insert(self, index, new)
            touch(self, whole=True)

    @_replayed
    def remove(self, value: Any) -> None:
        with _doc(self)._write(self):
            index = list.index(self, value)
            old = list.pop(self, index)
            detach(old, self)
            touch(self, whole=True)

    @_replayed
    def pop(self, index: SupportsIndex = -1) -> Any:
        with _doc(self)._write(self):
            old = list.pop(self, index)
            detach(old, self)
            touch(self, whole=True)
            return plain(old)

    @_replayed
    def clear(self) -> None:
        with _doc(self)._write(self):
            self._replace_all([])

    @_replayed
    def sort(self, *, key: Callable[[Any], Any] | None = None, reverse: bool = False) -> None:
        with _doc(self)._write(self):
            # Sorted under the write context: the list as it is now, not as it was read.
            items = sorted(self, key=key, reverse=reverse)
            list.__setitem__(self, slice(None), items)
            touch(self, whole=True)

    @_replayed
    def reverse(self) -> None:
        with _doc(self)._write(self):
            list.reverse(self)
            touch(self, whole=True)

    def copy(self) -> list[Any]:
        """A plain deep copy (a view cannot exist outside its document)."""
        return plain(self)  # type: ignore[no-any-return]

    def __copy__(self) -> list[Any]:
        return plain(self)  # type: ignore[no-any-return]

    def __deepcopy__(self, memo: Any) -> list[Any]:
        return plain(self)  # type: ignore[no-any-return]

    def __reduce__(self) -> Any:
        return (list, (plain(self),))

    def __repr__(self) -> str:
        return list.__repr__(self)


def attach_to_parent(value: Any, parent: Any, key: str | None) -> None:
    """Re-home a container adopted under a temporary holder onto its real parent."""
    if type(value) is DictView or type(value) is ListView:
        value._parent = parent
        value._key = key


def new_root(value: Mapping[str, Any] | list[Any] | Any, doc: Any) -> Any:
    """Build the root container of a document from a plain value."""
    root = adopt(value, None, None, "")
    if type(root) is DictView or type(root) is ListView:
        root._doc = doc
    return root


bind_types(DictView, ListView)
