"""Strict JSON text: reading it (RFC 8259, with line and column for every problem) and writing it.

Reading takes two paths. The fast one is :func:`json.loads` with hooks that refuse what RFC 8259
or good sense forbids (NaN and Infinity, numbers that overflow to infinity, duplicate keys whose
later value would silently win). Only when that fails, or when a caller needs to know where a
value sits (schema errors, ``stateview check``), does :func:`scan` walk the text with an
iterative tokenizer: it never recurses, so no nesting depth can crash it, and it knows the line,
column and JSON Pointer of everything it meets.
"""

from __future__ import annotations

import bisect
import json
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ._errors import CorruptFile

__all__ = [
    "MAX_DEPTH",
    "NOT_STRICT",
    "JsonProblem",
    "ScanResult",
    "a_json_type",
    "decode",
    "dumps",
    "escape_token",
    "join_pointer",
    "json_type",
    "line_column",
    "loads",
    "scan",
    "try_loads",
    "unescape_token",
]

#: Deepest nesting stateview stores. Deeper documents are refused with a clear error rather
#: than risking Python's recursion limit in the parser, the views or the serializer.
MAX_DEPTH = 400
# CPython refuses to convert longer integers (sys.int_info.default_max_str_digits).
_INT_DIGITS = 4300


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


@dataclass
class ScanResult:
    problems: list[JsonProblem] = field(default_factory=list)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)


