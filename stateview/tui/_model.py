"""Plain helpers the tree and details pane share: JSON types, children, labels, search.

No Textual here: these are pure functions on the parsed document, testable on their own and
safe to call from worker threads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import _jsontext
from .._jsontext import join_pointer

__all__ = [
    "Key",
    "Match",
    "child",
    "children",
    "json_type",
    "preview",
    "resolve",
    "scalar_text",
    "search",
    "size_text",
]

Key = str | int
"""A step in the document: an object key or an array index."""


def json_type(value: Any) -> str:
    """The JSON type name of a parsed value (``object``, ``array``, ``string`` ...)."""
    return _jsontext.json_type(value, integers=True)


def children(value: Any, start: int = 0, stop: int | None = None) -> Iterator[tuple[Key, Any]]:
    """The ``(key, value)`` pairs of a container from ``start`` to ``stop`` (not a copy)."""
    if isinstance(value, dict):
        items = iter(value.items())
        for _ in range(start):
            if next(items, None) is None:
                return
        for i, (k, v) in enumerate(items, start):
            if stop is not None and i >= stop:
                return
            yield k, v
    elif isinstance(value, list):
        end = len(value) if stop is None else min(stop, len(value))
        for i in range(start, end):
            yield i, value[i]


def child(value: Any, token: str) -> tuple[Key, Any] | None:
    """The child a pointer token names, or ``None`` when there is none."""
    if isinstance(value, dict):
        return (token, value[token]) if token in value else None
    if isinstance(value, list) and token.isdigit() and (token == "0" or token[0] != "0"):
        i = int(token)
        return (i, value[i]) if i < len(value) else None
    return None


def resolve(document: Any, parts: list[str]) -> list[Key] | None:
    """The typed path (ints for array indexes) a pointer's tokens lead to, or ``None``."""
    path: list[Key] = []
    value = document
    for token in parts:
        found = child(value, token)
        if found is None:
            return None
        path.append(found[0])
        value = found[1]
    return path


def size_text(value: Any) -> str:
    """``{12}`` for an object, ``[3]`` for an array."""
    return f"{{{len(value)}}}" if isinstance(value, dict) else f"[{len(value)}]"


def scalar_text(value: Any, limit: int = 120) -> str:
    """A scalar as JSON, cut to ``limit`` characters for a one-line label."""
    text = json.dumps(value, ensure_ascii=False)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("\n", "\\n")


def preview(value: Any, max_chars: int = 4000) -> str:
    """Pretty JSON of a value for the details pane, never serializing more than needed.

    A large container is shown as its first children only: dumping a 10 MB object to show
    40 lines of it would stall the UI for a second.
    """
    if isinstance(value, (dict, list)) and len(value) > 50:
        head = dict(children(value, 0, 50)) if isinstance(value, dict) else value[:50]
        text = json.dumps(head, indent=2, ensure_ascii=False)
        text = text[:max_chars] + f"\n… {len(value) - 50} more"
        return text
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if len(text) > max_chars:
        text = text[:max_chars] + "\n…"
    return text


@dataclass(frozen=True)
class Match:
    """A search hit: where, and whether the key or the value matched."""

    path: tuple[Key, ...]
    pointer: str
    on_key: bool


def search(document: Any, query: str, limit: int = 10_000) -> list[Match]:
    """Every node whose key or scalar value contains ``query`` (case-insensitive), in order.

    Iterative (no depth limit), stops after ``limit`` hits.
    """
    needle = query.casefold()
    hits: list[Match] = []
    if not needle:
        return hits
    stack: list[tuple[tuple[Key, ...], Any]] = [((), document)]
    while stack and len(hits) < limit:
        path, value = stack.pop()
        if path:
            key = path[-1]
            on_key = isinstance(key, str) and needle in key.casefold()
            on_value = not isinstance(value, (dict, list)) and needle in (
                value if isinstance(value, str) else json.dumps(value)).casefold()
            if on_key or on_value:
                hits.append(Match(path, join_pointer(path), on_key))
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), value[i]) for i in range(len(value) - 1, -1, -1))
    return hits
