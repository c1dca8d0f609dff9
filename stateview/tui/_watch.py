"""Watching a state file for other processes' commits, by polling ``stat``.

A commit replaces the file by an atomic rename, so the inode we would watch with an open
descriptor (or an inotify watch on the file) is the old one: it never changes again. Polling
``os.stat`` of the *path* sees the new inode at once; the lock file is polled too, because
it changes when a writer takes or releases the lock (the status bar shows that) and its
``last_commit`` record changes with every commit, even one that rewrites identical bytes.

The watcher never runs more than one version ahead of the screen: before handing a new
version to the UI, the callback waits (:meth:`FileWatcher.hold`) until the UI has shown the
previous one. Commits made meanwhile are not read one by one; the next poll reads whatever is
newest. So a burst of commits costs one parse for the version being shown and one for the
newest, never a queue of documents.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

__all__ = ["FileWatcher", "Signature", "signature"]

log = logging.getLogger("stateview")

Signature = tuple[tuple[int, int, int, int] | None, tuple[int, int, int, int] | None]


def _stat_id(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def signature(path: str, lock_path: str) -> Signature:
    """What identifies the current version of the file and of its lock record."""
    return (_stat_id(path), _stat_id(lock_path))


class FileWatcher:
    """Calls ``on_change(signature)`` on its own thread whenever the file or lock changes.

    The first call comes at once (the initial load goes the same way as every reload). The
    callback runs on the watcher thread; it is expected to do the slow part (read, parse,
    diff) there and hand the result to the UI thread.
    """

    def __init__(
        self,
        path: str,
        lock_path: str,
        on_change: Callable[[Signature], None],
        interval: float = 0.05,
        on_waiting: Callable[[int], None] | None = None,
    ) -> None:
        """Watch ``path`` and ``lock_path``.

        Args:
            path: the state file.
            lock_path: its lock file.
            on_change: called on the watcher thread with the new signature.
            interval: seconds between two polls.
            on_waiting: while paused, called with how many new versions of the file were
                seen since the pause, each time one more is seen.
        """
        self.path = path
        self.lock_path = lock_path
        self.interval = interval
        self._on_change = on_change
        self._on_waiting = on_waiting
        self._paused = False
        self._waiting = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stateview-tui-watch {path}",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        """Check again now, even if nothing seems to have changed (after our own edit)."""
        self._wake.set()

    def pause(self) -> None:
        """Stop reading new versions (they are only counted) until :meth:`resume`."""
        self._waiting = 0
        self._paused = True

    def resume(self) -> None:
        """Read the newest version now and follow the file again."""
        self._paused = False
        self.poke()

    def hold(self, until: threading.Event) -> bool:
        """On the watcher thread: wait until ``until`` is set; ``False`` if stopped first."""
        while not until.wait(0.05):
            if self._stop.is_set():
                return False
        return True

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        last: Signature | None = None
        while not self._stop.is_set():
            current = signature(self.path, self.lock_path)
            forced = self._wake.is_set()
            self._wake.clear()
            if self._paused:  # even a poke (after our own edit) waits for resume()
                if last is not None and current[0] != last[0]:
                    self._waiting += 1
                    if self._on_waiting is not None:
                        self._on_waiting(self._waiting)
                last = current
            elif current != last or forced:
                last = current
                try:
                    self._on_change(current)
                except Exception:  # the next version may be fine: keep watching
                    log.exception("%s: handling a change failed", self.path)
            self._wake.wait(self.interval)
