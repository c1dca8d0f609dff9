"""The atomic, durable replace of a state file (DESIGN.md, "Commit protocol", steps 4-6).

The caller holds the lock. :func:`replace_file` either makes ``data`` the file's durable content
or raises :class:`CommitFailed` with the file showing what it showed before and no temp file
left. Every file-system call goes through the :class:`~stateview._fs.FileSystem` seam.

    create temp (O_EXCL|O_NOFOLLOW)  ->  mode/owner  ->  write all  ->  fsync  ->  close
    ->  rotate backups, hard-link the current file as NAME.bak (or as a private undo link)
    ->  os.replace(temp, NAME)  ->  fsync(DIR)  ->  acknowledged
"""

from __future__ import annotations

import contextlib
import os
import stat

from ._errors import CommitFailed
from ._fs import FileSystem
from ._paths import StatePaths

__all__ = ["replace_file"]


def replace_file(
    paths: StatePaths, data: bytes, fs: FileSystem, backups: int = 1
) -> os.stat_result:
    """Make ``data`` the durable content of ``paths.target``.

    Args:
        paths: the state file's names (the data goes to the symlink's target).
        data: the whole new file.
        fs: the file-system seam.
        backups: how many previous versions to keep as ``NAME.bak`` ... ``NAME.bak.N``.

    Returns:
        The new file's status (as ``fstat`` saw it before the rename, which keeps the inode).

    Raises:
        CommitFailed: a step failed; the file is as it was, the temp file is gone, and the
            original OSError is the ``__cause__``.
    """
    target = paths.target
    step = "reading the current file's mode"
    try:
        current: os.stat_result | None = fs.stat(target)
    except FileNotFoundError:
        current = None
    except OSError as e:
        raise CommitFailed(target, step, e) from e
    if current is not None and not stat.S_ISREG(current.st_mode):
        error = IsADirectoryError if stat.S_ISDIR(current.st_mode) else OSError
        raise CommitFailed(target, "checking the current file",
                           error(21, "not a regular file", target))

    temp, written = _write_temp(paths, data, fs, current)
    # The undo link keeps the previous version reachable, so that a failure after the rename
    # (a directory fsync that fails) can put it back rather than leave an unacknowledged
    # version in place. With backups, NAME.bak is that link.
    undo: str | None = None
    step = "keeping the previous version"
    try:
        if current is not None:
            if backups > 0:
                _rotate_backups(paths, fs, backups)
                undo = paths.backup(1)
            else:
                undo = paths.new_temp()
            fs.link(target, undo)
        step = "renaming the temp file over the state file"
        fs.replace(temp, target)
    except OSError as e:
        _remove(fs, temp)
        if undo is not None and backups == 0:
            _remove(fs, undo)
        raise CommitFailed(target, step, e) from e

    try:
        fs.fsync_dir(paths.directory)
    except OSError as e:
        _undo_rename(paths, fs, undo)
        raise CommitFailed(target, "syncing the directory", e) from e
    if undo is not None and backups == 0:
        # A failed unlink leaves an orphan that recovery removes; the commit itself is durable.
        _remove(fs, undo)
    return written


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
            step = "writing the temp file"
            fs.write_all(fd, data)
            step = "syncing the temp file"
            fs.fsync(fd)
            written = os.fstat(fd)
        finally:
            closing_step, step = step, "closing the temp file"
            fs.close(fd)
            step = closing_step
    except OSError as e:
        _remove(fs, temp)
        raise CommitFailed(paths.target, step, e) from e
    return temp, written


def _rotate_backups(paths: StatePaths, fs: FileSystem, backups: int) -> None:
    for generation in range(backups, 1, -1):
        older = paths.backup(generation - 1)
        if os.path.lexists(older):
            fs.replace(older, paths.backup(generation))
    newest = paths.backup(1)
    if os.path.lexists(newest):
        fs.unlink(newest)


def _undo_rename(paths: StatePaths, fs: FileSystem, undo: str | None) -> None:
    """Put the previous version back after a failure that followed the rename.

    Best effort: this runs because the disk is failing; the original error is what the caller
    reports either way.
    """
    with contextlib.suppress(OSError):
        if undo is None:
            fs.unlink(paths.target)  # the first commit: there was no file before
            return
        restore = paths.new_temp()
        fs.link(undo, restore)
        fs.replace(restore, paths.target)
        if undo != paths.backup(1):
            fs.unlink(undo)
        fs.fsync_dir(paths.directory)


def _remove(fs: FileSystem, path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        try:
            fs.unlink(path)
        except OSError:
            # The disk refuses even the cleanup; recovery removes the orphan later.
            pass
