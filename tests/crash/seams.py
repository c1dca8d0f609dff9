"""File systems that fail or crash at step N of whatever the engine does next.

Steps are the seam's method calls, counted from :meth:`arm` (1 for the first call after it).
"""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable

from stateview._fs import FileSystem

#: The seam's methods, in the order a commit usually calls them.
STEPS = ("stat", "lstat", "open_spare", "open_new", "fchmod", "fchown", "rewrite", "write_all",
         "datasync", "fsync", "close", "link", "replace", "unlink", "fsync_dir", "read_bytes",
         "read_version", "listdir", "flock_busy")
#: The lock file's steps (counted only by a CountingFS made with ``lock_steps=True``).
LOCK_STEPS = ("open_lock", "flock", "pread", "pwrite", "ftruncate", "fstat", "close_lock")


class CountingFS(FileSystem):
    """Counts every seam call after :meth:`arm`, and calls :meth:`before` with its name.

    Subclasses decide what happens at a step by overriding :meth:`before`.
    """

    def __init__(self, lock_steps: bool = False) -> None:
        self.armed = False
        self.lock_steps = lock_steps
        self.calls: list[str] = []
        self._mutex = threading.Lock()

    def arm(self) -> None:
        with self._mutex:
            self.calls = []
            self.armed = True

    def disarm(self) -> None:
        self.armed = False

    def before(self, step: int, name: str) -> None:
        """Called before the call numbered ``step`` (1-based) runs."""

    def _step(self, name: str) -> None:
        if not self.armed:
            return
        with self._mutex:
            self.calls.append(name)
            n = len(self.calls)
        self.before(n, name)

    def open_new(self, path: str, mode: int) -> int:
        self._step("open_new")
        return super().open_new(path, mode)

    def open_spare(self, path: str, mode: int | None = None) -> int:
        self._step("open_spare")
        return super().open_spare(path, mode)

    def rewrite(self, fd: int, data: bytes) -> None:
        self._step("rewrite")
        super().rewrite(fd, data)

    def datasync(self, fd: int) -> None:
        self._step("datasync")
        super().datasync(fd)

    def fchmod(self, fd: int, mode: int) -> None:
        self._step("fchmod")
        super().fchmod(fd, mode)

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        self._step("fchown")
        super().fchown(fd, uid, gid)

    def write_all(self, fd: int, data: bytes) -> None:
        self._step("write_all")
        super().write_all(fd, data)

    def fsync(self, fd: int) -> None:
        self._step("fsync")
        super().fsync(fd)

    def close(self, fd: int) -> None:
        self._step("close")
        super().close(fd)

    def link(self, src: str, dst: str) -> None:
        self._step("link")
        super().link(src, dst)

    def replace(self, src: str, dst: str) -> None:
        self._step("replace")
        super().replace(src, dst)

    def unlink(self, path: str) -> None:
        self._step("unlink")
        super().unlink(path)

    def fsync_dir(self, path: str) -> None:
        self._step("fsync_dir")
        # The real directory fsync, not super()'s, which would count a second "fsync" step.
        FileSystem.fsync_dir(FileSystem(), path)

    def read_bytes(self, path: str) -> bytes:
        self._step("read_bytes")
        return super().read_bytes(path)

    def read_version(self, path: str) -> tuple[bytes, os.stat_result]:
        self._step("read_version")
        return super().read_version(path)

    def stat(self, path: str) -> os.stat_result:
        self._step("stat")
        return super().stat(path)

    def lstat(self, path: str) -> os.stat_result:
        self._step("lstat")
        return super().lstat(path)

    def chmod(self, path: str, mode: int) -> None:
        self._step("chmod")
        super().chmod(path, mode)

    def listdir(self, path: str) -> list[str]:
        self._step("listdir")
        return super().listdir(path)

    def flock_busy(self, path: str) -> bool:
        self._step("flock_busy")
        return super().flock_busy(path)

    def _lock_step(self, name: str) -> None:
        if self.lock_steps:
            self._step(name)

    def open_lock(self, path: str, mode: int) -> int:
        self._lock_step("open_lock")
        return super().open_lock(path, mode)

    def flock(self, fd: int, operation: int) -> None:
        self._lock_step("flock")
        super().flock(fd, operation)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        self._lock_step("pwrite")
        return super().pwrite(fd, data, offset)

    def ftruncate(self, fd: int, size: int) -> None:
        self._lock_step("ftruncate")
        super().ftruncate(fd, size)

    def fstat(self, fd: int) -> os.stat_result:
        self._lock_step("fstat")
        return super().fstat(fd)

    def pread(self, fd: int, size: int, offset: int) -> bytes:
        self._lock_step("pread")
        return super().pread(fd, size, offset)

    def close_lock(self, fd: int) -> None:
        # Linux frees a descriptor even when close() fails: a fault here is reported after
        # the real close (see FileSystem.close_lock), never instead of it.
        try:
            super().close_lock(fd)
        finally:
            self._lock_step("close_lock")


class FaultFS(CountingFS):
    """Fails step ``at`` with ``OSError(code)`` (with ``only``: the ``at``-th call of that method).

    ``persistent``: from then on every call of the same method fails too, until :meth:`clear`
    (a disk that keeps refusing writes, a share that never supports directory fsync).
    """

    def __init__(self, at: int, code: int, persistent: bool = False,
                 only: str | None = None, lock_steps: bool = False) -> None:
        super().__init__(lock_steps)
        self.at, self.code, self.persistent, self.only = at, code, persistent, only
        self.failing: str | None = None
        self.injected = 0
        self.hook: Callable[[str], None] | None = None

    def clear(self) -> None:
        self.failing = None
        self.disarm()

    def before(self, step: int, name: str) -> None:
        if self.failing != name:
            if self.injected:
                return
            if self.only is None and step != self.at:
                return
            if self.only is not None and (name != self.only or self.calls.count(name) != self.at):
                return
        if self.persistent:
            self.failing = name
        if self.hook is not None:
            self.hook(name)
        self.injected += 1
        raise OSError(self.code, f"injected {errno.errorcode[self.code]} at {name}")


class CrashFS(CountingFS):
    """Exits the process with ``os._exit(137)`` right after step ``at`` completes.

    ``at = 0`` exits before the first step. Nothing is flushed or cleaned up: as close to a
    ``kill -9`` at that exact point as a process can do to itself.
    """

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def before(self, step: int, name: str) -> None:
        if step == self.at + 1:
            os._exit(137)


def describe_calls(fs: CountingFS) -> list[str]:
    return [f"{i}:{name}" for i, name in enumerate(fs.calls, 1)]
