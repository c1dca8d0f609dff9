"""Adding a key or an item, and renaming a key: one compare-and-set commit each.

Adding to an object asks for a key (``tab``) then a value; the keys the schema declares and
the object lacks are suggested as you type, and picking one fills in its ``default``.
Adding to an array inserts after the item under the cursor, and expects the items before it
to be the ones the person saw.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from ..._errors import show_pointer
from ..._jsontext import join_pointer
from .._patch import ABSENT, Guard, Op, Path
from .._schemainfo import subschema
from .._valuetext import Refusal, ValueChecker, parse_value
from .dialog import Commit, SaveDialog

__all__ = ["AddScreen", "RenameScreen", "schema_keys"]


def schema_keys(node: Mapping[str, Any] | None, present: Any) -> list[tuple[str, Any]]:
    """The keys the schema declares that ``present`` lacks, with their defaults (or ABSENT)."""
    props = node.get("properties") if node else None
    if not isinstance(props, Mapping):
        return []
    return [(k, sub.get("default", ABSENT) if isinstance(sub, Mapping) else ABSENT)
            for k, sub in props.items() if k not in present]


class AddScreen(SaveDialog):
    """A new key in an object (key, tab, value) or a new item in an array at ``path``."""

    def __init__(self, path: Path, container: Any, guards: tuple[Guard, ...], commit: Commit,
                 *, schema: Mapping[str, Any] | bool | None = None) -> None:
        """Add at ``path``: the parent object's path, or the new item's place in an array.

        Args:
            path: for an object, the object; for an array, where the item goes.
            container: the object or array as the person sees it.
            guards, commit: see :class:`~.dialog.SaveDialog`.
            schema: the whole schema, for suggested keys, defaults and checks.
        """
        where = show_pointer(join_pointer(path if isinstance(container, dict) else path[:-1]))
        kind = "key to" if isinstance(container, dict) else "item to"
        super().__init__(f"add a {kind} {where}", path, ABSENT, guards, commit)
        self.container = container
        self.schema = schema if isinstance(schema, Mapping) else None
        self.node = subschema(self.schema, path if isinstance(container, dict) else path[:-1])
        self.suggested = dict(schema_keys(self.node, container)) if isinstance(container, dict) \
            else {}

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.label
            box.border_subtitle = "tab next field · enter/ctrl+s save · escape cancel"
            if isinstance(self.container, dict):
                yield Input(placeholder="key", id="key", suggester=SuggestFromList(
                    list(self.suggested), case_sensitive=True))
                if self.suggested:
                    yield Static("schema keys: " + ", ".join(
                        k if d is ABSENT else f"{k} (default {json.dumps(d)})"
                        for k, d in self.suggested.items()), classes="muted", markup=False)
            yield Input(placeholder='value as JSON, e.g. 1, "text", {} (a bare word is a '
                        "string)", id="value", select_on_focus=False)
            yield Static("", id="check", markup=False)
            yield Static("", id="error", markup=False)

    def _target(self) -> Path:
        if isinstance(self.container, dict):
            return (*self.path, self.query_one("#key", Input).value)
        return self.path

    def _value_node(self) -> Mapping[str, Any] | None:
        return subschema(self.schema, self._target())

    def ops_for(self) -> tuple[list[Op], Any]:
        target = self._target()
        if isinstance(self.container, dict):
            key = target[-1]
            if not key:
                raise Refusal("type a key first (the field above the value)")
            if key in self.container:
                raise Refusal(f"{join_pointer(target)} already exists: pick another key, or "
                              "edit that value with e")
        text = self.query_one("#value", Input).value
        if not text.strip():
            raise Refusal("type a value (JSON, or a bare word for a string)")
        value = parse_value(text, self._value_node(), self._example())
        return [Op("add", target, new=value, guards=self.guards)], value

    def _example(self) -> Any:
        """A neighbour of the new item, whose type says how to read a bare word."""
        if isinstance(self.container, list) and self.container:
            index = self.path[-1]
            assert isinstance(index, int)
            return self.container[max(0, min(index, len(self.container)) - 1)]
        return ABSENT

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "key":
            default = self.suggested.get(event.value, ABSENT)
            value = self.query_one("#value", Input)
            if default is not ABSENT and not value.value:
                value.value = json.dumps(default, ensure_ascii=False)
        self._check()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "key":
            self.query_one("#value", Input).focus()
        else:
            self.action_save()

    def _check(self) -> None:
        self.clear_error()
        check = self.query_one("#check", Static)
        text = self.query_one("#value", Input).value
        if not text.strip():
            check.update("")
            return
        node = self._value_node()
        try:
            value = parse_value(text, node, self._example())
        except Refusal as e:
            check.update(f"✗ {e}")
            return
        problems = ValueChecker(self.schema, node).problems(value, self._target())
        check.update("\n".join(f"✗ {p}" for p in problems[:4]) or (
            "✓ fits the schema" if node is not None else "✓ valid JSON"))


class RenameScreen(SaveDialog):
    """A new name for the key at ``path``, keeping its place among its siblings."""

    def __init__(self, path: Path, value: Any, taken: Any, guards: tuple[Guard, ...],
                 commit: Commit) -> None:
        super().__init__(f"rename {join_pointer(path)}", path, value, guards, commit)
        self.taken = taken

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.label
            box.border_subtitle = "enter/ctrl+s save · escape cancel"
            yield Input(str(self.path[-1]), id="key", select_on_focus=False)
            yield Static("", id="error", markup=False)

    def ops_for(self) -> tuple[list[Op], Any]:
        new = self.query_one("#key", Input).value
        if not new:
            raise Refusal("a key cannot be empty")
        if new == self.path[-1]:
            return [], self.original
        if new in self.taken:
            raise Refusal(f"{join_pointer((*self.path[:-1], new))} already exists: pick "
                          "another name")
        return [Op("rename", self.path, old=self.original, key=new, guards=self.guards)], \
            self.original

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()
