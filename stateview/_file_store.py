"""FileStore: the file engine as a :class:`~stateview._store.Store`.

It owns every system call the document layer makes for one state file: reading a version,
writing the next one (``_commit.replace_file`` with the commit token noted in the lock file),
the process lock, and watching for other writers. ``StateFile`` talks to its storage only
through it; the five operations of the Store protocol are built on the same methods, for
callers that want the plain protocol (docs/design.md, "The storage seam").

A version of a file is ``((st_dev, st_ino, st_size, st_mtime_ns), token)``: the identity of
the state file (what an editor's save changes) and the token of the last stateview commit in
the lock file (what catches a new version written into a reused inode in the same tick).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import weakref
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from ._commit import replace_file
from ._engine_state import DiskId
from ._errors import CommitFailed, LockTimeout, StateFileMissing, StorageError
from ._fs import FileSystem, get_default
from ._lock import LockLost, ProcessLock, process_lock, read_info
from ._opening import load_initial
from ._paths import StatePaths
from ._readonly import load_readonly
from ._schema import Schema
from ._store import Snapshot, StoreStatus, VersionConflict, Writer

__all__ = ["FileStore", "FileVersion", "disk_id"]

log = logging.getLogger("stateview")

_NOT_HELD: Any = object()

FileVersion = tuple[DiskId | None, str | None]
"""A file's version; ``(None, None)`` is "not known" (the next look reads the file)."""


