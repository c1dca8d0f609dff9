"""The file-system seam: every call a commit or a recovery makes to the disk.

The engine never calls ``os`` directly for a step of the commit protocol; it calls a method of
a :class:`FileSystem`. Tests substitute a subclass that records each step, fails the Nth one
with an ``OSError``, or exits the process at step k, so that faults and power loss can be
simulated without mocking the world.

Each method is one system call (or one loop of them) and names the step in the protocol.
The lock file's calls (``open_lock``, ``flock``, ``pread``, ``pwrite``, ``ftruncate``,
``fstat``, ``close_lock``) go through the seam too, so that faults and crashes can be injected
while the lock is taken, and so do recovery's looks (``listdir``, ``flock_busy``) and the reads
that name a lock's holder (``read_bytes`` of the lock record and of ``/proc``). The few calls
left outside, and why, are listed in docs/design.md ("The file-system seam").
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys

__all__ = ["FileSystem", "get_default", "open_for_reading", "present", "set_default"]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class FileSystem:
    """The real file system. Subclass and override a method to inject a fault.

    Attributes:
        recycles: whether :meth:`open_spare` can tell that nobody has a file open (Linux write
            leases). Without it a commit always writes a new file and frees the oldest version.
    """

    recycles = sys.platform.startswith("linux")

    def open_new(self, path: str, mode: int) -> int:
        """Create ``path``, failing if anything (even a dangling symlink) is there already."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        return os.open(path, flags, mode)

    def open_spare(self, path: str, mode: int | None = None) -> int:
        """Open the spare (a retired version) to be overwritten by the next version.

        Refuses (``OSError``) unless it is a regular file with no other name that no process
        has open: a reader still reading an old version through a descriptor must never see
        it change. A write lease can only be taken on a file nobody else has open (mapped
        files included); it is held until the file is this process's user's and has
        ``mode`` (the state file's), so that nobody can open it in between: a spare another
        user planted in a shared directory, or one more readable than the state file, would
        otherwise hand them a descriptor to the next version.
        """
        if not self.recycles:
            raise OSError(errno.ENOTSUP, "recycling needs Linux write leases", path)
        if callable(signal.getsignal(signal.SIGURG)):
            # A lease broken by an opener is signalled with SIGURG (below): a handler the
            # host program installed for its own sockets would run for it. No recycling then.
            raise OSError(errno.ENOTSUP, "the program handles SIGURG itself", path)
        import fcntl

        # Linux's numbers, should this Python's fcntl not name them
        setsig = getattr(fcntl, "F_SETSIG", 10)
        setlease = getattr(fcntl, "F_SETLEASE", 1024)
        getlease = getattr(fcntl, "F_GETLEASE", 1025)
        fd = os.open(path, os.O_RDWR | _O_NOFOLLOW | _O_CLOEXEC)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                raise OSError(errno.EBUSY, "not a plain file with one name", path)
            if st.st_uid != os.geteuid():
                raise OSError(errno.EPERM, "the spare belongs to another user", path)
            # Someone opening the file while the lease is held breaks it, and the kernel
            # signals the holder: SIGIO by default, which would end the process. SIGURG is
            # ignored unless a program asks for it.
            fcntl.fcntl(fd, setsig, signal.SIGURG)
            fcntl.fcntl(fd, setlease, fcntl.F_WRLCK)  # EAGAIN: someone has it open
            try:
                if mode is not None and stat.S_IMODE(st.st_mode) != mode:
                    os.fchmod(fd, mode)
                if fcntl.fcntl(fd, getlease) != fcntl.F_WRLCK:  # being opened right now
                    raise OSError(errno.EBUSY, "someone is opening it", path)
            finally:
                fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def rewrite(self, fd: int, data: bytes) -> None:
        """Make ``data`` the whole content of an open file, in place."""
        view, offset = memoryview(data), 0
        while offset < len(view):
            offset += os.pwrite(fd, view[offset:], offset)
        if os.fstat(fd).st_size != len(data):
            os.ftruncate(fd, len(data))

    def datasync(self, fd: int) -> None:
        """Flush file data and the metadata needed to read it back (size, blocks).

        Cheaper than :meth:`fsync` for a file written in place: its timestamps can wait.
        """
        if sys.platform.startswith("linux"):
            os.fdatasync(fd)
        else:
            FileSystem.fsync(self, fd)  # one step of the seam, not two

    def fchmod(self, fd: int, mode: int) -> None:
        os.fchmod(fd, mode)

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        os.fchown(fd, uid, gid)

    def write_all(self, fd: int, data: bytes) -> None:
        """Write every byte, looping on short writes (large files, signals, pipes)."""
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def fsync(self, fd: int) -> None:
        """Flush file data to stable storage.

        macOS's fsync only reaches the drive's cache; F_FULLFSYNC asks the drive to flush it.
        """
        if sys.platform == "darwin":
            import fcntl

            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)  # type: ignore[attr-defined]
        else:
            os.fsync(fd)

    def close(self, fd: int) -> None:
        os.close(fd)

    def link(self, src: str, dst: str) -> None:
        os.link(src, dst, follow_symlinks=False)

    def replace(self, src: str, dst: str) -> None:
        os.replace(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def fsync_dir(self, path: str) -> None:
        """Make creations, renames and unlinks in ``path`` durable.

        Without this, a power cut after ``os.replace`` may bring back the old file even though
        the commit was acknowledged.
        """
        if sys.platform == "win32":  # pragma: no cover - no directory handles on Windows
            return
        fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
        try:
            self.fsync(fd)
        finally:
            os.close(fd)

    def read_bytes(self, path: str) -> bytes:
        """Read a whole file (used by loading and recovery); see :meth:`read_version`."""
        return FileSystem.read_version(self, path)[0]

    def read_version(self, path: str) -> tuple[bytes, os.stat_result]:
        """Read a whole file and the status of the very file read (the version a reload
        merges, and the identity the next freshness check compares).

        Opened without blocking and refused unless it is a regular file: a FIFO swapped in
        after the engine looked would block the read for ever, a device never ends.
        """
        with os.fdopen(open_for_reading(path), "rb") as f:
            return f.read(), os.fstat(f.fileno())

    def stat(self, path: str) -> os.stat_result:
        return os.stat(path)

    def lstat(self, path: str) -> os.stat_result:
        """The status of ``path`` itself (a symlink is not followed)."""
        return os.lstat(path)

    def lexists(self, path: str) -> bool:
        """Whether anything, even a dangling symlink, has the name ``path``."""
        try:
            self.lstat(path)
        except OSError:  # as os.path.lexists: a name that cannot be looked at is not there
            return False
        return True

    def listdir(self, path: str) -> list[str]:
        """The names in a directory (recovery lists the files beside the state file)."""
        return os.listdir(path)

    def chmod(self, path: str, mode: int) -> None:
        """Narrow a file beside the state file to the state file's mode.

        Through a descriptor of a regular file, never a symlink: in a shared directory the
        name may be swapped for a link after the caller looked (``os.chmod`` with
        ``follow_symlinks=False`` raises ``NotImplementedError`` on a link under Linux).
        """
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)

    # -- the lock file (stateview/_lock.py) ------------------------------------------------

    def open_lock(self, path: str, mode: int) -> int:
        """Open (creating if need be) the permanent lock file, never through a symlink."""
        return os.open(path, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_CLOEXEC, mode)

    def flock(self, fd: int, operation: int) -> None:
        import fcntl

        fcntl.flock(fd, operation)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        return os.pwrite(fd, data, offset)

    def ftruncate(self, fd: int, size: int) -> None:
        os.ftruncate(fd, size)

    def fstat(self, fd: int) -> os.stat_result:
        return os.fstat(fd)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        """Read the lock record the last holder left (the last commit's token)."""
        return os.pread(fd, size, offset)

    def close_lock(self, fd: int) -> None:
        """Close a lock file's descriptor, which drops its ``flock`` for certain.

        Linux frees the descriptor even when ``close`` reports an error, so an error here
        never means the lock is still held: callers note it and go on, and a fault harness
        must report its error after the real close, never instead of it (a lock kept by a
        descriptor nobody owns would block every writer until the process ends).
        """
        os.close(fd)

    def flock_busy(self, path: str) -> bool:
        """Whether some process holds a ``flock`` on ``path`` (its record may not say so).

        Opened without blocking and never through a symlink (a FIFO put at the lock file's
        name would hold the open for ever), locked without waiting, unlocked and closed at
        once. Recovery's probe: it changes nothing.
        """
        import fcntl

        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                return True
            raise
        finally:
            os.close(fd)  # drops our flock, if we got it
        return False


