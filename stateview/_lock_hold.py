"""Holding the process lock: taking it, lingering with it, letting it go.

A StateFile takes the lock for a commit or a transaction and keeps it while anything is under
way. Once nothing is, it keeps it ``_LOCK_LINGER`` seconds more for the program's next commit
(no lock-file round trip, no freshness check), and one keeper thread per process lets it go.
The keeper does nothing else: queued commits whose thread was interrupted are written by the
next commit, ``refresh()``, ``close()`` or the exit hook, and change callbacks run in the thread
that committed (docs/design.md, "The engine's states").
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from . import _hooks
from ._engine_state import UNKNOWN
from ._rollback import Rollback

__all__ = ["Keeper", "LockHold", "keeper", "new_keeper"]

log = logging.getLogger("stateview")

_LOCK_LINGER = 0.002  # how long an idle StateFile keeps the lock for its next commit
_BUSY_POLL = 0.01  # how often the keeper looks at files that are busy (writing, transaction)


class LockHold(Rollback):
    """The layer that takes, keeps and releases this StateFile's hold on the process lock."""

    def _take_lock(self) -> bool:
        """Hold the store's lock; True when newly taken (others may have committed: the
        snapshot ``lock()`` returned waits in ``taken`` for the freshness check).

        While this StateFile holds the lock continuously no one else can commit, so only a
        fresh acquisition needs a freshness check. (Checking during our own group commit
        would mistake our own in-flight rename for another writer's commit.)
        """
        st, store = self._st, self._store
        if st.lock_held:
            if st.disk is not UNKNOWN and store.holds_lock():
                return False
            st.lock_held = False  # gone (a closed descriptor), or what is stored is unknown
        st.taken = store.lock(self.lock_timeout, None if st.disk is UNKNOWN else st.disk)
        st.lock_held = True
        st.lock_since = time.monotonic()
        return True

    def _holds_lock_for(self, thread: int) -> bool:
        """Whether this StateFile keeps the lock until ``thread`` moves on (the lock's
        check against a thread waiting for itself through a second handle; with asyncio,
        the block of a task of the loop that ``thread`` runs)."""
        return _hooks.current.runs_on(self._st.txn_owner, thread)

    def _lock_releasable(self) -> bool:
        """Nothing under way, and the lock is this StateFile's to let go of (not held for
        life with ``exclusive=True``)."""
        return not self.exclusive and self._st.nothing_under_way()

    def _release_if_idle(self) -> None:
        """Let go of the lock once nothing is pending, after ``_LOCK_LINGER`` seconds idle.

        A program that commits again within the linger keeps the lock, and with it the
        knowledge that no one else committed. The process's keeper thread releases it.
        """
        st = self._st
        if not st.lock_held or not self._lock_releasable():
            return
        if not self._store.lock_survives_commit:
            # A hold that every commit ends (a database row lock) is not worth keeping idle:
            # it is a transaction left open on the server.
            self._release_now()
            return
        st.idle_since = time.monotonic()
        if not st.keeper_watching:
            st.keeper_watching = True
            if not _keeper.watch(self):  # no thread can start (the interpreter is exiting)
                st.keeper_watching = False
                self._release_now()

    def _release_now(self) -> None:
        st = self._st
        if st.lock_held and self._lock_releasable():
            try:
                self._store.unlock()
            except OSError as e:  # the descriptor is gone: nothing is held any more
                log.warning("%s: releasing the lock: %s", self.path, e)
            st.lock_held = False

    def _release_if_lingered(self, keeper: Keeper) -> bool:
        """For the keeper: release the lock if it has lingered idle long enough, and stop
        watching once it is released. Returns whether it is still lingering idle (to be
        looked at again soon, rather than at a busy file's pace).

        Never waits for the StateFile's mutex (a change callback may hold it for long):
        busy now, it is looked at again on the keeper's next round.
        """
        st = self._st
        if not st.mutex.acquire(blocking=False):
            return False
        try:
            if st.lock_held and self._lock_releasable() and \
                    time.monotonic() - st.idle_since >= _LOCK_LINGER:
                self._release_now()
            if not st.lock_held or st.closed:
                # Under the mutex, so that a commit now cannot mark itself watched in between.
                keeper.forget(self)
                st.keeper_watching = False
            return st.lock_held and self._lock_releasable()
        finally:
            st.mutex.release()

    def _drop_spare(self) -> None:
        """Free the spare this StateFile's commits kept (under the lock: a writer may be
        about to use it). Another writer's next commit simply writes a new file."""
        if self._st.wrote:
            self._store.drop_spare(self._st.lock_held, self.lock_timeout)


class Keeper:
    """One thread for the process that lets go of locks left lingering by idle StateFiles.

    It holds them weakly, and parks when there are none: a program that opens many state
    files and forgets to close them leaks neither threads nor StateFiles.
    """

    def __init__(self) -> None:
        self._watched: weakref.WeakSet[LockHold] = weakref.WeakSet()
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._parked = True

    def watch(self, state: LockHold) -> bool:
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

    def forget(self, state: LockHold) -> None:
        with self._guard:
            self._watched.discard(state)

    def _round(self) -> bool:
        """One look at every watched StateFile; whether one of them lingers idle."""
        # In a function of its own, so that no StateFile stays referenced between rounds.
        with self._guard:
            states = list(self._watched)
        lingering = False
        for state in states:
            try:
                lingering = state._release_if_lingered(self) or lingering
            except Exception:  # the keeper must outlive any one StateFile
                log.exception("%s: letting go of the lock", state.path)
        return lingering

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


_keeper = Keeper()


def keeper() -> Keeper:
    """The process's keeper."""
    return _keeper


def new_keeper() -> None:
    """In a forked child: the parent's keeper thread does not exist here."""
    global _keeper
    _keeper = Keeper()
