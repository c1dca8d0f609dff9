"""Deciding what to do with every file beside a state file (docs/design.md, "Recovery").

    state file good             temp files are unacknowledged commits: remove them;
                                a .prev file (the version a commit replaced) becomes NAME.bak,
                                older backups moving up (or goes, if its content is kept
                                elsewhere); backups and corrupt copies: keep
    missing or unreadable       restore the newest good copy (temp files, .prev files, backups;
                                newest mtime first, backups first on a tie), set the unreadable
                                bytes aside as NAME.corrupt-<timestamp>; with no good copy,
                                touch nothing that could be data and say how to fix it by hand
    invalid or inaccessible     (strict JSON that fails the schema, or an I/O error) keep
                                everything: which version is wanted is a person's call
    a live writer holds it      keep everything and name the holder: its temp file may be a
                                commit in flight
    a stale lock record         clear it (rewrite it, never unlink the lock file)
    a lock file writers refuse  (a symlink, a FIFO, a second name of a file...) keep it, and
                                a problem: apply cannot take the lock until it is removed
"""

from __future__ import annotations

from .._errors import StorageError, describe_holder
from .._fs import FileSystem, present
from .._lock_file import lock_file_refusal
from .._paths import Leftover, StatePaths
from .._schema import Schema
from ..types import RecoveryVerdict
from ._examine import examine_copy, examine_lock, examine_state, related
from ._findings import Examined, Item, Plan
from ._reasons import (
    at,
    holder_words,
    kept_reason,
    lock_reason,
    name,
    schema_words,
    temp_reason,
    where,
)

__all__ = ["plan"]

# Which copy wins a tie of mtimes: a backup was acknowledged, so was the version a commit
# replaced (.prev), while a temp file never was.
_RANK = {"backup": 2, "previous": 1, "temp": 0}


def plan(paths: StatePaths, fs: FileSystem, schema: Schema | None, *,
         locked: bool = False) -> Plan:
    """Examine everything beside the state file and decide what to do with each.

    Args:
        paths: the state file's names.
        fs: the file-system seam (reads go through it).
        schema: copies must pass it to be restored.
        locked: the caller holds the lock (``stateview.open``, ``apply``): the lock file is
            not examined and temp files cannot be commits in flight.

    Returns:
        The plan; nothing on disk has changed.
    """
    verdict, state = examine_state(paths, fs, schema)
    leftovers = [related(examine_copy(paths, x, fs, schema), state)
                 for x in listed_leftovers(paths, fs)]
    refusal = None if locked else lock_file_refusal(fs, paths.lock, paths.target)
    if refusal is not None:  # nothing to probe: no writer can lock it, so none is committing
        return _refused_lock(_plan_by_verdict(paths, fs, schema, verdict, state, leftovers),
                             refusal)
    lock = None if locked else examine_lock(paths, fs)
    if lock is not None and lock.lock != "held":
        # Listed first, lock probed second: a temp file that vanished in between was a live
        # writer's commit in flight, not a leftover.
        leftovers = [x for x in leftovers
                     if x.kind not in ("temp", "previous") or _still_there(fs, x.path)]
    if lock is not None and lock.lock == "held":
        return _hands_off_for_holder(paths, schema, verdict, state, leftovers, lock)
    made = _plan_by_verdict(paths, fs, schema, verdict, state, leftovers)
    if lock is None:
        return made
    if lock.lock == "stale" and (made.restore_from is not None or verdict in ("good", "missing")):
        item = Item(lock, "clear-stale-lock-record",
                    f"the record names {holder_words(lock)}, which is no longer running (the "
                    "kernel released its lock); the record is rewritten, the lock file stays")
    else:
        item = Item(lock, "keep", lock_reason(lock))
    return Plan(made.paths, made.schema, made.state, (*made.items, item), made.holder,
                made.restore_from, made.problems, made.advice, made.at)


def _plan_by_verdict(paths: StatePaths, fs: FileSystem, schema: Schema | None,
                     verdict: RecoveryVerdict, state: Examined,
                     leftovers: list[Examined]) -> Plan:
    if verdict == "good":
        return _good(paths, schema, state, leftovers)
    if verdict in ("missing", "unreadable"):
        return _restore(paths, fs, schema, verdict, state, leftovers)
    return _hands_off(paths, schema, verdict, state, leftovers)


def _refused_lock(made: Plan, refusal: OSError) -> Plan:
    """``made`` with a lock file every writer refuses (``_lock_file.lock_file_refusal``, the
    rule ``stateview check`` and the writers use): listed, and a problem that ``apply``, which
    must take the lock first, cannot get past."""
    lock = Examined("lock", made.paths.lock, error=refusal.strerror, lock="free")
    item = Item(lock, "keep", "every writer refuses this lock file (the problem below)")
    problem = f"{made.paths.lock}: every writer refuses this lock file: {refusal.strerror}"
    return Plan(made.paths, made.schema, made.state, (*made.items, item), made.holder,
                made.restore_from, (*made.problems, problem), made.advice, made.at)


