"""The document in memory and its ways back: to the start of a transaction, and to the last
durable version.

A transaction that raises (or is refused by the schema) undoes its own changes from its undo
log: the containers it changed get their entries back, the very same objects, and nothing
else is touched, so commits of other threads or tasks still on their way to disk stay in
memory. A failed write or a fork with commits in flight puts memory back to
``EngineState.committed``: values are merged back in place, so the views a program holds stay
valid, and the containers it removed since (the graveyard) and the lists whose elements moved
(the list journal) come back as the very same objects (docs/design.md, "The engine's states").
"""

from __future__ import annotations

import logging
from typing import Any

from . import _jsontext
from ._document import serialize
from ._document_merge import merge
from ._engine_state import Part
from ._undo import restore, shallow
from ._views import ListView

__all__ = ["Rollback"]

log = logging.getLogger("stateview")


class Rollback(Part):
    """The lowest layer: serialize the document, journal what a rollback needs, roll back."""

    def _serialize(self) -> bytes:
        return serialize(self._st.root, final="\n").encode("utf-8")

    def _journal_list(self, node: Any) -> None:
        """Remember a list's elements before its first change since the durable version.

        A rollback merges the durable values back position by position; a list whose
        elements moved (insert, pop, sort ...) would otherwise have the program's element
        views matched to the wrong positions and detached.
        """
        journal = self._st.list_journal
        if type(node) is ListView and id(node) not in journal:
            journal[id(node)] = (node, list(node))

    def _note_change(self, node: Any) -> None:
        """Before a change to ``node`` inside a transaction: what undoing it needs.

        The innermost level keeps the container's entries as they were before its first
        change there: a shallow copy (the same child objects), made once per container and
        level. Costs as much as the containers changed, never the whole document.
        """
        self._journal_list(node)
        level = self._st.undo[-1]
        if id(node) not in level:
            level[id(node)] = (node, shallow(node))

    def _open_level(self) -> None:
        """A transaction (or a block nested in one) begins: its changes are logged apart."""
        self._st.undo.append({})

    def _keep_level(self) -> None:
        """A nested block ended well: its changes become the enclosing block's to undo.

        A container the enclosing block had already changed keeps the older entries.
        """
        inner = self._st.undo.pop()
        outer = self._st.undo[-1]
        for ident, entry in inner.items():
            outer.setdefault(ident, entry)

    def _undo_level(self, why: str) -> None:
        """Undo the innermost level's changes: memory is as it was when the level began.

        Latest first, each container gets back its own entries (and its children their place
        in it); what the level added is detached.
        """
        st = self._st
        level = st.undo.pop()
        for node, saved in reversed(level.values()):
            restore(node, saved)
        if not st.undo and not st.pending and not st.writing:
            # Nothing is on its way to disk: memory is the durable version again, and what
            # the journals kept for going back to it can go (as after a write).
            self._forget_journal()
        log.debug("%s: %s (%d containers restored)", self.path, why, len(level))

    def _forget_journal(self) -> None:
        """Memory is durable: nothing before it can be rolled back to."""
        self._st.graveyard.clear()
        self._st.list_journal.clear()

    def _reset_to(self, text: bytes, why: str) -> None:
        """Make memory equal to the version ``text``, keeping the program's views."""
        st = self._st
        value = _jsontext.loads(text, self._where)
        for node, elements in st.list_journal.values():
            restore(node, elements)
        st.list_journal.clear()
        changed: list[str] = []
        graves: dict[tuple[int, str], Any] = {}
        for parent, node in st.graveyard:
            graves.setdefault((id(parent), node._key), node)
        st.graveyard.clear()
        merge(st.root, value, changed, "", graves)
        log.debug("%s: %s (%d values restored)", self.path, why, len(changed))
