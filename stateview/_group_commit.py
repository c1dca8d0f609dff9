"""Group commit: every mutation queues its commit; one write carries all that are queued.

A thread that mutates outside a transaction applies its change in memory, queues a ticket and
waits. The first waiter to find no write running leads one (after a short linger for others
to join): it takes the whole queue, releases the mutex for steps 4-8 of the commit, takes it
back and wakes the batch. Commits queued by a thread that was interrupted while waiting are
written by the next leader, ``refresh()``, ``close()`` or the exit hook (docs/design.md,
"The engine's states").
"""

from __future__ import annotations

import errno
import logging
import time

from ._engine_state import UNKNOWN, Batch, Ticket, holds
from ._errors import CommitFailed, LockTimeout
from ._freshness import Freshness
from ._store import VersionConflict
from ._views import Replay

__all__ = ["GroupCommit"]

log = logging.getLogger("stateview")

_HOG_SECONDS = 0.25  # longest continuous hold of the lock by group commits
_HOG_PAUSE = 0.01  # then the lock is left free this long
_LINGER = 0.001  # how long a would-be leader waits for other threads to join its write
_MAX_LOCKED_RUN = 64  # most autocommits that take the lock after one without it lost


class GroupCommit(Freshness):
    """The layer that queues commits, elects a leader and writes batches."""

    def _drain(self) -> None:
        """Wait until no transaction is open and no commit is queued or being written.

        Commits queued with no thread left waiting for them (their thread was interrupted,
        by Ctrl-C say) are written here rather than waited for forever.
        """
        st = self._st
        st.draining += 1  # new mutations wait meanwhile: a stream of them never ends
        try:
            while not st.nothing_under_way():
                self._wait_or_write_orphans()
        finally:
            st.draining -= 1
            st.cond.notify_all()

    def _wait_or_write_orphans(self) -> None:
        """Wait for a write or a transaction to end; but first write the commits queued by
        interrupted threads, if no one else will (on a store whose commit ends the lock, a
        thread that must lock waits for them to be written)."""
        if self._st.unwritten_without_waiter():
            self._write_batch()
        else:
            self._st.cond.wait()

    def _yield_lock_if_hogged(self) -> None:
        """Let other processes in when a stream of group commits has held the lock too long.

        Under continuous load from many threads the queue never empties, so the lock would
        never be released and `stateview set` or another server would time out. After
        ``_HOG_SECONDS`` new mutations wait for the queue to drain, the lock is released,
        and taken again after a pause long enough for a polling waiter to win it.
        """
        st = self._st
        if (not st.lock_held or self.exclusive or st.txn_owner is not None
                or time.monotonic() - st.lock_since < _HOG_SECONDS):
            return
        self._drain()
        self._release_now()
        if not st.lock_held:
            st.cond.wait(_HOG_PAUSE)

    def _queue_commit(self) -> Ticket:
        ticket = Ticket(self._st.open_batch)
        self._st.pending.append(ticket)
        return ticket

    def _await(self, ticket: Ticket) -> None:
        """Wait until the commit holding ``ticket`` is durable; lead the write if idle."""
        st = self._st
        lingered = False
        st.waiters += 1
        try:
            while not ticket.done:
                if ticket.batch is not st.open_batch or st.writing:
                    ticket.batch.cond.wait()  # until its batch is written, or a write ends
                elif st.txn_owner is not None:
                    # Not while another thread's transaction is open: memory holds its
                    # unfinished block. Its end notifies ``cond`` (a task's commit, handed over
                    # to a waiter in another thread, comes with no thread of its own to lead).
                    st.cond.wait()
                elif not lingered and len(st.pending) < max(st.committers, default=1):
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
            st.open_batch.cond.notify()  # interrupted (KeyboardInterrupt ...): hand on the lead
            raise
        finally:
            st.waiters -= 1
            # The last thread to leave writes what interrupted threads left queued (this one's
            # own commit, if it was interrupted with no other thread to write it).
            self._write_orphans()
        if ticket.error is not None:
            raise ticket.error

    def _write_orphans(self) -> None:
        """Write the commits queued by interrupted threads, when no one else will."""
        if self._st.unwritten_without_waiter():
            self._write_batch()

    def _write_batch(self) -> None:
        """Lead one write: every queued commit, with the mutex released while it runs."""
        st = self._st
        batch, st.pending = st.pending, []
        group, st.open_batch = st.open_batch, Batch(st.mutex)
        try:
            data = self._serialize()
        except BaseException as e:  # values were checked on the way in; this is a bug
            self._fail(batch, group, e)
            self._release_if_idle()
            st.cond.notify_all()
            raise
        st.writing = True
        error: BaseException | None = None
        interrupted: BaseException | None = None
        version: object = None
        try:
            st.cond.release()
            version = self._store.commit(data, st.disk)
        except VersionConflict as e:  # another writer got in: what it holds is the truth
            error = e
        except OSError as e:
            error = e if isinstance(e, (CommitFailed, LockTimeout)) else CommitFailed(
                self._where, "checking the new file", e)
        except BaseException as e:  # KeyboardInterrupt ...: the write's outcome is unknown
            interrupted = e
            error = CommitFailed(self._where, "writing, interrupted: the file holds "
                                 "this write or the one before it",
                                 OSError(errno.EINTR, f"interrupted by {type(e).__name__}"))
        finally:
            interrupted = self._take_mutex_back(interrupted)
        self._end_write(batch, group, data, version, error, interrupted)

    def _take_mutex_back(self, interrupted: BaseException | None) -> BaseException | None:
        """Hold the mutex again after a write, whatever interrupts the taking."""
        st = self._st
        while not holds(st.cond):
            try:  # an interrupt must not leave the mutex unheld here
                st.cond.acquire()
            except BaseException as e:
                interrupted = interrupted or e
        return interrupted

    def _end_write(self, batch: list[Ticket], group: Batch, data: bytes,
                   version: object, error: BaseException | None,
                   interrupted: BaseException | None) -> None:
        """Wake the batch with the write's outcome; release or keep the lock."""
        st = self._st
        if not self._store.lock_survives_commit:
            st.lock_held = False  # the commit ended the hold, whatever its outcome
        if interrupted is not None or error is not None:
            # The store may hold this write or not (CommitUnknown, an interrupt), another
            # writer's (VersionConflict), or the version before under a new commit token (a
            # failed file commit): forget what is stored, so that the next commit takes the
            # lock afresh and merges whatever is there.
            st.disk = UNKNOWN
        before = st.committed
        unlocked = any(t.unlocked for t in batch)
        if unlocked and isinstance(error, VersionConflict):
            # Committed without the lock and another writer got in first: its mutations run
            # again under the lock, and so do the next autocommits, twice as many as after
            # the last conflict (under contention taking the lock first costs less than a
            # statement that fails and a replay); each such commit that lands halves that.
            st.locked_run = min(max(1, 2 * st.locked_run), _MAX_LOCKED_RUN)
            st.lock_first = st.locked_run
            log.debug("%s: another writer committed first; replaying %d mutations under the "
                      "lock", self.path, len(batch))
        if error is not None:
            self._fail(batch, group, error)
        else:
            if unlocked:
                st.locked_run //= 2
            st.committed, st.wrote = data, True
            st.disk = version
            for ticket in batch:
                ticket.done = True
            group.cond.notify_all()
            # On a store whose commit ends the lock, the threads that will share the next
            # write are not queued yet: they wait for this one to end (``held_off``).
            st.committers.append(len(batch) + len(st.pending) + (
                0 if self._store.lock_survives_commit else st.held_off))
            if not st.pending:
                self._forget_journal()
        st.writing = False
        if interrupted is not None:
            self._release_now()
        else:
            self._release_if_idle()
        st.open_batch.cond.notify()  # one of the commits queued meanwhile leads the next write
        st.cond.notify_all()  # close(), transactions and refresh() wait for writes to end
        if interrupted is not None:
            raise interrupted
        if error is None and st.callbacks:
            st.events.append((before, data))

    def _fail(self, batch: list[Ticket], group: Batch, error: BaseException) -> None:
        """A write failed: roll memory back to the durable version; fail every waiter."""
        st = self._st
        waiting = batch + st.pending
        st.pending = []
        st.failures += 1
        st.last_failure = error if isinstance(error, OSError) else OSError(str(error))
        self._reset_to(st.committed, f"commit failed: {error}")
        for ticket in waiting:
            ticket.done = True
            ticket.error = Replay() if ticket.unlocked and isinstance(
                error, VersionConflict) else error
        group.cond.notify_all()
        st.open_batch.cond.notify_all()