def present(fs: FileSystem, path: str) -> bool:
    """Whether anything, even a dangling symlink, has the name ``path``: one ``lstat`` step.

    Unlike :meth:`FileSystem.lexists`, a name that cannot be looked at is an error, not an
    absence: a commit or a recovery that took it as free could rename a version over it.

    Raises:
        OSError: the look failed for any reason but the name not being there.
    """
    try:
        fs.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def keeps_group(have: int, want: int) -> bool:
    """Whether this process, not root, should give a file of its own (of group ``have``) the
    group ``want`` of the file it stands for: the group a file is shared with stays, and an
    owner may give its file any group it is a member of (root copies owner and group)."""
    return (os.geteuid() != 0 and have != want
            and (want == os.getegid() or want in os.getgroups()))


def open_for_reading(path: str) -> int:
    """Open a state file (or a copy of it) to read it whole: a regular file, or an OSError.

    Without blocking, and never through a symlink (the engine reads the resolved path): a
    FIFO, a device or a link put at the name after the engine looked (someone else's, in a
    shared directory, once the file was deleted) would block the read for ever, never end,
    or read a file of someone else's choosing.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", path)
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


_default = FileSystem()


def get_default() -> FileSystem:
    """The file system new StateFiles and recoveries use unless given another."""
    return _default


def set_default(fs: FileSystem) -> FileSystem:
    """Install ``fs`` as the default; returns the previous one (tests and fault harnesses)."""
    global _default
    previous, _default = _default, fs
    return previous
