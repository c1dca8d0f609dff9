"""The details pane: everything known about the node under the cursor."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..._jsontext import join_pointer
from ..._schema import SchemaIssue
from .._model import Key, json_type, preview
from .._schemainfo import constraints, subschema

__all__ = ["DetailsPane"]


class DetailsPane(VerticalScroll):
    """Pointer, type and value of the selected node, and what the schema says about it."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "details--label", "details--muted", "details--error", "details--ok",
    }
    """
    | Class | Description |
    | :- | :- |
    | `details--label` | The field names (pointer, type ...). |
    | `details--muted` | Constraints and hints. |
    | `details--error` | A schema violation at this pointer. |
    | `details--ok` | The "valid here" verdict. |
    """

    DEFAULT_CSS = """
    DetailsPane {
        border: round $primary 50%;
        border-title-color: $text-primary;
        padding: 0 1;
        & > Static { width: 1fr; }
        & > .details--label { text-style: bold; color: $text-primary; }
        & > .details--muted { color: $text-muted; }
        & > .details--error { color: $text-error; }
        & > .details--ok { color: $text-success; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "details"
        self._body = Static("", markup=False)

    def compose(self) -> ComposeResult:
        yield self._body

    def show(
        self,
        path: tuple[Key, ...],
        value: Any,
        schema: Mapping[str, Any] | bool | None,
        issues: list[SchemaIssue],
    ) -> None:
        """Describe the value at ``path``; ``issues`` are the violations at that pointer."""
        pointer = join_pointer(path)
        label = self.get_component_rich_style("details--label")
        head = Text.assemble(
            ("pointer  ", label), (pointer or "'' (the root)", ""), "\n",
            ("type     ", label), (json_type(value), ""),
        )
        if isinstance(value, (dict, list)):
            noun = "key" if isinstance(value, dict) else "item"
            head.append(f" ({len(value):,} {noun}{'' if len(value) == 1 else 's'})")
        parts: list[Any] = [head]
        if schema is not None:
            parts.append(self._schema_text(path, schema, issues))
        parts.append(Text("\nvalue", style=label))
        parts.append(Text(preview(value)))
        self._body.update(Group(*parts))

    def show_message(self, message: str) -> None:
        self._body.update(Text(message))

    def _schema_text(
        self, path: tuple[Key, ...], schema: Mapping[str, Any] | bool, issues: list[SchemaIssue]
    ) -> Text:
        style = self.get_component_rich_style
        label, muted = style("details--label"), style("details--muted")
        text = Text()
        node = subschema(schema, path)
        if node is not None:
            if "description" in node or "title" in node:
                text.append("\nschema   ", label)
                text.append(str(node.get("description") or node.get("title")))
            if "type" in node:
                text.append("\nexpects  ", label)
                text.append(json.dumps(node["type"]))
            for keyword, rule in constraints(node):
                text.append(f"\n  {keyword}: ", muted)
                text.append(_short(rule))
        else:
            text.append("\nschema   ", label)
            text.append("(no rule for this place)", muted)
        if issues:
            for issue in issues:
                text.append("\n✗ " + issue.message, style("details--error"))
                text.append(f" [{issue.rule}]", muted)
        else:
            text.append("\n✓ valid here", style("details--ok"))
        return text


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