def _good(paths: StatePaths, schema: Schema | None, state: Examined,
          leftovers: list[Examined]) -> Plan:
    items = [Item(state, "keep", "complete strict JSON" + schema_words(state))]
    for x in leftovers:
        if x.kind == "temp":
            items.append(Item(x, "remove", temp_reason(x) + "; the state file is good, so "
                              "this commit was never acknowledged: removed"))
        elif x.kind == "previous":
            items.append(_previous(paths, x, state.data, leftovers))
        else:
            items.append(Item(x, "keep", kept_reason(x)))
    return Plan(paths, schema, "good", tuple(items))


def _restore(paths: StatePaths, fs: FileSystem, schema: Schema | None,
             verdict: RecoveryVerdict, state: Examined, leftovers: list[Examined]) -> Plan:
    copies = [x for x in leftovers if x.kind in _RANK and x.good]
    if not copies:
        return _nothing_to_restore(paths, schema, verdict, state, leftovers)
    best = max(copies, key=lambda x: (x.mtime_ns or 0, _RANK[x.kind], -x.generation))
    if verdict == "missing":
        items = [Item(state, "restore", f"missing; restored from {best.name}")]
    else:
        aside = _already_set_aside(state, leftovers)
        to = aside.path if aside else _next_corrupt_name(paths, fs)
        how = f"already set aside as {aside.name}" if aside else f"set aside as {name(to)}"
        items = [Item(state, "set-aside",
                      f"not strict JSON ({where(state)}{state.problem}); {how}, never deleted, "
                      f"and replaced by {best.name}", to=to)]
    problems: list[str] = []
    for x in leftovers:
        if x is best:
            then = "; removed once the restored file is durable" if x.kind != "backup" else ""
            items.append(Item(x, "restore-from", "the newest complete copy"
                              + schema_words(x) + then))
        elif x.kind == "temp" and x.error is not None:
            items.append(Item(x, "keep", f"cannot be read ({x.error}), so it cannot be judged; "
                              "kept: it might be a newer version"))
            problems.append(f"{x.name} cannot be read ({x.error}); fix its permissions and run "
                            "recovery again")
        elif x.kind == "temp":
            items.append(Item(x, "remove", temp_reason(x) + f"; superseded by {best.name}"))
        elif x.kind == "previous":
            items.append(_previous(paths, x, best.data, leftovers))
        else:
            items.append(Item(x, "keep", kept_reason(x)))
    return Plan(paths, schema, verdict, tuple(items), restore_from=best,
                problems=tuple(problems))


def _nothing_to_restore(paths: StatePaths, schema: Schema | None, verdict: RecoveryVerdict,
                        state: Examined, leftovers: list[Examined]) -> Plan:
    """No good copy. An unreadable file is left exactly as it is, for a person to fix.

    A missing file has nothing to fix by hand, so temp files that are not even complete
    JSON (an interrupted commit, never acknowledged) are cleared away; that lets the program
    create its default again. Anything that is a complete document is kept.
    """
    clear = verdict == "missing"
    items: list[Item] = []
    if verdict == "missing":
        items.append(Item(state, "keep", "missing, and no complete copy"
                          + (" passes the schema" if schema is not None else " exists")))
        problems = [f"{paths.given} does not exist and there is no good copy to restore"]
        stays = any(x.kind != "temp" or x.json != "incomplete" for x in leftovers)
        advice = ["if the program creates it from a default, start the program"
                  + (" (the copies listed above stay where they are)" if stays else "")]
    else:
        items.append(Item(state, "keep", f"not strict JSON ({where(state)}{state.problem}) and "
                          "no good copy exists; left untouched for you to fix"))
        problems = [f"{paths.given} is not strict JSON ({where(state)}{state.problem}) and "
                    "there is no good copy to restore"]
        advice = [f"fix it by hand{at(state)}, then run `stateview check {paths.given}`"]
    for x in leftovers:
        if clear and x.kind == "temp" and x.json == "incomplete":
            items.append(Item(x, "remove", temp_reason(x)))
        else:
            items.append(Item(x, "keep", kept_reason(x)))
        if x.kind in _RANK and x.schema == "invalid":
            advice.append(f"{x.name} is complete JSON but fails the schema "
                          f"{x.schema_problem}; if the schema changed, pass the one it was "
                          "written for with --schema")
    return Plan(paths, schema, verdict, tuple(items), problems=tuple(problems),
                advice=tuple(advice))


