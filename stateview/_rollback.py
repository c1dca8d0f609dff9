"""The document in memory and its way back to the last durable version.

A failed write, a refused transaction or a fork with commits in flight puts memory back to
``EngineState.committed``: values are merged back in place, so the views a program holds stay
valid, and the containers it removed since (the graveyard) and the lists whose elements moved
(the list journal) come back as the very same objects (docs/design.md, "The engine's states").
"""

from __future__ import annotations

import logging
from typing import Any

from . import _jsontext
from ._document import merge, serialize
from ._engine_state import Part
from ._undo import restore
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
