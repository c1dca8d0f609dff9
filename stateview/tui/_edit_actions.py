"""The app's editing commands: edit, add, rename, delete, undo, redo, and their conflicts.

Every one is a compare-and-set commit (see :mod:`stateview.tui._patch`): the dialogs take
what the person saw from the tree on screen, and the engine checks it is still there under
the lock. A base class of the app, kept apart from navigation and search.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from textual import work
from textual.app import App

from .._errors import StateError, show_pointer
from .._jsontext import join_pointer
from .._schema import Schema
from ._edit_commit import OwnWrites, Saved, commit_ops
from ._model import Key, preview
from ._patch import ABSENT, Conflict, Guard, Op, Path, guards_for, value_at
from ._schemainfo import subschema
from ._valuetext import to_text
from ._watch import FileWatcher
from .screens.add import AddScreen, RenameScreen
from .screens.confirm import ConfirmScreen
from .screens.conflict import Choice, ConflictScreen
from .screens.dialog import Outcome, explain
from .screens.editor import EditorScreen
from .widgets.tree import JsonTree

__all__ = ["Done", "EditActions"]

_EDIT_LIMIT = 2_000  # children: a text area of more lines than this is no way to edit

Kind = Literal["do", "undo", "redo"]


@dataclass(frozen=True)
class Done:
    """A commit of this session that can be undone (or, once undone, redone)."""

    label: str
    path: Path
    inverse: tuple[Op, ...]
    before: Any
    after: Any


class EditActions(App[None]):
    """Editing commands of the live view; the app provides the attributes declared here."""

    target: str
    """The state file's path, or the database document's URL: what a commit opens."""
    schema: Schema | None
    _watcher: FileWatcher

    def __init__(self) -> None:
        super().__init__()
        self.undo_stack: list[Done] = []
        self.redo_stack: list[Done] = []
        self.own_writes = OwnWrites()
        self.saves = 0
        """Commits this session made durable (tests wait on it)."""

    @property
    def json_tree(self) -> JsonTree:
        return self.query_one(JsonTree)

    @property
    def readonly_reason(self) -> str | None:
        raise NotImplementedError

    @property
    def noun(self) -> str:
        raise NotImplementedError

    def commit(self, ops: list[Op] | tuple[Op, ...], at: Path,
               replay: bool = False) -> Saved | Conflict:
        """One compare-and-set commit (blocking: call it on a worker thread); ``replay``
        for an undo or redo, which must find just what this session wrote."""
        noted = self.own_writes.record(ops)
        try:
            result = commit_ops(self.target, ops, self.schema, at=at, strict=replay)
        except BaseException:
            self.own_writes.forget(noted)
            raise
        if not isinstance(result, Saved):
            self.own_writes.forget(noted)
        return result

    # -- actions ---------------------------------------------------------------------------

    def action_edit(self) -> None:
        selected = self._editable()
        if selected is None:
            return
        path, value = selected
        if isinstance(value, (dict, list)) and len(value) > _EDIT_LIMIT:
            self.notify(f"{show_pointer(join_pointer(path))} has {len(value):,} children, too many "
                        "to edit as one text: edit its children, or use `stateview set`",
                        severity="warning")
            return
        self.open_editor(path, value, guards_for(self.json_tree.document, path))

    def action_add(self) -> None:
        selected = self._editable()
        if selected is None:
            return
        path, value = selected
        document = self.json_tree.document
        parent = value_at(document, path[:-1]) if path else ABSENT
        if isinstance(parent, list):  # on an item: the new one goes right after it
            assert isinstance(path[-1], int)
            place: Path = (*path[:-1], path[-1] + 1)
            container: Any = parent
        elif isinstance(value, list):
            place, container = (*path, len(value)), value
        elif isinstance(value, dict):
            place, container = path, value
        else:  # a scalar in an object: a sibling key
            place, container = path[:-1], parent
        self.push_screen(AddScreen(place, container, guards_for(document, place), self.commit,
                                   schema=self._schema_doc()), self.finish)

    def action_rename(self) -> None:
        selected = self._editable()
        if selected is None:
            return
        path, value = selected
        if not path or not isinstance(path[-1], str):
            self.notify("only an object's key can be renamed (this is an array item or the "
                        "root)", severity="warning")
            return
        siblings = value_at(self.json_tree.document, path[:-1])
        self.push_screen(RenameScreen(path, value, siblings,
                                      guards_for(self.json_tree.document, path), self.commit),
                         self.finish)

    def action_delete(self) -> None:
        selected = self._editable()
        if selected is None:
            return
        path, value = selected
        pointer = join_pointer(path)
        if not path:
            self.notify("the whole document cannot be deleted", severity="warning")
            return
        op = Op("remove", path, old=value, guards=guards_for(self.json_tree.document, path))

        def answer(yes: bool | None) -> None:
            if yes:
                self._commit_in_background(f"delete {pointer}", [op], path, value, ABSENT, "do")

        self.push_screen(ConfirmScreen(f"Delete {pointer}? It holds:", preview(value, 2000)),
                         answer)

    def action_undo(self) -> None:
        self._replay(self.undo_stack, "undo")

    def action_redo(self) -> None:
        self._replay(self.redo_stack, "redo")

    # -- the flow --------------------------------------------------------------------------

    def open_editor(self, path: Path, original: Any, guards: tuple[Guard, ...],
                    text: str | None = None) -> None:
        """Open the editor on ``original`` as seen at ``path``."""
        schema = self._schema_doc()
        self.push_screen(EditorScreen(path, original, guards, self.commit, schema=schema,
                                      node=subschema(schema, path), text=text), self.finish)

    def finish(self, outcome: Outcome | None, kind: Kind = "do") -> None:
        """A commit came back: durable, or a conflict to put to the person."""
        if outcome is None:
            return
        result = outcome.result
        if isinstance(result, Saved):
            self.saves += 1
            if kind == "undo":
                done = Done(outcome.label, outcome.path, result.inverse, outcome.mine,
                            outcome.original)
                self.redo_stack.append(done)
            else:
                done = Done(outcome.label, outcome.path, result.inverse, outcome.original,
                            outcome.mine)
                self.undo_stack.append(done)
                if kind == "do":
                    self.redo_stack.clear()
            self.notify(_durable(outcome.label, kind))
            self._watcher.poke()
            return
        gone = next((c for c in result.clashes if c.why == "deleted"), None)
        if kind != "do" and gone is not None:
            # Nothing to choose: what the undo would act on is no longer there.
            self.notify(f"{kind} of {outcome.label}: {show_pointer(gone.pointer)} was deleted "
                        "by another writer meanwhile; nothing was written",
                        severity="warning", timeout=10)
            return

        def choose(choice: Choice | None) -> None:
            self._resolve(outcome, result, choice or "theirs", kind)

        # An undo's conflict names the undo: the commit it would undo was written.
        title = outcome.label if kind == "do" else f"{kind} of {outcome.label}"
        self.push_screen(ConflictScreen(title, result, outcome.original, outcome.mine,
                                        self.noun), choose)

    def _resolve(self, outcome: Outcome, conflict: Conflict, choice: Choice, kind: Kind) -> None:
        path = conflict.moves.get(outcome.path, outcome.path)
        gone = outcome.path not in conflict.moves and any(
            c.why == "moved" and c.pointer == join_pointer(outcome.path)
            for c in conflict.clashes)
        if choice == "theirs":
            undone = outcome.label if kind == "do" else f"{kind} of {outcome.label}"
            self.notify(f"kept theirs: {undone} was not written")
        elif (choice == "mine" and conflict.forced is None) or (choice == "edit" and gone):
            # Acting by index now would hit whatever item shifted into the old place.
            self.notify("the array shifted and the item cannot be found again for sure: "
                        "nothing was written; select it in the tree and try again",
                        severity="warning", timeout=10)
        elif choice == "mine":
            assert conflict.forced is not None
            self._commit_in_background(outcome.label, list(conflict.forced), path,
                                       conflict.theirs, outcome.mine, kind)
        elif conflict.theirs is ABSENT and outcome.mine is ABSENT:
            self.notify(f"{join_pointer(path)} is gone already", severity="warning")
        else:
            start = outcome.mine if conflict.theirs is ABSENT else conflict.theirs
            self.open_editor(path, conflict.theirs, conflict.guards,
                             text=None if conflict.theirs is not ABSENT else _text(start))

    def _replay(self, stack: list[Done], kind: Kind) -> None:
        if self._readonly_refusal():
            return
        if not stack:
            self.notify(f"nothing to {kind} in this session", severity="warning")
            return
        done = stack.pop()
        original, mine = (done.after, done.before) if kind == "undo" else (done.before,
                                                                           done.after)
        self._commit_in_background(done.label, list(done.inverse), done.path, original, mine,
                                   kind, (stack, done))

    @work(thread=True, group="edit")
    def _commit_in_background(self, label: str, ops: list[Op], path: Path, original: Any,
                              mine: Any, kind: Kind,
                              taken: tuple[list[Done], Done] | None = None) -> None:
        """``taken``: the undo or redo this replays, and the stack it came from, where a
        refusal (a busy lock, a schema rule: nothing written) puts it back."""
        try:
            result = self.commit(ops, path, replay=kind != "do")
        except StateError as e:
            if taken is not None:
                self.call_from_thread(taken[0].append, taken[1])
            self.call_from_thread(self.notify, explain(e), title=f"{label}: refused",
                                  severity="error", timeout=10)
            return
        self.call_from_thread(self.finish, Outcome(label, path, original, mine, result), kind)

    # -- helpers ---------------------------------------------------------------------------

    def _readonly_refusal(self) -> bool:
        reason = self.readonly_reason
        if reason is not None:
            self.notify(f"read-only: {reason}", severity="warning")
        return reason is not None

    def _editable(self) -> tuple[Path, Any] | None:
        """The selected place and value, if editing is allowed."""
        if self._readonly_refusal():
            return None
        node = self.json_tree.cursor_node
        if node is None or node.data is None or node.data.more:
            return None
        return tuple(node.data.path), node.data.value

    def _schema_doc(self) -> Any:
        return self.schema.document if self.schema is not None else None

    def own_changes(self, paths: list[tuple[Key, ...]], document: Any) -> set[tuple[Key, ...]]:
        """Which changed paths of a reload were this session's own commits."""
        return self.own_writes.claim(paths, document)


_PAST = {"edit": "saved", "add": "added", "rename": "renamed", "delete": "deleted"}


def _durable(label: str, kind: Kind) -> str:
    """The notice for a durable commit: ``deleted /x (durable)``, ``undone: edit /x (…)``."""
    if kind != "do":
        return f"{'undone' if kind == 'undo' else 'redone'}: {label} (durable)"
    verb, _, rest = label.partition(" ")
    return f"{_PAST.get(verb, verb)} {rest} (durable)"


def _text(value: Any) -> str | None:
    return None if value is ABSENT else to_text(value)

