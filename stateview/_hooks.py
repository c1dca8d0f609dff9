"""Where asyncio support (``stateview._aio``) plugs into the engine.

The defaults here are the engine without it. The first use of an ``async`` method installs
its subclass with :func:`install`, so that programs that never use asyncio never import it.
The engine's parts call ``_hooks.current`` at each use (docs/design.md, "Threads, processes
and fork").
"""

from __future__ import annotations

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
        """Who a transaction opened now belongs to (and who is inside it): this thread."""
        return threading.get_ident()

    @staticmethod
    def before_wait(state: StateFile) -> None:
        """Called (mutex held) before this thread may wait for another owner's transaction
        to end; may raise rather than wait forever."""

    @staticmethod
    def hand_over(state: StateFile, ticket: Ticket) -> bool:
        """Called (mutex held) as a transaction's commit is queued: True when someone else
        awaits it, and the transaction returns at once."""
        return False

    @staticmethod
    def closed(state: StateFile) -> None:
        """Called once a StateFile is closed, without its mutex."""


current: Hooks = Hooks()


def install(hooks: Hooks) -> None:
    """Make ``hooks`` the engine's hooks from now on."""
    global current
    current = hooks
