"""asyncio support: the engine's hooks for tasks, and the transactions a task awaits.

(Opening, closing, refreshing and change streams are in ``_aio_lifecycle``, the wait for a
commit to be durable in ``_aio_workers``.)

A task's transaction is the engine's ``transaction()``, driven in parts so that nothing that
can wait runs on the event loop:

1. **Begin.** On the loop when it cannot wait: no transaction is open, this StateFile already
   holds the file lock (so no one else can have committed: nothing to reload) and has not held
   it too long. Otherwise in a worker thread acting for the task.
2. **The block** runs on the loop. The transaction belongs to the *task*, not to the loop's
   thread (``_AioHooks.owner``): another task of the loop is not inside it.
3. **The end** runs on the loop: the commit is queued (or memory rolled back), which never
   waits, since the block's owner holds the lock and every other writer waits for it.
4. **Durability** is awaited in a worker thread, which joins the group commit as a thread
   would: it leads the write or waits for the one carrying the change (``_aio_workers``).

Tasks of one loop enter their transactions one at a time through an ``asyncio.Lock`` (the
*gate*), so that they queue on the loop rather than in threads. While the gate is closed a
blocking wait on that loop for the transaction would never end (the task that must finish it
runs on the blocked loop): ``_AioHooks.before_wait`` raises instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator
from typing import Any

from . import _group_commit, _hooks
from ._aio_workers import durable, pool
from ._engine_state import Ticket as _Ticket
from ._errors import StateError
from ._statefile import StateFile

__all__ = ["atransaction", "gate_of", "local", "streams"]


class _Local(threading.local):
    #: The task a worker thread is beginning a transaction (or refreshing) for.
    acting: object = None
    #: Set while a task's transaction ends on the loop: its queued commit is handed over here.
    handing: list[_Ticket] | None = None


#: What the running thread does for a task (read by ``_aio_lifecycle`` too).
local = _Local()
_gates: weakref.WeakKeyDictionary[
    StateFile, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
] = weakref.WeakKeyDictionary()
#: The change streams of each StateFile (``_aio_lifecycle.ChangeStream``), ended at its close.
streams: weakref.WeakKeyDictionary[StateFile, weakref.WeakSet[Any]] = weakref.WeakKeyDictionary()


class _AioHooks(_hooks.Hooks):
    """The engine's hooks once asyncio is in use (see ``_hooks.Hooks``)."""

    @staticmethod
    def owner() -> object:
        acting = local.acting
        if acting is not None:
            return acting
        if asyncio._get_running_loop() is not None:
            task = asyncio.current_task()
            if task is not None:
                return task
        return threading.get_ident()

    @staticmethod
    def runs_on(owner: object, thread: int) -> bool:
        if owner == thread:
            return True
        if not isinstance(owner, asyncio.Future) or thread != threading.get_ident():
            return False
        return owner.get_loop() is asyncio._get_running_loop()  # a task of this thread's loop

    @staticmethod
    def before_wait(state: StateFile, instead: str | None = None) -> None:
        loop = asyncio._get_running_loop()
        if loop is None or local.acting is not None:  # a worker, or a begin that never waits
            return
        gates = _gates.get(state)
        gate = gates.get(loop) if gates is not None else None
        owner = state._st.txn_owner
        if (gate is not None and gate.locked()) or _of_loop(owner, loop):
            raise StateError(
                f"{state.path}: another task of this event loop is in a transaction; waiting "
                "for it here would block the loop that task needs to finish. "
                + (instead or "Make this change inside `async with state.atransaction()`."))
        if owner == threading.get_ident():
            raise _opened_by_the_loops_thread(state)

    @staticmethod
    def hand_over(state: StateFile, ticket: _Ticket) -> bool:
        handing = local.handing
        if handing is None:
            return False
        # Counted as waited for from now on: otherwise, until the worker starts waiting, the
        # engine could take it for a commit whose thread was interrupted, and write it.
        state._st.waiters += 1
        handing.append(ticket)
        if len(state._st.pending) >= max(state._st.committers, default=1):
            # As many are queued as were committing lately: where a thread would lead the
            # write now, end the wait of the workers already lingering for others to join.
            ticket.batch.cond.notify()
        return True

    @staticmethod
    def closed(state: StateFile) -> None:
        for stream in list(streams.get(state, ())):
            stream._end()


_hooks.install(_AioHooks())


