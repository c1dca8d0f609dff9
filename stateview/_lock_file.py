"""The lock file itself: opening it, matching it to the state file, and closing it.

Every call goes through the :class:`~stateview._fs.FileSystem` seam. The lock file is never
unlinked (see :mod:`stateview._lock`); it must be a regular file of its own. A lock file anyone
may open is a lock anyone may hold (``flock`` needs only a descriptor, even a read-only one), so
it is open to exactly those who may write the state file (:func:`lock_mode`), it takes the
state file's owner, and one that belongs to a user who may not write the state file is refused.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import pwd
import stat

from ._fs import FileSystem, in_group

__all__ = ["close", "lock_mode", "match_state_file", "open_lock_file", "refuse_foreign",
           "same_file"]

log = logging.getLogger("stateview")

#: A lock file's identity: the (st_dev, st_ino) its descriptor must keep showing.
Ident = tuple[int, int]


def lock_mode(state_mode: int, same_group: bool = True) -> int:
    """The lock file's mode for a state file's: read and write for its owner, and for the
    group (``same_group``: the lock file's group is the state file's) and the others only if
    they may write the state file.

    A reader of a 0644 state file has no business with its lock, and could otherwise open it
    read-only and ``flock`` it forever, keeping every writer out; so has a group other than
    the state file's.
    """
    mode = stat.S_IRUSR | stat.S_IWUSR
    if state_mode & stat.S_IWGRP and same_group:
        mode |= stat.S_IRGRP | stat.S_IWGRP
    if state_mode & stat.S_IWOTH:
        mode |= stat.S_IROTH | stat.S_IWOTH
    return mode


def open_lock_file(fs: FileSystem, path: str, target: str) -> tuple[int, Ident]:
    """Open (creating it, 0600 before the state file exists) the lock file.

    Raises:
        OSError: the state file cannot be looked at, or the lock file cannot be opened, is
            not a file of its own, or belongs to a user who may not write the state file.
    """
    try:
        state: os.stat_result | None = fs.stat(target)
    except FileNotFoundError:
        state = None
    # Created with this process's group (or the directory's, if setgid): the group's bits
    # wait for match_state_file, which gives it the state file's group first.
    fd = fs.open_lock(path, lock_mode(stat.S_IMODE(state.st_mode), False) if state else 0o600)
    try:
        st = fs.fstat(fd)
        refuse_foreign(path, st, state)
    except BaseException:
        close(fs, fd)
        raise
    return fd, (st.st_dev, st.st_ino)


def match_state_file(fs: FileSystem, fd: int, path: str, target: str) -> None:
    """Give the lock file the state file's owner and :func:`lock_mode`.

    With a lock file more open than that, a local user who may not write the state file
    could open it and hold flock forever, keeping every writer out. Changing them is best
    effort (a warning): only the lock file's owner and root may.

    Raises:
        OSError: the state file or the lock file cannot be looked at (a missing state file,
            before its first commit, has nothing to match).
    """
    try:
        want = fs.stat(target)
    except FileNotFoundError:
        return
    mine = fs.fstat(fd)
    gid = mine.st_gid
    try:
        if os.geteuid() == 0 and (mine.st_uid, mine.st_gid) != (want.st_uid, want.st_gid):
            fs.fchown(fd, want.st_uid, want.st_gid)
            gid = want.st_gid
        elif os.geteuid() == mine.st_uid and gid != want.st_gid and in_group(want.st_gid):
            fs.fchown(fd, -1, want.st_gid)  # an owner may give its file a group it is in
            gid = want.st_gid
        mode = lock_mode(stat.S_IMODE(want.st_mode), gid == want.st_gid)
        if stat.S_IMODE(mine.st_mode) != mode and os.geteuid() in (0, mine.st_uid):
            fs.fchmod(fd, mode)
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


def refuse_foreign(path: str, st: os.stat_result, state: os.stat_result | None) -> None:
    """Refuse a lock file that is not a file of its own, or not one a writer made.

    Its record is written over whatever it is, and it is given the state file's owner: a
    FIFO or a hard link to another file that someone planted at ``NAME.lock`` in a shared
    directory (where hard links to others' files are allowed, as on macOS) would have that
    file overwritten, or taken over. A lock file that belongs to a user who may not write
    the state file (``state``; before it exists, anyone but this user and root) was planted:
    its owner could hold it forever, and only its owner or root can change that.

    Raises:
        OSError: naming what is wrong and what to do.
    """
    if not stat.S_ISREG(st.st_mode):
        what = "not a regular file"
    elif st.st_nlink != 1:
        what = f"a file with {st.st_nlink} names (hard links)"
    elif not _may_write(st.st_uid, state):
        raise PermissionError(
            errno.EPERM, f"it belongs to {_user(st.st_uid)}, who may not write the state "
            "file, and could hold the lock forever; nothing but stateview uses it: remove it "
            "(in a shared sticky directory only its owner or root can), then try again", path)
    else:
        return
    raise OSError(errno.EINVAL, f"it is {what}, so it cannot hold the lock record; "
                  "nothing but stateview uses it: remove it, then try again", path)


def _may_write(uid: int, state: os.stat_result | None) -> bool:
    """Whether user ``uid`` may write a state file with status ``state`` (the owner may
    chmod it; ``None``: the file does not exist yet, and only this user and root count)."""
    if uid in (0, os.geteuid()):
        return True
    if state is None:
        return False
    if uid == state.st_uid or state.st_mode & stat.S_IWOTH:
        return True
    return bool(state.st_mode & stat.S_IWGRP) and state.st_gid in _groups(uid)


def _groups(uid: int) -> list[int]:
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:  # no name: no supplementary groups to look up
        return []
    return os.getgrouplist(entry.pw_name, entry.pw_gid)


def _user(uid: int) -> str:
    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"
