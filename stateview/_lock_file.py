"""The lock file itself: opening it, matching it to the state file, and closing it.

Every call goes through the :class:`~stateview._fs.FileSystem` seam. The lock file is never
unlinked (see :mod:`stateview._lock`); it must be a regular file of its own, and it takes the
state file's mode and owner, because a lock file anyone may open is a lock anyone may hold.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat

from ._fs import FileSystem

__all__ = ["close", "lock_file_refusal", "match_state_file", "open_lock_file", "same_file"]

log = logging.getLogger("stateview")

#: A lock file's identity: the (st_dev, st_ino) its descriptor must keep showing.
Ident = tuple[int, int]


def open_lock_file(fs: FileSystem, path: str, target: str) -> tuple[int, Ident]:
    """Open (creating with the state file's mode, 0644 before it exists) the lock file.

    Raises:
        OSError: the state file cannot be looked at, or the lock file cannot be opened or
            is not a file of its own (then saying what it is, and what to do).
    """
    try:
        mode = stat.S_IMODE(fs.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o644
    try:
        fd = fs.open_lock(path, mode)
    except OSError as e:
        # A symlink (never followed) or a directory fails the open itself: say what it is
        # rather than the kernel's "too many levels of symbolic links".
        refusal = lock_file_refusal(fs, path)
        if refusal is not None:
            raise refusal from e
        raise
    try:
        st = fs.fstat(fd)
        refuse_foreign(path, st)
    except BaseException:
        close(fs, fd)
        raise
    return fd, (st.st_dev, st.st_ino)


def match_state_file(fs: FileSystem, fd: int, path: str, target: str) -> None:
    """Give the lock file the state file's mode and owner.

    With a lock file more open than the state file, any local user could open it and hold
    flock forever, keeping every writer out (chmod 600 on the state file is meant to keep
    them away from it altogether). Changing them is best effort (a warning).

    Raises:
        OSError: the state file or the lock file cannot be looked at (a missing state file,
            before its first commit, has nothing to match).
    """
    try:
        want = fs.stat(target)
    except FileNotFoundError:
        return
    mine = fs.fstat(fd)
    try:
        if os.geteuid() == 0 and (mine.st_uid, mine.st_gid) != (want.st_uid, want.st_gid):
            fs.fchown(fd, want.st_uid, want.st_gid)
        if stat.S_IMODE(mine.st_mode) != stat.S_IMODE(want.st_mode) and \
                os.geteuid() in (0, mine.st_uid):
            fs.fchmod(fd, stat.S_IMODE(want.st_mode))
    except OSError as e:
        log.warning("%s: could not match the state file's mode and owner: %s", path, e)


def same_file(fs: FileSystem, path: str, ident: Ident | None) -> bool:
    """Whether ``path`` is still the file locked (someone may have removed or replaced it:
    then the inode locked is no longer the one others will lock)."""
    try:
        st = fs.lstat(path)
    except FileNotFoundError:
        return False
    return (st.st_dev, st.st_ino) == ident


def close(fs: FileSystem, fd: int) -> None:
    """Close a lock descriptor through the seam, dropping its flock; an error still closed it
    (see :meth:`~stateview._fs.FileSystem.close_lock`), so there is nothing more to do."""
    with contextlib.suppress(OSError):
        fs.close_lock(fd)


_KINDS = {stat.S_IFDIR: " but a directory", stat.S_IFIFO: " but a FIFO",
          stat.S_IFSOCK: " but a socket", stat.S_IFCHR: " but a device",
          stat.S_IFBLK: " but a device"}


def lock_file_refusal(fs: FileSystem, path: str) -> OSError | None:
    """Why :func:`open_lock_file` refuses what is at ``path``, found without opening it
    (``stateview check`` asks, and the engine explains a failed open with it).

    Returns:
        The error the engine raises, or ``None``: nothing there yet (the first lock creates
        it), a file the engine takes, or a name that cannot be looked at (which every use of
        the state file beside it then reports).
    """
    try:
        st = fs.lstat(path)
    except OSError:
        return None
    try:
        refuse_foreign(path, st)
    except OSError as e:
        return e
    return None


def refuse_foreign(path: str, st: os.stat_result) -> None:
    """Refuse a lock file that is not a file of its own (``st`` is its ``fstat``, or the
    ``lstat`` of its name).

    Its record is written over whatever it is, and it is given the state file's owner: a
    symlink, a FIFO or a hard link to another file that someone planted at ``NAME.lock`` in
    a shared directory (where hard links to others' files are allowed, as on macOS) would
    have that file overwritten, or taken over.

    Raises:
        OSError: naming what is wrong and what to do.
    """
    if stat.S_ISLNK(st.st_mode):
        what = "a symbolic link (never followed to a lock file)"
    elif not stat.S_ISREG(st.st_mode):
        what = "not a regular file" + _KINDS.get(stat.S_IFMT(st.st_mode), "")
    elif st.st_nlink != 1:
        what = f"a file with {st.st_nlink} names (hard links)"
    else:
        return
    raise OSError(errno.EINVAL, f"it is {what}, so it cannot hold the lock record; "
                  "nothing but stateview uses it: remove it, then try again", path)