def _hands_off(paths: StatePaths, schema: Schema | None, verdict: RecoveryVerdict, state: Examined,
               leftovers: list[Examined]) -> Plan:
    if verdict == "inaccessible":
        why = f"cannot be read: {state.error}"
        advice = [f"check its permissions and type, then run `stateview recover {paths.given}`"]
    elif state.problem is not None:
        why = state.problem
        advice = [f"edit it by hand, then run `stateview check {paths.given}`"]
    else:
        why = f"complete JSON but fails the schema {state.schema_problem}"
        advice = [f"fix it by hand (`stateview check {paths.given}` shows every violation), "
                  "or pass the schema it was written for with --schema"]
    items = [Item(state, "keep", why + "; left for you to decide")]
    for x in leftovers:
        note = "; kept while the state file needs attention: it may be the version you want"
        items.append(Item(x, "keep", (temp_reason(x) if x.kind == "temp" else kept_reason(x))
                          + (note if x.kind == "temp" else "")))
    return Plan(paths, schema, verdict, tuple(items), problems=(f"{paths.given}: {why}",),
                advice=tuple(advice))


def _hands_off_for_holder(paths: StatePaths, schema: Schema | None, verdict: RecoveryVerdict,
                          state: Examined, leftovers: list[Examined], lock: Examined) -> Plan:
    who = describe_holder(lock.holder) if lock.holder.get("pid") else \
        "locked by a writer whose record is unreadable"
    items = [Item(state, "keep", f"{verdict}; not touched while a writer holds the lock")]
    for x in leftovers:
        extra = "; it may be a commit in flight" if x.kind == "temp" else ""
        items.append(Item(x, "keep", f"not touched while a writer holds the lock{extra}"))
    items.append(Item(lock, "keep", who))
    if lock.holder.get("exclusive") is False:
        advice = ("that writer holds the lock only while it commits (it was committing all "
                  "the while recovery looked): --apply waits for the lock, plans again and "
                  "carries that plan out",)
    else:
        advice = ("stop that program (or wait until it exits), then run recovery again",)
    return Plan(paths, schema, verdict, tuple(items), holder=dict(lock.holder),
                problems=(f"{paths.given} is {who}; recovery touches nothing while a writer "
                          "holds the lock",), advice=advice)


def _previous(paths: StatePaths, x: Examined, content: bytes,
              leftovers: list[Examined]) -> Item:
    """A ``.NAME.prev-*.tmp``: the version a commit replaced, before it became ``NAME.bak``.

    ``content`` is what the state file holds (or will hold, once restored).
    """
    what = "the version a commit replaced, kept until it becomes a backup"
    if x.error is not None or x.json is None:
        return Item(x, "keep", f"{what}; cannot be read ({x.error}), so it is kept")
    if x.data == content:
        return Item(x, "remove", f"{what}; the state file holds the same content, so nothing "
                    "is lost by removing it")
    for other in leftovers:
        if other.kind in ("backup", "corrupt") and other.size == x.size and other.data == x.data:
            return Item(x, "remove", f"{what}; {other.name} already holds the same content")
    if x.json != "complete":
        # Not a version anyone could use as a backup, but nowhere else either: a person's call.
        return Item(x, "keep", f"{what}; not strict JSON ({where(x)}{x.problem}) and held "
                    "nowhere else, so it is kept")
    newest = next((b for b in leftovers if b.kind == "backup" and b.generation == 1), None)
    if newest is not None and (x.mtime_ns or 0) < (newest.mtime_ns or 0):
        # A later commit already made its own previous version NAME.bak; this one is a
        # version the backup rotation would have pushed further down and, at the end of
        # the chain, dropped. Keeping it would leave an orphan after every such crash.
        return Item(x, "remove", f"{what}, but older than {newest.name}, which a later "
                    "commit made: the backup rotation has moved past it, so it is removed")
    return Item(x, "move-to-backup", f"{what}; the commit stopped before that: it becomes "
                f"{name(paths.backup(1))} (older backups move up one generation, none is "
                "dropped)", to=paths.backup(1))


def listed_leftovers(paths: StatePaths, fs: FileSystem) -> list[Leftover]:
    """The files beside the state file, listed through the seam.

    Raises:
        StorageError: the directory cannot be listed: a plan made without its copies could
            take a missing state file for one with nothing to restore.
    """
    try:
        return paths.find_leftovers(fs)
    except OSError as e:
        raise StorageError(paths.directory, "listing the files beside the state file", e) \
            from e


def _still_there(fs: FileSystem, path: str) -> bool:
    """Whether a listed temp file is still there; one that cannot be looked at stays listed
    (this only shapes the dry run: ``apply`` plans again under the lock)."""
    try:
        return present(fs, path)
    except OSError:
        return True


def _already_set_aside(state: Examined, leftovers: list[Examined]) -> Examined | None:
    """A corrupt copy with the state file's bytes: an earlier recovery stopped after it."""
    for x in leftovers:
        if x.kind == "corrupt" and x.size == state.size and x.data == state.data:
            return x
    return None


def _next_corrupt_name(paths: StatePaths, fs: FileSystem) -> str:
    try:
        return paths.new_corrupt(fs)
    except OSError as e:
        raise StorageError(paths.target, "choosing a name to set the file aside", e) from e
