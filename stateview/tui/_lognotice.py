"""The engine's warnings as notices in the UI.

The engine logs to the ``stateview`` logger. With no handler configured, Python's last-resort
handler writes WARNING records to ``sys.stderr``, which Textual captures while the app runs and
drops (or, around a suspend for ``$EDITOR``, writes over the screen): either way the operator
never reads "the lock record could not be written". While the app runs, this handler shows
each such record as a warning notice instead.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

__all__ = ["NoticeHandler"]


class NoticeHandler(logging.Handler):
    """Shows log records as notices of ``app``; from any thread, never blocking the caller."""

    def __init__(self, app: App[Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.WARNING)
        self.app = app
        self.loop = loop
        self.thread = threading.get_ident()
        self.propagated = True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            severity: SeverityLevel = "error" if record.levelno >= logging.ERROR else "warning"
            if threading.get_ident() == self.thread:
                self._notify(message, severity)
            else:
                # Not call_from_thread: it waits for the app, and a worker logging while the
                # app shuts down would wait for ever.
                self.loop.call_soon_threadsafe(self._notify, message, severity)
        except RuntimeError:
            pass  # the loop is closed: the app is gone, and so is the screen to show it on
        except Exception:
            self.handleError(record)

    def _notify(self, message: str, severity: SeverityLevel) -> None:
        self.app.notify(message, title="stateview engine", severity=severity, timeout=10)

    def install(self) -> None:
        """Show the records as notices, and only so: a handler further up (the CLI's
        ``basicConfig``) holds the real stderr and would write them over the screen."""
        logger = logging.getLogger("stateview")
        self.propagated = logger.propagate
        logger.addHandler(self)
        logger.propagate = False

    def remove(self) -> None:
        logger = logging.getLogger("stateview")
        logger.removeHandler(self)
        logger.propagate = self.propagated
