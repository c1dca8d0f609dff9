"""Moving around and copying, the way jless and fx users expect; pausing live updates.

A base class of :class:`~stateview.tui.app.StateViewApp` between it and
:class:`~stateview.tui._actions.Actions`: ``y`` chords, ``[``/``]`` through the places ``g``
went to, ``*``/``#`` for the key under the cursor, search matches marked in the tree, the
change feed's jumps, and ``p``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from textual import events, on, work
from textual.binding import Binding, BindingType

from .._errors import show_pointer
from .._jsontext import join_pointer as _pointer
from ._actions import Actions
from ._model import Key, Match, jq_path, search_key
from ._watch import FileWatcher
from .screens.goto import GotoScreen
from .widgets.banner import PauseBanner
from .widgets.feed import ChangeFeed

__all__ = ["Navigation"]

_YANK = {
    "y": "value", "k": "key", "p": "JSON Pointer", "q": "jq path",
}
_KEY_LIMIT = 10_000


class Navigation(Actions):
    """Navigation, copy chords and the pause; the app provides the attributes declared here."""

    _watcher: FileWatcher

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "yank", "Copy…",
                tooltip="Copy: yy the value, yk the key, yp the JSON Pointer, yq the jq path"),
        Binding("left_square_bracket", "jump_back", "Back", show=False,
                tooltip="Back to where the cursor was before the last jump (g, feed)"),
        Binding("right_square_bracket", "jump_forward", "Forward", show=False,
                tooltip="Forward again after ["),
        Binding("asterisk", "same_key(1)", "Next same key", show=False,
                tooltip="Next node with the key under the cursor"),
        Binding("number_sign", "same_key(-1)", "Previous same key", show=False,
                tooltip="Previous node with the key under the cursor"),
        Binding("p", "toggle_pause", "Pause", tooltip="Pause or resume live updates"),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | yy, yk, yp, yq | Copy the value, the key, the JSON Pointer, the jq path. |
    | [ / ] | Back / forward through the places jumped to. |
    | * / # | Next / previous node with the same key as the one under the cursor. |
    | p | Pause or resume live updates (a banner counts the commits waiting). |
    """

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        """Live updates are paused (``p``): new versions are counted, not shown."""
        self._chord: str | None = None
        self._history: list[tuple[Key, ...]] = []
        self._history_at = -1

    # -- key chords ----------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        # The second key of a chord must reach us before any binding (k moves, q quits).
        if isinstance(event, events.Key) and self._chord is not None:
            chord, self._chord = self._chord, None
            if self.screen is self.screen_stack[0]:
                event.stop()
                if chord == "y":
                    self._finish_yank(event.key)
                return
        await super().on_event(event)

    def action_yank(self) -> None:
        self._chord = "y"
        self.notify("y value · k key · p pointer · q jq path (any other key cancels)",
                    title="copy", timeout=3)

    def _finish_yank(self, key: str) -> None:
        node = self.json_tree.cursor_node
        what = _YANK.get(key)
        if what is None or node is None or node.data is None or node.data.more:
            return
        path, value = node.data.path, node.data.value
        if key == "y":
            # A string is copied as its text, anything else as JSON.
            text = value if isinstance(value, str) else json.dumps(
                value, indent=2 if isinstance(value, (dict, list)) else None,
                ensure_ascii=False)
        elif key == "k":
            if not path:
                self.notify("the root has no key", severity="warning")
                return
            text = str(path[-1])
        elif key == "p":
            text = _pointer(path)
        else:
            text = jq_path(path)
        self.copy_to_clipboard(text)
        shown = text if len(text) <= 60 else text[:59] + "…"
        self.notify(f"copied the {what}: {shown or chr(39) * 2}")

    # -- jumps and history ---------------------------------------------------------------

    def go_to(self, pointer: str) -> bool:
        origin = self._cursor_path()
        found = super().go_to(pointer)
        if found:
            self._remember(origin, self._cursor_path())
        return found

    def action_goto(self) -> None:
        def done(pointer: str | None) -> None:
            if pointer is not None:
                self.go_to(pointer.strip())

        self.push_screen(GotoScreen(self.json_tree.document, self._cursor_pointer() or ""),
                         done)

    def action_jump_back(self) -> None:
        self._step_history(-1)

    def action_jump_forward(self) -> None:
        self._step_history(1)

    def _remember(self, origin: tuple[Key, ...] | None, target: tuple[Key, ...] | None) -> None:
        del self._history[self._history_at + 1:]
        for place in (origin, target):
            if place is not None and (not self._history or self._history[-1] != place):
                self._history.append(place)
        self._history_at = len(self._history) - 1

    def _step_history(self, step: int) -> None:
        at = self._history_at + step
        if not 0 <= at < len(self._history):
            self.notify("no earlier jump" if step < 0 else "no later jump", severity="warning")
            return
        self._history_at = at
        if self.json_tree.reveal(self._history[at]) is None:
            self.notify(f"{show_pointer(_pointer(self._history[at]))} is gone from this version",
                        severity="warning")

    def _cursor_path(self) -> tuple[Key, ...] | None:
        node = self.json_tree.cursor_node
        return None if node is None or node.data is None or node.data.more else node.data.path

    # -- search --------------------------------------------------------------------------

    def _found(self, query: str, hits: list[Match]) -> None:
        super()._found(query, hits)
        self.json_tree.set_matches(m.path for m in hits)

    def action_same_key(self, step: int) -> None:
        path = self._cursor_path()
        if not path:
            self.notify("the root has no key to look for", severity="warning")
            return
        self._search_key(path, step, self.json_tree.document)

    @work(thread=True, exclusive=True, group="search")
    def _search_key(self, path: tuple[Key, ...], step: int, document: Any) -> None:
        hits = search_key(document, path[-1], _KEY_LIMIT)
        self.call_from_thread(self._found_key, path, step, hits)

    def _found_key(self, path: tuple[Key, ...], step: int, hits: list[Match]) -> None:
        self.matches = hits
        self.json_tree.set_matches(m.path for m in hits)
        here = next((i for i, m in enumerate(hits) if m.path == path), 0)
        self._match = here
        count = len(hits) - 1
        self.notify(f"{count} other node{'s' if count != 1 else ''} with the key "
                    f"{path[-1]!r}" if count else f"no other node has the key {path[-1]!r}")
        if count:
            self.action_next_match(step)

    # -- the change feed and the pause ---------------------------------------------------

    @on(ChangeFeed.JumpTo)
    def _jump_from_feed(self, message: ChangeFeed.JumpTo) -> None:
        if self.go_to(_pointer(message.path)):
            self.json_tree.focus()

    def action_toggle_pause(self) -> None:
        banner = self.query_one(PauseBanner)
        self.paused = not self.paused
        if self.paused:
            self._watcher.pause()
            banner.show_waiting(0)
        else:
            banner.hide()
            self._watcher.resume()

