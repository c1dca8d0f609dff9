"""The document tree: built lazily, in pages, and rebuilt in place when the file changes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from .._model import Key, children, json_type, scalar_text, size_text

__all__ = ["Entry", "JsonTree"]


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


_TYPE_CLASS = {
    "string": "json-tree--string", "integer": "json-tree--number", "number": "json-tree--number",
    "boolean": "json-tree--boolean", "null": "json-tree--null",
}


class JsonTree(Tree[Entry]):
    """A JSON document as a tree whose children are built on first expand, a page at a time.

    An object with 100,000 keys costs nothing until it is expanded, and then only its first
    page of rows; a "show more" row loads the next page. Going to a child far down builds a
    page around it, not every row before it. Replacing the document keeps what the reader
    had open, where the cursor was and the scroll position.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", show=False, tooltip="Move down"),
        Binding("k,up", "cursor_up", "Up", show=False, tooltip="Move up"),
        Binding("l,right", "expand_or_enter", "Expand", show=False,
                tooltip="Expand the node, or step into it when it is open"),
        Binding("h,left", "collapse_or_parent", "Collapse", show=False,
                tooltip="Collapse the node, or go to its parent"),
        Binding("E", "expand_all", "Expand all", show=False,
                tooltip="Expand everything below the cursor (bounded)"),
        Binding("C", "collapse_all", "Collapse all", show=False,
                tooltip="Collapse everything below the cursor"),
        Binding("enter", "select_cursor", "Toggle", show=False,
                tooltip="Toggle the node; on a '… more' row, load that page"),
        Binding("home", "scroll_home", "First", show=False, tooltip="Go to the first row"),
        Binding("end", "scroll_end", "Last", show=False, tooltip="Go to the last row"),
    ]
    """
    | Key(s) | Description |
    | :- | :- |
    | j, down / k, up | Move the cursor. |
    | home / end | The first / last row. |
    | l, right | Expand the node, or move into it when it is open. |
    | h, left | Collapse the node, or move to its parent when it is closed. |
    | E / C | Expand everything below the cursor (bounded) / collapse everything. |
    | space, enter | Toggle the node (enter on "show more" loads the next page). |
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "json-tree--key",
        "json-tree--string",
        "json-tree--number",
        "json-tree--boolean",
        "json-tree--null",
        "json-tree--size",
        "json-tree--more",
        "json-tree--changed",
    }
    """
    | Class | Description |
    | :- | :- |
    | `json-tree--key` | Object keys and array indexes. |
    | `json-tree--string` ... `json-tree--null` | Scalar values, one class per JSON type. |
    | `json-tree--size` | The `{12}` / `[3]` size of a container. |
    | `json-tree--more` | The "show more" row of a paged container. |
    | `json-tree--changed` | A value that another writer just changed. |
    """

    DEFAULT_CSS = """
    JsonTree {
        & > .json-tree--key { color: $text-primary; }
        & > .json-tree--string { color: $text-success; }
        & > .json-tree--number { color: $text-accent; }
        & > .json-tree--boolean { color: $text-warning; }
        & > .json-tree--null { color: $text-muted; text-style: italic; }
        & > .json-tree--size { color: $text-muted; }
        & > .json-tree--more { color: $text-muted; text-style: italic; }
        & > .json-tree--changed { background: $warning 40%; text-style: bold; }
    }
    """

    page_size = var(1000)
    """How many children one expand (or one "show more") builds."""
    expand_budget = var(5000)
    """The most nodes "expand all" builds, so that it cannot freeze the UI."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", Entry((), None), id=id)
        self._changed: set[tuple[Key, ...]] = set()
        self._changed_inside: set[tuple[Key, ...]] = set()
        self.root_name = "(root)"
        self.guide_depth = 2
        self.auto_expand = False

    # -- public methods ------------------------------------------------------------------

    @property
    def document(self) -> Any:
        return self.root.data.value if self.root.data else None

    def set_document(self, document: Any) -> None:
        """Show ``document``, keeping open nodes, cursor and scroll where they still exist."""
        expanded = dict(self._open_nodes())
        cursor = self.cursor_node.data.path if self.cursor_node and self.cursor_node.data else ()
        scroll_y = self.scroll_y
        first = self.document is None
        self.clear()
        self.root.data = Entry((), document)
        start, stop = expanded.get((), (0, self.page_size))
        self._window(self.root, start, stop)
        self.root.expand()
        if not first:
            self._reopen(self.root, expanded)
        self.get_node_at_line(0)  # build the lines now, so nodes know their line numbers
        self.cursor_line = -1
        target = self.node_at(cursor, nearest=True) or self.root
        self.cursor_line = target.line
        if not first:
            self.scroll_to(y=scroll_y, animate=False, immediate=True)

    def highlight(self, paths: Iterable[tuple[Key, ...]]) -> None:
        """Mark changed values (and the closed containers holding them) until cleared."""
        self._changed = set(paths)
        self._changed_inside = {p[:i] for p in self._changed for i in range(len(p))}
        self._invalidate()

    def clear_highlight(self) -> None:
        self._changed.clear()
        self._changed_inside.clear()
        self._invalidate()

    def node_at(self, path: tuple[Key, ...], nearest: bool = False) -> TreeNode[Entry] | None:
        """The built node at ``path`` (or its nearest built ancestor), without building any."""
        node = self.root
        for key in path:
            found = self._built_child(node, key)
            if found is None or not node.is_expanded:
                return node if nearest else None
            node = found
        return node

    def reveal(self, path: tuple[Key, ...]) -> TreeNode[Entry] | None:
        """Open the way to ``path`` (building pages as needed) and put the cursor on it."""
        node = self.root
        for key in path:
            entry = node.data
            assert entry is not None
            if not isinstance(entry.value, (dict, list)):
                return None
            index = _index_of(entry.value, key)
            if index is None:
                return None
            if not entry.start <= index < entry.shown:
                if entry.shown <= index < entry.shown + self.page_size:
                    self._populate(node, self.page_size)
                else:  # far away: a page around the target, not every row up to it
                    start = max(0, index - self.page_size // 2)
                    self._window(node, start, start + self.page_size)
            node.expand()
            found = self._built_child(node, key)
            if found is None:
                return None
            node = found
        self.get_node_at_line(0)
        self.move_cursor(node)
        return node

    def load_more(self, node: TreeNode[Entry]) -> None:
        """Build the next (or previous) page of a container (``node`` is its "more" row)."""
        parent = node.parent
        if parent is None or parent.data is None or node.data is None:
            return
        entry = parent.data
        if node.data.more == "before":
            first = self._built_child(parent, _key_at(entry.value, entry.start))
            self._window(parent, max(0, entry.start - self.page_size), entry.shown)
            back = self._built_child(parent, first.data.path[-1]) if first and first.data else None
            if back is not None:  # keep the cursor on the row it was next to
                self.get_node_at_line(0)
                self.move_cursor(back)
        else:
            self._populate(parent, self.page_size)

    # -- building ------------------------------------------------------------------------

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
            child = Entry((*entry.path, key), item)
            if isinstance(item, (dict, list)) and item:
                node.add("", child)
            else:
                node.add_leaf("", child)
        entry.shown = stop
        if stop < len(value):
            node.add_leaf("", Entry(entry.path, None, more="after"))

    def _window(self, node: TreeNode[Entry], start: int, stop: int) -> None:
        """Rebuild ``node``'s children as the window ``[start, stop)`` of them."""
        entry = node.data
        assert entry is not None
        node.remove_children()
        entry.start = entry.shown = start
        if start > 0:
            node.add_leaf("", Entry(entry.path, None, more="before"))
        self._populate(node, max(stop - start, 1))

    def _open_nodes(self) -> Iterable[tuple[tuple[Key, ...], tuple[int, int]]]:
        stack = [self.root]
        while stack:
            node = stack.pop()
            if node.data is not None and node.is_expanded and node.data.shown:
                yield node.data.path, (node.data.start, node.data.shown)
                stack.extend(node.children)

    def _reopen(self, node: TreeNode[Entry],
                expanded: dict[tuple[Key, ...], tuple[int, int]]) -> None:
        stack = [node]
        while stack:
            node = stack.pop()
            for child in node.children:
                entry = child.data
                if entry is not None and not entry.more and entry.path in expanded:
                    self._window(child, *expanded[entry.path])
                    child.expand()
                    stack.append(child)

    def _built_child(self, node: TreeNode[Entry], key: Key) -> TreeNode[Entry] | None:
        entry = node.data
        if entry is None:
            return None
        index = _index_of(entry.value, key)
        if index is None or not entry.start <= index < entry.shown:
            return None
        found = node.children[index - entry.start + (1 if entry.start else 0)]
        return found if found.data is not None and found.data.path[-1] == key else None

    # -- rendering -----------------------------------------------------------------------

    def render_label(self, node: TreeNode[Entry], base_style: Style, style: Style) -> Text:
        entry = node.data
        if entry is None:
            return Text("")
        get = self.get_component_rich_style
        if entry.more:
            parent = node.parent.data if node.parent else None
            if entry.more == "before":
                left = parent.start if parent else 0
                return Text(f"… {left:,} earlier (enter to show)", style=get("json-tree--more"))
            left = len(parent.value) - parent.shown if parent else 0
            return Text(f"… {left:,} more (enter to show)", style=get("json-tree--more"))
        value = entry.value
        label = Text()
        if node.allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            label.append(icon, base_style)
        if entry.path:
            key = entry.path[-1]
            label.append(str(key) if isinstance(key, str) else f"[{key}]",
                         get("json-tree--key"))
            label.append(": " if not isinstance(value, (dict, list)) else " ")
        else:
            label.append(self.root_name + " ", get("json-tree--key"))
        if isinstance(value, (dict, list)):
            label.append(size_text(value), get("json-tree--size"))
        else:
            label.append(scalar_text(value), get(_TYPE_CLASS[json_type(value)]))
        if entry.path in self._changed or (
            entry.path in self._changed_inside and not node.is_expanded
        ):
            label.stylize(get("json-tree--changed"))
        label.stylize(style)
        return label

    # -- events and actions --------------------------------------------------------------

    def _on_tree_node_expanded(self, event: Tree.NodeExpanded[Entry]) -> None:
        entry = event.node.data
        if entry is not None and not entry.shown:
            self._populate(event.node, self.page_size)

    def _on_tree_node_selected(self, event: Tree.NodeSelected[Entry]) -> None:
        entry = event.node.data
        if entry is not None and entry.more:
            event.stop()
            self.load_more(event.node)
        elif event.node.allow_expand:
            event.node.toggle()

    def action_expand_or_enter(self) -> None:
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if node.is_expanded and node.children:
            self.move_cursor(node.children[0])
        else:
            node.expand()

    def action_collapse_or_parent(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def action_expand_all(self) -> None:
        """Expand everything below the cursor, breadth first, up to ``expand_budget`` nodes."""
        start = self.cursor_node or self.root
        budget = self.expand_budget
        queue = [start]
        while queue and budget > 0:
            node = queue.pop(0)
            if not node.allow_expand or node.data is None or node.data.more:
                continue
            if not node.data.shown:
                self._populate(node, min(self.page_size, budget))
            budget -= len(node.children)
            node.expand()
            queue.extend(node.children)

    def action_collapse_all(self) -> None:
        node = self.cursor_node or self.root
        node.collapse_all()
        if node is self.root:
            self.root.expand()


def _key_at(value: Any, index: int) -> Key:
    if isinstance(value, list):
        return index
    key: str = next(k for i, k in enumerate(value) if i == index)
    return key


def _index_of(value: Any, key: Key) -> int | None:
    """Position of ``key`` among a container's children (O(n) for objects, once per reveal)."""
    if isinstance(value, list):
        return key if isinstance(key, int) and 0 <= key < len(value) else None
    if isinstance(value, dict) and key in value:
        for i, k in enumerate(value):
            if k == key:
                return i
    return None
