"""The value editor: a JSON text area, a one-line field, a choice list or a toggle.

Which one depends on the value and its schema: ``enum`` gets a choice list, a boolean a
toggle, a container or a long string the multi-line JSON editor, anything else one line.
The schema's ``description`` is shown, and its rules are checked on every keystroke.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from typing import Any, ClassVar

from textual.app import ComposeResult, SuspendNotSupported
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Input, Select, Static, Switch, TextArea
from textual.widgets.text_area import LanguageDoesNotExist

from ..._errors import show_pointer
from ..._jsontext import join_pointer
from .._patch import ABSENT, Guard, Op, Path, diff_ops
from .._valuetext import Refusal, ValueChecker, multi_line, parse_value, to_text
from .dialog import Commit, SaveDialog

__all__ = ["EditorScreen", "json_area"]


def json_area(text: str, id: str) -> TextArea:
    """A multi-line JSON editor, highlighted when tree-sitter's JSON grammar is installed."""
    try:
        return TextArea.code_editor(text, language="json", id=id, soft_wrap=True)
    except LanguageDoesNotExist:  # tree-sitter without its JSON grammar: plain text
        return TextArea.code_editor(text, id=id, soft_wrap=True)


def _choices(node: Mapping[str, Any] | None) -> list[Any] | None:
    enum = node.get("enum") if node else None
    if isinstance(enum, list) and enum and all(not isinstance(v, (dict, list)) for v in enum):
        return enum
    return None


class EditorScreen(SaveDialog):
    """Edits the value at one pointer; dismisses with the :class:`~.dialog.Outcome`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "external", "$EDITOR", tooltip="Edit the text in $EDITOR"),
    ]

    def __init__(self, path: Path, original: Any, guards: tuple[Guard, ...], commit: Commit,
                 *, schema: Mapping[str, Any] | bool | None = None,
                 node: Mapping[str, Any] | None = None, text: str | None = None) -> None:
        """Edit ``original``, seen at ``path``.

        Args:
            path, original, guards, commit: see :class:`~.dialog.SaveDialog`.
            schema: the whole schema (for ``$ref`` s); ``node``: the part for this place.
            text: the starting text (default: ``original`` as JSON).
        """
        super().__init__(f"edit {show_pointer(join_pointer(path))}", path, original, guards, commit)
        self.node = node
        self.checker = ValueChecker(schema, node)
        self.start = to_text(None if original is ABSENT else original) if text is None \
            else text
        self.choices = _choices(node)

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.label
            box.border_subtitle = self._keys()
            description = self.node.get("description") if self.node else None
            if isinstance(description, str):
                yield Static(description, classes="muted", id="description", markup=False)
            yield self._field()
            yield Static("", id="check", markup=False)
            yield Static("", id="error", markup=False)

    def on_mount(self) -> None:
        self._check()

    # -- the field --------------------------------------------------------------------------

    def _keys(self) -> str:
        enter = "enter/" if self._field_type() is Input else ""
        return f"{enter}ctrl+s save · escape cancel · ctrl+o $EDITOR"

    def _field_type(self) -> type[Widget]:
        if self.choices is not None:
            return Select
        kind = self.node.get("type") if self.node else None
        if kind == "boolean" or (kind is None and isinstance(self.original, bool)):
            return Switch
        if multi_line(self.original) or "\n" in self.start:
            return TextArea
        return Input

    def _field(self) -> Widget:
        kind = self._field_type()
        if kind is Select:
            assert self.choices is not None
            index = next((i for i, v in enumerate(self.choices) if _same(v, self.original)),
                         None)
            return Select([(to_text(v), i) for i, v in enumerate(self.choices)],
                          value=Select.NULL if index is None else index, id="field",
                          prompt="choose one")
        if kind is Switch:
            return Switch(value=self.original is True, id="field")
        if kind is TextArea:
            return json_area(self.start, "field")
        return Input(self.start, id="field", select_on_focus=False)

    def value(self) -> Any:
        """The value the field holds now.

        Raises:
            Refusal: the text is not a value (not JSON, nothing chosen).
        """
        field = self.query_one("#field")
        if isinstance(field, Select):
            if field.value is Select.NULL:
                raise Refusal("choose one of the values the schema allows")
            assert self.choices is not None
            return self.choices[int(field.value)]  # type: ignore[arg-type]
        if isinstance(field, Switch):
            return field.value
        text = field.text if isinstance(field, TextArea) else field.value  # type: ignore[attr-defined]
        return parse_value(text, self.node, self.original)

    def ops_for(self) -> tuple[list[Op], Any]:
        mine = self.value()
        return diff_ops(self.path, self.original, mine, self.guards), mine

    # -- checks as you type --------------------------------------------------------------

    def on_input_changed(self) -> None:
        self._check()

    def on_text_area_changed(self) -> None:
        self._check()

    def on_select_changed(self) -> None:
        self._check()

    def on_switch_changed(self) -> None:
        self._check()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def _check(self) -> None:
        self.clear_error()
        check = self.query_one("#check", Static)
        try:
            value = self.value()
        except Refusal as e:
            check.update(f"✗ {e}")
            check.set_classes("-bad")
            return
        problems = self.checker.problems(value, self.path)
        if problems:
            check.update("\n".join(f"✗ {p}" for p in problems[:4]))
            check.set_classes("-bad")
        else:
            check.update("✓ fits the schema" if self.node is not None else "✓ valid JSON")
            check.set_classes("-good")

    # -- $EDITOR ----------------------------------------------------------------------------

    def _text(self) -> str:
        try:
            return to_text(self.value())
        except Refusal:
            field = self.query_one("#field")
            return field.text if isinstance(field, TextArea) else str(
                getattr(field, "value", ""))

    async def action_external(self) -> None:
        """Hand the text to ``$VISUAL``/``$EDITOR``; what it saves comes back as the text."""
        editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
        fd, name = tempfile.mkstemp(prefix="stateview-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self._text() + "\n")
            try:
                with self.app.suspend():
                    code = subprocess.call([*editor, name])
            except SuspendNotSupported:
                # No terminal to hand over (headless, web): the editor runs without one.
                code = subprocess.call([*editor, name], stdin=subprocess.DEVNULL)
            except OSError as e:
                self.show_error(f"cannot run {editor[0]!r}: {e.strerror}; set $EDITOR")
                return
            with open(name, encoding="utf-8") as f:
                text = f.read().rstrip("\n")
        finally:
            os.unlink(name)
        if code != 0:
            self.show_error(f"{editor[0]} exited with status {code}; the text is unchanged")
            return
        old = self.query_one("#field")
        await old.remove()
        await self.query_one(Vertical).mount(json_area(text, "field"),
                                             before=self.query_one("#check"))
        self.query_one("#field").focus()
        self._check()


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
