"""The atomic, durable replace of a state file (docs/design.md, "The commit, step by step").

The caller holds the lock. :func:`replace_file` either makes ``data`` the file's durable content
or raises :class:`CommitFailed` with the file showing what it showed before and no temp file
left. Every file-system call goes through the :class:`~stateview._fs.FileSystem` seam.

It first looks at the state file and at the backups the rotation will move (a look that
fails fails the commit, with nothing changed yet), then runs five phases, each a function
below that holds its own failure path:

1. write the new version: into ``.NAME.spare`` if nobody has it open, else a new
   ``.NAME.<random>.tmp`` (create with O_EXCL|O_NOFOLLOW, mode/owner, write, fsync, close);
   on failure the temp file goes and NAME was never touched;
2. publish: hard-link NAME as ``.NAME.prev-<random>.tmp``, note the commit in the lock file,
   then rename the new version over NAME; on failure both hidden names go and NAME was never
   touched;
3. rotate backups: NAME.bak.N -> ``.NAME.spare``, ... ``.prev`` -> NAME.bak, here only when no
   rename frees a kept version, so that all of it can be undone;
4. sync or undo: fsync(DIR); on failure phases 2 and 3 are
   undone, NAME first;
5. after durable: the renames that had to wait, best effort (a failure leaves a ``.prev`` file
   for ``stateview recover``, and the commit stands).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable

from ._errors import CommitFailed
from ._fs import FileSystem, keeps_group
from ._paths import StatePaths
from ._rotation import backup_chain, backup_moves, rename_all

__all__ = ["replace_file"]


def replace_file(
    paths: StatePaths, data: bytes, fs: FileSystem, backups: int = 1, recycle: bool = True,
    before_publish: Callable[[], None] | None = None,
    after_create: Callable[[], None] | None = None,
) -> os.stat_result:
    """Make ``data`` the durable content of ``paths.target``.

    Args:
        paths: the state file's names (the data goes to the symlink's target).
        data: the whole new file.
        fs: the file-system seam.
        backups: how many previous versions to keep as ``NAME.bak`` ... ``NAME.bak.N``.
        recycle: write into the spare (``.NAME.spare``) when nobody has it open, and retire
            the version that falls out of the backups to be the next spare, rather than
            allocate a new file and free an old one each commit.
        before_publish: called right before the rename that publishes the new version (the
            lock file notes the commit there, so that whoever sees the new version and then
            reads the lock file finds this commit or a later one named).
        after_create: called once a commit that created the state file stands (the lock
            file, made before there was a state file to match, is matched to it).

    Returns:
        The new file's status (as ``fstat`` saw it before the rename, which keeps the inode).

    Raises:
        CommitFailed: a step failed; the file is as it was, the temp file is gone, and the
            original OSError is the ``__cause__``.
    """
    current = _current_status(paths, fs)
    recycle = recycle and fs.recycles and current is not None
    chain = backup_chain(paths, fs, backups) if current is not None else (0, False)
    temp, written = _write_new_version(paths, data, fs, current, recycle)
    previous = _publish(paths, fs, temp, current, before_publish)
    moves, frees = backup_moves(paths, chain, backups, previous, recycle)
    done = _sync_or_undo(paths, fs, previous, [] if frees else moves)
    _after_durable(paths, fs, previous, moves, done, backups)
    if current is not None:
        _narrow_siblings(paths, fs, backups, stat.S_IMODE(current.st_mode))
    elif after_create is not None:
        after_create()
    return written


def _current_status(paths: StatePaths, fs: FileSystem) -> os.stat_result | None:
    """The state file's status before the commit, or ``None`` when this is the first one.

    Raises:
        CommitFailed: it cannot be stat'ed, or it is not a regular file.
    """
    target = paths.target
    try:
        current = fs.stat(target)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CommitFailed(target, "reading the current file's mode", e) from e
    if not stat.S_ISREG(current.st_mode):
        error = IsADirectoryError if stat.S_ISDIR(current.st_mode) else OSError
        raise CommitFailed(target, "checking the current file",
                           error(21, "not a regular file", target))
    return current


def _write_new_version(
    paths: StatePaths, data: bytes, fs: FileSystem, current: os.stat_result | None,
    recycle: bool,
) -> tuple[str, os.stat_result]:
    """Phase 1: the new version, durable under a name nobody reads (the spare or a temp file).

    Returns:
        That name and the file's status.

    Raises:
        CommitFailed: no temp file could be written; none is left behind.
    """
    written = _write_spare(paths, data, fs, current) if recycle else None
    if written is not None:
        return paths.spare, written
    return _write_temp(paths, data, fs, current)


def _publish(
    paths: StatePaths, fs: FileSystem, temp: str, current: os.stat_result | None,
    before_publish: Callable[[], None] | None,
) -> str | None:
    """Phase 2: keep the current version under a private name, then rename ``temp`` over NAME.

    The previous version stays reachable as ``.NAME.prev-<random>.tmp`` until the new one is
    durable, so that a failure after the rename (a directory fsync refused, as some network
    shares do) can put it back.

    Returns:
        The previous version's private name, or ``None`` on the first commit.

    Raises:
        CommitFailed: the link, ``before_publish`` or the rename failed; NAME is untouched
            and ``temp`` is gone.
    """
    target = paths.target
    previous: str | None = None
    step = "keeping the previous version"
    renamed = False
    try:
        if current is not None:
            previous = paths.new_previous()
            fs.link(target, previous)
        step = "noting the commit in the lock file"
        if before_publish is not None:
            before_publish()
        step = "renaming the temp file over the state file"
        fs.replace(temp, target)
        renamed = True
    except OSError as e:
        _discard(fs, temp, previous)
        raise CommitFailed(target, step, e) from e
    except BaseException:  # KeyboardInterrupt ...: leave no temp file, put NAME back
        if renamed:
            _undo(paths, fs, previous, [])
        else:
            _discard(fs, temp, previous)
        raise
    return previous


def _sync_or_undo(
    paths: StatePaths, fs: FileSystem, previous: str | None, moves: list[tuple[str, str]],
) -> list[tuple[str, str]]:
    """Phases 3 and 4: rotate the backups, then make the commit durable or undo all of it.

    ``moves`` are the backup renames that can be undone (none frees a kept version): done
    before the directory fsync, one fsync makes everything durable and leaves the journal idle
    for the next commit, and the next commit writes only into a spare that is durably nobody's
    backup (a power cut mid-write must not tear NAME.bak). A failed commit must not push the
    versions a user kept out of NAME.bak.N, so renames that free one wait for
    :func:`_after_durable`.

    Returns:
        The renames done, a prefix of ``moves`` (one refused stops the rotation).

    Raises:
        CommitFailed: the directory fsync failed; NAME, the backups and
            the spare are back as they were.
    """
    done: list[tuple[str, str]] = []
    try:
        rename_all(fs, moves, done)
        fs.fsync_dir(paths.directory)
    except OSError as e:
        _undo(paths, fs, previous, done)
        raise CommitFailed(paths.target, "syncing the directory", e) from e
    except BaseException:  # KeyboardInterrupt ...: as if the fsync had failed
        _undo(paths, fs, previous, done)
        raise
    return done


def _after_durable(
    paths: StatePaths, fs: FileSystem, previous: str | None, moves: list[tuple[str, str]],
    done: list[tuple[str, str]], backups: int,
) -> None:
    """Phase 5: the commit is durable; finish the rotation, best effort.

    What did not get renamed before is tried again (failures from here on leave a
    ``.NAME.prev-*.tmp`` that ``stateview recover`` moves into place; they do not fail the
    commit), except into the spare: that rename would not be durable before the next commit
    writes into it. The oldest version is then freed, as without a spare.
    """
    rename_all(fs, [move for move in moves[len(done):] if move[1] != paths.spare], done)
    if previous is not None and backups == 0 and (previous, paths.spare) not in done:
        _remove(fs, previous)  # no backups: it goes, unless it became the spare


def _narrow_siblings(paths: StatePaths, fs: FileSystem, backups: int, mode: int) -> None:
    """Bring the files beside the state file down to its mode.

    They hold its data (the backups and the spare are older versions of it; the lock file
    decides who may write it): after ``chmod 600`` on the state file, none of them may stay
    readable to others. Best effort: a commit that is durable is not failed for this.
    """
    siblings = [paths.backup(g) for g in range(1, backups + 1)] + [paths.spare, paths.lock]
    me = os.geteuid()
    for path in siblings:
        try:
            st = fs.lstat(path)
            wider = stat.S_IMODE(st.st_mode) & ~mode
            if stat.S_ISREG(st.st_mode) and wider and me in (0, st.st_uid):
                fs.chmod(path, stat.S_IMODE(st.st_mode) & mode)
        except OSError:
            continue


def _write_spare(
    paths: StatePaths, data: bytes, fs: FileSystem, current: os.stat_result | None
) -> os.stat_result | None:
    """Write the new version into the spare; ``None`` when there is no spare to use.

    A spare that someone still has open, or that cannot be written, is removed (its readers
    keep their copy) and the commit falls back to a new temp file.
    """
    try:
        fd = fs.open_spare(paths.spare,
                           stat.S_IMODE(current.st_mode) if current is not None else None)
    except FileNotFoundError:
        return None
    except OSError:
        _remove(fs, paths.spare)
        return None
    try:
        try:
            if current is not None:
                _copy_owner(fs, fd, fs.fstat(fd), current)
            fs.rewrite(fd, data)
            fs.datasync(fd)
            written = fs.fstat(fd)
        finally:
            fs.close(fd)
    except OSError:
        _remove(fs, paths.spare)  # torn: garbage either way; a new temp file takes over
        return None
    return written


def _copy_owner(fs: FileSystem, fd: int, mine: os.stat_result, current: os.stat_result) -> None:
    mode = stat.S_IMODE(current.st_mode)
    if stat.S_IMODE(mine.st_mode) != mode:
        fs.fchmod(fd, mode)
    if os.geteuid() == 0 and (mine.st_uid, mine.st_gid) != (current.st_uid, current.st_gid):
        fs.fchown(fd, current.st_uid, current.st_gid)
    elif keeps_group(mine.st_gid, current.st_gid):
        fs.fchown(fd, -1, current.st_gid)


def _write_temp(
    paths: StatePaths, data: bytes, fs: FileSystem, current: os.stat_result | None
) -> tuple[str, os.stat_result]:
    temp = paths.new_temp()
    step = "creating the temp file"
    mode = stat.S_IMODE(current.st_mode) if current is not None else 0o666
    try:
        fd = fs.open_new(temp, mode)
    except OSError as e:
        raise CommitFailed(paths.target, step, e) from e
    try:
        try:
            if current is not None:
                step = "copying the file's mode"
                fs.fchmod(fd, mode)  # open() applied the umask; the file's own mode wins
                if os.geteuid() == 0 and (current.st_uid, current.st_gid) != (0, 0):
                    step = "copying the file's owner"
                    fs.fchown(fd, current.st_uid, current.st_gid)
                elif keeps_group(os.getegid(), current.st_gid):
                    step = "copying the file's group"
                    fs.fchown(fd, -1, current.st_gid)
            step = "writing the temp file"
            fs.write_all(fd, data)
            step = "syncing the temp file"
            fs.fsync(fd)
            written = fs.fstat(fd)
        finally:
            closing_step, step = step, "closing the temp file"
            fs.close(fd)
            step = closing_step
    except OSError as e:
        _remove(fs, temp)
        raise CommitFailed(paths.target, step, e) from e
    except BaseException:  # KeyboardInterrupt ...: no temp file left behind either
        _remove(fs, temp)
        raise
    return temp, written


def _undo(
    paths: StatePaths, fs: FileSystem, previous: str | None, moves: list[tuple[str, str]]
) -> None:
    """Put every name back after a failure that followed the rename: the state file first.

    Best effort: this runs because the disk is failing, and the original error is what the
    caller reports either way. It stops at the first rename refused, so that a later one
    never lands on a name that still holds a version.
    """
    where = previous  # the previous version may have moved on to NAME.bak or the spare
    for src, dst in moves:
        if src == where:
            where = dst
    try:
        if where is None:
            fs.unlink(paths.target)  # the first commit: there was no file before
        else:
            fs.replace(where, paths.target)
        for src, dst in reversed(moves):
            if src != previous:  # the previous version is back as NAME already
                fs.replace(dst, src)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        fs.fsync_dir(paths.directory)


def _discard(fs: FileSystem, temp: str, previous: str | None) -> None:
    """Remove a commit's own files after a failure before NAME changed."""
    _remove(fs, temp)
    if previous is not None:
        _remove(fs, previous)


def _remove(fs: FileSystem, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        try:
            fs.unlink(path)
        except OSError:
            # The disk refuses even the cleanup; recovery removes the orphan later.
            pass
