"""The asyncio face of a StateFile: its ``async`` methods, and :func:`aopen`.

Only the names live here; the work is in ``_aio``, imported on first use, so that a program
that never uses asyncio does not import it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from ._opening import UNSET as _UNSET
from .types import JSONInput, Node

if TYPE_CHECKING:
    from ._statefile import ChangeEvent, StateFile

__all__ = ["AsyncMethods", "aopen"]


class AsyncMethods:
    """The methods an asyncio program awaits instead of the blocking ones."""

    def atransaction(self) -> AbstractAsyncContextManager[Node]:
        """``async with state.atransaction() as root:``, the serializable transaction of
        :meth:`StateFile.transaction` for a task.

        Waiting for other writers and for the lock, and making the commit durable, happen
        off the event loop; the block runs on the loop (it only touches memory). Tasks that
        commit at the same time share writes with each other and with threads. The block
        returns once its own change is durable, or raises as :meth:`transaction` would.

        Cancelled before the block, nothing happened; cancelled inside the block, memory goes
        back to where it began; cancelled while its commit is being made durable, the change
        is already part of the document and is written all the same, as it would be for a
        thread interrupted during its write.

        While one task of a loop is in an ``atransaction``, a plain mutation (or a blocking
        ``transaction()``, ``refresh()``, ``close()``) from another task of that loop would
        have to wait on the loop for it; it raises :class:`StateError` instead. So does an
        ``atransaction`` while another task of the loop holds a blocking ``transaction()``
        across an ``await`` (the end of that block would wait on the loop for this one).
        """
        from ._aio import atransaction

        return atransaction(self._as_statefile())

    def changes(self, *, poll: float | None = 0.1) -> AsyncIterator[ChangeEvent]:
        """``async for event in state.changes():`` every :class:`ChangeEvent` from now on.

        This program's commits and, with ``poll`` (seconds), other processes' commits noticed
        by watching the file. The iteration ends when the StateFile is closed.
        """
        from ._aio_lifecycle import ChangeStream

        return ChangeStream(self._as_statefile(), poll)

    async def arefresh(self) -> bool:
        """:meth:`StateFile.refresh` off the event loop. Returns whether anything changed."""
        from ._aio_lifecycle import arefresh

        return await arefresh(self._as_statefile())

    async def aclose(self) -> None:
        """:meth:`StateFile.close` without blocking the event loop.

        Waits, off the loop, until the tasks of this loop in an :meth:`atransaction` have
        ended their blocks, other threads' and loops' transactions have ended, and every
        queued commit is durable (or failed); then releases the lock and ends the change
        streams. A task of this loop that tries to begin a transaction meanwhile gets
        :class:`Closed` once it is closed. Cancelled, the close still completes.

        (A blocking :meth:`close` from a task while another task of the loop is in an
        ``atransaction`` raises :class:`StateError` instead: it would wait on the loop for a
        block that needs the loop.)
        """
        from ._aio_lifecycle import aclose

        await aclose(self._as_statefile())

    async def __aenter__(self) -> StateFile:
        """``async with await stateview.aopen(...) as state:`` closes with :meth:`aclose`."""
        return self._as_statefile()

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _as_statefile(self) -> StateFile:
        return self  # type: ignore[return-value]  # only StateFile mixes this in


async def aopen(
    path: str | os.PathLike[str],
    default: JSONInput = _UNSET,
    schema: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    backups: int = 1,
    exclusive: bool = False,
    *,
    lock_timeout: float = 10.0,
) -> StateFile:
    """:func:`stateview.open` off the event loop: reading a big file, checking it against its
    schema and waiting for the lock do not hold up other tasks. Same arguments and errors."""
    from ._aio_lifecycle import aopen as _aopen

    return await _aopen(path, default=default, schema=schema, backups=backups,
                        exclusive=exclusive, lock_timeout=lock_timeout)
