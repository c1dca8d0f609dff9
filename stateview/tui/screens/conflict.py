"""Another writer got there first: the original, theirs and mine side by side, and a choice."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .._model import preview
from .._patch import ABSENT, Conflict

__all__ = ["Choice", "ConflictScreen"]

Choice = Literal["theirs", "mine", "edit"]


def _show(value: Any, absent: str) -> str:
    return absent if value is ABSENT else preview(value, 2000)


class ConflictScreen(ModalScreen[Choice]):
    """Dismisses with ``theirs`` (t, escape), ``mine`` (o) or ``edit`` (e)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t,escape", "choose('theirs')", "Keep theirs"),
        Binding("o", "choose('mine')", "Overwrite with mine"),
        Binding("e", "choose('edit')", "Edit again from theirs"),
    ]

    DEFAULT_CSS = """
    ConflictScreen {
        align: center middle;
        & > Vertical {
            width: 95%;
            height: auto;
            max-height: 90%;
            border: thick $warning;
            border-title-color: $text-warning;
            background: $surface;
            padding: 0 1;
        }
        & #why { text-style: bold; margin-bottom: 1; }
        & Horizontal { height: auto; max-height: 20; }
        & VerticalScroll {
            width: 1fr;
            height: auto;
            max-height: 20;
            border: round $primary 50%;
            border-title-color: $text-muted;
        }
        & #theirs { border: round $warning; }
        & #keys { color: $text-muted; margin-top: 1; }
    }
    """

    def __init__(self, label: str, conflict: Conflict, original: Any, mine: Any,
                 noun: str = "file") -> None:
        """``noun``: what "theirs" is in now, the ``file`` or the (database) ``document``."""
        super().__init__()
        self.noun = noun
        self.label = label
        self.conflict = conflict
        self.original = original
        self.mine = mine

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = f"conflict: {self.label} was not written"
            yield Static(self.conflict.why + "; nothing was written.", id="why", markup=False)
            with Horizontal():
                for id_, title, value, absent in (
                        ("original", "original (as you saw it)", self.original, "(new)"),
                        ("theirs", f"theirs (in the {self.noun} now)", self.conflict.theirs,
                         "(deleted)"),
                        ("mine", "mine (not written)", self.mine, "(deleted)")):
                    with VerticalScroll(id=id_) as column:
                        column.border_title = title
                        yield Static(_show(value, absent), markup=False)
            overwrite = ("o overwrite with mine (if theirs is still there)"
                         if self.conflict.forced is not None else
                         "o is off: the item cannot be found again for sure")
            yield Static(f"t keep theirs · {overwrite} · e edit again, starting from theirs",
                         id="keys")

    def action_choose(self, choice: Choice) -> None:
        self.dismiss(choice)
