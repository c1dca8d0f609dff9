"""RFC 6901 JSON Pointers over the document (``/clients/alice/score``).

Used by ``stateview get/set/delete`` and the terminal UI's edits. Errors say which part of the
pointer failed and what is there instead.
"""

from __future__ import annotations

from typing import Any

from ._errors import PointerError, show_pointer
from ._jsontext import a_json_type, join_pointer, json_type, unescape_token

__all__ = ["delete_at", "get_at", "parse_pointer", "set_at"]


def parse_pointer(pointer: str) -> list[str]:
    """Split a pointer into its unescaped reference tokens (``""`` is the whole document)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PointerError(pointer, "a JSON Pointer starts with '/' (use '' for the whole "
                           "document), e.g. /clients/alice")
    parts = pointer[1:].split("/")
    for part in parts:
        rest = part.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise PointerError(pointer, f"'~' in {part!r} must be written ~0 ('~') or ~1 ('/')")
    return [unescape_token(p) for p in parts]


def _index(pointer: str, parts: list[str], i: int, length: int, allow_end: bool) -> int:
    token = parts[i]
    if token == "-" and allow_end:
        return length
    if not token.isdigit() or (token != "0" and token.startswith("0")) or not token.isascii():
        raise PointerError(pointer, f"{token!r} is not an array index at "
                           f"{show_pointer(join_pointer(parts[:i]))} (use 0, 1, 2 ...)")
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise PointerError(pointer, f"index {index} is past the end of the array at "
                           f"{join_pointer(parts[:i]) or '/'} ({length} items)")
    return index


def _step(value: Any, pointer: str, parts: list[str], i: int) -> Any:
    token = parts[i]
    if isinstance(value, dict):
        if token not in value:
            raise PointerError(pointer, f"no key {token!r} in the object at "
                               f"{join_pointer(parts[:i]) or '/'}")
        return value[token]
    if isinstance(value, list):
        return value[_index(pointer, parts, i, len(value), allow_end=False)]
    raise PointerError(pointer, f"{join_pointer(parts[:i]) or '/'} is "
                       f"{a_json_type(value)}, which has no {token!r} inside")


def get_at(document: Any, parts: list[str], pointer: str | None = None) -> Any:
    """The value at ``parts``; raises :class:`PointerError` naming the first bad token."""
    pointer = join_pointer(parts) if pointer is None else pointer
    value = document
    for i in range(len(parts)):
        value = _step(value, pointer, parts, i)
    return value


def set_at(root: Any, parts: list[str], value: Any) -> None:
    """Set (or add) the value at ``parts`` through the views, so it commits."""
    pointer = join_pointer(parts)
    if not parts:
        if isinstance(root, dict) and isinstance(value, dict):
            root.clear()
            root.update(value)
        elif isinstance(root, list) and isinstance(value, list):
            root[:] = value
        else:
            raise PointerError(pointer, "the whole document can only be replaced by a value "
                               f"of the same kind ({json_type(root)})")
        return
    parent = get_at(root, parts[:-1], pointer)
    if isinstance(parent, dict):
        parent[parts[-1]] = value
    elif isinstance(parent, list):
        index = _index(pointer, parts, len(parts) - 1, len(parent), allow_end=True)
        if index == len(parent):
            parent.append(value)
        else:
            parent[index] = value
    else:
        raise PointerError(pointer, f"{join_pointer(parts[:-1]) or '/'} is "
                           f"{a_json_type(parent)}, which cannot hold {parts[-1]!r}")


def delete_at(root: Any, parts: list[str]) -> None:
    """Remove the value at ``parts`` through the views, so it commits."""
    pointer = join_pointer(parts)
    if not parts:
        raise PointerError(pointer, "the whole document cannot be deleted")
    parent = get_at(root, parts[:-1], pointer)
    _step(parent, pointer, parts, len(parts) - 1)  # a read's error when it is not there
    if isinstance(parent, dict):
        del parent[parts[-1]]
    else:
        del parent[_index(pointer, parts, len(parts) - 1, len(parent), allow_end=False)]

