"""Where the live view's versions come from: a state file, or a database document.

The app asks the same four things of both: a watcher that calls back when there may be a new
version, the status bar's facts, why a commit would be refused, and what a commit opens. A
file is polled (:class:`~stateview.tui._watch.FileWatcher`, the lock record, the mount); a
``postgresql://`` document is pushed by the store (:mod:`~stateview.tui._store_source`).

No Textual here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._paths import StatePaths
from .._postgres import is_store_url, parse_url
from ._load import FileStatus
from ._store_source import StoreStatusReader, StoreWatcher, open_store
from ._watch import FileWatcher, Signature

if TYPE_CHECKING:
    from .._postgres import PostgresStore

__all__ = ["Source", "open_source"]


@dataclass
class Source:
    """What the view watches.

    Attributes:
        target: what a commit opens and the reader process reads: the file's path as given
            (absolute), or the URL.
        name: the document's short name (the tree's root, the status bar's default).
        paths: the file's names; ``None`` for a database document.
        watcher: calls back on its own thread when there may be a new version.
        read_status: the status bar's facts (size and lock, or server, version and writer).
        write_problem: why a commit would be refused now, or ``None``.
        store: the database document's store (its listener), closed with the source.
    """

    target: str
    name: str
    paths: StatePaths | None
    watcher: FileWatcher
    read_status: Callable[[], FileStatus]
    write_problem: Callable[[], str | None]
    store: PostgresStore | None = None

    def close(self) -> None:
        """Stop watching; a database document's connections go too."""
        self.watcher.stop()
        if self.store is not None:
            self.store.close()


def open_source(
    path: str | os.PathLike[str],
    on_change: Callable[[Signature], None],
    on_waiting: Callable[[int], None],
    status_reader: Callable[[StatePaths], FileStatus],
    write_checker: Callable[[StatePaths], str | None],
    poll_interval: float,
) -> Source:
    """The source ``path`` names (not started: the app starts its watcher once mounted)."""
    given = os.fspath(path)
    if is_store_url(given):
        store = open_store(given)
        status = StoreStatusReader(store)
        return Source(given, parse_url(given).document, None,
                      StoreWatcher(store, on_change, on_waiting), status.read,
                      lambda: status.write_problem, store)
    paths = StatePaths.of(path)
    return Source(paths.given, os.path.basename(paths.given), paths,
                  FileWatcher(paths.target, paths.lock, on_change, poll_interval, on_waiting),
                  lambda: status_reader(paths), lambda: write_checker(paths))
