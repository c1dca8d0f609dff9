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

    def hide(self) -> None:
        self.remove_class("-shown")
