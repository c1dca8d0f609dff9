"""Judging each file beside a state file: is it complete strict JSON, does it pass the schema.

Reads go through the :class:`~stateview._fs.FileSystem` seam, so fault tests see them too.
The lock file is judged from its record and, when the record says nobody holds it, from a
non-blocking ``flock`` that is released at once (the record is for humans and may be garbled;
the kernel's lock is the truth).
"""

from __future__ import annotations

import dataclasses
import os
import stat
import time
from typing import Any

from .._errors import CorruptFile
from .._fs import FileSystem
from .._holder import real_holder
from .._jsontext import a_json_type, loads
from .._lock import probe
from .._paths import Leftover, StatePaths, planted_by_another_user
from .._schema import Schema
from ..types import RecoveryVerdict
from ._findings import Examined

__all__ = ["examine", "examine_copy", "examine_lock", "examine_state", "related"]

_BUSY_TRIES = 10  # x _BUSY_PAUSE: how long a non-exclusive writer's commit may take to end
_BUSY_PAUSE = 0.05


def examine(kind: str, path: str, fs: FileSystem, schema: Schema | None,
            generation: int = 0) -> Examined:
    """Stat and read ``path`` and judge its content."""
    try:
        st = fs.stat(path)
    except FileNotFoundError:
        return Examined(kind, path, generation, exists=False)
    except OSError as e:
        return Examined(kind, path, generation, error=_why(e))
    facts = Examined(kind, path, generation, size=st.st_size, mtime_ns=st.st_mtime_ns)
    if not stat.S_ISREG(st.st_mode):
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        return dataclasses.replace(facts, error=what)
    try:
        data = fs.read_bytes(path)
    except OSError as e:
        return dataclasses.replace(facts, error=_why(e))
    return judge(facts, data, schema)


def examine_copy(paths: StatePaths, leftover: Leftover, fs: FileSystem,
                 schema: Schema | None) -> Examined:
    """:func:`examine` for a file beside the state file; another user's planted file in a
    shared directory is judged unreadable (never restored) without being read."""
    planted = planted_by_another_user(leftover.path, paths.target, fs)
    if planted is not None:
        return Examined(leftover.kind, leftover.path, leftover.generation, error=planted)
    facts = examine(leftover.kind, leftover.path, fs, schema, leftover.generation)
    if facts.data is None:
        return facts
    # The look came before the read: a name free then (its owner's program had just rotated
    # it away) may have been taken by another user of a shared directory meanwhile. What
    # was read is trusted only if the file is there still, and still of a trusted owner.
    try:
        fs.lstat(leftover.path)
    except OSError as e:
        planted = f"it changed while it was read ({_why(e)}), so it is not restored"
    else:
        planted = planted_by_another_user(leftover.path, paths.target, fs)
    if planted is not None:
        return Examined(leftover.kind, leftover.path, leftover.generation, error=planted)
    return facts


def judge(facts: Examined, data: bytes, schema: Schema | None) -> Examined:
    """Fill in the JSON and schema verdicts of ``facts`` from its bytes."""
    facts = dataclasses.replace(facts, data=data, size=len(data))
    try:
        value: Any = loads(data, facts.path)
    except CorruptFile as e:
        return dataclasses.replace(facts, json="incomplete", problem=e.reason, line=e.line,
                                   column=e.column)
    facts = dataclasses.replace(facts, json="complete")
    if not isinstance(value, (dict, list)):
        return dataclasses.replace(
            facts,
            problem=f"its root is {a_json_type(value)}; a state file holds an object or an array")
    if schema is None:
        return dataclasses.replace(facts, schema="unchecked")
    issues = schema.issues(value)
    if not issues:
        return dataclasses.replace(facts, schema="valid")
    first = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return dataclasses.replace(
        facts, schema="invalid",
        schema_problem=f"at {first.pointer or '/'}: {first.message}{more}")


def examine_state(paths: StatePaths, fs: FileSystem,
                  schema: Schema | None) -> tuple[RecoveryVerdict, Examined]:
    """The state file's facts and its verdict."""
    facts = examine("state", paths.target, fs, schema)
    if not facts.exists:
        verdict: RecoveryVerdict = "missing"
    elif facts.error is not None:
        verdict = "inaccessible"
    elif facts.json != "complete":
        verdict = "unreadable"
    elif not facts.good:
        verdict = "invalid"
    else:
        verdict = "good"
    return verdict, facts


def related(facts: Examined, state: Examined) -> Examined:
    """``facts`` with its relation to the state file filled in."""
    if state.json is None or not facts.exists or facts.mtime_ns is None:
        return facts
    if facts.data and facts.data == state.data:
        relation = "same"
    elif state.mtime_ns is None or facts.mtime_ns == state.mtime_ns:
        relation = "different"
    else:
        relation = "older" if facts.mtime_ns < state.mtime_ns else "newer"
    return dataclasses.replace(facts, relation=relation)


def examine_lock(paths: StatePaths, fs: FileSystem) -> Examined | None:
    """The lock file's record and whether a live process holds it; ``None`` if there is none."""
    try:
        st = fs.stat(paths.lock)
    except FileNotFoundError:
        return None
    except OSError as e:
        return Examined("lock", paths.lock, error=_why(e), lock="free")
    if probe(paths.lock, fs).unreadable:
        return Examined("lock", paths.lock, size=st.st_size, mtime_ns=st.st_mtime_ns,
                        error="permission denied: only those who may write the state file may "
                        "read it, so who holds the lock is not known", lock="free")
    verdict, holder = _lock_verdict(paths.lock, fs)
    for _ in range(_BUSY_TRIES):
        # A writer without exclusive=True holds the lock only while it commits: a glimpse of
        # it mid-commit is not a holder that keeps recovery out. Look again, briefly.
        if verdict != "held" or holder.get("exclusive") is True:
            break
        time.sleep(_BUSY_PAUSE)
        verdict, holder = _lock_verdict(paths.lock, fs)
    return Examined("lock", paths.lock, size=st.st_size, mtime_ns=st.st_mtime_ns,
                    lock=verdict, holder=holder)


def _lock_verdict(lock_path: str, fs: FileSystem) -> tuple[str, dict[str, Any]]:
    state = probe(lock_path, fs)
    if state.held:
        return "held", dict(state.holder)
    if state.stale:
        return "stale", dict(state.holder)
    if not _flock_busy(lock_path, fs):
        return "free", dict(state.holder)
    # The record says nobody holds it, so it names a past holder: the kernel names the
    # process that does (another user's `flock NAME.lock ...`), or nobody can.
    try:
        st: os.stat_result | None = fs.stat(lock_path)
    except OSError:
        st = None
    return "held", real_holder(state.holder, st, alive=False, fs=fs)


def _flock_busy(lock_path: str, fs: FileSystem) -> bool:
    """Whether some process holds the kernel lock (its record may not say so).

    A lock file that cannot be opened or probed reads as free: ``apply`` then fails to take
    the lock and says why, rather than the dry run guessing at a holder.
    """
    try:
        return fs.flock_busy(lock_path)
    except OSError:
        return False


def _why(error: OSError) -> str:
    return error.strerror or str(error)

