"""Plain helpers the tree and details pane share: JSON types, children, labels, search.

No Textual here: these are pure functions on the parsed document, testable on their own and
safe to call from worker threads.
"""

from __future__ import annotations

import json
import re
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
    "jq_path",
    "json_type",
    "pattern",
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
    """Pretty JSON of a value for the details pane, never serializing more than it shows.

    The encoder is consumed lazily and dropped once ``max_chars`` are out: dumping a 10 MB
    document to show its first 40 lines would stall the UI for a second at every update.
    """
    if isinstance(value, (dict, list)) and len(value) > 50:
        head = dict(children(value, 0, 50)) if isinstance(value, dict) else value[:50]
        return _encode_upto(head, max_chars) + f"\n… {len(value) - 50:,} more"
    return _encode_upto(value, max_chars)


def _encode_upto(value: Any, max_chars: int) -> str:
    chunks: list[str] = []
    size = 0
    for chunk in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(value):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_chars:
            return "".join(chunks)[:max_chars] + "\n…"
    return "".join(chunks)


@dataclass(frozen=True)
class Match:
    """A search hit: where, and whether the key or the value matched."""

    path: tuple[Key, ...]
    pointer: str
    on_key: bool


def pattern(query: str) -> re.Pattern[str]:
    """A search query as a regular expression, smart-case like vim and jless.

    All lower case matches either case; one capital makes it case-sensitive. A query that is
    not a valid regular expression (``a[``, ``(``) is searched as plain text.
    """
    flags = 0 if any(c.isupper() for c in query) else re.IGNORECASE
    try:
        return re.compile(query, flags)
    except re.error:
        return re.compile(re.escape(query), flags)


def search(document: Any, query: str, limit: int = 10_000) -> list[Match]:
    """Every node whose key or scalar value matches ``query`` (see :func:`pattern`), in order.

    Iterative (no depth limit), stops after ``limit`` hits.
    """
    hits: list[Match] = []
    if not query:
        return hits
    find = pattern(query).search
    stack: list[tuple[tuple[Key, ...], Any]] = [((), document)]
    while stack and len(hits) < limit:
        path, value = stack.pop()
        if path:
            key = path[-1]
            on_key = isinstance(key, str) and find(key) is not None
            on_value = not isinstance(value, (dict, list)) and find(
                value if isinstance(value, str) else json.dumps(value)) is not None
            if on_key or on_value:
                hits.append(Match(path, join_pointer(path), on_key))
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), value[i]) for i in range(len(value) - 1, -1, -1))
    return hits


def search_key(document: Any, key: Key, limit: int = 10_000) -> list[Match]:
    """Every node whose key (or array index) is exactly ``key``, in document order."""
    hits: list[Match] = []
    stack: list[tuple[tuple[Key, ...], Any]] = [((), document)]
    while stack and len(hits) < limit:
        path, value = stack.pop()
        if path and path[-1] == key and type(path[-1]) is type(key):
            hits.append(Match(path, join_pointer(path), True))
        if isinstance(value, dict):
            stack.extend(((*path, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*path, i), value[i]) for i in range(len(value) - 1, -1, -1))
    return hits


def jq_path(path: tuple[Key, ...]) -> str:
    """The jq filter for ``path``: ``.clients.alice.tags[0]``, ``.a["b c"]``; ``.`` at the root."""
    out = []
    for key in path:
        if isinstance(key, int):
            out.append(f"[{key}]")
        elif _JQ_NAME.fullmatch(key):
            out.append("." + key)
        else:
            out.append(f"[{json.dumps(key, ensure_ascii=False)}]")
    text = "".join(out)
    return text if text.startswith(".") else "." + text


_JQ_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
