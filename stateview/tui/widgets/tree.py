"""The document tree: built lazily, in pages, and patched in place when the file changes."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.reactive import var
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from .._model import Key, json_type, scalar_text, size_text
from ._rows import Entry, TreeRows

__all__ = ["Entry", "JsonTree"]


_TYPE_CLASS = {
    "string": "json-tree--string", "integer": "json-tree--number", "number": "json-tree--number",
    "boolean": "json-tree--boolean", "null": "json-tree--null",
}


class JsonTree(TreeRows):
    """A JSON document as a tree whose children are built on first expand, a page at a time.

    An object with 100,000 keys costs nothing until it is expanded, and then only its first
    page of rows; a "show more" row loads the next page. Going to a child far down builds a
    page around it, not every row before it. A new version is patched in (see
    :class:`~stateview.tui.widgets._rows.TreeRows`): what the reader had open, the cursor and
    the scroll position stay.
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
        Binding("c", "collapse_siblings", "Collapse siblings", show=False,
                tooltip="Collapse the node and its siblings"),
        *[Binding(str(n), f"expand_to_depth({n})", f"Depth {n}", show=False,
                  tooltip=f"Show the whole tree down to depth {n}") for n in range(1, 10)],
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
    | c | Collapse the node and its siblings. |
    | 1 ... 9 | Show the whole tree down to that depth (bounded like E). |
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
        "json-tree--match",
    }
    """
    | Class | Description |
    | :- | :- |
    | `json-tree--key` | Object keys and array indexes. |
    | `json-tree--string` ... `json-tree--null` | Scalar values, one class per JSON type. |
    | `json-tree--size` | The `{12}` / `[3]` size of a container. |
    | `json-tree--more` | The "show more" row of a paged container. |
    | `json-tree--changed` | A value that another writer just changed (or a new row). |
    | `json-tree--match` | A search match. |
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
        & > .json-tree--match { background: $accent 30%; text-style: underline; }
    }
    """

    expand_budget = var(5000)
    """The most nodes "expand all" builds, so that it cannot freeze the UI."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._matches: set[tuple[Key, ...]] = set()
        self._changed: set[tuple[Key, ...]] = set()
        self._changed_inside: set[tuple[Key, ...]] = set()
        self.root_name = "(root)"
        self.guide_depth = 2
        self.auto_expand = False

    # -- public methods ------------------------------------------------------------------

    def highlight(self, paths: Iterable[tuple[Key, ...]]) -> None:
        """Mark changed values (and the closed containers holding them) until cleared."""
        changed = set(paths)
        inside = {p[:i] for p in changed for i in range(len(p))}
        touched = (changed ^ self._changed) | (inside ^ self._changed_inside)
        self._changed, self._changed_inside = changed, inside
        self._repaint(touched)

    def clear_highlight(self) -> None:
        self.highlight(())

    def set_matches(self, paths: Iterable[tuple[Key, ...]]) -> None:
        """Mark search matches (shown in their own colour until the next search)."""
        matches = set(paths)
        touched, self._matches = matches ^ self._matches, matches
        self._repaint(touched)

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
        if entry.path in self._matches:
            label.stylize(get("json-tree--match"))
        if entry.path in self._changed or (
            entry.path in self._changed_inside and not node.is_expanded
        ):
            label.stylize(get("json-tree--changed"))
        label.stylize(style)
        return label

    def get_label_width(self, node: TreeNode[Entry]) -> int:
        """A label's width without rendering it (computed for every row on each rebuild)."""
        entry = node.data
        if entry is None or entry.more:
            return 40
        key = entry.path[-1] if entry.path else self.root_name
        value = entry.value
        text = size_text(value) if isinstance(value, (dict, list)) else scalar_text(value)
        return len(str(key)) + len(text) + 4

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

    def action_collapse_siblings(self) -> None:
        node = self.cursor_node
        if node is None or node.parent is None:
            return
        for sibling in node.parent.children:
            sibling.collapse()

    def action_expand_to_depth(self, depth: int) -> None:
        """Open every container above ``depth`` (the root is 0), close the rest; bounded."""
        budget = self.expand_budget
        queue: deque[tuple[TreeNode[Entry], int]] = deque([(self.root, 0)])
        while queue:
            node, level = queue.popleft()
            if not node.allow_expand or node.data is None or node.data.more:
                continue
            if level >= depth or budget <= 0:
                if node.is_expanded:
                    node.collapse()
                continue
            if not node.data.shown:
                self._populate(node, min(self.page_size, budget))
            budget -= len(node.children)
            node.expand()
            queue.extend((child, level + 1) for child in node.children)
        self._cursor_to_visible()

    def _cursor_to_visible(self) -> None:
        """Move the cursor up to the nearest row still shown (its ancestors were closed)."""
        node = self.cursor_node
        if node is None or node.id not in self._tree_nodes:
            self.move_cursor(self.root)
            return
        shown = node
        while node.parent is not None:
            node = node.parent
            if not node.is_expanded:
                shown = node
        if shown is not self.cursor_node:
            self.get_node_at_line(0)
            self.move_cursor(shown)

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
