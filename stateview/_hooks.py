"""Where asyncio support (``stateview._aio``) plugs into the engine.

The defaults here are the engine without it. The first use of an ``async`` method installs
its subclass with :func:`install`, so that programs that never use asyncio never import it.
The engine's parts call ``_hooks.current`` at each use (docs/design.md, "Threads, processes
and fork").
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._engine_state import Ticket
    from ._statefile import StateFile

__all__ = ["Hooks", "current", "install"]


class Hooks:
    """The engine's hooks, as they behave without asyncio."""

    @staticmethod
    def owner() -> object:
        """Who a transaction opened now belongs to (and who is inside it): this thread.

        Unless an event loop runs in this thread: then asyncio support is installed (it is
        the task's, not the thread's), whether or not an ``async`` method was called yet. A
        blocking ``transaction()`` held across an ``await`` by one task, with the owner taken
        to be the loop's thread, would otherwise let every other task's mutation in.
        """
        aio = sys.modules.get("asyncio")  # not imported: no loop runs (and none is imported)
        if aio is not None and aio._get_running_loop() is not None:
            from . import _aio  # noqa: F401  # installs its hooks

            if current is not _BASE:
                return current.owner()
        return threading.get_ident()

    @staticmethod
    def runs_on(owner: object, thread: int) -> bool:
        """Whether a transaction's ``owner`` can only end in ``thread`` (its own)."""
        return owner == thread

    @staticmethod
    def before_wait(state: StateFile, instead: str | None = None) -> None:
        """Called (mutex held) before this thread may wait for another owner's transaction
        to end; may raise rather than wait forever, saying what to call ``instead``."""

    @staticmethod
    def hand_over(state: StateFile, ticket: Ticket) -> bool:
        """Called (mutex held) as a transaction's commit is queued: True when someone else
        awaits it, and the transaction returns at once."""
        return False

    @staticmethod
    def closed(state: StateFile) -> None:
        """Called once a StateFile is closed, without its mutex."""


_BASE = Hooks()
current: Hooks = _BASE


def install(hooks: Hooks) -> None:
    """Make ``hooks`` the engine's hooks from now on."""
    global current
    current = hooks
