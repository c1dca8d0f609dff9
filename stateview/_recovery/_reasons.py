"""The reason a plan gives for each file: what it is, and why it is kept (the planner's words)."""

from __future__ import annotations

import os

from .._postgres._url import hide_url_passwords
from ._findings import Examined

_CORRUPT_KEPT = ("an unreadable copy set aside by an earlier recovery; stateview never deletes "
                 "these (delete it yourself once you no longer need it)")


def temp_reason(x: Examined) -> str:
    if x.error is not None:
        return f"a temp file of a commit that cannot be read ({x.error})"
    if x.json != "complete":
        return f"an interrupted commit that never finished writing ({x.problem})"
    if x.relation == "same":
        return "an unacknowledged commit identical to the state file"
    if x.relation in ("older", "newer"):
        return f"a complete but unacknowledged commit, {x.relation} than the state file"
    return "a complete but unacknowledged commit"


def kept_reason(x: Examined) -> str:
    if x.kind == "corrupt":
        return _CORRUPT_KEPT
    if x.kind == "temp":
        if x.json == "complete" and not x.good:
            return "complete JSON, but " + (x.problem or f"fails the schema {x.schema_problem}")
        return temp_reason(x)
    what = ("the version a commit replaced" if x.kind == "previous"
            else "a backup of an earlier version")
    if x.error is not None:
        return f"{what}; cannot be read ({x.error})"
    if x.json != "complete":
        return f"{what}; not strict JSON ({where(x)}{x.problem})"
    if not x.good:
        return f"{what}; " + (x.problem or f"fails the schema {x.schema_problem}")
    return f"{what} (complete{schema_words(x)})"


def lock_reason(lock: Examined) -> str:
    if lock.error is not None:
        return f"the lock file; cannot be read ({lock.error})"
    if lock.lock == "stale":
        return (f"the record names {holder_words(lock)}, which is no longer running; it is "
                "cleared once the state file is fixed")
    if lock.holder.get("pid"):
        return f"the permanent lock file; free (last held by {holder_words(lock)})"
    return "the permanent lock file; free"


def holder_words(lock: Examined) -> str:
    program = lock.holder.get("program")
    return f"pid {lock.holder.get('pid')}" + (
        f" ({hide_url_passwords(str(program))})" if program else "")


def schema_words(x: Examined) -> str:
    return ", passes the schema" if x.schema == "valid" else ""


def where(x: Examined) -> str:
    return f"line {x.line}, column {x.column}: " if x.line is not None else ""


def at(x: Examined) -> str:
    return f" at line {x.line}, column {x.column}" if x.line is not None else ""


def name(path: str) -> str:
    return os.path.basename(path)
