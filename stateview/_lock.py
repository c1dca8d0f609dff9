"""The writer lock: ``flock`` on the permanent ``NAME.lock``.

The lock file is never unlinked. Unlinking a flock'd file lets a waiter lock the old inode
while a newcomer creates and locks a new one: two writers at once. Instead the file stays and
its content, one JSON object, tells humans and tools who holds it or held it last, and which
commit was the last one (the UI's status bar and the engine's freshness check read it).

The lock file gets the state file's owner and a mode open only to its writers (a lock file
anyone may open is a lock anyone may hold for ever); when that narrows it, the holder renames a
new, locked lock file over it (:func:`~stateview._lock_file.renew`), since a descriptor opened
before keeps locking the old inode; waiters on that one find it replaced, as above. Every
system call on it goes through the FileSystem seam.
Taking the lock is all or nothing: any failure once ``flock`` succeeded lets it go again.

Within a process one :class:`ProcessLock` exists per lock file, shared by every StateFile on
it. It is reentrant for its *owner* (a StateFile), and other owners in the process wait on a
condition variable rather than on a second ``flock`` (two descriptors of one process would
deadlock each other).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import threading
import time
from typing import Any

from . import _fs
from ._errors import LockTimeout, StateError
from ._holder import program
from ._lock_file import close, match_state_file, open_lock_file, renew, same_file
from ._lock_record import (
    HOST,
    LockState,
    busy_holder,
    decode,
    encode,
    now,
    pid_alive,
    probe,
    read_info,
)

__all__ = ["LockLost", "LockState", "ProcessLock", "pid_alive", "probe", "process_lock",
           "read_info"]

_STREAK = 0.25  # longest run of back-to-back acquisitions before pausing for others
_STREAK_PAUSE = 0.008  # longer than a waiter's longest poll interval (5 ms)

log = logging.getLogger("stateview")


class LockLost(OSError):
    """The lock's descriptor was closed by the program (found not :meth:`ProcessLock.intact`):
    the flock went with it, and another writer may have committed since."""


class ProcessLock:
    """This process's handle on one lock file, shared by every owner in the process.

    Every system call on the lock file goes through the owner's
    :class:`~stateview._fs.FileSystem` seam, so that the fault and crash suites reach it.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.target = path[: -len(".lock")] if path.endswith(".lock") else path
        self.owner: object | None = None
        self.exclusive = False
        self.info: dict[str, Any] = {}
        self._fs = _fs.get_default()
        self._fd: int | None = None
        self._ident: tuple[int, int] | None = None  # (dev, ino) the descriptor must show
        self._depth = 0
        self._token: str | None = None
        self._size = -1
        self._released_at = 0.0
        self._streak_start = 0.0
        self._cond = threading.Condition(threading.Lock())

    def held_by(self, owner: object) -> bool:
        return self.owner is owner

    def acquire(self, owner: object, timeout: float, *, exclusive: bool = False,
                fs: _fs.FileSystem | None = None) -> None:
        """Take the lock for ``owner``, waiting at most ``timeout`` seconds.

        On any failure once ``flock`` succeeded the lock is let go again: a lock kept by an
        owner that never got it would block this process and every other for good.

        Raises:
            LockTimeout: naming the holder, when the wait runs out.
            StateError: the holder is another owner waiting for this very thread.
            OSError: when the lock file cannot be opened, created or locked.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            if self.owner is owner:
                self._depth += 1
                return
        self._pause_if_streaking()
        with self._cond:
            while self.owner is not None:
                self._refuse_self_deadlock()
                left = deadline - time.monotonic()
                if left <= 0:
                    holder = dict(self.info) or {"pid": os.getpid(), "program": program()}
                    holder["this_process"] = True
                    raise LockTimeout(self.path, holder, timeout)
                self._cond.wait(left)
            self.owner = owner  # claim it while we flock, so other threads keep waiting
            self._fs = fs or _fs.get_default()
        try:
            self._flock(deadline, timeout)
        except BaseException:
            self._abandon(locked=False)
            raise
        try:
            self._claim(exclusive)
        except BaseException:
            self._abandon(locked=True)
            raise

    def _refuse_self_deadlock(self) -> None:
        """Fail at once when the holder waits for the calling thread (its open transaction
        on another handle of the same file): waiting could only time out."""
        holds_for = getattr(self.owner, "_holds_lock_for", None)
        if holds_for is not None and holds_for(threading.get_ident()):
            raise StateError(
                f"{self.target}: this thread is inside a transaction of another StateFile of "
                "the same file, which holds its lock until the block ends; write through that "
                "StateFile (open a file once per process and share it), or end the block first")

    def _claim(self, exclusive: bool) -> None:
        """After flock: match the lock file to the state file, and write the record."""
        self._depth = 1
        self.exclusive = exclusive
        assert self._fd is not None
        narrowed = match_state_file(self._fs, self._fd, self.path, self.target)
        previous = self._read()
        if narrowed:
            self._renew()
        self.info = {
            "pid": os.getpid(),
            "host": HOST,
            "program": program(),
            "since": now(),
            "exclusive": exclusive,
            "held": True,
        }
        last = previous.get("last_commit")
        self._token = None
        if isinstance(last, dict):
            self.info["last_commit"] = last
            token = last.get("token")
            self._token = token if isinstance(token, str) else None
        try:
            self._write()
        except OSError as e:
            # The record is for humans and freshness checks; a torn one reads as "no token",
            # which costs other writers one needless reload, not an update.
            self._size = -1
            log.warning("%s: could not write the lock record: %s", self.path, e)

    def match(self) -> None:
        """After the commit that created the state file (call holding the lock): open the
        lock file, made 0600 before there was a state file to match, to its writers now,
        rather than at the next acquisition (a group the file is shared with could not take
        the lock until its creator took it again)."""
        if self._fd is None:
            return
        try:
            match_state_file(self._fs, self._fd, self.path, self.target)
        except OSError as e:
            log.warning("%s: could not match the state file's mode and owner: %s", self.path, e)

    def _renew(self) -> None:
        """Lock a new lock file in place of the narrowed one (see :func:`renew`); then let
        the old one go: its waiters find it replaced, and open the new one."""
        assert self._fd is not None
        renewed = renew(self._fs, self._fd, self.path)
        if renewed is not None:
            old, (self._fd, self._ident), self._size = self._fd, renewed, -1
            close(self._fs, old)

    def _abandon(self, *, locked: bool) -> None:
        """Undo a failed acquire: no owner, and no flock left behind."""
        if locked and self._fd is not None:
            # Closing our only descriptor of the open file releases the flock for certain,
            # even where LOCK_UN itself is what failed.
            self._abandon_descriptor()
        with self._cond:
            self.owner = None
            self._depth = 0
            self._cond.notify_all()

    def _pause_if_streaking(self) -> None:
        """Give other processes a turn when this one re-takes the lock back to back.

        flock is not fair: a process committing in a tight loop re-takes the lock within
        microseconds of releasing it, and a waiter that polls never gets in. After
        ``_STREAK`` seconds of that, pause long enough for a waiter's poll to succeed.
        """
        now = time.monotonic()
        if now - self._released_at > 0.002:
            self._streak_start = now
        elif now - self._streak_start > _STREAK:
            time.sleep(_STREAK_PAUSE)
            self._streak_start = time.monotonic()

    def release(self, owner: object) -> None:
        with self._cond:
            if self.owner is not owner:
                raise RuntimeError("release of a lock this owner does not hold")
            self._depth -= 1
            if self._depth:
                return
            try:
                if self.intact():
                    self.info["held"] = False
                    with contextlib.suppress(OSError):  # the record is for humans
                        self._write()
                    assert self._fd is not None
                    try:
                        self._fs.flock(self._fd, fcntl.LOCK_UN)
                    except OSError:
                        self._abandon_descriptor()  # closing it unlocks for certain
            finally:  # even if the descriptor is gone, no owner here holds it any more
                self._released_at = time.monotonic()
                self.owner = None
                self._cond.notify_all()

    def intact(self) -> bool:
        """Whether the lock's descriptor is still the lock file this process opened.

        A program that closes every descriptor (daemonizing, ``os.closerange``) lets the
        number be reused by another file: writing the record there would damage that file,
        and the flock was lost with the close. Then the descriptor is forgotten (never
        closed: it is not ours any more) and the next acquire opens the lock file again.
        """
        if self._fd is None:
            return False
        try:
            st = self._fs.fstat(self._fd)
        except OSError as e:
            if e.errno != errno.EBADF:
                return True  # a failing disk, not a closed descriptor: still ours
            st = None
        if st is not None and (st.st_dev, st.st_ino) == self._ident:
            return True
        log.warning("%s: the lock's descriptor was closed by the program; the lock is "
                        "taken again before the next commit", self.path)
        self._fd, self._ident, self._size = None, None, -1
        return False

    def forget(self, owner: object) -> None:
        """Drop ``owner``'s hold without touching the descriptor (found not :meth:`intact`)."""
        with self._cond:
            if self.owner is owner:
                self.owner, self._depth = None, 0
                self._cond.notify_all()

    def _abandon_descriptor(self) -> None:
        """Close the descriptor, dropping its flock; the next acquire opens the file again."""
        fd, self._fd, self._ident = self._fd, None, None
        if fd is not None:
            close(self._fs, fd)

    def last_commit_token(self) -> str | None:
        """The token of the last commit, as read when the lock was taken (or since set)."""
        return self._token

    def record_commit(self, token: str) -> None:
        """Note a commit (call while holding the lock).

        Other writers read the token only after taking the lock, so it must be in the file
        before the lock can be released, even by the kernel when this process is killed:
        it is written at every commit (one ``pwrite``, no fsync: the lock is not durable
        state, and a power cut ends every holder anyway).
        """
        self._token = token
        self.info["last_commit"] = {
            "token": token,
            "time": now(),
            "pid": os.getpid(),
            "program": self.info.get("program", program()),
        }
        if not self.intact():
            raise LockLost(errno.EBADF, "the lock's descriptor was closed by the program, so "
                           "the lock was lost; nothing was written", self.path)
        self._write()

    # -- internals ---------------------------------------------------------------------------

    def _flock(self, deadline: float, timeout: float) -> None:
        delay = 0.0005
        while True:
            if self._fd is not None:
                self.intact()  # a descriptor the program closed is forgotten, and reopened
            if self._fd is None:
                self._fd, self._ident = open_lock_file(self._fs, self.path, self.target)
                self._size = -1
            try:
                self._fs.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            else:
                try:
                    same = same_file(self._fs, self.path, self._ident)
                except BaseException:
                    self._abandon_descriptor()  # locked: closing it lets the lock go
                    raise
                if same:
                    return
                # The lock file was removed or replaced behind our back (someone deleted the
                # directory's contents): our inode is no longer the one others will lock.
                self._abandon_descriptor()
                continue
            if time.monotonic() >= deadline:
                raise LockTimeout(self.path, busy_holder(self.path, self._fs, self._fd),
                                  timeout)
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 0.005)  # short: flock is not fair, a long nap loses the race

    def _read(self) -> dict[str, Any]:
        assert self._fd is not None
        try:
            return decode(self._fs.pread(self._fd, 65536, 0))
        except OSError:
            return {}  # read as no token: costs one needless reload

    def _write(self) -> None:
        assert self._fd is not None
        data = encode(self.info)  # padded: this runs twice per commit, truncates rarely
        self._fs.pwrite(self._fd, data, 0)
        if len(data) != self._size:
            self._fs.ftruncate(self._fd, len(data))
            self._size = len(data)


_registry: dict[str, ProcessLock] = {}
_registry_lock = threading.Lock()


def held_here(lock_path: str) -> bool:
    """Whether an owner in this process holds the lock (the record cannot tell: it names
    the process, and a pid that is alive says nothing about its own bookkeeping)."""
    shared = _registry.get(os.path.abspath(lock_path))
    return shared is not None and shared.owner is not None


def process_lock(lock_path: str) -> ProcessLock:
    """The one :class:`ProcessLock` of this process for ``lock_path``."""
    key = os.path.abspath(lock_path)
    with _registry_lock:
        lock = _registry.get(key)
        if lock is None:
            lock = _registry[key] = ProcessLock(key)
        return lock


def _forget_after_fork() -> None:
    # A forked child shares its parent's open file descriptions, so it must not believe it
    # holds the parent's locks; it starts with fresh handles of its own.
    # Its copies of their descriptors are closed too: they would keep a lock the parent
    # holds alive after the parent died (closing a copy does not unlock the parent's).
    global _registry_lock
    for lock in _registry.values():
        lock._abandon_descriptor()
    _registry.clear()
    _registry_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
