"""The worker threads of asyncio support, and the wait for a task's commit to be durable.

A task's transaction ends on the loop with its commit queued (``_aio``); making it durable is
the group commit's work, done in a thread. One worker per StateFile waits for every commit
its tasks handed over, as a thread waits for its own: it leads the write, or waits for the one
carrying the oldest of them, and then wakes, with one call into each loop, every task whose
commit that write carried. One thread and one wake-up of the loop per write, not per commit:
on a busy server the per-commit wake-ups of a thread per task were a fifth of the loop's time,
and every thread woken contends for the mutex the next blocks need.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ._engine_state import Ticket
    from ._statefile import StateFile

__all__ = ["durable", "pool"]

log = logging.getLogger("stateview")

_WORKERS = 64  # threads that begin transactions, refresh and open for tasks, and wait for writes
_IDLE = 0.001  # how long a worker with no commit to wait for stays for the next ones

_executor: ThreadPoolExecutor | None = None
_executor_guard = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """The worker threads. Not the loop's default executor: a program's own blocking calls
    must not hold up commits, nor ours its calls."""
    global _executor
    with _executor_guard:
        if _executor is None:
            _executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="stateview-aio")
        return _executor


class _Handed(NamedTuple):
    """A commit a task handed over, and the task's future for it."""

    ticket: Ticket
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None]


class _Waiter:
    """The commits handed over for one StateFile, and whether a worker is waiting for them.

    It holds no reference to its StateFile (it is the value of a weak mapping keyed by it).
    """

    def __init__(self) -> None:
        self.guard = threading.Lock()  # for ``handed`` and ``running``; taken after the mutex
        self.handed: list[_Handed] = []
        self.running = False

    def add(self, state: StateFile, handed: _Handed) -> None:
        with self.guard:
            self.handed.append(handed)
            if self.running:
                return
            self.running = True
        try:
            pool().submit(self.run, state)
        except RuntimeError:  # no thread can start (the interpreter is exiting): wait here
            self.run(state)

    def run(self, state: StateFile) -> None:
        while self._round(state):
            pass

    def _round(self, state: StateFile) -> bool:
        """Wait for the oldest commit handed over; settle every one that is done."""
        st = state._st
        with self.guard:
            idle = not self.handed
        if idle:
            # The tasks just woken are about to hand over their next commits: wait for them
            # here rather than leave and be started again, a thread wake-up more per write.
            # ``hand_over`` notifies the open batch once as many are queued as were
            # committing lately; fewer, and the wait ends after the linger.
            with st.cond:
                st.open_batch.cond.wait(_IDLE)
        with self.guard:
            if not self.handed:
                self.running = False
                return False
            oldest = self.handed[0]
        with st.cond:
            try:
                state._await(oldest.ticket)
            except BaseException as e:  # its write failed: settled below with the others
                if not oldest.ticket.done:  # not the ticket's own error: a bug, not a write
                    oldest.ticket.done, oldest.ticket.error = True, e
            # Batches are written in order: a write carries every commit queued before it.
            with self.guard:
                done = [h for h in self.handed if h.ticket.done]
                self.handed = [h for h in self.handed if not h.ticket.done]
            st.waiters -= len(done)  # the counts ``hand_over`` took for them
            outcomes = [(h.loop, h.future, h.ticket.error) for h in done]
        state._dispatch()  # change events before the tasks see their commits done
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for loop, future, error in outcomes:
            by_loop.setdefault(loop, []).append((future, error))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: no one is waiting
                loop.call_soon_threadsafe(_settle, state, settled)
        return True


_Outcome = tuple["asyncio.Future[None]", "BaseException | None"]
_waiters: weakref.WeakKeyDictionary[StateFile, _Waiter] = weakref.WeakKeyDictionary()
_waiters_guard = threading.Lock()


def _settle(state: StateFile, settled: list[_Outcome]) -> None:
    for future, error in settled:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
        elif error is not None:  # its task was cancelled while the commit was written
            log.warning("%s: the commit of a cancelled transaction failed: %s", state.path,
                        error)


async def durable(state: StateFile, ticket: Ticket) -> None:
    """Until the commit of ``ticket`` (handed over by ``hand_over``) is durable.

    Cancelled, the change (already part of the document) is written all the same, or fails
    and memory goes back for everyone, as for a thread interrupted during its write.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()
    with _waiters_guard:
        waiter = _waiters.get(state)
        if waiter is None:
            waiter = _waiters[state] = _Waiter()
    waiter.add(state, _Handed(ticket, loop, future))
    await future


def _forget_after_fork() -> None:
    global _executor, _executor_guard, _waiters, _waiters_guard
    _executor, _executor_guard = None, threading.Lock()  # the parent's threads are not here
    _waiters, _waiters_guard = weakref.WeakKeyDictionary(), threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)
