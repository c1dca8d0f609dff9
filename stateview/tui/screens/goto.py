"""The go-to prompt: a JSON Pointer input that completes keys as you type."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import Suggester
from textual.widgets import Input

from ..._jsontext import escape_token, unescape_token
from .._model import children, resolve
from .prompt import PromptScreen

__all__ = ["GotoScreen", "PointerSuggester"]

_SCAN_LIMIT = 200_000
"""Keys looked at for one completion: bounds a keystroke's cost in a huge object."""



class PointerSuggester(Suggester):
    """Completes the last token of a pointer with the first key of its parent that starts so."""

    def __init__(self, document: Any) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.document = document

    async def get_suggestion(self, value: str) -> str | None:
        return complete(self.document, value)


def complete(document: Any, value: str) -> str | None:
    """``value`` with its last token completed to a key of the document, or ``None``."""
    if not value.startswith("/"):
        return None
    *parents, last = value[1:].split("/")
    path = resolve(document, [unescape_token(p) for p in parents])
    if path is None:
        return None
    container = document
    for key in path:
        container = container[key]
    prefix = unescape_token(last)
    for i, (key, _) in enumerate(children(container)):
        if i >= _SCAN_LIMIT:
            break
        text = str(key)
        if text.startswith(prefix) and text != prefix:
            return value[: len(value) - len(last)] + escape_token(text)
    return None


class GotoScreen(PromptScreen):
    """Asks for a JSON Pointer; ``tab`` or ``→`` takes the suggested completion."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", tooltip="Take the suggested key"),
    ]

    def __init__(self, document: Any, value: str = "") -> None:
        super().__init__("go to JSON Pointer", value,
                         "e.g. /clients/alice/score ('' is the root); typing replaces the "
                         "pointer shown, end keeps it; tab or → completes a key")
        self.document = document

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.suggester = PointerSuggester(self.document)
        # Selected, so that a pointer typed from the top replaces the one shown rather than
        # being appended to it ("/log/settings").
        field.select_all()

    def action_complete(self) -> None:
        field = self.query_one(Input)
        field.cursor_position = len(field.value)
        field.action_cursor_right()  # at the end, this takes the suggestion
