"""The file-system seam: every call a commit or a recovery makes to the disk.

The engine never calls ``os`` directly for a step of the commit protocol; it calls a method of
a :class:`FileSystem`. Tests substitute a subclass that records each step, fails the Nth one
with an ``OSError``, or exits the process at step k, so that faults and power loss can be
simulated without mocking the world.

Each method is one system call (or one loop of them) and names the step in the protocol.
"""

from __future__ import annotations

import os
import sys

__all__ = ["FileSystem", "get_default", "set_default"]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class FileSystem:
    """The real file system. Subclass and override a method to inject a fault."""

    def open_new(self, path: str, mode: int) -> int:
        """Create ``path``, failing if anything (even a dangling symlink) is there already."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        return os.open(path, flags, mode)

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
        """Read a whole file (used by loading and recovery)."""
        with open(path, "rb") as f:
            return f.read()

    def stat(self, path: str) -> os.stat_result:
        return os.stat(path)


_default = FileSystem()


def get_default() -> FileSystem:
    """The file system new StateFiles and recoveries use unless given another."""
    return _default


def set_default(fs: FileSystem) -> FileSystem:
    """Install ``fs`` as the default; returns the previous one (tests and fault harnesses)."""
    global _default
    previous, _default = _default, fs
    return previous
