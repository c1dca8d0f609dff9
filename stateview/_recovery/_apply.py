"""Carrying a plan out, in an order that survives being interrupted at any step.

    take the lock           no writer commits meanwhile; taking it rewrites a stale record
    plan again              under the lock, the plan shown earlier may be out of date
    set aside               hard link NAME -> NAME.corrupt-<ts>, fsync(DIR): the unreadable
                            bytes now have a durable second name before anything replaces them
    restore                 replace_file(copy, backups=0): atomic and durable; no rotation, so a
                            good backup is never pushed out by the bad file
    .prev -> NAME.bak       renames onto free names only (older backups move up one generation)
    remove temp files       only now, with the restored file durable; then fsync(DIR)
    release the lock        the record says held=false: a stale record is cleared

Stopped after any step, a second run finds either the old state (and redoes the step; an
existing set-aside copy with the same bytes is reused, not duplicated) or the new one (and goes
on from there). No step removes the only copy of a version.
"""

from __future__ import annotations

import contextlib
import errno

from .._commit import replace_file
from .._errors import LockTimeout
from .._fs import FileSystem, present
from .._lock import process_lock, read_info
from ._findings import Item, Outcome, Plan, Step
from ._planner import plan as make_plan

__all__ = ["apply", "execute"]

# link() fails with these where hard links do not exist (FAT, some network file systems) or
# are refused (protected_hardlinks); the set-aside copy is then written byte for byte.
_MAX_GENERATIONS = 10_000
_NO_LINK = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


def apply(shown: Plan, fs: FileSystem, *, lock_timeout: float = 5.0) -> Outcome:
    """Carry out ``shown`` under the state file's lock.

    The directory is planned again under the lock and that plan is what is carried out, so
    a writer's commit between the dry run and now is never mistaken for a leftover.

    Args:
        shown: the plan the user saw. A holder in it that keeps the lock for its whole life
            (``exclusive=True``, or unknown) short-circuits everything; a writer that was
            caught committing is waited for.
        fs: the file-system seam every change goes through.
        lock_timeout: how long to wait for a writer that is committing.

    Returns:
        What was done, and the directory examined again afterwards.
    """
    if shown.holder is not None and shown.holder.get("exclusive") is not False:
        return Outcome(shown, (), shown, blocked=shown.holder)
    if shown.holder is None and not shown.actionable:
        return Outcome(shown, (), shown)
    # From here a writer without exclusive=True may still be committing: it holds the lock
    # only for a commit, so waiting for the lock is waiting for that commit to end.
    paths = shown.paths
    lock = process_lock(paths.lock)
    owner = object()
    try:
        lock.acquire(owner, lock_timeout)
    except LockTimeout as e:
        return Outcome(shown, (), shown, blocked=e.holder)
    except OSError as e:
        step = Step("lock", paths.lock, ok=False, note=f"cannot take the lock: {_why(e)}",
                    error=e)
        return Outcome(shown, (step,), shown)
    stale = [i for i in shown.items if i.action == "clear-stale-lock-record"]
    try:
        current = make_plan(paths, fs, shown.schema, locked=True)
        steps = execute(current, fs)
        after = make_plan(paths, fs, shown.schema, locked=True)
    finally:
        lock.release(owner)
    if stale:
        # Taking the lock rewrote the record with this process; releasing it said held=false.
        cleared = read_info(paths.lock, fs).get("held") is False
        steps.append(Step("clear-stale-lock-record", paths.lock, ok=cleared,
                          note=None if cleared else "the record could not be rewritten"))
    return Outcome(current, tuple(steps), after)


