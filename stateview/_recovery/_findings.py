"""What recovery found and what it will do: plain data, ready for the text and JSON reporters.

An :class:`Examined` file is one fact sheet (is it complete strict JSON, does it pass the schema,
how does it relate to the state file). An :class:`Item` pairs it with an action and the reason.
A :class:`Plan` is every item for one state file plus the verdict; an :class:`Outcome` is what
``apply`` did and what the directory looks like afterwards.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, get_args

from .._paths import StatePaths
from .._schema import Schema
from ..types import RecoveryAction, RecoveryVerdict

__all__ = ["ACTIONS", "STATES", "Examined", "Item", "Outcome", "Plan", "Step"]

#: Every action a plan item can carry.
ACTIONS: tuple[RecoveryAction, ...] = get_args(RecoveryAction)

#: The state file's verdicts (see :data:`stateview.types.RecoveryVerdict`).
STATES: tuple[RecoveryVerdict, ...] = get_args(RecoveryVerdict)


@dataclass(frozen=True)
class Examined:
    """One file beside the state file (or the state file itself), judged.

    Attributes:
        kind: ``state``, ``temp``, ``previous`` (``.NAME.prev-*.tmp``), ``backup``,
            ``corrupt`` or ``lock``.
        path: absolute path.
        generation: backups only: 1 for ``NAME.bak``, N for ``NAME.bak.N``.
        exists: whether there is anything at ``path``.
        size, mtime_ns: from ``stat``, when it exists.
        error: why it could not be stat'ed or read (permissions, I/O), if so.
        json: ``complete`` (strict JSON), ``incomplete`` (not strict JSON: truncated, garbled),
            or ``None`` (not read: missing, unreadable, or the lock file).
        problem: why it cannot serve as the document (the JSON error, or a root that is not
            an object or an array); ``line`` and ``column`` locate JSON errors.
        schema: ``valid``, ``invalid``, ``unchecked`` (no schema), ``None`` (not JSON).
        schema_problem: the first violation, when ``invalid``.
        relation: compared with the state file: ``same`` bytes, ``older``, ``newer``,
            ``different`` (same mtime), or ``None`` when the state file cannot be compared.
        data: the bytes read (not part of equality or the JSON report).
        lock: lock file only: ``held``, ``stale`` or ``free``; ``holder`` is its record.
    """

    kind: str
    path: str
    generation: int = 0
    exists: bool = True
    size: int | None = None
    mtime_ns: int | None = None
    error: str | None = None
    json: str | None = None
    problem: str | None = None
    line: int | None = None
    column: int | None = None
    schema: str | None = None
    schema_problem: str | None = None
    relation: str | None = None
    lock: str | None = None
    holder: dict[str, Any] = field(default_factory=dict, compare=False)
    data: bytes = field(default=b"", repr=False, compare=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def good(self) -> bool:
        """Complete strict JSON, an object or an array, and not refused by the schema."""
        return self.json == "complete" and self.problem is None and self.schema != "invalid"

    def to_dict(self, now: float) -> dict[str, Any]:
        mtime = self.mtime_ns / 1e9 if self.mtime_ns is not None else None
        out: dict[str, Any] = {
            "kind": self.kind,
            "path": self.path,
            "name": self.name,
            "generation": self.generation or None,
            "exists": self.exists,
            "size": self.size,
            "mtime": _iso(mtime) if mtime is not None else None,
            "age_seconds": round(max(0.0, now - mtime), 3) if mtime is not None else None,
            "error": self.error,
            "json": self.json,
            "problem": None if self.problem is None else {
                "message": self.problem, "line": self.line, "column": self.column},
            "schema": self.schema,
            "schema_problem": self.schema_problem,
            "relation": self.relation,
        }
        if self.kind == "lock":
            out["lock"] = self.lock
            out["holder"] = self.holder
        return out


@dataclass(frozen=True)
class Item:
    """One file and what the plan does with it.

    Attributes:
        file: the facts.
        action: one of :data:`ACTIONS`.
        reason: why, in a sentence a person can act on.
        to: ``set-aside``: the ``NAME.corrupt-<timestamp>`` it goes to; ``move-to-backup``:
            ``NAME.bak``.
    """

    file: Examined
    action: RecoveryAction
    reason: str
    to: str | None = None

    def to_dict(self, now: float) -> dict[str, Any]:
        out = self.file.to_dict(now)
        out["action"] = self.action
        out["reason"] = self.reason
        out["to"] = self.to
        return out


@dataclass(frozen=True)
class Plan:
    """Everything beside one state file, and what recovery will do about it.

    Attributes:
        paths: the state file's names.
        schema: the schema copies were judged against, if any.
        state: the state file's verdict, one of :data:`STATES`.
        items: the state file first, then temp files, backups, corrupt copies, the lock file.
        holder: the lock record of a live writer; when set, nothing will be touched.
        restore_from: the copy that will replace a missing or unreadable state file.
        problems: what is wrong and stays wrong after ``apply`` (each one sentence).
        advice: what a person can do about the problems.
        at: when the plan was made (seconds since the epoch).
    """

    paths: StatePaths
    schema: Schema | None
    state: RecoveryVerdict
    items: tuple[Item, ...]
    holder: dict[str, Any] | None = None
    restore_from: Examined | None = None
    problems: tuple[str, ...] = ()
    advice: tuple[str, ...] = ()
    at: float = field(default_factory=time.time)

    @property
    def state_item(self) -> Item:
        return self.items[0]

    @property
    def actionable(self) -> bool:
        """Whether ``apply`` would change anything."""
        return any(item.action != "keep" for item in self.items)

    @property
    def clean(self) -> bool:
        """Nothing wrong (the dry run's exit 0): nothing to do but, at most, clear a lock
        record naming a process that is gone (harmless: the kernel freed its lock)."""
        return not self.problems and all(
            item.action in ("keep", "clear-stale-lock-record") for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.paths.given,
            "target": self.paths.target,
            "schema": self.schema.source if self.schema is not None else None,
            "state": self.state,
            "holder": self.holder,
            "restore_from": self.restore_from.path if self.restore_from else None,
            "actionable": self.actionable,
            "clean": self.clean,
            "problems": list(self.problems),
            "advice": list(self.advice),
            "items": [item.to_dict(self.at) for item in self.items],
        }


@dataclass(frozen=True)
class Step:
    """One thing ``apply`` did or tried.

    Attributes:
        action: ``set-aside``, ``restore``, ``move-to-backup``, ``remove``,
            ``clear-stale-lock-record``, or (failures only) ``lock``, ``sync-directory``.
        path: the file acted on (the state file for ``restore``).
        to: where it went (``set-aside``) or where it came from (``restore``).
        ok: whether it succeeded.
        note: a remark (``already set aside``, ``already gone``), or the error.
        error: the exception, when it failed.
    """

    action: str
    path: str
    to: str | None = None
    ok: bool = True
    note: str | None = None
    error: BaseException | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "path": self.path, "to": self.to, "ok": self.ok,
                "note": self.note}


@dataclass(frozen=True)
class Outcome:
    """What ``apply`` did.

    Attributes:
        plan: the plan carried out (made again under the lock, so it may differ from the one
            shown before if a writer committed in between).
        steps: what was done, in order.
        after: the directory examined again afterwards.
        blocked: the holder's record when a live writer kept recovery out (nothing done).
    """

    plan: Plan
    steps: tuple[Step, ...]
    after: Plan
    blocked: dict[str, Any] | None = None

    @property
    def fixed(self) -> bool:
        """Everything was done and nothing is left to fix (``--apply``'s exit 0)."""
        return self.blocked is None and all(s.ok for s in self.steps) and self.after.clean


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
