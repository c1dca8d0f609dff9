"""The contents of a state file: strict JSON (RFC 8259), its root, and its schema.

The fast path is a strict :func:`json.loads` (C speed). Only a file that fails it is walked by
the slower :func:`~stateview._jsonscan.scan`, which puts a line, a column and a pointer on every
problem; schema violations are placed by the faster :func:`~._locate.locate`.
"""

from __future__ import annotations

import json
from typing import Any

from .._jsonscan import scan
from .._jsontext import NOT_STRICT, JsonProblem, a_json_type, decode, try_loads
from .._schema import Schema
from ._locate import locate
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
    text, found = decode(data)
    value: Any = _UNLOADED
    if text is not None and not found:
        value = _strict(text)
    if value is _UNLOADED:
        problems, value = _diagnose(text, found)
        if value is _UNLOADED:
            if schema is not None:
                problems.append(Problem("schema-skipped", "the schema was not checked: the "
                                        "file must be loadable JSON first", severity=INFO))
            return problems
    else:
        problems = []
    if not isinstance(value, (dict, list)):
        problems.append(Problem(
            "root", f"the root is {a_json_type(value)}; a state file holds an object or an array",
            1, 1, ""))
    if schema is not None:
        assert text is not None
        problems += _schema_problems(text, value, schema)
    return problems


def _strict(text: str) -> Any:
    """The value if ``text`` is strict JSON, else ``_UNLOADED``, at the C parser's speed.

    Not the engine's ``loads``: on failure it scans the text to explain itself, and on a
    100 MB file that scan is most of the cost, which ``_diagnose`` would then pay again.
    """
    value = try_loads(text)
    return _UNLOADED if value is NOT_STRICT else value


def _diagnose(text: str | None, found: list[JsonProblem]) -> tuple[list[Problem], Any]:
    """Every problem ``scan`` finds, and the value as a lenient parser would load it.

    A file whose only problems are duplicate keys, NaN or overflowing numbers still has a
    value (the one a lenient reader would see, the later duplicate winning), so its schema
    problems are reported in the same run rather than one fix later.
    """
    found = list(found)
    if text is not None:
        scanned = scan(text, max_problems=MAX_SYNTAX_PROBLEMS)
        found += scanned.problems
        if len(scanned.problems) >= MAX_SYNTAX_PROBLEMS:
            found.append(JsonProblem("too-many", f"stopped after {MAX_SYNTAX_PROBLEMS} "
                                     "problems; fix these and check again", 1, 1, ""))
        if not found:
            # The strict parse failed yet the scan sees nothing: json.loads ran out of stack
            # below our depth limit. Still not a file stateview can load.
            found.append(JsonProblem("depth", "nested too deeply to load", 1, 1, ""))
    problems = [_from_json(p) for p in found]
    if text is None or any(p.fatal for p in found):
        return problems, _UNLOADED
    try:
        return problems, json.loads(text)
    except (ValueError, RecursionError):  # a huge integer, or deeper than the C parser goes
        return problems, _UNLOADED


def _schema_problems(text: str, value: Any, schema: Schema) -> list[Problem]:
    try:
        issues = schema.issues(value)
    except Exception as e:  # a user's schema may fail while applied (an unresolvable $ref, depth)
        return [Problem("schema-invalid", f"the schema could not be applied: "
                        f"{type(e).__name__}: {e}", file=schema.source)]
    if not issues:
        return []
    wanted = {i.pointer for i in issues}
    try:
        positions = locate(text, wanted)
    except ValueError:
        # Past any non-fatal problems (a duplicate key) the walk must go on to every value.
        positions = scan(text, want=wanted, max_problems=MAX_SYNTAX_PROBLEMS + 1).positions
    found = []
    for issue in issues:
        line, column = positions.get(issue.pointer, (None, None))
        found.append(Problem(
            "schema", issue.message, line, column, issue.pointer, rule=issue.rule,
            schema_path=issue.schema_path))
    # jsonschema yields in schema order and sorts by pointer text ("/10" < "/2"): file order
    # is what a person fixing the file walks through.
    found.sort(key=lambda p: (p.line or 0, p.column or 0))
    return found