def execute(plan: Plan, fs: FileSystem) -> list[Step]:
    """Carry out ``plan``; the caller holds the lock.

    A failed set-aside stops before the restore, and a failed restore stops before anything
    is moved or removed: nothing goes unless the restored file is durable.
    """
    steps: list[Step] = []
    state = plan.state_item
    if plan.restore_from is not None:
        if state.action == "set-aside":
            step = _set_aside(plan, state, fs)
            steps.append(step)
            if not step.ok:
                return steps
        step = _restore(plan, fs)
        steps.append(step)
        if not step.ok:
            return steps
    # Oldest first: each move pushes the ones before it one generation up.
    moves = sorted((i.file for i in plan.items if i.action == "move-to-backup"),
                   key=lambda x: x.mtime_ns or 0)
    doomed = [i.file.path for i in plan.items if i.action == "remove"]
    if plan.restore_from is not None and plan.restore_from.kind != "backup":
        doomed.append(plan.restore_from.path)
    changed = False
    for step in [*(_move_to_backup(plan, x.path, fs) for x in moves),
                 *(_remove(path, fs) for path in doomed)]:
        steps.append(step)
        changed = changed or (step.ok and step.note is None)
    if changed:
        try:
            fs.fsync_dir(plan.paths.directory)
        except OSError as e:
            steps.append(Step("sync-directory", plan.paths.directory, ok=False,
                              note=_why(e), error=e))
    return steps


def _set_aside(plan: Plan, state: Item, fs: FileSystem) -> Step:
    paths = plan.paths
    planned = state.to
    if planned is not None and _holds(planned, state.file.data, fs):
        # An earlier run stopped after linking; its fsync(DIR) may not have happened.
        try:
            fs.fsync_dir(paths.directory)
        except OSError as e:
            return Step("set-aside", paths.target, planned, ok=False, note=_why(e), error=e)
        return Step("set-aside", paths.target, planned, note="already set aside")
    try:
        to = planned if planned is not None and not present(fs, planned) else \
            paths.new_corrupt(fs)
    except OSError as e:
        return Step("set-aside", paths.target, planned, ok=False, note=_why(e), error=e)
    try:
        try:
            fs.link(paths.target, to)
        except OSError as e:
            if e.errno not in _NO_LINK:
                raise
            _copy(state.file.data, to, fs)
        # Durable before the replace: otherwise a power cut could keep the replace and lose
        # the only name of the unreadable bytes.
        fs.fsync_dir(paths.directory)
    except OSError as e:
        return Step("set-aside", paths.target, to, ok=False, note=_why(e), error=e)
    return Step("set-aside", paths.target, to)


def _restore(plan: Plan, fs: FileSystem) -> Step:
    source = plan.restore_from
    assert source is not None
    try:
        # backups=0: rotating would push a good backup out in favour of the bad file.
        replace_file(plan.paths, source.data, fs, backups=0, recycle=False)
    except OSError as e:
        return Step("restore", plan.paths.target, source.path, ok=False, note=str(e), error=e)
    return Step("restore", plan.paths.target, source.path)


def _move_to_backup(plan: Plan, previous: str, fs: FileSystem) -> Step:
    """``previous`` becomes ``NAME.bak``; backups up to the first gap move up one generation.

    Every step renames onto a name that does not exist, so no version is ever overwritten;
    stopped part-way, the gap has moved down and a second run closes it.
    """
    paths = plan.paths
    newest = paths.backup(1)
    try:
        if not present(fs, previous):
            return Step("move-to-backup", previous, newest, note="already gone")
        gap = 1
        while present(fs, paths.backup(gap)) and gap < _MAX_GENERATIONS:
            gap += 1
        if present(fs, paths.backup(gap)):
            raise OSError(errno.EEXIST, f"no free backup generation below {gap}")
        for generation in range(gap, 1, -1):
            fs.replace(paths.backup(generation - 1), paths.backup(generation))
        fs.replace(previous, newest)
    except OSError as e:
        return Step("move-to-backup", previous, newest, ok=False, note=_why(e), error=e)
    return Step("move-to-backup", previous, newest)


def _remove(path: str, fs: FileSystem) -> Step:
    try:
        fs.unlink(path)
    except FileNotFoundError:
        return Step("remove", path, note="already gone")
    except OSError as e:
        return Step("remove", path, ok=False, note=_why(e), error=e)
    return Step("remove", path)


def _copy(data: bytes, to: str, fs: FileSystem) -> None:
    fd = fs.open_new(to, 0o600)
    try:
        try:
            fs.write_all(fd, data)
            fs.fsync(fd)
        finally:
            fs.close(fd)
    except OSError:
        with contextlib.suppress(OSError):
            fs.unlink(to)
        raise


def _holds(path: str, data: bytes, fs: FileSystem) -> bool:
    try:
        return fs.read_bytes(path) == data
    except OSError:
        return False


def _why(error: OSError) -> str:
    return error.strerror or str(error)
