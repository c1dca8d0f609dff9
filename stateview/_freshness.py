"""Freshness and change dispatch: noticing other writers' commits, and telling the program.

Under the lock, a freshly taken lock compares the state file's identity and the lock file's
commit token with what this StateFile last read or wrote, and merges a newer version into
memory (docs/design.md, step 2). Without the lock, ``refresh()`` and the ``on_change`` watcher
do the same. Changes are queued under the mutex and dispatched to the callbacks without it.
"""

from __future__ import annotations

import json
import logging

from . import _jsonscan, _jsontext
from ._changes import ChangeEvent, changed_pointers
from ._document_merge import merge
from ._engine_state import UNKNOWN
from ._errors import CorruptFile, InvalidValue
from ._lock_hold import LockHold
from ._store import Snapshot
from ._views import DictView, new_root

__all__ = ["Freshness"]

log = logging.getLogger("stateview")


class Freshness(LockHold):
    """The layer that loads the document, follows other writers, and runs the callbacks."""

    def _refresh_locked(self) -> None:
        """Under a newly taken lock: merge what ``lock()`` returned, if another writer
        committed since our version."""
        snap, self._st.taken = self._st.taken, None
        if snap is None:
            return
        if snap.version is None:
            # Deleted behind our back: memory holds the last acknowledged version, and the
            # next commit writes it out again.
            log.warning("%s: the document is gone; the next commit recreates it", self.path)
            self._st.disk = None
            return
        self._merge(snap)

    def _refresh_unlocked(self) -> bool:
        st = self._st
        return self._merge(self._store.load(None if st.disk is UNKNOWN else st.disk))

    def _merge(self, snap: Snapshot) -> bool:
        """Merge a version the store returned into memory; whether any value changed."""
        state = self._st
        if snap.data is None:  # no document, or the version memory holds
            return False
        version = snap.version
        if snap.data == state.committed:
            state.disk = version
            return False
        value = _jsontext.loads(snap.data, self._where)
        if isinstance(value, dict) != (type(state.root) is DictView):
            raise InvalidValue("", f"{self.path}: another writer changed the document's root "
                               "between object and array")
        state.disk = version
        changed: list[str] = []
        merge(state.root, value, changed, "")
        state.committed = snap.data
        if changed and state.callbacks:
            self._notify(ChangeEvent("external", changed))
        return bool(changed)

    def _load(self, default: object) -> None:
        state = self._st
        data, value, version = self._store.open_document(self._schema, default)
        try:
            state.root = new_root(value, self)
        except InvalidValue as e:  # JSON that Python reads but stateview cannot write back
            where = _jsonscan.scan(data.decode("utf-8"), want={e.pointer}).positions
            line, column = where.get(e.pointer, (None, None))
            raise CorruptFile(self._where, e.reason, line, column, e.pointer) from None
        state.disk = version
        state.committed = data  # the healed bytes, when open restored a copy

    def _load_readonly(self) -> None:
        data, value, version = self._store.open_readonly(self._schema)
        self._st.root = new_root(value, self)
        self._st.disk = version
        self._st.committed = data

    def _notify(self, event: ChangeEvent) -> None:
        """Queue ``event`` for the change callbacks (with the mutex held)."""
        if self._st.callbacks:
            self._st.events.append(event)

    def _dispatch(self) -> None:
        """Run the change callbacks for queued events, without the mutex: a callback may take
        its time, or change the document itself."""
        state = self._st
        if not state.events:
            return
        with state.cond:
            events, state.events = state.events, []
            callbacks = list(state.callbacks)
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

    def _start_watcher(self, poll: float) -> None:
        """Follow other writers' commits through the store's watch (``poll`` is the file
        store's interval; a database pushes its notifications)."""
        self._st.poll = poll
        self._st.unwatch = self._store.watch(self._on_store_commit, poll=poll)

    def _on_store_commit(self, version: object) -> None:
        """On the store's thread: another writer committed ``version``; load it and tell
        the callbacks. A commit or a transaction under way here first ends: the change is
        merged after it (a lock it took saw it already, and then this finds nothing new)."""
        state = self._st
        try:
            cond = state.cond  # a fork replaces it; the child's watch is a new thread
            with cond:
                while not state.closed and not state.nothing_under_way():
                    cond.wait(0.05)
                if state.closed or not state.callbacks or (
                        version is not None and version == state.disk):
                    return
                self._refresh_unlocked()
            self._dispatch()
        except Exception as e:  # a broken document must not stop the watch
            log.warning("%s: reload failed: %s", self.path, e)
