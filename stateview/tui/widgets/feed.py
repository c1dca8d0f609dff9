"""The change feed: recent changes made by other writers, newest first."""

from __future__ import annotations

from collections import deque
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.widgets import Static

from .._diff import Change
from .._model import scalar_text, size_text

__all__ = ["ChangeFeed"]


def _brief(value: Any) -> str:
    return size_text(value) if isinstance(value, (dict, list)) else scalar_text(value, 24)


class ChangeFeed(Static):
    """A list of ``time  pointer  old → new`` lines, the newest on top."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"feed--time", "feed--pointer", "feed--old",
                                             "feed--new"}
    """
    | Class | Description |
    | :- | :- |
    | `feed--time` | When the change was seen. |
    | `feed--pointer` | Where it happened. |
    | `feed--old` / `feed--new` | The value before and after. |
    """

    DEFAULT_CSS = """
    ChangeFeed {
        border: round $primary 50%;
        border-title-color: $text-primary;
        padding: 0 1;
        height: 12;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .feed--time { color: $text-muted; }
        & > .feed--pointer { color: $text-primary; }
        & > .feed--old { color: $text-error; }
        & > .feed--new { color: $text-success; }
    }
    """

    def __init__(self, *, keep: int = 200, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.border_title = "changes"
        self.entries: deque[tuple[str, Change]] = deque(maxlen=keep)

    def add(self, changes: list[Change], when: datetime) -> None:
        """Record one reload's changes (seen at ``when``)."""
        stamp = when.strftime("%H:%M:%S")
        for change in reversed(changes):  # newest reload on top, each in document order
            self.entries.appendleft((stamp, change))
        self.refresh()

    def render(self) -> Text:
        style = self.get_component_rich_style
        if not self.entries:
            return Text("no changes yet: other writers' commits show up here",
                        style("feed--time"))
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, (stamp, change) in enumerate(self.entries):
            if i >= max(self.size.height, 1):
                break
            if i:
                text.append("\n")
            text.append(stamp + " ", style("feed--time"))
            text.append((change.pointer or "/") + " ", style("feed--pointer"))
            if change.kind == "added":
                text.append("+ " + _brief(change.new), style("feed--new"))
            elif change.kind == "removed":
                text.append("- " + _brief(change.old), style("feed--old"))
            else:
                text.append(_brief(change.old), style("feed--old"))
                text.append(" → ")
                text.append(_brief(change.new), style("feed--new"))
        return text