def _of_loop(owner: object, loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a transaction's owner is a task of ``loop``."""
    return isinstance(owner, asyncio.Future) and owner.get_loop() is loop


def _opened_by_the_loops_thread(state: StateFile) -> StateError:
    return StateError(
        f"{state.path}: this thread opened a transaction outside any task, and now runs an "
        "event loop whose task would wait for it: the transaction can only end once the "
        "loop returns. End the blocking `transaction()` before the loop runs, or use "
        "`async with state.atransaction()` in the task.")


def _refuse_block_held_across_await(state: StateFile, loop: asyncio.AbstractEventLoop) -> None:
    """Raise when another task of ``loop`` holds a blocking ``transaction()`` (the caller
    holds the gate: a task's ``atransaction`` cannot be open).

    Waiting for it would not hang by itself, but its end would: its commit is awaited on the
    loop, blocking it, and would wait for this task's block, which needs the loop to end.
    """
    owner = state._st.txn_owner
    if _of_loop(owner, loop):
        raise StateError(
            f"{state.path}: another task of this event loop holds a blocking "
            "`transaction()` across an `await`; this block would wait for it, and once it "
            "ended its commit would block the loop this block needs. A transaction that "
            "awaits inside must be `async with state.atransaction()`.")
    if owner == threading.get_ident():
        raise _opened_by_the_loops_thread(state)


def gate_of(state: StateFile, loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
    """The gate of ``loop`` for ``state``: its tasks hold it from their begin to their end."""
    gates = _gates.get(state)
    if gates is None:
        gates = _gates[state] = weakref.WeakKeyDictionary()
    gate = gates.get(loop)
    if gate is None:
        gate = gates[loop] = asyncio.Lock()
    return gate


# -- atransaction ------------------------------------------------------------------------------

_NOT_HERE = object()


@contextlib.asynccontextmanager
async def atransaction(state: StateFile) -> AsyncIterator[Any]:
    """See :meth:`StateFile.atransaction`."""
    task = asyncio.current_task()
    if task is None:
        raise RuntimeError("atransaction() runs in an asyncio task")
    if state._st.txn_owner is task:  # nested: the task already holds everything (never waits)
        with state.transaction() as root:
            yield root
        return
    loop = asyncio.get_running_loop()
    gate = gate_of(state, loop)
    await gate.acquire()
    opened = True  # this frame releases the gate (unless a worker still needs it closed)
    try:
        _refuse_block_held_across_await(state, loop)
        cm = state.transaction()
        root = _begin_here(state, cm, task)
        if root is _NOT_HERE:
            begin = _Begin(cm, task)
            try:
                root = await begin.in_worker(loop)
            except asyncio.CancelledError:
                opened = not begin.hand_gate(gate)
                raise
        try:
            yield root
        except BaseException as e:
            if not cm.__exit__(type(e), e, e.__traceback__):
                raise
            return
        ticket = _end(cm)
    finally:
        if opened:
            gate.release()
    if ticket is not None:
        await durable(state, ticket)


def _begin_here(state: StateFile, cm: contextlib.AbstractContextManager[Any],
                task: asyncio.Task[Any]) -> Any:
    """Begin on the loop when nothing in the begin can wait; else ``_NOT_HERE``."""
    if not state._st.mutex.acquire(blocking=False):
        return _NOT_HERE
    try:
        if (state._st.txn_owner is not None or not state._st.lock_held or state._st.closed
                or (not state.exclusive
                    and time.monotonic() - state._st.lock_since >= _group_commit._HOG_SECONDS)):
            return _NOT_HERE
        local.acting = task
        try:
            return cm.__enter__()
        finally:
            local.acting = None
    finally:
        state._st.mutex.release()


class _Begin:
    """A begin in a worker thread, and who ends the transaction if the task is cancelled."""

    def __init__(self, cm: contextlib.AbstractContextManager[Any], task: asyncio.Task[Any]):
        self.cm, self.task = cm, task
        self.guard = threading.Lock()
        self.owned = False  # the task has the transaction; it ends it
        self.abandoned = False  # the task was cancelled first; the worker ends it
        self.future: asyncio.Future[Any] | None = None

    def run(self) -> Any:
        local.acting = self.task
        try:
            root = self.cm.__enter__()
        finally:
            local.acting = None
        with self.guard:
            self.owned = not self.abandoned
        if not self.owned:
            cancelled = asyncio.CancelledError()
            self.cm.__exit__(type(cancelled), cancelled, None)  # nothing changed: just ends
        return root

    async def in_worker(self, loop: asyncio.AbstractEventLoop) -> Any:
        self.future = loop.run_in_executor(pool(), self.run)
        try:
            return await asyncio.shield(self.future)
        except asyncio.CancelledError as e:
            with self.guard:
                owned = self.owned
                self.abandoned = not owned
            if owned:
                self.cm.__exit__(type(e), e, e.__traceback__)
            raise

    def hand_gate(self, gate: asyncio.Lock) -> bool:
        """After a cancellation: whether the worker reopens the gate. It may still get the
        transaction, for a task that is gone; until it has ended it, the gate stays closed,
        as it is while any task of the loop holds one."""
        if not self.abandoned or self.future is None:
            return False
        self.future.add_done_callback(lambda _: gate.release())
        return True


def _end(cm: contextlib.AbstractContextManager[Any]) -> _Ticket | None:
    """End the block on the loop; the queued commit, if it changed anything."""
    handed: list[_Ticket] = []
    local.handing = handed
    try:
        cm.__exit__(None, None, None)
    finally:
        local.handing = None
    return handed[0] if handed else None
