"""The live part of the view: what the watcher threads find, and how it reaches the screen.

The watcher thread (:class:`~stateview.tui._watch.FileWatcher`, or the store's listener) and
the schema checker run off the UI thread and post messages; the handlers here, on the UI
thread, patch the tree, the change feed, the banner and the status bar. A base class of
:class:`~stateview.tui.app.StateViewApp`, which owns the sources these threads read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from textual import on, work
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Tree

from .._jsontext import join_pointer
from .._paths import StatePaths
from .._schema import Schema, SchemaIssue
from ._childreader import ChildReader
from ._load import Broken, FileStatus, LatestOnly, Loaded, schema_issues
from ._model import Key
from ._navigate import Navigation
from ._offer import recovery_offer
from ._source import Source
from ._watch import Signature
from .screens.recovery import RecoveryScreen
from .widgets.banner import Banner, PauseBanner
from .widgets.details import DetailsPane
from .widgets.feed import ChangeFeed
from .widgets.status import StatusBar
from .widgets.tree import Entry, JsonTree

__all__ = ["LiveView"]


class LiveView(Navigation):
    """Versions, lock states and schema verdicts arriving from threads, shown on screen; the
    app provides the attributes declared here."""

    source: Source
    paths: StatePaths | None
    schema: Schema | None
    clock: Callable[[], datetime]
    highlight_seconds: float
    _child: ChildReader
    _read_status: Callable[[], FileStatus]
    _write_problem: Callable[[], str | None]
    _checker: LatestOnly

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

    def __init__(self) -> None:
        super().__init__()
        self.status: FileStatus | None = None
        self.issues: dict[str, list[SchemaIssue]] = {}
        self.broken: Broken | None = None
        self.loads = 0
        """How many versions of the document have been shown (tests wait on it)."""
        self.write_problem: str | None = None
        """Why this process cannot commit to the file (read-only mount, permissions)."""
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

    @property
    def json_tree_mounted(self) -> bool:
        """The main screen is up (a message from a thread may arrive while closing)."""
        return bool(self.screen_stack) and bool(self.screen_stack[0].query(JsonTree))

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

    def on_live_view_file_read(self, message: FileRead) -> None:
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
                                               last.get("pid"), last.get("program"), own,
                                               message.status.lock_unreadable)
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

    def on_live_view_lock_checked(self, message: LockChecked) -> None:
        if self.json_tree_mounted:
            self._show_status(message.status)

    def on_live_view_commits_waiting(self, message: CommitsWaiting) -> None:
        if self.paused and self.json_tree_mounted:
            self.query_one(PauseBanner).show_waiting(message.count)

    def on_live_view_schema_checked(self, message: SchemaChecked) -> None:
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

