"""The live view of a state file, ``stateview FILE``, or of a database document, ``stateview URL``.

Threads: a :class:`~stateview.tui._watch.FileWatcher` thread polls the file and its lock and
has a child process (:mod:`~stateview.tui._childreader`) read, parse and diff each new version,
while the UI shows the previous one; it posts the result to the app as a message once that one
is on screen, so commits that come faster than the screen can follow are skipped, not queued. A
second thread checks the newest version against the schema. The UI thread only patches the
changed rows of the tree. Searches and edits run on worker threads too: nothing on the UI
thread reads the file or walks the whole document.

A ``postgresql://...#DOC`` URL is watched the same way, with the store's ``LISTEN``/``NOTIFY``
in place of the ``stat`` polls (:mod:`~stateview.tui._store_source`); edits open a StateFile
on the URL, so they are the same compare-and-set transactions as on a file.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Footer, Tree

from .._jsontext import join_pointer
from .._paths import StatePaths
from .._schema import Schema, SchemaIssue
from ._childreader import ChildReader
from ._load import Broken, FileStatus, LatestOnly, Loaded, read_status, schema_issues
from ._lognotice import NoticeHandler
from ._model import Key, Match
from ._navigate import Navigation
from ._offer import recovery_offer
from ._source import open_source
from ._watch import Signature
from ._writable import write_problem
from .screens.recovery import RecoveryScreen
from .widgets.banner import Banner, PauseBanner
from .widgets.details import DetailsPane
from .widgets.feed import ChangeFeed
from .widgets.status import StatusBar
from .widgets.tree import Entry, JsonTree

__all__ = ["StateViewApp"]

LOCK_RECHECK_SECONDS = 1.0
"""How often the lock holder is looked at again even when no file changed."""


class StateViewApp(Navigation):
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

    class FileRead(Message):
        """The watcher read the file and its lock (posted from the watcher thread)."""

        def __init__(self, status: FileStatus, outcome: Loaded | Broken | None,
                     write_problem: str | None = None) -> None:
            super().__init__()
            self.status = status
            self.outcome = outcome
            self.write_problem = write_problem

    class LockChecked(Message):
        """The file's status, read again by the timer (posted from a worker thread)."""

        def __init__(self, status: FileStatus) -> None:
            super().__init__()
            self.status = status

    class CommitsWaiting(Message):
        """While paused: how many new versions the watcher has seen (from its thread)."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    class SchemaChecked(Message):
        """The schema verdict on one version of the document (posted after FileRead)."""

        def __init__(self, document: Any, issues: dict[str, list[SchemaIssue]]) -> None:
            super().__init__()
            self.document = document
            self.issues = issues

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
        self.status: FileStatus | None = None
        self.issues: dict[str, list[SchemaIssue]] = {}
        self.broken: Broken | None = None
        self.loads = 0
        """How many versions of the document have been shown (tests wait on it)."""
        self.matches: list[Match] = []
        self._match = -1
        self.write_problem: str | None = None
        """Why this process cannot commit to the file (read-only mount, permissions)."""
        self._child = ChildReader(self.target)
        self._watcher = self.source.watcher
        self._read_status = self.source.read_status
        self._write_problem = self.source.write_problem
        self._shown = threading.Event()
        """Set by the UI thread once the version handed to it is on screen."""
        self._shown.set()
        self._offered_recovery = False
        self._unreachable = False
        """The banner says the server cannot be reached (a database document only)."""
        self._highlights: dict[tuple[Key, ...], float] = {}
        self._highlight_timer: Timer | None = None
        """The one timer that clears the next highlight to expire."""
        self._details_shown: tuple[Any, ...] | None = None
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
    def json_tree_mounted(self) -> bool:
        """The main screen is up (a message from a thread may arrive while closing)."""
        return bool(self.screen_stack) and bool(self.screen_stack[0].query(JsonTree))

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

    # -- the watcher thread --------------------------------------------------------------

    def _on_file_change(self, _signature: Signature) -> None:
        outcome = self._child.read()  # parsed while the UI may still show the previous one
        # After the read: a commit names itself in the lock file before its rename, so the
        # record read now names the version just read, or a later one (never an earlier).
        status = self._read_status()
        if isinstance(outcome, Loaded):
            # One version in flight at a time: wait until the previous one is on screen.
            # Commits made meanwhile are not read one by one; the next read gets the newest.
            if not self._watcher.hold(self._shown):
                return
            self._shown.clear()
        self.post_message(self.FileRead(status, outcome, self._write_problem()))

    def _on_waiting(self, count: int) -> None:
        self.post_message(self.CommitsWaiting(count))

    @work(thread=True, exclusive=True, group="lock")
    def _recheck_lock(self) -> None:
        self.post_message(self.LockChecked(self._read_status()))

    def _check_schema(self, document: Any) -> None:
        """On the checker thread: the schema verdict on one version."""
        issues = schema_issues(self.schema, document) or {}
        self.post_message(self.SchemaChecked(document, issues))

    # -- message handlers ----------------------------------------------------------------

    def on_state_view_app_file_read(self, message: FileRead) -> None:
        try:
            if self.json_tree_mounted:
                self._file_read(message)
        finally:
            if isinstance(message.outcome, Loaded):
                self._shown.set()

    def _file_read(self, message: FileRead) -> None:
        self.status = message.status
        self.write_problem = message.write_problem
        outcome = message.outcome
        tree = self.json_tree
        if isinstance(outcome, Loaded):
            self.broken = None
            self.query_one(Banner).hide()
            if outcome.first or tree.document is None:
                tree.set_document(outcome.document)
            else:
                tree.patch(outcome.document, outcome.changes, outcome.complete)
            self.loads += 1
            if self.schema is not None:
                self.query_one(StatusBar).schema_text = "checking…"
                self._checker.submit(outcome.document)
            if outcome.changes:
                expires = time.monotonic() + self.highlight_seconds
                self._highlights.update((c.path, expires) for c in outcome.changes)
                self._update_highlight()
                last = outcome.writer or message.status.last_commit
                own = self.own_changes([c.path for c in outcome.changes], outcome.document)
                self.query_one(ChangeFeed).add(outcome.changes, self.clock(),
                                               last.get("pid"), last.get("program"), own)
            self._show_details()
        elif isinstance(outcome, Broken):
            self.broken = outcome
            have_tree = tree.document is not None
            self.query_one(Banner).show_problem(outcome, have_tree)
            if not have_tree:
                self.query_one(DetailsPane).show_message(f"no good version of the {self.noun} "
                                                         "yet")
                self._details_shown = None
                if not self._offered_recovery and self.paths is not None:
                    self._offered_recovery = True
                    offer = recovery_offer(self.paths, outcome, self.schema)
                    self.push_screen(RecoveryScreen(offer))
            if self.schema is not None:
                self.query_one(StatusBar).schema_text = (
                    f"not checked ({self.noun} missing)" if outcome.missing
                    else f"not checked ({self.noun} unreadable)")
        self._show_status(message.status)

    def _show_status(self, status: FileStatus) -> None:
        self.status = status
        banner = self.query_one(Banner)
        if status.error is not None:
            self._unreachable = True
            banner.show_unreachable(status.error, self.json_tree.document is not None)
        elif self._unreachable:
            self._unreachable = False
            if self.broken is None:
                banner.hide()
            self._watcher.poke()  # read what was committed while we could not listen
        bar = self.query_one(StatusBar)
        bar.file_status = status
        bar.readonly_reason = self.readonly_reason

    def on_state_view_app_lock_checked(self, message: LockChecked) -> None:
        if self.json_tree_mounted:
            self._show_status(message.status)

    def on_state_view_app_commits_waiting(self, message: CommitsWaiting) -> None:
        if self.paused and self.json_tree_mounted:
            self.query_one(PauseBanner).show_waiting(message.count)

    def on_state_view_app_schema_checked(self, message: SchemaChecked) -> None:
        if not self.json_tree_mounted or self.broken is not None \
                or message.document is not self.json_tree.document:
            return  # a newer version is on screen (its verdict follows), or none is good
        self.issues = message.issues
        count = sum(len(v) for v in message.issues.values())
        self.query_one(StatusBar).schema_text = (
            "valid" if not count else f"{count} error{'s' if count != 1 else ''}")
        self._show_details()

    def _update_highlight(self) -> None:
        """Highlight the changes of the last ``highlight_seconds``, over several reloads."""
        if not self.json_tree_mounted:
            return  # the timer outlived the screen (the app is closing)
        now = time.monotonic()
        self._highlights = {p: t for p, t in self._highlights.items() if t > now}
        self.json_tree.highlight(self._highlights)
        # One timer, not one more per version: each would re-arm itself while a busy writer
        # keeps some highlight alive, and thousands fired a second, starving the keys.
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
            self._highlight_timer = None
        if self._highlights:
            due = min(self._highlights.values()) - now + 0.01
            self._highlight_timer = self.set_timer(due, self._update_highlight,
                                                   name="expire-highlight")

    @on(Tree.NodeHighlighted)
    def _node_highlighted(self) -> None:
        self._show_details()

    def _show_details(self) -> None:
        if not self.json_tree_mounted:
            return
        node = self.json_tree.cursor_node
        if node is None or node.data is None or node.data.more:
            return
        entry: Entry = node.data
        issues = self.issues.get(join_pointer(entry.path), [])
        shown = (entry.path, entry.value, issues)
        if self._details_shown is not None and shown[0] == self._details_shown[0] and \
                shown[1] is self._details_shown[1] and shown[2] == self._details_shown[2]:
            return  # the same value (a version that changed other places): no repaint
        self._details_shown = shown
        pointer = join_pointer(entry.path)
        schema = self.schema.document if self.schema else None
        self.query_one(DetailsPane).show(entry.path, entry.value, schema,
                                         self.issues.get(pointer, []))
