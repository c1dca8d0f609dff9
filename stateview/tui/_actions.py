"""The app's commands: go to, search, copy, edit, delete, help (and their palette entries).

A base class of :class:`~stateview.tui.app.StateViewApp`, kept apart so that the app module
holds the layout and the live-reload flow and this one the things a person asks for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen

from .._errors import CorruptFile, PointerError, StateError
from .._jsontext import join_pointer, loads
from .._paths import StatePaths
from .._pointer import parse_pointer
from .._schema import Schema
from ._edit import DELETE, commit_edit
from ._model import Match, resolve, search
from ._watch import FileWatcher
from .screens.confirm import ConfirmScreen
from .screens.help import HelpScreen
from .screens.prompt import PromptScreen
from .widgets.tree import JsonTree

__all__ = ["Actions"]

_EDIT_LIMIT = 200
_SEARCH_LIMIT = 10_000


class Actions(App[None]):
    """Actions of the live view; the subclass provides the attributes declared here."""

    paths: StatePaths
    schema: Schema | None
    matches: list[Match]
    _match: int
    _watcher: FileWatcher

    class EditDone(Message):
        """An edit was committed (``error`` is ``None``) or refused."""

        def __init__(self, pointer: str, error: str | None) -> None:
            super().__init__()
            self.pointer = pointer
            self.error = error

    @property
    def json_tree(self) -> JsonTree:
        return self.query_one(JsonTree)

    @property
    def readonly_reason(self) -> str | None:
        raise NotImplementedError

    def go_to(self, pointer: str) -> bool:
        """Move the cursor to ``pointer``; notifies and returns ``False`` if it is not there."""
        try:
            path = resolve(self.json_tree.document, parse_pointer(pointer))
        except PointerError as e:
            self.notify(str(e), severity="error")
            return False
        if path is None or self.json_tree.reveal(tuple(path)) is None:
            self.notify(f"nothing at {pointer!r} in this version", severity="warning")
            return False
        return True

    def help_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) for every binding active on the main screen.

        Read from Textual's own resolution of the bindings (app, screen, focused tree and
        the classes it inherits from), so the list cannot drift from what the keys do.
        """
        by_action: dict[tuple[int, str], tuple[list[str], str]] = {}
        active_bindings = self.screen_stack[0].active_bindings.items()
        # The app's own commands first, then the tree's movement keys.
        for key, active in sorted(active_bindings, key=lambda kv: kv[1].node is not self):
            binding = active.binding
            text = binding.tooltip or binding.description or binding.action.replace("_", " ")
            slot = by_action.setdefault((id(active.node), binding.action), ([], text))
            slot[0].append(_key_name(key))
        rows = [(", ".join(keys), text[:1].upper() + text[1:])
                for keys, text in by_action.values()]
        rows.append(("mouse", "Click a row to select it, ▶/▼ to toggle; wheel scrolls"))
        return rows

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Go to pointer", "Jump to a JSON Pointer", self.action_goto)
        yield SystemCommand("Search", "Search keys and values", self.action_search)
        yield SystemCommand("Copy pointer", "Copy the selected node's pointer",
                            self.action_copy_pointer)
        yield SystemCommand("Edit value", "Edit the selected value as JSON", self.action_edit)
        yield SystemCommand("Delete value", "Delete the selected value", self.action_delete)
        yield SystemCommand("Key bindings", "List every key binding", self.action_help)

    def on_actions_edit_done(self, message: EditDone) -> None:
        if message.error is None:
            self.notify(f"saved {message.pointer or '/'}")
            self._watcher.poke()
        else:
            self.notify(message.error, title="edit refused, nothing written",
                        severity="error", timeout=8)

    # -- actions -------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_rows()))

    def action_goto(self) -> None:
        def done(pointer: str | None) -> None:
            if pointer is not None:
                self.go_to(pointer.strip())

        current = self._cursor_pointer() or ""
        self.push_screen(PromptScreen("go to JSON Pointer", current,
                                      "e.g. /clients/alice/score ('' is the root)"), done)

    def action_search(self) -> None:
        def done(query: str | None) -> None:
            if query:
                self._search(query, self.json_tree.document)

        self.push_screen(PromptScreen("search keys and values", hint="n / N: next / previous "
                                      "match"), done)

    @work(thread=True, exclusive=True, group="search")
    def _search(self, query: str, document: Any) -> None:
        hits = search(document, query, _SEARCH_LIMIT)
        self.call_from_thread(self._found, query, hits)

    def _found(self, query: str, hits: list[Match]) -> None:
        self.matches, self._match = hits, -1
        if not hits:
            self.notify(f"no key or value contains {query!r}", severity="warning")
            return
        more = "+" if len(hits) >= _SEARCH_LIMIT else ""
        self.notify(f"{len(hits)}{more} matches for {query!r}")
        self.action_next_match()

    def action_next_match(self, step: int = 1) -> None:
        if not self.matches:
            self.notify("no search yet: press / to search", severity="warning")
            return
        self._match = (self._match + step) % len(self.matches)
        if self.json_tree.reveal(self.matches[self._match].path) is None:
            self.notify("that match is gone from the current version", severity="warning")

    def action_copy_pointer(self) -> None:
        pointer = self._cursor_pointer()
        if pointer is not None:
            self.copy_to_clipboard(pointer)
            self.notify(f"copied {pointer or chr(39) * 2}")

    def action_edit(self) -> None:
        node = self.json_tree.cursor_node
        if not self._may_edit() or node is None or node.data is None or node.data.more:
            return
        entry = node.data
        pointer = join_pointer(entry.path)
        if isinstance(entry.value, (dict, list)) and len(entry.value) > _EDIT_LIMIT:
            # A one-line input holding megabytes of JSON would freeze the UI.
            self.notify(f"{pointer or '/'} has {len(entry.value):,} children, too many to edit "
                        "as one line: edit its children, or use `stateview set`",
                        severity="warning")
            return

        def done(text: str | None) -> None:
            if text is None:
                return
            try:
                value = loads(text.encode("utf-8"), "the new value")
            except CorruptFile as e:
                self.notify(f"column {e.column}: {e.reason}", title="not JSON, nothing written",
                            severity="error")
                return
            self._commit(entry.path, value, pointer)

        self.push_screen(PromptScreen(f"edit {pointer or '/'} (JSON)",
                                      json.dumps(entry.value, ensure_ascii=False),
                                      "enter commits through the engine, escape cancels"), done)

    def action_delete(self) -> None:
        node = self.json_tree.cursor_node
        if not self._may_edit() or node is None or node.data is None or node.data.more:
            return
        path = node.data.path
        pointer = join_pointer(path)

        def done(yes: bool | None) -> None:
            if yes:
                self._commit(path, DELETE, pointer)

        self.push_screen(ConfirmScreen(f"Delete {pointer or 'the whole document'}?"), done)

    # -- helpers -------------------------------------------------------------------------

    def _may_edit(self) -> bool:
        reason = self.readonly_reason
        if reason is not None:
            self.notify(f"read-only: {reason}", severity="warning")
        return reason is None

    @work(thread=True, group="edit")
    def _commit(self, path: tuple[Any, ...], value: Any, pointer: str) -> None:
        try:
            commit_edit(self.paths.given, [str(k) for k in path], value, self.schema)
        except StateError as e:
            self.post_message(self.EditDone(pointer, str(e)))
        else:
            self.post_message(self.EditDone(pointer, None))

    def _cursor_pointer(self) -> str | None:
        node = self.json_tree.cursor_node
        if node is None or node.data is None or node.data.more:
            return None
        return join_pointer(node.data.path)



_KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc"}


def _key_name(key: str) -> str:
    return _KEY_NAMES.get(key.strip(), key.strip())
