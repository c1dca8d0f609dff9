"""The rows of the document tree: built a page at a time, patched in place on a new version.

:class:`TreeRows` is the part of :class:`~stateview.tui.widgets.tree.JsonTree` that turns a
document into Textual tree nodes and keeps them in step with later versions; the widget
itself (keys, looks, actions) lives in ``tree.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from textual.reactive import var
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from .._diff import Change
from .._model import Key, children

__all__ = ["Entry", "TreeRows"]


@dataclass
class Entry:
    """What a tree node stands for.

    Attributes:
        path: typed steps from the root (ints are array indexes).
        value: the value there (a reference into the immutable parsed document).
        start: the first child built (containers): the built children are a window
            ``[start, shown)`` of all of them.
        shown: the end of that window (0 until first expanded).
        more: ``"after"`` or ``"before"`` for the rows that load the next or previous page
            of their parent; ``None`` for a value.
    """

    path: tuple[Key, ...]
    value: Any
    start: int = 0
    shown: int = 0
    more: str | None = None


class TreeRows(Tree[Entry]):
    """Building, paging and patching of a JSON document's rows."""

    page_size = var(1000)
    """How many children one expand (or one "show more") builds."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", Entry((), None), id=id)
        self._by_path: dict[tuple[Key, ...], TreeNode[Entry]] = {(): self.root}
        """Every built value row by its path (not the "more" rows)."""

    @property
    def document(self) -> Any:
        return self.root.data.value if self.root.data else None

    def node_at(self, path: tuple[Key, ...], nearest: bool = False) -> TreeNode[Entry] | None:
        """The built, visible node at ``path`` (or its nearest such ancestor), building none."""
        node = self.root
        for depth in range(1, len(path) + 1):
            found = self._by_path.get(path[:depth])
            if found is None or not node.is_expanded:
                return node if nearest else None
            node = found
        return node

    def set_document(self, document: Any) -> None:
        """Show ``document`` from scratch (the first version, or a root of another type)."""
        self.clear()
        self._by_path = {(): self.root}
        self.root.data = Entry((), document)
        self._populate(self.root, self.page_size)
        self.root.expand()
        self.get_node_at_line(0)  # build the lines now, so nodes know their line numbers
        self.cursor_line = -1
        self.cursor_line = self.root.line

    def patch(self, document: Any, changes: Sequence[Change], complete: bool = True) -> None:
        """Show a new version, touching only the built rows that ``changes`` concern.

        Open containers are never rebuilt: rows whose values changed are repainted, new keys
        and items become new rows (and an open container fully shown grows by them), rows of
        removed ones go. Expansions, cursor and scroll stay. With ``complete=False`` (the diff
        stopped at its limit) every built container is compared with its new value instead.
        """
        old = self.document
        if old is None or type(old) is not type(document):
            self.set_document(document)
            return
        cursor = self.cursor_node
        cursor_path = cursor.data.path if cursor and cursor.data else ()
        dirty = {c.path[:i] for c in changes for i in range(len(c.path) + 1)} if complete else None
        stack: list[tuple[TreeNode[Entry], Any]] = [(self.root, document)]
        while stack:
            node, value = stack.pop()
            entry = node.data
            assert entry is not None
            if dirty is not None and entry.path not in dirty:
                entry.value = value  # same content: only point into the new document
                stack.extend(self._built_children_in(node, value))
                continue
            self._update_node(node, value)
            stack.extend(self._built_children_in(node, value))
        if cursor is not None and cursor.id not in self._tree_nodes:
            self.get_node_at_line(0)
            self.move_cursor(self.node_at(cursor_path, nearest=True) or self.root)

    # -- building ------------------------------------------------------------------------

    def _add_row(self, node: TreeNode[Entry], key: Key, value: Any,
                 before: int | None = None) -> TreeNode[Entry]:
        entry = node.data
        assert entry is not None
        child = Entry((*entry.path, key), value)
        expandable = isinstance(value, (dict, list)) and bool(value)
        built = node.add("", child, before=before, allow_expand=expandable)
        self._by_path[child.path] = built
        return built

    def _drop_row(self, node: TreeNode[Entry]) -> None:
        """Remove a row and everything built below it."""
        stack = [node]
        while stack:
            below = stack.pop()
            if below.data is not None and not below.data.more:
                self._by_path.pop(below.data.path, None)
            stack.extend(below.children)
        node.remove()

    def _drop_rows_below(self, node: TreeNode[Entry]) -> None:
        for child in list(node.children):
            self._drop_row(child)

    def _populate(self, node: TreeNode[Entry], count: int) -> None:
        """Add up to ``count`` more children to ``node`` (and a "show more" row if needed)."""
        entry = node.data
        assert entry is not None
        value = entry.value
        if not isinstance(value, (dict, list)):
            return
        if node.children and node.children[-1].data and node.children[-1].data.more == "after":
            node.children[-1].remove()
        stop = min(len(value), entry.shown + count)
        for key, item in children(value, entry.shown, stop):
            self._add_row(node, key, item)
        entry.shown = stop
        if stop < len(value):
            node.add_leaf("", Entry(entry.path, None, more="after"))

    def _window(self, node: TreeNode[Entry], start: int, stop: int) -> None:
        """Rebuild ``node``'s children as the window ``[start, stop)`` of them."""
        entry = node.data
        assert entry is not None
        self._drop_rows_below(node)
        entry.start = entry.shown = start
        if start > 0:
            node.add_leaf("", Entry(entry.path, None, more="before"))
        self._populate(node, max(stop - start, 1))

    def _built_children_in(self, node: TreeNode[Entry],
                           value: Any) -> Iterator[tuple[TreeNode[Entry], Any]]:
        """The built value rows under ``node``, each with its value in ``value``."""
        for child in node.children:
            entry = child.data
            if entry is not None and not entry.more:
                yield child, value[entry.path[-1]]

    def _update_node(self, node: TreeNode[Entry], value: Any) -> None:
        """Give a built row its new value; for an open container, its new children."""
        entry = node.data
        assert entry is not None
        old, entry.value = entry.value, value
        container = isinstance(value, (dict, list))
        if type(old) is not type(value) or not container or not value:
            if node.children:
                self._drop_rows_below(node)
            entry.start = entry.shown = 0
            if node.is_expanded and not (container and value):
                node.collapse()
        elif entry.shown:
            self._sync_children(node, old, value)
        # An empty container that was filled keeps its type: it gets its ▶ back here too.
        expandable = container and bool(value)
        if node.allow_expand != expandable:
            node.allow_expand = expandable
        node.refresh()

    def _sync_children(self, node: TreeNode[Entry], old: Any, new: Any) -> None:
        """Make ``node``'s built rows the same window of ``new`` as they were of ``old``.

        A window that reached the end of ``old`` reaches the end of ``new`` (up to one more
        page), so keys appended by another writer appear as rows, not behind "… more".
        """
        entry = node.data
        assert entry is not None
        start = min(entry.start, len(new))
        if entry.shown >= len(old):
            stop = min(len(new), entry.shown + self.page_size)
        else:
            stop = min(entry.shown, len(new))
        if stop - start < 1:
            start = max(0, stop - self.page_size)
        wanted = [k for k, _ in children(new, start, stop)]
        position = {k: i for i, k in enumerate(wanted)}
        rows: list[TreeNode[Entry]] = []
        last = -1
        before = after = None
        for child in list(node.children):
            more = child.data.more if child.data else None
            key = child.data.path[-1] if child.data and not more else None
            if more == "before" and start > 0:
                before = child
            elif more == "after" and stop < len(new):
                after = child
            elif key is None or key not in position or position[key] < last:
                self._drop_row(child)  # gone, out of the window, or moved
            else:
                last = position[key]
                rows.append(child)
        # Rows are added or dropped only when the keys in the window change: a version that
        # changes values only costs a repaint of those rows, not a rebuild of the lines.
        if start > 0 and before is None:
            node.add_leaf("", Entry(entry.path, None, more="before"), before=0)
        at = 1 if start > 0 else 0
        have = iter(rows)
        next_row = next(have, None)
        for key in wanted:
            if next_row is not None and next_row.data is not None \
                    and next_row.data.path[-1] == key:
                next_row = next(have, None)
            else:
                self._add_row(node, key, new[key], before=at)
            at += 1
        entry.start, entry.shown = start, stop
        if stop < len(new) and after is None:
            node.add_leaf("", Entry(entry.path, None, more="after"))
        for row in (before, after):
            if row is not None:
                row.refresh()  # its count of rows not shown

    def _repaint(self, paths: Iterable[tuple[Key, ...]]) -> None:
        for path in paths:
            node = self._by_path.get(path)
            if node is not None:
                node.refresh()

    def _built_child(self, node: TreeNode[Entry], key: Key) -> TreeNode[Entry] | None:
        entry = node.data
        if entry is None:
            return None
        found = self._by_path.get((*entry.path, key))
        return found if found is not None and found.parent is node else None

