"""The slow, exact reader of JSON text: every problem with its line, column and pointer.

:func:`scan` is a tokenizer driving a small state machine. It never recurses, so no nesting
depth can crash it, and it knows the line, column and JSON Pointer of everything it meets:
``stateview check`` and the errors of :func:`stateview._jsontext.loads` come from here, and
so do the positions a schema error points at.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ._jsontext import INT_DIGITS, MAX_DEPTH, JsonProblem, Lines, join_pointer

__all__ = ["ScanResult", "scan"]


@dataclass
class ScanResult:
    """What :func:`scan` found: its problems, and the position of each value asked for."""

    problems: list[JsonProblem] = field(default_factory=list)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)


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
# A closing bracket is fine in these states (empty, or after a value) ...
_CLOSES = {("}", _KEY_OR_END): False, ("]", _VALUE_OR_END): False,
           ("}", _OBJ_NEXT): True, ("]", _ARR_NEXT): True}  # True: a member's key/index ends
# ... and a trailing comma in these.
_TRAILING = {("}", _KEY), ("]", _VALUE_AFTER_COMMA)}


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
    scanner = _Scanner(text, want)
    scanner.run(max_problems)
    return scanner.result


class _Scanner:
    """One walk over a text: the tokenizer loop (:meth:`run`) and one handler per token.

    A handler returns ``True`` when the text cannot be read past the token.
    """

    def __init__(self, text: str, want: Collection[str] | None) -> None:
        self.text = text
        self.lines = Lines(text)
        self.result = ScanResult()
        self.want_all = want is None
        self.wanted = set() if want is None else set(want)
        self.path: list[str] = []
        # one frame per open container: [is_object, keys_seen (key -> pos) or index]
        self.frames: list[list[Any]] = []
        self.state = _VALUE
        self.deep_reported = False

    def run(self, max_problems: int) -> None:
        """The tokenizer: match a token, hand it to its handler, until the end or a stop."""
        text, match, problems = self.text, _TOKEN.match, self.result.problems
        pos = 0
        while len(problems) < max_problems:
            m = match(text, pos)
            if m is None:
                self._no_token(pos)
                return
            kind = m.lastgroup
            tok = m.group(kind)  # type: ignore[arg-type]
            start, pos = pos, m.end()
            if kind == "ws":
                continue
            if self.state == _DONE:
                self.problem("syntax", f"extra data after the JSON value: {tok[:20]!r}", start)
                return
            if self._token(kind, tok, start):  # type: ignore[arg-type]
                return

    def _token(self, kind: str, tok: str, start: int) -> bool:
        if kind == "punct":
            if tok in "{[":
                return self._open(tok, start)
            if tok in "}]":
                return self._close(tok, start)
            return self._colon(start) if tok == ":" else self._comma(start)
        if self.state in (_KEY_OR_END, _KEY):
            return self._key(kind, tok, start)
        return self._scalar(kind, tok, start)

    def problem(self, kind: str, message: str, at: int, fatal: bool = True) -> None:
        line, column = self.lines.at(at)
        self.result.problems.append(
            JsonProblem(kind, message, line, column, join_pointer(self.path), fatal))

    def _unexpected(self, found: str, at: int) -> bool:
        self.problem("syntax", f"expected {_EXPECTED[self.state]}, found {found}", at)
        return True

    def _no_token(self, pos: int) -> None:
        n = len(self.text)
        if pos < n:
            self._unexpected(_describe_bad(self.text, pos), pos)
        elif self.state != _DONE:
            self.problem("syntax", f"unexpected end of file; expected {_EXPECTED[self.state]} "
                         "(the file may be truncated)", n)

    def _value_start(self, at: int) -> None:
        if self.state == _VALUE_OR_END:  # the first item of an array
            self.path.append(str(self.frames[-1][1]))
        if self.want_all or self.wanted:
            pointer = join_pointer(self.path)
            if self.want_all or pointer in self.wanted:
                self.result.positions[pointer] = self.lines.at(at)

    def _after_value(self) -> None:
        frames = self.frames
        self.state = _DONE if not frames else (_OBJ_NEXT if frames[-1][0] else _ARR_NEXT)

    def _open(self, tok: str, start: int) -> bool:
        if self.state not in _VALUE_STATES:
            return self._unexpected(repr(tok), start)
        self._value_start(start)
        if len(self.frames) >= MAX_DEPTH and not self.deep_reported:
            self.deep_reported = True
            self.problem("depth", f"nested deeper than {MAX_DEPTH} levels, which stateview "
                         "does not store; flatten the document", start)
        is_object = tok == "{"
        self.frames.append([True, {}] if is_object else [False, 0])
        self.state = _KEY_OR_END if is_object else _VALUE_OR_END
        return False

    def _close(self, tok: str, start: int) -> bool:
        member = _CLOSES.get((tok, self.state))
        if member is None:
            if (tok, self.state) in _TRAILING:
                self.problem("syntax", f"trailing comma before {tok!r}; remove the comma",
                             start)
                return True
            return self._unexpected(repr(tok), start)
        if member:
            self.path.pop()
        self.frames.pop()
        self._after_value()
        return False

    def _colon(self, start: int) -> bool:
        if self.state != _COLON:
            return self._unexpected("':'", start)
        self.state = _VALUE
        return False

    def _comma(self, start: int) -> bool:
        if self.state == _OBJ_NEXT:
            self.path.pop()
            self.state = _KEY
        elif self.state == _ARR_NEXT:
            self.path.pop()
            self.frames[-1][1] += 1
            self.path.append(str(self.frames[-1][1]))
            self.state = _VALUE_AFTER_COMMA
        else:
            return self._unexpected("','", start)
        return False

    def _key(self, kind: str, tok: str, start: int) -> bool:
        if kind != "str":
            return self._unexpected(repr(tok[:20]), start)
        key = json.loads(tok)
        seen = self.frames[-1][1]
        self.path.append(key)
        if key in seen:
            line, column = self.lines.at(seen[key])
            self.problem("duplicate-key", f"duplicate key {key!r} (first at line {line}, "
                         f"column {column}); the later value would silently win", start,
                         fatal=False)
        else:
            seen[key] = start
        self.state = _COLON
        return False

    def _scalar(self, kind: str, tok: str, start: int) -> bool:
        if self.state not in _VALUE_STATES:
            return self._unexpected(repr(tok[:20]), start)
        self._value_start(start)
        if kind == "const":
            self.problem("nan", f"{tok} is not JSON (RFC 8259); use null or a finite number",
                         start, fatal=False)
        elif kind == "num":
            if any(c in tok for c in ".eE"):
                if math.isinf(float(tok)):
                    self.problem("overflow", f"the number {tok[:30]} overflows to infinity; "
                                 "use a smaller number or a string", start, fatal=False)
            elif len(tok.lstrip("-")) > INT_DIGITS:
                self.problem("overflow", f"an integer of more than {INT_DIGITS} digits; "
                             "store it as a string", start, fatal=False)
        self._after_value()
        return False


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
