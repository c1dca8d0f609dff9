"""The app's commands: go to, search, copy, help, and every command's palette entry.

A base class of :class:`~stateview.tui.app.StateViewApp`, kept apart so that the app module
holds the layout and the live-reload flow and this one the things a person asks for; the
editing commands live in :mod:`stateview.tui._edit_actions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import work
from textual.app import SystemCommand
from textual.screen import Screen

from .._errors import PointerError
from .._jsontext import join_pointer
from .._pointer import parse_pointer
from .._schema import Schema
from ._edit_actions import EditActions
from ._model import Match, resolve, search
from ._watch import FileWatcher
from .screens.help import HelpScreen
from .screens.prompt import PromptScreen

__all__ = ["Actions"]

_SEARCH_LIMIT = 10_000


class Actions(EditActions):
    """Actions of the live view; the subclass provides the attributes declared here."""

    schema: Schema | None
    matches: list[Match]
    _match: int
    _watcher: FileWatcher

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
        yield SystemCommand("Edit value", "Edit the selected value (one compare-and-set "
                            "commit)", self.action_edit)
        yield SystemCommand("Add key or item", "Add a key to the selected object, or an item "
                            "after the selected one", self.action_add)
        yield SystemCommand("Rename key", "Rename the selected key, keeping its place",
                            self.action_rename)
        yield SystemCommand("Delete value", "Delete the selected value (asks first)",
                            self.action_delete)
        yield SystemCommand("Undo", "Undo this session's last commit (compare-and-set)",
                            self.action_undo)
        yield SystemCommand("Redo", "Redo the last undone commit (compare-and-set)",
                            self.action_redo)
        yield SystemCommand("Key bindings", "List every key binding", self.action_help)

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

    # -- helpers -------------------------------------------------------------------------

    def _cursor_pointer(self) -> str | None:
        node = self.json_tree.cursor_node
        if node is None or node.data is None or node.data.more:
            return None
        return join_pointer(node.data.path)



_KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc"}


def _key_name(key: str) -> str:
    return _KEY_NAMES.get(key.strip(), key.strip())
