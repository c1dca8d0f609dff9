"""What every editing dialog shares: save on a worker, stay open when the save is refused.

A dialog turns what the person typed into compare-and-set ops and hands them to ``commit``
(the app's link to the engine). It closes only with an answer: the commit is durable, or
another writer got there first (the app then shows the conflict). A refused save (not JSON,
a schema rule, a busy lock) keeps the dialog and the typed text, with the reason in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import work
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Select, Static

from ..._errors import LockTimeout, SchemaViolation, StateError, show_pointer
from .._edit_commit import Saved
from .._patch import Conflict, Guard, Op, Path

__all__ = ["Commit", "Outcome", "SaveDialog", "explain"]

Commit = Callable[[list[Op], Path], "Saved | Conflict"]
"""Runs ops as one compare-and-set commit (on a worker thread); raises StateError if refused."""


@dataclass(frozen=True)
class Outcome:
    """What a dialog closed with.

    Attributes:
        label: what was done, for notices and undo (``edit /clients/bob``).
        path: where.
        original: the value when the dialog opened (``ABSENT`` for a new one).
        mine: what the person saved (``ABSENT`` for a delete).
        result: durable, or the conflict that wrote nothing.
    """

    label: str
    path: Path
    original: Any
    mine: Any
    result: Saved | Conflict


def explain(error: StateError) -> str:
    """A refused save in the dialog's words: where, which rule, what to change."""
    if isinstance(error, SchemaViolation):
        lines = [f"refused by the schema, nothing written: at {show_pointer(p)}: {message} "
                 f"[rule {rule!r}]" for p, rule, _, message in error.errors[:3]]
        lines.append(f"change the value at {show_pointer(error.pointer)} so that rule "
                     f"{error.rule!r} holds, then ctrl+s again")
        return "\n".join(lines)
    if isinstance(error, LockTimeout):
        return f"{error}\nthe text is kept: ctrl+s tries again"
    return f"refused, nothing written: {error}"


class SaveDialog(ModalScreen[Outcome | None]):
    """Base of the editing dialogs: ``ctrl+s`` saves, ``escape`` cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True),
        # A priority binding: the JSON text area would otherwise take escape (to let go of
        # the focus) and the dialog could not be left with the key every dialog leaves with.
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    DEFAULT_CSS = """
    SaveDialog {
        align: center middle;
        & > Vertical {
            width: 90%;
            max-width: 110;
            height: auto;
            max-height: 90%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        & .muted { color: $text-muted; }
        & #error { color: $text-error; height: auto; }
        & #error.-busy { color: $text-muted; }
        & #check { height: auto; }
        & #check.-bad { color: $text-warning; }
        & #check.-good { color: $text-success; }
        & TextArea { height: auto; max-height: 20; }
    }
    """

    def __init__(self, label: str, path: Path, original: Any, guards: tuple[Guard, ...],
                 commit: Commit) -> None:
        super().__init__()
        self.label = label
        self.path = path
        self.original = original
        self.guards = guards
        self.commit = commit
        self.saving = False
        """A save is on its way to the engine (a second ctrl+s waits for it)."""

    def ops_for(self) -> tuple[list[Op], Any]:
        """The person's change as ops, and the value they saved.

        Raises:
            ValueError: the text cannot be saved; its message says why.
        """
        raise NotImplementedError

    def show_error(self, text: str, busy: bool = False) -> None:
        """Show why the save was refused (or, with ``busy``, that it is under way)."""
        error = self.query_one("#error", Static)
        error.update(text)
        error.set_class(busy, "-busy")

    def clear_error(self) -> None:
        """The text changed: a refusal of the old text no longer holds (a save under way
        keeps its notice)."""
        if not self.saving:
            self.show_error("")

    def action_save(self) -> None:
        if self.saving:
            return
        try:
            ops, mine = self.ops_for()
        except ValueError as e:
            self.show_error(str(e))
            return
        if not ops:
            self.app.notify("nothing changed, nothing written")
            self.dismiss(None)
            return
        self.saving = True
        self.show_error("saving… (\"saved\" once the commit is durable)", busy=True)
        self._save(ops, mine)

    def action_cancel(self) -> None:
        open_lists = [s for s in self.query(Select) if s.expanded]
        if open_lists:  # escape first closes an open choice list, as it does elsewhere
            for select in open_lists:
                select.expanded = False
            return
        self.dismiss(None)

    @work(thread=True, exclusive=True, group="save")
    def _save(self, ops: list[Op], mine: Any) -> None:
        try:
            result = self.commit(ops, self.path)
        except StateError as e:
            self.app.call_from_thread(self._refused, explain(e))
        else:
            self.app.call_from_thread(
                self.dismiss, Outcome(self.label, self.path, self.original, mine, result))

    def _refused(self, text: str) -> None:
        self.saving = False
        self.show_error(text)