class _Lines:
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
        problems = scan(text, max_problems=1).problems
        if not problems:  # json gave up on depth below our limit (a deep call stack)
            problems = [JsonProblem("depth", "nested too deeply to load", 1, 1, "")]
    first = problems[0]
    raise CorruptFile(path, first.message, first.line, first.column, first.pointer)


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\n\r]+)
    |(?P<str>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")
    |(?P<num>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![0-9A-Za-z.+-])
    |(?P<punct>[{}\[\]:,])
    |(?P<lit>(?:true|false|null)(?![0-9A-Za-z_]))
    |(?P<const>(?:NaN|-?Infinity)(?![0-9A-Za-z_]))
    """,
    re.VERBOSE,
)

# Parser states
(_VALUE, _KEY_OR_END, _KEY, _COLON, _OBJ_NEXT, _VALUE_OR_END, _ARR_NEXT, _DONE,
 _VALUE_AFTER_COMMA) = range(9)
_VALUE_STATES = (_VALUE, _VALUE_OR_END, _VALUE_AFTER_COMMA)
_EXPECTED = {
    _VALUE: "a value", _VALUE_AFTER_COMMA: "a value", _KEY_OR_END: "a key in double quotes or '}'",
    _KEY: "a key in double quotes", _COLON: "':'", _OBJ_NEXT: "',' or '}'",
    _VALUE_OR_END: "a value or ']'", _ARR_NEXT: "',' or ']'", _DONE: "the end of the file",
}


def _describe_bad(text: str, pos: int) -> str:
    """Name what stands at ``pos`` when no token matches there."""
    rest = text[pos: pos + 2]
    ch = text[pos]
    if rest in ("//", "/*"):
        return "a comment; JSON has no comments, remove it"
    if ch == "'":
        return "a single-quoted string; JSON strings use double quotes"
    if ch == '"':
        m = re.compile(r'"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*').match(text, pos)
        end = m.end() if m else pos + 1
        if end >= len(text):
            return "an unterminated string"
        if text[end] == "\\":
            return f"an invalid escape {text[end:end + 2]!r} in a string"
        return f"a control character (U+{ord(text[end]):04X}) in a string; escape it"
    word = re.compile(r"[^\s{}\[\]:,\"]{1,40}").match(text, pos)
    token = word.group(0) if word else ch
    return f"{token!r}, which is not JSON"


def scan(
    text: str,
    *,
    want: Collection[str] | None = (),
    max_problems: int = 100,
) -> ScanResult:
    """Walk ``text`` once, iteratively, reporting problems and where values sit.

    Args:
        text: the document.
        want: pointers whose positions to record (``None`` records every value's).
        max_problems: stop after this many problems.
    """
    result = ScanResult()
    lines = _Lines(text)
    problems = result.problems
    positions = result.positions
    want_all = want is None
    wanted = set() if want is None else set(want)
    path: list[str] = []
    # one frame per open container: [is_object, keys_seen (dict key -> pos) or index]
    frames: list[list[Any]] = []
    state = _VALUE
    pos = 0
    n = len(text)
    deep_reported = False

    def problem(kind: str, message: str, at: int, fatal: bool = True) -> None:
        line, column = lines.at(at)
        problems.append(JsonProblem(kind, message, line, column,
                                    join_pointer(path), fatal))

    def value_start(at: int) -> None:
        if want_all or wanted:
            pointer = join_pointer(path)
            if want_all or pointer in wanted:
                positions[pointer] = lines.at(at)

    match = _TOKEN.match
    while len(problems) < max_problems:
        m = match(text, pos)
        if m is None:
            if pos >= n:
                if state != _DONE:
                    problem("syntax", f"unexpected end of file; expected {_EXPECTED[state]} "
                            "(the file may be truncated)", n)
                break
            problem("syntax", f"expected {_EXPECTED[state]}, found {_describe_bad(text, pos)}",
                    pos)
            break
        kind = m.lastgroup
        tok = m.group(kind)  # type: ignore[arg-type]
        start = pos
        pos = m.end()
        if kind == "ws":
            continue
        if state == _DONE:
            problem("syntax", f"extra data after the JSON value: {tok[:20]!r}", start)
            break
        if kind == "punct":
            if tok in "{[":
                if state not in _VALUE_STATES:
                    problem("syntax", f"expected {_EXPECTED[state]}, found {tok!r}", start)
                    break
                if state == _VALUE_OR_END:
                    path.append(str(frames[-1][1]))
                value_start(start)
                if len(frames) >= MAX_DEPTH and not deep_reported:
                    deep_reported = True
                    problem("depth", f"nested deeper than {MAX_DEPTH} levels, which stateview "
                            "does not store; flatten the document", start)
                if tok == "{":
                    frames.append([True, {}])
                    state = _KEY_OR_END
                else:
                    frames.append([False, 0])
                    state = _VALUE_OR_END
                continue
            if tok in "}]":
                closing_object = tok == "}"
                if (state == _KEY_OR_END and closing_object) or (state == _VALUE_OR_END \
                        and not closing_object):
                    pass
                elif (state == _OBJ_NEXT and closing_object) or (state == _ARR_NEXT \
                        and not closing_object):
                    path.pop()
                elif (state == _KEY and closing_object) or (state == _VALUE_AFTER_COMMA \
                        and not closing_object):
                    problem("syntax", f"trailing comma before {tok!r}; remove the comma",
                            start)
                    break
                else:
                    problem("syntax", f"expected {_EXPECTED[state]}, found {tok!r}", start)
                    break
                frames.pop()
                state = _DONE if not frames else (_OBJ_NEXT if frames[-1][0] else _ARR_NEXT)
                continue
            if tok == ":":
                if state != _COLON:
                    problem("syntax", f"expected {_EXPECTED[state]}, found ':'", start)
                    break
                state = _VALUE
                continue
            # ","
            if state == _OBJ_NEXT:
                path.pop()
                state = _KEY
            elif state == _ARR_NEXT:
                path.pop()
                frames[-1][1] += 1
                path.append(str(frames[-1][1]))
                state = _VALUE_AFTER_COMMA
            else:
                problem("syntax", f"expected {_EXPECTED[state]}, found ','", start)
                break
            continue
        # a key or a scalar value
        if state in (_KEY_OR_END, _KEY):
            if kind != "str":
                problem("syntax", f"expected {_EXPECTED[state]}, found {tok[:20]!r}", start)
                break
            key = json.loads(tok)
            seen = frames[-1][1]
            path.append(key)
            if key in seen:
                line, column = lines.at(seen[key])
                problem("duplicate-key", f"duplicate key {key!r} (first at line {line}, "
                        f"column {column}); the later value would silently win", start,
                        fatal=False)
            else:
                seen[key] = start
            state = _COLON
            continue
        if state not in _VALUE_STATES:
            problem("syntax", f"expected {_EXPECTED[state]}, found {tok[:20]!r}", start)
            break
        if state == _VALUE_OR_END:
            path.append(str(frames[-1][1]))
        value_start(start)
        if kind == "const":
            problem("nan", f"{tok} is not JSON (RFC 8259); use null or a finite number",
                    start, fatal=False)
        elif kind == "num":
            if any(c in tok for c in ".eE"):
                if math.isinf(float(tok)):
                    problem("overflow", f"the number {tok[:30]} overflows to infinity; "
                            "use a smaller number or a string", start, fatal=False)
            elif len(tok.lstrip("-")) > _INT_DIGITS:
                problem("overflow", f"an integer of more than {_INT_DIGITS} digits; "
                        "store it as a string", start, fatal=False)
        state = _DONE if not frames else (_OBJ_NEXT if frames[-1][0] else _ARR_NEXT)
    return result

