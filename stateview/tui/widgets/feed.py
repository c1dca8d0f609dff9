"""The change feed: commits, newest first, one group per version shown; the person's own
changes are marked ``you``."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..._postgres._url import hide_url_passwords
from .._diff import Change
from .._model import Key, scalar_text, size_text

__all__ = ["ChangeFeed", "FeedEntry"]


def _brief(value: Any) -> str:
    return size_text(value) if isinstance(value, (dict, list)) else scalar_text(value, 24)


@dataclass(frozen=True)
class FeedEntry:
    """One version of the file as it reached the screen, and who committed it.

    Attributes:
        when: when the view showed it.
        pid: the writer's pid from the lock record's last commit (``None`` when the writer
            left no record); lets a caller tell its own commits from others'.
        program: the writer's program, as the lock record names it.
        changes: what changed, in document order.
        serial: the entry's number in this feed (1 for the first).
        own: indexes into ``changes`` of the changes this UI session committed itself.
        writer_hidden: the lock record could not be read (this user may not open the lock
            file): the writer is unknown rather than unrecorded.
    """

    when: datetime
    pid: int | None
    program: str | None
    changes: tuple[Change, ...]
    serial: int = 0
    own: frozenset[int] = frozenset()
    writer_hidden: bool = False


class ChangeFeed(OptionList):
    """Groups of ``pointer  old → new`` lines under a ``time  pid  program`` header.

    Focusable (``tab``) and scrollable; ``enter`` on a line posts :class:`ChangeFeed.JumpTo`
    so that the app moves the tree's cursor there.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, tooltip="Next line of the feed"),
        Binding("k", "cursor_up", "Up", show=False, tooltip="Previous line of the feed"),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | j, down / k, up | Move along the feed. |
    | enter | Go to the changed node in the tree. |
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"feed--time", "feed--pointer", "feed--old",
                                             "feed--new", "feed--writer", "feed--own"}
    """
    | Class | Description |
    | :- | :- |
    | `feed--time` | When the version was shown. |
    | `feed--writer` | Who committed it. |
    | `feed--own` | The mark on a change this session committed itself. |
    | `feed--pointer` | Where a change happened. |
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
        &:focus { border: round $accent; }
        & > .feed--time { color: $text-muted; }
        & > .feed--writer { color: $text-muted; text-style: bold; }
        & > .feed--own { color: $text-accent; text-style: bold; }
        & > .feed--pointer { color: $text-primary; }
        & > .feed--old { color: $text-error; }
        & > .feed--new { color: $text-success; }
    }
    """

    LINES_PER_ENTRY = 10
    """Changes listed under one header; the rest are counted on one line."""

    REBUILD_EVERY = 0.5
    """Seconds between two rebuilds of the list. Each rebuild lays out every line of the
    kept entries (a tenth of a second for 40 of them); rebuilt at every version of a file
    committed 20 times a second, it took most of the UI's time and key presses waited
    seconds. Versions that arrive closer together are shown together."""

    class JumpTo(Message):
        """The person chose a change: show ``path`` in the tree."""

        def __init__(self, path: tuple[Key, ...]) -> None:
            super().__init__()
            self.path = path

    def __init__(self, *, keep: int = 40, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = "changes"
        self.entries: deque[FeedEntry] = deque(maxlen=keep)
        self._paths: dict[str, tuple[Key, ...]] = {}
        self._serial = 0
        self._rebuilt_at = float("-inf")
        self._rebuild_due: Timer | None = None

    def on_mount(self) -> None:
        self._rebuild()

    @property
    def up_to_date(self) -> bool:
        """Every recorded entry is in the list (no rebuild is waiting for its turn)."""
        return self._rebuild_due is None

    def add(self, changes: list[Change], when: datetime, pid: Any = None,
            program: Any = None, own: Collection[tuple[Key, ...]] = (),
            writer_hidden: bool = False) -> FeedEntry:
        """Record one version's changes (shown at ``when``, last committed by ``pid``);
        the changes at ``own`` paths were this session's; ``writer_hidden``: the lock record
        could not be read."""
        self._serial += 1
        mine = frozenset(i for i, change in enumerate(changes) if change.path in own)
        entry = FeedEntry(when, pid if isinstance(pid, int) else None,
                          hide_url_passwords(str(program)) if program else None,
                          tuple(changes), self._serial,
                          mine, writer_hidden and not isinstance(pid, int))
        self.entries.appendleft(entry)
        if self._rebuild_due is None:
            wait = self._rebuilt_at + self.REBUILD_EVERY - time.monotonic()
            if wait <= 0:
                self._rebuild()
            else:
                self._rebuild_due = self.set_timer(wait, self._rebuild, name="feed-rebuild")
        return entry

    def _rebuild(self) -> None:
        self._rebuild_due = None
        self._rebuilt_at = time.monotonic()
        style = self.get_component_rich_style
        chosen = self.highlighted_option.id if self.highlighted_option else None
        self._paths.clear()
        options: list[Option] = []
        if not self.entries:
            options.append(Option(Text("no changes yet: other writers' commits show up here",
                                       style("feed--time")), disabled=True))
        for entry in self.entries:
            options.append(Option(self._header(entry), disabled=True))
            for i, change in enumerate(entry.changes[: self.LINES_PER_ENTRY]):
                key = f"c{entry.serial}-{i}"
                self._paths[key] = change.path
                options.append(Option(self._line(change, i in entry.own), id=key))
            hidden = len(entry.changes) - self.LINES_PER_ENTRY
            if hidden > 0:
                more = f"  … {hidden:,} more change{'s' if hidden != 1 else ''}"
                options.append(Option(Text(more, style("feed--time")), disabled=True))
        self.set_options(options)
        if chosen in self._paths:
            self.highlighted = self.get_option_index(chosen)  # stay on the line one was on

    def _header(self, entry: FeedEntry) -> Text:
        style = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(entry.when.strftime("%H:%M:%S") + " ", style("feed--time"))
        who = (f"pid {entry.pid}" + (f" {entry.program}" if entry.program else "")
               if entry.pid is not None else
               "writer unknown (lock file not readable)" if entry.writer_hidden else
               "writer not recorded")
        text.append(who, style("feed--writer"))
        count = len(entry.changes)
        text.append(f" · {count} change{'s' if count != 1 else ''}", style("feed--time"))
        return text

    def _line(self, change: Change, own: bool) -> Text:
        style = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("  ")
        if own:
            text.append("you ", style("feed--own"))
        text.append((change.pointer or "''") + " ", style("feed--pointer"))
        if change.kind == "shifted":
            moved = change.shift
            text.append(f"⇡ shifted, {moved} off the front" if moved > 0 else
                        f"⇣ shifted, {-moved} in at the front", style("feed--new"))
        elif change.kind == "added":
            text.append("+ " + _brief(change.new), style("feed--new"))
        elif change.kind == "removed":
            text.append("- " + _brief(change.old), style("feed--old"))
        else:
            text.append(_brief(change.old), style("feed--old"))
            text.append(" → ")
            text.append(_brief(change.new), style("feed--new"))
        return text

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        path = self._paths.get(event.option_id or "")
        if path is not None:
            self.post_message(self.JumpTo(path))
