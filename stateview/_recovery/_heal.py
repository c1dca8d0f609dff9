"""Putting a good copy back over a damaged or missing state file when it is opened.

``stateview.open`` calls :func:`heal_on_open`; :func:`candidates` tells it whether there is any
good copy at all before it creates a new file from the default. Both use the same planner and
executor as ``stateview recover``: :func:`heal_on_open` restores the newest good copy (temp
files, ``.prev`` files and backups that are complete strict JSON and pass the schema), setting
the unreadable bytes aside as ``NAME.corrupt-<timestamp>``, and raises when there is none: an
unreadable file is never replaced by a default.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from .._errors import CommitFailed, StateError, StateFileMissing
from .._fs import FileSystem
from .._paths import StatePaths
from .._schema import Schema
from ._apply import execute
from ._examine import examine_copy
from ._findings import Examined
from ._planner import listed_leftovers, plan

__all__ = ["Candidate", "candidates", "heal_on_open"]

log = logging.getLogger("stateview")


@dataclass(frozen=True)
class Candidate:
    """A copy that could replace the state file.

    Attributes:
        path: the temp file, ``.prev`` file or backup.
        kind: ``"temp"``, ``"previous"`` or ``"backup"``.
        mtime_ns: when it was written.
        data: its bytes.
        problem: why it cannot be used, or ``None`` when it can.
    """

    path: str
    kind: str
    mtime_ns: int
    data: bytes
    problem: str | None


def candidates(paths: StatePaths, fs: FileSystem, schema: Schema | None) -> list[Candidate]:
    """Every temp file, ``.prev`` file and backup, newest first, each judged usable or not."""
    found: list[Candidate] = []
    for leftover in listed_leftovers(paths, fs):
        if leftover.kind not in ("temp", "previous", "backup"):
            continue
        x = examine_copy(paths, leftover, fs, schema)
        found.append(Candidate(x.path, x.kind, x.mtime_ns or 0, x.data, _problem(x)))
    found.sort(key=lambda c: c.mtime_ns, reverse=True)
    return found


def _problem(x: Examined) -> str | None:
    if x.error is not None:
        return f"unreadable: {x.error}"
    if not x.exists:
        return "gone"
    if x.json != "complete":
        where = f"line {x.line}, column {x.column}: " if x.line is not None else ""
        return f"not strict JSON ({where}{x.problem})"
    if x.problem is not None:
        return x.problem
    if x.schema == "invalid":
        return f"fails the schema {x.schema_problem}"
    return None


def heal_on_open(
    paths: StatePaths,
    fs: FileSystem,
    schema: Schema | None,
    backups: int,
    reason: str,
    error: StateError | None = None,
) -> bytes:
    """Restore the newest good copy over a missing or unreadable state file (lock held).

    The same planner as ``stateview recover`` decides, and the whole plan is carried out
    (temp files of interrupted commits go too). ``backups`` is the caller's setting; the
    restore itself never rotates backups, so a good backup is never pushed out.

    Returns:
        The state file's bytes after the restore.

    Raises:
        StateError: ``error`` (the caller's :class:`CorruptFile`) or :class:`StateFileMissing`
            when no good copy exists; nothing on disk is touched then.
        CommitFailed: setting the unreadable bytes aside or the restore itself failed.
    """
    del backups  # the restore never rotates; see above
    made = plan(paths, fs, schema, locked=True)
    if made.state == "good":  # fixed by hand between the caller's read and our lock
        return made.state_item.file.data
    if made.restore_from is None:
        if error is not None:
            raise error
        raise StateFileMissing(paths.given)
    steps = execute(made, fs)
    for step in steps:
        if not step.ok and step.action in ("set-aside", "restore"):
            cause = step.error
            if isinstance(cause, CommitFailed):
                raise cause
            assert isinstance(cause, OSError)
            raise CommitFailed(paths.target, "setting the unreadable file aside", cause) \
                from cause
    set_aside = next((s.to for s in steps if s.action == "set-aside"), None)
    log.warning(
        "%s: %s; restored the copy in %s%s", paths.given, reason,
        os.path.basename(made.restore_from.path),
        f" and set the unreadable file aside as {os.path.basename(set_aside)}"
        if set_aside else "",
    )
    return made.restore_from.data
