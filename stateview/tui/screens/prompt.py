"""A one-line input in a modal: go to a pointer, search, edit a value."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

__all__ = ["PromptScreen"]


class PromptScreen(ModalScreen[str | None]):
    """Asks for one line; dismisses with the text on enter, ``None`` on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PromptScreen {
        align: center top;
        & > Vertical {
            margin-top: 3;
            width: 80%;
            height: auto;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        & Label { color: $text-muted; }
    }
    """

    def __init__(self, title: str, value: str = "", hint: str = "",
                 placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.hint = hint
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Input(self.value, placeholder=self.placeholder, select_on_focus=False)
            if self.hint:
                yield Label(self.hint)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
