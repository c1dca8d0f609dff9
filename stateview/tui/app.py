"""The live view of a state file, ``stateview FILE``, or of a database document, ``stateview URL``.

Threads: a :class:`~stateview.tui._watch.FileWatcher` thread polls the file and its lock and
has a child process (:mod:`~stateview.tui._childreader`) read, parse and diff each new version,
while the UI shows the previous one; it posts the result to the app as a message once that one
is on screen, so commits that come faster than the screen can follow are skipped, not queued. A
second thread checks the newest version against the schema. The UI thread only patches the
changed rows of the tree. Searches and edits run on worker threads too: nothing on the UI
thread reads the file or walks the whole document. What those threads post, and how it
reaches the screen, is :mod:`~stateview.tui._live`; this module puts the view together.

A ``postgresql://...#DOC`` URL is watched the same way, with the store's ``LISTEN``/``NOTIFY``
in place of the ``stat`` polls (:mod:`~stateview.tui._store_source`); edits open a StateFile
on the URL, so they are the same compare-and-set transactions as on a file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from .._paths import StatePaths
from .._schema import Schema
from ._childreader import ChildReader
from ._live import LiveView
from ._load import FileStatus, LatestOnly, read_status
from ._lognotice import NoticeHandler
from ._model import Match
from ._source import open_source
from ._writable import write_problem
from .widgets.banner import Banner, PauseBanner
from .widgets.details import DetailsPane
from .widgets.feed import ChangeFeed
from .widgets.status import StatusBar
from .widgets.tree import JsonTree

__all__ = ["StateViewApp"]

LOCK_RECHECK_SECONDS = 1.0
"""How often the lock holder is looked at again even when no file changed."""


class StateViewApp(LiveView):
    """A live tree of one state file, with details, a change feed and guarded edits."""

    CSS_PATH = "app.tcss"
    TITLE = "stateview"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", tooltip="List every key binding"),
        Binding("g", "goto", "Go to", tooltip="Go to a JSON Pointer typed in an input"),
        Binding("slash", "search", "Search", tooltip="Search keys and values"),
        Binding("n", "next_match", "Next", show=False, tooltip="Next search match"),
        Binding("N", "next_match(-1)", "Previous", show=False,
                tooltip="Previous search match"),
        Binding("e", "edit", "Edit", tooltip="Edit the selected value (one compare-and-set "
                "commit)"),
        Binding("a", "add", "Add", tooltip="Add a key to the selected object, or an item "
                "after the selected one"),
        Binding("r", "rename", "Rename", show=False,
                tooltip="Rename the selected key, keeping its place"),
        Binding("d", "delete", "Delete", tooltip="Delete the selected value (asks first)"),
        Binding("u", "undo", "Undo", tooltip="Undo this session's last commit "
                "(compare-and-set)"),
        Binding("ctrl+r", "redo", "Redo", show=False,
                tooltip="Redo the last undone commit (compare-and-set)"),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | q | Quit. |
    | ? | List every key binding. |
    | g | Go to a JSON Pointer typed in an input. |
    | / , n , N | Search keys and values; next and previous match. |
    | e , a , r , d | Edit / add / rename / delete: each one compare-and-set commit. |
    | u , ctrl+r | Undo / redo this session's last commit (compare-and-set). |
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        schema: Schema | None = None,
        *,
        readonly: bool = False,
        display_name: str | None = None,
        clock: Callable[[], datetime] = datetime.now,
        status_reader: Callable[[StatePaths], FileStatus] = read_status,
        write_checker: Callable[[StatePaths], str | None] = write_problem,
        highlight_seconds: float = 2.0,
        poll_interval: float = 0.05,
    ) -> None:
        """Watch ``path``.

        Args:
            path: the state file, or a ``postgresql://...#DOC`` URL.
            schema: its schema, for the details pane, the verdict and edits.
            readonly: refuse edits (``--readonly``).
            display_name: the name in the status bar (default: the path as given).
            clock: the time stamped on change feed lines (tests inject a fixed one).
            status_reader: reads size and lock state (tests inject a fixed one).
            write_checker: says why this process could not commit (read-only mount ...).
            highlight_seconds: how long changed nodes stay highlighted.
            poll_interval: seconds between two ``stat`` polls of the file and its lock.
        """
        super().__init__()
        self.source = open_source(path, self._on_file_change, self._on_waiting, status_reader,
                                  write_checker, poll_interval)
        self.paths = self.source.paths
        """The file's names (``None`` for a database document)."""
        self.target = self.source.target
        self.schema = schema
        self.readonly = readonly
        self.display_name = display_name or (
            self.source.name if self.paths is None else os.fspath(path))
        self.clock = clock
        self.highlight_seconds = highlight_seconds
        self.matches: list[Match] = []
        self._match = -1
        self._child = ChildReader(self.target)
        self._watcher = self.source.watcher
        self._read_status = self.source.read_status
        self._write_problem = self.source.write_problem
        self._checker = LatestOnly(self._check_schema, f"stateview-tui-schema {path}")

    def compose(self) -> ComposeResult:
        yield Banner(id="banner")
        yield PauseBanner(id="paused")
        with Horizontal(id="main"):
            yield JsonTree(id="tree")
            with Vertical(id="side"):
                yield DetailsPane(id="details")
                yield ChangeFeed(id="feed")
        yield StatusBar(self.display_name, id="status")
        yield Footer()

    def on_mount(self) -> None:
        tree = self.query_one(JsonTree)
        tree.root_name = self.source.name
        tree.focus()
        self.query_one(StatusBar).schema_text = "checking…" if self.schema else "no schema"
        self.query_one(DetailsPane).show_message(f"reading the {self.noun}…")
        self._watcher.start()
        if self.schema is not None:
            self._checker.start()
        # A lock holder can die without touching the file or its lock record (SIGKILL
        # leaves the record saying "held"): only a look at the holder's pid tells.
        self.set_interval(LOCK_RECHECK_SECONDS, self._recheck_lock, name="recheck-lock")
        self._notices = NoticeHandler(self, asyncio.get_running_loop())
        self._notices.install()

    def on_unmount(self) -> None:
        self._notices.remove()
        self.source.close()
        self._checker.stop()
        self._child.close()

    # -- public methods ------------------------------------------------------------------

    @property
    def noun(self) -> str:
        """What the view shows, in messages: the file, or the (database) document."""
        return "file" if self.paths is not None else "document"

    @property
    def readonly_reason(self) -> str | None:
        """Why edits are refused now, or ``None``."""
        if self.readonly:
            return "opened with --readonly"
        if self.write_problem is not None:
            return self.write_problem
        if self.status is not None and self.status.exclusive_other:
            holder = self.status.holder
            return (f"pid {holder.get('pid')} holds the lock exclusively; editing resumes "
                    "when it lets go")
        if self.status is not None and self.status.error is not None:
            return "the server cannot be reached (see the banner); editing resumes when it is back"
        if self.broken is not None:
            what = ("missing" if self.broken.missing else
                    "not valid JSON" if self.broken.error is not None else "unreadable")
            return (f"the {self.noun} is {what} (see the banner); editing resumes once it is "
                    "good")
        return None
