"""Transactions and the write context every mutation runs in.

A mutation outside a block is a transaction of its own: it waits for any other thread's block
to end, takes the lock (with a freshness check when newly taken), applies, checks the schema,
and queues its commit. ``transaction()`` holds off other threads' mutations for its block and
commits once at its end, or rolls memory back (docs/design.md, "The engine's states").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import _hooks
from ._engine_state import UNKNOWN
from ._errors import Closed, CommitFailed, SchemaViolation, StateError
from ._group_commit import GroupCommit
from ._readonly import refuse_write
from ._undo import restore, shallow
from ._views import Replay, take_replay

if TYPE_CHECKING:
    from ._statefile import StateFile

__all__ = ["Transactions"]


@dataclass
class _Block:
    """Where an outermost block began: what its end compares against."""

    dirty: int
    failures: int


class Transactions(GroupCommit):
    """The layer of ``transaction()`` and of the views' write context."""

    def _facade(self) -> StateFile:
        """This StateFile, as the asyncio hooks see it (only StateFile builds on this layer)."""
        return self  # type: ignore[return-value]

    def _check_open(self) -> None:
        if self._st.closed:
            raise Closed(f"{self.path}: this StateFile is closed")

    def _refuse_inside_own_block(self, call: str) -> None:
        """Raise when the caller is inside its own transaction: ``call`` (a close) waits for
        every transaction to end, and this one can only end once ``call`` returns."""
        owner = self._st.txn_owner
        if owner is None or owner != _hooks.current.owner():
            return
        if isinstance(owner, int):  # a thread's ident (else an asyncio task)
            who, block, then = "thread", "`with state.transaction()`", "close"
        else:
            who, block, then = "task", "transaction", "`await state.aclose()`"
        raise StateError(
            f"{self.path}: {call} was called inside this {who}'s own transaction and would "
            f"wait for ever for it to end: end the {block} block first, then {then} "
            "(nothing was closed; a block that catches this error goes on)")

    def _check_attached(self, node: Any) -> None:
        top = node
        while top._parent is not None:
            top = top._parent
        if top is not self._st.root:
            raise Closed(f"{self.path}: this view was removed from the document "
                         "(by this program or by another writer's commit)")

    def _wait_for_other_blocks(self, may_go_unlocked: bool = False) -> bool:
        """Wait until no other thread's block is open, pausing first if the lock is hogged.

        Returns whether the mutation that waits (``may_go_unlocked``) is to be applied and
        committed without the lock (``_goes_unlocked``).
        """
        st = self._st
        st.held_off += 1  # counted by group commit: this thread joins the next batch
        locks = not may_go_unlocked
        st.lockers += locks
        try:
            while self._must_wait(may_go_unlocked):
                self._wait_or_write_orphans()
            self._yield_lock_if_hogged()
            while self._must_wait(may_go_unlocked):  # one may have begun while we paused
                self._wait_or_write_orphans()
        finally:
            st.held_off -= 1
            st.lockers -= locks
        self._check_open()
        return may_go_unlocked and self._goes_unlocked()

    def _must_wait(self, may_go_unlocked: bool) -> bool:
        """Another thread's block is open, or a thread waits for nothing to be under way
        (``_drain``: ``close()``, ``refresh()``), or (on a store whose commit ends the lock,
        such as a database row lock) a write is under way, or commits queued without the lock are:
        memory may change under a lock only once it holds no change the lock's freshness
        check would merge over (docs/design.md, "The storage seam")."""
        st = self._st
        if st.txn_owner is not None or st.draining:
            return True
        if self._store.lock_survives_commit:
            return False
        return st.writing or (bool(st.pending) and not st.lock_held
                              and not (may_go_unlocked and self._goes_unlocked()))

    def _goes_unlocked(self) -> bool:
        """Whether an autocommit now is applied to the version memory holds and committed
        against it without the lock (a store that offers it, such as PostgreSQL: one
        statement instead of a lock, the statement and ``COMMIT``). Not while the lock is
        held, nor when that version is unknown or there is no document,
        nor while a thread waits to take the lock (``lockers``: until these commits are
        written), nor for the next ``lock_first`` autocommits after such a commit met
        another writer's (``_end_write``): under contention taking the lock first costs
        less than a statement that fails and a replay."""
        st = self._st
        return (self._store.commits_unlocked and not st.lock_held and st.lock_first == 0
                and st.lockers == 0 and st.disk is not UNKNOWN and st.disk is not None)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Any]:
        st = self._st
        me = _hooks.current.owner()
        block: _Block | None = None  # an outermost block's start
        with st.cond:
            self._check_open()
            if self.readonly:
                raise refuse_write(self.path)
            if st.txn_owner == me:
                self._open_level()
                st.txn_depth += 1
            else:
                self._refuse_inside_a_change()  # its commit would wait holding the mutex
                block = self._begin_block(me)
        try:
            yield st.root
        except BaseException:
            with st.cond:
                if block is None:
                    st.txn_depth -= 1
                    self._undo_level("rolled back to the start of the inner block")
                else:
                    self._roll_back_block(block)
            raise
        if block is None:
            with st.cond:
                st.txn_depth -= 1
                self._keep_level()
            return
        with st.cond:
            handed_over = self._commit_block(block)
        if not handed_over:  # else its events are dispatched where its commit is awaited
            self._dispatch()

    def _begin_block(self, me: object) -> _Block:
        st = self._st
        _hooks.current.before_wait(
            self._facade(), "Use `async with state.atransaction()` in this task too.")
        self._wait_for_other_blocks()
        fresh = self._take_lock()
        st.txn_owner, st.txn_depth = me, 1
        try:
            if fresh:
                self._refresh_locked()
        except BaseException:
            self._end_transaction()
            raise
        # The block's own changes are logged for undoing them: changes of other threads still
        # on their way to disk are not the block's to undo. (A serialized copy of the document
        # as the block began did the same, at the cost of the whole document per block.)
        st.undo = []
        self._open_level()
        return _Block(st.dirty, st.failures)

    def _roll_back_block(self, block: _Block) -> None:
        st = self._st
        if st.txn_forked:
            st.txn_forked = False
            self._reset_to(st.committed, "forked inside a transaction")
        elif st.failures != block.failures:
            # A write under the block failed and memory went back to the durable version:
            # the block's changes, if it made any since, go too.
            if st.dirty != block.dirty:
                self._reset_to(st.committed, "transaction rolled back after a failed commit")
        elif st.dirty != block.dirty:
            self._undo_level("transaction rolled back")
        self._end_transaction()

    def _commit_block(self, block: _Block) -> bool:
        """Queue the block's commit and wait until it is durable; True when the asyncio
        hooks took the wait over (``_hooks.Hooks.hand_over``)."""
        st = self._st
        if st.txn_forked:
            # This is a child forked inside the block: the parent commits it (or not);
            # committing it here too, without the parent's lock, could write it twice.
            st.txn_forked = False
            self._reset_to(st.committed, "forked inside a transaction")
            self._end_transaction()
            raise StateError(f"{self.path}: this process was forked inside the "
                             "transaction; the child does not commit the parent's block "
                             "(nothing was written)")
        if st.failures != block.failures:
            # An earlier write this block built on failed and memory went back to the
            # durable version under it: committing now would write half a transaction.
            error = st.last_failure
            if st.dirty != block.dirty:
                self._reset_to(st.committed, "transaction built on a failed commit")
            self._end_transaction()
            raise CommitFailed(self._where, "writing an earlier commit this "
                               "transaction built on", error) from error
        if st.dirty == block.dirty:
            self._end_transaction()
            return False
        try:
            if self._schema is not None:
                self._schema.validate(st.root)
        except SchemaViolation:
            self._undo_level("transaction refused by the schema")
            self._end_transaction()
            raise
        ticket = self._queue_commit()
        st.txn_owner, st.undo = None, []
        st.cond.notify_all()
        if _hooks.current.hand_over(self._facade(), ticket):  # awaited off the event loop
            return True
        self._await(ticket)
        return False

    def _end_transaction(self) -> None:
        st = self._st
        st.txn_owner, st.txn_depth, st.undo = None, 0, []
        self._release_if_idle()
        st.open_batch.cond.notify()  # commits queued during the block may be written now
        st.cond.notify_all()
        self._write_orphans()  # queued before the block by threads since interrupted

    def _refuse_inside_a_change(self, call: str | None = None) -> None:
        """Raise when the caller is applying a change outside a transaction (from a sort key
        function) and makes a mutation (or ``call``: a reload, a close): its commit would be
        written with the other change half made, or lose it; a reload would take another
        writer's commit in under the change, which then overwrote it."""
        if self._st.applying is None or self._st.applying != _hooks.current.owner():
            return
        if call is not None:
            raise StateError(f"{self.path}: {call} was called while a change to the document "
                             "was being made (by a sort key function?); nothing was done. "
                             f"Call it before or after the change")
        raise StateError(f"{self.path}: the document was changed while another change to it "
                         "was being made (by a sort key function?); nothing was changed. "
                         "Make the change before or after, or do both in a transaction()")

    @contextlib.contextmanager
    def _write(self, node: Any) -> Iterator[None]:
        """The context of one mutation of ``node`` (the views call it)."""
        st = self._st
        replay = take_replay()
        with st.cond:
            self._check_open()
            if self.readonly:
                raise refuse_write(self.path)
            me = _hooks.current.owner()
            if st.txn_owner == me:
                self._note_change(node)
                yield
                st.dirty += 1
                return
            self._refuse_inside_a_change()
            _hooks.current.before_wait(self._facade())
            unlocked = self._wait_for_other_blocks(may_go_unlocked=not replay)
            if not unlocked and st.lock_first and not replay:
                st.lock_first -= 1
            try:
                if not unlocked and self._take_lock():
                    self._refresh_locked()
                self._check_attached(node)
            except BaseException:
                self._release_if_idle()
                raise
            saved = shallow(node) if self._schema is not None else None
            self._journal_list(node)
            st.applying = me
            try:
                yield
            except Exception:
                self._release_if_idle()
                if unlocked:  # memory may be older than the store: decide under the lock
                    raise Replay from None
                raise
            except BaseException:
                self._release_if_idle()
                raise
            finally:
                st.applying = None
            st.dirty += 1
            if self._schema is not None and saved is not None:
                try:
                    self._schema.validate(st.root)
                except SchemaViolation:
                    restore(node, saved)
                    self._release_if_idle()
                    if unlocked:
                        raise Replay from None
                    raise
            ticket = self._queue_commit()
            ticket.unlocked = unlocked
            self._await(ticket)
        self._dispatch()
