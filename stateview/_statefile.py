"""StateFile: the in-memory document a program mutates, kept durably equal to its file.

This module is the facade: the public methods, opening and closing, and the process-wide
hooks (exit, fork). The engine under it is a stack of parts, each readable alone and each
calling only those below it (docs/design.md, "The engine's parts"):

* ``_engine_state`` -- every mutable field of a StateFile, with its invariant; the fork reset;
* ``_rollback`` -- serializing the document, and going back to the durable version;
* ``_lock_hold`` -- taking the process lock, lingering with it, the keeper that releases it;
* ``_freshness`` -- loading, noticing other writers' commits, dispatching change events;
* ``_group_commit`` -- queuing commits, electing a leader, writing a batch;
* ``_transactions`` -- ``transaction()`` and the write context every mutation runs in.

Concurrency (docs/design.md, "Threads, processes and fork"): the file is the truth and memory
a cache of one version of it, changed only while this StateFile holds the file lock. Threads
that mutate while a write is in flight queue their changes, and one write carries them all.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import _hooks
from ._async_api import AsyncMethods
from ._changes import ChangeEvent
from ._document import plain
from ._engine_state import EngineState, reset_after_fork
from ._errors import Closed, InvalidValue, a_type
from ._file_store import FileStore
from ._fs import FileSystem, get_default
from ._lock_hold import new_keeper
from ._opening import UNSET as _UNSET
from ._paths import StatePaths, check_openable
from ._postgres._url import is_store_url
from ._schema import Schema, load_schema
from ._store import EngineStore
from ._transactions import Transactions
from ._views import DictView, ListView, new_root
from .types import JSON, JSONInput, Node

__all__ = ["ChangeEvent", "StateFile", "open"]

log = logging.getLogger("stateview")


class StateFile(Transactions, AsyncMethods):
    """A JSON document in memory, durably mirrored in a file. Make one with :func:`open`."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        default: JSONInput = _UNSET,
        schema: str | os.PathLike[str] | Mapping[str, Any] | Schema | None = None,
        backups: int = 1,
        exclusive: bool = False,
        lock_timeout: float = 10.0,
        readonly: bool = False,
        fs: FileSystem | None = None,
    ) -> None:
        if backups < 0:
            raise ValueError("backups must be 0 or more")
        self._schema = load_schema(schema)
        self.backups = backups
        self.exclusive = exclusive
        self.lock_timeout = lock_timeout
        self.readonly = readonly
        self._st = EngineState()
        self._store = self._make_store(path, fs, exclusive)
        self.path = self._store.name
        # Checked before anything touches the disk: a bad default must not create a file.
        if default is not _UNSET:
            default = plain(new_root(default, None))  # checked once, and copied in
            if not isinstance(default, (dict, list)):
                raise InvalidValue("", f"the default is {a_type(default)}; a state "
                                   "file holds an object or an array")
        if self._paths is not None:
            check_openable(self._paths)
        _open_files.add(self)
        if readonly:
            self._load_readonly()
            return
        with self._st.cond:
            try:
                self._load(default)
            finally:
                self._st.lock_held = self._store.holds_lock()
                self._st.lock_since = time.monotonic()
                self._release_now()  # opening is mostly followed by reading, not committing

    def _make_store(self, path: str | os.PathLike[str], fs: FileSystem | None,
                    exclusive: bool) -> EngineStore:
        """The store ``path`` names: a file, or a ``postgresql://`` document."""
        if isinstance(path, str) and is_store_url(path):
            self._paths = None
            if fs is not None:
                raise ValueError("fs= is the seam of a file's system calls; a URL has none")
            from ._postgres._engine_store import PostgresEngineStore
            store = PostgresEngineStore(path, backups=self.backups, lock_timeout=self.lock_timeout,
                                  exclusive=exclusive)
            self._where = store.name
            return store
        self._paths = StatePaths.of(path)
        self._where = self._paths.target
        return FileStore(self._paths, fs=fs or get_default(), backups=self.backups,
                         owner=self, exclusive=exclusive, lock_timeout=self.lock_timeout)

    # -- reading -----------------------------------------------------------------------------

    @property
    def data(self) -> Node:
        """The root view: a ``dict`` (or ``list``) that commits every change made through it."""
        if self._st.closed:
            raise Closed(f"{self.path}: this StateFile is closed")
        root: Node = self._st.root  # a DictView or ListView (docs/design.md, "Typing reads")
        return root

    def __getitem__(self, key: str | int) -> Node:
        # The hot read path: one subscript, no property (a closed file's root raises Closed).
        # The typed local costs nothing measurable and keeps Any out of the signature.
        value: Node = self._st.root[key]
        return value

    def __setitem__(self, key: str | int, value: JSONInput) -> None:
        self.data[key] = value

    def __delitem__(self, key: str | int) -> None:
        del self.data[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[Node]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def get(self, key: str, default: JSONInput = None) -> Node:
        return self.data.get(key, default)

    def snapshot(self) -> JSON:
        """A deep copy of the document as plain dicts and lists (typed :data:`JSON`: narrow
        it with ``isinstance`` before subscripting, as after ``json.loads``)."""
        copy: JSON = plain(self.data)
        return copy

    # -- writing and following ---------------------------------------------------------------

    def transaction(self) -> contextlib.AbstractContextManager[Node]:
        """One commit for the whole block, all or nothing; yields the root view.

        Serializable across threads and processes: the lock is held for the block, the
        document is reloaded first if another process committed, and if the block raises,
        memory goes back to where the block began. Other threads' mutations and transactions
        wait for the block to end; their reads do not. A block may start while earlier
        commits of this StateFile are still being written, and its commit may share their
        write (group commit); if such an earlier write fails, the block's commit fails too.
        """
        return self._transaction()

    def refresh(self) -> bool:
        """Load another process's commit now. Returns whether anything changed."""
        st = self._st
        with st.cond:
            self._check_open()
            self._refuse_inside_a_change("refresh()")
            if st.txn_owner == _hooks.current.owner():
                # The block holds the lock and reloaded when it began: no one else can have
                # committed since. (Waiting for other threads' queued commits would wait for
                # the block itself.)
                return False
            _hooks.current.before_wait(self, "Use `await state.arefresh()`.")
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
        st = self._st
        with st.cond:
            st.callbacks.append(callback)
            if poll and st.unwatch is None:
                self._start_watcher(poll)

        def unsubscribe() -> None:
            with st.cond, contextlib.suppress(ValueError):
                st.callbacks.remove(callback)

        return unsubscribe

    def close(self) -> None:
        """Wait for pending commits, release the lock, and detach the views.

        Raises:
            StateError: called inside this thread's own ``transaction()`` block, which
                cannot end while ``close()`` waits for it; nothing is closed.
        """
        st = self._st
        with st.cond:
            if st.closed:
                return
            self._refuse_inside_own_block("close()")
            self._refuse_inside_a_change("close()")
            _hooks.current.before_wait(
                self, "Use `await state.aclose()`, which waits for that task's block to end.")
            self._drain()
            st.closed = True
            self._drop_spare()
            if st.lock_held:
                self._store.unlock()
                st.lock_held = False
            if type(st.root) in (DictView, ListView):
                st.root._doc = None
            st.root = _ClosedRoot(self.path)
            st.callbacks.clear()
            unwatch, st.unwatch = st.unwatch, None
            st.cond.notify_all()
        if unwatch is not None:
            unwatch()
        self._store.close()  # a database connection; a file store has nothing left
        _hooks.current.closed(self)  # ends the change streams of asyncio programs

    def __enter__(self) -> StateFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._st.closed else "open"
        return f"<StateFile {self.path!r} {state}>"

    # -- process-wide hooks ------------------------------------------------------------------

    def _release_at_exit(self) -> None:
        """Write commits queued by a thread interrupted on the way out, and let go of a
        hold with nothing under way (exclusive ones too). A transaction or a write in flight
        in a thread still running keeps the lock until the kernel frees it at exit."""
        st = self._st
        if not st.cond.acquire(timeout=1.0):
            return
        try:
            if st.unwritten_without_waiter() and not st.closed:
                self._write_batch()
            if st.lock_held and st.nothing_under_way():
                self._store.unlock()
                st.lock_held = False
        finally:
            st.cond.release()

    def _after_fork(self) -> None:
        """In a forked child: fresh locks, no hold, nothing in flight.

        The child has none of the parent's other threads: their commits in flight and their
        open transactions will never finish here, so memory goes back to the durable version.
        """
        st = self._st
        busy = reset_after_fork(st, self._store, _hooks.current.owner())
        watched, st.unwatch = st.unwatch is not None, None
        if watched and st.callbacks and not st.closed:
            # The parent's watcher thread does not exist here: without one of its own the
            # child's subscriptions would stop without a word (docs/design.md, fork).
            try:
                self._start_watcher(st.poll)
            except RuntimeError as e:
                log.warning("%s: after fork: change callbacks stop here: %s", self.path, e)
        if busy and not st.closed:
            try:
                self._reset_to(st.committed, "forked with commits in flight")
            except Exception as e:
                log.warning("%s: after fork: %s", self.path, e)


_open_files: weakref.WeakSet[StateFile] = weakref.WeakSet()


def _release_at_exit() -> None:
    """At interpreter exit, let go of locks held by StateFiles the program never closed, so
    that the lock file does not name a dead holder."""
    for state in list(_open_files):
        state._release_at_exit()


def _after_fork_in_child() -> None:
    """The one at-fork hook of the engine above the lock (docs/design.md, "Fork").

    It runs after ``_lock``'s hook, which empties the process's lock registry and closes the
    child's copies of the lock descriptors: ``_lock`` is imported (and registers) first.
    """
    new_keeper()
    for state in list(_open_files):
        state._after_fork()


atexit.register(_release_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _ClosedRoot:
    """What ``state[...]`` reads after ``close()``: an error rather than stale data."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __getitem__(self, key: Any) -> Any:
        raise Closed(f"{self.path}: this StateFile is closed")


def open(
    path: str | os.PathLike[str],
    default: JSONInput = _UNSET,
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
