"""The contents of a state file: strict JSON (RFC 8259), its root, and its schema.

The fast path is the engine's strict :func:`~stateview._jsontext.loads` (C speed). Only a file
that fails it, or that breaks its schema, is walked by the slower :func:`~stateview._jsontext.scan`
to put a line, a column and a pointer on every problem.
"""

from __future__ import annotations

import json
from typing import Any

from .._errors import CorruptFile
from .._jsontext import JsonProblem, decode, loads, scan
from .._schema import Schema
from ._result import INFO, Problem

__all__ = ["MAX_SYNTAX_PROBLEMS", "check_content"]

#: ``scan`` stops after this many problems; a file with more is reported as cut short.
MAX_SYNTAX_PROBLEMS = 1000

_UNLOADED = object()


def _from_json(p: JsonProblem) -> Problem:
    return Problem(p.kind, p.message, p.line, p.column, p.pointer)


def check_content(data: bytes, schema: Schema | None) -> list[Problem]:
    """Every problem of a state file's bytes, in file order, then notes.

    Args:
        data: the file's bytes.
        schema: the schema to validate against, or ``None``.
    """
    text: str | None = None
    problems: list[Problem] = []
    try:
        value: Any = loads(data, "<check>")
    except CorruptFile as e:
        text, problems, value = _diagnose(data, e)
        if value is _UNLOADED:
            if schema is not None:
                problems.append(Problem("schema-skipped", "the schema was not checked: the "
                                        "file must be loadable JSON first", severity=INFO))
            return problems
    if not isinstance(value, (dict, list)):
        problems.append(Problem(
            "root", f"the root is {_json_type(value)}; a state file holds an object or an array",
            1, 1, ""))
    if schema is not None:
        problems += _schema_problems(data, text, value, schema)
    return problems


def _diagnose(data: bytes, error: CorruptFile) -> tuple[str | None, list[Problem], Any]:
    """Every problem ``scan`` finds, and the value as a lenient parser would load it.

    A file whose only problems are duplicate keys, NaN or overflowing numbers still has a
    value (the one a lenient reader would see, the later duplicate winning), so its schema
    problems are reported in the same run rather than one fix later.
    """
    text, found = decode(data)
    if text is not None:
        scanned = scan(text, max_problems=MAX_SYNTAX_PROBLEMS)
        found += scanned.problems
        if len(scanned.problems) >= MAX_SYNTAX_PROBLEMS:
            found.append(JsonProblem("too-many", f"stopped after {MAX_SYNTAX_PROBLEMS} "
                                     "problems; fix these and check again", 1, 1, ""))
    if not found:
        # scan and loads disagree (json.loads ran out of stack below our depth limit): the
        # engine's own verdict is still the truth about the file.
        found.append(JsonProblem("syntax", error.reason, error.line or 1, error.column or 1,
                                 error.pointer or ""))
    problems = [_from_json(p) for p in found]
    if text is None or any(p.fatal for p in found):
        return text, problems, _UNLOADED
    try:
        return text, problems, json.loads(text)
    except (ValueError, RecursionError):  # a huge integer, or deeper than the C parser goes
        return text, problems, _UNLOADED


def _schema_problems(data: bytes, text: str | None, value: Any, schema: Schema) -> list[Problem]:
    try:
        issues = schema.issues(value)
    except Exception as e:  # noqa: BLE001 - a user's schema may fail while applied ($ref, depth)
        return [Problem("schema-invalid", f"the schema could not be applied: "
                        f"{type(e).__name__}: {e}", file=schema.source)]
    if not issues:
        return []
    if text is None:
        text = data.decode("utf-8-sig")
    positions = scan(text, want={i.pointer for i in issues}, max_problems=1).positions
    found = []
    for issue in issues:
        line, column = positions.get(issue.pointer, (None, None))
        found.append(Problem(
            "schema", issue.message, line, column, issue.pointer, rule=issue.rule,
            schema_path=issue.schema_path, file=schema.source))
    # jsonschema yields in schema order and sorts by pointer text ("/10" < "/2"): file order
    # is what a person fixing the file walks through.
    found.sort(key=lambda p: (p.line or 0, p.column or 0))
    return found


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string"
