"""The banner over a tree that is no longer the file's content."""

from __future__ import annotations

from textual.widgets import Static

from .._load import Broken

__all__ = ["Banner"]


class Banner(Static):
    """Says what is wrong with the file while the last good tree stays below it."""

    DEFAULT_CSS = """
    Banner {
        display: none;
        background: $error;
        color: $text;
        text-style: bold;
        padding: 0 1;
        height: auto;
    }
    Banner.-shown { display: block; }
    """

    def show_problem(self, broken: Broken, have_tree: bool) -> None:
        where = f"line {broken.line}, column {broken.column}: " if broken.line else ""
        kept = ("Showing the last good version; this clears by itself when the file is good "
                "again." if have_tree else "Nothing to show yet; waiting for a good version.")
        self.update(f"⚠ {where}{broken.reason}\n{kept}")
        self.add_class("-shown")

    def show_unreachable(self, error: str, have_tree: bool) -> None:
        """The database cannot be read: ``error`` says why (down, refusing us ...)."""
        kept = ("Showing the last version read; this clears by itself when the server is "
                "back." if have_tree else "Nothing to show yet; waiting for the server.")
        self.update(f"⚠ the server cannot be reached: {error}\n{kept}")
        self.add_class("-shown")

    def hide(self) -> None:
        self.remove_class("-shown")


class PauseBanner(Static):
    """Says that live updates are paused, and how many new versions are waiting."""

    DEFAULT_CSS = """
    PauseBanner {
        display: none;
        background: $warning;
        color: $text;
        text-style: bold;
        padding: 0 1;
        height: 1;
    }
    PauseBanner.-shown { display: block; }
    """

    def show_waiting(self, count: int) -> None:
        """Show the banner; ``count`` commits were seen since the pause."""
        waiting = ("no new commits yet" if not count else
                   f"{count} commit{'s' if count != 1 else ''} waiting")
        self.update(f"⏸ live updates paused ({waiting}): p resumes")
        self.add_class("-shown")

    def hide(self) -> None:
        self.remove_class("-shown")
