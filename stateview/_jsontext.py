"""Strict JSON text: reading it (RFC 8259, with line and column for every problem) and writing it.

Reading takes two paths. The fast one is :func:`json.loads` with hooks that refuse what RFC 8259
or good sense forbids (NaN and Infinity, numbers that overflow to infinity, duplicate keys whose
later value would silently win). Only when that fails, or when a caller needs to know where a
value sits (schema errors, ``stateview check``), does :func:`stateview._jsonscan.scan` walk the
text with an iterative tokenizer: it never recurses, so no nesting depth can crash it, and it
knows the line, column and JSON Pointer of everything it meets.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ._errors import CorruptFile

__all__ = [
    "MAX_DEPTH",
    "NOT_STRICT",
    "JsonProblem",
    "Lines",
    "a_json_type",
    "decode",
    "dumps",
    "escape_token",
    "join_pointer",
    "json_type",
    "line_column",
    "loads",
    "try_loads",
    "unescape_token",
]

#: Deepest nesting stateview stores. Deeper documents are refused with a clear error rather
#: than risking Python's recursion limit in the parser, the views or the serializer.
MAX_DEPTH = 400
# CPython refuses to convert longer integers (sys.int_info.default_max_str_digits).
INT_DIGITS = 4300


def escape_token(key: str) -> str:
    """One JSON Pointer reference token from a key (RFC 6901: ``~`` first, then ``/``)."""
    return key.replace("~", "~0").replace("/", "~1")


def unescape_token(token: str) -> str:
    """The key a JSON Pointer reference token names (``~1`` first, then ``~0``)."""
    return token.replace("~1", "/").replace("~0", "~")


def json_type(value: Any, integers: bool = False) -> str:
    """The JSON type name of a parsed value: ``object``, ``array``, ``string``, ``number``,
    ``boolean`` or ``null``; ``integer`` for whole numbers when ``integers`` (as JSON Schema
    tells them apart)."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if integers and isinstance(value, int):
        return "integer"
    return "number"


def a_json_type(value: Any) -> str:
    """:func:`json_type` as a sentence says it: ``an object``, ``a string``, ``null``."""
    name = json_type(value)
    if name == "null":
        return name
    return ("an " if name[0] in "aeiou" else "a ") + name


def join_pointer(parts: Collection[str | int]) -> str:
    return "".join("/" + escape_token(str(p)) for p in parts)


def dumps(value: Any) -> str:
    """The on-disk form: 2-space indent, UTF-8 kept, trailing newline."""
    return json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@dataclass(frozen=True)
class JsonProblem:
    """One thing wrong with a JSON text.

    Attributes:
        kind: ``bom``, ``encoding``, ``empty``, ``syntax``, ``duplicate-key``, ``nan``,
            ``overflow``, ``depth``.
        message: what is wrong and what to do.
        line, column: 1-based; column counts characters.
        pointer: JSON Pointer of the value being read (``""`` is the root).
        fatal: the text cannot be parsed past this point.
    """

    kind: str
    message: str
    line: int
    column: int
    pointer: str
    fatal: bool = True


class Lines:
    """Offset to (line, column), by binary search over newline offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None

    def at(self, pos: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._starts, pos)
        return line, pos - self._starts[line - 1] + 1


def line_column(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def decode(data: bytes) -> tuple[str | None, list[JsonProblem]]:
    """UTF-8 bytes to text, with the problems of the bytes themselves.

    A BOM is reported but stripped so the rest can still be checked; invalid UTF-8 is fatal.
    """
    problems: list[JsonProblem] = []
    if data.startswith(b"\xef\xbb\xbf"):
        problems.append(JsonProblem(
            "bom", "starts with a UTF-8 byte order mark, which RFC 8259 forbids; "
            "save the file as UTF-8 without BOM", 1, 1, "", fatal=False))
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        good = data[: e.start].decode("utf-8", errors="replace")
        line, column = line_column(good, len(good))
        problems.append(JsonProblem(
            "encoding", f"invalid UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "the file must be UTF-8", line, column, ""))
        return None, problems
    if not text.strip(" \t\r\n"):
        problems.append(JsonProblem("empty", "no JSON value, only white space or nothing",
                                    1, 1, ""))
        return None, problems
    return text, problems


class _Refused(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Refused("duplicate key")
    return d


def _constant(name: str) -> Any:
    raise _Refused(name)


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _Refused("overflow")
    return value


NOT_STRICT: Any = object()


def try_loads(text: str) -> Any:
    """The value if ``text`` is strict JSON, else :data:`NOT_STRICT`, at the C parser's speed.

    For callers that explain failures their own way (``stateview check`` scans once, for
    every problem); :func:`loads` explains the first one itself.
    """
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant,
                          parse_float=_float)
    except (ValueError, RecursionError):
        return NOT_STRICT


def loads(data: bytes, path: str) -> Any:
    """Parse a state file's bytes strictly.

    Raises:
        CorruptFile: with line, column and pointer of the first problem and what to do.
    """
    text, problems = decode(data)
    if text is not None and not problems:
        value = try_loads(text)
        if value is not NOT_STRICT:
            return value
        from ._jsonscan import scan  # the slow path only; it imports this module

        problems = scan(text, max_problems=1).problems
        if not problems:  # json gave up on depth below our limit (a deep call stack)
            problems = [JsonProblem("depth", "nested too deeply to load", 1, 1, "")]
    first = problems[0]
    raise CorruptFile(path, first.message, first.line, first.column, first.pointer)
