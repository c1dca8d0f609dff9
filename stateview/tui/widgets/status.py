"""The status bar: the file (or database document), its last commit, its lock (or server),
its schema verdict, edit mode."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from ..._postgres._url import hide_url_passwords
from .._load import FileStatus

__all__ = ["StatusBar", "human_size"]


def human_size(size: int | None) -> str:
    if size is None:
        return "missing"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def _program(program: object, limit: int = 32) -> str:
    # A record an older version wrote may hold a URL's password: it is hidden before the cut.
    text = hide_url_passwords(str(program or "?"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StatusBar(Static):
    """Two lines about the file; refreshed whenever the file or its lock changes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "status--name", "status--muted", "status--good", "status--bad", "status--warn",
    }
    """
    | Class | Description |
    | :- | :- |
    | `status--name` | The file name. |
    | `status--muted` | Separators and labels. |
    | `status--good` / `status--bad` / `status--warn` | Verdicts: valid, errors, read-only. |
    """

    DEFAULT_CSS = """
    StatusBar {
        height: 2;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .status--name { text-style: bold; color: $text-primary; }
        & > .status--muted { color: $text-muted; }
        & > .status--good { color: $text-success; }
        & > .status--bad { color: $text-error; text-style: bold; }
        & > .status--warn { color: $text-warning; }
    }
    """

    schema_text: reactive[str] = reactive("no schema")
    """The schema verdict: ``no schema``, ``checking…``, ``valid`` or ``N errors``."""
    readonly_reason: reactive[str | None] = reactive(None)
    """Why editing is off, or ``None`` when it is on."""
    file_status: reactive[FileStatus | None] = reactive(None)
    """The file's size, last commit and lock, as last read."""

    def __init__(self, name: str, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.file_name = name

    def render(self) -> Text:
        style = self.get_component_rich_style
        muted = style("status--muted")
        status = self.file_status
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.file_name, style("status--name"))
        text.append("  ")
        if status is not None and status.where is not None:  # a database document
            text.append(status.version or "no version yet")
        else:
            text.append(human_size(status.size if status else None))
        last = status.last_commit if status else {}
        text.append("  last commit ", muted)
        if last.get("time"):
            text.append(f"{last['time']} by pid {last.get('pid', '?')} "
                        f"({_program(last.get('program'))})")
            if status is not None and status.where is not None and last.get("host"):
                text.append(f" on {last['host']}")
        elif status is not None and status.lock_hidden:
            text.append("unknown (the lock file is not readable by this user)")
        else:
            text.append("none recorded")
        text.append("\n")
        if status is not None and status.where is not None:
            # Row locks live only as long as a transaction: the server is the useful fact.
            text.append(status.where, style("status--bad") if status.error else muted)
        else:
            text.append(status.lock_text if status else "lock ?",
                        style("status--warn") if status and status.lock_held else muted)
        text.append("  schema: ", muted)
        verdict = self.schema_text
        text.append(verdict, style("status--good") if verdict == "valid" else
                    style("status--bad") if "error" in verdict else muted)
        text.append("  ")
        if self.readonly_reason:
            text.append(f"read-only: {self.readonly_reason}", style("status--warn"))
        else:
            text.append("editable: e edit · a add · r rename · d delete · u undo", muted)
        return text
