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
import fcntl
import logging
import os
import pwd
import secrets
import stat

from ._fs import FileSystem, keeps_group

__all__ = ["close", "lock_file_refusal", "lock_mode", "match_state_file", "open_lock_file",
           "refuse_foreign", "renew", "same_file"]

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
    try:
        fd = fs.open_lock(path, lock_mode(stat.S_IMODE(state.st_mode), False) if state else 0o600)
    except OSError as e:
        # A symlink (never followed) or a directory fails the open itself: say what it is
        # rather than the kernel's "too many levels of symbolic links".
        refusal = lock_file_refusal(fs, path, target)
        if refusal is not None:
            raise refusal from e
        raise
    try:
        st = fs.fstat(fd)
        refuse_foreign(path, st, state)
    except BaseException:
        close(fs, fd)
        raise
    return fd, (st.st_dev, st.st_ino)


def match_state_file(fs: FileSystem, fd: int, path: str, target: str) -> bool:
    """Give the lock file the state file's owner and :func:`lock_mode`.

    With a lock file more open than that, a local user who may not write the state file
    could open it and hold flock forever, keeping every writer out. Changing them is best
    effort (a warning): only the lock file's owner and root may.

    Returns:
        Whether the lock file was narrowed: someone it no longer admits may have opened it
        before, and a descriptor keeps working whatever the mode says now (see
        :func:`renew`).

    Raises:
        OSError: the state file or the lock file cannot be looked at (a missing state file,
            before its first commit, has nothing to match).
    """
    try:
        want = fs.stat(target)
    except FileNotFoundError:
        return False
    mine = fs.fstat(fd)
    before = stat.S_IMODE(mine.st_mode)
    narrowed = False
    gid = mine.st_gid
    try:
        if os.geteuid() == 0 and (mine.st_uid, mine.st_gid) != (want.st_uid, want.st_gid):
            fs.fchown(fd, want.st_uid, want.st_gid)
            gid = want.st_gid
        elif os.geteuid() == mine.st_uid and keeps_group(gid, want.st_gid):
            fs.fchown(fd, -1, want.st_gid)
            gid = want.st_gid
        if gid != mine.st_gid and before & stat.S_IRWXG:
            narrowed = True  # the lock file's old group could open it
        mode = lock_mode(stat.S_IMODE(want.st_mode), gid == want.st_gid)
        if before & ~mode and os.geteuid() not in (0, mine.st_uid):
            _warn_once(path, f"{path}: it lets users who may not write the state file open "
                       f"it (mode {before:o}), and they could hold the lock forever; only its "
                       f"owner (uid {mine.st_uid}) or root can narrow it: chmod {mode:o} {path}")
        elif before != mode and os.geteuid() in (0, mine.st_uid):
            fs.fchmod(fd, mode)
            narrowed = narrowed or bool(before & 0o066 & ~mode)
    except OSError as e:
        log.warning("%s: could not match the state file's mode and owner: %s", path, e)
    return narrowed


def renew(fs: FileSystem, fd: int, path: str) -> tuple[int, Ident] | None:
    """Put a new lock file, locked through the descriptor returned, in place of the one
    locked through ``fd`` (call holding its flock, after :func:`match_state_file` narrowed it).

    ``flock`` checks nothing but the descriptor: one opened while the lock file was open to
    all keeps locking it after its mode is narrowed, for ever. Its inode goes: the new file,
    with the narrowed mode and owner, is made under a hidden random name
    (``.NAME.lock.<random>.new``), locked, and renamed over ``NAME.lock``. Whoever then locks
    the old inode finds ``NAME.lock`` is no longer it and opens the new one (as after any
    replacement, see :mod:`stateview._lock`); nobody can lock the new one before the caller
    lets it go. Best effort: on failure (a warning) the old file stays, as narrowed.

    Returns:
        The new descriptor and its identity, or ``None`` when the old file stays.
    """
    directory, name = os.path.split(path)
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.new")
    new: int | None = None
    try:
        old = fs.fstat(fd)
        new = fs.open_lock(temp, 0o600)
        st = fs.fstat(new)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_uid != os.geteuid():
            taken: int = new
            new = None  # another's file: closed, never unlinked
            close(fs, taken)
            raise OSError(errno.EEXIST, "another file took its name", temp)
        fs.flock(new, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if (st.st_uid, st.st_gid) != (old.st_uid, old.st_gid):
            fs.fchown(new, old.st_uid if os.geteuid() == 0 else -1, old.st_gid)
        fs.fchmod(new, stat.S_IMODE(old.st_mode))
        fs.replace(temp, path)
        return new, (st.st_dev, st.st_ino)
    except OSError as e:
        if new is not None:
            close(fs, new)
            with contextlib.suppress(OSError):
                fs.unlink(temp)
        log.warning("%s: could not replace the lock file, which someone may have opened "
                    "before its mode was narrowed: %s", path, e)
        return None


_warned: set[str] = set()


def _warn_once(path: str, message: str) -> None:
    """Log ``message`` once per lock file and process (every lock acquisition looks)."""
    if path not in _warned:
        _warned.add(path)
        log.warning("%s", message)


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


def lock_file_refusal(fs: FileSystem, path: str, target: str) -> OSError | None:
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
        state: os.stat_result | None = fs.stat(target)
    except OSError:
        state = None
    try:
        refuse_foreign(path, st, state)
    except OSError as e:
        return e
    return None


def refuse_foreign(path: str, st: os.stat_result, state: os.stat_result | None) -> None:
    """Refuse a lock file that is not a file of its own, or not one a writer made (``st`` is
    its ``fstat``, or the ``lstat`` of its name; ``state`` the state file's, if it exists).

    Its record is written over whatever it is, and it is given the state file's owner: a
    symlink, a FIFO or a hard link to another file that someone planted at ``NAME.lock`` in
    a shared directory (where hard links to others' files are allowed, as on macOS) would
    have that file overwritten, or taken over. A lock file that belongs to a user who may
    not write the state file (before it exists, anyone but this user and root) was planted:
    its owner could hold it forever, and only its owner or root can change that.

    Raises:
        OSError: naming what is wrong and what to do.
    """
    if stat.S_ISLNK(st.st_mode):
        what = "a symbolic link (never followed to a lock file)"
    elif not stat.S_ISREG(st.st_mode):
        what = "not a regular file" + _KINDS.get(stat.S_IFMT(st.st_mode), "")
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
