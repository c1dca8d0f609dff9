"""Finding a good copy of a damaged or missing state file, and putting it back.

The engine calls :func:`heal_on_open` when ``stateview.open`` meets a missing or unreadable
file. Candidates are the complete temp files of interrupted commits and the backups; the newest
one that is strict JSON (and passes the schema) wins. The unreadable bytes are set aside as
``NAME.corrupt-<timestamp>``, never deleted, and the copy is written through the same atomic
protocol as a commit.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

from ._commit import replace_file
from ._errors import StateError, StateFileMissing
from ._fs import FileSystem
from ._jsontext import loads
from ._paths import StatePaths
from ._schema import Schema

__all__ = ["Candidate", "candidates", "heal_on_open"]

log = logging.getLogger("stateview")


@dataclass(frozen=True)
class Candidate:
    """A copy that could replace the state file.

    Attributes:
        path: the temp file or backup.
        kind: ``"temp"`` or ``"backup"``.
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
    """Every temp file and backup, newest first, each judged complete and valid or not."""
    found: list[Candidate] = []
    for leftover in paths.leftovers():
        if leftover.kind not in ("temp", "backup"):
            continue
        try:
            st = fs.stat(leftover.path)
            data = fs.read_bytes(leftover.path)
        except OSError as e:
            found.append(Candidate(leftover.path, leftover.kind, 0, b"", f"unreadable: {e}"))
            continue
        problem: str | None = None
        try:
            value: Any = loads(data, leftover.path)
            if not isinstance(value, (dict, list)):
                problem = "its root is not an object or an array"
            elif schema is not None:
                issues = schema.issues(value)
                if issues:
                    problem = f"fails the schema at {issues[0].pointer or '/'}: {issues[0].message}"
        except StateError as e:
            problem = str(e)
        found.append(Candidate(leftover.path, leftover.kind, st.st_mtime_ns, data, problem))
    found.sort(key=lambda c: c.mtime_ns, reverse=True)
    return found


def heal_on_open(
    paths: StatePaths,
    fs: FileSystem,
    schema: Schema | None,
    backups: int,
    reason: str,
    error: StateError | None = None,
) -> bytes:
    """Restore the newest good copy over a missing or unreadable state file (lock held).

    Returns the restored bytes. Raises ``error`` (or :class:`StateFileMissing`) when there is
    no good copy: an unreadable file is never replaced by a default.
    """
    good = [c for c in candidates(paths, fs, schema) if c.problem is None]
    if not good:
        if error is not None:
            raise error
        raise StateFileMissing(paths.given)
    best = good[0]
    set_aside = None
    if os.path.lexists(paths.target):
        set_aside = paths.new_corrupt()
        fs.link(paths.target, set_aside)
    # backups=0: rotating here would push the good backups out in favour of the bad file.
    replace_file(paths, best.data, fs, backups=0)
    if best.kind == "temp":
        try:
            fs.unlink(best.path)
        except OSError:
            pass  # an orphan that recovery removes later; the restore itself is durable
    log.warning(
        "%s: %s; restored the copy in %s%s", paths.given, reason, os.path.basename(best.path),
        f" and set the unreadable file aside as {os.path.basename(set_aside)}" if set_aside else "",
    )
    return best.data


