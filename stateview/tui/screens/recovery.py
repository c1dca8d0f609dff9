"""The recovery plan offered when the file cannot be read, instead of a traceback."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

__all__ = ["RecoveryScreen"]


class RecoveryScreen(ModalScreen[None]):
    """Shows what is wrong and what ``stateview recover`` would do; escape closes it.

    The screen only informs: recovery rewrites the file, which is the operator's call, made
    with the command it names (the UI keeps watching and shows the file once it is good).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,q", "close", "Close")]

    DEFAULT_CSS = """
    RecoveryScreen {
        align: center middle;
        & > VerticalScroll {
            width: 90%;
            height: auto;
            max-height: 80%;
            border: thick $error;
            border-title-color: $text-error;
            background: $surface;
            padding: 0 1;
        }
    }
    """

    def __init__(self, body: str) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = "the state file cannot be read"
            box.border_subtitle = "escape closes; the view keeps watching the file"
            yield Static(self.body, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
