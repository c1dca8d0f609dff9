"""StateFile: the in-memory document a program mutates, kept durably equal to its file.

Concurrency (docs/design.md, "Threads, processes and fork"):

* The file is the truth; memory is a cache of one version of it. Memory is only changed while
  this StateFile holds the file lock, so no other process can commit underneath a change.
* A mutation outside ``transaction()`` is a transaction of its own. Threads that mutate while a
  write is in flight queue their (already applied) changes; whichever waiter finds the disk
  idle writes all of them in one commit (group commit). Each caller returns only when the
  write containing its change is durable, or raises when it failed.
* ``transaction()`` waits until no write is in flight, holds off other threads' mutations for
  its block, and commits once at the end, or rolls memory back to the last durable version.
* The lock is released when nothing is pending, unless ``exclusive=True``.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import errno
import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import _fs, _jsontext
from ._changes import changed_pointers
from ._commit import replace_file
from ._document import merge, plain, serialize
from ._errors import (
    Closed,
    CommitFailed,
    CorruptFile,
    InvalidValue,
    LockTimeout,
    SchemaViolation,
    StateError,
    StorageError,
    a_type,
)
from ._lock import process_lock, read_info
from ._opening import UNSET as _UNSET
from ._opening import load_initial
from ._paths import StatePaths, check_openable
from ._readonly import load_readonly, refuse_write
from ._schema import Schema, load_schema
from ._undo import restore, shallow
from ._views import DictView, ListView, new_root
from .types import ChangeSource

__all__ = ["ChangeEvent", "StateFile", "open"]

log = logging.getLogger("stateview")

_HOG_SECONDS = 0.25  # longest continuous hold of the lock by group commits
_HOG_PAUSE = 0.01  # then the lock is left free this long
_LINGER = 0.001  # how long a would-be leader waits for other threads to join its write
_LOCK_LINGER = 0.002  # how long an idle StateFile keeps the lock for its next commit
_BUSY_POLL = 0.01  # how often the keeper looks at files that are busy (writing, transaction)


@dataclass(frozen=True)
class ChangeEvent:
    """What a change callback receives.

    Attributes:
        source: ``"local"`` for a commit of this StateFile, ``"external"`` for another
            writer's commit picked up by a reload.
        pointers: JSON Pointers of the values that changed, added or removed (``""`` for the
            whole document), for local commits and transactions as for external ones.
    """

    source: ChangeSource
    pointers: list[str] = field(default_factory=list)


class _Batch:
    """The commits one write carries; their threads sleep on its condition, so that the end
    of one write wakes exactly the threads it concerns."""

    __slots__ = ("cond",)

    def __init__(self, mutex: threading.RLock) -> None:
        self.cond = threading.Condition(mutex)


@dataclass
class _Ticket:
    batch: _Batch
    done: bool = False
    error: BaseException | None = None


def _disk_id(st: os.stat_result) -> tuple[int, int, int, int]:
    # Size and mtime alone are fooled by inode reuse; the commit token in the lock file covers
    # stateview writers, and (dev, ino, size, mtime_ns) covers editors.
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class StateFile:
    """A JSON document in memory, durably mirrored in a file. Make one with :func:`open`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        default: Any = _UNSET,
        schema: str | os.PathLike[str] | Mapping[str, Any] | Schema | None = None,
        backups: int = 1,
        exclusive: bool = False,
        lock_timeout: float = 10.0,
        readonly: bool = False,
        fs: _fs.FileSystem | None = None,
    ) -> None:
        if backups < 0:
            raise ValueError("backups must be 0 or more")
        self.paths = StatePaths.of(path)
        self.path = self.paths.given
        self.schema = load_schema(schema)
        self.backups = backups
        self.exclusive = exclusive
        self.lock_timeout = lock_timeout
        self.readonly = readonly
        self._fs = fs or _fs.get_default()
        self._lock = process_lock(self.paths.lock)
        # Reentrant only so that a thread can tell whether it holds it (an interrupt may land
        # right after it was taken back); nothing takes it twice on purpose.
        self._mutex = threading.RLock()
        self._cond = threading.Condition(self._mutex)
        self._open = _Batch(self._mutex)  # the batch new commits join
        self._lock_held = False
        self._lock_since = 0.0
        self._txn_owner: int | None = None
        self._txn_depth = 0
        self._writing = False
        self._pending: list[_Ticket] = []
        # How many commits were outstanding at the end of each recent write: the threads
        # that commit concurrently, which is how many a write can wait for.
        self._committers: collections.deque[int] = collections.deque(maxlen=16)
        self._failures = 0  # failed writes so far; a transaction notices one under it
        self._last_failure: OSError = OSError("no failure")
        self._dirty = 0
        self._committed = b""
        self._disk: tuple[tuple[int, int, int, int] | None, str | None] = (None, None)
        self._callbacks: list[Callable[[ChangeEvent], None]] = []
        # For the callbacks, run outside the mutex; a local commit is queued as its versions
        # (before, after), compared there too: parsing a large document twice takes a while.
        self._events: list[ChangeEvent | tuple[bytes, bytes]] = []
        self._waiters = 0  # threads in _await: none left means queued commits are orphans
        self._txn_forked = False  # a child forked inside its own block (never commits it)
        # Containers removed since the last durable version, for a rollback to revive.
        self._graveyard: list[tuple[Any, Any]] = []
        self._list_journal: dict[int, tuple[Any, list[Any]]] = {}
        self._watcher: threading.Thread | None = None
        self._poll = 0.0  # the watcher's interval, for a forked child to start its own
        self._idle_since = 0.0
        self._lingering = False  # the keeper is watching this StateFile's idle lock
        self._closed = False
        self._wrote = False  # committed at least once (close then frees the spare)
        self._root: Any = None

        # Checked before anything touches the disk: a bad default must not create a file.
        if default is not _UNSET:
            default = plain(new_root(default, None))  # checked once, and copied in
            if not isinstance(default, (dict, list)):
                raise InvalidValue("", f"the default is {a_type(default)}; a state "
                                   "file holds an object or an array")
        check_openable(self.paths)
        _open_files.add(self)
        if readonly:
            self._load_readonly()
            return
        with self._cond:
            self._take_lock()
            try:
                self._load(default)
            finally:
                self._release_now()  # opening is mostly followed by reading, not committing

    # -- public API --------------------------------------------------------------------------

    @property
    def data(self) -> Any:
        """The root view: a ``dict`` (or ``list``) that commits every change made through it."""
        if self._closed:
            raise Closed(f"{self.path}: this StateFile is closed")
        return self._root

    def __getitem__(self, key: Any) -> Any:
        # The hot read path: one subscript, no property (a closed file's root raises Closed).
        return self._root[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.data[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[Any]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def snapshot(self) -> Any:
        """A deep copy of the document as plain dicts and lists."""
        return plain(self.data)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        """One commit for the whole block, all or nothing; yields the root view.

        Serializable across threads and processes: the lock is held for the block, the
        document is reloaded first if another process committed, and if the block raises,
        memory goes back to where the block began. Other threads' mutations and transactions
        wait for the block to end; their reads do not. A block may start while earlier
        commits of this StateFile are still being written, and its commit may share their
        write (group commit); if such an earlier write fails, the block's commit fails too.
        """
        me = threading.get_ident()
        with self._cond:
            self._check_open()
            if self.readonly:
                raise refuse_write(self.path)
            if self._txn_owner == me:
                savepoint: bytes | None = self._serialize()
                self._txn_depth += 1
                nested = True
            else:
                nested = False
                while self._txn_owner is not None:
                    self._cond.wait()
                self._yield_lock_if_hogged()
                while self._txn_owner is not None:
                    self._cond.wait()
                self._check_open()
                fresh = self._take_lock()
                self._txn_owner, self._txn_depth = me, 1
                try:
                    if fresh:
                        self._refresh_locked()
                except BaseException:
                    self._end_transaction()
                    raise
                start, failures = self._dirty, self._failures
                # Changes of other threads still on their way to disk are not ours to undo.
                savepoint = self._serialize() if self._writing or self._pending else None
        try:
            yield self._root
        except BaseException:
            with self._cond:
                if nested:
                    self._txn_depth -= 1
                    assert savepoint is not None
                    self._reset_to(savepoint, "rolled back to the start of the inner block")
                else:
                    if self._txn_forked:
                        self._txn_forked = False
                        self._reset_to(self._committed, "forked inside a transaction")
                    elif self._dirty != start:
                        self._reset_to(savepoint if savepoint is not None and
                                       self._failures == failures else self._committed,
                                       "transaction rolled back")
                    self._end_transaction()
            raise
        if nested:
            with self._cond:
                self._txn_depth -= 1
            return
        with self._cond:
            if self._txn_forked:
                # This is a child forked inside the block: the parent commits it (or not);
                # committing it here too, without the parent's lock, could write it twice.
                self._txn_forked = False
                self._reset_to(self._committed, "forked inside a transaction")
                self._end_transaction()
                raise StateError(f"{self.path}: this process was forked inside the "
                                 "transaction; the child does not commit the parent's block "
                                 "(nothing was written)")
            if self._failures != failures:
                # An earlier write this block built on failed and memory went back to the
                # durable version under it: committing now would write half a transaction.
                error = self._last_failure
                if self._dirty != start:
                    self._reset_to(self._committed, "transaction built on a failed commit")
                self._end_transaction()
                raise CommitFailed(self.paths.target, "writing an earlier commit this "
                                   "transaction built on", error) from error
            if self._dirty == start:
                self._end_transaction()
                return
            try:
                if self.schema is not None:
                    self.schema.validate(self._root)
            except SchemaViolation:
                self._reset_to(savepoint if savepoint is not None else self._committed,
                               "transaction refused by the schema")
                self._end_transaction()
                raise
            ticket = _Ticket(self._open)
            self._pending.append(ticket)
            self._txn_owner = None
            self._cond.notify_all()
            self._await(ticket)
        self._dispatch()

    def refresh(self) -> bool:
        """Load another process's commit now. Returns whether anything changed."""
        with self._cond:
            self._check_open()
            if self._txn_owner == threading.get_ident():
                # The block holds the lock and reloaded when it began: no one else can have
                # committed since. (Waiting for other threads' queued commits would wait for
                # the block itself.)
                return False
            self._drain()
            changed = self._refresh_unlocked()
        self._dispatch()
        return changed

    def on_change(
        self, callback: Callable[[ChangeEvent], None], *, poll: float | None = 0.1
    ) -> Callable[[], None]:
        """Call ``callback`` after every commit of this StateFile and every reload.

        With ``poll`` (seconds), a background thread also watches the file and reloads it when
        another process commits, so the callback runs at once. Returns a function that
        unsubscribes.

        Callbacks run in the thread that made (or loaded) the change, once the change is
        durable and the StateFile is free again: a callback may take its time or change the
        document itself; an exception it raises is logged.
        """
        with self._cond:
            self._callbacks.append(callback)
            if poll and self._watcher is None:
                self._start_watcher(poll)

        def unsubscribe() -> None:
            with self._cond, contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return unsubscribe

    def _start_watcher(self, poll: float) -> None:
        self._poll = poll
        self._watcher = threading.Thread(
            target=self._watch, args=(poll,), name=f"stateview-watch {self.path}",
            daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Wait for pending commits, release the lock, and detach the views."""
        with self._cond:
            if self._closed:
                return
            self._drain()
            self._closed = True
            self._drop_spare()
            if self._lock_held:
                self._lock.release(self)
                self._lock_held = False
            if type(self._root) in (DictView, ListView):
                self._root._doc = None
            self._root = _ClosedRoot(self.path)
            self._callbacks.clear()
            self._cond.notify_all()

    def __enter__(self) -> StateFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<StateFile {self.path!r} {state}>"

    # -- the write context (used by the views) ----------------------------------------------

    @contextlib.contextmanager
    def _write(self, node: Any) -> Iterator[None]:
        me = threading.get_ident()
        with self._cond:
            self._check_open()
            if self.readonly:
                raise refuse_write(self.path)
            if self._txn_owner == me:
                self._journal_list(node)
                yield
                self._dirty += 1
                return
            while self._txn_owner is not None:
                self._cond.wait()
            self._yield_lock_if_hogged()
            while self._txn_owner is not None:  # one may have begun while we paused
                self._cond.wait()
            self._check_open()
            try:
                if self._take_lock():
                    self._refresh_locked()
                self._check_attached(node)
            except BaseException:
                self._release_if_idle()
                raise
            saved = shallow(node) if self.schema is not None else None
            self._journal_list(node)
            try:
                yield
            except BaseException:
                self._release_if_idle()
                raise
            self._dirty += 1
            if self.schema is not None and saved is not None:
                try:
                    self.schema.validate(self._root)
                except SchemaViolation:
                    restore(node, saved)
                    self._release_if_idle()
                    raise
            ticket = _Ticket(self._open)
            self._pending.append(ticket)
            self._await(ticket)
        self._dispatch()

    # -- internals (called with self._cond held) ---------------------------------------------

    def _drain(self) -> None:
        """Wait until no transaction is open and no commit is queued or being written.

        Commits queued with no thread left waiting for them (their thread was interrupted,
        by Ctrl-C say) are written here rather than waited for forever.
        """
        while not self._quiet():
            if self._orphaned():
                self._write_batch()
            else:
                self._cond.wait()

    def _orphaned(self) -> bool:
        return (bool(self._pending) and not self._writing and self._txn_owner is None
                and self._waiters == 0)

    def _drop_spare(self) -> None:
        """Free the spare this StateFile's commits kept (under the lock: a writer may be
        about to use it). Another writer's next commit simply writes a new file."""
        if not self._wrote or not os.path.lexists(self.paths.spare):
            return
        fresh = not self._lock_held
        if fresh:
            try:
                self._lock.acquire(self, min(1.0, self.lock_timeout), fs=self._fs)
            except (LockTimeout, OSError):
                return
        try:
            self._fs.unlink(self.paths.spare)
        except OSError:
            pass
        finally:
            if fresh:
                self._lock.release(self)

    def _check_open(self) -> None:
        if self._closed:
            raise Closed(f"{self.path}: this StateFile is closed")

    def _check_attached(self, node: Any) -> None:
        top = node
        while top._parent is not None:
            top = top._parent
        if top is not self._root:
            raise Closed(f"{self.path}: this view was removed from the document "
                         "(by this program or by another writer's commit)")

    def _take_lock(self) -> bool:
        """Hold the file lock; True when it was newly taken (others may have committed).

        While this StateFile holds the lock continuously no one else can commit, so only a
        fresh acquisition needs a freshness check. (Checking during our own group commit
        would mistake our own in-flight rename for another writer's commit.)
        """
        if self._lock_held:
            if self._lock.intact():
                return False
            self._lock.forget(self)  # the program closed the descriptor: the lock is gone
            self._lock_held = False
        try:
            self._lock.acquire(self, self.lock_timeout, exclusive=self.exclusive, fs=self._fs)
        except LockTimeout:
            raise
        except FileNotFoundError as e:
            raise StorageError(self.paths.lock, f"taking the lock (the directory "
                               f"{self.paths.directory} does not exist)", e) from e
        except OSError as e:
            raise StorageError(self.paths.lock, "taking the lock", e) from e
        self._lock_held = True
        self._lock_since = time.monotonic()
        return True

    def _holds_lock_for(self, thread: int) -> bool:
        """Whether this StateFile keeps the lock until ``thread`` moves on (the lock's
        check against a thread waiting for itself through a second handle)."""
        return self._txn_owner == thread

    def _yield_lock_if_hogged(self) -> None:
        """Let other processes in when a stream of group commits has held the lock too long.

        Under continuous load from many threads the queue never empties, so the lock would
        never be released and `stateview set` or another server would time out. After
        ``_HOG_SECONDS`` new mutations wait for the queue to drain, the lock is released,
        and taken again after a pause long enough for a polling waiter to win it.
        """
        if (not self._lock_held or self.exclusive or self._txn_owner is not None
                or time.monotonic() - self._lock_since < _HOG_SECONDS):
            return
        self._drain()
        self._release_now()
        if not self._lock_held:
            self._cond.wait(_HOG_PAUSE)

    def _quiet(self) -> bool:
        """No transaction open, no commit queued or being written."""
        return self._txn_owner is None and not self._writing and not self._pending

    def _idle(self) -> bool:
        """Quiet, and the lock is this StateFile's to let go of (not held for life)."""
        return not self.exclusive and self._quiet()

    def _release_if_idle(self) -> None:
        """Let go of the lock once nothing is pending, after ``_LOCK_LINGER`` seconds idle.

        A program that commits again within the linger keeps the lock, and with it the
        knowledge that no one else committed: no lock-file round trip, no freshness check.
        The process's keeper thread releases it; other writers wait at most that much longer.
        """
        if not self._lock_held or not self._idle():
            return
        self._idle_since = time.monotonic()
        if not self._lingering:
            self._lingering = True
            if not _keeper.watch(self):  # no thread can start (the interpreter is exiting)
                self._lingering = False
                self._release_now()

    def _release_now(self) -> None:
        if self._lock_held and self._idle():
            try:
                self._lock.release(self)
            except OSError as e:  # the descriptor is gone: nothing is held any more
                log.warning("%s: releasing the lock: %s", self.path, e)
            self._lock_held = False

    def _linger_over(self, keeper: _Keeper) -> bool:
        """For the keeper: release the lock if it has lingered idle long enough, and stop
        watching once it is released. Returns whether it is still lingering idle (to be
        looked at again soon, rather than at a busy file's pace).

        Never waits for the StateFile's mutex (a change callback may hold it for long):
        busy now, it is looked at again on the keeper's next round.
        """
        if not self._mutex.acquire(blocking=False):
            return False
        try:
            if self._orphaned() and not self._closed:
                self._write_batch()  # its thread was interrupted; the change is in memory
            if self._lock_held and self._idle() and \
                    time.monotonic() - self._idle_since >= _LOCK_LINGER:
                self._release_now()
            if not self._lock_held or self._closed:
                # Under the mutex, so that a commit now cannot mark itself watched in between.
                keeper.forget(self)
                self._lingering = False
            idle = self._lock_held and self._idle()
        finally:
            self._mutex.release()
        self._dispatch()
        return idle

    def _after_fork(self) -> None:
        """In a forked child: fresh locks, no hold, nothing in flight.

        The child has none of the parent's other threads: their commits in flight and their
        open transactions will never finish here, so memory goes back to the durable version.
        """
        # A mutation half done in another thread (applied, not yet queued) holds the mutex.
        held_elsewhere = not self._mutex.acquire(blocking=False)  # by a thread now gone
        me = threading.get_ident()
        mine = self._txn_owner == me  # the forking thread is inside its own block
        busy = bool(self._writing or self._pending or held_elsewhere
                    or self._txn_owner not in (None, me))
        self._mutex = threading.RLock()
        self._cond = threading.Condition(self._mutex)
        self._open = _Batch(self._mutex)
        self._writing, self._pending = False, []
        if mine:  # the block goes on here, and ends in an error rather than a commit
            self._txn_forked = True
        else:
            self._txn_owner, self._txn_depth = None, 0
        watched, self._watcher = self._watcher is not None, None
        self._lock_held, self._lingering = False, False
        self._lock = process_lock(self.paths.lock)
        if watched and self._callbacks and not self._closed:
            # The parent's watcher thread does not exist here: without one of its own the
            # child's subscriptions would stop without a word (DESIGN: the fork contract).
            try:
                self._start_watcher(self._poll)
            except RuntimeError as e:
                log.warning("%s: after fork: change callbacks stop here: %s", self.path, e)
        if busy and not self._closed:
            try:
                self._reset_to(self._committed, "forked with commits in flight")
            except Exception as e:
                log.warning("%s: after fork: %s", self.path, e)

    def _end_transaction(self) -> None:
        self._txn_owner, self._txn_depth = None, 0
        self._release_if_idle()
        self._open.cond.notify()  # commits queued during the block may be written now
        self._cond.notify_all()

    def _await(self, ticket: _Ticket) -> None:
        """Wait until the commit holding ``ticket`` is durable; lead the write if idle."""
        lingered = False
        self._waiters += 1
        try:
            while not ticket.done:
                if (ticket.batch is not self._open or self._writing
                        or self._txn_owner is not None):
                    # Until its batch is written, or a write can start. Not while another
                    # thread's transaction is open: memory holds its unfinished block.
                    ticket.batch.cond.wait()
                elif not lingered and len(self._pending) < max(self._committers, default=1):
                    # Threads whose last write just finished are still waking up; a leader
                    # that starts at once writes for a handful of them and leaves the rest for
                    # the next fsync. Waiting up to a millisecond, only while fewer are queued
                    # than were committing at once lately, lets them join: one fsync for all.
                    # (Counting batch sizes instead settles on whatever split the threads
                    # first fell into.)
                    lingered = True
                    ticket.batch.cond.wait(_LINGER)
                else:
                    self._write_batch()
        except BaseException:
            self._open.cond.notify()  # interrupted (KeyboardInterrupt ...): hand on the lead
            if not self._lingering and self._lock_held:  # the keeper writes it if need be
                self._lingering = _keeper.watch(self)
            raise
        finally:
            self._waiters -= 1
        if ticket.error is not None:
            raise ticket.error

    def _serialize(self) -> bytes:
        return serialize(self._root, final="\n").encode("utf-8")

    def _write_batch(self) -> None:
        batch, self._pending = self._pending, []
        group, self._open = self._open, _Batch(self._mutex)
        try:
            data = self._serialize()
        except BaseException as e:  # values were checked on the way in; this is a bug
            self._fail(batch, group, e)
            self._release_if_idle()
            self._cond.notify_all()
            raise
        self._writing = True
        token = secrets.token_hex(8)
        error: BaseException | None = None
        interrupted: BaseException | None = None
        try:
            self._cond.release()
            disk = _disk_id(replace_file(self.paths, data, self._fs, self.backups,
                                         before_sync=lambda: self._note_commit(token)))
        except OSError as e:
            error = e if isinstance(e, CommitFailed) else CommitFailed(
                self.paths.target, "checking the new file", e)
        except BaseException as e:  # KeyboardInterrupt ...: the write's outcome is unknown
            interrupted = e
            error = CommitFailed(self.paths.target, "writing, interrupted: the file holds "
                                 "this write or the one before it",
                                 OSError(errno.EINTR, f"interrupted by {type(e).__name__}"))
        finally:
            while not self._mutex._is_owned():  # type: ignore[attr-defined]
                try:  # an interrupt must not leave the mutex unheld here
                    self._cond.acquire()
                except BaseException as e:
                    interrupted = interrupted or e
        if interrupted is not None:
            # The file may hold this write or not: forget what is on disk, so that the next
            # commit takes the lock afresh and reloads whatever is there.
            self._disk = (None, None)
        if error is not None:
            self._fail(batch, group, error)
        else:
            before, self._committed = self._committed, data
            self._wrote = True
            self._disk = (disk, token)
            for ticket in batch:
                ticket.done = True
            group.cond.notify_all()
            self._committers.append(len(batch) + len(self._pending))
            if not self._pending:
                self._graveyard.clear()
                self._list_journal.clear()
        self._writing = False
        if interrupted is not None:
            self._release_now()
        else:
            self._release_if_idle()
        self._open.cond.notify()  # one of the commits queued meanwhile leads the next write
        self._cond.notify_all()  # close(), transactions and refresh() wait for writes to end
        if interrupted is not None:
            raise interrupted
        if error is None and self._callbacks:
            self._events.append((before, data))

    def _note_commit(self, token: str) -> None:
        """Put the commit's token in the lock file, where other writers' freshness checks
        read it. Written before the directory fsync: a token for a commit that then fails
        only costs the others a needless reload; a missing one could cost a lost update."""
        try:
            self._lock.record_commit(token)
        except OSError as e:
            log.warning("%s: could not note the commit in the lock file: %s",
                        self.paths.lock, e)

    def _fail(self, batch: list[_Ticket], group: _Batch, error: BaseException) -> None:
        """A write failed: roll memory back to the durable version; fail every waiter."""
        waiting = batch + self._pending
        self._pending = []
        self._failures += 1
        self._last_failure = error if isinstance(error, OSError) else OSError(str(error))
        self._reset_to(self._committed, f"commit failed: {error}")
        for ticket in waiting:
            ticket.done, ticket.error = True, error
        group.cond.notify_all()
        self._open.cond.notify_all()

    def _journal_list(self, node: Any) -> None:
        """Remember a list's elements before its first change since the durable version.

        A rollback merges the durable values back position by position; a list whose
        elements moved (insert, pop, sort ...) would otherwise have the program's element
        views matched to the wrong positions and detached.
        """
        if type(node) is ListView and id(node) not in self._list_journal:
            self._list_journal[id(node)] = (node, list(node))

    def _reset_to(self, text: bytes, why: str) -> None:
        value = _jsontext.loads(text, self.paths.target)
        for node, elements in self._list_journal.values():
            restore(node, elements)
        self._list_journal.clear()
        changed: list[str] = []
        graves: dict[tuple[int, str], Any] = {}
        for parent, node in self._graveyard:
            graves.setdefault((id(parent), node._key), node)
        self._graveyard.clear()
        merge(self._root, value, changed, "", graves)
        log.debug("%s: %s (%d values restored)", self.path, why, len(changed))

    def _stat_target(self, error: type[StorageError]) -> os.stat_result | None:
        """The state file's status, ``None`` when it is missing."""
        try:
            return self._fs.stat(self.paths.target)
        except FileNotFoundError:
            return None
        except OSError as e:
            raise error(self.paths.target, "checking the state file", e) from e

    def _refresh_locked(self) -> None:
        """Under the lock: reload if another writer committed since our version."""
        st = self._stat_target(CommitFailed)  # a commit is what fails here
        if st is None:
            # Deleted behind our back: memory holds the last acknowledged version, and the
            # next commit writes it out again.
            log.warning("%s: the state file is gone; the next commit recreates it", self.path)
            return
        token = self._lock.last_commit_token()
        if (_disk_id(st), token) == self._disk:
            return
        self._reload(token)

    def _refresh_unlocked(self) -> bool:
        st = self._stat_target(StorageError)
        if st is None:
            return False
        last = read_info(self.paths.lock).get("last_commit")
        token = last.get("token") if isinstance(last, dict) else None
        if (_disk_id(st), token) == self._disk:
            return False
        return self._reload(token)

    def _reload(self, token: str | None) -> bool:
        try:
            fd = _fs.open_for_reading(self.paths.target)  # no FIFO, device or link swapped in
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StorageError(self.paths.target, "reading another writer's commit", e) from e
        try:
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
        except OSError as e:
            raise StorageError(self.paths.target, "reading another writer's commit", e) from e
        if data == self._committed:
            self._disk = (_disk_id(st), token)
            return False
        value = _jsontext.loads(data, self.paths.target)
        if isinstance(value, dict) != (type(self._root) is DictView):
            raise InvalidValue("", f"{self.path}: another writer changed the document's root "
                               "between object and array")
        self._disk = (_disk_id(st), token)
        changed: list[str] = []
        merge(self._root, value, changed, "")
        self._committed = data
        if changed and self._callbacks:
            self._notify(ChangeEvent("external", changed))
        return bool(changed)

    def _load(self, default: Any) -> None:
        data, value = load_initial(self.paths, self._fs, self.schema, self.backups, default,
                                   self._lock)
        target = self.paths.target
        try:
            self._root = new_root(value, self)
        except InvalidValue as e:  # JSON that Python reads but stateview cannot write back
            where = _jsontext.scan(data.decode("utf-8"), want={e.pointer}).positions
            line, column = where.get(e.pointer, (None, None))
            raise CorruptFile(target, e.reason, line, column, e.pointer) from None
        try:
            st = self._fs.stat(target)
        except OSError as e:
            raise StorageError(target, "checking the state file", e) from e
        self._disk = (_disk_id(st), self._lock.last_commit_token())
        self._committed = data  # the healed bytes, when open restored a copy

    def _load_readonly(self) -> None:
        data, value = load_readonly(self.paths, self._fs, self.schema)
        self._root = new_root(value, self)
        st = self._stat_target(StorageError)
        last = read_info(self.paths.lock).get("last_commit")
        token = last.get("token") if isinstance(last, dict) else None
        self._disk = (_disk_id(st) if st is not None else None, token)
        self._committed = data

    def _notify(self, event: ChangeEvent) -> None:
        """Queue ``event`` for the change callbacks (with the mutex held)."""
        if self._callbacks:
            self._events.append(event)

    def _dispatch(self) -> None:
        """Run the change callbacks for queued events, without the mutex: a callback may take
        its time, or change the document itself."""
        if not self._events:
            return
        with self._cond:
            events, self._events = self._events, []
            callbacks = list(self._callbacks)
        for queued in events:
            if isinstance(queued, tuple):
                # The versions before and after, parsed back: what a reload of this commit by
                # another process would report, with the same precision.
                pointers = changed_pointers(json.loads(queued[0]), json.loads(queued[1]))
                if not pointers:
                    continue
                event = ChangeEvent("local", pointers)
            else:
                event = queued
            for callback in callbacks:
                try:
                    callback(event)
                except Exception:
                    log.exception("%s: change callback %r failed", self.path, callback)

    def _watch(self, poll: float) -> None:
        while not self._closed and self._callbacks:
            time.sleep(poll)
            try:
                if self._cond.acquire(timeout=poll):
                    try:
                        if not self._closed and self._quiet():
                            self._refresh_unlocked()
                    finally:
                        self._cond.release()
                    self._dispatch()
            except Exception as e:  # a broken file must not kill the watcher
                log.warning("%s: reload failed: %s", self.path, e)
        self._watcher = None


_open_files: weakref.WeakSet[StateFile] = weakref.WeakSet()


def _release_at_exit() -> None:
    """At interpreter exit, let go of locks held by StateFiles the program never closed, so
    that the lock file does not name a dead holder."""
    for state in list(_open_files):
        if state._cond.acquire(timeout=1.0):
            try:
                # Only a hold with nothing under way (exclusive ones too): a transaction or a
                # write in flight in a thread still running keeps the lock until the kernel
                # frees it at exit.
                if state._orphaned() and not state._closed:
                    state._write_batch()  # queued by a thread interrupted on the way out
                if state._lock_held and state._quiet():
                    state._lock.release(state)
                    state._lock_held = False
            finally:
                state._cond.release()


class _Keeper:
    """One thread for the process that lets go of locks left lingering by idle StateFiles.

    It holds them weakly, and parks when there are none: a program that opens many state
    files and forgets to close them leaks neither threads nor StateFiles.
    """

    def __init__(self) -> None:
        self._watched: weakref.WeakSet[StateFile] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._parked = True

    def watch(self, state: StateFile) -> bool:
        """Watch ``state``'s lock; False when no keeper thread can run."""
        with self._guard:
            self._watched.add(state)
            if not self._parked and self._thread is not None and self._thread.is_alive():
                return True
            self._parked = False
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(target=self._run, name="stateview-lock-keeper",
                                          daemon=True)
                try:
                    thread.start()
                except RuntimeError:
                    self._watched.discard(state)
                    self._parked = True
                    return False
                self._thread = thread
            self._wake.set()
        return True

    def forget(self, state: StateFile) -> None:
        with self._guard:
            self._watched.discard(state)

    def _round(self) -> bool:
        """One look at every watched StateFile; whether one of them lingers idle."""
        # In a function of its own, so that no StateFile stays referenced between rounds.
        with self._guard:
            states = list(self._watched)
        idle = False
        for state in states:
            try:
                idle = state._linger_over(self) or idle
            except Exception:  # the keeper must outlive any one StateFile
                log.exception("%s: letting go of the lock", state.path)
        return idle

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            delay = _LOCK_LINGER / 2
            while True:
                time.sleep(delay)
                # Files busy writing or in a transaction need no look every millisecond:
                # when one goes idle, its lock is let go within _BUSY_POLL instead.
                delay = _LOCK_LINGER / 2 if self._round() else _BUSY_POLL
                with self._guard:
                    if not self._watched:
                        self._parked = True
                        break


_keeper = _Keeper()


def _forget_locks_after_fork() -> None:
    # The child shares the parent's lock descriptor: it must take a lock of its own, and has
    # no keeper thread.
    global _keeper
    _keeper = _Keeper()
    for state in list(_open_files):
        state._after_fork()


atexit.register(_release_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_locks_after_fork)


class _ClosedRoot:
    """What ``state[...]`` reads after ``close()``: an error rather than stale data."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __getitem__(self, key: Any) -> Any:
        raise Closed(f"{self.path}: this StateFile is closed")


def open(
    path: str | os.PathLike[str],
    default: Any = _UNSET,
    schema: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    backups: int = 1,
    exclusive: bool = False,
    *,
    lock_timeout: float = 10.0,
    readonly: bool = False,
) -> StateFile:
    """Open (or create from ``default``) a state file.

    Args:
        path: the JSON file. A symlink stays a symlink; its target gets the data.
        default: the document to create when the file does not exist. Without it a missing
            file is an error. Existing data is never replaced by the default.
        schema: a JSON Schema (path or dict) every commit must satisfy.
        backups: previous versions to keep as ``NAME.bak`` ... ``NAME.bak.N``.
        exclusive: hold the lock for the life of the StateFile, keeping other writers out.
        lock_timeout: seconds to wait for another writer before :class:`LockTimeout`.
        readonly: read and follow the file without ever writing: no lock, no lock file,
            no healing, no file created (works on a read-only mount). Every change raises
            :class:`StateError`; ``refresh()`` and ``on_change`` still follow the writers.

    Raises:
        StateFileMissing: no file and no default.
        CorruptFile: the file is not strict JSON and no good copy exists to restore.
        SchemaError, SchemaViolation, InvalidValue, LockTimeout, CommitFailed.
    """
    return StateFile(path, default=default, schema=schema, backups=backups,
                     exclusive=exclusive, lock_timeout=lock_timeout, readonly=readonly)