def disk_id(st: os.stat_result) -> DiskId:
    # Size and mtime alone are fooled by inode reuse; the commit token in the lock file covers
    # stateview writers, and (dev, ino, size, mtime_ns) covers editors.
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class FileStore:
    """One state file, its backups and its lock file, through one :class:`FileSystem`.

    Attributes:
        paths: every name of the file (docs/design.md, "On-disk names").
        backups: previous versions kept by each commit.
        file_lock: the process's lock on ``NAME.lock``; replaced after ``fork`` by
            :meth:`after_fork` (the engine's one fork reset calls it).
    """

    #: A commit leaves the caller's hold in place (the engine keeps writing batches under
    #: it, and lingers with it): nothing but this process's own commits can happen meanwhile.
    lock_survives_commit = True
    commits_unlocked = False  # a commit without the hold takes the flock for the call anyway

    def __init__(self, paths: StatePaths, *, fs: FileSystem | None = None, backups: int = 1,
                 owner: object = None, exclusive: bool = False,
                 lock_timeout: float = 10.0) -> None:
        self.paths = paths
        self.backups = backups
        self.exclusive = exclusive
        self.lock_timeout = lock_timeout
        self._fs = fs or get_default()
        # Who holds ``file_lock`` for this store: the StateFile, held weakly so that a
        # StateFile a program forgets is freed at once (its store is part of it).
        self._owner_ref = None if owner is None else weakref.ref(owner)
        self.file_lock: ProcessLock = process_lock(paths.lock)
        # The version under the hold: what lock() returned or the last commit under it wrote.
        # No other stateview writer can commit while the hold lasts, so a commit against it
        # needs no look at the disk (``_NOT_HELD`` when the hold is not ours).
        self._held_version: Any = _NOT_HELD
        self._watchers: list[threading.Event] = []

    @property
    def _owner(self) -> object:
        owner = self if self._owner_ref is None else self._owner_ref()
        return self if owner is None else owner

    @property
    def fs(self) -> FileSystem:
        """The seam every system call of this store goes through."""
        return self._fs

    @property
    def name(self) -> str:
        return self.paths.given

    def after_fork(self) -> None:
        """In a forked child: the parent's lock object is not this process's."""
        self.file_lock = process_lock(self.paths.lock)
        self._held_version = _NOT_HELD
        self._watchers = []

    # -- versions ----------------------------------------------------------------------------

    def _token(self, locked: bool) -> str | None:
        if locked:  # read when the lock was taken, updated by our own commits since
            return self.file_lock.last_commit_token()
        last = read_info(self.paths.lock).get("last_commit")
        token = last.get("token") if isinstance(last, dict) else None
        return token if isinstance(token, str) else None

    def _stat(self, error: type[StorageError]) -> os.stat_result | None:
        try:
            return self._fs.stat(self.paths.target)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise error(self.paths.target, "checking the state file", e) from e

    def load(self, known: Any = None) -> Snapshot:
        """The current version; its ``data`` is ``None`` when it is ``known``.

        Under this store's lock a failure is the commit's (:class:`CommitFailed`), and the
        token is the one read when the lock was taken (updated by our commits since).
        """
        locked = self.file_lock.held_by(self._owner)
        st = self._stat(CommitFailed if locked else StorageError)
        if st is None:
            return Snapshot(None, None)
        token = self._token(locked)
        if (disk_id(st), token) == known:
            return Snapshot(known, None)
        try:
            data, status = self._fs.read_version(self.paths.target)
        except FileNotFoundError:
            return Snapshot(None, None)
        except OSError as e:
            raise StorageError(self.paths.target, "reading another writer's commit",
                               e) from e
        return Snapshot((disk_id(status), token), data)

    def _version(self) -> FileVersion | None:
        """The current version without reading the file (``None``: no file)."""
        locked = self.file_lock.held_by(self._owner)
        st = self._stat(CommitFailed if locked else StorageError)
        return None if st is None else (disk_id(st), self._token(locked))

    def open_document(self, schema: Schema | None, default: Any) -> tuple[bytes, Any, Any]:
        """At open: take the lock, and return the file's bytes, value and version after
        healing it or creating it from ``default`` (``_opening.load_initial``). The lock is
        left held (the caller lets it go, or keeps it with ``exclusive=True``). A missing file
        without a default leaves no lock file behind that this open made (a mistyped name)."""
        made_lock = not self._fs.lexists(self.paths.lock)
        self._acquire(self.lock_timeout)
        try:
            data, value = load_initial(self.paths, self._fs, schema, self.backups, default,
                                       self.file_lock)
            try:
                st = self._fs.stat(self.paths.target)
            except OSError as e:
                raise StorageError(self.paths.target, "checking the state file", e) from e
        except BaseException as e:
            if made_lock and isinstance(e, StateFileMissing):
                self.discard_unused_lock()
            self.unlock()
            raise
        self._held_version = (disk_id(st), self.file_lock.last_commit_token())
        return data, value, self._held_version

    def open_readonly(self, schema: Schema | None) -> tuple[bytes, Any, FileVersion]:
        """Without the lock, touching nothing: the file's bytes, value and version."""
        data, value = load_readonly(self.paths, self._fs, schema)
        st = self._stat(StorageError)
        return data, value, (disk_id(st) if st is not None else None, self._token(False))

    def holds_lock(self) -> bool:
        """Whether this store's owner still holds the lock. A program may have closed the
        lock's descriptor: then the hold is forgotten (nothing of it is left to release)."""
        if not self.file_lock.held_by(self._owner):
            return False
        if self.file_lock.intact():
            return True
        self.file_lock.forget(self._owner)
        self._held_version = _NOT_HELD
        return False

    # -- writing -----------------------------------------------------------------------------

    def _write(self, data: bytes) -> FileVersion:
        """Under the caller's lock: make ``data`` the durable next version (steps 4-8).

        Raises:
            CommitFailed: nothing changed (the original OSError is the ``__cause__``).
        """
        token = secrets.token_hex(8)
        written = replace_file(self.paths, data, self._fs, self.backups,
                               before_publish=lambda: self._note_commit(token),
                               after_create=self.file_lock.match)
        return (disk_id(written), token)

    def _note_commit(self, token: str) -> None:
        """Put the commit's token in the lock file, where other writers' freshness checks
        read it, and the UI names the writer of a version it sees. Written before the
        rename that publishes the version: a token for a commit that then fails only costs
        the others a needless reload; a missing one could cost a lost update.

        Raises:
            OSError: the program closed the lock's descriptor (inside a block, say), so the
                lock is lost and another writer may have committed since: the version must
                not be published (the commit fails, and the next one locks again).
        """
        try:
            self.file_lock.record_commit(token)  # checks the descriptor is still the lock's
        except LockLost:
            self.file_lock.forget(self._owner)  # the next commit locks afresh
            self._held_version = _NOT_HELD
            raise
        except OSError as e:
            log.warning("%s: could not note the commit in the lock file: %s",
                        self.paths.lock, e)

    def drop_spare(self, held: bool, timeout: float) -> None:
        """Free the spare (under the lock: a writer may be about to use it). Another
        writer's next commit simply writes a new file."""
        if not self._fs.lexists(self.paths.spare):
            return
        if not held:
            try:
                self.file_lock.acquire(self._owner, min(1.0, timeout), fs=self._fs)
            except (LockTimeout, OSError):
                return
        try:
            self._fs.unlink(self.paths.spare)
        except OSError:
            pass
        finally:
            if not held:
                self.file_lock.release(self._owner)

    def discard_unused_lock(self) -> None:
        """Under this owner's hold, for a caller that made ``NAME.lock`` and then wrote
        nothing (a refused or failed ``stateview copy``, an open of a missing file): remove
        the spare and the lock file, so that the directory is left as it was found. A lock
        file recording another process's commit is kept (its token is what other writers'
        freshness checks compare); this process's own failed commit noted its token before
        the rename that failed.

        Unlinking under the flock is safe here, unlike at release: a waiter that then gets the
        flock on the removed inode sees that the name no longer leads to it and opens the new
        one (``ProcessLock._flock``)."""
        last = self.file_lock.info.get("last_commit")
        if not self.file_lock.held_by(self._owner) or (
                isinstance(last, dict) and last.get("pid") != os.getpid()):
            return
        for path in (self.paths.spare, self.paths.lock):
            try:
                self._fs.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as e:  # the caller's own error is the one to report
                log.warning("%s: could not remove it: %s", path, e)

    # -- the Store protocol ------------------------------------------------------------------

    def lock(self, timeout: float, known: Any = None) -> Snapshot:
        """:meth:`Store.lock`: take the lock (kept if this owner holds it already) and return
        the current version, with ``exclusive`` as the store was made."""
        if not self.file_lock.held_by(self._owner):
            self._acquire(timeout)
        try:
            snap = self.load(known)
        except BaseException:
            self.unlock()
            raise
        self._held_version = snap.version
        return snap

    def _acquire(self, timeout: float) -> None:
        try:
            self.file_lock.acquire(self._owner, timeout, exclusive=self.exclusive, fs=self._fs)
        except LockTimeout:
            raise
        except FileNotFoundError as e:
            raise StorageError(self.paths.lock, f"taking the lock (the directory "
                               f"{self.paths.directory} does not exist)", e) from e
        except OSError as e:
            raise StorageError(self.paths.lock, "taking the lock", e) from e

    def unlock(self) -> None:
        """Let go of the lock (a no-op when this owner does not hold it)."""
        self._held_version = _NOT_HELD
        if self.file_lock.held_by(self._owner):
            self.file_lock.release(self._owner)

    def commit(self, data: bytes, expected: Any) -> FileVersion:
        """Compare-and-set: ``data`` becomes the next version if the current one is
        ``expected``; the check and the write run under the lock.

        Under the caller's hold the hold goes on (``lock_survives_commit``), and a commit
        against the version of the hold is written without a look at the disk. Without a
        hold the lock is taken for the call (``lock_timeout``) and let go after it.

        Raises:
            VersionConflict: the file is not at ``expected``; nothing was written.
            CommitFailed: nothing changed (the original OSError is the ``__cause__``).
            LockTimeout: without a hold, another writer kept the lock.
        """
        held = self.file_lock.held_by(self._owner)
        if not held:
            self._acquire(self.lock_timeout)
        try:
            if not (held and expected == self._held_version):
                current = self._version()
                if current != expected:
                    last = read_info(self.paths.lock).get("last_commit")
                    writer = _writer(last) if isinstance(last, dict) else None
                    raise VersionConflict(self.name, expected, current, writer)
            version = self._write(data)
        except BaseException:
            if held:  # what the file now holds is not known: the next lock() looks
                self._held_version = _NOT_HELD
            raise
        finally:
            if not held:
                self.unlock()
        if held:
            self._held_version = version
        return version

    def watch(self, callback: Callable[[Any], None], poll: float = 0.1) -> Callable[[], None]:
        """Call ``callback(version)`` when another writer's commit changes the file."""
        stop = threading.Event()
        self._watchers.append(stop)
        seen: Any = self._version()

        def run() -> None:
            nonlocal seen
            while not stop.wait(poll):
                try:
                    version = self._version()
                except StorageError as e:
                    log.warning("%s: watching: %s", self.name, e)
                    continue
                if version != seen:
                    seen = version
                    callback(version)

        threading.Thread(target=run, name=f"stateview-store-watch {self.name}",
                         daemon=True).start()
        return stop.set

    def history(self) -> list[Snapshot]:
        out = []
        for generation in range(1, self.backups + 1):
            path = self.paths.backup(generation)
            try:
                data, st = self._fs.read_version(path)
            except OSError:
                break
            out.append(Snapshot((disk_id(st), None), data))
        return out

    def describe(self) -> StoreStatus:
        """:meth:`Store.describe`: the version in words is what tells two versions of a file
        apart (when and into which inode it was written), the size is a detail."""
        info = read_info(self.paths.lock)
        last = info.get("last_commit")
        st = self._stat(StorageError)
        details: dict[str, Any] = {"lock": self.paths.lock, "backups": self.backups}
        version = None
        if st is not None:
            when = datetime.fromtimestamp(st.st_mtime_ns // 1000 / 1e6, timezone.utc)
            version = f"modified {when.strftime('%Y-%m-%dT%H:%M:%S.%fZ')} (inode {st.st_ino})"
            details["size"] = st.st_size
        token = last.get("token") if isinstance(last, dict) else None
        if isinstance(token, str):
            details["last_commit"] = token  # stateview's last commit, if nobody wrote since
        return StoreStatus(self.paths.given, version,
                           _writer(last) if isinstance(last, dict) else None, details)

    def close(self) -> None:
        for stop in self._watchers:
            stop.set()
        self._watchers = []
        self.unlock()


def _writer(last: dict[str, Any]) -> Writer:
    return Writer(last.get("pid"), last.get("host"), last.get("program"), last.get("time"))
