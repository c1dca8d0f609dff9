"""asyncio support: opening, closing, refreshing and following a StateFile off the loop.

Each of these is the blocking call run in a worker thread (``_aio_workers.pool``), so that
reading a big file, waiting for the lock or for other writers' blocks and commits does not
hold up the loop's other tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import weakref
from typing import Any

from . import _statefile
from ._aio import gate_of, local, streams
from ._aio_workers import pool
from ._changes import ChangeEvent
from ._statefile import StateFile

__all__ = ["ChangeStream", "aclose", "aopen", "arefresh"]

_END = object()


class ChangeStream:
    """``async for event in state.changes():`` (see :meth:`StateFile.changes`).

    Subscribed when made, so that no commit made after ``changes()`` returns is missed;
    events wait in an unbounded queue until read. ``aclose()`` (or the StateFile's close)
    ends it; a stream dropped unread unsubscribes when collected.
    """

    def __init__(self, state: StateFile, poll: float | None) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._done = False
        self._unsubscribe = None
        if state._st.closed:
            self._queue.put_nowait(_END)
            return
        loop, queue = self._loop, self._queue

        def deliver(event: ChangeEvent) -> None:  # in whichever thread made the change
            with contextlib.suppress(RuntimeError):  # the loop is closed: no one is reading
                loop.call_soon_threadsafe(queue.put_nowait, event)

        self._unsubscribe = unsubscribe = state.on_change(deliver, poll=poll)
        weakref.finalize(self, unsubscribe)
        mine = streams.get(state)
        if mine is None:
            mine = streams[state] = weakref.WeakSet()
        mine.add(self)

    def __aiter__(self) -> ChangeStream:
        return self

    async def __anext__(self) -> ChangeEvent:
        if self._done:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is _END:
            await self.aclose()
            raise StopAsyncIteration
        return event  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """Stop receiving events."""
        self._done = True
        if self._unsubscribe is not None:
            self._unsubscribe()

    def _end(self) -> None:
        """The StateFile was closed (in any thread): end after the events already queued."""
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, _END)


async def arefresh(state: StateFile) -> bool:
    """See :meth:`StateFile.arefresh`."""
    task = asyncio.current_task()

    def refresh() -> bool:
        local.acting = task  # inside the task's own block, refresh() returns at once
        try:
            return state.refresh()
        finally:
            local.acting = None

    return await asyncio.get_running_loop().run_in_executor(pool(), refresh)


async def aopen(path: str | os.PathLike[str], **options: Any) -> StateFile:
    """See :func:`stateview.aopen`."""
    future = asyncio.get_running_loop().run_in_executor(
        pool(), functools.partial(_statefile.open, path, **options))
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(_close_unwanted)  # opened for no one: let go of it
        raise


def _close_unwanted(future: asyncio.Future[StateFile]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


async def aclose(state: StateFile) -> None:
    """See :meth:`StateFile.aclose`."""
    if state._st.closed:
        return
    state._refuse_inside_own_block("aclose()")
    loop = asyncio.get_running_loop()
    gate = gate_of(state, loop)
    # Holding the gate, this loop's tasks are out of their blocks (those in one end first)
    # and none begins while the close waits in a worker for other threads' and loops'
    # blocks and for every queued commit; once it is closed, they get Closed.
    await gate.acquire()
    later = False  # the gate opens when the close ends, not here
    try:
        future = loop.run_in_executor(pool(), state.close)
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            # The close goes on (it cannot be taken back halfway); the gate opens after it.
            future.add_done_callback(functools.partial(_opened_after, gate))
            later = True
            raise
    finally:
        if not later:
            gate.release()


def _opened_after(gate: asyncio.Lock, future: asyncio.Future[None]) -> None:
    gate.release()
    if not future.cancelled():
        future.exception()  # retrieved: its task, cancelled, cannot be told
